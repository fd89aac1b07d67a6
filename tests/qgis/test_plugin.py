"""The plugin in a real (offscreen) QGIS: provider, load/unload, algorithms through processing.run, i18n."""
import pytest
from qgis.core import QgsApplication, QgsVectorLayer

ALGS = {"lcb:inventory", "lcb:validate", "lcb:merge", "lcb:discrepancy_report", "lcb:farmland_notice", "lcb:parcel_dossier",
        "lcb:export_changes", "lcb:apply_changes"}


def test_provider_registers_the_algorithms(plugin):
    prov = QgsApplication.processingRegistry().providerById("lcb")
    assert prov is not None
    assert {a.id() for a in prov.algorithms()} == ALGS


def test_load_unload_load_again(qgis_iface):
    from land_contract_bridge import classFactory

    for _ in range(2):
        p = classFactory(qgis_iface)
        p.initGui()
        assert QgsApplication.processingRegistry().providerById("lcb") is not None
        assert len(p.actions) == 6 and p.toolbar is not None
        # the other four tools in the menu, each for an algorithm the provider has
        assert [a.objectName() for a in p.menu_actions] == ["lcb_farmland_notice", "lcb_parcel_dossier", "lcb_export_changes", "lcb_apply_changes"]
        assert all(QgsApplication.processingRegistry().algorithmById(a.objectName().replace("lcb_", "lcb:")) for a in p.menu_actions)
        assert not set(p.menu_actions) & set(p.toolbar.actions())
        p.unload()
        assert QgsApplication.processingRegistry().providerById("lcb") is None
        assert p.actions == [] and p.menu_actions == [] and p.docks == {}


def test_processing_only_init_needs_no_iface():
    from land_contract_bridge import classFactory

    p = classFactory(None)
    p.initProcessing()
    try:
        assert QgsApplication.processingRegistry().providerById("lcb") is not None
    finally:
        p.unload()


@pytest.fixture
def processing_ready(plugin, qgis_processing):
    return plugin


