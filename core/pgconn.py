"""A registration database in PostgreSQL/PostGIS: how it is named, connected to and read.

A TARGET (lcb:merge, lcb:apply_changes) or INPUT (report, notices, dossiers) names a PostgreSQL database as
- a libpq URI: ``postgresql://user@host:port/dbname`` (``postgres://`` too; query parameters such as ``sslmode``);
- a GDAL/OGR connection string: ``PG:host=... port=... dbname=... user=...`` (``service=...`` works as well);
- the name of a QGIS PostgreSQL connection — resolved by processing/pgsource.py through QGIS's auth manager into
  the parameters of a ``PgTarget`` (core never imports qgis).
The schema is a separate parameter (``SCHEMA``, default ``lcb``); GDAL's ``active_schema=``/``schemas=`` in a PG:
string and ``?schema=`` in a URI name it too.

Credentials never leave this module in clear: ``PgTarget.display()`` (used in results, batches, logs and error
messages) has no password, and ``mask()`` removes any password from a text (psycopg2's messages included). Prefer
no password in the text at all: ~/.pgpass, PGPASSWORD, a pg_service.conf entry or a QGIS connection with an
authentication configuration.

``connect_read``/``PgConnection`` wrap a psycopg2 connection so that the read-side code written for the GeoPackage
(``c.execute(sql, args)`` with ``?`` placeholders, rows as tuples, ``cursor.description``) runs unchanged: tables and
columns are created in lower case (PostgreSQL folds unquoted names, so ``SELECT DKBM FROM cbdk`` works in any
client) and result columns come back with the names of the GeoPackage layout (``DKBM``, not ``dkbm``)."""
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import LcbError

DEFAULT_SCHEMA = "lcb"
APPLICATION = "Land Contract Bridge"
_PREFIXES = ("postgresql://", "postgres://")
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LIBPQ_KEYS = {"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "connect_timeout", "client_encoding", "options",
               "application_name", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword", "service", "target_session_attrs",
               "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "gssencmode", "krbsrvname", "channel_binding",
               "sslcompression", "requiressl", "tcp_user_timeout"}
_SCHEMA_KEYS = ("schema", "active_schema", "schemas")


def is_database(text):
    """Does `text` name a PostgreSQL database by itself (URI or PG: string)? A QGIS connection name needs QGIS."""
    t = str(text or "").strip()
    return t.lower().startswith(_PREFIXES) or t[:3].upper() == "PG:"


def schema_name(name):
    """The schema name, checked: lower-case letters, digits and _ (PostgreSQL folds unquoted names to lower case)."""
    s = str(name or DEFAULT_SCHEMA).strip().lower()
    if not _SCHEMA_RE.match(s) or s in ("public", "pg_catalog", "information_schema") or s.startswith("pg_"):
        raise LcbError(f"模式名 {name!r} 不可用：只能用小写字母、数字和下划线，以字母开头，且不能是 public 或系统模式",
                       f"schema name {name!r} cannot be used: lower-case letters, digits and _ only, starting with a letter, "
                       "and not public or a system schema", field="SCHEMA")
    return s


