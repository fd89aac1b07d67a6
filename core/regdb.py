"""Read-side helpers over a registration GeoPackage as `lcb:merge` writes it, shared by the notices, the
parcel dossiers and the village atlas. Only `cbdk`, `batches`, `audit`, `conflicts`, `archive` and the
delivery's `qs_*` copies are read, always by column name, so added columns and tables do not matter."""
import re
from pathlib import Path

import numpy as np
import shapely

from . import consult, crs as crsmod, gpkg
from .delivery import ROOT_RE, VECTOR_RE
from .errors import LcbError


def connect(path):
    """Read-only connection; a clear error when the file is missing or not a registration GeoPackage."""
    return consult._open(path)  # noqa: SLF001 - the one place that knows how to open and recognise it


def has_table(c, name):
    if getattr(c, "is_pg", False):
        return c.has_table(name)
    return c.execute("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND lower(name) = lower(?)", (name,)).fetchone() is not None


def columns(c, table):
    if getattr(c, "is_pg", False):
        return c.columns(table)
    return [r[1] for r in c.execute(f'PRAGMA table_info("{table}")')]


def dicts(c, sql, args=()):
    cur = c.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur]


def split_codes(text):
    """'a, b;c  d' -> ['a', 'b', 'c', 'd'] (DKBM lists typed by hand or pasted from a column)."""
    return [t for t in re.split(r"[\s,;，；、]+", str(text or "")) if t]


def epsg(c):
    """EPSG code of the cbdk layer (None when it is not an EPSG CRS)."""
    if getattr(c, "is_pg", False):
        return c.epsg()
    row = c.execute("SELECT s.organization, s.organization_coordsys_id FROM gpkg_geometry_columns g "
                    "JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id WHERE lower(g.table_name) = 'cbdk'").fetchone()
    if row and str(row[0] or "").upper() == "EPSG" and row[1]:
        return int(row[1])
    if has_table(c, "lcb_meta"):
        v = c.execute("SELECT value FROM lcb_meta WHERE key = 'epsg'").fetchone()
        if v and str(v[0]).isdigit():
            return int(v[0])
    return None


def parcels(c, fields=("DKBM",), where="", args=()):
    """(dict of numpy object arrays per field, shapely geometry array) for cbdk rows. Missing geometry is None;
    invalid polygons are repaired with make_valid so that overlay operations are defined."""
    have = set(columns(c, "cbdk"))
    want = [f for f in fields if f in have]
    geom = "ST_AsBinary(geom)" if getattr(c, "is_pg", False) else "geom"
    rows = c.execute(f'SELECT {geom}, {", ".join(want)} FROM cbdk {where}', args).fetchall()
    cols = {f: np.array([r[i + 1] for r in rows], dtype=object) for i, f in enumerate(want)}
    for f in fields:
        cols.setdefault(f, np.full(len(rows), None, dtype=object))
    geoms = np.array([geometry(c, r[0]) for r in rows] or [], dtype=object)
    if len(geoms):
        ok = ~shapely.is_missing(geoms)
        ok[ok] = ~shapely.is_empty(geoms[ok])
        geoms[~ok] = None
        bad = np.zeros(len(geoms), bool)
        bad[ok] = ~shapely.is_valid(geoms[ok])
        if bad.any():
            geoms[bad] = shapely.make_valid(geoms[bad])
    return cols, geoms


def geometry(c, value):
    """A geometry as read from cbdk (a GeoPackage blob, or PostGIS WKB / hex EWKB) as shapely (None when absent)."""
    if value is None:
        return None
    if getattr(c, "is_pg", False):
        return shapely.from_wkb(value if isinstance(value, str) else bytes(value))
    return gpkg.geometry_from_blob(value)


def bbox_where(c, x0, y0, x1, y1, extra="", args=()):
    """(WHERE clause, args) selecting the cbdk rows whose bounding box meets the rectangle (spatial index), plus `extra`."""
    if getattr(c, "is_pg", False):
        return (f"WHERE geom && ST_MakeEnvelope(?, ?, ?, ?){' AND ' + extra if extra else ''}", (x0, y0, x1, y1, *args))
    if has_table(c, "rtree_cbdk_geom"):
        return (f"WHERE fid IN (SELECT id FROM rtree_cbdk_geom WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?)"
                f"{' AND ' + extra if extra else ''}", (x0, x1, y0, y1, *args))
    return (f"WHERE {extra}" if extra else "", tuple(args))


def batches(c):
    """{PCID: batch row} (package path, fingerprint, merged_at, user, ...)."""
    if not has_table(c, "batches"):
        return {}
    return {r["fid"]: r for r in dicts(c, "SELECT * FROM batches ORDER BY fid")}


def farmland_layers(c):
    """The JBNTBHQ shapefiles of the deliveries merged into the database, newest batch first, that still exist."""
    out = []
    for b in sorted(batches(c).values(), key=lambda b: -b["fid"]):
        pkg = Path(str(b.get("package") or ""))
        folder = pkg / "矢量数据"
        if not folder.is_dir():
            continue
        for shp in sorted(folder.iterdir()):
            m = VECTOR_RE.match(shp.name)
            if m and m.group(1).upper() == "JBNTBHQ" and shp not in out:
                out.append(shp)
    return out


