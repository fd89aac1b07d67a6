"""Geometry and topology, planted with OGR in the DK layer of a copy of the bundled sample: gaps (full and
partial), spikes, repeated vertices, multi-part parcels, slivers, invalid and empty shapes, parcels outside their
regions and outside the CRS zone, a missing region, Z coordinates."""
import numpy as np
import pytest
import shapely

import oracle

PLANTS = ["gap_full", "gap_full_other", "gap_partial", "spike", "duplicate_vertex", "multipart", "sliver", "invalid", "empty",
          "outside_county", "outside_zone", "region_missing", "self_intersection", "overlap", "outside_group", "duplicate_dkbm"]
RULES = {"geometry.gap", "geometry.spike", "geometry.duplicate_vertex", "geometry.multipart", "geometry.sliver", "geometry.invalid",
         "geometry.empty", "geometry.outside_region", "geometry.outside_zone", "geometry.region_missing", "geometry.self_intersection",
         "geometry.overlap", "geometry.duplicate_dkbm", "geometry.has_zm"}


def parcels(root):
    from land_contract_bridge.core import delivery, vector
    dk = vector.read_layer(delivery.scan(root), "DK")
    return dict(zip(dk.text("DKBM").tolist(), dk.geoms))


def shared_pairs(geoms, free):
    """(a, b) of untouched parcels sharing an edge (at least two common vertices), a < b."""
    keys = sorted(k for k in free if geoms.get(k) is not None and shapely.is_valid(geoms[k]))
    arr = np.array([geoms[k] for k in keys], dtype=object)
    tree = shapely.STRtree(arr)
    a, b = tree.query(arr, predicate="touches")
    out = []
    for i, j in zip(a, b):
        if i < j and shapely.relate(arr[i], arr[j])[4] == "1":
            out.append((keys[i], keys[j]))
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory, truth):
    from conftest import DEMO
    root = oracle.copy_delivery(DEMO, tmp_path_factory.mktemp("spatial"))
    tainted = oracle.tainted(truth)
    geoms = parcels(root)
    free = {k for k in geoms if k not in tainted and len(k) == 19}
    pairs = shared_pairs(geoms, free)
    used, P, allowed = set(), {}, set(tainted)

    def pair():
        a, b = next((a, b) for a, b in pairs if a not in used and b not in used)
        used.update((a, b))
        allowed.update((a, b))
        return a, b

    def one():
        k = next(k for k in sorted(free) if k not in used)
        used.add(k)
        allowed.add(k)
        return k

    a, b = pair()
    oracle.set_geometry(root, a, shapely.difference(geoms[a], shapely.buffer(geoms[b], 0.1)))
    P["gap_full"], P["gap_full_other"] = ("geometry.gap", a), ("geometry.gap", b)
    c, d = pair()
    xy = shapely.get_coordinates(geoms[c])[:-1]
    common = [p for p in xy if shapely.distance(shapely.points(p), shapely.boundary(geoms[d])) < 1e-6]
    v = common[0]
    centre = np.array(shapely.get_coordinates(shapely.centroid(geoms[c]))[0])
    moved = v + (centre - v) / np.linalg.norm(centre - v) * 0.15
    ring = [tuple(moved) if np.allclose(p, v) else tuple(p) for p in shapely.get_coordinates(geoms[c])]
    oracle.set_geometry(root, c, shapely.Polygon(ring))
    P["gap_partial"] = ("geometry.gap", c)
    others = shapely.STRtree([g for g in geoms.values() if g is not None and not shapely.is_empty(g)])
    e = one()
    xy = shapely.get_coordinates(geoms[e])
    for i in range(len(xy) - 1):  # an edge whose outside is free: a 2 m spike with a 2 cm base
        p0, p1 = xy[i], xy[i + 1]
        mid = (p0 + p1) / 2
        t = (p1 - p0) / np.linalg.norm(p1 - p0)
        n = np.array([t[1], -t[0]])
        if shapely.contains_xy(geoms[e], *(mid + 0.05 * n)):
            n = -n
        apex = mid + 2.0 * n
        if not len(others.query(shapely.buffer(shapely.points(apex), 0.5), predicate="intersects")):
            ring = [tuple(q) for q in xy[:i + 1]] + [tuple(mid - 0.01 * t), tuple(apex), tuple(mid + 0.01 * t)] + [tuple(q) for q in xy[i + 1:]]
            break
    oracle.set_geometry(root, e, shapely.Polygon(ring))
    P["spike"] = ("geometry.spike", e)
    f = one()
    xy = [tuple(q) for q in shapely.get_coordinates(geoms[f])]
    oracle.set_geometry(root, f, shapely.Polygon([xy[0], xy[1], xy[1], *xy[2:]]))
    P["duplicate_vertex"] = ("geometry.duplicate_vertex", f)
    g = one()
    width = min(np.ptp(shapely.get_coordinates(shapely.minimum_rotated_rectangle(geoms[g])), axis=0))
    cut = shapely.difference(geoms[g], shapely.buffer(shapely.centroid(geoms[g]), max(width, 5.0)))
    assert shapely.get_num_geometries(cut) == 2
    oracle.set_geometry(root, g, cut)
    P["multipart"] = ("geometry.multipart", g)
    h = one()
    x, y = shapely.get_coordinates(shapely.point_on_surface(geoms[h]))[0]
    oracle.set_geometry(root, h, shapely.Polygon([(x, y), (x + 1, y), (x, y + 0.8), (x, y)]))
    P["sliver"] = ("geometry.sliver", h)
    i = one()
    x, y = shapely.get_coordinates(shapely.point_on_surface(geoms[i]))[0]
    oracle.set_geometry(root, i, shapely.from_wkt(f"POLYGON(({x} {y}, {x + 1} {y + 1}, {x} {y}))"))
    P["invalid"] = ("geometry.invalid", i)
    j = one()
    oracle.set_geometry(root, j, None)
    P["empty"] = ("geometry.empty", j)
    k = one()
    oracle.set_geometry(root, k, shapely.transform(geoms[k], lambda c: c - [0, 3000]))
    P["outside_county"] = ("geometry.outside_region", k)
    m = one()
    oracle.set_geometry(root, m, shapely.transform(geoms[m], lambda c: c - [39_000_000, 0]))
    P["outside_zone"] = ("geometry.outside_zone", m)

    def drop_region(lyr):
        lyr.DeleteFeature(oracle.feature_by(lyr, "ZJQYDM", "37152600100103").GetFID())
    oracle.edit_layer(root, "ZJQY", drop_region)
    P["region_missing"] = ("geometry.region_missing", "37152600100103")
    allowed.add("37152600100103")
    P["self_intersection"] = ("geometry.self_intersection", "3715260010010200061")  # planted in the sample
    P["overlap"] = ("geometry.overlap", "3715260010010400008")
    P["outside_group"] = ("geometry.outside_region", "3715260010010190007")  # its DKBM names group 01, it lies in 04
    P["duplicate_dkbm"] = ("geometry.duplicate_dkbm", "3715260010010100001")
    issues = oracle.run(root)
    return issues, P, allowed, root


