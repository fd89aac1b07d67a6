"""GEOS's English reasons for an invalid polygon reach the issue layer in Chinese (issue 17, point 8)."""
from land_contract_bridge.core import validate
from land_contract_bridge.core.rules.geometry import geos_zh


def test_geos_reasons_in_chinese():
    assert geos_zh("Self-intersection[512345.1 4012345.2]") == "自相交（512345.1 4012345.2）"
    assert geos_zh("Ring Self-intersection[1 2]") == "环自相交（1 2）"
    assert geos_zh("Too few points in geometry component[1 2]") == "组成部分点数过少（1 2）"
    assert geos_zh("Valid Geometry") == "Valid Geometry"  # an unknown text stays as GEOS wrote it


def test_the_sample_geometry_issues_are_chinese(demo):
    issues, _summary = validate.validate(demo)
    geo = [i for i in issues if i.rule in ("geometry.self_intersection", "geometry.invalid")]
    assert geo
    for i in geo:
        assert "Self-intersection" not in i.message and "Self-intersection" not in str(i.value)
        assert "自相交" in i.message or "无效" in i.message
