"""The .dbf columns read with numpy (vector._dbf_columns) give exactly what GDAL's shapefile driver gives, and
whatever they cannot reproduce exactly goes back to GDAL."""
import struct

import numpy as np
import pytest
from osgeo import ogr, osr

from land_contract_bridge.core import delivery, encoding, vector


def _same(a, b):
    """Two _read_one results hold the same fields, values, NULL masks and geometries."""
    assert a[2] == b[2]
    assert len(a[3]) == len(b[3]) and all(x == y for x, y in zip(a[3], b[3]))
    assert a[0].keys() == b[0].keys()
    for name in a[0]:
        x, y = a[0][name], b[0][name]
        assert x.dtype.kind == y.dtype.kind, name
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert x.tolist() == y.tolist(), name
        assert np.array_equal(a[1][name], b[1][name]), name


def _dbf_used(shp, enc, fields=None):
    """Whether the numpy reader takes this file (not sent back to GDAL)."""
    ds = ogr.Open(str(shp))
    lyr = ds.GetLayer(0)
    defn = lyr.GetLayerDefn()
    idx = [i for i in range(defn.GetFieldCount()) if fields is None or defn.GetFieldDefn(i).GetName().upper() in fields]
    defs = [(defn.GetFieldDefn(i).GetName().upper(),) for i in idx]
    types = [defn.GetFieldDefn(i).GetType() for i in idx]
    return vector._dbf_columns(shp.with_suffix(".dbf"), enc, idx, defs, types, lyr.GetFeatureCount()) is not None


def test_every_layer_of_the_sample_reads_the_same_both_ways(demo):
    d = delivery.scan(demo)
    for shps in d.vectors.values():
        for shp in shps:
            enc = encoding.shapefile_encoding(shp)[0]
            for fields in (None, {"DKBM", "SCMJ", "DKMC", "ZJRXM"}):
                _same(vector._read_one(shp, enc, "x", fields, True, fast=True)[0],
                      vector._read_one(shp, enc, "x", fields, True, fast=False)[0])
    dk = d.vectors["DK"][0]
    assert _dbf_used(dk, encoding.shapefile_encoding(dk)[0])  # the fast path is the one taken on a real delivery


def _write_dbf(path, fields, rows, enc="gb18030", deleted=()):
    """A dBASE III file written byte by byte: `fields` (name, type, width, decimals), `rows` of str or raw bytes."""
    hlen = 32 + 32 * len(fields) + 1
    rlen = 1 + sum(f[2] for f in fields)
    out = bytearray(struct.pack("<BBBBIHH20x", 3, 124, 1, 1, len(rows), hlen, rlen))
    out[29] = 0x4D
    for name, typ, width, dec in fields:
        out += struct.pack("<11sc4xBB14x", name.encode(), typ.encode(), width, dec)
    out += b"\r"
    for i, row in enumerate(rows):
        out += b"*" if i in deleted else b" "
        for (_n, _t, width, _d), v in zip(fields, row):
            b = v if isinstance(v, bytes) else v.encode(enc)
            out += b[:width].ljust(width, b" ")
    out += b"\x1a"
    path.write_bytes(bytes(out))


def _shapefile(tmp_path, fields, rows, **kw):
    """A point shapefile with one feature per row, its .dbf then replaced by a hand-written one."""
    shp = tmp_path / "T.shp"
    ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(shp))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4527)
    lyr = ds.CreateLayer("T", srs, ogr.wkbPoint)
    lyr.CreateField(ogr.FieldDefn("X", ogr.OFTString))
    for i in range(len(rows)):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({39500000 + i} 4000000)"))
        lyr.CreateFeature(f)
    ds = None
    _write_dbf(shp.with_suffix(".dbf"), fields, rows, **kw)
    return shp


FIELDS = [("A", "C", 12, 0), ("N", "N", 10, 2), ("I", "N", 6, 0), ("B", "N", 12, 0)]
GOOD = [["  lead", "  1.5", "12", "1234567890"], ["trail  ", "", "   ", ""], ["中 文 ", "****", "+7", "-5"],
        [b"ab\x00cd", " -2e3", "-3", "3"], ["   ", ".5", " 0 ", "*"], [b"\x00\x00  x", "1.", "42", "7"], ["", "0", "", "12"]]


def test_blanks_nuls_nulls_and_numbers_as_gdal_reads_them(tmp_path):
    shp = _shapefile(tmp_path, FIELDS, GOOD)
    assert _dbf_used(shp, "GB18030")
    fast = vector._read_one(shp, "GB18030", "x", None, True, fast=True)[0]
    _same(fast, vector._read_one(shp, "GB18030", "x", None, True, fast=False)[0])
    cols, nulls = fast[0], fast[1]
    assert [v.decode() for v in cols["A"]] == ["lead", "trail", "中 文", "ab", "", "", ""]
    assert nulls["A"].tolist() == [False, False, False, False, True, True, True]
    assert np.array_equal(cols["N"], [1.5, np.nan, np.nan, -2000.0, 0.5, 1.0, 0.0], equal_nan=True)
    assert np.array_equal(cols["I"], [12, np.nan, 7, -3, 0, 42, np.nan], equal_nan=True)


@pytest.mark.parametrize("case", ["deleted", "partial real", "partial integer", "hex", "bad gbk", "date field", "short count"])
def test_what_numpy_cannot_reproduce_goes_back_to_gdal(tmp_path, case):
    fields, rows, kw = list(FIELDS), [list(r) for r in GOOD], {}
    if case == "deleted":
        kw["deleted"] = (2,)  # GDAL skips a deleted record
    elif case == "partial real":
        rows[0][1] = "1.5abc"  # GDAL: 1.5
    elif case == "partial integer":
        rows[0][2] = "12.7"  # GDAL: 12
    elif case == "hex":
        rows[0][3] = "0x1A"  # GDAL: 0
    elif case == "bad gbk":
        rows[0][0] = b"\x81\x20ok"  # not GB18030
    elif case == "date field":
        fields.append(("D", "D", 8, 0))
        rows = [r + ["20180101"] for r in rows]
    shp = _shapefile(tmp_path, fields, rows, **kw)
    if case == "short count":  # the .dbf declares fewer records than the .shp has shapes
        _write_dbf(shp.with_suffix(".dbf"), fields, rows[:-1])
    assert not _dbf_used(shp, "GB18030")
    _same(vector._read_one(shp, "GB18030", "x", None, True, fast=True)[0],
          vector._read_one(shp, "GB18030", "x", None, True, fast=False)[0])


def test_utf8_and_a_wide_delivery_layer(tmp_path):
    rows = [["地块" * (i % 4) + " " * (i % 3), f"{i * 0.25:.2f}", str(i), str(-i)] for i in range(20000)]
    shp = _shapefile(tmp_path, FIELDS[:1] + [("N", "N", 10, 2), ("I", "N", 6, 0), ("B", "N", 12, 0)], rows, enc="utf-8")
    vector._DBF_CHUNK_BYTES, saved = 4096, vector._DBF_CHUNK_BYTES  # many blocks
    try:
        assert _dbf_used(shp, "UTF-8")
        fast = vector._read_one(shp, "UTF-8", "x", None, True, fast=True)[0]
    finally:
        vector._DBF_CHUNK_BYTES = saved
    _same(fast, vector._read_one(shp, "UTF-8", "x", None, True, fast=False)[0])
    assert fast[0]["A"][5].decode() == "地块"
