"""Area classes per parcel (design.md, 'Area classes'): share_only > unmatched > contract_register_mismatch >
measured_differs > consistent, with tolerance AREA_TOLERANCE (m²).

Set-wise over a staged delivery (tables DK, CBDKXX, CBHT and LEDGER of a staging SQLite database): SQL groups
the rows by parcel and by contract (plain SQL, the same in PostgreSQL); the arithmetic is numpy with
``params.exceeds`` and ``params.to_mu``, the very comparison and 亩 conversion the validation rules use.
``classify(conn, params)`` works on any staged set of parcels (a delivery, a change package) and leaves

- ``P``: one row per DKBM found in DK or CBDKXX (``pid`` in DKBM order, the DK row ``dk_i`` that represents it,
  the number of CBDKXX rows ``n``, the first of them ``first_row``, ``share``),
- ``R``: the parcels' CBDKXX rows with their ``pid`` and their rank ``rn`` within the parcel,
- ``PC``: per ``pid`` the class ``CYLX`` and HTMJ, DBMJ, SCMJ (m²), their 亩 twins and the two differences
  (``NH``: a digest of these numbers for the record's content fingerprint); for a contract_register_mismatch parcel
  the reason ``CYYY`` (parcel, contract or parcel+contract), and for every parcel with a contract its HTZMJ and
  ``DBZMJ`` (Σ registered area of the contract's rows, the sum the contract is compared with).

Row semantics (unchanged from the first version): a parcel's HTMJ is the sum of its rows' HTMJ; DBMJ the
ledger's sum for the DKBM, else HTMJ; a contract is inconsistent when |HTZMJ − Σ registered area of its rows|
exceeds the tolerance, a row's registered area being the ledger's for (DKBM, CBFBM), else the parcel's DBMJ for
a one-row parcel, else the row's HTMJ; a duplicate DKBM in DK is represented by its first contract parcel
(DKLB 10), else by its first row."""
import numpy as np

from .params import Params, exceeds, to_mu

CLASSES = {
    "share_only": "确股不确地", "unmatched": "图数不对应", "contract_register_mismatch": "合同与登簿面积不一致",
    "measured_differs": "实测面积不一致", "consistent": "一致",
}
ORDER = list(CLASSES)
CONSULTED = ["contract_register_mismatch", "measured_differs"]  # what a consultation list shows unless told (core/consult.py)
SHARE_ONLY, UNMATCHED, MISMATCH, MEASURED, CONSISTENT = range(5)

NUMBERS = ["HTMJ", "DBMJ", "SCMJ", "HTMJM", "DBMJM", "SCMJM", "HTDBC", "HTSCC"]

