"""The docks, driven for real offscreen: model, filters, sorting, selection both ways, consultation records, the
issue layer a validation leaves in the project, layout (search boxes, columns, titles), values in the UI language."""
import sqlite3

import pytest
from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QEvent, QItemSelectionModel, Qt
from qgis.PyQt.QtGui import QKeyEvent
from qgis.PyQt.QtWidgets import QApplication, QMessageBox

from land_contract_bridge.ui.discrepancy_dock import DiscrepancyDock
from land_contract_bridge.ui.issues_dock import IssuesDock

ISSUES = 54  # the sample's issues under the rule catalogue (errors + warnings)


def col(model, key):
    return [k for k, _ in model.HEAD].index(key)


@pytest.fixture
def chinese():
    """The zh_CN translation installed, as when QGIS runs in Chinese; English again afterwards."""
    from qgis.PyQt.QtCore import QCoreApplication

    from land_contract_bridge import plugin as pl
    assert pl.install_translator("zh_CN")
    yield
    if pl._translator is not None:
        QCoreApplication.removeTranslator(pl._translator)
        pl._translator = None


def test_discrepancy_rows_counts_and_filters(qgis_iface, merged_gpkg, truth):
    d = DiscrepancyDock(qgis_iface)
    assert d.open(merged_gpkg)
    by = truth["counts"]["by_class"]
    assert d.model.rowCount() == sum(by.values()) - by["consistent"]
    assert d.table.class_counts == by
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    assert d.model.rowCount() == 8
    assert {d.model.data(d.model.index(r, col(d.model, "CYLX"))) for r in range(8)} == {"Contract and registered areas differ"}
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


def test_english_ui_values_are_english_and_chinese_ui_values_chinese(qgis_iface, merged_gpkg, demo, tmp_path):
    """Class, outcome, severity and category in the docks follow the UI language; the data keep their codes."""
    from land_contract_bridge.core import validate as core_validate
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    assert d.model.data(d.model.index(0, col(d.model, "XSZT"))) == "To be consulted"
    assert [d.new_status.itemText(i) for i in range(d.new_status.count())] == [
        "To be consulted", "Contract area prevails", "Registered area prevails", "Re-measure", "Other"]
    assert "share_only" not in d.counts.text() and "Share-only" in d.counts.text()
    issues, _summary = core_validate.validate(demo)
    lyr = _issue_layer(issues)
    i = IssuesDock(qgis_iface)
    i.load_layer(lyr)
    shown = {i.proxy.data(i.proxy.index(r, 0)) for r in range(i.proxy.rowCount())}
    assert shown == {"Error", "Warning"}
    assert {i.summary.topLevelItem(k).text(0) for k in range(i.summary.topLevelItemCount())} >= {"Geometry", "Codes", "Total (合计)"}


def test_chinese_ui_values(qgis_iface, merged_gpkg, chinese):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    assert d.model.data(d.model.index(0, col(d.model, "CYLX"))) == "合同与登簿面积不一致"
    assert d.model.data(d.model.index(0, col(d.model, "XSZT"))) == "待协商"
    assert d.new_status.itemText(1) == "以合同面积为准" and d.new_status.itemData(1) == "以合同面积为准"


def _issue_layer(issues):
    from land_contract_bridge.processing.alg_validate import FIELDS
    from qgis.core import QgsFeature, QgsGeometry
    lyr = QgsVectorLayer("MultiPolygon?crs=EPSG:4527&" + "&".join(f"field={f}:string" for f in FIELDS), "issues", "memory")
    feats = []
    for x in issues:
        f = QgsFeature(lyr.fields())
        f.setAttributes([x.rule, x.category, x.severity, x.layer, x.key, x.field, x.message, str(x.value), x.village])
        if x.wkb is not None:
            g = QgsGeometry()
            g.fromWkb(x.wkb)
            f.setGeometry(g)
        feats.append(f)
    lyr.dataProvider().addFeatures(feats)
    return lyr


