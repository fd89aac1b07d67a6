"""Runs inside the real QGIS desktop (qgis --code): checks the installed plugin, exercises it, writes a result
file, optionally screenshots the window, and quits. Settings come from the environment."""
import json
import os
import traceback

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

out = os.environ["LCB_SMOKE_OUT"]
result = {"ok": False}


def run():
    try:
        import qgis.utils as qu
        result["loaded"] = "land_contract_bridge" in plugins
        reg = QgsApplication.processingRegistry()
        prov = reg.providerById("lcb")
        result["algorithms"] = sorted(a.id() for a in prov.algorithms()) if prov else []
        menu_actions = [a.text() for a in iface.mainWindow().findChildren(type(iface.actionAbout())) if a.objectName().startswith("lcb_")]
        result["actions"] = len(menu_actions)
        # unload and load again (what the plugin manager does on reinstall)
        result["unload"] = qu.unloadPlugin("land_contract_bridge")
        result["reload"] = qu.loadPlugin("land_contract_bridge") and qu.startPlugin("land_contract_bridge")
        result["provider_after_reload"] = reg.providerById("lcb") is not None
        demo = os.environ.get("LCB_SMOKE_DEMO")
        if demo:  # a desktop run of validate and merge opens the docks by itself
            from qgis import processing
            tmp = os.environ["LCB_SMOKE_TMP"]
            p = plugins["land_contract_bridge"]
            processing.run("lcb:validate", {"INPUT": demo, "OUTPUT": os.path.join(tmp, "issues.gpkg")})
            d = p.docks.get("issues")
            result["issues_dock"] = [d.isVisible(), d.model.rowCount()] if d else None
            processing.run("lcb:merge", {"INPUT": demo, "TARGET": os.path.join(tmp, "reg.gpkg")})
            d = p.docks.get("discrepancy")
            result["discrepancy_dock"] = [d.isVisible(), d.model.rowCount()] if d else None
            # saving and reading the project runs the plugin's project slots (errors there reach the log only)
            proj = os.path.join(tmp, "smoke.qgz")
            result["project_saved"] = QgsProject.instance().write(proj)
            result["project_read"] = QgsProject.instance().read(proj)
        gpkg = os.environ.get("LCB_SMOKE_GPKG")
        if gpkg:
            from land_contract_bridge.ui.menus import dock
            p = plugins["land_contract_bridge"]
            d = dock(p, "discrepancy", show=True)
            d.open(gpkg)
            d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
            d.view.selectRow(0)
            result["dock_rows"] = d.model.rowCount()
            issues = os.environ.get("LCB_SMOKE_ISSUES")
            if issues:
                from qgis.core import QgsVectorLayer
                lyr = QgsVectorLayer(issues, "质检问题", "ogr")
                dock(p, "issues", show=True).load_layer(lyr)
            iface.mainWindow().resize(1600, 1000)
            canvas = iface.mapCanvas()
            canvas.setExtent(d.layer.extent())
            canvas.refresh()
        result["ok"] = True
    except Exception:  # noqa: BLE001
        result["error"] = traceback.format_exc()
    QTimer.singleShot(2500, finish)


def finish():
    shot = os.environ.get("LCB_SMOKE_SHOT")
    if shot:
        iface.mainWindow().grab().save(shot)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)
    QgsProject.instance().clear()
    os._exit(0)


QTimer.singleShot(1500, run)
