"""The PostgreSQL/PostGIS backend of the registration database: the seam of ``store.py`` for a shared server.

Same tables as the GeoPackage (``schema.LAYERS``: the working layer cbdk, the right holders and the standard's tables,
batches, conflicts, audit, bdcdyh_alloc, the delivery's qs_* copies, lcb_meta), in one schema per registration
database (``SCHEMA``, default ``lcb``), names in lower case. Same classes, numbers, fingerprints and conflict rules:
everything a merge decides is still decided in the staging database (``records``, ``classify``, ``bdcdyh.allocate``)
by the code the GeoPackage uses; this module moves the results with COPY and runs the shared SQL statements through
``pgsql.translate``.

One merge = one transaction on one connection (``PgStore.load``):

1. COPY the keys of the delivery's parcels (pid, DKBM, 地籍子区, content fingerprint) into a temporary table;
2. take a transaction-scoped advisory lock per 地籍子区 (the 12-character BDCDYH prefix) and per village code
   (DKBM[:12]) of the delivery, all of them in ascending key order in one call (``lcb_lock``): merges of
   different townships or counties never wait for each other; two merges touching the same sub-zone run one after
   the other, and because every merge takes its locks in the same global order, in one go, before writing
   anything, no two merges can wait for each other in a cycle (no deadlock). A deadlock or serialization failure
   reported by the server anyway is retried (``RETRIES``);
3. compare with cbdk (new / unchanged / changed) — after the locks, so a concurrent merge of the same villages is
   seen as committed;
4. 不动产单元号: the existing numbers of the delivery's DKBMs and the highest serial of each of its sub-zones are read
   (under the locks nobody else allocates there), and ``bdcdyh.allocate`` runs in the staging database exactly as for
   a GeoPackage; the new numbers are COPYed into bdcdyh_alloc (unique there: a duplicate could not commit);
5. the new parcels are COPYed straight into cbdk (geometry as EWKB), the delivery's tables into qs_*, the right
   holders / standard tables derived by the shared statements, conflicts recorded (replaced on request), batch and
   audit rows written; COMMIT. A client killed at any point leaves an open transaction the server rolls back.

Schema creation (``ensure``) is its own short transaction under an advisory lock on the schema's name, so two clients
starting together create it once; it needs PostGIS in the database (created when the role may) and an EPSG CRS."""
import contextlib
import json
import re
import struct
import time

from osgeo import ogr

from .. import pgconn
from ..errors import LcbError
from . import pgsql, schema
from .store import now, user as os_user

PG_TYPES = {"TEXT": "text", "REAL": "double precision", "INTEGER": "bigint", "DATE": "text", "BLOB": "bytea"}
GEOMETRY = {ogr.wkbMultiPolygon: "MultiPolygon", ogr.wkbPolygon: "Polygon", ogr.wkbMultiLineString: "MultiLineString",
            ogr.wkbMultiPoint: "MultiPoint", ogr.wkbPoint: "Point", ogr.wkbLineString: "LineString"}
RETRYABLE = {"40P01", "40001"}  # deadlock_detected, serialization_failure
RETRIES = 5
CHUNK = 20000
NEW, SAME, CHANGED, CANCELLED = 0, 1, 2, 3  # as core/merge.py


def q(name):
    """A table or column name as created in PostgreSQL (lower case, quoted)."""
    return pgconn.quote_ident(str(name).lower())


def _lit(text):
    return "'" + str(text).replace("'", "''") + "'"


# ------------------------------------------------------------------ layout
def table_ddl(lyr, epsg):
    cols = ["fid serial PRIMARY KEY"]
    if lyr.geometry is not None:
        cols.append(f"geom geometry({GEOMETRY.get(lyr.geometry, 'Geometry')}, {int(epsg)})")
    cols += [f"{q(f.name)} {PG_TYPES.get(f.type, 'text')}" for f in lyr.fields]
    out = [f"CREATE TABLE {q(lyr.name)} ({', '.join(cols)})"]
    title = getattr(lyr, "title", "")
    if title:
        out.append(f"COMMENT ON TABLE {q(lyr.name)} IS {_lit(title)}")
    out += [f"COMMENT ON COLUMN {q(lyr.name)}.{q(f.name)} IS {_lit(f.title)}" for f in lyr.fields if f.title]
    return out


EXTRA_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_alloc_zone ON bdcdyh_alloc (substr(bdcdyh, 1, 12))",
    "CREATE INDEX IF NOT EXISTS ix_cbdk_pcid ON cbdk (pcid)",
    "CREATE INDEX IF NOT EXISTS ix_audit_dkbm ON audit (dkbm)",
    "CREATE INDEX IF NOT EXISTS ix_conflicts_dkbm ON conflicts (dkbm)",
    "CREATE INDEX IF NOT EXISTS ix_batches_fingerprint ON batches (fingerprint)",
]

# Functions of the registration schema: SQLite's typeof for the shared statements; the locks of one merge, taken in
# the order given (ascending), one by one, in one call; the audit of consultation changes made by anyone (the
# plugin sets lcb.user / lcb.action for its own changes; an edit in QGIS's attribute table records the database role).
FUNCTIONS = pgsql.FUNCTIONS + [
    """CREATE OR REPLACE FUNCTION {schema}.lcb_lock(keys bigint[]) RETURNS integer LANGUAGE plpgsql AS $$
       DECLARE k bigint; n integer := 0;
       BEGIN
         FOREACH k IN ARRAY keys LOOP PERFORM pg_advisory_xact_lock(k); n := n + 1; END LOOP;
         RETURN n;
       END $$""",
    """CREATE OR REPLACE FUNCTION {schema}.lcb_audit_consult() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO {schema}.audit (at, "user", action, dkbm, pcid, detail)
         VALUES (to_char(localtimestamp(0), 'YYYY-MM-DD"T"HH24:MI:SS'),
                 COALESCE(NULLIF(current_setting('lcb.operator', true), '') || ' (' || session_user || ')', session_user::text),
                 COALESCE(NULLIF(current_setting('lcb.action', true), ''), 'consult (QGIS)'),
                 NEW.dkbm, NULL,
                 json_build_object('old', OLD.xszt, 'new', NEW.xszt, 'note', NEW.xsbz)::text);
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER lcb_audit_consult AFTER UPDATE OF xszt, xsbz ON {schema}.cbdk FOR EACH ROW
       WHEN (OLD.xszt IS DISTINCT FROM NEW.xszt OR OLD.xsbz IS DISTINCT FROM NEW.xsbz)
       EXECUTE FUNCTION {schema}.lcb_audit_consult()""",
]

LAYER_STYLES = """CREATE TABLE IF NOT EXISTS public.layer_styles (id serial PRIMARY KEY, f_table_catalog varchar, f_table_schema varchar,
    f_table_name varchar, f_geometry_column varchar, stylename text, styleqml xml, stylesld xml, useasdefault boolean, description text,
    owner varchar(63) DEFAULT CURRENT_USER, ui xml, update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)"""


