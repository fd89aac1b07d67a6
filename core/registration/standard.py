"""The real-estate registration database standard's tables — ZDJBXX (宗地), NYDSYQ (the land-contract right) and
QLR (right holders) — derived from the working data, so there is one source of truth.

- ZDJBXX and NYDSYQ are functions of one ``cbdk`` row (and its batch); QLR of the parcel's CBDKXX rows and
  households as delivered (``qs_cbdkxx``, ``qs_cbf``, ``qs_cbf_jtcy`` of the batch that defined the parcel, or the
  newest earlier batch that carried them).
- ``refresh(c, where)`` rewrites the rows of the parcels selected by ``where`` (an SQL condition on ``cbdk c``):
  the merge calls it for the parcels it inserted or replaced, a change package for the ones it changed.
- Triggers on ``cbdk`` (``TRIGGERS``) run the very same statements for one parcel whenever it is edited, deleted or
  inserted outside a merge — a consultation outcome (consult.set_status, or QGIS's edit buffer in the 面积差异
  dock) updates NYDSYQ in the same transaction. A merge suspends them and calls ``refresh`` in bulk.
- ``drift(c)`` lists the parcels whose stored standard rows differ from what their working data gives (tests).

Who is in: every parcel with a geometry that is not ``unmatched`` (图数不对应 parcels have no right or no 宗地:
they stay in ``cbdk`` for follow-up, with their 不动产单元号 reserved). Parcels still under consultation
(XSZT 待协商 / 重新测量 / 其他) are registered as 临时 (QSZT 0) with the 登簿 area; an outcome of
以合同面积为准 / 以登簿面积为准 makes them 现势 (QSZT 1) with that area. docs/registration-schema.md has every field."""
import re

from . import schema

REGISTRABLE = "c.geom IS NOT NULL AND c.BDCDYH IS NOT NULL AND COALESCE(c.CYLX, '') <> 'unmatched'"
# The same for a parcel about to be inserted, read from the staged tables (P p, PC pc, DKG d): a merge uses it to know
# the ZDJBXX rows it writes without reading them back.
REGISTRABLE_STAGED = "d.minx IS NOT NULL AND COALESCE(pc.CYLX, '') <> 'unmatched'"
PENDING = ("待协商", "重新测量", "其他")  # consultation outcomes that do not settle the area yet
DJYY = "农村土地承包经营权确权登记成果移交整合"  # 登记原因 of the rights taken over from the confirmation results

_q = "'{}'".format


def _zl(c="c"):
    """坐落: county, township, village and group names, then the parcel's name."""
    return (f"COALESCE(b.county_name, '') || COALESCE({c}.XZMC, '') || COALESCE({c}.CJMC, '') || COALESCE({c}.ZJMC, '') "
            f"|| CASE WHEN COALESCE({c}.DKMC, '') <> '' THEN '（' || {c}.DKMC || '）' ELSE '' END")


def _cbmj(c="c"):
    """承包面积 in 亩 (the exchange specification's unit): the 登簿 area, or the contract area when the joint
    consultation decided so — both already converted by params.to_mu in the parcel layer."""
    return f"CASE WHEN {c}.XSZT = '以合同面积为准' THEN {c}.HTMJM ELSE {c}.DBMJM END"


def _qszt(c="c"):
    return f"CASE WHEN {c}.XSZT IN ({', '.join(map(_q, PENDING))}) THEN '0' ELSE '1' END"


UNIT = "c.BDCDYH"  # the parcel's 不动产单元号 in the column expressions below (h.BDCDYH in QLR's)

# Each standard table's columns as SQL expressions over a cbdk row c and its batch b, in the table's column order
# (ZDJBXX's geometry first). The SELECTs are made of them; a new database's rows are derived beside the merge and
# copied with these expressions for the columns made of the 不动产单元号 (derived_copies).
ZDJBXX_EXPRS = [
    "c.geom", f"'{schema.YSDM['ZDJBXX']}'", f"substr({UNIT}, 1, 19)", UNIT, f"substr({UNIT}, 13, 2)", _zl(),
    "c.SCMJ", "'1'", "c.TDLYLX", "NULL", "NULL", "'9'", "CASE WHEN c.CBJYQQDFS LIKE '12%' THEN '202' ELSE '201' END", "'2'",
    "NULL", "NULL", "NULL", "c.DKDZ", "c.DKNZ", "c.DKXZ", "c.DKBZ", "NULL", "NULL", "NULL", "NULL", "'地块编码：' || c.DKBM", "'1'"]
