"""Issue 10: a broken delivery never reaches the registration database. Each broken delivery is built from a copy
of the sample (tests/broken.py); merge refuses it before touching TARGET, validate and inventory report the same
condition once, and the staging database (names, ID numbers) never outlives a killed run."""
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import broken
from paused import kill, start_paused
from conftest import copy_package, tree_hash
from land_contract_bridge.core import attrdb, delivery, integrity, inventory, merge, validate, vector
from land_contract_bridge.core.errors import LcbError, Progress
from land_contract_bridge.core.output import atomic_path, check_writable, write_text
from land_contract_bridge.core.registration import records

# case -> (the validate rule that names the file, inventory COMPLETE afterwards)
EXPECT = {
    "truncated_shp": ("package.unreadable", False),
    "truncated_dbf": ("package.unreadable", False),
    "missing_shx": ("package.missing_companion", False),
    "wgs84_prj": ("package.crs_contradicts", True),  # nothing missing, the .prj is wrong: a warning in the inventory
    "missing_prj": ("package.missing_companion", False),
    "point_layer": ("package.dk_not_polygon", False),
    "empty_mdb": ("package.unreadable", False),
    "text_mdb": ("package.unreadable", False),
    "unrelated_mdb": ("package.not_attr_db", False),
    "unrelated_sqlite": ("package.not_attr_db", False),
    "template_mdb": ("package.attr_db_empty", False),
    "template_sqlite": ("package.attr_db_empty", False),
}
SAMPLE_ERRORS = 48  # validate's errors on the intact sample (tests/core/test_validate.py)


def dump(target):
    c = sqlite3.connect(target)
    try:
        return "\n".join(c.iterdump())
    finally:
        c.close()


def sha(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_target(demo, tmp_path_factory):
    target = tmp_path_factory.mktemp("good") / "reg.gpkg"
    merge.merge(demo, target)
    return target


@pytest.fixture(params=list(broken.CASES))
def broken_copy(request, tmp_path):
    root = copy_package(tmp_path / "pkg")
    rel = broken.make(request.param, root)
    return request.param, root, rel


def test_every_case_is_listed():
    assert set(EXPECT) == set(broken.CASES)


def test_the_empty_template_mdb_is_a_real_access_file_with_twelve_empty_tables(tmp_path):
    root = copy_package(tmp_path)
    broken.template_mdb(root)
    tables = subprocess.run(["mdb-tables", "-1", str(root / broken.MDB)], capture_output=True, text=True, check=True).stdout.split()
    assert sorted(tables) == sorted(broken.TABLES)
    for t in ("CBF", "CBDKXX", "CBF_JTCY"):
        csv = subprocess.run(["mdb-export", str(root / broken.MDB), t], capture_output=True, text=True, check=True).stdout
        assert csv.count("\n") == 1  # the header only
    broken.unrelated_mdb(root)
    assert subprocess.run(["mdb-tables", "-1", str(root / broken.MDB)], capture_output=True, text=True, check=True).stdout.split() == []


def test_merge_refuses_and_creates_no_new_target(broken_copy, tmp_path):
    case, root, rel = broken_copy
    out = tmp_path / "out"
    out.mkdir()
    before = tree_hash(root)
    with pytest.raises(LcbError) as e:
        merge.merge(root, out / "reg.gpkg")
    text = e.value.text()
    assert Path(rel).name in text, text  # names the file
    assert "成果包未入库，未新建登记库" in text and "not merged and no registration database was created" in text
    assert e.value.path and Path(e.value.path).name == Path(rel).name
    assert list(out.iterdir()) == []  # nothing written, not even a temporary file
    assert tree_hash(root) == before


def test_merge_refuses_and_leaves_an_existing_target_identical(broken_copy, good_target, tmp_path):
    case, root, rel = broken_copy
    target = tmp_path / "reg.gpkg"
    target.write_bytes(good_target.read_bytes())
    before, h = dump(target), sha(target)
    with pytest.raises(LcbError) as e:
        merge.merge(root, target, on_conflict="replace")  # replace: what wiped geometries before
    assert Path(rel).name in e.value.text() and "登记库没有任何改动" in e.value.text() and "was not changed" in e.value.text()
    assert dump(target) == before and sha(target) == h
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "reg.gpkg"]


def test_validate_reports_the_condition_once_without_a_flood(broken_copy):
    case, root, rel = broken_copy
    issues, _ = validate.validate(root)
    rule = EXPECT[case][0]
    named = [i for i in issues if i.key == rel and i.severity == "error" and i.category == "package"]
    assert [i.rule for i in named] == [rule], [(i.rule, i.key, i.message) for i in named]
    errors = [i for i in issues if i.severity == "error"]
    assert len(errors) <= SAMPLE_ERRORS + 2, sorted({i.rule for i in errors})
    assert not any(i.rule == "schema.missing_table" for i in issues)
    if rel.startswith("权属数据"):  # no reference flood from an unusable or empty attribute database
        assert not any(i.category == "reference" for i in issues)


