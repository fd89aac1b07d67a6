from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsGeometry,
                       QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsWkbTypes)
from qgis.PyQt.QtCore import QVariant

from ..core import validate
from ..core.issues import REGISTRY
from ..core.output import write_text
from .base import QT_TRANSLATE_NOOP, LcbAlgorithm, tr

FIELDS = ["rule", "category", "severity", "layer", "key", "field", "message", "value", "village"]


def issue_fields():
    fields = QgsFields()
    for name in FIELDS:
        fields.append(QgsField(name, QVariant.String))
    return fields


def crs_of(summary):
    if summary.get("epsg"):
        return QgsCoordinateReferenceSystem(f"EPSG:{summary['epsg']}")
    if summary.get("wkt"):
        return QgsCoordinateReferenceSystem.fromWkt(summary["wkt"])
    return QgsCoordinateReferenceSystem()


class ValidateAlgorithm(LcbAlgorithm):
    ID = "validate"
    NAME = QT_TRANSLATE_NOOP("@default", "Quality check (成果质检)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Delivery (成果包)")
    GROUP_ID = "delivery"

    def shortHelpString(self):  # noqa: N802
        lines = [tr("Checks a 汇交 delivery against the delivery rules and NY/T 2539: package, schema, codes, "
                         "references, geometry, areas, members, dates and encoding. One row per problem in the issue "
                         "layer, with a Chinese message, the offending key and, where there is one, its location. "
                         "Defaults: AREA_TOLERANCE 0.01 m², SCMJ_TOLERANCE 0.01 m², OVERLAP_MIN_AREA 0.01 m², MIN_AREA 1 m²."), "",
                 tr("Rule catalogue:")]
        for r in REGISTRY.values():
            lines.append(f"• {r.id} ({r.severity}): {r.description}")
        return "<br>".join(lines)

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("INPUT", tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterNumber("AREA_TOLERANCE", tr("Area tolerance (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterNumber("SCMJ_TOLERANCE", tr("SCMJ against geometry tolerance (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterNumber("OVERLAP_MIN_AREA", tr("Minimum overlap area reported (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterNumber("MIN_AREA", tr("Minimum parcel area (m²)"), QgsProcessingParameterNumber.Type.Double, 1.0, minValue=0))
        self.addParameter(QgsProcessingParameterFile("LEDGER", tr("Certificate-issue ledger (台账), when not in the package"), optional=True))
        self.addParameter(QgsProcessingParameterFile("CODELISTS", tr("Code lists CSV (list,code,label) overriding the bundled ones"), extension="csv", optional=True))
        self.addParameter(QgsProcessingParameterString("REQUIRED_LAYERS", tr("Required vector layers (comma separated)"), defaultValue="DK", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("Issues (质检问题)"), QgsProcessing.SourceType.TypeVectorAnyGeometry))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_HTML", tr("Quality report (HTML)"), "HTML (*.html)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("ERROR_COUNT", tr("Errors")))
        self.addOutput(QgsProcessingOutputNumber("WARNING_COUNT", tr("Warnings")))
        self.addOutput(QgsProcessingOutputNumber("INFO_COUNT", tr("Notes")))

    def execute(self, parameters, context, feedback):
        src = self.parameterAsFile(parameters, "INPUT", context)
        params = dict(area_tolerance=self.parameterAsDouble(parameters, "AREA_TOLERANCE", context),
                      scmj_tolerance=self.parameterAsDouble(parameters, "SCMJ_TOLERANCE", context),
                      overlap_min_area=self.parameterAsDouble(parameters, "OVERLAP_MIN_AREA", context),
                      min_area=self.parameterAsDouble(parameters, "MIN_AREA", context),
                      codelists=self.parameterAsFile(parameters, "CODELISTS", context) or None)
        ledger = self.parameterAsFile(parameters, "LEDGER", context) or None
        req = [x.strip().upper() for x in (self.parameterAsString(parameters, "REQUIRED_LAYERS", context) or "DK").split(",") if x.strip()]
        prog = self.progress(feedback)
        issues, summary = validate.validate(src, ledger=ledger, required_layers=req, progress=prog.sub(0, 90), **params)
        sink, dest = self.parameterAsSink(parameters, "OUTPUT", context, issue_fields(), QgsWkbTypes.Type.MultiPolygon, crs_of(summary))
        for i in issues:
            f = QgsFeature()
            f.setAttributes([i.rule, i.category, i.severity, i.layer, i.key, i.field, i.message, i.value, i.village])
            if i.wkb is not None:
                g = QgsGeometry()
                g.fromWkb(i.wkb)
                f.setGeometry(g)
            sink.addFeature(f, QgsFeatureSink.Flag.FastInsert)
        self.close_sink(sink, dest, len(issues))  # a full disk is an error, not a cut layer
        html_path = self.parameterAsFileOutput(parameters, "OUTPUT_HTML", context)
        results = {"OUTPUT": dest}
        if html_path:
            write_text(html_path, validate.to_html(issues, summary, validate.DEFAULTS | params))
            results["OUTPUT_HTML"] = html_path
        c = validate.counts(issues)
        feedback.pushInfo(f"错误 errors {c['error']}, 警告 warnings {c['warning']}, 提示 notes {c['info']}")
        for cat, n in validate.by_category(issues).items():
            if n["error"] or n["warning"]:
                feedback.pushInfo(f"  {cat}: {n['error']} / {n['warning']}")
        results.update(ERROR_COUNT=c["error"], WARNING_COUNT=c["warning"], INFO_COUNT=c["info"])
        self._dest = dest
        return results

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        """In the desktop, show the issues in the 质检结果 dock (no-op in qgis_process)."""
        from qgis.core import QgsProcessingUtils

        from ..ui.menus import ACTIVE, show_issues
        if ACTIVE and getattr(self, "_dest", None):
            layer = QgsProcessingUtils.mapLayerFromString(self._dest, context)
            if layer is not None:
                show_issues(layer)
        return {}
