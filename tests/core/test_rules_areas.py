"""Areas: positive, SCMJ against the planar area, 亩 twins, contract and transfer totals, the ledger — and the
tolerances (core.params) deciding what counts as a difference."""
import csv

import pytest

import oracle

PLANTS = ["htmj_zero", "htzmj_negative", "lzmj_zero", "dbmj_zero", "scmj_zero", "scmj_geometry", "mu_twin_cbdkxx", "mu_twin_cbht",
          "mu_twin_dk", "mu_twin_lzht", "htzmj_sum", "cbdkzs", "yhtzmj_sum", "lzdks", "lzmj_sum", "ledger_dbmj"]
RULES = {"area.nonpositive", "area.scmj_geometry", "area.mu_twin", "area.htzmj_sum", "area.cbdkzs", "area.yhtzmj_sum", "area.lzdks",
         "area.lzmj_sum", "area.ledger_dbmj"}


def dk_field(root, dkbm, **values):
    def edit(lyr):
        f = oracle.feature_by(lyr, "DKBM", dkbm)
        for k, v in values.items():
            f.SetField(k, v(f.GetField(k)) if callable(v) else v)
        lyr.SetFeature(f)
    oracle.edit_layer(root, "DK", edit)


def ledger_set(root, dkbm, value):
    path = next((root / "其他资料").glob("*台账*.csv"))
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    for r in rows[1:]:
        if r[0] == dkbm:
            r[3] = value
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path_factory.mktemp("areas"))
    hh = oracle.farm_households(root)
    allowed = oracle.related(root, *hh)
    lz = [r[0] for r in oracle.sql(root, "SELECT LZHTBM FROM LZHT ORDER BY LZHTBM")]
    used, P = [], {}

    def take():
        h = next(x for x in hh if x not in used and oracle.sql(root, ("SELECT YHTZMJ IS NOT NULL FROM CBHT WHERE CBFBM = ?", (x,)))[0][0])
        used.append(h)
        return h, h + "J", oracle.sql(root, ("SELECT DKBM FROM CBDKXX WHERE CBFBM = ? ORDER BY DKBM", (h,)))[0][0]

    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET HTMJ = 0, HTMJM = 0 WHERE DKBM = ?", (dk,)))
    P["htmj_zero"] = ("area.nonpositive", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET HTZMJ = -1, HTZMJM = 0 WHERE CBHTBM = ?", (bm,)))
    P["htzmj_negative"] = ("area.nonpositive", bm)
    oracle.sql(root, ("UPDATE LZHT SET LZMJ = 0, LZMJM = 0 WHERE LZHTBM = ?", (lz[0],)))
    P["lzmj_zero"] = ("area.nonpositive", lz[0])
    h, bm, dk = take()
    ledger_set(root, dk, "0")
    P["dbmj_zero"] = ("area.nonpositive", dk)
    h, bm, dk = take()
    dk_field(root, dk, SCMJ=0.0, SCMJM=0.0)
    P["scmj_zero"] = ("area.nonpositive", dk)
    h, bm, dk = take()
    dk_field(root, dk, SCMJ=lambda v: round(v * 1.05, 2), SCMJM=lambda v: round(v * 1.05, 2))
    P["scmj_geometry"] = ("area.scmj_geometry", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBDKXX SET HTMJM = HTMJM + 0.3 WHERE DKBM = ?", (dk,)))
    P["mu_twin_cbdkxx"] = ("area.mu_twin", dk)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET HTZMJM = HTZMJM + 0.2 WHERE CBHTBM = ?", (bm,)))
    P["mu_twin_cbht"] = ("area.mu_twin", bm)
    h, bm, dk = take()
    dk_field(root, dk, SCMJM=lambda v: v + 0.1)
    P["mu_twin_dk"] = ("area.mu_twin", dk)
    oracle.sql(root, ("UPDATE LZHT SET LZMJM = LZMJM + 1 WHERE LZHTBM = ?", (lz[2],)))
    P["mu_twin_lzht"] = ("area.mu_twin", lz[2])
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET HTZMJ = HTZMJ + 10, HTZMJM = round((HTZMJ + 10) * 0.0015, 2) WHERE CBHTBM = ?", (bm,)))
    P["htzmj_sum"] = ("area.htzmj_sum", bm)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET CBDKZS = CBDKZS + 1 WHERE CBHTBM = ?", (bm,)))
    P["cbdkzs"] = ("area.cbdkzs", bm)
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET YHTZMJ = YHTZMJ + 100, YHTZMJM = round((YHTZMJ + 100) * 0.0015, 2) WHERE CBHTBM = ?", (bm,)))
    P["yhtzmj_sum"] = ("area.yhtzmj_sum", bm)
    oracle.sql(root, ("UPDATE LZHT SET LZDKS = LZDKS + 1 WHERE LZHTBM = ?", (lz[2],)))
    P["lzdks"] = ("area.lzdks", lz[2])
    oracle.sql(root, ("UPDATE LZHT SET LZMJ = LZMJ + 50, LZMJM = round((LZMJ + 50) * 0.0015, 2) WHERE LZHTBM = ?", (lz[1],)))
    P["lzmj_sum"] = ("area.lzmj_sum", lz[1])
    h, bm, dk = take()
    ledger_set(root, dk, "%.2f" % (oracle.sql(root, ("SELECT HTMJ FROM CBDKXX WHERE DKBM = ?", (dk,)))[0][0] + 33.3))
    P["ledger_dbmj"] = ("area.ledger_dbmj", dk)
    # differences of 0.005 m² (HTZMJ against ΣHTMJ, the ledger against HTMJ): under the default tolerance, over zero
    h, bm, dk = take()
    oracle.sql(root, ("UPDATE CBHT SET HTZMJ = HTZMJ + 0.005 WHERE CBHTBM = ?", (bm,)))
    P["_small_htzmj"] = ("area.htzmj_sum", bm)
    h, bm, dk = take()
    ledger_set(root, dk, "%.3f" % (oracle.sql(root, ("SELECT HTMJ FROM CBDKXX WHERE DKBM = ?", (dk,)))[0][0] + 0.005))
    P["_small_ledger"] = ("area.ledger_dbmj", dk)
    issues = oracle.run(root)
    return issues, P, allowed | set(lz), root


@pytest.mark.parametrize("name", PLANTS)
def test_planted_area_defect_is_found_on_its_record(planted, name):
    issues, P, _allowed, _root = planted
    rule, key = P[name]
    assert oracle.has(issues, rule, key), (name, sorted(oracle.keys_of(issues, rule)))


def test_covers_its_rules(planted):
    assert RULES <= {i.rule for i in planted[0]}


def test_no_error_beyond_the_planted_records(planted):
    issues, _P, allowed, _root = planted
    assert oracle.unexpected_errors(issues, allowed) == []


def test_a_difference_within_the_default_tolerance_is_not_reported(planted):
    issues, P, _allowed, _root = planted
    assert not oracle.has(issues, *P["_small_htzmj"]) and not oracle.has(issues, *P["_small_ledger"])


def test_tolerance_zero_makes_a_0005_difference_count(planted):
    _issues, P, _allowed, root = planted
    strict = oracle.run(root, area_tolerance=0)
    assert oracle.has(strict, *P["_small_htzmj"]) and oracle.has(strict, *P["_small_ledger"])


def test_a_large_tolerance_removes_the_tolerance_driven_area_issues(planted):
    _issues, P, _allowed, root = planted
    loose = oracle.run(root, params={"AREA_TOLERANCE": 1000.0, "SCMJ_TOLERANCE": 1000.0})
    for name in ("htzmj_sum", "yhtzmj_sum", "lzmj_sum", "ledger_dbmj", "scmj_geometry"):
        assert not oracle.has(loose, *P[name]), name
    for name in ("cbdkzs", "lzdks", "mu_twin_cbdkxx", "htmj_zero"):  # counts, twins and signs do not depend on it
        assert oracle.has(loose, *P[name]), name


def test_the_sample_with_a_large_tolerance(demo):
    from land_contract_bridge.core import params, validate
    default, _ = validate.validate(demo)
    loose, _ = validate.validate(demo, params=params.Params(area_tolerance=1000.0))
    tolerance_rules = {"area.htzmj_sum", "area.ledger_dbmj"}
    assert tolerance_rules <= {i.rule for i in default}
    assert not tolerance_rules & {i.rule for i in loose}
    assert {(i.rule, i.key) for i in default if i.rule not in tolerance_rules} == {(i.rule, i.key) for i in loose}
