from qgis.core import (QgsProcessingAlgorithm, QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterString)

from ..qtcommon import QT_TRANSLATE_NOOP, tr
from . import pgsource
from .base import LcbAlgorithm


class ParcelDossierAlgorithm(LcbAlgorithm):
    ID = "parcel_dossier"
    NAME = QT_TRANSLATE_NOOP("@default", "Parcel dossier (地块档案)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"

    # parameters
    INPUT = "INPUT"
    SCHEMA = pgsource.SCHEMA
    DKBM = "DKBM"
    MASK = "MASK"
    MAP = "MAP"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    # outputs
    DOSSIERS = "DOSSIERS"

    def flags(self):
        # The map is drawn with QPainter and the PDF carries it as an image: QGIS's own layout and map export
        # algorithms run on the main thread for the same reason.
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(pgsource.database_parameter(self.INPUT, tr("Registration database (.gpkg or PostgreSQL)")))
        self.addParameter(pgsource.schema_parameter())
        self.addParameter(QgsProcessingParameterString(self.DKBM, tr("Parcel codes (DKBM, comma separated)")))
        self.addParameter(QgsProcessingParameterBoolean(self.MASK, tr("Mask personal data (names, ID numbers)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterBoolean(self.MAP, tr("Draw the parcel map"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, tr("Folder for the dossiers")))
        self.addOutput(QgsProcessingOutputNumber(self.DOSSIERS, tr("Dossiers written")))

    def execute(self, parameters, context, feedback):
        from ..core import dossier, regdb  # here, not at the top: loading the plugin stays cheap (qgis_process loads it for every run)
        from .pdf import html_to_pdf

        path = pgsource.input_database(self, parameters, context)
        codes = regdb.split_codes(self.parameterAsString(parameters, self.DKBM, context))
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        mask = self.parameterAsBoolean(parameters, self.MASK, context)
        draw = None
        if self.parameterAsBoolean(parameters, self.MAP, context):
            from . import maps

            def draw(d):
                return maps.parcel_map_png(path, d["geometry"])
        written = dossier.write(path, codes, folder, mask=mask, map_png=draw,
                                pdf=lambda html, p: html_to_pdf(html, p, title="地块档案"), progress=self.progress(feedback))
        n = len(dict.fromkeys(codes))
        feedback.pushInfo(f"地块档案 dossiers: {n}; files: {len(written)}")
        return {self.DOSSIERS: n, self.OUTPUT_FOLDER: folder}
