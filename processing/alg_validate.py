import re
from html import escape

from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsGeometry,
                       QgsProcessing, QgsProcessingOutputNumber, QgsProcessingOutputString, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsWkbTypes)
from qgis.PyQt.QtCore import QVariant

from ..core.output import write_text
from ..core.params import SPECS, Params
from ..qtcommon import QT_TRANSLATE_NOOP, category_name, chinese_ui, severity_name, tr
from .base import LcbAlgorithm
from .help import short_help

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

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
    DELIVERY = "DELIVERY"

    def shortHelpString(self):  # noqa: N802
        """The help text from processing/help/lcb.yaml, then the rule catalogue from the rule registry: each rule's
        Chinese summary in the Chinese UI, its English description otherwise."""
        from ..core import rules  # noqa: F401 - importing the rules fills the registry
        from ..core.issues import REGISTRY

        zh = chinese_ui()
        lines = [short_help(self.ID), "", tr("Rule catalogue:")]
        for r in REGISTRY.values():
            text = (r.zh or _PLACEHOLDER.sub("…", r.message)) if zh else r.description
            lines.append(f"• {r.id}（{severity_name(r.severity)}）：{escape(text)}" if zh else f"• {r.id} ({severity_name(r.severity)}): {escape(text)}")
        return "<br>".join(lines)

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.INPUT, tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        for name, title in NUMBERS:  # defaults from core.params.SPECS
            spec = SPECS[name]
            self.addParameter(QgsProcessingParameterNumber(spec.key, tr(title), QgsProcessingParameterNumber.Type.Double, spec.default, minValue=0))
        ledger = QgsProcessingParameterFile(self.LEDGER, tr("Certificate-issue ledger (台账)"), optional=True)
        ledger.setHelp(tr("Only when the package has none in 其他资料: CSV, XLSX, XLS or DBF with DKBM and DBMJ."))
        self.addParameter(ledger)
        codelists = QgsProcessingParameterFile(self.CODELISTS, tr("Code lists (CSV)"), extension="csv", optional=True)
        codelists.setHelp(tr("A CSV with the columns list, code, label that replaces the bundled code lists."))
        self.addParameter(codelists)
        self.addParameter(QgsProcessingParameterString(self.REQUIRED_LAYERS, tr("Required vector layers (comma separated)"), defaultValue="DK", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Issues (质检问题)"), QgsProcessing.SourceType.TypeVectorAnyGeometry))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_HTML, tr("Quality report (HTML)"), "HTML (*.html)", optional=True,
                                                                createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber(self.ERROR_COUNT, tr("Errors")))
        self.addOutput(QgsProcessingOutputNumber(self.WARNING_COUNT, tr("Warnings")))
        self.addOutput(QgsProcessingOutputNumber(self.INFO_COUNT, tr("Notes")))
        self.addOutput(QgsProcessingOutputString(self.DELIVERY, tr("Delivery folder checked")))

    def execute(self, parameters, context, feedback):
        from ..core import validate  # here, not at the top: loading the plugin stays cheap (qgis_process loads it for every run)

        src = self.parameterAsFile(parameters, self.INPUT, context)
        params = Params.of({SPECS[name].key: self.parameterAsDouble(parameters, SPECS[name].key, context) for name, _title in NUMBERS},
                           codelists=self.parameterAsFile(parameters, self.CODELISTS, context) or None)
        ledger = self.parameterAsFile(parameters, self.LEDGER, context) or None
        req = [x.strip().upper() for x in (self.parameterAsString(parameters, self.REQUIRED_LAYERS, context) or "DK").split(",") if x.strip()]
        prog = self.progress(feedback)
        issues, summary = validate.validate(src, ledger=ledger, required_layers=req, progress=prog.sub(0, 90), params=params)
        feedback.pushInfo(tr("Writing the issue layer"))
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
        feedback.pushInfo(f"{severity_name('error')} {c['error']}, {severity_name('warning')} {c['warning']}, {severity_name('info')} {c['info']}")
        for cat, n in validate.by_category(issues).items():
            if n["error"] or n["warning"]:
                feedback.pushInfo(f"  {category_name(cat)}: {severity_name('error')} {n['error']}, {severity_name('warning')} {n['warning']}")
        results.update({self.ERROR_COUNT: c["error"], self.WARNING_COUNT: c["warning"], self.INFO_COUNT: c["info"], self.DELIVERY: str(src)})
        return results
