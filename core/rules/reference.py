"""Reference rules: every link between tables and layers in both directions, duplicate keys, and the
archive files the tables point to (图、数、档相关联).

Every issue is keyed by the record that is wrong — the CBDKXX row's DKBM, the contract's CBHTBM, the
register's CBJYQZBM … — never by the value that failed the lookup (that value is the issue's `value`)."""
import numpy as np

from ..issues import parallel, rule
from .common import KEYS

LINKS = [
    # rule id, child table, child column, parent table, parent column, Chinese message
    ("reference.cbdkxx_dkbm_not_in_dk", "CBDKXX", "DKBM", "DK", "DKBM",
     "承包地块信息中的地块“{key}”在地块图层中不存在（图无数有）"),
    ("reference.cbdkxx_cbfbm_not_in_cbf", "CBDKXX", "CBFBM", "CBF", "CBFBM",
     "承包地块信息中地块“{key}”的承包方 {value} 在承包方表中不存在"),
    ("reference.cbdkxx_cbhtbm_not_in_cbht", "CBDKXX", "CBHTBM", "CBHT", "CBHTBM", "承包地块信息中地块“{key}”的承包合同 {value} 不存在"),
    ("reference.cbdkxx_cbjyqzbm_not_in_djb", "CBDKXX", "CBJYQZBM", "CBJYQZDJB", "CBJYQZBM",
     "承包地块信息中地块“{key}”的登记簿 {value} 不存在"),
    ("reference.cbht_cbfbm_not_in_cbf", "CBHT", "CBFBM", "CBF", "CBFBM", "承包合同“{key}”的承包方 {value} 在承包方表中不存在"),
    ("reference.jtcy_cbfbm_not_in_cbf", "CBF_JTCY", "CBFBM", "CBF", "CBFBM", "家庭成员所属承包方“{key}”在承包方表中不存在"),
    ("reference.fbfbm_not_in_fbf", "CBHT", "FBFBM", "FBF", "FBFBM", "{layer}“{key}”的发包方 {value} 在发包方表中不存在"),
    ("reference.fbfbm_not_in_fbf", "CBDKXX", "FBFBM", "FBF", "FBFBM", ""),
    ("reference.fbfbm_not_in_fbf", "CBJYQZDJB", "FBFBM", "FBF", "FBFBM", ""),
    ("reference.djb_cbfbm_not_in_cbf", "CBJYQZDJB", "CBFBM", "CBF", "CBFBM", "登记簿“{key}”的承包方 {value} 在承包方表中不存在"),
    ("reference.cbjyqz_not_in_djb", "CBJYQZ", "CBJYQZBM", "CBJYQZDJB", "CBJYQZBM", "承包经营权证“{key}”没有对应的登记簿"),
    ("reference.djb_not_in_cbjyqz", "CBJYQZDJB", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "登记簿“{key}”没有对应的承包经营权证"),
    ("reference.cbht_without_cbdkxx", "CBHT", "CBHTBM", "CBDKXX", "CBHTBM", "承包合同“{key}”没有承包地块"),
    ("reference.cbf_without_contract", "CBF", "CBFBM", "CBHT", "CBFBM", "承包方“{key}”没有承包合同"),
    ("reference.qzbf_not_in_cbjyqz", "CBJYQZ_QZBF", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "补发记录的权证“{key}”不存在"),
    ("reference.qzhf_not_in_cbjyqz", "CBJYQZ_QZHF", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "换发记录的权证“{key}”不存在"),
    ("reference.qzzx_not_in_cbjyqz", "CBJYQZ_QZZX", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "注销记录的权证“{key}”不存在"),
    ("reference.fj_not_in_djb", "QSLYZLFJ", "CBJYQZBM", "CBJYQZDJB", "CBJYQZBM", "权属来源附件的登记簿“{key}”不存在"),
    ("reference.lzhtbm_not_in_lzht", "CBDKXX", "LZHTBM", "LZHT", "LZHTBM", "承包地块信息中地块“{key}”的流转合同 {value} 不存在"),
    ("reference.lzht_cbhtbm_not_in_cbht", "LZHT", "CBHTBM", "CBHT", "CBHTBM", "流转合同“{key}”的承包合同 {value} 不存在"),
    ("reference.ledger_not_in_cbdkxx", "LEDGER", "DKBM", "CBDKXX", "DKBM", "台账中的地块“{key}”在承包地块信息中不存在"),
]
_seen = set()