_STAGE = """
DROP TABLE IF EXISTS R; DROP TABLE IF EXISTS P; DROP TABLE IF EXISTS C; DROP TABLE IF EXISTS PC;
CREATE TABLE P (pid INTEGER PRIMARY KEY, DKBM TEXT, dk_i INTEGER, n INTEGER, first_row INTEGER, share INTEGER,
                htmj_n INTEGER, htmj_sum REAL, ledger REAL);
INSERT INTO P (DKBM, dk_i, n, first_row, share, htmj_n, htmj_sum, ledger)
  SELECT DKBM, COALESCE(MIN(CASE WHEN src = 0 AND DKLB = '10' THEN i END), MIN(CASE WHEN src = 0 THEN i END)),
         SUM(src = 1), MIN(CASE WHEN src = 1 THEN i END), MAX(share), SUM(src = 1 AND v IS NOT NULL),
         SUM(CASE WHEN src = 1 THEN v END), SUM(CASE WHEN src = 2 THEN v END)
  FROM (SELECT 0 AS src, DKBM, _i AS i, DKLB, NULL AS v, 0 AS share FROM DK WHERE DKBM IS NOT NULL AND DKBM <> ''
        UNION ALL
        SELECT 1, DKBM, _row, NULL, CASE WHEN typeof(HTMJ) IN ('integer', 'real') THEN HTMJ END,
               CASE WHEN trim(COALESCE(SFQQQG, '')) = '1' THEN 1 ELSE 0 END
        FROM CBDKXX WHERE DKBM IS NOT NULL AND trim(DKBM) <> ''
        UNION ALL
        SELECT 2, DKBM, NULL, NULL, DBMJ, 0 FROM LEDGER WHERE DBMJ IS NOT NULL) AS u
  GROUP BY DKBM HAVING MIN(src) < 2 ORDER BY DKBM;
CREATE UNIQUE INDEX ux_P_DKBM ON P(DKBM);
CREATE TABLE R (_row INTEGER PRIMARY KEY, pid INTEGER, rn INTEGER, DKBM TEXT, CBFBM TEXT, CBHTBM TEXT, CBJYQZBM TEXT,
                FBFBM TEXT, LZHTBM TEXT, CBJYQQDFS TEXT, HTMJ REAL);
INSERT INTO R SELECT r._row, p.pid, 1, r.DKBM, r.CBFBM, r.CBHTBM, r.CBJYQZBM, r.FBFBM, r.LZHTBM, r.CBJYQQDFS,
                     CASE WHEN typeof(r.HTMJ) IN ('integer', 'real') THEN r.HTMJ END
  FROM CBDKXX r JOIN P p ON p.DKBM = r.DKBM ORDER BY r._row;
CREATE INDEX ix_R_pid ON R(pid, rn);
UPDATE R SET rn = (SELECT COUNT(*) FROM R r2 WHERE r2.pid = R.pid AND r2._row <= R._row)
  WHERE pid IN (SELECT pid FROM P WHERE n > 1);
CREATE TABLE C (cid INTEGER PRIMARY KEY, CBHTBM TEXT UNIQUE);
INSERT INTO C (CBHTBM) SELECT DISTINCT CBHTBM FROM R WHERE CBHTBM IS NOT NULL AND CBHTBM <> '' ORDER BY CBHTBM;
"""


# The ledger's registered area per (DKBM, CBFBM), what a contract's rows are compared with; a merge sums it while
# the DK layer is still being read (records.link_tables), otherwise classify does.
_LEDGER_SUMS = """
DROP TABLE IF EXISTS LDC;
CREATE TABLE LDC AS SELECT DKBM, CBFBM, SUM(DBMJ) AS v FROM LEDGER WHERE DBMJ IS NOT NULL AND CBFBM IS NOT NULL AND CBFBM <> ''
  GROUP BY DKBM, CBFBM;
CREATE UNIQUE INDEX ux_LDC ON LDC(DKBM, CBFBM);
"""


def sum_ledger(conn):
    conn.executescript(_LEDGER_SUMS)


def _fetch(conn, sql, n_cols):
    """Float columns of a query (NULL → NaN), converted by numpy in one call."""
    rows = conn.execute(sql).fetchall()
    arr = np.array(rows, dtype=float).reshape(-1, n_cols)
    return list(arr.T)


