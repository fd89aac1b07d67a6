"""Change packages applied to a registration database in PostgreSQL (lcb:apply_changes TARGET, issue 15 with issue
13): the same package applied to a GeoPackage and to PostgreSQL registration databases of the same delivery gives
the same outcome — counts, field values, 不动产单元号, cancelled parcels in cbdk_history, the standard's tables, the
batch row, the conflicts — through the store seam in one transaction. Real PostgreSQL (tests/pgcluster.py)."""
import json
import shutil

import pytest

import changes_helpers as helpers
from paused import kill, start_paused
from land_contract_bridge.core import merge, pgconn
from land_contract_bridge.core.changes import apply_changes, export_changes, state
from land_contract_bridge.core.errors import LcbError
from land_contract_bridge.core.registration import schema, standard

COUNTS = ("CHANGES", "APPLIED", "CONFLICTS", "ALREADY", "INSERTED", "UPDATED", "CANCELLED", "noop")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """D: a generated delivery; A: its registration GeoPackage; A2: A as the registration side has it after D2 (D with
    one change of every business kind, merged with replace, the cancelled parcel removed)."""
    return helpers.build_world(tmp_path_factory.mktemp("pgchanges"))


def connect(target):
    """A read connection to a registration database: the same SQL on both (core/pgconn.py translates it)."""
    return pgconn.connect_read(target) if isinstance(target, pgconn.PgTarget) else state.open_readonly(target)


def snapshot(target):
    """What a registration clerk would check, comparable between the two kinds of database."""
    c = connect(target)
    try:
        def q(sql):
            return sorted(tuple(r) for r in c.execute(sql).fetchall())
        fields = ", ".join(["DKBM", "BDCDYH", "PCID", "YJHASH", "XSZT"] + list(schema.HASHED))
        zd = [x for x in schema.ZDJBXX.columns]
        out = dict(
            cbdk=q(f"SELECT {fields} FROM cbdk"),
            alloc=q("SELECT DKBM, BDCDYH, PCID FROM bdcdyh_alloc"),
            history=q("SELECT DKBM, BDCDYH, PCID, ZXPCID, ZXYY FROM cbdk_history") if _has(c, "cbdk_history") else [],
            zdjbxx=q(f"SELECT {', '.join(zd)} FROM ZDJBXX"),
            nydsyq=q(f"SELECT {', '.join(schema.NYDSYQ.columns)} FROM NYDSYQ"),
            qlr=q(f"SELECT {', '.join(schema.QLR.columns)} FROM QLR"),
            batches=q("SELECT fid, fingerprint, county, parcels, inserted, updated, unchanged, conflicts, classes, epsg FROM batches"),
            conflicts=sorted(_untimed(r) for r in q("SELECT PCID, DKBM, fields, existing, incoming, resolution FROM conflicts")),
            audit=q("SELECT action, DKBM, PCID, detail FROM audit WHERE action LIKE 'change:%' OR action = 'apply_changes'"),
            copies=q("SELECT PCID, COUNT(*) FROM qs_cbdkxx GROUP BY PCID") + q("SELECT PCID, COUNT(*) FROM qs_cbf_jtcy GROUP BY PCID"),
            drift=sorted(standard.drift(c)),
        )
    finally:
        c.close()
    return out


def _untimed(row):
    """A conflicts row without the time of a cancellation (ZXSJ, the second each apply ran; history is compared
    without it too)."""
    if row[2] != "cancelled":
        return row
    existing = json.loads(row[3])
    existing.pop("ZXSJ", None)
    return row[:3] + (json.dumps(existing, ensure_ascii=False),) + row[4:]


def _has(c, table):
    if isinstance(c, pgconn.PgConnection):
        return c.has_table(table)
    return c.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is not None


def counts(res):
    return {k: res[k] for k in COUNTS}


def pg_target(pg_db, world, schema_name):
    t = pgconn.PgTarget(pg_db.params(), schema_name)
    merge.merge(world["D"], t)
    return t


