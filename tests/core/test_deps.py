"""The runtime dependency check shown when the plugin loads in the user's QGIS Python."""
import os
import subprocess

from land_contract_bridge.core import deps
from land_contract_bridge.core.deps import Dep


def test_current_environment_is_complete():
    assert deps.check() == []


def test_required_set_is_what_the_code_imports():
    """sqlite-utils is not required (README: the side tables must also live in PostGIS); xlsxwriter is."""
    names = {d.pip for d in deps.REQUIRED}
    assert names == {"shapely", "pyproj", "jinja2", "xlsxwriter"}


def test_missing_and_too_old_are_reported_with_an_exact_command():
    fake = [Dep("json", "jsonlib", (99, 0), "x"), Dep("no_such_module_lcb", "no-such", (1, 0), "y", cap="<2"),
            Dep("pytest", "pytest", (1, 0), "z", cap="<2")]  # pytest is newer than the cap: still fine at run time
    problems = deps.check(fake)
    assert [p[0].pip for p in problems] == ["jsonlib", "no-such"]
    msg = deps.message(problems)
    assert "jsonlib >= 99.0" in msg and "未安装 not installed" in msg
    cmd = deps.install_command(problems, python="/usr/bin/python3")
    assert cmd.startswith("/usr/bin/python3 -m pip install --user") and "'no-such>=1.0,<2'" in cmd and "'jsonlib>=99.0'" in cmd
    import numpy
    assert f"'numpy=={numpy.__version__}'" in cmd  # pip may not replace the numpy QGIS's GDAL was built against
    if deps.externally_managed():
        assert "--break-system-packages" in cmd


def test_debian_qgis_python_without_the_venv_gets_the_message():
    """The user's situation: Debian's own Python (shapely 1.8 or none) - the check names shapely and the command."""
    from conftest import PLUGINS
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import sys; sys.path.insert(0, %r); from land_contract_bridge.core import deps; p = deps.check(); "
            "print(deps.message(p) if p else 'OK')" % str(PLUGINS))
    out = subprocess.run(["/usr/bin/python3", "-s", "-c", code], capture_output=True, text=True, env=env)
    assert "shapely >= 2.0" in out.stdout
    assert "sqlite" not in out.stdout
    assert "/usr/bin/python3 -m pip install --user --break-system-packages 'shapely>=2.0,<2.1'" in out.stdout
    assert "'numpy==" in out.stdout


