"""The registration data in the form of the real-estate registration database standard: ZDJBXX, NYDSYQ and QLR with
the standard's names, fields, widths and codes, never drifting from the working data (issue 11)."""
import sqlite3

import pytest
from osgeo import ogr

from conftest import copy_package
from oracle import db_rows as q
from land_contract_bridge.core import consult, gpkg, merge
from land_contract_bridge.core.params import to_mu
from land_contract_bridge.core.registration import standard

# The standard's tables as its 2015 table-creation script lists them (docs/registration-schema.md), written out here
# independently of the code: name → (type as stored, width).
ZDJBXX = [("YSDM", "TEXT(10)"), ("ZDDM", "TEXT(19)"), ("BDCDYH", "TEXT(28)"), ("ZDTZM", "TEXT(2)"), ("ZL", "TEXT(200)"),
          ("ZDMJ", "REAL"), ("MJDW", "TEXT(2)"), ("YT", "TEXT(4)"), ("DJ", "TEXT(2)"), ("JG", "REAL"), ("QLLX", "TEXT(2)"),
          ("QLXZ", "TEXT(4)"), ("QLSDFS", "TEXT(2)"), ("RJL", "REAL"), ("JZMD", "REAL"), ("JZXG", "REAL"), ("ZDSZD", "TEXT(200)"),
          ("ZDSZN", "TEXT(200)"), ("ZDSZX", "TEXT(200)"), ("ZDSZB", "TEXT(200)"), ("ZDT", "BLOB"), ("TFH", "TEXT(50)"),
          ("DJH", "TEXT(20)"), ("DAH", "TEXT"), ("BZ", "TEXT"), ("ZT", "TEXT(2)")]
NYDSYQ = [("YSDM", "TEXT(10)"), ("BDCDYH", "TEXT(28)"), ("YWH", "TEXT(20)"), ("QLLX", "TEXT(2)"), ("DJLX", "TEXT(6)"), ("DJYY", "TEXT"),
          ("ZL", "TEXT(200)"), ("FBFDM", "TEXT(100)"), ("FBFMC", "TEXT(100)"), ("CBMJ", "REAL"), ("CBQSSJ", "DATE"), ("CBJSSJ", "DATE"),
          ("TDSYQXZ", "TEXT(2)"), ("SYTTLX", "TEXT(2)"), ("YZYFS", "TEXT(2)"), ("CYZL", "TEXT"), ("SYZCL", "INTEGER"), ("BDCQZH", "TEXT"),
          ("QXDM", "TEXT(6)"), ("DJJG", "TEXT(200)"), ("DBR", "TEXT(50)"), ("DJSJ", "DATE"), ("FJ", "TEXT"), ("QSZT", "TEXT(2)")]
QLR = [("YSDM", "TEXT(10)"), ("BDCDYH", "TEXT(28)"), ("SXH", "INTEGER"), ("QLRMC", "TEXT"), ("BDCQZH", "TEXT(50)"), ("QZYSXLH", "TEXT(100)"),
       ("SFCZR", "TEXT(2)"), ("ZJZL", "TEXT(2)"), ("ZJH", "TEXT(50)"), ("FZJG", "TEXT(200)"), ("SSHY", "TEXT(6)"), ("GJ", "TEXT(6)"),
       ("HJSZSS", "TEXT(6)"), ("XB", "TEXT(2)"), ("DH", "TEXT(50)"), ("DZ", "TEXT(200)"), ("YB", "TEXT(10)"), ("GZDW", "TEXT(100)"),
       ("DZYJ", "TEXT(50)"), ("QLRLX", "TEXT(2)"), ("QLBL", "TEXT(100)"), ("GYFS", "TEXT(2)"), ("GYQK", "TEXT"), ("BZ", "TEXT")]
PENDING = {"待协商", "重新测量", "其他"}


def drift(target):
    c = gpkg.connect(target)
    try:
        return standard.drift(c)
    finally:
        c.close()


@pytest.fixture(scope="module")
def reg(demo, tmp_path_factory):
    target = tmp_path_factory.mktemp("std") / "reg.gpkg"
    merge.merge(demo, target)
    return target


@pytest.fixture
def own(demo, tmp_path):
    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    return target


def test_a_new_database_is_a_geopackage_with_16_kb_pages(reg):
    """Created by GDAL, then rewritten with 16 KB pages (a faster bulk load): still a valid GeoPackage (its header's
    application id and version kept) that GDAL opens."""
    assert q(reg, "PRAGMA application_id") == [(0x47504B47,)] and q(reg, "PRAGMA user_version")[0][0] >= 10200
    assert q(reg, "PRAGMA page_size") == [(16384,)] and q(reg, "PRAGMA integrity_check") == [("ok",)]
    ds = ogr.Open(str(reg))
    assert ds.GetDriver().GetName() == "GPKG" and ds.GetLayerByName("cbdk").GetFeatureCount() == 299


