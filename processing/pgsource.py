"""Which registration database a TARGET / INPUT names, on the QGIS side: a GeoPackage path, a PostgreSQL URI or
``PG:`` string (core/pgconn.py), the name of a QGIS PostgreSQL connection (Data Source Manager → PostgreSQL), or a
QGIS layer source of a registration database's cbdk table (what lcb:merge returns and the 面积差异 dock keeps).

A QGIS connection's credentials come from QGIS's authentication manager (``authcfg``) or its stored user and
password; they go into the ``pgconn.PgTarget`` used for the run and nowhere else: the layer URI returned to QGIS
(the merge's OUTPUT and TARGET, the dock's saved state) names the connection's ``authcfg`` or carries no password
(QGIS then takes it from ~/.pgpass, PGPASSWORD, a service file or its own credentials cache, which a password typed
into a URI is put into for this session only). Used by processing/ and by the dock (ui/ imports it: no GUI here)."""
from pathlib import Path

from qgis.core import QgsCredentials, QgsDataSourceUri, QgsProviderRegistry

from ..core import pgconn
from ..core.errors import LcbError
from ..qtcommon import tr

PREFIX = "postgres://"  # QGIS's provider prefix for a layer source (QgsProcessingUtils reads "postgres://<uri>")
_passwords = {}  # (host, port, dbname, user) -> password typed into a URI in this session (memory only)


def connection_names():
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    return sorted(md.connections().keys()) if md is not None else []


def _layer_source(text):
    """The QgsDataSourceUri of a QGIS PostgreSQL layer source (``postgres://dbname=... table=...`` or the bare form), or None."""
    t = text[len(PREFIX):] if text.startswith(PREFIX) else text
    if "table=" not in t or ("dbname=" not in t and "service=" not in t):
        return None
    uri = QgsDataSourceUri(t)
    return uri if uri.table() else None


def _from_uri(uri, schema, label=None, matched=False):
    """PgTarget from a QgsDataSourceUri (its authcfg expanded through QGIS's auth manager)."""
    info = uri.connectionInfo(True)
    if uri.authConfigId() and "password=" not in info and "user=" not in info:
        raise LcbError(f"QGIS 认证配置 {uri.authConfigId()} 无法读取（认证数据库的主密码未输入？）",
                       f"the QGIS authentication configuration {uri.authConfigId()} cannot be read (master password not entered?)",
                       path=label or uri.connectionInfo(False))
    params = pgconn.parse("PG:" + info).params
    key = _key(params)
    if "password" in params:
        _remember(params)
    elif key in _passwords:
        params["password"] = _passwords[key]
    elif not uri.authConfigId() and not matched:  # a layer source saved without credentials: the QGIS connection's to that database
        found = _matching_connection(params)
        if found is not None:
            return _from_uri(_with_table(found, uri), schema, label, matched=True)
    t = pgconn.PgTarget(params, schema, label=label)
    t.qgis_uri = uri.uri(False)  # with authcfg, never the expanded password
    if uri.authConfigId():
        t.qgis_uri = QgsDataSourceUri(t.qgis_uri).uri(False)
    return t


def _key(params):
    return (params.get("host", params.get("hostaddr", "")), params.get("port", "") or "5432", params.get("dbname", ""), params.get("user", ""),
            params.get("service", ""))


def _remember(params):
    """A password met in this session (typed into a URI, or a QGIS connection's stored one), for the layer sources that
    carry none: kept in memory, and given to QGIS's own credentials cache for its PostgreSQL layers."""
    _passwords[_key(params)] = params["password"]
    uri = QgsDataSourceUri()
    if params.get("service"):
        uri.setConnection(params["service"], params.get("dbname", ""), params.get("user", ""), "")
    else:
        uri.setConnection(params.get("host", ""), params.get("port", "5432"), params.get("dbname", ""), params.get("user", ""), "")
    QgsCredentials.instance().put(uri.connectionInfo(False), params.get("user", ""), params["password"])


def _matching_connection(params):
    """The QgsDataSourceUri of a QGIS PostgreSQL connection to the same host, port, database (and user, when given)."""
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    if md is None:
        return None
    want = _key(params)
    for conn in md.connections().values():
        u = QgsDataSourceUri(conn.uri())
        have = (u.host(), u.port() or "5432", u.database(), u.username(), u.service())
        if have[:3] == want[:3] and have[4] == want[4] and (not want[3] or not have[3] or have[3] == want[3]):
            return u
    return None


def _with_table(conn_uri, layer_uri):
    out = QgsDataSourceUri(conn_uri.uri(False))
    out.setDataSource(layer_uri.schema(), layer_uri.table(), layer_uri.geometryColumn(), layer_uri.sql(), layer_uri.keyColumn())
    return out


def _schema(explicit, own, default=pgconn.DEFAULT_SCHEMA):
    """SCHEMA as given, the text's own (active_schema=, ?schema=) when SCHEMA is left at its default, else the default."""
    explicit = (explicit or "").strip()
    if own and explicit and explicit.lower() != default and explicit.lower() != own.lower():
        raise LcbError(f"连接串指定了模式 {own}，SCHEMA 参数又是 {explicit}：请只给一个",
                       f"the connection string names schema {own} and SCHEMA is {explicit}: give one", field="SCHEMA")
    return own or explicit or default


