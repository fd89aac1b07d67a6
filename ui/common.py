"""Helpers shared by the docks: translation, layer lookup/loading, zoom and flash."""
from pathlib import Path

from qgis.core import QgsCoordinateTransform, QgsDataSourceUri, QgsGeometry, QgsProject, QgsRectangle, QgsVectorLayer
from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, Qt
from qgis.PyQt.QtXml import QDomDocument

from ..core.paths import resource
from ..qtcommon import tr

STYLE = str(resource("styles", "cbdk.qml"))

__all__ = ["tr", "cbdk_layer_for", "zoom_and_flash", "TableModel"]


class TableModel(QAbstractTableModel):
    """Row count, column count and horizontal headers for the docks' models; subclasses give data()."""
    headers = []

    def _rows(self):
        raise NotImplementedError

    def rowCount(self, parent=QModelIndex()):  # noqa: N802, B008
        return 0 if parent.isValid() else self._rows()

    def columnCount(self, parent=QModelIndex()):  # noqa: N802, B008
        return len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None


def _same_table(a, b):
    ua, ub = QgsDataSourceUri(a), QgsDataSourceUri(b)
    return all(x == y for x, y in ((ua.database(), ub.database()), (ua.host(), ub.host()), (ua.port() or "5432", ub.port() or "5432"),
                                   (ua.service(), ub.service()), (ua.schema(), ub.schema()), (ua.table(), ub.table())))


def pg_cbdk_layer_for(target, load=True):
    """The project's cbdk layer of a registration database in PostgreSQL (processing.pgsource target), loaded with
    the class style and the Chinese aliases when missing."""
    from ..core.registration import pg
    from ..processing import pgsource
    want = pgsource.layer_uri(target)
    for lyr in QgsProject.instance().mapLayers().values():
        if isinstance(lyr, QgsVectorLayer) and lyr.providerType() == "postgres" and _same_table(lyr.source(), want):
            return lyr
    if not load:
        return None
    lyr = QgsVectorLayer(want, tr("Parcels by area class (面积差异分类)"), "postgres")
    if not lyr.isValid():
        return None
    if lyr.renderer() is None or lyr.renderer().type() != "categorizedSymbol":  # no default style in public.layer_styles
        doc = QDomDocument()
        doc.setContent(pg.qml(True))
        lyr.importNamedStyle(doc)
    QgsProject.instance().addMapLayer(lyr)
    return lyr


def cbdk_layer_for(path, load=True):
    """The project's cbdk layer of this GeoPackage (or PostgreSQL database), loaded (with the class style) when missing."""
    from ..processing import pgsource
    if pgsource.is_database(path):
        return pg_cbdk_layer_for(pgsource.resolve(path), load)
    path = str(Path(path).resolve())
    for lyr in QgsProject.instance().mapLayers().values():
        if isinstance(lyr, QgsVectorLayer) and lyr.providerType() == "ogr":
            src = lyr.source()
            if Path(src.split("|")[0]).resolve() == Path(path) and "layername=cbdk" in src:
                return lyr
    if not load:
        return None
    lyr = QgsVectorLayer(f"{path}|layername=cbdk", tr("Parcels by area class (面积差异分类)") + f" · {Path(path).stem}", "ogr")
    if not lyr.isValid():
        return None
    if lyr.renderer() is None or lyr.renderer().type() != "categorizedSymbol":
        lyr.loadNamedStyle(STYLE)
    project = QgsProject.instance()
    project.addMapLayer(lyr, False)
    project.layerTreeRoot().addLayer(lyr)  # at the bottom: issue layers and the user's own layers stay visible above
    return lyr


def zoom_and_flash(canvas, geoms, crs):
    """Zoom the canvas to geometries given in `crs` and flash them."""
    geoms = [g for g in geoms if g is not None and not g.isEmpty()]
    if canvas is None or not geoms:
        return False
    xf = QgsCoordinateTransform(crs, canvas.mapSettings().destinationCrs(), QgsProject.instance())
    rect = QgsRectangle()
    out = []
    for g in geoms:
        g = QgsGeometry(g)
        g.transform(xf)
        out.append(g)
        rect.combineExtentWith(g.boundingBox())
    rect.scale(1.5 if rect.width() > 1 else 1.0)
    if rect.width() < 20:
        rect.grow(20)
    canvas.setExtent(rect)
    canvas.refresh()
    canvas.flashGeometries(out, canvas.mapSettings().destinationCrs())
    return True


ISSUE_STYLE = str(resource("styles", "issues.qml"))


def style_issue_layer(layer):
    """The issue layer styled by severity (resources/styles/issues.qml), its categories named in the UI language."""
    from ..qtcommon import severity_name
    layer.loadNamedStyle(ISSUE_STYLE)
    r = layer.renderer()
    if r is not None and r.type() == "categorizedSymbol":
        for i, cat in enumerate(r.categories()):
            r.updateCategoryLabel(i, severity_name(cat.value()))
    layer.triggerRepaint()
