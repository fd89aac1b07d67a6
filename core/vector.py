"""Read delivery shapefiles in bulk: columns as numpy arrays, geometries as a shapely 2 array."""
import codecs
import re
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


# ------------------------------------------------------------------ attributes straight from the .dbf
# A .dbf is a table of fixed-width records: numpy reads its columns in bulk, far faster than GDAL building one
# feature at a time (≈ 70 ms per text field per 100,000 records). The values are exactly what GDAL's shapefile
# driver gives — text cut at the first NUL, blanks trimmed at both ends (shapelib's TRIM_DBF_WHITESPACE), recoded to
# UTF-8; numbers NULL when blank or starting with '*' — and whatever this reader cannot reproduce exactly (a deleted
# record, a date or logical field, a number GDAL would parse only partly, text not valid in its encoding, a record
# count differing from the geometries) sends the whole file back to GDAL (``_dbf_columns`` returns None).
_REAL = rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_INT = rb"[+-]?[0-9]+"
_DBF_CHUNK_BYTES = 4 << 20  # small blocks: numpy's temporaries are reused, not faulted in again


def _dbf_layout(f):
    """(records, header length, record length, [(type, offset, width)] per field) of an open .dbf whose header
    dbf_check found sound, or None when its field descriptors do not fit its records."""
    nrec, hlen, rlen = struct.unpack("<IHH", f.read(32)[4:12])
    desc = f.read(hlen - 32)
    out, off = [], 1  # byte 0 of a record: the deletion flag
    for k in range(0, len(desc) - 31, 32):
        if desc[k] == 0x0D:
            break
        typ, width = chr(desc[k + 11]), desc[k + 16]
        out.append((typ, off, width))
        off += width
    if off > rlen:
        return None
    return nrec, hlen, rlen, out


def _trimmed(cells):
    """A field's cells (uint8 matrix: records × width) as GDAL reads them before recoding: cut at the first NUL,
    blanks trimmed at both ends — an S array (numpy drops the trailing NULs left where the value was)."""
    n, w = cells.shape
    if not w:
        return np.zeros(n, "S1")
    cells = np.array(cells, order="C")  # a copy: the block is not changed
    nul = cells == 0
    if nul.any():  # a NUL ends the value (C strings): blank it and everything after it
        cut = np.where(nul.any(axis=1), nul.argmax(axis=1), w)
        cells[np.arange(w)[None, :] >= cut[:, None]] = 0x20
    full = cells != 0x20
    first = full.argmax(axis=1)
    last = w - full[:, ::-1].argmax(axis=1)
    last[~full.any(axis=1)] = 0
    if first.any():  # leading blanks: shift each value to the start of its cell
        cells = np.take_along_axis(cells, np.minimum(first[:, None] + np.arange(w)[None, :], w - 1), axis=1)
        last = np.maximum(last - first, 0)
    cells[np.arange(w)[None, :] >= last[:, None]] = 0
    return cells.view(f"S{w}").ravel()


def _dbf_text(cells, codec):
    """Values of one text field as GDAL gives them (UTF-8 bytes, S array), or None when a value is not valid in
    `codec`."""
    vals = _trimmed(cells)
    if codec == "utf-8" or not cells.any() or int(cells.max()) < 0x80:
        if codec == "utf-8":
            try:
                b"\x00".join(vals.tolist()).decode("utf-8")
            except UnicodeDecodeError:
                return None
        return vals
    try:
        text = b"\x00".join(vals.tolist()).decode(codec)
    except UnicodeDecodeError:
        return None
    return np.array(text.encode("utf-8").split(b"\x00"), dtype=bytes)


def _dbf_number(cells, integer):
    """(float array, null mask) of one numeric field, or None when a value is one GDAL would parse only partly."""
    parts = _trimmed(cells).tolist()
    joined = b"\x00".join(parts)
    num = _INT if integer else _REAL
    if not re.fullmatch(rb"(?:(?:%s)|\*[^\x00]*)?(?:\x00(?:(?:%s)|\*[^\x00]*)?)*" % (num, num), joined):
        return None
    null = np.array([not v or v[:1] == b"*" for v in parts], bool)
    out = np.full(len(parts), np.nan)
    keep = ~null
    if keep.any():
        out[keep] = np.array([v for v, k in zip(parts, keep) if k]).astype(float)
    return out, null


