"""Package rules: folders, files, naming, companions, metadata, county code, CRS, readability."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import shapely

from .. import crs as crsmod
from ..issues import rule

_SCAN = "{detail}"


@rule("package.missing_folder", "package", "error", _SCAN, "A folder the delivery rules require (矢量数据, 权属数据, 汇总表格) is missing.",
      zh="缺少必备文件夹")
@rule("package.missing_layer", "package", "error", _SCAN, "A required vector layer (DK by default; parameter REQUIRED_LAYERS) is missing.",
      zh="缺少必备矢量图层")
@rule("package.recommended_layer", "package", "warning", _SCAN, "JZD/JZX boundary layers are absent.",
      why="the 汇交 rules list them, but many deliveries legitimately omit them; require them with REQUIRED_LAYERS.", zh="未提供界址点/界址线图层")
@rule("package.missing_companion", "package", "error", _SCAN, "A shapefile lacks its .shx, .dbf or .prj.", zh="缺少 .shx/.dbf/.prj 配套文件")
@rule("package.missing_metadata", "package", "error", _SCAN, "No SL<county><year>.xml vector metadata.", zh="缺少矢量元数据 SL*.xml")
@rule("package.missing_attr_db", "package", "error", _SCAN, "No attribute database <county><year>.mdb (or .sqlite/.gpkg).", zh="缺少属性数据库")
@rule("package.missing_code_table", "package", "error", _SCAN, "No <county><year>权属单位代码表.xls.", zh="缺少权属单位代码表")
@rule("package.file_naming", "package", "warning", _SCAN, "A shapefile name does not follow <LAYER><county6><year4>.shp.",
      why="the file is still read; only the name is off.", zh="矢量文件名不规范")
@rule("package.county_mismatch", "package", "error", _SCAN, "The county code in a file name differs from the package root's.",
      zh="文件名县级代码与成果包不一致")
@rule("package.unreadable", "package", "error", _SCAN, "A file cannot be read (truncated, corrupt, wrong format); the rest is still checked.",
      zh="文件无法读取（损坏或截断）")
@rule("package.ledger_columns", "package", "error", _SCAN, "The certificate-issue ledger lacks a DKBM or registered-area column.",
      zh="台账缺少地块编码或登簿面积列")
@rule("schema.missing_table", "schema", "error", _SCAN, "A standard table is missing from the attribute database.", zh="属性数据库缺少标准表")
@rule("schema.missing_field", "schema", "error", _SCAN, "A standard field is missing from a table.", zh="属性表缺少标准字段")
@rule("encoding.no_cpg", "encoding", "warning", _SCAN, "A shapefile has no .cpg; its text was decoded by detection.",
      why="the text is still read correctly (GBK/GB18030 vs UTF-8 detected from the bytes); the .cpg should be added.",
      zh="缺少 .cpg 编码声明（已自动识别）")
def scan_problems(ctx):
    for rid, key, field, msg, value, layer in ctx.ws.problems:
        ctx.issue(rid, key, field, value, layer=layer, detail=msg)


@rule("package.crs_unknown", "package", "error", "{layer} 的坐标系不是 CGCS2000 3度带高斯-克吕格投影（.prj 无法识别）",
      "The DK layer's .prj is not a CGCS2000 3-degree Gauss–Krüger projection (EPSG 4513–4554).")
@rule("package.crs_extent", "package", "error", "{layer} 的坐标与声明的坐标系不符：{detail}",
      "Coordinates do not fit the declared zone (e.g. zone prefix missing or wrong zone).")
@rule("package.crs_inconsistent", "package", "error", "{layer} 的坐标系（{detail}）与地块图层不一致",
      "A vector layer's CRS differs from the DK layer's.")
def crs_rules(ctx):
    dk = ctx.ws.dk
    if dk is None or not dk.paths:
        return
    rel = ctx.ws.d.rel(dk.paths[0])
    if dk.epsg is None:
        ctx.issue("package.crs_unknown", rel.replace(".shp", ".prj"), "", dk.wkt[:120], layer="DK")
        return
    geoms = dk.geoms[~shapely.is_missing(dk.geoms)] if dk.n else []
    if len(geoms):
        b = shapely.total_bounds(geoms)
        if np.all(np.isfinite(b)):
            why = crsmod.check_extent(dk.epsg, b[0], b[2], b[1], b[3])
            if why:
                ctx.issue("package.crs_extent", rel, "", crsmod.describe(dk.epsg), layer="DK", detail=why)
    for prefix in ctx.ws.d.vectors:
        if prefix == "DK":
            continue
        lyr = ctx.ws.layer(prefix)
        if lyr is None or not lyr.paths:
            continue
        if lyr.epsg != dk.epsg:
            ctx.issue("package.crs_inconsistent", ctx.ws.d.rel(lyr.paths[0]), "", lyr.epsg, layer=prefix, detail=crsmod.describe(lyr.epsg))


@rule("package.metadata", "package", "warning", "矢量元数据 {field} 为 {value}，与 {detail} 不一致",
      "The SL*.xml metadata (geoID, centralMer, eastFAL) disagrees with the package or the .prj.",
      why="metadata is descriptive; the .prj and the data decide.")
def metadata_rule(ctx):
    d = ctx.ws.d
    if d.metadata_xml is None:
        return
    rel = d.rel(d.metadata_xml)
    try:
        root = ET.parse(d.metadata_xml).getroot()
    except (ET.ParseError, OSError) as e:
        ctx.issue("package.unreadable", rel, "", "", layer="SL", detail=f"元数据 XML 无法解析：{e}")
        return

    def text(tag):
        el = root.find(f".//{tag}")
        return (el.text or "").strip() if el is not None and el.text else ""
    geo = text("geoID")
    if geo and geo[:6] != d.county:
        ctx.issue("package.metadata", rel, "geoID", geo, layer="SL", detail=f"成果包县级代码 {d.county}")
    dk = ctx.ws.dk
    if dk is not None and dk.epsg:
        z = (crsmod.PREFIXED.get(dk.epsg) or crsmod.PLAIN.get(dk.epsg))
        cm = text("centralMer")
        if cm and re.fullmatch(r"[\d.]+", cm) and abs(float(cm) - z[1]) > 1e-6:
            ctx.issue("package.metadata", rel, "centralMer", cm, layer="SL", detail=f".prj 的中央经线 {z[1]}")
