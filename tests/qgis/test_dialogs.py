"""The algorithm dialogs as QGIS builds them (offscreen): the merge dialog's registration database at the top,
required and never temporary, pre-filled with the database used last; labels that fit; help in the UI language."""
import pytest
from qgis.core import QgsApplication, QgsProcessingContext
from qgis.PyQt.QtWidgets import QApplication, QComboBox, QLabel, QScrollArea, QToolButton


@pytest.fixture
def dialog(plugin, qgis_processing, qgis_iface, monkeypatch):
    from qgis import processing
    from qgis.gui import QgsBrowserGuiModel
    model = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: model, raising=False)  # the mock iface has none
    made = []

    def make(alg_id, params=None):
        d = processing.createAlgorithmDialog(alg_id, params or {})
        d.show()
        QApplication.processEvents()
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()
        d.deleteLater()


def test_merge_target_is_a_required_parameter_at_the_top_never_temporary(plugin, demo):
    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:merge")
    names = [p.name() for p in alg.parameterDefinitions()]
    assert names[:2] == ["INPUT", "TARGET"]
    target = alg.parameterDefinition("TARGET")
    assert not target.isDestination() and not (target.flags() & target.FlagOptional)
    assert target.defaultValue() in (None, "")  # scripts and qgis_process must name it
    ctx = QgsProcessingContext()
    ok, _msg = alg.checkParameterValues({"INPUT": str(demo)}, ctx)
    assert not ok
    ok, msg = alg.checkParameterValues({"INPUT": str(demo), "TARGET": "TEMPORARY_OUTPUT"}, ctx)
    assert not ok and "temporary" in msg
    assert "TARGET" in [o.name() for o in alg.outputDefinitions()]


def test_merge_dialog_offers_the_database_used_last(dialog, demo, tmp_path):
    from land_contract_bridge.qtcommon import RECENT_KEY, recent_databases, remember_database
    from qgis.core import QgsSettings
    QgsSettings().remove(RECENT_KEY)
    d = dialog("lcb:merge", {"INPUT": str(demo)})
    combo = d.mainWidget().wrappers["TARGET"].widget.findChild(QComboBox, "LcbTargetCombo")
    assert combo.currentText() == ""  # nothing remembered yet: empty and required, not "[save to temporary file]"
    first, second = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    for p in (first, second):
        p.write_bytes(b"")
        remember_database(p)
    assert recent_databases()[:2] == [str(second), str(first)]
    d = dialog("lcb:merge", {"INPUT": str(demo)})
    w = d.mainWidget().wrappers["TARGET"]
    assert w.value() == str(second)
    assert [w.widget.findChild(QComboBox, "LcbTargetCombo").itemText(i) for i in range(2)] == [str(second), str(first)]
    params = d.mainWidget().createProcessingParameters()
    assert params["TARGET"] == str(second)
    QgsSettings().remove(RECENT_KEY)


def test_a_merge_in_the_desktop_is_remembered(plugin, qgis_processing, demo, tmp_path):
    from qgis import processing

    from land_contract_bridge.qtcommon import recent_databases
    processing.run("lcb:merge", {"INPUT": str(demo), "TARGET": str(tmp_path / "reg.gpkg")})
    assert recent_databases()[0] == str((tmp_path / "reg.gpkg").resolve())


def _cut_off(d):
    area = d.mainWidget().findChild(QScrollArea)
    right = area.viewport().mapTo(d, area.viewport().rect().topRight()).x()
    cut = []
    for w in area.widget().findChildren(QLabel) + area.widget().findChildren(QToolButton):
        if not w.isVisible():
            continue
        need = w.sizeHint().width() if isinstance(w, QLabel) and not w.wordWrap() else w.width()
        if w.mapTo(d, w.rect().topLeft()).x() + need > right + 1:
            cut.append(w.text())
    return cut


@pytest.mark.parametrize("alg_id", ["merge", "validate", "inventory", "discrepancy_report"])
def test_labels_and_browse_buttons_fit_the_dialog(dialog, alg_id, chinese_ui):
    """Point 8: at the dialog's own size no label is cut off and no browse button is off to the right."""
    d = dialog(f"lcb:{alg_id}")
    d.resize(688, 523)  # the size QGIS 3.22 opens it at
    QApplication.processEvents()
    assert _cut_off(d) == []
    area = d.mainWidget().findChild(QScrollArea)
    assert not area.horizontalScrollBar().isVisible()


@pytest.fixture
def chinese_ui():
    from qgis.PyQt.QtCore import QCoreApplication

    from land_contract_bridge import plugin as pl
    assert pl.install_translator("zh_CN")
    yield
    if pl._translator is not None:
        QCoreApplication.removeTranslator(pl._translator)
        pl._translator = None


def test_validate_help_lists_the_rules_in_chinese_in_the_chinese_ui(plugin, chinese_ui):
    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:validate")
    text = alg.shortHelpString()
    catalogue = text.split("质检规则目录")[1] if "质检规则目录" in text else text
    assert "geometry.self_intersection（错误）" in catalogue
    import re
    english = [line for line in catalogue.split("<br>") if re.search(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}", line.split("：", 1)[-1])]
    assert english == []  # no English sentence left in the catalogue


def test_inventory_pdf_is_on_by_default(plugin):
    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:inventory")
    assert alg.parameterDefinition("OUTPUT_PDF").createByDefault()


def test_merge_dialog_never_runs_into_a_temporary_database(dialog, demo, tmp_path):
    """Point 2, as the user meets it: the merge dialog has no output widget at all (nothing offers "save to a
    temporary file"); Run with TARGET left empty runs nothing and names the field; a typed name is the database the
    run is given (and the batch dialog's TARGET column is a plain box, empty, without a temporary choice)."""
    from qgis.core import QgsSettings
    from qgis.PyQt.QtWidgets import QLineEdit

    from land_contract_bridge.qtcommon import RECENT_KEY
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    QgsSettings().remove(RECENT_KEY)
    d = dialog("lcb:merge", {"INPUT": str(demo)})
    panel = d.mainWidget()
    assert not [p.name() for p in d.algorithm().destinationParameterDefinitions()]
    texts = [w.text() for w in panel.findChildren(QLineEdit)] + [c.itemText(i) for c in panel.findChildren(QComboBox) for i in range(c.count())]
    assert not [t for t in texts if "TEMPORARY" in t.upper() or "临时" in t or "temporary" in t.lower()]
    finished = []
    d.algorithmFinished.connect(lambda ok, results: finished.append(ok))
    d.runButton().click()
    QApplication.processEvents()
    assert finished == []  # nothing ran
    shown = " ".join(item.text() for item in d.messageBar().items())
    assert d.algorithm().parameterDefinition("TARGET").description() in shown
    assert not list(tmp_path.iterdir())
    target = tmp_path / "kept" / "registration.gpkg"
    panel.wrappers["TARGET"].setValue(str(target))
    assert panel.createProcessingParameters()["TARGET"] == str(target)

    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:merge")
    b = BatchAlgorithmDialog(alg)
    try:
        bp = b.mainWidget()
        col = bp.parameter_to_column["TARGET"]
        w = bp.wrappers[0][col]
        assert isinstance(w.widget, QComboBox) and w.value() == ""
        assert not [w.widget.itemText(i) for i in range(w.widget.count()) if "TEMPORARY" in w.widget.itemText(i).upper()]
    finally:
        b.close()
        b.deleteLater()
