"""Geometry and topology of the DK layer, in bulk over shapely 2 arrays: empty and invalid shapes,
self-intersections, Z/M, multi-part parcels, slivers, repeated vertices and spikes, overlaps and narrow gaps
between neighbours (one STRtree query and one DE-9IM matrix per candidate pair, no pairwise Python loops),
parcels outside their county / township / village / group regions and outside the CRS zone."""
import numpy as np
import shapely

from ..issues import parallel, rule, spatial
from .common import dk_rows

DUPLICATE_VERTEX = 0.001  # m: consecutive vertices closer than this are the same point
SPIKE_ANGLE = 1.0  # degrees: a vertex whose two edges meet at a sharper angle is a spike
ON_BOUNDARY = 1e-4  # m: a vertex this close to a neighbour's boundary lies on it (float noise of coordinates near 4e7)


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
@rule("geometry.self_intersection", "geometry", "error", "地块“{key}”的边界自相交：{value}",
      "A DK polygon whose boundary crosses itself (bow tie, ring self-intersection).")
@rule("geometry.invalid", "geometry", "error", "地块“{key}”图形无效：{value}",
      "A DK polygon that GEOS finds invalid for another reason than a self-intersection (too few points, hole outside "
      "its shell, nested shells …); the reason is given.")
@rule("geometry.has_zm", "geometry", "error", "地块图层含 Z/M 坐标，汇交要求二维图形", "The DK layer has Z or M coordinates.")
@rule("geometry.multipart", "geometry", "warning", "地块“{key}”是多部件图形（{value} 部分）", "A parcel made of several polygons.",
      why="legal when a parcel is cut by a ditch or road, but worth a look.")
@rule("geometry.sliver", "geometry", "warning", "地块“{key}”面积仅 {value} m²，小于 {detail} m²",
      "A parcel smaller than MIN_AREA (default 1 m²).",
      why="tiny parcels exist, but are often digitising slivers.", params=("min_area",),
      source="Vendor QC: polygons under 1 m² are flagged (reference/standards.md §2).")