def pg_qml(qml, layer):
    """A QML style of the GeoPackage layout for the PostgreSQL layer: its field names in lower case, and the code
    lists of its coded fields as value maps (a GeoPackage carries them as field domains, which QGIS shows by itself;
    PostgreSQL has no such thing QGIS reads)."""
    for f in layer.fields:
        qml = qml.replace(f'"{f.name}"', f'"{f.name.lower()}"').replace(f"&quot;{f.name}&quot;", f"&quot;{f.name.lower()}&quot;")
    maps = _value_maps(layer)
    if maps and "<fieldConfiguration>" not in qml:
        end = qml.rindex("</qgis>")
        qml = qml[:end] + maps + qml[end:]
    return qml


def _value_maps(layer):
    from xml.sax.saxutils import quoteattr
    coded = [f for f in layer.fields if getattr(f, "domain", None)]
    if not coded or not hasattr(schema, "domains"):
        return ""
    domains = schema.domains()
    parts = []
    for f in coded:
        _title, codes = domains.get(f.domain, ("", {}))
        entries = "".join(f'<Option type="Map"><Option type="QString" name={quoteattr(f"{name}")} value={quoteattr(code)}/></Option>'
                          for code, name in codes.items())
        parts.append(f'<field name={quoteattr(f.name.lower())} configurationFlags="None"><editWidget type="ValueMap"><config>'
                     f'<Option type="Map"><Option type="List" name="map">{entries}</Option></Option></config></editWidget></field>')
    return "<fieldConfiguration>" + "".join(parts) + "</fieldConfiguration>"


def qml(postgres):
    """The parcels' class style with the Chinese aliases, for a GeoPackage layer or (postgres) a PostgreSQL one."""
    text = schema.styled_qml()
    return pg_qml(text, schema.CBDK) if postgres else text


def styles():
    """(table, geometry column, style name, QML) of the default styles stored in public.layer_styles."""
    out = [("cbdk", "geom", schema.STYLE_NAME, pg_qml(schema.styled_qml(), schema.CBDK))]
    for lyr in schema.STANDARD:
        out.append((lyr.name.lower(), "geom" if lyr.geometry else None, lyr.title or lyr.name, pg_qml(schema.aliases_qml(lyr), lyr)))
    return out


def _pg_error(e, target, zh, en):
    text = target.mask(pgconn.first_line(e))
    code = getattr(e, "pgcode", None)
    if code == "42501":
        return LcbError(f"{zh}：数据库用户权限不足（{text}）", f"{en}: the database role lacks a privilege ({text})", path=target.display())
    return LcbError(f"{zh}：{text}", f"{en}: {text}", path=target.display())


# ------------------------------------------------------------------ existence, version, CRS
def exists(target):
    """Does the schema hold a registration database? Refuses one of another layout version."""
    conn = target.connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'lcb_meta'", (target.schema,))
        if cur.fetchone() is None:
            return False
        _check_version(cur, target)
        return True
    finally:
        conn.close()


def _check_version(cur, target):
    cur.execute(f"SELECT value FROM {q(target.schema)}.lcb_meta WHERE key = 'schema_version'")
    row = cur.fetchone()
    version = row[0] if row else None
    if version != schema.SCHEMA_VERSION:
        raise LcbError(f"登记库的结构版本为 {version or '未知'}，本版本插件需要 {schema.SCHEMA_VERSION}：请用本版本在另一个模式（SCHEMA）中重新建立登记库",
                       f"the registration database has layout version {version or 'unknown'}, this plugin needs {schema.SCHEMA_VERSION}: "
                       "build a new one with this version in another SCHEMA", path=target.display())


def target_epsg(target):
    conn = target.connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = 'cbdk'", (target.schema,))
        row = cur.fetchone()
        if row is None:
            raise LcbError(f"模式 {target.schema} 中没有 cbdk 图层，不是本插件建立的登记库", "the schema has no cbdk layer", path=target.display())
        return int(row[0]) or None
    finally:
        conn.close()


def ensure(target, epsg, progress=None):
    """The registration database in `target`'s schema, created when missing (safe when several clients start
    together). Returns the EPSG code of its parcels."""
    psycopg2 = pgconn.driver()
    conn = target.connect(autocommit=False, search_path=False)
    try:
        cur = conn.cursor()
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"lcb:schema:{target.schema}",))
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'lcb_meta'", (target.schema,))
        if cur.fetchone() is not None:
            _check_version(cur, target)
            conn.rollback()
            return target_epsg(target)
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (target.schema,))
        if cur.fetchone()[0]:
            raise LcbError(f"数据库中已有模式 {target.schema}，但它不是本插件建立的登记库：请另选 SCHEMA",
                           f"schema {target.schema} exists and is not a registration database made by this plugin: choose another SCHEMA",
                           path=target.display(), field="SCHEMA")
        if not epsg:
            raise LcbError("PostgreSQL 登记库需要一个 EPSG 坐标系：成果的坐标系没有 EPSG 代码，请用 TARGET_CRS 指定",
                           "a PostgreSQL registration database needs an EPSG CRS: the delivery's has no EPSG code, set TARGET_CRS",
                           path=target.display(), field="TARGET_CRS")
        postgis_schema = _ensure_postgis(cur, target)
        cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s" if postgis_schema is None else
                    f"SELECT 1 FROM {q(postgis_schema)}.spatial_ref_sys WHERE srid = %s", (int(epsg),))
        if cur.fetchone() is None:
            raise LcbError(f"PostGIS 不认识坐标系 EPSG:{epsg}", f"PostGIS does not know EPSG:{epsg}", path=target.display(), field="TARGET_CRS")
        s = q(target.schema)
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        path = ", ".join([s] + ([q(postgis_schema)] if postgis_schema not in (None, "public") else []) + ["public"])
        cur.execute(f"SET LOCAL search_path TO {path}")
        for lyr in schema.LAYERS:
            for sql in table_ddl(lyr, epsg):
                cur.execute(sql)
        for sql in schema.INDEXES + EXTRA_INDEXES:
            cur.execute(pgsql.translate(sql).sql)
        for lyr in schema.LAYERS:
            if lyr.geometry is not None:
                cur.execute(f"CREATE INDEX IF NOT EXISTS {q('sx_' + lyr.name + '_geom')} ON {q(lyr.name)} USING gist (geom)")
        for sql in FUNCTIONS:
            cur.execute(sql.replace("{schema}", s))
        for sql in _standard_triggers(s):
            cur.execute(sql)
        cur.executemany("INSERT INTO lcb_meta (key, value) VALUES (%s, %s)",
                        [("schema_version", schema.SCHEMA_VERSION), ("epsg", str(epsg)), ("created_at", now()),
                         ("created_by", "Land Contract Bridge"), ("backend", "postgis")])
        _store_styles(cur, target, progress)
        conn.commit()
        return int(epsg)
    except psycopg2.Error as e:
        conn.rollback()
        raise _pg_error(e, target, f"无法在数据库中建立登记库（模式 {target.schema}）",
                        f"cannot create the registration database (schema {target.schema})") from None
    finally:
        conn.close()


