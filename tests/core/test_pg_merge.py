"""The registration database in PostgreSQL/PostGIS (issue 15), against a real throw-away PostgreSQL 15 + PostGIS 3
cluster (tests/pgcluster.py): same tables and content as the GeoPackage, idempotence, conflicts, SIGKILL, concurrent
merges of different deliveries, credentials never shown."""
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import shapely

from paused import kill, start_paused
from conftest import PLUGINS, run_generator
from oracle import db_rows as gpkg_rows
from oracle import edit_parcel
from land_contract_bridge.core import merge, pgconn
from land_contract_bridge.core.errors import LcbError, Progress
from land_contract_bridge.core.registration import pg as pgstore
from land_contract_bridge.core.registration import schema

BDCDYH = re.compile(r"^\d{12}[GJ][DEF]\d{5}W00000000$")


@pytest.fixture
def passfile(pg_db, tmp_path, monkeypatch):
    """Credentials the way the README recommends: a .pgpass file, no password in the target text."""
    monkeypatch.setenv("PGPASSFILE", str(pg_db.passfile(tmp_path)))
    return pg_db


# ------------------------------------------------------------------ what a user compares: the same database content
def _wkb(g):
    if g is None:
        return None
    return shapely.to_wkb(shapely.from_wkb(bytes(g) if not isinstance(g, str) else bytes.fromhex(g)), output_dimension=2, byte_order=1)


def _cbdk(rows_of, geometry_sql):
    cols = [c for c in schema.CBDK.columns if c != "RKSJ"]
    out = {}
    for r in rows_of(f"SELECT {geometry_sql}, {', '.join(cols)} FROM cbdk"):
        g = r[0]
        if g is not None:
            g = shapely.to_wkb(shapely.from_wkb(bytes(g) if not isinstance(g, str) else bytes.fromhex(g)), output_dimension=2, byte_order=1)
        out[r[1]] = (g,) + tuple(r[1:])
    return out


def content(rows_of, geometry_sql):
    """Everything a merge writes, keyed and ordered independently of the backend (times left out)."""
    out = {"cbdk": _cbdk(rows_of, geometry_sql)}
    for lyr in schema.LAYERS:
        if lyr.name in ("cbdk", "lcb_meta", "audit", "batches"):
            continue
        cols = [c for c in lyr.columns if c not in ("at", "merged_at")]
        geom = [geometry_sql] if lyr.geometry is not None else []
        rows = rows_of(f"SELECT {', '.join(geom + cols)} FROM {lyr.name} ORDER BY fid")
        if geom:
            rows = [(_wkb(r[0]),) + tuple(r[1:]) for r in rows]
        if lyr.name.upper() in ("ZDJBXX", "NYDSYQ", "QLR"):  # derived set-wise: the same rows, not necessarily in the same order
            rows = sorted(rows, key=lambda r: tuple((x is None, str(x)) for x in r))
        out[lyr.name] = rows
    out["batches"] = rows_of("SELECT county, fingerprint, params, parcels, inserted, updated, unchanged, conflicts, classes, epsg FROM batches ORDER BY fid")
    out["audit"] = [(a, k, p, json.loads(d) if a == "merge" else d) for a, k, p, d in rows_of("SELECT action, DKBM, PCID, detail FROM audit ORDER BY fid")]
    return out


def pg_content(db, schema_name="lcb"):
    c = db.connect()
    cur = c.cursor()
    cur.execute(f"SET search_path TO {schema_name}, public")

    def rows_of(sql):
        cur.execute(sql)
        return cur.fetchall()
    try:
        return content(rows_of, "ST_AsBinary(geom)")
    finally:
        c.close()


