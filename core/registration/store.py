"""The GeoPackage backend of the registration database: create it, open it, run one merge in one transaction,
and load the records in bulk.

What a second backend (PostgreSQL/PostGIS) provides — the seam, with the same names:

1. ``create(path, epsg, wkt)``: the tables of ``schema.LAYERS`` with ``schema.Field`` types and widths (TEXT(n) →
   varchar(n)), the coded-value domains of ``schema.domains()`` (a CHECK or lookup table; titles as COMMENT ON),
   the default styles (QGIS's ``public.layer_styles``), ``lcb_meta.schema_version`` and the three triggers of
   ``standard.triggers()`` (as PL/pgSQL functions running the same statements); ``target_epsg(path)`` refuses an
   unknown layout (``schema.check_version``).
2. ``GpkgStore(path, new)``: ``srs_id``; ``attach_stage(stage)``: the staged tables and views of the merge readable
   as ``stg.<name>`` — for a server, COPY the rows of ``stg.RECV`` (the records), ``stg.RECK`` (keys for numbering),
   ``stg.P``, ``stg.DKG`` (geometries and bounds), ``stg.ZN`` and the 12 delivery tables + LEDGER into a temporary
   schema ``stg`` (views evaluated on the SQLite side, so only plain tables cross).
3. ``transaction()``: one all-or-nothing unit (a killed process leaves the target as before); ``bulk()``: per-row
   triggers off while rows are loaded (``ALTER TABLE … DISABLE TRIGGER USER``).
4. The statements the merge runs on the target are plain SQL that PostgreSQL takes as they are — window functions,
   ``UPDATE … FROM``, correlated subqueries — except what goes through the dialect helpers below (``digits`` GLOB →
   ``~ '^[0-9]{n}'``, ``zero_pad`` printf → ``lpad``), ``printf('%.6f')`` in ``standard`` (→ ``to_char``), and the
   record fingerprint ``lcb_sha1(json_array(...))`` of ``records.fingerprint`` (→ ``encode(sha1(json_build_array(...)::text), 'hex')``
   or md5; it only has to be stable within one backend).
5. ``fill_spatial_index(table, ids, boxes)`` and ``finish()`` (indexes, layer extent): GeoPackage bookkeeping; PostGIS
   has a GiST index on each geometry column and needs neither.
6. Outside the merge: ``consult.set_status`` updates ``cbdk`` (the triggers keep ZDJBXX/NYDSYQ/QLR in step) and
   appends to ``audit`` — the same two statements on a server connection.
"""
import contextlib
import datetime as dt
import getpass
import json
import os
import re
from pathlib import Path

import numpy as np

from .. import attrdb, gpkg
from ..errors import LcbError
from . import schema, standard
from .recworker import sha1


