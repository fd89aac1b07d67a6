"""Date logic: contract periods, the register against the contract, and the order of the confirmation work
(survey → publicity review → contract signing → registration → certificate issue → receipt)."""
import re

from ..issues import parallel, rule

ISO = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"


@rule("date.cbqx_order", "date", "error", "{layer}“{key}”的承包期限起 {value} 不早于承包期限止 {detail}", "CBQXQ is not before CBQXZ.")
@parallel
def cbqx_order(ctx):
    for table, key in (("CBHT", "CBHTBM"), ("CBJYQZDJB", "CBJYQZBM")):
        for k, a, b in ctx.q(f'SELECT "{key}", CBQXQ, CBQXZ FROM "{table}" WHERE CBQXQ IS NOT NULL AND CBQXZ IS NOT NULL AND CBQXQ >= CBQXZ'):
            ctx.issue("date.cbqx_order", k, "CBQXQ", a, layer=table, detail=b)


@rule("date.cbqx_djb", "date", "error", "登记簿“{key}”的{detail}为 {value}，与承包合同的 {other} 不一致",
      "The register's CBQXQ/CBQXZ differ from its contract's.")
@parallel
def cbqx_djb(ctx):
    sql = ("SELECT DISTINCT d.CBJYQZBM, d.CBQXQ, d.CBQXZ, h.CBQXQ, h.CBQXZ FROM CBJYQZDJB d JOIN "
           "(SELECT DISTINCT CBJYQZBM, CBHTBM FROM CBDKXX UNION SELECT CBHTBM, CBHTBM FROM CBHT) l ON l.CBJYQZBM = d.CBJYQZBM "
           "JOIN CBHT h ON h.CBHTBM = l.CBHTBM WHERE d.CBQXQ <> h.CBQXQ OR d.CBQXZ <> h.CBQXZ")
    for k, dq, dz, hq, hz in ctx.q(sql):
        if dq and hq and dq != hq:
            ctx.issue("date.cbqx_djb", k, "CBQXQ", dq, layer="CBJYQZDJB", detail="承包期限起", other=hq)
        if dz and hz and dz != hz:
            ctx.issue("date.cbqx_djb", k, "CBQXZ", dz, layer="CBJYQZDJB", detail="承包期限止", other=hz)


_CBQX = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


@rule("date.cbqx_text", "date", "error", "登记簿“{key}”的承包期限 CBQX“{value}”与承包期限起止 {detail} 不一致",
      "The register's 承包期限 text (e.g. 1998年12月01日至2028年11月30日) names other dates than its CBQXQ / CBQXZ. "
      "Texts that name no two dates (e.g. 30年) are not compared.",
      source="Vendor repair rules: CBQX = “CBQXQ至CBQXZ” written yyyy年MM月dd日 (reference/standards.md §5).")
@parallel
def cbqx_text(ctx):
    for k, text, q, z in ctx.q("SELECT CBJYQZBM, CBQX, CBQXQ, CBQXZ FROM CBJYQZDJB WHERE CBQX IS NOT NULL AND CBQXQ IS NOT NULL "
                               "AND CBQXZ IS NOT NULL AND CBQX <> substr(CBQXQ,1,4) || '年' || substr(CBQXQ,6,2) || '月' || substr(CBQXQ,9,2) "
                               "|| '日至' || substr(CBQXZ,1,4) || '年' || substr(CBQXZ,6,2) || '月' || substr(CBQXZ,9,2) || '日'"):
        found = _CBQX.findall(text or "")
        if len(found) != 2:
            continue
        a, b = (f"{y}-{int(m):02d}-{int(d):02d}" for y, m, d in found)
        if (a, b) != (q[:10], z[:10]):
            ctx.issue("date.cbqx_text", k, "CBQX", text, layer="CBJYQZDJB", detail=f"{q[:10]}—{z[:10]}")


@rule("date.sequence", "date", "error", "{layer}“{key}”的{detail}（{value}）",
      "Survey ≤ publicity review ≤ contract signing: CBF.CBFDCRQ ≤ CBF.GSSHRQ (keyed by the CBF) ≤ CBHT.QDSJ (keyed by the contract).")
