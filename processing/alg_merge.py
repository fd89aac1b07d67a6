from qgis.core import (QgsCoordinateReferenceSystem, QgsProcessingOutputFile, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..core import classify
from ..core.params import SPECS, Params
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from . import pgsource
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
    SCHEMA = pgsource.SCHEMA
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
        # TARGET is an ordinary (string) parameter, not an output: the dialog shows it at the top with INPUT, never
        # offers a temporary file, and pre-fills the database used last (processing/widgets.py). It is required:
        # qgis_process and scripts must name it. A GeoPackage, or a PostgreSQL database (with SCHEMA).
        target = QgsProcessingParameterString(self.TARGET, tr("Registration database (.gpkg or PostgreSQL)"))
        target.setHelp(tr("An existing registration GeoPackage is updated; a new file name creates one. A PostgreSQL database is named by "
                          "postgresql://…, PG:… or the name of a QGIS PostgreSQL connection; the registration database is the schema SCHEMA "
                          "(created if missing)."))
        target.setMetadata({"widget_wrapper": {"class": f"{__package__}.widgets.TargetWidgetWrapper"}})
        self.addParameter(target)
        self._param(QgsProcessingParameterFile(self.LEDGER, tr("Certificate-issue ledger (台账)"), optional=True),
                    tr("CSV, XLSX, XLS or DBF with DKBM and DBMJ. When empty, the ledger in the package's 其他资料 folder is used."))
        self.addParameter(QgsProcessingParameterNumber(self.AREA_TOLERANCE, tr("Area tolerance (m²)"), QgsProcessingParameterNumber.Type.Double,
                                                       SPECS["area_tolerance"].default, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(self.ON_CONFLICT, tr("When a parcel already in the database differs"),
                                                     [tr("keep the existing record (record the conflict)"),
                                                      tr("replace it (record the conflict)")], defaultValue=0))
        self._param(QgsProcessingParameterCrs(self.TARGET_CRS, tr("CRS of a new database"), optional=True),
                    tr("Default: the delivery's own CRS."))
        self._param(QgsProcessingParameterCrs(self.SOURCE_CRS, tr("CRS of the delivery"), optional=True),
                    tr("Only when its .prj is missing or wrong; it is checked against the coordinates."))
        self._param(QgsProcessingParameterFile(self.ZONING, tr("Cadastral zoning table"), optional=True),
                    tr("A table with code, DJQ and DJZQ (a 9-digit township or 12-digit village code) that sets 地籍区 and 地籍子区 of the 不动产单元号."))
        self.addParameter(QgsProcessingParameterBoolean(self.COPY_ARCHIVE, tr("Copy sketches and attachments beside the database"), defaultValue=False))
        self.addParameter(pgsource.schema_parameter(created=True))
        self.addOutput(QgsProcessingOutputFile(self.TARGET, tr("Registration database")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.OUTPUT, tr("Parcels (cbdk)")))
        for name, label in ((self.PARCELS, QT_TRANSLATE_NOOP("@default", "Parcels")), (self.INSERTED, QT_TRANSLATE_NOOP("@default", "Inserted")),
                            (self.UPDATED, QT_TRANSLATE_NOOP("@default", "Updated")), (self.UNCHANGED, QT_TRANSLATE_NOOP("@default", "Unchanged")),
                            (self.CONFLICTS, QT_TRANSLATE_NOOP("@default", "Conflicts"))):
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))
        for cls in classify.ORDER:
            self.addOutput(QgsProcessingOutputNumber(cls.upper(), f"{cls} ({classify.CLASSES[cls]})"))
        self.addOutput(QgsProcessingOutputString(self.FINGERPRINT, tr("Delivery fingerprint (SHA-256)")))

    def _param(self, param, help_text):
        param.setHelp(help_text)  # the tooltip of the parameter in the dialog; the label stays short
        self.addParameter(param)

    def checkParameterValues(self, parameters, context):  # noqa: N802
        target = self.parameterAsString(parameters, self.TARGET, context).strip()
        if target.upper() in ("TEMPORARY_OUTPUT", "MEMORY:"):
            return False, tr("The registration database cannot be a temporary file: name a .gpkg that stays.")
        return super().checkParameterValues(parameters, context)

    def execute(self, parameters, context, feedback):
        from ..core import merge, pgconn  # here, not at the top: loading the plugin stays cheap (qgis_process loads it for every run)

        src = self.parameterAsFile(parameters, self.INPUT, context)
        target = pgsource.resolve(self.parameterAsString(parameters, self.TARGET, context).strip(),
                                  self.parameterAsString(parameters, self.SCHEMA, context))
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
        if res.get("CANCELLED"):
            feedback.pushWarning(f"{res['CANCELLED']} 个地块已在登记库中注销（cbdk_history），未恢复，已记入 conflicts 表 / "
                                 f"{res['CANCELLED']} parcels were cancelled in the registration database (cbdk_history): not brought back, "
                                 "recorded in the conflicts table")
        if isinstance(target, pgconn.PgTarget):  # QGIS's layer source (authcfg or no password), for the dock and the project
            uri = target = pgsource.source(target)
        else:
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
