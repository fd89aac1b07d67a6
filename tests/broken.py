"""Broken deliveries, each made from a private copy of the sample with one thing wrong (issue 10).

Every builder takes the copied package root and returns the delivery-relative path of the file it broke, which
the user-facing message must name. Nothing here touches sample/."""
import contextlib
import sqlite3
import struct
from pathlib import Path

from osgeo import ogr

ogr.UseExceptions()

DK = "矢量数据/DK3715262018"
MDB = "权属数据/3715262018.mdb"
SQLITE = "权属数据/3715262018.sqlite"
TABLES = ("CBDKXX", "CBF", "CBF_JTCY", "CBHT", "CBJYQZ", "CBJYQZ_QZBF", "CBJYQZ_QZHF", "CBJYQZ_QZZX", "CBJYQZDJB", "FBF",
          "LZHT", "QSLYZLFJ")
WGS84 = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
         'UNIT["Degree",0.0174532925199433]]')


def truncated_shp(root):
    p = root / f"{DK}.shp"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return f"{DK}.shp"


def truncated_dbf(root):
    p = root / f"{DK}.dbf"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return f"{DK}.dbf"


def missing_shx(root):
    (root / f"{DK}.shx").unlink()
    return f"{DK}.shx"


def wgs84_prj(root):
    """The .prj says WGS 84 while the coordinates are still Gauss–Krüger with the zone prefix (39,4xx,xxx m)."""
    (root / f"{DK}.prj").write_text(WGS84)
    return f"{DK}.prj"


def missing_prj(root):
    (root / f"{DK}.prj").unlink()
    return f"{DK}.prj"


def point_layer(root):
    """DK rewritten as a point layer (one point inside each parcel), every attribute kept."""
    shp = root / f"{DK}.shp"
    src = ogr.Open(str(shp))
    lyr = src.GetLayer(0)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("pts")
    out = mem.CreateLayer("DK", lyr.GetSpatialRef(), ogr.wkbPoint)
    defn = lyr.GetLayerDefn()
    for i in range(defn.GetFieldCount()):
        out.CreateField(defn.GetFieldDefn(i))
    for f in lyr:
        g = f.GetGeometryRef()
        o = ogr.Feature(out.GetLayerDefn())
        for i in range(defn.GetFieldCount()):
            o.SetField(i, f.GetField(i))
        if g is not None and not g.IsEmpty():
            o.SetGeometry(g.PointOnSurface())
        out.CreateFeature(o)
    src = None
    cpg = (root / f"{DK}.cpg").read_bytes()
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        (root / f"{DK}{ext}").unlink(missing_ok=True)
    dst = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(shp))
    dst.CopyLayer(out, shp.stem, ["ENCODING=UTF-8"] if cpg.strip().upper() in (b"UTF-8", b"UTF8") else [f"ENCODING={cpg.decode().strip()}"])
    dst = None
    (root / f"{DK}.cpg").write_bytes(cpg)
    return f"{DK}.shp"


def empty_mdb(root):
    (root / MDB).write_bytes(b"")
    return MDB


def text_mdb(root):
    (root / MDB).write_text("这不是数据库 / this is a text file saved with an .mdb name\n" * 20, "utf-8")
    return MDB


_PAGE = 4096  # Jet 4 (Access 2000) page size


def _jet_pages(data, owner):
    """Offsets of the data pages (type 0x01) of the table whose definition is on page `owner`."""
    for off in range(0, len(data) - _PAGE + 1, _PAGE):
        if data[off] == 0x01 and struct.unpack_from("<I", data, off + 4)[0] == owner:
            yield off


def _delete_rows(data, page_off, pick=lambda row: True):
    """Set Jet's 'deleted' flag (0x4000) on the rows of one data page that `pick` selects, as Access does on DELETE."""
    rows = struct.unpack_from("<H", data, page_off + 12)[0]
    end = _PAGE
    for i in range(rows):
        at = page_off + 14 + 2 * i
        raw = struct.unpack_from("<H", data, at)[0]
        start = raw & 0x1FFF
        if not raw & 0x4000 and pick(bytes(data[page_off + start:page_off + end])):
            struct.pack_into("<H", data, at, raw | 0x4000)
        end = start


