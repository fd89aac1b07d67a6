"""The docks, driven for real offscreen: model, filters, sorting, selection both ways, consultation records."""
import sqlite3

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QItemSelectionModel, Qt

from land_contract_bridge.ui.discrepancy_dock import DiscrepancyDock
from land_contract_bridge.ui.issues_dock import IssuesDock


def test_discrepancy_rows_counts_and_filters(qgis_iface, merged_gpkg, truth):
    d = DiscrepancyDock(qgis_iface)
    assert d.open(merged_gpkg)
    by = truth["counts"]["by_class"]
    assert d.model.rowCount() == sum(by.values()) - by["consistent"]
    assert d.table.class_counts == by
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    assert d.model.rowCount() == 8
    assert {d.model.data(d.model.index(r, 13)) for r in range(8)} == {"合同与登簿面积不一致"}
    d.cls.setCurrentIndex(0)
    d.village.setCurrentIndex(d.village.findText("梁村镇马堂村"))
    assert d.model.rowCount() == 131  # every parcel needing attention lies in 马堂村
    d.text.setText("3715260010010400065")
    d.apply_filters()
    assert d.model.rowCount() == 1
    d.text.setText("")
    d.min_diff.setValue(100)
    d.apply_filters()
    assert all(max(abs(d.model.value(r, "HTDBC") or 0), abs(d.model.value(r, "HTSCC") or 0)) >= 100 for r in range(d.model.rowCount()))
    d.show_all.setChecked(True)
    d.min_diff.setValue(0)
    d.village.setCurrentIndex(0)
    d.apply_filters()
    assert d.model.rowCount() == sum(by.values())
    d.village.setCurrentIndex(d.village.findText("梁村镇郭桥村"))
    assert d.model.rowCount() == 9


def test_sorting(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    col = [k for k, _ in d.model.HEAD].index("HTMJ")
    d.model.sort(col, Qt.SortOrder.DescendingOrder)
    vals = [d.model.value(r, "HTMJ") for r in range(d.model.rowCount())]
    vals = [v for v in vals if v is not None]
    assert vals == sorted(vals, reverse=True)


def test_selection_both_ways(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    layer = d.layer
    assert layer is not None and layer in QgsProject.instance().mapLayers().values()
    sm = d.view.selectionModel()
    sm.select(d.model.index(2, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    sm.select(d.model.index(5, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    assert sorted(layer.selectedFeatureIds()) == sorted(d.model.fids([2, 5]))
    target = d.model.fids([7])
    layer.selectByIds(target)
    assert d.selected_rows() == [7]


def test_status_persists_and_reopens(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    assert d.apply_status("以合同面积为准", "两局协商一致", rows=[0, 1]) == 2
    dkbms = [d.model.value(r, "DKBM") for r in (0, 1)]
    assert {d.model.value(r, "XSZT") for r in (0, 1)} == {"以合同面积为准"}
    QgsProject.instance().removeAllMapLayers()
    e = DiscrepancyDock(qgis_iface)
    e.open(merged_gpkg)
    e.status.setCurrentIndex(e.status.findData("以合同面积为准"))
    assert sorted(e.model.value(r, "DKBM") for r in range(e.model.rowCount())) == sorted(dkbms)
    c = sqlite3.connect(merged_gpkg)
    assert c.execute("SELECT COUNT(*) FROM audit WHERE action = 'consult'").fetchone()[0] == 2


def test_status_while_qgis_is_editing_the_layer(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    layer = d.layer
    assert layer.startEditing()
    fid0 = d.model.fids([0])[0]
    layer.changeAttributeValue(fid0, layer.fields().indexOf("DKMC"), "编辑中改名")
    d.apply_status("重新测量", "待复测", rows=[0])
    assert layer.commitChanges()
    c = sqlite3.connect(merged_gpkg)
    assert c.execute("SELECT DKMC, XSZT, XSBZ FROM cbdk WHERE fid = ?", (fid0,)).fetchone() == ("编辑中改名", "重新测量", "待复测")
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_state_round_trip(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("measured_differs"))
    d.text.setText("马堂村")
    d.apply_filters()
    rows = d.model.rowCount()
    s = d.state()
    e = DiscrepancyDock(qgis_iface)
    e.restore(s)
    assert e.model.rowCount() == rows and e.cls.currentData() == "measured_differs"


def test_project_save_and_reload_restores_the_dock(plugin, merged_gpkg, tmp_path):
    from land_contract_bridge.ui.menus import dock
    d = dock(plugin, "discrepancy", show=True)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("share_only"))
    proj = tmp_path / "p.qgz"
    assert QgsProject.instance().write(str(proj))
    d.cls.setCurrentIndex(0)
    assert QgsProject.instance().read(str(proj))
    assert plugin.docks["discrepancy"].cls.currentData() == "share_only"
    assert plugin.docks["discrepancy"].model.rowCount() == 5


def test_issues_dock(plugin, qgis_processing, qgis_iface, demo, tmp_path):
    from qgis import processing as qp
    out = qp.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "issues.gpkg")})
    layer = QgsVectorLayer(out["OUTPUT"], "issues", "ogr")
    d = IssuesDock(qgis_iface)
    assert d.load_layer(layer)
    assert d.model.rowCount() == 54 and d.proxy.rowCount() == 54  # 48 errors, 6 warnings (test_validate counts)
    d.cat.setCurrentIndex(d.cat.findData("geometry"))
    assert d.proxy.rowCount() == 6
    geo = d.proxy.index(0, 0)
    assert d.zoom_to(geo)
    d.cat.setCurrentIndex(0)
    d.search.setText("3715260010010400018")
    assert d.proxy.rowCount() == 1
    d.search.setText("")
    n = d.export(tmp_path / "x.csv")
    assert n == 54 and len((tmp_path / "x.csv").read_text("utf-8-sig").splitlines()) == 55
    d.export(tmp_path / "x.xlsx")
    assert (tmp_path / "x.xlsx").stat().st_size > 1000
    # the algorithm opened the dock by itself after the run (desktop post-processing)
    assert "issues" in plugin.docks and plugin.docks["issues"].model.rowCount() == 54
