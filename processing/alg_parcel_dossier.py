from qgis.core import (QgsProcessingAlgorithm, QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterString)

from ..core import dossier, regdb
from .base import QT_TRANSLATE_NOOP, LcbAlgorithm, tr
from .pdf import html_to_pdf


class ParcelDossierAlgorithm(LcbAlgorithm):
    ID = "parcel_dossier"
    NAME = QT_TRANSLATE_NOOP("@default", "Parcel dossier (地块档案)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"
    HELP = QT_TRANSLATE_NOOP("@default", "An evidence dossier per parcel (HTML and PDF) from a registration GeoPackage: the values as delivered in each batch that carried the parcel (package path and fingerprint), the current values, the area class and the consultation record, the change history (audit and conflicts), the contractor's household, the archive files (plot sketch, source attachments) with SHA-256 and whether each is present, the neighbouring parcels and a map of the parcel among them drawn by QGIS. DKBM takes one or more parcel codes separated by commas. Names, ID numbers and phones are masked unless MASK is unticked.")

    def flags(self):
        # The map is drawn with QPainter and the PDF carries it as an image: QGIS's own layout and map export
        # algorithms run on the main thread for the same reason.
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("INPUT", tr("Registration GeoPackage"), extension="gpkg"))
        self.addParameter(QgsProcessingParameterString("DKBM", tr("Parcel codes (DKBM, comma separated)")))
        self.addParameter(QgsProcessingParameterBoolean("MASK", tr("Mask personal data (names, ID numbers)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterBoolean("MAP", tr("Draw the parcel map"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", tr("Folder for the dossiers")))
        self.addOutput(QgsProcessingOutputNumber("DOSSIERS", tr("Dossiers written")))

    def execute(self, parameters, context, feedback):
        path = self.parameterAsFile(parameters, "INPUT", context)
        codes = regdb.split_codes(self.parameterAsString(parameters, "DKBM", context))
        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        mask = self.parameterAsBoolean(parameters, "MASK", context)
        draw = None
        if self.parameterAsBoolean(parameters, "MAP", context):
            from . import maps

            def draw(d):
                return maps.parcel_map_png(path, d["geometry"])
        written = dossier.write(path, codes, folder, mask=mask, map_png=draw,
                                pdf=lambda html, p: html_to_pdf(html, p, title="地块档案"), progress=self.progress(feedback))
        n = len(dict.fromkeys(codes))
        feedback.pushInfo(f"地块档案 dossiers: {n}; files: {len(written)}")
        return {"DOSSIERS": n, "OUTPUT_FOLDER": folder}