def user():
    """The operator recorded in batches and the audit table."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (service account): still record something
        return "unknown"


def now():
    return dt.datetime.now().isoformat(timespec="seconds")


def register_functions(c):
    """SQL functions the merge statements use, registered on a connection (GeoPackage's ST_* included)."""
    gpkg.register(c)
    c.create_function("lcb_sha1", 2, sha1, deterministic=True)
    return c


# ------------------------------------------------------------------ dialect helpers (the PostgreSQL seam)
def digits(expr, n):
    """SQL: `expr` consists of exactly n decimal digits."""
    return f"(length({expr}) = {n} AND {expr} GLOB '{'[0-9]' * n}')"


def zero_pad(expr, n):
    return f"printf('%0{n}d', {expr})"


# ------------------------------------------------------------------ create / open
def _ogr_layers(layers):
    return [(lyr.name, lyr.geometry, [(f.name, f.type, f.title, f.width, f.domain) for f in lyr.fields], lyr.title) for lyr in layers]


def create(path, epsg, wkt):
    """A new, empty registration GeoPackage at `path` (a temporary file the caller moves into place)."""
    gpkg.create(path, _ogr_layers(schema.LAYERS), srs_wkt=wkt, epsg=epsg, domains=schema.domains(), page_size=attrdb.PAGE_SIZE)
    c = gpkg.connect(path)
    try:
        c.execute("BEGIN")
        c.executemany("INSERT INTO lcb_meta(key, value) VALUES (?, ?)",
                      [("schema_version", schema.SCHEMA_VERSION), ("epsg", str(epsg or "")), ("created_at", now()),
                       ("created_by", "Land Contract Bridge")])
        _titles(c, schema.LAYERS)
        _store_styles(c)
        standard.create_triggers(c)
        c.execute("COMMIT")
    finally:
        c.close()


def _titles(c, layers):
    """Chinese field titles in gpkg_data_columns (GeoPackage schema extension), keeping any domain constraint."""
    c.execute("CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, "
              "description TEXT, mime_type TEXT, constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
              "CONSTRAINT gdc_tn UNIQUE (table_name, name))")
    c.execute("CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, "
              "value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, "
              "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))")
    for t in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        if not c.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_schema'", (t,)).fetchone():
            c.execute("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) VALUES (?, NULL, 'gpkg_schema', "
                      "'http://www.geopackage.org/spec121/#extension_schema', 'read-write')", (t,))
    # GDAL declares gpkg_data_columns.name UNIQUE across the file: a title used in several tables gets its table's
    # name appended there; `title` is always the plain title.
    seen = {}
    for lyr in layers:
        for f in lyr.fields:
            seen.setdefault(f.title, set()).add(lyr.name)
    rows = [(lyr.name, f.name, f.title if len(seen[f.title]) == 1 else f"{f.title}（{lyr.name}）", f.title)
            for lyr in layers for f in lyr.fields if f.title]
    c.executemany("INSERT INTO gpkg_data_columns (table_name, column_name, name, title) VALUES (?,?,?,?) "
                  "ON CONFLICT (table_name, column_name) DO UPDATE SET name = excluded.name, title = excluded.title", rows)


def _store_styles(c):
    """Default styles QGIS reads from layer_styles: the class-coloured one of the parcels, and the Chinese field
    titles (aliases) of the standard's tables (their code names come from the GeoPackage's field domains)."""
    c.execute("""CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
                 f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
                 styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
                 update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""")
    rows = [("cbdk", "geom", schema.STYLE_NAME, schema.styled_qml())]
    rows += [(lyr.name, "geom" if lyr.geometry else "", lyr.title, schema.aliases_qml(lyr)) for lyr in schema.STANDARD]
    c.executemany("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, "
                  "styleSLD, useAsDefault, description, owner) VALUES ('', '', ?, ?, ?, ?, '', 1, 'Land Contract Bridge', '')", rows)
    if not c.execute("SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone():
        c.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                  "VALUES ('layer_styles', 'attributes', 'layer_styles', '', strftime('%Y-%m-%dT%H:%M:%fZ','now'))")


def target_epsg(path):
    """EPSG code of an existing registration database's parcel layer (None: a CRS without one)."""
    c = gpkg.connect(path)
    try:
        row = c.execute("SELECT s.organization, s.organization_coordsys_id FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s "
                        "ON s.srs_id = g.srs_id WHERE g.table_name = 'cbdk'").fetchone()
        if row is None:
            raise LcbError("目标 GeoPackage 中没有 cbdk 图层，不是本插件建立的登记库", "the target has no cbdk layer", path=str(path))
        schema.check_version(c, path)
        return int(row[1]) if row[0] and row[0].upper() == "EPSG" else None
    except LcbError:
        raise
    except Exception as e:  # noqa: BLE001 - not a GeoPackage at all
        raise LcbError(f"目标 GeoPackage 无法读取：{e}", "the target GeoPackage cannot be read", path=str(path)) from e
    finally:
        c.close()


# Page caches: 128 MiB for the target, 32 MiB for the staged tables read through it (the staging connection keeps
# its own 64 MiB); large sorts spill to temporary files. Bounded, so a county of 500,000 parcels stays well within
# 2 GiB. (Memory-mapped I/O would save some system time but counts the mapped files into the resident size.)
CONNECTION_PRAGMAS = ["cache_size=-131072"]
ATTACHED_CACHE = "cache_size=-32768"


class GpkgStore:
    """One connection to a registration GeoPackage for one merge (used by one thread at a time)."""

    def __init__(self, path, new=False):
        self.path = Path(path)
        self.c = register_functions(gpkg.connect(path))
        for pragma in CONNECTION_PRAGMAS:
            self.c.execute(f"PRAGMA {pragma}")
        if new:  # a temporary file moved into place only when complete: no journal needed
            attrdb.scratch(self.c)
        self.srs_id = self.c.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'cbdk'").fetchone()[0]
        self._attached = []

    def close(self):
        if self.c.in_transaction:
            self.c.execute("ROLLBACK")
        for alias in self._attached:
            self.c.execute(f"DETACH DATABASE {alias}")
        self.c.close()

    def attach_stage(self, stage):
        """The staged tables of this merge as stg.<table>. The one place the staging database is attached
        (outside any transaction, as SQLite requires)."""
        stage.attach_to(self.c, "stg")
        self._attached.append("stg")
        self.c.execute(f"PRAGMA stg.{ATTACHED_CACHE}")  # an attached database has its own (small) page cache otherwise

    def attach_records(self, path, name="rec"):
        """A file of records.Records as `name` (outside any transaction; its schema read now, while its tables are
        still empty)."""
        self.c.execute(f"ATTACH DATABASE ? AS {name}", (str(path),))
        self._attached.append(name)
        self.c.execute(f"PRAGMA {name}.{ATTACHED_CACHE}")
        self.c.execute(f"SELECT COUNT(*) FROM {name}.sqlite_master").fetchall()  # to the end: no read lock is kept on it

    @contextlib.contextmanager
    def transaction(self, immediate=True):
        """immediate=False (a new database nobody else can open yet): locks taken as needed, so that an attached file
        another thread is still writing (rec) is not locked before it is read."""
        self.c.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.c
        except BaseException:
            if self.c.in_transaction:
                self.c.execute("ROLLBACK")
            raise
        self.c.execute("COMMIT")

    @contextlib.contextmanager
    def bulk(self, tables=None):
        """Inserts without GDAL's per-row R-tree and feature-count triggers (inside the transaction, so a failure
        restores them too): the R-tree is filled by fill_spatial_index and the counts are recomputed once."""
        tables = tables or schema.BULK_TABLES
        c = self.c
        marks = ",".join("?" * len(tables))
        saved = c.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})", tables).fetchall()
        for name, _sql in saved:
            c.execute(f'DROP TRIGGER "{name}"')
        yield c
        for _name, sql in saved:
            c.execute(sql)
        for t in tables:
            c.execute(f'UPDATE gpkg_ogr_contents SET feature_count = (SELECT COUNT(*) FROM "{t}") WHERE lower(table_name) = lower(?)', (t,))

    def fill_spatial_index(self, table, ids, boxes):
        """R-tree rows of a layer's features inserted in bulk (`ids`, `boxes`: minx, maxx, miny, maxy). An empty R-tree (a
        new database) is written packed in one go; otherwise row by row."""
        rtree = f"rtree_{table}_geom"
        if not len(ids):
            return
        if not self.c.execute(f'SELECT 1 FROM "{rtree}_rowid" LIMIT 1').fetchone():
            return pack_rtree(self.c, rtree, np.asarray(ids, np.int64), np.asarray(boxes, np.float64))
        self.c.executemany(f'INSERT INTO "{rtree}" (id, minx, maxx, miny, maxy) VALUES (?,?,?,?,?)',
                           zip(np.asarray(ids).tolist(), *np.asarray(boxes, np.float64).T.tolist()))

    def build_indexes(self, tables=None, exclude=()):
        """The indexes (built once after a bulk load of a new database) of `tables` (default: all) but `exclude`."""
        for sql in schema.INDEXES:
            table = re.search(r' ON "?(\w+)"?\(', sql).group(1)
            if (tables is None or table in tables) and table not in exclude:
                self.c.execute(sql)

    def finish(self):
        """The indexes not built yet, and the layer extent."""
        self.build_indexes()
        row = self.c.execute("SELECT MIN(minx), MIN(miny), MAX(maxx), MAX(maxy) FROM rtree_cbdk_geom").fetchone()
        if row and row[0] is not None:
            self.c.execute("UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, "
                           "last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name='cbdk'", row)


