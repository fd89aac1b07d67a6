from qgis.core import (QgsCoordinateReferenceSystem, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber)

from ..core import classify, merge
from .base import QT_TRANSLATE_NOOP, LcbAlgorithm, tr

CONFLICT_OPTIONS = ["keep", "replace"]


class MergeAlgorithm(LcbAlgorithm):
    ID = "merge"
    NAME = QT_TRANSLATE_NOOP("@default", "Integrate into registration database (整合入库)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Registration (登记入库)")
    GROUP_ID = "registration"
    HELP = QT_TRANSLATE_NOOP("@default", "Integrates a delivery into the county registration GeoPackage (created when missing, updated otherwise). Per parcel: the area class (share_only 确股不确地, unmatched 图数不对应, contract_register_mismatch 合同与登簿面积不一致 → joint consultation, measured_differs 实测面积不一致 → no adjustment, SCMJ recorded, consistent 一致), a 不动产单元号 allocated once and never changed, right holders (按份共有 shares for share-only land), archive links and provenance. Merging the same package again changes nothing; a parcel redefined differently by a later delivery is counted in CONFLICTS and recorded, and the existing record stays unless ON_CONFLICT = replace. One transaction per merge.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("INPUT", tr("Delivery folder (成果包文件夹)"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterFileDestination("TARGET", tr("Registration GeoPackage (created or updated)"), "GeoPackage (*.gpkg)"))
        self.addParameter(QgsProcessingParameterFile("LEDGER", tr("Certificate-issue ledger (台账: CSV/XLSX/XLS/DBF with DKBM and DBMJ); found in 其他资料 when empty"), optional=True))
        self.addParameter(QgsProcessingParameterNumber("AREA_TOLERANCE", tr("Area tolerance (m²)"), QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0))
        self.addParameter(QgsProcessingParameterEnum("ON_CONFLICT", tr("When a parcel already in the database differs"),
                                                     [tr("keep the existing record (record the conflict)"), tr("replace it (record the conflict)")], defaultValue=0))
        self.addParameter(QgsProcessingParameterCrs("TARGET_CRS", tr("CRS of a new database (default: the delivery's)"), optional=True))
        self.addParameter(QgsProcessingParameterCrs("SOURCE_CRS", tr("CRS of the delivery, when its .prj is missing or wrong (checked against the coordinates)"), optional=True))
        self.addParameter(QgsProcessingParameterFile("ZONING", tr("Cadastral zoning table (code, DJQ, DJZQ) for 不动产单元号"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean("COPY_ARCHIVE", tr("Copy sketches and attachments beside the database"), defaultValue=False))
        self.addOutput(QgsProcessingOutputVectorLayer("OUTPUT", tr("Parcels (cbdk)")))
        for name, label in (("PARCELS", QT_TRANSLATE_NOOP("@default", "Parcels")), ("INSERTED", QT_TRANSLATE_NOOP("@default", "Inserted")), ("UPDATED", QT_TRANSLATE_NOOP("@default", "Updated")), ("UNCHANGED", QT_TRANSLATE_NOOP("@default", "Unchanged")), ("CONFLICTS", QT_TRANSLATE_NOOP("@default", "Conflicts"))):
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))
        for cls in classify.ORDER:
            self.addOutput(QgsProcessingOutputNumber(cls.upper(), f"{cls} ({classify.CLASSES[cls]})"))
        self.addOutput(QgsProcessingOutputString("FINGERPRINT", tr("Delivery fingerprint (SHA-256)")))

    def execute(self, parameters, context, feedback):
        src = self.parameterAsFile(parameters, "INPUT", context)
        target = self.parameterAsFileOutput(parameters, "TARGET", context)
        epsg = None
        if parameters.get("TARGET_CRS") not in (None, ""):  # parsing an absent CRS makes PROJ log noise
            crs = self.parameterAsCrs(parameters, "TARGET_CRS", context)
            if crs.isValid() and crs.authid().upper().startswith("EPSG:"):
                epsg = int(crs.authid().split(":")[1])
        res = merge.merge(src, target, ledger=self.parameterAsFile(parameters, "LEDGER", context) or None,
                          tol=self.parameterAsDouble(parameters, "AREA_TOLERANCE", context),
                          on_conflict=CONFLICT_OPTIONS[self.parameterAsEnum(parameters, "ON_CONFLICT", context)],
                          target_epsg=epsg, zoning=self.parameterAsFile(parameters, "ZONING", context) or None,
                          copy_archive=self.parameterAsBoolean(parameters, "COPY_ARCHIVE", context), progress=self.progress(feedback),
                          source_crs=self._source_crs(parameters, context))
        feedback.pushInfo(f"地块 parcels {res['PARCELS']}: 新增 inserted {res['INSERTED']}, 更新 updated {res['UPDATED']}, "
                          f"未变 unchanged {res['UNCHANGED']}, 冲突 conflicts {res['CONFLICTS']}")
        for cls, n in res["classes"].items():
            feedback.pushInfo(f"  {classify.CLASSES[cls]} {cls}: {n}")
        if res["CONFLICTS"]:
            feedback.pushWarning(f"{res['CONFLICTS']} 个地块与库中记录不一致，已记入 conflicts 表 / conflicts recorded in the conflicts table")
        uri = f"{target}|layername=cbdk"
        out = {k: res[k] for k in ("PARCELS", "INSERTED", "UPDATED", "UNCHANGED", "CONFLICTS")}
        out.update({cls.upper(): n for cls, n in res["classes"].items()})
        out.update(OUTPUT=uri, FINGERPRINT=res["fingerprint"])
        self._target = target
        return out

    def _source_crs(self, parameters, context):
        if parameters.get("SOURCE_CRS") in (None, ""):
            return None
        crs = self.parameterAsCrs(parameters, "SOURCE_CRS", context)
        if not crs.isValid():
            return str(parameters["SOURCE_CRS"])  # core names what it cannot read
        return crs.authid() if crs.authid().upper().startswith("EPSG:") else crs.toWkt(QgsCoordinateReferenceSystem.WktVariant.WKT2_2019)

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        """In the desktop, open the 面积差异 dock on the merged database (no-op in qgis_process)."""
        from ..ui.menus import ACTIVE, show_discrepancies
        if ACTIVE and getattr(self, "_target", None):
            show_discrepancies(self._target)
        return {}
