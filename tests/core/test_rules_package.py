"""The delivery package: companions, metadata, code table, attribute database, file naming, county codes,
required layers, the ledger's columns, encodings — planted in copies of the bundled sample. (Unreadable files,
missing folders, CRS conflicts and .cpg: tests/core/test_validate.py.)"""
import pytest

import oracle

RULES = {"package.missing_companion", "package.missing_metadata", "package.missing_code_table", "package.file_naming",
         "package.county_mismatch", "package.missing_layer", "package.ledger_columns", "encoding.garbled", "package.metadata",
         "package.crs_unknown", "package.missing_attr_db", "package.recommended_layer"}


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    from conftest import DEMO
    root = oracle.copy_delivery(DEMO, tmp_path_factory.mktemp("package"))
    vec = root / "矢量数据"
    (vec / "CJQY3715262018.prj").unlink()
    (vec / "SL3715262018.xml").unlink()
    (root / "权属数据" / "3715262018权属单位代码表.xls").unlink()
    for p in vec.glob("XJQY3715262018.*"):
        p.rename(p.with_name("XJQY371526" + p.suffix))
    for p in vec.glob("XJXZQ3715262018.*"):
        p.rename(p.with_name("XJXZQ3715992018" + p.suffix))
    (vec / "ZJQY3715262018.cpg").write_text("UTF-8")  # the text is GBK
    ledger = root / "其他资料" / "确权登记发证台账.csv"
    lines = ledger.read_text("utf-8-sig").splitlines()
    ledger.write_text("\n".join(["编码,承包方,权证,面积"] + lines[1:]) + "\n", "utf-8-sig")
    from land_contract_bridge.core import validate
    issues, _ = validate.validate(root, required_layers=["DK", "JZD"])
    return issues


@pytest.mark.parametrize("rule, key", [
    ("package.missing_companion", "矢量数据/CJQY3715262018.prj"),
    ("package.missing_metadata", "矢量数据/SL<县代码><年份>.xml"),
    ("package.missing_code_table", "权属数据/<县代码><年份>权属单位代码表.xls"),
    ("package.file_naming", "矢量数据/XJQY371526.shp"),
    ("package.county_mismatch", "矢量数据/XJXZQ3715992018.shp"),
    ("package.missing_layer", "矢量数据/JZD"),
    ("package.recommended_layer", "矢量数据/JZX"),
    ("package.ledger_columns", "其他资料/确权登记发证台账.csv"),
    ("encoding.garbled", "矢量数据/ZJQY3715262018.shp"),
])
def test_package_defect_is_found_on_its_file(broken, rule, key):
    assert oracle.has(broken, rule, key), sorted(oracle.keys_of(broken, rule))


def test_package_defects_are_errors_except_the_documented_warnings(broken):
    sev = {i.rule: i.severity for i in broken if i.category in ("package", "encoding")}
    assert sev["package.file_naming"] == sev["package.recommended_layer"] == "warning"
    assert sev["package.missing_code_table"] == sev["package.county_mismatch"] == sev["encoding.garbled"] == "error"


def test_metadata_crs_and_attribute_database(demo_copy):
    xml = demo_copy / "矢量数据" / "SL3715262018.xml"
    xml.write_text(xml.read_text("utf-8").replace("<geoID>371526<", "<geoID>371599<"), "utf-8")
    (demo_copy / "矢量数据" / "DK3715262018.prj").write_text(
        'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')
    (demo_copy / "权属数据" / "3715262018.mdb").unlink()
    issues = oracle.run(demo_copy)
    assert oracle.has(issues, "package.metadata", "矢量数据/SL3715262018.xml")
    # a WGS 84 .prj on Gauss–Krüger coordinates contradicts them; the .mdb is missing (core/rules/integrity.py words both)
    assert any(i.rule in ("package.crs_unknown", "package.crs_contradicts") and i.key.endswith("DK3715262018.prj") for i in issues)
    assert any(i.rule == "package.missing_attr_db" for i in issues)


def test_a_projection_that_is_not_cgcs2000_is_unknown(demo_copy):
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(2363)  # Xian 1980 / 3-degree Gauss-Kruger zone 39: the coordinates fit it, but it is not CGCS2000
    srs.MorphToESRI()
    (demo_copy / "矢量数据" / "DK3715262018.prj").write_text(srs.ExportToWkt())
    issues = oracle.run(demo_copy)
    assert oracle.has(issues, "package.crs_unknown", "矢量数据/DK3715262018.prj")