def test_sorting(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.model.sort(col(d.model, "HTMJ"), Qt.SortOrder.DescendingOrder)
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


def test_source_selector_shows_the_database_in_the_table(qgis_iface, merged_gpkg, demo, tmp_path):
    """Issue 17, point 6: after opening another database, the selector names it, not the one before."""
    from land_contract_bridge.core import merge
    other = tmp_path / "other" / "second.gpkg"
    other.parent.mkdir()
    merge.merge(demo, other)
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    assert d.source.currentData() == str(merged_gpkg.resolve())
    d.open(other)
    assert d.source.currentData() == str(other.resolve())
    assert d.path == str(other.resolve())
    d.source.setCurrentIndex(d.source.findData(str(merged_gpkg.resolve())))
    d._source_chosen(d.source.currentIndex())
    assert d.path == str(merged_gpkg.resolve()) and d.source.currentData() == d.path
    # each database's parcels layer is named after its file
    names = sorted(x.name() for x in QgsProject.instance().mapLayers().values())
    assert any(n.endswith("· reg") for n in names) and any(n.endswith("· second") for n in names)


def test_search_box_and_the_columns_a_technician_needs_are_visible(qgis_iface, merged_gpkg):
    """Point 8: the text search box has room; class, status and note are visible without scrolling sideways."""
    d = DiscrepancyDock(qgis_iface)
    d.resize(1100, 420)
    d.show()
    d.open(merged_gpkg)
    QApplication.processEvents()
    assert d.text.width() >= 200
    assert [k for k, _ in d.model.HEAD][:5] == ["DKBM", "CYLX", "CYYY", "XSZT", "XSBZ"]
    hdr = d.view.horizontalHeader()
    right = hdr.sectionViewportPosition(col(d.model, "XSBZ")) + hdr.sectionSize(col(d.model, "XSBZ"))
    assert right <= d.view.viewport().width()
    i = IssuesDock(qgis_iface)
    i.resize(330, 600)
    i.show()
    QApplication.processEvents()
    assert i.search.width() >= 250  # its own row, the dock's full width


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


def test_outcome_chosen_in_the_english_ui_is_stored_as_the_chinese_value(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    d.new_status.setCurrentIndex(d.new_status.findText("Re-measure"))
    d.view.selectRow(0)
    assert d.apply_status() == 1
    c = sqlite3.connect(merged_gpkg)
    assert c.execute("SELECT XSZT FROM cbdk WHERE DKBM = ?", (d.model.value(0, "DKBM"),)).fetchone()[0] == "重新测量"


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


def test_issues_dock(plugin, qgis_processing, qgis_iface, demo, tmp_path, monkeypatch):
    from qgis import processing as qp
    out = qp.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "issues.gpkg")})
    layer = QgsVectorLayer(out["OUTPUT"], "issues", "ogr")
    d = IssuesDock(qgis_iface)
    assert d.load_layer(layer)
    assert d.model.rowCount() == ISSUES and d.proxy.rowCount() == ISSUES
    d.cat.setCurrentIndex(d.cat.findData("geometry"))
    geo = d.proxy.rowCount()
    assert geo >= 5
    assert d.zoom_to(d.proxy.index(0, 0))
    d.cat.setCurrentIndex(0)
    d.search.setText("3715260010010400018")
    assert d.proxy.rowCount() == 1
    d.search.setText("")
    n = d.export(tmp_path / "x.csv")
    assert n == ISSUES and len((tmp_path / "x.csv").read_text("utf-8-sig").splitlines()) == ISSUES + 1
    d.export(tmp_path / "x.xlsx")
    assert (tmp_path / "x.xlsx").stat().st_size > 1000
    # a folder that cannot be written (here: a file stands where the folder should be; chmod means nothing to root):
    # a message naming it, no Python error, nothing written
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warned.append(a[2]))
    blocker = tmp_path / "导出"
    blocker.write_text("not a folder")
    assert d.save(blocker / "质检问题.xlsx") is None
    assert len(warned) == 1 and "导出" in warned[0] and blocker.read_text() == "not a folder"
    assert d.save(tmp_path / "ok.csv") == ISSUES and not warned[1:]
    # processing.run loads no layer into the project, so the dock was left alone (as with "load layers" unticked)
    assert "issues" not in plugin.docks