def resolve(value, schema=None):
    """A GeoPackage path (str) or a pgconn.PgTarget for what the user gave."""
    if isinstance(value, pgconn.PgTarget):
        return value
    text = str(value or "").strip()
    if not text:
        raise LcbError("没有给出登记库", "no registration database given", field="TARGET")
    src = _layer_source(text)
    if src is not None:
        return _from_uri(src, _schema(schema, src.schema()))
    if pgconn.is_database(text):
        own = pgconn.parse(text)
        t = pgconn.PgTarget(own.params, _schema(schema, own.own_schema))
        if "password" in t.params:  # remembered for this session, for the dock and QGIS's layer (never written)
            _remember(t.params)
        return t
    if text.lower().endswith(".gpkg") or "/" in text or "\\" in text or Path(text).exists():
        return text
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    conn = md.findConnection(text) if md is not None else None
    if conn is None:
        names = connection_names()
        known = f"（QGIS 中的 PostgreSQL 连接：{'、'.join(names)}）" if names else "（QGIS 中还没有 PostgreSQL 连接）"
        raise LcbError(f"“{text}”既不是 .gpkg 文件，也不是 PostgreSQL 连接串（postgresql://… 或 PG:…），也不是 QGIS 中的 PostgreSQL 连接名{known}",
                       f"'{text}' is neither a .gpkg file, nor a PostgreSQL connection string (postgresql://… or PG:…), nor the name of a "
                       f"QGIS PostgreSQL connection ({', '.join(names) or 'none defined'})", field="TARGET")
    return _from_uri(QgsDataSourceUri(conn.uri()), _schema(schema, None), label=text)


def layer_uri(target, table="cbdk"):
    """QGIS's data source of a table of the registration database (no password: authcfg, pgpass or QGIS's cache)."""
    base = getattr(target, "qgis_uri", None)
    if base:
        uri = QgsDataSourceUri(base)
    else:
        p = target.params
        uri = QgsDataSourceUri()
        if "service" in p:
            uri.setConnection(p["service"], p.get("dbname", ""), p.get("user", ""), "")
        else:
            uri.setConnection(p.get("host", p.get("hostaddr", "")), p.get("port", "5432"), p.get("dbname", ""), p.get("user", ""), "")
        if "sslmode" in p:
            uri.setSslMode(QgsDataSourceUri.decodeSslMode(p["sslmode"]))
    uri.setPassword("")
    geometry = "geom" if table.lower() in ("cbdk", "zdjbxx") else None
    uri.setDataSource(target.schema, table, geometry, "", "fid")
    return uri.uri(False)


def source(target):
    """The string lcb:merge returns for a database (TARGET, OUTPUT), the dock opens and a project keeps."""
    return PREFIX + layer_uri(target)


def describe(value):
    """A name of a GeoPackage or database for messages and labels, without secrets."""
    if isinstance(value, pgconn.PgTarget):
        return value.display()
    text = str(value or "")
    src = _layer_source(text)
    if src is not None:
        return f"postgresql://{src.username() + '@' if src.username() else ''}{src.host() or src.service()}" \
               f"{':' + src.port() if src.port() else ''}/{src.database()} 模式 schema {src.schema()}"
    return pgconn.mask(text)


def is_database(value):
    return isinstance(value, pgconn.PgTarget) or (isinstance(value, str) and (pgconn.is_database(value) or _layer_source(value) is not None))


# ------------------------------------------------------------------ the parameters the algorithms share
SCHEMA = "SCHEMA"


def database_parameter(name, description, optional=False):
    """A registration database as INPUT: a .gpkg picked or typed, or a database typed. The filter ends in "All files (*)":
    with an extension alone (or QGIS's default "All files (*.*)") QGIS refuses a value such as postgresql://…. The label
    stays short (the dialog's width); how to name a PostgreSQL database is the parameter's help (its tooltip)."""
    from qgis.core import QgsProcessingParameterFile
    p = QgsProcessingParameterFile(name, description, behavior=QgsProcessingParameterFile.Behavior.File, optional=optional,
                                   fileFilter="GeoPackage (*.gpkg);;All files (*)")
    p.setHelp(tr("A registration GeoPackage, or a PostgreSQL database: postgresql://…, PG:… or the name of a QGIS PostgreSQL "
                 "connection (the registration database is its schema SCHEMA)."))
    return p


def schema_parameter(created=False):
    from qgis.core import QgsProcessingParameterString
    p = QgsProcessingParameterString(SCHEMA, tr("PostgreSQL schema"), defaultValue=pgconn.DEFAULT_SCHEMA, optional=True)
    p.setHelp(tr("The schema of the registration database in PostgreSQL (created if missing); not used for a GeoPackage.") if created else
              tr("The schema of the registration database in PostgreSQL; not used for a GeoPackage."))
    return p


def input_database(alg, parameters, context, name="INPUT"):
    """The algorithm's `name` parameter (and SCHEMA) as a GeoPackage path or a PgTarget."""
    value = parameters.get(name)
    value = value if isinstance(value, str) and is_database(value) else alg.parameterAsFile(parameters, name, context)
    schema = alg.parameterAsString(parameters, SCHEMA, context) if SCHEMA in parameters else None
    return resolve(value, schema)


def without_password(text):
    """A source string fit to be saved (a project, a log): a PostgreSQL layer source or URI without its password."""
    src = _layer_source(str(text or ""))
    if src is not None:
        src.setPassword("")
        return PREFIX + src.uri(False)
    return pgconn.strip_password(text) if is_database(text) else text
