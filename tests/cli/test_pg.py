"""The shared registration database in PostgreSQL/PostGIS through real qgis_process runs (scripts/lcb-process):
merge by URI and by PG: string, three deliveries merged concurrently by separate processes (one in another CRS,
one of another county), SIGKILL mid-merge, the consultation report from PostGIS equal to the GeoPackage's, and no
password in any output."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import run_generator

ROOT = Path(__file__).resolve().parents[2]
LCBP = str(ROOT / "scripts" / "lcb-process")


def start(alg, env, **params):
    return subprocess.Popen([LCBP, "--json", "run", alg, "--", *[f"{k}={v}" for k, v in params.items()]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(p, timeout=900):
    out, err = p.communicate(timeout=timeout)
    try:
        res = json.loads(out)["results"]
    except (ValueError, KeyError):
        res = {}
    return p.returncode, res, out, err


def run(alg, env, **params):
    return finish(start(alg, env, **params))


@pytest.fixture
def env(pg_db, tmp_path):
    """qgis_process finds the password in a .pgpass file (PGPASSFILE), as the README recommends."""
    return dict(os.environ, PGPASSFILE=str(pg_db.passfile(tmp_path)))


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory, demo):
    """The sample (EPSG:4527), a second township in the other convention of the same zone (EPSG:4548) and a
    township of another county."""
    out = tmp_path_factory.mktemp("pgcli")
    t3, truth3 = run_generator(out / "t3", "--parcels", "3000", "--township", "003", "--epsg", "4548", "--defects", "0.02", "--seed", "21")
    c2, truth2 = run_generator(out / "c2", "--parcels", "3000", "--county", "371502", "--county-name", "东昌府区", "--township", "002",
                               "--defects", "0.02", "--seed", "22")
    return [(demo, 299), (t3, len(truth3["parcels"])), (c2, len(truth2["parcels"]))]


def test_three_deliveries_merged_concurrently_by_separate_processes(pg_db, env, deliveries, tmp_path):
    """No duplicate 不动产单元号, no lost row, no failure; the report equals the one from a GeoPackage of the same
    deliveries; a second round of the same three changes nothing."""
    procs = [start("lcb:merge", env, INPUT=d, TARGET=pg_db.uri, SCHEMA="city") for d, _n in deliveries]
    done = [finish(p) for p in procs]
    assert [d[0] for d in done] == [0, 0, 0], [d[3][-1500:] for d in done]
    assert [d[1]["INSERTED"] for d in done] == [n for _d, n in deliveries]
    total = sum(n for _d, n in deliveries)
    assert pg_db.rows("SELECT count(*), count(DISTINCT dkbm), count(DISTINCT bdcdyh) FROM city.cbdk") == [(total, total, total)]
    assert pg_db.rows("SELECT count(*), count(DISTINCT bdcdyh) FROM city.bdcdyh_alloc") == [(total, total)]
    assert pg_db.rows("SELECT count(*) FROM city.batches") == [(3,)]
    # the OUTPUT layer is QGIS's source of the PostGIS table, without a password
    out = done[0][1]["OUTPUT"]
    assert out.startswith("postgres://") and 'table="city"."cbdk"' in out and "password" not in out
    # the report from PostGIS equals the report from a GeoPackage of the same deliveries (merged in the same order
    # as the database's batches record them, so that batch numbers agree)
    order = [r[0] for r in pg_db.rows("SELECT package FROM city.batches ORDER BY fid")]
    gp = tmp_path / "reg.gpkg"
    epsg = pg_db.rows("SELECT srid FROM geometry_columns WHERE f_table_schema = 'city' AND f_table_name = 'cbdk'")[0][0]
    for pkg in order:
        code, _res, _o, err = run("lcb:merge", env, INPUT=pkg, TARGET=gp, TARGET_CRS=f"EPSG:{epsg}")
        assert code == 0, err[-1500:]
    assert dict(pg_db.rows("SELECT dkbm, bdcdyh FROM city.cbdk")) == dict(_gpkg(gp, "SELECT DKBM, BDCDYH FROM cbdk"))
    a = run("lcb:discrepancy_report", env, INPUT=gp, OUTPUT_HTML=tmp_path / "a.html", OUTPUT_XLSX=tmp_path / "a.xlsx")
    b = run("lcb:discrepancy_report", env, INPUT=pg_db.uri, SCHEMA="city", OUTPUT_HTML=tmp_path / "b.html", OUTPUT_XLSX=tmp_path / "b.xlsx")
    assert a[0] == b[0] == 0, b[3][-1500:]
    assert a[1]["ROWS"] == b[1]["ROWS"] > 0
    norm = [re.sub(r"登记库 [^<]*</p>", "", re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", (tmp_path / f"{x}.html").read_text("utf-8"))) for x in "ab"]
    assert norm[0] == norm[1]
    assert _xlsx_cells(tmp_path / "a.xlsx") == _xlsx_cells(tmp_path / "b.xlsx")
    # all three again, at the same time: nothing changes
    procs = [start("lcb:merge", env, INPUT=d, TARGET=pg_db.uri, SCHEMA="city") for d, _n in deliveries]
    again = [finish(p) for p in procs]
    assert [(d[0], d[1]["INSERTED"], d[1]["UPDATED"], d[1]["CONFLICTS"]) for d in again] == [(0, 0, 0, 0)] * 3
    assert pg_db.rows("SELECT count(*) FROM city.batches") == [(3,)]


def _gpkg(path, sql):
    import sqlite3
    c = sqlite3.connect(path)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def _xlsx_cells(path):
    import zipfile
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml"}


def test_sigkill_of_a_qgis_process_merge_commits_nothing(pg_db, env, demo):
    schema = "killed"
    marker = Path(tempfile.gettempdir()) / f"lcb-pause-{schema}.before_commit"
    marker.unlink(missing_ok=True)
    p = start("lcb:merge", dict(env, LCB_TEST_PAUSE="before_commit"), INPUT=demo, TARGET=pg_db.uri, SCHEMA=schema)
    for _ in range(1200):
        if marker.exists() or p.poll() is not None:
            break
        time.sleep(0.05)
    assert marker.exists(), p.communicate()[1][-1500:] if p.poll() is not None else "no pause"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    marker.unlink(missing_ok=True)
    for _ in range(100):
        if not pg_db.rows("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state LIKE 'idle in transaction%%'", (pg_db.name,))[0][0]:
            break
        time.sleep(0.1)
    assert [pg_db.rows(f"SELECT count(*) FROM {schema}.{t}")[0][0] for t in ("cbdk", "batches", "bdcdyh_alloc", "qs_cbf")] == [0, 0, 0, 0]
    code, res, _o, err = run("lcb:merge", env, INPUT=demo, TARGET=pg_db.uri, SCHEMA=schema)
    assert code == 0 and res["INSERTED"] == 299, err[-1500:]


def test_pg_string_and_clean_errors_without_passwords(pg_db, env, demo, tmp_path):
    secret = pg_db.password
    code, res, out, err = run("lcb:merge", dict(os.environ), INPUT=demo, TARGET=pg_db.pg_string)
    assert code == 0 and res["INSERTED"] == 299, err[-1500:]
    assert secret not in json.dumps(res) and secret not in err
    bad = pg_db.pg_string.replace(secret, "Wr0ng-S3cret")
    code, res, out, err = run("lcb:merge", dict(os.environ), INPUT=demo, TARGET=bad)
    assert code != 0 and "password authentication failed" in err and "Wr0ng-S3cret" not in err
    assert "Traceback" not in err
    code, _res, _o, err = run("lcb:merge", env, INPUT=demo, TARGET="no such connection")
    assert code != 0 and "QGIS 中的 PostgreSQL 连接名" in err and "Traceback" not in err
    # the village atlas draws the PostGIS layer; the notices and dossiers read the database too
    code, res, _o, err = run("lcb:discrepancy_report", env, INPUT=pg_db.uri, OUTPUT_ATLAS=tmp_path / "atlas.pdf")
    assert code == 0 and res["ROWS"] == 124, err[-1500:]
    assert (tmp_path / "atlas.pdf").read_bytes()[:5] == b"%PDF-"
    code, res, _o, err = run("lcb:farmland_notice", env, INPUT=pg_db.uri, OUTPUT_FOLDER=tmp_path / "notices")
    assert code == 0 and res["NOTICES"] > 0, err[-1500:]
    code, res, _o, err = run("lcb:parcel_dossier", env, INPUT=pg_db.uri, DKBM="3715260010010400065", OUTPUT_FOLDER=tmp_path / "dossiers")
    assert code == 0 and res["DOSSIERS"] == 1, err[-1500:]
    assert (tmp_path / "dossiers" / "地块档案_3715260010010400065.pdf").read_bytes()[:5] == b"%PDF-"


def test_a_change_package_applied_to_postgis_by_qgis_process(pg_db, env, tmp_path):
    """lcb:apply_changes with TARGET a PostgreSQL URI and SCHEMA: the package exported from two deliveries applies
    (a new parcel gets its number in the database), the OUTPUT layer is the PostGIS table, a second run is a no-op."""
    import changes_helpers as helpers
    from land_contract_bridge.core.changes import export_changes
    d, _truth = run_generator(tmp_path / "gen", "--parcels", "300", "--seed", "5", "--township", "002")
    d2 = helpers.copy_delivery(d, tmp_path / "d2")
    ed = helpers.Delivery(d2)
    helpers.all_kinds(ed)
    ed.close()
    export_changes(d, d2, tmp_path / "pkg")
    code, res, _o, err = run("lcb:merge", env, INPUT=d, TARGET=pg_db.uri, SCHEMA="chg")
    assert code == 0 and res["INSERTED"] == 300, err[-1500:]
    code, res, _o, err = run("lcb:apply_changes", env, INPUT=tmp_path / "pkg", TARGET=pg_db.uri, SCHEMA="chg")
    assert code == 0, err[-1500:]
    assert (res["APPLIED"], res["CONFLICTS"], res["INSERTED"], res["CANCELLED"]) == (res["CHANGES"], 0, 1, 1)
    assert res["OUTPUT"].startswith("postgres://") and 'table="chg"."cbdk"' in res["OUTPUT"] and pg_db.password not in json.dumps(res)
    assert pg_db.rows("SELECT count(*), count(DISTINCT bdcdyh) FROM chg.cbdk") == [(300, 300)]  # one in, one out
    assert pg_db.rows("SELECT count(*) FROM chg.cbdk_history") == [(1,)]
    assert pg_db.rows("SELECT count(*) FROM chg.zdjbxx z JOIN chg.cbdk c ON c.bdcdyh = z.bdcdyh WHERE c.pcid = 2") != [(0,)]
    code, again, _o, err = run("lcb:apply_changes", env, INPUT=tmp_path / "pkg", TARGET=pg_db.uri, SCHEMA="chg")
    assert code == 0 and (again["APPLIED"], again["ALREADY"]) == (0, res["CHANGES"]), err[-1500:]
    assert pg_db.rows("SELECT count(*) FROM chg.batches") == [(2,)]
    # and back: the PostgreSQL database (now at D2's content) as BASE, D as CURRENT — the reverse package
    code, back, _o, err = run("lcb:export_changes", env, BASE=pg_db.uri, SCHEMA="chg", CURRENT=d, OUTPUT=tmp_path / "back")
    assert code == 0 and back["CHANGES"] > 0 and back["PACKAGE_ID"], err[-1500:]
    manifest = json.loads((tmp_path / "back" / "manifest.json").read_text("utf-8"))
    assert pg_db.password not in json.dumps(manifest) and manifest["counts"]["by_kind"]["注销"] >= 1  # the new parcel goes again
