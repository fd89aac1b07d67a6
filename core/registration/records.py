"""Record building: the delivery staged as tables, and the parcel records (table REC) derived from them set-wise.

1. ``stage_dk``: the DK layer's attributes and geometries (already in the target CRS, as GeoPackage blobs with
   their bounds and a coordinate digest) into table DK of the staging database — numpy/shapely in chunks.
2. ``classify.classify``: parcels (P), their CBDKXX rows (R), class and areas (PC).
3. ``build``: names, links to sketches/attachments, 地籍区 prefix and every cbdk field of every parcel into REC,
   with the content fingerprint YJHASH — one SQL statement per table, no per-row Python.

REC has the cbdk fields of ``schema.HASHED`` plus ``pid`` (DKBM order), ``dk_i`` (its DK row, for the geometry),
``ZONE`` and ``TZM`` (for 不动产单元号 allocation). The store then loads REC into the target."""
import sqlite3

import numpy as np
import shapely

from .. import attrdb, classify, gpkg, workspace
from ..params import Params
from . import schema
from .digest import geometry64
from .store import register_functions

DK_TEXT = ("DKMC", "DKLB", "TDLYLX", "DLDJ", "TDYT", "SYQXZ", "SFJBNT", "ZJRXM", "DKDZ", "DKNZ", "DKXZ", "DKBZ")
DK_FIELDS = ("DKBM", "SCMJ") + DK_TEXT  # the DK columns a merge reads
CHUNK = 50000


# ------------------------------------------------------------------ DK
def _texts(arr, n):
    """A column of UTF-8 bytes (numpy S) as a list of str ('' for empty), decoded in one C call."""
    if arr is None:
        return [""] * n
    vals = arr.tolist()
    try:
        out = b"\x00".join(vals).decode("utf-8").split("\x00")
        if len(out) == len(vals):
            return out
    except UnicodeDecodeError:
        pass
    return [v.decode("utf-8", "replace") for v in vals]


def _floats(arr):
    obj = arr.astype(object)
    obj[np.isnan(arr)] = None
    return obj.tolist()


def normalized(geoms, transform):
    """(geometries, present): an array of delivery geometries as MultiPolygons in the target CRS (`transform` applied
    when given), None where a geometry is missing or empty; `present` marks the others."""
    geoms = np.array(geoms, dtype=object, copy=True)
    ok = ~shapely.is_missing(geoms)
    if ok.any():
        empty = np.zeros(len(geoms), bool)
        empty[ok] = shapely.is_empty(geoms[ok])
        geoms[empty] = None
        ok &= ~empty
    if ok.any():
        sub = geoms[ok]
        poly = shapely.get_type_id(sub) == 3
        if poly.any():
            sub[poly] = shapely.multipolygons(sub[poly], indices=np.arange(int(poly.sum())))
        if transform is not None:
            sub = transform(sub)
        geoms[ok] = sub
    return geoms, ok


def geometry_parts(geoms, transform, srs_id):
    """GeoPackage blobs (MultiPolygon, target CRS; None when absent or empty), bounds (minx, maxx, miny, maxy)
    and 64-bit coordinate digests of an array of delivery geometries."""
    geoms, ok = normalized(geoms, transform)
    bounds = np.full((len(geoms), 4), np.nan)
    if ok.any():
        bounds[ok] = shapely.bounds(geoms[ok])[:, [0, 2, 1, 3]]
    return gpkg.blobs(geoms, srs_id), bounds, geometry64(geoms)


DK_TABLE = f"CREATE TABLE DK (_i INTEGER PRIMARY KEY, DKBM TEXT, SCMJ REAL, {', '.join(t + ' TEXT' for t in DK_TEXT)})"


def stage_dk_aside(dk, stage):
    """Table DK (stage_dk) written on the DK reader thread into a file of its own (core.workspace's dk_then) while the
    attribute tables load; adopt_dk moves it into the staging database."""
    return workspace.write_aside(stage, "dk.sqlite", lambda c: stage_dk(c, dk))[0]


def adopt_dk(conn, path):
    workspace.adopt(conn, path, [("DK", DK_TABLE), ("DKG", DKG_TABLE)])


