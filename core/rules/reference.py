"""Reference rules: every link between tables and layers in both directions, duplicate keys, and the
archive files the tables point to (图、数、档相关联)."""
from ..issues import rule

LINKS = [
    # rule id, child table, child column, parent table, parent column, Chinese message
    ("reference.cbdkxx_dkbm_not_in_dk", "CBDKXX", "DKBM", "DK", "DKBM", "承包地块信息中的地块“{key}”在地块图层中不存在"),
    ("reference.cbdkxx_cbfbm_not_in_cbf", "CBDKXX", "CBFBM", "CBF", "CBFBM", "承包地块信息引用的承包方“{key}”在承包方表中不存在"),
    ("reference.cbdkxx_cbhtbm_not_in_cbht", "CBDKXX", "CBHTBM", "CBHT", "CBHTBM", "承包地块信息引用的承包合同“{key}”不存在"),
    ("reference.cbdkxx_cbjyqzbm_not_in_djb", "CBDKXX", "CBJYQZBM", "CBJYQZDJB", "CBJYQZBM", "承包地块信息引用的登记簿“{key}”不存在"),
    ("reference.cbht_cbfbm_not_in_cbf", "CBHT", "CBFBM", "CBF", "CBFBM", "承包合同的承包方“{key}”在承包方表中不存在"),
    ("reference.jtcy_cbfbm_not_in_cbf", "CBF_JTCY", "CBFBM", "CBF", "CBFBM", "家庭成员所属承包方“{key}”不存在"),
    ("reference.fbfbm_not_in_fbf", "CBHT", "FBFBM", "FBF", "FBFBM", "发包方“{key}”在发包方表中不存在"),
    ("reference.fbfbm_not_in_fbf", "CBDKXX", "FBFBM", "FBF", "FBFBM", "发包方“{key}”在发包方表中不存在"),
    ("reference.djb_cbfbm_not_in_cbf", "CBJYQZDJB", "CBFBM", "CBF", "CBFBM", "登记簿的承包方“{key}”在承包方表中不存在"),
    ("reference.cbjyqz_not_in_djb", "CBJYQZ", "CBJYQZBM", "CBJYQZDJB", "CBJYQZBM", "承包经营权证“{key}”没有对应的登记簿"),
    ("reference.djb_not_in_cbjyqz", "CBJYQZDJB", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "登记簿“{key}”没有对应的承包经营权证"),
    ("reference.cbht_without_cbdkxx", "CBHT", "CBHTBM", "CBDKXX", "CBHTBM", "承包合同“{key}”没有承包地块"),
    ("reference.cbf_without_contract", "CBF", "CBFBM", "CBHT", "CBFBM", "承包方“{key}”没有承包合同"),
    ("reference.qzbf_not_in_cbjyqz", "CBJYQZ_QZBF", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "补发记录的权证“{key}”不存在"),
    ("reference.qzhf_not_in_cbjyqz", "CBJYQZ_QZHF", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "换发记录的权证“{key}”不存在"),
    ("reference.qzzx_not_in_cbjyqz", "CBJYQZ_QZZX", "CBJYQZBM", "CBJYQZ", "CBJYQZBM", "注销记录的权证“{key}”不存在"),
    ("reference.fj_not_in_djb", "QSLYZLFJ", "CBJYQZBM", "CBJYQZDJB", "CBJYQZBM", "权属来源附件的登记簿“{key}”不存在"),
    ("reference.lzhtbm_not_in_lzht", "CBDKXX", "LZHTBM", "LZHT", "LZHTBM", "承包地块信息引用的流转合同“{key}”不存在"),
    ("reference.lzht_cbhtbm_not_in_cbht", "LZHT", "CBHTBM", "CBHT", "CBHTBM", "流转合同引用的承包合同“{key}”不存在"),
    ("reference.ledger_not_in_cbdkxx", "LEDGER", "DKBM", "CBDKXX", "DKBM", "台账中的地块“{key}”在承包地块信息中不存在"),
]
_seen = set()


def _make(rid, msg, child):
    if rid in _seen:
        return
    _seen.add(rid)
    rule(rid, "reference", "error", msg, f"Every {child} value must exist in the table it refers to.")(links)


