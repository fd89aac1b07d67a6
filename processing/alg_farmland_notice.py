from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureRequest, QgsFeatureSink, QgsField, QgsFields,
                       QgsGeometry, QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber, QgsWkbTypes)
from qgis.PyQt.QtCore import QVariant

from ..core.errors import LcbError
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from . import pgsource
from .base import LcbAlgorithm

_TYPES = {"TEXT": QVariant.String, "REAL": QVariant.Double, "INTEGER": QVariant.LongLong}


def overlap_fields():
    from ..core import notice

    fields = QgsFields()
    for name, typ, title in notice.FIELDS:
        f = QgsField(name, _TYPES[typ])
        f.setAlias(title)
        fields.append(f)
    return fields


class FarmlandNoticeAlgorithm(LcbAlgorithm):
    ID = "farmland_notice"
    NAME = QT_TRANSLATE_NOOP("@default", "Basic-farmland notices (永久基本农田告知书)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"

    # parameters
    INPUT = "INPUT"
    SCHEMA = pgsource.SCHEMA
    FARMLAND = "FARMLAND"
    MIN_OVERLAP = "MIN_OVERLAP"
    TEMPLATE = "TEMPLATE"
    MASK = "MASK"
    OUTPUT = "OUTPUT"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    # outputs
    NOTICES = "NOTICES"
    PARCELS = "PARCELS"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(pgsource.database_parameter(self.INPUT, tr("Registration database (.gpkg or PostgreSQL)")))
        self.addParameter(pgsource.schema_parameter())
        self.addParameter(QgsProcessingParameterFeatureSource(self.FARMLAND, tr("Permanent basic farmland (default: the delivery's JBNTBHQ)"),
                                                              [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.MIN_OVERLAP, tr("Minimum overlap (m²)"), QgsProcessingParameterNumber.Double,
                                                       defaultValue=1.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterFile(self.TEMPLATE, tr("Notice template (jinja2), replacing the bundled one"), optional=True,
                                                     fileFilter="Jinja2 (*.j2 *.html *.htm)"))
        self.addParameter(QgsProcessingParameterBoolean(self.MASK, tr("Mask personal data (names, ID numbers)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Parcels on basic farmland (overlaps)"), QgsProcessing.TypeVectorPolygon,
                                                            optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, tr("Folder for the notices")))
        self.addOutput(QgsProcessingOutputNumber(self.NOTICES, tr("Notices written")))
        self.addOutput(QgsProcessingOutputNumber(self.PARCELS, tr("Parcels on basic farmland")))

    def _farmland(self, parameters, context, feedback, c, epsg):
        import numpy as np
        import shapely

        from ..core import regdb

        source = self.parameterAsSource(parameters, self.FARMLAND, context)
        if source is None:
            layers = regdb.farmland_layers(c)
            if not layers:
                raise LcbError("登记库记录的成果包中找不到永久基本农田图层（JBNTBHQ），请指定 FARMLAND",
                               "no JBNTBHQ layer found in the deliveries recorded in the database; choose FARMLAND", field=self.FARMLAND)
            geoms, ids = [], []
            for shp in layers:
                feedback.pushInfo(f"永久基本农田 farmland: {shp}")
                g, i = regdb.read_polygons(shp, epsg, "BHQBH")
                geoms.append(g)
                ids.extend(i)
            return np.concatenate(geoms) if geoms else np.zeros(0, object), ids
        target = QgsCoordinateReferenceSystem(f"EPSG:{epsg}") if epsg else source.sourceCrs()
        req = QgsFeatureRequest().setDestinationCrs(target, context.transformContext())
        names = [f.name() for f in source.fields()]
        id_field = next((n for n in names if n.upper() == "BHQBH"), None)
        geoms, ids = [], []
        for f in source.getFeatures(req):
            if feedback.isCanceled():
                break
            g = f.geometry()
            geoms.append(shapely.from_wkb(bytes(g.asWkb())) if not g.isNull() and not g.isEmpty() else None)
            ids.append(str(f[id_field]) if id_field and f[id_field] is not None else str(f.id()))
        return np.array(geoms, dtype=object), ids

    def execute(self, parameters, context, feedback):
        import shapely

        from ..core import notice, regdb  # here, not at the top: loading the plugin stays cheap (qgis_process loads it for every run)
        from .pdf import html_to_pdf

        path = pgsource.input_database(self, parameters, context)
        progress = self.progress(feedback)
        c = regdb.connect(path)
        try:
            epsg = regdb.epsg(c)
            farm, ids = self._farmland(parameters, context, feedback, c, epsg)
        finally:
            c.close()
        progress.check()
        min_overlap = self.parameterAsDouble(parameters, self.MIN_OVERLAP, context)
        template = self.parameterAsFile(parameters, self.TEMPLATE, context) or None
        mask = self.parameterAsBoolean(parameters, self.MASK, context)
        res = notice.build(path, farm, ids, min_overlap, mask, progress.sub(0, 30))
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        written = notice.write(res, folder, template, pdf=lambda html, p: html_to_pdf(html, p, title="永久基本农田保护告知书"),
                               progress=progress.sub(30, 95))
        out = {self.NOTICES: len(res["notices"]), self.PARCELS: len(res["rows"]), self.OUTPUT_FOLDER: folder}
        if parameters.get(self.OUTPUT) is not None:
            crs = QgsCoordinateReferenceSystem(f"EPSG:{epsg}") if epsg else QgsCoordinateReferenceSystem()
            sink, dest = self.parameterAsSink(parameters, self.OUTPUT, context, overlap_fields(), QgsWkbTypes.MultiPolygon, crs)
            if sink is not None:
                for r in res["rows"]:
                    f = QgsFeature()
                    g = QgsGeometry()
                    g.fromWkb(shapely.to_wkb(r["geometry"]))
                    g.convertToMultiType()
                    f.setGeometry(g)
                    f.setAttributes([r.get(name) for name, _t, _title in notice.FIELDS])
                    sink.addFeature(f, QgsFeatureSink.FastInsert)
                out[self.OUTPUT] = dest
        progress.set(100)
        feedback.pushInfo(f"地块 parcels on basic farmland: {len(res['rows'])}; 告知书 notices: {len(res['notices'])}; "
                          f"files: {len(written)}")
        if res["orphans"]:
            feedback.reportError(f"无承包方记录的地块 parcels without a household (no notice): {', '.join(res['orphans'])}")
        return out