def stage_dk(conn, dk, progress=None):
    """Table DK(_i, DKBM, SCMJ, <DK_TEXT>) in the staging database: the DK layer's attributes, text as UTF-8."""
    conn.execute("DROP TABLE IF EXISTS DK")
    conn.execute(DK_TABLE)
    n = dk.n if dk is not None else 0
    sql = f"INSERT INTO DK VALUES ({', '.join('?' * (3 + len(DK_TEXT)))})"
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        if progress is not None:
            progress.check()
            progress.set(100 * s / n)
        cols = [_texts(dk.raw["DKBM"][s:e] if "DKBM" in dk.raw else None, e - s), _floats(dk.number("SCMJ")[s:e])]
        cols += [_texts(dk.raw[t][s:e] if t in dk.raw else None, e - s) for t in DK_TEXT]
        conn.executemany(sql, zip(range(s, e), *cols))
    conn.execute("DROP TABLE IF EXISTS DKG")
    conn.execute(DKG_TABLE)
    conn.commit()


DKG_TABLE = "CREATE TABLE DKG (_i INTEGER PRIMARY KEY, geom BLOB, minx REAL, maxx REAL, miny REAL, maxy REAL, gh INTEGER)"


class Geometries:
    """The DK geometries prepared for the target (GeoPackage blobs in its CRS, bounds, digests) on a second thread
    while the attributes are classified (shapely and numpy release the GIL), and written there into a file of its own
    (workspace.write_aside) that ``stage`` adopts as table DKG. ``bounds``: (minx, maxx, miny, maxy) of every DK row,
    NaN for a row without a geometry."""

    def __init__(self, dk, transform, srs_id, stage):
        import threading
        self.dk, self.transform, self.srs_id, self.staging = dk, transform, srs_id, stage
        self.path, self.bounds, self.error = None, None, None
        self.thread = threading.Thread(target=self._run, name="lcb-geometry", daemon=True)
        self.thread.start()

    def _run(self):
        n = self.dk.n if self.dk is not None else 0
        self.bounds = np.full((n, 4), np.nan)

        def fill(conn):
            conn.execute(DKG_TABLE)
            for s in range(0, n, CHUNK):
                e = min(n, s + CHUNK)
                blobs, bounds, digests = geometry_parts(self.dk.geoms[s:e], self.transform, self.srs_id)
                self.bounds[s:e] = bounds
                conn.executemany("INSERT INTO DKG VALUES (?,?,?,?,?,?,?)", zip(range(s, e), blobs, *_bounds(bounds), digests.tolist()))
        try:
            self.path = workspace.write_aside(self.staging, "dkg.sqlite", fill)[0]
        except BaseException as e:  # noqa: BLE001 - re-raised by join()
            self.error = e

    def join(self):
        self.thread.join()
        if self.error is not None:
            raise self.error

    def stage(self, conn):
        """Wait for the worker and adopt its table DKG(_i, geom, minx, maxx, miny, maxy, gh) into the staging database."""
        self.join()
        workspace.adopt(conn, self.path, [("DKG", DKG_TABLE)])


def _bounds(b):
    return [_floats(b[:, k]) for k in range(4)]


# ------------------------------------------------------------------ names
def unit_names(ws):
    """short(code, parent): the short name of a township (9), village (12) or group (14) code, from the unit-code
    table, the region layers and FBF, with its parent's name taken off the front."""
    full = {}
    for code, name, _lvl in ws.stage.q("SELECT code, name, level FROM CODES"):
        full[code.rstrip("0") and code] = name
    by = {}
    for code, name in full.items():
        if len(code) == 14:
            if code.endswith("00000"):
                by[code[:9]] = name
            if code.endswith("00"):
                by.setdefault(code[:12], name)
            by.setdefault(code, name)
    for prefix, field_code, field_name in (("XJQY", "XJQYDM", "XJQYMC"), ("CJQY", "CJQYDM", "CJQYMC"), ("ZJQY", "ZJQYDM", "ZJQYMC")):
        lyr = ws.layer(prefix)
        if lyr is not None and lyr.n:
            for code, name in zip(lyr.text(field_code).tolist(), lyr.text(field_name).tolist()):
                by.setdefault(code, name)
    for fbf, mc in ws.stage.q("SELECT FBFBM, FBFMC FROM FBF"):
        if fbf:
            by.setdefault(fbf, mc)

    def short(code, parent):
        n, p = by.get(code, ""), by.get(parent, "") if parent else ""
        return n[len(p):] if p and n.startswith(p) and len(n) > len(p) else n
    return short