def classify(conn, params=None, ledger_summed=False):
    """Class and areas of every staged parcel (tables P, R, PC). Returns the class counts {class: n}.
    ledger_summed: sum_ledger already ran on the staged LEDGER."""
    from .registration.digest import rows64  # here, not at the top: the algorithms read CLASSES and ORDER when QGIS loads the plugin

    params = params or Params()
    tol = params.area_tolerance
    if not ledger_summed:
        sum_ledger(conn)
    conn.executescript(_STAGE)
    n, share, htmj_n, htmj_sum, ledger, scmj, has_dk = _fetch(
        conn, "SELECT p.n, p.share, p.htmj_n, p.htmj_sum, p.ledger, d.SCMJ, p.dk_i IS NOT NULL FROM P p LEFT JOIN DK d ON d._i = p.dk_i "
              "ORDER BY p.pid", 7)
    np_ = len(n)
    htmj = np.where(htmj_n > 0, np.round(htmj_sum, 2), np.nan)
    dbmj = np.where(n > 0, np.where(np.isnan(ledger), htmj, np.round(ledger, 2)), np.nan)

    # Contract level: |HTZMJ − Σ registered area of the contract's rows| against the tolerance.
    r_pid, r_cid, r_htmj, r_ledger = _fetch(
        conn, "SELECT r.pid, COALESCE(c.cid, 0), r.HTMJ, l.v FROM R r LEFT JOIN C c ON c.CBHTBM = r.CBHTBM "
              "LEFT JOIN LDC l ON l.DKBM = r.DKBM AND l.CBFBM = r.CBFBM ORDER BY r._row", 4)
    r_pid, r_cid = r_pid.astype(np.int64) - 1, r_cid.astype(np.int64)
    r_db = np.where(np.isnan(r_ledger), np.where(n[r_pid] == 1, dbmj[r_pid], r_htmj), r_ledger)
    n_c = int(conn.execute("SELECT COUNT(*) FROM C").fetchone()[0]) + 1
    sums = np.bincount(r_cid, weights=np.nan_to_num(r_db), minlength=n_c)
    h_cid, h_total = _fetch(conn, "SELECT c.cid, h.HTZMJ FROM CBHT h JOIN C c ON c.CBHTBM = h.CBHTBM "
                                  "WHERE typeof(h.HTZMJ) IN ('integer', 'real')", 2)
    h_cid = h_cid.astype(np.int64)
    bad_contract = np.zeros(n_c, bool)
    bad_contract[h_cid[exceeds(h_total, sums[h_cid], tol)]] = True
    bad_contract[0] = False  # rows without a contract code
    p_bad = np.bincount(r_pid, weights=bad_contract[r_cid].astype(float), minlength=np_) > 0

    cls = np.full(np_, CONSISTENT, np.int8)
    cls[exceeds(htmj, scmj, tol)] = MEASURED
    p_own = exceeds(htmj, dbmj, tol)
    cls[p_own | p_bad] = MISMATCH
    cls[(has_dk == 0) | (n == 0)] = UNMATCHED
    cls[share > 0] = SHARE_ONLY

    area = np.column_stack([htmj, dbmj, scmj]) if np_ else np.zeros((0, 3))
    numbers = np.column_stack([np.round(area, 2), to_mu(area), np.round(area[:, [0]] - area[:, 1:], 2)]) if np_ else np.zeros((0, 8))
    # Why a parcel is contract_register_mismatch (CYYY), and its contract's HTZMJ against the registered areas of
    # the contract's rows (DBZMJ = ΣDBMJ): the contract that failed, else the parcel's first contract.
    reason = np.full(np_, None, object)
    mis = cls == MISMATCH
    reason[mis & p_own & p_bad] = "parcel+contract"
    reason[mis & p_own & ~p_bad] = "parcel"
    reason[mis & ~p_own & p_bad] = "contract"
    htzmj_c = np.full(n_c, np.nan)
    htzmj_c[h_cid] = h_total
    p_cid = np.zeros(np_, np.int64)
    if len(r_pid):
        key = r_pid * 2 + (~bad_contract[r_cid]).astype(np.int64)  # per parcel, a failed contract first
        order = np.lexsort((np.arange(len(r_pid)), key))
        first = np.ones(len(order), bool)
        first[1:] = r_pid[order][1:] != r_pid[order][:-1]
        p_cid[r_pid[order[first]]] = r_cid[order[first]]
    contract = np.column_stack([np.round(htzmj_c[p_cid], 2), np.round(sums[p_cid], 2)]) if np_ else np.zeros((0, 2))
    contract[p_cid == 0] = np.nan
    conn.execute(f"CREATE TABLE PC (pid INTEGER PRIMARY KEY, CYLX TEXT, {', '.join(c + ' REAL' for c in NUMBERS)}, NH INTEGER, "
                 "CYYY TEXT, HTZMJ REAL, DBZMJ REAL)")
    obj = numbers.astype(object)
    obj[np.isnan(numbers)] = None
    cobj = contract.astype(object)
    cobj[np.isnan(contract)] = None
    names = np.array(ORDER, dtype=object)[cls]
    conn.executemany(f"INSERT INTO PC VALUES (?, ?, {', '.join('?' * len(NUMBERS))}, ?, ?, ?, ?)",
                     zip(range(1, np_ + 1), names.tolist(), *obj.T.tolist(), rows64(numbers).tolist(), reason.tolist(), *cobj.T.tolist()))
    conn.commit()
    found = np.bincount(cls, minlength=len(ORDER))
    return {c: int(found[i]) for i, c in enumerate(ORDER)}


__all__ = ["CLASSES", "ORDER", "NUMBERS", "classify"]
