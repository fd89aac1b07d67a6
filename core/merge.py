"""Integrate a delivery into the county registration GeoPackage (整合入库).

One feature per DKBM in `cbdk` with the area class, a 不动产单元号 allocated once and never changed, right
holders in `qlr` (share-only land as 按份共有), the delivery's attribute tables, and provenance (`batches`),
`conflicts` and `audit` tables. A new target is built in a temporary file and moved into place; an
existing one is changed in a single SQLite transaction, so a killed run leaves it exactly as before."""
import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import shapely
from osgeo import ogr

from . import classify, crs as crsmod, delivery, gpkg, integrity, inventory, schema
from .errors import NULL_PROGRESS, LcbError
from .workspace import open_workspace

MU = 0.0015

# cbdk fields: (name, sqlite type, Chinese title). Delivery-derived fields come first; the hash covers them.
CBDK_FIELDS = [
    ("DKBM", "TEXT", "地块编码"), ("BDCDYH", "TEXT", "不动产单元号"), ("FBFBM", "TEXT", "发包方编码"),
    ("XZDM", "TEXT", "乡镇代码"), ("XZMC", "TEXT", "乡镇名称"), ("CJDM", "TEXT", "村级代码"), ("CJMC", "TEXT", "村名称"),
    ("ZJMC", "TEXT", "组名称"), ("DKMC", "TEXT", "地块名称"), ("DKLB", "TEXT", "地块类别"), ("TDLYLX", "TEXT", "土地利用类型"),
    ("DLDJ", "TEXT", "地力等级"), ("TDYT", "TEXT", "土地用途"), ("SYQXZ", "TEXT", "所有权性质"), ("SFJBNT", "TEXT", "是否基本农田"),
    ("ZJRXM", "TEXT", "指界人姓名"), ("CBFBM", "TEXT", "承包方编码"), ("CBFMC", "TEXT", "承包方名称"),
    ("CBHTBM", "TEXT", "承包合同编码"), ("CBJYQZBM", "TEXT", "承包经营权证编码"), ("CBJYQQDFS", "TEXT", "承包经营权取得方式"),
    ("LZHTBM", "TEXT", "流转合同编码"), ("HTMJ", "REAL", "确权（合同）面积（平方米）"), ("DBMJ", "REAL", "登簿面积（平方米）"),
    ("SCMJ", "REAL", "实测面积（平方米）"), ("HTMJM", "REAL", "确权（合同）面积（亩）"), ("DBMJM", "REAL", "登簿面积（亩）"),
    ("SCMJM", "REAL", "实测面积（亩）"), ("HTDBC", "REAL", "合同与登簿面积差（平方米）"), ("HTSCC", "REAL", "合同与实测面积差（平方米）"),
    ("CYLX", "TEXT", "面积差异类型"), ("CYLXMC", "TEXT", "面积差异类型名称"), ("GYFS", "TEXT", "共有方式"),
    ("DKSYT", "TEXT", "地块示意图"), ("QSLYFJ", "TEXT", "权属来源附件"),
    # Not from the delivery: provenance and the consultation record.
    ("PCID", "INTEGER", "入库批次"), ("YJHASH", "TEXT", "成果记录指纹"), ("RKSJ", "TEXT", "入库时间"),
    ("XSZT", "TEXT", "协商状态"), ("XSBZ", "TEXT", "协商备注"), ("XSR", "TEXT", "协商人"), ("XSSJ", "TEXT", "协商时间"),
]
HASHED = [f[0] for f in CBDK_FIELDS[:CBDK_FIELDS.index(("PCID", "INTEGER", "入库批次"))] if f[0] != "BDCDYH"]
QLR_FIELDS = [("BDCDYH", "TEXT", "不动产单元号"), ("DKBM", "TEXT", "地块编码"), ("CBFBM", "TEXT", "承包方编码"),
              ("QLRMC", "TEXT", "权利人名称"), ("ZJZL", "TEXT", "证件种类"), ("ZJH", "TEXT", "证件号"),
              ("QLRLX", "TEXT", "权利人类型"), ("GYFS", "TEXT", "共有方式"), ("QLBL", "REAL", "权利比例"),
              ("FEMJ", "REAL", "份额面积（平方米）"), ("PCID", "INTEGER", "入库批次")]
BATCH_FIELDS = [("package", "TEXT", "成果包路径"), ("county", "TEXT", "县级代码"), ("county_name", "TEXT", "县级名称"),
                ("fingerprint", "TEXT", "成果包清单指纹"), ("params", "TEXT", "参数"), ("merged_at", "TEXT", "入库时间"),
                ("user", "TEXT", "操作人"), ("parcels", "INTEGER", "地块数"), ("inserted", "INTEGER", "新增"),
                ("updated", "INTEGER", "更新"), ("unchanged", "INTEGER", "未变"), ("conflicts", "INTEGER", "冲突"),
                ("classes", "TEXT", "分类统计"), ("epsg", "INTEGER", "成果坐标系")]
CONFLICT_FIELDS = [("PCID", "INTEGER", "批次"), ("DKBM", "TEXT", "地块编码"), ("fields", "TEXT", "不一致字段"),
                   ("existing", "TEXT", "库中值"), ("incoming", "TEXT", "新成果值"), ("resolution", "TEXT", "处理方式"),
                   ("at", "TEXT", "时间")]