# ------------------------------------------------------------------ records
# What the records link to that depends on the delivery's tables alone (link_tables: a merge runs it while the DK
# layer is still being read): the last row of each household and contract, and per certificate of the CBDKXX rows
# the register (its sketch DKSYT, term, registrar, date), the certificate (issuing authority) and its attachments
# (sorted, distinct, joined by semicolons); the last row of each when repeated.
_TABLE_LINKS = """
DROP TABLE IF EXISTS CBF1; DROP TABLE IF EXISTS CERT; DROP TABLE IF EXISTS HT1;
CREATE TABLE CBF1 AS SELECT * FROM CBF WHERE _row IN (SELECT MAX(_row) FROM CBF GROUP BY CBFBM);
CREATE UNIQUE INDEX ux_CBF1 ON CBF1(CBFBM);
CREATE TABLE HT1 AS SELECT CBHTBM, CBQXQ, CBQXZ FROM CBHT WHERE _row IN (SELECT MAX(_row) FROM CBHT GROUP BY CBHTBM);
CREATE UNIQUE INDEX ux_HT1 ON HT1(CBHTBM);
CREATE INDEX IF NOT EXISTS ix_QSLYZLFJ_CBJYQZBM ON QSLYZLFJ(CBJYQZBM);
CREATE INDEX IF NOT EXISTS ix_CBJYQZDJB_CBJYQZBM ON CBJYQZDJB(CBJYQZBM);
CREATE INDEX IF NOT EXISTS ix_CBJYQZ_CBJYQZBM ON CBJYQZ(CBJYQZBM);
CREATE TABLE CERT AS SELECT k.CBJYQZBM, NULLIF(replace(dj.DKSYT, '\\', '/'), '') AS DKSYT, dj.CBQXQ, dj.CBQXZ, dj.DBR, dj.DJSJ,
    qz.FZJG, fj.v AS FJ
  FROM (SELECT DISTINCT CBJYQZBM FROM CBDKXX WHERE CBJYQZBM IS NOT NULL) AS k
  LEFT JOIN CBJYQZDJB dj ON dj._row = (SELECT MAX(_row) FROM CBJYQZDJB x WHERE x.CBJYQZBM = k.CBJYQZBM)
  LEFT JOIN CBJYQZ qz ON qz._row = (SELECT MAX(_row) FROM CBJYQZ x WHERE x.CBJYQZBM = k.CBJYQZBM)
  LEFT JOIN (SELECT CBJYQZBM, group_concat(v, ';') AS v FROM
               (SELECT DISTINCT CBJYQZBM, replace(FJ, '\\', '/') AS v FROM QSLYZLFJ WHERE FJ IS NOT NULL AND FJ <> '' ORDER BY 1, 2)
             GROUP BY CBJYQZBM) AS fj ON fj.CBJYQZBM = k.CBJYQZBM;
CREATE UNIQUE INDEX ux_CERT ON CERT(CBJYQZBM);
-- the lookups of the right holders' derivation (registration.standard) over these tables (Records: a new database's)
CREATE INDEX IF NOT EXISTS ix_CBDKXX_DKBM ON CBDKXX(DKBM);
CREATE INDEX IF NOT EXISTS ix_CBF_CBFBM ON CBF(CBFBM);
CREATE INDEX IF NOT EXISTS ix_CBF_JTCY_member ON CBF_JTCY(CBFBM, CYZJHM, CYXB);
"""

