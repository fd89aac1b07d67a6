"""The transition-period tools through real qgis_process: notices, dossiers, the village atlas, clean errors."""
import re
import subprocess

import pytest

from cli.test_cli import lcbp, run_json


@pytest.fixture(scope="module")
def reg(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("transition")
    p, m = run_json("lcb:merge", INPUT=demo, TARGET=out / "reg.gpkg")
    assert p.returncode == 0 and m["INSERTED"] == 299
    return out / "reg.gpkg"


def pages(pdf):
    return int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))


def test_listed_with_their_parameters():
    p = lcbp("list")
    assert "lcb:farmland_notice" in p.stdout and "lcb:parcel_dossier" in p.stdout
    h = lcbp("help", "lcb:farmland_notice").stdout
    assert all(k in h for k in ("FARMLAND", "MIN_OVERLAP", "TEMPLATE", "OUTPUT_FOLDER", "NOTICES", "PARCELS"))
    h = lcbp("help", "lcb:discrepancy_report").stdout
    assert "OUTPUT_ATLAS" in h and "ATLAS_TEMPLATE" in h


def test_notices(reg, tmp_path):
    p, r = run_json("lcb:farmland_notice", INPUT=reg, OUTPUT=tmp_path / "overlap.gpkg", OUTPUT_FOLDER=tmp_path / "n")
    assert p.returncode == 0, p.stderr[-2000:]
    assert (r["NOTICES"], r["PARCELS"]) == (47, 163)
    assert len(list((tmp_path / "n").glob("告知书_*.pdf"))) == 47 and (tmp_path / "overlap.gpkg").exists()
    p, r = run_json("lcb:farmland_notice", INPUT=reg, MIN_OVERLAP=-5, OUTPUT_FOLDER=tmp_path / "bad")
    assert p.returncode != 0 and "Traceback" not in p.stdout + p.stderr


def test_dossiers(reg, tmp_path):
    p, r = run_json("lcb:parcel_dossier", INPUT=reg, DKBM="3715260010010400065,3715260010010200077", OUTPUT_FOLDER=tmp_path / "d")
    assert p.returncode == 0, p.stderr[-2000:]
    assert r["DOSSIERS"] == 2 and len(list((tmp_path / "d").glob("地块档案_*.pdf"))) == 2
    p, r = run_json("lcb:parcel_dossier", INPUT=reg, DKBM="3715269999999999999", OUTPUT_FOLDER=tmp_path / "none")
    text = p.stdout + p.stderr
    assert p.returncode != 0 and "3715269999999999999" in text and "Traceback" not in text
    assert not list((tmp_path / "none").glob("*.html")) if (tmp_path / "none").exists() else True


def test_atlas(reg, tmp_path):
    p, r = run_json("lcb:discrepancy_report", INPUT=reg, OUTPUT_ATLAS=tmp_path / "atlas.pdf")
    assert p.returncode == 0, p.stderr[-2000:]
    assert r["ROWS"] == 124 and pages(tmp_path / "atlas.pdf") == 1
    p, r = run_json("lcb:discrepancy_report", INPUT=reg, OUTPUT_ATLAS=tmp_path / "x.pdf", ATLAS_TEMPLATE=tmp_path / "missing.qpt")
    assert p.returncode != 0 and "Traceback" not in p.stdout + p.stderr and not (tmp_path / "x.pdf").exists()