_TOWARDS, _AWAY = 1.0 - 1.0 / 8388608.0, 1.0 + 1.0 / 8388608.0


def _float32(d, up):
    """Doubles as an R-tree stores them: 32-bit floats rounded outwards exactly as SQLite's rtreeValueDown/Up do."""
    f = d.astype(np.float32)
    if up:
        return np.where(f < d, (d * np.where(d < 0, _TOWARDS, _AWAY)).astype(np.float32), f)
    return np.where(f > d, (d * np.where(d < 0, _AWAY, _TOWARDS)).astype(np.float32), f)


def pack_rtree(c, name, ids, boxes):
    """Fill an EMPTY SQLite R*Tree `name` (2-D, REAL) with `boxes` (minx, maxx, miny, maxy) for `ids`: _packed_rtree
    then _write_rtree. Equivalent to inserting the rows one by one, several times faster, and a better tree; check
    with rtreecheck()."""
    size = c.execute(f'SELECT length(data) FROM "{name}_node" WHERE nodeno = 1').fetchone()[0]
    _write_rtree(c, name, _packed_rtree(ids, boxes, size))


def _packed_rtree(ids, boxes, size):
    """The shadow-table rows of a sort-tile-recursive packed R*Tree of node size `size` holding `boxes` for `ids`
    (the node format of SQLite's rtree.c: 2-byte depth (root only), 2-byte cell count, cells of an 8-byte id and four
    4-byte floats, all big-endian): (nodes [(nodeno, blob)], rowid (ids, leaf nodes), parents [(node, parent)]).
    numpy only; _write_rtree puts them into an empty R-tree."""
    ids, boxes = np.asarray(ids, np.int64), np.asarray(boxes, np.float64)
    per = (size - 4) // 24
    cell = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])
    lo = [_float32(boxes[:, 0], False), _float32(boxes[:, 1], True), _float32(boxes[:, 2], False), _float32(boxes[:, 3], True)]
    level_ids, level_boxes = np.asarray(ids, np.int64), np.column_stack(lo)
    nodes, parents, leaf_of = [], [], None
    next_no, depth = 2, 0
    while True:
        n = len(level_ids)
        root = n <= per
        if root:
            perm, group = np.arange(n), np.zeros(n, np.int64)
        else:  # sort-tile-recursive: slices by x centre, runs of `per` by y centre within each slice
            n_slices = int(np.ceil(np.sqrt(-(-n // per))))
            slice_len = n_slices * per
            cx = level_boxes[:, 0].astype(np.float64) + level_boxes[:, 1]
            cy = level_boxes[:, 2].astype(np.float64) + level_boxes[:, 3]
            by_x = np.argsort(cx, kind="stable")
            pos = np.arange(n)
            perm = by_x[np.lexsort((cy[by_x], pos // slice_len))]  # lexsort is stable: ties keep their x order
            group = np.cumsum(pos % slice_len % per == 0) - 1  # a new group at each run of `per` and each new slice
        n_groups = int(group[-1]) + 1
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        counts = np.diff(np.r_[starts, n])
        numbers = np.array([1]) if root else np.arange(next_no, next_no + n_groups)
        next_no += 0 if root else n_groups
        # every node of this level in one array of SQLite's node layout, then cut into blobs
        node = np.zeros(n_groups, [("head", ">u2", 2), ("cells", cell, per), ("pad", "u1", size - 4 - 24 * per)])
        node["head"][:, 0] = depth if root else 0
        node["head"][:, 1] = counts
        slot = np.arange(n) - starts[group]
        node["cells"]["id"][group, slot] = level_ids[perm]
        node["cells"]["box"][group, slot] = level_boxes[perm]
        raw = node.tobytes()
        nodes.extend((int(no), raw[k * size:(k + 1) * size]) for k, no in enumerate(numbers.tolist()))
        b = level_boxes[perm]
        up_boxes = np.column_stack([np.minimum.reduceat(b[:, 0], starts), np.maximum.reduceat(b[:, 1], starts),
                                    np.minimum.reduceat(b[:, 2], starts), np.maximum.reduceat(b[:, 3], starts)]).astype(np.float32)
        if depth == 0:
            leaf_of = np.empty(n, np.int64)
            leaf_of[perm] = numbers[group]
        else:
            parents.extend(zip(level_ids[perm].tolist(), numbers[group].tolist()))
        if root:
            break
        level_ids, level_boxes, depth = numbers.astype(np.int64), up_boxes, depth + 1
    return nodes, (ids, leaf_of), parents


def _write_rtree(c, name, packed):
    """Rows of _packed_rtree into the shadow tables of the empty R-tree `name`, each table in one statement: the
    leaves' rowid map (one row per feature) goes in as one JSON array of id·2³²+node, so that no Python runs per
    row (another thread may be using the interpreter meanwhile)."""
    nodes, (ids, leaf_of), parents = packed
    c.execute(f'DELETE FROM "{name}_node"')
    c.executemany(f'INSERT INTO "{name}_node" (nodeno, data) VALUES (?, ?)', nodes)
    if len(ids) and 0 <= ids.min() and ids.max() < 2 ** 31:
        c.execute(f'INSERT INTO "{name}_rowid" (rowid, nodeno) SELECT value >> 32, value & 4294967295 FROM json_each(?)',
                  (json.dumps(((ids << 32) | leaf_of).tolist()),))
    else:
        c.executemany(f'INSERT INTO "{name}_rowid" (rowid, nodeno) VALUES (?, ?)', zip(ids.tolist(), leaf_of.tolist()))
    c.executemany(f'INSERT INTO "{name}_parent" (nodeno, parentnode) VALUES (?, ?)', parents)


def fsync(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
