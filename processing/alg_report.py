import contextlib

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination)

from ..core import classify
from ..core.output import atomic_path, write_text
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from . import pgsource, worker
from .base import LcbAlgorithm


class DiscrepancyReportAlgorithm(LcbAlgorithm):
    ID = "discrepancy_report"
    NAME = QT_TRANSLATE_NOOP("@default", "Consultation report (协商清单)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"

    # parameters
    INPUT = "INPUT"
    SCHEMA = pgsource.SCHEMA
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
        # The atlas is a QGIS print layout: exported on the main thread, as QGIS's own layout algorithms are. The
        # lists (and their PDF, the long part) are written in a worker thread meanwhile (processing/worker.py).
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(pgsource.database_parameter(self.INPUT, tr("Registration database (.gpkg or PostgreSQL)")))
        self.addParameter(pgsource.schema_parameter())
        self.addParameter(QgsProcessingParameterEnum(self.CLASSES, tr("Area classes to list"), [f"{c} {classify.CLASSES[c]}" for c in classify.ORDER],
                                                     allowMultiple=True, defaultValue=[classify.ORDER.index(c) for c in classify.CONSULTED]))
        self.addParameter(QgsProcessingParameterBoolean(self.MASK, tr("Mask personal data (names, ID numbers)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_HTML, tr("Consultation list (HTML)"), "HTML (*.html)", optional=True,
                                                                createByDefault=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_XLSX, tr("Consultation list (XLSX)"), "Excel (*.xlsx)", optional=True,
                                                                createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_PDF, tr("Consultation list (PDF)"), "PDF (*.pdf)", optional=True,
                                                                createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_ATLAS, tr("Village consultation atlas (PDF)"), "PDF (*.pdf)", optional=True,
                                                                createByDefault=False))
        template = QgsProcessingParameterFile(self.ATLAS_TEMPLATE, tr("Atlas layout template (.qpt)"), optional=True,
                                              fileFilter="QGIS layout template (*.qpt)")
        template.setHelp(tr("A county's own print layout, replacing the bundled resources/layouts/village_atlas.qpt."))
        self.addParameter(template)
        self.addOutput(QgsProcessingOutputNumber(self.ROWS, tr("Parcels listed")))

    def execute(self, parameters, context, feedback):
        from ..core import consult  # here, not at the top: loading the plugin stays cheap (qgis_process loads it for every run)
        from .pdf import html_to_pdf

        classes = [classify.ORDER[i] for i in self.parameterAsEnums(parameters, self.CLASSES, context)] or consult.DEFAULT_CLASSES
        db = pgsource.input_database(self, parameters, context)
        mask = self.parameterAsBoolean(parameters, self.MASK, context)
        paths = {key: self.parameterAsFileOutput(parameters, key, context) for key in (self.OUTPUT_HTML, self.OUTPUT_XLSX, self.OUTPUT_PDF)}
        atlas = self.parameterAsFileOutput(parameters, self.OUTPUT_ATLAS, context)

        def lists(prog):
            """The list in HTML, XLSX and PDF: thread-safe work, done off the GUI thread (processing/worker.py).
            The files land together at the end: a cancelled or failed run leaves none of them, new or changed."""
            prog.info("读取登记库 / reading the registration database")
            rep = consult.build(db, classes, mask, progress=prog)
            prog.check()
            prog.set(5)
            html = consult.to_html(rep, progress=prog)
            prog.set(10)
            with contextlib.ExitStack() as files:
                tmp = {key: files.enter_context(atomic_path(p)) for key, p in paths.items() if p}
                if self.OUTPUT_HTML in tmp:
                    prog.info("写出 HTML / writing the HTML list")
                    write_text(tmp[self.OUTPUT_HTML], html)
                prog.check()
                if self.OUTPUT_XLSX in tmp:
                    prog.info("写出 XLSX / writing the XLSX list")
                    consult.to_xlsx(rep, tmp[self.OUTPUT_XLSX])
                prog.set(15)
                if self.OUTPUT_PDF in tmp:
                    prog.info(f"写出 PDF（{len(rep['rows'])} 个地块）/ writing the PDF list ({len(rep['rows'])} parcels)")
                    pages = html_to_pdf(html, tmp[self.OUTPUT_PDF], title="面积差异协商清单", landscape=True,
                                        progress=prog.sub(15, 100 if not atlas else 60))
                    prog.info(f"PDF 共 {pages} 页 / the PDF has {pages} pages")
                prog.check()
            return rep

        rep = worker.run(lists, feedback, name="lcb-consultation-list")
        out = {self.ROWS: len(rep["rows"])}
        out.update({key: p for key, p in paths.items() if p})
        if atlas:
            from .maps import export_atlas
            feedback.pushInfo("绘制村级协商图集 / drawing the village atlas")
            pages = export_atlas(db, rep, atlas, self.parameterAsFile(parameters, self.ATLAS_TEMPLATE, context) or None, feedback)
            out[self.OUTPUT_ATLAS] = atlas
            feedback.pushInfo(f"图集 atlas pages: {pages}")
        feedback.pushInfo(f"列出地块 parcels listed: {len(rep['rows'])}")
        return out
