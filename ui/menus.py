"""Menu, toolbar and docks of the plugin (desktop only). The plugin object passed in is used only through its
public attributes: iface, docks (kind → dock widget), post_processors (kept alive while QGIS may call them)."""
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

from qgis.core import (QgsApplication, QgsDataProvider, QgsProcessingLayerPostProcessorInterface, QgsProject, QgsVectorFileWriter,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QAction

from ..qtcommon import MENU, icon, remember_database, tr
from .common import style_issue_layer

STATE_SCOPE = "land_contract_bridge"
DELIVERY_PROPERTY = "land_contract_bridge/delivery"  # custom property of an issue layer: the delivery it checks
KEEP_POST_PROCESSORS = 20


def _run_dialog(alg_id):
    from qgis import processing

    processing.execAlgorithmDialog(f"lcb:{alg_id}", {})


def build_menus(plugin):
    """The 插件 → 确权成果衔接 menu and the toolbar (one distinct icon per tool and dock); returns (toolbar, actions)."""
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
        a = QAction(icon(key), text, iface.mainWindow())
        a.setObjectName(f"lcb_{key}")
        a.triggered.connect(slot)
        iface.addPluginToMenu(MENU, a)
        actions.append(a)
    for i, a in enumerate(actions):
        if i == 4:
            toolbar.addSeparator()
        toolbar.addAction(a)
    # The transition-period tools and the change packages: in the menu only (the toolbar keeps the daily six).
    more = []
    for key, text in (("farmland_notice", tr("Basic farmland notices (永久基本农田告知书)…")),
                      ("parcel_dossier", tr("Parcel dossier (地块档案)…")),
                      ("export_changes", tr("Export change package (导出变更包)…")),
                      ("apply_changes", tr("Apply change package (应用变更包)…"))):
        a = QAction(icon(key), text, iface.mainWindow())
        a.setObjectName(f"lcb_{key}")
        a.triggered.connect(lambda _checked=False, k=key: _run_dialog(k))
        iface.addPluginToMenu(MENU, a)
        more.append(a)
    return toolbar, actions, more


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


# ---------------------------------------------------------------------- after a run
class IssueLayerLoaded(QgsProcessingLayerPostProcessorInterface):
    """Runs once QGIS has added a validation's issue layer to the project (ProcessingUtils' post-processing)."""

    def __init__(self, plugin, delivery):
        super().__init__()
        self.plugin, self.delivery = plugin, delivery

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        if isinstance(layer, QgsVectorLayer):
            finish_issue_layer(self.plugin, layer, self.delivery)


def show_result(plugin, alg_id, results, context):
    """After a desktop run of lcb:validate whose issue layer QGIS loads into the project, that layer is named after
    the delivery, styled by severity, kept in a file when it was temporary, replaces the earlier issue layer of the
    same delivery, and is shown in the 质检结果 dock. A run whose layer is not loaded (a batch with "load layers"
    unticked, a script) leaves the dock alone. After lcb:merge the database opens in the 面积差异 dock and becomes
    the merge dialog's default. (The plugin subscribes this to processing/hooks.py; other runs show nothing.)"""
    if alg_id == "validate" and results.get("OUTPUT"):
        dest = results["OUTPUT"]
        if not context.willLoadLayerOnCompletion(dest):
            return None
        post = IssueLayerLoaded(plugin, results.get("DELIVERY") or "")
        plugin.post_processors = (getattr(plugin, "post_processors", []) + [post])[-KEEP_POST_PROCESSORS:]
        context.layerToLoadOnCompletionDetails(dest).setPostProcessor(post)
        return post
    if alg_id == "merge" and results.get("TARGET"):
        remember_database(results["TARGET"])
        d = dock(plugin, "discrepancy", show=True)
        d.open(results["TARGET"])
        return d
    elif alg_id == "apply_changes" and results.get("TARGET"):  # the updated database, showing the package's parcels
        d = dock(plugin, "discrepancy", show=True)
        if d.open(results["TARGET"]) and results.get("INPUT"):
            d.show_package(results["INPUT"])
        return d
    return None


def issue_store(delivery):
    """Folder and file-name stem under the profile where a temporary issue layer of `delivery` is kept."""
    folder = Path(QgsApplication.qgisSettingsDirPath()) / "land_contract_bridge" / "issues"
    name = Path(delivery).name if delivery else "issues"
    stem = re.sub(r'[\\/:*?"<>|\s]+', "_", name)[:60] or "issues"
    digest = hashlib.sha1(str(Path(delivery).resolve() if delivery else "").encode("utf-8")).hexdigest()[:8]
    return folder, f"{stem}-{digest}"


def persist(layer, delivery):
    """A temporary (memory) issue layer written to a GeoPackage under the profile and the layer switched to it, so
    that it comes back with the project. Only the latest file per delivery is kept (older ones are removed when
    nothing holds them open)."""
    folder, stem = issue_store(delivery)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{dt.datetime.now().strftime('%Y%m%d%H%M%S%f')}.gpkg"
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "issues"
    options.fileEncoding = "UTF-8"
    res = QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(path), QgsProject.instance().transformContext(), options)
    if res[0] != QgsVectorFileWriter.WriterError.NoError:
        return None
    name = layer.name()
    layer.setDataSource(f"{path}|layername=issues", name, "ogr", QgsDataProvider.ProviderOptions())
    for old in folder.glob(f"{stem}-*.gpkg"):
        if old != path and not _in_project(old):
            try:
                old.unlink()
            except OSError:
                pass
    return path


