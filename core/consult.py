"""The joint-consultation list (协商清单) from a registration GeoPackage, and consultation records."""
import datetime as dt
import json
import sqlite3
from pathlib import Path

from . import classify, gpkg, pgconn, report
from .errors import NULL_PROGRESS, LcbError
from .output import mask_id, mask_name, write_xlsx
from .registration.store import user as _user

STATUSES = ["待协商", "以合同面积为准", "以登簿面积为准", "重新测量", "其他"]
DEFAULT_CLASSES = classify.CONSULTED  # defined there: lcb:discrepancy_report offers it when QGIS loads the plugin
COLUMNS = ["DKBM", "XZDM", "XZMC", "CJDM", "CJMC", "ZJMC", "DKMC", "CBFBM", "CBFMC", "HTMJ", "DBMJ", "SCMJ", "HTMJM", "DBMJM",
           "SCMJM", "HTDBC", "HTSCC", "CYLX", "CYYY", "HTZMJ", "DBZMJ", "XSZT", "XSBZ", "XSR", "XSSJ", "BDCDYH"]
# Why a parcel is 合同与登簿面积不一致 (CYYY): its own contract and registered areas differ, or its contract's total
# HTZMJ differs from the registered areas of the contract's parcels (ΣDBMJ, DBZMJ) — then the parcel's own
# difference may be 0.00, and the list says so.


def reason_zh(r):
    """The reason of a 合同与登簿面积不一致 row in words, with HTZMJ and ΣDBMJ when the contract is the cause."""
    code = r.get("CYYY") or ""
    parts = []
    if "parcel" in code:
        parts.append("地块合同面积≠登簿面积")
    if "contract" in code:
        a, b = r.get("HTZMJ"), r.get("DBZMJ")
        both = isinstance(a, (int, float)) and isinstance(b, (int, float))
        parts.append(f"合同总面积 {a:,.2f} ≠ 登簿合计 {b:,.2f}" if both else "合同总面积≠登簿合计")
    return "；".join(parts)


def _open(path, write=False):
    """A connection to the registration database: a GeoPackage file, or a PostgreSQL one (a ``pgconn.PgTarget``, a
    ``postgresql://`` URI or a ``PG:`` string; rows and column names as from the GeoPackage, see core/pgconn.py)."""
    pg = None if isinstance(path, Path) else pgconn.target(path)
    if pg is not None:
        return pgconn.connect_read(pg)
    p = Path(path)
    if not p.exists():
        raise LcbError("找不到登记库 GeoPackage", "registration GeoPackage not found", path=str(p))
    uri = p.resolve().as_uri() + ("" if write else "?mode=ro")
    try:
        c = gpkg.register(sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None))
        c.execute("SELECT DKBM, CYLX FROM cbdk LIMIT 1")
    except sqlite3.DatabaseError as e:
        raise LcbError("不是本插件建立的登记库（缺少 cbdk 图层）", "not a registration GeoPackage made by this plugin (no cbdk layer)",
                       path=str(p), record=str(e)) from e
    return c


def rows(path, classes=None):
    classes = list(classes or DEFAULT_CLASSES)
    c = _open(path)
    try:
        prio = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(classify.ORDER))
        have = {r[1] for r in c.execute("PRAGMA table_info(cbdk)")}
        cols = ", ".join(k if k in have else f"NULL AS {k}" for k in COLUMNS)  # a database made before a field existed
        q = (f"SELECT {cols} FROM cbdk WHERE CYLX IN ({', '.join('?' * len(classes))}) "
             f"ORDER BY XZDM, CJDM, CASE CYLX {prio} END, DKBM")
        return [dict(zip(COLUMNS, r)) for r in c.execute(q, classes)]
    finally:
        c.close()


def class_totals(path):
    c = _open(path)
    try:
        # rounded to 1e-6 m²: SQLite and PostgreSQL add floats in different orders (and SQLite compensates), so the
        # raw sums of the same areas differ in their last bits
        return {cls: dict(n=n, htmj=round(h or 0.0, 6), dbmj=round(d or 0.0, 6), scmj=round(s or 0.0, 6)) for cls, n, h, d, s in
                c.execute("SELECT CYLX, COUNT(*), SUM(HTMJ), SUM(DBMJ), SUM(SCMJ) FROM cbdk GROUP BY CYLX")}
    finally:
        c.close()


def group(rs):
    """[(township, [(village, [rows], totals)])] with per-class counts and area sums."""
    towns = {}
    for r in rs:
        t = towns.setdefault(r["XZDM"] or "", dict(code=r["XZDM"], name=r["XZMC"] or "", villages={}))
        v = t["villages"].setdefault(r["CJDM"] or "", dict(code=r["CJDM"], name=r["CJMC"] or "", rows=[], totals={}))
        v["rows"].append(r)
        tot = v["totals"].setdefault(r["CYLX"], dict(n=0, htmj=0.0, dbmj=0.0, scmj=0.0))
        tot["n"] += 1
        for k in ("htmj", "dbmj", "scmj"):
            tot[k] += r[k.upper()] or 0.0
    return [dict(t, villages=list(t["villages"].values())) for t in towns.values()]


def _masked(r, mask):
    out = dict(r)
    if mask:
        out["CBFMC"] = ("、".join(mask_name(x) for x in str(r["CBFMC"] or "").replace("等", "").split("、") if x)
                        + ("等" if str(r["CBFMC"] or "").endswith("等") else ""))
    return out


def _pct(a, b):
    return None if a in (None, 0) or b is None else round((a - b) / a * 100, 2)