def test_algorithms_through_processing_run(processing_ready, demo, tmp_path, truth):
    from qgis import processing

    inv = processing.run("lcb:inventory", {"INPUT": str(demo), "OUTPUT_HTML": str(tmp_path / "i.html"), "OUTPUT_XLSX": str(tmp_path / "i.xlsx")})
    assert inv["FILE_COUNT"] == 191 and inv["COMPLETE"] and inv["PARCELS"] == 299
    val = processing.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "issues.gpkg")})
    assert (val["ERROR_COUNT"], val["WARNING_COUNT"]) == (48, 6)  # as tests/core/test_validate.py counts them
    lyr = QgsVectorLayer(val["OUTPUT"], "issues", "ogr")
    assert lyr.featureCount() == 54 and set(lyr.fields().names()) >= {"rule", "category", "severity", "layer", "key", "field", "message", "value"}
    m = processing.run("lcb:merge", {"INPUT": str(demo), "TARGET": str(tmp_path / "reg.gpkg")})
    assert m["INSERTED"] == 299 and m["CONTRACT_REGISTER_MISMATCH"] == 8 and m["SHARE_ONLY"] == 5
    cbdk = QgsVectorLayer(m["OUTPUT"], "cbdk", "ogr")
    assert cbdk.featureCount() == 299
    r = processing.run("lcb:discrepancy_report", {"INPUT": str(tmp_path / "reg.gpkg"), "OUTPUT_HTML": str(tmp_path / "r.html"),
                                                  "OUTPUT_PDF": str(tmp_path / "r.pdf")})
    assert r["ROWS"] == 124 and (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"


def test_bad_input_is_a_clean_processing_error(processing_ready, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as e:
        processing.run("lcb:validate", {"INPUT": str(tmp_path), "OUTPUT": str(tmp_path / "x.gpkg")})
    assert "county code" in str(e.value) and "6位" in str(e.value)


def test_merged_layer_opens_styled_with_chinese_aliases(merged_gpkg):
    lyr = QgsVectorLayer(f"{merged_gpkg}|layername=cbdk", "cbdk", "ogr")
    assert lyr.isValid()
    assert lyr.renderer().type() == "categorizedSymbol"
    labels = {c.value(): c.label() for c in lyr.renderer().categories()}
    assert labels["contract_register_mismatch"].startswith("合同与登簿面积不一致")
    assert lyr.attributeAlias(lyr.fields().indexOf("SCMJ")) == "实测面积（平方米）"
    # point 4: why a parcel is 合同与登簿面积不一致, in the layer too (the identify panel, the attribute table)
    assert [lyr.attributeAlias(lyr.fields().indexOf(f)) for f in ("CYYYMC", "HTZMJ", "DBZMJ")] == [
        "面积差异原因说明", "所属合同总面积（平方米）", "所属合同内地块登簿面积合计（平方米）"]
    from qgis.core import QgsFeatureRequest
    f = next(lyr.getFeatures(QgsFeatureRequest().setFilterExpression("\"DKBM\" = '3715260010010200054'")))
    assert (f["CYLX"], f["CYYYMC"], f["HTZMJ"], f["DBZMJ"]) == (
        "contract_register_mismatch", "合同总面积与合同内地块登簿面积合计不一致", 4531.77, 4401.0)


def test_qgis_chinese_locale_names_map_to_zh_cn():
    from land_contract_bridge.plugin import normalise_locale
    assert [normalise_locale(x) for x in ("zh-Hans", "zh_CN", "zh", "zh-Hant", "en_US")] == ["zh_CN", "zh_CN", "zh_CN", "zh-Hant", "en_US"]


def test_zh_cn_translation_loads():
    from qgis.PyQt.QtCore import QCoreApplication

    from land_contract_bridge.plugin import install_translator
    assert install_translator("zh_CN")
    try:
        assert QCoreApplication.translate("@default", "Material inventory (资料清单)") == "资料清单"
        assert QCoreApplication.translate("@default", "Record outcome") == "记录协商结果"
    finally:
        install_translator("en_US")
        from land_contract_bridge import plugin as pl
        if pl._translator is not None:
            QCoreApplication.removeTranslator(pl._translator)
            pl._translator = None


def test_docks_open_after_desktop_runs_and_not_after_unload(qgis_iface, qgis_processing, demo, tmp_path, truth):
    """The algorithms announce their results (processing/hooks.py); the plugin, once its GUI is up, opens the
    质检结果 dock after lcb:validate and the 面积差异 dock after lcb:merge (shown: isHidden() is False; the offscreen main
    window itself is never visible). Without the GUI nothing listens."""
    from qgis import processing

    from land_contract_bridge import classFactory
    from land_contract_bridge.processing import hooks

    p = classFactory(qgis_iface)
    p.initGui()
    try:
        assert hooks.listeners() == [p._on_result]
        # as the dialog runs it: the issue layer is loaded into the project (the dock follows what is loaded)
        processing.runAndLoadResults("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "issues.gpkg")})
        issues = p.docks["issues"]
        assert not issues.isHidden() and issues.model.rowCount() == 54
        assert "discrepancy" not in p.docks
        processing.run("lcb:merge", {"INPUT": str(demo), "TARGET": str(tmp_path / "reg.gpkg")})
        disc = p.docks["discrepancy"]
        by = truth["counts"]["by_class"]
        assert not disc.isHidden() and disc.model.rowCount() == sum(by.values()) - by["consistent"]
        assert disc.table.class_counts == by
    finally:
        p.unload()
    assert hooks.listeners() == []
    q = classFactory(qgis_iface)
    q.initProcessing()  # what qgis_process does: the provider only, no GUI
    try:
        processing.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "again.gpkg")})
        assert q.docks == {} and hooks.listeners() == []
    finally:
        q.unload()


