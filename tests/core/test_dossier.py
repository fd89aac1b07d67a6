"""Parcel dossiers: delivered versus current values for planted defects, archive status with SHA-256, history,
household masking, clean errors."""
import hashlib
import re
import shutil

import pytest

from land_contract_bridge.core import consult, dossier, merge
from land_contract_bridge.core.errors import LcbError

LEDGER_PAIR = "3715260010010400065"  # planted ledger_dbmj_mismatch: the ledger's DBMJ differs from CBDKXX.HTMJ
SCMJ_DEFECT = "3715260010010400018"  # planted scmj_geometry_mismatch
SKETCH_GONE = "3715260010010200077"  # its certificate's plot sketch DKSYT...020014J.pdf was removed (dksyt_file_missing)


def defect(truth, kind, **match):
    return next(d for d in truth["defects"] if d["kind"] == kind and all(d.get(k) == v for k, v in match.items()))


@pytest.fixture
def reg(demo, tmp_path):
    t = tmp_path / "reg.gpkg"
    merge.merge(demo, t)
    return t


def row(d, field):
    return next(r for r in d["compare"] if r["field"] == field)


def test_delivered_and_current_values_of_a_corrected_parcel(demo, reg, tmp_path, truth):
    """The ledger gave DBMJ ≠ HTMJ (planted); a corrected ledger is merged later with ON_CONFLICT=replace.
    The dossier shows the first delivery's value, the second's and the current one, and the conflict."""
    t = truth["parcels"][LEDGER_PAIR]
    defect(truth, "ledger_dbmj_mismatch", DKBM=LEDGER_PAIR)
    before = dossier.gather(reg, LEDGER_PAIR)
    assert before["current"]["CYLX"] == "contract_register_mismatch" == t["class"]
    assert row(before, "DBMJ")["delivered"] == [t["DBMJ"]] and row(before, "HTMJ")["delivered"] == [t["HTMJ"]]
    assert t["DBMJ"] != t["HTMJ"] and not row(before, "DBMJ")["changed"]
    ledger = demo / "其他资料" / "确权登记发证台账.csv"
    fixed = tmp_path / "台账_更正.csv"
    text = ledger.read_text("utf-8-sig")
    fixed.write_text(re.sub(rf"^({LEDGER_PAIR},[^,]*,[^,]*,)[0-9.]+$", rf"\g<1>{t['HTMJ']:.2f}", text, flags=re.M), "utf-8")
    assert fixed.read_text("utf-8") != text
    merge.merge(demo, reg, ledger=fixed, on_conflict="replace")
    after = dossier.gather(reg, LEDGER_PAIR)
    db = row(after, "DBMJ")
    assert db["delivered"] == [t["DBMJ"], t["HTMJ"]] and db["current"] == t["HTMJ"] and db["changed"]
    assert [d["PCID"] for d in after["delivered"]] == [1, 2]
    assert row(after, "HTMJ")["delivered"] == [t["HTMJ"], t["HTMJ"]]  # batch 2 copied no tables: its twin's rows
    assert after["delivered"][1]["cbdkxx"] == after["delivered"][0]["cbdkxx"]
    assert after["delivered"][0]["batch"]["fingerprint"] == after["delivered"][1]["batch"]["fingerprint"]  # same package...
    assert after["delivered"][0]["batch"]["params"] != after["delivered"][1]["batch"]["params"]  # ...another ledger
    events = [e["action"] for e in after["history"]]
    assert "成果冲突" in events and "以新成果替换" in events and events.count("整合入库") == 2
    html = dossier.render(after).replace("<wbr>", "")
    assert f"{t['DBMJ']:,.2f}" in html and "已变化" in html