def _in_project(path):
    return any(Path(lyr.source().split("|")[0]) == path for lyr in QgsProject.instance().mapLayers().values())


def finish_issue_layer(plugin, layer, delivery):
    project = QgsProject.instance()
    for other in list(project.mapLayers().values()):  # the earlier issue layer of the same delivery goes
        if other is not layer and delivery and other.customProperty(DELIVERY_PROPERTY) == delivery:
            project.removeMapLayer(other.id())
    label = Path(delivery).name if delivery else ""
    if label and any(o.name().endswith(f" · {label}") and o.customProperty(DELIVERY_PROPERTY) not in (None, delivery)
                     for o in project.mapLayers().values() if o is not layer):
        label = f"{Path(delivery).parent.name}/{label}"  # another delivery of the same name is already shown
    layer.setName(tr("Issues (质检问题)") + (f" · {label}" if label else ""))
    layer.setCustomProperty(DELIVERY_PROPERTY, delivery)
    if layer.providerType() == "memory":
        persist(layer, delivery)
    style_issue_layer(layer)
    d = dock(plugin, "issues", show=True)
    d.load_layer(layer)
    return d


# ---------------------------------------------------------------------- with the project
def write_state(plugin):
    d = plugin.docks.get("discrepancy")
    state = d.state() if d is not None else {}
    QgsProject.instance().writeEntry(STATE_SCOPE, "discrepancy", json.dumps(state, ensure_ascii=False))
    issues = plugin.docks.get("issues")
    QgsProject.instance().writeEntry(STATE_SCOPE, "issues", json.dumps(issues.state() if issues is not None else {}, ensure_ascii=False))
    QgsProject.instance().writeEntry(STATE_SCOPE, "issues_visible", bool(issues is not None and issues.isVisible()))


def read_state(plugin):
    project = QgsProject.instance()
    text, ok = project.readEntry(STATE_SCOPE, "discrepancy", "")
    if ok and text:
        try:
            state = json.loads(text)
        except ValueError:
            state = {}
        if state.get("path") or state.get("visible"):
            d = dock(plugin, "discrepancy", show=bool(state.get("visible", True)))
            d.restore(state)
            d.setVisible(bool(state.get("visible", True)))
    text, ok = project.readEntry(STATE_SCOPE, "issues", "")
    try:
        state = json.loads(text) if ok and text else {}
    except ValueError:
        state = {}
    if not state:  # a project saved by an earlier version: only the visibility
        vis, ok = project.readBoolEntry(STATE_SCOPE, "issues_visible", False)
        state = {"visible": bool(ok and vis)}
    if state.get("layer") or state.get("visible"):
        d = dock(plugin, "issues", show=bool(state.get("visible", True)))
        d.restore(state)
        d.setVisible(bool(state.get("visible", True)))
