"""The registration database in PostgreSQL/PostGIS inside QGIS (offscreen): a QGIS PostgreSQL connection whose
credentials live in QGIS's authentication manager, lcb:merge into it from the toolbox API, the layer opened with the
class style and the Chinese aliases from public.layer_styles, and the real 面积差异 dock recording a consultation
outcome (directly and through QGIS's edit buffer) with the audit saying who changed what."""
import json

import pytest
from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsDataSourceUri, QgsProject, QgsProviderRegistry, QgsVectorLayer
from qgis.PyQt.QtCore import QItemSelectionModel

from land_contract_bridge.ui.discrepancy_dock import DiscrepancyDock

CONNECTION = "县登记库 test"


@pytest.fixture
def connection(pg_db):
    """A QGIS PostgreSQL connection named CONNECTION, its user and password in an auth configuration (Basic)."""
    am = QgsApplication.authManager()
    if not am.masterPasswordIsSet():
        assert am.setMasterPassword("lcb-test-master", True)
    cfg = QgsAuthMethodConfig()
    cfg.setMethod("Basic")
    cfg.setName("lcb test")
    cfg.setConfig("username", pg_db.user)
    cfg.setConfig("password", pg_db.password)
    ok, cfg = am.storeAuthenticationConfig(cfg)
    assert ok
    uri = QgsDataSourceUri()
    uri.setConnection("127.0.0.1", str(pg_db.port), pg_db.name, "", "", QgsDataSourceUri.SslDisable, cfg.id())
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    md.saveConnection(md.createConnection(uri.uri(False), {}), CONNECTION)
    yield pg_db
    md.deleteConnection(CONNECTION)
    am.removeAuthenticationConfig(cfg.id())


@pytest.fixture
def merged_pg(connection, qgis_processing, plugin, demo):
    from qgis import processing as qp
    res = qp.run("lcb:merge", {"INPUT": str(demo), "TARGET": CONNECTION, "SCHEMA": "county"})
    return connection, res


def test_merge_through_a_qgis_connection_keeps_the_password_in_qgis(merged_pg, truth):
    db, res = merged_pg
    assert res["INSERTED"] == 299 and res["CONTRACT_REGISTER_MISMATCH"] == truth["counts"]["by_class"]["contract_register_mismatch"]
    assert db.password not in json.dumps({k: str(v) for k, v in res.items()})
    assert "authcfg=" in res["TARGET"] and 'table="county"."cbdk"' in res["TARGET"]
    assert db.rows("SELECT count(*) FROM county.cbdk") == [(299,)]


def test_the_layer_opens_with_the_class_style_and_chinese_aliases(merged_pg):
    _db, res = merged_pg
    uri = res["OUTPUT"][len("postgres://"):]
    lyr = QgsVectorLayer(uri, "cbdk", "postgres")  # QGIS reads the default style from public.layer_styles by itself
    assert lyr.isValid() and lyr.featureCount() == 299
    assert lyr.renderer().type() == "categorizedSymbol" and lyr.renderer().classAttribute().lower() == "cylx"
    assert {c.value() for c in lyr.renderer().categories()} >= {"consistent", "contract_register_mismatch", "share_only"}
    assert lyr.attributeAlias(lyr.fields().lookupField("SCMJ")) == "实测面积（平方米）"
    assert lyr.attributeAlias(lyr.fields().lookupField("BDCDYH")) == "不动产单元号"
    assert lyr.crs().authid() == "EPSG:4527"
    from land_contract_bridge.core.registration import schema
    if getattr(schema.CBDK.fields[0], "domain", "absent") != "absent":  # the layout with coded fields: their names shown
        i = lyr.fields().lookupField("CYLX")
        setup = lyr.editorWidgetSetup(i)
        assert setup.type() == "ValueMap"
        from qgis.core import QgsApplication as App
        fmt = App.fieldFormatterRegistry().fieldFormatter(setup.type())
        assert fmt.representValue(lyr, i, setup.config(), None, "contract_register_mismatch") == "合同与登簿面积不一致"
        for table, field, code, name in (("QLR", "GYFS", "2", "按份共有"), ("NYDSYQ", "QSZT", "1", "现势")):
            t = QgsVectorLayer(uri.replace('"cbdk" (geom)', f'"{table.lower()}"'), table, "postgres")
            assert t.isValid(), table
            j = t.fields().lookupField(field)
            s = t.editorWidgetSetup(j)
            assert s.type() == "ValueMap" and fmt.representValue(t, j, s.config(), None, code) == name
            assert t.attributeAlias(j) and t.attributeAlias(j) != field


