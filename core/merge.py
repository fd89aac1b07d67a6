"""Integrate a delivery into the county registration database (整合入库): the orchestration.

A newcomer's walk through one merge (``merge()`` → ``MergeJob``):

1. ``MergeJob.prepare``: arguments checked, the delivery scanned, the target read (never written) for its CRS
   and layout version. An identical delivery merged before with the same parameters is a no-op decided here
   from the delivery's fingerprint (the fast path: nothing else is read).
2. ``MergeJob.read``: the delivery opened once (DK layer and attribute tables into a staging database,
   ``core.workspace``; a new PostgreSQL schema also has its files fingerprinted meanwhile, a new GeoPackage at the
   end of its transaction, an existing database in step 1).
   → the point where a broken delivery is refused, before anything is written (``integrity.assert_mergeable``).
3. ``records.stage_dk`` + ``records.build``: DK staged with its geometries in the target CRS; every parcel
   classified (``core.classify``) and its record derived (table REC) — set-wise, in SQL and numpy.
4. ``MergeJob.load`` with a ``store.GpkgStore``: in ONE transaction, REC compared with the parcels already there
   (new / unchanged / changed), 不动产单元号 allocated to new parcels (``bdcdyh.allocate``), new parcels
   inserted, right holders derived (``standard``), conflicts recorded (and replaced on request), the delivery's
   tables copied, the batch and audit rows written. A new database is built in a temporary file and moved into
   place when complete; an existing one is changed in the single transaction, so a killed run leaves it as before.

A new GeoPackage's records (every field and its fingerprint) are written by a second process
(``records.Records``, ``registration/recworker.py``) while step 4 copies tables, allocates numbers and writes the
spatial indexes; then that process derives the NYDSYQ and QLR rows (``DERIVED``: the statements of ``standard``
over the parcels as cbdk will hold them) while step 4 inserts the parcels and their ZDJBXX rows, and step 4 copies
them with their 不动产单元号.

Files: registration/schema.py (layout), registration/records.py (record building), registration/bdcdyh.py
(numbers), registration/standard.py (right holders), registration/store.py (the GeoPackage backend and the seam
for another one), classify.py (area classes)."""
import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import shapely

from . import crs as crsmod
from . import delivery, integrity, inventory, pgconn
from .errors import NULL_PROGRESS, LcbError, Progress
from .guard import Guard
from .output import atomic_path
from .params import Params
from .registration import bdcdyh, records, schema, standard, store
from .workspace import open_workspace

load_zoning = bdcdyh.load_zoning  # public: the ZONING parameter's reader
NEW, SAME, CHANGED, CANCELLED = 0, 1, 2, 3  # CANCELLED: a parcel the registration cancelled (cbdk_history)
TMP_SUFFIX = ".lcbtmp.gpkg"  # a new database is built as .<name>.<random>.lcbtmp.gpkg beside the target


def merge(path, target, ledger=None, params=None, on_conflict="keep", target_epsg=None, zoning=None, copy_archive=False,
          progress=NULL_PROGRESS, area_tolerance=None, source_crs=None, schema=None):
    """Merge the delivery at `path` into the registration GeoPackage `target` (created when missing), or into a
    PostgreSQL/PostGIS database: `target` a ``postgresql://`` URI, a ``PG:`` string or a ``pgconn.PgTarget``, with the
    registration database in `schema` (created when missing; default ``lcb``) — registration/pg.py.

    params: core.params.Params (AREA_TOLERANCE is the one the merge reads); area_tolerance= overrides it.
    source_crs: the delivery's CRS when its .prj is missing or wrong (EPSG code or WKT; checked against the coordinates).
    Returns PARCELS, INSERTED, UPDATED, UNCHANGED, CONFLICTS, classes, fingerprint, target, epsg (and batch)."""
    params = (params or Params()).with_(area_tolerance=area_tolerance)
    job = MergeJob(path, target, ledger=ledger, params=params, on_conflict=on_conflict, target_epsg=target_epsg,
                   zoning=zoning, copy_archive=copy_archive, progress=progress, source_crs=source_crs, schema=schema)
    known = job.prepare()
    if known is not None:
        return known
    try:
        job.read()
        return job.run()
    finally:
        job.close()