def links(ctx):
    for _rid, _child, _ccol, parent, pcol, _msg in LINKS:  # every lookup below must be an index seek
        ctx.ws.stage.conn.execute(f'CREATE INDEX IF NOT EXISTS "ix_{parent}_{pcol}" ON "{parent}"("{pcol}")')
    for rid, child, ccol, parent, pcol, _msg in LINKS:
        if child == "LEDGER" and not ctx.ws.stage.has_ledger:
            continue
        if parent == "DK" and ctx.ws.dk is None:
            continue
        if parent not in ("DK", "CBDKXX") and not ctx.ws.stage.present.get(parent):
            continue
        sql = (f'SELECT DISTINCT c."{ccol}" FROM "{child}" c WHERE c."{ccol}" IS NOT NULL AND trim(c."{ccol}") <> \'\' '
               f'AND NOT EXISTS (SELECT 1 FROM "{parent}" p WHERE p."{pcol}" = c."{ccol}")')
        layer = "确权登记发证台账" if child == "LEDGER" else child
        for k, in ctx.q(sql):
            ctx.issue(rid, k, ccol, k, layer=layer, geometry_of=k if ccol == "DKBM" else None)


for _rid, _child, _ccol, _parent, _pcol, _msg in LINKS:
    _make(_rid, _msg, f"{_child}.{_ccol}")


@rule("reference.dk_without_cbdkxx", "reference", "error", "承包地块“{key}”（地块类别 10）没有承包地块信息（图有数无）",
      "A DK parcel of class 10 (承包地块) that no CBDKXX row lists. Non-contract classes (21/22/23/99) legitimately have none.")
def dk_without_cbdkxx(ctx):
    for k, in ctx.q("SELECT DISTINCT DKBM FROM DK d WHERE DKLB = '10' AND DKBM IS NOT NULL AND DKBM <> '' "
                    "AND NOT EXISTS (SELECT 1 FROM CBDKXX c WHERE c.DKBM = d.DKBM)"):
        ctx.issue("reference.dk_without_cbdkxx", k, "DKBM", k, layer="DK", geometry_of=k)


@rule("reference.duplicate_key", "reference", "error", "{layer} 中 {field}“{key}”重复 {value} 次", "A primary key occurs more than once in a table.")
def duplicates(ctx):
    keys = [("FBF", "FBFBM"), ("CBF", "CBFBM"), ("CBHT", "CBHTBM"), ("CBJYQZDJB", "CBJYQZBM"), ("CBJYQZ", "CBJYQZBM"),
            ("LZHT", "LZHTBM")]
    for table, col in keys:
        for k, n in ctx.q(f'SELECT "{col}", COUNT(*) FROM "{table}" WHERE "{col}" IS NOT NULL GROUP BY "{col}" HAVING COUNT(*) > 1'):
            ctx.issue("reference.duplicate_key", k, col, n, layer=table)
    for k, cbf, n in ctx.q("SELECT DKBM, CBFBM, COUNT(*) FROM CBDKXX WHERE DKBM IS NOT NULL GROUP BY DKBM, CBFBM HAVING COUNT(*) > 1"):
        ctx.issue("reference.duplicate_key", k, "DKBM", n, layer="CBDKXX")
    for k, n in ctx.q("SELECT DKBM, COUNT(*) FROM CBDKXX WHERE DKBM IS NOT NULL AND COALESCE(SFQQQG,'2') <> '1' "
                      "GROUP BY DKBM HAVING COUNT(DISTINCT CBFBM) > 1"):
        ctx.issue("reference.duplicate_key", k, "DKBM", n, layer="CBDKXX")
    for cbf, zjhm, n in ctx.q("SELECT CBFBM, CYZJHM, COUNT(*) FROM CBF_JTCY WHERE CYZJHM IS NOT NULL AND trim(CYZJHM) <> '' GROUP BY CBFBM, CYZJHM HAVING COUNT(*) > 1"):
        ctx.issue("reference.duplicate_key", cbf, "CYZJHM", n, layer="CBF_JTCY")


@rule("reference.dksyt_file_missing", "reference", "error", "登记簿 {detail} 的地块示意图文件不存在：{key}", "The plot-sketch PDF named in CBJYQZDJB.DKSYT is not on disk.")
@rule("reference.attachment_file_missing", "reference", "error", "权证 {detail} 的权属来源附件文件不存在：{key}", "The attachment named in QSLYZLFJ.FJ is not on disk.")
def archive_files(ctx):
    d = ctx.ws.d
    for bm, path in ctx.q("SELECT CBJYQZBM, DKSYT FROM CBJYQZDJB WHERE DKSYT IS NOT NULL AND trim(DKSYT) <> ''"):
        if not d.has_file(path):
            ctx.issue("reference.dksyt_file_missing", str(path).replace("\\", "/"), "DKSYT", path, layer="CBJYQZDJB", detail=bm)
    for bm, path in ctx.q("SELECT CBJYQZBM, FJ FROM QSLYZLFJ WHERE FJ IS NOT NULL AND trim(FJ) <> ''"):
        if not d.has_file(path):
            ctx.issue("reference.attachment_file_missing", str(path).replace("\\", "/"), "FJ", path, layer="QSLYZLFJ", detail=bm)
