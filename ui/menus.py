"""Menu, toolbar and docks of the plugin (desktop only)."""
import json

from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from ..processing.base import ICON, tr

ACTIVE = []  # the running plugin instance (desktop), for algorithms that open docks after a run
STATE_SCOPE = "land_contract_bridge"


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
        ("issues_dock", tr("Quality check results dock (质检结果)"), lambda: dock(plugin, "issues", show=True)),
        ("discrepancy_dock", tr("Area discrepancies dock (面积差异)"), lambda: dock(plugin, "discrepancy", show=True)),
    ]
    for key, text, slot in entries:
        a = QAction(QIcon(ICON), text, iface.mainWindow())
        a.setObjectName(f"lcb_{key}")
        a.triggered.connect(slot)
        iface.addPluginToMenu(MENU, a)
        actions.append(a)
    toolbar.addAction(actions[0])
    toolbar.addAction(actions[4])
    toolbar.addAction(actions[5])
    QgsProject.instance().writeProject.connect(plugin._write_project)
    QgsProject.instance().readProject.connect(plugin._read_project)
    ACTIVE[:] = [plugin]
    return toolbar, actions


def dock(plugin, kind, show=False):
    d = plugin.docks.get(kind)
    if d is None:
        if kind == "issues":
            from .issues_dock import IssuesDock
            d = IssuesDock(plugin.iface, plugin.iface.mainWindow())
        else:
            from .discrepancy_dock import DiscrepancyDock
            d = DiscrepancyDock(plugin.iface, plugin.iface.mainWindow())
        plugin.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea if kind == "issues" else Qt.DockWidgetArea.BottomDockWidgetArea, d)
        plugin.docks[kind] = d
    if show:
        d.show()
        d.raise_()
    return d


def _show(kind, load, arg):
    if not ACTIVE:
        return None
    d = dock(ACTIVE[0], kind, show=True)
    getattr(d, load)(arg)
    return d


def show_issues(layer):
    """Called after lcb:validate ran in the desktop."""
    return _show("issues", "load_layer", layer)


def show_discrepancies(path):
    """Called after lcb:merge ran in the desktop."""
    return _show("discrepancy", "open", path)


def write_state(plugin):
    d = plugin.docks.get("discrepancy")
    state = d.state() if d is not None else {}
    QgsProject.instance().writeEntry(STATE_SCOPE, "discrepancy", json.dumps(state, ensure_ascii=False))
    issues = plugin.docks.get("issues")
    QgsProject.instance().writeEntry(STATE_SCOPE, "issues_visible", bool(issues is not None and issues.isVisible()))


def read_state(plugin):
    text, ok = QgsProject.instance().readEntry(STATE_SCOPE, "discrepancy", "")
    if ok and text:
        try:
            state = json.loads(text)
        except ValueError:
            state = {}
        if state.get("path") or state.get("visible"):
            d = dock(plugin, "discrepancy", show=bool(state.get("visible", True)))
            d.restore(state)
            d.setVisible(bool(state.get("visible", True)))
    vis, ok = QgsProject.instance().readBoolEntry(STATE_SCOPE, "issues_visible", False)
    if ok and vis:
        dock(plugin, "issues", show=True)