STAGES = {"read": "读取成果包 / reading the delivery", "stage DK": "暂存地块图层 / staging the DK layer",
          "classify + records": "面积差异分类、生成记录 / classifying areas, building the records", "stage geometry": "暂存图形 / staging the geometries",
          "commit": "写入登记库 / writing the registration database", "compare": "与库中记录比对 / comparing with the database",
          "insert": "写入新地块 / inserting the new parcels", "copy tables": "复制成果表 / copying the delivery's tables"}


class _Clock:
    """Wall and CPU seconds per phase of a merge (result["timings"]; benchmarks/README.md quotes them); each phase
    named in STAGES is also logged as it starts (the run's log shows stages, not only a percentage)."""

    def __init__(self, log=None):
        self.timings = {}
        self.log = log

    @contextlib.contextmanager
    def __call__(self, name):
        if self.log is not None and name in STAGES:
            self.log(STAGES[name])
        w, c = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            was = self.timings.get(name, (0, 0))  # a phase in several pieces: their sum
            self.timings[name] = (round(was[0] + time.perf_counter() - w, 3), round(was[1] + time.thread_time() - c, 3))


class MergeJob:
    """The state of one merge, passed between its steps instead of a dozen arguments."""

    def __init__(self, path, target, ledger, params, on_conflict, target_epsg, zoning, copy_archive, progress, source_crs=None, schema=None):
        if on_conflict not in ("keep", "replace"):
            raise LcbError("ON_CONFLICT 只能是 keep 或 replace", "ON_CONFLICT must be keep or replace", field="ON_CONFLICT")
        self.pg = None if isinstance(target, Path) else pgconn.target(target, schema)  # a PostgreSQL database (registration/pg.py)
        if self.pg is not None:
            self.target = self.pg
            if copy_archive:
                raise LcbError("COPY_ARCHIVE 把档案复制到 GeoPackage 旁边；PostgreSQL 登记库请把档案放在共享文件夹中",
                               "COPY_ARCHIVE copies the archive beside a GeoPackage; keep the archive of a PostgreSQL registration database "
                               "in a shared folder", field="COPY_ARCHIVE")
        else:
            self.target = Path(target)
            if self.target.suffix.lower() != ".gpkg":
                raise LcbError("目标必须是 .gpkg 文件，或 PostgreSQL 数据库（postgresql://… 或 PG:…）",
                               "the target must be a .gpkg file or a PostgreSQL database (postgresql://… or PG:…)", path=str(self.target))
        self.path, self.ledger, self.params, self.on_conflict = path, ledger, params, on_conflict
        self.requested_epsg = int(target_epsg) if target_epsg else None
        self.zoning_path, self.zoning = zoning, bdcdyh.load_zoning(zoning)
        self.copy_archive, self.progress, self.source_crs = copy_archive, progress, source_crs
        self.exists = self.target.exists() if self.pg is None else None  # a database: asked in prepare()
        self.d = self.ws = self.fp = self.epsg = None
        self.now, self.user = store.now(), store.user()
        self.result = None
        self._records = None  # records.Records: a new GeoPackage's records, written by a second process (or thread)
        self._bounds = None  # records.Geometries.bounds: every DK row's box
        self.clock = _Clock(progress.info)
        self.params_json = json.dumps(dict(area_tolerance=params.area_tolerance, ledger=_file_sha(ledger), zoning=_file_sha(zoning)),
                                      ensure_ascii=False)

    # ------------------------------------------------------------------ 1. prepare
    def prepare(self):
        """Scan the delivery; return the result of an identical earlier merge (fast path) or None."""
        self.d = delivery.scan(self.path)
        self._hashing = None
        if self.pg is not None:
            from .registration import pg
            self.exists = pg.exists(self.pg)
        if self.exists:
            self.fp = fingerprint(self.d, self.progress.sub(0, 15))
            known = _already_merged(self.target, self.fp, self.params_json)
            if known is not None:
                self.progress.set(100)
                return dict(PARCELS=known["parcels"], INSERTED=0, UPDATED=0, UNCHANGED=known["parcels"], CONFLICTS=0,
                            classes=known["classes"], target=str(self.target), fingerprint=self.fp, epsg=known["epsg"], fast_path=True)
            if self.pg is not None:
                from .registration import pg
                self.epsg = pg.target_epsg(self.pg)
            else:
                self.epsg = store.target_epsg(self.target)  # also refuses what is not a registration database of this version
        elif self.pg is not None:  # a new schema: hash the files on another core while the delivery is read
            self._start_hashing()
        # A new GeoPackage: its files are hashed during its transaction, once the records worker is done (_insert).
        return None

    def _start_hashing(self):
        """The delivery's fingerprint on other threads; _join_hashing() waits for it (or stops it on an error)."""
        box, stop = {}, threading.Event()

        def work():
            try:
                # one thread: it runs beside the merge's own work, and more threads only take the main thread's core
                box["fp"] = fingerprint(self.d, Progress(cancelled=stop.is_set), workers=1)
            except BaseException as e:  # noqa: BLE001 - a file that cannot be read, or stopped: reported by _join_hashing
                box["error"] = e
        thread = threading.Thread(target=work, name="lcb-fingerprint", daemon=True)
        thread.start()
        self._hashing = (thread, box, stop)

    def _join_hashing(self, stop=False):
        thread, box, event = self._hashing
        self._hashing = None
        if stop:
            event.set()
        with self.clock("fingerprint (wait)"):
            thread.join()
        if stop:
            return
        self.fp = box.get("fp")
        if self.fp is None:
            raise LcbError("成果包文件无法读取，无法计算指纹", "the delivery's files cannot be read to fingerprint them", path=str(self.d.root),
                           record=str(box.get("error") or "")[:200] or None)
        if self.result is not None:
            self.result["fingerprint"] = self.fp

    # ------------------------------------------------------------------ 2. read
    def read(self):
        try:
            with self.clock("read"):
                self.ws = open_workspace(self.d, ledger=self.ledger, progress=self.progress.sub(15, 40), dk_fields=records.DK_FIELDS,
                                         stage_dk=False, dk_then=records.stage_dk_aside, tables_then=records.link_tables)
        except BaseException:
            if self._hashing is not None:
                self._join_hashing(stop=True)
            raise
        if self._hashing is not None:
            self._join_hashing()
        # A delivery that cannot be read completely and correctly is refused here, before the target is touched.
        integrity.assert_mergeable(self.ws, self.target if self.pg is None else None, declared_crs=self.source_crs, progress=self.progress)
        if self.ws.dk is None:
            raise LcbError("成果包中没有地块图层（DK），无法入库", "the delivery has no DK layer", path=str(self.d.root))
        if not self.exists:
            self.epsg = self.requested_epsg or self.ws.dk.epsg

    def close(self):
        if self.ws is not None:
            self.ws.close()

    # ------------------------------------------------------------------ 3 + 4. build and load
    @property
    def pause_path(self):
        """Where the test hook LCB_TEST_PAUSE announces itself: beside the GeoPackage, or in the temporary folder."""
        if self.pg is None:
            return self.target
        import tempfile
        return Path(tempfile.gettempdir()) / f"lcb-pause-{self.pg.schema}"

    def run(self):
        progress = self.progress
        if self.pg is not None:
            from .registration import pg
            return pg.run(self)
        if self.exists:
            result = self._into(self.target, new=False)
        else:
            for stale in self.target.parent.glob(f".{self.target.stem}.*{TMP_SUFFIX}"):
                stale.unlink(missing_ok=True)  # left by a killed run
            guard = None  # removes the database being built (names, ID numbers) if this process is killed
            try:
                with atomic_path(self.target, suffix=TMP_SUFFIX) as tmp:
                    guard = Guard(tmp, f"{tmp}-journal", f"{tmp}-wal", f"{tmp}-shm")
                    store.create(tmp, self.epsg, self.ws.dk.wkt)
                    result = self._into(tmp, new=True)
            finally:
                if guard is not None:
                    guard.release()  # after the move into place: it only removes what is left of the temporary file
        progress.set(100)
        return result

    def stage_records(self, srs_id):
        """Steps 3 for any backend: DK staged with its geometries in the target CRS, the parcels classified and their
        records defined in the staging database; self.result started."""
        stage = self.ws.stage.conn
        transform = _transform(self.ws.dk.epsg, self.epsg, self.ws.dk.wkt)
        geometries = records.Geometries(self.ws.dk, transform, srs_id, self.ws.stage)  # on a second core meanwhile
        try:
            with self.clock("stage DK"):
                if self.ws.dk_then is not None:  # staged on the reader thread
                    records.adopt_dk(stage, self.ws.dk_then)
                else:
                    records.stage_dk(stage, self.ws.dk, self.progress.sub(40, 50))
            with self.clock("classify + records"):
                classes = records.build(stage, self.ws, self.d.county, self.params)
                bdcdyh.stage_zoning(stage, self.zoning)
        finally:
            geometries.join()
        _release(self.ws.dk)  # everything the merge needs from the DK layer is staged now
        with self.clock("stage geometry"):
            geometries.stage(stage)
        self._bounds = geometries.bounds
        self.progress.set(65)
        self.progress.check()
        parcels = stage.execute("SELECT COUNT(*) FROM P").fetchone()[0]
        self.result = dict(PARCELS=parcels, INSERTED=0, UPDATED=0, UNCHANGED=0, CONFLICTS=0, classes=classes,
                           target=str(self.target), fingerprint=self.fp, epsg=self.epsg, timings=self.clock.timings)

    def _into(self, path, new):
        st = store.GpkgStore(path, new=new)
        try:
            self.stage_records(st.srs_id)
            if new:  # every parcel is new: their records on the second core meanwhile (the files are hashed after them)
                types = {r[1]: r[2] for r in st.c.execute("PRAGMA main.table_info(cbdk)")}
                self._records = records.Records(self.ws.stage.path, types, DERIVED, self.d.county_name)
            st.attach_stage(self.ws.stage)
            if new:
                st.attach_records(self._records.path)
                if self._records.std_path is not None:
                    st.attach_records(self._records.std_path, "std")
                self._records.start()
            try:
                with self.clock("commit"), st.transaction(immediate=not new) as c:
                    self.load(st, c)
                    self.progress.check()
                    _test_pause("before_commit", self.pause_path)
            except _NothingToDo:
                pass  # every parcel unchanged: the target is not touched at all
        finally:
            if self._records is not None:
                self._records.stop()
            if self._hashing is not None:  # an error or a cancel before the fingerprint was needed
                self._join_hashing(stop=True)
            st.close()
        return self.result

    def load(self, st, c):
        """Everything written by one merge, inside the caller's transaction."""
        res, progress = self.result, self.progress
        c.execute("DROP TABLE IF EXISTS temp.ST")
        with self.clock("compare"):
            c.execute(f"""CREATE TEMP TABLE ST AS SELECT p.pid, p.DKBM, c.fid,
            CASE WHEN c.fid IS NULL THEN {NEW}
                 WHEN c.YJHASH = (SELECT {records.fingerprint('v')} FROM stg.RECV v WHERE v.pid = p.pid) THEN {SAME}
                 ELSE {CHANGED} END AS st
            FROM stg.P p LEFT JOIN main.cbdk c ON c.DKBM = p.DKBM""")
        c.execute("CREATE UNIQUE INDEX temp.ux_ST ON ST(pid)")
        if c.execute("SELECT 1 FROM sqlite_master WHERE name = 'cbdk_history'").fetchone():
            # A parcel cancelled by a change package (core/changes/apply.py) comes back in an older delivery: it is
            # not brought back to life, it is a conflict to resolve (with ON_CONFLICT=replace too).
            c.execute(f"UPDATE temp.ST SET st = {CANCELLED} WHERE st = {NEW} AND DKBM IN (SELECT DKBM FROM main.cbdk_history)")
        n = dict(c.execute("SELECT st, COUNT(*) FROM temp.ST GROUP BY st").fetchall())
        res["INSERTED"], res["UNCHANGED"], res["CONFLICTS"] = n.get(NEW, 0), n.get(SAME, 0), n.get(CHANGED, 0) + n.get(CANCELLED, 0)
        res["CANCELLED"] = n.get(CANCELLED, 0)
        if not res["INSERTED"] and not res["CONFLICTS"]:
            raise _NothingToDo
        batch = c.execute("INSERT INTO batches (package, county, county_name, fingerprint, params, merged_at, user, epsg) VALUES (?,?,?,?,?,?,?,?)",
                          (str(self.d.root), self.d.county, self.d.county_name, self.fp or "", self.params_json, self.now, self.user,
                           self.epsg)).lastrowid
        res["batch"] = batch
        progress.set(70)
        with st.bulk():  # new parcels in bulk, per-row triggers suspended
            if not c.execute("SELECT 1 FROM batches WHERE fingerprint = ? AND fid <> ? LIMIT 1", (self.fp, batch)).fetchone():
                with self.clock("copy tables"):
                    _copy_tables(c, self.ws.stage.has_ledger, batch)
            if res["INSERTED"]:
                with self.clock("insert"):
                    self._insert(st, c, batch)
            if self.copy_archive:
                _archive(c, self.d, self.target, batch)
        progress.set(85)
        progress.check()
        # Conflicts are few: a replacement is an ordinary UPDATE, the triggers keep the spatial index and the standard
        # tables in step (standard.triggers).
        audits = self._conflicts(c, batch) if res["CONFLICTS"] else []
        progress.set(95)
        audits.append((self.now, self.user, "merge", None, batch, json.dumps({k: v for k, v in res.items() if k.isupper()}, ensure_ascii=False)))
        c.executemany("INSERT INTO audit (at, user, action, DKBM, PCID, detail) VALUES (?,?,?,?,?,?)", audits)
        c.execute("UPDATE batches SET parcels=?, inserted=?, updated=?, unchanged=?, conflicts=?, classes=? WHERE fid=?",
                  (res["PARCELS"], res["INSERTED"], res["UPDATED"], res["UNCHANGED"], res["CONFLICTS"], json.dumps(res["classes"]), batch))
        with self.clock("indexes"):
            st.finish()
        if self._hashing is not None:  # a new database: its fingerprint, hashed meanwhile
            self._join_hashing()
            c.execute("UPDATE batches SET fingerprint = ? WHERE fid = ?", (self.fp, batch))

    def _insert(self, st, c, batch):
        """New parcels: numbers, features (with their spatial index rows) and right holders."""
        with self.clock("allocate"):
            bdcdyh.allocate(c, f"(SELECT k.pid, k.DKBM, k.FBFBM, k.TZM FROM temp.ST s JOIN stg.RECK k ON k.pid = s.pid WHERE s.st = {NEW})",
                            batch, self.now, self.d.county, self.zoning)
        base = _next_fid(c, "cbdk")  # the new parcels get base + 1, base + 2, … in DKBM order
        next_zd = _next_fid(c, "ZDJBXX")  # and their 宗地 next_zd + 1, … in the same order
        # What the right holders are derived through (standard.refresh). Every statement before records.join names
        # its database or a table of one: an unqualified name that exists nowhere ("DROP … IF EXISTS x") would take a
        # read lock on every attached database until the commit, and the records thread could not commit into rec.
        for sql in schema.STANDARD_SOURCE_INDEXES:
            c.execute(sql)
        entries = None  # _index_rows: the spatial index rows written
        if self._records is not None and (base, next_zd) == (0, 0) and not c.execute("SELECT 1 FROM temp.NA WHERE n <> pid LIMIT 1").fetchone():
            with self.clock("spatial index"):  # while the records are written: every pid is its parcel's fid here
                entries = _new_boxes(self.ws.stage.conn, self._bounds)
                for table, (ids, boxes) in entries[0].items():
                    st.fill_spatial_index(table, ids, boxes)
        cols = schema.HASHED
        rec, yjhash = "stg.RECV", records.fingerprint('v')
        if self._records is not None:
            with self.clock("indexes"):  # the numbers' own while the records are written
                st.build_indexes(tables=["bdcdyh_alloc"])
            with self.clock("records (wait)"):
                self._records.join()
            rec, yjhash = "rec.REC", "v.YJHASH"
        if entries is None:
            with self.clock("spatial index"):
                entries = _boxes(c, base, next_zd)
                for table, (ids, boxes) in entries[0].items():
                    st.fill_spatial_index(table, ids, boxes)
        c.execute(f"""INSERT INTO cbdk (fid, geom, BDCDYH, {', '.join(cols)}, PCID, YJHASH, RKSJ, XSZT)
            SELECT ? + a.n, d.geom, a.BDCDYH, {', '.join('v.' + f for f in cols)}, ?, {yjhash}, ?,
                   {records.new_xszt('v')}
            FROM temp.NA a JOIN {rec} v ON v.pid = a.pid LEFT JOIN stg.DKG d ON d._i = v.dk_i
            ORDER BY a.pid""", (base, batch, self.now))
        with self.clock("standard tables"):
            where, names = f"c.fid > {int(base)}", [t.name for t in schema.STANDARD]
            derived = self._records.derived if self._records is not None else []
            if derived:  # a new database: these derived by the records worker meanwhile, the others here
                own = [n for n in names if n not in derived]
                counts = dict(zip(own, (c.execute(sql).rowcount for sql in standard.statements(where, tables=own))))
                with self.clock("indexes"):  # the other tables' indexes while the worker finishes
                    st.build_indexes(exclude=derived)
                with self.clock("standard (wait)"):
                    self._records.join_derived()
            if self._records is not None:
                # A new database's files hashed on the second core once the records worker is done, during the
                # statements below, each a single call into SQLite. (Not during work that goes through Python row by
                # row: two threads passing the interpreter lock to and fro for every row make that several times
                # slower; nor beside the worker: three busy threads on two cores slow the insert; nor beside the
                # classification: measured slower at 500,000 parcels.)
                self._start_hashing()
            if derived:
                counts.update(zip([n for n in names if n in derived],
                                  (c.execute(sql).rowcount for sql in standard.derived_copies("std", derived))))
            else:
                counts = dict(zip(names, standard.refresh(c, where)))
            written = counts["ZDJBXX"]
        # An invariant (never a user's error): the ZDJBXX rows were written for the very parcels whose boxes went into
        # its spatial index above, in the same order.
        zd, of = entries[0]["ZDJBXX"][0], entries[1]
        ends = [(int(zd[0]), int(of[0])), (int(zd[-1]), int(of[-1]))] if written else []
        if len(zd) != written or any(c.execute("SELECT (SELECT BDCDYH FROM ZDJBXX WHERE fid = ?) IS NOT (SELECT BDCDYH FROM cbdk WHERE fid = ?)",
                                               e).fetchone()[0] for e in ends):
            raise RuntimeError("ZDJBXX rows not in the parcels' order")
        if counts["NYDSYQ"] != written:  # the same parcels: whichever side derived them, none may be missing
            raise RuntimeError(f"{counts['NYDSYQ']} NYDSYQ rows for {written} ZDJBXX rows")

    def _conflicts(self, c, batch):
        """A DKBM already in the target with different content: recorded, never silent; replaced only on request
        (keeping its 不动产单元号 and consultation record)."""
        res = self.result
        cols = schema.HASHED
        rows = c.execute(f"SELECT {', '.join('v.' + f for f in cols)}, {', '.join('c.' + f for f in cols)} "
                         f"FROM temp.ST s JOIN stg.RECV v ON v.pid = s.pid JOIN cbdk c ON c.fid = s.fid WHERE s.st = {CHANGED} "
                         "ORDER BY s.pid").fetchall()
        k = len(cols)
        conflicts, audits = conflict_records([(dict(zip(cols, row[:k])), dict(zip(cols, row[k:]))) for row in rows], cols,
                                             self.on_conflict, batch, self.now, self.user)
        if res.get("CANCELLED"):
            conflicts += cancelled_records(c.execute(
                f"SELECT s.DKBM, MAX(h.ZXSJ), MAX(h.ZXYY) FROM temp.ST s JOIN main.cbdk_history h ON h.DKBM = s.DKBM "
                f"WHERE s.st = {CANCELLED} GROUP BY s.DKBM ORDER BY s.DKBM").fetchall(), batch, self.now)
        c.executemany("INSERT INTO conflicts (PCID, DKBM, fields, existing, incoming, resolution, at) VALUES (?,?,?,?,?,?,?)", conflicts)
        if self.on_conflict == "replace" and rows:
            c.execute("DROP TABLE IF EXISTS temp.RP")
            c.execute(f"CREATE TEMP TABLE RP AS SELECT fid, pid FROM temp.ST WHERE st = {CHANGED}")
            c.execute(f"""UPDATE cbdk SET geom = x.geom, {', '.join(f'{f} = x.{f}' for f in cols)}, YJHASH = x.YJHASH, PCID = ?, RKSJ = ?
                FROM (SELECT rp.fid, d.geom, {', '.join('v.' + f for f in cols)}, {records.fingerprint('v')} AS YJHASH
                      FROM temp.RP rp JOIN stg.RECV v ON v.pid = rp.pid LEFT JOIN stg.DKG d ON d._i = v.dk_i) AS x
                WHERE cbdk.fid = x.fid""", (batch, self.now))
            res["UPDATED"] = len(rows)
        return audits