AUDIT_FIELDS = [("at", "TEXT", "时间"), ("user", "TEXT", "操作人"), ("action", "TEXT", "操作"), ("DKBM", "TEXT", "地块编码"),
                ("PCID", "INTEGER", "批次"), ("detail", "TEXT", "内容")]
ALLOC_FIELDS = [("DKBM", "TEXT", "地块编码"), ("BDCDYH", "TEXT", "不动产单元号"), ("PCID", "INTEGER", "批次"), ("at", "TEXT", "赋码时间")]
ARCHIVE_FIELDS = [("PCID", "INTEGER", "批次"), ("rel", "TEXT", "相对路径"), ("stored", "TEXT", "存放路径"),
                  ("sha256", "TEXT", "SHA-256"), ("size", "INTEGER", "字节数")]
META_FIELDS = [("key", "TEXT", "键"), ("value", "TEXT", "值")]
QS_PREFIX = "qs_"


def _user():
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return "unknown"


def _now():
    return dt.datetime.now().isoformat(timespec="seconds")


def _layers():
    layers = [("cbdk", ogr.wkbMultiPolygon, CBDK_FIELDS), ("qlr", None, QLR_FIELDS), ("batches", None, BATCH_FIELDS),
              ("conflicts", None, CONFLICT_FIELDS), ("audit", None, AUDIT_FIELDS), ("bdcdyh_alloc", None, ALLOC_FIELDS),
              ("archive", None, ARCHIVE_FIELDS), ("lcb_meta", None, META_FIELDS)]
    aff = {"T": "TEXT", "M": "TEXT", "D": "TEXT", "N": "REAL", "I": "INTEGER"}
    for table, spec in schema.TABLES.items():
        fields = [(f[0], aff[f[1]], f[4]) for f in spec] + [("PCID", "INTEGER", "入库批次")]
        layers.append((QS_PREFIX + table.lower(), None, fields))
    layers.append((QS_PREFIX + "tz", None, [("DKBM", "TEXT", "地块编码"), ("CBFBM", "TEXT", "承包方编码"), ("CBJYQZBM", "TEXT", "承包经营权证编码"),
                                            ("DBMJ", "REAL", "登簿面积"), ("PCID", "INTEGER", "入库批次")]))
    return layers


def _create_target(path, epsg, wkt):
    gpkg.create(path, _layers(), srs_wkt=wkt, epsg=epsg)
    c = gpkg.connect(path)
    c.execute("BEGIN")
    c.executemany("INSERT INTO lcb_meta(key, value) VALUES (?, ?)", [("schema_version", "1"), ("epsg", str(epsg or "")),
                                                                      ("created_at", _now()), ("created_by", "Land Contract Bridge")])
    _data_columns(c, _layers())
    _store_style(c)
    c.execute("COMMIT")
    c.close()


def _data_columns(c, layers):
    """Chinese field titles in gpkg_data_columns (GeoPackage schema extension)."""
    c.execute("CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, "
              "description TEXT, mime_type TEXT, constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
              "CONSTRAINT gdc_tn UNIQUE (table_name, name))")
    c.execute("CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, "
              "value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, "
              "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))")
    for t in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        c.execute("INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) VALUES (?, NULL, 'gpkg_schema', "
                  "'http://www.geopackage.org/spec121/#extension_schema', 'read-write')", (t,))
    rows = []
    for name, _g, fields in layers:
        for fname, _t, title in fields:
            if title:
                rows.append((name, fname, title, title, None))
    c.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, description) VALUES (?,?,?,?,?)", rows)


def styled_qml():
    """resources/styles/cbdk.qml with the Chinese field aliases added (QGIS 3.22 reads aliases from the style)."""
    from xml.sax.saxutils import quoteattr
    qml = (Path(__file__).resolve().parent.parent / "resources" / "styles" / "cbdk.qml").read_text("utf-8")
    aliases = "".join(f'<alias field={quoteattr(f)} index="{i + 1}" name={quoteattr(t)}/>' for i, (f, _ty, t) in enumerate(CBDK_FIELDS))
    return qml.replace("<blendMode>", f"<aliases>{aliases}</aliases>\n  <blendMode>", 1)


INDEXES = ["CREATE UNIQUE INDEX IF NOT EXISTS ux_cbdk_dkbm ON cbdk(DKBM)", "CREATE UNIQUE INDEX IF NOT EXISTS ux_cbdk_bdcdyh ON cbdk(BDCDYH)",
           "CREATE INDEX IF NOT EXISTS ix_cbdk_cylx ON cbdk(CYLX)", "CREATE INDEX IF NOT EXISTS ix_cbdk_cjdm ON cbdk(CJDM)",
           "CREATE INDEX IF NOT EXISTS ix_qlr_bdcdyh ON qlr(BDCDYH)", "CREATE INDEX IF NOT EXISTS ix_qlr_dkbm ON qlr(DKBM)",
           "CREATE UNIQUE INDEX IF NOT EXISTS ux_alloc_dkbm ON bdcdyh_alloc(DKBM)",
           "CREATE UNIQUE INDEX IF NOT EXISTS ux_alloc_bdcdyh ON bdcdyh_alloc(BDCDYH)"] + \
          [f'CREATE INDEX IF NOT EXISTS "ix_{QS_PREFIX}{t.lower()}_pcid" ON "{QS_PREFIX}{t.lower()}"(PCID)' for t in list(schema.TABLES) + ["tz"]]


