from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsGeometry,
                       QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsWkbTypes)
from qgis.PyQt.QtCore import QVariant

from ..core import validate
from ..core.issues import REGISTRY
from ..core.output import write_text
from ..core.params import SPECS, Params
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from .base import LcbAlgorithm
from .help import short_help

# The numeric parameters of core.params (their algorithm names are SPECS[name].key); defaults from SPECS.
NUMBERS = [("area_tolerance", QT_TRANSLATE_NOOP("@default", "Area tolerance (m²)")),
           ("scmj_tolerance", QT_TRANSLATE_NOOP("@default", "SCMJ against geometry tolerance (m²)")),
           ("overlap_min_area", QT_TRANSLATE_NOOP("@default", "Minimum overlap area reported (m²)")),
           ("min_area", QT_TRANSLATE_NOOP("@default", "Minimum parcel area (m²)")),
           ("gap_tolerance", QT_TRANSLATE_NOOP("@default", "Gaps between neighbouring parcels narrower than this are errors (m)"))]

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

    # parameters
    INPUT = "INPUT"
    # the tunable parameters of core.params, under their algorithm names (the field names in upper case)
    AREA_TOLERANCE = SPECS["area_tolerance"].key
    SCMJ_TOLERANCE = SPECS["scmj_tolerance"].key
    OVERLAP_MIN_AREA = SPECS["overlap_min_area"].key
    MIN_AREA = SPECS["min_area"].key
    GAP_TOLERANCE = SPECS["gap_tolerance"].key
    LEDGER = "LEDGER"
    CODELISTS = SPECS["codelists"].key
    REQUIRED_LAYERS = "REQUIRED_LAYERS"
    OUTPUT = "OUTPUT"
    OUTPUT_HTML = "OUTPUT_HTML"
    # outputs
    ERROR_COUNT = "ERROR_COUNT"
    WARNING_COUNT = "WARNING_COUNT"
    INFO_COUNT = "INFO_COUNT"

    def shortHelpString(self):  # noqa: N802
        """The help text from processing/help/lcb.yaml, then the rule catalogue from the rule registry."""
        lines = [short_help(self.ID), "", tr("Rule catalogue:")]
        for r in REGISTRY.values():
            lines.append(f"• {r.id} ({r.severity}): {r.description}")
        return "<br>".join(lines)

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.INPUT, tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        for name, title in NUMBERS:  # defaults from core.params.SPECS
            spec = SPECS[name]
            self.addParameter(QgsProcessingParameterNumber(spec.key, tr(title), QgsProcessingParameterNumber.Type.Double, spec.default, minValue=0))
        self.addParameter(QgsProcessingParameterFile(self.LEDGER, tr("Certificate-issue ledger (台账), when not in the package"), optional=True))
        self.addParameter(QgsProcessingParameterFile(self.CODELISTS, tr("Code lists CSV (list,code,label) overriding the bundled ones"), extension="csv", optional=True))
        self.addParameter(QgsProcessingParameterString(self.REQUIRED_LAYERS, tr("Required vector layers (comma separated)"), defaultValue="DK", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Issues (质检问题)"), QgsProcessing.SourceType.TypeVectorAnyGeometry))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_HTML, tr("Quality report (HTML)"), "HTML (*.html)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber(self.ERROR_COUNT, tr("Errors")))
        self.addOutput(QgsProcessingOutputNumber(self.WARNING_COUNT, tr("Warnings")))
        self.addOutput(QgsProcessingOutputNumber(self.INFO_COUNT, tr("Notes")))

    def execute(self, parameters, context, feedback):
        src = self.parameterAsFile(parameters, self.INPUT, context)
        params = Params.of({SPECS[name].key: self.parameterAsDouble(parameters, SPECS[name].key, context) for name, _title in NUMBERS},
                           codelists=self.parameterAsFile(parameters, self.CODELISTS, context) or None)
        ledger = self.parameterAsFile(parameters, self.LEDGER, context) or None
        req = [x.strip().upper() for x in (self.parameterAsString(parameters, self.REQUIRED_LAYERS, context) or "DK").split(",") if x.strip()]
        prog = self.progress(feedback)
        issues, summary = validate.validate(src, ledger=ledger, required_layers=req, progress=prog.sub(0, 90), params=params)
        sink, dest = self.parameterAsSink(parameters, self.OUTPUT, context, issue_fields(), QgsWkbTypes.Type.MultiPolygon, crs_of(summary))
        for i in issues:
            f = QgsFeature()
            f.setAttributes([i.rule, i.category, i.severity, i.layer, i.key, i.field, i.message, i.value, i.village])
            if i.wkb is not None:
                g = QgsGeometry()
                g.fromWkb(i.wkb)
                f.setGeometry(g)
            sink.addFeature(f, QgsFeatureSink.Flag.FastInsert)
        self.close_sink(sink, dest, len(issues))  # a full disk is an error, not a cut layer
        html_path = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        results = {self.OUTPUT: dest}
        if html_path:
            write_text(html_path, validate.to_html(issues, summary, params))
            results[self.OUTPUT_HTML] = html_path
        c = validate.counts(issues)
        feedback.pushInfo(f"错误 errors {c['error']}, 警告 warnings {c['warning']}, 提示 notes {c['info']}")
        for cat, n in validate.by_category(issues).items():
            if n["error"] or n["warning"]:
                feedback.pushInfo(f"  {cat}: {n['error']} / {n['warning']}")
        results.update({self.ERROR_COUNT: c["error"], self.WARNING_COUNT: c["warning"], self.INFO_COUNT: c["info"]})
        return results
