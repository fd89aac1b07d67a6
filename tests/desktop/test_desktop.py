"""Desktop smoke test: the packaged zip installed into a scratch profile of the real QGIS application under
Xvfb; QGIS starts, loads the plugin without a Python error, reloads it, and quits."""
import configparser
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def install_zip(profiles):
    out = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "package"), str(profiles / "lcb.zip")], check=True,
                         capture_output=True, text=True)
    assert "wrote" in out.stdout
    profile = profiles / "profiles" / "default"  # --profiles-path takes the folder that holds profiles/<name>
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(profiles / "lcb.zip") as z:
        names = z.namelist()
        assert all(n.startswith("land_contract_bridge/") for n in names)
        assert not any("/tests/" in n or "/sample/" in n or n.endswith(".pyc") for n in names)
        assert "land_contract_bridge/i18n/land_contract_bridge_zh_CN.qm" in names
        z.extractall(plugins)
    ini = profile / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    cfg = configparser.ConfigParser()
    cfg.optionxform = str
    cfg["PythonPlugins"] = {"land_contract_bridge": "true"}
    cfg["qgis"] = {"checkVersion": "false", "showTips": "false", "allowVersionCheck": "false"}
    with open(ini, "w") as f:
        cfg.write(f, space_around_delimiters=False)


def run_qgis(tmp_path, **env_extra):
    if not shutil.which("xvfb-run") or not shutil.which("qgis"):
        pytest.fail("qgis and xvfb-run must be installed (scripts/setup does it)")
    profiles = tmp_path / "profiles"
    install_zip(profiles)
    result = tmp_path / "result.json"
    log = tmp_path / "messages.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS_", "QT_QPA", "PYQGIS_")) and k != "PYTHONPATH"}
    env.update(LCB_SMOKE_OUT=str(result), LCB_SMOKE_LOG=str(log), PYQGIS_STARTUP=str(ROOT / "tests" / "desktop" / "startup.py"),
               **{k: str(v) for k, v in env_extra.items()})
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")  # the runtime deps (shapely 2 …) as a user would have them
    p = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--profiles-path", str(profiles), "--nologo",
                        "--noversioncheck", "--code", str(ROOT / "tests" / "desktop" / "smoke.py")],
                       env=env, capture_output=True, text=True, timeout=180)
    messages = [json.loads(line) for line in log.read_text("utf-8").splitlines()] if log.exists() else []
    assert result.exists(), (messages, p.stdout[-3000:] + p.stderr[-3000:])
    return json.loads(result.read_text("utf-8")), p, messages


def test_qgis_starts_loads_the_packaged_plugin_and_quits(tmp_path, demo, truth):
    work = tmp_path / "work"
    work.mkdir()
    res, p, messages = run_qgis(tmp_path, LCB_SMOKE_DEMO=demo, LCB_SMOKE_TMP=work)
    assert res.get("ok"), res.get("error")
    assert res["loaded"] and res["actions"] >= 6
    assert res["algorithms"] == ["lcb:discrepancy_report", "lcb:farmland_notice", "lcb:inventory", "lcb:merge", "lcb:parcel_dossier", "lcb:validate"]
    assert res["unload"] and res["reload"] and res["provider_after_reload"]
    # the docks opened by themselves after the desktop runs, with the run's rows
    by = truth["counts"]["by_class"]
    assert res["issues_dock"] == [True, 54]  # the sample's 48 errors and 6 warnings (tests/core/test_validate.py)
    assert res["discrepancy_dock"] == [True, sum(by.values()) - by["consistent"]]
    assert res["project_saved"] and res["project_read"]
    # no Python error anywhere: not on stderr, not in QGIS's message log (a failed load or an exception in a slot
    # of the plugin goes only there), recorded from before the plugin loaded (tests/desktop/startup.py)
    assert "Traceback" not in p.stderr
    assert messages == []
