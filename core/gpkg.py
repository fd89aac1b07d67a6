"""GeoPackage plumbing: create tables through OGR (so the layout and metadata are GDAL's own), then
write in bulk through sqlite3 inside one transaction, with the ST_* functions GDAL's R-tree triggers
call registered on our connection."""
import sqlite3
import struct

import numpy as np
import shapely
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()

_OGR = {"TEXT": ogr.OFTString, "REAL": ogr.OFTReal, "INTEGER": ogr.OFTInteger64, "DATE": ogr.OFTDate, "BLOB": ogr.OFTBinary}


def _envelope(blob):
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if (flags >> 4) & 1:
        return None
    if ((flags >> 1) & 7) == 0:
        g = shapely.from_wkb(bytes(blob[8:]))
        if g is None or g.is_empty:
            return None
        x0, y0, x1, y1 = g.bounds
        return x0, x1, y0, y1
    endian = "<" if flags & 1 else ">"
    return struct.unpack(endian + "4d", blob[8:40])


def _is_empty(blob):
    if blob is None:
        return 1
    return 1 if len(blob) >= 4 and (blob[3] >> 4) & 1 else 0


def register(c):
    """Register the ST_* functions that GDAL's GeoPackage R-tree triggers call."""
    c.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        c.create_function(name, 1, lambda b, i=i: (_envelope(b) or (None,) * 4)[i], deterministic=True)
    return c


def connect(path, threads=False):
    """sqlite3 connection able to fire GDAL's GeoPackage triggers. threads=True: used by one thread at a time,
    not necessarily the one that opened it (the merge's writer thread)."""
    c = register(sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=not threads))
    c.execute("PRAGMA foreign_keys=OFF")
    return c


_HEADER = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs", "<i4"), ("env", "<f8", (4,))])  # packed: 40 bytes


def blobs(geoms, srs_id):
    """GeoPackage geometry blobs (header with xy envelope + ISO WKB) for an array of shapely geometries, in bulk;
    None or empty stays None."""
    if not isinstance(geoms, np.ndarray):
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = list(geoms)
        geoms = arr
    out = [None] * len(geoms)
    has = ~shapely.is_missing(geoms)
    has[has] = ~shapely.is_empty(geoms[has])
    if not has.any():
        return out
    idx = np.nonzero(has)[0]
    arr = geoms[idx]
    wkb = shapely.to_wkb(arr, output_dimension=2, byte_order=1)
    b = shapely.bounds(arr)
    head = np.zeros(len(idx), dtype=_HEADER)
    head["magic"], head["flags"], head["srs"] = b"GP", 0b00000011, srs_id  # little endian, xy envelope
    head["env"] = b[:, [0, 2, 1, 3]]  # minx, maxx, miny, maxy
    hb = head.tobytes()
    for j, i in enumerate(idx.tolist()):
        out[i] = hb[j * 40:(j + 1) * 40] + wkb[j]
    return out


def geometry_from_blob(blob):
    if blob is None or _is_empty(blob):
        return None
    flags = blob[3]
    env = (flags >> 1) & 7
    off = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(env, 0)
    return shapely.from_wkb(bytes(blob[off:]))


def create(path, layers, srs_wkt=None, epsg=None, domains=None, page_size=None):
    """Create a GeoPackage with OGR (so its layout and metadata are GDAL's own), with SQLite pages of `page_size`
    bytes (default: GDAL's).
    layers: list of (name, geometry type or None, [(field, sqltype, alias, width, domain)], title);
    domains: {name: (description, {code: label})}, coded-value domains GDAL stores in gpkg_data_column_constraints
    (QGIS shows the labels). Returns the srs_id used for geometry columns."""
    ds = gdal.GetDriverByName("GPKG").Create(str(path), 0, 0, 0, gdal.GDT_Unknown)
    srs = osr.SpatialReference()
    if epsg:
        srs.ImportFromEPSG(int(epsg))
    elif srs_wkt:
        srs.ImportFromWkt(srs_wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    for name, (description, values) in (domains or {}).items():
        ds.AddFieldDomain(ogr.CreateCodedFieldDomain(name, description, ogr.OFTString, ogr.OFSTNone, values))
    for layer in layers:
        name, gtype, fields = layer[:3]
        title = layer[3] if len(layer) > 3 else ""
        opts = [f"IDENTIFIER={title or name}"] if title else []
        if gtype:
            lyr = ds.CreateLayer(name, srs, gtype, ["FID=fid", "GEOMETRY_NAME=geom", "SPATIAL_INDEX=YES"] + opts)
        else:
            lyr = ds.CreateLayer(name, None, ogr.wkbNone, ["FID=fid", "ASPATIAL_VARIANT=GPKG_ATTRIBUTES"] + opts)
        for fname, sqltype, alias, *rest in fields:
            width, domain = (list(rest) + [0, None])[:2]
            fd = ogr.FieldDefn(fname, _OGR[sqltype])
            if alias:
                fd.SetAlternativeName(alias)
            if width:
                fd.SetWidth(int(width))
            if domain:
                fd.SetDomainName(domain)
            lyr.CreateField(fd)
    ds.FlushCache()
    ds = None
    c = sqlite3.connect(str(path))
    if page_size:  # the file is still small: rewritten at once with the new page size (header fields kept)
        c.execute(f"PRAGMA page_size={int(page_size)}")
        c.execute("VACUUM")
    row = c.execute("SELECT srs_id FROM gpkg_geometry_columns LIMIT 1").fetchone()
    c.close()
    return row[0] if row else 0