def test_inventory_is_never_complete_with_an_unusable_delivery(broken_copy):
    case, root, rel = broken_copy
    inv = inventory.build(root)
    assert inv.complete is EXPECT[case][1]
    listed = inv.missing if not EXPECT[case][1] else inv.warnings
    assert any(m["item"] == rel for m in listed), (listed, rel)


def test_intact_sample_passes_the_checks(demo):
    from land_contract_bridge.core.workspace import open_workspace
    with open_workspace(demo) as ws:
        res = integrity.check(ws)
    assert res.ok and res.notes == [] and res.crs is None


# ------------------------------------------------------------------ SOURCE_CRS
def _notes():
    seen = []
    return seen, Progress(log=seen.append)


@pytest.mark.parametrize("case", ["wgs84_prj", "missing_prj"])
def test_source_crs_names_the_delivery_crs_and_says_so(case, tmp_path, truth):
    root = copy_package(tmp_path / "pkg")
    broken.make(case, root)
    seen, prog = _notes()
    res = merge.merge(root, tmp_path / "reg.gpkg", source_crs="EPSG:4527", progress=prog)
    assert res["INSERTED"] == 299 and res["epsg"] == 4527
    assert res["classes"] == truth["counts"]["by_class"]
    assert any("SOURCE_CRS" in n and "EPSG:4527" in n for n in seen), seen  # never silent
    c = sqlite3.connect(tmp_path / "reg.gpkg")
    srs = c.execute("SELECT s.organization_coordsys_id FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s USING (srs_id)").fetchone()[0]
    x = c.execute("SELECT MIN(minx) FROM rtree_cbdk_geom").fetchone()[0]
    c.close()
    assert srs == 4527 and 39_000_000 < x < 40_000_000


def test_source_crs_that_contradicts_the_coordinates_is_refused(tmp_path):
    root = copy_package(tmp_path / "pkg")
    broken.missing_prj(root)
    with pytest.raises(LcbError) as e:
        merge.merge(root, tmp_path / "reg.gpkg", source_crs="EPSG:4326")
    assert "SOURCE_CRS" in e.value.text() and "EPSG:4527" in e.value.text()  # and it says what the coordinates look like
    assert not (tmp_path / "reg.gpkg").exists()
    with pytest.raises(LcbError) as e:
        merge.merge(root, tmp_path / "reg.gpkg", source_crs="not a crs")
    assert e.value.field == "SOURCE_CRS"


def test_source_crs_equal_to_the_prj_changes_nothing(demo, tmp_path):
    seen, prog = _notes()
    merge.merge(demo, tmp_path / "reg.gpkg", source_crs="4527", progress=prog)
    assert not any("SOURCE_CRS" in n for n in seen)


# ------------------------------------------------------------------ reading
def test_feature_by_feature_fallback_reads_a_field_subset_by_layer_position(demo_copy, demo):
    """A truncated .dbf interrupts GDAL's bulk read; the fallback must still read DKBM when only some fields are
    selected (merge's subset), where it used to read each field at its index in the subset."""
    broken.truncated_dbf(demo_copy)
    d = delivery.scan(demo_copy)
    sub = vector.read_layer(d, "DK", fields=records.DK_FIELDS)
    full = vector.read_layer(delivery.scan(demo), "DK")
    assert any("读取中断" in p[3] for p in sub.problems)  # the fallback ran
    n = sub.n
    assert n == 149
    for name in ("DKBM", "DKMC", "DKLB", "ZJRXM"):
        assert sub.text(name).tolist() == full.text(name)[:n].tolist(), name
    assert (sub.text("DKBM") != "").all()
    assert list(sub.number("SCMJ")) == pytest.approx(list(full.number("SCMJ")[:n]))


def test_over_long_dk_text_is_reported_like_the_tables(demo_copy):
    long_name, long_person = "很长的地块名称" * 9, "指界人" * 40  # 63 and 120 characters: beyond DKMC 50, ZJRXM 100
    broken.long_dk_text(demo_copy, {"3715260010010100003": {"DKMC": long_name}, "3715260010010100007": {"ZJRXM": long_person}})
    issues, _ = validate.validate(demo_copy)
    got = sorted((i.key, i.field, i.value, i.layer) for i in issues if i.rule == "schema.dk_too_long")
    assert got == [("3715260010010100003", "DKMC", "63", "DK"), ("3715260010010100007", "ZJRXM", "120", "DK")]
    msg = next(i.message for i in issues if i.rule == "schema.dk_too_long" and i.field == "DKMC")
    assert msg == "DK 字段 DKMC 的值长度 63 超过标准宽度 50"  # the form of schema.too_long for the tables
    assert next(i for i in issues if i.rule == "schema.dk_too_long").wkb is not None  # located on the map


