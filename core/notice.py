"""Permanent basic-farmland notices (永久基本农田告知书).

The parcels of a registration GeoPackage whose planar overlap with the farmland polygons exceeds MIN_OVERLAP
(m², in the registration database's CRS), one overlap record per parcel, and one notice per household that
holds such parcels (a share-only parcel gives a notice to each co-owning household). Overlaps are computed in
bulk with shapely 2: an STRtree query, then the intersections of the candidate pairs, unioned per parcel so
that overlapping farmland polygons are not counted twice."""
import datetime as dt
from pathlib import Path

import jinja2
import numpy as np
import shapely

from . import regdb, report
from .errors import NULL_PROGRESS, LcbError
from .output import mask_id, mask_name
from .params import to_mu

TEMPLATE = "farmland_notice.html.j2"
# The overlap layer: (field, type, Chinese title)
FIELDS = [("DKBM", "TEXT", "地块编码"), ("BDCDYH", "TEXT", "不动产单元号"), ("CBFBM", "TEXT", "承包方编码"),
          ("CBFMC", "TEXT", "承包方名称"),
          ("XZMC", "TEXT", "乡镇名称"), ("CJMC", "TEXT", "村名称"), ("ZJMC", "TEXT", "组名称"), ("DKMC", "TEXT", "地块名称"),
          ("SCMJ", "REAL", "实测面积（平方米）"), ("JBNTMJ", "REAL", "与永久基本农田重叠面积（平方米）"),
          ("JBNTMJM", "REAL", "与永久基本农田重叠面积（亩）"), ("BHQBH", "TEXT", "基本农田保护区编号")]
PARCEL_FIELDS = ("DKBM", "BDCDYH", "XZMC", "CJMC", "ZJMC", "DKMC", "SCMJ", "PCID")


def overlaps(gpkg_path, farmland, ids=None, min_overlap=1.0, progress=NULL_PROGRESS):
    """Rows (dicts, sorted by DKBM) for the parcels whose overlap area with `farmland` (shapely polygons in the
    database's CRS) exceeds min_overlap m²; each row has 'geometry' (the overlap) and the farmland ids it touches."""
    if min_overlap is None or min_overlap < 0:
        raise LcbError("最小重叠面积不能为负数", "MIN_OVERLAP must not be negative", field="MIN_OVERLAP", record=str(min_overlap))
    farm = np.asarray(farmland, dtype=object)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(farm))]
    ok = ~shapely.is_missing(farm) if len(farm) else np.zeros(0, bool)
    if len(farm):
        ok[ok] = ~shapely.is_empty(farm[ok])
        bad = np.zeros(len(farm), bool)
        bad[ok] = ~shapely.is_valid(farm[ok])
        if bad.any():
            farm[bad] = shapely.make_valid(farm[bad])
    keep = np.nonzero(ok)[0]
    c = regdb.connect(gpkg_path)
    try:
        where = ("", ())
        if getattr(c, "is_pg", False) and len(keep):  # a shared database holds other counties: only the parcels near the farmland
            where = regdb.bbox_where(c, *shapely.total_bounds(farm[keep]).tolist())
        cols, geoms = regdb.parcels(c, PARCEL_FIELDS, *where)
        progress.set(20)
        progress.check()
        if not len(keep) or not len(geoms):
            return []
        has = ~shapely.is_missing(geoms)
        pidx = np.nonzero(has)[0]
        tree = shapely.STRtree(geoms[pidx])
        fi, pj = tree.query(farm[keep], predicate="intersects")
        progress.set(40)
        progress.check()
        if not len(fi):
            return []
        par = pidx[pj]
        fam = keep[fi]
        order = np.lexsort((fam, par))
        par, fam = par[order], fam[order]
        pieces = shapely.intersection(geoms[par], farm[fam])
        progress.set(70)
        progress.check()
        starts = np.r_[0, np.nonzero(np.diff(par))[0] + 1]
        ends = np.r_[starts[1:], len(par)]
        rows = []
        for s, e in zip(starts, ends):
            geom = pieces[s] if e - s == 1 else shapely.union_all(pieces[s:e])
            geom = _polygonal(geom)
            area = float(shapely.area(geom)) if geom is not None else 0.0
            if area <= min_overlap:
                continue
            i = int(par[s])
            row = {f: cols[f][i] for f in PARCEL_FIELDS}
            row.update(JBNTMJ=round(area, 2), JBNTMJM=to_mu(round(area, 2)), geometry=geom,
                       BHQBH="、".join(sorted({ids[int(j)] for j in fam[s:e]})))
            rows.append(row)
        rows.sort(key=lambda r: r["DKBM"] or "")
        progress.set(90)
        return rows
    finally:
        c.close()


