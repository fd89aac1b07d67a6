"""Household member rules."""
from ..issues import rule

HEAD = "('01','02')"


@rule("member.cbfcysl", "member", "error", "承包方“{key}”的成员数量 CBFCYSL={value}，家庭成员表中有 {detail} 人", "CBF.CBFCYSL differs from the number of member rows.")
@rule("member.no_members", "member", "error", "农户承包方“{key}”没有家庭成员记录", "A farm household (CBFLX 1) without CBF_JTCY rows.")
@rule("member.no_head", "member", "error", "承包方“{key}”的家庭成员中没有户主（与户主关系 02/01）", "No member is the household head.")
@rule("member.two_heads", "member", "error", "承包方“{key}”有 {value} 名户主", "More than one member is the household head.")
@rule("member.head_mismatch", "member", "error", "承包方“{key}”的户主{detail}与承包方表不一致", "The head's name or ID number differs from CBF.CBFMC / CBFZJHM.")
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
