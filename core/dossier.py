"""Evidence dossier per parcel (地块档案): everything the registration office holds on one DKBM, so that a
correction can be checked against the copied data and archives and nobody is asked again for material the
bureaus already have.

- the values as delivered, per delivery batch that carried the parcel (package path and fingerprint), read from
  the delivery's copied tables (CBDKXX, the ledger) and, while the package is still where it was merged from,
  its DK layer (SCMJ and the other DK attributes);
- the current values (cbdk), the area class and the consultation record;
- the change history: the audit and conflicts tables;
- the contractor's household (CBF, CBF_JTCY, CBHT, CBJYQZDJB copies), personal data masked unless asked;
- the archive files (plot sketch DKSYT, source attachments QSLYZLFJ): SHA-256 and whether each is present;
- the neighbouring parcels. The map itself is drawn by QGIS (processing/maps.py) and passed in as a PNG."""
import base64
import datetime as dt
import json
from pathlib import Path

import shapely

from . import classify, encoding, inventory, pgconn, regdb, report
from .delivery import VECTOR_RE
from .errors import NULL_PROGRESS, LcbError
from .output import mask_id, mask_name
from .params import exceeds, to_mu

COMPARED = [("HTMJ", "确权（合同）面积（平方米）"), ("DBMJ", "登簿面积（平方米）"), ("SCMJ", "实测面积（平方米）"),
            ("DKMC", "地块名称"), ("DKLB", "地块类别"), ("TDYT", "土地用途"), ("DLDJ", "地力等级"), ("SFJBNT", "是否基本农田"),
            ("CBJYQZBM", "承包经营权证编码")]
AREAS = {"HTMJ", "DBMJ", "SCMJ"}
DK_FIELDS = ["DKMC", "DKLB", "TDLYLX", "DLDJ", "TDYT", "SYQXZ", "SFJBNT", "SCMJ", "SCMJM", "ZJRXM"]
ARCHIVE_KINDS = {"DKSYT": "地块示意图", "QSLYFJ": "权属来源资料附件"}
ACTIONS = {"merge": "整合入库", "consult": "协商结果", "replace": "以新成果替换", "conflict": "成果冲突"}
NEIGHBOUR_DISTANCE = 0.5  # m: parcels this close count as neighbours


def _norm(rel):
    p = str(rel or "").strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def _num_equal(a, b):
    if a is None or b is None:
        return a is None and b is None
    try:
        return not exceeds(float(a), float(b), 0.0)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _dk_rows(batch, dkbm):
    """DK features of the parcel in the delivery folder a batch came from (None: the package is no longer there)."""
    root = regdb.package_root(batch)
    folder = root / "矢量数据" if root else None
    if folder is None or not folder.is_dir():
        return None
    shps = [p for p in sorted(folder.iterdir()) if (m := VECTOR_RE.match(p.name)) and m.group(1).upper() == "DK"]
    if not shps:
        return None
    from osgeo import gdal, ogr
    ogr.UseExceptions()
    out = []
    for shp in shps:
        try:  # the encoding explicitly: QGIS turns GDAL's own shapefile recoding off (SHAPE_ENCODING="")
            enc = encoding.shapefile_encoding(shp)
            enc = enc[0] if isinstance(enc, tuple) else enc
            ds = gdal.OpenEx(str(shp), gdal.OF_VECTOR | gdal.OF_READONLY, open_options=[f"ENCODING={enc}"] if enc else [])
            lyr = ds.GetLayer(0)
            names = {lyr.GetLayerDefn().GetFieldDefn(i).GetName().upper(): lyr.GetLayerDefn().GetFieldDefn(i).GetName()
                     for i in range(lyr.GetLayerDefn().GetFieldCount())}
            if "DKBM" not in names:
                continue
            lyr.SetAttributeFilter(f"{names['DKBM']} = '{dkbm}'")
            for f in lyr:
                row = {k: f.GetField(names[k]) for k in DK_FIELDS if k in names}
                g = f.GetGeometryRef()
                geom = shapely.from_wkb(bytes(g.ExportToIsoWkb())) if g is not None and not g.IsEmpty() else None
                row["geometry_area"] = round(float(shapely.area(shapely.make_valid(geom))), 2) if geom is not None else None
                row["file"] = str(shp)
                out.append(row)
        except RuntimeError:
            return None
    return out