def _standard_triggers(s):
    """The triggers that keep the standard's tables equal to what cbdk gives (registration.standard), when the layout
    has them: the very statements ``standard.triggers`` runs in SQLite, in one PL/pgSQL row trigger. A writer working
    in bulk (a merge) sets ``lcb.bulk`` for its transaction and calls ``standard.refresh`` instead."""
    from . import standard

    def body(parts):
        return " ".join(pgsql.translate(p).sql + ";" for p in parts)
    depends = ", ".join(q(c) for c in standard._DEPENDS)  # noqa: SLF001 - the columns its SQLite trigger watches
    return [
        f"""CREATE OR REPLACE FUNCTION {s}.lcb_standard_row() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') THEN {body(standard.delete_statements('OLD.BDCDYH'))} END IF;
              IF TG_OP IN ('INSERT', 'UPDATE') THEN {body(standard.delete_statements('NEW.BDCDYH') + standard.statements('c.fid = NEW.fid'))} END IF;
              RETURN NULL;
            END $$""",
        f"""CREATE TRIGGER lcb_standard AFTER INSERT OR DELETE OR UPDATE{' OF ' + depends if depends else ''} ON {s}.cbdk FOR EACH ROW
            WHEN (current_setting('lcb.bulk', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION {s}.lcb_standard_row()""",
    ]


def _ensure_postgis(cur, target):
    """The schema PostGIS lives in; created in the database when missing and the role may (else a clear error)."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended('lcb:postgis', 0))")
    cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis'")
    row = cur.fetchone()
    if row is not None:
        return row[0]
    cur.execute("SAVEPOINT postgis")
    try:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except Exception as e:  # noqa: BLE001 - psycopg2.Error: no privilege, or PostGIS not installed on the server
        cur.execute("ROLLBACK TO SAVEPOINT postgis")
        raise LcbError("数据库中没有 PostGIS 扩展，当前用户也无法安装：请数据库管理员在该数据库中执行 CREATE EXTENSION postgis;"
                       f"（{target.mask(pgconn.first_line(e))}）",
                       "the database has no PostGIS extension and this role cannot create it: ask the database administrator to run "
                       f"CREATE EXTENSION postgis; in it ({target.mask(pgconn.first_line(e))})", path=target.display()) from None
    cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis'")
    return cur.fetchone()[0]


def _store_styles(cur, target, progress):
    """The class style and the Chinese aliases as the layers' default styles in public.layer_styles (QGIS's own
    table, created as QGIS creates it when missing). Without the privilege to create it: a note, no failure."""
    cur.execute("SAVEPOINT styles")
    try:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended('lcb:layer_styles', 0))")
        cur.execute(LAYER_STYLES)
        rows = [(target.schema, t, g, n, qml) for t, g, n, qml in styles()]
        cur.executemany("UPDATE public.layer_styles SET useasdefault = false WHERE f_table_catalog = current_database() AND f_table_schema = %s "
                        "AND f_table_name = %s AND useasdefault", [(s, t) for s, t, _g, _n, _qml in rows])
        cur.executemany("INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, stylename, styleqml, "
                        "stylesld, useasdefault, description) VALUES (current_database(), %s, %s, %s, %s, %s, '', true, 'Land Contract Bridge')",
                        rows)
        cur.execute("RELEASE SAVEPOINT styles")
    except Exception as e:  # noqa: BLE001 - the layers still open (the plugin applies the style itself)
        cur.execute("ROLLBACK TO SAVEPOINT styles")
        if progress is not None:
            progress.info(f"未能把样式存入 public.layer_styles（{target.mask(pgconn.first_line(e))}），QGIS 打开图层时不会自动套用 / "
                          f"the style could not be stored in public.layer_styles ({target.mask(pgconn.first_line(e))})")


# ------------------------------------------------------------------ COPY from the staging database
# Two ways of writing PostgreSQL's COPY text format from a SQLite query. The exact one escapes every field in SQL
# (five replace() calls per text field); the fast one — the default — joins the raw fields with control characters
# (\x1f between fields, \x1e for NULL, \x1d between rows) and escapes a whole chunk of rows with a handful of
# str.replace calls in Python, checking that no value held one of those characters (then the merge is redone the
# exact way: ``Unsafe``). Doubles are written with 17 significant digits (printf %!.17g: exact round trip).
_EXACT = {
    "TEXT": (r"COALESCE(CASE WHEN typeof({x}) = 'blob' THEN '\\x' || hex({x}) ELSE replace(replace(replace(replace(replace("
             r"CAST({x} AS TEXT), '\', '\\'), char(9), '\t'), char(10), '\n'), char(13), '\r'), char(0), '') END, '\N')"),
    "REAL": r"CASE WHEN typeof({x}) IN ('integer', 'real') THEN printf('%!.17g', {x}) ELSE '\N' END",
    "INTEGER": (r"CASE WHEN typeof({x}) = 'integer' THEN CAST({x} AS TEXT) WHEN typeof({x}) = 'real' AND {x} = CAST({x} AS INTEGER) "
                r"THEN CAST(CAST({x} AS INTEGER) AS TEXT) ELSE '\N' END"),
}
_FAST = {
    # a text that is exactly the NULL marker is sent as a row separator: the row count check then fails (Unsafe)
    "TEXT": (r"CASE typeof({x}) WHEN 'text' THEN CASE {x} WHEN char(30) THEN char(29) ELSE {x} END WHEN 'null' THEN char(30) "
             r"WHEN 'blob' THEN '\x' || hex({x}) ELSE CAST({x} AS TEXT) END"),
    "REAL": r"CASE WHEN typeof({x}) IN ('integer', 'real') THEN printf('%!.17g', {x}) ELSE char(30) END",
    "INTEGER": (r"CASE WHEN typeof({x}) = 'integer' THEN CAST({x} AS TEXT) WHEN typeof({x}) = 'real' AND {x} = CAST({x} AS INTEGER) "
                r"THEN CAST(CAST({x} AS INTEGER) AS TEXT) ELSE char(30) END"),
}
_SEP, _NULL, _ROW = b"\x1f", b"\x1e", b"\x1d"
_MARKS = [a + _NULL + c for a in (_SEP, _ROW) for c in (_SEP, _ROW)]


class Unsafe(Exception):
    """A staged value held one of the fast COPY's control characters: the merge is redone the exact way."""


