"""Read delivery shapefiles in bulk: columns as numpy arrays, geometries as a shapely 2 array."""
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from osgeo import gdal, ogr

from . import crs as crsmod
from . import encoding as enc

gdal.UseExceptions()
ogr.UseExceptions()

_OGR_TYPES = {ogr.OFTString: "T", ogr.OFTInteger: "I", ogr.OFTInteger64: "I", ogr.OFTReal: "N",
              ogr.OFTDate: "D", ogr.OFTDateTime: "D"}


@dataclass
class VectorData:
    layer: str
    paths: list
    encoding: str = "UTF-8"
    encoding_source: str = "cpg"
    raw: dict = field(default_factory=dict)  # name -> numpy array: UTF-8 bytes (|S) for text, float for numbers
    nulls: dict = field(default_factory=dict)  # name -> bool array, True where the value is NULL/blank
    field_defs: list = field(default_factory=list)  # (name, type T/I/N/D, width, precision)
    geoms: object = None  # numpy object array of shapely geometries (None = no geometry)
    source_index: object = None  # int array: which path each row came from
    fid: object = None
    wkt: str = ""
    epsg: int = None
    has_z: bool = False
    has_m: bool = False
    problems: list = field(default_factory=list)  # (rule, key, field, message, value)
    garbled: int = 0

    def __post_init__(self):
        self.fields = LazyFields(self)

    @property
    def n(self):
        return 0 if self.geoms is None else len(self.geoms)

    def text(self, name):
        return self.fields.get(name, np.full(self.n, "", dtype=object))

    def number(self, name):
        v = self.raw.get(name)
        if v is None or v.dtype.kind not in "fiu":
            return np.full(self.n, np.nan)
        return np.asarray(v, dtype=float)


class LazyFields:
    """Mapping name -> decoded column (object array of str for text). Text is kept as compact UTF-8 bytes and
    decoded only when a rule or the merge asks for that column, so a county's DK layer stays small in memory."""

    def __init__(self, vd):
        self.vd = vd
        self.cache = {}

    def __contains__(self, name):
        return name in self.vd.raw

    def __getitem__(self, name):
        if name not in self.cache:
            a = self.vd.raw[name]
            self.cache[name] = _decode(a) if a.dtype.kind == "S" else a
        return self.cache[name]

    def get(self, name, default=None):
        return self[name] if name in self else default

    def keys(self):
        return self.vd.raw.keys()


def _decode(arr):
    if arr.dtype.kind == "S":
        if not len(arr):
            return np.zeros(0, dtype=object)
        return np.char.decode(arr, "utf-8", errors="replace").astype(object)
    if arr.dtype == object:
        return np.array([(x.decode("utf-8", "replace") if isinstance(x, (bytes, bytearray)) else ("" if x is None else str(x)))
                         for x in arr], dtype=object)
    return arr


def _wkb_column(col, n):
    """WKB of one Arrow batch as an object array of bytes (None = no geometry). GDAL hands back a fixed-width
    void array when every WKB of the batch has the same length (e.g. all parcels are 4-vertex rectangles)."""
    if col is None:
        return np.full(n, None, dtype=object)
    mask = np.ma.getmaskarray(col) if np.ma.isMaskedArray(col) else None
    data = np.ma.getdata(col)
    if data.dtype.kind == "V":
        out = np.empty(len(data), dtype=object)
        out[:] = [bytes(x) for x in data]
    else:
        out = data.astype(object, copy=False)
    if mask is not None and mask.any():
        out[mask] = None
    return out


