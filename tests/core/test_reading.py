"""Reading a delivery: layout, .mdb through ODBC and mdbtools, .sqlite, encodings, CRS, broken files."""
import sqlite3
import sys

import numpy as np
import pytest

from conftest import tree_hash
from land_contract_bridge.core import attrdb, crs, delivery, encoding, schema, vector
from land_contract_bridge.core.errors import LcbError
from land_contract_bridge.core.workspace import open_workspace


def test_core_never_imports_qgis_or_qt():
    import land_contract_bridge.core.consult  # noqa: F401
    import land_contract_bridge.core.inventory  # noqa: F401
    import land_contract_bridge.core.merge  # noqa: F401
    import land_contract_bridge.core.validate  # noqa: F401
    assert not any(m == "qgis" or m.startswith(("qgis.", "PyQt")) for m in sys.modules)


def test_scan_recognises_the_layout(demo, truth):
    d = delivery.scan(demo.parent)  # the parent folder holding exactly one package is accepted too
    assert (d.county, d.county_name, d.year) == ("371526", "高唐县", "2018")
    assert set(d.vectors) == {"DK", "JBNTBHQ", "XJXZQ", "XJQY", "CJQY", "ZJQY"}
    assert d.attr_db.name == "3715262018.mdb" and d.code_table.name.endswith("权属单位代码表.xls")
    assert d.ledger.name == "确权登记发证台账.csv" and d.metadata_xml.name == "SL3715262018.xml"
    assert len(d.sketches) == truth["counts"]["dksyt_pdfs"] and len(d.attachments) == truth["counts"]["attachment_pdfs"]
    assert delivery.missing_required(d) == []


def test_root_must_be_named_by_county_code(tmp_path):
    (tmp_path / "whatever").mkdir()
    with pytest.raises(LcbError) as e:
        delivery.scan(tmp_path / "whatever")
    assert "6位" in e.value.zh and "county code" in e.value.en


def test_mdb_through_odbc_and_mdbtools_agree(demo, truth):
    with attrdb.Staging() as odbc, attrdb.Staging() as export:
        odbc.load_tables(demo / "权属数据/3715262018.mdb", "x.mdb")
        export._load_mdb_export(demo / "权属数据/3715262018.mdb", "x.mdb")
        for table, col in (("CBF", "CBFBM"), ("CBDKXX", "DKBM"), ("CBF_JTCY", "CYXM"), ("CBHT", "HTZMJ")):
            a = sorted(map(str, (r[0] for r in odbc.q(f"SELECT {col} FROM {table}"))))
            b = sorted(map(str, (r[0] for r in export.q(f"SELECT {col} FROM {table}"))))
            assert a == b
        assert odbc.count("CBF_JTCY") == truth["counts"]["members"]
        assert odbc.q("SELECT CBQXQ FROM CBHT LIMIT 1")[0][0] == "1998-12-01"
        assert odbc.problems == []


def test_sqlite_attribute_database_is_read_like_the_mdb(demo_copy, truth):
    mdb = demo_copy / "权属数据/3715262018.mdb"
    with attrdb.Staging() as st:
        st.load_tables(mdb, "x")
        out = sqlite3.connect(demo_copy / "权属数据/3715262018.sqlite")
        for table, spec in schema.TABLES.items():
            cols = [f[0] for f in spec]
            out.execute(f"CREATE TABLE {table} ({', '.join(cols)})")
            out.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(cols))})", st.q(f"SELECT {', '.join(cols)} FROM {table}"))
        out.commit()
        out.close()
    mdb.unlink()
    with open_workspace(demo_copy) as ws:
        assert ws.d.attr_db.suffix == ".sqlite"
        assert ws.stage.count("CBF") == truth["counts"]["households"]
        assert ws.stage.count("CBDKXX") == truth["counts"]["cbdkxx_rows"]


@pytest.mark.parametrize("drop_cpg", [False, True])
def test_chinese_text_is_exact_with_and_without_cpg(demo_copy, truth, drop_cpg):
    if drop_cpg:
        for p in (demo_copy / "矢量数据").glob("*.cpg"):
            p.unlink()
    d = delivery.scan(demo_copy)
    vd = vector.read_layer(d, "DK")
    assert vd.encoding == "GB18030" and vd.encoding_source == ("detected" if drop_cpg else "cpg")
    assert any(p[0] == "encoding.no_cpg" for p in vd.problems) == drop_cpg
    got = {}
    for k, mc, xm in zip(vd.text("DKBM"), vd.text("DKMC"), vd.text("ZJRXM")):
        got.setdefault(k, (mc, xm))
    checked = 0
    for k, p in truth["parcels"].items():
        if p["DKMC"] is not None and k in got and p["dk_features"] == 1:
            assert got[k] == (p["DKMC"], p["ZJRXM"]), k
            checked += 1
    assert checked > 290
    assert vd.garbled == 0


