"""Menu and toolbar entries of the plugin."""
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from ..processing.base import ICON, tr


def _run_dialog(alg_id):
    from qgis import processing

    processing.execAlgorithmDialog(f"lcb:{alg_id}", {})


def build_menus(plugin):
    from ..plugin import MENU

    iface = plugin.iface
    toolbar = iface.addToolBar(tr("Land Contract Bridge"))
    toolbar.setObjectName("LandContractBridgeToolbar")
    actions = []
    entries = [
        ("inventory", tr("Material inventory (资料清单)…"), lambda: _run_dialog("inventory")),
        ("validate", tr("Quality check (成果质检)…"), lambda: _run_dialog("validate")),
        ("merge", tr("Integrate into registration database (整合入库)…"), lambda: _run_dialog("merge")),
        ("discrepancy_report", tr("Consultation report (协商清单)…"), lambda: _run_dialog("discrepancy_report")),
    ]
    for key, text, slot in entries:
        a = QAction(QIcon(ICON), text, iface.mainWindow())
        a.setObjectName(f"lcb_{key}")
        a.triggered.connect(slot)
        iface.addPluginToMenu(MENU, a)
        actions.append(a)
    toolbar.addAction(actions[0])
    return toolbar, actions