def _table_pages(path):
    """{table: definition page} of the user tables, from MSysObjects (Id & 0xFFFFFF is the page)."""
    import csv
    import io
    import subprocess
    out = subprocess.run(["mdb-export", str(path), "MSysObjects"], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    return {r["Name"]: int(r["Id"]) & 0xFFFFFF for r in csv.DictReader(io.StringIO(out)) if r["Name"] in TABLES and r["Type"] == "1"}


def template_mdb(root):
    """The vendors' empty template: the same Access file with all 12 tables and every row deleted (Jet's own
    deletion flag on each row, the table's row count 0). mdbtools cannot write .mdb, so the sample's is edited."""
    p = root / MDB
    pages = _table_pages(p)
    data = bytearray(p.read_bytes())
    for owner in pages.values():
        for off in _jet_pages(data, owner):
            _delete_rows(data, off)
        struct.pack_into("<I", data, owner * _PAGE + 16, 0)  # TDEF row count
    p.write_bytes(bytes(data))
    return MDB


def unrelated_mdb(root):
    """A valid Access database without any of the 12 tables: their catalogue rows (MSysObjects, page 2) deleted."""
    p = root / MDB
    names = [t.encode("utf-16-le") for t in TABLES]
    data = bytearray(p.read_bytes())
    for off in _jet_pages(data, 2):
        _delete_rows(data, off, lambda row: any(n in row for n in names))
    p.write_bytes(bytes(data))
    return MDB


def _sqlite_instead(root, build):
    (root / MDB).unlink()
    c = sqlite3.connect(root / SQLITE)
    build(c)
    c.commit()
    c.close()
    return SQLITE


def unrelated_sqlite(root):
    return _sqlite_instead(root, lambda c: c.execute("CREATE TABLE inventory (item TEXT, qty INTEGER)"))


def template_sqlite(root):
    """The 12 standard tables with the standard's columns and no rows."""
    from land_contract_bridge.core import schema
    aff = {"T": "TEXT", "M": "TEXT", "D": "TEXT", "N": "REAL", "I": "INTEGER"}

    def build(c):
        for table, spec in schema.TABLES.items():
            c.execute(f'CREATE TABLE "{table}" ({", ".join(f"{f[0]} {aff[f[1]]}" for f in spec)})')
    return _sqlite_instead(root, build)


# case id -> (builder, what the message must say besides the file name: zh, en)
CASES = {
    "truncated_shp": truncated_shp,
    "truncated_dbf": truncated_dbf,
    "missing_shx": missing_shx,
    "wgs84_prj": wgs84_prj,
    "missing_prj": missing_prj,
    "point_layer": point_layer,
    "empty_mdb": empty_mdb,
    "text_mdb": text_mdb,
    "unrelated_mdb": unrelated_mdb,
    "unrelated_sqlite": unrelated_sqlite,
    "template_mdb": template_mdb,
    "template_sqlite": template_sqlite,
}


def make(case, root):
    return CASES[case](Path(root))


def long_dk_text(root, values):
    """DK rewritten the way some vendor exporters write it, every text field 254 wide, with `values`
    ({DKBM: {field: text}}) set: text longer than the standard's widths that a standard-width .dbf could not hold."""
    shp = root / f"{DK}.shp"
    cpg = (root / f"{DK}.cpg").read_text().strip()
    src = ogr.Open(str(shp))
    lyr = src.GetLayer(0)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("wide")
    out = mem.CreateLayer("DK", lyr.GetSpatialRef(), lyr.GetGeomType())
    defn = lyr.GetLayerDefn()
    for i in range(defn.GetFieldCount()):
        fd = ogr.FieldDefn(defn.GetFieldDefn(i).GetName(), defn.GetFieldDefn(i).GetType())
        fd.SetWidth(254 if fd.GetType() == ogr.OFTString else defn.GetFieldDefn(i).GetWidth())
        fd.SetPrecision(defn.GetFieldDefn(i).GetPrecision())
        out.CreateField(fd)
    for f in lyr:
        o = ogr.Feature(out.GetLayerDefn())
        o.SetFrom(f)
        for name, text in values.get(f.GetField("DKBM"), {}).items():
            o.SetField(name, text)
        out.CreateFeature(o)
    src = None
    for ext in (".shp", ".shx", ".dbf", ".prj"):
        (root / f"{DK}{ext}").unlink()
    dst = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(shp))
    dst.CopyLayer(out, shp.stem, [f"ENCODING={cpg}"])
    dst = None
    return f"{DK}.shp"


# ------------------------------------------------------------------ output folders that cannot take a file
def _mount(path, options):
    import subprocess
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0


def _umount(path):
    import subprocess
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def unwritable_dir(path):
    """A folder nobody can write to: a read-only tmpfs when we may mount (root, as in CI), else mode 0555."""
    import os

    import pytest
    path = Path(path)
    if os.geteuid() == 0:
        if not _mount(path, "size=64k,ro,mode=0755"):
            pytest.skip("cannot mount a read-only tmpfs here")
        try:
            yield path
        finally:
            _umount(path)
    else:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)


@contextlib.contextmanager
def full_disk(path, size="48k"):
    """A tiny tmpfs: any output of a real size fills it (root only; skipped elsewhere)."""
    import os

    import pytest
    path = Path(path)
    if os.geteuid() != 0 or not _mount(path, f"size={size},mode=0777"):
        pytest.skip("a full disk needs a tmpfs mount (root)")
    try:
        yield path
    finally:
        _umount(path)
