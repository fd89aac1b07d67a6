"""truth.json as a test oracle: the same matching rules as the shared conformance check."""
import json
import os
import re
from pathlib import Path


def norm(key):
    return str(key or "").replace("\\", "/")


def load(truth_path):
    return json.loads(Path(truth_path).read_text("utf-8"))


def tainted(truth):
    by_household = {}
    for dkbm, p in truth["parcels"].items():
        if p.get("CBFBM"):
            by_household.setdefault(p["CBFBM"], set()).add(dkbm)
    keys = set()
    for d in truth["defects"]:
        for k in (d.get("key"), d.get("other_DKBM"), d.get("DKBM"), d.get("CBFBM"), d.get("CBJYQZBM"), d.get("CBHTBM")):
            if not k:
                continue
            k = norm(k)
            keys.add(k)
            hh = truth["parcels"].get(k, {}).get("CBFBM") or (k[:18] if re.match(r"^\d{18}", k) else None)
            if hh:
                keys.update({hh, hh + "J", hh + "Q"}, by_household.get(hh, ()))
    return keys


def found(defect, issues):
    key = norm(defect["key"])
    base = os.path.basename(key)
    return any(i["category"] == defect["category"]
               and (norm(i["key"]) == key or (base and base in norm(i["key"])) or key in norm(i["key"]))
               for i in issues)


def compare(truth, issues):
    """issues: dicts with category, key, severity. Returns (missed defects, false errors)."""
    missed = [d for d in truth["defects"] if not found(d, issues)]
    t = tainted(truth)
    names = {os.path.basename(x) for x in t}

    def related(key):
        key = norm(key)
        household = key[:18] if re.match(r"^\d{18}[JQ]?$", key) else None
        return key in t or os.path.basename(key) in names or (household is not None and household in t)

    false = [i for i in issues if i["severity"] == "error" and i["category"] != "package" and not related(i["key"])]
    return missed, false


# ---------------------------------------------------------------- planting defects in copies (tests/core/test_rules_*.py)
def db_rows(path, sql, args=()):
    """All rows of a query on a SQLite/GeoPackage file (a fresh connection, closed after)."""
    import sqlite3
    c = sqlite3.connect(path)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def copy_delivery(src, dst_parent):
    """A private writable copy of a delivery package (never edit sample/ or a shared fixture)."""
    import shutil
    import stat
    dst = Path(dst_parent) / Path(src).name
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return dst


def sql(root, *statements):
    """Run SQL on the .sqlite attribute database of a generated delivery; returns the rows of the last statement."""
    import sqlite3
    db = next((Path(root) / "权属数据").glob("*.sqlite"))
    c = sqlite3.connect(db)
    try:
        rows = []
        for st in statements:
            if isinstance(st, tuple):
                rows = c.execute(*st).fetchall()
            else:
                rows = c.execute(st).fetchall()
        c.commit()
        return rows
    finally:
        c.close()


def edit_layer(root, prefix, edit):
    """Edit a shapefile layer of a delivery in place with OGR: edit(layer) gets the opened, writable layer."""
    from osgeo import ogr
    shp = next((Path(root) / "矢量数据").glob(f"{prefix}[0-9]*.shp"))
    ds = ogr.Open(str(shp), 1)
    try:
        edit(ds.GetLayer(0))
    finally:
        ds = None


def edit_parcel(root, dkbm, **values):
    """Set DK fields of parcel `dkbm` in a delivery's shapefile (a private copy)."""
    def edit(layer):
        f = feature_by(layer, "DKBM", dkbm)
        for k, v in values.items():
            f.SetField(k, v)
        layer.SetFeature(f)
    edit_layer(root, "DK", edit)


def feature_by(layer, field, value):
    layer.SetAttributeFilter(f"{field} = '{value}'")
    f = layer.GetNextFeature()
    layer.SetAttributeFilter(None)
    return f


