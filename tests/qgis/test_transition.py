"""The transition-period tools in a real (offscreen) QGIS: processing.run, selected features only, the batch
dialog, the dossier from the dock's right-click, the village atlas through a print layout (bundled and a
county's own .qpt), and the maps actually drawn."""
import re
import subprocess

import pytest
import shapely
from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QItemSelectionModel
from qgis.PyQt.QtGui import QImage
from batch import fill_batch

LEDGER_PAIR = "3715260010010400065"
SKETCH_GONE = "3715260010010200077"
ORANGE = (253, 174, 107)  # measured_differs in resources/styles/cbdk.qml


@pytest.fixture
def ready(plugin, qgis_processing):
    return plugin


def pages(pdf):
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", out).group(1))


def pdf_text(pdf):
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def page_png(pdf, tmp_path, page=1, dpi=60):
    stem = tmp_path / f"{pdf.stem}-p{page}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-png", str(pdf), str(stem)], check=True)
    return QImage(str(stem) + ".png")


def count_colour(img, rgb, x0=0.0, x1=1.0, tol=6):
    n = 0
    for y in range(0, img.height(), 2):
        for x in range(int(img.width() * x0), int(img.width() * x1), 2):
            c = img.pixelColor(x, y)
            if abs(c.red() - rgb[0]) <= tol and abs(c.green() - rgb[1]) <= tol and abs(c.blue() - rgb[2]) <= tol:
                n += 1
    return n


def jbntbhq(demo):
    return next((demo / "矢量数据").glob("JBNTBHQ*.shp"))


def test_farmland_notice_layer_and_selected_features_only(ready, merged_gpkg, demo, tmp_path):
    from qgis import processing

    res = processing.run("lcb:farmland_notice", {"INPUT": str(merged_gpkg), "OUTPUT": str(tmp_path / "overlap.gpkg"),
                                                 "OUTPUT_FOLDER": str(tmp_path / "all")})
    assert (res["PARCELS"], res["NOTICES"]) == (163, 47)
    lyr = QgsVectorLayer(res["OUTPUT"], "overlap", "ogr")
    assert lyr.featureCount() == 163 and {"DKBM", "CBFBM", "CBFMC", "JBNTMJ", "JBNTMJM"} <= set(lyr.fields().names())
    import sqlite3
    names = {n for (n,) in sqlite3.connect(merged_gpkg).execute("SELECT CBFMC FROM qs_cbf") if n and len(n) > 1}
    assert not names & {f["CBFMC"] for f in lyr.getFeatures()}  # masked by default
    assert len(list((tmp_path / "all").glob("告知书_*.pdf"))) == 47
    assert "永久基本农田保护告知书" in pdf_text(next((tmp_path / "all").glob("告知书_*.pdf")))
    # the farmland as a loaded layer with one protection zone selected
    farm = QgsVectorLayer(str(jbntbhq(demo)), "jbnt", "ogr")
    QgsProject.instance().addMapLayer(farm)
    first = next(farm.getFeatures())
    farm.selectByIds([first.id()])
    sel = processing.run("lcb:farmland_notice", {"INPUT": str(merged_gpkg), "OUTPUT": "memory:",
                                                 "FARMLAND": QgsProcessingFeatureSourceDefinition(farm.id(), True),
                                                 "OUTPUT_FOLDER": str(tmp_path / "one")})
    zone = shapely.from_wkb(bytes(first.geometry().asWkb()))
    got = {f["DKBM"] for f in sel["OUTPUT"].getFeatures()}
    cbdk = QgsVectorLayer(f"{merged_gpkg}|layername=cbdk", "cbdk", "ogr")
    want = set()
    for f in cbdk.getFeatures():
        if f.hasGeometry() and not f.geometry().isEmpty():
            g = shapely.make_valid(shapely.from_wkb(bytes(f.geometry().asWkb())))
            if g.intersection(zone).area > 1.0:
                want.add(f["DKBM"])
    assert got == want and 0 < len(got) < 163 and sel["PARCELS"] == len(got)
    assert all(f["BHQBH"] == first["BHQBH"] for f in sel["OUTPUT"].getFeatures())