def _make(rid, msg, child, ccol, parent, pcol):
    if rid in _seen:
        return
    _seen.add(rid)
    key = "DKBM" if child == "LEDGER" else KEYS[child]
    own = "" if key == ccol else f" The issue is keyed by the {child} record's own {key}; the missing value is the issue's value."
    rule(rid, "reference", "error", msg, f"Every {child}.{ccol} must exist in {parent}.{pcol}.{own}")(links)


def create_indexes(ctx):
    """Every lookup of the link rules is an index seek (run once, before the rule threads start)."""
    conn = ctx.ws.stage.conn
    for _rid, _child, _ccol, parent, pcol, _msg in LINKS:
        if parent != "DK" or conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'DK'").fetchone():
            conn.execute(f'CREATE INDEX IF NOT EXISTS "ix_{parent}_{pcol}" ON "{parent}"("{pcol}")')
    conn.commit()


@parallel
def links(ctx):
    for rid, child, ccol, parent, pcol, _msg in LINKS:
        if child == "LEDGER" and not ctx.ws.stage.has_ledger:
            continue
        if parent == "DK" and ctx.ws.dk is None:
            continue
        if parent not in ("DK", "CBDKXX") and not ctx.ws.stage.present.get(parent):
            continue
        if child != "LEDGER" and ccol not in ctx.ws.stage.present.get(child, []):
            continue
        key = "DKBM" if child == "LEDGER" else KEYS[child]
        sql = (f'SELECT DISTINCT c."{key}", c."{ccol}" FROM "{child}" c WHERE c."{ccol}" IS NOT NULL AND c."{ccol}" <> \'\' '
               f'AND NOT EXISTS (SELECT 1 FROM "{parent}" p WHERE p."{pcol}" = c."{ccol}")')
        layer = "确权登记发证台账" if child == "LEDGER" else child
        for k, v in ctx.q(sql):
            ctx.issue(rid, k or v, ccol, v, layer=layer, geometry_of=k if key == "DKBM" else None)


for _rid, _child, _ccol, _parent, _pcol, _msg in LINKS:
    _make(_rid, _msg, _child, _ccol, _parent, _pcol)


@rule("reference.dk_without_cbdkxx", "reference", "error", "承包地块“{key}”（地块类别 10）没有承包地块信息（图有数无）",
      "A DK parcel of class 10 (承包地块) that no CBDKXX row lists. Non-contract classes (21/22/23/99) legitimately have none.")
@parallel
def dk_without_cbdkxx(ctx):
    for k, in ctx.q("SELECT DISTINCT DKBM FROM DK d WHERE DKLB = '10' AND DKBM IS NOT NULL AND DKBM <> '' "
                    "AND NOT EXISTS (SELECT 1 FROM CBDKXX c WHERE c.DKBM = d.DKBM)"):
        ctx.issue("reference.dk_without_cbdkxx", k, "DKBM", k, layer="DK", geometry_of=k)


@rule("reference.fbf_missing", "reference", "error", "{layer}“{key}”所属的发包方 {value}（编码前14位）在发包方表中不存在",
      "A DK parcel (DKBM) or a contractor (CBFBM) whose first 14 digits name no FBF row: the 发包方 of the record is "
      "unknown.", source="NY/T 2538-2014: DKBM and CBFBM begin with their 发包方's FBFBM.")
@rule("reference.fbf_not_in_code_table", "reference", "error", "发包方“{key}”不在权属单位代码表中",
      "An FBF.FBFBM that the delivery's 权属单位代码表 does not list.",
      source="汇交办法: <county><year>权属单位代码表.xls lists every 权属单位 (reference/standards.md §2).")