def transformer(src, dst, src_wkt=None):
    """A function mapping an array of shapely geometries from CRS `src` (EPSG or WKT) to EPSG `dst`, or None."""
    if dst is None or (src is not None and src == dst):
        return None
    off = crsmod.transform_offset(src, dst) if src else None
    if off is not None:
        shift = np.array(off)
        return lambda g: shapely.transform(g, lambda xy: xy + shift)
    from pyproj import CRS, Transformer
    if src is None and not src_wkt:
        return None
    t = Transformer.from_crs(CRS.from_epsg(src) if src else CRS.from_wkt(src_wkt), CRS.from_epsg(dst), always_xy=True)
    return lambda g: shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def read_polygons(path, target_epsg, id_field=None):
    """(geometries in target_epsg, ids) of a polygon layer read with OGR. ids: id_field's values when the layer
    has that field, else the feature ids."""
    from osgeo import gdal, ogr, osr

    from . import encoding
    ogr.UseExceptions()
    try:
        opts = []
        if str(path).lower().endswith(".shp"):  # explicitly: QGIS turns GDAL's shapefile recoding off
            opts = [f"ENCODING={encoding.shapefile_encoding(path)[0]}"]
        ds = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY, open_options=opts)
    except RuntimeError as e:
        raise LcbError("无法读取基本农田图层", "cannot read the farmland layer", path=str(path), record=str(e)) from None
    if ds is None or ds.GetLayerCount() == 0:
        raise LcbError("无法读取基本农田图层", "cannot read the farmland layer", path=str(path))
    lyr = ds.GetLayer(0)
    defn = lyr.GetLayerDefn()
    names = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    field = next((n for n in names if id_field and n.upper() == id_field.upper()), None)
    geoms, ids = [], []
    for f in lyr:
        g = f.GetGeometryRef()
        geoms.append(shapely.from_wkb(bytes(g.ExportToIsoWkb())) if g is not None and not g.IsEmpty() else None)
        ids.append(str(f.GetField(field)) if field and f.GetField(field) is not None else str(f.GetFID()))
    srs = lyr.GetSpatialRef()
    src_epsg, wkt = None, None
    if srs is not None:
        wkt = srs.ExportToWkt()
        src_epsg = crsmod.identify(wkt)
        if src_epsg is None:
            s = osr.SpatialReference(wkt)
            s.AutoIdentifyEPSG()
            code = s.GetAuthorityCode(None)
            src_epsg = int(code) if code and code.isdigit() else None
    arr = np.array(geoms, dtype=object)
    t = transformer(src_epsg, target_epsg, wkt)
    if t is not None and len(arr):
        ok = ~shapely.is_missing(arr)
        arr[ok] = t(arr[ok])
    return arr, ids


def county_of(c):
    """(county code, county name) from the batches, for document headers."""
    for b in batches(c).values():
        if b.get("county"):
            return b["county"], b.get("county_name") or ""
    return "", ""


def package_root(batch):
    """The delivery folder a batch came from, when it is still there."""
    p = Path(str((batch or {}).get("package") or ""))
    if p.is_dir() and ROOT_RE.match(p.name):
        return p
    return p if p.is_dir() else None


def households(c, dkbms=None):
    """{DKBM: [household dict]} from the delivery's CBDKXX and CBF copies (rows of the parcel's own batch when
    it has them, else the newest batch that has); parcels without CBDKXX rows fall back to cbdk.CBFBM/CBFMC."""
    want = set(dkbms) if dkbms is not None else None
    cur = {r[0]: r[1:] for r in c.execute("SELECT DKBM, PCID, CBFBM, CBFMC FROM cbdk") if want is None or r[0] in want}
    rows = {}
    if has_table(c, "qs_cbdkxx"):
        for k, cbf, pcid, htmj in c.execute("SELECT DKBM, CBFBM, PCID, HTMJ FROM qs_cbdkxx ORDER BY fid"):
            if k in cur and cbf:
                rows.setdefault(k, {}).setdefault(pcid, []).append((cbf, htmj))
    info = {}
    if has_table(c, "qs_cbf"):
        for r in dicts(c, "SELECT * FROM qs_cbf ORDER BY fid"):
            info[r.get("CBFBM")] = r  # the newest copy wins
    out = {}
    for k, (pcid, cbfbm, cbfmc) in cur.items():
        by_batch = rows.get(k)
        if by_batch:
            chosen = by_batch.get(pcid) or by_batch[max(by_batch)]
            seen, hs = set(), []
            for cbf, htmj in chosen:
                if cbf in seen:
                    continue
                seen.add(cbf)
                r = info.get(cbf) or {}
                hs.append(dict(CBFBM=cbf, CBFMC=r.get("CBFMC"), CBFZJHM=r.get("CBFZJHM"), CBFDZ=r.get("CBFDZ"),
                               LXDH=r.get("LXDH"), HTMJ=htmj))
            out[k] = hs
        elif cbfbm:
            r = info.get(cbfbm) or {}
            out[k] = [dict(CBFBM=cbfbm, CBFMC=cbfmc or r.get("CBFMC"), CBFZJHM=r.get("CBFZJHM"), CBFDZ=r.get("CBFDZ"),
                           LXDH=r.get("LXDH"), HTMJ=None)]
        else:
            out[k] = []
    return out


class StagedFolder:
    """Files built in a hidden temporary folder inside `folder` and moved in together by commit(): a failed or
    cancelled run leaves `folder` as it was (each move is an atomic rename on the same file system).

        with StagedFolder(out) as st:
            (st.tmp / "a.html").write_text(...); st.add("a.html")
            st.commit()
    """

    def __init__(self, folder):
        import tempfile
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=".lcb-staged.", dir=str(self.folder)))
        self.names = []
        self.written = []

    def add(self, name):
        self.names.append(name)
        return self.tmp / name

    def commit(self):
        import os
        for name in self.names:
            os.replace(self.tmp / name, self.folder / name)
            self.written.append(self.folder / name)
        return self.written

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False