ZDJBXX_SELECT = f"""SELECT {', '.join(ZDJBXX_EXPRS)}
    FROM cbdk c LEFT JOIN batches b ON b.fid = c.PCID"""

NYDSYQ_EXPRS = [
    f"'{schema.YSDM['NYDSYQ']}'", UNIT, f"'Q' || substr({UNIT}, 1, 19)", "'9'", "'100'", f"'{DJYY}'", _zl(),
    "c.FBFBM", "c.FBFMC", _cbmj(), "c.CBQXQ", "c.CBQXZ", "CASE WHEN c.SYQXZ = '10' THEN '1' ELSE '2' END",
    "NULL", "NULL", "NULL", "NULL", "NULL", f"substr({UNIT}, 1, 6)", "c.DJJG", "c.DBR", "c.DJSJ",
    "'地块编码：' || c.DKBM || CASE WHEN c.CBJYQZBM IS NOT NULL THEN '；承包经营权证编码：' || c.CBJYQZBM ELSE '' END"
    " || CASE WHEN c.GYFS = '2' THEN '；确权确股不确地，按份共有' ELSE '' END"
    f" || CASE WHEN {_qszt()} = '0' THEN '；面积待两部门协商确认' ELSE '' END",
    _qszt()]
NYDSYQ_SELECT = f"""SELECT {', '.join(NYDSYQ_EXPRS)}
    FROM cbdk c LEFT JOIN batches b ON b.fid = c.PCID"""

# A parcel's households: its CBDKXX rows of the batch that defined it (or the newest earlier batch that carried them),
# each with the household record of that batch or the newest earlier one. A single holder is the first of the rows;
# share-only land has every household, with shares in proportion to their HTMJ (6 decimals, the last one taking the
# rounding remainder so that they add up to exactly 1).
_BATCH = "(SELECT MAX(x.PCID) FROM qs_cbdkxx x WHERE x.DKBM = c.DKBM AND x.PCID <= c.PCID)"
_SOLE = f"""SELECT c.fid, c.BDCDYH, c.GYFS, q.CBFBM, q.PCID, 1 AS rn, '1' AS QLBL
    FROM cbdk c JOIN qs_cbdkxx q ON q.fid = (SELECT MIN(x.fid) FROM qs_cbdkxx x WHERE x.DKBM = c.DKBM AND x.PCID = {_BATCH})
    WHERE c.GYFS = '0'"""
_SHARED = f"""SELECT fid, BDCDYH, GYFS, CBFBM, PCID, rn,
           printf('%.6f', CASE WHEN rn = n THEN 1.0 - (total_share - share) ELSE share END) AS QLBL
    FROM (SELECT y.*, SUM(y.share) OVER (PARTITION BY y.fid) AS total_share
          FROM (SELECT c.fid, c.BDCDYH, c.GYFS, q.CBFBM, q.PCID,
                       ROW_NUMBER() OVER (PARTITION BY c.fid ORDER BY q.fid) AS rn, COUNT(*) OVER (PARTITION BY c.fid) AS n,
                       round(CASE WHEN typeof(q.HTMJ) IN ('integer', 'real') THEN q.HTMJ ELSE 0 END
                             / COALESCE(NULLIF(SUM(CASE WHEN typeof(q.HTMJ) IN ('integer', 'real') THEN q.HTMJ ELSE 0 END)
                                               OVER (PARTITION BY c.fid), 0), 1.0), 6) AS share
                FROM cbdk c JOIN qs_cbdkxx q ON q.DKBM = c.DKBM AND q.PCID = {_BATCH}
                WHERE c.GYFS = '2' AND {{where}}) AS y) AS z"""

