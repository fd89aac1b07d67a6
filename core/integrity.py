"""Is a delivery fit to be integrated? The conditions under which merging it would store wrong data.

- the DK layer cannot be read completely (a .shp/.shx/.dbf missing, truncated or damaged, record counts that
  disagree, fewer features read than the .dbf declares);
- the DK layer is not a polygon layer;
- its CRS is missing, or contradicts its coordinates (an explicit SOURCE_CRS may name the delivery's CRS instead
  of the .prj, and is then checked against the coordinates too — never applied silently);
- the attribute database is missing, unreadable, not a confirmation database (none of the 12 tables), lacks a
  table the merge needs, or holds no contractors or no contracted parcels (an empty vendor template).

`check()` finds them once for everyone: `merge` refuses before touching TARGET (`assert_mergeable`), `validate`
reports them as package errors (core/rules/integrity.py) and `inventory` never calls such a delivery complete.
Every condition names its file and says, in Chinese and English, what to do."""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import crs as crsmod
from . import schema
from . import vector
from .errors import NULL_PROGRESS, LcbError

# Tables the merge builds its records from; the others are copied when present.
MERGE_TABLES = ("FBF", "CBF", "CBHT", "CBDKXX", "CBJYQZDJB")
CHINA = (70.0, 0.0, 140.0, 60.0)  # lon/lat box every delivery's coordinates must fall in

ASK_COPY = ("请向移交单位索取完整、未损坏的成果包后重试", "ask the delivering agency for a complete, undamaged copy and try again")
FIX_CRS = ("请修正 .prj 文件，或用参数 SOURCE_CRS 指明成果的坐标系（如 EPSG:4527）",
           "fix the .prj file, or name the delivery's CRS with the SOURCE_CRS parameter (e.g. EPSG:4527)")
ASK_DB = ("请向移交单位索取完整的属性数据库（权属数据/<县代码><年份>.mdb）",
          "ask the delivering agency for the complete attribute database (权属数据/<county><year>.mdb)")


_DK_FOLD = ("reference.cbdkxx_dkbm_not_in_dk", "reference.dk_without_cbdkxx", "schema.dk_missing_field", "schema.dk_missing_optional",
            "package.crs_unknown")


@dataclass
class Finding:
    rule: str  # the validate rule that reports it
    file: str  # delivery-relative path of the file concerned
    zh: str
    en: str
    todo: tuple = ASK_COPY  # (zh, en): what the user can do
    missing: bool = True  # inventory: a required item is missing or unusable (COMPLETE = false)
    fold: tuple = ()  # validate: rule ids or categories whose issues only restate this one
    fold_files: str = ""  # validate: also fold package issues about files whose path starts with this


@dataclass
class Result:
    findings: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # (zh, en): what was decided (e.g. SOURCE_CRS applied)
    crs: tuple = None  # (epsg or None, wkt) the delivery's CRS to use, when SOURCE_CRS replaced the .prj's

    @property
    def ok(self):
        return not self.findings


