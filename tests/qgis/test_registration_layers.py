"""The standard's tables as QGIS shows them: Chinese field titles, code names through value maps; and a consultation
recorded in the 面积差异 dock while QGIS edits the parcel layer reaches NYDSYQ when QGIS commits."""
import sqlite3

from qgis.core import QgsVectorLayer

from land_contract_bridge.core import gpkg
from land_contract_bridge.core.registration import standard
from land_contract_bridge.ui.discrepancy_dock import DiscrepancyDock


def _layer(path, name):
    lyr = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    assert lyr.isValid(), name
    return lyr


def _widget(lyr, field):
    setup = lyr.editorWidgetSetup(lyr.fields().indexOf(field))
    return setup.type(), {k: v for d in setup.config().get("map", []) for k, v in d.items()}


def test_standard_layers_show_titles_and_code_names(merged_gpkg):
    qlr = _layer(merged_gpkg, "QLR")
    assert qlr.attributeAlias(qlr.fields().indexOf("QLBL")) == "权利比例"
    kind, values = _widget(qlr, "GYFS")
    assert kind == "ValueMap" and values["按份共有"] == "2" and values["单独所有"] == "0"
    assert _widget(qlr, "ZJZL")[1]["身份证"] == "1"
    ny = _layer(merged_gpkg, "NYDSYQ")
    assert ny.attributeAlias(ny.fields().indexOf("CBMJ")) == "承包（使用权）面积（亩）"
    assert _widget(ny, "QSZT")[1] == {"临时": "0", "现势": "1", "历史": "2", "终止": "3"}
    assert _widget(ny, "QLLX")[1]["土地承包经营权"] == "9"
    zd = _layer(merged_gpkg, "ZDJBXX")
    assert zd.featureCount() == 296 and zd.crs().authid() == "EPSG:4527"
    assert _widget(zd, "ZDTZM")[1]["集体土地所有权·土地承包经营权宗地（耕地）"] == "JD"
    assert zd.attributeAlias(zd.fields().indexOf("ZDDM")) == "宗地代码"
    cbdk = _layer(merged_gpkg, "cbdk")
    assert _widget(cbdk, "GYFS")[1]["按份共有"] == "2" and _widget(cbdk, "DKLB")[1]["承包地块"] == "10"


def test_a_consultation_in_a_qgis_edit_session_reaches_the_standard_tables(qgis_iface, merged_gpkg):
    d = DiscrepancyDock(qgis_iface)
    d.open(merged_gpkg)
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    layer = d.layer
    assert layer.startEditing()
    dkbm = d.model.value(0, "DKBM")
    d.apply_status("以合同面积为准", "两局会商", rows=[0])
    c = sqlite3.connect(merged_gpkg)
    code = c.execute("SELECT BDCDYH FROM cbdk WHERE DKBM = ?", (dkbm,)).fetchone()[0]
    assert c.execute("SELECT QSZT FROM NYDSYQ WHERE BDCDYH = ?", (code,)).fetchone()[0] == "0"  # not committed yet
    c.close()
    assert layer.commitChanges()
    c = sqlite3.connect(merged_gpkg)
    qszt, cbmj = c.execute("SELECT QSZT, CBMJ FROM NYDSYQ WHERE BDCDYH = ?", (code,)).fetchone()
    htmjm = c.execute("SELECT HTMJM FROM cbdk WHERE DKBM = ?", (dkbm,)).fetchone()[0]
    c.close()
    assert (qszt, cbmj) == ("1", htmjm)
    g = gpkg.connect(merged_gpkg)
    assert standard.drift(g) == set()
    g.close()
