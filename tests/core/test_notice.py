"""Basic-farmland notices: the overlap set checked independently with shapely, one notice per household,
a county's own template, clean errors, masking, atomic output."""
import re
import sqlite3

import numpy as np
import pytest
import shapely
from osgeo import ogr

from land_contract_bridge.core import merge, notice, regdb
from land_contract_bridge.core.errors import Cancelled, LcbError, Progress


@pytest.fixture(scope="module")
def reg(demo, tmp_path_factory):
    t = tmp_path_factory.mktemp("notice") / "reg.gpkg"
    merge.merge(demo, t)
    return t


@pytest.fixture(scope="module")
def farmland(reg):
    c = regdb.connect(reg)
    try:
        shp = regdb.farmland_layers(c)
        return regdb.read_polygons(shp[0], regdb.epsg(c), "BHQBH"), shp
    finally:
        c.close()


def independent_overlaps(reg, demo):
    """{DKBM: overlap m²} computed naively: every cbdk parcel against the union of the JBNTBHQ polygons, both
    read with plain OGR (no plugin code), invalid parcels repaired with make_valid."""
    shp = next((demo / "矢量数据").glob("JBNTBHQ*.shp"))
    ds = ogr.Open(str(shp))
    farm = shapely.union_all([shapely.from_wkb(bytes(f.GetGeometryRef().ExportToWkb())) for f in ds.GetLayer(0)])
    ds = ogr.Open(str(reg))
    out = {}
    for f in ds.GetLayerByName("cbdk"):
        g = f.GetGeometryRef()
        if g is None or g.IsEmpty():
            continue
        p = shapely.make_valid(shapely.from_wkb(bytes(g.ExportToWkb())))
        a = p.intersection(farm).area
        if a > 0:
            out[f.GetField("DKBM")] = a
    return out


def test_the_delivery_jbntbhq_is_the_default(reg, farmland, demo):
    (geoms, ids), shp = farmland
    assert [p.name for p in shp] == ["JBNTBHQ3715262018.shp"] and shp[0].parent.parent == demo
    assert len(geoms) == 5 and ids[0] == "3715260010001"


@pytest.mark.parametrize("threshold", [1.0, 500.0])
def test_notice_parcels_equal_an_independent_overlay(reg, farmland, demo, threshold):
    (geoms, ids), _ = farmland
    res = notice.build(reg, geoms, ids, min_overlap=threshold)
    truth = {k: a for k, a in independent_overlaps(reg, demo).items() if a > threshold}
    got = {r["DKBM"]: r["JBNTMJ"] for r in res["rows"]}
    assert set(got) == set(truth) and len(got) == (163 if threshold == 1.0 else len(truth))
    assert all(abs(got[k] - truth[k]) < 0.006 for k in got)
    assert all(r["JBNTMJM"] == round(r["JBNTMJ"] * 0.0015 + 1e-9, 2) for r in res["rows"])


def test_one_notice_per_household(reg, farmland, tmp_path):
    (geoms, ids), _ = farmland
    res = notice.build(reg, geoms, ids)
    c = sqlite3.connect(reg)
    holders = {}
    for k, cbf in c.execute("SELECT DKBM, CBFBM FROM qs_cbdkxx"):
        holders.setdefault(k, set()).add(cbf)
    expected = set().union(*(holders[r["DKBM"]] for r in res["rows"]))
    codes = [n["CBFBM"] for n in res["notices"]]
    assert len(codes) == len(set(codes)) == len(expected) == 47 and set(codes) == expected
    for n in res["notices"]:  # each household's notice lists exactly its parcels on farmland
        assert {p["DKBM"] for p in n["parcels"]} == {r["DKBM"] for r in res["rows"] if n["CBFBM"] in holders[r["DKBM"]]}
    files = notice.write(res, tmp_path / "out")
    html = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == len(html) == 48 and "index.html" in html
    assert sum(1 for n in html if n.startswith("告知书_")) == 47
    one = (tmp_path / "out" / f"告知书_{codes[0]}.html").read_text("utf-8")
    assert "永久基本农田保护告知书" in one and "签字" in one and res["notices"][0]["parcels"][0]["DKBM"] in one.replace("<wbr>", "")


def test_names_and_ids_masked_unless_asked(reg, farmland, tmp_path):
    (geoms, ids), _ = farmland
    masked = notice.build(reg, geoms, ids)
    n = masked["notices"][0]
    html = notice.render(masked, n)
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", html.replace(n["CBFBM"], ""))
    plain = notice.build(reg, geoms, ids, mask=False)
    name = plain["notices"][0]["CBFMC"]
    assert name and name not in html and name in notice.render(plain, plain["notices"][0])


def test_a_county_template_replaces_the_bundled_one(reg, farmland, tmp_path):
    (geoms, ids), _ = farmland
    tpl = tmp_path / "县告知书.html.j2"
    tpl.write_text('{% extends "base.html.j2" %}{% block body %}<h1>某县永久基本农田告知（县定格式）</h1>'
                   '<p>{{ n.CBFBM }}：{% for p in n.parcels %}{{ p.DKBM }} {{ p.JBNTMJ | num }}；{% endfor %}</p>{% endblock %}', "utf-8")
    res = notice.build(reg, geoms, ids)
    notice.write(res, tmp_path / "out", template=tpl)
    first = res["notices"][0]
    text = (tmp_path / "out" / f"告知书_{first['CBFBM']}.html").read_text("utf-8").replace("<wbr>", "")
    assert "某县永久基本农田告知（县定格式）" in text and "保护义务" not in text
    assert f"{first['parcels'][0]['DKBM']} {first['parcels'][0]['JBNTMJ']:,.2f}" in text


def test_a_broken_template_is_a_clear_error_and_writes_nothing(reg, farmland, tmp_path):
    (geoms, ids), _ = farmland
    tpl = tmp_path / "bad.j2"
    tpl.write_text("<p>{{ n.CBFBM </p>\n{% for %}", "utf-8")
    res = notice.build(reg, geoms, ids)
    with pytest.raises(LcbError) as e:
        notice.write(res, tmp_path / "out", template=tpl)
    assert "告知书模板" in e.value.text() and "template" in e.value.text() and "bad.j2" in e.value.text()
    assert list((tmp_path / "out").iterdir()) == []
    with pytest.raises(LcbError):
        notice.write(res, tmp_path / "out", template=tmp_path / "missing.j2")
    with pytest.raises(LcbError):
        notice.build(reg, geoms, ids, min_overlap=-1)


def test_cancel_leaves_the_folder_as_it_was(reg, farmland, tmp_path):
    (geoms, ids), _ = farmland
    res = notice.build(reg, geoms, ids)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    calls = []
    with pytest.raises(Cancelled):
        notice.write(res, out, progress=Progress(cancelled=lambda: calls.append(1) or len(calls) > 10))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_farmland_in_another_convention_of_the_zone(reg, farmland):
    """A FARMLAND layer in the zone's other convention (no zone prefix) gives the same parcels."""
    (geoms, ids), _ = farmland
    shifted = shapely.transform(np.asarray(geoms), lambda xy: xy - np.array([39_000_000.0, 0.0]))
    back = regdb.transformer(4548, 4527)(shifted)  # CGCS2000 3° zone 39 without, then with the prefix
    a = {r["DKBM"] for r in notice.build(reg, geoms, ids)["rows"]}
    b = {r["DKBM"] for r in notice.build(reg, back, ids)["rows"]}
    assert a == b
