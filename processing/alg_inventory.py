from qgis.core import (QgsProcessingOutputBoolean, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterString)

from ..core import inventory
from ..core.output import write_text
from .base import QT_TRANSLATE_NOOP, LcbAlgorithm, tr
from .pdf import html_to_pdf


class InventoryAlgorithm(LcbAlgorithm):
    ID = "inventory"
    NAME = QT_TRANSLATE_NOOP("@default", "Material inventory (资料清单)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Delivery (成果包)")
    GROUP_ID = "delivery"
    HELP = QT_TRANSLATE_NOOP("@default", "Lists every file of a 汇交 delivery package with its size and SHA-256, counts villages, households, parcels, contracts and certificates, reports what the delivery rules require but is missing, and the village groups without confirmed data. With PREVIOUS (an earlier inventory XLSX) it proves a copy complete and undamaged: CHANGED_FILES counts files whose content changed. The delivery is only read.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("INPUT", tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterFile("PREVIOUS", tr("Earlier inventory XLSX to compare with"), extension="xlsx", optional=True))
        self.addParameter(QgsProcessingParameterFile("LEDGER", tr("Certificate-issue ledger (台账), when not in the package"), optional=True))
        self.addParameter(QgsProcessingParameterString("REQUIRED_LAYERS", tr("Required vector layers (comma separated)"), defaultValue="DK", optional=True))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_HTML", tr("Inventory (HTML)"), "HTML (*.html)", optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_XLSX", tr("Inventory (XLSX)"), "Excel (*.xlsx)", optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_PDF", tr("Inventory (PDF)"), "PDF (*.pdf)", optional=True, createByDefault=False))
        for name, label in (("FILE_COUNT", QT_TRANSLATE_NOOP("@default", "Files")), ("TOTAL_BYTES", QT_TRANSLATE_NOOP("@default", "Total bytes")), ("MISSING_REQUIRED", QT_TRANSLATE_NOOP("@default", "Required items missing")),
                            ("CHANGED_FILES", QT_TRANSLATE_NOOP("@default", "Files changed since the previous inventory")), ("ADDED_FILES", QT_TRANSLATE_NOOP("@default", "Files added")), ("MISSING_FILES", QT_TRANSLATE_NOOP("@default", "Files missing")),
                            ("PARCELS", QT_TRANSLATE_NOOP("@default", "Parcels")), ("HOUSEHOLDS", QT_TRANSLATE_NOOP("@default", "Households"))):
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))
        self.addOutput(QgsProcessingOutputBoolean("COMPLETE", tr("All required items present")))
        self.addOutput(QgsProcessingOutputString("FINGERPRINT", tr("Inventory fingerprint (SHA-256)")))

    def execute(self, parameters, context, feedback):
        src = self.parameterAsFile(parameters, "INPUT", context)
        prev = self.parameterAsFile(parameters, "PREVIOUS", context) or None
        ledger = self.parameterAsFile(parameters, "LEDGER", context) or None
        req = [x.strip().upper() for x in (self.parameterAsString(parameters, "REQUIRED_LAYERS", context) or "DK").split(",") if x.strip()]
        html_path = self.parameterAsFileOutput(parameters, "OUTPUT_HTML", context)
        xlsx_path = self.parameterAsFileOutput(parameters, "OUTPUT_XLSX", context)
        pdf_path = self.parameterAsFileOutput(parameters, "OUTPUT_PDF", context)
        prog = self.progress(feedback)
        inv = inventory.build(src, previous=prev, ledger=ledger, required_layers=req, progress=prog.sub(0, 90))
        html = inventory.to_html(inv)
        results = {}
        if html_path:
            write_text(html_path, html)
            results["OUTPUT_HTML"] = html_path
        if xlsx_path:
            inventory.to_xlsx(inv, xlsx_path)
            results["OUTPUT_XLSX"] = xlsx_path
        if pdf_path:
            html_to_pdf(html, pdf_path, title=f"{inv.county}{inv.county_name} 资料清单")
            results["OUTPUT_PDF"] = pdf_path
        c = inv.comparison or {}
        for m in inv.missing:
            feedback.reportError(f"缺失必备项 missing: {m['item']} — {m['message']}", False)
        if c:
            feedback.pushInfo(f"与上次清单比对 compared with previous: added {len(c['added'])}, missing {len(c['missing'])}, changed {len(c['changed'])}")
            for r in c["changed"]:
                feedback.pushWarning(f"内容已变化 changed: {r}")
        results.update(FILE_COUNT=inv.file_count, TOTAL_BYTES=inv.total_bytes, MISSING_REQUIRED=len(inv.missing),
                       COMPLETE=inv.complete, CHANGED_FILES=len(c.get("changed", [])), ADDED_FILES=len(c.get("added", [])),
                       MISSING_FILES=len(c.get("missing", [])), PARCELS=inv.totals["parcels"], HOUSEHOLDS=inv.totals["households"],
                       FINGERPRINT=inv.fingerprint())
        feedback.setProgress(100)
        return results
