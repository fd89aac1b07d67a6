"""Nothing private is tracked: scripts/check-private (run by scripts/test, so by CI) fails on a QGIS profile or an
authentication database in git. (Where pytest-qgis's profile goes is checked in tests/qgis/test_plugin.py.)"""
import os
import subprocess

from conftest import ROOT

CHECK = ROOT / "scripts" / "check-private"


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid")
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_this_checkout_tracks_no_profile():
    p = subprocess.run([str(CHECK)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout


def test_a_tracked_profile_or_auth_database_fails_the_check(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "README.md").write_text("x")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "profiles.md").write_text("about QGIS profiles")  # a name that merely mentions profiles
    git(tmp_path, "add", ".")
    assert subprocess.run([str(CHECK), str(tmp_path)], capture_output=True).returncode == 0
    for path in (".qgis-settings/profiles/default/qgis-auth.db", ".lcb/venv.stamp", "tests/profiles/default/QGIS/QGIS3.ini", "some/qgis.db"):
        f = tmp_path / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"SQLite format 3\0")
        git(tmp_path, "add", "-f", path)
        p = subprocess.run([str(CHECK), str(tmp_path)], capture_output=True, text=True)
        assert p.returncode == 1 and path in p.stdout, (path, p.stdout)
        git(tmp_path, "rm", "-q", "--cached", path)
