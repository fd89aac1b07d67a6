"""The content of a registration GeoPackage or of a delivery as one canonical set of records, and its fingerprint.

A *state* is what the parcels of a county reach: every parcel (DKBM found in DK or CBDKXX) with its DK attributes
and geometry, its CBDKXX rows and ledger rows, and through them the households (CBF) with their members
(CBF_JTCY), the contracts (CBHT), the registers (CBJYQZDJB) with their certificates (CBJYQZ), reissues,
replacements and cancellations (CBJYQZ_QZBF/QZHF/QZZX) and source attachments (QSLYZLFJ), the transfer
contracts (LZHT) and the contracting parties (FBF). Records no parcel reaches (a household without land) are not
part of the state.

Each record is (entity, key, values): values are the delivery table's fields in the standard's order, exactly as
stored (the registration database's ``qs_*`` tables are byte-for-byte copies of the delivery's); a parcel (entity
``DK``) has the DK fields the registration database keeps (records.DK_TEXT and SCMJ, empty text as null) and its
geometry (a MultiPolygon, ISO WKB, 2-D) in the state's CRS. Keys: see ``ENTITIES``; a key seen twice gets ``#2``.

In a registration GeoPackage the delivery tables are copies per batch (PCID); the *effective* rows are:
- a parcel's CBDKXX and ledger rows: those of the newest batch, not newer than the parcel's own (cbdk.PCID), that
  has rows for the DKBM (the rule registration.standard follows);
- a household, contract, register, transfer contract, contracting party: the newest copy of its key;
- a household's members, a register's certificate, reissues, replacements, cancellations and attachments: the
  rows of the batch of the household's (register's) effective row — a batch carries a family whole.

Fingerprints (``fingerprint``): SHA-256 over the sorted (entity, key, record hash) lines.
- ``content``: the exchanged records above — what two bureaus' systems compare (a delivery has it too).
- ``registration``: content plus, per parcel of a registration database, its 不动产单元号 and every derived field
  of the working layer (area class, areas and 亩 twins, names, links: registration.schema.HASHED) and its right
  holders. Equal registration fingerprints mean the same parcels, attributes, geometries (to the millimetre),
  classes, right holders and 不动产单元号.
- ``villages``: the content fingerprint of each village (first 12 digits of the record's code), to name what differs."""
import hashlib
import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from .. import attrdb, gpkg
from .. import schema as dschema
from ..errors import NULL_PROGRESS, LcbError
from ..registration import records
from ..registration import schema as rschema
from ..registration.digest import geometry64

DK_VALUES = tuple(records.DK_TEXT) + ("SCMJ",)
LEDGER_FIELDS = ("DKBM", "CBFBM", "CBJYQZBM", "DBMJ")
NAMES = ("XZMC", "CJMC", "ZJMC")


@dataclass(frozen=True)
class Entity:
    name: str  # the delivery table's name; DK for the parcel
    title: str
    key: tuple  # key fields ("*" = the record's content digest)
    village: str  # the field whose first 12 characters are the village code
    family: str = None  # "parcel": follows the parcel; else the head entity whose batch it follows
    qs: str = None  # the table in the registration database

    @property
    def fields(self):
        return _FIELDS[self.name]


def _e(name, title, key, village, family=None):
    qs = "cbdk" if name == "DK" else rschema.QS_PREFIX + ("tz" if name == "LEDGER" else name.lower())
    return Entity(name, title, key, village, family, qs)