def gpkg_content(path):
    from land_contract_bridge.core import gpkg
    c = sqlite3.connect(path)

    def rows_of(sql):
        return c.execute(sql).fetchall()
    c.create_function("gpkg_wkb", 1, lambda b: None if b is None else shapely.to_wkb(gpkg.geometry_from_blob(b)))
    try:
        return content(rows_of, "gpkg_wkb(geom)")
    finally:
        c.close()


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if k == "cbdk":
            assert a[k].keys() == b[k].keys()
            diff = [d for d in a[k] if a[k][d] != b[k][d]]
            assert not diff, (diff[:3], [(a[k][d], b[k][d]) for d in diff[:1]])
        else:
            assert a[k] == b[k], k


# ------------------------------------------------------------------ first merge, content, layout
@pytest.fixture(scope="module")
def two_townships(tmp_path_factory, demo):
    out = tmp_path_factory.mktemp("gen2")
    root, truth = run_generator(out, "--parcels", "1200", "--township", "002", "--defects", "0.05", "--seed", "11")
    return [demo, root], truth


def test_first_merge_into_an_empty_database(passfile, demo, truth):
    db = passfile
    res = merge.merge(demo, db.uri)
    assert res["INSERTED"] == res["PARCELS"] == 299 and res["classes"] == truth["counts"]["by_class"]
    assert res["target"] == f"postgresql://lcb@127.0.0.1:{db.port}/{db.name} 模式 schema lcb"
    got = dict(db.rows("SELECT dkbm, cylx FROM lcb.cbdk"))
    assert got == {k: p["class"] for k, p in truth["parcels"].items()}
    codes = [c for c, in db.rows("SELECT bdcdyh FROM lcb.cbdk")]
    assert all(BDCDYH.match(c) for c in codes) and len(set(codes)) == 299
    # the layout: PostGIS geometry with its SRID, GiST index, Chinese comments, the style as QGIS's default
    assert db.rows("SELECT type, srid FROM geometry_columns WHERE f_table_schema = 'lcb' AND f_table_name = 'cbdk'") == [("MULTIPOLYGON", 4527)]
    assert db.rows("SELECT count(*) FROM pg_indexes WHERE schemaname = 'lcb' AND tablename = 'cbdk' AND indexdef LIKE '%USING gist (geom)%'") == [(1,)]
    assert db.rows("SELECT col_description('lcb.cbdk'::regclass, attnum) FROM pg_attribute WHERE attrelid = 'lcb.cbdk'::regclass "
                   "AND attname = 'scmj'") == [("实测面积（平方米）",)]
    (qml, default), = db.rows("SELECT styleqml::text, useasdefault FROM public.layer_styles WHERE f_table_schema = 'lcb' AND f_table_name = 'cbdk'")
    assert default and 'attr="cylx"' in qml and 'field="scmj"' in qml and "实测面积（平方米）" in qml
    assert db.rows("SELECT count(*) FROM lcb.qs_cbdkxx") == [(378,)]
    assert db.rows("SELECT count(*) FROM lcb.cbdk WHERE geom IS NOT NULL AND NOT ST_IsValid(geom)")[0][0] <= 1  # the planted overlap/bowtie


def test_same_content_as_the_geopackage(pg_db, two_townships, tmp_path):
    """Two townships merged one after the other: every table holds what the GeoPackage holds (numbers, classes,
    fingerprints, geometries to the bit, right holders, allocations, the delivery's tables, batches and audit)."""
    deliveries, _truth = two_townships
    gp = tmp_path / "reg.gpkg"
    for d in deliveries:
        a = merge.merge(d, gp)
        b = merge.merge(d, pgconn.PgTarget(pg_db.params()))
        assert {k: v for k, v in a.items() if k.isupper() or k == "classes"} == {k: v for k, v in b.items() if k.isupper() or k == "classes"}
    assert_same(gpkg_content(gp), pg_content(pg_db))
    # layout 4 (issue 17): cbdk says why its areas differ, in PostgreSQL as in the GeoPackage
    assert pg_db.rows("SELECT value FROM lcb.lcb_meta WHERE key = 'schema_version'") == [(schema.SCHEMA_VERSION,)] and schema.SCHEMA_VERSION == "4"
    why = "SELECT CYYY, count(*), sum(HTZMJ), sum(DBZMJ) FROM cbdk WHERE CYYY IS NOT NULL GROUP BY CYYY ORDER BY CYYY"
    def rounded(rows):
        return [(c, n, round(h, 2), round(d, 2)) for c, n, h, d in rows]
    assert rounded(pg_db.rows(why.replace("FROM cbdk", "FROM lcb.cbdk"))) == rounded(gpkg_rows(gp, why)) != []


