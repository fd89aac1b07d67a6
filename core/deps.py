"""Runtime dependency check. The plugin runs in the user's QGIS Python; we never install silently.

sqlite-utils is deliberately not a dependency: the side tables (batches, conflicts, audit, consultation) must also
live in PostgreSQL/PostGIS, and sqlite-utils speaks only SQLite, so it would double those code paths; the SQLite
side uses the standard library's sqlite3 (README, "Dependencies")."""
import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Dep:
    module: str  # import name
    pip: str  # distribution name on PyPI
    minimum: tuple
    why: str
    cap: str = ""  # an upper bound for the install command only: the version line the tests run with

    def need(self):
        return f"{self.pip} >= {'.'.join(map(str, self.minimum))}"

    def spec(self):
        return f"{self.pip}>={'.'.join(map(str, self.minimum))}" + (f",{self.cap}" if self.cap else "")


REQUIRED = [
    Dep("shapely", "shapely", (2, 0), "bulk geometry checks", cap="<2.1"),  # the tests run on 2.0.x (requirements-dev.txt)
    Dep("pyproj", "pyproj", (3, 0), "coordinate reference systems"),
    Dep("jinja2", "jinja2", (3, 0), "reports"),
    Dep("xlsxwriter", "xlsxwriter", (3, 0), "XLSX inventory, consultation list and issue export"),
]
OPTIONAL = [Dep("xlrd", "xlrd", (1, 2), "reading .xls unit-code and summary tables"),
            # Debian's QGIS brings python3-psycopg2; without it a PostgreSQL target says how to install it (core/pgconn.py).
            Dep("psycopg2", "psycopg2-binary", (2, 8), "a shared registration database in PostgreSQL/PostGIS")]


def _version_tuple(text):
    out = []
    for part in str(text).split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def _version(module, mod):
    ver = getattr(mod, "__version__", None)
    if ver is None:
        try:
            from importlib.metadata import version

            ver = version(module.pip)
        except Exception:  # noqa: BLE001
            ver = "0"
    return ver


def _spec(dep):
    """Where the import system finds dep's module, without importing it: its spec, None when absent, or False when it
    cannot tell (already imported without a spec, a broken parent package)."""
    try:
        return importlib.util.find_spec(dep.module)
    except (ImportError, ValueError):
        return False


def _folder(spec):
    """The module's own folder (a package's) or the folder holding it (a single-file module)."""
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return os.path.dirname(spec.origin) if spec.origin and os.path.isabs(spec.origin) else ""


