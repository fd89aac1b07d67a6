"""Date rules."""
from ..issues import rule


@rule("date.cbqx_order", "date", "error", "{layer}“{key}”的承包期限起 {value} 不早于承包期限止 {detail}", "CBQXQ is not before CBQXZ.")
def cbqx_order(ctx):
    for table, key in (("CBHT", "CBHTBM"), ("CBJYQZDJB", "CBJYQZBM")):
        for k, a, b in ctx.q(f'SELECT "{key}", CBQXQ, CBQXZ FROM "{table}" WHERE CBQXQ IS NOT NULL AND CBQXZ IS NOT NULL AND CBQXQ >= CBQXZ'):
            ctx.issue("date.cbqx_order", k, "CBQXQ", a, layer=table, detail=b)


@rule("date.cbqx_djb", "date", "error", "登记簿“{key}”的{detail}为 {value}，与承包合同的 {other} 不一致",
      "The register's CBQXQ/CBQXZ differ from its contract's.")
def cbqx_djb(ctx):
    sql = ("SELECT DISTINCT d.CBJYQZBM, d.CBQXQ, d.CBQXZ, h.CBQXQ, h.CBQXZ FROM CBJYQZDJB d JOIN "
           "(SELECT DISTINCT CBJYQZBM, CBHTBM FROM CBDKXX UNION SELECT CBHTBM, CBHTBM FROM CBHT) l ON l.CBJYQZBM = d.CBJYQZBM "
           "JOIN CBHT h ON h.CBHTBM = l.CBHTBM")
    for k, dq, dz, hq, hz in ctx.q(sql):
        if dq and hq and dq != hq:
            ctx.issue("date.cbqx_djb", k, "CBQXQ", dq, layer="CBJYQZDJB", detail="承包期限起", other=hq)
        if dz and hz and dz != hz:
            ctx.issue("date.cbqx_djb", k, "CBQXZ", dz, layer="CBJYQZDJB", detail="承包期限止", other=hz)


@rule("date.sequence", "date", "error", "承包方“{key}”的{detail}（{value}）", "Survey ≤ publicity review ≤ contract signing: CBF.CBFDCRQ ≤ CBF.GSSHRQ ≤ CBHT.QDSJ.")
def sequence(ctx):
    for k, dc, gs in ctx.q("SELECT CBFBM, CBFDCRQ, GSSHRQ FROM CBF WHERE CBFDCRQ IS NOT NULL AND GSSHRQ IS NOT NULL AND CBFDCRQ > GSSHRQ"):
        ctx.issue("date.sequence", k, "GSSHRQ", f"{dc} > {gs}", layer="CBF", detail="调查日期晚于公示审核日期")
    for k, gs, qd in ctx.q("SELECT f.CBFBM, f.GSSHRQ, h.QDSJ FROM CBF f JOIN CBHT h ON h.CBFBM = f.CBFBM "
                           "WHERE f.GSSHRQ IS NOT NULL AND h.QDSJ IS NOT NULL AND f.GSSHRQ > h.QDSJ"):
        ctx.issue("date.sequence", k, "QDSJ", f"{gs} > {qd}", layer="CBHT", detail="公示审核日期晚于合同签订时间")
