"""The lcb Processing provider: its algorithms, in the toolbox and in qgis_process alike."""
from qgis.core import QgsProcessingProvider

from ..qtcommon import icon, tr

PROVIDER_ID = "lcb"


class LcbProvider(QgsProcessingProvider):
    def id(self):
        return PROVIDER_ID

    def name(self):
        return tr("Land Contract Bridge (确权成果衔接)")

    def longName(self):  # noqa: N802
        return self.name()

    def icon(self):
        return icon()

    def loadAlgorithms(self):  # noqa: N802
        from .alg_apply_changes import ApplyChangesAlgorithm
        from .alg_export_changes import ExportChangesAlgorithm
        from .alg_farmland_notice import FarmlandNoticeAlgorithm
        from .alg_inventory import InventoryAlgorithm
        from .alg_merge import MergeAlgorithm
        from .alg_parcel_dossier import ParcelDossierAlgorithm
        from .alg_report import DiscrepancyReportAlgorithm
        from .alg_validate import ValidateAlgorithm

        for alg in (InventoryAlgorithm(), ValidateAlgorithm(), MergeAlgorithm(), DiscrepancyReportAlgorithm(),
                    FarmlandNoticeAlgorithm(), ParcelDossierAlgorithm(), ExportChangesAlgorithm(), ApplyChangesAlgorithm()):
            self.addAlgorithm(alg)