def _polygonal(g):
    """The polygonal part of an intersection (touching edges give lines and points, which have no area)."""
    if g is None or shapely.is_empty(g):
        return None
    if shapely.get_type_id(g) in (3, 6):
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else None


def build(gpkg_path, farmland, ids=None, min_overlap=1.0, mask=True, progress=NULL_PROGRESS):
    """Everything the notices and the overlap layer need: {rows, notices, orphans, county, ...}."""
    rows = overlaps(gpkg_path, farmland, ids, min_overlap, progress.sub(0, 80))
    c = regdb.connect(gpkg_path)
    try:
        holders = regdb.households(c, [r["DKBM"] for r in rows])
        county, county_name = regdb.county_of(c)
    finally:
        c.close()
    notices, orphans = {}, []
    for r in rows:
        hs = holders.get(r["DKBM"]) or []
        r["CBFBM"] = "、".join(h["CBFBM"] for h in hs) or None
        names = [h["CBFMC"] or "" for h in hs]
        r["CBFMC"] = "、".join(mask_name(n) if mask else n for n in names) or None
        if not hs:
            orphans.append(r["DKBM"])
        for h in hs:
            n = notices.get(h["CBFBM"])
            if n is None:
                n = notices[h["CBFBM"]] = dict(
                    CBFBM=h["CBFBM"], CBFMC=(mask_name(h["CBFMC"]) if mask else h["CBFMC"]) or "",
                    CBFZJHM=(mask_id(h["CBFZJHM"]) if mask else h["CBFZJHM"]) or "",
                    CBFDZ=h["CBFDZ"] or "", parcels=[], JBNTMJ=0.0)
            n["parcels"].append(dict(r, shared=len(hs) > 1))
            n["JBNTMJ"] += r["JBNTMJ"]
    for n in notices.values():
        n["JBNTMJ"] = round(n["JBNTMJ"], 2)
        n["JBNTMJM"] = to_mu(n["JBNTMJ"])
        n["village"] = "、".join(sorted({(p["XZMC"] or "") + (p["CJMC"] or "") for p in n["parcels"]}))
    progress.set(85)
    return dict(rows=rows, notices=[notices[k] for k in sorted(notices)], orphans=orphans, county=county,
                county_name=county_name, min_overlap=min_overlap, masked=mask, gpkg=str(gpkg_path),
                created=dt.date.today().strftime("%Y年%m月%d日"))


def template_env(template=None):
    """(jinja2 environment, template name): the bundled notice, or a county's own file, which may extend the
    bundled base.html.j2 and use the same filters."""
    if not template:
        return report.env(), TEMPLATE
    p = Path(template)
    if not p.is_file():
        raise LcbError("找不到告知书模板文件", "notice template not found", path=str(p), field="TEMPLATE")
    env = report.env().overlay(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(p.parent)), report.env().loader]))
    return env, p.name


def render(result, notice, template=None, _env=None):
    env, name = _env or template_env(template)
    try:
        return env.get_template(name).render(n=notice, notice=notice, rep=result)
    except jinja2.TemplateSyntaxError as e:
        raise LcbError(f"告知书模板有语法错误：{e.message}", f"syntax error in the notice template: {e.message}",
                       path=str(e.filename or template or name), record=f"第 {e.lineno} 行 line {e.lineno}", field="TEMPLATE") from None
    except jinja2.TemplateError as e:
        raise LcbError(f"告知书模板无法生成：{e}", f"the notice template failed: {e}", path=str(template or name), field="TEMPLATE") from None


def file_stem(notice):
    return f"告知书_{notice['CBFBM']}"


def write(result, folder, template=None, pdf=None, progress=NULL_PROGRESS):
    """One HTML (and, with `pdf(html, path)`, one PDF) per household into `folder`, plus index.html. All files are
    built in a temporary folder beside it and moved in only when every notice is done: a failed or cancelled
    run leaves the folder as it was. Returns the written paths."""
    env = template_env(template)
    with regdb.StagedFolder(folder) as st:
        n = len(result["notices"])
        for i, notice in enumerate(result["notices"]):
            progress.check()
            html = render(result, notice, template, env)
            stem = file_stem(notice)
            st.add(f"{stem}.html").write_text(html, "utf-8")
            if pdf is not None:
                pdf(html, st.add(f"{stem}.pdf"))
            progress.set(100 * (i + 1) / max(1, n) * 0.95)
        st.add("index.html").write_text(report.render("farmland_index.html.j2", rep=result), "utf-8")
        progress.check()
        out = st.commit()
    progress.set(100)
    return out
