from qgis.core import (QgsCoordinateReferenceSystem, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber)

from ..core import classify, merge
from ..core.params import SPECS, Params
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from .base import LcbAlgorithm

CONFLICT_OPTIONS = ["keep", "replace"]


class MergeAlgorithm(LcbAlgorithm):
    ID = "merge"
    NAME = QT_TRANSLATE_NOOP("@default", "Integrate into registration database (整合入库)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"

    # parameters
    INPUT = "INPUT"
    TARGET = "TARGET"
    LEDGER = "LEDGER"
    AREA_TOLERANCE = SPECS["area_tolerance"].key  # the one parameter of core.params the merge reads
    ON_CONFLICT = "ON_CONFLICT"
    TARGET_CRS = "TARGET_CRS"
    SOURCE_CRS = "SOURCE_CRS"
    ZONING = "ZONING"
    COPY_ARCHIVE = "COPY_ARCHIVE"
    # outputs (and one count per area class, named classify.ORDER upper-cased)
    OUTPUT = "OUTPUT"
    PARCELS = "PARCELS"
    INSERTED = "INSERTED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    CONFLICTS = "CONFLICTS"
    FINGERPRINT = "FINGERPRINT"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.INPUT, tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterFileDestination(self.TARGET, tr("Registration GeoPackage (created or updated)"), "GeoPackage (*.gpkg)"))
        self.addParameter(QgsProcessingParameterFile(self.LEDGER, tr("Certificate-issue ledger (台账: CSV/XLSX/XLS/DBF with DKBM and DBMJ); found in 其他资料 when empty"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.AREA_TOLERANCE, tr("Area tolerance (m²)"), QgsProcessingParameterNumber.Type.Double,
                                                       SPECS["area_tolerance"].default, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(self.ON_CONFLICT, tr("When a parcel already in the database differs"),
                                                     [tr("keep the existing record (record the conflict)"), tr("replace it (record the conflict)")], defaultValue=0))
        self.addParameter(QgsProcessingParameterCrs(self.TARGET_CRS, tr("CRS of a new database (default: the delivery's)"), optional=True))
        self.addParameter(QgsProcessingParameterCrs(self.SOURCE_CRS, tr("CRS of the delivery, when its .prj is missing or wrong (checked against the coordinates)"), optional=True))
        self.addParameter(QgsProcessingParameterFile(self.ZONING, tr("Cadastral zoning table (code, DJQ, DJZQ) for 不动产单元号"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean(self.COPY_ARCHIVE, tr("Copy sketches and attachments beside the database"), defaultValue=False))
        self.addOutput(QgsProcessingOutputVectorLayer(self.OUTPUT, tr("Parcels (cbdk)")))
        for name, label in ((self.PARCELS, QT_TRANSLATE_NOOP("@default", "Parcels")), (self.INSERTED, QT_TRANSLATE_NOOP("@default", "Inserted")),
                            (self.UPDATED, QT_TRANSLATE_NOOP("@default", "Updated")), (self.UNCHANGED, QT_TRANSLATE_NOOP("@default", "Unchanged")),
                            (self.CONFLICTS, QT_TRANSLATE_NOOP("@default", "Conflicts"))):
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))
        for cls in classify.ORDER:
            self.addOutput(QgsProcessingOutputNumber(cls.upper(), f"{cls} ({classify.CLASSES[cls]})"))
        self.addOutput(QgsProcessingOutputString(self.FINGERPRINT, tr("Delivery fingerprint (SHA-256)")))

    def execute(self, parameters, context, feedback):
        src = self.parameterAsFile(parameters, self.INPUT, context)
        target = self.parameterAsFileOutput(parameters, self.TARGET, context)
        epsg = None
        if parameters.get(self.TARGET_CRS) not in (None, ""):  # parsing an absent CRS makes PROJ log noise
            crs = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
            if crs.isValid() and crs.authid().upper().startswith("EPSG:"):
                epsg = int(crs.authid().split(":")[1])
        res = merge.merge(src, target, ledger=self.parameterAsFile(parameters, self.LEDGER, context) or None,
                          params=Params.of({self.AREA_TOLERANCE: self.parameterAsDouble(parameters, self.AREA_TOLERANCE, context)}),
                          on_conflict=CONFLICT_OPTIONS[self.parameterAsEnum(parameters, self.ON_CONFLICT, context)],
                          target_epsg=epsg, zoning=self.parameterAsFile(parameters, self.ZONING, context) or None,
                          copy_archive=self.parameterAsBoolean(parameters, self.COPY_ARCHIVE, context), progress=self.progress(feedback),
                          source_crs=self._source_crs(parameters, context))
        feedback.pushInfo(f"地块 parcels {res['PARCELS']}: 新增 inserted {res['INSERTED']}, 更新 updated {res['UPDATED']}, "
                          f"未变 unchanged {res['UNCHANGED']}, 冲突 conflicts {res['CONFLICTS']}")
        for cls, n in res["classes"].items():
            feedback.pushInfo(f"  {classify.CLASSES[cls]} {cls}: {n}")
        if res["CONFLICTS"]:
            feedback.pushWarning(f"{res['CONFLICTS']} 个地块与库中记录不一致，已记入 conflicts 表 / conflicts recorded in the conflicts table")
        uri = f"{target}|layername=cbdk"
        out = {name: res[name] for name in (self.PARCELS, self.INSERTED, self.UPDATED, self.UNCHANGED, self.CONFLICTS)}  # core uses the same keys
        out.update({cls.upper(): n for cls, n in res["classes"].items()})
        out.update({self.OUTPUT: uri, self.TARGET: target, self.FINGERPRINT: res["fingerprint"]})
        return out

    def _source_crs(self, parameters, context):
        if parameters.get(self.SOURCE_CRS) in (None, ""):
            return None
        crs = self.parameterAsCrs(parameters, self.SOURCE_CRS, context)
        if not crs.isValid():
            return str(parameters[self.SOURCE_CRS])  # core names what it cannot read
        return crs.authid() if crs.authid().upper().startswith("EPSG:") else crs.toWkt(QgsCoordinateReferenceSystem.WktVariant.WKT2_2019)