def _ensure_indexes(c):
    """Indexes of a new database are built once after its bulk load (cheaper than row by row); an existing
    one already has them."""
    for sql in INDEXES:
        c.execute(sql)


def _store_style(c):
    """The class-coloured style as the layer's default style in the GeoPackage (QGIS reads layer_styles)."""
    c.execute("""CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
                 f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
                 styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""")
    c.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner) "
              "VALUES ('', '', 'cbdk', 'geom', '面积差异分类', ?, '', 1, 'Land Contract Bridge', '')", (styled_qml(),))
    try:
        c.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                  "VALUES ('layer_styles', 'attributes', 'layer_styles', '', strftime('%Y-%m-%dT%H:%M:%fZ','now'))")
    except Exception:  # noqa: BLE001 - already registered
        pass


# ------------------------------------------------------------------ names and zoning
def _names(ws):
    """Short names for township (9), village (12) and group (14) codes from the unit-code table and region layers."""
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

    cache = {}

    def short(code, parent):
        key = (code, parent)
        v = cache.get(key)
        if v is None:
            n, p = by.get(code, ""), by.get(parent, "") if parent else ""
            v = cache[key] = n[len(p):] if p and n.startswith(p) and len(n) > len(p) else n
        return v
    return short


def load_zoning(path):
    """Optional ZONING table: columns code (9-digit township or 12-digit village), DJQ (3), DJZQ (3)."""
    if not path:
        return {}
    from .attrdb import read_table_file
    header, rows = read_table_file(path)
    up = [str(h).strip().upper() for h in header]
    try:
        i_code = next(i for i, h in enumerate(up) if h in ("CODE", "代码", "XZQDM", "村级代码", "乡镇代码"))
        i_djq = next(i for i, h in enumerate(up) if h in ("DJQ", "地籍区"))
        i_djzq = next(i for i, h in enumerate(up) if h in ("DJZQ", "地籍子区"))
    except StopIteration:
        raise LcbError("地籍区划对照表应有 code、DJQ、DJZQ 三列", "the zoning table needs code, DJQ, DJZQ columns", path=str(path)) from None
    out = {}
    for r in rows:
        code = re.sub(r"\.0$", "", str(r[i_code]).strip())
        djq, djzq = re.sub(r"\.0$", "", str(r[i_djq]).strip()).zfill(3), re.sub(r"\.0$", "", str(r[i_djzq]).strip()).zfill(3)
        if not (re.fullmatch(r"\d{9}|\d{12}", code) and re.fullmatch(r"\d{3}", djq) and re.fullmatch(r"\d{3}", djzq)):
            raise LcbError("地籍区划对照表中的代码格式不正确", "bad code in the zoning table", path=str(path), record=code)
        out[code] = djq + djzq
    return out


def zone_prefix(dkbm, fbfbm, county, zoning):
    """county 6 + 地籍区 3 + 地籍子区 3 for a parcel: ZONING table first, else township/village digits of the DKBM."""
    code = dkbm if dkbm and dkbm[:12].isdigit() and len(dkbm) >= 12 else (fbfbm or "")
    if len(code) >= 12 and code[:12].isdigit():
        if code[:12] in zoning:
            return county + zoning[code[:12]]
        if code[:9] in zoning:
            return county + zoning[code[:9]][:3] + code[9:12]
        return county + code[6:9] + code[9:12]
    return county + "000000"


# ------------------------------------------------------------------ records
CHUNK = 20000
COLS = [f[0] for f in CBDK_FIELDS]
HASH_AT = [COLS.index(f) for f in HASHED]
TEXT_FROM_DK = ("DKMC", "DKLB", "TDLYLX", "DLDJ", "TDYT", "SYQXZ", "SFJBNT", "ZJRXM")
MERGE_DK_FIELDS = ("DKBM", "SCMJ", "SCMJM") + TEXT_FROM_DK


class Lookups:
    """Delivery-wide lookups used while building records chunk by chunk."""

    def __init__(self, ws, transform):
        st = ws.stage
        self.ws, self.transform = ws, transform
        self.short = _names(ws)
        self.county = ws.d.county
        self.cbf = {r[0]: r[1:] for r in st.conn.execute("SELECT CBFBM, CBFMC, CBFZJLX, CBFZJHM, CBFLX FROM CBF")}
        self.dksyt = {r[0]: str(r[1] or "").replace("\\", "/") for r in st.conn.execute("SELECT CBJYQZBM, DKSYT FROM CBJYQZDJB")}
        self.fj = {}
        for bm, path in st.conn.execute("SELECT CBJYQZBM, FJ FROM QSLYZLFJ ORDER BY CBJYQZBM, ZLFJBH"):
            self.fj.setdefault(bm, []).append(str(path or "").replace("\\", "/"))