def _delivered(c, dkbm, cur, batches):
    """One dict per batch that delivered the parcel: its CBDKXX rows, ledger rows, DK features and the derived
    HTMJ/DBMJ/SCMJ exactly as lcb:merge derives them."""
    pcids = set()
    cbdkxx = {}
    if regdb.has_table(c, "qs_cbdkxx"):
        for r in regdb.dicts(c, "SELECT * FROM qs_cbdkxx WHERE DKBM = ? ORDER BY fid", (dkbm,)):
            cbdkxx.setdefault(r.get("PCID"), []).append(r)
            pcids.add(r.get("PCID"))
    ledger = {}
    if regdb.has_table(c, "qs_tz"):
        for r in regdb.dicts(c, "SELECT * FROM qs_tz WHERE DKBM = ? ORDER BY fid", (dkbm,)):
            ledger.setdefault(r.get("PCID"), []).append(r)
            pcids.add(r.get("PCID"))
    if cur.get("PCID") is not None:
        pcids.add(cur["PCID"])
    incoming = {}
    if regdb.has_table(c, "conflicts"):
        for r in regdb.dicts(c, "SELECT PCID, incoming FROM conflicts WHERE DKBM = ? ORDER BY fid", (dkbm,)):
            try:
                incoming.setdefault(r["PCID"], {}).update(json.loads(r["incoming"] or "{}"))
            except ValueError:
                pass
            pcids.add(r["PCID"])

    def twin(pcid, table, same_params=False):
        """A batch merged from an identical package (same fingerprint) has no table copies of its own: lcb:merge
        copies a delivery's tables once. Its rows are those of the first batch with that fingerprint."""
        b = batches.get(pcid, {})
        for other in sorted(table):
            ob = batches.get(other, {})
            if other != pcid and ob.get("fingerprint") and ob.get("fingerprint") == b.get("fingerprint") and \
                    (not same_params or ob.get("params") == b.get("params")):
                return table[other]
        return []

    out = []
    for pcid in sorted(p for p in pcids if p is not None):
        b = batches.get(pcid, {})
        rows = cbdkxx.get(pcid) or twin(pcid, cbdkxx)
        hts = [r["HTMJ"] for r in rows if isinstance(r.get("HTMJ"), (int, float))]
        htmj = round(sum(hts), 2) if hts else None
        led = [r["DBMJ"] for r in (ledger.get(pcid) or twin(pcid, ledger, same_params=True)) if isinstance(r.get("DBMJ"), (int, float))]
        dbmj = round(sum(led), 2) if led else htmj
        dk = _dk_rows(b, dkbm)
        main = None
        if dk:
            main = next((r for r in dk if str(r.get("DKLB") or "") == "10"), dk[0])
        values = dict(HTMJ=htmj, DBMJ=dbmj, SCMJ=(round(float(main["SCMJ"]), 2) if main and main.get("SCMJ") is not None else None))
        for f in ("DKMC", "DKLB", "TDYT", "DLDJ", "SFJBNT"):
            values[f] = (main or {}).get(f)
        qz = sorted({r.get("CBJYQZBM") for r in rows if r.get("CBJYQZBM")})
        values["CBJYQZBM"] = ";".join(qz) or None
        for f, v in incoming.get(pcid, {}).items():  # what this batch carried where it differed from the database
            if f in values:
                values[f] = v
        if not rows and not dk and pcid == cur.get("PCID"):
            continue  # nothing of this batch is left to read
        out.append(dict(PCID=pcid, batch=b, cbdkxx=rows, ledger=ledger.get(pcid) or twin(pcid, ledger, True), dk=dk, values=values,
                        dk_readable=dk is not None, has_tables=bool(rows)))
    return out