def _read_one(shp, encoding, rel, fields=None, with_geometry=True):
    """Read one shapefile. Returns (columns dict, nulls dict, defs, geoms list, wkt, flags, problems).
    fields: the columns to read (None: all); the others are not even parsed by GDAL."""
    problems = []
    opts = [f"ENCODING={encoding}"] if encoding else []
    try:
        ds = gdal.OpenEx(str(shp), gdal.OF_VECTOR | gdal.OF_READONLY, open_options=opts)
    except RuntimeError as e:
        problems.append(("package.unreadable", rel, "", f"无法读取矢量文件：{e}", ""))
        return None, problems
    lyr = ds.GetLayer(0)
    defn = lyr.GetLayerDefn()
    defs, ignored, layer_index = [], [], []  # layer_index: each selected field's position in the full layer
    for i in range(defn.GetFieldCount()):
        fd = defn.GetFieldDefn(i)
        if fields is not None and fd.GetName().upper() not in fields:
            ignored.append(fd.GetName())
            continue
        defs.append((fd.GetName().upper(), _OGR_TYPES.get(fd.GetType(), "T"), fd.GetWidth(), fd.GetPrecision()))
        layer_index.append(i)
    if not with_geometry:
        ignored.append("OGR_GEOMETRY")
    if ignored:
        lyr.SetIgnoredFields(ignored)
    gtype = lyr.GetGeomType()
    has_z = bool(ogr.GT_HasZ(gtype))
    has_m = bool(ogr.GT_HasM(gtype))
    srs = lyr.GetSpatialRef()
    wkt = ""
    prj = Path(shp).with_suffix(".prj")
    if prj.exists():
        try:
            wkt = prj.read_text("utf-8", "replace")
        except OSError:
            wkt = ""
    elif srs is not None:
        wkt = srs.ExportToWkt()
    cols = {name: [] for name, *_ in defs}
    nulls = {name: [] for name, *_ in defs}
    wkbs = []
    try:
        stream = lyr.GetArrowStreamAsNumPy(options=["USE_MASKED_ARRAYS=YES"])
        for batch in stream:
            for name, *_ in defs:
                raw = batch.get(name) if name in batch else batch.get(next((k for k in batch if k.upper() == name), name))
                if raw is None:
                    continue
                mask = np.ma.getmaskarray(raw) if np.ma.isMaskedArray(raw) else np.zeros(len(raw), bool)
                cols[name].append(np.ma.getdata(raw))
                nulls[name].append(mask)
            wkbs.append(_wkb_column(batch.get("wkb_geometry"), len(batch.get("OGC_FID", []))))
    except (RuntimeError, ValueError) as e:
        problems.append(("package.unreadable", rel, "", f"矢量文件已损坏或被截断，读取中断：{e}", ""))
        # Fall back to feature-by-feature reading of what is readable.
        cols = {name: [] for name, *_ in defs}
        nulls = {name: [] for name, *_ in defs}
        wkbs = []
        vals = {name: [] for name, *_ in defs}
        nl = {name: [] for name, *_ in defs}
        geo = []
        lyr.ResetReading()
        while True:
            try:
                f = lyr.GetNextFeature()
            except RuntimeError:
                break
            if f is None:
                break
            for i, (name, *_r) in zip(layer_index, defs):  # ignored fields keep their slots in the feature
                isnull = not f.IsFieldSetAndNotNull(i)
                nl[name].append(isnull)
                vals[name].append(None if isnull else f.GetField(i))
            g = f.GetGeometryRef()
            geo.append(bytes(g.ExportToIsoWkb()) if g is not None and not g.IsEmpty() else None)
        for name, typ, *_r in defs:
            if typ == "T":
                cols[name] = [np.array([("" if v is None else str(v)).encode("utf-8") for v in vals[name]], dtype=bytes)]
            else:
                cols[name] = [np.array([np.nan if v is None else float(v) for v in vals[name]], dtype=float)]
            nulls[name] = [np.array(nl[name], bool)]
        wkbs = [np.array(geo, dtype=object)]
    out = {}
    outn = {}
    for name, typ, *_ in defs:
        parts = cols[name]
        if parts:
            arr = np.concatenate(parts)
        else:
            arr = np.array([], dtype=bytes if typ == "T" else float)
        m = np.concatenate(nulls[name]) if nulls[name] else np.zeros(len(arr), bool)
        if typ == "T":
            if arr.dtype.kind != "S":
                arr = arr.astype(bytes)
            arr[m] = b""
            m = m | (arr == b"")
        else:
            arr = arr.astype(float)
            arr[m] = np.nan
        out[name] = arr
        outn[name] = m
    wkb = np.concatenate(wkbs) if wkbs else np.array([], dtype=object)
    return (out, outn, defs, wkb, wkt, has_z, has_m), problems