def _located_pair(d):
    """Two neighbouring rows of the filtered table that both have a location."""
    rows = [d.model.rows[d.proxy.mapToSource(d.proxy.index(r, 0)).row()] for r in range(d.proxy.rowCount())]
    for r in range(len(rows) - 1):
        if rows[r]["geometry"] is not None and rows[r + 1]["geometry"] is not None \
                and rows[r]["geometry"].boundingBox() != rows[r + 1]["geometry"].boundingBox():
            return r
    return None


def test_keyboard_selection_zooms_like_a_click(plugin, qgis_processing, qgis_iface, demo, tmp_path):
    """Point 8: moving through the issue table with the arrow keys zooms to each issue, not only a mouse click."""
    from qgis import processing as qp
    out = qp.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "issues.gpkg")})
    d = IssuesDock(qgis_iface)
    d.load_layer(QgsVectorLayer(out["OUTPUT"], "issues", "ogr"))
    d.cat.setCurrentIndex(d.cat.findData("geometry"))
    d.show()
    r = _located_pair(d)
    assert r is not None
    canvas = qgis_iface.mapCanvas()
    d.view.setFocus()
    d.view.setCurrentIndex(d.proxy.index(r, 0))
    first = canvas.extent()
    QApplication.sendEvent(d.view, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier))
    assert d.view.currentIndex().row() == r + 1
    second = canvas.extent()
    g = d.model.rows[d.proxy.mapToSource(d.proxy.index(r + 1, 0)).row()]["geometry"]
    assert second != first and second.contains(g.boundingBox())


def test_validation_leaves_one_named_styled_issue_layer_per_delivery(plugin, qgis_processing, qgis_iface, demo):
    """Point 5: the temporary issue layer of a desktop run is kept in a file (it comes back with the project),
    named after the delivery (not a memory-layer URI), styled by severity, and a second validation of the same
    delivery replaces it instead of piling up another 质检问题 layer."""
    from qgis import processing as qp
    for _ in range(2):
        qp.runAndLoadResults("lcb:validate", {"INPUT": str(demo), "OUTPUT": "TEMPORARY_OUTPUT"})
    layers = [x for x in QgsProject.instance().mapLayers().values() if "severity" in x.fields().names()]
    assert len(layers) == 1
    lyr = layers[0]
    assert lyr.name() == f"Issues (质检问题) · {demo.name}"
    assert lyr.providerType() == "ogr" and lyr.source().split("|")[0].endswith(".gpkg") and lyr.featureCount() == ISSUES
    assert lyr.renderer().type() == "categorizedSymbol" and lyr.renderer().classAttribute() == "severity"
    assert {c.value(): c.label() for c in lyr.renderer().categories()} == {"error": "Error", "warning": "Warning", "info": "Note"}
    d = plugin.docks["issues"]
    assert d.layer.id() == lyr.id() and d.model.rowCount() == ISSUES
    assert d.title.text() == lyr.name() and "memory" not in d.title.text()
    assert d.minimumSizeHint().width() < 500  # a long source path never widens the dock
    from land_contract_bridge.ui.menus import issue_store
    folder, stem = issue_store(str(demo))
    assert len(list(folder.glob(f"{stem}-*.gpkg"))) == 1  # the earlier file went with the earlier layer


def test_issues_dock_comes_back_with_the_project(plugin, qgis_processing, demo, tmp_path):
    from qgis import processing as qp
    qp.runAndLoadResults("lcb:validate", {"INPUT": str(demo), "OUTPUT": "TEMPORARY_OUTPUT"})
    d = plugin.docks["issues"]
    d.sev.setCurrentIndex(d.sev.findData("warning"))
    proj = tmp_path / "day.qgz"
    assert QgsProject.instance().write(str(proj))
    QgsProject.instance().clear()
    assert d.model.rowCount() == 0
    assert QgsProject.instance().read(str(proj))
    d = plugin.docks["issues"]
    assert d.model.rowCount() == ISSUES and d.sev.currentData() == "warning" and d.proxy.rowCount() < ISSUES