def test_the_dock_records_a_consultation_outcome_on_postgis(merged_pg, qgis_iface, plugin):
    db, res = merged_pg
    # lcb:merge announced its result: the plugin opened the dock on the database
    d = plugin.docks["discrepancy"]
    assert d.table is not None and d.layer is not None and d.layer.providerType() == "postgres"
    assert d.table.class_counts["contract_register_mismatch"] == 8
    d.cls.setCurrentIndex(d.cls.findData("contract_register_mismatch"))
    assert d.model.rowCount() == 8
    sm = d.view.selectionModel()
    for r in (0, 1):
        sm.select(d.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    assert sorted(d.layer.selectedFeatureIds()) == sorted(d.model.fids([0, 1]))  # the map follows the table
    dkbms = [d.model.value(r, "DKBM") for r in (0, 1)]
    d.new_status.setCurrentIndex(d.new_status.findData("以登簿面积为准"))  # shown in the UI language, stored in Chinese
    d.note.setText("两局会商")
    d.apply_btn.click()
    assert db.rows("SELECT dkbm, xszt, xsbz FROM county.cbdk WHERE dkbm = ANY(%s) ORDER BY dkbm", (dkbms,)) == \
        [(k, "以登簿面积为准", "两局会商") for k in sorted(dkbms)]
    audit = db.rows("SELECT dkbm, \"user\", action FROM county.audit WHERE action = 'consult' ORDER BY dkbm")
    assert [a[0] for a in audit] == sorted(dkbms) and all(a[1].endswith("(lcb)") for a in audit)
    assert {d.model.value(r, "XSZT") for r in range(d.model.rowCount()) if d.model.value(r, "DKBM") in dkbms} == {"以登簿面积为准"}
    # while QGIS edits the layer: through the edit buffer, audited by the database when QGIS commits
    layer = d.layer
    assert layer.startEditing()
    third = d.model.value(2, "DKBM")
    d.apply_status("重新测量", "待复测", rows=[2])
    assert layer.commitChanges(), layer.commitErrors()
    assert db.rows("SELECT xszt, xsbz FROM county.cbdk WHERE dkbm = %s", (third,)) == [("重新测量", "待复测")]
    assert db.rows("SELECT \"user\", detail FROM county.audit WHERE dkbm = %s", (third,))[0][0] == "lcb"
    # the project keeps the dock's source without any password, and reopens it
    state = d.state()
    assert db.password not in state["path"] and "county" in state["path"]
    QgsProject.instance().removeAllMapLayers()
    e = DiscrepancyDock(qgis_iface)
    e.restore(state)
    assert e.table is not None and e.model.rowCount() == 8 and e.layer is not None and e.layer.isValid()


def test_open_database_by_uri_and_wrong_schema(connection, qgis_iface, demo, tmp_path, monkeypatch):
    from land_contract_bridge.core import merge
    db = connection
    monkeypatch.setenv("PGPASSFILE", str(db.passfile(tmp_path)))
    merge.merge(demo, db.uri, schema="other")
    d = DiscrepancyDock(qgis_iface)
    assert d.open_database(db.uri, "other")
    assert len(d.table.fid) == 299 - 168 and d.layer is not None and d.layer.isValid()
    warned = []
    monkeypatch.setattr("land_contract_bridge.ui.discrepancy_dock.QMessageBox.warning", lambda *a: warned.append(a[2]))
    assert not d.open_database(CONNECTION, "nothing_here")
    assert warned and "nothing_here" in warned[0] and db.password not in warned[0]


def test_a_connection_with_a_stored_password_reopens_without_it(pg_db, qgis_processing, plugin, qgis_iface, demo, monkeypatch):
    """A QGIS connection that stores user and password (no auth configuration, no .pgpass): the merge's result and
    the dock's saved state carry no password, and the dock reopens them in a later session through the connection."""
    from qgis import processing as qp

    from land_contract_bridge.processing import pgsource
    monkeypatch.delenv("PGPASSFILE", raising=False)
    uri = QgsDataSourceUri()
    uri.setConnection("127.0.0.1", str(pg_db.port), pg_db.name, pg_db.user, pg_db.password)
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    md.saveConnection(md.createConnection(uri.uri(False), {"saveUsername": True, "savePassword": True}), "stored password")
    try:
        res = qp.run("lcb:merge", {"INPUT": str(demo), "TARGET": "stored password", "SCHEMA": "s2"})
        assert res["INSERTED"] == 299 and pg_db.password not in res["TARGET"] and "authcfg" not in res["TARGET"]
        d = plugin.docks["discrepancy"]
        state = d.state()
        assert pg_db.password not in json.dumps(state)
        pgsource._passwords.clear()  # a later session: nothing remembered
        QgsProject.instance().removeAllMapLayers()
        warned = []
        monkeypatch.setattr("land_contract_bridge.ui.discrepancy_dock.QMessageBox.warning", lambda *a: warned.append(a[2]))
        e = DiscrepancyDock(qgis_iface)
        e.restore(state)
        assert not warned and e.table is not None and len(e.table.fid) == 299 - 168 and e.layer is not None and e.layer.isValid()
    finally:
        md.deleteConnection("stored password")
