"""Geometry rules, in bulk over shapely 2 arrays; overlaps through an STRtree (no pairwise loops)."""
import numpy as np
import shapely

from ..issues import rule
from .common import dk_rows


def _valid_mask(ctx):
    dk = ctx.ws.dk
    g = dk.geoms
    has = ~shapely.is_missing(g)
    nonempty = has.copy()
    nonempty[has] = ~shapely.is_empty(g[has])
    valid = nonempty.copy()
    if nonempty.any():
        valid[nonempty] = shapely.is_valid(g[nonempty])
    return has, nonempty, valid


GEOS_ZH = {"Self-intersection": "自相交", "Ring Self-intersection": "环自相交", "Too few points in geometry component": "组成部分点数过少",
           "Hole lies outside shell": "内环位于外环之外", "Nested holes": "内环相互嵌套", "Interior is disconnected": "内部不连通",
           "Nested shells": "外环相互嵌套", "Duplicate Rings": "重复的环", "Invalid Coordinate": "坐标无效",
           "Ring is not closed": "环未闭合", "Hole lies outside the shell": "内环位于外环之外"}


def geos_zh(reason):
    """GEOS's reason for an invalid geometry ('Self-intersection[x y]') in Chinese, with its location kept."""
    text = str(reason or "")
    name, _sep, rest = text.partition("[")
    zh = GEOS_ZH.get(name.strip())
    if zh is None:
        return text
    return f"{zh}（{rest.rstrip(']')}）" if rest else zh


@rule("geometry.empty", "geometry", "error", "地块“{key}”没有图形（空几何）", "A DK feature with a null or empty shape.")
@rule("geometry.invalid", "geometry", "error", "地块“{key}”图形无效：{value}", "A DK polygon that GEOS finds invalid (self-intersection, bad ring…); reason given.")
@rule("geometry.has_zm", "geometry", "error", "地块图层含 Z/M 坐标，汇交要求二维图形", "The DK layer has Z or M coordinates.")
@rule("geometry.multipart", "geometry", "warning", "地块“{key}”是多部件图形（{value} 部分）", "A parcel made of several polygons.",
      why="legal when a parcel is cut by a ditch or road, but worth a look.")
@rule("geometry.sliver", "geometry", "warning", "地块“{key}”面积仅 {value} m²，小于 {detail} m²", "A parcel smaller than MIN_AREA (default 1 m²).",
      why="tiny parcels exist, but are often digitising slivers.")
@rule("geometry.not_polygon", "geometry", "error", "地块“{key}”不是面图形（{value}）", "A DK feature that is not a polygon.")
def basic(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0:
        return
    rows = dk_rows(ctx)
    if dk.has_z or dk.has_m:
        ctx.issue("geometry.has_zm", ctx.ws.d.rel(dk.paths[0]), "geometry", "Z/M", layer="DK")
    has, nonempty, valid = _valid_mask(ctx)
    for i in np.nonzero(~nonempty)[0]:
        ctx.issue("geometry.empty", rows[i][1], "geometry", "", layer="DK")
    idx = np.nonzero(nonempty)[0]
    if not len(idx):
        return
    g = dk.geoms[idx]
    types = shapely.get_type_id(g)
    for j in np.nonzero(~np.isin(types, [3, 6]))[0]:
        ctx.issue("geometry.not_polygon", rows[idx[j]][1], "geometry", shapely.get_type_id(g[j]), layer="DK")
    bad = np.nonzero(~valid[idx])[0]
    if len(bad):
        reasons = shapely.is_valid_reason(g[bad])
        for j, why in zip(bad, reasons):
            i = idx[j]
            ctx.issue("geometry.invalid", rows[i][1], "geometry", geos_zh(why), layer="DK", wkb=shapely.to_wkb(g[j], output_dimension=2))
    parts = shapely.get_num_geometries(g)
    for j in np.nonzero((types == 6) & (parts > 1))[0]:
        ctx.issue("geometry.multipart", rows[idx[j]][1], "geometry", int(parts[j]), layer="DK", wkb=shapely.to_wkb(g[j], output_dimension=2))
    area = shapely.area(g)
    for j in np.nonzero((area < ctx.p["min_area"]) & valid[idx])[0]:
        ctx.issue("geometry.sliver", rows[idx[j]][1], "geometry", round(float(area[j]), 3), layer="DK", detail=ctx.p["min_area"], wkb=shapely.to_wkb(g[j], output_dimension=2))


@rule("geometry.overlap", "geometry", "error", "地块“{key}”与地块“{value}”重叠 {detail} m²", "Two parcels overlap by more than OVERLAP_MIN_AREA; the issue's geometry is the overlap itself.")
def overlaps(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n < 2:
        return
    rows = dk_rows(ctx)
    _has, _nonempty, valid = _valid_mask(ctx)
    idx = np.nonzero(valid)[0]
    if len(idx) < 2:
        return
    g = dk.geoms[idx]
    tree = shapely.STRtree(g)
    a, b = tree.query(g)  # bounding-box candidates, in C
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return
    # Interiors intersect (DE-9IM 2********): overlap or containment; neighbours sharing an edge do not match.
    hit = shapely.relate_pattern(g[a], g[b], "2********")
    uniq = np.stack([a[hit], b[hit]], axis=1)
    if not len(uniq):
        return
    inter = shapely.intersection(g[uniq[:, 0]], g[uniq[:, 1]])
    area = shapely.area(inter)
    for (i, j), ov, ar in zip(uniq, inter, area):
        if ar <= ctx.p["overlap_min_area"]:
            continue
        ki, kj = rows[idx[i]][1], rows[idx[j]][1]
        wkb = shapely.to_wkb(ov, output_dimension=2)
        ctx.issue("geometry.overlap", ki, "geometry", kj, layer="DK", wkb=wkb, detail=f"{ar:.2f}")
        ctx.issue("geometry.overlap", kj, "geometry", ki, layer="DK", wkb=wkb, detail=f"{ar:.2f}")


@rule("geometry.duplicate_dkbm", "geometry", "error", "地块编码“{key}”在地块图层中出现 {value} 次（标识码 {detail}）", "Several DK features carry the same DKBM.")
def duplicate_dkbm(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0:
        return
    for k, n, bsm in ctx.q("SELECT d.DKBM, COUNT(*), group_concat(d._i + 1) FROM DK d WHERE DKBM IS NOT NULL AND DKBM <> '' GROUP BY DKBM HAVING COUNT(*) > 1"):
        if "BSM" in dk.fields:
            bsm = ",".join(str(int(dk.fields["BSM"][int(x) - 1])) for x in bsm.split(","))
        ctx.issue("geometry.duplicate_dkbm", k, "DKBM", n, layer="DK", detail=bsm, geometry_of=k)
