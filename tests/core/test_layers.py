"""The layers hold: every module under core/ imports without qgis or Qt, and imports only point one way
(plugin.py → processing/ and ui/ → qtcommon.py → core/; processing/ never imports ui/, ui/ never imports plugin.py)."""
import ast
import json
import os
import pkgutil
import subprocess
import sys

from conftest import PLUGINS, ROOT

PKG = "land_contract_bridge"
QT_ROOTS = ("qgis", "PyQt5", "PyQt6", "PyQt4", "sip")

# Run in a fresh interpreter per module: qgis and Qt are made unimportable (a meta-path finder refuses them and
# records the attempt), then the module is imported and sys.modules inspected.
PROBE = """
import importlib, json, sys
ROOTS = %r
attempts = []
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ROOTS:
            attempts.append(name)
            raise ImportError(name + " refused: core/ must not import qgis or Qt")
        return None
sys.meta_path.insert(0, Refuse())
sys.path.insert(0, %r)
error = None
try:
    importlib.import_module(sys.argv[1])
except Exception as e:
    error = repr(e)
print(json.dumps({"error": error, "attempts": attempts, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ROOTS)}))
"""


def core_modules():
    names = [m.name for m in pkgutil.walk_packages([str(ROOT / "core")], prefix=f"{PKG}.core.")]
    return [f"{PKG}.core"] + names


def test_the_walk_finds_every_core_file():
    files = {p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
             for p in (ROOT / "core").rglob("*.py")}
    assert {m.removeprefix(f"{PKG}.") for m in core_modules()} == files
    assert len(files) > 30


def test_every_core_module_imports_without_qgis_or_qt():
    env = {k: v for k, v in os.environ.items() if not k.startswith("QGIS")}
    probe = PROBE % (QT_ROOTS, str(PLUGINS))
    procs = {}
    results = {}
    pending = core_modules()
    while pending or procs:  # two at a time: the machine has two cores
        while pending and len(procs) < 2:
            mod = pending.pop()
            procs[mod] = subprocess.Popen([sys.executable, "-c", probe, mod], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for mod, p in list(procs.items()):
            if p.poll() is not None:
                out, err = p.communicate()
                results[mod] = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err[-2000:]}
                del procs[mod]
    bad = {m: r for m, r in results.items() if r.get("error") or r.get("attempts") or r.get("loaded")}
    assert bad == {}
    assert len(results) == len(core_modules())


def imports_of(path):
    """Every module a file imports (module level and inside functions), as absolute names under the plugin."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [PKG, *rel.parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
        package = parts
    else:
        package = parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)  # `from . import hooks` imports a module too
            else:
                out.add(node.module)
    return out


def sources(folder):
    base = ROOT / folder
    return sorted(base.rglob("*.py")) if base.is_dir() else [base]


def offending(folder, forbidden):
    found = {}
    for path in sources(folder):
        hits = sorted(m for m in imports_of(path) if any(m == f or m.startswith(f + ".") for f in forbidden))
        if hits:
            found[path.relative_to(ROOT).as_posix()] = hits
    return found


def test_processing_never_imports_the_gui():
    assert offending("processing", [f"{PKG}.ui", f"{PKG}.plugin", "qgis.gui", "qgis.utils"]) == {}


def test_ui_imports_nothing_from_plugin_py():
    assert offending("ui", [f"{PKG}.plugin"]) == {}


def test_core_and_qtcommon_import_no_outer_layer():
    outer = [f"{PKG}.processing", f"{PKG}.ui", f"{PKG}.plugin", f"{PKG}.qtcommon"]
    assert offending("core", outer + ["qgis", "PyQt5", "PyQt6"]) == {}
    assert offending("qtcommon.py", outer) == {}


def test_the_import_scan_sees_imports():
    """The scan itself finds what is there (so an empty result above means something)."""
    assert f"{PKG}.processing.hooks" in imports_of(ROOT / "plugin.py")
    assert f"{PKG}.qtcommon" in imports_of(ROOT / "ui" / "menus.py")
    assert f"{PKG}.processing.hooks" in imports_of(ROOT / "processing" / "base.py")