ENTITIES = {e.name: e for e in [
    _e("DK", "地块", ("DKBM",), "DKBM"),
    _e("CBDKXX", "承包地块信息", ("DKBM", "CBFBM"), "DKBM", "parcel"),
    _e("LEDGER", "确权登记发证台账", ("DKBM", "CBFBM"), "DKBM", "parcel"),
    _e("CBF", "承包方", ("CBFBM",), "CBFBM"),
    _e("CBF_JTCY", "家庭成员", ("CBFBM", "CYZJHM"), "CBFBM", "CBF"),  # CYXM when the member has no ID number
    _e("CBHT", "承包合同", ("CBHTBM",), "CBHTBM"),
    _e("CBJYQZDJB", "承包经营权登记簿", ("CBJYQZBM",), "CBJYQZBM"),
    _e("CBJYQZ", "承包经营权证", ("CBJYQZBM",), "CBJYQZBM", "CBJYQZDJB"),
    _e("CBJYQZ_QZBF", "权证补发", ("CBJYQZBM", "*"), "CBJYQZBM", "CBJYQZDJB"),
    _e("CBJYQZ_QZHF", "权证换发", ("CBJYQZBM", "*"), "CBJYQZBM", "CBJYQZDJB"),
    _e("CBJYQZ_QZZX", "权证注销", ("CBJYQZBM", "*"), "CBJYQZBM", "CBJYQZDJB"),
    _e("QSLYZLFJ", "权属来源资料附件", ("CBJYQZBM", "ZLFJBH"), "CBJYQZBM", "CBJYQZDJB"),
    _e("LZHT", "流转合同", ("LZHTBM",), "CBHTBM"),
    _e("FBF", "发包方", ("FBFBM",), "FBFBM"),
]}
_FIELDS = {name: DK_VALUES if name == "DK" else LEDGER_FIELDS if name == "LEDGER" else tuple(f[0] for f in dschema.TABLES[name])
           for name in ENTITIES}
TABLES = [e for e in ENTITIES.values() if e.name != "DK"]
HEADS = {"CBF_JTCY": "CBF", "CBJYQZ": "CBJYQZDJB", "CBJYQZ_QZBF": "CBJYQZDJB", "CBJYQZ_QZHF": "CBJYQZDJB",
         "CBJYQZ_QZZX": "CBJYQZDJB", "QSLYZLFJ": "CBJYQZDJB"}
DERIVED = [c for c in rschema.HASHED if c not in DK_VALUES and c != "DKBM"]  # the working layer's derived fields


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def dumps(v):
    """Canonical JSON: UTF-8, no ASCII escapes, no spaces (what the record hashes and the package use)."""
    return _ENCODE(v)


def record_hash(ent, key, values, gh=None, text=None):
    """SHA-256 (hex) of one record: entity, key, canonical JSON of its values (`text` when already encoded), and a
    parcel's geometry digest."""
    body = f"{ent}\x1f{key}\x1f{text if text is not None else dumps(list(values))}" + (f"\x1f{int(gh)}" if gh is not None else "")
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _s(v):
    return "" if v is None else str(v)


def key_of(ent, values):
    """The key of a record of entity `ent` from its values (without the #n suffix of repeated keys)."""
    e = ENTITIES[ent]
    vals = dict(zip(e.fields, values))
    if ent == "CBF_JTCY":
        return f"{_s(vals['CBFBM'])}|{_s(vals['CYZJHM']) or '~' + _s(vals['CYXM'])}"
    parts = []
    for f in e.key:
        parts.append(hashlib.sha256(dumps(list(values)).encode("utf-8")).hexdigest()[:16] if f == "*" else _s(vals[f]))
    return "|".join(parts)


def _village(code):
    code = _s(code)
    return code[:12] if len(code) >= 12 else code