def _norm(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata_version(dep, spec):
    """The version in the distribution metadata installed beside the module the import system finds (pip's
    <name>-<version>.dist-info/METADATA, Debian's <Name>-<version>.egg-info/PKG-INFO), named after the module or its
    PyPI name; None when there is no single such record (then the module is imported and asked)."""
    folder = _folder(spec)
    site = os.path.dirname(folder) if spec.submodule_search_locations else folder
    if not site:
        return None
    names = {_norm(dep.module), _norm(dep.pip)}
    try:
        found = [e for e in os.listdir(site) if e.endswith((".dist-info", ".egg-info")) and _norm(e.rsplit(".", 1)[0].split("-")[0]) in names]
    except OSError:
        return None
    if len(found) != 1:
        return None
    path = os.path.join(site, found[0])
    meta = os.path.join(path, "METADATA" if found[0].endswith(".dist-info") else "PKG-INFO") if os.path.isdir(path) else path
    try:
        with open(meta, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip() or None
                if not line.strip():  # the end of the headers
                    break
    except OSError:
        pass
    return None


def check(modules=REQUIRED, imports=False):
    """Return a list of (Dep, found version or None) for modules that are missing or too old.

    Nothing is imported where the installed distribution's metadata gives the version (qgis_process loads the plugin,
    and so runs this check, for every algorithm it runs; importing shapely, pyproj, jinja2 and xlsxwriter cost it 0.07 s).
    A module without such metadata is imported and asked its __version__. imports=True imports every module, what
    shows that a compiled one works: processing/base.py does that when a run fails on an ImportError."""
    problems = []
    for dep in modules:
        ver = None
        if not imports:
            spec = _spec(dep)
            if spec is None:
                problems.append((dep, None))
                continue
            ver = _metadata_version(dep, spec) if spec else None
        if ver is None:
            try:
                m = importlib.import_module(dep.module)
            except Exception:  # noqa: BLE001 - any import failure means unusable
                problems.append((dep, None))
                continue
            ver = _version(dep, m)
        if _version_tuple(ver) < dep.minimum:
            problems.append((dep, ver))
    return problems


def externally_managed():
    """True when the interpreter is a distribution's (PEP 668), as Debian 12's is."""
    import sysconfig
    from pathlib import Path
    return (Path(sysconfig.get_paths()["stdlib"]) / "EXTERNALLY-MANAGED").exists()


def numpy_pin():
    """'numpy==<the installed version>': named in the install command so that pip keeps the numpy QGIS and GDAL
    were built against (a newer one from PyPI breaks `from osgeo import gdal_array`) and fails rather than replace it."""
    try:
        import numpy
    except Exception:  # noqa: BLE001
        return None
    return f"numpy=={numpy.__version__}"


def system():
    """'windows', 'macos' or 'linux': which instructions the user gets."""
    if os.name == "nt":
        return "windows"
    return "macos" if sys.platform == "darwin" else "linux"


def interpreter(prefix=None, windows=None):
    """The Python QGIS runs. Inside QGIS (or qgis_process) sys.executable is not it: embedded Python guesses it
    from PATH (on Debian it may be a pyenv shim, on Windows it is qgis-bin.exe, on macOS the QGIS binary); the
    installation's own prefix is reliable: /usr/bin/python3 on Debian and Ubuntu,
    <QGIS>\\apps\\Python39\\python.exe in OSGeo4W and the standalone Windows installer,
    /Applications/QGIS….app/Contents/Frameworks/Python.framework/Versions/3.x/bin/python3 on macOS."""
    base = prefix or sys.base_prefix
    windows = os.name == "nt" if windows is None else windows
    names = ["python.exe", "python3.exe"] if windows else ["python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"]
    for cand in [os.path.join(base, n) for n in names] + [os.path.join(base, "bin", n) for n in names]:
        if os.path.isfile(cand):
            return cand
    return sys.executable if "python" in os.path.basename(sys.executable).lower() else ("python" if windows else "python3")


def _quote(text, windows):
    if windows:  # cmd.exe (the OSGeo4W Shell): double quotes protect spaces and the < > of version specifiers
        return f'"{text}"'
    return "'" + text.replace("'", "'\\''") + "'"  # POSIX shells: single quotes, always (the < > of specifiers)


def install_command(problems, python=None, platform=None):
    """The one command that installs what is missing into the Python QGIS runs, for the user's own account,
    without replacing QGIS's numpy (pinned to the installed version) and with shapely held to the tested line."""
    windows = (platform or system()) == "windows"
    specs = [dep.spec() for dep, _v in problems]
    pin = numpy_pin()
    if pin and not any(x.startswith("numpy") for x in specs):
        specs.append(pin)
    python = python or interpreter()
    exe = _quote(python, windows) if (windows or " " in python or "'" in python) else python
    flag = " --break-system-packages" if not windows and externally_managed() else ""
    return f"{exe} -m pip install --user{flag} {' '.join(_quote(x, windows) for x in specs)}"


def where_to_run(platform=None):
    """(zh, en): where the user types the command."""
    plat = platform or system()
    if plat == "windows":
        return ("在 OSGeo4W Shell 中运行（开始菜单 → QGIS → OSGeo4W Shell），然后重启 QGIS",
                "run it in the OSGeo4W Shell (Start menu → QGIS → OSGeo4W Shell), then restart QGIS")
    if plat == "macos":
        return ("在“终端”中运行，然后重启 QGIS", "run it in Terminal, then restart QGIS")
    return ("在终端中以运行 QGIS 的用户身份运行（不要用 sudo，不要在虚拟环境中），然后重启 QGIS",
            "run it in a terminal as the user who runs QGIS (not with sudo, not inside a venv), then restart QGIS")


def pip_missing():
    """True when the Python QGIS runs has no pip (Debian: the python3-pip package)."""
    import importlib.util
    try:
        return importlib.util.find_spec("pip") is None
    except (ImportError, ValueError):
        return True


def _location(dep):
    """The folder of the module found (a package's own folder), for the message about a version too old."""
    spec = _spec(dep)
    if spec:
        return _folder(spec)
    try:
        m = importlib.import_module(dep.module)
        return os.path.dirname(getattr(m, "__file__", "") or "")
    except Exception:  # noqa: BLE001
        return ""


def message(problems, platform=None, failure=None):
    """What is missing and the command that installs it; `failure`: the import error a run met (processing/base.py)."""
    lines = ["确权成果衔接插件缺少运行所需的 Python 包 / Land Contract Bridge is missing Python packages:"]
    for dep, ver in problems:
        where = _location(dep) if ver else ""
        have = f"已安装 installed {ver}" + (f"（{where}）" if where else "") if ver else "未安装 not installed"
        lines.append(f"  - {dep.need()} ({have}): {dep.why}")
    if failure:
        lines.append(f"  导入失败 import failed: {failure}")
    zh, en = where_to_run(platform)
    lines.append(f"请{zh} / Please {en}:")
    lines.append("  " + install_command(problems, platform=platform))
    if (platform or system()) == "linux" and pip_missing():
        lines.append("此 Python 还没有 pip，请先运行 / this Python has no pip yet, first run:  sudo apt install python3-pip")
    return "\n".join(lines)