# The standard tables whose rows a new database gets from the records worker (derived there while the parcels are
# inserted here; copied with their 不动产单元号 after). ZDJBXX is derived here meanwhile: its geometries would be copied
# twice, and the two sides take about as long.
DERIVED = ("NYDSYQ", "QLR")


class _NothingToDo(Exception):
    pass


def conflict_records(pairs, cols, on_conflict, batch, at, user):
    """(conflicts rows, audit rows) for (incoming, existing) value dicts of parcels whose content differs."""
    resolution = "replaced" if on_conflict == "replace" else "kept"
    conflicts, audits = [], []
    for new, cur in pairs:
        diff = [f for f in cols if cur[f] != new[f]] or ["geometry"]
        conflicts.append((batch, new["DKBM"], ",".join(diff), json.dumps({f: cur[f] for f in diff if f != "geometry"}, ensure_ascii=False),
                          json.dumps({f: new[f] for f in diff if f != "geometry"}, ensure_ascii=False), resolution, at))
        if on_conflict == "replace":
            audits.append((at, user, "replace", new["DKBM"], batch, ",".join(diff)))
    return conflicts, audits


def cancelled_records(rows, batch, at):
    """Conflicts rows for (DKBM, ZXSJ, ZXYY) of parcels a delivery brings back after a change package cancelled them
    (cbdk_history): kept cancelled, recorded."""
    return [(batch, dkbm, "cancelled", json.dumps({"ZXSJ": zxsj, "ZXYY": zxyy}, ensure_ascii=False), "{}", "kept", at)
            for dkbm, zxsj, zxyy in rows]