# ------------------------------------------------------------------ DK
def _dk_findings(ws):
    d, out = ws.d, []
    shps = d.vectors.get("DK") or []
    if not shps:
        return [Finding("package.missing_layer", "矢量数据/DK<县代码><年份>.shp",
                        "成果包中没有地块图层 DK（矢量数据/DK<县代码><年份>.shp）",
                        "the delivery has no DK parcel layer (矢量数据/DK<county><year>.shp)")]
    read = np.bincount(ws.dk.source_index, minlength=len(shps)) if ws.dk is not None and ws.dk.source_index is not None else None
    for idx, shp in enumerate(shps):
        shp = Path(shp)
        rel = d.rel(shp)
        bad = False
        for ext, zh, en in ((".shx", "索引文件", "index file"), (".dbf", "属性文件", "attribute file")):
            comp = shp.with_suffix(ext)
            if not comp.exists() and not shp.with_suffix(ext.upper()).exists():
                out.append(Finding("package.missing_companion", d.rel(comp), f"地块图层缺少{zh} {comp.name}，无法完整读取",
                                   f"the DK layer's {en} {comp.name} is missing, so the layer cannot be read completely",
                                   fold=_DK_FOLD, fold_files=rel[:-3]))
                bad = True
        if bad:
            continue
        why = vector.shp_check(shp)
        if why:
            out.append(Finding("package.unreadable", rel, f"地块图层 {shp.name} 已损坏：{why[0]}", f"the DK layer {shp.name} is damaged: {why[1]}",
                               fold=_DK_FOLD, fold_files=rel[:-3]))
            continue
        dbf = shp.with_suffix(".dbf")
        why = vector.dbf_check(dbf)
        if why:
            out.append(Finding("package.unreadable", d.rel(dbf), f"地块图层的属性文件 {dbf.name} 已损坏：{why[0]}",
                               f"the DK layer's attribute file {dbf.name} is damaged: {why[1]}",
                               fold=_DK_FOLD, fold_files=rel[:-3]))
            continue
        head = vector.shp_header(shp)
        n_dbf = vector.dbf_records(dbf) or 0
        if head and n_dbf and head[0] not in vector.POLYGON_TYPES:
            kind = vector.SHAPE_TYPES.get(head[0], (f"类型 {head[0]}", f"type {head[0]}"))
            out.append(Finding("package.dk_not_polygon", rel, f"地块图层 {shp.name} 是{kind[0]}图层，不是面图层，地块没有图形范围",
                               f"the DK layer {shp.name} is a {kind[1]} layer, not a polygon layer: the parcels have no outline",
                               todo=("请向移交单位索取以面图层提交的地块图层", "ask the delivering agency for the DK layer as polygons"),
                               fold=("geometry.not_polygon", "area.scmj_geometry")))
            continue
        if read is not None and ws.dk.n and read[idx] < n_dbf:
            out.append(Finding("package.dk_incomplete", rel, f"地块图层 {shp.name} 只读出 {int(read[idx])} 个地块，属性文件声明 {n_dbf} 个",
                               f"only {int(read[idx])} of the {n_dbf} parcels the DK layer {shp.name} declares could be read",
                               fold=_DK_FOLD, fold_files=rel[:-3]))
    if not out and ws.dk is not None:  # anything else GDAL could not read (e.g. an unsupported variant)
        for rule, key, _f, msg, _v in ws.dk.problems:
            if rule == "package.unreadable":
                out.append(Finding("package.unreadable", key, f"地块图层无法完整读取：{msg}", f"the DK layer cannot be read completely ({key})"))
    return out


# ------------------------------------------------------------------ CRS
def _pyproj_crs(text):
    from pyproj import CRS
    from pyproj.exceptions import CRSError
    try:
        return CRS.from_user_input(text)
    except CRSError:
        return None