def set_geometry(root, dkbm, geom):
    """Replace the geometry of the DK feature `dkbm` (shapely geometry; None = null shape)."""
    from osgeo import ogr
    import shapely

    def edit(lyr):
        f = feature_by(lyr, "DKBM", dkbm)
        if geom is None:
            f.SetGeometryDirectly(None)
        else:
            f.SetGeometry(ogr.CreateGeometryFromWkb(shapely.to_wkb(geom, output_dimension=2)))
        lyr.SetFeature(f)
    edit_layer(root, "DK", edit)


def geometry_of(root, dkbm):
    import shapely
    out = []

    def edit(lyr):
        f = feature_by(lyr, "DKBM", dkbm)
        out.append(shapely.from_wkb(bytes(f.GetGeometryRef().ExportToWkb())))
    edit_layer(root, "DK", edit)
    return out[0]


def run(root, **params):
    from land_contract_bridge.core import validate
    issues, _summary = validate.validate(root, **params)
    return issues


def has(issues, rule, key):
    """Is there an issue of this rule keyed to this record?"""
    return any(i.rule == rule and i.key == key for i in issues)


def keys_of(issues, rule):
    return {i.key for i in issues if i.rule == rule}


def unexpected_errors(issues, allowed):
    """Errors whose key is not one of `allowed` (the records a planted defect legitimately touches). Package errors
    are left out: the summary tables of the copy were written before the defects were planted."""
    return sorted({(i.rule, i.key) for i in issues if i.severity == "error" and i.category != "package" and i.key not in allowed})


_BASES = {}
BASE_ARGS = ("--parcels", "1200", "--township", "006", "--seed", "17")


def generated_base(tmp_path_factory, *args):
    """A clean generated delivery (one per argument list and test session); copy it before planting anything."""
    args = tuple(str(a) for a in (args or BASE_ARGS))
    if args not in _BASES:
        from conftest import run_generator
        _BASES[args] = run_generator(tmp_path_factory.mktemp("base"), *args)
    return _BASES[args]


def farm_households(root, min_members=3, min_parcels=2):
    """CBFBM of clean farm households (CBFLX 1) with at least so many members and CBDKXX rows, in code order."""
    return [r[0] for r in sql(root, ("SELECT f.CBFBM FROM CBF f WHERE f.CBFLX = '1' "
                                     "AND (SELECT COUNT(*) FROM CBF_JTCY m WHERE m.CBFBM = f.CBFBM) >= ? "
                                     "AND (SELECT COUNT(*) FROM CBDKXX c WHERE c.CBFBM = f.CBFBM) >= ? "
                                     "AND NOT EXISTS (SELECT 1 FROM LZHT l WHERE l.CBFBM = f.CBFBM OR l.SRFBM = f.CBFBM) "
                                     "ORDER BY f.CBFBM", (min_members, min_parcels)))]


def related(root, *cbfbms):
    """The keys a defect planted on these households may legitimately touch: the households, their contracts,
    certificates and parcels."""
    out = set()
    for h in cbfbms:
        out |= {h, h + "J", h + "Q"}
        out |= {r[0] for r in sql(root, ("SELECT DKBM FROM CBDKXX WHERE CBFBM = ?", (h,)))}
    return out


def members(root, cbfbm):
    """(CYZJHM, YHZGX, CYXB) of a household's members, head first."""
    return sql(root, ("SELECT CYZJHM, YHZGX, CYXB FROM CBF_JTCY WHERE CBFBM = ? ORDER BY YHZGX <> '02', _rowid_", (cbfbm,)))


def resident_id(area6, birth8, male, seq="01"):
    """A valid 18-digit ID number (GB 11643) with this area code, birth date (yyyymmdd) and sex."""
    from land_contract_bridge.core import codes
    s = f"{area6}{birth8}{seq}{'1' if male else '2'}"
    return s + codes.id_check_char(s)