def _next_fid(c, table):
    """The largest fid `table` has ever had (AUTOINCREMENT remembers deleted ones): new rows come after it."""
    return c.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), "
                     f"COALESCE((SELECT MAX(fid) FROM {table}), 0))").fetchone()[0]


def _boxes(c, base, next_zd):
    """_index_rows of the new parcels (temp.NA) from the bounds staged with the geometries: nothing is read back."""
    rows = np.array(c.execute(f"""SELECT a.n, d.minx, d.maxx, d.miny, d.maxy, {standard.REGISTRABLE_STAGED}
        FROM temp.NA a JOIN stg.P p ON p.pid = a.pid JOIN stg.DKG d ON d._i = p.dk_i JOIN stg.PC pc ON pc.pid = p.pid
        WHERE d.minx IS NOT NULL ORDER BY p.pid""").fetchall(), np.float64).reshape(-1, 6)
    return _index_rows(base + rows[:, 0].astype(np.int64), rows[:, 1:5], rows[:, 5] == 1, next_zd)


def _new_boxes(stage, bounds):
    """_boxes for a new database, where every parcel's fid is its pid: from the boxes kept in memory and ONE value
    from the staging database (pid, DK row, not unmatched? of every parcel), so that no Python runs per row while
    records.Records uses the interpreter on its thread."""
    text = stage.execute("SELECT group_concat(p.pid || ',' || COALESCE(p.dk_i, -1) || ',' || (COALESCE(pc.CYLX, '') <> 'unmatched'), ',') "
                         "FROM P p JOIN PC pc ON pc.pid = p.pid").fetchall()[0][0]
    m = np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, 3) if text else np.zeros((0, 3), np.int64)
    m = m[np.argsort(m[:, 0], kind="stable")]  # in pid order, whatever order group_concat took
    box = np.full((len(m), 4), np.nan)
    has = m[:, 1] >= 0
    box[has] = bounds[m[has, 1]]
    ok = ~np.isnan(box[:, 0])  # d.minx IS NOT NULL
    return _index_rows(m[ok, 0], box[ok], m[ok, 2] == 1, 0)


