"""What a run says and leaves behind in the desktop: its stages in the log (not only a percentage), and a
temporary issue layer registered once for loading (no phantom 'memory:质检问题' the dialog reports as failed)."""
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProcessingOutputLayerDefinition, QgsProject


class Log(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.lines = []

    def pushInfo(self, info):  # noqa: N802
        self.lines.append(info)


def test_long_runs_log_their_stages(plugin, qgis_processing, demo, tmp_path):
    from qgis import processing
    fb = Log()
    processing.run("lcb:merge", {"INPUT": str(demo), "TARGET": str(tmp_path / "reg.gpkg")}, feedback=fb)
    for stage in ("读取成果包 / reading the delivery", "面积差异分类、生成记录 / classifying areas, building the records",
                  "写入登记库 / writing the registration database"):
        assert stage in fb.lines
    fb = Log()
    processing.run("lcb:validate", {"INPUT": str(demo), "OUTPUT": str(tmp_path / "i.gpkg")}, feedback=fb)
    assert "读取成果包 / reading the delivery" in fb.lines and any(x.startswith("逐条检查") for x in fb.lines)
    assert any(x.startswith("  Geometry: Error ") for x in fb.lines)  # per category, in the UI's language
    fb = Log()
    processing.run("lcb:discrepancy_report", {"INPUT": str(tmp_path / "reg.gpkg"), "OUTPUT_PDF": str(tmp_path / "l.pdf")}, feedback=fb)
    assert any("writing the PDF list" in x for x in fb.lines) and any(x.startswith("PDF 共") for x in fb.lines)


def test_a_temporary_issue_layer_is_registered_once(plugin, qgis_processing, demo):
    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:validate")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    params = {"INPUT": str(demo), "OUTPUT": QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", QgsProject.instance())}
    results, ok = alg.run(params, context, QgsProcessingFeedback())
    assert ok
    assert list(context.layersToLoadOnCompletion()) == [results["OUTPUT"]]
