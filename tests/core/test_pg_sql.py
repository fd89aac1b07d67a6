"""The SQLite-dialect statements of the registration code on PostgreSQL: the translation (registration/pgsql.py)
and the store seam a second writer (lcb:apply_changes) uses — statements written for the GeoPackage, reading the
staging database as stg.<table>, run unchanged in one PostgreSQL transaction."""
import pytest

from land_contract_bridge.core import merge, pgconn
from land_contract_bridge.core.params import Params
from land_contract_bridge.core.registration import pg, pgsql, records, schema


@pytest.mark.parametrize("sqlite, postgres, stage", [
    ("SELECT a FROM t WHERE b = ? AND c LIKE 'x%?' AND d = ?", "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%?' AND d = %s", []),
    ('SELECT "DKBM", user, b.user FROM stg."CBF1" b JOIN stg.P p ON 1', 'SELECT "dkbm", "user", b."user" FROM lcb_stg_cbf1 b JOIN lcb_stg_p p ON 1',
     ["cbf1", "p"]),
    ("SELECT printf('%05d', n + 1), printf('%.6f', x), round(a / b, 6), round(y)",
     "SELECT lpad((n + 1)::bigint::text, 5, '0'), round((x)::numeric, 6)::text, round((a / b)::numeric, 6)::double precision, "
     "round((y)::double precision)", []),
    ("SELECT typeof(q.HTMJ) IN ('integer', 'real'), group_concat(v, ';'), ifnull(a, b), CAST(x AS REAL)",
     "SELECT lcb_typeof(q.HTMJ) IN ('integer', 'real'), string_agg((v)::text, ';'), coalesce(a, b), CAST(x AS double precision)", []),
    ("UPDATE temp.ST SET a = 1 WHERE b IS NOT 'x' AND c IS d AND e IS NOT NULL AND f IS NULL",
     "UPDATE st SET a = 1 WHERE b IS DISTINCT FROM 'x' AND c IS NOT DISTINCT FROM d AND e IS NOT NULL AND f IS NULL", []),
    ("BEGIN IMMEDIATE", "BEGIN ", []),
    ("SELECT x FROM main.cbdk WHERE s = 'it''s stg.P ?'", "SELECT x FROM cbdk WHERE s = 'it''s stg.P ?'", []),
])
def test_translation(sqlite, postgres, stage):
    with_args = "?" in sqlite.replace("'x%?'", "")
    t = pgsql.translate(sqlite, with_args)
    assert t.sql == postgres and t.stage == stage


def test_an_unknown_printf_is_refused_not_guessed():
    with pytest.raises(ValueError):
        pgsql.translate("SELECT printf('%x', 5)")


@pytest.fixture
def staged(pg_db, demo, demo_copy):
    """The sample merged into PostgreSQL, and a corrected copy of it (one parcel renamed) staged as a delivery."""
    from osgeo import ogr
    target = pgconn.PgTarget(pg_db.params())
    merge.merge(demo, target)
    ds = ogr.Open(str(demo_copy / "矢量数据/DK3715262018.shp"), 1)
    lyr = ds.GetLayer(0)
    for f in lyr:
        if f.GetField("DKBM") == "3715260010010100002":
            f.SetField("DKMC", "改过的名")
            lyr.SetFeature(f)
    ds = None
    job = merge.MergeJob(demo_copy, target, None, Params(), "keep", None, None, False, merge.NULL_PROGRESS)
    job.prepare()
    job.read()
    job.stage_records(4527)
    yield target, job
    job.close()


def test_geopackage_statements_run_through_the_store_seam(staged, pg_db):
    """What lcb:apply_changes does on a GeoPackage — compare staged records with cbdk by fingerprint, a batch row and its
    lastrowid, rewrite the changed parcel from stg.RECV and stg.DKG (geometry included), refresh its right holders —
    written in SQLite's dialect, committed in one PostgreSQL transaction."""
    target, job = staged
    st = pg.PgStore(target)
    st.attach_stage(job.ws.stage, 4527)
    fp = records.fingerprint("v")
    cols = schema.HASHED

    def work(c):
        c.execute(f"""CREATE TEMP TABLE AP AS SELECT p.pid, p.DKBM, x.fid,
            CASE WHEN x.fid IS NULL THEN 0 WHEN x.YJHASH = (SELECT {fp} FROM stg.RECV v WHERE v.pid = p.pid) THEN 1 ELSE 2 END AS st
            FROM stg.P p LEFT JOIN main.cbdk x ON x.DKBM = p.DKBM""")
        counts = dict(c.execute("SELECT st, COUNT(*) FROM temp.AP GROUP BY st").fetchall())
        assert counts == {1: 298, 2: 1}
        batch = c.execute("INSERT INTO batches (package, county, fingerprint, merged_at, user) VALUES (?,?,?,?,?)",
                          ("change package", "371526", "x", "2026-11-30T00:00:00", "tester")).lastrowid
        assert batch == 2
        c.execute(f"""UPDATE cbdk SET geom = x.geom, {', '.join(f'{f} = x.{f}' for f in cols)}, YJHASH = x.YJHASH, PCID = ?,
                XSZT = CASE WHEN x.CYLX = 'contract_register_mismatch' AND cbdk.CYLX IS NOT 'contract_register_mismatch'
                            AND cbdk.XSZT IS NULL THEN '待协商' ELSE cbdk.XSZT END
            FROM (SELECT a.fid, d.geom, {', '.join('v.' + f for f in cols)}, {fp} AS YJHASH
                  FROM temp.AP a JOIN stg.RECV v ON v.pid = a.pid LEFT JOIN stg.DKG d ON d._i = v.dk_i WHERE a.st = 2) AS x
            WHERE cbdk.fid = x.fid""", (batch,))
        st.refresh_standard(c, "c.DKBM IN (SELECT DKBM FROM temp.AP WHERE st = 2)", batch, replaced=True)
        assert [r[1] for r in c.execute("PRAGMA table_info(cbdk)")][:3] == ["fid", "geom", "DKBM"]
        return True
    assert st.run(work, merge.NULL_PROGRESS, action="apply_changes")
    st.close()
    assert pg_db.rows("SELECT dkmc, pcid FROM lcb.cbdk WHERE dkbm = '3715260010010100002'") == [("改过的名", 2)]
    # the geometry came through stg.DKG unchanged, and the fingerprint is the merge's: merging the copy finds nothing to do
    assert pg_db.rows("SELECT ST_SRID(geom), round(ST_Area(geom)::numeric, 2) > 0 FROM lcb.cbdk WHERE dkbm = '3715260010010100002'") == [(4527, True)]
    res = merge.merge(job.d.root, target)
    assert (res["INSERTED"], res["CONFLICTS"], res["UNCHANGED"]) == (0, 0, 299)
    assert pg_db.rows("SELECT count(*) FROM lcb.qlr q JOIN lcb.cbdk c ON c.bdcdyh = q.bdcdyh WHERE c.dkbm = '3715260010010100002'") == [(1,)]