_DBF_VERSIONS = (0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xF5, 0xFB)
SHAPE_TYPES = {0: ("空", "null"), 1: ("点", "point"), 3: ("线", "polyline"), 5: ("面", "polygon"), 8: ("多点", "multipoint"),
               11: ("点", "point"), 13: ("线", "polyline"), 15: ("面", "polygon"), 18: ("多点", "multipoint"),
               21: ("点", "point"), 23: ("线", "polyline"), 25: ("面", "polygon"), 28: ("多点", "multipoint"),
               31: ("多面体", "multipatch")}
POLYGON_TYPES = (5, 15, 25)


def shp_header(shp):
    """(shape type, bounding box (xmin, ymin, xmax, ymax), declared file length) from a .shp/.shx header, or None."""
    try:
        with open(shp, "rb") as f:
            head = f.read(100)
    except OSError:
        return None
    if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
        return None
    return struct.unpack("<i", head[32:36])[0], struct.unpack("<4d", head[36:68]), struct.unpack(">i", head[24:28])[0] * 2


def dbf_records(dbf):
    """The record count a .dbf header declares, or None when it has no valid header."""
    try:
        with open(dbf, "rb") as f:
            head = f.read(32)
    except OSError:
        return None
    if len(head) < 32 or head[0] not in _DBF_VERSIONS:
        return None
    return struct.unpack("<I", head[4:8])[0]


