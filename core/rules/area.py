"""Area rules: positive areas, SCMJ against the planar area in the delivery's own CRS, the 亩 twins, contract
and transfer totals, and the certificate-issue ledger. Every tolerance comparison is core.params.exceeds()."""
import numpy as np
import shapely

from ..issues import parallel, rule, spatial
from ..params import MU, exceeds
from .common import dk_rows

ROUNDING = 0.005  # a 亩 twin is round(m² × MU, 2): half a unit of its last decimal, either rounding convention


@rule("area.scmj_geometry", "area", "error", "地块“{key}”实测面积 SCMJ={value} m²，图形平面面积为 {detail} m²",
      "SCMJ differs from round(planar area, 2) in the delivery's own Gauss–Krüger CRS by more than SCMJ_TOLERANCE.",
      params=("scmj_tolerance",))
@spatial
def scmj_geometry(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0 or "SCMJ" not in dk.raw:
        return
    rows = dk_rows(ctx)
    scmj = dk.number("SCMJ")
    area = ctx.ws.area
    valid = ctx.geometry_masks()[2]
    ok = valid & ~np.isnan(area) & ~np.isnan(scmj)
    bad = np.zeros(dk.n, bool)
    bad[ok] = exceeds(np.round(area[ok], 2), scmj[ok], ctx.p.scmj_tolerance)
    for i in np.nonzero(bad)[0]:
        ctx.issue("area.scmj_geometry", rows[i][1], "SCMJ", f"{scmj[i]:.2f}", layer="DK", detail=f"{area[i]:.2f}", geometry_of=rows[i][1])
    for i in np.nonzero(~np.isnan(scmj) & (scmj <= 0))[0]:
        ctx.issue("area.nonpositive", rows[i][1], "SCMJ", scmj[i], layer="DK", geometry_of=rows[i][1])


@rule("area.nonpositive", "area", "error", "{layer} 的 {field} 为 {value}，面积必须大于 0",
      "An area that is zero or negative: DK.SCMJ, CBDKXX.HTMJ, CBHT.HTZMJ, LZHT.LZMJ, the ledger's DBMJ.")
@parallel
def nonpositive(ctx):
    for table, key, field in (("CBDKXX", "DKBM", "HTMJ"), ("CBHT", "CBHTBM", "HTZMJ"), ("LZHT", "LZHTBM", "LZMJ")):
        for k, v in ctx.q(f'SELECT DISTINCT "{key}", "{field}" FROM "{table}" '
                          f'WHERE "{field}" IS NOT NULL AND typeof("{field}") <> \'text\' AND "{field}" <= 0'):
            ctx.issue("area.nonpositive", k, field, v, layer=table, geometry_of=k if table == "CBDKXX" else None)
    if ctx.ws.stage.has_ledger:
        for k, v in ctx.q("SELECT DISTINCT DKBM, DBMJ FROM LEDGER WHERE DBMJ IS NOT NULL AND DBMJ <= 0"):
            ctx.issue("area.nonpositive", k, "DBMJ", v, layer="确权登记发证台账", geometry_of=k)


TWINS = [("CBDKXX", "DKBM", "HTMJ", "HTMJM"), ("CBDKXX", "DKBM", "YHTMJ", "YHTMJM"), ("CBHT", "CBHTBM", "HTZMJ", "HTZMJM"),
         ("CBHT", "CBHTBM", "YHTZMJ", "YHTZMJM"), ("LZHT", "LZHTBM", "LZMJ", "LZMJM")]


@rule("area.mu_twin", "area", "error", "{layer} 的 {field}={value} 亩，应为 {detail}（平方米面积 × 0.0015，保留两位）",
      "A 亩 field is not round(m² × 0.0015, 2) (SCMJM, HTMJM, YHTMJM, HTZMJM, YHTZMJM, LZMJM). Half-up and half-even rounding are both accepted.")
@parallel
def mu_twins(ctx):
    dk = ctx.ws.dk
    if dk is not None and dk.n and "SCMJM" in dk.raw and "SCMJ" in dk.raw:
        m2, mu = dk.number("SCMJ"), dk.number("SCMJM")
        ok = ~np.isnan(m2) & ~np.isnan(mu)
        bad = np.zeros(dk.n, bool)
        bad[ok] = exceeds(mu[ok], m2[ok] * MU, ROUNDING)
        if bad.any():
            rows = dk_rows(ctx)
            for i in np.nonzero(bad)[0]:
                ctx.issue("area.mu_twin", rows[i][1], "SCMJM", f"{mu[i]:.2f}", layer="DK", detail=f"{round(m2[i] * MU, 2):.2f}", geometry_of=rows[i][1])
    for table, key, m2, mu in TWINS:
        sql = (f'SELECT "{key}", "{m2}", "{mu}" FROM "{table}" WHERE "{m2}" IS NOT NULL AND "{mu}" IS NOT NULL '
               f"AND typeof(\"{m2}\") <> 'text' AND typeof(\"{mu}\") <> 'text' AND abs(\"{mu}\" - \"{m2}\" * ?) > ?")
        for k, a, b in ctx.q(sql, (MU, ROUNDING)):
            if exceeds(b, a * MU, ROUNDING):
                ctx.issue("area.mu_twin", k, mu, f"{b:.2f}", layer=table, detail=f"{round(a * MU, 2):.2f}",
                          geometry_of=k if table == "CBDKXX" else None)


@rule("area.htzmj_sum", "area", "error", "承包合同“{key}”的合同总面积 HTZMJ={value} m²，其地块确权面积之和为 {detail} m²",
      "CBHT.HTZMJ differs from the sum of the contract's CBDKXX.HTMJ by more than AREA_TOLERANCE.", params=("area_tolerance",))
@rule("area.cbdkzs", "area", "error", "承包合同“{key}”的承包地块总数 CBDKZS={value}，实有地块 {detail} 块",
      "CBHT.CBDKZS differs from the number of the contract's CBDKXX rows.")
@rule("area.yhtzmj_sum", "area", "warning", "承包合同“{key}”的原合同总面积 YHTZMJ={value} m²，其地块原合同面积之和为 {detail} m²",
      "CBHT.YHTZMJ differs from the sum of the contract's CBDKXX.YHTMJ by more than AREA_TOLERANCE (only where every "
      "row of the contract has a YHTMJ).", params=("area_tolerance",),
      why="the 原合同 (二轮) figures are copied from old contracts as they were; they do not affect the confirmed areas.")
@parallel
def contract_totals(ctx):
    tol = ctx.p.area_tolerance
    sql = ("SELECT h.CBHTBM, h.HTZMJ, h.CBDKZS, h.YHTZMJ, s, n, ys, yn FROM CBHT h JOIN (SELECT CBHTBM, SUM(HTMJ) s, COUNT(*) n, "
           "SUM(YHTMJ) ys, COUNT(YHTMJ) yn FROM CBDKXX GROUP BY CBHTBM) c ON c.CBHTBM = h.CBHTBM "
           "WHERE (typeof(h.HTZMJ) IN ('real','integer') AND abs(h.HTZMJ - s) > ?) OR (typeof(h.CBDKZS) = 'integer' AND h.CBDKZS <> n) "
           "OR (typeof(h.YHTZMJ) IN ('real','integer') AND yn = n AND abs(h.YHTZMJ - ys) > ?)")
    for k, htzmj, zs, yhtzmj, s, n, ys, yn in ctx.q(sql, (tol, tol)):
        if isinstance(htzmj, (int, float)) and s is not None and exceeds(htzmj, s, tol):
            ctx.issue("area.htzmj_sum", k, "HTZMJ", f"{htzmj:.2f}", layer="CBHT", detail=f"{s:.2f}")
        if isinstance(zs, int) and zs != n:
            ctx.issue("area.cbdkzs", k, "CBDKZS", zs, layer="CBHT", detail=n)
        if isinstance(yhtzmj, (int, float)) and yn == n and ys is not None and exceeds(yhtzmj, ys, tol):
            ctx.issue("area.yhtzmj_sum", k, "YHTZMJ", f"{yhtzmj:.2f}", layer="CBHT", detail=f"{ys:.2f}")
    # A contract without any CBDKXX row is reference.cbht_without_cbdkxx; its CBDKZS must then be 0.
    for k, zs in ctx.q("SELECT CBHTBM, CBDKZS FROM CBHT h WHERE typeof(CBDKZS) = 'integer' AND CBDKZS <> 0 AND NOT EXISTS "
                       "(SELECT 1 FROM CBDKXX c WHERE c.CBHTBM = h.CBHTBM)"):
        ctx.issue("area.cbdkzs", k, "CBDKZS", zs, layer="CBHT", detail=0)


@rule("area.lzdks", "area", "error", "流转合同“{key}”的流转地块数 LZDKS={value}，承包地块信息中引用它的地块 {detail} 块",
      "LZHT.LZDKS differs from the number of CBDKXX rows whose LZHTBM names the transfer contract.")
@rule("area.lzmj_sum", "area", "warning", "流转合同“{key}”的流转面积 LZMJ={value} m²，其流转地块确权面积之和为 {detail} m²",
      "LZHT.LZMJ differs from the sum of HTMJ of the CBDKXX rows it transfers by more than AREA_TOLERANCE.", params=("area_tolerance",),
      why="part of a parcel can be transferred; usually the whole rows are, and the areas then agree.")
@parallel
def transfer_totals(ctx):
    tol = ctx.p.area_tolerance
    sql = ("SELECT l.LZHTBM, l.LZDKS, l.LZMJ, COALESCE(n, 0), s FROM LZHT l LEFT JOIN (SELECT LZHTBM, COUNT(*) n, SUM(HTMJ) s FROM CBDKXX "
           "WHERE LZHTBM IS NOT NULL AND LZHTBM <> '' GROUP BY LZHTBM) c ON c.LZHTBM = l.LZHTBM")
    for k, dks, lzmj, n, s in ctx.q(sql):
        if isinstance(dks, int) and dks != n:
            ctx.issue("area.lzdks", k, "LZDKS", dks, layer="LZHT", detail=n)
        if isinstance(lzmj, (int, float)) and s is not None and exceeds(lzmj, s, tol):
            ctx.issue("area.lzmj_sum", k, "LZMJ", f"{lzmj:.2f}", layer="LZHT", detail=f"{s:.2f}")


@rule("area.ledger_dbmj", "area", "error",
      "台账中地块“{key}”的登簿面积 DBMJ={value} m²，与确权（合同）面积 HTMJ={detail} m² 不一致",
      "The certificate-issue ledger's registered area differs from CBDKXX.HTMJ (by DKBM and CBFBM) by more than AREA_TOLERANCE.",
      params=("area_tolerance",))
@parallel
def ledger(ctx):
    if not ctx.ws.stage.has_ledger:
        return
    tol = ctx.p.area_tolerance
    sql = ("SELECT l.DKBM, l.DBMJ, c.HTMJ FROM LEDGER l JOIN CBDKXX c ON c.DKBM = l.DKBM AND c.CBFBM = l.CBFBM "
           "WHERE l.DBMJ IS NOT NULL AND typeof(c.HTMJ) <> 'text' AND abs(l.DBMJ - c.HTMJ) > ?")
    for k, dbmj, htmj in ctx.q(sql, (tol,)):
        if exceeds(dbmj, htmj, tol):
            ctx.issue("area.ledger_dbmj", k, "DBMJ", f"{dbmj:.2f}", layer="确权登记发证台账", detail=f"{htmj:.2f}", geometry_of=k)
    sql2 = ("SELECT l.DKBM, SUM(l.DBMJ), (SELECT SUM(HTMJ) FROM CBDKXX c WHERE c.DKBM = l.DKBM) FROM LEDGER l "
            "WHERE (l.CBFBM IS NULL OR l.CBFBM = '') GROUP BY l.DKBM")
    for k, dbmj, htmj in ctx.q(sql2):
        if dbmj is not None and htmj is not None and exceeds(dbmj, htmj, tol):
            ctx.issue("area.ledger_dbmj", k, "DBMJ", f"{dbmj:.2f}", layer="确权登记发证台账", detail=f"{htmj:.2f}", geometry_of=k)


@rule("code.sfjbnt_jbntbhq", "code", "warning", "地块“{key}”SFJBNT={value}，但其{detail}基本农田保护区内",
      "SFJBNT disagrees with the JBNTBHQ protection zones (parcel centroid inside a zone ⇔ SFJBNT = 1).",
      why="protection zones may have been revised after the survey; the bureau decides.", family="spatial")
@spatial
def sfjbnt(ctx):
    dk, zones = ctx.ws.dk, ctx.ws.layer("JBNTBHQ")
    if dk is None or zones is None or zones.n == 0 or "SFJBNT" not in dk.raw:
        return
    zg = np.asarray([z for z in zones.geoms if z is not None and not shapely.is_empty(z)], dtype=object)
    if not len(zg):
        return
    rows = dk_rows(ctx)
    nonempty = ctx.geometry_masks()[1]
    idx = np.nonzero(nonempty)[0]
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