def _chunk_geometries(dk, idx, transform):
    """Geometries of a chunk (MultiPolygon, target CRS; None when absent/empty) and their coordinate digests."""
    n = len(idx)
    geoms = np.full(n, None, dtype=object)
    has = idx >= 0
    if dk is not None and has.any():
        geoms[has] = dk.geoms[idx[has]]
    ok = ~shapely.is_missing(geoms)
    if ok.any():
        sub = geoms[ok]
        empty = shapely.is_empty(sub)
        sub[empty] = None
        geoms[ok] = sub
        ok[np.nonzero(ok)[0][empty]] = False
    if ok.any():
        sub = geoms[ok]
        poly = shapely.get_type_id(sub) == 3
        if poly.any():
            sub[poly] = shapely.multipolygons(sub[poly], indices=np.arange(int(poly.sum())))
        if transform is not None:
            sub = transform(sub)
        geoms[ok] = sub
    digests = [b""] * n
    if ok.any():
        sub = geoms[ok]
        coords, gi = shapely.get_coordinates(sub, return_index=True)
        buf = np.round(coords, 3).tobytes()
        bounds = np.searchsorted(gi, np.arange(len(sub) + 1)) * 16
        for j, i in enumerate(np.nonzero(ok)[0]):
            digests[i] = buf[bounds[j]:bounds[j + 1]]
    return geoms, digests


def build_chunk(lk, parcels, keys):
    """Rows (lists aligned to COLS), geometries, holders and content hashes for a chunk of DKBMs."""
    dk = lk.ws.dk
    ps = [parcels[k] for k in keys]
    idx = np.array([-1 if p.dk_index is None else p.dk_index for p in ps], np.int64)
    texts = {}
    if dk is not None:
        take = np.where(idx >= 0, idx, 0)
        for name in TEXT_FROM_DK:
            if name in dk.raw and len(take):
                texts[name] = np.char.decode(dk.raw[name][take], "utf-8", errors="replace").tolist()
    geoms, digests = _chunk_geometries(dk, idx, lk.transform)
    short, cbf, dksyt, fj, county = lk.short, lk.cbf, lk.dksyt, lk.fj, lk.county
    nan = float("nan")
    area = np.array([[nan if v is None else v for v in (p.HTMJ, p.DBMJ, p.SCMJ)] for p in ps], float).reshape(-1, 3)
    r2 = np.round(area, 2)
    mu = np.round(area * MU + 1e-9, 2)
    dif = np.round(np.column_stack([area[:, 0] - area[:, 1], area[:, 0] - area[:, 2]]), 2)
    num = np.column_stack([r2, mu, dif]).astype(object)
    num[np.isnan(np.column_stack([r2, mu, dif]).astype(float))] = None
    num = num.tolist()
    rows, holders_all, hashes = [], [], []
    dk_text = [texts.get(n) for n in TEXT_FROM_DK]
    none_text = [None] * len(TEXT_FROM_DK)
    cls_name = classify.CLASSES
    R_CBFBM, R_CBHTBM, R_QZ, R_FBFBM, R_HTMJ, R_LZ, R_QDFS = (classify.R_CBFBM, classify.R_CBHTBM, classify.R_CBJYQZBM,
                                                            classify.R_FBFBM, classify.R_HTMJ, classify.R_LZHTBM, classify.R_QDFS)
    tail = [None] * 7
    for j, (k, p) in enumerate(zip(keys, ps)):
        rws = p.rows
        first = rws[0] if rws else None
        fbfbm = (first[R_FBFBM] if first else None) or (k[:14] if len(k) >= 14 else "")
        holders = []
        for r in rws:
            info = cbf.get(r[R_CBFBM])
            holders.append((r[R_CBFBM], *(info[:4] if info else (None, None, None, None)), r[R_HTMJ]))
        share = p.CYLX == "share_only"
        if idx[j] >= 0:
            text_vals = [(t[j] or None) if t is not None else None for t in dk_text]
        else:
            text_vals = none_text
        if len(rws) == 1:  # the usual parcel: one contractor, one certificate
            qz = first[R_QZ]
            lz, sk, fjs = first[R_LZ] or None, dksyt.get(qz) or None, fj.get(qz)
            fjs = ";".join(sorted(set(fjs))) if fjs else None
            name = holders[0][1]
        else:
            names = [h[1] or "" for h in holders]
            name = ("、".join(names[:3]) + ("等" if len(names) > 3 else "")) if share else (names[0] if holders else None)
            lz = ";".join(sorted({r[R_LZ] for r in rws if r[R_LZ]})) or None
            sk = ";".join(sorted({dksyt[r[R_QZ]] for r in rws if dksyt.get(r[R_QZ])})) or None
            fjs = ";".join(sorted({x for r in rws for x in fj.get(r[R_QZ], ())})) or None
        row = [k, None, fbfbm, k[:9] if len(k) >= 9 else "", short(k[:9], county + "000"), k[:12] if len(k) >= 12 else "",
               short(k[:12], k[:9]), short(fbfbm, fbfbm[:12]), *text_vals,
               None if share or not first else first[R_CBFBM], name,
               None if share or not first else first[R_CBHTBM], None if share or not first else first[R_QZ],
               first[R_QDFS] if first else None, lz, *num[j],
               p.CYLX, cls_name[p.CYLX], "按份共有" if share else ("单独所有" if holders else None), sk, fjs, *tail]
        h = hashlib.sha1("\x1f".join(map(str, [row[i] for i in HASH_AT])).encode("utf-8"))
        h.update(digests[j])
        hashes.append(h.hexdigest())
        rows.append(row)
        holders_all.append(holders)
    return rows, geoms, holders_all, hashes