# ------------------------------------------------------------------ staging
def test_staging_attaches_to_another_connection_and_is_private(tmp_path):
    with attrdb.Staging() as st:
        st.conn.execute("INSERT INTO CBF (CBFBM, CBFMC) VALUES ('371526001001010015', '闫玥云')")
        folder = Path(st.tmpdir)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        other = sqlite3.connect(tmp_path / "t.sqlite")
        st.attach_to(other, "stg")
        assert other.execute("SELECT CBFMC FROM stg.CBF").fetchall() == [("闫玥云",)]
        other.execute("DETACH DATABASE stg")
        other.close()
        with pytest.raises(ValueError):
            st.attach_to(sqlite3.connect(":memory:"), "stg; DROP TABLE x")
    assert not folder.exists()


def _stages(tmp):
    return sorted(Path(tmp).glob(attrdb.STAGE_PREFIX + "*"))


def test_sigkill_mid_merge_leaves_no_staging_files(demo, tmp_path):
    """The staging database holds the delivery's names and ID numbers: a merge killed with SIGKILL must not leave
    it behind. TMPDIR is private to this test, so whatever the killed process staged is visible here."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    target = tmp_path / "reg.gpkg"
    p = start_paused("merge.merge(sys.argv[1], sys.argv[2])", [demo, target], lambda: list(tmp_path.glob("*.before_commit")),
                     env=dict(os.environ, TMPDIR=str(tmp)))
    try:
        stages = _stages(tmp)
        assert len(stages) == 1 and (stages[0] / "stage.sqlite").exists(), "the merge never staged anything"
        c = sqlite3.connect(stages[0] / "stage.sqlite")
        assert c.execute("SELECT COUNT(*) FROM CBF WHERE CBFZJHM LIKE '371526%'").fetchone()[0] > 0  # personal data
        c.close()
    finally:
        kill(p)
    for _ in range(100):  # the guard process removes it as soon as the kernel closes the dead process's pipe
        if not _stages(tmp):
            break
        time.sleep(0.05)
    assert _stages(tmp) == []


def test_next_start_sweeps_stale_stages_and_spares_live_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    stale = tmp_path / f"{attrdb.STAGE_PREFIX}stale"
    stale.mkdir()
    (stale / "lock").write_text("")
    (stale / "stage.sqlite").write_bytes(b"names and ID numbers")
    live = tmp_path / f"{attrdb.STAGE_PREFIX}live"
    live.mkdir()
    (live / "lock").write_text("")
    (live / "stage.sqlite").write_bytes(b"in use")
    legacy = tmp_path / f"{attrdb.STAGE_PREFIX}legacy"  # left by a version that had no lock file
    legacy.mkdir()
    (legacy / "stage.sqlite").write_bytes(b"names and ID numbers")
    old = time.time() - 2 * 86400
    for d in (stale, live, legacy, legacy / "stage.sqlite", stale / "stage.sqlite", live / "stage.sqlite"):
        os.utime(d, (old, old))
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
                               "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(live / "lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with attrdb.Staging() as st:
            assert Path(st.tmpdir).parent == tmp_path
        assert not stale.exists() and not legacy.exists() and live.exists()
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------ outputs
def test_atomic_path_turns_a_full_disk_into_one_clear_error(tmp_path, monkeypatch):
    import errno

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(LcbError) as e:
        write_text(tmp_path / "out.html", "<html/>")
    assert "磁盘空间不足" in e.value.text() and "disk is full" in e.value.text() and "out.html" in e.value.text()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_outputs_where_a_folder_or_a_file_is_in_the_way(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    for bad, words in ((tmp_path / "file.txt" / "out.html", "是文件而不是文件夹"), (tmp_path, "这是一个文件夹")):
        with pytest.raises(LcbError) as e:
            write_text(bad, "x")
        assert words in e.value.text() or "文件夹" in e.value.text()
        with pytest.raises(LcbError):
            check_writable(bad)
    check_writable(tmp_path / "new" / "deeper" / "out.html")  # missing folders are fine: created when written
    with atomic_path(tmp_path / "ok.txt") as p:
        Path(p).write_text("fine")
    assert (tmp_path / "ok.txt").read_text() == "fine"


def test_unwritable_target_is_refused_before_anything_is_written(demo, tmp_path):
    with broken.unwritable_dir(tmp_path / "ro") as ro:
        with pytest.raises(LcbError) as e:
            merge.merge(demo, ro / "reg.gpkg")
        assert "不可写" in e.value.text() or "只读" in e.value.text()
        assert "reg.gpkg" in e.value.text()


def test_a_full_temporary_folder_is_one_clear_error(demo, tmp_path, monkeypatch):
    import tempfile
    with broken.full_disk(tmp_path / "tmp", size="64k") as tmp:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp))
        with pytest.raises(LcbError) as e:
            merge.merge(demo, tmp_path / "reg.gpkg")
        assert "临时数据库" in e.value.text() and "磁盘空间不足" in e.value.text() and str(tmp) in e.value.text()
        assert list(tmp.iterdir()) == [] and not (tmp_path / "reg.gpkg").exists()