def _archive(c, gpkg_path, cur, delivered, batches):
    """The files the parcel's records point to, each with where it was found, its SHA-256 and its status."""
    wanted = []
    for field in ("DKSYT", "QSLYFJ"):
        for rel in str(cur.get(field) or "").split(";"):
            if _norm(rel) and (field, _norm(rel)) not in wanted:
                wanted.append((field, _norm(rel)))
    certs = sorted({r.get("CBJYQZBM") for d in delivered for r in d["cbdkxx"] if r.get("CBJYQZBM")})
    if certs:
        marks = ",".join("?" * len(certs))
        if regdb.has_table(c, "qs_cbjyqzdjb"):
            for (rel,) in c.execute(f"SELECT DKSYT FROM qs_cbjyqzdjb WHERE CBJYQZBM IN ({marks})", certs):
                if _norm(rel) and ("DKSYT", _norm(rel)) not in wanted:
                    wanted.append(("DKSYT", _norm(rel)))
        if regdb.has_table(c, "qs_qslyzlfj"):
            for (rel,) in c.execute(f"SELECT FJ FROM qs_qslyzlfj WHERE CBJYQZBM IN ({marks})", certs):
                if _norm(rel) and ("QSLYFJ", _norm(rel)) not in wanted:
                    wanted.append(("QSLYFJ", _norm(rel)))
    stored = {}
    if regdb.has_table(c, "archive"):
        for r in regdb.dicts(c, "SELECT * FROM archive ORDER BY fid"):
            stored[_norm(r.get("rel"))] = r
    order = [cur.get("PCID")] + [d["PCID"] for d in delivered] + sorted(batches)
    roots = []
    for pcid in order:
        root = regdb.package_root(batches.get(pcid))
        if root is not None and root not in roots:
            roots.append(root)
    base = Path(gpkg_path).resolve().parent if isinstance(gpkg_path, (str, Path)) and not pgconn.is_database(gpkg_path) else None
    out = []
    for field, rel in wanted:
        rec = stored.get(rel)
        cands = []
        if rec and rec.get("stored") and base is not None:
            cands.append(("archive", base / str(rec["stored"])))
        cands += [("delivery", r / rel) for r in roots]
        where, path = next(((w, p) for w, p in cands if p.is_file()), (None, None))
        sha = inventory.sha256(path) if path else None
        size = path.stat().st_size if path else None
        recorded = (rec or {}).get("sha256")
        if path is None:
            status, ok = "缺失 missing", False
        elif recorded and recorded != sha:
            status, ok = "存在，但与入库时的 SHA-256 不一致 changed since archiving", False
        elif recorded:
            status, ok = "存在，与入库时一致 present, unchanged", True
        else:
            status, ok = "存在（成果包原位置）present in the delivery", True
        out.append(dict(kind=ARCHIVE_KINDS[field], field=field, rel=rel, where={"archive": "存档 archive", "delivery": "成果包 delivery"}.get(where, ""),
                        path=str(path) if path else "", sha256=sha, recorded=recorded, size=size, present=path is not None,
                        ok=ok, status=status))
    return out


def _household(c, cbfbms, mask):
    def newest(table, key, value):
        if not regdb.has_table(c, table):
            return []
        rows = regdb.dicts(c, f'SELECT * FROM "{table}" WHERE {key} = ? ORDER BY fid', (value,))
        if not rows:
            return []
        top = max((r.get("PCID") or 0) for r in rows)
        return [r for r in rows if (r.get("PCID") or 0) == top]
    out = []
    for cbf in cbfbms:
        info = (newest("qs_cbf", "CBFBM", cbf) or [{}])[0]
        members = newest("qs_cbf_jtcy", "CBFBM", cbf)
        if mask:
            info = dict(info, CBFMC=mask_name(info.get("CBFMC")) if info.get("CBFMC") else info.get("CBFMC"),
                        CBFZJHM=mask_id(info.get("CBFZJHM")) if info.get("CBFZJHM") else None,
                        LXDH=mask_id(info.get("LXDH")) if info.get("LXDH") else None)
            members = [dict(m, CYXM=mask_name(m.get("CYXM")), CYZJHM=mask_id(m.get("CYZJHM")) if m.get("CYZJHM") else None) for m in members]
        out.append(dict(CBFBM=cbf, info=info, members=members, contracts=newest("qs_cbht", "CBFBM", cbf),
                        certificates=newest("qs_cbjyqzdjb", "CBFBM", cbf)))
    return out


