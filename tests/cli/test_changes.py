"""Change packages through real qgis_process: export, apply, re-apply, signing, clean refusals."""
import shutil
import sqlite3

import pytest

import changes_helpers as helpers
from cli.test_cli import lcbp, run_json
from conftest import run_generator


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    w = tmp_path_factory.mktemp("cli_changes")
    d, _ = run_generator(w / "gen", "--parcels", "300", "--seed", "5", "--township", "002")
    p, r = run_json("lcb:merge", INPUT=d, TARGET=w / "A.gpkg")
    assert p.returncode == 0 and r["INSERTED"] == 300
    d2 = helpers.copy_delivery(d, w / "d2")
    ed = helpers.Delivery(d2)
    helpers.all_kinds(ed)
    ed.close()
    return dict(D=d, D2=d2, A=w / "A.gpkg")


def test_listed_with_their_parameters():
    out = lcbp("list").stdout
    assert "lcb:export_changes" in out and "lcb:apply_changes" in out
    h = lcbp("help", "lcb:export_changes").stdout
    assert all(k in h for k in ("BASE", "CURRENT", "OUTPUT", "SENDER", "RECEIVER", "SIGNING_KEY", "CHANGES", "TRANSFER"))
    h = lcbp("help", "lcb:apply_changes").stdout
    assert all(k in h for k in ("INPUT", "TARGET", "SENDER_KEY", "ON_DIVERGED", "CHANGES", "APPLIED", "CONFLICTS"))


def test_export_apply_and_apply_again(states, tmp_path):
    p, r = run_json("lcb:export_changes", BASE=states["A"], CURRENT=states["D2"], OUTPUT=tmp_path / "pkg", SENDER="农业农村局")
    assert p.returncode == 0, p.stderr[-2000:]
    assert (r["CHANGES"], r["FIRST_REGISTRATION"], r["HOUSEHOLD_CHANGE"]) == (33, 8, 2)
    target = tmp_path / "T.gpkg"
    shutil.copy(states["A"], target)
    p, r = run_json("lcb:apply_changes", INPUT=tmp_path / "pkg", TARGET=target)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (r["APPLIED"], r["CONFLICTS"], r["INSERTED"], r["CANCELLED"]) == (33, 0, 1, 1)
    p, r = run_json("lcb:apply_changes", INPUT=tmp_path / "pkg", TARGET=target)
    assert p.returncode == 0 and (r["APPLIED"], r["ALREADY"]) == (0, 33)
    assert sqlite3.connect(target).execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 2


def test_signed_package_and_clean_refusals(states, tmp_path):
    pytest.importorskip("cryptography")
    from land_contract_bridge.core.changes import package
    key, pub = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    package.generate_keypair(key, pub)
    p, r = run_json("lcb:export_changes", BASE=states["D"], CURRENT=states["D2"], OUTPUT=tmp_path / "pkg", SIGNING_KEY=key)
    assert p.returncode == 0 and (tmp_path / "pkg" / "manifest.sig").exists()
    target = tmp_path / "T.gpkg"
    shutil.copy(states["A"], target)
    before = target.read_bytes()
    data = bytearray((tmp_path / "pkg" / "changes.jsonl").read_bytes())
    data[100] ^= 1
    (tmp_path / "pkg" / "changes.jsonl").write_bytes(bytes(data))
    p, r = run_json("lcb:apply_changes", INPUT=tmp_path / "pkg", TARGET=target, SENDER_KEY=pub)
    text = p.stdout + p.stderr
    assert p.returncode != 0 and "changes.jsonl" in text and "Traceback" not in text and target.read_bytes() == before
    p, r = run_json("lcb:apply_changes", INPUT=tmp_path / "nowhere", TARGET=target)
    assert p.returncode != 0 and "Traceback" not in p.stdout + p.stderr