class PgTarget:
    """Connection parameters (libpq keywords) and the schema of a registration database in PostgreSQL."""

    def __init__(self, params, schema=None, label=None):
        self.params = {k: str(v) for k, v in dict(params).items() if v not in (None, "")}
        self.schema = schema_name(schema)
        self.label = label  # e.g. the QGIS connection's name

    # ------------------------------------------------------------------ names without secrets
    def display(self):
        """postgresql://user@host:port/dbname, schema — never a password."""
        p = self.params
        if "service" in p and "host" not in p:
            where = f"service={p['service']}" + (f"/{p['dbname']}" if "dbname" in p else "")
        else:
            host = p.get("host") or p.get("hostaddr") or "localhost"
            where = f"{host}{':' + p['port'] if 'port' in p else ''}/{p.get('dbname', '')}"
        user = f"{p['user']}@" if "user" in p else ""
        head = f"QGIS 连接 connection '{self.label}': " if self.label else ""
        return f"{head}postgresql://{user}{where} 模式 schema {self.schema}"

    __str__ = display

    def __repr__(self):
        return f"PgTarget({self.display()!r})"

    def mask(self, text):
        """`text` with this target's password (and any password= / URI password) replaced by ***."""
        out = mask(str(text))
        pw = self.params.get("password")
        if pw:
            out = out.replace(pw, "***")
        return out

    @property
    def name(self):
        """database.schema — a short name without secrets (as Path.name is for a GeoPackage)."""
        return f"{self.params.get('dbname') or self.params.get('service', '')}.{self.schema}"

    @property
    def key(self):
        """Identity of the database and schema (for comparisons and file names), without secrets."""
        p = self.params
        return (p.get("service", ""), p.get("host", p.get("hostaddr", "")), p.get("port", ""), p.get("dbname", ""), self.schema)

    def with_schema(self, schema):
        return PgTarget(self.params, schema, self.label)

    # ------------------------------------------------------------------ connecting
    def connect(self, autocommit=True, search_path=True):
        """A psycopg2 connection (autocommit: transactions are opened explicitly). Errors are LcbError, masked."""
        psycopg2 = driver()
        kw = dict(self.params)
        kw.setdefault("application_name", APPLICATION)
        kw.setdefault("connect_timeout", "15")
        try:
            conn = psycopg2.connect(**kw)
        except psycopg2.Error as e:
            raise LcbError(f"无法连接 PostgreSQL 数据库：{self.mask(first_line(e))}", f"cannot connect to the PostgreSQL database: {self.mask(first_line(e))}",
                           path=self.display()) from None
        conn.autocommit = autocommit
        if search_path:
            cur = conn.cursor()
            cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis'")
            row = cur.fetchone()
            extra = [] if row is None or row[0] in ("public", self.schema) else [row[0]]
            path = ", ".join(quote_ident(s) for s in [self.schema, *extra, "public"])
            cur.execute(f"SET search_path TO {path}")
            if not autocommit:
                conn.commit()
        return conn


def driver():
    """psycopg2, or a clear message naming how to install it."""
    try:
        import psycopg2
        import psycopg2.extensions
    except ImportError:
        raise LcbError("使用 PostgreSQL 登记库需要 psycopg2：Debian/Ubuntu 上运行 sudo apt install python3-psycopg2，"
                       "其他系统在 QGIS 所用的 Python 中运行 pip install psycopg2-binary",
                       "a PostgreSQL registration database needs psycopg2: on Debian/Ubuntu run sudo apt install python3-psycopg2, "
                       "elsewhere pip install psycopg2-binary in the Python QGIS uses") from None
    return psycopg2


def first_line(e):
    return (str(getattr(e, "pgerror", None) or e).strip().splitlines() or [""])[0]


def quote_ident(name):
    return '"' + str(name).replace('"', '""') + '"'


_URI_PW = re.compile(r"(?i)(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)")
_KV_PW = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def mask(text):
    """Any password in a URI (user:secret@) or a conninfo/PG: string (password=secret) replaced by ***."""
    t = _URI_PW.sub(r"\1***\3", str(text))
    return _KV_PW.sub(r"\1***", t)


def strip_password(text):
    """A URI or PG: string without its password (to be saved; the password then comes from ~/.pgpass and the like)."""
    t = re.sub(r"(?i)(postgres(?:ql)?://[^:/@\s]*):[^@\s]*@", r"\1@", str(text))
    return re.sub(r"(?i)\s*\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", "", t)