def _index_rows(fids, boxes, registrable, next_zd):
    """({"cbdk": (fids, boxes), "ZDJBXX": (ids, boxes)}, the cbdk fid of each ZDJBXX row) for new parcels with a
    geometry, in their order: a 宗地 has its parcel's geometry, so the same box, and ZDJBXX rows are written in the
    parcels' order from next_zd + 1."""
    zd = next_zd + 1 + np.arange(int(registrable.sum()), dtype=np.int64)
    return {"cbdk": (fids, boxes), "ZDJBXX": (zd, boxes[registrable])}, fids[registrable]


def _release(dk):
    """Drop the DK layer's columns and geometries once staged (at county scale they are hundreds of MiB)."""
    dk.raw, dk.nulls = {}, {}
    cache = getattr(getattr(dk, "fields", None), "cache", None)
    if cache is not None:
        cache.clear()
    dk.geoms = np.empty(0, dtype=object)


# ------------------------------------------------------------------ helpers
def _file_sha(path):
    return inventory.sha256(path) if path else ""


def fingerprint(d, progress=NULL_PROGRESS, workers=4):
    """SHA-256 over every file's path and SHA-256: the delivery's identity (equals the inventory's files sheet).
    The files are hashed by inventory.FileHashes (on `workers` threads, or one after the other with workers=1);
    a hard-linked file is read once."""
    entries = list(d.files)
    total = sum(max(0, e.size) for e in entries) or 1
    done, files = 0, []
    with inventory.FileHashes([e.abspath for e in entries], workers=workers) as hashes:
        for e in entries:
            progress.check()
            files.append((e.rel, hashes.result(e.abspath)))
            done += max(0, e.size)
            progress.set(100 * done / total)
    return hashlib.sha256("".join(f"{r}\x1f{h}\x1e" for r, h in sorted(files)).encode()).hexdigest()


