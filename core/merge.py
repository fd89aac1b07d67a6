"""Integrate a delivery into the county registration GeoPackage (整合入库).

One feature per DKBM in `cbdk` with the area class, a 不动产单元号 allocated once and never changed, right
holders in `qlr` (share-only land as 按份共有), the delivery's attribute tables, and provenance (`batches`),
`conflicts` and `audit` tables. A new target is built in a temporary file and moved into place; an
existing one is changed in a single SQLite transaction, so a killed run leaves it exactly as before."""
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

from . import classify, crs as crsmod, gpkg, inventory, schema
from .errors import NULL_PROGRESS, LcbError
from .workspace import open_workspace

MU = 0.0015
STATUS = ["待协商", "以合同面积为准", "以登簿面积为准", "重新测量", "其他"]

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


def _layers(epsg):
    layers = [("cbdk", ogr.wkbMultiPolygon, CBDK_FIELDS), ("qlr", None, QLR_FIELDS), ("batches", None, BATCH_FIELDS),
              ("conflicts", None, CONFLICT_FIELDS), ("audit", None, AUDIT_FIELDS), ("bdcdyh_alloc", None, ALLOC_FIELDS),
              ("archive", None, ARCHIVE_FIELDS), ("lcb_meta", None, META_FIELDS)]
    aff = {"T": "TEXT", "M": "TEXT", "D": "TEXT", "N": "REAL", "I": "INTEGER"}
    for table, spec in schema.TABLES.items():
        fields = [(f[0], aff[f[1]], f[4]) for f in spec] + [("PCID", "INTEGER", "入库批次"), ("ROWHASH", "TEXT", "记录指纹")]
        layers.append((QS_PREFIX + table.lower(), None, fields))
    layers.append((QS_PREFIX + "tz", None, [("DKBM", "TEXT", "地块编码"), ("CBFBM", "TEXT", "承包方编码"), ("CBJYQZBM", "TEXT", "承包经营权证编码"),
                                            ("DBMJ", "REAL", "登簿面积"), ("PCID", "INTEGER", "入库批次"), ("ROWHASH", "TEXT", "记录指纹")]))
    return layers


def _create_target(path, epsg, wkt):
    gpkg.create(path, _layers(epsg), srs_wkt=wkt, epsg=epsg)
    c = gpkg.connect(path)
    c.execute("BEGIN")
    c.execute("CREATE UNIQUE INDEX ux_cbdk_dkbm ON cbdk(DKBM)")
    c.execute("CREATE UNIQUE INDEX ux_cbdk_bdcdyh ON cbdk(BDCDYH)")
    c.execute("CREATE INDEX ix_cbdk_cylx ON cbdk(CYLX)")
    c.execute("CREATE INDEX ix_cbdk_cjdm ON cbdk(CJDM)")
    c.execute("CREATE INDEX ix_qlr_bdcdyh ON qlr(BDCDYH)")
    c.execute("CREATE INDEX ix_qlr_dkbm ON qlr(DKBM)")
    c.execute("CREATE UNIQUE INDEX ux_alloc_dkbm ON bdcdyh_alloc(DKBM)")
    c.execute("CREATE UNIQUE INDEX ux_alloc_bdcdyh ON bdcdyh_alloc(BDCDYH)")
    for table in list(schema.TABLES) + ["tz"]:
        c.execute(f'CREATE UNIQUE INDEX "ux_{QS_PREFIX}{table.lower()}_hash" ON "{QS_PREFIX}{table.lower()}"(ROWHASH)')
    c.executemany("INSERT INTO lcb_meta(key, value) VALUES (?, ?)", [("schema_version", "1"), ("epsg", str(epsg or "")),
                                                                      ("created_at", _now()), ("created_by", "Land Contract Bridge")])
    _data_columns(c, _layers(epsg))
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

    def short(code, parent):
        n, p = by.get(code, ""), by.get(parent, "") if parent else ""
        return n[len(p):] if p and n.startswith(p) and len(n) > len(p) else n
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
def _round(v):
    return None if v is None else round(float(v), 2)


def _mu(v):
    return None if v is None else round(float(v) * MU + 1e-9, 2)