@parallel
def owners(ctx):
    fbf = {r[0] for r in ctx.q("SELECT DISTINCT FBFBM FROM FBF WHERE FBFBM IS NOT NULL")}
    if fbf:
        dk = ctx.ws.dk
        if dk is not None and dk.n and "DKBM" in dk.raw and dk.raw["DKBM"].dtype.kind == "S":
            raw = dk.raw["DKBM"]
            ok = (np.char.str_len(raw) >= 14)
            prefix = raw.astype("S14")
            uniq, inv = np.unique(prefix, return_inverse=True)
            known = np.array([u.decode("utf-8", "replace") in fbf for u in uniq.tolist()], bool)
            keys = dk.text("DKBM")
            for i in np.nonzero(ok & ~known[inv])[0]:
                ctx.issue("reference.fbf_missing", keys[i], "DKBM", keys[i][:14], layer="DK", geometry_of=keys[i])
        for k, in ctx.q("SELECT CBFBM FROM CBF f WHERE length(CBFBM) >= 14 AND NOT EXISTS "
                        "(SELECT 1 FROM FBF b WHERE b.FBFBM = substr(f.CBFBM, 1, 14))"):
            ctx.issue("reference.fbf_missing", k, "CBFBM", k[:14], layer="CBF")
    codes = {r[0] for r in ctx.q("SELECT code FROM CODES")}
    if codes:
        for k in sorted(fbf - codes):
            ctx.issue("reference.fbf_not_in_code_table", k, "FBFBM", k, layer="FBF")


@rule("reference.duplicate_key", "reference", "error", "{layer} 中 {field}“{key}”重复 {value} 次", "A primary key occurs more than once in a table.")
@parallel
def duplicates(ctx):
    keys = [("FBF", "FBFBM"), ("CBF", "CBFBM"), ("CBHT", "CBHTBM"), ("CBJYQZDJB", "CBJYQZBM"), ("CBJYQZ", "CBJYQZBM"),
            ("LZHT", "LZHTBM")]
    for table, col in keys:
        for k, n in ctx.q(f'SELECT "{col}", COUNT(*) FROM "{table}" WHERE "{col}" IS NOT NULL GROUP BY "{col}" HAVING COUNT(*) > 1'):
            ctx.issue("reference.duplicate_key", k, col, n, layer=table)
    for k, n in ctx.q("SELECT DKBM, MAX(n) FROM (SELECT DKBM, COUNT(*) n FROM CBDKXX WHERE DKBM IS NOT NULL GROUP BY DKBM, CBFBM "
                      "HAVING COUNT(*) > 1) GROUP BY DKBM"):
        ctx.issue("reference.duplicate_key", k, "DKBM", n, layer="CBDKXX")
    for k, n in ctx.q("SELECT DKBM, COUNT(DISTINCT CBFBM) FROM CBDKXX WHERE DKBM IS NOT NULL AND COALESCE(SFQQQG,'2') <> '1' "
                      "GROUP BY DKBM HAVING COUNT(DISTINCT CBFBM) > 1"):
        ctx.issue("reference.duplicate_key", k, "CBFBM", n, layer="CBDKXX")


@rule("reference.dksyt_file_missing", "reference", "error", "登记簿 {detail} 的地块示意图文件不存在：{key}",
      "The plot-sketch PDF named in CBJYQZDJB.DKSYT is not on disk.")
@rule("reference.attachment_file_missing", "reference", "error", "权证 {detail} 的权属来源附件文件不存在：{key}",
      "The attachment named in QSLYZLFJ.FJ is not on disk.")
@parallel
def archive_files(ctx):
    d = ctx.ws.d
    for bm, path in ctx.q("SELECT CBJYQZBM, DKSYT FROM CBJYQZDJB WHERE DKSYT IS NOT NULL AND trim(DKSYT) <> ''"):
        if not d.has_file(path):
            ctx.issue("reference.dksyt_file_missing", str(path).replace("\\", "/"), "DKSYT", path, layer="CBJYQZDJB", detail=bm)
    for bm, path in ctx.q("SELECT CBJYQZBM, FJ FROM QSLYZLFJ WHERE FJ IS NOT NULL AND trim(FJ) <> ''"):
        if not d.has_file(path):
            ctx.issue("reference.attachment_file_missing", str(path).replace("\\", "/"), "FJ", path, layer="QSLYZLFJ", detail=bm)