def _dbf_columns(dbf, encoding, layer_index, defs, ogr_types, count):
    """{name: (values, nulls)} of the selected fields of a .dbf read with numpy (text as UTF-8 bytes, numbers as
    floats), or None when GDAL must read it (see above). `count`: the number of features GDAL found."""
    try:
        codec = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        return None
    if dbf_check(dbf) is not None:  # GDAL reads what it can of a damaged file; integrity reports it
        return None
    try:
        with open(dbf, "rb") as f:
            layout = _dbf_layout(f)
            if layout is None:
                return None
            nrec, hlen, rlen, specs = layout
            if nrec != count or any(i >= len(specs) for i in layer_index):
                return None
            chosen = []
            for i, (name, *_r), otype in zip(layer_index, defs, ogr_types):
                typ, off, width = specs[i]
                if typ == "C" and otype == ogr.OFTString:
                    chosen.append((name, "C", off, width, False))
                elif typ in "NF" and otype in (ogr.OFTInteger, ogr.OFTInteger64, ogr.OFTReal):
                    chosen.append((name, "N", off, width, otype != ogr.OFTReal))
                else:
                    return None
            parts = {c[0]: [] for c in chosen}
            per = max(1, _DBF_CHUNK_BYTES // rlen)
            f.seek(hlen)
            for s in range(0, nrec, per):
                k = min(per, nrec - s)
                block = np.fromfile(f, dtype=np.uint8, count=k * rlen)
                if len(block) != k * rlen:
                    return None
                block = block.reshape(k, rlen)
                if (block[:, 0] == 0x2A).any():  # a deleted record: GDAL skips it
                    return None
                for name, kind, off, width, integer in chosen:
                    cells = block[:, off:off + width]
                    got = _dbf_text(cells, codec) if kind == "C" else _dbf_number(cells, integer)
                    if got is None:
                        return None
                    parts[name].append(got)
    except (OSError, ValueError):
        return None
    out = {}
    for name, kind, _off, _w, _i in chosen:
        if kind == "C":
            got = parts[name]
            arr = (np.concatenate(got) if len(got) > 1 else got[0]) if got else np.array([], dtype="S1")
            out[name] = (arr, arr == b"")
        else:
            got = parts[name]
            out[name] = (np.concatenate([g[0] for g in got]) if got else np.array([], float),
                         np.concatenate([g[1] for g in got]) if got else np.array([], bool))
    return out


def _read_one(shp, encoding, rel, fields=None, with_geometry=True, fast=True):
    """Read one shapefile. Returns (columns dict, nulls dict, defs, geoms list, wkt, flags, problems).
    fields: the columns to read (None: all); the others are not even parsed by GDAL.
    fast: the attributes read from the .dbf with numpy when it can be done exactly (_dbf_columns); False: all by GDAL."""
    problems = []
    opts = [f"ENCODING={encoding}"] if encoding else []
    try:
        ds = gdal.OpenEx(str(shp), gdal.OF_VECTOR | gdal.OF_READONLY, open_options=opts)
    except RuntimeError as e:
        problems.append(("package.unreadable", rel, "", f"无法读取矢量文件：{e}", ""))
        return None, problems
    lyr = ds.GetLayer(0)
    defn = lyr.GetLayerDefn()
    defs, ignored, layer_index, ogr_types = [], [], [], []  # layer_index: each selected field's position in the full layer
    for i in range(defn.GetFieldCount()):
        fd = defn.GetFieldDefn(i)
        if fields is not None and fd.GetName().upper() not in fields:
            ignored.append(fd.GetName())
            continue
        defs.append((fd.GetName().upper(), _OGR_TYPES.get(fd.GetType(), "T"), fd.GetWidth(), fd.GetPrecision()))
        layer_index.append(i)
        ogr_types.append(fd.GetType())
    if not with_geometry:
        ignored.append("OGR_GEOMETRY")
    dbf = Path(shp).with_suffix(".dbf")
    fast = fast and bool(defs) and dbf.exists()
    if fast:  # GDAL reads only the geometries; the attributes come from the .dbf (_dbf_columns)
        lyr.SetIgnoredFields(ignored + [defn.GetFieldDefn(i).GetName() for i in layer_index])
    elif ignored:
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
    if fast:
        try:
            wkbs = [_wkb_column(b.get("wkb_geometry"), len(b.get("OGC_FID", [])))
                    for b in lyr.GetArrowStreamAsNumPy(options=["USE_MASKED_ARRAYS=YES"])]
            got = _dbf_columns(dbf, encoding, layer_index, defs, ogr_types, sum(len(w) for w in wkbs))
        except (RuntimeError, ValueError):
            got = None
        if got is None:  # GDAL reads everything (below)
            wkbs, fast = [], False
            lyr.SetIgnoredFields(ignored)
            lyr.ResetReading()
        else:
            for name, (values, mask) in got.items():
                cols[name], nulls[name] = [values], [mask]
    try:
        stream = () if fast else lyr.GetArrowStreamAsNumPy(options=["USE_MASKED_ARRAYS=YES"])
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
    return (out, outn, defs, wkb, wkt, has_z, has_m, fast), problems


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
    garbled_check = False  # True once a file was read by GDAL (its recoding may leave invalid UTF-8)
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
        cols, nulls, defs, wkb, wkt, has_z, has_m, decoded = res
        garbled_check = garbled_check or not decoded
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
    for name, typ, *_ in (vd.field_defs if garbled_check else ()):  # the .dbf reader decoded them strictly
        a = vd.raw[name]
        if typ == "T" and len(a):
            try:
                b"\x00".join(a.tolist()).decode("utf-8")
            except UnicodeDecodeError:
                vd.garbled += int(sum(1 for v in vd.fields[name] if "\ufffd" in v))
    return vd