def test_the_standard_tables_exist_with_their_fields_types_and_widths(reg):
    for table, fields in (("ZDJBXX", ZDJBXX), ("NYDSYQ", NYDSYQ), ("QLR", QLR)):
        info = [(r[1], r[2]) for r in q(reg, f"PRAGMA table_info({table})")]
        assert info[0] == ("fid", "INTEGER")
        got = [x for x in info[1:] if x[0] != "geom"]
        assert got == fields, table
    assert q(reg, "SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = 'ZDJBXX'") == [("MULTIPOLYGON",)]
    assert not q(reg, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'qlr'")  # the old qlr became QLR
    c = gpkg.connect(reg)  # the 宗地 have their own spatial index, equal to their parcels' boxes
    assert c.execute("SELECT rtreecheck('rtree_ZDJBXX_geom')").fetchone()[0] == "ok"
    assert c.execute("SELECT COUNT(*) FROM rtree_ZDJBXX_geom").fetchone()[0] == c.execute("SELECT COUNT(*) FROM ZDJBXX").fetchone()[0]
    assert not c.execute("SELECT 1 FROM ZDJBXX z JOIN cbdk p ON p.BDCDYH = z.BDCDYH JOIN rtree_ZDJBXX_geom a ON a.id = z.fid "
                         "JOIN rtree_cbdk_geom b ON b.id = p.fid WHERE a.minx <> b.minx OR a.maxx <> b.maxx OR a.miny <> b.miny "
                         "OR a.maxy <> b.maxy OR z.geom IS NOT p.geom").fetchall()
    c.close()


def test_codes_links_and_areas_follow_the_standard(reg, truth):
    zd = q(reg, "SELECT YSDM, ZDDM, BDCDYH, ZDTZM, QLLX, MJDW, ZDMJ FROM ZDJBXX")
    assert zd
    for ysdm, zddm, code, tzm, qllx, mjdw, _zdmj in zd:
        assert ysdm == "6001010000" and zddm == code[:19] and tzm == code[12:14] and qllx == "9" and mjdw == "1"
    units = {r[2] for r in zd}
    ny = q(reg, "SELECT n.BDCDYH, n.QLLX, n.YSDM, n.CBMJ, n.QSZT, c.DBMJ, c.HTMJ, c.XSZT FROM NYDSYQ n JOIN cbdk c ON c.BDCDYH = n.BDCDYH")
    assert len(ny) == q(reg, "SELECT COUNT(*) FROM NYDSYQ")[0][0] == len(zd)
    for code, qllx, ysdm, cbmj, qszt, dbmj, htmj, xszt in ny:
        assert code in units and qllx == "9" and ysdm == "6002020500"
        assert cbmj == to_mu(htmj if xszt == "以合同面积为准" else dbmj)  # 亩, the registered (登簿) area
        assert qszt == ("0" if xszt in PENDING else "1")
    for k, p in truth["parcels"].items():
        if p["class"] != "share_only":
            continue
        rows = q(reg, "SELECT r.GYFS, r.QLBL, r.YSDM FROM QLR r JOIN cbdk c ON c.BDCDYH = r.BDCDYH WHERE c.DKBM = ?", (k,))
        assert len(rows) > 1 and {g for g, _, _ in rows} == {"2"} and {y for _, _, y in rows} == {"6003000000"}
        assert abs(sum(float(b) for _, b, _ in rows) - 1) < 1e-9
    single = q(reg, "SELECT COUNT(*), SUM(r.GYFS = '0' AND r.QLBL = '1') FROM QLR r JOIN cbdk c ON c.BDCDYH = r.BDCDYH WHERE c.CYLX <> 'share_only'")
    assert single[0][0] == single[0][1] > 0


def test_who_is_registered(reg, truth):
    registered = {k for k, in q(reg, "SELECT c.DKBM FROM ZDJBXX z JOIN cbdk c ON c.BDCDYH = z.BDCDYH")}
    with_geometry = {k for k, in q(reg, "SELECT DKBM FROM cbdk WHERE geom IS NOT NULL")}
    want = {k for k, p in truth["parcels"].items() if p["class"] != "unmatched"} & with_geometry
    assert registered == want and len(want) == 296
    # unmatched parcels keep their number in the working layer only; parcels under consultation are 临时 (QSZT 0)
    assert not q(reg, "SELECT 1 FROM QLR r JOIN cbdk c ON c.BDCDYH = r.BDCDYH WHERE c.CYLX = 'unmatched'")
    pending = {k for k, in q(reg, "SELECT c.DKBM FROM NYDSYQ n JOIN cbdk c ON c.BDCDYH = n.BDCDYH WHERE n.QSZT = '0'")}
    assert pending == {k for k, p in truth["parcels"].items() if p["class"] == "contract_register_mismatch"} & want
    assert drift(reg) == set()


def test_coded_fields_carry_their_names_and_titles(reg):
    """Codes in the tables; their names in GeoPackage domains (QGIS shows them as value maps), Chinese titles in
    gpkg_data_columns and in each table's default style."""
    dom = dict(q(reg, "SELECT column_name, constraint_name FROM gpkg_data_columns WHERE table_name = 'QLR' AND constraint_name IS NOT NULL"))
    assert dom["GYFS"] == "GYFSZD" and dom["ZJZL"] == "ZJZLZD" and dom["QLRLX"] == "QLRLXZD"
    names = dict(q(reg, "SELECT value, description FROM gpkg_data_column_constraints WHERE constraint_name = 'GYFSZD' AND constraint_type = 'enum'"))
    assert names == {"0": "单独所有", "1": "共同共有", "2": "按份共有", "3": "其它共有"}
    assert dict(q(reg, "SELECT value, description FROM gpkg_data_column_constraints WHERE constraint_name = 'QLLXZD'"))["9"] == "土地承包经营权"
    assert {t for t, in q(reg, "SELECT DISTINCT ZDTZM FROM ZDJBXX")} <= {
        v for v, in q(reg, "SELECT value FROM gpkg_data_column_constraints WHERE constraint_name = 'ZDTZMZD'")}
    titles = dict(q(reg, "SELECT column_name, title FROM gpkg_data_columns WHERE table_name = 'NYDSYQ'"))
    assert titles["CBMJ"] == "承包（使用权）面积（亩）" and titles["QSZT"] == "权属状态"
    style = q(reg, "SELECT styleQML FROM layer_styles WHERE f_table_name = 'QLR' AND useAsDefault = 1")[0][0]
    assert 'name="权利比例"' in style
    assert dict(q(reg, "SELECT table_name, identifier FROM gpkg_contents"))["ZDJBXX"] == "宗地基本信息"
    assert {g for g, in q(reg, "SELECT DISTINCT GYFS FROM cbdk WHERE GYFS IS NOT NULL")} == {"0", "2"}


def _edit_dk(pkg, values):
    ds = ogr.Open(str(pkg / "矢量数据/DK3715262018.shp"), 1)
    lyr = ds.GetLayer(0)
    for f in lyr:
        for k, v in values.get(f.GetField("DKBM"), {}).items():
            f.SetField(k, v)
        lyr.SetFeature(f)
    ds = None


def test_zdtzm_follows_land_use_and_ownership_and_a_number_never_changes(demo, tmp_path):
    pkg = copy_package(tmp_path / "a")
    woods, grass, state = "3715260010010100001", "3715260010010100002", "3715260010010100003"
    _edit_dk(pkg, {woods: {"TDLYLX": "031"}, grass: {"TDLYLX": "043"}, state: {"SYQXZ": "10"}})
    target = tmp_path / "reg.gpkg"
    merge.merge(pkg, target)
    codes = dict(q(target, "SELECT DKBM, BDCDYH FROM cbdk"))
    assert (codes[woods][12:14], codes[grass][12:14], codes[state][12:14]) == ("JE", "JF", "GD")
    assert {k: z for k, z in q(target, "SELECT c.DKBM, z.ZDTZM FROM ZDJBXX z JOIN cbdk c ON c.BDCDYH = z.BDCDYH "
                                       f"WHERE c.DKBM IN ('{woods}', '{grass}', '{state}')")} == {woods: "JE", grass: "JF", state: "GD"}
    assert q(target, "SELECT TDSYQXZ FROM NYDSYQ WHERE BDCDYH = ?", (codes[state],)) == [("1",)]  # 国家所有
    res = merge.merge(demo, target, on_conflict="replace")  # the original land use comes back
    assert res["UPDATED"] == 3
    assert dict(q(target, "SELECT DKBM, BDCDYH FROM cbdk")) == codes
    assert q(target, "SELECT TDLYLX FROM cbdk WHERE DKBM = ?", (woods,)) == [("012",)]
    assert q(target, "SELECT ZDTZM, YT FROM ZDJBXX WHERE BDCDYH = ?", (codes[woods],)) == [("JE", "012")]
    assert drift(target) == set()


def test_a_consultation_outcome_updates_the_standard_tables_in_the_same_transaction(own):
    k = "3715260010010400065"
    code, htmj, dbmj = q(own, "SELECT BDCDYH, HTMJ, DBMJ FROM cbdk WHERE DKBM = ?", (k,))[0]
    assert q(own, "SELECT QSZT, CBMJ FROM NYDSYQ WHERE BDCDYH = ?", (code,)) == [("0", to_mu(dbmj))]

    consult.set_status(own, [k], "以合同面积为准", "两局会商", user="tester")
    assert q(own, "SELECT QSZT, CBMJ FROM NYDSYQ WHERE BDCDYH = ?", (code,)) == [("1", to_mu(htmj))]
    assert drift(own) == set()

    c = gpkg.connect(own)  # within one transaction the tables agree; rolled back, both are as before
    c.execute("BEGIN")
    c.execute("UPDATE cbdk SET XSZT = '重新测量' WHERE DKBM = ?", (k,))
    assert c.execute("SELECT QSZT, CBMJ FROM NYDSYQ WHERE BDCDYH = ?", (code,)).fetchall() == [("0", to_mu(dbmj))]
    c.execute("ROLLBACK")
    c.close()
    assert q(own, "SELECT QSZT, CBMJ FROM NYDSYQ WHERE BDCDYH = ?", (code,)) == [("1", to_mu(htmj))]

    ds = ogr.Open(str(own), 1)  # an edit committed the way QGIS's edit buffer does (the dock in an edit session)
    lyr = ds.GetLayerByName("cbdk")
    lyr.SetAttributeFilter(f"DKBM = '{k}'")
    f = lyr.GetNextFeature()
    f.SetField("XSZT", "以登簿面积为准")
    lyr.SetFeature(f)
    ds = None
    assert q(own, "SELECT QSZT, CBMJ FROM NYDSYQ WHERE BDCDYH = ?", (code,)) == [("1", to_mu(dbmj))]
    assert drift(own) == set()


def test_merges_replacements_and_deletions_never_leave_the_standard_tables_behind(own, demo, tmp_path):
    k = "3715260010010100002"
    pkg = copy_package(tmp_path / "b")
    _edit_dk(pkg, {k: {"DKMC": "改过的名"}})
    before = q(own, "SELECT z.ZL FROM ZDJBXX z JOIN cbdk c ON c.BDCDYH = z.BDCDYH WHERE c.DKBM = ?", (k,))[0][0]
    merge.merge(pkg, own)  # keep: nothing changes
    assert q(own, "SELECT z.ZL FROM ZDJBXX z JOIN cbdk c ON c.BDCDYH = z.BDCDYH WHERE c.DKBM = ?", (k,))[0][0] == before
    merge.merge(pkg, own, on_conflict="replace")
    assert "改过的名" in q(own, "SELECT z.ZL FROM ZDJBXX z JOIN cbdk c ON c.BDCDYH = z.BDCDYH WHERE c.DKBM = ?", (k,))[0][0]
    assert "改过的名" in q(own, "SELECT n.ZL FROM NYDSYQ n JOIN cbdk c ON c.BDCDYH = n.BDCDYH WHERE c.DKBM = ?", (k,))[0][0]
    assert drift(own) == set()
    code = q(own, "SELECT BDCDYH FROM cbdk WHERE DKBM = ?", (k,))[0][0]
    holders = q(own, "SELECT * FROM QLR WHERE BDCDYH = ? ORDER BY SXH", (code,))
    c = gpkg.connect(own)
    c.execute("DELETE FROM cbdk WHERE DKBM = ?", (k,))
    c.close()
    assert not q(own, "SELECT 1 FROM ZDJBXX WHERE BDCDYH = ? UNION ALL SELECT 1 FROM NYDSYQ WHERE BDCDYH = ? "
                      "UNION ALL SELECT 1 FROM QLR WHERE BDCDYH = ?", (code, code, code))
    merge.merge(pkg, own)  # it comes back with its number and its rows
    assert q(own, "SELECT BDCDYH FROM cbdk WHERE DKBM = ?", (k,))[0][0] == code
    assert [r[1:] for r in q(own, "SELECT * FROM QLR WHERE BDCDYH = ? ORDER BY SXH", (code,))] == [r[1:] for r in holders]
    assert drift(own) == set()


def test_a_database_of_an_older_layout_is_refused_untouched(own, demo):
    from land_contract_bridge.core.errors import LcbError
    c = sqlite3.connect(own)
    c.execute("UPDATE lcb_meta SET value = '2' WHERE key = 'schema_version'")
    c.commit()
    c.close()
    before = own.read_bytes()
    with pytest.raises(LcbError) as e:
        merge.merge(demo, own, area_tolerance=0.02)  # not the fast path: the layout is checked before anything is written
    assert "结构版本为 2" in e.value.text() and "reg.gpkg" in e.value.text()
    assert own.read_bytes() == before