def test_the_command_names_the_python_qgis_runs_not_the_one_on_path(tmp_path):
    """qgis_process's embedded Python guesses sys.executable from PATH (here a pyenv shim once); the command must
    name the installation QGIS uses: /usr/bin/python3 on Debian, whatever python3 is first on PATH."""
    from conftest import PLUGINS
    shim = tmp_path / "python3"
    shim.write_text("#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n")
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{tmp_path}:{env['PATH']}"
    code = ("import sys; sys.executable = %r; sys.path.insert(0, %r); from land_contract_bridge.core import deps; "
            "print(deps.install_command([(deps.REQUIRED[0], None)]))" % (str(shim), str(PLUGINS)))
    out = subprocess.run(["/usr/bin/python3", "-s", "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.startswith("/usr/bin/python3 -m pip install --user"), out.stdout + out.stderr


def test_windows_and_macos_commands(tmp_path):
    """The command as the OSGeo4W Shell (cmd.exe) and macOS Terminal need it: double quotes on Windows (a path with
    spaces, the < > of the specifiers), no --break-system-packages there, the interpreter from QGIS's own prefix."""
    problems = [(deps.REQUIRED[0], None)]
    win = r"C:\Program Files\QGIS 3.22.16\apps\Python39\python.exe"
    cmd = deps.install_command(problems, python=win, platform="windows")
    import numpy
    assert cmd == f'"{win}" -m pip install --user "shapely>=2.0,<2.1" "numpy=={numpy.__version__}"'
    mac = "/Applications/QGIS-LTR.app/Contents/Frameworks/Python.framework/Versions/3.9/bin/python3"
    cmd = deps.install_command(problems, python=mac, platform="macos")
    assert cmd.startswith(f"{mac} -m pip install --user") and "'shapely>=2.0,<2.1'" in cmd
    spaced = "/Applications/QGIS 3.22.app/Contents/MacOS/bin/python3"
    assert deps.install_command(problems, python=spaced, platform="macos").startswith(f"'{spaced}' -m pip")
    assert "OSGeo4W Shell" in deps.message(problems, platform="windows")
    assert "Terminal" in deps.message(problems, platform="macos")
    assert "not with sudo" in deps.message(problems, platform="linux")


def test_the_interpreter_is_found_in_the_prefix_of_each_layout(tmp_path, monkeypatch):
    """Debian: <prefix>/bin/python3; OSGeo4W: <prefix>/python.exe; macOS framework: <prefix>/bin/python3 — never the
    python3 first on PATH (sys.executable inside QGIS)."""
    import sys
    monkeypatch.setattr(sys, "executable", "/root/.pyenv/shims/python3")
    for name, rel, windows in (("debian", "bin/python3", False), ("osgeo4w", "python.exe", True), ("macos", "bin/python3", False)):
        base = tmp_path / name
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text("")
        assert deps.interpreter(str(base), windows=windows) == str(base / rel), name
        monkeypatch.setattr(sys, "base_prefix", str(base))
        assert deps.interpreter(windows=windows) == str(base / rel), name


def _package(site, module, version=None, metadata="dist-info", body="raise ImportError('built for another numpy')"):
    """A package in `site` whose import fails (unless `body` says otherwise), with pip's or Debian's metadata."""
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(body + "\n")
    if version is None:
        return
    if metadata == "dist-info":  # pip: <name>-<version>.dist-info/METADATA
        meta = site / f"{module}-{version}.dist-info" / "METADATA"
    else:  # Debian: <Name>-<version>.egg-info/PKG-INFO, the name as the project spells it
        meta = site / f"{module.title()}-{version}.egg-info" / "PKG-INFO"
    meta.parent.mkdir()
    meta.write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n\nLong description.\nVersion: 0.0\n")


def test_the_check_reads_installed_versions_without_importing(tmp_path, monkeypatch):
    """qgis_process loads the plugin for every run: the check reads versions from the metadata beside each module
    (pip's .dist-info, Debian's .egg-info) and imports nothing; a module without metadata is imported and asked."""
    import importlib
    import sys
    _package(tmp_path, "lcbdep_old", "1.8.5")
    _package(tmp_path, "lcbdep_deb", "3.1.2", metadata="egg-info")
    _package(tmp_path, "lcbdep_bare", body="__version__ = '0.9'")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    old, deb, bare = (Dep(m, m.replace("_", "-"), (2, 0), "x") for m in ("lcbdep_old", "lcbdep_deb", "lcbdep_bare"))
    gone = Dep("lcbdep_gone", "lcbdep-gone", (1, 0), "y")
    assert deps.check([old, deb, bare, gone]) == [(old, "1.8.5"), (bare, "0.9"), (gone, None)]
    assert "lcbdep_old" not in sys.modules and "lcbdep_deb" not in sys.modules  # read, not imported (their import fails)
    msg = deps.message([(old, "1.8.5")])
    assert f"已安装 installed 1.8.5（{tmp_path / 'lcbdep_old'}）" in msg and "lcbdep-old>=2.0" in msg


def test_a_package_that_does_not_import_is_found_when_imports_are_asked_for(tmp_path, monkeypatch):
    """Its metadata says 2.1 but its import fails (a broken install, a build for another numpy): the quick check
    passes; imports=True (what a run that hit an ImportError asks, processing/base.py) reports it as unusable."""
    import importlib
    _package(tmp_path, "lcbdep_broken", "2.1")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    broken = Dep("lcbdep_broken", "lcbdep-broken", (2, 0), "z")
    assert deps.check([broken]) == []
    assert deps.check([broken], imports=True) == [(broken, None)]


def test_loading_the_check_imports_none_of_the_packages():
    """The plugin's own check in this environment: complete, and shapely, pyproj, jinja2 and xlsxwriter stay unimported."""
    import sys
    from conftest import PLUGINS
    code = ("import sys; sys.path.insert(0, %r); from land_contract_bridge.core import deps; p = deps.check(); "
            "print(p, sorted(m for m in ('shapely', 'pyproj', 'jinja2', 'xlsxwriter') if m in sys.modules))" % str(PLUGINS))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["[]", "[]"], out.stdout + out.stderr