def build_records(ws, parcels, transform=None, package_rel=None):
    """Dict per parcel of the delivery-derived cbdk fields, plus geometry and holders."""
    dk, st = ws.dk, ws.stage
    short = _names(ws)
    d_county = ws.d.county
    cbf = {r[0]: r[1:] for r in st.q("SELECT CBFBM, CBFMC, CBFZJLX, CBFZJHM, CBFLX FROM CBF")}
    dksyt = {r[0]: r[1] for r in st.q("SELECT CBJYQZBM, DKSYT FROM CBJYQZDJB")}
    fj = {}
    for bm, path in st.q("SELECT CBJYQZBM, FJ FROM QSLYZLFJ ORDER BY CBJYQZBM, ZLFJBH"):
        fj.setdefault(bm, []).append(str(path or "").replace("\\", "/"))
    text = {name: dk.text(name).tolist() for name in ("DKMC", "DKLB", "TDLYLX", "DLDJ", "TDYT", "SYQXZ", "SFJBNT", "ZJRXM")} if dk is not None else {}
    geoms = dk.geoms if dk is not None else None
    recs = []
    for k in sorted(parcels):
        p = parcels[k]
        i = p.dk_index
        first = p.rows[0] if p.rows else {}
        fbfbm = first.get("FBFBM") or (k[:14] if len(k) >= 14 else "")
        holders = []
        for r in p.rows:
            info = cbf.get(r["CBFBM"])
            holders.append(dict(CBFBM=r["CBFBM"], QLRMC=info[0] if info else None, ZJZL=info[1] if info else None,
                                ZJH=info[2] if info else None, QLRLX=info[3] if info else None, HTMJ=r["HTMJ"]))
        share = p.CYLX == "share_only"
        rec = dict(DKBM=k, FBFBM=fbfbm, XZDM=k[:9] if len(k) >= 9 else "", CJDM=k[:12] if len(k) >= 12 else "",
                   XZMC=short(k[:9], d_county + "000"), CJMC=short(k[:12], k[:9]), ZJMC=short(fbfbm, fbfbm[:12]),
                   CBFBM=None if share else first.get("CBFBM"),
                   CBFMC=("、".join(h["QLRMC"] or "" for h in holders[:3]) + ("等" if len(holders) > 3 else "") if share else (holders[0]["QLRMC"] if holders else None)),
                   CBHTBM=None if share else first.get("CBHTBM"), CBJYQZBM=None if share else first.get("CBJYQZBM"),
                   CBJYQQDFS=first.get("CBJYQQDFS"), LZHTBM=";".join(sorted({r["LZHTBM"] for r in p.rows if r.get("LZHTBM")})) or None,
                   HTMJ=_round(p.HTMJ), DBMJ=_round(p.DBMJ), SCMJ=_round(p.SCMJ), HTMJM=_mu(p.HTMJ), DBMJM=_mu(p.DBMJ), SCMJM=_mu(p.SCMJ),
                   HTDBC=_round(p.HTMJ - p.DBMJ) if p.HTMJ is not None and p.DBMJ is not None else None,
                   HTSCC=_round(p.HTMJ - p.SCMJ) if p.HTMJ is not None and p.SCMJ is not None else None,
                   CYLX=p.CYLX, CYLXMC=classify.CLASSES[p.CYLX], GYFS="按份共有" if share else ("单独所有" if holders else None),
                   DKSYT=";".join(sorted({str(dksyt.get(r["CBJYQZBM"]) or "").replace("\\", "/") for r in p.rows if dksyt.get(r["CBJYQZBM"])})) or None,
                   QSLYFJ=";".join(sorted({x for r in p.rows for x in fj.get(r["CBJYQZBM"], [])})) or None)
        for name in ("DKMC", "DKLB", "TDLYLX", "DLDJ", "TDYT", "SYQXZ", "SFJBNT", "ZJRXM"):
            rec[name] = (text[name][i] or None) if i is not None else None
        g = geoms[i] if i is not None else None
        if g is not None and shapely.is_empty(g):
            g = None
        if g is not None and shapely.get_type_id(g) == 3:
            g = shapely.multipolygons([g])
        if g is not None and transform is not None:
            g = transform(g)
        rec["_geom"] = g
        rec["_holders"] = holders
        rec["YJHASH"] = _hash(rec)
        recs.append(rec)
    return recs


