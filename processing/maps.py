"""Maps drawn by QGIS for the documents: the parcel-and-neighbours picture of a dossier (QgsMapSettings and a
custom-painter render job into a PNG) and the village consultation atlas (a QgsPrintLayout driven by a
QgsLayoutAtlas over one feature per village, exported to PDF). Works without iface (qgis_process).

The atlas layout is a .qpt file: resources/layouts/village_atlas.qpt by default, or a county's own. What the
code fills in, by convention:
- every map item (QgsLayoutItemMap) gets the parcels (styled by area class, labelled by the last 7 digits of
  DKBM for the page's village) and the village outline, and follows the atlas feature;
- every attribute table gets the consultation rows, filtered to the page's village; its columns name the
  fields DKBM, ZJMC, DKMC, CBFMC (already masked when MASK is set), HTMJ, DBMJ, SCMJ, HTDBC, HTSCC, CYLXMC,
  XSZT, XSBZ, BDCDYH;
- labels may use the atlas feature's fields: CJDM, CJMC, XZDM, XZMC, N (parcels listed), N_XS (to consult),
  HTMJ, DBMJ, SCMJ (totals, m²) — e.g. [% attribute(@atlas_feature, 'CJMC') %]."""
from pathlib import Path

import shapely
from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsField, QgsFillSymbol, QgsGeometry, QgsLayoutExporter,
                       QgsLayoutItemAttributeTable, QgsLayoutItemLegend, QgsLayoutItemMap, QgsMapRendererCustomPainterJob,
                       QgsMapSettings, QgsPalLayerSettings, QgsPrintLayout, QgsProject, QgsProperty, QgsReadWriteContext,
                       QgsRectangle, QgsRenderContext, QgsSingleSymbolRenderer, QgsTextBufferSettings, QgsTextFormat, QgsVectorLayer,
                       QgsVectorLayerSimpleLabeling)
from qgis.PyQt.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, Qt, QVariant
from qgis.PyQt.QtGui import QColor, QFont, QImage, QPainter, QPen
from qgis.PyQt.QtXml import QDomDocument

from ..core import atlas as atlas_core
from ..core.errors import Cancelled, LcbError
from ..core.output import atomic_path
from ..core.paths import RESOURCES
from .pdf import cjk_family

LAYOUT = RESOURCES / "layouts" / "village_atlas.qpt"
TAIL = 'right("DKBM", 7)'  # group 2 digits + serial 5 digits: unique within a village


def _font():
    return cjk_family() or QFont().family()


def cbdk_layer(gpkg_path, name="cbdk"):
    """The styled parcel layer of a registration database (a GeoPackage path, or a PostgreSQL one: pgsource)."""
    from . import pgsource
    if pgsource.is_database(gpkg_path):
        target = pgsource.resolve(gpkg_path)
        lyr = QgsVectorLayer(pgsource.layer_uri(target), name, "postgres")
        where = target.display()
    else:
        lyr = QgsVectorLayer(f"{gpkg_path}|layername=cbdk", name, "ogr")
        where = str(gpkg_path)
    if not lyr.isValid():
        raise LcbError("无法在 QGIS 中打开登记库的 cbdk 图层", "QGIS cannot open the cbdk layer of the registration database", path=where)
    apply_style(lyr)
    return lyr


def apply_style(layer):
    """The class style (resources/styles/cbdk.qml) with the Chinese aliases; field names as the layer has them
    (lower case in PostgreSQL)."""
    from ..core.registration import pg
    doc = QDomDocument()
    doc.setContent(pg.qml(layer.providerType() == "postgres"))
    layer.importNamedStyle(doc)


def label(layer, expression=TAIL, size=7.0, show=None):
    """Labels in the CJK font with a white halo; `show` an optional data-defined expression."""
    s = QgsPalLayerSettings()
    s.fieldName = expression
    s.isExpression = True
    fmt = QgsTextFormat()
    fmt.setFont(QFont(_font()))
    fmt.setSize(size)
    fmt.setColor(QColor("#111111"))
    buf = QgsTextBufferSettings()
    buf.setEnabled(True)
    buf.setSize(0.6)
    buf.setColor(QColor(255, 255, 255, 220))
    fmt.setBuffer(buf)
    s.setFormat(fmt)
    s.placement = QgsPalLayerSettings.OverPoint
    if show:
        props = s.dataDefinedProperties()
        props.setProperty(QgsPalLayerSettings.Show, QgsProperty.fromExpression(show))
        s.setDataDefinedProperties(props)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(s))
    layer.setLabelsEnabled(True)


