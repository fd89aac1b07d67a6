"""Menu, toolbar and docks of the plugin (desktop only). The plugin object passed in is used only through its
public attributes: iface, docks (kind → dock widget)."""
import json

from qgis.core import QgsProcessingUtils, QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QAction

from ..qtcommon import MENU, icon, tr

STATE_SCOPE = "land_contract_bridge"


def _run_dialog(alg_id):
    from qgis import processing

    processing.execAlgorithmDialog(f"lcb:{alg_id}", {})


def build_menus(plugin):
    """The 插件 → 确权成果衔接 menu and the toolbar; returns (toolbar, actions)."""
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
        a = QAction(icon(), text, iface.mainWindow())
        a.setObjectName(f"lcb_{key}")
        a.triggered.connect(slot)
        iface.addPluginToMenu(MENU, a)
        actions.append(a)
    toolbar.addAction(actions[0])
    toolbar.addAction(actions[4])
    toolbar.addAction(actions[5])
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


def show_result(plugin, alg_id, results, context):
    """After a desktop run of lcb:validate show its issues in the 质检结果 dock; after lcb:merge open the merged
    database in the 面积差异 dock. (The plugin subscribes this to processing/hooks.py; other runs show nothing.)"""
    if alg_id == "validate" and results.get("OUTPUT"):
        layer = QgsProcessingUtils.mapLayerFromString(results["OUTPUT"], context)
        if layer is not None:
            d = dock(plugin, "issues", show=True)
            d.load_layer(layer)
            return d
    elif alg_id == "merge" and results.get("TARGET"):
        d = dock(plugin, "discrepancy", show=True)
        d.open(results["TARGET"])
        return d
    elif alg_id == "apply_changes" and results.get("TARGET"):  # the updated database, showing the package's parcels
        d = dock(plugin, "discrepancy", show=True)
        if d.open(results["TARGET"]) and results.get("INPUT"):
            d.show_package(results["INPUT"])
        return d
    return None


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