def _already_merged(target, fp, params):
    """The batch that merged exactly these bytes with these parameters without conflicts, when nothing since
    could have changed its outcome (no later replacement, no parcel deleted): merging again is then a no-op."""
    from . import gpkg
    try:
        c = pgconn.connect_read(target) if isinstance(target, pgconn.PgTarget) else gpkg.connect(target)
    except Exception:  # noqa: BLE001 - a bad target is reported by the full path
        return None
    try:
        row = c.execute("SELECT fid, parcels, classes, epsg FROM batches WHERE fingerprint = ? AND params = ? AND conflicts = 0 "
                        "ORDER BY fid DESC LIMIT 1", (fp, params)).fetchone()
        if row is None:
            return None
        later = c.execute("SELECT COALESCE(SUM(updated), 0) FROM batches WHERE fid > ?", (row[0],)).fetchone()[0]
        inserted = c.execute("SELECT COALESCE(SUM(inserted), 0) FROM batches").fetchone()[0]
        present = c.execute("SELECT COUNT(*) FROM cbdk").fetchone()[0]
        if later or present < inserted:
            return None
        return dict(parcels=row[1], classes=json.loads(row[2] or "{}"), epsg=row[3])
    except Exception:  # noqa: BLE001
        return None
    finally:
        c.close()


