from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .base import ICON, tr


class LcbProvider(QgsProcessingProvider):
    def id(self):
        return "lcb"

    def name(self):
        return tr("Land Contract Bridge (确权成果衔接)")

    def longName(self):  # noqa: N802
        return self.name()

    def icon(self):
        return QIcon(ICON)

    def loadAlgorithms(self):  # noqa: N802
        from .alg_inventory import InventoryAlgorithm

        algs = [InventoryAlgorithm()]
        try:
            from .alg_validate import ValidateAlgorithm
            algs.append(ValidateAlgorithm())
        except ImportError:
            pass
        try:
            from .alg_merge import MergeAlgorithm
            algs.append(MergeAlgorithm())
        except ImportError:
            pass
        try:
            from .alg_report import DiscrepancyReportAlgorithm
            algs.append(DiscrepancyReportAlgorithm())
        except ImportError:
            pass
        for a in algs:
            self.addAlgorithm(a)
