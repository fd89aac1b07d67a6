from qgis.core import (QgsProcessingContext, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber)

from ..core import classify, merge
from .base import LcbAlgorithm

CONFLICT_OPTIONS = ["keep", "replace"]


class MergeAlgorithm(LcbAlgorithm):
    ID = "merge"
    NAME = "Integrate into registration database (整合入库)"
    GROUP = "Registration (登记入库)"
    GROUP_ID = "registration"
    HELP = ("Integrates a delivery into the county registration GeoPackage (created when missing, updated otherwise). "
            "Per parcel: the area class (share_only 确股不确地, unmatched 图数不对应, contract_register_mismatch 合同与登簿面积不一致 → "
            "joint consultation, measured_differs 实测面积不一致 → no adjustment, SCMJ recorded, consistent 一致), a 不动产单元号 "
            "allocated once and never changed, right holders (按份共有 shares for share-only land), archive links and provenance. "
            "Merging the same package again changes nothing; a parcel redefined differently by a later delivery is counted in "
            "CONFLICTS and recorded, and the existing record stays unless ON_CONFLICT = replace. One transaction per merge.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("INPUT", self.tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterFileDestination("TARGET", self.tr("Registration GeoPackage (created or updated)"), "GeoPackage (*.gpkg)"))
        self.addParameter(QgsProcessingParameterFile("LEDGER", self.tr("Certificate-issue ledger (台账: CSV/XLSX/XLS/DBF with DKBM and DBMJ); found in 其他资料 when empty"), optional=True))
        self.addParameter(QgsProcessingParameterNumber("AREA_TOLERANCE", self.tr("Area tolerance (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterEnum("ON_CONFLICT", self.tr("When a parcel already in the database differs"),
                                                     [self.tr("keep the existing record (record the conflict)"), self.tr("replace it (record the conflict)")], defaultValue=0))
        self.addParameter(QgsProcessingParameterCrs("TARGET_CRS", self.tr("CRS of a new database (default: the delivery's)"), optional=True))
        self.addParameter(QgsProcessingParameterFile("ZONING", self.tr("Cadastral zoning table (code, DJQ, DJZQ) for 不动产单元号"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean("COPY_ARCHIVE", self.tr("Copy sketches and attachments beside the database"), defaultValue=False))
        self.addOutput(QgsProcessingOutputVectorLayer("OUTPUT", self.tr("Parcels (cbdk)")))
        for name, label in (("PARCELS", "Parcels"), ("INSERTED", "Inserted"), ("UPDATED", "Updated"), ("UNCHANGED", "Unchanged"), ("CONFLICTS", "Conflicts")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))
        for cls in classify.ORDER:
            self.addOutput(QgsProcessingOutputNumber(cls.upper(), f"{cls} ({classify.CLASSES[cls]})"))
        self.addOutput(QgsProcessingOutputString("FINGERPRINT", self.tr("Delivery fingerprint (SHA-256)")))

    def run(self, parameters, context, feedback):
        src = self.parameterAsFile(parameters, "INPUT", context)
        target = self.parameterAsFileOutput(parameters, "TARGET", context)
        crs = self.parameterAsCrs(parameters, "TARGET_CRS", context)
        epsg = None
        if crs.isValid() and crs.authid().upper().startswith("EPSG:"):
            epsg = int(crs.authid().split(":")[1])
        res = merge.merge(src, target, ledger=self.parameterAsFile(parameters, "LEDGER", context) or None,
                          tol=self.parameterAsDouble(parameters, "AREA_TOLERANCE", context),
                          on_conflict=CONFLICT_OPTIONS[self.parameterAsEnum(parameters, "ON_CONFLICT", context)],
                          target_epsg=epsg, zoning=self.parameterAsFile(parameters, "ZONING", context) or None,
                          copy_archive=self.parameterAsBoolean(parameters, "COPY_ARCHIVE", context), progress=self.progress(feedback))
        feedback.pushInfo(f"地块 parcels {res['PARCELS']}: 新增 inserted {res['INSERTED']}, 更新 updated {res['UPDATED']}, "
                          f"未变 unchanged {res['UNCHANGED']}, 冲突 conflicts {res['CONFLICTS']}")
        for cls, n in res["classes"].items():
            feedback.pushInfo(f"  {classify.CLASSES[cls]} {cls}: {n}")
        if res["CONFLICTS"]:
            feedback.pushWarning(f"{res['CONFLICTS']} 个地块与库中记录不一致，已记入 conflicts 表 / conflicts recorded in the conflicts table")
        uri = f"{target}|layername=cbdk"
        if context.willLoadLayerOnCompletion(uri) is False and feedback is not None:
            details = QgsProcessingContext.LayerDetails(self.tr("Parcels by area class (面积差异分类)"), context.project(), "OUTPUT")
            context.addLayerToLoadOnCompletion(uri, details)
        out = {k: res[k] for k in ("PARCELS", "INSERTED", "UPDATED", "UNCHANGED", "CONFLICTS")}
        out.update({cls.upper(): n for cls, n in res["classes"].items()})
        out.update(OUTPUT=uri, FINGERPRINT=res["fingerprint"])
        return out