def test_a_package_applied_to_postgis_gives_the_geopackage_outcome(world, pg_db, tmp_path):
    target = pg_target(pg_db, world, "city")
    # the PostgreSQL database reads as the same state as the GeoPackage the same delivery was merged into
    assert state.fingerprint(target) == state.fingerprint(world["A"])
    pkg = tmp_path / "pkg"
    res = export_changes(world["A"], world["A2"], pkg, sender="农业农村局", receiver="自然资源局")
    gp = tmp_path / "T.gpkg"
    shutil.copy(world["A"], gp)
    want = apply_changes(pkg, gp)
    out = apply_changes(pkg, target)
    # the counts of the GeoPackage apply, and every record applied: one new parcel, one cancelled
    assert counts(out) == counts(want)
    assert (out["APPLIED"], out["CONFLICTS"], out["INSERTED"], out["CANCELLED"]) == (res["CHANGES"], 0, 1, 1) and out["UPDATED"] > 0
    assert out["batch"] == want["batch"] == 2
    # the same database content: parcels and their fields, numbers, history, standard tables, batch, log
    a, b = snapshot(gp), snapshot(target)
    for part in a:
        assert b[part] == a[part], part
    assert b["drift"] == [] and len(b["history"]) == 1 and b["zdjbxx"] and b["qlr"]
    gone, new = world["changed"]["注销"][0], world["changed"]["首次登记"][0]
    assert [r[0] for r in b["history"]] == [gone] and gone not in {r[0] for r in b["cbdk"]}
    assert pg_db.rows("SELECT count(*) FROM city.bdcdyh_alloc WHERE dkbm = %s", (gone,)) == [(1,)]  # its number stays allocated
    numbers = {r[0]: r[1] for r in b["cbdk"]}
    assert len(numbers[new]) == 28 and numbers[new] not in {r[1] for r in b["history"]}
    assert pg_db.rows("SELECT count(*) = count(DISTINCT bdcdyh) FROM city.bdcdyh_alloc") == [(True,)]
    assert pg_db.rows("SELECT count(*) FROM city.zdjbxx z JOIN city.cbdk c ON c.bdcdyh = z.bdcdyh WHERE c.dkbm = %s", (new,)) == [(1,)]
    # the registration fingerprint of the clerk's own database (numbers, classes, holders): as the GeoPackage's
    fp = state.fingerprint(target)
    assert fp["content"] == state.fingerprint(world["A2"])["content"] == res["result"]
    assert fp["registration"] == state.fingerprint(gp)["registration"]
    # the same package again changes nothing
    before = snapshot(target)
    again = apply_changes(pkg, target)
    assert again["noop"] and again["APPLIED"] == 0 and snapshot(target) == before
    assert pg_db.rows("SELECT count(*) FROM city.batches") == [(2,)]
    # and the database exports as the package's result
    export_changes(world["A"], target, tmp_path / "back")
    assert (tmp_path / "back" / "changes.jsonl").read_bytes() == (pkg / "changes.jsonl").read_bytes()
    # the older delivery merged again: the cancelled parcel is not brought back, it is a conflict (as in the GeoPackage)
    keys = ("INSERTED", "UPDATED", "UNCHANGED", "CONFLICTS", "CANCELLED")
    m_gp, m_pg = merge.merge(world["D"], gp), merge.merge(world["D"], target)
    assert {k: m_pg[k] for k in keys} == {k: m_gp[k] for k in keys} and m_pg["CANCELLED"] == 1
    a, b = snapshot(gp), snapshot(target)
    for part in a:
        assert b[part] == a[part], part
    assert [r[1:3] + r[4:] for r in b["conflicts"] if r[2] == "cancelled"] == [(gone, "cancelled", "{}", "kept")]
    assert gone not in {r[0] for r in b["cbdk"]}


def _package(world, tmp_path, edit, name):
    d = helpers.copy_delivery(world["D"], tmp_path / name)
    ed = helpers.Delivery(d)
    edit(ed)
    ed.close()
    pkg = tmp_path / f"{name}.pkg"
    export_changes(world["D"], d, pkg)
    return pkg


