from qgis.core import (QgsProcessingOutputNumber, QgsProcessingOutputVectorLayer, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber)

from ..core import changes
from ..qtcommon import QT_TRANSLATE_NOOP, tr
from . import pgsource
from .base import LcbAlgorithm


class ApplyChangesAlgorithm(LcbAlgorithm):
    ID = "apply_changes"
    NAME = QT_TRANSLATE_NOOP("@default", "Apply change package (应用变更包)")
    GROUP = QT_TRANSLATE_NOOP("@default", "Data sharing (增量共享)")
    GROUP_ID = "sharing"

    # parameters
    INPUT = "INPUT"
    TARGET = "TARGET"
    SENDER_KEY = "SENDER_KEY"
    ON_DIVERGED = "ON_DIVERGED"
    AREA_TOLERANCE = "AREA_TOLERANCE"
    SCHEMA = pgsource.SCHEMA
    # outputs
    OUTPUT = "OUTPUT"
    CHANGES = "CHANGES"
    APPLIED = "APPLIED"
    CONFLICTS = "CONFLICTS"
    ALREADY = "ALREADY"
    INSERTED = "INSERTED"
    UPDATED = "UPDATED"
    CANCELLED = "CANCELLED"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.INPUT, tr("Change package folder"), behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(pgsource.database_parameter(self.TARGET, tr("Registration database to update (.gpkg or PostgreSQL)")))
        self.addParameter(QgsProcessingParameterFile(self.SENDER_KEY, tr("Sender's public key (Ed25519, PEM): the signature must verify"), optional=True,
                                                     fileFilter="PEM (*.pem);;All files (*)"))
        self.addParameter(QgsProcessingParameterEnum(self.ON_DIVERGED, tr("When TARGET has changed since the package's base"),
                                                     [tr("refuse, naming what differs"), tr("apply what does not conflict, report the conflicts")],
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(self.AREA_TOLERANCE, tr("Area tolerance (m²; empty: the one TARGET was merged with)"),
                                                       QgsProcessingParameterNumber.Type.Double, None, optional=True, minValue=0))
        self.addParameter(pgsource.schema_parameter())
        self.addOutput(QgsProcessingOutputVectorLayer(self.OUTPUT, tr("Parcels (cbdk)")))
        for name, label in ((self.CHANGES, QT_TRANSLATE_NOOP("@default", "Change records")), (self.APPLIED, QT_TRANSLATE_NOOP("@default", "Applied")),
                            (self.CONFLICTS, QT_TRANSLATE_NOOP("@default", "Conflicts")), (self.ALREADY, QT_TRANSLATE_NOOP("@default", "Already present")),
                            (self.INSERTED, QT_TRANSLATE_NOOP("@default", "Inserted")), (self.UPDATED, QT_TRANSLATE_NOOP("@default", "Updated")),
                            (self.CANCELLED, QT_TRANSLATE_NOOP("@default", "Cancelled parcels"))):
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))

    def execute(self, parameters, context, feedback):
        from ..core import pgconn
        from ..core.changes.apply import DIVERGED  # here, not at the top: loading the plugin stays cheap (qgis_process loads it for every run)

        target = pgsource.input_database(self, parameters, context, name=self.TARGET)
        tol = parameters.get(self.AREA_TOLERANCE)
        res = changes.apply_changes(self.parameterAsFile(parameters, self.INPUT, context), target,
                                    sender_key=self.parameterAsFile(parameters, self.SENDER_KEY, context) or None,
                                    on_diverged=DIVERGED[self.parameterAsEnum(parameters, self.ON_DIVERGED, context)],
                                    area_tolerance=None if tol in (None, "") else self.parameterAsDouble(parameters, self.AREA_TOLERANCE, context),
                                    progress=self.progress(feedback))
        if res["noop"]:
            feedback.pushInfo(f"变更包已应用过或 TARGET 已是变更后的状态，未作修改 / already applied, nothing changed ({res['CHANGES']})")
        else:
            feedback.pushInfo(f"变更记录 records {res['CHANGES']}: 已应用 applied {res['APPLIED']}, 已存在 already {res['ALREADY']}, "
                              f"冲突 conflicts {res['CONFLICTS']}; 地块 parcels: 新增 inserted {res['INSERTED']}, 更新 updated {res['UPDATED']}, "
                              f"注销 cancelled {res['CANCELLED']}")
        if res["CONFLICTS"]:
            feedback.pushWarning(f"{res['CONFLICTS']} 条记录在 TARGET 中已被改动，未覆盖，已记入 conflicts 表 / "
                                 "conflicts kept and recorded in the conflicts table")
            for r in res["conflicts"][:20]:
                feedback.pushInfo(f"  {r['seq']}: {r['entity']} {r['key']} ({r['kind']})")
        out = {k: res[k] for k in (self.CHANGES, self.APPLIED, self.CONFLICTS, self.ALREADY, self.INSERTED, self.UPDATED, self.CANCELLED)}
        if isinstance(target, pgconn.PgTarget):  # QGIS's layer source (authcfg or no password)
            layer = target = pgsource.source(target)
        else:
            layer = f"{target}|layername=cbdk"
        out.update({self.OUTPUT: layer, self.TARGET: target, self.INPUT: self.parameterAsFile(parameters, self.INPUT, context)})
        return out