# ------------------------------------------------------------------ parsing
def _conninfo(text):
    """key=value pairs of a libpq conninfo / GDAL PG: string (values may be 'quoted' with \\ escapes)."""
    out, i, n = {}, 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        m = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*").match(text, i)
        if not m:
            raise LcbError(f"无法解析 PG: 连接串：{mask(text)}", f"cannot parse the PG: connection string: {mask(text)}", field="TARGET")
        key, i = m.group(1).lower(), m.end()
        if i < n and text[i] == "'":
            i += 1
            val = []
            while i < n and text[i] != "'":
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(text[i])
                i += 1
            if i >= n:
                raise LcbError(f"PG: 连接串中的引号没有闭合：{mask(text)}", f"unclosed quote in the PG: connection string: {mask(text)}", field="TARGET")
            i += 1
            out[key] = "".join(val)
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            out[key] = text[i:j].replace("\\", "")
            i = j
    return out


def _uri(text):
    u = urlsplit(text)
    params = {}
    if u.username:
        params["user"] = unquote(u.username)
    if u.password:
        params["password"] = unquote(u.password)
    host = u.netloc.rsplit("@", 1)[-1]
    if host.startswith("["):  # [IPv6]:port
        h, _, rest = host[1:].partition("]")
        params["host"] = h
        if rest.startswith(":") and rest[1:]:
            params["port"] = rest[1:]
    elif host:
        h, _, p = host.partition(":")
        if h:
            params["host"] = unquote(h)
        if p:
            params["port"] = p
    if u.path and u.path != "/":
        params["dbname"] = unquote(u.path.lstrip("/"))
    for k, v in parse_qsl(u.query, keep_blank_values=True):
        params[k.lower()] = v
    return params


def parse(text, schema=None):
    """PgTarget for a URI or PG: string (None when `text` is neither). The schema: the string's own
    (``active_schema=``, ``schemas=``, ``?schema=``) when `schema` is not given, else `schema`, else ``lcb``."""
    t = str(text or "").strip()
    if t.lower().startswith(_PREFIXES):
        params = _uri(t)
    elif t[:3].upper() == "PG:":
        params = _conninfo(t[3:])
    else:
        return None
    own = None
    for k in _SCHEMA_KEYS:
        v = params.pop(k, None)
        if v and own is None:
            own = v.split(",")[0].strip()
    params.pop("tables", None)  # GDAL's table filter means nothing here
    unknown = sorted(set(params) - _LIBPQ_KEYS)
    if unknown:
        raise LcbError(f"连接串中有不认识的参数：{', '.join(unknown)}", f"unknown connection parameter(s): {', '.join(unknown)}", field="TARGET")
    if "port" in params and not params["port"].isdigit():
        raise LcbError(f"端口必须是数字：{params['port']}", f"the port must be a number: {params['port']}", field="TARGET")
    t = PgTarget(params, schema or own or DEFAULT_SCHEMA)
    t.own_schema = own  # the schema the text itself names (None: none)
    return t


def target(value, schema=None):
    """A PgTarget as given, or parsed from a URI / PG: string; None for anything else (a .gpkg path)."""
    if isinstance(value, PgTarget):
        return value.with_schema(schema) if schema and schema_name(schema) != value.schema else value
    return parse(value, schema)


# ------------------------------------------------------------------ the read side
def _canonical_names():
    """lower-case column name -> its name in the GeoPackage layout (DKBM, fid, package, ...)."""
    from . import schema as delivery_schema
    from .registration import schema as reg
    names = {}
    for lyr in reg.LAYERS:
        for f in lyr.fields:
            names.setdefault(f.name.lower(), f.name)
        names.setdefault(lyr.name.lower(), lyr.name)
    for spec in delivery_schema.TABLES.values():
        for f in spec:
            names.setdefault(f[0].lower(), f[0])
    names["fid"] = "fid"
    names["geom"] = "geom"
    return names


_CANON = None


def canonical(name):
    global _CANON
    if _CANON is None:
        _CANON = _canonical_names()
    return _CANON.get(name, name)


def translate(sql, with_args):
    """SQLite-flavoured SQL of the read side → PostgreSQL (registration.pgsql: ? → %s, quoted names in lower case,
    the column ``user`` quoted, BEGIN IMMEDIATE → BEGIN, ...)."""
    from .registration import pgsql
    return pgsql.translate(sql, with_args).sql