def kind_of(declared):
    k = str(declared or "").upper()
    if "INT" in k:
        return "INTEGER"
    if any(t in k for t in ("REAL", "FLOA", "DOUB", "NUM")):
        return "REAL"
    return "TEXT"


def _field(expr, kind, exact, epsg=None):
    if kind == "RAW":  # an SQL literal already in COPY's format (a number, a plain string)
        return expr
    if kind == "EWKB":  # a GeoPackage blob (40-byte header, 2-D little-endian WKB as gpkg.blobs writes it) as hex EWKB with the SRID
        srid = struct.pack("<I", int(epsg)).hex().upper()
        null = r"'\N'" if exact else "char(30)"
        return f"CASE WHEN {expr} IS NULL THEN {null} ELSE '01' || hex(substr({expr}, 42, 3)) || '20{srid}' || hex(substr({expr}, 46)) END"
    return (_EXACT if exact else _FAST)[kind_of(kind)].format(x=expr)


def _chunks(cursor, n_fields, exact):
    """The COPY text of a SQLite query's rows, one encoded chunk of CHUNK rows at a time."""
    while True:
        rows = cursor.fetchmany(CHUNK)
        if not rows:
            return
        if exact:
            yield len(rows), ("\n".join(r[0] for r in rows) + "\n").encode("utf-8")
            continue
        # bytes, not str: every pass is a memchr-speed bytes operation (UTF-8 never has these bytes inside a character)
        b = "\x1d".join(r[0] for r in rows).encode("utf-8")
        if b.count(_SEP) != len(rows) * (n_fields - 1) or b.count(_ROW) != len(rows) - 1:
            raise Unsafe()
        b = b.replace(b"\x00", b"").replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
        b = _ROW + b + _ROW
        for _round in range(2):  # a NULL is a whole field: the marker between two separators (twice: runs of NULLs overlap)
            for m in _MARKS:
                b = b.replace(m, m[:1] + b"\x00" + m[2:])
        if _NULL in b:  # a value holding the marker
            raise Unsafe()
        yield len(rows), b[1:-1].replace(b"\x00", b"\\N").replace(_SEP, b"\t").replace(_ROW, b"\n") + b"\n"


class _Queue:
    """The file psycopg2's copy_expert reads on the sending thread: chunks put by the producing (calling) thread."""

    def __init__(self):
        import queue
        self.q = queue.Queue(maxsize=3)
        self.failed = False

    def read(self, _size=-1):
        item = self.q.get()
        if item is None:
            return b""
        if isinstance(item, BaseException):
            self.failed = True
            raise item
        return item

    readline = read


def copy(stage, cur, table, columns, fields, source, exact=False, epsg=None):
    """COPY `table` (columns) FROM the staging database: `fields` [(SQLite expression, kind)] with kind TEXT, REAL,
    INTEGER, EWKB or RAW, read `source` (FROM … WHERE … ORDER BY …). Returns the number of rows.

    The rows are read from SQLite and formatted on the calling thread (the staging connection belongs to it) while
    another thread sends the previous chunk (psycopg2 releases the GIL while it waits for the server), so reading,
    sending and the server's work overlap."""
    import threading
    sep = " || char(9) || " if exact else " || char(31) || "
    select = f"SELECT {sep.join(_field(x, k, exact, epsg) for x, k in fields)} {source}"
    src = _Queue()
    box = {}

    def send():
        try:
            cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", src, size=1 << 20)
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            box["error"] = e
            while True:  # unblock the producer
                try:
                    src.q.get_nowait()
                except Exception:  # noqa: BLE001 - queue.Empty
                    break
    sender = threading.Thread(target=send, name="lcb-copy", daemon=True)
    sender.start()
    n, problem = 0, None
    try:
        for rows, chunk in _chunks(stage.execute(select), len(fields), exact):
            if "error" in box:
                break
            src.q.put(chunk)
            n += rows
    except BaseException as e:  # noqa: BLE001 - an Unsafe value, a SQLite error, a cancel: the COPY is aborted
        problem = e
    while sender.is_alive():  # end of data, or the problem, for the sender
        try:
            src.q.put(problem if problem is not None else None, timeout=0.1)
            break
        except Exception:  # noqa: BLE001 - queue.Full while the sender drains
            if "error" in box:
                break
    sender.join()
    if problem is not None:
        raise problem
    if "error" in box:
        raise box["error"]
    return n


# ------------------------------------------------------------------ the merge
class _Conn(pgconn.PgConnection):
    """A transaction's connection as the shared (SQLite-dialect) statements see it — ``c.execute(sql, args)`` with
    ``?``, rows as tuples, ``lastrowid`` after an INSERT … VALUES, ``PRAGMA table_info`` — translated by ``pgsql``.
    A staging table a statement reads (``stg.<t>``) is COPYed into a temporary table first (once per transaction):
    its GeoPackage geometry blobs (a column ``geom``) become PostGIS geometries in the target CRS, and a staged record
    view gets its content fingerprint as a column, which stands for ``records.fingerprint(alias)`` in the statements
    (the fingerprint is computed by SQLite: PostgreSQL would format the JSON differently)."""

    FINGERPRINT = "lcb_yjhash"

    def __init__(self, target, conn, stage, exact, epsg):
        super().__init__(target, conn)
        self.stage, self.exact, self.srid = stage, exact, epsg
        self.staged = set()

    def _prepare(self, sql, with_args):
        from . import records
        for alias in set(re.findall(r"lcb_sha1\(json_array\(([A-Za-z_]\w*)\.", sql)):
            sql = sql.replace(records.fingerprint(alias), f"{alias}.{self.FINGERPRINT}")
        t = pgsql.translate(sql, with_args)
        for name in t.stage:
            if name not in self.staged:
                self._stage_table(name)
        return t.sql

    def execute(self, sql, args=None):
        args = tuple(args) if args is not None else ()
        info = pgconn.table_info(sql, self.columns)
        if info is not None:
            return info
        text = self._prepare(sql, bool(args))
        single = re.match(r"\s*INSERT\s+INTO\s+(\w+)\s*\([^)]*\)\s*VALUES\s*\((?:[^()']|'[^']*')*\)\s*$", text, re.IGNORECASE | re.DOTALL)
        if single and "returning" not in text.lower() and "fid" in self.columns(single.group(1)):
            text += " RETURNING fid"  # sqlite3's lastrowid
        cur = self.conn.cursor()
        cur.execute(text, args or None)
        out = pgconn._Cursor(cur)
        if single and cur.description is not None:
            out.lastrowid = cur.fetchone()[0]
        return out

    def executemany(self, sql, rows):
        from psycopg2.extras import execute_batch
        cur = self.conn.cursor()
        execute_batch(cur, self._prepare(sql, True), [tuple(r) for r in rows], page_size=500)
        return pgconn._Cursor(cur)

    def _stage_table(self, name):
        from . import records
        real = self.stage.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND lower(name) = ?", (name,)).fetchone()
        if real is None:
            raise LcbError(f"暂存库中没有表 {name}", f"the staging database has no table {name}")
        cols = self.stage.execute(f'PRAGMA table_info("{real[0]}")').fetchall()
        kinds = [(c[1], "EWKB" if c[1].lower() == "geom" else kind_of(c[2] or "TEXT")) for c in cols]
        fields = [(f'v."{n}"', k) for n, k in kinds]
        names = [n for n, _k in kinds]
        if {n.upper() for n in names} >= set(schema.HASHED) | {"NH", "GH"}:  # a record view (RECV): its fingerprint too
            kinds.append((self.FINGERPRINT, "TEXT"))
            fields.append((records.fingerprint("v"), "TEXT"))
            names.append(self.FINGERPRINT)
        temp = pgsql.STAGE_PREFIX + name
        cur = self.conn.cursor()
        types = {"EWKB": f"geometry(Geometry, {int(self.srid)})" if self.srid else "geometry"}
        cur.execute(f"CREATE TEMP TABLE {temp} ({', '.join(f'{q(n)} {types.get(k) or PG_TYPES[k]}' for n, k in kinds)}) ON COMMIT DROP")
        copy(self.stage, cur, temp, [q(n) for n in names], fields, f'FROM "{real[0]}" v', self.exact, self.srid)
        cur.execute(f"ANALYZE {temp}")
        self.staged.add(name)