def dbf_check(dbf):
    """None when the .dbf header is consistent with its size, else the reason as (zh, en) (GDAL reads a broken
    .dbf silently as 'no attributes')."""
    try:
        size = Path(dbf).stat().st_size
        with open(dbf, "rb") as f:
            head = f.read(32)
    except OSError as e:
        return f"无法读取：{e.strerror}", f"cannot be read: {e.strerror}"
    if len(head) < 32 or head[0] not in _DBF_VERSIONS:
        return "不是有效的 dBASE 文件头", "not a valid dBASE header"
    nrec, hlen, rlen = struct.unpack("<IHH", head[4:12])
    if hlen < 33 or rlen < 1 or (hlen - 1) % 32 not in (0, 31):
        return "dBASE 文件头长度异常", "the dBASE header length is wrong"
    if hlen + nrec * rlen > size:
        have = max(0, (size - hlen) // rlen)
        return (f"记录被截断：声明 {nrec} 条记录，文件只够 {have} 条",
                f"truncated: the header declares {nrec} records, the file holds only {have}")
    return None


def dbf_problem(dbf):
    why = dbf_check(dbf)
    return why[0] if why else None


def shp_check(shp):
    """None when the .shp/.shx headers agree with the files' sizes and the .dbf's record count, else the reason as
    (zh, en). Cheap (headers only), so even a run that does not read geometries notices a truncated shapefile."""
    shp = Path(shp)
    try:
        size = shp.stat().st_size
    except OSError as e:
        return f"无法读取：{e.strerror}", f"cannot be read: {e.strerror}"
    head = shp_header(shp)
    if head is None:
        return "不是有效的 .shp 文件头", "not a valid .shp header"
    if head[2] != size:
        return (f"文件长度 {size} 字节与文件头声明的 {head[2]} 字节不符（文件被截断或损坏）",
                f"the file has {size} bytes but its header declares {head[2]} (truncated or damaged)")
    shx = shp.with_suffix(".shx")
    if shx.exists():
        shx_head, shx_size = shp_header(shx), shx.stat().st_size
        if shx_head is None or shx_head[2] != shx_size or (shx_size - 100) % 8:
            return (f"索引文件 {shx.name} 已损坏或被截断", f"its index {shx.name} is damaged or truncated")
        n_shx = (shx_size - 100) // 8
        n_dbf = dbf_records(shp.with_suffix(".dbf"))
        if n_dbf is not None and n_dbf != n_shx:
            return f".shx 有 {n_shx} 条记录，.dbf 有 {n_dbf} 条", f"the .shx holds {n_shx} records, the .dbf {n_dbf}"
    return None


def shp_problem(shp):
    why = shp_check(shp)
    return why[0] if why else None


def read_layer(delivery, prefix, with_geometry=True, fields=None):
    """Read every shapefile of a layer (split parts concatenated). Returns VectorData or None.
    fields: only these columns (upper case); None reads all."""
    fields = None if fields is None else {f.upper() for f in fields}
    shps = delivery.vectors.get(prefix) or []
    if not shps:
        return None
    vd = VectorData(layer=prefix, paths=list(shps))
    all_cols, all_nulls, geoms, src = {}, {}, [], []
    for idx, shp in enumerate(shps):
        rel = delivery.rel(shp)
        encoding, source = enc.shapefile_encoding(shp)
        if idx == 0:
            vd.encoding, vd.encoding_source = encoding, source
        if source != "cpg":
            vd.problems.append(("encoding.no_cpg", rel.replace(".shp", ".cpg"), "",
                                f"{Path(shp).name} 没有 .cpg 编码声明，已按字节内容识别为 {encoding} 读取", encoding))
        why_shp = shp_problem(shp)
        if why_shp:
            vd.problems.append(("package.unreadable", rel, "", f"{Path(shp).name} 已损坏：{why_shp}", ""))
        dbf = Path(shp).with_suffix(".dbf")
        why = dbf_problem(dbf) if dbf.exists() else None
        if why:
            vd.problems.append(("package.unreadable", delivery.rel(dbf), "", f"{dbf.name} 已损坏（{why}），属性无法读取", ""))
        res, probs = _read_one(shp, encoding, rel, fields, with_geometry)
        if why_shp:  # the header check already named this file; its interrupted read says the same again
            probs = [p for p in probs if not (p[0] == "package.unreadable" and p[1] == rel)]
        vd.problems.extend(probs)
        if res is None:
            continue
        cols, nulls, defs, wkb, wkt, has_z, has_m = res
        if not vd.field_defs:
            vd.field_defs, vd.wkt = defs, wkt
        vd.has_z |= has_z
        vd.has_m |= has_m
        n = len(wkb)
        for name, *_ in defs:
            all_cols.setdefault(name, []).append(cols[name])
            all_nulls.setdefault(name, []).append(nulls[name])
        geoms.append(wkb)
        src.append(np.full(n, idx))
    if not geoms:
        return vd if vd.problems else None
    n_total = sum(len(g) for g in geoms)
    for name, typ, *_ in vd.field_defs:
        parts = all_cols.get(name, [])
        if sum(len(p) for p in parts) != n_total:  # a split part lacks the field
            parts = [all_cols[name][i] if i < len(all_cols[name])
                     else np.full(len(geoms[i]), b"" if typ == "T" else np.nan, dtype=bytes if typ == "T" else float)
                     for i in range(len(geoms))]
        vd.raw[name] = np.concatenate(parts)
        vd.nulls[name] = np.concatenate(all_nulls.get(name, [np.zeros(n_total, bool)]))[:n_total]
    wkb = np.concatenate(geoms)
    if with_geometry:
        g = np.full(len(wkb), None, dtype=object)
        has = np.array([w is not None and len(w) > 0 for w in wkb], bool)
        if has.any():
            g[has] = shapely.from_wkb(np.array(list(wkb[has]), dtype=object), on_invalid="ignore")
        vd.geoms = g
    else:
        vd.geoms = np.full(len(wkb), None, dtype=object)
    vd.source_index = np.concatenate(src)
    vd.fid = np.arange(len(wkb))
    vd.epsg = crsmod.identify(vd.wkt)
    # Text that is not valid UTF-8 after GDAL's recoding means the encoding was wrong (checked on the bytes).
    for name, typ, *_ in vd.field_defs:
        a = vd.raw[name]
        if typ == "T" and len(a):
            try:
                b"\x00".join(a.tolist()).decode("utf-8")
            except UnicodeDecodeError:
                vd.garbled += int(sum(1 for v in vd.fields[name] if "\ufffd" in v))
    return vd