def parse_crs(value):
    """SOURCE_CRS as given (EPSG code, 'EPSG:4527', WKT or anything PROJ reads) -> pyproj CRS; LcbError if unreadable."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    c = _pyproj_crs(f"EPSG:{text}" if text.isdigit() else text)
    if c is None:
        raise LcbError(f"无法识别参数 SOURCE_CRS 的坐标系“{text[:80]}”", f"SOURCE_CRS “{text[:80]}” is not a coordinate reference system",
                       field="SOURCE_CRS")
    return c


def _name(c, epsg=None):
    if epsg and (epsg in crsmod.PREFIXED or epsg in crsmod.PLAIN):
        return f"EPSG:{epsg}（{crsmod.describe(epsg)}）", f"EPSG:{epsg}"
    code = c.to_epsg() if c is not None else None
    label = c.name if c is not None else "?"
    return (f"EPSG:{code}（{label}）" if code else label), (f"EPSG:{code} ({label})" if code else label)


def _bbox(shps):
    boxes = []
    for shp in shps:
        head = vector.shp_header(shp)
        if head and vector.dbf_records(Path(shp).with_suffix(".dbf")):
            b = head[1]
            if all(np.isfinite(b)) and (b[2] > b[0] or b[3] > b[1] or b[0] != 0):
                boxes.append(b)
    if not boxes:
        return None
    a = np.array(boxes)
    return float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 2].max()), float(a[:, 3].max())


def fits(c, epsg, box):
    """Do coordinates with bounding box `box` make sense in CRS `c`? None if they do, else a reason (zh, en)."""
    xmin, ymin, xmax, ymax = box
    where = (f"坐标范围 X {xmin:,.0f}–{xmax:,.0f}，Y {ymin:,.0f}–{ymax:,.0f}", f"coordinates X {xmin:,.0f}–{xmax:,.0f}, Y {ymin:,.0f}–{ymax:,.0f}")
    if epsg in crsmod.PREFIXED or epsg in crsmod.PLAIN:
        why = crsmod.check_extent(epsg, xmin, xmax, ymin, ymax)
        return None if why is None else (why, f"{where[1]} are outside EPSG:{epsg}'s zone")
    if c is None:
        return None
    try:
        if c.is_geographic:
            lon = (xmin, xmax)
            lat = (ymin, ymax)
        else:
            from pyproj import Transformer
            tr = Transformer.from_crs(c, "EPSG:4326", always_xy=True)
            xs, ys = tr.transform([xmin, xmax, xmin, xmax], [ymin, ymin, ymax, ymax])
            lon, lat = (min(xs), max(xs)), (min(ys), max(ys))
    except Exception:  # noqa: BLE001 - PROJ cannot place the coordinates at all
        lon = lat = (float("nan"), float("nan"))
    ok = all(np.isfinite(lon + lat)) and CHINA[0] <= lon[0] and lon[1] <= CHINA[2] and CHINA[1] <= lat[0] and lat[1] <= CHINA[3]
    if ok:
        return None
    return (f"{where[0]}，按此坐标系不在中国境内", f"{where[1]}, which in this CRS are not in China")


def guess(box):
    """What coordinates look like, for the message: (zh, en, epsg or None)."""
    xmin, _ymin, xmax, _ymax = box
    zone = int(xmin // 1_000_000)
    if 25 <= zone <= 45 and int(xmax // 1_000_000) == zone:
        epsg = 4513 + zone - 25
        return (f"坐标看来是 CGCS2000 3度带第{zone}带带号坐标（EPSG:{epsg}）",
                f"the coordinates look like CGCS2000 3° zone {zone} with the zone prefix (EPSG:{epsg})", epsg)
    if 100_000 <= xmin and xmax <= 900_000:
        return "坐标看来是不带带号的高斯-克吕格坐标", "the coordinates look like Gauss–Krüger without the zone prefix", None
    if -180 <= xmin and xmax <= 180:
        return "坐标看来是经纬度", "the coordinates look like longitude/latitude", None
    return "", "", None


def _crs_check(ws, declared, res):
    d = ws.d
    shps = d.vectors.get("DK") or []
    if not shps:
        return
    shp = Path(shps[0])
    prj = next((p for p in (shp.with_suffix(".prj"), shp.with_suffix(".PRJ")) if p.exists()), None)
    rel_prj = d.rel(shp.with_suffix(".prj"))
    box = _bbox(shps)
    wkt, c_prj, epsg_prj = "", None, None
    if prj is not None:
        try:
            wkt = prj.read_text("utf-8", "replace").strip()
        except OSError:
            wkt = ""
        epsg_prj = crsmod.identify(wkt)
        c_prj = _pyproj_crs(wkt) if wkt else None
    if declared is not None:
        epsg_d = declared.to_epsg()
        name = _name(declared, epsg_d)
        if box is not None:
            why = fits(declared, epsg_d, box)
            if why:
                g = guess(box)
                res.findings.append(Finding("package.crs_contradicts", rel_prj,
                                            f"参数 SOURCE_CRS 指定的坐标系 {name[0]} 与地块图层的坐标不符：{why[0]}"
                                            + (f"；{g[0]}" if g[0] else ""),
                                            f"the CRS given as SOURCE_CRS, {name[1]}, contradicts the DK coordinates: {why[1]}" + (f"; {g[1]}" if g[1] else ""),
                                            todo=FIX_CRS, missing=False))
                return
        same = epsg_d is not None and (epsg_d == epsg_prj or (c_prj is not None and c_prj.to_epsg() == epsg_d))
        if not same:
            was = ("缺失" if prj is None else f"声明为 {_name(c_prj, epsg_prj)[0]}" if c_prj is not None else "无法识别")
            was_en = ("missing" if prj is None else f"declares {_name(c_prj, epsg_prj)[1]}" if c_prj is not None else "unreadable")
            res.notes.append((f"按参数 SOURCE_CRS 将地块图层的坐标系视为 {name[0]}（{shp.with_suffix('.prj').name} {was}）",
                              f"the DK layer's CRS is taken as {name[1]} from SOURCE_CRS (its .prj {was_en})"))
            res.crs = (epsg_d, declared.to_wkt())
        return
    if prj is None:
        res.findings.append(Finding("package.missing_companion", rel_prj,
                                    f"地块图层缺少坐标系文件 {shp.with_suffix('.prj').name}，无法确定坐标系",
                                    f"the DK layer's CRS file {shp.with_suffix('.prj').name} is missing, so its coordinate system is unknown", todo=FIX_CRS,
                                    fold=("package.crs_unknown",)))
        return
    if c_prj is None and epsg_prj is None:
        res.findings.append(Finding("package.crs_unknown", rel_prj, f"地块图层的坐标系文件 {prj.name} 无法识别",
                                    f"the DK layer's CRS file {prj.name} cannot be read",
                                    todo=FIX_CRS, missing=False))
        return
    if box is None:
        return
    why = fits(c_prj, epsg_prj, box)
    if why:
        g = guess(box)
        name = _name(c_prj, epsg_prj)
        res.findings.append(Finding("package.crs_extent" if epsg_prj else "package.crs_contradicts", rel_prj,
                                    f"地块图层的坐标系文件 {prj.name} 声明为 {name[0]}，但与坐标不符：{why[0]}"
                                    + (f"；{g[0]}" if g[0] else ""),
                                    f"the DK layer's {prj.name} declares {name[1]}, which contradicts its coordinates: {why[1]}"
                                    + (f"; {g[1]}" if g[1] else ""),
                                    todo=FIX_CRS, missing=False, fold=("package.crs_unknown",)))


# ------------------------------------------------------------------ attribute database
def _db_findings(ws):
    d, st = ws.d, ws.stage
    if d.attr_db is None:
        return [Finding("package.missing_attr_db", "权属数据/<县代码><年份>.mdb",
                        "成果包中没有属性数据库（权属数据/<县代码><年份>.mdb）",
                        "the delivery has no attribute database (权属数据/<county><year>.mdb)", todo=ASK_DB, fold=("reference",))]
    rel, name = d.rel(d.attr_db), Path(d.attr_db).name
    if st.db_error is not None:
        return [Finding("package.unreadable", rel, f"属性数据库 {name} 无法读取：{st.db_error[0]}",
                        f"the attribute database {name} cannot be read: {st.db_error[1]}",
                        todo=ASK_DB, fold=("reference",))]
    if not st.present:
        return [Finding("package.not_attr_db", rel,
                        f"属性数据库 {name} 中没有任何一张确权标准表（FBF、CBF、CBDKXX 等 12 张），"
                        "不是确权成果的属性数据库",
                        f"the attribute database {name} holds none of the 12 standard tables (FBF, CBF, CBDKXX, …): it is not a confirmation database",
                        todo=ASK_DB, fold=("reference",))]
    lacking = [t for t in MERGE_TABLES if t not in st.present]
    if lacking:
        zh = "、".join(f"{t}（{schema.TABLE_TITLES[t]}）" for t in lacking)
        return [Finding("schema.missing_table", rel, f"属性数据库 {name} 缺少入库所需的表 {zh}",
                        f"the attribute database {name} lacks the table(s) {', '.join(lacking)} the merge needs",
                        todo=ASK_DB)]
    n_cbf, n_dk = st.count("CBF"), st.count("CBDKXX")
    if not n_cbf or not n_dk:
        return [Finding("package.attr_db_empty", rel,
                        f"属性数据库 {name} 没有数据：承包方（CBF）{n_cbf} 条，承包地块信息（CBDKXX）{n_dk} 条，"
                        "像是未填写的空模板",
                        f"the attribute database {name} holds no data: {n_cbf} contractors (CBF), {n_dk} contracted parcels (CBDKXX), like an empty template",
                        todo=ASK_DB, fold=("reference",))]
    return []


# ------------------------------------------------------------------ entry points
def check(ws, declared_crs=None):
    """All integrity conditions of an open workspace. declared_crs: SOURCE_CRS (None: the .prj decides)."""
    declared = parse_crs(declared_crs)
    res = Result()
    res.findings += _dk_findings(ws)
    _crs_check(ws, declared, res)
    res.findings += _db_findings(ws)
    return res


def message(findings, new_target=False):
    """One bilingual message for a refused merge (printed once on one line)."""
    todo = []
    for f in findings:
        if f.todo not in todo:
            todo.append(f.todo)
    db = (("未新建登记库", "no registration database was created") if new_target
          else ("登记库没有任何改动", "the registration database was not changed"))
    zh = f"成果包未入库，{db[0]}：" + "；".join(f.zh for f in findings) + "。" + "；".join(t[0] for t in todo) + "。"
    en = f"the delivery was not merged and {db[1]}: " + "; ".join(f.en for f in findings) + ". " + \
         "; ".join(t[1][0].upper() + t[1][1:] for t in todo) + "."
    return zh, en


def assert_mergeable(ws, target=None, declared_crs=None, progress=NULL_PROGRESS):
    """Refuse (LcbError) a delivery whose merge would store wrong data, before anything touches `target`; with
    SOURCE_CRS accepted, make it the DK layer's CRS (and say so through progress.info). Also checks that the target
    can be written, and creates its folder."""
    res = check(ws, declared_crs)
    if res.findings:
        zh, en = message(res.findings, new_target=target is not None and not Path(target).exists())
        raise LcbError(zh, en, path=str(ws.d.root / res.findings[0].file) if "<" not in res.findings[0].file else str(ws.d.root))
    for zh, en in res.notes:
        progress.info(f"{zh} / {en}")
    if res.crs is not None and ws.dk is not None:
        ws.dk.epsg, ws.dk.wkt = res.crs
    if target is not None:
        from .output import check_writable
        what = ("登记库", "registration database")
        check_writable(target, what)  # an existing one: the file and its folder (SQLite writes a journal beside it)
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            from .output import write_error
            raise (write_error(e, target, what)
                   or LcbError(f"无法建立文件夹：{e.strerror}", f"cannot create the folder: {e.strerror}", path=str(target))) from None
    return res