@pytest.mark.parametrize("name", PLANTS)
def test_planted_geometry_defect_is_found_on_its_parcel(planted, name):
    issues, P, _allowed, _root = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, sorted(oracle.keys_of(issues, rule)))


def test_covers_its_rules(planted):
    assert RULES - {"geometry.has_zm"} <= {i.rule for i in planted[0]}  # Z: its own test below


def test_no_error_beyond_the_planted_parcels(planted):
    issues, _P, allowed, _root = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_issue_geometries_locate_the_problem(planted):
    issues, P, _allowed, _root = planted
    gap = next(i for i in issues if i.rule == "geometry.gap" and i.key == P["gap_full"][1])
    assert gap.wkb is not None and shapely.area(shapely.from_wkb(gap.wkb)) < 50 and P["gap_full_other"][1] in gap.message
    assert 0.09 < float(gap.message.split("宽 ")[1].split(" m")[0]) < 0.11
    region = next(i for i in issues if i.rule == "geometry.outside_region" and i.key == P["outside_county"][1])
    assert "县级行政区" in region.message  # the coarsest region it leaves
    group = next(i for i in issues if i.rule == "geometry.outside_region" and i.key == P["outside_group"][1])
    assert "组级区域" in group.message and "37152600100101" in group.message


def test_warnings_for_what_real_land_can_be(planted):
    issues, _P, _allowed, _root = planted
    assert {i.severity for i in issues if i.rule in ("geometry.spike", "geometry.duplicate_vertex", "geometry.multipart", "geometry.sliver")} == {"warning"}


def test_gap_tolerance_decides_what_a_gap_is(planted):
    _issues, P, _allowed, root = planted
    assert not oracle.keys_of(oracle.run(root, gap_tolerance=0), "geometry.gap")
    narrow = oracle.keys_of(oracle.run(root, gap_tolerance=0.05), "geometry.gap")
    assert P["gap_full"][1] not in narrow  # 0.1 m is wider than 0.05 m


def test_z_coordinates_are_reported_once(tmp_path):
    from osgeo import gdal
    from conftest import DEMO
    root = oracle.copy_delivery(DEMO, tmp_path)
    shp = next((root / "矢量数据").glob("DK*.shp"))
    tmp = tmp_path / "dkz"
    gdal.VectorTranslate(str(tmp), str(shp), options=gdal.VectorTranslateOptions(dim="XYZ", layerCreationOptions=["ENCODING=CP936"]))
    for src in tmp.glob("*"):
        if src.suffix.lower() in (".shp", ".shx", ".dbf"):
            src.replace(shp.with_suffix(src.suffix))
    zm = [i for i in oracle.run(root) if i.rule == "geometry.has_zm"]
    assert len(zm) == 1 and zm[0].key.endswith(".shp")