class State:
    """A state read into a private staging database (deleted on close): tables E (records), G (parcel geometries),
    N (names and 不动产单元号 per parcel), X (derived records of a registration database)."""

    def __init__(self, kind, path, stage, county="", county_name="", epsg=None, wkt=""):
        self.kind, self.path, self.stage = kind, (path if _database(path) is not None else Path(path)), stage  # a PgTarget has .name too
        self.county, self.county_name, self.epsg, self.wkt = county, county_name, epsg, wkt
        self.conn = stage.conn
        self._fp = None
        self.registration = False  # whether X (the derived records) was read
        c = self.conn
        c.execute("CREATE TABLE IF NOT EXISTS E (ent TEXT, k TEXT, fam TEXT, vil TEXT, h TEXT, v TEXT, PRIMARY KEY (ent, k))")
        c.execute("CREATE TABLE IF NOT EXISTS G (k TEXT PRIMARY KEY, wkb BLOB, gh INTEGER)")
        c.execute("CREATE TABLE IF NOT EXISTS N (k TEXT PRIMARY KEY, XZMC TEXT, CJMC TEXT, ZJMC TEXT, BDCDYH TEXT, PCID INTEGER)")
        c.execute("CREATE TABLE IF NOT EXISTS X (ent TEXT, k TEXT, vil TEXT, h TEXT, v TEXT, PRIMARY KEY (ent, k))")

    def close(self):
        self.stage.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ access
    def get(self, ent, k):
        row = self.conn.execute("SELECT h, v FROM E WHERE ent = ? AND k = ?", (ent, k)).fetchone()
        return (row[0], json.loads(row[1])) if row else (None, None)

    def parcels(self):
        """DKBMs of the state's parcels (DK or CBDKXX)."""
        return {r[0] for r in self.conn.execute("SELECT k FROM E WHERE ent = 'DK' UNION SELECT fam FROM E WHERE ent = 'CBDKXX'")}

    def fingerprint(self):
        if self._fp is None:
            self._fp = _fingerprints(self.conn)
        return self._fp

    # ------------------------------------------------------------------ writing records
    def put(self, rows, geoms=None):
        """rows: (ent, values) in source order; keys made unique with #n. geoms: {DKBM: (wkb, gh)}."""
        geoms = geoms or {}
        out = []
        seen = defaultdict(int)
        sha = hashlib.sha256
        for ent, group in _grouped(rows):
            key, fam_i, vil_i = _KEYS[ent]
            for values in group:
                text = dumps(list(values))
                k = key(values, text)
                n = seen[(ent, k)] = seen[(ent, k)] + 1
                if n > 1:
                    k = f"{k}#{n}"
                gh = geoms.get(k, (None, 0))[1] if ent == "DK" else None
                body = f"{ent}\x1f{k}\x1f{text}" + (f"\x1f{int(gh)}" if gh is not None else "")
                fam = None if fam_i is None else (_s(values[fam_i]).strip() if ent in ("CBDKXX", "LEDGER") else _s(values[fam_i]))
                vil = values[vil_i]
                vil = "" if vil is None else (str(vil)[:12] if len(str(vil)) >= 12 else str(vil))
                out.append((ent, k, fam, vil, sha(body.encode("utf-8")).hexdigest(), text))
        self.conn.executemany("INSERT OR REPLACE INTO E VALUES (?,?,?,?,?,?)", out)
        if geoms:
            self.conn.executemany("INSERT OR REPLACE INTO G VALUES (?,?,?)", [(k, w, gh) for k, (w, gh) in geoms.items()])
        self.conn.commit()
        self._fp = None


def _grouped(rows):
    """Consecutive (ent, values) rows grouped by entity."""
    ent, group = None, []
    for e, v in rows:
        if e != ent and group:
            yield ent, group
            group = []
        ent = e
        group.append(v)
    if group:
        yield ent, group


def _key_function(e):
    f = e.fields
    if e.name == "CBF_JTCY":
        i, j, m = f.index("CBFBM"), f.index("CYZJHM"), f.index("CYXM")
        return lambda v, _t: f"{_s(v[i])}|{_s(v[j]) or '~' + _s(v[m])}"
    idx = [None if k == "*" else f.index(k) for k in e.key]

    def key(v, text):
        return "|".join(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if i is None else _s(v[i]) for i in idx)
    return key


_KEYS = {name: (_key_function(e), None if not e.family else e.fields.index("DKBM" if e.family == "parcel" else e.key[0]),
                e.fields.index(e.village)) for name, e in ENTITIES.items() if name != "DK"}


def _fingerprints(c):
    content, villages = hashlib.sha256(), defaultdict(hashlib.sha256)
    n = 0
    for ent, k, vil, h in c.execute("SELECT ent, k, vil, h FROM E ORDER BY ent, k"):
        line = f"{ent}\t{k}\t{h}\n".encode("utf-8")
        content.update(line)
        villages[vil or ""].update(line)
        n += 1
    reg = hashlib.sha256(content.hexdigest().encode())
    for ent, k, h in c.execute("SELECT ent, k, h FROM X ORDER BY ent, k"):
        reg.update(f"{ent}\t{k}\t{h}\n".encode("utf-8"))  # (empty unless read with registration=True)
    parcels = c.execute("SELECT COUNT(*) FROM (SELECT k FROM E WHERE ent = 'DK' UNION SELECT fam FROM E WHERE ent = 'CBDKXX')").fetchone()[0]
    return dict(content=content.hexdigest(), registration=reg.hexdigest(), records=n, parcels=parcels,
                villages={v: h.hexdigest() for v, h in sorted(villages.items())})


# ------------------------------------------------------------------ reading
def is_registration(path):
    p = Path(path)
    return p.is_file() and p.suffix.lower() == ".gpkg"