_LINKS = """
DROP TABLE IF EXISTS MULTI;
-- parcels with several CBDKXX rows (share-only land): names of the first three holders, and the same links over all rows
CREATE TABLE MULTI (pid INTEGER PRIMARY KEY, n1 TEXT, n2 TEXT, n3 TEXT, LZ TEXT, SK TEXT, FJ TEXT);
INSERT INTO MULTI (pid, n1, n2, n3) SELECT p.pid,
    (SELECT h.CBFMC FROM R r JOIN CBF1 h ON h.CBFBM = r.CBFBM WHERE r.pid = p.pid AND r.rn = 1),
    (SELECT h.CBFMC FROM R r JOIN CBF1 h ON h.CBFBM = r.CBFBM WHERE r.pid = p.pid AND r.rn = 2),
    (SELECT h.CBFMC FROM R r JOIN CBF1 h ON h.CBFBM = r.CBFBM WHERE r.pid = p.pid AND r.rn = 3)
  FROM P p WHERE p.n > 1;
UPDATE MULTI SET
  LZ = (SELECT group_concat(v, ';') FROM (SELECT DISTINCT r.LZHTBM AS v FROM R r WHERE r.pid = MULTI.pid AND r.LZHTBM <> '' ORDER BY 1)),
  SK = (SELECT group_concat(v, ';') FROM (SELECT DISTINCT k.DKSYT AS v FROM R r JOIN CERT k ON k.CBJYQZBM = r.CBJYQZBM
        WHERE r.pid = MULTI.pid AND k.DKSYT IS NOT NULL ORDER BY 1)),
  FJ = (SELECT group_concat(v, ';') FROM (SELECT DISTINCT replace(q.FJ, '\\', '/') AS v FROM R r JOIN QSLYZLFJ q ON q.CBJYQZBM = r.CBJYQZBM
        WHERE r.pid = MULTI.pid AND q.FJ IS NOT NULL AND q.FJ <> '' ORDER BY 1));
"""


NUMERIC = set(classify.NUMBERS)
REASONS = {"parcel": "地块合同面积与登簿面积不一致", "contract": "合同总面积与合同内地块登簿面积合计不一致",
           "parcel+contract": "地块与合同总面积均不一致"}  # CYYY → CYYYMC
# 宗地特征码 (GB/T 37346) of a parcel from its DK record: G 国家 (SYQXZ 10) / J 集体 土地所有权, then D 耕地 / E 林地
# (TDLYLX 03x, GB/T 21010 2007: 031–033, 2017: 0301–0307) / F 草地 (04x) 土地承包经营权宗地. Read when the number
# is allocated; an allocated number never changes.
TZM = ("(CASE WHEN d.SYQXZ = '10' THEN 'G' ELSE 'J' END || "
       "CASE substr(COALESCE(d.TDLYLX, ''), 1, 2) WHEN '03' THEN 'E' WHEN '04' THEN 'F' ELSE 'D' END)")
SHARED, SOLE = "2", "0"  # 共有方式 codes: 按份共有, 单独所有


def fingerprint(alias):
    """SQL: the content fingerprint of a record — its delivered text fields, the digest of its numbers and of its
    geometry (the numbers and coordinates enter as digests computed by numpy)."""
    fields = ", ".join(f"{alias}.{c}" for c in schema.HASHED if c not in NUMERIC)
    return f"lcb_sha1(json_array({fields}, {alias}.NH, {alias}.gh), NULL)"


def new_xszt(v):
    """SQL: the consultation status (XSZT) a parcel of record `v` enters the registration database with."""
    return f"CASE WHEN {v}.CYLX = 'contract_register_mismatch' THEN '待协商' END"