def test_measured_area_against_the_polygon(reg, truth):
    d0 = defect(truth, "scmj_geometry_mismatch", DKBM=SCMJ_DEFECT)
    d = dossier.gather(reg, SCMJ_DEFECT)
    assert row(d, "SCMJ")["delivered"] == [d0["SCMJ"]] and d["current"]["SCMJ"] == d0["SCMJ"]
    assert d["geometry_area"] == pytest.approx(d0["geometry_area"], abs=0.01)
    assert d["delivered"][0]["dk"][0]["geometry_area"] == pytest.approx(d0["geometry_area"], abs=0.01)
    assert d["scmj_vs_geometry"] == pytest.approx(d0["SCMJ"] - d0["geometry_area"], abs=0.011)


def test_archive_status_and_sha256(demo, reg, truth):
    gone = defect(truth, "dksyt_file_missing")["key"]
    d = dossier.gather(reg, SKETCH_GONE)
    sk = [a for a in d["archive"] if a["field"] == "DKSYT"]
    assert [a["rel"] for a in sk] == [gone] and not sk[0]["present"] and sk[0]["sha256"] is None and "缺失" in sk[0]["status"]
    ok = dossier.gather(reg, LEDGER_PAIR)["archive"]
    assert ok and all(a["present"] for a in ok)
    for a in ok:
        assert a["sha256"] == hashlib.sha256((demo / a["rel"]).read_bytes()).hexdigest() and a["size"] == (demo / a["rel"]).stat().st_size
    att = defect(truth, "attachment_file_missing")["key"]
    d = dossier.gather(reg, "3715260010040100001")
    assert {a["rel"]: a["present"] for a in d["archive"] if a["field"] == "QSLYFJ"} == {att: False}


def test_archived_copies_are_verified(demo_copy, tmp_path):
    reg = tmp_path / "arch.gpkg"
    merge.merge(demo_copy, reg, copy_archive=True)
    shutil.rmtree(demo_copy)  # the delivery is gone: only the archived copies remain
    d = dossier.gather(reg, LEDGER_PAIR)
    assert all(a["present"] and a["ok"] and a["where"].startswith("存档") for a in d["archive"])
    assert not d["delivered"][0]["dk_readable"] and d["delivered"][0]["values"]["HTMJ"] is not None
    victim = tmp_path / next(a for a in d["archive"])["path"]
    victim.write_bytes(victim.read_bytes() + b"tampered")
    d = dossier.gather(reg, LEDGER_PAIR)
    bad = [a for a in d["archive"] if not a["ok"]]
    assert len(bad) == 1 and "不一致" in bad[0]["status"] and bad[0]["recorded"] != bad[0]["sha256"]


def test_household_masked_unless_asked(reg):
    d = dossier.gather(reg, LEDGER_PAIR)
    html = dossier.render(d)
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", html.replace("<wbr>", "").replace(d["current"]["CBFBM"], ""))
    plain = dossier.gather(reg, LEDGER_PAIR, mask=False)
    ids = [m["CYZJHM"] for m in plain["household"][0]["members"]]
    assert ids and all(i in dossier.render(plain) for i in ids) and not any(i in html for i in ids)


def test_consultation_record_is_shown(reg):
    consult.set_status(reg, [LEDGER_PAIR], "以登簿面积为准", "两局会商", user="tester")
    d = dossier.gather(reg, LEDGER_PAIR)
    assert (d["current"]["XSZT"], d["current"]["XSBZ"], d["current"]["XSR"]) == ("以登簿面积为准", "两局会商", "tester")
    assert any(e["action"] == "协商结果" and e["user"] == "tester" for e in d["history"])


def test_unknown_parcel_writes_nothing(reg, tmp_path):
    with pytest.raises(LcbError) as e:
        dossier.write(reg, [LEDGER_PAIR, "3715269999999999999"], tmp_path / "out")
    assert "3715269999999999999" in e.value.text() and "DKBM" in e.value.text()
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    files = dossier.write(reg, [LEDGER_PAIR, SKETCH_GONE], tmp_path / "out")
    assert sorted(p.name for p in files) == [f"地块档案_{SKETCH_GONE}.html", f"地块档案_{LEDGER_PAIR}.html"]