@spatial
def basic(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0:
        return
    rows = dk_rows(ctx)
    if dk.has_z or dk.has_m:
        ctx.issue("geometry.has_zm", ctx.ws.d.rel(dk.paths[0]), "geometry", "Z/M", layer="DK")
    _has, nonempty, valid = ctx.geometry_masks()
    for i in np.nonzero(~nonempty)[0]:
        ctx.issue("geometry.empty", rows[i][1], "geometry", "", layer="DK")
    idx = np.nonzero(nonempty)[0]
    if not len(idx):
        return
    g = dk.geoms[idx]
    types = shapely.get_type_id(g)
    # Only polygons can be invalid parcels; a layer of points or lines is package.dk_not_polygon (core/rules/integrity.py).
    bad = np.nonzero(np.isin(types, (3, 6)) & ~valid[idx])[0]
    if len(bad):
        reasons = shapely.is_valid_reason(g[bad])
        for j, why in zip(bad, reasons):
            rid = "geometry.self_intersection" if "Self-intersection" in why else "geometry.invalid"
            ctx.issue(rid, rows[idx[j]][1], "geometry", geos_zh(why), layer="DK", wkb=shapely.to_wkb(g[j], output_dimension=2))
    parts = shapely.get_num_geometries(g)
    for j in np.nonzero((types == 6) & (parts > 1))[0]:
        ctx.issue("geometry.multipart", rows[idx[j]][1], "geometry", int(parts[j]), layer="DK", wkb=shapely.to_wkb(g[j], output_dimension=2))
    area = ctx.ws.area[idx] if ctx.ws.area is not None and len(ctx.ws.area) == dk.n else shapely.area(g)
    for j in np.nonzero((area < ctx.p.min_area) & valid[idx])[0]:
        ctx.issue("geometry.sliver", rows[idx[j]][1], "geometry", round(float(area[j]), 3), layer="DK", detail=ctx.p.min_area,
                  wkb=shapely.to_wkb(g[j], output_dimension=2))


@rule("geometry.duplicate_vertex", "geometry", "warning", "地块“{key}”有 {value} 处重复的相邻节点",
      f"Consecutive vertices of a ring closer than {DUPLICATE_VERTEX} m (a repeated point).",
      why="a repeated vertex changes neither area nor topology; it should be removed when the parcel is next edited.",
      source="质检 practice 重复节点; vendor QC node-repeat check (reference/standards.md §2).")
@rule("geometry.spike", "geometry", "warning", "地块“{key}”在 {value} 处有尖刺（两边夹角 {detail}°）",
      f"A vertex where the two edges meet at less than {SPIKE_ANGLE}° (a spike or a backtracking edge).",
      why="nearly always a digitising spike, but narrow wedge-shaped fields exist; the surveyor confirms.",
      source="质检 practice 尖锐角/狭长角 (拓扑检查).")
@spatial
def vertices(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0:
        return
    valid = ctx.geometry_masks()[2]
    idx = np.nonzero(valid)[0]
    if not len(idx):
        return
    rows = dk_rows(ctx)
    for lo in range(0, len(idx), VERTEX_CHUNK):  # in blocks of parcels: the coordinate arrays of a county stay small
        _vertices(ctx, rows, idx[lo:lo + VERTEX_CHUNK])


VERTEX_CHUNK = 50_000
PAIR_CHUNK = 200_000


def _vertices(ctx, rows, idx):
    dk = ctx.ws.dk
    g = dk.geoms[idx]
    # Simple polygons (one ring, the usual parcel): their coordinates are their one ring. The few with holes or parts
    # go through get_parts / get_rings.
    simple = (shapely.get_type_id(g) == 3) & (shapely.get_num_interior_rings(g) == 0)
    xy_s, ci_s = shapely.get_coordinates(g[simple], return_index=True)
    owner_s = idx[simple]
    parts, pi = shapely.get_parts(g[~simple], return_index=True)
    rings, ri = shapely.get_rings(parts, return_index=True)
    xy_c, ci_c = shapely.get_coordinates(rings, return_index=True)
    xy = np.concatenate([xy_s, xy_c])
    ci = np.concatenate([ci_s, ci_c + int(simple.sum())])
    owner = np.concatenate([owner_s, idx[~simple][pi[ri]]])  # DK row of each ring
    n = np.bincount(ci, minlength=len(owner))
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    # repeated consecutive vertices
    same = ci[1:] == ci[:-1]
    d = np.hypot(*(xy[1:] - xy[:-1]).T)
    dup = np.nonzero(same & (d < DUPLICATE_VERTEX))[0]
    if len(dup):
        who, counts = np.unique(owner[ci[dup]], return_counts=True)
        for i, c in zip(who.tolist(), counts.tolist()):
            ctx.issue("geometry.duplicate_vertex", rows[i][1], "geometry", int(c), layer="DK", geometry_of=rows[i][1])
    # spikes: the angle at each distinct vertex of a closed ring
    m = n[ci] - 1  # distinct vertices of the ring of each coordinate
    k = np.arange(len(xy)) - start[ci]
    pos = np.nonzero((k < m) & (m >= 3))[0]
    if not len(pos):
        return
    s, mm, kk = start[ci[pos]], m[pos], k[pos]
    u = xy[s + (kk - 1) % mm] - xy[pos]
    w = xy[s + (kk + 1) % mm] - xy[pos]
    lu, lw = np.hypot(*u.T), np.hypot(*w.T)
    ok = (lu >= DUPLICATE_VERTEX) & (lw >= DUPLICATE_VERTEX)
    cos = np.ones(len(pos))
    cos[ok] = np.clip((u[ok] * w[ok]).sum(axis=1) / (lu[ok] * lw[ok]), -1, 1)
    angle = np.degrees(np.arccos(cos))
    seen = set()
    for j in np.nonzero(ok & (angle < SPIKE_ANGLE))[0]:
        i = owner[ci[pos[j]]]
        if i in seen:
            continue
        seen.add(i)
        x, y = xy[pos[j]]
        ctx.issue("geometry.spike", rows[i][1], "geometry", f"({x:.3f}, {y:.3f})", layer="DK", detail=f"{angle[j]:.3f}",
                  wkb=shapely.to_wkb(shapely.buffer(shapely.points(x, y), 1.0), output_dimension=2))


@rule("geometry.overlap", "geometry", "error", "地块“{key}”与地块“{value}”重叠 {detail} m²",
      "Two parcels overlap by more than OVERLAP_MIN_AREA; the issue's geometry is the overlap itself.", params=("overlap_min_area",))
@rule("geometry.gap", "geometry", "error", "地块“{key}”与相邻地块“{value}”之间有宽 {detail} m 的缝隙",
      "Two neighbouring parcels that should share a boundary leave a gap narrower than GAP_TOLERANCE between them: they do "
      "not touch but lie closer than the tolerance, or they touch at a point while a vertex of one lies off, but within "
      "the tolerance of, the other's boundary. Each parcel of the pair is reported; the geometry marks the gap.",
      params=("gap_tolerance",), source="质检 practice 拓扑检查: 相邻地块间不得有缝隙 (gaps narrower than any real road, ditch or ridge).")
@spatial
def neighbours(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n < 2:
        return
    rows = dk_rows(ctx)
    valid = ctx.geometry_masks()[2]
    idx = np.nonzero(valid)[0]
    if len(idx) < 2:
        return
    g = dk.geoms[idx]
    tol = float(ctx.p.gap_tolerance or 0)
    tree = shapely.STRtree(g)
    if tol > 0:
        b = shapely.bounds(g)
        a, c = tree.query(shapely.box(b[:, 0] - tol, b[:, 1] - tol, b[:, 2] + tol, b[:, 3] + tol))
    else:
        a, c = tree.query(g)  # bounding-box candidates, in C
    keep = a < c
    a, c = a[keep], c[keep]
    if not len(a):
        return
    im = np.empty((len(a), 9), dtype="U1")
    for lo in range(0, len(a), PAIR_CHUNK):  # the DE-9IM matrices, in blocks (each is a Python string until converted)
        im[lo:lo + PAIR_CHUNK] = np.asarray(shapely.relate(g[a[lo:lo + PAIR_CHUNK]], g[c[lo:lo + PAIR_CHUNK]]), dtype="U9").view("U1").reshape(-1, 9)
    # Interiors intersect (DE-9IM 2********): overlap or containment; neighbours sharing an edge do not.
    ov = np.nonzero(im[:, 0] == "2")[0]
    if len(ov):
        inter = shapely.intersection(g[a[ov]], g[c[ov]])
        area = shapely.area(inter)
        for j, geom, ar in zip(ov, inter, area):
            if ar <= ctx.p.overlap_min_area:
                continue
            ki, kj = rows[idx[a[j]]][1], rows[idx[c[j]]][1]
            wkb = shapely.to_wkb(geom, output_dimension=2)
            ctx.issue("geometry.overlap", ki, "geometry", kj, layer="DK", wkb=wkb, detail=f"{ar:.2f}")
            ctx.issue("geometry.overlap", kj, "geometry", ki, layer="DK", wkb=wkb, detail=f"{ar:.2f}")
    if tol <= 0:
        return
    no_inner = (im[:, 0] == "F") & (im[:, 1] == "F") & (im[:, 3] == "F")
    disjoint = np.nonzero(no_inner & (im[:, 4] == "F"))[0]
    touch_point = np.nonzero(no_inner & (im[:, 4] == "0"))[0]
    found = []
    if len(disjoint):
        dist = shapely.distance(g[a[disjoint]], g[c[disjoint]])
        close = (dist > ON_BOUNDARY) & (dist <= tol)
        for j, dd in zip(disjoint[close], dist[close]):
            line = shapely.shortest_line(g[a[j]], g[c[j]])
            found.append((j, float(dd), shapely.buffer(line, max(float(dd), 0.2))))
    for j in touch_point:
        width, near = _near_vertices(g[a[j]], g[c[j]], tol)
        if width:
            found.append((j, width, shapely.buffer(near, max(width, 0.2))))
    for j, width, marker in found:
        ki, kj = rows[idx[a[j]]][1], rows[idx[c[j]]][1]
        wkb = shapely.to_wkb(marker, output_dimension=2)
        ctx.issue("geometry.gap", ki, "geometry", kj, layer="DK", wkb=wkb, detail=f"{width:.3f}")
        ctx.issue("geometry.gap", kj, "geometry", ki, layer="DK", wkb=wkb, detail=f"{width:.3f}")


def _near_vertices(p, q, tol):
    """Vertices of either polygon that lie off, but within `tol` of, the other's boundary: (widest distance, points)."""
    best, pts = 0.0, []
    for s, t in ((p, q), (q, p)):
        xy = shapely.get_coordinates(s)
        d = shapely.distance(shapely.points(xy), shapely.boundary(t))
        inside = shapely.contains_xy(t, xy[:, 0], xy[:, 1])
        near = (d > ON_BOUNDARY) & (d <= tol) & ~inside
        if near.any():
            best = max(best, float(d[near].max()))
            pts.extend(shapely.points(xy[near]))
    return best, (shapely.multipoints(pts) if pts else None)


@rule("geometry.duplicate_dkbm", "geometry", "error", "地块编码“{key}”在地块图层中出现 {value} 次（标识码 {detail}）",
      "Several DK features carry the same DKBM.", family="keys")
@parallel
def duplicate_dkbm(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0:
        return
    for k, n, bsm in ctx.q("SELECT d.DKBM, COUNT(*), group_concat(d._i + 1) FROM DK d WHERE DKBM IS NOT NULL AND DKBM <> '' GROUP BY DKBM HAVING COUNT(*) > 1"):
        if "BSM" in dk.raw:
            bsm = ",".join(str(int(dk.raw["BSM"][int(x) - 1])) for x in bsm.split(","))
        ctx.issue("geometry.duplicate_dkbm", k, "DKBM", n, layer="DK", detail=bsm, geometry_of=k)


# ---------------------------------------------------------------- regions and zone
LEVELS = [("ZJQY", "ZJQYDM", 14, "组级区域"), ("CJQY", "CJQYDM", 12, "村级区域"), ("XJQY", "XJQYDM", 9, "乡级区域"),
          ("XJXZQ", "XZQDM", 6, "县级行政区")]
REGION_LAYERS = [lv[0] for lv in LEVELS]


@rule("geometry.outside_region", "geometry", "error", "地块“{key}”有 {value} m² 位于其{detail}（{code}）之外",
      "A parcel lies (by more than OVERLAP_MIN_AREA) outside the region its DKBM names: group ZJQY (first 14 digits), village "
      "CJQY (12), township XJQY (9), county XJXZQ (6), where the delivery has these layers. The coarsest region it leaves is "
      "reported.", params=("overlap_min_area",),
      source="NY/T 2539-2016 区域图层 XJXZQ/XJQY/CJQY/ZJQY; 质检 item 空间与属性一致.")
@rule("geometry.region_missing", "geometry", "error", "{layer} 中没有代码为“{key}”的区域，而地块图层有 {value} 个地块属于它",
      "A region layer (ZJQY, CJQY, XJQY, XJXZQ) lacks the region that parcels' DKBMs name; keyed by the region code.")
@spatial
def regions(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0:
        return
    valid = ctx.geometry_masks()[2]
    keys = np.asarray(dk.text("DKBM"), dtype=object)
    idx = np.nonzero(valid & np.array([len(k) >= 14 for k in keys], bool))[0]
    if not len(idx):
        return
    tol = ctx.p.overlap_min_area
    levels = []
    for layer, field, n, title in LEVELS:
        if layer not in ctx.ws.d.vectors:
            continue
        lyr = ctx.ws.layer(layer)
        if lyr is None or not lyr.n or field not in lyr.raw:
            continue
        units = {}
        for code, geom in zip(lyr.text(field).tolist(), lyr.geoms):
            if code and geom is not None and not shapely.is_empty(geom) and shapely.is_valid(geom):
                units.setdefault(code[:n], []).append(geom)
        units = {k: (v[0] if len(v) == 1 else shapely.union_all(v)) for k, v in units.items()}
        shapely.prepare(list(units.values()))
        codes = np.array([k[:n] for k in keys[idx]], dtype=object)
        levels.append((layer, field, n, title, units, codes))
    if not levels:
        return
    g = dk.geoms[idx]
    coarsest = {}  # position in idx -> (region title, area outside, region code)
    outside = np.arange(len(idx))  # at the finest level every parcel is checked
    for li, (layer, field, n, title, units, codes) in enumerate(levels):
        if li == 0:
            check = outside
        else:  # parcels outside the finer region, or whose finer region is missing or not inside this one
            _l, _f, _n, _t, finer, fcodes = levels[li - 1]
            bad = {c for c, geom in finer.items()
                   if units.get(c[:n]) is None or not shapely.covered_by(geom, units[c[:n]])}
            extra = np.nonzero(np.array([c not in finer or c in bad for c in fcodes], bool))[0]
            check = np.union1d(outside, extra)
        if not len(check):
            continue
        has = np.array([c in units for c in codes[check]], bool)
        missing = {}
        for c in codes[check][~has]:
            missing[c] = missing.get(c, 0) + 1
        for c, cnt in sorted(missing.items()):
            ctx.issue("geometry.region_missing", c, field, cnt, layer=layer)
        chk = check[has]
        unit_geoms = np.array([units[c] for c in codes[chk]], dtype=object)
        inside = shapely.covered_by(g[chk], unit_geoms) if len(chk) else np.zeros(0, bool)
        out = chk[~inside]
        keep = []
        if len(out):
            area = shapely.area(shapely.difference(g[out], unit_geoms[~inside]))
            for j, ar in zip(out, area):
                if ar > tol:
                    coarsest[j] = (title, float(ar), codes[j])
                    keep.append(j)
        outside = np.array(keep, dtype=int)
    if not coarsest:
        return
    rows = dk_rows(ctx)
    for j, (title, ar, code) in sorted(coarsest.items()):
        i = idx[j]
        ctx.issue("geometry.outside_region", rows[i][1], "geometry", f"{ar:.2f}", layer="DK", detail=title, code=code,
                  geometry_of=rows[i][1])


def zone_range(epsg):
    """(xmin, xmax) of a CGCS2000 3° zone's eastings (with or without the zone prefix), or None."""
    if epsg is None:
        return None
    if 4513 <= epsg <= 4533:
        z = 25 + epsg - 4513
        return z * 1_000_000 + 200_000, z * 1_000_000 + 800_000
    if 4534 <= epsg <= 4554:
        return 200_000, 800_000
    return None


@rule("geometry.outside_zone", "geometry", "error", "地块“{key}”的坐标（{value}）不在地块图层坐标系 EPSG:{detail} 的投影带范围内",
      "A parcel whose coordinates lie outside the Gauss–Krüger zone its layer declares (eastings within ±300 km of the "
      "central meridian's false easting, northings within China), e.g. a parcel without the zone prefix among parcels "
      "with it. When most parcels are outside, the layer's CRS itself is wrong: that is a package error, not repeated per parcel.",
      source="汇交办法: CGCS2000 3° Gauss–Krüger coordinates (reference/standards.md §2, CRS).")
@spatial
def zone(ctx):
    dk = ctx.ws.dk
    if dk is None or dk.n == 0:
        return
    rng = zone_range(dk.epsg)
    if rng is None:
        return
    nonempty = ctx.geometry_masks()[1]
    idx = np.nonzero(nonempty)[0]
    if not len(idx):
        return
    b = shapely.bounds(dk.geoms[idx])
    out = (b[:, 0] < rng[0]) | (b[:, 2] > rng[1]) | (b[:, 1] < 2_000_000) | (b[:, 3] > 6_000_000)
    if not out.any() or out.sum() * 2 > len(idx):
        return
    rows = dk_rows(ctx)
    for j in np.nonzero(out)[0]:
        i = idx[j]
        ctx.issue("geometry.outside_zone", rows[i][1], "geometry", f"{b[j, 0]:.0f}, {b[j, 1]:.0f}", layer="DK", detail=dk.epsg)
