"""Open a delivery once for any algorithm: file scan, DK layer (bulk), attribute tables (staging DB)."""
import os
import sqlite3
import threading

import numpy as np
import shapely

from . import attrdb, delivery, vector
from .errors import NULL_PROGRESS


class Workspace:
    def __init__(self, d, stage, dk, ledger_path=None):
        self.d, self.stage, self.dk = d, stage, dk
        self.ledger_path = ledger_path
        self._layers = {}
        self.area = None
        self.dk_then = None  # what open_workspace's dk_then returned
        self.tables_linked = None  # what its tables_then returned

    @property
    def problems(self):
        out = [(r, k, f, m, v, "") for (r, k, f, m, v) in self.d.problems]
        out += list(self.stage.problems)
        if self.dk is not None:
            out += [(r, k, f, m, v, "DK") for (r, k, f, m, v) in self.dk.problems]
        for lyr in self._layers.values():
            if lyr is not None:
                out += [(r, k, f, m, v, lyr.layer) for (r, k, f, m, v) in lyr.problems]
        return out

    def layer(self, prefix):
        if prefix == "DK":
            return self.dk
        if prefix not in self._layers:
            self._layers[prefix] = vector.read_layer(self.d, prefix)
        return self._layers[prefix]

    def close(self):
        self.stage.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_workspace(path, ledger=None, required_layers=None, progress=NULL_PROGRESS, with_geometry=True, dk_fields=None,
                   stage_dk=True, dk_then=None, tables_then=None):
    """path: a delivery folder, or a Delivery already scanned.
    dk_then(dk, stage): run on the DK reader thread once the layer is read (it must not use stage.conn, which the
    calling thread is filling); its result is kept as ws.dk_then.
    tables_then(stage.conn): run on the calling thread once the attribute tables, the ledger and the code table are
    staged, while the DK layer may still be read; its result is kept as ws.tables_linked."""
    d = path if isinstance(path, delivery.Delivery) else delivery.scan(path, required_layers=required_layers)
    progress.set(5)
    progress.check()
    # The DK layer is read on a second thread while the attribute tables load: GDAL and SQLite both release the
    # GIL while they work, so the two cores of a county office PC are both busy.
    stage = attrdb.Staging()  # first: a staging database that cannot be created fails before the reader thread starts
    box = {}

    def read_dk():
        try:
            box["dk"] = vector.read_layer(d, "DK", with_geometry=with_geometry, fields=dk_fields)
            if dk_then is not None and box["dk"] is not None:
                box["then"] = dk_then(box["dk"], stage)
            elif stage_dk and box["dk"] is not None:  # DK staged here too (adopted below)
                box["aside"] = write_aside(stage, "dk-aside.sqlite", lambda c: _fill_dk(c, box["dk"]))
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            box["error"] = e
    worker = threading.Thread(target=read_dk, name="lcb-read-dk", daemon=True)
    worker.start()
    try:
        if d.attr_db is not None:
            stage.load_tables(d.attr_db, d.rel(d.attr_db))
            stage.trim_keys()  # codes compared without surrounding blanks, in the merge as in validation
        progress.set(35)
        ledger_path = ledger or d.ledger
        if ledger_path:
            rel = d.rel(ledger_path) if str(ledger_path).startswith(str(d.root)) else str(ledger_path)
            stage.load_ledger(ledger_path, rel)
        if d.code_table is not None:
            stage.load_code_table(d.code_table, d.rel(d.code_table))
        linked = tables_then(stage.conn) if tables_then is not None else None
        worker.join()
        if "error" in box:
            raise box["error"]
        progress.set(60)
        progress.check()
        ws = Workspace(d, stage, box.get("dk"), ledger_path)
        ws.dk_then, ws.tables_linked = box.get("then"), linked
        if stage_dk:  # inventory and the reports join on DK and on these indexes; the merge works from the arrays
            if "aside" in box:
                path, ws.area = box["aside"]
                adopt(stage.conn, path, [("DK", _DK_TABLE)])
            else:
                ws.area = _fill_dk(stage.conn, ws.dk)
            stage.conn.execute("CREATE INDEX ix_DK_DKBM ON DK(DKBM)")
            stage.index()
    except sqlite3.OperationalError as e:  # the staging database's disk (the system temp folder) is full or unwritable
        worker.join()
        stage.close()
        err = attrdb.stage_write_error(e, stage.path)
        if err is None:
            raise
        raise err from None
    except BaseException:
        worker.join()
        stage.close()
        raise
    progress.set(70)
    return ws


_DK_TABLE = "CREATE TABLE DK (_i INTEGER PRIMARY KEY, DKBM TEXT, DKLB TEXT, SCMJ REAL, SCMJM REAL, area REAL, has_geom INTEGER)"


def _fill_dk(c, dk):
    """Table DK (attributes and planar geometry area) through connection `c`, for set-based joins. Returns the areas."""
    c.execute(_DK_TABLE)
    if dk is None or dk.n == 0:
        c.commit()
        return np.array([])
    geoms = dk.geoms
    has = ~shapely.is_missing(geoms)
    area = np.full(dk.n, np.nan)
    if has.any():
        g = geoms[has]
        nonempty = ~shapely.is_empty(g)
        a = np.full(len(g), np.nan)
        a[nonempty] = shapely.area(g[nonempty])
        area[has] = a
    has &= ~np.isnan(area)
    scmj = dk.number("SCMJ")
    scmjm = dk.number("SCMJM")
    rows = zip(range(dk.n), dk.text("DKBM").tolist(), dk.text("DKLB").tolist(),
               [None if np.isnan(x) else float(x) for x in scmj], [None if np.isnan(x) else float(x) for x in scmjm],
               [None if np.isnan(x) else float(x) for x in area], has.astype(int).tolist())
    c.executemany("INSERT INTO DK VALUES (?,?,?,?,?,?,?)", rows)
    c.commit()
    return area


def write_aside(stage, name, fill):
    """`fill(conn)` writes tables into a file of its own beside the staging database: on the DK reader thread, while
    the calling thread fills the staging database through its connection. Returns (path, what fill returned)."""
    path = os.path.join(os.path.dirname(stage.path), name)
    conn = sqlite3.connect(path)
    try:
        attrdb.scratch(conn)
        result = fill(conn)
        conn.commit()
    finally:
        conn.close()
    return path, result


def adopt(conn, path, tables):
    """The tables [(name, CREATE statement)] of a write_aside file copied into the database of `conn` inside SQLite
    (no rows through Python), replacing tables of those names; the file is removed."""
    conn.commit()
    conn.execute("ATTACH DATABASE ? AS aside", (path,))
    try:
        for name, create in tables:
            conn.execute(f"DROP TABLE IF EXISTS main.{name}")
            conn.execute(create)
            conn.execute(f"INSERT INTO main.{name} SELECT * FROM aside.{name} ORDER BY rowid")
        conn.commit()
    finally:
        conn.execute("DETACH DATABASE aside")
    os.remove(path)
