"""Issue 10 through real qgis_process (scripts/lcb-process): a broken delivery is refused with a non-zero exit and
one bilingual line naming the file, printed once; an output that cannot be written is one clear line for every
algorithm. No Python traceback in any of it."""
import hashlib
import sqlite3
import subprocess
from pathlib import Path

import pytest

import broken
from conftest import copy_package

ROOT = Path(__file__).resolve().parents[2]
LCBP = str(ROOT / "scripts" / "lcb-process")


def run(alg, json=True, **params):
    args = [LCBP] + (["--json"] if json else []) + ["run", alg, "--", *[f"{k}={v}" for k, v in params.items()]]
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    return p, p.stdout + p.stderr


def once(text, needle):
    """The message is printed exactly once (qgis_process used to print every error two or three times)."""
    return text.count(needle) == 1


def dump(target):
    c = sqlite3.connect(target)
    try:
        return "\n".join(c.iterdump())
    finally:
        c.close()


@pytest.fixture(scope="module")
def good_target(demo, tmp_path_factory):
    target = tmp_path_factory.mktemp("good") / "reg.gpkg"
    p, _ = run("lcb:merge", INPUT=demo, TARGET=target)
    assert p.returncode == 0
    return target


@pytest.mark.parametrize("case", ["truncated_shp", "missing_shx", "wgs84_prj", "point_layer", "empty_mdb", "template_mdb"])
def test_merge_refuses_a_broken_delivery(case, tmp_path):
    root = copy_package(tmp_path / "pkg")
    rel = broken.make(case, root)
    target = tmp_path / "out" / "reg.gpkg"
    p, text = run("lcb:merge", INPUT=root, TARGET=target)
    assert p.returncode != 0
    assert "Traceback" not in text
    assert once(text, "成果包未入库") and once(text, "was not merged"), text
    assert Path(rel).name in text
    assert not target.exists() and not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_plain_output_prints_the_message_once_too(tmp_path):
    root = copy_package(tmp_path / "pkg")
    broken.text_mdb(root)
    p, text = run("lcb:merge", json=False, INPUT=root, TARGET=tmp_path / "reg.gpkg")
    assert p.returncode != 0 and "Traceback" not in text
    assert once(text, "成果包未入库"), text
    assert "ERROR:\t成果包未入库" in p.stderr and "3715262018.mdb" in p.stderr


@pytest.mark.parametrize("case", ["truncated_dbf", "template_sqlite"])
def test_an_existing_target_stays_identical(case, good_target, tmp_path):
    root = copy_package(tmp_path / "pkg")
    broken.make(case, root)
    target = tmp_path / "reg.gpkg"
    target.write_bytes(good_target.read_bytes())
    before, h = dump(target), hashlib.sha256(target.read_bytes()).hexdigest()
    p, text = run("lcb:merge", INPUT=root, TARGET=target, ON_CONFLICT=1)
    assert p.returncode != 0 and "Traceback" not in text and once(text, "成果包未入库")
    assert dump(target) == before and hashlib.sha256(target.read_bytes()).hexdigest() == h


def test_source_crs_lets_a_delivery_with_a_wrong_prj_in_and_says_so(tmp_path, truth):
    root = copy_package(tmp_path / "pkg")
    broken.wgs84_prj(root)
    p, text = run("lcb:merge", json=False, INPUT=root, TARGET=tmp_path / "reg.gpkg", SOURCE_CRS="EPSG:4527")
    assert p.returncode == 0, text
    assert "SOURCE_CRS" in p.stdout and "EPSG:4527" in p.stdout  # announced, never silent
    assert "INSERTED:\t299" in p.stdout


def test_validate_and_inventory_name_the_empty_template(tmp_path):
    root = copy_package(tmp_path / "pkg")
    broken.template_mdb(root)
    p, text = run("lcb:validate", INPUT=root, OUTPUT=tmp_path / "issues.gpkg")
    assert p.returncode == 0
    c = sqlite3.connect(tmp_path / "issues.gpkg")
    rows = c.execute("SELECT rule, key FROM issues WHERE category = 'package' AND severity = 'error'").fetchall()
    refs = c.execute("SELECT COUNT(*) FROM issues WHERE category = 'reference'").fetchone()[0]
    c.close()
    assert rows == [("package.attr_db_empty", broken.MDB)] and refs == 0
    p, text = run("lcb:inventory", INPUT=root, OUTPUT_HTML=tmp_path / "inv.html")
    import json
    res = json.loads(p.stdout)["results"]
    assert res["COMPLETE"] is False and res["MISSING_REQUIRED"] == 1


# ------------------------------------------------------------------ outputs that cannot be written, every algorithm
def _algorithms(demo, reg, where):
    return {
        "lcb:inventory": dict(INPUT=demo, OUTPUT_HTML=where / "inv.html", OUTPUT_XLSX=where / "inv.xlsx"),
        "lcb:validate": dict(INPUT=demo, OUTPUT=where / "issues.gpkg"),
        "lcb:merge": dict(INPUT=demo, TARGET=where / "reg.gpkg"),
        "lcb:discrepancy_report": dict(INPUT=reg, OUTPUT_HTML=where / "r.html", OUTPUT_XLSX=where / "r.xlsx"),
        # the same generic check covers the later algorithms' output folders
        "lcb:parcel_dossier": dict(INPUT=reg, DKBM="3715260010010100001", MAP="false", OUTPUT_FOLDER=where / "dossiers"),
        "lcb:farmland_notice": dict(INPUT=reg, OUTPUT_FOLDER=where / "notices"),
    }


ALL = ["lcb:inventory", "lcb:validate", "lcb:merge", "lcb:discrepancy_report", "lcb:parcel_dossier", "lcb:farmland_notice"]


def _check_clean_failure(p, text, where, words):
    assert p.returncode != 0, text
    assert "Traceback" not in text
    assert once(text, "无法写入") and once(text, "cannot write"), text
    assert any(w in text for w in words), text
    assert str(where) in text  # the path is named


@pytest.mark.parametrize("alg", ALL)
def test_folder_not_writable(alg, demo, good_target, tmp_path):
    with broken.unwritable_dir(tmp_path / "ro") as ro:
        p, text = run(alg, **_algorithms(demo, good_target, ro)[alg])
        _check_clean_failure(p, text, ro, ("不可写", "只读"))


@pytest.mark.parametrize("alg", ALL)
def test_path_through_a_file(alg, demo, good_target, tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    p, text = run(alg, **_algorithms(demo, good_target, tmp_path / "file.txt")[alg])
    _check_clean_failure(p, text, tmp_path / "file.txt", ("是文件而不是文件夹",))


@pytest.mark.parametrize("alg", ["lcb:inventory", "lcb:validate", "lcb:merge", "lcb:discrepancy_report"])
def test_full_disk(alg, demo, good_target, tmp_path):
    with broken.full_disk(tmp_path / "full") as full:
        p, text = run(alg, **_algorithms(demo, good_target, full)[alg])
        _check_clean_failure(p, text, full, ("磁盘空间不足",))
        left = list(full.iterdir())
        assert not [f for f in left if f.name.startswith(".")]  # no temporary file left behind
        for f in left:  # an output written before the disk filled is whole (outputs are moved into place complete)
            assert f.suffix == ".html" and f.read_text("utf-8").rstrip().endswith("</html>"), f