def test_remerge_is_a_no_op_and_a_full_comparison_finds_nothing(passfile, demo, demo_copy):
    db = passfile
    merge.merge(demo, db.uri)
    before = pg_content(db)
    res = merge.merge(demo, db.uri)
    assert res.get("fast_path") and (res["INSERTED"], res["UPDATED"], res["CONFLICTS"], res["UNCHANGED"]) == (0, 0, 0, 299)
    report = demo_copy / "文字报告" / "371526高唐县确权登记工作报告.txt"
    report.write_text(report.read_text("utf-8") + "\n补充说明。", "utf-8")  # new fingerprint, same parcels
    res = merge.merge(demo_copy, db.uri)
    assert not res.get("fast_path") and (res["INSERTED"], res["UPDATED"], res["CONFLICTS"], res["UNCHANGED"]) == (0, 0, 0, 299)
    assert pg_content(db) == before
    assert db.rows("SELECT count(*) FROM lcb.batches") == [(1,)]


def test_conflict_recorded_and_replaced_only_on_request(passfile, demo, demo_copy):
    db = passfile
    merge.merge(demo, db.uri)
    code = db.rows("SELECT bdcdyh FROM lcb.cbdk WHERE dkbm = '3715260010010100002'")[0][0]
    edit_parcel(demo_copy, "3715260010010100002", DKMC="改过的名")
    res = merge.merge(demo_copy, db.uri)
    assert (res["CONFLICTS"], res["UPDATED"], res["INSERTED"]) == (1, 0, 0)
    assert db.rows("SELECT dkmc FROM lcb.cbdk WHERE dkbm = '3715260010010100002'") == [("二道沟",)]
    assert db.rows("SELECT dkbm, fields, existing, incoming, resolution FROM lcb.conflicts") == [
        ("3715260010010100002", "DKMC", '{"DKMC": "二道沟"}', '{"DKMC": "改过的名"}', "kept")]
    res = merge.merge(demo_copy, db.uri, on_conflict="replace")
    assert (res["CONFLICTS"], res["UPDATED"]) == (1, 1)
    assert db.rows("SELECT dkmc, bdcdyh FROM lcb.cbdk WHERE dkbm = '3715260010010100002'") == [("改过的名", code)]
    assert db.rows("SELECT count(*) FROM lcb.audit WHERE action = 'replace'") == [(1,)]


def test_replace_gives_the_geopackage_result(pg_db, demo, demo_copy, tmp_path):
    edit_parcel(demo_copy, "3715260010010100002", DKMC="改过的名")
    edit_parcel(demo_copy, "3715260010010300001", SCMJ=1.5)
    gp = tmp_path / "reg.gpkg"
    target = pgconn.PgTarget(pg_db.params())
    for d, how in ((demo, "keep"), (demo_copy, "keep"), (demo_copy, "replace")):
        merge.merge(d, gp, on_conflict=how)
        merge.merge(d, target, on_conflict=how)
    assert_same(gpkg_content(gp), pg_content(pg_db))


# ------------------------------------------------------------------ SIGKILL
def _run_until_paused(args, marker):
    p = start_paused("merge.merge(sys.argv[1], sys.argv[2], on_conflict=sys.argv[3], schema=sys.argv[4])", args, marker)
    assert marker.exists(), "the merge never reached the pause point"
    kill(p)
    marker.unlink(missing_ok=True)


def _locks(db):
    return db.rows("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")[0][0]


