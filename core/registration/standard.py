"""Right-holder records of the parcels, derived set-wise from the parcel layer and the staged delivery.

``derive_holders(c, parcels)`` writes the right holders of the parcels selected by ``parcels`` (an SQL condition on
``cbdk`` aliased ``c``): one row for a single-holder parcel (单独所有), and for share-only land (确股不确地) one
row per household with its share (按份共有) in proportion to the household's HTMJ, the last share taking the
rounding remainder so the shares add up to exactly 1."""


def derive_holders(c, parcels, batch):
    """Right holders of the parcels `parcels` (SQL condition on cbdk alias c), from the staged rows (stg.R, stg.CBF1)."""
    c.execute(f"""INSERT INTO qlr (BDCDYH, DKBM, CBFBM, QLRMC, ZJZL, ZJH, QLRLX, GYFS, QLBL, FEMJ, PCID)
        SELECT c.BDCDYH, c.DKBM, c.CBFBM, c.CBFMC, h.CBFZJLX, h.CBFZJHM, h.CBFLX, '单独所有', 1.0, c.HTMJ, ?
        FROM cbdk c LEFT JOIN stg.CBF1 h ON h.CBFBM = c.CBFBM
        WHERE ({parcels}) AND c.GYFS = '单独所有' ORDER BY c.fid""", (batch,))
    c.execute(f"""INSERT INTO qlr (BDCDYH, DKBM, CBFBM, QLRMC, ZJZL, ZJH, QLRLX, GYFS, QLBL, FEMJ, PCID)
        SELECT BDCDYH, DKBM, CBFBM, CBFMC, CBFZJLX, CBFZJHM, CBFLX, '按份共有',
               CASE WHEN rn = n THEN round(1.0 - (total_share - share), 6) ELSE share END, HTMJ, ?
        FROM (SELECT x.*, SUM(share) OVER (PARTITION BY DKBM) AS total_share FROM
               (SELECT c.fid, c.BDCDYH, c.DKBM, r.CBFBM, h.CBFMC, h.CBFZJLX, h.CBFZJHM, h.CBFLX, r.HTMJ, r.rn, p.n,
                       round(COALESCE(r.HTMJ, 0) / COALESCE(NULLIF(SUM(COALESCE(r.HTMJ, 0)) OVER (PARTITION BY c.DKBM), 0), 1.0), 6) AS share
                FROM cbdk c JOIN stg.P p ON p.DKBM = c.DKBM JOIN stg.R r ON r.pid = p.pid
                     LEFT JOIN stg.CBF1 h ON h.CBFBM = r.CBFBM
                WHERE ({parcels}) AND c.GYFS = '按份共有') AS x) AS y
        ORDER BY fid, rn""", (batch,))
