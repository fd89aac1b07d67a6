"""What loading the plugin costs qgis_process, which loads it for every run: the algorithms import their libraries
and the heavy parts of core/ when they run, and the dependency check reads installed versions instead of importing.
(The time itself is measured by benchmarks/startup, not here.)"""
import os

from cli.test_cli import import_logging, lcbp

LIBRARIES = ("shapely", "pyproj", "jinja2", "xlsxwriter", "xlrd", "cryptography")  # not psycopg2: QGIS's own Processing imports it
# what loading the plugin may import of core/: the parameter definitions' constants, nothing that reads data
LIGHT_CORE = {"land_contract_bridge.core", "land_contract_bridge.core.deps", "land_contract_bridge.core.paths", "land_contract_bridge.core.errors",
              "land_contract_bridge.core.output", "land_contract_bridge.core.params", "land_contract_bridge.core.classify",
              "land_contract_bridge.core.pgconn", "land_contract_bridge.core.changes"}


def logged_imports(tmp_path, *args):
    env, log = import_logging(tmp_path, ("land_contract_bridge",) + LIBRARIES)
    p = lcbp(*args, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    return p, set(log.read_text("utf-8").split()) if log.exists() else set()


def test_loading_the_plugin_imports_no_library_and_no_heavy_core_module(tmp_path):
    p, imported = logged_imports(tmp_path, "list")
    assert "lcb:validate" in p.stdout and "lcb:apply_changes" in p.stdout
    assert {"land_contract_bridge.plugin", "land_contract_bridge.processing.alg_merge"} <= imported  # the logger saw the load
    assert not {m for m in imported if m.split(".")[0] in LIBRARIES}
    assert {m for m in imported if m.startswith("land_contract_bridge.core")} <= LIGHT_CORE
    assert "land_contract_bridge.processing.pdf" not in imported


def test_help_still_lists_the_rule_catalogue(tmp_path):
    """lcb:validate's help reads the rule registry, which importing the rules fills: on demand, in a fresh process."""
    p, imported = logged_imports(tmp_path, "help", "lcb:validate")
    assert "geometry.self_intersection" in p.stdout and "package.missing_layer" in p.stdout
    assert "land_contract_bridge.core.rules" in imported


def fake_shapely(tmp_path, version, body):
    """A shapely package first on qgis_process's path, with pip's metadata for `version`."""
    site = tmp_path / "fake"
    (site / "shapely").mkdir(parents=True)
    (site / "shapely" / "__init__.py").write_text(body + "\n")
    (site / f"shapely-{version}.dist-info").mkdir()
    (site / f"shapely-{version}.dist-info" / "METADATA").write_text(f"Metadata-Version: 2.1\nName: shapely\nVersion: {version}\n")
    return dict(os.environ, PYTHONPATH=f"{site}:{os.environ.get('PYTHONPATH', '')}")


def test_too_old_a_shapely_still_keeps_the_provider_out_with_the_command(tmp_path):
    env = fake_shapely(tmp_path, "1.8.5", "raise SystemExit('the check must not import shapely')")
    p = lcbp("list", env=env)
    assert "lcb:validate" not in p.stdout
    text = p.stdout + p.stderr
    assert "shapely >= 2.0" in text and "installed 1.8.5" in text and "pip install --user" in text and "'shapely>=2.0,<2.1'" in text


def test_a_shapely_that_does_not_import_fails_the_run_with_the_command(tmp_path, demo):
    """Its metadata says 2.0.7, so the plugin loads; the run imports it, fails, and says what to install, once, no traceback."""
    env = fake_shapely(tmp_path, "2.0.7", "raise ImportError('numpy.core.multiarray failed to import')")
    assert "lcb:validate" in lcbp("list", env=env).stdout
    p = lcbp("--json", "run", "lcb:validate", "--", f"INPUT={demo}", f"OUTPUT={tmp_path / 'issues.gpkg'}", env=env)
    assert p.returncode != 0
    assert p.stderr.count("shapely >= 2.0 (未安装 not installed)") == 1 and "pip install --user" in p.stderr, p.stderr[-2000:]
    assert "导入失败 import failed: ImportError: numpy.core.multiarray failed to import" in p.stderr
    assert "Traceback" not in p.stdout + p.stderr and not (tmp_path / "issues.gpkg").exists()