class Records:
    """A new GeoPackage's records, written once beside the merge: table REC of the view RECV (every cbdk field of
    every staged parcel, in pid order) with its content fingerprint YJHASH, in a file of its own beside the staging
    database (``path``), while the merge copies tables, allocates numbers and packs the spatial indexes on the target.
    The cbdk insert then reads plain rows instead of evaluating the view, and the fingerprints (the JSON of ~40 fields
    and its SHA-1, a third of the cost of a record) cost the merge's own thread nothing.

    ``derived`` (names of standard tables): their rows are derived next, in the same worker, into a second file
    (``std_path``) while the merge inserts the parcels — by the very statements of registration.standard, over the
    parcels as cbdk will hold them (``_as_target``: REC with its geometry, the pid in place of the 不动产单元号 being
    allocated, the delivery's tables as batch 1 of qs_*). The merge copies them after ``join_derived``
    (standard.derived_copies). ``types``: the declared type of each cbdk column, given to REC's columns of the same
    name, so that REC holds (and the derivation compares) exactly the values cbdk will.

    The work runs in a second process (recworker: two SQLite threads of one process slow each other down), or on a
    thread when no interpreter with the same SQLite is found. The target's connection attaches both files (and reads
    their schema: the tables exist, empty) before ``start`` and before its transaction, and reads REC only after
    ``join``, the derived rows only after ``join_derived``: it never waits for a file's lock nor holds it while the
    worker writes. ``stop`` ends the worker (a cancelled or failed merge)."""

    def __init__(self, stage_path, types=None, derived=(), county_name=None):
        import os
        from . import standard
        self.stage_path = str(stage_path)
        folder = os.path.dirname(self.stage_path)
        self.path = os.path.join(folder, "rec.sqlite")
        self.std_path = os.path.join(folder, "std.sqlite") if derived else None
        self.derived = list(derived)
        for path in (self.path, self.std_path):
            if path is not None and os.path.exists(path):
                os.remove(path)
        types = types or {}
        conn = sqlite3.connect(self.stage_path)
        try:
            conn.execute("ATTACH DATABASE ? AS rec", (self.path,))
            attrdb.scratch(conn, "rec")
            cols = [d[0] for d in conn.execute("SELECT * FROM RECV LIMIT 0").description]
            # the cbdk columns with cbdk's types (the same values as cbdk holds), the others untyped (kept as given)
            conn.execute(f"CREATE TABLE rec.REC (pid INTEGER PRIMARY KEY, "
                         f"{', '.join(f'{c} {types.get(c, str())}'.strip() for c in cols[1:] + ['YJHASH'])})")
            if self.std_path is not None:
                conn.execute("ATTACH DATABASE ? AS std", (self.std_path,))
                attrdb.scratch(conn, "std")
                for table in schema.STANDARD:
                    if table.name in self.derived:
                        conn.execute(f"CREATE TABLE std.{table.name} ({', '.join(standard.columns(table))})")
            conn.commit()
        finally:
            conn.close()
        self.steps = [[f"INSERT INTO rec.REC SELECT v.*, {fingerprint('v')} FROM RECV v ORDER BY v.pid"]]
        if self.derived:
            self.steps.append(_as_target(county_name) + standard.statements("1", into="std.", tables=self.derived))
        self.proc = self.thread = self.conn = None
        self.error = None
        self._steps_done = -1
        self._events = []

    def start(self):
        self.proc = _worker()
        files = {"rec": self.path} if self.std_path is None else {"rec": self.path, "std": self.std_path}
        if self.proc is not None:
            import json
            import os
            job = dict(stage=self.stage_path, files=files, steps=self.steps, parent=os.getpid())
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.close()
            return
        import threading
        self._events = [threading.Event() for _ in self.steps]
        self.thread = threading.Thread(target=self._run, args=(files,), name="lcb-records", daemon=True)
        self.thread.start()

    def _run(self, files):
        from . import recworker
        try:
            recworker.run(self.stage_path, files, self.steps, connected=self._connected, done=lambda i: self._events[i].set())
        except BaseException as e:  # noqa: BLE001 - re-raised by join()
            self.error = e
        finally:
            for event in self._events:
                event.set()

    def _connected(self, conn):
        self.conn = conn

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            _close(self.proc)
        elif self.thread is not None and self.thread.is_alive():
            try:
                if self.conn is not None:
                    self.conn.interrupt()
            except sqlite3.Error:  # closed meanwhile
                pass
            self.thread.join()

    def join(self):
        """Wait for REC."""
        self._wait(0)

    def join_derived(self):
        """Wait for the derived standard rows (and the worker's end)."""
        self._wait(len(self.steps) - 1)

    def _wait(self, step):
        if self.proc is not None:
            while self._steps_done < step:
                line = self.proc.stdout.readline()
                if not line.strip().isdigit():  # the end: finished, or failed before this step
                    break
                self._steps_done = int(line)
            if self._steps_done < step or step == len(self.steps) - 1:
                err = self.proc.stderr.read()
                if self.proc.wait() != 0:
                    self.error = RuntimeError(f"records worker: {err.strip() or self.proc.returncode}")
                _close(self.proc)
        elif self.thread is not None:
            self._events[step].wait()
            if step == len(self.steps) - 1:
                self.thread.join()
        if self.error is not None:
            # rec.sqlite lives beside the staging database: a full or read-only temporary folder says so (by its name)
            err = attrdb.stage_write_error(self.error, self.path)
            if err is not None:
                raise err from None
            raise self.error