def _qlr_rows(dkbm, cylx, holders, bdcdyh, batch):
    if not holders:
        return []
    if cylx == "share_only":
        total = sum(h[5] or 0 for h in holders) or 1.0
        shares = [round((h[5] or 0) / total, 6) for h in holders]
        shares[-1] = round(1.0 - sum(shares[:-1]), 6)
        return [(bdcdyh, dkbm, h[0], h[1], h[2], h[3], h[4], "按份共有", s, h[5], batch) for h, s in zip(holders, shares)]
    h = holders[0]
    return [(bdcdyh, dkbm, h[0], h[1], h[2], h[3], h[4], "单独所有", 1.0, h[5], batch)]


# ------------------------------------------------------------------ merge
def _file_sha(path):
    return inventory.sha256(path) if path else ""


def merge(path, target, ledger=None, tol=0.01, on_conflict="keep", target_epsg=None, zoning=None, copy_archive=False,
          progress=NULL_PROGRESS, source_crs=None):
    if on_conflict not in ("keep", "replace"):
        raise LcbError("ON_CONFLICT 只能是 keep 或 replace", "ON_CONFLICT must be keep or replace", field="ON_CONFLICT")
    target = Path(target)
    if target.suffix.lower() != ".gpkg":
        raise LcbError("目标文件必须是 .gpkg", "the target must be a .gpkg file", path=str(target))
    zmap = load_zoning(zoning)
    d = delivery.scan(path)
    params = json.dumps(dict(tol=tol, ledger=_file_sha(ledger), zoning=_file_sha(zoning)), ensure_ascii=False)
    exists = target.exists()
    hashing = None
    if exists:  # an identical delivery merged before is a no-op: decide that before reading anything else
        fp = fingerprint(d, progress.sub(0, 15))
        known = _already_merged(target, fp, params)
        if known is not None:
            progress.set(100)
            return dict(PARCELS=known["parcels"], INSERTED=0, UPDATED=0, UNCHANGED=known["parcels"], CONFLICTS=0,
                        classes=known["classes"], target=str(target), fingerprint=fp, epsg=known["epsg"], fast_path=True)
    else:  # a new database: hash the files on a second core while the delivery is read
        import threading
        box = {}
        hashing = threading.Thread(target=lambda: box.update(fp=fingerprint(d)), name="lcb-fingerprint", daemon=True)
        hashing.start()
    try:
        ws = open_workspace(d, ledger=ledger, progress=progress.sub(15, 40), dk_fields=MERGE_DK_FIELDS, stage_dk=False)
        ws.stage.conn.execute("CREATE INDEX IF NOT EXISTS ix_CBF_CBFBM ON CBF(CBFBM)")  # for the right-holder join
        ws.stage.conn.commit()
    finally:
        if hashing is not None:
            hashing.join()
            fp = box.get("fp")
            if fp is None:
                raise LcbError("成果包文件无法读取，无法计算指纹", "the delivery's files cannot be read to fingerprint them", path=str(d.root))
    try:
        integrity.assert_mergeable(ws, target, declared_crs=source_crs, progress=progress)  # refuse before touching TARGET
        if ws.dk is None:
            raise LcbError("成果包中没有地块图层（DK），无法入库", "the delivery has no DK layer", path=str(d.root))
        src_epsg = ws.dk.epsg
        parcels = classify.classify(ws, tol)
        progress.set(45)
        progress.check()
        tgt_epsg = _target_epsg(target) if exists else (int(target_epsg) if target_epsg else src_epsg)
        lk = Lookups(ws, _transform(src_epsg, tgt_epsg, ws.dk.wkt))
        result = dict(PARCELS=len(parcels), INSERTED=0, UPDATED=0, UNCHANGED=0, CONFLICTS=0, classes=classify.counts(parcels),
                      target=str(target), fingerprint=fp, epsg=tgt_epsg)
        job = dict(d=d, ws=ws, lk=lk, parcels=parcels, fp=fp, params=params, on_conflict=on_conflict, zmap=zmap,
                   result=result, copy_archive=copy_archive, progress=progress.sub(45, 100))
        if exists:
            _apply(target, **job)
        else:
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.gpkg")
            for stale in target.parent.glob(f".{target.name}.*.tmp.gpkg"):
                stale.unlink(missing_ok=True)
            try:
                _create_target(tmp, tgt_epsg, ws.dk.wkt)
                _apply(tmp, new_file=True, **job)
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    tmp.unlink()
        progress.set(100)
        return result
    finally:
        ws.close()


def fingerprint(d, progress=NULL_PROGRESS):
    """SHA-256 over every file's path and SHA-256: the delivery's identity (equals the inventory's files sheet)."""
    files = []
    total = sum(max(0, e.size) for e in d.files) or 1
    done = 0
    for e in d.files:
        progress.check()
        files.append((e.rel, inventory.sha256(e.abspath)))
        done += max(0, e.size)
        progress.set(100 * done / total)
    return hashlib.sha256("".join(f"{r}\x1f{h}\x1e" for r, h in sorted(files)).encode()).hexdigest()


