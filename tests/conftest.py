"""Shared fixtures. The plugin is imported as `land_contract_bridge` from the scratch plugin folder that
scripts/setup links to this checkout; nothing here imports qgis (the core tier must run without it)."""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / ".lcb" / "plugins"
if not (PLUGINS / "land_contract_bridge").exists():
    PLUGINS.mkdir(parents=True, exist_ok=True)
    (PLUGINS / "land_contract_bridge").symlink_to(ROOT)
# `python -m pytest` puts the checkout itself on sys.path; its processing/ package would then shadow QGIS's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
sys.path.insert(0, str(PLUGINS))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SAMPLE = ROOT / "sample" / "demo"
TRUTH = json.loads((SAMPLE / "truth.json").read_text("utf-8"))
DEMO = SAMPLE / TRUTH["package_root"]


def tree_hash(root):
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def copy_package(dst_parent, src=DEMO):
    dst = Path(dst_parent) / src.name
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return dst


@pytest.fixture(scope="session")
def truth():
    return TRUTH


@pytest.fixture(scope="session")
def demo():
    """The bundled sample delivery (read-only use)."""
    return DEMO


@pytest.fixture
def demo_copy(tmp_path):
    """A private writable copy of the sample delivery."""
    return copy_package(tmp_path)


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """A second township of the same county, generated, with its tables in .sqlite and planted defects."""
    out = tmp_path_factory.mktemp("gen")
    gen = ROOT / "benchmarks" / "make_delivery.py"
    subprocess.run([sys.executable, str(gen), "--out", str(out), "--parcels", "1500", "--township", "002",
                    "--defects", "0.05", "--seed", "7"], check=True, capture_output=True)
    truth = json.loads((out / "truth.json").read_text("utf-8"))
    return out / truth["package_root"], truth


def run_generator(out, *args):
    gen = ROOT / "benchmarks" / "make_delivery.py"
    subprocess.run([sys.executable, str(gen), "--out", str(out), *map(str, args)], check=True, capture_output=True)
    truth = json.loads((Path(out) / "truth.json").read_text("utf-8"))
    return Path(out) / truth["package_root"], truth


os.environ.setdefault("PROJ_DATA", "/usr/share/proj")


# A throw-away PostgreSQL 15 + PostGIS 3 cluster for the tests of the shared registration database (tests/pgcluster.py).
from pgcluster import pg_cluster, pg_db  # noqa: E402,F401