def test_notices_in_the_batch_dialog(ready, merged_gpkg, tmp_path):
    """Two rows in Processing's own batch dialog (offscreen), run as the user's 'Run' button does."""
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:farmland_notice")
    dlg = BatchAlgorithmDialog(alg)
    panel = dlg.mainWidget()
    ctx = dataobjects.createContext()
    tpl = tmp_path / "county.j2"
    tpl.write_text('{% extends "base.html.j2" %}{% block body %}<h1>县定告知书</h1>{{ n.CBFBM }}{% endblock %}', "utf-8")
    rows = [{"INPUT": str(merged_gpkg), "MIN_OVERLAP": 1.0, "OUTPUT_FOLDER": str(tmp_path / "b1")},
            {"INPUT": str(merged_gpkg), "MIN_OVERLAP": 2000.0, "TEMPLATE": str(tpl), "OUTPUT_FOLDER": str(tmp_path / "b2")}]
    fill_batch(panel, rows, ctx)
    dlg.runAlgorithm()
    one = list((tmp_path / "b1").glob("告知书_*.html"))
    two = list((tmp_path / "b2").glob("告知书_*.html"))
    assert len(one) == 47 and 0 < len(two) < 47
    assert "县定告知书" in two[0].read_text("utf-8") and "县定告知书" not in one[0].read_text("utf-8")
    dlg.close()


def test_dossiers_and_atlases_in_the_batch_dialog(ready, merged_gpkg, tmp_path):
    """The dossier and the village atlas in Processing's batch dialog too, two rows each, as 'Run' does."""
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects
    from qgis.core import QgsApplication

    from land_contract_bridge.core.classify import ORDER
    ctx = dataobjects.createContext()
    for alg_id, rows in (
            ("lcb:parcel_dossier", [{"INPUT": str(merged_gpkg), "DKBM": LEDGER_PAIR, "MAP": False, "OUTPUT_FOLDER": str(tmp_path / "d1")},
                                    {"INPUT": str(merged_gpkg), "DKBM": f"{SKETCH_GONE},{LEDGER_PAIR}", "MAP": False,
                                     "OUTPUT_FOLDER": str(tmp_path / "d2")}]),
            ("lcb:discrepancy_report", [{"INPUT": str(merged_gpkg), "OUTPUT_HTML": str(tmp_path / "r1.html"), "OUTPUT_ATLAS": str(tmp_path / "a1.pdf")},
                                        {"INPUT": str(merged_gpkg), "CLASSES": [ORDER.index("contract_register_mismatch")],
                                         "OUTPUT_HTML": str(tmp_path / "r2.html"), "OUTPUT_ATLAS": str(tmp_path / "a2.pdf")}])):
        dlg = BatchAlgorithmDialog(QgsApplication.processingRegistry().createAlgorithmById(alg_id))
        fill_batch(dlg.mainWidget(), rows, ctx)
        dlg.runAlgorithm()
        dlg.close()
    assert sorted(p.name for p in (tmp_path / "d1").glob("地块档案_*.pdf")) == [f"地块档案_{LEDGER_PAIR}.pdf"]
    assert sorted(p.name for p in (tmp_path / "d2").glob("地块档案_*.pdf")) == sorted(f"地块档案_{k}.pdf" for k in (SKETCH_GONE, LEDGER_PAIR))
    assert pages(tmp_path / "a1.pdf") >= 1 and pages(tmp_path / "a2.pdf") >= 1
    assert (tmp_path / "r1.html").stat().st_size > (tmp_path / "r2.html").stat().st_size  # the second row's filter reached it


