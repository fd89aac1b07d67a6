"""Quality check: truth.json as the oracle (recall 100 %, no false errors), broken copies, parameters, rules."""
import shutil

import pytest

import oracle
from conftest import tree_hash
from land_contract_bridge.core import codes, validate
from land_contract_bridge.core.issues import CATEGORIES, REGISTRY


def as_dicts(issues):
    return [dict(category=i.category, key=i.key, severity=i.severity, rule=i.rule) for i in issues]


@pytest.fixture(scope="module")
def demo_issues(demo):
    before = tree_hash(demo)
    issues, summary = validate.validate(demo)
    assert tree_hash(demo) == before
    return issues, summary


def test_every_planted_defect_found_and_no_false_error(demo_issues, truth):
    issues, _ = demo_issues
    missed, false = oracle.compare(truth, as_dicts(issues))
    assert [d["kind"] for d in missed] == []
    assert false == []
    assert len(truth["defects"]) == 32


def test_counts_per_category(demo_issues):
    issues, _ = demo_issues
    cats = validate.by_category(issues)
    # reference: the 5 + 6 CBDKXX rows of the household and the register that are missing are each keyed by their DKBM;
    # geometry: the parcel whose DKBM names another group also lies outside that group's ZJQY polygon;
    # member: the member whose sex contradicts the ID is a 长子 recorded as female.
    assert {c: n["error"] for c, n in cats.items() if n["error"]} == {
        "schema": 2, "code": 8, "reference": 18, "geometry": 6, "area": 7, "member": 4, "date": 3}
    assert cats["package"]["warning"] == 6  # JZD/JZX absent and 4 of the 6 summary tables absent: documented warnings


def test_issue_geometry_for_parcels_and_overlaps(demo_issues):
    import shapely
    issues, _ = demo_issues
    ov = [i for i in issues if i.rule == "geometry.overlap"]
    assert len(ov) == 2 and {i.key for i in ov} == {"3715260010010400008", "3715260010010400009"}
    g = shapely.from_wkb(ov[0].wkb)
    assert 17.5 < g.area < 18.2  # truth: overlap_m2 17.83
    scmj = next(i for i in issues if i.rule == "area.scmj_geometry")
    assert scmj.wkb is not None and "693.33" in scmj.message


def test_no_cpg_variant_adds_only_the_encoding_warning(demo_copy, truth):
    for p in (demo_copy / "矢量数据").glob("*.cpg"):
        p.unlink()
    issues, _ = validate.validate(demo_copy)
    missed, false = oracle.compare(truth, as_dicts(issues))
    assert missed == [] and false == []
    enc = [i for i in issues if i.category == "encoding"]
    assert {i.key for i in enc} >= {"矢量数据/DK3715262018.cpg"} and all(i.severity == "warning" for i in enc)


def test_missing_folder_is_a_package_error(demo_copy):
    shutil.rmtree(demo_copy / "汇总表格")
    issues, _ = validate.validate(demo_copy)
    assert any(i.rule == "package.missing_folder" and i.key == "汇总表格" and i.severity == "error" for i in issues)


def test_broken_copies_give_clear_package_issues(demo_copy):
    (demo_copy / "矢量数据/ZJQY3715262018.dbf").write_bytes(b"not a dbf at all")
    shp = demo_copy / "矢量数据/JBNTBHQ3715262018.shp"
    shp.write_bytes(shp.read_bytes()[:150])
    (demo_copy / "矢量数据/CJQY3715262018.prj").write_text(
        'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')
    issues, _ = validate.validate(demo_copy)
    pk = {(i.rule, i.key.split("/")[-1]) for i in issues if i.category == "package"}
    assert ("package.unreadable", "ZJQY3715262018.dbf") in pk or ("package.unreadable", "ZJQY3715262018.shp") in pk
    assert ("package.unreadable", "JBNTBHQ3715262018.shp") in pk
    assert ("package.crs_inconsistent", "CJQY3715262018.shp") in pk


def test_dk_in_another_crs_is_reported(demo_copy):
    prj = demo_copy / "矢量数据/DK3715262018.prj"
    prj.write_text(prj.read_text().replace("39500000.0", "500000.0"))  # declares 4548, coordinates carry the prefix
    issues, _ = validate.validate(demo_copy)
    assert any(i.rule == "package.crs_extent" for i in issues)


def test_parameters_change_what_is_reported(demo):
    issues, _ = validate.validate(demo, overlap_min_area=100.0, min_area=700.0)
    assert not any(i.rule == "geometry.overlap" for i in issues)
    slivers = [i for i in issues if i.rule == "geometry.sliver"]
    assert slivers and all(i.severity == "warning" for i in slivers)


def test_generated_delivery_oracle(generated):
    root, truth = generated
    issues, _ = validate.validate(root)
    missed, false = oracle.compare(truth, as_dicts(issues))
    assert [d["kind"] for d in missed] == [] and false == []
    assert len({d["kind"] for d in truth["defects"]}) >= 20


def test_catalogue_lists_every_rule_and_is_committed():
    from pathlib import Path
    md = validate.catalogue_markdown()
    for rid, r in REGISTRY.items():
        assert f"`{rid}`" in md
        assert r.category in CATEGORIES
        assert r.severity != "warning" or r.why, f"{rid}: a warning must say why it is not an error"
    assert (Path(__file__).resolve().parents[2] / "docs/rules.md").read_text("utf-8") == md + "\n"


@pytest.mark.parametrize("value, ok", [("37152619761019649X", False), ("371526197610196491", True),
                                       ("371526201207155677", False), ("371526201302301234", False), ("12345", False)])
def test_id_numbers(value, ok):
    assert (codes.id_problem(value) is None) == ok


def test_sex_from_id():
    assert codes.id_sex("371526197610196491") == "1" and codes.id_sex("37152620101221461X") == "1"
    assert codes.id_sex("371526198001011226") == "2"


def test_vectorised_id_check_agrees_with_the_exact_one():
    import datetime as dt
    import random
    rng = random.Random(5)
    ids = []
    for _ in range(5000):
        s17 = f"371526{rng.randint(1870, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}"
        ids.append(s17 + (codes.id_check_char(s17) if rng.random() < 0.7 else rng.choice("0123456789X")))
    ids += ["", "12345", "37152619761019649x", "abc", "371526200002290011", "371526190002290011", " 371526197610196491 "]
    latest = dt.date(2018, 12, 31)
    invalid = codes.invalid_resident_ids(ids, latest)
    assert [bool(x) for x in invalid] == [codes.id_problem(v, latest) is not None for v in ids]


def test_generated_delivery_without_cpg_in_the_other_zone_convention(tmp_path):
    from conftest import run_generator
    root, truth = run_generator(tmp_path, "--parcels", "800", "--township", "005", "--epsg", "4548", "--no-cpg", "--defects", "0.05", "--seed", "3")
    issues, summary = validate.validate(root)
    assert summary["epsg"] == 4548
    missed, false = oracle.compare(truth, as_dicts(issues))
    assert [d["kind"] for d in missed] == [] and false == []
    assert any(i.rule == "encoding.no_cpg" for i in issues)


def test_unreadable_mdb_is_one_clear_package_error(demo_copy):
    (demo_copy / "权属数据/3715262018.mdb").write_bytes(b"Standard Jet DB\x00" + b"\x00garbage" * 500)
    issues, _ = validate.validate(demo_copy)
    bad = [i for i in issues if i.rule == "package.unreadable" and i.key.endswith("3715262018.mdb")]
    assert len(bad) == 1 and "Access" in bad[0].message
    assert any(i.category == "geometry" for i in issues)  # the shapefiles are still checked
