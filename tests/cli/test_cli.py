"""Real qgis_process runs through scripts/lcb-process: listing, --json results, exit codes, clean errors."""
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LCBP = str(ROOT / "scripts" / "lcb-process")


def lcbp(*args, env=None):
    return subprocess.run([LCBP, *map(str, args)], capture_output=True, text=True, timeout=600, env=env)


def run_json(alg, **params):
    p = lcbp("--json", "run", alg, "--", *[f"{k}={v}" for k, v in params.items()])
    try:
        res = json.loads(p.stdout)["results"]
    except (ValueError, KeyError):
        res = {}
    return p, res


def test_list_shows_the_provider():
    p = lcbp("list")
    assert p.returncode == 0
    for alg in ("lcb:inventory", "lcb:validate", "lcb:merge", "lcb:discrepancy_report"):
        assert alg in p.stdout


def test_help_describes_parameters():
    p = lcbp("help", "lcb:merge")
    assert p.returncode == 0 and "AREA_TOLERANCE" in p.stdout and "ON_CONFLICT" in p.stdout


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


def test_main_job_end_to_end(demo, outputs, truth):
    p, inv = run_json("lcb:inventory", INPUT=demo, OUTPUT_HTML=outputs / "inv.html", OUTPUT_XLSX=outputs / "inv.xlsx", OUTPUT_PDF=outputs / "inv.pdf")
    assert p.returncode == 0, p.stderr[-2000:]
    assert inv["FILE_COUNT"] == 191 and inv["COMPLETE"] is True and inv["MISSING_REQUIRED"] == 0
    assert (outputs / "inv.pdf").read_bytes()[:5] == b"%PDF-"
    p, val = run_json("lcb:validate", INPUT=demo, OUTPUT=outputs / "issues.gpkg", OUTPUT_HTML=outputs / "v.html")
    assert p.returncode == 0 and val["ERROR_COUNT"] == 48  # the errors of tests/core/test_validate.py::test_counts_per_category
    p, m = run_json("lcb:merge", INPUT=demo, TARGET=outputs / "reg.gpkg")
    assert p.returncode == 0 and m["INSERTED"] == 299
    assert {k.lower(): m[k] for k in ("CONSISTENT", "MEASURED_DIFFERS", "CONTRACT_REGISTER_MISMATCH", "SHARE_ONLY", "UNMATCHED")} == truth["counts"]["by_class"]
    p, again = run_json("lcb:merge", INPUT=demo, TARGET=outputs / "reg.gpkg")
    assert (again["INSERTED"], again["UPDATED"], again["UNCHANGED"]) == (0, 0, 299)
    p, rep = run_json("lcb:discrepancy_report", INPUT=outputs / "reg.gpkg", OUTPUT_HTML=outputs / "r.html", OUTPUT_XLSX=outputs / "r.xlsx")
    assert p.returncode == 0 and rep["ROWS"] == 124


def test_previous_inventory_through_the_cli(demo_copy, outputs):
    p, first = run_json("lcb:inventory", INPUT=demo_copy, OUTPUT_XLSX=outputs / "first.xlsx")
    victim = demo_copy / "文字报告" / "371526高唐县确权登记工作报告.txt"
    victim.write_bytes(victim.read_bytes() + b" ")
    p, res = run_json("lcb:inventory", INPUT=demo_copy, PREVIOUS=outputs / "first.xlsx", OUTPUT_HTML=outputs / "again.html")
    assert p.returncode == 0 and res["CHANGED_FILES"] == 1


def test_bad_input_fails_cleanly(tmp_path):
    p, _ = run_json("lcb:validate", INPUT=tmp_path, OUTPUT=tmp_path / "x.gpkg")
    assert p.returncode != 0
    text = p.stdout + p.stderr
    assert "county code" in text and "6位" in text
    assert "Traceback" not in text


def test_bad_target_fails_without_damage(demo, tmp_path):
    bad = tmp_path / "reg.gpkg"
    bad.write_bytes(b"junk")
    p, _ = run_json("lcb:merge", INPUT=demo, TARGET=bad)
    assert p.returncode != 0 and "Traceback" not in p.stdout + p.stderr
    assert bad.read_bytes() == b"junk"


# Loaded by qgis_process's embedded Python through PYTHONPATH: an audit hook logs every module imported from then on
# whose name starts with one of LCB_IMPORT_PREFIXES; Debian's own sitecustomize still runs after it.
IMPORT_LOGGER = """
import os, sys, sysconfig
from pathlib import Path
_log = os.environ["LCB_IMPORT_LOG"]
_prefixes = tuple(os.environ["LCB_IMPORT_PREFIXES"].split(","))
def _hook(event, args):
    if event == "import" and str(args[0]).startswith(_prefixes):
        with open(_log, "a", encoding="utf-8") as f:
            f.write(str(args[0]) + "\\n")
sys.addaudithook(_hook)
_orig = Path(sysconfig.get_paths()["stdlib"]) / "sitecustomize.py"
if _orig.exists():
    exec(compile(_orig.read_text("utf-8"), str(_orig), "exec"))
"""


def import_logging(tmp_path, prefixes):
    """(env, log): qgis_process run with this env appends to `log` the name of every module it imports whose name
    starts with one of `prefixes`."""
    import os
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(IMPORT_LOGGER, "utf-8")
    log = tmp_path / "imports.log"
    log.unlink(missing_ok=True)
    return dict(os.environ, LCB_IMPORT_LOG=str(log), LCB_IMPORT_PREFIXES=",".join(prefixes),
                PYTHONPATH=f"{site}:{os.environ.get('PYTHONPATH', '')}"), log


def test_nothing_gui_related_happens_in_qgis_process(demo, tmp_path):
    """validate and merge announce their results; in qgis_process nobody listens, and none of ui/ is ever imported."""
    env, log = import_logging(tmp_path, ("land_contract_bridge", "PyQt5.QtWidgets", "PyQt6.QtWidgets"))
    for alg, params in (("lcb:validate", {"INPUT": demo, "OUTPUT": tmp_path / "issues.gpkg"}),
                        ("lcb:merge", {"INPUT": demo, "TARGET": tmp_path / "reg.gpkg"})):
        p = lcbp("--json", "run", alg, "--", *[f"{k}={v}" for k, v in params.items()], env=env)
        assert p.returncode == 0, p.stderr[-2000:]
    imported = set(log.read_text("utf-8").split())
    # the logger saw the run (positive control) ...
    assert {"land_contract_bridge.processing.alg_validate", "land_contract_bridge.processing.hooks"} <= imported
    # ... and the plugin's GUI never came in: no ui/ module, so no dock, menu or widget of ours
    assert not {m for m in imported if m.startswith("land_contract_bridge.ui")}
