from qgis.core import (QgsProcessingAlgorithm, QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination)

from ..core import classify, consult
from ..core.output import write_text
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from .base import LcbAlgorithm
from .pdf import html_to_pdf


class DiscrepancyReportAlgorithm(LcbAlgorithm):
    ID = "discrepancy_report"
    NAME = QT_TRANSLATE_NOOP("@default", "Consultation report (协商清单)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"

    # parameters
    INPUT = "INPUT"
    CLASSES = "CLASSES"
    MASK = "MASK"
    OUTPUT_HTML = "OUTPUT_HTML"
    OUTPUT_XLSX = "OUTPUT_XLSX"
    OUTPUT_PDF = "OUTPUT_PDF"
    OUTPUT_ATLAS = "OUTPUT_ATLAS"
    ATLAS_TEMPLATE = "ATLAS_TEMPLATE"
    # outputs
    ROWS = "ROWS"

    def flags(self):
        # The atlas is a QGIS print layout: exported on the main thread, as QGIS's own layout algorithms are.
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.INPUT, tr("Registration GeoPackage"), extension="gpkg"))
        self.addParameter(QgsProcessingParameterEnum(self.CLASSES, tr("Area classes to list"), [f"{c} {classify.CLASSES[c]}" for c in classify.ORDER],
                                                     allowMultiple=True, defaultValue=[classify.ORDER.index(c) for c in consult.DEFAULT_CLASSES]))
        self.addParameter(QgsProcessingParameterBoolean(self.MASK, tr("Mask personal data (names, ID numbers)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_HTML, tr("Consultation list (HTML)"), "HTML (*.html)", optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_XLSX, tr("Consultation list (XLSX)"), "Excel (*.xlsx)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_PDF, tr("Consultation list (PDF)"), "PDF (*.pdf)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_ATLAS, tr("Village consultation atlas (PDF)"), "PDF (*.pdf)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFile(self.ATLAS_TEMPLATE, tr("Atlas layout template (.qpt), replacing the bundled one"), optional=True,
                                                     fileFilter="QGIS layout template (*.qpt)"))
        self.addOutput(QgsProcessingOutputNumber(self.ROWS, tr("Parcels listed")))

    def execute(self, parameters, context, feedback):
        classes = [classify.ORDER[i] for i in self.parameterAsEnums(parameters, self.CLASSES, context)] or consult.DEFAULT_CLASSES
        rep = consult.build(self.parameterAsFile(parameters, self.INPUT, context), classes, self.parameterAsBoolean(parameters, self.MASK, context))
        html = consult.to_html(rep)
        out = {self.ROWS: len(rep["rows"])}
        for key, writer in ((self.OUTPUT_HTML, lambda p: write_text(p, html)), (self.OUTPUT_XLSX, lambda p: consult.to_xlsx(rep, p)),
                            (self.OUTPUT_PDF, lambda p: html_to_pdf(html, p, title="面积差异协商清单", landscape=True))):
            p = self.parameterAsFileOutput(parameters, key, context)
            if p:
                writer(p)
                out[key] = p
        atlas = self.parameterAsFileOutput(parameters, self.OUTPUT_ATLAS, context)
        if atlas:
            from .maps import export_atlas
            pages = export_atlas(self.parameterAsFile(parameters, self.INPUT, context), rep, atlas,
                                 self.parameterAsFile(parameters, self.ATLAS_TEMPLATE, context) or None, feedback)
            out[self.OUTPUT_ATLAS] = atlas
            feedback.pushInfo(f"图集 atlas pages: {pages}")
        feedback.pushInfo(f"列出地块 parcels listed: {len(rep['rows'])}")
        return out