QLR_EXPRS = [
    f"'{schema.YSDM['QLR']}'", "h.BDCDYH", "h.rn", "f.CBFMC", "NULL", "NULL", "'1'",
    "CASE WHEN f.CBFZJLX IS NULL THEN NULL WHEN f.CBFZJLX = '1' THEN '1' WHEN f.CBFZJLX = '2' THEN '5' "
    "WHEN f.CBFZJLX = '3' THEN '6' WHEN f.CBFZJLX = '4' THEN '4' WHEN f.CBFZJLX = '5' THEN '3' ELSE '99' END",
    "f.CBFZJHM", "NULL", "NULL", "NULL", "NULL",
    "(SELECT CASE j.CYXB WHEN '1' THEN '1' WHEN '2' THEN '2' END FROM qs_cbf_jtcy j "
    "WHERE j.CBFBM = f.CBFBM AND j.PCID = f.PCID AND j.CYZJHM = f.CBFZJHM LIMIT 1)",
    "f.LXDH", "f.CBFDZ", "f.YZBM", "NULL", "NULL", "CASE WHEN f.CBFLX IS NULL THEN NULL WHEN f.CBFLX = '3' THEN '99' ELSE '1' END",
    "h.QLBL", "h.GYFS", "CASE WHEN h.GYFS = '2' THEN '按份共有，份额按各户确权（合同）面积计算' END", "'承包方编码：' || h.CBFBM"]
QLR_SELECT = f"""SELECT {', '.join(QLR_EXPRS)}
    FROM ({{holders}}) AS h
         LEFT JOIN qs_cbf f ON f.fid = (SELECT z.fid FROM qs_cbf z WHERE z.CBFBM = h.CBFBM AND z.PCID <= h.PCID
                                        ORDER BY z.PCID DESC, z.fid DESC LIMIT 1)"""
_EXPRS = {"ZDJBXX": (ZDJBXX_EXPRS, UNIT), "NYDSYQ": (NYDSYQ_EXPRS, UNIT), "QLR": (QLR_EXPRS, "h.BDCDYH")}
# derived_copies recomputes the expressions made of the 不动产单元号 from it alone: they must read nothing else
assert all(unit not in e or not re.search(r"\b[a-z]\.", e.replace(unit, "")) for exprs, unit in _EXPRS.values() for e in exprs)


def _holders(where):
    return (f"{_SOLE} AND {REGISTRABLE} AND ({where}) UNION ALL "
            f"{_SHARED.replace('{where}', f'{REGISTRABLE} AND ({where})')}")


def columns(table):
    """The columns a standard table's derivation writes (its SELECT's, in order): the geometry first, if any. A table
    of rows derived beside a merge (records.Records) has these too, untyped (every value kept as derived), its BDCDYH
    holding the parcel's pid (the number is allocated meanwhile)."""
    return ([] if table.geometry is None else ["geom"]) + table.columns


def _insert(table, select, where, into=""):
    cols = ", ".join(columns(table))
    return f"INSERT INTO {into}{table.name} ({cols}) {select} WHERE {REGISTRABLE} AND ({where})"


def statements(where, into="", tables=None):
    """The INSERT statements deriving the standard rows of the parcels `where` (an SQL condition on cbdk c), into the
    tables of the schema `into` ("std." — default: the database's own), for `tables` (names; default: all three)."""
    out = {"ZDJBXX": _insert(schema.ZDJBXX, ZDJBXX_SELECT, where, into) + " ORDER BY c.fid",
           "NYDSYQ": _insert(schema.NYDSYQ, NYDSYQ_SELECT, where, into) + " ORDER BY c.fid",
           "QLR": f"INSERT INTO {into}QLR ({', '.join(columns(schema.QLR))}) {QLR_SELECT.replace('{holders}', _holders(where))}"}
    return [sql for name, sql in out.items() if tables is None or name in tables]


