"""What is read from a registration database in PostgreSQL — the consultation report, the dock's columns, notices,
dossiers — equals what is read from the GeoPackage of the same deliveries; consultation records are audited."""
import re

import numpy as np
import pytest

from conftest import run_generator
from land_contract_bridge.core import consult, dossier, merge, notice, pgconn, regdb
from land_contract_bridge.core.parcel_table import ParcelTable


@pytest.fixture(scope="module")
def both(pg_cluster, demo, tmp_path_factory):
    """The sample and a generated township (with planted defects) merged into a GeoPackage and into PostgreSQL."""
    tmp = tmp_path_factory.mktemp("pgread")
    root, _truth = run_generator(tmp / "g", "--parcels", "800", "--township", "002", "--defects", "0.05", "--seed", "9")
    db = pg_cluster.create_db()
    gp = tmp / "reg.gpkg"
    target = pgconn.PgTarget(db.params(), "county")
    for d in (demo, root):
        merge.merge(d, gp)
        merge.merge(d, target)
    return gp, target, db


def _normal(html):
    html = re.sub(r"登记库 [^<]*</p>", "登记库 …</p>", html)
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "…", html)


@pytest.mark.parametrize("mask", [True, False])
def test_the_report_from_postgis_equals_the_report_from_the_geopackage(both, mask):
    gp, target, _db = both
    a, b = consult.build(gp, mask=mask), consult.build(target, mask=mask)
    assert a["rows"] and a["rows"] == b["rows"] and a["groups"] == b["groups"] and a["totals"] == b["totals"]
    assert _normal(consult.to_html(a)) == _normal(consult.to_html(b))
    assert b["gpkg"].startswith("postgresql://lcb@127.0.0.1") and "lcb-test" not in b["gpkg"]  # no password in the report


def test_the_dock_columns_are_the_same(both):
    gp, target, _db = both
    for everything in (False, True):
        a, b = ParcelTable(gp).load(everything), ParcelTable(target).load(everything)
        assert a.class_counts == b.class_counts and len(a.fid) == len(b.fid) > 0
        for k in a.cols:
            x, y = a.cols[k], b.cols[k]
            if x.dtype.kind == "f":
                assert np.array_equal(x, y, equal_nan=True), k
            else:
                assert [bytes(v) for v in x.tolist()] == [bytes(v) for v in y.tolist()], k
        assert a.villages() == b.villages()
        assert np.array_equal(a.filter(text="0010"), b.filter(text="0010"))


def test_consultation_records_are_audited_with_the_database_role(both):
    _gp, target, db = both
    k = consult.rows(target, ["contract_register_mismatch"])[0]["DKBM"]
    assert consult.set_status(target, [k], "以合同面积为准", "两局会商", user="zhang") == 1
    row = [r for r in consult.rows(target, ["contract_register_mismatch"]) if r["DKBM"] == k][0]
    assert (row["XSZT"], row["XSBZ"], row["XSR"]) == ("以合同面积为准", "两局会商", "zhang")
    audit = db.rows("SELECT \"user\", action, detail FROM county.audit WHERE dkbm = %s", (k,))
    assert len(audit) == 1 and audit[0][0] == "zhang (lcb)" and audit[0][1] == "consult" and "以合同面积为准" in audit[0][2]
    # an edit made outside the plugin (QGIS's attribute table, psql) is audited too, with the database role
    c = db.connect()
    c.cursor().execute("UPDATE county.cbdk SET xsbz = '现场复核' WHERE dkbm = %s", (k,))
    c.commit()
    c.close()
    assert db.rows("SELECT \"user\", action FROM county.audit WHERE dkbm = %s ORDER BY fid", (k,))[-1] == ("lcb", "consult (QGIS)")
    consult.audit(target, [k], "以合同面积为准")  # the dock's edit-buffer path: the trigger has written it already
    assert len(db.rows("SELECT 1 FROM county.audit WHERE dkbm = %s", (k,))) == 2


def test_standard_tables_follow_consultations_and_edits(both):
    """In PostgreSQL as in the GeoPackage, a consultation outcome (or any edit of cbdk) rewrites the unit's standard
    rows in the same transaction (a trigger running the statements of registration.standard)."""
    from land_contract_bridge.core.registration import standard
    if not hasattr(standard, "drift"):
        pytest.skip("this layout has no standard tables")
    _gp, target, db = both
    c = pgconn.connect_read(target)
    try:
        assert standard.drift(c) == set()
    finally:
        c.close()
    k = consult.rows(target, ["contract_register_mismatch"])[1]["DKBM"]
    unit = db.rows("SELECT bdcdyh, htmjm, dbmjm FROM county.cbdk WHERE dkbm = %s", (k,))[0]
    assert db.rows("SELECT qszt, cbmj FROM county.nydsyq WHERE bdcdyh = %s", (unit[0],)) == [("0", unit[2])]
    consult.set_status(target, [k], "以合同面积为准", user="li")
    assert db.rows("SELECT qszt, cbmj FROM county.nydsyq WHERE bdcdyh = %s", (unit[0],)) == [("1", unit[1])]
    c = db.connect()
    c.cursor().execute("UPDATE county.cbdk SET dkmc = '新名' WHERE dkbm = %s", (k,))
    c.commit()
    c.close()
    assert "新名" in db.rows("SELECT zl FROM county.zdjbxx WHERE bdcdyh = %s", (unit[0],))[0][0]
    c = pgconn.connect_read(target)
    try:
        assert standard.drift(c) == set()
    finally:
        c.close()


def test_notices_and_dossiers_read_the_same(both, demo):
    gp, target, _db = both
    c = regdb.connect(gp)
    shp = regdb.farmland_layers(c)
    geoms, ids = regdb.read_polygons(shp[0], regdb.epsg(c), "BHQBH")
    c.close()
    c = regdb.connect(target)
    assert regdb.epsg(c) == 4527 and [p.name for p in regdb.farmland_layers(c)] == [p.name for p in shp]
    c.close()
    a, b = notice.build(gp, geoms, ids), notice.build(target, geoms, ids)
    strip = [{k: v for k, v in r.items() if k != "geometry"} for r in a["rows"]]
    assert a["rows"] and strip == [{k: v for k, v in r.items() if k != "geometry"} for r in b["rows"]]
    assert [n["CBFBM"] for n in a["notices"]] == [n["CBFBM"] for n in b["notices"]]
    for k in ("3715260010010400065", "3715260010010100002"):
        x, y = dossier.gather(gp, k), dossier.gather(target, k)
        assert {f: v for f, v in x["current"].items() if f != "RKSJ"} == {f: v for f, v in y["current"].items() if f != "RKSJ"}
        for key in ("compare", "household", "neighbours", "geometry_area", "class_name"):
            assert x[key] == y[key], key
        skip = ("batch",)  # its time and operator (the database role is added in PostgreSQL)
        assert [{f: v for f, v in d.items() if f not in skip} for d in x["delivered"]] == \
            [{f: v for f, v in d.items() if f not in skip} for d in y["delivered"]]
        assert [e["action"] for e in x["history"]] == [e["action"] for e in y["history"]]
        assert [(f["rel"], f["present"]) for f in x["archive"]] == [(f["rel"], f["present"]) for f in y["archive"]]


def test_a_schema_without_a_registration_database_is_a_clear_error(both):
    _gp, target, _db = both
    from land_contract_bridge.core.errors import LcbError
    with pytest.raises(LcbError) as e:
        consult.build(target.with_schema("nothing_here"))
    assert "nothing_here" in e.value.text() and "lcb:merge" in e.value.text()
