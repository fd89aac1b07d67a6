"""Runtime dependency check. The plugin runs in the user's QGIS Python; we never install silently."""
import importlib
import os
import sys

# (import name, pip name, minimum version, why)
REQUIRED = [
    ("shapely", "shapely", (2, 0), "bulk geometry checks"),  # 2.0.x: see requirements-dev.txt
    ("pyproj", "pyproj", (3, 0), "coordinate reference systems"),
    ("jinja2", "jinja2", (3, 0), "reports"),
    ("sqlite_utils", "sqlite-utils", (3, 0), "registration database helpers"),
]
OPTIONAL = [("xlrd", "xlrd", (1, 2), "reading .xls unit-code and summary tables")]


def _version_tuple(text):
    out = []
    for part in str(text).split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def check(modules=REQUIRED):
    """Return a list of (pip name, found version or None, minimum) for missing/too-old modules."""
    problems = []
    for mod, pip_name, minimum, _why in modules:
        try:
            m = importlib.import_module(mod)
        except Exception:  # noqa: BLE001 - any import failure means unusable
            problems.append((pip_name, None, minimum))
            continue
        ver = getattr(m, "__version__", None)
        if ver is None and mod == "sqlite_utils":
            try:
                from importlib.metadata import version

                ver = version("sqlite-utils")
            except Exception:  # noqa: BLE001
                ver = "0"
        if _version_tuple(ver) < minimum:
            problems.append((pip_name, ver, minimum))
    return problems


def externally_managed():
    """True when the interpreter is a distribution's (PEP 668), as Debian 12's is."""
    import sysconfig
    from pathlib import Path
    return (Path(sysconfig.get_paths()["stdlib"]) / "EXTERNALLY-MANAGED").exists()


def install_command(problems, python=None):
    specs = " ".join(f"'{name}>={'.'.join(map(str, minimum))}'" for name, _v, minimum in problems)
    python = python or (sys.executable if "python" in os.path.basename(sys.executable) else "python3")
    flag = " --break-system-packages" if externally_managed() else ""
    return f"{python} -m pip install --user{flag} {specs}"


def message(problems):
    lines = ["确权成果衔接插件缺少运行所需的 Python 包 / Land Contract Bridge is missing Python packages:"]
    for name, ver, minimum in problems:
        need = ".".join(map(str, minimum))
        have = f"已安装 installed {ver}" if ver else "未安装 not installed"
        lines.append(f"  - {name} >= {need} ({have})")
    lines.append("请在 QGIS 所用的 Python 中运行 / Run this with the Python QGIS uses:")
    lines.append("  " + install_command(problems))
    return "\n".join(lines)
