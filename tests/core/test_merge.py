"""Integration into the registration GeoPackage: classes, BDCDYH, co-ownership, batches, conflicts, safety."""
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import shapely
from osgeo import ogr

from paused import kill, start_paused
from conftest import run_generator, tree_hash
from oracle import db_rows as rows
from oracle import edit_parcel
from land_contract_bridge.core import gpkg, merge
from land_contract_bridge.core.errors import LcbError

BDCDYH = re.compile(r"^\d{12}J[DEF]\d{5}W00000000$")


def file_hash(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def merged(demo, tmp_path_factory):
    target = tmp_path_factory.mktemp("reg") / "reg.gpkg"
    before = tree_hash(demo)
    res = merge.merge(demo, target)
    assert tree_hash(demo) == before
    return target, res


def test_classes_equal_truth(merged, truth):
    target, res = merged
    got = dict(rows(target, "SELECT DKBM, CYLX FROM cbdk"))
    assert {k: p["class"] for k, p in truth["parcels"].items()} == got
    assert res["classes"] == truth["counts"]["by_class"]
    assert res["INSERTED"] == res["PARCELS"] == 299


def test_bdcdyh_well_formed_unique_and_from_the_dkbm(merged):
    target, _ = merged
    codes = rows(target, "SELECT DKBM, BDCDYH FROM cbdk")
    assert all(BDCDYH.match(c) for _, c in codes)
    assert len({c for _, c in codes}) == len(codes)
    assert all(c[:12] == k[:12] for k, c in codes)  # county + township + village digits by default


def test_text_areas_and_archive_links(merged, truth):
    target, _ = merged
    got = {k: (mc, xm, sc, ht, db) for k, mc, xm, sc, ht, db in rows(target, "SELECT DKBM, DKMC, ZJRXM, SCMJ, HTMJ, DBMJ FROM cbdk")}
    for k, p in truth["parcels"].items():
        if p["DKMC"] is not None:
            assert got[k][:3] == (p["DKMC"], p["ZJRXM"], p["SCMJ"]), k
        assert got[k][3:] == (p["HTMJ"], p["DBMJ"]), k
    link = rows(target, "SELECT DKSYT FROM cbdk WHERE DKBM = '3715260010010100001'")[0][0]
    assert link == "图件/37152600100101/DKSYT371526001001010001J.pdf"


def test_share_only_parcels_are_co_owned(merged, truth):
    target, _ = merged
    for k, p in truth["parcels"].items():
        if p["class"] != "share_only":
            continue
        q = rows(target, f"SELECT q.QLBL, q.GYFS FROM QLR q JOIN cbdk c ON c.BDCDYH = q.BDCDYH WHERE c.DKBM = '{k}'")
        assert len(q) > 1 and {g for _, g in q} == {"2"}  # 按份共有
        assert abs(sum(float(b) for b, _ in q) - 1) < 1e-9


def test_field_titles_and_style_are_stored(merged):
    target, _ = merged
    titles = dict(rows(target, "SELECT column_name, title FROM gpkg_data_columns WHERE table_name = 'cbdk'"))
    assert titles["SCMJ"] == "实测面积（平方米）" and titles["BDCDYH"] == "不动产单元号"
    qml = rows(target, "SELECT styleQML FROM layer_styles WHERE f_table_name = 'cbdk' AND useAsDefault = 1")[0][0]
    assert 'name="合同与登簿面积不一致' not in qml and "合同与登簿面积不一致" in qml and 'field="SCMJ"' in qml


def test_passes_the_gdal_geopackage_validator(merged):
    target, _ = merged
    script = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"
    p = subprocess.run([sys.executable, script, str(target)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_spatial_index_holds_every_parcel_and_finds_it(merged):
    """The R-tree of a new database is written packed: SQLite's own check passes, it has one box per geometry
    containing that geometry, and a spatial query through OGR finds what a full scan finds."""
    target, _ = merged
    geoms = assert_spatial_index_holds(target)
    ds = ogr.Open(str(target))
    lyr = ds.GetLayerByName("cbdk")
    x0, x1, y0, y1 = lyr.GetExtent()
    window = (x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3, x0 + (x1 - x0) * 0.6, y0 + (y1 - y0) * 0.6)
    lyr.SetSpatialFilterRect(*window)
    found = sorted(f.GetFID() for f in lyr)
    box = shapely.box(*window)
    assert found and found == sorted(fid for fid, g in geoms.items() if g.intersects(box))


def assert_spatial_index_holds(target, table="cbdk"):
    """SQLite's own check passes and the R-tree has one box per geometry, containing it. Returns {fid: geometry}."""
    c = gpkg.connect(target)
    assert c.execute(f"SELECT rtreecheck('rtree_{table}_geom')").fetchone()[0] == "ok"
    boxes = {i: b for i, *b in c.execute(f"SELECT id, minx, maxx, miny, maxy FROM rtree_{table}_geom")}
    geoms = {fid: gpkg.geometry_from_blob(blob) for fid, blob in c.execute(f"SELECT fid, geom FROM {table} WHERE geom IS NOT NULL")}
    c.close()
    assert set(boxes) == set(geoms)
    for fid, g in geoms.items():
        x0, y0, x1, y1 = g.bounds
        b = boxes[fid]
        assert b[0] <= x0 and b[1] >= x1 and b[2] <= y0 and b[3] >= y1, fid
    return geoms


def test_remerge_is_a_no_op(demo, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    h = file_hash(target)
    res = merge.merge(demo, target)
    assert (res["INSERTED"], res["UPDATED"], res["CONFLICTS"], res["UNCHANGED"]) == (0, 0, 0, 299)
    assert file_hash(target) == h


def test_fingerprint_reads_every_byte_once_per_file(demo, demo_copy, monkeypatch):
    """The delivery's identity is the SHA-256 of its files' (path, SHA-256) list whatever the threads; a hard-linked
    file is read once, and a file rewritten with its old size and time still changes the identity."""
    from land_contract_bridge.core import delivery, inventory
    d = delivery.scan(demo)
    listed = sorted((e.rel, inventory.sha256(e.abspath)) for e in d.files)
    want = hashlib.sha256("".join(f"{r}\x1f{h}\x1e" for r, h in listed).encode()).hexdigest()
    assert merge.fingerprint(d) == merge.fingerprint(d, workers=1) == want
    pdfs = sorted(demo_copy.rglob("*.pdf"))
    pdfs[1].unlink()
    os.link(pdfs[0], pdfs[1])
    linked = merge.fingerprint(delivery.scan(demo_copy))
    read, sha = [], inventory.sha256
    monkeypatch.setattr(inventory, "sha256", lambda p, *a: read.append(p) or sha(p, *a))
    for workers in (4, 1):  # a thread pool, or one file after the other (a new database's merge)
        read.clear()
        assert merge.fingerprint(delivery.scan(demo_copy), workers=workers) == linked
        assert len(read) == len(d.files) - 1 and len({os.stat(p).st_ino for p in read}) == len(read), workers
    monkeypatch.undo()
    st = pdfs[1].stat()
    data = bytearray(pdfs[1].read_bytes())
    data[-1] ^= 1
    pdfs[1].unlink()  # the second name becomes a file of its own: same size, same time, one byte different
    pdfs[1].write_bytes(bytes(data))
    os.utime(pdfs[1], ns=(st.st_atime_ns, st.st_mtime_ns))
    assert merge.fingerprint(delivery.scan(demo_copy)) not in (linked, want)


def test_conflicts_are_recorded_and_only_replaced_on_request(demo, demo_copy, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    code = rows(target, "SELECT BDCDYH FROM cbdk WHERE DKBM = '3715260010010100002'")[0][0]
    edit_parcel(demo_copy, "3715260010010100002", DKMC="改过的名")
    res = merge.merge(demo_copy, target)
    assert (res["CONFLICTS"], res["UPDATED"], res["INSERTED"]) == (1, 0, 0)
    assert rows(target, "SELECT DKMC FROM cbdk WHERE DKBM = '3715260010010100002'")[0][0] == "二道沟"
    assert rows(target, "SELECT DKBM, fields, resolution FROM conflicts") == [("3715260010010100002", "DKMC", "kept")]
    res = merge.merge(demo_copy, target, on_conflict="replace")
    assert (res["CONFLICTS"], res["UPDATED"]) == (1, 1)
    assert rows(target, "SELECT DKMC, BDCDYH FROM cbdk WHERE DKBM = '3715260010010100002'")[0] == ("改过的名", code)
    assert rows(target, "SELECT COUNT(*) FROM audit WHERE action = 'replace'")[0][0] == 1


def _dump(target):
    c = sqlite3.connect(target)
    try:
        return "\n".join(c.iterdump())
    finally:
        c.close()


def test_sigkill_mid_merge_leaves_the_target_as_before(demo, demo_copy, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    before = _dump(target)
    edit_parcel(demo_copy, "3715260010010100002", DKMC="改过的名")
    p = start_paused("merge.merge(*sys.argv[1:3], on_conflict=sys.argv[3])", [demo_copy, target, "replace"],
                     Path(f"{target}.before_commit"))
    assert Path(f"{target}.before_commit").exists(), "the merge never reached the pause point"
    kill(p)
    assert _dump(target) == before  # a reader rolls the hot journal back: nothing of the killed merge remains
    res = merge.merge(demo, target)
    assert res["UNCHANGED"] == 299


def test_sigkill_while_creating_leaves_no_target(demo, tmp_path):
    target = tmp_path / "new.gpkg"
    p = start_paused("merge.merge(sys.argv[1], sys.argv[2])", [demo, target], lambda: list(tmp_path.glob("*.before_commit")))
    assert list(tmp_path.glob(".new.*.lcbtmp.gpkg")), "the database being built should exist before the kill"
    kill(p)
    for _ in range(100):  # the guard process removes the half-built database (names, ID numbers) once we are gone
        if not list(tmp_path.glob(".new.*.lcbtmp.gpkg*")):
            break
        time.sleep(0.05)
    assert not target.exists() and not list(tmp_path.glob(".new.*.lcbtmp.gpkg*"))
    merge.merge(demo, target)
    assert target.exists() and not list(tmp_path.glob("*.lcbtmp.gpkg"))


def test_second_township_merges_beside_the_first(demo, generated, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    first = dict(rows(target, "SELECT DKBM, BDCDYH FROM cbdk"))
    root, truth = generated
    res = merge.merge(root, target)
    assert res["INSERTED"] == len(truth["parcels"]) and res["CONFLICTS"] == 0 and res["UPDATED"] == 0
    after = dict(rows(target, "SELECT DKBM, BDCDYH FROM cbdk"))
    assert all(after[k] == v for k, v in first.items())
    assert len(set(after.values())) == len(after) == 299 + len(truth["parcels"])
    got = dict(rows(target, "SELECT DKBM, CYLX FROM cbdk"))
    assert all(got[k] == p["class"] for k, p in truth["parcels"].items())
    assert rows(target, "SELECT COUNT(*) FROM batches")[0][0] == 2
    assert rows(target, "SELECT COUNT(DISTINCT PCID) FROM qs_cbf")[0][0] == 2
    for table in ("cbdk", "ZDJBXX"):  # the second township's boxes were added to non-empty R-trees, row by row
        assert_spatial_index_holds(target, table)


def test_delivery_without_zone_prefix_is_shifted_exactly(demo, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    root, truth = run_generator(tmp_path / "g", "--parcels", "300", "--township", "003", "--epsg", "4548")
    res = merge.merge(root, target)
    assert res["INSERTED"] == len(truth["parcels"]) and res["epsg"] == 4527
    c = gpkg.connect(target)
    for k, blob in c.execute("SELECT DKBM, geom FROM cbdk WHERE DKBM LIKE '371526003%' AND geom IS NOT NULL LIMIT 20"):
        g = gpkg.geometry_from_blob(blob)
        assert 39_000_000 < g.bounds[0] < 40_000_000
        assert abs(round(g.area, 2) - truth["parcels"][k]["SCMJ"]) <= 0.01
    c.close()


def test_zoning_table_overrides_the_default_subzones(demo, tmp_path):
    z = tmp_path / "zoning.csv"
    z.write_text("code,DJQ,DJZQ\n371526001001,101,202\n", "utf-8")
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target, zoning=z)
    codes = [c for c, in rows(target, "SELECT BDCDYH FROM cbdk WHERE DKBM LIKE '371526001001%'")]
    assert codes and all(c.startswith("371526101202JD") for c in codes)


def test_bad_target_is_a_clear_error(demo, tmp_path):
    bad = tmp_path / "x.gpkg"
    bad.write_bytes(b"not a geopackage")
    with pytest.raises(LcbError) as e:
        merge.merge(demo, bad)
    assert "x.gpkg" in e.value.text()
    assert bad.read_bytes() == b"not a geopackage"


def test_copy_archive(demo, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target, copy_archive=True)
    n, = rows(target, "SELECT COUNT(*) FROM archive")[0]
    assert n == 96 + 57
    stored, sha = rows(target, "SELECT stored, sha256 FROM archive LIMIT 1")[0]
    assert hashlib.sha256((tmp_path / stored).read_bytes()).hexdigest() == sha


def test_overlap_geometry_kept(merged):
    target, _ = merged
    c = gpkg.connect(target)
    blob, = c.execute("SELECT geom FROM cbdk WHERE DKBM = '3715260010010400008'").fetchone()
    assert shapely.get_type_id(gpkg.geometry_from_blob(blob)) == 6
    assert c.execute("SELECT COUNT(*) FROM cbdk WHERE geom IS NULL").fetchone()[0] == 2  # empty shape + CBDKXX-only parcel
    c.close()


def test_full_comparison_path_finds_nothing_changed(demo, demo_copy, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    h = file_hash(target)
    report = demo_copy / "文字报告" / "371526高唐县确权登记工作报告.txt"
    report.write_text(report.read_text("utf-8") + "\n补充说明。", "utf-8")  # new fingerprint, same parcels
    res = merge.merge(demo_copy, target)
    assert not res.get("fast_path")
    assert (res["INSERTED"], res["UPDATED"], res["CONFLICTS"], res["UNCHANGED"]) == (0, 0, 0, 299)
    assert file_hash(target) == h


def test_deleted_parcel_comes_back_with_its_old_number(demo, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    code = rows(target, "SELECT BDCDYH FROM cbdk WHERE DKBM = '3715260010010100003'")[0][0]
    c = gpkg.connect(target)
    c.execute("DELETE FROM cbdk WHERE DKBM = '3715260010010100003'")
    c.close()
    res = merge.merge(demo, target)
    assert not res.get("fast_path") and res["INSERTED"] == 1 and res["UNCHANGED"] == 298
    assert rows(target, "SELECT BDCDYH FROM cbdk WHERE DKBM = '3715260010010100003'")[0][0] == code


def test_cancel_leaves_no_target_and_an_existing_one_untouched(demo, demo_copy, tmp_path):
    from land_contract_bridge.core.errors import Cancelled, Progress
    calls = []

    def cancel_after(n):
        def cancelled():
            calls.append(1)
            return len(calls) > n
        return cancelled
    target = tmp_path / "new.gpkg"
    with pytest.raises(Cancelled):
        merge.merge(demo, target, progress=Progress(cancelled=cancel_after(3)))
    assert not target.exists() and not list(tmp_path.glob("*.lcbtmp.gpkg"))
    merge.merge(demo, target)
    before = file_hash(target)
    edit_parcel(demo_copy, "3715260010010100002", DKMC="改过的名")
    seen = []  # cancel late, once the merge is writing (past 60 %)
    with pytest.raises(Cancelled):
        merge.merge(demo_copy, target, on_conflict="replace", progress=Progress(report=seen.append, cancelled=lambda: bool(seen) and max(seen) > 60))
    assert file_hash(target) == before


def test_a_new_database_cancelled_while_written_stops_its_file_hashing_too(demo, tmp_path, monkeypatch):
    """A new GeoPackage's files are hashed beside its transaction: a cancel once the merge writes (70 %) leaves
    no database and no hashing thread behind; a merge to the end records the same fingerprint as the inventory."""
    import threading

    from land_contract_bridge.core import delivery, inventory
    from land_contract_bridge.core.errors import Cancelled, Progress
    target = tmp_path / "new.gpkg"
    seen = []
    slow = inventory.sha256
    monkeypatch.setattr(inventory, "sha256", lambda path: (time.sleep(0.05), slow(path))[1])  # a slow disk: ≥ 2 s of hashing
    with pytest.raises(Cancelled):
        merge.merge(demo, target, progress=Progress(report=seen.append, cancelled=lambda: bool(seen) and max(seen) >= 70))
    assert not target.exists() and not list(tmp_path.glob("*.lcbtmp.gpkg"))
    assert not [t for t in threading.enumerate() if t.name.startswith(("lcb-fingerprint", "lcb-sha"))]
    monkeypatch.setattr(inventory, "sha256", slow)
    res = merge.merge(demo, target)
    d = delivery.scan(demo)
    with inventory.FileHashes([e.abspath for e in d.files]) as h:
        listed = sorted((e.rel, h.result(e.abspath)) for e in d.files)
    want = hashlib.sha256("".join(f"{r}\x1f{x}\x1e" for r, x in listed).encode()).hexdigest()
    assert res["fingerprint"] == want == rows(target, "SELECT fingerprint FROM batches")[0][0]


def test_validate_and_inventory_can_be_cancelled(demo):
    from land_contract_bridge.core import inventory, validate
    from land_contract_bridge.core.errors import Cancelled, Progress
    for run in (lambda p: validate.validate(demo, progress=p), lambda p: inventory.build(demo, progress=p)):
        seen = []
        with pytest.raises(Cancelled):
            run(Progress(report=seen.append, cancelled=lambda s=seen: len(s) > 3))
        assert seen and all(0 <= s <= 100 for s in seen)


def test_a_dkbm_with_a_trailing_blank_in_cbdkxx_still_finds_its_parcel(tmp_path, tmp_path_factory):
    """Issue 12 (keys): codes are compared after trimming blanks, in the merge as in validation — a CBDKXX row
    whose DKBM ends in a blank keeps its parcel matched instead of making two `unmatched` ones."""
    import oracle
    base, _truth = oracle.generated_base(tmp_path_factory)
    root = oracle.copy_delivery(base, tmp_path / "pkg")
    dk = oracle.sql(root, ("SELECT DKBM FROM CBDKXX WHERE SFQQQG IS NULL OR SFQQQG <> '1' ORDER BY DKBM LIMIT 1",))[0][0]
    clean = merge.merge(root, tmp_path / "clean.gpkg")
    oracle.sql(root, ("UPDATE CBDKXX SET DKBM = DKBM || ' ' WHERE DKBM = ?", (dk,)))
    res = merge.merge(root, tmp_path / "blank.gpkg")
    assert res["PARCELS"] == clean["PARCELS"] and res["classes"] == clean["classes"]
    got = rows(tmp_path / "blank.gpkg", f"SELECT DKBM, CYLX FROM cbdk WHERE trim(DKBM) = '{dk}'")
    assert got == rows(tmp_path / "clean.gpkg", f"SELECT DKBM, CYLX FROM cbdk WHERE DKBM = '{dk}'")
    assert got[0][1] != "unmatched"


def test_the_records_worker_writes_after_everything_the_transaction_does_before_it(demo, tmp_path, monkeypatch):
    """A new database's records are written by a second process (or thread) into a file the merge's connection has
    attached (records.Records). Here that worker starts only once the merge waits for it, i.e. after every statement
    the transaction runs before: none of them may hold a lock on that file (an unqualified 'DROP … IF EXISTS' did)."""
    from land_contract_bridge.core.registration import records
    start, join = records.Records.start, records.Records.join

    def join_late(self):
        start(self)
        join(self)
    monkeypatch.setattr(records.Records, "start", lambda self: None)
    monkeypatch.setattr(records.Records, "join", join_late)
    t = time.perf_counter()
    res = merge.merge(demo, tmp_path / "reg.gpkg")
    assert res["INSERTED"] == res["PARCELS"] == 299
    assert time.perf_counter() - t < 4, "the records worker waited for a lock"
    assert rows(tmp_path / "reg.gpkg", "SELECT COUNT(*), COUNT(DISTINCT YJHASH) FROM cbdk")[0] == (299, 299)


def test_records_written_by_a_process_or_a_thread_are_the_same(demo, tmp_path, monkeypatch):
    """The records worker is a second process when an interpreter with this SQLite is found, else a thread: both
    give the very same database (a thread: no interpreter; a worker whose SQLite is another version is refused)."""
    from land_contract_bridge.core.registration import recworker, records
    started = []
    worker = records._worker

    def spy():
        p = worker()
        started.append(p is not None)
        return p
    monkeypatch.setattr(records, "_worker", spy)
    merge.merge(demo, tmp_path / "process.gpkg")
    assert started == [True], "no worker process was started"
    monkeypatch.setattr(recworker, "python", lambda: None)
    merge.merge(demo, tmp_path / "thread.gpkg")
    assert started == [True, False]
    q = "SELECT fid, DKBM, BDCDYH, YJHASH, CBFMC, CYLX, HTMJ, hex(geom) FROM cbdk ORDER BY fid"
    assert rows(tmp_path / "process.gpkg", q) == rows(tmp_path / "thread.gpkg", q)
    for q in STANDARD_ROWS:  # and the standard rows it derived
        assert rows(tmp_path / "process.gpkg", q) == rows(tmp_path / "thread.gpkg", q)
    monkeypatch.setattr(records.sqlite3, "sqlite_version", "0.0.0")  # this process's SQLite, as the worker sees it
    assert worker() is None


STANDARD_ROWS = ["SELECT * FROM ZDJBXX ORDER BY fid", "SELECT * FROM NYDSYQ ORDER BY fid", "SELECT * FROM QLR ORDER BY fid"]


def test_standard_rows_derived_beside_the_merge_are_those_derived_in_it(demo, tmp_path, monkeypatch):
    """A new database's NYDSYQ and QLR rows are derived by the records worker over the parcels as cbdk will hold them
    (while the merge inserts them) and copied with their 不动产单元号 after: the very rows, in the same order, that the
    merge's own derivation gives (single and share-only holders, parcels under consultation, unmatched ones left out)."""
    from land_contract_bridge.core.registration import records, standard
    copies, real = [], standard.derived_copies
    monkeypatch.setattr(standard, "derived_copies", lambda *a: copies.append(a[1]) or real(*a))
    rec_types, start = {}, records.Records.start

    def spy(self):  # the records' columns as declared before the worker fills them
        with sqlite3.connect(self.path) as c:
            rec_types.update({r[1]: r[2] for r in c.execute("PRAGMA table_info(REC)")})
        start(self)
    monkeypatch.setattr(records.Records, "start", spy)
    merge.merge(demo, tmp_path / "beside.gpkg")
    assert [set(t) for t in copies] == [{"NYDSYQ", "QLR"}], "the worker did not derive them"
    # REC holds what cbdk will (the same declared types, so the same values and comparisons in the derivation)
    cbdk_types = dict(rows(tmp_path / "beside.gpkg", "SELECT name, type FROM pragma_table_info('cbdk')"))
    shared = set(rec_types) & set(cbdk_types)
    assert len(shared) > 40 and {k: rec_types[k] for k in shared} == {k: cbdk_types[k] for k in shared}
    monkeypatch.setattr(merge, "DERIVED", ())
    merge.merge(demo, tmp_path / "within.gpkg")
    assert len(copies) == 1
    for q in STANDARD_ROWS:
        beside, within = rows(tmp_path / "beside.gpkg", q), rows(tmp_path / "within.gpkg", q)
        assert beside == within and len(beside) >= 296
    shares = "SELECT QLBL FROM QLR WHERE GYFS = '2' ORDER BY fid"
    assert len(rows(tmp_path / "beside.gpkg", shares)) > 5
    assert rows(tmp_path / "beside.gpkg", "SELECT COUNT(*) FROM NYDSYQ WHERE QSZT = '0'") == [(8,)]


@pytest.mark.parametrize("process", [True, False], ids=["process", "thread"])
def test_a_failing_derivation_beside_the_merge_leaves_nothing(demo, tmp_path, monkeypatch, process):
    """The records worker fails after the records, in the standard rows: the merge fails and leaves no database."""
    from land_contract_bridge.core.registration import recworker, records
    if not process:
        monkeypatch.setattr(recworker, "python", lambda: None)
    monkeypatch.setattr(records, "_as_target", lambda name: ["SELECT no_such_column FROM rec.REC"])
    with pytest.raises((RuntimeError, sqlite3.OperationalError), match="no_such_column"):
        merge.merge(demo, tmp_path / "reg.gpkg")
    assert not list(tmp_path.iterdir())


def test_record_fingerprints_keep_their_values(merged):
    """Registration databases in use hold these YJHASH values: computing them another way (another worker, another
    JSON) would make every parcel of the next delivery look changed. Values of the sample as merged since schema 4."""
    target, _ = merged
    assert rows(target, "SELECT DKBM, YJHASH FROM cbdk WHERE DKBM IN ('3715260010010100001', '3715260010010300001') ORDER BY DKBM") == [
        ("3715260010010100001", "b1f05a1ef5c1c4e332d2c547c72359f8365aa8b5"),  # a single household's parcel
        ("3715260010010300001", "dbe4f045982faa28016811bb596d64a72d7c1b58")]  # share-only land


def test_a_full_temporary_folder_while_the_records_are_written_is_named(demo, tmp_path, monkeypatch):
    """The records file lives beside the staging database: when it cannot be written the error names the system's
    temporary folder (not the registration database), and no target is left behind."""
    from land_contract_bridge.core.registration import recworker

    def full(*_a, **_k):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(recworker, "python", lambda: None)  # the thread, which runs recworker.run here
    monkeypatch.setattr(recworker, "run", full)
    with pytest.raises(LcbError) as e:
        merge.merge(demo, tmp_path / "reg.gpkg")
    assert "临时" in e.value.zh and "temporary" in e.value.en
    assert not list(tmp_path.iterdir())