def test_issues_dock_opens_an_existing_issue_layer(plugin, qgis_processing, qgis_iface, demo, tmp_path):
    from qgis import processing as qp
    out = qp.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "old_issues.gpkg")})
    d = IssuesDock(qgis_iface)
    lyr = d.open_file(out["OUTPUT"])
    assert lyr is not None and lyr in QgsProject.instance().mapLayers().values()
    assert d.model.rowCount() == ISSUES and d.source.currentData() == lyr.id()
    assert lyr.renderer().classAttribute() == "severity"
    assert d.open_file(tmp_path / "nothing.gpkg") is None and d.model.rowCount() == ISSUES


def test_batch_html_results_quirk_is_worked_around(plugin, qgis_processing):
    """Point 7: QGIS 3.22's batch dialog calls addResult() without a timestamp; with the plugin loaded it works."""
    from processing.core.ProcessingResults import resultsList

    from land_contract_bridge.processing import compat
    before = len(resultsList.getResults())
    resultsList.addResult(icon=None, name="lcb test [0]", result="/tmp/x.html")  # what loadHTMLResults does
    assert len(resultsList.getResults()) == before + 1
    compat.restore()
    import inspect
    if inspect.signature(resultsList.addResult).parameters["timestamp"].default is inspect.Parameter.empty:
        with pytest.raises(TypeError):
            resultsList.addResult(icon=None, name="lcb test [1]", result="/tmp/x.html")
    assert compat.results_timestamp() is True


def test_dependency_message_bar_with_command_and_copy_button(qgis_iface):
    """Point 1: without its packages the plugin says so in a message bar that stays, with the exact command and a
    button that copies it."""
    from qgis.PyQt.QtWidgets import QLineEdit, QPushButton

    from land_contract_bridge import classFactory
    from land_contract_bridge.core import deps
    p = classFactory(qgis_iface)
    p.missing = [(deps.REQUIRED[0], "1.8.5")]
    p.initGui()
    try:
        item = p.missing_bar
        assert item is not None and item in qgis_iface.messageBar().items()
        assert item.duration() == 0
        line = item.findChild(QLineEdit, "LcbInstallCommand")
        assert line.text() == deps.install_command(p.missing) and "'shapely>=2.0,<2.1'" in line.text() and "numpy==" in line.text()
        QApplication.clipboard().setText("")
        item.findChild(QPushButton, "LcbCopyCommand").click()
        assert QApplication.clipboard().text() == line.text()
        assert p.actions == []  # no menus of tools that cannot run
    finally:
        p.unload()
    assert item not in qgis_iface.messageBar().items()


def test_the_dock_says_why_contract_and_registered_areas_differ(qgis_iface, merged_gpkg, chinese):
    """Point 4: six of the sample's eight 合同与登簿面积不一致 parcels show 0.00 as their own difference; the dock
    says the contract is the cause, with HTZMJ and ΣDBMJ."""
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    why = {d.model.value(r, "DKBM"): d.model.data(d.model.index(r, col(d.model, "CYYY"))) for r in range(d.model.rowCount())}
    zero = [k for k in why if abs(d.model.value(list(why).index(k), "HTDBC") or 0) < 0.005]
    assert len(zero) == 6
    assert {why[k] for k in zero} == {"合同总面积 4,531.77 ≠ 登簿合计 4,401.00"}
    assert why["3715260010010400065"] == "地块合同面积≠登簿面积"