def test_sigkill_mid_merge_commits_nothing(passfile, demo, demo_copy, tmp_path):
    import tempfile
    db = passfile
    sch = "kill_" + db.name[-8:]
    marker = Path(tempfile.gettempdir()) / f"lcb-pause-{sch}.before_commit"
    # a first merge killed: no parcel, batch, number or copied table; the next merge works normally
    _run_until_paused([demo, db.uri, "keep", sch], marker)
    for _ in range(100):  # the server notices the closed connection and rolls back
        if not _locks(db):
            break
        time.sleep(0.05)
    assert [db.rows(f"SELECT count(*) FROM {sch}.{t}")[0][0] for t in ("cbdk", "batches", "bdcdyh_alloc", "qs_cbdkxx", "qlr", "audit")] == [0] * 6
    assert _locks(db) == 0
    merge.merge(demo, db.uri, schema=sch)
    before = pg_content(db, sch)
    # a replacing merge killed before its commit: the database exactly as before
    edit_parcel(demo_copy, "3715260010010100002", DKMC="改过的名")
    _run_until_paused([demo_copy, db.uri, "replace", sch], marker)
    time.sleep(0.3)
    assert pg_content(db, sch) == before
    res = merge.merge(demo, db.uri, schema=sch)
    assert res["UNCHANGED"] == 299


# ------------------------------------------------------------------ concurrency
_MERGE = ("import sys, json; sys.path.insert(0, %r); from land_contract_bridge.core import merge; "
          "r = merge.merge(sys.argv[1], sys.argv[2]); print(json.dumps({k: v for k, v in r.items() if k.isupper()}))") % str(PLUGINS)