def _hash(rec):
    h = hashlib.sha256()
    for name in HASHED:
        h.update(repr(rec.get(name)).encode("utf-8"))
        h.update(b"\x1f")
    g = rec.get("_geom")
    if g is not None:
        h.update(np.round(shapely.get_coordinates(g), 3).tobytes())
    return h.hexdigest()


def _qlr_rows(rec, bdcdyh, batch):
    holders = rec["_holders"]
    if not holders:
        return []
    if rec["CYLX"] == "share_only":
        total = sum(h["HTMJ"] or 0 for h in holders) or 1.0
        shares = [round((h["HTMJ"] or 0) / total, 6) for h in holders]
        shares[-1] = round(1.0 - sum(shares[:-1]), 6)
        return [(bdcdyh, rec["DKBM"], h["CBFBM"], h["QLRMC"], h["ZJZL"], h["ZJH"], h["QLRLX"], "按份共有", s, h["HTMJ"], batch)
                for h, s in zip(holders, shares)]
    h = holders[0]
    return [(bdcdyh, rec["DKBM"], h["CBFBM"], h["QLRMC"], h["ZJZL"], h["ZJH"], h["QLRLX"], "单独所有", 1.0, h["HTMJ"], batch)]


# ------------------------------------------------------------------ merge
def merge(path, target, ledger=None, tol=0.01, on_conflict="keep", target_epsg=None, zoning=None, copy_archive=False,
          progress=NULL_PROGRESS):
    if on_conflict not in ("keep", "replace"):
        raise LcbError("ON_CONFLICT 只能是 keep 或 replace", "ON_CONFLICT must be keep or replace", field="ON_CONFLICT")
    target = Path(target)
    if target.suffix.lower() != ".gpkg":
        raise LcbError("目标文件必须是 .gpkg", "the target must be a .gpkg file", path=str(target))
    zmap = load_zoning(zoning)
    ws = open_workspace(path, ledger=ledger, progress=progress.sub(0, 25))
    try:
        d = ws.d
        if ws.dk is None:
            raise LcbError("成果包中没有地块图层（DK），无法入库", "the delivery has no DK layer", path=str(d.root))
        src_epsg = ws.dk.epsg
        files = [(e.rel, inventory.sha256(e.path)) for e in d.files]
        fp = hashlib.sha256("".join(f"{r}\x1f{h}\x1e" for r, h in sorted(files)).encode()).hexdigest()
        progress.set(35)
        progress.check()
        parcels = classify.classify(ws, tol)
        params = json.dumps(dict(tol=tol, ledger=str(ledger or ws.ledger_path or ""), zoning=str(zoning or "")), ensure_ascii=False)
        exists = target.exists()
        if exists:
            tgt_epsg = _target_epsg(target)
        else:
            tgt_epsg = int(target_epsg) if target_epsg else src_epsg
        transform = _transform(src_epsg, tgt_epsg, ws.dk.wkt)
        recs = build_records(ws, parcels, transform)
        progress.set(50)
        progress.check()
        result = dict(PARCELS=len(recs), INSERTED=0, UPDATED=0, UNCHANGED=0, CONFLICTS=0, classes=classify.counts(parcels),
                      target=str(target), fingerprint=fp, epsg=tgt_epsg)
        if exists:
            _apply(target, d, recs, ws, fp, params, on_conflict, zmap, result, copy_archive, progress)
        else:
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.gpkg")
            for stale in target.parent.glob(f".{target.name}.*.tmp.gpkg"):
                stale.unlink(missing_ok=True)
            try:
                _create_target(tmp, tgt_epsg, ws.dk.wkt)
                _apply(tmp, d, recs, ws, fp, params, on_conflict, zmap, result, copy_archive, progress, new=True)
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
    if src == dst or dst is None:
        return None
    off = crsmod.transform_offset(src, dst) if src else None
    if off is not None:
        dx, dy = off
        return lambda g: shapely.transform(g, lambda xy: xy + np.array([dx, dy]))
    from pyproj import CRS, Transformer
    tr = Transformer.from_crs(CRS.from_wkt(src_wkt) if src is None else CRS.from_epsg(src), CRS.from_epsg(dst), always_xy=True)
    return lambda g: shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _apply(path, d, recs, ws, fp, params, on_conflict, zmap, result, copy_archive, progress, new=False):
    c = gpkg.connect(path)
    try:
        srs_id = c.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'cbdk'").fetchone()[0]
        c.execute("BEGIN IMMEDIATE")
        existing = {r[0]: r[1:] for r in c.execute("SELECT DKBM, fid, YJHASH, BDCDYH, PCID FROM cbdk")}
        alloc = {r[0]: r[1] for r in c.execute("SELECT DKBM, BDCDYH FROM bdcdyh_alloc")}
        serial = {}
        for code, in c.execute("SELECT BDCDYH FROM bdcdyh_alloc"):
            serial[code[:12]] = max(serial.get(code[:12], 0), int(code[14:19]))
        new_recs, changed = [], []
        for rec in recs:
            old = existing.get(rec["DKBM"])
            if old is None:
                new_recs.append(rec)
            elif old[1] == rec["YJHASH"]:
                result["UNCHANGED"] += 1
            else:
                changed.append((rec, old))
        if not new_recs and not changed:
            c.execute("ROLLBACK")  # nothing to do: the target is not touched at all
            return
        now, user = _now(), _user()
        batch = c.execute("INSERT INTO batches (package, county, county_name, fingerprint, params, merged_at, user, epsg) VALUES (?,?,?,?,?,?,?,?)",
                          (str(d.root), d.county, d.county_name, fp, params, now, user, result["epsg"])).lastrowid
        # Allocate 不动产单元号 for new parcels, in DKBM order within each zone; never reuse a number.
        cols = [f[0] for f in CBDK_FIELDS]
        ins = f'INSERT INTO cbdk (geom, {", ".join(cols)}) VALUES (?, {", ".join("?" * len(cols))})'
        rows, qlr, allocs = [], [], []
        blobs = gpkg.blobs([r["_geom"] for r in new_recs], srs_id)
        for rec, blob in zip(new_recs, blobs):
            code = alloc.get(rec["DKBM"])
            if code is None:
                zp = zone_prefix(rec["DKBM"], rec["FBFBM"], d.county, zmap)
                n = serial.get(zp, 0) + 1
                if n > 99999:
                    raise LcbError(f"地籍子区 {zp} 的宗地顺序号已用尽", "the parcel serial of a cadastral sub-zone is exhausted", record=zp)
                serial[zp] = n
                code = f"{zp}JD{n:05d}W00000000"
                allocs.append((rec["DKBM"], code, batch, now))
            rec["BDCDYH"] = code
            rec.update(PCID=batch, RKSJ=now, XSZT="待协商" if rec["CYLX"] == "contract_register_mismatch" else None)
            rows.append([blob] + [rec.get(f) for f in cols])
            qlr.extend(_qlr_rows(rec, code, batch))
        c.executemany(ins, rows)
        c.executemany("INSERT INTO bdcdyh_alloc (DKBM, BDCDYH, PCID, at) VALUES (?,?,?,?)", allocs)
        result["INSERTED"] = len(new_recs)
        progress.set(75)
        progress.check()
        # Conflicts: a DKBM already in the target with different content. Never silent.
        conflicts, audits = [], []
        for rec, old in changed:
            fid, _h, code, _b = old
            cur = dict(zip(cols, c.execute(f'SELECT {", ".join(cols)} FROM cbdk WHERE fid = ?', (fid,)).fetchone()))
            diff = [f for f in HASHED if cur.get(f) != rec.get(f)] or ["geometry"]
            resolution = "replaced" if on_conflict == "replace" else "kept"
            conflicts.append((batch, rec["DKBM"], ",".join(diff), json.dumps({f: cur.get(f) for f in diff if f != "geometry"}, ensure_ascii=False),
                              json.dumps({f: rec.get(f) for f in diff if f != "geometry"}, ensure_ascii=False), resolution, now))
            if on_conflict == "replace":
                rec["BDCDYH"] = code
                upd = [f for f in HASHED] + ["YJHASH"]
                blob = gpkg.blobs([rec["_geom"]], srs_id)[0]
                c.execute(f'UPDATE cbdk SET geom = ?, {", ".join(f"{f} = ?" for f in upd)}, PCID = ?, RKSJ = ? WHERE fid = ?',
                          [blob] + [rec.get(f) for f in upd] + [batch, now, fid])
                c.execute("DELETE FROM qlr WHERE DKBM = ?", (rec["DKBM"],))
                c.executemany(f"INSERT INTO qlr ({', '.join(f[0] for f in QLR_FIELDS)}) VALUES ({', '.join('?' * len(QLR_FIELDS))})",
                              _qlr_rows(rec, code, batch))
                audits.append((now, user, "replace", rec["DKBM"], batch, ",".join(diff)))
                result["UPDATED"] += 1
        result["CONFLICTS"] = len(changed)
        c.executemany(f"INSERT INTO qlr ({', '.join(f[0] for f in QLR_FIELDS)}) VALUES ({', '.join('?' * len(QLR_FIELDS))})", qlr)
        c.executemany("INSERT INTO conflicts (PCID, DKBM, fields, existing, incoming, resolution, at) VALUES (?,?,?,?,?,?,?)", conflicts)
        _copy_tables(c, ws, batch)
        if copy_archive:
            _archive(c, d, Path(path), batch)
        audits.append((now, user, "merge", None, batch, json.dumps({k: v for k, v in result.items() if k.isupper()}, ensure_ascii=False)))
        c.executemany("INSERT INTO audit (at, user, action, DKBM, PCID, detail) VALUES (?,?,?,?,?,?)", audits)
        c.execute("UPDATE batches SET parcels=?, inserted=?, updated=?, unchanged=?, conflicts=?, classes=? WHERE fid=?",
                  (result["PARCELS"], result["INSERTED"], result["UPDATED"], result["UNCHANGED"], result["CONFLICTS"],
                   json.dumps(result["classes"]), batch))
        _update_extent(c)
        progress.check()
        _test_pause("before_commit", path)
        c.execute("COMMIT")
        result["batch"] = batch
    except BaseException:
        if c.in_transaction:
            c.execute("ROLLBACK")
        raise
    finally:
        c.close()