def test_conflicts_on_postgis_are_refused_then_recorded_as_on_a_geopackage(world, pg_db, tmp_path):
    p = {}

    def theirs(d):
        p["dk"] = d.parcels_of(d.households()[6])[0]
        d.correct(p["dk"], name="他方更正", shift=1.0)

    def mine(d):
        d.correct(d.parcels_of(d.households()[6])[0], name="我方更正", shift=0.5)
        d.add_member(d.households()[4])
        p["new"] = d.first_registration(d.parcels_of(d.households()[8])[0])  # a number allocated here (no sender number)
    other, pkg = _package(world, tmp_path, theirs, "theirs"), _package(world, tmp_path, mine, "mine")
    target = pg_target(pg_db, world, "conflicts")
    gp = tmp_path / "T.gpkg"
    shutil.copy(world["A"], gp)
    for t in (gp, target):
        apply_changes(other, t)
    before = snapshot(target)
    with pytest.raises(LcbError) as e:
        apply_changes(pkg, target)
    assert "冲突" in e.value.zh and p["dk"] in e.value.zh and "ON_DIVERGED" in e.value.en
    assert snapshot(target) == before  # refused: nothing written
    want = apply_changes(pkg, gp, on_diverged="apply")
    out = apply_changes(pkg, target, on_diverged="apply")
    assert counts(out) == counts(want) and out["CONFLICTS"] == 1 and out["conflicts"] == want["conflicts"]
    a, b = snapshot(gp), snapshot(target)
    for part in a:
        assert b[part] == a[part], part
    (_pcid, dkbm, _f, existing, incoming, resolution), = b["conflicts"]
    assert dkbm == p["dk"] and "他方更正" in existing and "我方更正" in incoming and resolution == "kept"
    assert pg_db.rows("SELECT dkmc FROM conflicts.cbdk WHERE dkbm = %s", (p["dk"],)) == [("他方更正",)]  # kept
    assert out["INSERTED"] == 1 and pg_db.rows("SELECT count(*) = count(DISTINCT bdcdyh) FROM conflicts.bdcdyh_alloc") == [(True,)]
    assert pg_db.rows("SELECT count(*) FROM conflicts.cbdk WHERE dkbm = %s AND length(bdcdyh) = 28", (p["new"],)) == [(1,)]
    again = apply_changes(pkg, target, on_diverged="apply")
    assert again["noop"] and again["CONFLICTS"] == 1 and snapshot(target) == b


def test_a_schema_without_a_registration_database_is_refused(world, pg_db, tmp_path):
    pkg = tmp_path / "pkg"
    export_changes(world["A"], world["A2"], pkg)
    with pytest.raises(LcbError) as e:
        apply_changes(pkg, pgconn.PgTarget(pg_db.params(), "empty"))
    assert "empty" in e.value.text() and "SCHEMA" in e.value.text()


def test_sigkill_during_apply_on_postgis_commits_nothing(world, pg_db, tmp_path):
    """A process killed inside its transaction (after every write, before the commit): the server rolls it back."""
    import tempfile
    from pathlib import Path

    target = pg_target(pg_db, world, "killed")
    pkg = tmp_path / "pkg"
    export_changes(world["A"], world["A2"], pkg)
    before = snapshot(target)
    marker = Path(tempfile.gettempdir()) / "lcb-pause-killed.before_commit"
    p = start_paused("apply_changes(sys.argv[1], sys.argv[2])", [pkg, pg_db.uri_with_password + "?schema=killed"], marker)
    try:
        assert marker.exists(), "apply never reached the pause point"
        # its writes are there, uncommitted: another session sees the database as it was
        assert pg_db.rows("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")[0][0] >= 1
        assert snapshot(target) == before
    finally:
        kill(p)
        marker.unlink(missing_ok=True)
    assert snapshot(target) == before
    out = apply_changes(pkg, target)  # and the package still applies (the server released the locks)
    assert out["APPLIED"] == out["CHANGES"] and not out["noop"]