def test_concurrent_merges_of_different_deliveries(passfile, demo, tmp_path):
    """Three deliveries (two townships of one county, one in the CRS without zone prefix, and a second county)
    merged at the same time into an empty database: no duplicate number, no lost row, nobody fails."""
    db = passfile
    t3, truth3 = run_generator(tmp_path / "t3", "--parcels", "1500", "--township", "003", "--epsg", "4548", "--seed", "3")
    c2, truth2 = run_generator(tmp_path / "c2", "--parcels", "1500", "--county", "371502", "--county-name", "东昌府区", "--township", "001",
                               "--seed", "5")
    procs = [subprocess.Popen([sys.executable, "-c", _MERGE, str(d), db.uri], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for d in (demo, t3, c2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1][-2000:] for o in outs]
    results = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    expected = [299, len(truth3["parcels"]), len(truth2["parcels"])]
    assert [r["INSERTED"] for r in results] == expected
    assert db.rows("SELECT count(*), count(DISTINCT dkbm), count(DISTINCT bdcdyh) FROM lcb.cbdk") == [(sum(expected),) * 3]
    assert db.rows("SELECT count(*), count(DISTINCT bdcdyh) FROM lcb.bdcdyh_alloc") == [(sum(expected),) * 2]
    assert db.rows("SELECT count(*) FROM lcb.batches") == [(3,)]
    assert db.rows("SELECT count(DISTINCT pcid) FROM lcb.qs_cbf") == [(3,)]
    got = dict(db.rows("SELECT dkbm, cylx FROM lcb.cbdk"))
    for truth in (truth3, truth2):
        assert all(got[k] == p["class"] for k, p in truth["parcels"].items())
    # the delivery in EPSG:4548 was shifted into the database's CRS (the first one to create it)
    epsg = db.rows("SELECT srid FROM geometry_columns WHERE f_table_schema = 'lcb' AND f_table_name = 'cbdk'")[0][0]
    assert epsg in (4527, 4548)
    x = db.rows("SELECT min(ST_XMin(geom)) FROM lcb.cbdk WHERE dkbm LIKE '371526003%'")[0][0]
    assert (39_000_000 < x < 40_000_000) == (epsg == 4527)
    # and numbering is the GeoPackage's: each delivery's sub-zones are its own
    for d in (demo, t3, c2):
        gp = tmp_path / f"{d.name}.gpkg"
        merge.merge(d, gp, target_epsg=epsg)
        want = dict(gpkg_rows(gp, "SELECT DKBM, BDCDYH FROM cbdk"))
        assert {k: v for k, v in db.rows("SELECT dkbm, bdcdyh FROM lcb.cbdk") if k in want} == want


def test_the_same_delivery_twice_at_the_same_time(passfile, demo):
    """Two merges of the same villages serialize on their sub-zone locks: one inserts, the other finds everything there."""
    db = passfile
    procs = [subprocess.Popen([sys.executable, "-c", _MERGE, str(demo), db.uri], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    results = sorted(json.loads(o[0].strip().splitlines()[-1])["INSERTED"] for o in outs)
    assert results == [0, 299]
    assert db.rows("SELECT count(*), count(DISTINCT bdcdyh) FROM lcb.cbdk") == [(299, 299)]
    assert db.rows("SELECT count(*) FROM lcb.batches") == [(1,)]


def test_schema_created_once_when_clients_start_together(passfile):
    """ensure() from several connections at once: one creates, the others find it; nobody fails."""
    import threading
    db = passfile
    target = pgconn.parse(db.uri, "together")
    errors, got = [], []

    def go():
        try:
            got.append(pgstore.ensure(target, 4527))
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)
    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and got == [4527] * 6
    assert db.rows("SELECT count(*) FROM together.lcb_meta WHERE key = 'schema_version'") == [(1,)]
    assert db.rows("SELECT count(*) FROM public.layer_styles WHERE f_table_schema = 'together' AND f_table_name = 'cbdk' AND useasdefault") == [(1,)]


# ------------------------------------------------------------------ parameters, errors, credentials
def test_schema_parameter_and_the_string_own_schema(passfile, demo):
    db = passfile
    merge.merge(demo, db.uri, schema="county_a")
    merge.merge(demo, f"PG:host=127.0.0.1 port={db.port} dbname={db.name} user=lcb active_schema=county_b")
    assert db.rows("SELECT count(*) FROM county_a.cbdk") == db.rows("SELECT count(*) FROM county_b.cbdk") == [(299,)]
    with pytest.raises(LcbError) as e:
        merge.merge(demo, db.uri, schema="Bad-Name")
    assert "SCHEMA" in e.value.text()


def test_a_foreign_schema_is_not_taken_over(passfile, demo):
    db = passfile
    c = db.connect()
    c.cursor().execute("CREATE SCHEMA other; CREATE TABLE other.t (a int)")
    c.commit()
    c.close()
    with pytest.raises(LcbError) as e:
        merge.merge(demo, db.uri, schema="other")
    assert "不是本插件建立的登记库" in e.value.text() and "choose another SCHEMA" in e.value.text()


def test_no_postgis_and_no_right_to_install_it_is_one_clear_message(pg_cluster, demo, tmp_path, monkeypatch):
    db = pg_cluster.create_db(postgis=False)
    monkeypatch.setenv("PGPASSFILE", str(db.passfile(tmp_path)))
    with pytest.raises(LcbError) as e:
        merge.merge(demo, db.uri)
    assert "CREATE EXTENSION postgis" in e.value.text()
    assert db.rows("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'lcb'") == [(0,)]


def test_passwords_never_appear(pg_db, demo, tmp_path):
    """A password given in the URI works but appears in no result, batch, audit row or error message."""
    secret = pg_db.password
    res = merge.merge(demo, pg_db.uri_with_password)
    text = json.dumps(res, ensure_ascii=False)
    assert secret not in text and "lcb@127.0.0.1" in res["target"]
    dump = pg_db.rows("SELECT row_to_json(b)::text FROM lcb.batches b UNION ALL SELECT row_to_json(a)::text FROM lcb.audit a")
    assert dump and not any(secret in r[0] for r in dump)
    wrong = pg_db.uri_with_password.replace(secret, "Wr0ng-S3cret")
    for bad in (wrong, pg_db.pg_string.replace(secret, "Wr0ng-S3cret")):
        with pytest.raises(LcbError) as e:
            merge.merge(demo, bad)
        assert "Wr0ng-S3cret" not in e.value.text() and "password authentication failed" in e.value.text()
    logged = []
    merge.merge(demo, pg_db.pg_string, progress=Progress(log=logged.append))
    assert not any(secret in x for x in logged)


def test_targets_are_parsed_and_masked():
    t = pgconn.parse("postgresql://ann:p%40ss@db.example:5433/county?sslmode=require&schema=reg")
    assert t.params == dict(user="ann", password="p@ss", host="db.example", port="5433", dbname="county", sslmode="require")
    assert t.schema == "reg" and "p@ss" not in t.display() and t.display().startswith("postgresql://ann@db.example:5433/county")
    t = pgconn.parse("PG:dbname='my db' host=h user=u password='a b\\'c' active_schema=x", schema="y")
    assert t.params == dict(dbname="my db", host="h", user="u", password="a b'c") and t.schema == "y"
    assert pgconn.parse("PG:service=county").params == {"service": "county"}
    assert pgconn.parse("/data/reg.gpkg") is None and pgconn.parse("county connection") is None
    assert pgconn.mask("postgresql://u:secret@h/d and PG:password=secret2 host=h") == "postgresql://u:***@h/d and PG:password=*** host=h"
    with pytest.raises(LcbError):
        pgconn.parse("postgresql://u@h/d?bogus=1")
    with pytest.raises(LcbError):
        pgconn.schema_name("public")


def test_archive_copy_is_refused_for_a_database(demo):
    with pytest.raises(LcbError) as e:
        merge.merge(demo, "postgresql://u@127.0.0.1:1/x", copy_archive=True)
    assert "COPY_ARCHIVE" in e.value.text()


def test_copy_text_format_round_trips_awkward_values(pg_db):
    """Backslashes, tabs, newlines, quotes, NULL versus empty text and full-precision doubles survive COPY, the fast way
    and the exact way; a value holding one of the fast way's control characters is refused (Unsafe) and goes the exact way."""
    stage = sqlite3.connect(":memory:")
    stage.execute("CREATE TABLE t (a TEXT, b REAL, c INTEGER)")
    vals = [("a\\b\tc\nd\re'\"\\N", 0.1 + 0.2, 3), ("", 1e-300, None), (None, None, 7), ("中文", 12.5, 2 ** 40), ("x", "not a number", "7.0")]
    want = [("a\\b\tc\nd\re'\"\\N", 0.1 + 0.2, 3), ("", 1e-300, None), (None, None, 7), ("中文", 12.5, 2 ** 40), ("x", None, 7)]
    stage.executemany("INSERT INTO t VALUES (?, ?, ?)", vals)
    fields = [("a", "TEXT"), ("b", "REAL"), ("c", "INTEGER")]
    c = pg_db.connect()
    cur = c.cursor()
    for exact in (False, True):
        cur.execute("CREATE TEMP TABLE t (a text, b double precision, c bigint)")
        assert pgstore.copy(stage, cur, "t", ["a", "b", "c"], fields, "FROM t ORDER BY rowid", exact) == 5
        cur.execute("SELECT a, b, c FROM t")
        assert cur.fetchall() == want, exact
        cur.execute("DROP TABLE t")
    c.commit()
    stage.execute("INSERT INTO t VALUES (?, 1, 1)", ("bad\x1evalue",))
    cur.execute("CREATE TEMP TABLE t (a text, b double precision, c bigint)")
    with pytest.raises(pgstore.Unsafe):
        pgstore.copy(stage, cur, "t", ["a", "b", "c"], fields, "FROM t ORDER BY rowid")
    c.rollback()
    cur.execute("CREATE TEMP TABLE t (a text, b double precision, c bigint)")
    pgstore.copy(stage, cur, "t", ["a", "b", "c"], fields, "FROM t ORDER BY rowid", True)
    cur.execute("SELECT a FROM t ORDER BY ctid DESC LIMIT 1")
    assert cur.fetchone() == ("bad\x1evalue",)
    c.close()
