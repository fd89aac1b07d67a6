"""The runtime dependency check shown when the plugin loads in the user's QGIS Python."""

from land_contract_bridge.core import deps


def test_current_environment_is_complete():
    assert deps.check() == []


def test_missing_and_too_old_are_reported_with_an_exact_command(monkeypatch):
    fake = [("json", "jsonlib", (99, 0), "x"), ("no_such_module_lcb", "no-such", (1, 0), "y")]
    problems = deps.check(fake)
    assert [p[0] for p in problems] == ["jsonlib", "no-such"]
    msg = deps.message(problems)
    assert "jsonlib >= 99.0" in msg and "未安装 not installed" in msg
    cmd = deps.install_command(problems, python="/usr/bin/python3")
    assert cmd.startswith("/usr/bin/python3 -m pip install --user") and "'no-such>=1.0'" in cmd
    if deps.externally_managed():
        assert "--break-system-packages" in cmd


def test_debian_qgis_python_without_the_venv_gets_the_message():
    """The user's situation: Debian's own Python (shapely 1.8 or none) - the check names shapely and the command."""
    import os
    import subprocess

    from conftest import PLUGINS
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import sys; sys.path.insert(0, %r); from land_contract_bridge.core import deps; p = deps.check(); "
            "print(deps.message(p) if p else 'OK')" % str(PLUGINS))
    out = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, env=env)
    assert "shapely >= 2.0" in out.stdout
    assert "/usr/bin/python3 -m pip install --user --break-system-packages" in out.stdout