def test_encoding_detection_from_bytes():
    assert encoding.detect("马堂村".encode("gbk")) == "GB18030"
    assert encoding.detect("马堂村".encode("utf-8")) == "UTF-8"
    assert encoding.detect(b"abc") == "ASCII"
    assert "喆".encode("gb18030").decode("gb18030") == "喆"


def test_crs_recognised_with_and_without_zone_prefix(demo):
    wkt = (demo / "矢量数据/DK3715262018.prj").read_text()
    assert crs.identify(wkt) == 4527
    plain = wkt.replace("39500000.0", "500000.0")
    assert crs.identify(plain) == 4548
    assert crs.partner(4527) == 4548 and crs.transform_offset(4548, 4527) == (39_000_000.0, 0.0)
    assert crs.check_extent(4527, 39428000, 39429000, 4072000, 4073000) is None
    assert "不在" in crs.check_extent(4527, 428000, 429000, 4072000, 4073000)
    geo = 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
    assert crs.identify(geo) is None


def test_truncated_shapefile_is_reported_and_the_rest_is_read(demo_copy):
    shp = demo_copy / "矢量数据/DK3715262018.shp"
    data = shp.read_bytes()
    shp.write_bytes(data[: len(data) // 2])
    d = delivery.scan(demo_copy)
    vd = vector.read_layer(d, "DK")
    assert any(p[0] == "package.unreadable" and "DK3715262018.shp" in p[1] for p in vd.problems)
    zj = vector.read_layer(d, "ZJQY")
    assert zj.n == 5 and not zj.problems


def test_corrupt_dbf_is_reported_not_raised(demo_copy):
    dbf = demo_copy / "矢量数据/DK3715262018.dbf"
    dbf.write_bytes(b"\x00garbage" * 10)
    d = delivery.scan(demo_copy)
    vd = vector.read_layer(d, "DK")
    assert vd is not None and any(p[0] == "package.unreadable" for p in vd.problems)


def test_read_only_delivery_is_read_and_never_modified(demo_copy):
    import os
    import stat
    for p in [demo_copy, *demo_copy.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = tree_hash(demo_copy)
    try:
        with open_workspace(demo_copy) as ws:
            assert ws.dk.n == 299 and ws.stage.count("CBF") == 97
    finally:
        for p in [demo_copy, *demo_copy.rglob("*")]:
            os.chmod(p, p.stat().st_mode | stat.S_IWUSR)
    assert tree_hash(demo_copy) == before


def test_ledger_and_code_table(demo):
    with open_workspace(demo) as ws:
        assert ws.stage.count("LEDGER") == 378
        assert ws.stage.q("SELECT name FROM CODES WHERE code = '37152600100101'")[0][0].endswith("马堂村一组")
        area = ws.area
        assert np.isnan(area).sum() == 1  # the one empty geometry


def test_uniform_geometries_are_read(tmp_path):
    """GDAL returns a fixed-width WKB column when every geometry has the same size: all must still be read."""
    from land_contract_bridge.core import vector as v
    from osgeo import ogr, osr
    root = tmp_path / "371526测试县" / "矢量数据"
    root.mkdir(parents=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4527)
    ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(root / "DK3715262018.shp"))
    lyr = ds.CreateLayer("DK3715262018", srs, ogr.wkbPolygon)
    lyr.CreateField(ogr.FieldDefn("DKBM", ogr.OFTString))
    for i in range(70000):  # more than one Arrow batch
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("DKBM", f"{3715260010010100000 + i}")
        x = 39428000 + i * 10.0
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON (({x} 4072000, {x} 4072100, {x + 10} 4072100, {x + 10} 4072000, {x} 4072000))"))
        lyr.CreateFeature(f)
    ds = None
    d = delivery.scan(root.parent)
    vd = v.read_layer(d, "DK")
    assert vd.n == 70000 and all(g is not None for g in vd.geoms)
    assert abs(vd.geoms[12345].area - 1000.0) < 1e-6