def _database(path):
    """A registration database in PostgreSQL (core/pgconn.py) named by `path`, or None."""
    from .. import pgconn
    if isinstance(path, pgconn.PgTarget):
        return path
    return pgconn.parse(path) if isinstance(path, str) and pgconn.is_database(path) else None


def read_state(path, epsg=None, progress=NULL_PROGRESS, registration=False):
    """The state of a registration GeoPackage (.gpkg), a registration database in PostgreSQL or a delivery folder,
    geometries in `epsg` (None: its own). registration=True also reads a registration database's derived records
    (for the registration fingerprint)."""
    if _database(path) is not None:
        return _read_gpkg(_database(path), epsg, progress, registration)
    p = Path(path)
    if is_registration(p):
        return _read_gpkg(p, epsg, progress, registration)
    if p.is_dir():
        return _read_delivery(p, epsg, progress)
    raise LcbError("既不是登记库（.gpkg）也不是成果包文件夹", "neither a registration GeoPackage (.gpkg) nor a delivery folder", path=str(p))


def fingerprint(path, epsg=None):
    """The content fingerprints of a registration GeoPackage or a delivery (see the module's docstring)."""
    with read_state(path, epsg, registration=True) as st:
        return dict(st.fingerprint(), county=st.county, epsg=st.epsg)


def _transform(src, dst, wkt=None):
    if dst is None or src == dst or (src is None and not wkt):
        return None
    from ..merge import _transform as tf  # the merge's exact zone shift, or pyproj
    return tf(src, dst, wkt)


def _geom_parts(geoms, transform):
    """{i: (wkb, gh)} of an array of geometries: MultiPolygon, transformed, 2-D ISO WKB, millimetre digest."""
    geoms, ok = records.normalized(geoms, transform)
    wkb = np.full(len(geoms), None, dtype=object)
    if ok.any():
        wkb[ok] = shapely.to_wkb(geoms[ok], output_dimension=2, byte_order=1)
    return wkb, geometry64(geoms)


def _closure(parcels, rows):
    """The records the parcels reach. rows: {entity: [values]} (effective rows). Returns the same, filtered."""
    idx = {ent: ENTITIES[ent].fields for ent in rows}

    def col(ent, name):
        i = idx[ent].index(name)
        return lambda v: v[i]
    out = {}
    dk = col("CBDKXX", "DKBM")
    out["CBDKXX"] = [v for v in rows.get("CBDKXX", []) if _s(dk(v)).strip() in parcels]
    out["LEDGER"] = [v for v in rows.get("LEDGER", []) if _s(v[0]) in parcels]
    refs = defaultdict(set)
    for v in out["CBDKXX"]:
        d = dict(zip(idx["CBDKXX"], v))
        for f in ("CBFBM", "CBHTBM", "CBJYQZBM", "LZHTBM", "FBFBM"):
            if d.get(f):
                refs[f].add(d[f])
    refs["FBFBM"] |= {k[:14] for k in parcels if len(k) >= 14}
    out["CBHT"] = [v for v in rows.get("CBHT", []) if col("CBHT", "CBHTBM")(v) in refs["CBHTBM"]]
    for v in out["CBHT"]:
        d = dict(zip(idx["CBHT"], v))
        if d.get("CBFBM"):
            refs["CBFBM"].add(d["CBFBM"])
    out["LZHT"] = [v for v in rows.get("LZHT", []) if col("LZHT", "LZHTBM")(v) in refs["LZHTBM"] or col("LZHT", "CBHTBM")(v) in refs["CBHTBM"]]
    out["CBF"] = [v for v in rows.get("CBF", []) if v[0] in refs["CBFBM"]]
    out["CBF_JTCY"] = [v for v in rows.get("CBF_JTCY", []) if v[0] in refs["CBFBM"]]
    for ent in ("CBJYQZDJB", "CBJYQZ", "CBJYQZ_QZBF", "CBJYQZ_QZHF", "CBJYQZ_QZZX", "QSLYZLFJ"):
        out[ent] = [v for v in rows.get(ent, []) if v[0] in refs["CBJYQZBM"]]
    out["FBF"] = [v for v in rows.get("FBF", []) if v[0] in refs["FBFBM"]]
    return out


