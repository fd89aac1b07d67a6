from qgis.core import (QgsProcessingAlgorithm, QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination)

from ..core import classify, consult
from ..core.output import write_text
from .base import QT_TRANSLATE_NOOP, LcbAlgorithm, tr
from .pdf import html_to_pdf


class DiscrepancyReportAlgorithm(LcbAlgorithm):
    ID = "discrepancy_report"
    NAME = QT_TRANSLATE_NOOP("@default", "Consultation report (协商清单)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"
    HELP = QT_TRANSLATE_NOOP("@default", "The joint-consultation list from a registration GeoPackage: parcels whose contract and registered areas disagree (to be decided jointly by the two bureaus) and those whose measured area differs (SCMJ recorded, no adjustment), grouped by township and village with counts and area totals per class, the three areas side by side, consultation status and notes, and signature lines for both bureaus. Names are masked unless MASK is unticked. OUTPUT_ATLAS adds the village consultation atlas: one page per village with the map of its parcels styled by area class and labelled by DKBM beside its rows, drawn by a QGIS print layout (resources/layouts/village_atlas.qpt, or a county's own .qpt given as ATLAS_TEMPLATE).")

    def flags(self):
        # The atlas is a QGIS print layout: exported on the main thread, as QGIS's own layout algorithms are.
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("INPUT", tr("Registration GeoPackage"), extension="gpkg"))
        self.addParameter(QgsProcessingParameterEnum("CLASSES", tr("Area classes to list"), [f"{c} {classify.CLASSES[c]}" for c in classify.ORDER],
                                                     allowMultiple=True, defaultValue=[classify.ORDER.index(c) for c in consult.DEFAULT_CLASSES]))
        self.addParameter(QgsProcessingParameterBoolean("MASK", tr("Mask personal data (names, ID numbers)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_HTML", tr("Consultation list (HTML)"), "HTML (*.html)", optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_XLSX", tr("Consultation list (XLSX)"), "Excel (*.xlsx)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_PDF", tr("Consultation list (PDF)"), "PDF (*.pdf)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_ATLAS", tr("Village consultation atlas (PDF)"), "PDF (*.pdf)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFile("ATLAS_TEMPLATE", tr("Atlas layout template (.qpt), replacing the bundled one"), optional=True,
                                                     fileFilter="QGIS layout template (*.qpt)"))
        self.addOutput(QgsProcessingOutputNumber("ROWS", tr("Parcels listed")))

    def execute(self, parameters, context, feedback):
        classes = [classify.ORDER[i] for i in self.parameterAsEnums(parameters, "CLASSES", context)] or consult.DEFAULT_CLASSES
        rep = consult.build(self.parameterAsFile(parameters, "INPUT", context), classes, self.parameterAsBoolean(parameters, "MASK", context))
        html = consult.to_html(rep)
        out = {"ROWS": len(rep["rows"])}
        for key, writer in (("OUTPUT_HTML", lambda p: write_text(p, html)), ("OUTPUT_XLSX", lambda p: consult.to_xlsx(rep, p)),
                            ("OUTPUT_PDF", lambda p: html_to_pdf(html, p, title="面积差异协商清单", landscape=True))):
            p = self.parameterAsFileOutput(parameters, key, context)
            if p:
                writer(p)
                out[key] = p
        atlas = self.parameterAsFileOutput(parameters, "OUTPUT_ATLAS", context)
        if atlas:
            from .maps import export_atlas
            pages = export_atlas(self.parameterAsFile(parameters, "INPUT", context), rep, atlas,
                                 self.parameterAsFile(parameters, "ATLAS_TEMPLATE", context) or None, feedback)
            out["OUTPUT_ATLAS"] = atlas
            feedback.pushInfo(f"图集 atlas pages: {pages}")
        feedback.pushInfo(f"列出地块 parcels listed: {len(rep['rows'])}")
        return out