def _transform(src, dst, src_wkt):
    """A function mapping an array of geometries from the delivery's CRS to the target's (None: same CRS)."""
    if src == dst or dst is None:
        return None
    off = crsmod.transform_offset(src, dst) if src else None
    if off is not None:
        shift = np.array(off)
        return lambda g: shapely.transform(g, lambda xy: xy + shift)
    from pyproj import CRS, Transformer
    tr = Transformer.from_crs(CRS.from_wkt(src_wkt) if src is None else CRS.from_epsg(src), CRS.from_epsg(dst), always_xy=True)
    return lambda g: shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _test_pause(point, path):
    """Test hook: with LCB_TEST_PAUSE=<point>, write <target>.<point> and wait, so a test can kill the process
    at a known place inside the transaction. Inert otherwise."""
    if os.environ.get("LCB_TEST_PAUSE") == point:
        import time
        Path(f"{path}.{point}").write_text(str(os.getpid()))
        time.sleep(600)


def _copy_tables(c, has_ledger, batch):
    """The delivery's attribute tables, copied inside SQLite (no rows through Python), once per delivery."""
    from . import schema as delivery_schema
    for table, spec in delivery_schema.TABLES.items():
        cols = ", ".join(f'"{f[0]}"' for f in spec)
        c.execute(f'INSERT INTO "{schema.QS_PREFIX}{table.lower()}" ({cols}, PCID) SELECT {cols}, ? FROM stg."{table}" ORDER BY _row', (batch,))
    if has_ledger:
        c.execute(f'INSERT INTO "{schema.QS_PREFIX}tz" (DKBM, CBFBM, CBJYQZBM, DBMJ, PCID) SELECT DKBM, CBFBM, CBJYQZBM, DBMJ, ? '
                  "FROM stg.LEDGER ORDER BY _row", (batch,))


def _archive(c, d, target, batch):
    """Copy sketches and attachments beside the database (<name>_档案/<county>/...), with SHA-256."""
    target = Path(target)
    base = target.parent / f"{target.stem}_档案" / (d.county + d.county_name)
    rows = []
    for e in list(d.sketches) + list(d.attachments):
        dst = base / e.rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            shutil.copy2(e.abspath, dst)
        rows.append((batch, e.rel, str(dst.relative_to(target.parent)), inventory.sha256(dst), dst.stat().st_size))
    c.executemany("INSERT INTO archive (PCID, rel, stored, sha256, size) VALUES (?,?,?,?,?)", rows)
