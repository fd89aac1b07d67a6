"""A second generated county (冠县 371525, another township, zone convention and seed) with every kind of defect the
generator knows, at least twice each: every planted defect is found with its category and key, there is no error on
a record without a planted defect, and every issue is keyed by a record of its own table or layer."""
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

import oracle
from conftest import ROOT, run_generator

sys_path = str(ROOT / "benchmarks")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    out = tmp_path_factory.mktemp("guanxian")
    root, truth = run_generator(out, "--parcels", "3000", "--county", "371525", "--county-name", "冠县", "--township", "003",
                                "--kinds", "all", "--each", "2", "--seed", "11")
    from land_contract_bridge.core import validate
    issues, _summary = validate.validate(root)
    return root, truth, issues


def test_every_kind_is_planted_at_least_twice(county):
    import sys
    sys.path.insert(0, sys_path)
    import make_delivery
    _root, truth, _issues = county
    kinds = Counter(d["kind"] for d in truth["defects"])
    assert set(kinds) == set(make_delivery.KINDS)
    assert min(kinds.values()) >= 2, {k: n for k, n in kinds.items() if n < 2}


def test_every_planted_defect_found_and_no_false_error(county):
    _root, truth, issues = county
    missed, false = oracle.compare(truth, [dict(category=i.category, key=i.key, severity=i.severity, rule=i.rule) for i in issues])
    assert [(d["kind"], d["key"]) for d in missed] == []
    assert [(i["rule"], i["key"]) for i in false] == []


def test_found_per_family(county, capsys):
    import sys
    sys.path.insert(0, sys_path)
    import make_delivery
    _root, truth, issues = county
    dicts = [dict(category=i.category, key=i.key, severity=i.severity, rule=i.rule) for i in issues]
    per = {}
    for d in truth["defects"]:
        fam = make_delivery.FAMILY[d["kind"]]
        n, f = per.get(fam, (0, 0))
        per[fam] = (n + 1, f + (1 if oracle.found(d, dicts) else 0))
    with capsys.disabled():
        print("\n  planted / found per family: " + ", ".join(f"{k} {f}/{n}" for k, (n, f) in sorted(per.items())))
    assert all(n == f for n, f in per.values())
    assert len(per) == 9


def record_keys(root):
    """Every record key of the delivery, per table or layer, as delivered (trimmed), plus the unit codes."""
    db = next((Path(root) / "权属数据").glob("*.sqlite"))
    c = sqlite3.connect(db)
    keys = {}
    for table, col in (("FBF", "FBFBM"), ("CBF", "CBFBM"), ("CBF_JTCY", "CBFBM"), ("CBHT", "CBHTBM"), ("CBDKXX", "DKBM"),
                       ("CBJYQZDJB", "CBJYQZBM"), ("CBJYQZ", "CBJYQZBM"), ("CBJYQZ_QZBF", "CBJYQZBM"), ("CBJYQZ_QZHF", "CBJYQZBM"),
                       ("CBJYQZ_QZZX", "CBJYQZBM"), ("LZHT", "LZHTBM"), ("QSLYZLFJ", "CBJYQZBM")):
        keys[table] = {str(r[0]).strip() for r in c.execute(f"SELECT {col} FROM {table}")}
    c.close()
    from land_contract_bridge.core import delivery, vector
    d = delivery.scan(root)
    dk = vector.read_layer(d, "DK", with_geometry=False, fields=["DKBM"])
    keys["DK"] = set(dk.text("DKBM").tolist())
    ledger = next((Path(root) / "其他资料").glob("*台账*.csv"))
    keys["确权登记发证台账"] = {line.split(",")[0].lstrip("\ufeff") for line in ledger.read_text("utf-8-sig").splitlines()[1:]}
    return keys


def test_every_issue_is_keyed_by_a_record_of_its_table(county):
    root, _truth, issues = county
    keys = record_keys(root)
    wrong = []
    for i in issues:
        if "/" in i.key:  # a file of the package (or the expected path of a missing one)
            continue
        if i.layer in keys and i.key in keys[i.layer]:
            continue
        if i.layer in ("ZJQY", "CJQY", "XJQY", "XJXZQ", "权属单位代码表") or i.rule == "reference.fbf_not_in_code_table":
            continue  # keyed by the unit's or region's own code
        wrong.append((i.rule, i.layer, i.key))
    assert wrong == []


def test_the_truth_file_is_backward_compatible(county):
    _root, truth, _issues = county
    assert {"generator", "parameters", "package_root", "counts", "defects", "parcels"} <= set(truth)
    assert all({"kind", "category", "table", "key", "field"} <= set(d) for d in truth["defects"])
    json.dumps(truth, ensure_ascii=False)
