"""The merge's parameters matter: AREA_TOLERANCE decides the area classes, shares follow the households' HTMJ."""

from land_contract_bridge.core import merge
from land_contract_bridge.core.params import Params
from oracle import db_rows as rows

LEDGER = "其他资料/确权登记发证台账.csv"


def classes(target):
    return dict(rows(target, "SELECT DKBM, CYLX FROM cbdk"))


def test_a_large_area_tolerance_makes_every_area_class_consistent(demo, truth, tmp_path):
    target = tmp_path / "reg.gpkg"
    res = merge.merge(demo, target, params=Params(area_tolerance=1e9))
    got = classes(target)
    for k, p in truth["parcels"].items():
        want = p["class"] if p["class"] in ("share_only", "unmatched") else "consistent"
        assert got[k] == want, k
    by = truth["counts"]["by_class"]
    assert res["classes"] == dict(share_only=by["share_only"], unmatched=by["unmatched"], contract_register_mismatch=0,
                                  measured_differs=0, consistent=len(truth["parcels"]) - by["share_only"] - by["unmatched"])
    # the same through the keyword
    assert merge.merge(demo, tmp_path / "kw.gpkg", area_tolerance=1e9)["classes"] == res["classes"]


def _shift_ledger(pkg, dkbm, delta):
    p = pkg / LEDGER
    lines = p.read_text("utf-8-sig").splitlines()
    out = []
    for line in lines:
        f = line.split(",")
        if f[0] == dkbm:
            f[3] = f"{float(f[3]) + delta:.3f}"
        out.append(",".join(f))
    p.write_text("\n".join(out) + "\n", "utf-8")


def test_a_zero_tolerance_makes_a_5_mm2_difference_count(demo, demo_copy, truth, tmp_path):
    # Household ...010004 holds two consistent one-row parcels under one contract; its certificate ledger now says
    # 0.005 m² more for one of them: within the default 0.01 m², beyond a tolerance of 0.
    household = "371526001001010004"
    mine = {k for k, p in truth["parcels"].items() if p.get("CBFBM") == household}
    assert mine == {"3715260010010100006", "3715260010010100034"} and all(truth["parcels"][k]["class"] == "consistent" for k in mine)
    _shift_ledger(demo_copy, "3715260010010100006", 0.005)

    merge.merge(demo_copy, tmp_path / "default.gpkg")
    assert classes(tmp_path / "default.gpkg") == {k: p["class"] for k, p in truth["parcels"].items()}

    merge.merge(demo, tmp_path / "zero-before.gpkg", params=Params(area_tolerance=0))
    merge.merge(demo_copy, tmp_path / "zero-after.gpkg", params=Params(area_tolerance=0))
    before, after = classes(tmp_path / "zero-before.gpkg"), classes(tmp_path / "zero-after.gpkg")
    assert {k for k in after if after[k] != before[k]} == mine
    assert {after[k] for k in mine} == {"contract_register_mismatch"}


def test_share_only_shares_follow_the_households_contract_areas(demo, truth, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    share = [k for k, p in truth["parcels"].items() if p["class"] == "share_only"]
    assert share
    unequal = False
    for k in share:
        shares = [float(b) for b, in rows(target, "SELECT q.QLBL FROM QLR q JOIN cbdk c ON c.BDCDYH = q.BDCDYH "
                                                  "WHERE c.DKBM = ? AND q.GYFS = '2' ORDER BY q.SXH", (k,))]
        htmj = [h for h, in rows(target, "SELECT HTMJ FROM qs_cbdkxx WHERE DKBM = ? ORDER BY fid", (k,))]  # the households, in order
        assert len(shares) == len(htmj) > 1
        total = sum(htmj)
        for i, (share_, h) in enumerate(zip(shares, htmj)):
            assert abs(share_ - h / total) < len(shares) * 1e-6, (k, i)  # 6 decimals; the last takes the remainder
        assert abs(sum(shares) - 1) < 1e-9
        unequal |= len(set(shares)) > 1
    assert unequal  # an equal split would not pass