def derived_copies(source, tables):
    """INSERT statements copying rows derived beside a merge from the tables of schema `source` (``columns``,
    derived by ``statements`` with each parcel's pid as its 不动产单元号) into the standard tables `tables`, in the
    order they were derived: the columns made of the 不动产单元号 computed here by the same expressions from the
    number allocated to the pid (temp.NA)."""
    out = []
    for table in schema.STANDARD:
        if table.name not in tables:
            continue
        exprs, unit = _EXPRS[table.name]
        cols = columns(table)
        sel = [e.replace(unit, "a.BDCDYH") if unit in e else f"z.{col}" for col, e in zip(cols, exprs)]
        out.append(f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(sel)} "
                   f"FROM {source}.{table.name} z JOIN temp.NA a ON a.pid = z.BDCDYH ORDER BY z.rowid")
    return out


def delete_statements(codes):
    """Deleting the standard rows of the units `codes` (an SQL expression list or subquery of BDCDYH)."""
    return [f"DELETE FROM {t.name} WHERE BDCDYH IN ({codes})" for t in schema.STANDARD]


def refresh(c, where):
    """Rewrite the standard rows of the parcels `where` (SQL condition on cbdk c) from their working data.
    Returns the numbers of ZDJBXX, NYDSYQ and QLR rows written."""
    for sql in delete_statements(f"SELECT c.BDCDYH FROM cbdk c WHERE ({where}) AND c.BDCDYH IS NOT NULL"):
        c.execute(sql)
    return [c.execute(sql).rowcount for sql in statements(where)]


# The columns of cbdk the derivation reads: an UPDATE touching none of them (a consultation note) changes nothing.
_DEPENDS = ["geom", "DKBM", "BDCDYH", "PCID", "CYLX", "GYFS", "XSZT", "SCMJ", "HTMJM", "DBMJM", "TDLYLX", "SYQXZ",
            "CBJYQQDFS", "CBJYQZBM", "FBFBM", "FBFMC", "XZMC", "CJMC", "ZJMC", "DKMC", "DKDZ", "DKNZ", "DKXZ", "DKBZ",
            "CBQXQ", "CBQXZ", "DJJG", "DBR", "DJSJ"]


def triggers():
    """(name, SQL) of the triggers that keep the standard tables equal to what cbdk gives."""
    one = "c.fid = NEW.fid"

    def body(parts):
        return " ".join(p + ";" for p in parts)
    return [
        ("lcb_standard_insert", f"CREATE TRIGGER lcb_standard_insert AFTER INSERT ON cbdk BEGIN "
                                f"{body(delete_statements('NEW.BDCDYH') + statements(one))} END"),
        ("lcb_standard_update", f"CREATE TRIGGER lcb_standard_update AFTER UPDATE OF {', '.join(_DEPENDS)} ON cbdk BEGIN "
                                f"{body(delete_statements('OLD.BDCDYH, NEW.BDCDYH') + statements(one))} END"),
        ("lcb_standard_delete", f"CREATE TRIGGER lcb_standard_delete AFTER DELETE ON cbdk BEGIN "
                                f"{body(delete_statements('OLD.BDCDYH'))} END"),
    ]


def create_triggers(c):
    for _name, sql in triggers():
        c.execute(sql)


def drift(c):
    """BDCDYH of the units whose stored standard rows differ from (or are missing in) what cbdk gives now."""
    out = set()
    for table, select in ((schema.ZDJBXX, ZDJBXX_SELECT), (schema.NYDSYQ, NYDSYQ_SELECT)):
        cols = ", ".join(columns(table))
        want = f"{select} WHERE {REGISTRABLE}"
        for a, b in ((want, f"SELECT {cols} FROM {table.name}"), (f"SELECT {cols} FROM {table.name}", want)):
            out |= {r[0] for r in c.execute(f"SELECT BDCDYH FROM ({a} EXCEPT {b}) AS d")}
    want = QLR_SELECT.replace("{holders}", _holders("1"))
    have = f"SELECT {', '.join(schema.QLR.columns)} FROM QLR"
    for a, b in ((want, have), (have, want)):
        out |= {r[0] for r in c.execute(f"SELECT BDCDYH FROM ({a} EXCEPT {b}) AS d")}
    return out