def _history(c, dkbm, delivered, batches):
    events = []
    pcids = {d["PCID"] for d in delivered}
    if regdb.has_table(c, "audit"):
        for r in regdb.dicts(c, "SELECT * FROM audit WHERE DKBM = ? OR (DKBM IS NULL AND action = 'merge') ORDER BY fid", (dkbm,)):
            if r.get("DKBM") is None and r.get("PCID") not in pcids:
                continue
            detail = r.get("detail") or ""
            try:
                d = json.loads(detail)
                if isinstance(d, dict):
                    detail = "；".join(f"{k}: {v}" for k, v in d.items() if v not in (None, ""))
            except ValueError:
                pass
            events.append(dict(at=r.get("at") or "", user=r.get("user") or "", action=ACTIONS.get(r.get("action"), r.get("action") or ""),
                               PCID=r.get("PCID"), detail=detail))
    if regdb.has_table(c, "conflicts"):
        for r in regdb.dicts(c, "SELECT * FROM conflicts WHERE DKBM = ? ORDER BY fid", (dkbm,)):
            res = {"kept": "保留库中记录 kept", "replaced": "以新成果替换 replaced"}.get(r.get("resolution"), r.get("resolution") or "")
            events.append(dict(at=r.get("at") or "", user="", action=ACTIONS["conflict"], PCID=r.get("PCID"),
                               detail=f"字段 {r.get('fields')}；库中值 {r.get('existing')}；新成果值 {r.get('incoming')}；{res}"))
    events.sort(key=lambda e: (e["at"], e["PCID"] or 0))
    return events


def _neighbours(c, geom, dkbm, mask):
    if geom is None:
        return []
    x0, y0, x1, y1 = shapely.bounds(geom)
    d = NEIGHBOUR_DISTANCE
    where = regdb.bbox_where(c, x0 - d, y0 - d, x1 + d, y1 + d, "DKBM <> ?", (dkbm,))
    cols, geoms = regdb.parcels(c, ("DKBM", "CYLX", "CBFMC", "SCMJ", "CJMC", "ZJMC"), *where)
    out = []
    for i, g in enumerate(geoms):
        if g is not None and shapely.distance(g, geom) <= d:
            name = cols["CBFMC"][i]
            out.append(dict(DKBM=cols["DKBM"][i], CYLX=classify.CLASSES.get(cols["CYLX"][i], cols["CYLX"][i]), SCMJ=cols["SCMJ"][i],
                            CBFMC=mask_name(name) if mask and name else name, ZJMC=cols["ZJMC"][i]))
    return sorted(out, key=lambda r: r["DKBM"] or "")