@parallel
def sequence(ctx):
    for k, dc, gs in ctx.q("SELECT CBFBM, CBFDCRQ, GSSHRQ FROM CBF WHERE CBFDCRQ IS NOT NULL AND GSSHRQ IS NOT NULL AND CBFDCRQ > GSSHRQ"):
        ctx.issue("date.sequence", k, "GSSHRQ", f"{dc} > {gs}", layer="CBF", detail="调查日期晚于公示审核日期")
    for k, gs, qd in ctx.q("SELECT h.CBHTBM, f.GSSHRQ, h.QDSJ FROM CBF f JOIN CBHT h ON h.CBFBM = f.CBFBM "
                           "WHERE f.GSSHRQ IS NOT NULL AND h.QDSJ IS NOT NULL AND f.GSSHRQ > h.QDSJ"):
        ctx.issue("date.sequence", k, "QDSJ", f"{gs} > {qd}", layer="CBHT", detail="承包方公示审核日期晚于合同签订时间")


@rule("date.register_order", "date", "error", "登记簿“{key}”的登记时间 DJSJ {value} 早于承包合同签订时间 {detail}",
      "The register records the contract: its 登记时间 cannot precede the contract's signing (CBHT.QDSJ).",
      source="NY/T 2539-2016 CBJYQZDJB.DJSJ, CBHT.QDSJ; 民法典 第333条 (the right arises from the contract, then is registered).")
@rule("date.issue_order", "date", "error", "承包经营权证“{key}”的发证日期 FZRQ {value} 早于{detail}",
      "A certificate is issued after registration: CBJYQZ.FZRQ before the register's DJSJ or the contract's QDSJ.",
      source="不动产登记暂行条例 第21条 (登簿 then 发证); NY/T 2539-2016 CBJYQZ.FZRQ.")
@rule("date.receipt_order", "date", "error", "{layer}“{key}”的{detail}",
      "A certificate is received after it is issued (CBJYQZ.QZLQRQ ≥ FZRQ; re-issue QZBFLQRQ ≥ BFRQ; exchange QZHFLQRQ ≥ HFRQ) "
      "and cancelled after it is issued (CBJYQZ_QZZX.ZXRQ ≥ FZRQ).")
@parallel
def work_order(ctx):
    for k, dj, qd in ctx.q(f"SELECT d.CBJYQZBM, d.DJSJ, h.QDSJ FROM CBJYQZDJB d JOIN CBHT h ON h.CBHTBM = d.CBJYQZBM "
                           f"WHERE d.DJSJ {ISO} AND h.QDSJ {ISO} AND substr(d.DJSJ, 1, 10) < substr(h.QDSJ, 1, 10)"):
        ctx.issue("date.register_order", k, "DJSJ", dj[:10], layer="CBJYQZDJB", detail=qd[:10])
    sql = (f"SELECT z.CBJYQZBM, z.FZRQ, d.DJSJ, h.QDSJ FROM CBJYQZ z LEFT JOIN CBJYQZDJB d ON d.CBJYQZBM = z.CBJYQZBM "
           f"LEFT JOIN CBHT h ON h.CBHTBM = z.CBJYQZBM WHERE z.FZRQ {ISO} AND ("
           f"(d.DJSJ {ISO} AND substr(z.FZRQ, 1, 10) < substr(d.DJSJ, 1, 10)) OR (h.QDSJ {ISO} AND substr(z.FZRQ, 1, 10) < substr(h.QDSJ, 1, 10)))")
    for k, fz, dj, qd in ctx.q(sql):
        if dj and fz[:10] < dj[:10]:
            ctx.issue("date.issue_order", k, "FZRQ", fz[:10], layer="CBJYQZ", detail=f"登记簿的登记时间 {dj[:10]}")
        else:
            ctx.issue("date.issue_order", k, "FZRQ", fz[:10], layer="CBJYQZ", detail=f"承包合同签订时间 {qd[:10]}")
    for table, a, b, what in (("CBJYQZ", "FZRQ", "QZLQRQ", "领取日期早于发证日期"),
                              ("CBJYQZ_QZBF", "BFRQ", "QZBFLQRQ", "补发证领取日期早于补发日期"),
                              ("CBJYQZ_QZHF", "HFRQ", "QZHFLQRQ", "换发证领取日期早于换发日期")):
        for k, x, y in ctx.q(f'SELECT CBJYQZBM, "{a}", "{b}" FROM "{table}" WHERE "{a}" {ISO} AND "{b}" {ISO} AND substr("{b}", 1, 10) < substr("{a}", 1, 10)'):
            ctx.issue("date.receipt_order", k, b, y[:10], layer=table, detail=f"{what}（{y[:10]} < {x[:10]}）")
    for k, zx, fz in ctx.q(f"SELECT x.CBJYQZBM, x.ZXRQ, z.FZRQ FROM CBJYQZ_QZZX x JOIN CBJYQZ z ON z.CBJYQZBM = x.CBJYQZBM "
                           f"WHERE x.ZXRQ {ISO} AND z.FZRQ {ISO} AND substr(x.ZXRQ, 1, 10) < substr(z.FZRQ, 1, 10)"):
        ctx.issue("date.receipt_order", k, "ZXRQ", zx[:10], layer="CBJYQZ_QZZX", detail=f"注销日期早于发证日期（{zx[:10]} < {fz[:10]}）")


