from qgis.core import (QgsProcessingOutputNumber, QgsProcessingOutputString, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterString)

from ..core import changes
from ..core.changes import KIND_CODES, KINDS
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from . import pgsource
from .base import LcbAlgorithm

STATE_FILTER = "GeoPackage (*.gpkg);;All files (*)"


class ExportChangesAlgorithm(LcbAlgorithm):
    ID = "export_changes"
    NAME = QT_TRANSLATE_NOOP("@default", "Export change package (导出变更包)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Data sharing (增量共享)")
    GROUP_ID = "sharing"

    # parameters
    BASE = "BASE"
    CURRENT = "CURRENT"
    OUTPUT = "OUTPUT"
    SENDER = "SENDER"
    RECEIVER = "RECEIVER"
    SIGNING_KEY = "SIGNING_KEY"
    SCHEMA = pgsource.SCHEMA
    # outputs (and one count per business kind: FIRST_REGISTRATION, TRANSFER, ... = diff.KIND_CODES upper-cased)
    CHANGES = "CHANGES"
    PARCELS = "PARCELS"
    PACKAGE_ID = "PACKAGE_ID"

    def initAlgorithm(self, config=None):  # noqa: N802
        for name, label in ((self.BASE, tr("Base state: registration GeoPackage or delivery folder")),
                            (self.CURRENT, tr("Current state: registration GeoPackage or delivery folder"))):
            p = QgsProcessingParameterFile(name, label, fileFilter=STATE_FILTER)  # "All files (*)" last: a typed URI is accepted
            p.setHelp(tr("A registration GeoPackage, a delivery folder, or a registration database in PostgreSQL: postgresql://…, "
                         "PG:… or the name of a QGIS PostgreSQL connection (its schema SCHEMA)."))
            self.addParameter(p)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Change package folder")))
        self.addParameter(QgsProcessingParameterString(self.SENDER, tr("Sender (发送方)"), defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterString(self.RECEIVER, tr("Receiver (接收方)"), defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterFile(self.SIGNING_KEY, tr("Signing key (Ed25519 private key, PEM; optional)"), optional=True,
                                                     fileFilter="PEM (*.pem);;All files (*)"))
        self.addParameter(pgsource.schema_parameter())
        self.addOutput(QgsProcessingOutputNumber(self.CHANGES, tr("Change records")))
        self.addOutput(QgsProcessingOutputNumber(self.PARCELS, tr("Parcels concerned")))
        for kind in KINDS:
            self.addOutput(QgsProcessingOutputNumber(KIND_CODES[kind].upper(), f"{KIND_CODES[kind]} ({kind})"))
        self.addOutput(QgsProcessingOutputString(self.PACKAGE_ID, tr("Package id")))

    def execute(self, parameters, context, feedback):
        folder = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        base, current = (pgsource.input_database(self, parameters, context, name=n) for n in (self.BASE, self.CURRENT))
        res = changes.export_changes(base, current, folder, sender=self.parameterAsString(parameters, self.SENDER, context),
                                     receiver=self.parameterAsString(parameters, self.RECEIVER, context),
                                     signing_key=self.parameterAsFile(parameters, self.SIGNING_KEY, context) or None, progress=self.progress(feedback))
        counts = res["counts"]
        feedback.pushInfo(f"变更记录 records {res['CHANGES']}, 地块 parcels {counts['parcels']}, 业务 cases {counts['cases']}"
                          + (", 已签名 signed" if res["signed"] else ""))
        for kind in KINDS:
            feedback.pushInfo(f"  {kind} {KIND_CODES[kind]}: {counts['by_kind'][kind]}")
        out = {self.CHANGES: res["CHANGES"], self.PARCELS: counts["parcels"], self.PACKAGE_ID: res["package_id"], self.OUTPUT: folder}
        out.update({KIND_CODES[k].upper(): counts["by_kind"][k] for k in KINDS})
        return out