class PgStore:
    """A registration database in PostgreSQL for one writer (a merge; a change package): one connection, work done
    in one transaction at a time. The seam ``store.GpkgStore`` offers for a GeoPackage, for a server:

    - ``attach_stage(stage, epsg)``: the staging database whose tables statements read as ``stg.<table>``;
    - ``transaction()``: ONE transaction as ``GpkgStore.transaction`` (for code written against it: lcb:apply_changes);
    - ``run(work, progress)``: ``work(c)`` in ONE transaction (``c``: the sqlite3-like connection of ``_Conn``),
      committed when it returns true, rolled back when false; redone on a deadlock or serialization failure reported
      by the server (and with exact COPY text after an ``Unsafe`` value);
    - ``lock(c, keys)`` / ``lock_names(c, zones, villages)``: the advisory locks of the 地籍子区 and villages written, all
      at once, in ascending order;
    - ``allocate(c, source, batch, at, county, zoning)``: 不动产单元号 for the parcels of a staging subquery by
      ``bdcdyh.allocate`` (numbers already given and the sub-zones' serials read from the database), COPYed into
      bdcdyh_alloc; leaves temp.NA in the staging database and temp.NA(pid, dkbm, bdcdyh) in PostgreSQL (as
      ``bdcdyh.allocate`` leaves it on a GeoPackage);
    - ``insert_parcels(c, batch, at)``: the parcels of temp.NA from the staged records into cbdk (COPY);
    - ``replace_parcels(c, source, batch, at)``: cbdk rows (fid) rewritten from staged records (COPY + UPDATE),
      number and consultation kept;
    - ``copy_delivery_tables(c, batch, has_ledger)``: the staged delivery tables into qs_* (COPY);
    - ``refresh_standard(c, where, batch)``: right holders and the standard's tables of the parcels ``where``."""

    def __init__(self, target):
        self.target = target
        self.conn = target.connect(autocommit=False)
        cur = self.conn.cursor()
        # memory for this session's temporary tables (the merge's keys and staged records; settable before their first
        # use only) and for its sorts: a county's records sorted on disk in 4 MiB pieces otherwise
        cur.execute("SET temp_buffers = '256MB'")
        cur.execute("SET work_mem = '128MB'")
        cur.execute("SELECT session_user")
        self.role = cur.fetchone()[0]
        self.conn.commit()
        self.exact = False  # the fast COPY text (see copy()); the exact one after an Unsafe value
        self.stage, self.epsg = None, None

    def close(self):
        try:
            self.conn.rollback()
        finally:
            self.conn.close()

    @property
    def user(self):
        """The operator as batches and audit record it: the login name and the database role."""
        u = os_user()
        return u if u == self.role else f"{u} ({self.role})"

    def attach_stage(self, stage, epsg=None):
        """`stage`: the staging sqlite3 connection (or an attrdb stage); `epsg`: the database's CRS (read when not given)."""
        self.stage = getattr(stage, "conn", stage)
        self.epsg = epsg or target_epsg(self.target)

    @property
    def pause_path(self):
        """Where the test hook LCB_TEST_PAUSE announces a writer of this database (merge.MergeJob.pause_path)."""
        import tempfile
        from pathlib import Path
        return Path(tempfile.gettempdir()) / f"lcb-pause-{self.target.schema}"

    @contextlib.contextmanager
    def transaction(self, action="apply_changes"):
        """One transaction, as ``GpkgStore.transaction``: yields the sqlite3-like connection (``_Conn``), commits at the
        end, rolls back on an error (mapped to a clear LcbError). The standard tables' row trigger is off meanwhile
        (``lcb.bulk``): the writer refreshes them set-wise. No retry here: ``run`` redoes a whole piece of work."""
        psycopg2 = pgconn.driver()
        c = _Conn(self.target, self.conn, self.stage, self.exact, self.epsg)
        try:
            c.execute("SELECT set_config('lcb.operator', ?, true), set_config('lcb.action', ?, true), set_config('lcb.bulk', 'on', true)",
                      (os_user(), action))
            yield c
            self.conn.commit()
        except psycopg2.Error as e:
            self.conn.rollback()
            raise _pg_error(e, self.target, "写入登记库失败，登记库没有任何改动",
                            "writing to the registration database failed and it was not changed") from None
        except BaseException:
            self.conn.rollback()
            raise

    def run(self, work, progress, action="merge", pause=None):
        """work(c) in one transaction; see the class docstring. Returns what work returned."""
        psycopg2 = pgconn.driver()
        for attempt in range(RETRIES):
            c = _Conn(self.target, self.conn, self.stage, self.exact, self.epsg)
            try:
                c.execute("SELECT set_config('lcb.operator', ?, true), set_config('lcb.action', ?, true), set_config('lcb.bulk', 'on', true)",
                          (os_user(), action))  # bulk: the standard tables are refreshed set-wise (refresh_standard), not per row
                done = work(c)
                if done:
                    if pause is not None:
                        from ..merge import _test_pause
                        _test_pause("before_commit", pause)
                    self.conn.commit()
                else:
                    self.conn.rollback()
                return done
            except Unsafe:
                self.conn.rollback()
                self.exact = True
                continue
            except psycopg2.Error as e:
                self.conn.rollback()
                if getattr(e, "pgcode", None) in RETRYABLE and attempt < RETRIES - 1:
                    progress.info(f"数据库报告死锁或序列化冲突，重试 / the server reported a deadlock or serialization failure, retrying ({attempt + 1})")
                    time.sleep(0.2 * (attempt + 1))
                    continue
                raise _pg_error(e, self.target, "写入登记库失败，登记库没有任何改动",
                                "writing to the registration database failed and it was not changed") from None
            except BaseException:
                self.conn.rollback()
                raise
        raise LcbError("登记库持续报告死锁，已放弃，登记库没有任何改动", "the database kept reporting deadlocks; gave up, nothing was changed",
                       path=self.target.display())

    # ------------------------------------------------------------------ the seam's steps
    def zone_keys(self, zone_sql, village_sql, source):
        """SQL of the lock keys of the rows of `source` (a FROM clause in PostgreSQL): their 地籍子区 and villages."""
        return (f"SELECT hashtextextended('lcb:{self.target.schema}:z:' || ({zone_sql}), 0) {source} "
                f"UNION SELECT hashtextextended('lcb:{self.target.schema}:v:' || substr(COALESCE({village_sql}, ''), 1, 12), 0) {source}")

    def lock(self, c, keys_sql, args=()):
        """Take the advisory locks of `keys_sql` (bigint keys), all in one call, in ascending order (no deadlock)."""
        c.execute(f"SELECT lcb_lock(array_agg(k ORDER BY k)) FROM ({keys_sql}) AS s(k)", args)

    def lock_names(self, c, zones, villages):
        """The locks of these 地籍子区 (12-character BDCDYH prefixes) and village codes (DKBM[:12]), as a merge takes them."""
        self.lock(c, f"SELECT hashtextextended('lcb:{self.target.schema}:z:' || z, 0) FROM unnest(?::text[]) AS z "
                     f"UNION SELECT hashtextextended('lcb:{self.target.schema}:v:' || substr(COALESCE(v, ''), 1, 12), 0) "
                     "FROM unnest(?::text[]) AS v", (sorted(set(zones)), sorted(set(villages))))

    def lock_staged(self, c, county, zoning, source="RECK"):
        """The locks of the 地籍子区 and villages of the staged parcels (`source`: a staging table or view with DKBM and
        FBFBM) — what a writer other than the merge (lcb:apply_changes) takes first in its transaction."""
        from . import bdcdyh
        rows = self.stage.execute(f"SELECT DISTINCT {bdcdyh.zone_sql('s.DKBM', 's.FBFBM', county, zoning, zn='ZN')}, "
                                  f"substr(COALESCE(s.DKBM, ''), 1, 12) FROM {source} s").fetchall()
        self.lock_names(c, [r[0] for r in rows], [r[1] for r in rows])

    def stage_keys(self, c, select, table="lcb_k"):
        """COPY (pid, dkbm, zone, yjhash) of a staging query into a temporary table (indexed on dkbm)."""
        cur = self.conn.cursor()
        cur.execute(f"CREATE TEMP TABLE {table} (pid integer PRIMARY KEY, dkbm text, zone text, yjhash text) ON COMMIT DROP")
        copy(self.stage, cur, table, ["pid", "dkbm", "zone", "yjhash"],
             [("pid", "INTEGER"), ("DKBM", "TEXT"), ("ZONE", "TEXT"), ("YJHASH", "TEXT")], select, self.exact)
        cur.execute(f"CREATE INDEX ON {table} (dkbm)")
        cur.execute(f"ANALYZE {table}")

    def allocate(self, c, source, batch, at, county, zoning, wanted=None, na_table=True):
        """不动产单元号 for the parcels of `source` (a staging subquery with pid, DKBM, FBFBM, TZM): bdcdyh.allocate in
        the staging database against the numbers the database has already given to these DKBMs and the highest serial
        of each sub-zone of `zones` (PostgreSQL); the new ones COPYed into bdcdyh_alloc. Call under lock(). `wanted`: a
        PostgreSQL table (dkbm) already holding the DKBMs of `source` (else they are COPYed); na_table: leave temp.NA
        in PostgreSQL too."""
        from . import bdcdyh
        st, cur = self.stage, self.conn.cursor()
        st.execute("DROP TABLE IF EXISTS bdcdyh_alloc")
        st.execute("CREATE TABLE bdcdyh_alloc (DKBM TEXT, BDCDYH TEXT, PCID INTEGER, at TEXT)")
        st.execute("DROP TABLE IF EXISTS ALLOC_SRC")
        st.execute(f"CREATE TABLE ALLOC_SRC AS SELECT * FROM {source}")
        if wanted is None:
            wanted = "lcb_want"
            cur.execute("CREATE TEMP TABLE lcb_want (dkbm text) ON COMMIT DROP")
            copy(st, cur, "lcb_want", ["dkbm"], [("DKBM", "TEXT")], "FROM ALLOC_SRC", self.exact)
        cur.execute(f"SELECT a.dkbm, a.bdcdyh FROM bdcdyh_alloc a JOIN {wanted} w ON w.dkbm = a.dkbm")
        st.executemany("INSERT INTO bdcdyh_alloc (DKBM, BDCDYH) VALUES (?, ?)", cur.fetchall())
        # the highest serial of each sub-zone, as one stand-in row (no DKBM) that allocate() counts from
        zones = [r[0] for r in st.execute(f"SELECT DISTINCT {bdcdyh.zone_sql('s.DKBM', 's.FBFBM', county, zoning, zn='ZN')} FROM ALLOC_SRC s")]
        cur.execute("""SELECT substr(bdcdyh, 1, 12), max(CAST(substr(bdcdyh, 15, 5) AS integer)) FROM bdcdyh_alloc
                       WHERE substr(bdcdyh, 1, 12) = ANY(%s) AND substr(bdcdyh, 15, 5) ~ '^[0-9]{5}$' GROUP BY 1""", (zones,))
        st.executemany("INSERT INTO bdcdyh_alloc (DKBM, BDCDYH) VALUES (NULL, ?)", [(z + "JD" + f"{m:05d}" + bdcdyh.FIXTURE,) for z, m in cur.fetchall()])
        try:  # in the staging database itself: its zoning is ZN (not attached as stg, whose read lock would block the commit)
            bdcdyh.allocate(st, "ALLOC_SRC", batch, at, county, zoning, zn="ZN")
        finally:
            st.commit()
        copy(st, cur, "bdcdyh_alloc", ["dkbm", "bdcdyh", "pcid", "at"],
             [("DKBM", "TEXT"), ("BDCDYH", "TEXT"), (str(int(batch)), "RAW"), (_sqlite_lit(at), "TEXT")],
             "FROM temp.NA WHERE fresh ORDER BY pid", self.exact)
        if na_table:
            cur.execute("CREATE TEMP TABLE na (pid integer PRIMARY KEY, dkbm text, bdcdyh text) ON COMMIT DROP")
            copy(st, cur, "na", ["pid", "dkbm", "bdcdyh"], [("pid", "INTEGER"), ("DKBM", "TEXT"), ("BDCDYH", "TEXT")],
                 "FROM temp.NA ORDER BY pid", self.exact)

    def insert_parcels(self, c, batch, at, fingerprints=None):
        """The parcels of temp.NA (allocate) from the staged records (RECV, DKG) into cbdk, by COPY. `fingerprints`:
        a staging table (pid, YJHASH) already holding their content fingerprints."""
        from . import records
        cols = schema.HASHED
        kinds = {f.name: f.type for f in schema.CBDK.fields}
        fp = ("k.YJHASH", "TEXT") if fingerprints else (records.fingerprint("v"), "TEXT")
        join = f"JOIN {fingerprints} k ON k.pid = a.pid " if fingerprints else ""
        fields = [("d.geom", "EWKB"), ("a.BDCDYH", "TEXT")] + [(f"v.{f}", kinds[f]) for f in cols] + [
            (str(int(batch)), "RAW"), fp, (_sqlite_lit(at), "TEXT"), (records.new_xszt("v"), "TEXT")]
        return copy(self.stage, self.conn.cursor(), "cbdk", ["geom", "bdcdyh"] + [q(f) for f in cols] + ["pcid", "yjhash", "rksj", "xszt"],
                    fields, f"FROM temp.NA a JOIN RECV v ON v.pid = a.pid {join}LEFT JOIN DKG d ON d._i = v.dk_i ORDER BY a.pid",
                    self.exact, self.epsg)

    def replace_parcels(self, c, source, where, batch, at, fingerprints=None):
        """cbdk rows rewritten from staged records: `source` a staging FROM clause giving aliases s (fid, pid) and v
        (RECV), `where` its condition; geometry, delivered fields, fingerprint, batch and time replaced; number and consultation kept.
        Leaves lcb_rp(fid, …) for the caller. Returns the number of rows."""
        from . import records
        cols = schema.HASHED
        kinds = {f.name: f.type for f in schema.CBDK.fields}
        cur = self.conn.cursor()
        cur.execute(f"CREATE TEMP TABLE lcb_rp (fid integer, geom geometry, {', '.join(q(f) + ' ' + PG_TYPES[kinds[f]] for f in cols)}, "
                    "yjhash text) ON COMMIT DROP")
        fp = ("k.YJHASH", "TEXT") if fingerprints else (records.fingerprint("v"), "TEXT")
        join = f" JOIN {fingerprints} k ON k.pid = s.pid" if fingerprints else ""
        fields = [("s.fid", "INTEGER"), ("d.geom", "EWKB")] + [(f"v.{f}", kinds[f]) for f in cols] + [fp]
        n = copy(self.stage, cur, "lcb_rp", ["fid", "geom"] + [q(f) for f in cols] + ["yjhash"], fields,
                 f"{source}{join} LEFT JOIN DKG d ON d._i = v.dk_i WHERE {where} ORDER BY s.pid", self.exact, self.epsg)
        cur.execute(f"""UPDATE cbdk SET geom = x.geom, {', '.join(f'{q(f)} = x.{q(f)}' for f in cols)}, yjhash = x.yjhash, pcid = %s, rksj = %s
                        FROM lcb_rp x WHERE cbdk.fid = x.fid""", (batch, at))
        return n

    def copy_delivery_tables(self, c, batch, has_ledger):
        """The staged delivery's attribute tables (and the ledger) into qs_*, by COPY."""
        from .. import schema as delivery_schema
        cur = self.conn.cursor()
        kinds = {"T": "TEXT", "M": "TEXT", "D": "TEXT", "N": "REAL", "I": "INTEGER"}
        for table, spec in delivery_schema.TABLES.items():
            fields = [(f'"{f[0]}"', kinds[f[1]]) for f in spec] + [(str(int(batch)), "RAW")]
            copy(self.stage, cur, q(schema.QS_PREFIX + table.lower()), [q(f[0]) for f in spec] + ["pcid"], fields,
                 f'FROM "{table}" ORDER BY _row', self.exact)
        if has_ledger:
            fields = [("DKBM", "TEXT"), ("CBFBM", "TEXT"), ("CBJYQZBM", "TEXT"), ("DBMJ", "REAL"), (str(int(batch)), "RAW")]
            copy(self.stage, cur, q(schema.QS_PREFIX + "tz"), ["dkbm", "cbfbm", "cbjyqzbm", "dbmj", "pcid"], fields,
                 "FROM LEDGER ORDER BY _row", self.exact)

    def refresh_standard(self, c, where, batch=None, replaced=False):
        """The standard's tables (ZDJBXX, NYDSYQ, QLR) of the parcels `where` (a condition on cbdk c) rewritten from their
        working data by the statements the GeoPackage runs (registration.standard.refresh)."""
        from . import standard
        standard.refresh(c, where)