def _already_merged(target, fp, params):
    """The batch that merged exactly these bytes with these parameters without conflicts, when nothing since
    could have changed its outcome (no later replacement, no parcel deleted): merging again is then a no-op."""
    try:
        c = gpkg.connect(target)
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


def _target_epsg(target):
    c = gpkg.connect(target)
    try:
        row = c.execute("SELECT s.organization, s.organization_coordsys_id FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s "
                        "ON s.srs_id = g.srs_id WHERE g.table_name = 'cbdk'").fetchone()
        if row is None:
            raise LcbError("目标 GeoPackage 中没有 cbdk 图层，不是本插件建立的登记库", "the target has no cbdk layer", path=str(target))
        return int(row[1]) if row[0] and row[0].upper() == "EPSG" else None
    except LcbError:
        raise
    except Exception as e:  # noqa: BLE001
        raise LcbError(f"目标 GeoPackage 无法读取：{e}", "the target GeoPackage cannot be read", path=str(target)) from e
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


BULK_TABLES = ["cbdk", "qlr", "bdcdyh_alloc", "batches", "conflicts", "audit", "archive"] + \
              [QS_PREFIX + t.lower() for t in list(schema.TABLES) + ["tz"]]


@contextlib.contextmanager
def _triggers_suspended(c, tables=BULK_TABLES):
    """Bulk loads skip GDAL's per-row R-tree and feature-count triggers: the R-tree rows are written in bulk and
    gpkg_ogr_contents is recounted once. Inside the transaction, so a failure restores the triggers too."""
    marks = ",".join("?" * len(tables))
    saved = c.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})", tables).fetchall()
    for name, _sql in saved:
        c.execute(f'DROP TRIGGER "{name}"')
    yield  # on an exception the caller rolls back, which restores the triggers as well
    for _name, sql in saved:
        c.execute(sql)
    for t in tables:
        c.execute(f'UPDATE gpkg_ogr_contents SET feature_count = (SELECT COUNT(*) FROM "{t}") WHERE lower(table_name) = lower(?)', (t,))


def _derive_rows(c, batch):
    """Rows that follow from what was just inserted, written inside SQLite (no values through Python): the
    allocation log of the new 不动产单元号 and the right holder of every single-holder parcel."""
    c.execute("INSERT INTO bdcdyh_alloc (DKBM, BDCDYH, PCID, at) SELECT c.DKBM, c.BDCDYH, c.PCID, c.RKSJ FROM cbdk c "
              "WHERE c.PCID = ? AND NOT EXISTS (SELECT 1 FROM bdcdyh_alloc a WHERE a.DKBM = c.DKBM) ORDER BY c.fid", (batch,))
    c.execute("INSERT INTO qlr (BDCDYH, DKBM, CBFBM, QLRMC, ZJZL, ZJH, QLRLX, GYFS, QLBL, FEMJ, PCID) "
              "SELECT c.BDCDYH, c.DKBM, c.CBFBM, c.CBFMC, f.CBFZJLX, f.CBFZJHM, f.CBFLX, '单独所有', 1.0, c.HTMJ, c.PCID "
              "FROM cbdk c LEFT JOIN stg.CBF f ON f.CBFBM = c.CBFBM WHERE c.PCID = ? AND c.GYFS = '单独所有' ORDER BY c.fid", (batch,))