def _test_pause(point, path):
    """Test hook: with LCB_TEST_PAUSE=<point>, write <target>.<point> and wait, so a test can kill the process
    at a known place inside the transaction. Inert otherwise."""
    if os.environ.get("LCB_TEST_PAUSE") == point:
        import time
        Path(f"{path}.{point}").write_text(str(os.getpid()))
        time.sleep(600)


def _copy_tables(c, ws, batch):
    st = ws.stage
    for table, spec in list(schema.TABLES.items()) + [("TZ", None)]:
        if table == "TZ":
            if not st.has_ledger:
                continue
            cols, src = ["DKBM", "CBFBM", "CBJYQZBM", "DBMJ"], "LEDGER"
        else:
            cols, src = [f[0] for f in spec], table
        data = st.q(f'SELECT {", ".join(chr(34) + x + chr(34) for x in cols)} FROM "{src}" ORDER BY _row')
        out = []
        for r in data:
            h = hashlib.sha256(repr(tuple(r)).encode("utf-8")).hexdigest()
            out.append(tuple(r) + (batch, h))
        name = QS_PREFIX + table.lower()
        c.executemany(f'INSERT OR IGNORE INTO "{name}" ({", ".join(chr(34) + x + chr(34) for x in cols)}, PCID, ROWHASH) '
                      f'VALUES ({", ".join("?" * (len(cols) + 2))})', out)


def _archive(c, d, gpkg_path, batch):
    """Copy sketches and attachments beside the GeoPackage (<name>_档案/<county>/...), with SHA-256."""
    base = gpkg_path.parent / f"{gpkg_path.stem.lstrip('.').split('.gpkg')[0]}_档案" / (d.county + d.county_name)
    rows = []
    for p in list(d.sketches) + list(d.attachments):
        rel = d.rel(p)
        dst = base / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            shutil.copy2(p, dst)
        rows.append((batch, rel, str(dst.relative_to(gpkg_path.parent)), inventory.sha256(dst), dst.stat().st_size))
    c.executemany("INSERT INTO archive (PCID, rel, stored, sha256, size) VALUES (?,?,?,?,?)", rows)


def _update_extent(c):
    row = c.execute("SELECT MIN(minx), MIN(miny), MAX(maxx), MAX(maxy) FROM rtree_cbdk_geom").fetchone()
    if row and row[0] is not None:
        c.execute("UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name='cbdk'", row)