def test_a_failing_listener_does_not_fail_the_run(processing_ready, demo, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingFeedback

    from land_contract_bridge.processing import hooks

    seen = []

    def broken(alg_id, results, context):
        seen.append(alg_id)
        raise RuntimeError("listener bug")

    class Feedback(QgsProcessingFeedback):
        errors = []

        def reportError(self, error, fatalError=False):  # noqa: N802, N803
            self.errors.append(error)

    hooks.subscribe(broken)
    try:
        fb = Feedback()
        res = processing.run("lcb:inventory", {"INPUT": str(demo), "OUTPUT_HTML": str(tmp_path / "i.html"), "OUTPUT_XLSX": ""}, feedback=fb)
    finally:
        hooks.unsubscribe(broken)
    assert res["FILE_COUNT"] == 191 and seen == ["inventory"]
    assert any("listener bug" in e for e in fb.errors)


def test_algorithm_help_comes_from_the_help_file_and_is_translated():
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QCoreApplication

    from land_contract_bridge.plugin import install_translator
    from land_contract_bridge.processing.help import texts

    assert set(texts()) == {a.split(":")[1] for a in ALGS}
    from land_contract_bridge import classFactory
    p = classFactory(None)
    p.initProcessing()
    try:
        merge = QgsApplication.processingRegistry().algorithmById("lcb:merge")
        assert merge.shortHelpString() == texts()["merge"]
        assert install_translator("zh_CN")
        assert merge.shortHelpString().startswith("将成果包整合入县级不动产登记库")
        validate = QgsApplication.processingRegistry().algorithmById("lcb:validate")
        assert validate.shortHelpString().startswith("按汇交办法、NY/T 2538 和 NY/T 2539 逐类检查成果包") \
            and "package.missing_layer" in validate.shortHelpString()
    finally:
        install_translator("en_US")
        from land_contract_bridge import plugin as pl
        if pl._translator is not None:
            QCoreApplication.removeTranslator(pl._translator)
            pl._translator = None
        p.unload()


def test_the_test_profile_lives_in_lcb_not_in_the_checkout():
    """pytest-qgis points QGIS at <rootdir>/.qgis-settings; scripts/setup makes that name a link into .lcb/, so the
    profile it writes (qgis.db, qgis-auth.db, QGIS3.ini) sits with the scratch state, never in a tracked folder."""
    import os
    from pathlib import Path

    from qgis.core import QgsApplication

    from conftest import ROOT
    state = (ROOT / ".lcb").resolve()
    assert (ROOT / ".qgis-settings").is_symlink()
    assert state in Path(os.environ["QGIS_CUSTOM_CONFIG_PATH"]).resolve().parents
    assert state in Path(QgsApplication.qgisSettingsDirPath()).resolve().parents
    assert state in Path(QgsApplication.qgisAuthDatabaseFilePath()).resolve().parents


def test_docks_open_after_a_run_in_a_background_task(plugin, qgis_processing, demo, tmp_path):
    """The toolbox dialog's path: QgsProcessingAlgRunnerTask runs the algorithm in a worker thread and
    postProcessAlgorithm (the announcement) in the main thread when the task finishes."""
    import time

    from qgis.core import QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeedback
    from qgis.PyQt.QtCore import QCoreApplication

    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import QgsProcessingOutputLayerDefinition, QgsProject

    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:validate")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    context.setProject(QgsProject.instance())
    out = QgsProcessingOutputLayerDefinition(str(tmp_path / "issues.gpkg"), QgsProject.instance())  # "open output file after running"
    task = QgsProcessingAlgRunnerTask(alg, {"INPUT": str(demo), "OUTPUT": out}, context, feedback)
    done = []
    task.executed.connect(lambda ok, results: done.append(ok))
    QgsApplication.taskManager().addTask(task)
    deadline = time.time() + 120
    while not done and time.time() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    assert done == [True]
    QCoreApplication.processEvents()
    assert handleAlgorithmResults(alg, context, feedback)  # what the dialog does next: load the layers
    assert "issues" in plugin.docks and plugin.docks["issues"].model.rowCount() == 54