def test_dossier_from_the_dock_right_click(ready, qgis_iface, merged_gpkg, tmp_path):
    from qgis import processing

    from qgis.gui import QgsBrowserGuiModel

    from land_contract_bridge.ui.discrepancy_dock import DiscrepancyDock

    browser = QgsBrowserGuiModel()  # pytest-qgis's iface has none; the processing dialog asks for it
    qgis_iface.browserModel = lambda: browser
    d = DiscrepancyDock(qgis_iface)
    assert d.open(merged_gpkg, load_layer=False)
    assert not d.context_menu().actions()[0].isEnabled()  # nothing selected yet
    d.text.setText(LEDGER_PAIR)
    d.apply_filters()
    d.view.selectionModel().select(d.model.index(0, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)
    act = d.context_menu().actions()[0]
    assert act.isEnabled() and "地块档案" in act.text()
    act.trigger()
    params = d._dossier.createProcessingParameters()
    assert params["DKBM"] == LEDGER_PAIR and params["INPUT"] == str(merged_gpkg)
    d._dossier.close()
    params.update(OUTPUT_FOLDER=str(tmp_path / "dossier"), DKBM=f"{LEDGER_PAIR}, {SKETCH_GONE}")
    res = processing.run("lcb:parcel_dossier", params)
    assert res["DOSSIERS"] == 2
    html = (tmp_path / "dossier" / f"地块档案_{LEDGER_PAIR}.html").read_text("utf-8")
    assert "data:image/png;base64," in html and "719.73" in html
    pdf = tmp_path / "dossier" / f"地块档案_{SKETCH_GONE}.pdf"
    assert pages(pdf) >= 2 and "缺失" in pdf_text(pdf)
    img = page_png(tmp_path / "dossier" / f"地块档案_{LEDGER_PAIR}.pdf", tmp_path)
    assert count_colour(img, ORANGE) > 200  # the QGIS-drawn map, parcels in their class colours
    assert count_colour(img, (0, 70, 255), tol=40) > 20  # the parcel's own outline


def test_village_atlas_one_page_per_village(ready, merged_gpkg, tmp_path):
    from qgis import processing

    res = processing.run("lcb:discrepancy_report", {"INPUT": str(merged_gpkg), "OUTPUT_ATLAS": str(tmp_path / "atlas.pdf")})
    assert res["ROWS"] == 124 and pages(tmp_path / "atlas.pdf") == 1  # all 124 listed parcels lie in 马堂村
    text = pdf_text(tmp_path / "atlas.pdf")
    assert "马堂村" in text and "3715260010010400065" in text and "韩东" not in text and "韩*" in text
    img = page_png(tmp_path / "atlas.pdf", tmp_path, dpi=40)
    assert count_colour(img, ORANGE, 0.0, 0.45) > 60  # the map (left) is drawn in class colours
    # every class, in a county's own layout that holds 400 rows a page: one page per village (马堂村, 郭桥村)
    from land_contract_bridge.core.paths import RESOURCES
    qpt = (RESOURCES / "layouts" / "village_atlas.qpt").read_text("utf-8")
    assert 'name="lcb_rows_per_page"' in qpt
    own = re.sub(r'<Option [^>]*"lcb_rows_per_page"[^>]*>', lambda m: re.sub(r'value="\d+"', 'value="400"', m.group(0)), qpt)
    own = own.replace("面积差异协商图", "县定协商图样式")
    assert own != qpt
    (tmp_path / "county.qpt").write_text(own, "utf-8")
    res = processing.run("lcb:discrepancy_report", {"INPUT": str(merged_gpkg), "CLASSES": [0, 1, 2, 3, 4], "OUTPUT_HTML": None,
                                                    "OUTPUT_ATLAS": str(tmp_path / "all.pdf"), "ATLAS_TEMPLATE": str(tmp_path / "county.qpt")})
    assert res["ROWS"] == 299 and pages(tmp_path / "all.pdf") == 2
    text = pdf_text(tmp_path / "all.pdf")
    assert text.count("县定协商图样式") == 2 and "郭桥村" in text and "马堂村" in text
    # the bundled layout holds 140 rows a page: 马堂村's 290 rows continue on two more sheets
    processing.run("lcb:discrepancy_report", {"INPUT": str(merged_gpkg), "CLASSES": [0, 1, 2, 3, 4], "OUTPUT_ATLAS": str(tmp_path / "b.pdf")})
    text = pdf_text(tmp_path / "b.pdf")
    assert pages(tmp_path / "b.pdf") == 4 and "（3/3）" in text
    import sqlite3
    codes = [k for (k,) in sqlite3.connect(merged_gpkg).execute("SELECT DKBM FROM cbdk")]
    assert all(text.count(k) == 1 for k in codes)  # every parcel on exactly one sheet, none cut off


def test_bad_atlas_template_is_a_clear_error(ready, merged_gpkg, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    bad = tmp_path / "bad.qpt"
    bad.write_text("<Layout>not a layout", "utf-8")
    with pytest.raises(QgsProcessingException) as e:
        processing.run("lcb:discrepancy_report", {"INPUT": str(merged_gpkg), "OUTPUT_ATLAS": str(tmp_path / "x.pdf"), "ATLAS_TEMPLATE": str(bad)})
    assert "bad.qpt" in str(e.value) and "图集版式模板" in str(e.value)
    assert not (tmp_path / "x.pdf").exists()