def gather(gpkg_path, dkbm, mask=True):
    """Everything the dossier shows for one DKBM (LcbError when the database has no such parcel)."""
    c = regdb.connect(gpkg_path)
    try:
        rows = regdb.dicts(c, "SELECT * FROM cbdk WHERE DKBM = ?", (dkbm,))
        if not rows:
            raise LcbError(f"登记库中没有地块 {dkbm}", f"parcel {dkbm} is not in the registration database", path=str(gpkg_path),
                           record=dkbm, field="DKBM")
        cur = rows[0]
        geom = regdb.geometry(c, cur.pop("geom", None))
        if geom is not None and not shapely.is_valid(geom):
            geom = shapely.make_valid(geom)
        if mask:
            for f in ("CBFMC", "ZJRXM"):
                if cur.get(f):
                    cur[f] = "、".join(mask_name(x) for x in str(cur[f]).replace("等", "").split("、") if x) + ("等" if str(cur[f]).endswith("等") else "")
        batches = regdb.batches(c)
        delivered = _delivered(c, dkbm, cur, batches)
        first = delivered[0] if delivered else None
        compare = []
        for f, title in COMPARED:
            now = cur.get(f)
            if f == "CBJYQZBM" and now is None and first:
                now = first["values"].get(f)  # share-only parcels keep certificates in the delivered rows only
            vals = [d["values"].get(f) for d in delivered]
            ref = vals[0] if vals else None
            changed = bool(vals) and not (_num_equal(ref, now) if f in AREAS else str(ref or "") == str(now or ""))
            compare.append(dict(field=f, title=title, delivered=vals, current=now, changed=changed,
                                mu=[to_mu(v) if f in AREAS and isinstance(v, (int, float)) else None for v in vals]))
        holders = regdb.households(c, [dkbm]).get(dkbm, [])
        household = _household(c, [h["CBFBM"] for h in holders], mask)
        area = round(float(shapely.area(geom)), 2) if geom is not None else None
        county, county_name = regdb.county_of(c)
        return dict(
            DKBM=dkbm, current=cur, class_name=classify.CLASSES.get(cur.get("CYLX"), cur.get("CYLX")), geometry=geom,
            geometry_area=area, scmj_vs_geometry=(round(cur["SCMJ"] - area, 2) if cur.get("SCMJ") is not None and area is not None else None),
            batch=batches.get(cur.get("PCID"), {}), delivered=delivered, compare=compare, household=household,
            history=_history(c, dkbm, delivered, batches), archive=_archive(c, gpkg_path, cur, delivered, batches),
            neighbours=_neighbours(c, geom, dkbm, mask), masked=mask, gpkg=str(gpkg_path), county=county, county_name=county_name,
            created=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    finally:
        c.close()


def png_uri(png):
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None


def render(d, map_png=None):
    return report.render("parcel_dossier.html.j2", d=d, map_uri=png_uri(map_png))


def file_stem(dkbm):
    return f"地块档案_{dkbm}"


def write(gpkg_path, dkbms, folder, mask=True, map_png=None, pdf=None, progress=NULL_PROGRESS):
    """Dossiers for `dkbms` into `folder` (HTML, and PDF through pdf(html, path)). map_png(data) -> PNG bytes or None.
    Every DKBM is checked before anything is written; the files appear together or not at all."""
    dkbms = list(dict.fromkeys(dkbms))
    if not dkbms:
        raise LcbError("请至少给出一个地块编码", "give at least one parcel code (DKBM)", field="DKBM")
    c = regdb.connect(gpkg_path)
    try:
        known = {r[0] for r in c.execute(f"SELECT DKBM FROM cbdk WHERE DKBM IN ({','.join('?' * len(dkbms))})", dkbms)} if len(dkbms) < 900 else \
            {r[0] for r in c.execute("SELECT DKBM FROM cbdk")}
    finally:
        c.close()
    missing = [k for k in dkbms if k not in known]
    if missing:
        raise LcbError(f"登记库中没有这些地块：{'、'.join(missing)}", f"parcels not in the registration database: {', '.join(missing)}",
                       path=str(gpkg_path), record=",".join(missing), field="DKBM")
    with regdb.StagedFolder(folder) as st:
        for i, k in enumerate(dkbms):
            progress.check()
            d = gather(gpkg_path, k, mask)
            png = map_png(d) if map_png else None
            html = render(d, png)
            st.add(f"{file_stem(k)}.html").write_text(html, "utf-8")
            if pdf is not None:
                pdf(html, st.add(f"{file_stem(k)}.pdf"))
            progress.set(100 * (i + 1) / len(dkbms))
        progress.check()
        return st.commit()
