"""Persons: contractors and household members — one head per household, member count, a person in one
household once, sex and birth date against the ID number and the relation to the head (GB/T 4761)."""
from .. import codes
from ..issues import parallel, rule
from ..output import mask_id
from .formats import valid_resident_id_sql

HEAD = "('01','02')"
MALE = "(" + ",".join(f"'{c}'" for c, s in codes.SEX_BY_RELATION.items() if s == "1") + ")"
FEMALE = "(" + ",".join(f"'{c}'" for c, s in codes.SEX_BY_RELATION.items() if s == "2") + ")"
ID18 = "CYZJHM GLOB '" + "[0-9]" * 17 + "[0-9Xx]'"


@rule("member.cbfcysl", "member", "error", "承包方“{key}”的成员数量 CBFCYSL={value}，家庭成员表中有 {detail} 人",
      "CBF.CBFCYSL differs from the number of member rows.")
@rule("member.no_members", "member", "error", "农户承包方“{key}”没有家庭成员记录", "A farm household (CBFLX 1) without CBF_JTCY rows.")
@rule("member.no_head", "member", "error", "承包方“{key}”的家庭成员中没有户主（与户主关系 02/01）", "No member is the household head.")
@rule("member.two_heads", "member", "error", "承包方“{key}”有 {value} 名户主", "More than one member is the household head.")
@rule("member.head_mismatch", "member", "error", "承包方“{key}”的户主{detail}与承包方表不一致",
      "The head's name or ID number differs from CBF.CBFMC / CBFZJHM.")
@parallel
def members(ctx):
    sql = (f"SELECT f.CBFBM, f.CBFLX, f.CBFCYSL, f.CBFMC, f.CBFZJHM, COUNT(m._row), SUM(m.YHZGX IN {HEAD}), "
           f"MAX(CASE WHEN m.YHZGX IN {HEAD} THEN m.CYXM END), MAX(CASE WHEN m.YHZGX IN {HEAD} THEN m.CYZJHM END) "
           "FROM CBF f LEFT JOIN CBF_JTCY m ON m.CBFBM = f.CBFBM GROUP BY f._row")
    for cbf, lx, cysl, mc, zjhm, n, heads, hname, hid in ctx.q(sql):
        if isinstance(cysl, int) and cysl != n:
            ctx.issue("member.cbfcysl", cbf, "CBFCYSL", cysl, layer="CBF", detail=n)
        if (lx or "").strip() != "1":
            continue
        if n == 0:
            ctx.issue("member.no_members", cbf, "CBFBM", "", layer="CBF")
            continue
        if not heads:
            ctx.issue("member.no_head", cbf, "YHZGX", "", layer="CBF_JTCY")
        elif heads > 1:
            ctx.issue("member.two_heads", cbf, "YHZGX", heads, layer="CBF_JTCY")
        else:
            what = []
            if mc and hname and mc.strip() != hname.strip():
                what.append("姓名")
            if zjhm and hid and zjhm.strip().upper() != hid.strip().upper():
                what.append("证件号码")
            if what:
                ctx.issue("member.head_mismatch", cbf, "CYXM" if what[0] == "姓名" else "CYZJHM", "", layer="CBF_JTCY", detail="、".join(what))


@rule("member.duplicate_member", "member", "error", "承包方“{key}”的家庭成员中证件号码 {value} 出现 {detail} 次",
      "The same person (ID number) is listed more than once in one household.")
@rule("member.id_in_two_households", "member", "error", "证件号码 {value} 同时是承包方“{key}”和 {detail} 的家庭成员",
      "The same person (ID number) is a member of two farm households (CBFLX 1); each household is reported.",
      source="NY/T 2539-2016 CBF_JTCY: a person belongs to one 承包方 household (确权 practice: 一人不能在两户).")
@parallel
def duplicate_people(ctx):
    rows = ctx.q("SELECT CYZJHM, CBFBM, COUNT(*) FROM CBF_JTCY WHERE CYZJHM IN (SELECT CYZJHM FROM CBF_JTCY WHERE CYZJHM IS NOT NULL "
                 "AND trim(CYZJHM) <> '' GROUP BY CYZJHM HAVING COUNT(*) > 1) GROUP BY CYZJHM, CBFBM")
    if not rows:
        return
    farm = {k for k, in ctx.q("SELECT CBFBM FROM CBF WHERE CBFLX = '1'")}
    by_id = {}
    for zjhm, cbf, n in rows:
        by_id.setdefault(zjhm, []).append((cbf, n))
        if n > 1:
            ctx.issue("member.duplicate_member", cbf, "CYZJHM", mask_id(zjhm), layer="CBF_JTCY", detail=n)
    for zjhm, hh in by_id.items():
        hh = [c for c, _n in hh if c in farm]
        if len(hh) < 2:
            continue
        for c in hh:
            others = "、".join(o for o in hh if o != c)
            ctx.issue("member.id_in_two_households", c, "CYZJHM", mask_id(zjhm), layer="CBF_JTCY", detail=others)