def _as_target(county_name):
    """TEMP views on the worker's connection under the names the standard statements read: the parcels as cbdk will
    hold them (REC with its geometry; the pid as fid and as the 不动产单元号, allocated meanwhile on the target; the
    consultation status they enter with) in batch 1, and the delivery's tables as qs_* of batch 1 (their rows in the
    order the merge copies them)."""
    name = "NULL" if county_name is None else "'" + str(county_name).replace("'", "''") + "'"
    return [f"""CREATE TEMP VIEW cbdk AS SELECT v.*, v.pid AS fid, d.geom AS geom, v.pid AS BDCDYH, 1 AS PCID, {new_xszt('v')} AS XSZT
                FROM rec.REC v LEFT JOIN main.DKG d ON d._i = v.dk_i""",
            f"CREATE TEMP VIEW batches AS SELECT 1 AS fid, {name} AS county_name"] + [
            f'CREATE TEMP VIEW {schema.QS_PREFIX}{t.lower()} AS SELECT _row AS fid, *, 1 AS PCID FROM main."{t}"'
            for t in ("CBDKXX", "CBF", "CBF_JTCY")]


def _worker():
    """A started recworker process whose SQLite is this process's version, or None (then a thread does the work)."""
    import os
    import subprocess
    from . import recworker
    exe = recworker.python()
    if exe is None:
        return None
    try:
        proc = subprocess.Popen([exe, "-I", "-S", recworker.__file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0)
    except OSError:
        return None
    version = proc.stdout.readline().strip()
    if version != sqlite3.sqlite_version:
        try:
            proc.stdin.close()  # it exits without work
        except OSError:
            pass
        proc.wait()
        _close(proc)
        return None
    return proc


def _close(proc):
    for f in (proc.stdin, proc.stdout, proc.stderr):
        try:
            f.close()
        except (OSError, ValueError):
            pass


def link_tables(conn):
    """_TABLE_LINKS and the ledger's sums (classify.sum_ledger) in the staging database (core.workspace's tables_then,
    or build)."""
    conn.executescript(_TABLE_LINKS)
    classify.sum_ledger(conn)
    return True


def build(conn, ws, county, params=None):
    """Classify the staged parcels and define their records (view RECV). Returns the class counts."""
    linked = getattr(ws, "tables_linked", False)
    counts = classify.classify(conn, params or Params(), ledger_summed=linked)
    register_functions(conn)
    if not linked:
        conn.executescript(_TABLE_LINKS)
    conn.executescript(_LINKS)
    fbfbm = "COALESCE(NULLIF(f.FBFBM, ''), CASE WHEN length(p.DKBM) >= 14 THEN substr(p.DKBM, 1, 14) ELSE '' END)"
    _stage_names(conn, ws, county, fbfbm)
    conn.execute("DROP VIEW IF EXISTS RECV")
    conn.execute("DROP VIEW IF EXISTS RECK")
    conn.execute(f"""CREATE VIEW RECK AS SELECT p.pid, p.DKBM, {fbfbm} AS FBFBM, {TZM} AS TZM
        FROM P p LEFT JOIN R f ON f._row = p.first_row LEFT JOIN DK d ON d._i = p.dk_i""")
    cls_name = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in classify.CLASSES.items())
    reason_name = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in REASONS.items())
    dk_text = ", ".join(f"NULLIF(d.{t}, '') AS {t}" for t in DK_TEXT)
    single = "p.share = 1 OR p.n = 0"
    conn.execute(f"""CREATE VIEW RECV AS
        SELECT p.pid, p.DKBM, p.dk_i, pc.NH, g.gh, {fbfbm} AS FBFBM,
               CASE WHEN length(p.DKBM) >= 9 THEN substr(p.DKBM, 1, 9) ELSE '' END AS XZDM, nm.XZMC,
               CASE WHEN length(p.DKBM) >= 12 THEN substr(p.DKBM, 1, 12) ELSE '' END AS CJDM, nm.CJMC, nm.ZJMC,
               {dk_text},
               CASE WHEN {single} THEN NULL ELSE f.CBFBM END AS CBFBM,
               CASE WHEN p.n = 0 THEN NULL WHEN p.n = 1 THEN h.CBFMC
                    WHEN p.share = 1 THEN COALESCE(m.n1, '') || '、' || COALESCE(m.n2, '')
                         || CASE WHEN p.n >= 3 THEN '、' || COALESCE(m.n3, '') ELSE '' END || CASE WHEN p.n > 3 THEN '等' ELSE '' END
                    ELSE COALESCE(m.n1, '') END AS CBFMC,
               CASE WHEN {single} THEN NULL ELSE f.CBHTBM END AS CBHTBM,
               CASE WHEN {single} THEN NULL ELSE f.CBJYQZBM END AS CBJYQZBM,
               f.CBJYQQDFS, CASE WHEN p.n > 1 THEN m.LZ ELSE NULLIF(f.LZHTBM, '') END AS LZHTBM,
               pc.HTMJ, pc.DBMJ, pc.SCMJ, pc.HTMJM, pc.DBMJM, pc.SCMJM, pc.HTDBC, pc.HTSCC,
               pc.CYLX, CASE pc.CYLX {cls_name} END AS CYLXMC,
               pc.CYYY, CASE pc.CYYY {reason_name} END AS CYYYMC, pc.HTZMJ, pc.DBZMJ,
               CASE WHEN p.share = 1 THEN '{SHARED}' WHEN p.n > 0 THEN '{SOLE}' END AS GYFS,
               CASE WHEN p.n > 1 THEN m.SK ELSE k.DKSYT END AS DKSYT, CASE WHEN p.n > 1 THEN m.FJ ELSE k.FJ END AS QSLYFJ,
               nm.FBFMC, COALESCE(k.CBQXQ, (SELECT CBQXQ FROM HT1 WHERE CBHTBM = f.CBHTBM)) AS CBQXQ,
               COALESCE(k.CBQXZ, (SELECT CBQXZ FROM HT1 WHERE CBHTBM = f.CBHTBM)) AS CBQXZ, k.FZJG AS DJJG,
               k.DBR, k.DJSJ, {TZM} AS TZM
        FROM P p JOIN PC pc ON pc.pid = p.pid
             LEFT JOIN DK d ON d._i = p.dk_i LEFT JOIN DKG g ON g._i = p.dk_i
             LEFT JOIN R f ON f._row = p.first_row LEFT JOIN CBF1 h ON h.CBFBM = f.CBFBM
             LEFT JOIN MULTI m ON m.pid = p.pid
             LEFT JOIN CERT k ON k.CBJYQZBM = f.CBJYQZBM
             LEFT JOIN NM nm ON nm.k9 = substr(p.DKBM, 1, 9) AND nm.k12 = substr(p.DKBM, 1, 12) AND nm.fbf = {fbfbm}
             """)
    conn.commit()
    return counts


def _stage_names(conn, ws, county, fbfbm):
    """Table NM: the short township, village and group names and the employer's full name of every
    (DKBM[:9], DKBM[:12], FBFBM) in the delivery."""
    short = unit_names(ws)
    triples = conn.execute(f"SELECT DISTINCT substr(p.DKBM, 1, 9), substr(p.DKBM, 1, 12), {fbfbm} FROM P p "
                           "LEFT JOIN R f ON f._row = p.first_row").fetchall()
    conn.execute("DROP TABLE IF EXISTS NM")
    fbf = dict(conn.execute("SELECT FBFBM, FBFMC FROM FBF ORDER BY _row").fetchall())  # the last row of a repeated code
    conn.execute("CREATE TABLE NM (k9 TEXT, k12 TEXT, fbf TEXT, XZMC TEXT, CJMC TEXT, ZJMC TEXT, FBFMC TEXT, PRIMARY KEY (k9, k12, fbf))")
    conn.executemany("INSERT INTO NM VALUES (?,?,?,?,?,?,?)",
                     [(k9, k12, f, short(k9, county + "000"), short(k12, k9), short(f, f[:12]), fbf.get(f)) for k9, k12, f in triples])
