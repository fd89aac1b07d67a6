"""Change-package timings (issue 13): a generated county of N parcels merged, a copy of the delivery changed by
M business operations of every kind (tests/changes_helpers.py), then

- export_changes(registration database A, changed delivery D′) and export_changes(A, A′) (two GeoPackages),
- apply_changes(package, copy of A), checked: the result has D′'s content fingerprint,

with the package's size, against `ogr2ogr -f GPKG` copying the same DK layer in the same run (the machine is shared:
read the ratio, not the seconds). --postgis also merges the delivery into a throw-away PostgreSQL cluster
(tests/pgcluster.py, fsync on) and applies the same package there (issue 15), checked against the GeoPackage's
outcome (content and registration fingerprints).

    python benchmarks/bench_changes.py --parcels 100000 --changes 1000 [--work /tmp/lcb-bench-changes] [--keep] [--postgis]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / ".lcb" / "plugins"))

import changes_helpers as helpers  # noqa: E402
from land_contract_bridge.core import merge  # noqa: E402
from land_contract_bridge.core.changes import apply_changes, export_changes, state  # noqa: E402

SHARE = [("转让", 0.20), ("互换", 0.10), ("家庭成员变化", 0.15), ("流转", 0.05), ("更正", 0.35), ("注销", 0.10), ("首次登记", 0.05)]


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def change(d, n):
    """n business operations on distinct households, in the shares of SHARE."""
    hh = iter(d.households())
    done = {}
    for kind, share in SHARE:
        k = max(1, round(n * share))
        for i in range(k if kind != "互换" else max(1, k // 2)):
            a = next(hh)
            if kind == "转让":
                d.transfer(d.parcels_of(a)[0], next(hh))
            elif kind == "互换":
                d.exchange(d.parcels_of(a)[0], d.parcels_of(next(hh))[0])
            elif kind == "家庭成员变化":
                d.add_member(a, id_number=f"3715262018{i:08d}")
            elif kind == "流转":
                d.management_transfer(d.parcels_of(a)[0], lzhtbm=f"371526LZ{i:010d}")
            elif kind == "更正":
                d.correct(d.parcels_of(a)[0])
            elif kind == "注销":
                d.cancel(d.parcels_of(a)[-1])
            elif kind == "首次登记":
                d.first_registration(d.parcels_of(a)[0], serial=f"9{i:04d}", cbf_serial=f"9{i:03d}")
            done[kind] = done.get(kind, 0) + (2 if kind == "互换" else 1)
    return done


def size(folder):
    return {p.name: p.stat().st_size for p in Path(folder).iterdir()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=100000)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--work", default="/tmp/lcb-bench-changes")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--postgis", action="store_true")
    args = ap.parse_args()
    w = Path(args.work)
    shutil.rmtree(w, ignore_errors=True)
    w.mkdir(parents=True)
    r = {}
    _, r["generate"] = timed(subprocess.run, [sys.executable, str(ROOT / "benchmarks" / "make_delivery.py"), "--out", str(w / "gen"),
                                              "--parcels", str(args.parcels), "--seed", "1"], check=True, capture_output=True)
    truth = json.loads((w / "gen" / "truth.json").read_text("utf-8"))
    d = w / "gen" / truth["package_root"]
    dk = next((d / "矢量数据").glob("DK*.shp"))
    _, r["ogr2ogr DK → GPKG"] = timed(subprocess.run, ["ogr2ogr", "-f", "GPKG", str(w / "ref.gpkg"), str(dk)], check=True, capture_output=True)
    a = w / "A.gpkg"
    _, r["merge (new)"] = timed(merge.merge, d, a)
    d2 = helpers.copy_delivery(d, w / "changed")
    ed = helpers.Delivery(d2)
    ops, r["make changes"] = timed(change, ed, args.changes)
    ed.close()
    res, r["export A → D′"] = timed(export_changes, a, d2, w / "pkg", sender="农业农村局", receiver="自然资源局")
    t = w / "T.gpkg"
    shutil.copy(a, t)
    out, r["apply"] = timed(apply_changes, w / "pkg", t)
    ok = state.fingerprint(t)["content"] == state.fingerprint(d2)["content"]
    res2, r["export A → A′ (two GeoPackages)"] = timed(export_changes, a, t, w / "pkg2")
    _, r["apply again (no-op)"] = timed(apply_changes, w / "pkg", t)
    if args.postgis:
        r.update(bench_postgis(d, w, t))
    ref = r["ogr2ogr DK → GPKG"]
    print(f"{args.parcels:,} parcels; {sum(ops.values())} business operations {ops}")
    print(f"package: {res['CHANGES']} records, {res['counts']['parcels']} parcels, {res['counts']['cases']} cases; "
          f"kinds {res['counts']['by_kind']}")
    sizes = size(w / "pkg")
    print(f"package size: {sum(sizes.values()):,} bytes {sizes}")
    print(f"applied {out['APPLIED']}, conflicts {out['CONFLICTS']}, inserted {out['INSERTED']}, updated {out['UPDATED']}, "
          f"cancelled {out['CANCELLED']}; result has D′'s content fingerprint: {ok}; A→A′ records {res2['CHANGES']}")
    for k, v in r.items():
        print(f"  {k:34s} {v:7.2f} s  ({v / ref:5.2f}× ogr2ogr)")
    print(f"peak RSS {_rss_mib()} MiB")
    if not args.keep:
        shutil.rmtree(w, ignore_errors=True)


def bench_postgis(d, w, t):
    """The delivery merged into PostgreSQL, the package applied there (and again): timings, outcome checked."""
    import pgcluster
    from land_contract_bridge.core import pgconn
    why = pgcluster.unavailable()
    if why:
        print(f"PostGIS skipped: {why}")
        return {}
    cluster = pgcluster.Cluster("changes-bench", settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                                                            "shared_buffers": "256MB", "max_wal_size": "4GB"}).start()
    r = {}
    try:
        target = pgconn.PgTarget(cluster.create_db().params(), "bench")
        _, r["PostGIS: merge (new)"] = timed(merge.merge, d, target)
        out, r["PostGIS: apply"] = timed(apply_changes, w / "pkg", target)
        _, r["PostGIS: apply again (no-op)"] = timed(apply_changes, w / "pkg", target)
        a, b = state.fingerprint(t), state.fingerprint(target)
        print(f"PostGIS: applied {out['APPLIED']}, conflicts {out['CONFLICTS']}, inserted {out['INSERTED']}, updated {out['UPDATED']}, "
              f"cancelled {out['CANCELLED']}; same content and registration fingerprints as the GeoPackage: "
              f"{a['content'] == b['content'] and a['registration'] == b['registration']}")
    finally:
        cluster.stop()
    return r


def _rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


if __name__ == "__main__":
    os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
    main()
