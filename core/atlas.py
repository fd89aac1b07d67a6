"""The village pages of the consultation atlas: one record per village that has listed parcels, with the
village outline (its parcels united and closed over the small gaps between them, such as field roads) and the
counts and area totals the page header shows. The drawing itself is QGIS's (processing/maps.py)."""
import numpy as np
import shapely

from . import regdb

CLOSING = 15.0  # m: gaps narrower than twice this between a village's parcels are closed in its outline


def villages(gpkg_path, rep):
    """[{CJDM, CJMC, XZDM, XZMC, N, N_XS, HTMJ, DBMJ, SCMJ, geometry}] for the villages of a consultation report
    (core.consult.build), in report order."""
    listed = [v for t in rep["groups"] for v in t["villages"]]
    if not listed:
        return []
    c = regdb.connect(gpkg_path)
    try:
        cols, geoms = regdb.parcels(c, ("CJDM",))
    finally:
        c.close()
    by = {}
    codes = cols["CJDM"]
    for i, g in enumerate(geoms):
        if g is not None:
            by.setdefault(codes[i] or "", []).append(i)
    out = []
    for t in rep["groups"]:
        for v in t["villages"]:
            idx = by.get(v["code"] or "", [])
            geom = None
            if idx:
                u = shapely.union_all(np.asarray(geoms, dtype=object)[idx])
                geom = shapely.buffer(shapely.buffer(u, CLOSING, quad_segs=4), -CLOSING, quad_segs=4)
                if geom.is_empty:
                    geom = u
            tot = {k: sum(x[k.lower()] for x in v["totals"].values()) for k in ("HTMJ", "DBMJ", "SCMJ")}
            out.append(dict(CJDM=v["code"], CJMC=v["name"], XZDM=t["code"], XZMC=t["name"], N=len(v["rows"]),
                            N_XS=v["totals"].get("contract_register_mismatch", {}).get("n", 0),
                            HTMJ=round(tot["HTMJ"], 2), DBMJ=round(tot["DBMJ"], 2), SCMJ=round(tot["SCMJ"], 2), geometry=geom))
    return out