def merge_work(job, st):
    """The work of one merge in its transaction (MergeJob.load for a PostgreSQL target)."""
    from . import bdcdyh, records
    res, progress, stage, clock = job.result, job.progress, job.ws.stage.conn, job.clock

    def work(c):
        res.update(INSERTED=0, UPDATED=0, UNCHANGED=0, CONFLICTS=0, CANCELLED=0)
        with clock("compare"):
            st.stage_keys(c, "FROM OUTK")
        with clock("lock"):
            st.lock(c, st.zone_keys("zone", "dkbm", "FROM lcb_k"))
        with clock("compare"):
            c.execute(f"""CREATE TEMP TABLE lcb_st ON COMMIT DROP AS SELECT k.pid, x.fid,
                CASE WHEN x.fid IS NULL THEN {NEW} WHEN x.yjhash = k.yjhash THEN {SAME} ELSE {CHANGED} END AS st
                FROM lcb_k k LEFT JOIN cbdk x ON x.dkbm = k.dkbm""")
            if c.has_table("cbdk_history"):  # a parcel a change package cancelled is not brought back: a conflict (core/merge.py)
                c.execute(f"UPDATE lcb_st SET st = {CANCELLED} FROM lcb_k k WHERE k.pid = lcb_st.pid AND lcb_st.st = {NEW} "
                          "AND k.dkbm IN (SELECT dkbm FROM cbdk_history)")
            n = dict(c.execute("SELECT st, count(*) FROM lcb_st GROUP BY st").fetchall())
        res["INSERTED"], res["UNCHANGED"], res["CONFLICTS"] = n.get(NEW, 0), n.get(SAME, 0), n.get(CHANGED, 0) + n.get(CANCELLED, 0)
        res["CANCELLED"] = n.get(CANCELLED, 0)
        if not res["INSERTED"] and not res["CONFLICTS"]:
            return False  # every parcel unchanged: rolled back, nothing written
        user = st.user
        batch = res["batch"] = c.execute("INSERT INTO batches (package, county, county_name, fingerprint, params, merged_at, user, epsg) "
                                         "VALUES (?,?,?,?,?,?,?,?)", (str(job.d.root), job.d.county, job.d.county_name, job.fp,
                                                                      job.params_json, job.now, user, job.epsg)).lastrowid
        progress.set(70)
        stage.execute("DROP TABLE IF EXISTS STP")
        stage.execute("CREATE TABLE STP (pid INTEGER PRIMARY KEY, fid INTEGER, st INTEGER)")
        stage.executemany("INSERT INTO STP VALUES (?, ?, ?)", c.execute("SELECT pid, fid, st FROM lcb_st WHERE st <> ?", (NEW,)).fetchall())
        if not c.execute("SELECT 1 FROM batches WHERE fingerprint = ? AND fid <> ? LIMIT 1", (job.fp, batch)).fetchone():
            with clock("copy tables"):
                st.copy_delivery_tables(c, batch, job.ws.stage.has_ledger)
        if res["INSERTED"]:
            with clock("allocate"):
                st.allocate(c, "(SELECT k.pid, k.DKBM, k.FBFBM, k.TZM FROM RECK k WHERE k.pid NOT IN (SELECT pid FROM STP))",
                            batch, job.now, job.d.county, job.zoning, wanted="lcb_k", na_table=False)
            with clock("insert parcels"):
                st.insert_parcels(c, batch, job.now, fingerprints="OUTK")
        progress.set(85)
        progress.check()
        audits = _conflicts(job, st, c, batch) if res["CONFLICTS"] else []
        with clock("standard tables"):
            st.refresh_standard(c, f"c.PCID = {int(batch)} AND c.fid NOT IN (SELECT fid FROM lcb_st WHERE st <> {NEW})", batch)
            if res["UPDATED"]:
                st.refresh_standard(c, "c.fid IN (SELECT fid FROM lcb_rp)", batch, replaced=True)
        progress.set(95)
        audits.append((job.now, user, "merge", None, batch, json.dumps({k: v for k, v in res.items() if k.isupper()}, ensure_ascii=False)))
        c.executemany("INSERT INTO audit (at, user, action, DKBM, PCID, detail) VALUES (?,?,?,?,?,?)", audits)
        c.execute("UPDATE batches SET parcels=?, inserted=?, updated=?, unchanged=?, conflicts=?, classes=? WHERE fid=?",
                  (res["PARCELS"], res["INSERTED"], res["UPDATED"], res["UNCHANGED"], res["CONFLICTS"], json.dumps(res["classes"]), batch))
        progress.check()
        return True

    with clock("compare"):
        stage.execute("DROP TABLE IF EXISTS OUTK")
        stage.execute(f"""CREATE TABLE OUTK AS SELECT v.pid, v.DKBM, {bdcdyh.zone_sql('v.DKBM', 'v.FBFBM', job.d.county, job.zoning, zn='ZN')} AS ZONE,
                          {records.fingerprint('v')} AS YJHASH FROM RECV v ORDER BY v.pid""")
        stage.commit()
    return work