@pytest.mark.parametrize("lang", ["zh_CN", "en_US"])
def test_the_class_filter_shows_the_chosen_class_in_full(qgis_iface, merged_gpkg, lang, request):
    """Seen in the zh_CN screenshot: the class filter showed 合同与登簿面积不 (cut); every Chinese class name fits,
    and the search box keeps its room beside it (English names are capped at 200 px: the longer ones are elided, as before)."""
    if lang == "zh_CN":
        request.getfixturevalue("chinese")
    from qgis.PyQt.QtWidgets import QStyle, QStyleOptionComboBox
    d = DiscrepancyDock(qgis_iface)
    d.resize(1100, 420)
    d.show()
    d.open(merged_gpkg)
    QApplication.processEvents()
    opt = QStyleOptionComboBox()
    d.cls.initStyleOption(opt)
    text_room = d.cls.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, d.cls).width()
    fm = d.cls.fontMetrics()
    names = [d.cls.itemText(i) for i in range(d.cls.count())]
    fits = [n for n in names if fm.horizontalAdvance(n) <= text_room]
    if lang == "zh_CN":
        assert "合同与登簿面积不一致" in names and fits == names
    else:
        assert {"All classes", "Consistent"} <= set(fits) and d.cls.width() <= 200  # capped, not widening the dock
        d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
        assert d.cls.toolTip() == "Contract and registered areas differ"  # the elided name in full on hover
    assert d.text.width() >= 200
    assert d.widget().minimumSizeHint().width() <= 1200  # the bottom dock still fits a 1280-pixel screen


def test_the_current_issue_is_read_in_full_without_scrolling_sideways(plugin, qgis_processing, qgis_iface, demo, tmp_path, chinese):
    """Seen in the zh_CN screenshot: at the dock's width the table shows 级别, 类别 and half the rule; the message
    (说明) was off to the right. The current issue (mouse or arrow keys) is shown in full under the table, and
    hovering any cell of a row shows its message."""
    from qgis import processing as qp
    out = qp.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "issues.gpkg")})
    d = IssuesDock(qgis_iface)
    d.load_layer(QgsVectorLayer(out["OUTPUT"], "issues", "ogr"))
    d.resize(330, 700)
    d.show()
    QApplication.processEvents()
    hdr = d.view.horizontalHeader()
    from land_contract_bridge.ui.issues_dock import FIELDS
    msg_col = FIELDS.index("message")
    assert hdr.sectionViewportPosition(msg_col) >= d.view.viewport().width()  # the message column is out of sight
    d.view.setFocus()
    d.view.setCurrentIndex(d.proxy.index(0, 0))
    QApplication.sendEvent(d.view, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier))
    QApplication.processEvents()
    row = d.model.rows[d.proxy.mapToSource(d.proxy.index(1, 0)).row()]
    assert d.view.currentIndex().row() == 1
    assert d.detail.isVisible() and row["message"] in d.detail.text() and row["rule"] in d.detail.text()
    assert d.detail.width() <= d.widget().width() and d.minimumSizeHint().width() < 500  # wrapped, never widening the dock
    assert d.proxy.data(d.proxy.index(1, 0), Qt.ItemDataRole.ToolTipRole) == f"{d.proxy.data(d.proxy.index(1, 0))}\n{row['message']}"
    d.search.setText("no issue has this text")
    QApplication.processEvents()
    d.load_layer(QgsVectorLayer(out["OUTPUT"], "issues", "ogr"))
    assert d.detail.text() == ""


def test_the_desktop_proves_its_libraries_import(qgis_iface, tmp_path, monkeypatch):
    """A package whose metadata says a good version but whose import fails (built for another numpy) passes the cheap
    check qgis_process makes at load; the desktop imports it and shows the message bar with the command instead."""
    import sys

    from land_contract_bridge import classFactory
    from land_contract_bridge.core import deps
    pkg = tmp_path / "lcbbroken"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('numpy.core.multiarray failed to import')\n")
    (tmp_path / "lcbbroken-9.0.dist-info").mkdir()
    (tmp_path / "lcbbroken-9.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: lcbbroken\nVersion: 9.0\n\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = deps.Dep("lcbbroken", "lcbbroken", (1, 0), "a compiled library")
    monkeypatch.delitem(sys.modules, "lcbbroken", raising=False)
    deps.REQUIRED.append(broken)  # the list check() reads by default
    p = None
    try:
        p = classFactory(qgis_iface)
        assert p.missing == []  # what qgis_process sees: the metadata only
        p.initGui()
        assert [d.module for d, _v in p.missing] == ["lcbbroken"]
        assert p.missing_bar is not None and p.missing_bar in qgis_iface.messageBar().items()
        assert p.provider is None and p.actions == []
    finally:
        deps.REQUIRED.remove(broken)
        if p is not None:
            p.unload()
