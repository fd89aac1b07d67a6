from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsGeometry,
                       QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsWkbTypes)
from qgis.PyQt.QtCore import QVariant

from ..core import validate
from ..core.issues import REGISTRY
from ..core.output import write_text
from .base import LcbAlgorithm

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
    NAME = "Quality check (成果质检)"
    GROUP = "Delivery (成果包)"
    GROUP_ID = "delivery"

    def shortHelpString(self):  # noqa: N802
        lines = [self.tr("Checks a 汇交 delivery against the delivery rules and NY/T 2539: package, schema, codes, "
                         "references, geometry, areas, members, dates and encoding. One row per problem in the issue "
                         "layer, with a Chinese message, the offending key and, where there is one, its location. "
                         "Defaults: AREA_TOLERANCE 0.01 m², SCMJ_TOLERANCE 0.01 m², OVERLAP_MIN_AREA 0.01 m², MIN_AREA 1 m²."), "",
                 self.tr("Rule catalogue:")]
        for r in REGISTRY.values():
            lines.append(f"• {r.id} ({r.severity}): {r.description}")
        return "<br>".join(lines)

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("INPUT", self.tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterNumber("AREA_TOLERANCE", self.tr("Area tolerance (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterNumber("SCMJ_TOLERANCE", self.tr("SCMJ against geometry tolerance (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterNumber("OVERLAP_MIN_AREA", self.tr("Minimum overlap area reported (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterNumber("MIN_AREA", self.tr("Minimum parcel area (m²)"), QgsProcessingParameterNumber.Type.Double, 1.0, minValue=0))
        self.addParameter(QgsProcessingParameterFile("LEDGER", self.tr("Certificate-issue ledger (台账), when not in the package"), optional=True))
        self.addParameter(QgsProcessingParameterFile("CODELISTS", self.tr("Code lists CSV (list,code,label) overriding the bundled ones"), extension="csv", optional=True))
        self.addParameter(QgsProcessingParameterString("REQUIRED_LAYERS", self.tr("Required vector layers (comma separated)"), defaultValue="DK", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", self.tr("Issues (质检问题)"), QgsProcessing.SourceType.TypeVectorAnyGeometry))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_HTML", self.tr("Quality report (HTML)"), "HTML (*.html)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("ERROR_COUNT", self.tr("Errors")))
        self.addOutput(QgsProcessingOutputNumber("WARNING_COUNT", self.tr("Warnings")))
        self.addOutput(QgsProcessingOutputNumber("INFO_COUNT", self.tr("Notes")))

    def run(self, parameters, context, feedback):
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
        return results