class _Cursor:
    def __init__(self, cur):
        self._cur = cur

    @property
    def description(self):
        d = self._cur.description
        return None if d is None else [(canonical(c[0]),) + tuple(c[1:]) for c in d]

    @property
    def rowcount(self):
        return self._cur.rowcount

    def fetchone(self):
        return self._cur.fetchone()

    def fetchall(self):
        return self._cur.fetchall()

    def fetchmany(self, n):
        return self._cur.fetchmany(n)

    def __iter__(self):
        return iter(self._cur)


_PRAGMA = re.compile(r"\s*PRAGMA\s+table_info\(\s*\"?(\w+)\"?\s*\)\s*$", re.IGNORECASE)


class _Rows(list):
    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return list(self)


def table_info(sql, columns):
    """SQLite's ``PRAGMA table_info(t)`` answered for a PostgreSQL table from ``columns(t)`` — rows (cid, name, type,
    notnull, default, pk), names as in the GeoPackage layout — or None when `sql` is another statement."""
    m = _PRAGMA.match(sql)
    return None if m is None else _Rows([(i, c, "", 0, None, int(c == "fid")) for i, c in enumerate(columns(m.group(1)))])


class PgConnection:
    """A psycopg2 connection with the sqlite3-like surface the read side uses (``execute`` returning a cursor)."""
    is_pg = True

    def __init__(self, target, conn):
        self.target, self.conn = target, conn
        self.schema = target.schema

    def execute(self, sql, args=None):
        args = tuple(args) if args is not None else ()
        info = table_info(sql, self.columns)
        if info is not None:
            return info
        cur = self.conn.cursor()
        try:
            cur.execute(translate(sql, bool(args)), args or None)
        except driver().Error as e:
            raise LcbError(f"PostgreSQL 登记库查询失败：{self.target.mask(first_line(e))}",
                           f"a query on the PostgreSQL registration database failed: {self.target.mask(first_line(e))}",
                           path=self.target.display()) from None
        return _Cursor(cur)

    def executemany(self, sql, rows):
        cur = self.conn.cursor()
        cur.executemany(translate(sql, True), [tuple(r) for r in rows])
        return _Cursor(cur)

    @property
    def in_transaction(self):
        import psycopg2.extensions as ext
        return self.conn.get_transaction_status() != ext.TRANSACTION_STATUS_IDLE

    def commit(self):
        if self.in_transaction:
            self.conn.cursor().execute("COMMIT")

    def rollback(self):
        if self.in_transaction:
            self.conn.cursor().execute("ROLLBACK")

    def close(self):
        try:
            self.rollback()
        except Exception:  # noqa: BLE001 - a broken connection is closed anyway
            pass
        self.conn.close()

    def has_table(self, name):
        cur = self.conn.cursor()
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s", (self.schema, name.lower()))
        return cur.fetchone() is not None

    def columns(self, table):
        cur = self.conn.cursor()
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                    (self.schema, table.lower()))
        return [canonical(r[0]) for r in cur.fetchall()]

    def epsg(self):
        cur = self.conn.cursor()
        cur.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = 'cbdk'", (self.schema,))
        row = cur.fetchone()
        return int(row[0]) if row and row[0] else None


def connect_read(value, schema=None, write=False):
    """A PgConnection to an existing registration database (its cbdk table must be there)."""
    t = target(value, schema)
    conn = t.connect(autocommit=True)
    c = PgConnection(t, conn)
    if not c.has_table("cbdk") or not c.has_table("lcb_meta"):
        c.close()
        raise LcbError(f"数据库中的模式 {t.schema} 里没有登记库（缺少 cbdk 表）：先用 lcb:merge 整合入库，或检查 SCHEMA",
                       f"schema {t.schema} of the database holds no registration database (no cbdk table): merge into it with "
                       "lcb:merge first, or check SCHEMA", path=t.display())
    return c