@rule("code.sex_id", "code", "error", "成员性别 CYXB={detail} 与身份证号码第17位（{value}）不符",
      "A member's sex contradicts the 17th digit of the ID number.",
      family="persons", source="GB 11643-1999: the 17th digit is odd for men, even for women.")
@rule("member.sex_relation", "member", "error", "承包方“{key}”的成员 {value} 与户主关系为 {detail}，但性别 CYXB={sex}",
      "A member's sex contradicts the relation to the head, where the relation implies it (夫/子/父亲/兄 … male; "
      "妻/女/母亲/姐 … female).", source="GB/T 4761-2008 家庭关系代码.")
@parallel
def sex(ctx):
    latest = ctx.delivery_date.isoformat()
    sql = (f"SELECT CBFBM, CYZJHM, CYXB FROM CBF_JTCY WHERE CYZJLX = '1' AND CYXB IN ('1','2') AND {ID18} "
           "AND ((CAST(substr(CYZJHM, 17, 1) AS INTEGER) % 2 = 1) <> (CYXB = '1')) AND " + valid_resident_id_sql("CYZJHM", latest))
    for cbf, zjhm, xb in ctx.q(sql):
        ctx.issue("code.sex_id", cbf, "CYXB", mask_id(zjhm), layer="CBF_JTCY", detail=xb)
    labels = ctx.codes.get("与户主关系", {})
    for cbf, rel, xb, zjhm in ctx.q(f"SELECT CBFBM, YHZGX, CYXB, CYZJHM FROM CBF_JTCY WHERE (YHZGX IN {MALE} AND CYXB = '2') "
                                    f"OR (YHZGX IN {FEMALE} AND CYXB = '1')"):
        ctx.issue("member.sex_relation", cbf, "YHZGX", mask_id(zjhm), layer="CBF_JTCY", detail=f"{rel} {labels.get(rel, '')}".strip(),
                  sex=f"{xb}（{'男' if xb == '1' else '女'}）")


@rule("member.age_relation", "member", "warning", "承包方“{key}”的成员 {value}（与户主关系 {detail}）{why}",
      "The birth date in a member's ID contradicts the generation of the relation to the head: a child, child-in-law or "
      "grandchild (2x/3x/4x) born before the head, or a parent or grandparent (5x/6x) born after the head.",
      why="adoptive and step relations and unusual households exist; most often the relation code or the head is wrong.",
      source="GB/T 4761-2008 家庭关系代码 (generations); GB 11643-1999 birth date.")
@parallel
def ages(ctx):
    sql = (f"WITH h AS (SELECT CBFBM, MIN(substr(CYZJHM, 7, 8)) hb FROM CBF_JTCY WHERE YHZGX IN {HEAD} AND CYZJLX IN ('1','4') AND {ID18} "
           "GROUP BY CBFBM HAVING COUNT(*) = 1) "
           f"SELECT m.CBFBM, m.YHZGX, m.CYZJHM, h.hb FROM CBF_JTCY m JOIN h ON h.CBFBM = m.CBFBM WHERE m.CYZJLX IN ('1','4') AND m.{ID18} AND "
           "((substr(m.YHZGX, 1, 1) IN ('2','3','4') AND substr(m.CYZJHM, 7, 8) <= h.hb) OR "
           "(substr(m.YHZGX, 1, 1) IN ('5','6') AND substr(m.CYZJHM, 7, 8) >= h.hb))")
    labels = ctx.codes.get("与户主关系", {})
    for cbf, rel, zjhm, hb in ctx.q(sql):
        why = "出生早于户主" if rel[:1] in "234" else "出生晚于户主"
        ctx.issue("member.age_relation", cbf, "YHZGX", mask_id(zjhm), layer="CBF_JTCY", detail=f"{rel} {labels.get(rel, '')}".strip(),
                  why=f"{why}（{hb[:4]}年）")
