"""The benchmark behind benchmarks/run (see there). Prints one line per step and a summary against the goals."""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
GOALS = {"lcb:inventory": 1.5, "lcb:validate": 2.5, "lcb:merge (new)": 3.0, "lcb:merge (again)": 1.0}
# The PostGIS rows (issue 15) are measured against `ogr2ogr -f PostgreSQL` of the same DK layer into the same cluster.
PG_REF = "ogr2ogr -f PostgreSQL (DK)"
PG_STEPS = ["lcb:merge → PostGIS (new)", "lcb:merge → PostGIS (again)"]  # no goal of their own: the figures are reported


def measured(cmd, env=None):
    """Run a command; return (wall s, cpu s, peak RSS MiB, returncode, output tail)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        out.seek(0)
        tail = out.read()[-3000:].decode("utf-8", "replace")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), tail


def delivery(n):
    out = DATA / f"d{n // 1000}k"
    truth = out / "truth.json"
    if not truth.exists():
        print(f"generating {n} parcels in {out} …", flush=True)
        town = {100000: "003", 500000: "004"}.get(n, "005")
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_delivery.py"), "--out", str(out), "--parcels", str(n),
                        "--township", town, "--seed", str(n % 97)], check=True)
    root = json.loads(truth.read_text("utf-8"))["package_root"]
    return out / root


def qp(alg, **params):
    return ["qgis_process.bin", "--json", "run", alg, "--"] + [f"{k}={v}" for k, v in params.items()]


def bench_size(n, work, repeat=1):
    """Every step `repeat` times, in rounds (the reference, then each lcb step, then again), so that a slow moment of
    the machine does not fall on one step only; the median run of each counts (its wall, CPU and peak RSS)."""
    pkg = delivery(n)
    dk = next((pkg / "矢量数据").glob("DK*.shp"))
    runs = {}
    target = None
    for k in range(repeat):
        ref_out = work / f"dk{n}.gpkg"
        ref_out.unlink(missing_ok=True)
        steps = [("ogr2ogr -f GPKG (DK)", ["ogr2ogr", "-f", "GPKG", str(ref_out), str(dk)])]
        if target is not None:
            target.unlink(missing_ok=True)  # one county database on disk at a time
        target = work / f"reg{n}.{k}.gpkg"
        steps += [("lcb:inventory", qp("lcb:inventory", INPUT=pkg, OUTPUT_HTML=work / f"inv{n}.html", OUTPUT_XLSX=work / f"inv{n}.xlsx")),
                  ("lcb:validate", qp("lcb:validate", INPUT=pkg, OUTPUT=work / f"issues{n}.gpkg")),
                  ("lcb:merge (new)", qp("lcb:merge", INPUT=pkg, TARGET=target)),
                  ("lcb:merge (again)", qp("lcb:merge", INPUT=pkg, TARGET=target))]
        for name, cmd in steps:
            r = measured(cmd)
            if r[3] != 0:
                print(f"  {name} FAILED:\n{r[4]}")
            runs.setdefault(name, []).append(r)
    # the median run's wall and CPU; the highest peak RSS of all runs; a failure in any run shows
    rows = [(name, (*sorted(rs, key=lambda r: r[0])[len(rs) // 2][:2], max(r[2] for r in rs), max((r[3] for r in rs), key=abs), ""))
            for name, rs in runs.items()]
    spread = {name: (min(r[0] for r in rs), max(r[0] for r in rs)) for name, rs in runs.items()}
    return rows, rows[0][1][0], target, spread


def bench_postgis(n, work, gpkg_rows=None):
    """The same delivery into PostGIS: a throw-away PostgreSQL 15 + PostGIS 3 cluster (tests/pgcluster.py, durable
    settings: fsync on), `ogr2ogr -f PostgreSQL` of DK, then lcb:merge into an empty schema and again."""
    sys.path.insert(0, str(ROOT / "tests"))
    import pgcluster
    why = pgcluster.unavailable()
    if why:
        print(f"  PostGIS rows skipped: {why}")
        return [], None, None
    pkg = delivery(n)
    dk = next((pkg / "矢量数据").glob("DK*.shp"))
    cluster = pgcluster.Cluster("postgis-bench", settings={"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                                                            "shared_buffers": "256MB", "max_wal_size": "4GB"}).start()
    try:
        db = cluster.create_db()
        env = dict(os.environ, PGPASSFILE=str(db.passfile(work)))
        rows = []
        ref = measured(["ogr2ogr", "-f", "PostgreSQL", f"PG:host=127.0.0.1 port={db.port} dbname={db.name} user={db.user}", str(dk),
                        "-nln", "dk", "-nlt", "PROMOTE_TO_MULTI", "-lco", "SCHEMA=public"], env=env)
        if ref[3] != 0:
            print(f"  {PG_REF} FAILED:\n{ref[4]}")
        rows.append((PG_REF, ref))
        for name in PG_STEPS:
            r = measured(qp("lcb:merge", INPUT=pkg, TARGET=db.uri, SCHEMA="bench"), env=env)
            if r[3] != 0:
                print(f"  {name} FAILED:\n{r[4]}")
            rows.append((name, r))
        count = db.rows("SELECT count(*) FROM bench.cbdk")[0][0]
        size = db.rows("SELECT pg_total_relation_size('bench.cbdk'), pg_total_relation_size('public.dk')")[0]
        dock = bench_dock(f"{db.uri}?schema=bench", env=env)
        return rows, ref[0], dict(parcels=count, cbdk_bytes=size[0], dk_bytes=size[1], dock=dock)
    finally:
        cluster.stop()


def bench_dock(target, env=None):
    code = r'''
import sys, time, json
sys.path.insert(0, sys.argv[2])
from qgis.core import QgsApplication
app = QgsApplication([], True); app.initQgis()
from land_contract_bridge.ui.discrepancy_dock import DiscrepancyDock
d = DiscrepancyDock(None); d.resize(1400, 600); d.show()
t = time.perf_counter(); assert d.open(sys.argv[1], load_layer=False); app.processEvents(); d.grab(); first = time.perf_counter() - t
times = {}
for name, act in (("class filter", lambda: d.cls.setCurrentIndex(d.cls.findData("measured_differs"))),
                  ("text filter", lambda: (d.text.setText("0010"), d.apply_filters())),
                  ("minimum difference", lambda: (d.min_diff.setValue(50), d.apply_filters())),
                  ("sort by contract area", lambda: d.model.sort(5))):
    t = time.perf_counter(); act(); app.processEvents(); d.grab(); times[name] = time.perf_counter() - t
print(json.dumps(dict(first_paint=first, rows=d.model.rowCount(), total=len(d.table.fid), **times)))
'''
    env = dict(env or os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-c", code, str(target), str(ROOT / ".lcb" / "plugins")], capture_output=True, text=True, env=env)
    line = [x for x in p.stdout.splitlines() if x.startswith("{")]
    return json.loads(line[-1]) if line else {"error": p.stderr[-2000:]}


def merge_phases(pkg, work):
    """The merge run in-process once more, for the wall and CPU seconds of its phases (result["timings"])."""
    code = r'''
import sys, json, time
sys.path.insert(0, sys.argv[3])
from land_contract_bridge.core import merge
t = time.perf_counter()
res = merge.merge(sys.argv[1], sys.argv[2])
print(json.dumps(dict(total=time.perf_counter() - t, timings=res["timings"])))
'''
    target = work / f"phases-{pkg.parent.name}.gpkg"  # a new database for each size (not the previous size's)
    target.unlink(missing_ok=True)
    p = subprocess.run([sys.executable, "-c", code, str(pkg), str(target), str(ROOT / ".lcb" / "plugins")],
                       capture_output=True, text=True)
    line = [x for x in p.stdout.splitlines() if x.startswith("{")]
    return json.loads(line[-1]) if line else {"error": p.stderr[-2000:]}


def main():
    args = sys.argv[1:]
    phases = "--phases" in args
    postgis = "--no-postgis" not in args
    if "--postgis-only" in args:
        return main_postgis([int(x) for x in args if not x.startswith("--")] or [100000, 500000])
    repeat = int(next((a.split("=", 1)[1] for a in args if a.startswith("--repeat=")), "3"))
    sizes = [int(x) for x in args if not x.startswith("--")] or [100000, 500000]
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"{platform.platform()}")
    work = Path(tempfile.mkdtemp(prefix="lcb-bench-"))
    results = {}
    for n in sizes:
        rows, ref, target, spread = bench_size(n, work, repeat)
        results[n] = {name: dict(wall=r[0], cpu=r[1], rss=r[2], rc=r[3], wall_range=spread[name]) for name, r in rows}
        print(f"\n{n:,} parcels" + (f" (median of {repeat} runs of each step; its range in brackets)" if repeat > 1 else ""))
        print(f"  {'step':26s} {'wall s':>8s} {'cpu s':>8s} {'peak MiB':>9s} {'× ogr2ogr':>10s} {'goal':>6s}")
        for name, r in rows:
            ratio = r[0] / ref
            goal = GOALS.get(name)
            verdict = "" if goal is None else ("ok" if ratio <= goal else "MISS")
            lo, hi = spread[name]
            span = f"  [{lo:.1f}–{hi:.1f} s]" if repeat > 1 else ""
            print(f"  {name:26s} {r[0]:8.1f} {r[1]:8.1f} {r[2]:9.0f} {ratio:10.2f} {('≤' + str(goal)) if goal else '':>6s} {verdict:4s}{span}")
        results[n]["_target"] = str(target)
        if phases:
            ph = merge_phases(delivery(n), work)
            results[n]["_phases"] = ph
            print(f"  merge phases in-process (wall s / cpu s): total {ph.get('total', 0):.1f}")
            for name, (w, c) in ph.get("timings", {}).items():
                print(f"    {name:24s} {w:7.2f} {c:7.2f}")
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        print(f"\ngrowth {a:,} → {b:,} parcels (×{b / a:.0f}; goal: no worse than linear, ratio ≤ {b / a * 1.2:.0f})")
        for name in GOALS:
            print(f"  {name:26s} ×{results[b][name]['wall'] / results[a][name]['wall']:.2f}")
        peak = max(v["rss"] for n in sizes for k, v in results[n].items() if not k.startswith("_"))
        print(f"peak RSS of any step: {peak:.0f} MiB (goal ≤ 2048 MiB) {'ok' if peak <= 2048 else 'MISS'}")
    if postgis:
        for n in sizes:
            results[n]["_postgis"] = report_postgis(n, work, results[n])
    dock = bench_dock(results[sizes[-1]]["_target"])
    print(f"\n面积差异 dock at {sizes[-1]:,} parcels: "
          + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in dock.items()}, ensure_ascii=False))
    if "first_paint" in dock:
        print(f"  first paint {dock['first_paint']:.2f} s (goal ≤ 1 s) {'ok' if dock['first_paint'] <= 1 else 'MISS'}; "
              f"slowest filter {max(dock[k] for k in ('class filter', 'text filter', 'minimum difference')) * 1000:.0f} ms (goal ≤ 200 ms)")
    (work / "results.json").write_text(json.dumps(dict(results=results, dock=dock), indent=1))
    print(f"\nraw figures: {work / 'results.json'}")


def report_postgis(n, work, gpkg=None):
    rows, ref, info = bench_postgis(n, work)
    if not rows:
        return {}
    print(f"\n{n:,} parcels into PostGIS (the same cluster for the reference)")
    print(f"  {'step':30s} {'wall s':>8s} {'cpu s':>8s} {'peak MiB':>9s} {'× ogr2ogr':>10s} {'× GPKG merge':>13s}")
    g = (gpkg or {}).get("lcb:merge (new)", {}).get("wall")
    out = {}
    for name, r in rows:
        ratio = r[0] / ref
        again = (gpkg or {}).get("lcb:merge (again)", {}).get("wall")
        base = g if name.endswith("(new)") else again if name.endswith("(again)") else None
        vs = f"{r[0] / base:13.2f}" if base else " " * 13
        print(f"  {name:30s} {r[0]:8.1f} {r[1]:8.1f} {r[2]:9.0f} {ratio:10.2f} {vs}")
        out[name] = dict(wall=r[0], cpu=r[1], rss=r[2], rc=r[3])
    print("  (cpu s: the client process; the server's own CPU time is not in it)")
    print(f"  parcels in bench.cbdk: {info['parcels']:,}; table with indexes {info['cbdk_bytes'] / 2**20:.0f} MiB "
          f"(ogr2ogr's dk: {info['dk_bytes'] / 2**20:.0f} MiB)")
    dock = info["dock"]
    if "first_paint" in dock:
        print(f"  面积差异 dock on PostGIS: first paint {dock['first_paint']:.2f} s, {dock['rows']:,} rows; "
              f"slowest filter {max(dock[k] for k in ('class filter', 'text filter', 'minimum difference')) * 1000:.0f} ms")
    else:
        print(f"  面积差异 dock on PostGIS: {dock}")
    out["_info"] = info
    return out


def main_postgis(sizes):
    """benchmarks/run --postgis-only [SIZES]: the GeoPackage merge and the PostGIS rows only (for developing them)."""
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"{platform.platform()}")
    work = Path(tempfile.mkdtemp(prefix="lcb-bench-"))
    results = {}
    for n in sizes:
        pkg = delivery(n)
        dk = next((pkg / "矢量数据").glob("DK*.shp"))
        ref = measured(["ogr2ogr", "-f", "GPKG", str(work / f"dk{n}.gpkg"), str(dk)])
        g = measured(qp("lcb:merge", INPUT=pkg, TARGET=work / f"reg{n}.gpkg"))
        a = measured(qp("lcb:merge", INPUT=pkg, TARGET=work / f"reg{n}.gpkg"))
        print(f"\n{n:,} parcels into a GeoPackage: ogr2ogr -f GPKG {ref[0]:.1f} s; lcb:merge (new) {g[0]:.1f} s ({g[0] / ref[0]:.2f}×), "
              f"peak {g[2]:.0f} MiB; again {a[0]:.1f} s")
        results[n] = {"ogr2ogr -f GPKG (DK)": dict(wall=ref[0]), "lcb:merge (new)": dict(wall=g[0], cpu=g[1], rss=g[2], rc=g[3]),
                      "lcb:merge (again)": dict(wall=a[0], cpu=a[1], rss=a[2], rc=a[3])}
        results[n]["_postgis"] = report_postgis(n, work, results[n])
    (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\nraw figures: {work / 'results.json'}")


if __name__ == "__main__":
    main()