def _read_delivery(path, epsg, progress):
    from .. import workspace
    ws = workspace.open_workspace(path, progress=progress.sub(0, 70), dk_fields=records.DK_FIELDS, stage_dk=False)
    try:
        d, dk = ws.d, ws.dk
        src_epsg = dk.epsg if dk is not None else None
        st = State("delivery", d.root, ws.stage, d.county, d.county_name, epsg or src_epsg, dk.wkt if dk is not None else "")
        c = ws.stage.conn
        rows = {}
        for e in TABLES:
            table = "LEDGER" if e.name == "LEDGER" else e.name
            cols = ", ".join(f'"{f}"' for f in e.fields)
            rows[e.name] = [tuple(r) for r in c.execute(f'SELECT {cols} FROM "{table}" ORDER BY _row')]
        parcels_dk, geoms = {}, {}
        n = dk.n if dk is not None else 0
        if n:
            dkbm = records._texts(dk.raw.get("DKBM"), n)  # noqa: SLF001 - the very decoding the merge stages DK with
            dklb = records._texts(dk.raw.get("DKLB"), n)  # noqa: SLF001
            rep = {}  # the DK row representing a DKBM: its first contract parcel (DKLB 10), else its first row (as classify)
            for i, (k, lb) in enumerate(zip(dkbm, dklb)):
                if k and (k not in rep or (lb == "10" and dklb[rep[k]] != "10")):
                    rep[k] = i
            idx = np.array(sorted(rep.values()), dtype=np.int64)
            texts = {t: records._texts(dk.raw[t][idx] if t in dk.raw else None, len(idx)) for t in records.DK_TEXT}  # noqa: SLF001
            scmj = np.round(dk.number("SCMJ")[idx], 2)
            wkb, gh = _geom_parts(dk.geoms[idx], _transform(src_epsg, epsg, dk.wkt))
            for j, i in enumerate(idx.tolist()):
                k = dkbm[i]
                vals = [texts[t][j] or None for t in records.DK_TEXT] + [None if np.isnan(scmj[j]) else float(scmj[j])]
                parcels_dk[k] = vals
                geoms[k] = (wkb[j], int(gh[j]))
        parcels = set(parcels_dk) | {_s(v[0]).strip() for v in rows["CBDKXX"] if _s(v[0]).strip()}
        reached = _closure(parcels, rows)
        _put_all(st, parcels_dk, geoms, reached)
        _delivery_names(st, ws, parcels, rows)
        return st
    except BaseException:
        ws.close()
        raise


def _put_all(st, parcels_dk, geoms, reached):
    """Store DK records (values: DK_VALUES, key DKBM) and the reached table records."""
    dk_rows = []
    for k in sorted(parcels_dk):
        dk_rows.append(("DK", [k] + list(parcels_dk[k])))
    # DK values are stored without the key field: the key is the DKBM itself
    seen_geoms = {k: geoms[k] for k in parcels_dk if k in geoms}
    out = []
    for _ent, v in dk_rows:
        k, vals = v[0], v[1:]
        gh = seen_geoms.get(k, (None, 0))[1]
        text = dumps(list(vals))
        out.append(("DK", k, None, _village(k), record_hash("DK", k, None, gh, text), text))
    st.conn.executemany("INSERT OR REPLACE INTO E VALUES (?,?,?,?,?,?)", out)
    st.conn.executemany("INSERT OR REPLACE INTO G VALUES (?,?,?)", [(k, w, gh) for k, (w, gh) in seen_geoms.items()])
    st.put([(ent, v) for ent in ENTITIES if ent != "DK" for v in reached.get(ent, [])])


def _delivery_names(st, ws, parcels, rows):
    short = records.unit_names(ws)
    county = st.county
    fbf_of = {}
    for v in rows["CBDKXX"]:
        d = dict(zip(ENTITIES["CBDKXX"].fields, v))
        k = _s(d["DKBM"]).strip()
        if k and k not in fbf_of and d.get("FBFBM"):
            fbf_of[k] = d["FBFBM"]
    out = []
    for k in sorted(parcels):
        fbf = fbf_of.get(k) or (k[:14] if len(k) >= 14 else "")
        out.append((k, short(k[:9], county + "000"), short(k[:12], k[:9]), short(fbf, fbf[:12]), None, None))
    st.conn.executemany("INSERT OR REPLACE INTO N VALUES (?,?,?,?,?,?)", out)
    st.conn.commit()