@rule("date.lz_order", "date", "error", "流转合同“{key}”的{detail}",
      "A transfer contract's period is reversed (LZQXKSRQ after LZQXJSRQ), or it was signed after its period ended (HTQDRQ after LZQXJSRQ).")
@rule("date.lz_beyond_contract", "date", "error", "流转合同“{key}”的流转期限止 {value} 晚于承包合同 {other} 的承包期限止 {detail}",
      "A transfer (流转) outlasts the remaining contract period: LZHT.LZQXJSRQ after the contract's CBQXZ (not repeated when "
      "the contract's own period is reversed).",
      source="《农村土地承包法》(2018) 第38条: 流转期限不得超过承包期的剩余期限.")
@parallel
def transfers(ctx):
    for k, ks, js, qd in ctx.q(f"SELECT LZHTBM, LZQXKSRQ, LZQXJSRQ, HTQDRQ FROM LZHT WHERE LZQXJSRQ {ISO} AND "
                               f"((LZQXKSRQ {ISO} AND substr(LZQXKSRQ, 1, 10) > substr(LZQXJSRQ, 1, 10)) OR "
                               f"(HTQDRQ {ISO} AND substr(HTQDRQ, 1, 10) > substr(LZQXJSRQ, 1, 10)))"):
        if ks and ks[:10] > js[:10]:
            ctx.issue("date.lz_order", k, "LZQXKSRQ", ks[:10], layer="LZHT", detail=f"流转期限开始日期 {ks[:10]} 晚于结束日期 {js[:10]}")
        else:
            ctx.issue("date.lz_order", k, "HTQDRQ", qd[:10], layer="LZHT", detail=f"合同签订日期 {qd[:10]} 晚于流转期限结束日期 {js[:10]}")
    for k, js, ht, z in ctx.q(f"SELECT l.LZHTBM, l.LZQXJSRQ, h.CBHTBM, h.CBQXZ FROM LZHT l JOIN CBHT h ON h.CBHTBM = l.CBHTBM "
                              f"WHERE l.LZQXJSRQ {ISO} AND h.CBQXZ {ISO} AND substr(l.LZQXJSRQ, 1, 10) > substr(h.CBQXZ, 1, 10) "
                              "AND (h.CBQXQ IS NULL OR h.CBQXQ < h.CBQXZ)"):  # a reversed contract period is date.cbqx_order
        ctx.issue("date.lz_beyond_contract", k, "LZQXJSRQ", js[:10], layer="LZHT", detail=z[:10], other=ht)
