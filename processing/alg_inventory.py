from qgis.core import (QgsProcessingOutputBoolean, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterString)

from ..core.output import write_text
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from .base import LcbAlgorithm


class InventoryAlgorithm(LcbAlgorithm):
    ID = "inventory"
    NAME = QT_TRANSLATE_NOOP("@default", "Material inventory (资料清单)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Delivery (成果包)")
    GROUP_ID = "delivery"

    # parameters
    INPUT = "INPUT"
    PREVIOUS = "PREVIOUS"
    LEDGER = "LEDGER"
    REQUIRED_LAYERS = "REQUIRED_LAYERS"
    OUTPUT_HTML = "OUTPUT_HTML"
    OUTPUT_XLSX = "OUTPUT_XLSX"
    OUTPUT_PDF = "OUTPUT_PDF"
    # outputs
    FILE_COUNT = "FILE_COUNT"
    TOTAL_BYTES = "TOTAL_BYTES"
    MISSING_REQUIRED = "MISSING_REQUIRED"
    CHANGED_FILES = "CHANGED_FILES"
    ADDED_FILES = "ADDED_FILES"
    MISSING_FILES = "MISSING_FILES"
    PARCELS = "PARCELS"
    HOUSEHOLDS = "HOUSEHOLDS"
    COMPLETE = "COMPLETE"
    FINGERPRINT = "FINGERPRINT"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.INPUT, tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterFile(self.PREVIOUS, tr("Earlier inventory XLSX to compare with"), extension="xlsx", optional=True))
        ledger = QgsProcessingParameterFile(self.LEDGER, tr("Certificate-issue ledger (台账)"), optional=True)
        ledger.setHelp(tr("Only when the package has none in 其他资料: CSV, XLSX, XLS or DBF with DKBM and DBMJ."))
        self.addParameter(ledger)
        self.addParameter(QgsProcessingParameterString(self.REQUIRED_LAYERS, tr("Required vector layers (comma separated)"), defaultValue="DK", optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_HTML, tr("Inventory (HTML)"), "HTML (*.html)", optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_XLSX, tr("Inventory (XLSX)"), "Excel (*.xlsx)", optional=True,
                                                                createByDefault=True))
        # on by default: the signed PDF is what the inventory is for (qgis_process writes it only when asked)
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_PDF, tr("Inventory (PDF)"), "PDF (*.pdf)", optional=True, createByDefault=True))
        for name, label in ((self.FILE_COUNT, QT_TRANSLATE_NOOP("@default", "Files")),
                            (self.TOTAL_BYTES, QT_TRANSLATE_NOOP("@default", "Total bytes")),
                            (self.MISSING_REQUIRED, QT_TRANSLATE_NOOP("@default", "Required items missing")),
                            (self.CHANGED_FILES, QT_TRANSLATE_NOOP("@default", "Files changed since the previous inventory")),
                            (self.ADDED_FILES, QT_TRANSLATE_NOOP("@default", "Files added")),
                            (self.MISSING_FILES, QT_TRANSLATE_NOOP("@default", "Files missing")),
                            (self.PARCELS, QT_TRANSLATE_NOOP("@default", "Parcels")),
                            (self.HOUSEHOLDS, QT_TRANSLATE_NOOP("@default", "Households"))):
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))
        self.addOutput(QgsProcessingOutputBoolean(self.COMPLETE, tr("All required items present")))
        self.addOutput(QgsProcessingOutputString(self.FINGERPRINT, tr("Inventory fingerprint (SHA-256)")))

    def execute(self, parameters, context, feedback):
        from ..core import inventory  # here, not at the top: loading the plugin stays cheap (qgis_process loads it for every run)
        from .pdf import html_to_pdf

        src = self.parameterAsFile(parameters, self.INPUT, context)
        prev = self.parameterAsFile(parameters, self.PREVIOUS, context) or None
        ledger = self.parameterAsFile(parameters, self.LEDGER, context) or None
        req = [x.strip().upper() for x in (self.parameterAsString(parameters, self.REQUIRED_LAYERS, context) or "DK").split(",") if x.strip()]
        html_path = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        xlsx_path = self.parameterAsFileOutput(parameters, self.OUTPUT_XLSX, context)
        pdf_path = self.parameterAsFileOutput(parameters, self.OUTPUT_PDF, context)
        prog = self.progress(feedback)
        inv = inventory.build(src, previous=prev, ledger=ledger, required_layers=req, progress=prog.sub(0, 90))
        html = inventory.to_html(inv)
        results = {}
        if html_path:
            write_text(html_path, html)
            results[self.OUTPUT_HTML] = html_path
        if xlsx_path:
            inventory.to_xlsx(inv, xlsx_path)
            results[self.OUTPUT_XLSX] = xlsx_path
        if pdf_path:
            feedback.pushInfo("写出 PDF / writing the PDF")
            html_to_pdf(html, pdf_path, title=f"{inv.county}{inv.county_name} 资料清单", progress=prog.sub(90, 100))
            results[self.OUTPUT_PDF] = pdf_path
        c = inv.comparison or {}
        for m in inv.missing:
            feedback.reportError(f"缺失必备项 missing: {m['item']} — {m['message']}", False)
        if c:
            feedback.pushInfo(f"与上次清单比对 compared with previous: added {len(c['added'])}, missing {len(c['missing'])}, changed {len(c['changed'])}")
            for r in c["changed"]:
                feedback.pushWarning(f"内容已变化 changed: {r}")
        results.update({self.FILE_COUNT: inv.file_count, self.TOTAL_BYTES: inv.total_bytes, self.MISSING_REQUIRED: len(inv.missing),
                        self.COMPLETE: inv.complete, self.CHANGED_FILES: len(c.get("changed", [])), self.ADDED_FILES: len(c.get("added", [])),
                        self.MISSING_FILES: len(c.get("missing", [])), self.PARCELS: inv.totals["parcels"],
                        self.HOUSEHOLDS: inv.totals["households"], self.FINGERPRINT: inv.fingerprint()})
        feedback.setProgress(100)
        return results
