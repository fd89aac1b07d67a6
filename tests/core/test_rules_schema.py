"""Structure: fields and tables present, declared types and widths, mandatory values, numbers that are text, text
longer than the standard's width — planted in a copy of a clean generated delivery."""
import pytest
from osgeo import ogr

import oracle

PLANTS = ["too_long", "not_number", "required_empty", "missing_field", "dk_missing_field", "dk_missing_optional", "field_type"]
RULES = {"schema.too_long", "schema.not_number", "schema.required_empty", "schema.missing_field", "schema.dk_missing_field",
         "schema.dk_missing_optional", "schema.field_type", "schema.missing_table"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path_factory.mktemp("schema"))
    hh = oracle.farm_households(root)
    P = {}
    oracle.sql(root, ("UPDATE CBF SET CBFMC = ? WHERE CBFBM = ?", ("很" * 51, hh[0])))
    P["too_long"] = ("schema.too_long", hh[0])
    oracle.sql(root, ("UPDATE CBHT SET HTZMJ = '约三亩' WHERE CBHTBM = ?", (hh[1] + "J",)))
    P["not_number"] = ("schema.not_number", hh[1] + "J")
    oracle.sql(root, ("UPDATE CBF SET CBFDZ = '' WHERE CBFBM = ?", (hh[2],)))
    P["required_empty"] = ("schema.required_empty", hh[2])
    oracle.sql(root, "ALTER TABLE QSLYZLFJ DROP COLUMN ZLFJMC")
    db = next((root / "权属数据").glob("*.sqlite")).relative_to(root).as_posix()
    P["missing_field"] = ("schema.missing_field", db)
    dk = next((root / "矢量数据").glob("DK*.shp")).relative_to(root).as_posix()

    def fields(lyr):
        d = lyr.GetLayerDefn()
        lyr.DeleteField(d.GetFieldIndex("DKMC"))  # mandatory
        lyr.DeleteField(lyr.GetLayerDefn().GetFieldIndex("DKBZXX"))  # optional
        i = lyr.GetLayerDefn().GetFieldIndex("TDLYLX")
        fd = ogr.FieldDefn("TDLYLX", ogr.OFTString)
        fd.SetWidth(2)
        lyr.AlterFieldDefn(i, fd, ogr.ALTER_WIDTH_PRECISION_FLAG)
    oracle.edit_layer(root, "DK", fields)
    P["dk_missing_field"] = ("schema.dk_missing_field", dk)
    P["dk_missing_optional"] = ("schema.dk_missing_optional", dk)
    P["field_type"] = ("schema.field_type", dk)
    issues = oracle.run(root)
    return issues, P, oracle.related(root, *hh[:3]) | {db, dk}


@pytest.mark.parametrize("name", PLANTS)
def test_planted_structure_defect_is_found(planted, name):
    issues, P, _allowed = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, sorted(oracle.keys_of(issues, rule)))


def test_the_missing_fields_are_named(planted):
    issues, _P, _allowed = planted
    assert {i.field for i in issues if i.rule in ("schema.missing_field", "schema.dk_missing_field", "schema.dk_missing_optional")} \
        == {"ZLFJMC", "DKMC", "DKBZXX"}
    assert next(i for i in issues if i.rule == "schema.field_type").field == "TDLYLX"


def test_no_error_beyond_the_planted_records(planted):
    issues, _P, allowed = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_a_missing_table_is_named(tmp_path_factory, tmp_path):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path)
    oracle.sql(root, "DROP TABLE CBJYQZ_QZZX")
    issues = oracle.run(root)
    assert any(i.rule == "schema.missing_table" and i.value == "CBJYQZ_QZZX" for i in issues)


def test_covers_its_rules(planted):
    assert RULES <= {i.rule for i in planted[0]} | ({"schema.missing_table"} if "schema.missing_table" in RULES else set())
