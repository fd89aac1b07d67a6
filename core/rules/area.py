"""Area rules: SCMJ against the planar area in the delivery's own CRS, the 亩 twins, contract totals,
parcel counts, and the certificate-issue ledger."""
import numpy as np
import shapely

from ..issues import rule
from .common import dk_rows

MU = 0.0015  # 1 亩 = 10000/15 m²


@rule("area.scmj_geometry", "area", "error", "地块“{key}”实测面积 SCMJ={value} m²，图形平面面积为 {detail} m²",
      "SCMJ differs from round(planar area, 2) in the delivery's own Gauss–Krüger CRS by more than SCMJ_TOLERANCE.")
@rule("area.nonpositive", "area", "error", "{layer} 的 {field} 为 {value}，面积必须大于 0", "An area that is zero or negative.")
def scmj_geometry(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0 or "SCMJ" not in dk.fields:
        return
    rows = dk_rows(ctx)
    scmj = dk.number("SCMJ")
    area = ctx.ws.area
    g = dk.geoms
    ok = ~np.isnan(area) & ~np.isnan(scmj)
    valid = np.zeros(dk.n, bool)
    if ok.any():
        valid[ok] = shapely.is_valid(g[ok])
    diff = np.abs(np.round(np.where(valid, area, 0), 2) - np.where(valid, scmj, 0))
    for i in np.nonzero(valid & (diff > ctx.p["scmj_tolerance"] + 1e-9))[0]:
        ctx.issue("area.scmj_geometry", rows[i][1], "SCMJ", f"{scmj[i]:.2f}", layer="DK", detail=f"{area[i]:.2f}", geometry_of=rows[i][1])
    for i in np.nonzero(~np.isnan(scmj) & (scmj <= 0))[0]:
        ctx.issue("area.nonpositive", rows[i][1], "SCMJ", scmj[i], layer="DK", geometry_of=rows[i][1])
    for k, v in ctx.q("SELECT DKBM, HTMJ FROM CBDKXX WHERE HTMJ IS NOT NULL AND typeof(HTMJ) <> 'text' AND HTMJ <= 0"):
        ctx.issue("area.nonpositive", k, "HTMJ", v, layer="CBDKXX", geometry_of=k)


TWINS = [("CBDKXX", "DKBM", "HTMJ", "HTMJM"), ("CBDKXX", "DKBM", "YHTMJ", "YHTMJM"), ("CBHT", "CBHTBM", "HTZMJ", "HTZMJM"),
         ("CBHT", "CBHTBM", "YHTZMJ", "YHTZMJM"), ("LZHT", "LZHTBM", "LZMJ", "LZMJM")]


@rule("area.mu_twin", "area", "error", "{layer} 的 {field}={value} 亩，应为 {detail}（平方米面积 × 0.0015，保留两位）",
      "A 亩 field is not round(m² × 0.0015, 2) (SCMJM, HTMJM, YHTMJM, HTZMJM, YHTZMJM, LZMJM). Half-up and half-even rounding are both accepted.")
def mu_twins(ctx):
    dk = ctx.ws.dk
    if dk is not None and dk.n and "SCMJM" in dk.fields and "SCMJ" in dk.fields:
        rows = dk_rows(ctx)
        m2, mu = dk.number("SCMJ"), dk.number("SCMJM")
        ok = ~np.isnan(m2) & ~np.isnan(mu)
        bad = ok & (np.abs(mu - m2 * MU) > 0.005 + 1e-7)
        for i in np.nonzero(bad)[0]:
            ctx.issue("area.mu_twin", rows[i][1], "SCMJM", f"{mu[i]:.2f}", layer="DK", detail=f"{round(m2[i] * MU, 2):.2f}", geometry_of=rows[i][1])
    for table, key, m2, mu in TWINS:
        sql = (f'SELECT "{key}", "{m2}", "{mu}" FROM "{table}" WHERE "{m2}" IS NOT NULL AND "{mu}" IS NOT NULL '
               f"AND typeof(\"{m2}\") <> 'text' AND typeof(\"{mu}\") <> 'text' AND abs(\"{mu}\" - \"{m2}\" * {MU}) > 0.0050001")
        for k, a, b in ctx.q(sql):
            ctx.issue("area.mu_twin", k, mu, f"{b:.2f}", layer=table, detail=f"{round(a * MU, 2):.2f}")


@rule("area.htzmj_sum", "area", "error", "承包合同“{key}”的合同总面积 HTZMJ={value} m²，其地块确权面积之和为 {detail} m²",
      "CBHT.HTZMJ differs from the sum of the contract's CBDKXX.HTMJ by more than AREA_TOLERANCE.")
@rule("area.cbdkzs", "area", "error", "承包合同“{key}”的承包地块总数 CBDKZS={value}，实有地块 {detail} 块",
      "CBHT.CBDKZS differs from the number of the contract's CBDKXX rows.")
def contract_totals(ctx):
    tol = ctx.p["area_tolerance"]
    sql = ("SELECT h.CBHTBM, h.HTZMJ, h.CBDKZS, COALESCE(SUM(c.HTMJ), 0), COUNT(c._row) FROM CBHT h "
           "LEFT JOIN CBDKXX c ON c.CBHTBM = h.CBHTBM GROUP BY h._row")
    for k, htzmj, zs, s, n in ctx.q(sql):
        if isinstance(htzmj, (int, float)) and n and abs(htzmj - s) > tol + 1e-9:
            ctx.issue("area.htzmj_sum", k, "HTZMJ", f"{htzmj:.2f}", layer="CBHT", detail=f"{s:.2f}")
        if isinstance(zs, int) and n and zs != n:
            ctx.issue("area.cbdkzs", k, "CBDKZS", zs, layer="CBHT", detail=n)


@rule("area.ledger_dbmj", "area", "error", "台账中地块“{key}”的登簿面积 DBMJ={value} m²，与确权（合同）面积 HTMJ={detail} m² 不一致",
      "The certificate-issue ledger's registered area differs from CBDKXX.HTMJ (by DKBM and CBFBM) by more than AREA_TOLERANCE.")
def ledger(ctx):
    if not ctx.ws.stage.has_ledger:
        return
    tol = ctx.p["area_tolerance"] + 1e-9
    sql = ("SELECT l.DKBM, l.DBMJ, c.HTMJ FROM LEDGER l JOIN CBDKXX c ON c.DKBM = l.DKBM AND c.CBFBM = l.CBFBM "
           "WHERE l.DBMJ IS NOT NULL AND typeof(c.HTMJ) <> 'text' AND abs(l.DBMJ - c.HTMJ) > ?")
    for k, dbmj, htmj in ctx.q(sql, (tol,)):
        ctx.issue("area.ledger_dbmj", k, "DBMJ", f"{dbmj:.2f}", layer="确权登记发证台账", detail=f"{htmj:.2f}", geometry_of=k)
    sql2 = ("SELECT l.DKBM, SUM(l.DBMJ), (SELECT SUM(HTMJ) FROM CBDKXX c WHERE c.DKBM = l.DKBM) FROM LEDGER l "
            "WHERE (l.CBFBM IS NULL OR l.CBFBM = '') GROUP BY l.DKBM")
    for k, dbmj, htmj in ctx.q(sql2):
        if dbmj is not None and htmj is not None and abs(dbmj - htmj) > tol:
            ctx.issue("area.ledger_dbmj", k, "DBMJ", f"{dbmj:.2f}", layer="确权登记发证台账", detail=f"{htmj:.2f}", geometry_of=k)


@rule("code.sfjbnt_jbntbhq", "code", "warning", "地块“{key}”SFJBNT={value}，但其{detail}基本农田保护区内",
      "SFJBNT disagrees with the JBNTBHQ protection zones (parcel centroid inside a zone ⇔ SFJBNT = 1).",
      why="protection zones may have been revised after the survey; the bureau decides.")
def sfjbnt(ctx):
    dk, zones = ctx.ws.dk, ctx.ws.layer("JBNTBHQ")
    if dk is None or zones is None or zones.n == 0 or "SFJBNT" not in dk.fields:
        return
    zg = np.asarray([z for z in zones.geoms if z is not None and not shapely.is_empty(z)], dtype=object)
    if not len(zg):
        return
    rows = dk_rows(ctx)
    ok = ~shapely.is_missing(dk.geoms)
    ok[ok] = ~shapely.is_empty(dk.geoms[ok])
    idx = np.nonzero(ok)[0]
    pts = shapely.point_on_surface(dk.geoms[idx])
    tree = shapely.STRtree(zg)
    hit = np.zeros(len(idx), bool)
    p_i, _z = tree.query(pts, predicate="within")
    hit[p_i] = True
    flag = dk.fields["SFJBNT"][idx]
    for j in range(len(idx)):
        if flag[j] == "1" and not hit[j]:
            ctx.issue("code.sfjbnt_jbntbhq", rows[idx[j]][1], "SFJBNT", flag[j], layer="DK", detail="不在", geometry_of=rows[idx[j]][1])
        elif flag[j] == "2" and hit[j]:
            ctx.issue("code.sfjbnt_jbntbhq", rows[idx[j]][1], "SFJBNT", flag[j], layer="DK", detail="位于", geometry_of=rows[idx[j]][1])