def _conflicts(job, st, c, batch):
    """A DKBM already there with different content: recorded; replaced on request (number and consultation kept)."""
    from ..merge import cancelled_records, conflict_records
    stage, res, cols = job.ws.stage.conn, job.result, schema.HASHED
    changed = stage.execute(f"SELECT s.pid, s.fid, {', '.join('v.' + f for f in cols)} FROM STP s JOIN RECV v ON v.pid = s.pid "
                            f"WHERE s.st = {CHANGED} ORDER BY s.pid").fetchall()
    current = {}
    for i in range(0, len(changed), 1000):
        part = [r[1] for r in changed[i:i + 1000]]
        current.update({r[0]: r[1:] for r in c.execute(f"SELECT fid, {', '.join(cols)} FROM cbdk WHERE fid IN ({', '.join('?' * len(part))})", part)})
    pairs = [(dict(zip(cols, r[2:])), dict(zip(cols, current[r[1]]))) for r in changed]
    conflicts, audits = conflict_records(pairs, cols, job.on_conflict, batch, job.now, st.user)
    if res.get("CANCELLED"):
        conflicts += cancelled_records(c.execute(
            f"SELECT k.dkbm, max(h.zxsj), max(h.zxyy) FROM lcb_st s JOIN lcb_k k ON k.pid = s.pid JOIN cbdk_history h ON h.dkbm = k.dkbm "
            f"WHERE s.st = {CANCELLED} GROUP BY k.dkbm ORDER BY k.dkbm").fetchall(), batch, job.now)
    c.executemany("INSERT INTO conflicts (PCID, DKBM, fields, existing, incoming, resolution, at) VALUES (?,?,?,?,?,?,?)", conflicts)
    if job.on_conflict == "replace":
        res["UPDATED"] = st.replace_parcels(c, "FROM STP s JOIN RECV v ON v.pid = s.pid", f"s.st = {CHANGED}", batch, job.now, "OUTK")
    return audits