def _memory_polygons(name, crs, fields, records, style):
    """A memory polygon layer: records = [(shapely geometry, [attribute values])]."""
    lyr = QgsVectorLayer("MultiPolygon", name, "memory")
    lyr.setCrs(crs)
    pr = lyr.dataProvider()
    pr.addAttributes([QgsField(n, t) for n, t in fields])
    lyr.updateFields()
    feats = []
    for geom, attrs in records:
        f = QgsFeature(lyr.fields())
        g = QgsGeometry()
        if geom is not None:
            g.fromWkb(shapely.to_wkb(geom))
            g.convertToMultiType()
        f.setGeometry(g)
        f.setAttributes(list(attrs))
        feats.append(f)
    pr.addFeatures(feats)
    lyr.updateExtents()
    lyr.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(style)))
    return lyr


# ------------------------------------------------------------------ the dossier's map
def parcel_map_png(gpkg_path, geometry, width=1400, height=1000, dpi=200, context_factor=2.5, min_span=120.0):
    """PNG bytes: the parcel (thick red outline) among its neighbours styled by area class, neighbours labelled
    by the last 7 digits of DKBM, a scale bar. None when the parcel has no geometry."""
    if geometry is None or shapely.is_empty(geometry):
        return None
    parcels = cbdk_layer(gpkg_path)
    label(parcels, size=6.5)
    crs = parcels.crs()
    focus = _memory_polygons("focus", crs, [], [(geometry, [])],
                             {"color": "0,0,0,0", "outline_color": "0,70,255,255", "outline_width": "1.0", "outline_width_unit": "MM"})
    x0, y0, x1, y1 = shapely.bounds(geometry)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    span = max((x1 - x0) * context_factor, (y1 - y0) * context_factor * width / height, min_span)
    half_w, half_h = span / 2, span / 2 * height / width
    ms = QgsMapSettings()
    ms.setLayers([focus, parcels])
    ms.setDestinationCrs(crs)
    ms.setOutputSize(QSize(width, height))
    ms.setOutputDpi(dpi)
    ms.setExtent(QgsRectangle(cx - half_w, cy - half_h, cx + half_w, cy + half_h))
    ms.setBackgroundColor(QColor("white"))
    ms.setFlag(QgsMapSettings.Antialiasing, True)
    ms.setFlag(QgsMapSettings.DrawLabeling, True)
    ms.setTextRenderFormat(QgsRenderContext.TextFormatAlwaysText)
    img = QImage(width, height, QImage.Format.Format_ARGB32)
    img.setDotsPerMeterX(int(dpi / 0.0254))
    img.setDotsPerMeterY(int(dpi / 0.0254))
    img.fill(QColor("white"))
    p = QPainter(img)
    try:
        job = QgsMapRendererCustomPainterJob(ms, p)
        job.renderSynchronously()
        _scale_bar(p, ms, width, height, dpi)
        p.setPen(QPen(QColor("#444444"), 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(1, 1, width - 2, height - 2)
    finally:
        p.end()
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return bytes(ba)


def _scale_bar(p, ms, width, height, dpi):
    mupp = ms.mapUnitsPerPixel()
    target = width * 0.2 * mupp
    nice = max(v for v in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000) if v <= max(1, target))
    px = nice / mupp
    x, y = 30, height - 40
    p.setPen(QPen(QColor("black"), 3))
    p.setBrush(QColor("white"))
    p.drawRect(QRectF(x - 8, y - 40, px + 100, 54))
    p.drawLine(QPointF(x, y), QPointF(x + px, y))
    p.drawLine(QPointF(x, y - 8), QPointF(x, y))
    p.drawLine(QPointF(x + px, y - 8), QPointF(x + px, y))
    f = QFont(_font())
    f.setPixelSize(22)
    p.setFont(f)
    p.drawText(QPointF(x + px + 10, y), f"{nice} 米")
    scale = ms.scale()
    p.drawText(QPointF(x, y - 14), f"1:{scale:,.0f}")


# ------------------------------------------------------------------ the village atlas
ROW_FIELDS = [("CJDM", QVariant.String), ("DKBM", QVariant.String), ("ZJMC", QVariant.String), ("DKMC", QVariant.String),
              ("CBFMC", QVariant.String), ("HTMJ", QVariant.Double), ("DBMJ", QVariant.Double), ("SCMJ", QVariant.Double),
              ("HTDBC", QVariant.Double), ("HTSCC", QVariant.Double), ("CYLX", QVariant.String), ("CYLXMC", QVariant.String),
              ("XSZT", QVariant.String), ("XSBZ", QVariant.String), ("BDCDYH", QVariant.String), ("SHEET", QVariant.Int)]
VILLAGE_FIELDS = [("CJDM", QVariant.String), ("CJMC", QVariant.String), ("XZDM", QVariant.String), ("XZMC", QVariant.String),
                  ("N", QVariant.Int), ("N_XS", QVariant.Int), ("HTMJ", QVariant.Double), ("DBMJ", QVariant.Double), ("SCMJ", QVariant.Double),
                  ("SHEET", QVariant.Int), ("SHEETS", QVariant.Int)]


def _rows_layer(rows):
    lyr = QgsVectorLayer("None", "rows", "memory")
    pr = lyr.dataProvider()
    pr.addAttributes([QgsField(n, t) for n, t in ROW_FIELDS])
    lyr.updateFields()
    feats = []
    for r in rows:
        f = QgsFeature(lyr.fields())
        f.setAttributes([r.get(n) for n, _t in ROW_FIELDS])
        feats.append(f)
    pr.addFeatures(feats)
    return lyr


def sheets(rep, villages, per_page):
    """Split each village's rows into sheets of at most per_page rows (0: no limit), in the table's order
    (consultation cases first, then by DKBM). Returns (village sheet records, rows with CJDM and SHEET)."""
    by = {}
    for r in rep["rows"]:
        by.setdefault(r["CJDM"] or "", []).append(r)
    pages, rows = [], []
    for v in villages:
        rs = sorted(by.get(v["CJDM"] or "", []), key=lambda r: (r["CYLX"] != "contract_register_mismatch", r["DKBM"] or ""))
        size = per_page if per_page and per_page > 0 else max(1, len(rs))
        n = max(1, -(-len(rs) // size))
        for k in range(n):
            pages.append(dict(v, SHEET=k + 1, SHEETS=n))
            rows.extend(dict(r, SHEET=k + 1) for r in rs[k * size:(k + 1) * size])
    return pages, rows


def load_layout(project, template=None):
    path = Path(template) if template else LAYOUT
    if not path.is_file():
        raise LcbError("找不到图集版式模板（.qpt）", "atlas layout template (.qpt) not found", path=str(path), field="ATLAS_TEMPLATE")
    doc = QDomDocument()
    ok = doc.setContent(path.read_bytes())
    ok = ok[0] if isinstance(ok, tuple) else ok
    layout = QgsPrintLayout(project)
    if not ok:
        raise LcbError("图集版式模板不是有效的 QGIS 版式文件",
                       "the atlas layout template is not a valid QGIS .qpt file", path=str(path), field="ATLAS_TEMPLATE")
    items, ok = layout.loadFromTemplate(doc, QgsReadWriteContext(), True)
    if not ok:
        raise LcbError("图集版式模板无法载入", "the atlas layout template cannot be loaded", path=str(path), field="ATLAS_TEMPLATE")
    maps = [i for i in layout.items() if isinstance(i, QgsLayoutItemMap)]
    if not maps:
        raise LcbError("图集版式模板中没有地图项", "the atlas layout template has no map item", path=str(path), field="ATLAS_TEMPLATE")
    return layout


def _fit(item, ext):
    """Set an extent covering `ext` with the item's own aspect ratio, so the item keeps its size (the atlas
    keeps the ratio of the map's current extent when it zooms to each feature)."""
    size = item.sizeWithUnits()
    ratio = size.width() / size.height() if size.height() > 0 else 1.0
    w, h = max(ext.width(), 1.0), max(ext.height(), 1.0)
    w, h = (w, w / ratio) if w / h > ratio else (h * ratio, h)
    c = ext.center()
    item.setExtent(QgsRectangle(c.x() - w / 2, c.y() - h / 2, c.x() + w / 2, c.y() + h / 2))


def build_atlas(gpkg_path, rep, template=None):
    """(project, layout, pages) ready to export: one atlas feature per village that has listed parcels (and a
    continuation sheet when its list is longer than the layout's lcb_rows_per_page)."""
    project = QgsProject()
    layout = load_layout(project, template)
    layout.setName("village_atlas")
    try:
        per_page = int(layout.customProperty("lcb_rows_per_page", 0) or 0)
    except (TypeError, ValueError):
        per_page = 0
    parcels = cbdk_layer(gpkg_path, "地块")
    label(parcels, size=6.0, show="\"CJDM\" = attribute(@atlas_feature, 'CJDM')")
    crs = parcels.crs() if parcels.crs().isValid() else QgsCoordinateReferenceSystem()
    villages = atlas_core.villages(gpkg_path, rep)
    if not villages:
        raise LcbError("没有需要列出的地块，无法生成图集", "no parcels are listed, so there is no atlas page to draw", path=str(gpkg_path))
    pages, rows = sheets(rep, villages, per_page)
    vlayer = _memory_polygons("村界", crs, VILLAGE_FIELDS, [(v["geometry"], [v.get(n) for n, _t in VILLAGE_FIELDS]) for v in pages],
                              {"color": "0,0,0,0", "outline_color": "40,40,40,255", "outline_width": "0.6", "outline_style": "dash",
                               "outline_width_unit": "MM"})
    rows_layer = _rows_layer(rows)
    for lyr in (parcels, vlayer, rows_layer):
        project.addMapLayer(lyr)
    project.setCrs(crs)
    for item in layout.items():
        if isinstance(item, QgsLayoutItemMap):
            item.setLayers([vlayer, parcels])
            item.setKeepLayerSet(True)
            item.setCrs(crs)
            _fit(item, vlayer.extent())  # a template's map has no extent of its own: give it one of the item's shape
            item.setAtlasDriven(True)
            if item.atlasScalingMode() == QgsLayoutItemMap.Fixed:
                item.setAtlasScalingMode(QgsLayoutItemMap.Auto)
            if item.atlasMargin() <= 0:
                item.setAtlasMargin(0.08)
        elif isinstance(item, QgsLayoutItemLegend):
            item.setAutoUpdateModel(False)
            root = item.model().rootGroup()
            root.removeAllChildren()
            root.addLayer(parcels)
            item.updateLegend()
    for mf in layout.multiFrames():
        if isinstance(mf, QgsLayoutItemAttributeTable):
            cols = mf.columns()
            sort = mf.sortColumns()
            mf.setVectorLayer(rows_layer)
            mf.setColumns(cols)
            mf.setSortColumns(sort)
            mf.setFilterFeatures(True)
            mf.setFeatureFilter("\"CJDM\" = attribute(@atlas_feature, 'CJDM') AND \"SHEET\" = attribute(@atlas_feature, 'SHEET')")
            mf.setMaximumNumberOfFeatures(1000000)
    atlas = layout.atlas()
    atlas.setCoverageLayer(vlayer)
    atlas.setEnabled(True)
    atlas.setHideCoverage(False)
    atlas.setSortFeatures(True)
    atlas.setSortExpression("\"XZDM\" || \"CJDM\" || lpad(to_string(\"SHEET\"), 4, '0')")
    atlas.setFilenameExpression("'village_' || \"CJDM\"")
    return project, layout, len(pages)


def export_atlas(gpkg_path, rep, target, template=None, feedback=None):
    """Write the atlas PDF atomically; returns the number of atlas pages (villages and continuation sheets)."""
    project, layout, n = build_atlas(gpkg_path, rep, template)
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.dpi = 200
    settings.rasterizeWholeImage = False
    settings.forceVectorOutput = False
    settings.textRenderFormat = QgsRenderContext.TextFormatAlwaysText
    settings.simplifyGeometries = False
    with atomic_path(target, ".pdf") as tmp:
        result, error = QgsLayoutExporter.exportToPdf(layout.atlas(), str(tmp), settings, feedback)
        if result == QgsLayoutExporter.Canceled:
            raise Cancelled("已取消 / cancelled")
        if result != QgsLayoutExporter.Success:
            raise LcbError(f"图集 PDF 无法写出：{error}", f"the atlas PDF could not be written: {error}", path=str(target))
    del layout
    project.clear()
    return n