def build(path, classes=None, mask=True, progress=NULL_PROGRESS):
    """The list's rows, groups and totals; `progress` is checked for a cancel while it builds."""
    found = rows(path, classes)
    progress.check()
    rs = []
    for i, r in enumerate(found):
        if i % 5000 == 0:
            progress.check()
            progress.set(1 + 3 * i / len(found))  # the bar moves while a county's rows are prepared (seconds)
        r = _masked(r, mask)
        r["CYLXMC"] = classify.CLASSES.get(r["CYLX"], r["CYLX"])
        r["PCT_DB"] = _pct(r["HTMJ"], r["DBMJ"])
        r["PCT_SC"] = _pct(r["HTMJ"], r["SCMJ"])
        r["CYYYSM"] = reason_zh(r) if r["CYLX"] == "contract_register_mismatch" else ""
        rs.append(r)
    return dict(gpkg=str(path), rows=rs, groups=group(rs), totals=class_totals(path), classes=list(classes or DEFAULT_CLASSES),
                created=dt.datetime.now().strftime("%Y-%m-%d %H:%M"), masked=mask)


def to_html(rep, progress=None):
    return report.render("consultation.html.j2", progress=progress, rep=rep, CLASSES=classify.CLASSES)


def to_xlsx(rep, target):
    head = ["乡镇", "村", "组", "地块编码", "地块名称", "承包方", "确权（合同）面积㎡", "登簿面积㎡", "实测面积㎡",
            "合同-登簿差㎡", "合同-实测差㎡", "实测差%", "差异类型", "差异原因", "合同总面积㎡", "合同内登簿面积合计㎡",
            "协商状态", "协商备注", "不动产单元号"]
    data = [[r["XZMC"], r["CJMC"], r["ZJMC"], r["DKBM"], r["DKMC"], r["CBFMC"], r["HTMJ"], r["DBMJ"], r["SCMJ"], r["HTDBC"], r["HTSCC"],
             r["PCT_SC"], r["CYLXMC"], r["CYYYSM"], r["HTZMJ"] if r["CYYYSM"] else None, r["DBZMJ"] if r["CYYYSM"] else None,
             r["XSZT"], r["XSBZ"], r["BDCDYH"]] for r in rep["rows"]]
    summary = []
    for t in rep["groups"]:
        for v in t["villages"]:
            for cls, tot in v["totals"].items():
                summary.append([t["name"], v["name"], classify.CLASSES.get(cls, cls), tot["n"],
                                round(tot["htmj"], 2), round(tot["dbmj"], 2), round(tot["scmj"], 2)])
    write_xlsx(target, [("协商清单", head, data),
                        ("按村汇总", ["乡镇", "村", "差异类型", "地块数", "合同面积㎡", "登簿面积㎡", "实测面积㎡"], summary)])


# ------------------------------------------------------------------ consultation records
def set_status(path, dkbms, status, note=None, user=None):
    """Record the outcome of the joint consultation for parcels, with user and time in the audit table.
    One short transaction; waits (up to 30 s) if QGIS or another process holds the database."""
    if status not in STATUSES:
        raise LcbError(f"协商状态必须是：{'、'.join(STATUSES)}", "unknown consultation status", field="XSZT", record=status)
    user = user or _user()
    now = dt.datetime.now().isoformat(timespec="seconds")
    c = _open(path, write=True)
    pg = getattr(c, "is_pg", False)
    try:
        c.execute("BEGIN IMMEDIATE")
        if pg:  # PostgreSQL: its audit trigger writes the row (for edits made anywhere), told who and why here
            c.execute("SELECT set_config('lcb.operator', ?, true), set_config('lcb.action', 'consult', true)", (user,))
        n = 0
        for k in dkbms:
            old = c.execute("SELECT XSZT, XSBZ FROM cbdk WHERE DKBM = ?", (k,)).fetchone()
            if old is None:
                continue
            c.execute("UPDATE cbdk SET XSZT = ?, XSBZ = ?, XSR = ?, XSSJ = ? WHERE DKBM = ?", (status, note if note is not None else old[1], user, now, k))
            if not pg:
                c.execute("INSERT INTO audit (at, user, action, DKBM, PCID, detail) VALUES (?,?,?,?,NULL,?)",
                          (now, user, "consult", k, json.dumps(dict(old=old[0], new=status, note=note), ensure_ascii=False)))
            n += 1
        c.execute("COMMIT")
        return n
    except BaseException:
        if c.in_transaction:
            c.execute("ROLLBACK")
        raise
    finally:
        c.close()


def audit(path, dkbms, status, note=None, user=None, action="consult"):
    """Audit rows only (used when the status itself goes through QGIS's edit buffer). In PostgreSQL the audit trigger
    writes them when QGIS commits the edits (with the database role), so nothing is written here."""
    if not isinstance(path, Path) and pgconn.target(path) is not None:
        return
    user = user or _user()
    now = dt.datetime.now().isoformat(timespec="seconds")
    c = _open(path, write=True)
    try:
        c.execute("BEGIN IMMEDIATE")
        c.executemany("INSERT INTO audit (at, user, action, DKBM, PCID, detail) VALUES (?,?,?,?,NULL,?)",
                      [(now, user, action, k, json.dumps(dict(new=status, note=note), ensure_ascii=False)) for k in dkbms])
        c.execute("COMMIT")
    finally:
        if c.in_transaction:
            c.execute("ROLLBACK")
        c.close()


__all__ = ["build", "to_html", "to_xlsx", "set_status", "STATUSES", "mask_id"]
