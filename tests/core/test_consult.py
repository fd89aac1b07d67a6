"""Consultation list and records."""
import re

import pytest

from land_contract_bridge.core import consult, merge
from land_contract_bridge.core.errors import LcbError


@pytest.fixture
def target(demo, tmp_path):
    t = tmp_path / "reg.gpkg"
    merge.merge(demo, t)
    return t


def test_report_numbers_equal_the_geopackage(target, truth):
    rep = consult.build(target)
    by = truth["counts"]["by_class"]
    assert len(rep["rows"]) == by["contract_register_mismatch"] + by["measured_differs"]
    assert {c: t["n"] for c, t in rep["totals"].items()} == by
    import sqlite3
    c = sqlite3.connect(target)
    s = c.execute("SELECT SUM(HTMJ), SUM(SCMJ) FROM cbdk WHERE CYLX = 'measured_differs'").fetchone()
    got = sum(v["totals"].get("measured_differs", {}).get("htmj", 0) for t in rep["groups"] for v in t["villages"])
    assert abs(got - s[0]) < 1e-6 and abs(rep["totals"]["measured_differs"]["scmj"] - s[1]) < 1e-6
    first = rep["groups"][0]["villages"][0]["rows"][0]
    assert first["CYLX"] == "contract_register_mismatch"  # consultation cases first in each village


def test_names_masked_by_default(target, tmp_path):
    rep = consult.build(target)
    html = consult.to_html(rep)
    assert "韩东" not in html and "韩*" in html
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", html)
    assert "移交单位：农业农村部门" in html
    assert "韩东" in consult.to_html(consult.build(target, mask=False))
    consult.to_xlsx(rep, tmp_path / "r.xlsx")
    assert (tmp_path / "r.xlsx").stat().st_size > 1000


def test_status_persists_with_audit(target):
    assert consult.set_status(target, ["3715260010010400065", "3715260010010400131"], "以登簿面积为准", "两局会商 2026-11-29", user="tester") == 2
    rep = consult.build(target, classes=["contract_register_mismatch"])
    got = {r["DKBM"]: (r["XSZT"], r["XSBZ"], r["XSR"]) for r in rep["rows"]}
    assert got["3715260010010400065"] == ("以登簿面积为准", "两局会商 2026-11-29", "tester")
    import sqlite3
    assert sqlite3.connect(target).execute("SELECT COUNT(*) FROM audit WHERE action = 'consult'").fetchone()[0] == 2
    with pytest.raises(LcbError):
        consult.set_status(target, ["3715260010010400065"], "随便")


def test_remerge_keeps_consultation_records(demo, target):
    consult.set_status(target, ["3715260010010400065"], "重新测量", "待复测")
    merge.merge(demo, target)
    rep = consult.build(target, classes=["contract_register_mismatch"])
    assert {r["DKBM"]: r["XSZT"] for r in rep["rows"]}["3715260010010400065"] == "重新测量"


def test_building_the_list_moves_the_progress_bar(target):
    """The list's rows are read and prepared before any file is written: the bar moves meanwhile (from 1 %, in order,
    below the 5 % the algorithm sets once they are ready), and a cancel is honoured."""
    from land_contract_bridge.core.errors import Cancelled, Progress
    seen = []
    rep = consult.build(target, progress=Progress(seen.append))
    assert rep["rows"] and seen and seen[0] == 1 and seen == sorted(seen) and max(seen) < 5
    with pytest.raises(Cancelled):
        consult.build(target, progress=Progress(cancelled=lambda: True))