def ensure_history(c, name="cbdk_history"):
    """lcb:apply_changes' table of cancelled parcels (cbdk's columns, then ZXPCID, ZXSJ, ZXYY) in a PostgreSQL
    registration database, created once — under a lock, since two writers may both need it first."""
    if c.has_table(name):
        return
    c.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (f"lcb:{c.schema}:{name}",))
    if c.has_table(name):
        return
    extra = schema.Layer(name, schema.CBDK.fields + schema._fields(("ZXPCID", "INTEGER", "注销批次"), ("ZXSJ", "TEXT", "注销时间"),  # noqa: SLF001
                                                                   ("ZXYY", "TEXT", "注销原因")), schema.CBDK.geometry, "注销的地块（历史）")
    cur = c.conn.cursor()  # DDL as written (not through the SQLite-dialect translation)
    for sql in table_ddl(extra, c.epsg()):
        cur.execute(sql)


def _sqlite_lit(text):
    return "'" + str(text).replace("'", "''") + "'"


@contextlib.contextmanager
def consultation(target, user, action="consult"):
    """A write transaction for consultation records: lcb.operator / lcb.action tell the audit trigger who and what."""
    conn = target.connect(autocommit=False)
    try:
        cur = conn.cursor()
        cur.execute("SELECT set_config('lcb.operator', %s, true), set_config('lcb.action', %s, true)", (user, action))
        yield pgconn.PgConnection(target, conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def run(job):
    """MergeJob.run for a PostgreSQL target: schema (created when missing), staging, one transaction."""
    job.epsg = ensure(job.pg, job.epsg, job.progress)
    st = PgStore(job.pg)
    try:
        job.stage_records(job.epsg)
        st.attach_stage(job.ws.stage, job.epsg)
        work = merge_work(job, st)
        with job.clock("commit"):
            st.run(work, job.progress, pause=job.pause_path)
    finally:
        st.close()
    job.progress.set(100)
    return job.result