def open_readonly(path):
    """A read-only sqlite3 connection to a GeoPackage (GDAL's ST_* functions registered)."""
    try:
        c = sqlite3.connect(f"file:{Path(path).resolve().as_posix()}?mode=ro", uri=True, isolation_level=None, timeout=30)
    except sqlite3.Error as e:
        raise LcbError(f"登记库无法打开：{e}", "the registration database cannot be opened", path=str(path)) from None
    return gpkg.register(c)


def _columns(c, table):
    if getattr(c, "is_pg", False):
        return c.columns(table)
    return [r[1] for r in c.execute(f'PRAGMA table_info("{table}")')]


def _tables(c):
    """{lower-case name: name} of the database's tables."""
    if getattr(c, "is_pg", False):
        return {r[0].lower(): r[0] for r in c.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?", (c.schema,))}
    return {r[0].lower(): r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _read_gpkg(path, epsg, progress, registration=False):
    from ..registration import store
    pg = _database(path)
    if pg is not None:  # a registration database in PostgreSQL: the same tables, read through core/pgconn.py
        from .. import pgconn
        from ..registration import pg as pgstore
        if not pgstore.exists(pg):  # also refuses another layout version
            raise LcbError(f"模式 {pg.schema} 中没有登记库", f"schema {pg.schema} holds no registration database", path=pg.display())
        src_epsg = pgstore.target_epsg(pg)
        c = pgconn.connect_read(pg)
    else:
        src_epsg = store.target_epsg(path)  # also refuses what is not a registration database of this version
        c = open_readonly(path)
    stage = attrdb.Staging()
    try:
        if pg is not None:
            from pyproj import CRS
            wkt = CRS.from_epsg(src_epsg).to_wkt() if src_epsg else ""
        else:
            wkt = c.execute("SELECT s.definition FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id "
                            "WHERE g.table_name = 'cbdk'").fetchone()[0]
        row = c.execute("SELECT county, county_name FROM batches WHERE county IS NOT NULL AND county <> '' ORDER BY fid LIMIT 1").fetchone()
        county, county_name = (row or ("", ""))
        st = State("registration", path, stage, county or "", county_name or "", epsg or src_epsg, wkt)
        have = set(_columns(c, "cbdk"))
        derived = [f for f in DERIVED if f in have] if registration else []
        cols = ["DKBM", "PCID", "BDCDYH", "geom"] + list(DK_VALUES) + list(NAMES) + derived
        select = ["ST_AsBinary(geom) AS geom" if f == "geom" and pg is not None else f for f in cols]
        cur = c.execute(f"SELECT {', '.join(select)} FROM cbdk ORDER BY DKBM")
        parcels_dk, pcid, blobs, names, reg = {}, {}, [], [], []
        keys = []
        for r in cur:
            d = dict(zip(cols, r))
            k = d["DKBM"]
            if not k:
                continue
            pcid[k] = d["PCID"]
            dkv = [d[f] for f in DK_VALUES]
            if d["geom"] is not None or any(v is not None for v in dkv):
                parcels_dk[k] = dkv
                keys.append(k)
                blobs.append(d["geom"])
            names.append((k, d["XZMC"], d["CJMC"], d["ZJMC"], d["BDCDYH"], d["PCID"]))
            if registration:
                reg.append(("REG", k, _village(k), [d["BDCDYH"]] + [d[f] for f in derived]))
        progress.set(30)
        geoms = _from_blobs(blobs) if pg is None else _from_wkb(blobs)
        wkb, gh = _geom_parts(geoms, _transform(src_epsg, epsg, wkt)) if len(geoms) else ([], [])
        geo = {k: (wkb[i], int(gh[i])) for i, k in enumerate(keys)}
        progress.set(50)
        rows = _effective(c, pcid)
        reached = _closure(set(pcid), rows)
        _put_all(st, parcels_dk, geo, reached)
        st.conn.executemany("INSERT OR REPLACE INTO N VALUES (?,?,?,?,?,?)", names)
        if registration:
            _derived(st, c, names, reg)
        st.conn.commit()
        st.registration = registration
        progress.set(100)
        return st
    except BaseException:
        stage.close()
        raise
    finally:
        c.close()


def _derived(st, c, names, reg):
    """Table X: per parcel its 不动产单元号 and derived working-layer fields (REG) and its right holders (QLR)."""
    by_code = {n[4]: n[0] for n in names if n[4]}
    hold = defaultdict(list)
    for code, vals in _holders(c):
        hold[by_code.get(code, code)].append(dumps(vals))
    x = []
    for e, k, vil, v in reg:
        text = dumps(v)
        x.append((e, k, vil, record_hash(e, k, None, None, text), text))
    for k, v in hold.items():
        text = dumps(sorted(v))
        x.append(("QLR", k, _village(k), record_hash("QLR", k, None, None, text), text))
    st.conn.executemany("INSERT OR REPLACE INTO X VALUES (?,?,?,?,?)", x)


def _from_wkb(values):
    """Shapely geometries of PostGIS WKB values (None stays None)."""
    out = np.full(len(values), None, dtype=object)
    idx = [i for i, v in enumerate(values) if v is not None]
    if idx:
        out[np.array(idx)] = shapely.from_wkb(np.array([bytes(values[i]) for i in idx], dtype=object))
    return out


def _from_blobs(blobs):
    """Shapely geometries of GeoPackage blobs (None for a missing or empty one), decoded in one call."""
    out = np.full(len(blobs), None, dtype=object)
    wkb, idx = [], []
    for i, b in enumerate(blobs):
        if b is None or len(b) < 8 or (b[3] >> 4) & 1:
            continue
        env = (b[3] >> 1) & 7
        wkb.append(bytes(b[8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(env, 0):]))
        idx.append(i)
    if idx:
        out[np.array(idx)] = shapely.from_wkb(np.array(wkb, dtype=object))
    return out


def _holders(c):
    """(BDCDYH, values) of the right-holder rows (the qlr table of layout 2 or the standard's QLR table)."""
    tables = _tables(c)
    name = tables.get("qlr")
    if name is None:
        return []
    cols = [f for f in _columns(c, name) if f.lower() not in ("fid", "pcid", "ysdm")]
    if "BDCDYH" not in cols:
        return []
    i = cols.index("BDCDYH")
    out = []
    for r in c.execute(f'SELECT {", ".join(cols)} FROM "{name}"'):
        vals = [round(v, 6) if isinstance(v, float) else v for v in r]
        out.append((r[i], vals))
    return out


def _effective(c, pcid):
    """{entity: [values]} of the effective rows of a registration database's delivery copies (module docstring)."""
    tables = set(_tables(c))
    rows, batch_of = {}, {}
    raw = {}
    for e in TABLES:
        if e.qs.lower() not in tables:
            raw[e.name] = []
            continue
        cols = ", ".join(f'"{f}"' for f in e.fields)
        raw[e.name] = c.execute(f'SELECT PCID, {cols} FROM "{e.qs}" ORDER BY PCID, fid').fetchall()
    # a parcel's rows: the newest batch not newer than the parcel's that has rows for it
    for ent in ("CBDKXX", "LEDGER"):
        by = defaultdict(lambda: defaultdict(list))
        for r in raw[ent]:
            by[_s(r[1]).strip()][r[0]].append(tuple(r[1:]))
        out = []
        for k in sorted(by):
            p = pcid.get(k)
            if p is None:
                continue
            older = [b for b in by[k] if b is not None and b <= p]
            if older:
                out.extend(by[k][max(older)])
        rows[ent] = out
    # heads and keyed records: the newest copy of the key
    for ent in ("CBF", "CBHT", "CBJYQZDJB", "LZHT", "FBF"):
        e = ENTITIES[ent]
        latest = {}
        for r in raw[ent]:
            latest[key_of(ent, r[1:])] = r
        rows[ent] = [tuple(r[1:]) for _k, r in sorted(latest.items())]
        batch_of[ent] = {_s(r[1]): r[0] for r in latest.values()}
        del e
    # families: the rows of the head's batch (the newest batch with rows when there is no head)
    for ent, head in HEADS.items():
        by = defaultdict(lambda: defaultdict(list))
        for r in raw[ent]:
            by[_s(r[1])][r[0]].append(tuple(r[1:]))
        out = []
        for fam in sorted(by):
            b = batch_of[head].get(fam)
            if b is None:
                b = max(x for x in by[fam] if x is not None) if any(x is not None for x in by[fam]) else None
            out.extend(by[fam].get(b, []))
        rows[ent] = out
    return rows
