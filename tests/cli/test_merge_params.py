"""AREA_TOLERANCE reaches the classification through qgis_process (not only through the Python call)."""
import json
import subprocess
from pathlib import Path

LCBP = str(Path(__file__).resolve().parents[2] / "scripts" / "lcb-process")


def test_area_tolerance_parameter_changes_the_classes(demo, truth, tmp_path):
    by = truth["counts"]["by_class"]
    p = subprocess.run([LCBP, "--json", "run", "lcb:merge", "--", f"INPUT={demo}", f"TARGET={tmp_path / 'wide.gpkg'}",
                        "AREA_TOLERANCE=1000000000"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    m = json.loads(p.stdout)["results"]
    assert (m["CONTRACT_REGISTER_MISMATCH"], m["MEASURED_DIFFERS"]) == (0, 0)
    assert (m["SHARE_ONLY"], m["UNMATCHED"]) == (by["share_only"], by["unmatched"])
    assert m["CONSISTENT"] == sum(by.values()) - by["share_only"] - by["unmatched"]