class _Writer:
    """Runs SQLite work on a second thread, in order, while the main thread builds the next chunk: CPython's
    sqlite3 releases the GIL inside sqlite3_step, so building and writing use both cores. At most two jobs wait."""

    def __init__(self):
        import queue
        import threading
        self.q = queue.Queue(maxsize=2)
        self.error = None
        self.thread = threading.Thread(target=self._run, name="lcb-writer", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            job = self.q.get()
            if job is None:
                return
            if self.error is None:
                try:
                    job()
                except BaseException as e:  # noqa: BLE001 - re-raised on the main thread
                    self.error = e

    def submit(self, job):
        if self.error is not None:
            raise self.error
        self.q.put(job)

    def finish(self):
        self.q.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _apply(path, d, ws, lk, parcels, fp, params, on_conflict, zmap, result, copy_archive, progress, new_file=False):
    c = gpkg.connect(path, threads=True)
    writer = None
    c.execute("PRAGMA cache_size=-262144")  # 256 MiB of page cache: index maintenance of a county stays in memory
    if new_file:  # a temporary file renamed into place only when complete: no journal needed
        c.execute("PRAGMA journal_mode=OFF")
        c.execute("PRAGMA synchronous=OFF")
    try:
        srs_id = c.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'cbdk'").fetchone()[0]
        ws.stage.attach_to(c, "stg")  # read side of _copy_tables; attach/detach outside the transaction
        c.execute("BEGIN IMMEDIATE")
        existing = dict(c.execute("SELECT DKBM, YJHASH FROM cbdk"))
        alloc = dict(c.execute("SELECT DKBM, BDCDYH FROM bdcdyh_alloc"))
        serial = {}
        for code, in c.execute("SELECT BDCDYH FROM bdcdyh_alloc"):
            serial[code[:12]] = max(serial.get(code[:12], 0), int(code[14:19]))
        next_fid = (c.execute("SELECT MAX(fid) FROM cbdk").fetchone()[0] or 0) + 1
        now, user = _now(), _user()
        batch = None
        keys = sorted(parcels)
        ins = f'INSERT INTO cbdk (fid, geom, {", ".join(COLS)}) VALUES (?, ?, {", ".join("?" * len(COLS))})'
        qlr_sql = f"INSERT INTO qlr ({', '.join(f[0] for f in QLR_FIELDS)}) VALUES ({', '.join('?' * len(QLR_FIELDS))})"
        changed = []
        i_bdc, i_pcid, i_rksj, i_xszt, i_hash, i_cylx = (COLS.index(x) for x in ("BDCDYH", "PCID", "RKSJ", "XSZT", "YJHASH", "CYLX"))
        tables_copied = False
        writer = None
        with _triggers_suspended(c):
            writer = _Writer()
            if not existing:  # a new (or empty) database: everything is inserted, so the batch exists from the start
                batch = _new_batch(c, d, fp, params, now, user, result["epsg"])
                writer.submit(lambda b=batch: _copy_tables(c, ws, b))
                tables_copied = True

            def write(out, rtree, qlr):
                c.executemany(ins, out)
                c.executemany('INSERT INTO "rtree_cbdk_geom" VALUES (?,?,?,?,?)', rtree)
                c.executemany(qlr_sql, qlr)
            for start in range(0, len(keys), CHUNK):
                progress.check()
                chunk = keys[start:start + CHUNK]
                rows, geoms, holders, hashes = build_chunk(lk, parcels, chunk)
                new = [j for j, k in enumerate(chunk) if k not in existing]
                for j, k in enumerate(chunk):
                    old = existing.get(k)
                    if old is None:
                        continue
                    if old == hashes[j]:
                        result["UNCHANGED"] += 1
                    else:
                        changed.append((rows[j], geoms[j], holders[j], hashes[j]))
                if new and batch is None:
                    writer.finish()  # the connection is used here: let queued work finish first
                    batch = _new_batch(c, d, fp, params, now, user, result["epsg"])
                    writer = _Writer()
                if not new:
                    progress.set(100 * (start + len(chunk)) / max(1, len(keys)) * 0.9)
                    continue
                sub = geoms[np.asarray(new, np.int64)]
                blobs = gpkg.blobs(sub, srs_id)
                out, qlr, rtree = [], [], []
                okg = ~shapely.is_missing(sub)
                bounds = shapely.bounds(sub)
                for n_, (j, blob) in enumerate(zip(new, blobs)):
                    row = rows[j]
                    k = row[0]
                    code = alloc.get(k)
                    if code is None:
                        zp = zone_prefix(k, row[2], d.county, zmap)
                        s = serial.get(zp, 0) + 1
                        if s > 99999:
                            raise LcbError(f"地籍子区 {zp} 的宗地顺序号已用尽", "the parcel serial of a cadastral sub-zone is exhausted", record=zp)
                        serial[zp] = s
                        code = f"{zp}JD{s:05d}W00000000"
                    row[i_bdc], row[i_pcid], row[i_rksj], row[i_hash] = code, batch, now, hashes[j]
                    row[i_xszt] = "待协商" if row[COLS.index("CYLX")] == "contract_register_mismatch" else None
                    fid = next_fid
                    next_fid += 1
                    out.append([fid, blob] + row)
                    if okg[n_]:
                        b = bounds[n_]
                        rtree.append((fid, b[0], b[2], b[1], b[3]))
                    if row[i_cylx] == "share_only":  # co-owners; single holders are derived in SQL below
                        qlr.extend(_qlr_rows(k, "share_only", holders[j], code, batch))
                writer.submit(lambda a=out, b=rtree, q=qlr: write(a, b, q))
                result["INSERTED"] += len(new)
                progress.set(100 * (start + len(chunk)) / max(1, len(keys)) * 0.9)
            writer.finish()
            writer = None
            if result["INSERTED"]:
                _derive_rows(c, batch)
            if not result["INSERTED"] and not changed:
                raise _NothingToDo
            if batch is None:
                batch = _new_batch(c, d, fp, params, now, user, result["epsg"])
            if not tables_copied and not c.execute("SELECT 1 FROM batches WHERE fingerprint = ? AND fid <> ? LIMIT 1", (fp, batch)).fetchone():
                _copy_tables(c, ws, batch)
            if copy_archive:
                _archive(c, d, Path(path), batch)
        audits = _conflicts(c, changed, batch, on_conflict, now, user, srs_id, result, qlr_sql)
        audits.append((now, user, "merge", None, batch, json.dumps({k: v for k, v in result.items() if k.isupper()}, ensure_ascii=False)))
        c.executemany("INSERT INTO audit (at, user, action, DKBM, PCID, detail) VALUES (?,?,?,?,?,?)", audits)
        c.execute("UPDATE batches SET parcels=?, inserted=?, updated=?, unchanged=?, conflicts=?, classes=? WHERE fid=?",
                  (result["PARCELS"], result["INSERTED"], result["UPDATED"], result["UNCHANGED"], result["CONFLICTS"],
                   json.dumps(result["classes"]), batch))
        _ensure_indexes(c)
        _update_extent(c)
        progress.check()
        _test_pause("before_commit", path)
        c.execute("COMMIT")
        result["batch"] = batch
    except _NothingToDo:
        c.execute("ROLLBACK")  # every parcel unchanged: the target is not touched at all
    except BaseException:
        if writer is not None:  # stop the writer before touching the connection
            try:
                writer.finish()
            except BaseException:  # noqa: BLE001 - the first error is the one that matters
                pass
        if c.in_transaction:
            c.execute("ROLLBACK")
        raise
    finally:
        if not c.in_transaction:
            c.execute("DETACH DATABASE stg")
        c.close()


class _NothingToDo(Exception):
    pass


def _new_batch(c, d, fp, params, now, user, epsg):
    return c.execute("INSERT INTO batches (package, county, county_name, fingerprint, params, merged_at, user, epsg) VALUES (?,?,?,?,?,?,?,?)",
                     (str(d.root), d.county, d.county_name, fp, params, now, user, epsg)).lastrowid


def _conflicts(c, changed, batch, on_conflict, now, user, srs_id, result, qlr_sql):
    """A DKBM already in the target with different content: recorded, never silent; replaced only on request."""
    conflicts, audits = [], []
    hashed_at = {f: COLS.index(f) for f in HASHED}
    for row, geom, holders, h in changed:
        k = row[0]
        cur = c.execute(f'SELECT fid, BDCDYH, {", ".join(HASHED)} FROM cbdk WHERE DKBM = ?', (k,)).fetchone()
        fid, code, curvals = cur[0], cur[1], dict(zip(HASHED, cur[2:]))
        diff = [f for f in HASHED if curvals.get(f) != row[hashed_at[f]]] or ["geometry"]
        resolution = "replaced" if on_conflict == "replace" else "kept"
        conflicts.append((batch, k, ",".join(diff), json.dumps({f: curvals.get(f) for f in diff if f != "geometry"}, ensure_ascii=False),
                          json.dumps({f: row[hashed_at[f]] for f in diff if f != "geometry"}, ensure_ascii=False), resolution, now))
        if on_conflict == "replace":
            blob = gpkg.blobs([geom], srs_id)[0]
            c.execute(f'UPDATE cbdk SET geom = ?, {", ".join(f"{f} = ?" for f in HASHED)}, YJHASH = ?, PCID = ?, RKSJ = ? WHERE fid = ?',
                      [blob] + [row[hashed_at[f]] for f in HASHED] + [h, batch, now, fid])
            c.execute("DELETE FROM qlr WHERE DKBM = ?", (k,))
            c.executemany(qlr_sql, _qlr_rows(k, row[COLS.index("CYLX")], holders, code, batch))
            audits.append((now, user, "replace", k, batch, ",".join(diff)))
            result["UPDATED"] += 1
    result["CONFLICTS"] = len(changed)
    c.executemany("INSERT INTO conflicts (PCID, DKBM, fields, existing, incoming, resolution, at) VALUES (?,?,?,?,?,?,?)", conflicts)
    return audits


def _test_pause(point, path):
    """Test hook: with LCB_TEST_PAUSE=<point>, write <target>.<point> and wait, so a test can kill the process
    at a known place inside the transaction. Inert otherwise."""
    if os.environ.get("LCB_TEST_PAUSE") == point:
        import time
        Path(f"{path}.{point}").write_text(str(os.getpid()))
        time.sleep(600)


def _copy_tables(c, ws, batch):
    """The delivery's attribute tables, copied inside SQLite (no rows through Python), once per delivery."""
    for table, spec in schema.TABLES.items():
        cols = ", ".join(f'"{f[0]}"' for f in spec)
        c.execute(f'INSERT INTO "{QS_PREFIX}{table.lower()}" ({cols}, PCID) SELECT {cols}, ? FROM stg."{table}" ORDER BY _row', (batch,))
    if ws.stage.has_ledger:
        c.execute(f'INSERT INTO "{QS_PREFIX}tz" (DKBM, CBFBM, CBJYQZBM, DBMJ, PCID) SELECT DKBM, CBFBM, CBJYQZBM, DBMJ, ? FROM stg.LEDGER ORDER BY _row', (batch,))


def _archive(c, d, gpkg_path, batch):
    """Copy sketches and attachments beside the GeoPackage (<name>_档案/<county>/...), with SHA-256."""
    base = gpkg_path.parent / f"{gpkg_path.stem.lstrip('.').split('.gpkg')[0]}_档案" / (d.county + d.county_name)
    rows = []
    for e in list(d.sketches) + list(d.attachments):
        rel = e.rel
        dst = base / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            shutil.copy2(e.abspath, dst)
        rows.append((batch, rel, str(dst.relative_to(gpkg_path.parent)), inventory.sha256(dst), dst.stat().st_size))
    c.executemany("INSERT INTO archive (PCID, rel, stored, sha256, size) VALUES (?,?,?,?,?)", rows)


def _update_extent(c):
    row = c.execute("SELECT MIN(minx), MIN(miny), MAX(maxx), MAX(maxy) FROM rtree_cbdk_geom").fetchone()
    if row and row[0] is not None:
        c.execute("UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name='cbdk'", row)
