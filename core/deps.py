"""Runtime dependency check. The plugin runs in the user's QGIS Python; we never install silently.

sqlite-utils is deliberately not a dependency: the side tables (batches, conflicts, audit, consultation) must also
live in PostgreSQL/PostGIS, and sqlite-utils speaks only SQLite, so it would double those code paths; the SQLite
side uses the standard library's sqlite3 (README, "Dependencies")."""
import importlib
import os
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
OPTIONAL = [Dep("xlrd", "xlrd", (1, 2), "reading .xls unit-code and summary tables")]


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


def check(modules=REQUIRED):
    """Return a list of (Dep, found version or None) for modules that are missing or too old."""
    problems = []
    for dep in modules:
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


def interpreter():
    """The Python QGIS runs. Inside QGIS (or qgis_process) sys.executable is not reliable: embedded Python guesses
    it from PATH (e.g. a pyenv shim); the installation's own prefix is."""
    from pathlib import Path
    base = Path(sys.base_prefix)
    names = ["python.exe"] if os.name == "nt" else ["python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"]
    for cand in [base / n for n in names] + [base / "bin" / n for n in names]:
        if cand.is_file():
            return str(cand)
    return sys.executable if "python" in os.path.basename(sys.executable) else "python3"


def install_command(problems, python=None):
    specs = [f"'{dep.spec()}'" for dep, _v in problems]
    pin = numpy_pin()
    if pin:
        specs.append(f"'{pin}'")
    python = python or interpreter()
    flag = " --break-system-packages" if externally_managed() else ""
    return f"{python} -m pip install --user{flag} {' '.join(specs)}"


def message(problems):
    lines = ["确权成果衔接插件缺少运行所需的 Python 包 / Land Contract Bridge is missing Python packages:"]
    for dep, ver in problems:
        have = f"已安装 installed {ver}" if ver else "未安装 not installed"
        lines.append(f"  - {dep.need()} ({have}): {dep.why}")
    lines.append("请在 QGIS 所用的 Python 中运行 / Run this with the Python QGIS uses:")
    lines.append("  " + install_command(problems))
    return "\n".join(lines)
