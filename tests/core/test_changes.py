"""Change packages (issue 13): the content fingerprint, export between two states, every business kind, apply in one
transaction, the round trip, no-op re-apply, base mismatch, conflicts, tampering, signing, SIGKILL."""
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import shapely

import changes_helpers as helpers
from paused import kill, start_paused
from conftest import run_generator, tree_hash
from oracle import db_rows as rows
from land_contract_bridge.core import gpkg, merge
from land_contract_bridge.core.changes import apply_changes, export_changes, package, state
from land_contract_bridge.core.errors import LcbError


HOLDERS = "SELECT q.QLRMC FROM QLR q JOIN cbdk c ON c.BDCDYH = q.BDCDYH WHERE c.DKBM = ?"


def file_hash(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def records_of(pkg):
    return [json.loads(line) for line in (Path(pkg) / "changes.jsonl").read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """D: a generated delivery; A: its registration database; D2: D with one change of every business kind;
    A2: A as the registration side would have it after D2 (merged with replace, the cancelled parcel removed)."""
    return helpers.build_world(tmp_path_factory.mktemp("changes"))


def one_kind(world, tmp_path, edit):
    """A copy of D changed by `edit(Delivery)`; returns (delivery, the parcels it changed)."""
    d = helpers.copy_delivery(world["D"], tmp_path / "dk")
    ed = helpers.Delivery(d)
    edit(ed)
    ed.close()
    return d, ed.changed


def target_copy(world, tmp_path, name="T.gpkg"):
    t = tmp_path / name
    shutil.copy(world["A"], t)
    return t


# ------------------------------------------------------------------ fingerprint
def test_a_delivery_and_its_registration_database_have_the_same_content(world, demo, tmp_path):
    assert state.fingerprint(world["D"])["content"] == state.fingerprint(world["A"])["content"]
    reg = tmp_path / "demo.gpkg"
    merge.merge(demo, reg)
    f_d, f_r = state.fingerprint(demo), state.fingerprint(reg)
    assert f_d["content"] == f_r["content"] and f_d["parcels"] == f_r["parcels"] == 299
    assert f_d["registration"] != f_r["registration"]  # a delivery has no classes, numbers or right holders


@pytest.mark.parametrize("sql", [
    "UPDATE cbdk SET BDCDYH = substr(BDCDYH, 1, 14) || '99999' || substr(BDCDYH, 20) WHERE fid = 3",  # a 不动产单元号
    "UPDATE cbdk SET CYLX = 'consistent' WHERE fid = (SELECT MIN(fid) FROM cbdk WHERE CYLX <> 'consistent')",  # a class
    "UPDATE qlr SET QLRMC = '别人' WHERE fid = 5",  # a right holder
])
def test_the_registration_fingerprint_sees_numbers_classes_and_holders(world, tmp_path, sql):
    t = target_copy(world, tmp_path)
    before = state.fingerprint(t)
    c = gpkg.connect(t)
    c.execute(sql)
    c.close()
    after = state.fingerprint(t)
    assert after["content"] == before["content"] and after["registration"] != before["registration"]


def test_the_content_fingerprint_sees_a_millimetre_and_one_attribute(world, tmp_path):
    t = target_copy(world, tmp_path)
    base = state.fingerprint(t)
    c = gpkg.connect(t)
    blob = c.execute("SELECT geom FROM cbdk WHERE fid = 7").fetchone()[0]
    g = shapely.transform(gpkg.geometry_from_blob(blob), lambda xy: xy + [0.002, 0])
    c.execute("UPDATE cbdk SET geom = ? WHERE fid = 7", (gpkg.blobs([g], c.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0])[0],))
    moved = state.fingerprint(t)
    c.execute("UPDATE qs_cbf SET CBFDZ = CBFDZ || '1' WHERE fid = 2")
    addr = state.fingerprint(t)
    c.close()
    assert len({base["content"], moved["content"], addr["content"]}) == 3
    assert sum(base["villages"][v] != moved["villages"][v] for v in base["villages"]) == 1  # only the parcel's village differs


# ------------------------------------------------------------------ the round trip
def _brief(pkg):
    return sorted((r["entity"], r["key"], r["change"], r["kind"], json.dumps(r["new"], ensure_ascii=False)) for r in records_of(pkg))


def test_round_trip_registration_databases(world, tmp_path):
    """apply(export(A, A′), copy of A) has A′'s content: parcels, attributes, geometries, classes, holders, numbers."""
    pkg = tmp_path / "pkg"
    res = export_changes(world["A"], world["A2"], pkg, sender="农业农村局", receiver="自然资源局")
    assert res["CHANGES"] == 33 and res["base"] == state.fingerprint(world["A"])["content"]
    t = target_copy(world, tmp_path)
    out = apply_changes(pkg, t)
    assert (out["APPLIED"], out["CONFLICTS"], out["INSERTED"], out["CANCELLED"]) == (33, 0, 1, 1)
    want, got = state.fingerprint(world["A2"]), state.fingerprint(t)
    assert got["content"] == want["content"] == res["result"]
    assert got["registration"] == want["registration"]
    # the applied database reads back as the same change: export(A, applied) is the package again
    export_changes(world["A"], t, tmp_path / "again")
    assert _brief(tmp_path / "again") == _brief(pkg)
    # still a valid GeoPackage (cbdk_history registered), its spatial index whole and in step with the parcels
    script = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"
    p = subprocess.run([sys.executable, script, str(t)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert rows(t, "SELECT rtreecheck('rtree_cbdk_geom')") == [("ok",)]
    assert rows(t, "SELECT COUNT(*) FROM rtree_cbdk_geom")[0][0] == rows(t, "SELECT COUNT(*) FROM cbdk WHERE geom IS NOT NULL")[0][0]
    assert rows(t, "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'cbdk'")[0][0] == rows(t, "SELECT COUNT(*) FROM cbdk")[0][0]
    # the registration standard's tables (ZDJBXX, NYDSYQ, QLR) say what the working layer says, and their triggers are back
    from land_contract_bridge.core.registration import standard, store
    c = store.register_functions(gpkg.connect(t))
    assert standard.drift(c) == set()
    c.close()
    names = {n for n, _sql in standard.triggers()}
    assert names <= {r[0] for r in rows(t, "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert rows(t, "SELECT COUNT(*) FROM ZDJBXX")[0][0] == rows(world["A2"], "SELECT COUNT(*) FROM ZDJBXX")[0][0]


def test_round_trip_from_two_deliveries_and_from_mixed_states(world, tmp_path):
    want = state.fingerprint(world["A2"])["registration"]
    for i, (base, cur) in enumerate(((world["D"], world["D2"]), (world["A"], world["D2"]), (world["D"], world["A2"]))):
        pkg = tmp_path / f"pkg{i}"
        before = tree_hash(world["D2"])
        export_changes(base, cur, pkg)
        assert tree_hash(world["D2"]) == before  # the states are only read
        t = target_copy(world, tmp_path, f"T{i}.gpkg")
        apply_changes(pkg, t)
        assert state.fingerprint(t)["registration"] == want, (base, cur)


def test_the_package_files_and_manifest(world, tmp_path):
    pkg = tmp_path / "pkg"
    export_changes(world["D"], world["D2"], pkg, sender="高唐县农业农村局", receiver="高唐县自然资源局")
    assert sorted(p.name for p in pkg.iterdir()) == ["changes.jsonl", "manifest.json", "summary.html"]
    m = json.loads((pkg / "manifest.json").read_text("utf-8"))
    assert (m["format"], m["format_version"], m["county"], m["sender"], m["receiver"]) == \
        ("lcb-change-package", "1.0", "371526", "高唐县农业农村局", "高唐县自然资源局")
    assert m["counts"]["by_kind"] == {"首次登记": 8, "转让": 6, "互换": 10, "家庭成员变化": 2, "流转": 2, "更正": 1, "注销": 4}
    assert {f["path"]: f["sha256"] for f in m["files"]} == {n: file_hash(pkg / n) for n in ("changes.jsonl", "summary.html")}
    assert m["manifest_sha256"] == package.manifest_digest(m) and m["signature"] is None
    html = (pkg / "summary.html").read_text("utf-8")
    names = {r[0] for r in rows(world["A"], "SELECT CBFMC FROM cbdk WHERE CBFMC IS NOT NULL")}
    assert "转让" in html and "37152600200101" in html and not any(n in html for n in names)  # no names in the summary


# ------------------------------------------------------------------ every business kind
KINDS = {
    "转让": lambda d: d.transfer(d.parcels_of(d.households()[0])[0], d.households()[1]),
    "互换": lambda d: d.exchange(d.parcels_of(d.households()[2])[0], d.parcels_of(d.households()[3])[0]),
    "家庭成员变化": lambda d: d.add_member(d.households()[4]),
    "流转": lambda d: d.management_transfer(d.parcels_of(d.households()[5])[0]),
    "更正": lambda d: d.correct(d.parcels_of(d.households()[6])[0]),
    "注销": lambda d: d.cancel(d.parcels_of(d.households()[7])[-1]),
    "首次登记": lambda d: d.first_registration(d.parcels_of(d.households()[8])[0]),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_business_kind_is_inferred_and_applied(world, tmp_path, kind):
    d, changed = one_kind(world, tmp_path, KINDS[kind])
    pkg = tmp_path / "pkg"
    export_changes(world["D"], d, pkg)
    recs = records_of(pkg)
    parcels = changed[kind]
    kinds_of_parcel = {r["kind"] for r in recs if set(r["parcels"]) & set(parcels) and r["entity"] in ("DK", "CBDKXX", "CBF_JTCY", "LZHT")}
    assert kinds_of_parcel == {kind}, recs
    t = target_copy(world, tmp_path)
    bdcdyh_before = dict(rows(t, "SELECT DKBM, BDCDYH FROM cbdk"))
    res = apply_changes(pkg, t)
    assert res["CONFLICTS"] == 0 and res["APPLIED"] == len(recs)
    # the outcome a registration clerk would check
    p = parcels[0]
    cur = dict(rows(t, "SELECT DKBM, BDCDYH FROM cbdk"))
    if kind == "转让":
        (cbf,) = rows(t, "SELECT CBFBM FROM cbdk WHERE DKBM = ?", (p,))[0]
        neighbour = rows(t, "SELECT DKBM FROM cbdk WHERE CBFBM = ? AND DKBM <> ? LIMIT 1", (cbf, p))[0][0]
        assert cbf == rows(world["A"], "SELECT CBFBM FROM cbdk WHERE DKBM = ?", (neighbour,))[0][0]
        assert rows(t, HOLDERS, (p,)) == rows(t, "SELECT CBFMC FROM cbdk WHERE DKBM = ?", (p,))  # the new household holds it
    elif kind == "互换":
        a, b = parcels
        before = dict(rows(world["A"], "SELECT DKBM, CBFBM FROM cbdk WHERE DKBM IN (?, ?)", (a, b)))
        after = dict(rows(t, "SELECT DKBM, CBFBM FROM cbdk WHERE DKBM IN (?, ?)", (a, b)))
        assert after == {a: before[b], b: before[a]}
    elif kind == "家庭成员变化":
        assert state.fingerprint(t)["content"] == state.fingerprint(d)["content"]
        assert rows(t, "SELECT COUNT(*) FROM qs_cbf_jtcy WHERE CYZJHM = '371526201801010011'")[0][0] == 1
    elif kind == "流转":
        assert rows(t, "SELECT LZHTBM FROM cbdk WHERE DKBM = ?", (p,)) == [("371526LZ0000000001",)]
    elif kind == "更正":
        (name, blob), = rows(t, "SELECT DKMC, geom FROM cbdk WHERE DKBM = ?", (p,))
        (blob0,), = rows(world["A"], "SELECT geom FROM cbdk WHERE DKBM = ?", (p,))
        dx = shapely.bounds(gpkg.geometry_from_blob(blob))[0] - shapely.bounds(gpkg.geometry_from_blob(blob0))[0]
        assert name == "更正后地块名" and abs(dx - 0.5) < 1e-6
    elif kind == "注销":
        assert p not in cur and rows(t, "SELECT COUNT(*) FROM cbdk_history WHERE DKBM = ? AND BDCDYH = ?", (p, bdcdyh_before[p]))[0][0] == 1
        assert rows(t, "SELECT COUNT(*) FROM bdcdyh_alloc WHERE DKBM = ?", (p,))[0][0] == 1  # the number stays allocated
    elif kind == "首次登记":
        code = cur[p]
        assert code not in bdcdyh_before.values() and len(code) == 28 and code[:12] == bdcdyh_before[parcels[0][:-5] + "00001"][:12]
        assert rows(t, "SELECT CYLX FROM cbdk WHERE DKBM = ?", (p,)) == [("consistent",)]
        assert rows(t, HOLDERS, (p,)) == [("新承包户",)]
    assert all(cur[k] == v for k, v in bdcdyh_before.items() if k in cur)  # numbers of existing parcels never change
    assert state.fingerprint(t)["content"] == state.fingerprint(d)["content"]
    assert rows(t, "SELECT COUNT(*) FROM audit WHERE action = ?", (f"change:{kind}",))[0][0] >= 1


def test_a_cancelled_number_is_never_reused(world, tmp_path):
    """Cancel the last parcel of a group, then register a new one there: it gets a fresh serial."""
    def edit(d):
        hh = d.households()
        d.cancel(d.parcels_of(hh[7])[-1])
        d.first_registration(d.parcels_of(hh[8])[0])
    d, changed = one_kind(world, tmp_path, edit)
    pkg = tmp_path / "pkg"
    export_changes(world["D"], d, pkg)
    t = target_copy(world, tmp_path)
    apply_changes(pkg, t)
    gone = rows(world["A"], "SELECT BDCDYH FROM cbdk WHERE DKBM = ?", (changed["注销"][0],))[0][0]
    new = rows(t, "SELECT BDCDYH FROM cbdk WHERE DKBM = ?", (changed["首次登记"][0],))[0][0]
    assert new != gone and gone not in {r[0] for r in rows(t, "SELECT BDCDYH FROM cbdk")}
    assert rows(t, "SELECT COUNT(*) FROM bdcdyh_alloc")[0][0] == rows(world["A"], "SELECT COUNT(*) FROM bdcdyh_alloc")[0][0] + 1


def test_an_old_delivery_does_not_bring_a_cancelled_parcel_back(world, tmp_path):
    """After a change package cancelled a parcel, merging the original delivery (which still has it) again records a
    conflict naming the cancellation, with ON_CONFLICT=replace too, and leaves the parcel in cbdk_history only."""
    d, changed = one_kind(world, tmp_path, KINDS["注销"])
    pkg = tmp_path / "pkg"
    export_changes(world["D"], d, pkg)
    t = target_copy(world, tmp_path)
    apply_changes(pkg, t)
    (p,) = changed["注销"]
    n = rows(t, "SELECT COUNT(*) FROM cbdk")[0][0]
    for mode in ("keep", "replace"):
        res = merge.merge(world["D"], t, on_conflict=mode)
        assert (res["INSERTED"], res["CANCELLED"]) == (0, 1) and res["CONFLICTS"] >= 1, res  # (the household's other parcels differ too)
        assert rows(t, "SELECT COUNT(*) FROM cbdk WHERE DKBM = ?", (p,))[0][0] == 0 and rows(t, "SELECT COUNT(*) FROM cbdk")[0][0] == n
    got = rows(t, "SELECT DKBM, fields, resolution FROM conflicts WHERE fields = 'cancelled'")
    assert got == [(p, "cancelled", "kept")] * 2
    assert rows(t, "SELECT COUNT(*) FROM ZDJBXX z JOIN cbdk_history h ON h.BDCDYH = z.BDCDYH WHERE h.DKBM = ?", (p,))[0][0] == 0


def test_the_registration_side_corrects_and_the_contract_side_applies(world, tmp_path):
    """Both directions: a correction registered at the counter (the registration database edited) goes back to
    the contract side's GeoPackage the same way."""
    reg = target_copy(world, tmp_path, "reg.gpkg")
    dk = rows(reg, "SELECT DKBM FROM cbdk WHERE CYLX = 'consistent' ORDER BY DKBM LIMIT 1")[0][0]
    c = gpkg.connect(reg)
    srs = c.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'cbdk'").fetchone()[0]
    g = shapely.transform(gpkg.geometry_from_blob(c.execute("SELECT geom FROM cbdk WHERE DKBM = ?", (dk,)).fetchone()[0]), lambda xy: xy + [0.0, 0.3])
    c.execute("UPDATE cbdk SET DKMC = '窗口更正', ZJRXM = '王某', geom = ? WHERE DKBM = ?", (gpkg.blobs([g], srs)[0], dk))
    c.close()
    pkg = tmp_path / "pkg"
    res = export_changes(world["A"], reg, pkg, sender="自然资源局", receiver="农业农村局")
    assert res["CHANGES"] == 1 and records_of(pkg)[0]["kind"] == "更正" and "geometry" in records_of(pkg)[0]
    contract_side = tmp_path / "contract.gpkg"
    merge.merge(world["D"], contract_side)
    out = apply_changes(pkg, contract_side)
    assert out["APPLIED"] == 1
    assert state.fingerprint(contract_side)["registration"] == state.fingerprint(reg)["registration"]


# ------------------------------------------------------------------ no-op, base mismatch, conflicts
def test_the_same_package_twice_is_a_no_op(world, tmp_path):
    pkg = tmp_path / "pkg"
    export_changes(world["A"], world["A2"], pkg)
    t = target_copy(world, tmp_path)
    apply_changes(pkg, t)
    before = file_hash(t)
    res = apply_changes(pkg, t)
    assert res["noop"] and res["APPLIED"] == 0 and file_hash(t) == before
    # a target that already is the package's result (A′ itself) is a no-op too
    a2 = tmp_path / "A2.gpkg"
    shutil.copy(world["A2"], a2)
    assert apply_changes(pkg, a2)["noop"] and file_hash(a2) == file_hash(world["A2"])


def _diverge(world, tmp_path, edit, name):
    """TARGET changed since the base: a package of another change applied to a copy of A."""
    d, changed = one_kind(world, tmp_path / name, edit)
    pkg = tmp_path / f"{name}.pkg"
    export_changes(world["D"], d, pkg)
    return pkg, changed


def test_a_target_not_at_the_base_is_refused_naming_what_differs(world, tmp_path):
    other, _ = _diverge(world, tmp_path, KINDS["更正"], "other")
    pkg, _ = _diverge(world, tmp_path, KINDS["转让"], "mine")
    t = target_copy(world, tmp_path)
    apply_changes(other, t)
    before = file_hash(t)
    with pytest.raises(LcbError) as e:
        apply_changes(pkg, t)
    village = records_of(other)[0]["village"]
    assert "基准" in e.value.zh and village in e.value.zh and "ON_DIVERGED" in e.value.en
    assert file_hash(t) == before
    res = apply_changes(pkg, t, on_diverged="apply")  # the two changes do not touch each other
    assert (res["APPLIED"], res["CONFLICTS"]) == (len(records_of(pkg)), 0)


def test_a_record_changed_in_target_since_the_base_is_a_conflict_never_overwritten(world, tmp_path):
    p = {}

    def theirs(d):
        p["dk"] = d.parcels_of(d.households()[6])[0]
        d.correct(p["dk"], name="他方更正", shift=1.0)

    def mine(d):
        d.correct(d.parcels_of(d.households()[6])[0], name="我方更正", shift=0.5)
        d.add_member(d.households()[4])
    other, _ = _diverge(world, tmp_path, theirs, "theirs")
    pkg, _ = _diverge(world, tmp_path, mine, "mine")
    t = target_copy(world, tmp_path)
    apply_changes(other, t)
    with pytest.raises(LcbError) as e:
        apply_changes(pkg, t)
    assert "冲突" in e.value.zh and p["dk"] in e.value.zh
    res = apply_changes(pkg, t, on_diverged="apply")
    assert res["CONFLICTS"] == 1 and res["APPLIED"] == len(records_of(pkg)) - 1
    assert rows(t, "SELECT DKMC FROM cbdk WHERE DKBM = ?", (p["dk"],)) == [("他方更正",)]  # kept
    (existing, incoming, resolution), = rows(t, "SELECT existing, incoming, resolution FROM conflicts WHERE DKBM = ?", (p["dk"],))
    assert "他方更正" in existing and "我方更正" in incoming and resolution == "kept"
    assert rows(t, "SELECT COUNT(*) FROM qs_cbf_jtcy WHERE CYZJHM = '371526201801010011'")[0][0] == 1  # the other case went in
    before = file_hash(t)
    again = apply_changes(pkg, t, on_diverged="apply")
    assert again["noop"] and again["CONFLICTS"] == 1 and file_hash(t) == before


# ------------------------------------------------------------------ tampering
@pytest.fixture
def pkg_and_target(world, tmp_path):
    pkg = tmp_path / "pkg"
    export_changes(world["D"], world["D2"], pkg)
    return pkg, target_copy(world, tmp_path)


def _flip(path, where=0.5):
    data = bytearray(path.read_bytes())
    i = int(len(data) * where)
    data[i] = ord("0") if data[i] != ord("0") else ord("1")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("case", ["byte:changes.jsonl", "byte:summary.html", "byte:manifest.json", "removed:changes.jsonl",
                                  "removed:summary.html", "removed:manifest.json", "added:extra.csv"])
def test_a_tampered_package_is_refused_naming_the_file(pkg_and_target, case):
    pkg, t = pkg_and_target
    how, name = case.split(":")
    if how == "byte":
        _flip(pkg / name)
    elif how == "removed":
        (pkg / name).unlink()
    else:
        (pkg / name).write_text("DKBM\n1\n", "utf-8")
    before = file_hash(t)
    with pytest.raises(LcbError) as e:
        apply_changes(pkg, t)
    assert name in e.value.text() and "拒绝" in e.value.zh
    assert file_hash(t) == before


def test_signed_packages(world, tmp_path, pkg_and_target):
    pytest.importorskip("cryptography")
    key, pub = tmp_path / "sender.pem", tmp_path / "sender.pub.pem"
    package.generate_keypair(key, pub)
    other, other_pub = tmp_path / "other.pem", tmp_path / "other.pub.pem"
    package.generate_keypair(other, other_pub)
    pkg = tmp_path / "signed"
    res = export_changes(world["D"], world["D2"], pkg, signing_key=key)
    assert res["signed"] and (pkg / "manifest.sig").exists()
    assert package.verify_package(pkg, pub)["signature"]["algorithm"] == "Ed25519"
    with pytest.raises(LcbError, match="另一把密钥"):
        package.verify_package(pkg, other_pub)
    with pytest.raises(LcbError, match="没有签名"):
        package.verify_package(pkg_and_target[0], pub)  # an unsigned package when the sender's key is required
    sig = (pkg / "manifest.sig").read_bytes()
    (pkg / "manifest.sig").write_bytes(sig[:10] + (b"A" if sig[10:11] != b"A" else b"B") + sig[11:])
    with pytest.raises(LcbError, match="manifest.sig"):
        package.verify_package(pkg, pub)
    (pkg / "manifest.sig").unlink()
    with pytest.raises(LcbError, match="manifest.sig"):
        package.verify_package(pkg, pub)


def test_signing_without_cryptography_is_a_clear_error(monkeypatch, tmp_path):
    import builtins
    real = builtins.__import__

    def no_crypto(name, *a, **k):
        if name.startswith("cryptography"):
            raise ImportError(name)
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_crypto)
    with pytest.raises(LcbError) as e:
        package.generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    assert "python3-cryptography" in e.value.zh


# ------------------------------------------------------------------ errors and safety
def test_export_refuses_two_counties_and_a_non_empty_folder(world, tmp_path, demo):
    other, _ = run_generator(tmp_path / "o", "--parcels", "30", "--county", "371525", "--seed", "2")
    with pytest.raises(LcbError, match="不是同一个县"):
        export_changes(world["D"], other, tmp_path / "p1")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("x", "utf-8")
    with pytest.raises(LcbError, match="不是空的"):
        export_changes(world["D"], world["D2"], busy)
    with pytest.raises(LcbError, match="既不是登记库"):
        export_changes(tmp_path / "missing.gpkg", world["D2"], tmp_path / "p2")
    assert not (tmp_path / "p1").exists() or not list((tmp_path / "p1").iterdir())


def test_a_package_for_another_county_is_refused(world, tmp_path, demo):
    other, _ = run_generator(tmp_path / "o", "--parcels", "30", "--county", "371525", "--seed", "2")
    other2 = helpers.copy_delivery(other, tmp_path / "o2")
    pkg = tmp_path / "pkg"
    export_changes(other, other2, pkg)
    t = target_copy(world, tmp_path)
    with pytest.raises(LcbError, match="371525"):
        apply_changes(pkg, t)


def test_sigkill_during_apply_leaves_the_target_as_it_was(world, tmp_path):
    pkg = tmp_path / "pkg"
    export_changes(world["A"], world["A2"], pkg)
    t = target_copy(world, tmp_path)
    before = state.fingerprint(t)
    dump = "\n".join(sqlite3.connect(t).iterdump())
    marker = Path(f"{t}.before_commit")
    p = start_paused("apply_changes(sys.argv[1], sys.argv[2])", [pkg, t], marker)
    assert marker.exists(), "apply never reached the pause point"
    assert Path(f"{t}-journal").exists()  # the transaction is open with its rollback journal
    kill(p)
    assert "\n".join(sqlite3.connect(t).iterdump()) == dump  # a reader rolls the hot journal back
    assert state.fingerprint(t) == before
    assert apply_changes(pkg, t)["APPLIED"] == 33  # and the package still applies


def test_a_package_written_by_another_system_from_the_documented_format(world, tmp_path):
    """docs/change-package.md is enough: only the required members, no fingerprints, checksums by hashlib."""
    ours = tmp_path / "ours"
    export_changes(world["D"], world["D2"], ours)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    lines = []
    for r in records_of(ours):
        slim = {k: r[k] for k in ("entity", "key", "change", "old", "new") if k in r}
        slim.update({k: r[k] for k in ("geometry", "old_geometry") if k in r})
        lines.append(json.dumps(slim, ensure_ascii=False))
    (theirs / "changes.jsonl").write_text("\n".join(reversed(lines)) + "\n", "utf-8")  # any order
    (theirs / "summary.html").write_text("<html><body>变更摘要</body></html>", "utf-8")
    m = {"format": "lcb-change-package", "format_version": "1.0", "county": "371526", "sender": "其他系统",
         "crs": json.loads((ours / "manifest.json").read_text("utf-8"))["crs"], "base": None, "result": None,
         "counts": {"records": len(lines)},
         "files": [{"path": n, "sha256": file_hash(theirs / n), "bytes": (theirs / n).stat().st_size} for n in ("changes.jsonl", "summary.html")]}
    m["manifest_sha256"] = hashlib.sha256(json.dumps(m, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    (theirs / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), "utf-8")
    t = target_copy(world, tmp_path)
    res = apply_changes(theirs, t)
    assert (res["APPLIED"], res["CONFLICTS"]) == (33, 0)
    assert state.fingerprint(t)["registration"] == state.fingerprint(world["A2"])["registration"]
    kinds = {r[0] for r in rows(t, "SELECT action FROM audit WHERE action LIKE 'change:%'")}
    assert kinds == {f"change:{k}" for k in ("首次登记", "转让", "互换", "家庭成员变化", "流转", "更正", "注销")}  # inferred here


def test_a_package_in_the_other_zone_convention_applies_exactly(tmp_path):
    """A delivery in EPSG:4548 (no zone prefix), its registration database in EPSG:4527: geometries are compared
    and written through the exact zone shift."""
    d, _ = run_generator(tmp_path / "g", "--parcels", "120", "--seed", "9", "--epsg", "4548")
    a = tmp_path / "A.gpkg"
    merge.merge(d, a, target_epsg=4527)
    d2 = helpers.copy_delivery(d, tmp_path / "d2")
    ed = helpers.Delivery(d2)
    hh = ed.households()
    ed.correct(ed.parcels_of(hh[0])[0])
    ed.first_registration(ed.parcels_of(hh[1])[0])
    ed.close()
    pkg = tmp_path / "pkg"
    res = export_changes(d, d2, pkg)
    assert json.loads((pkg / "manifest.json").read_text("utf-8"))["crs"]["epsg"] == 4548
    out = apply_changes(pkg, a)
    assert out["APPLIED"] == res["CHANGES"] and out["CONFLICTS"] == 0
    assert state.fingerprint(a, epsg=4548)["content"] == state.fingerprint(d2)["content"]
    blob = rows(a, "SELECT geom FROM cbdk WHERE DKBM = ?", (ed.changed["首次登记"][0],))[0][0]
    assert 39_000_000 < shapely.bounds(gpkg.geometry_from_blob(blob))[0] < 40_000_000  # zone 39's prefix in the easting
