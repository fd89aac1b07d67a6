"""Issue 17, point 4: a 合同与登簿面积不一致 parcel whose own difference is 0.00 is in its class because its
contract's total HTZMJ differs from the registered areas of the contract's parcels (ΣDBMJ); the registration
database, the consultation list (HTML, XLSX) say which, with both numbers."""
import sqlite3

import pytest

from land_contract_bridge.core import consult, merge


@pytest.fixture(scope="module")
def reg(tmp_path_factory, demo):
    target = tmp_path_factory.mktemp("reason") / "reg.gpkg"
    merge.merge(demo, target)
    return target


def test_the_database_records_why_and_the_contract_numbers(reg):
    c = sqlite3.connect(reg)
    rows = c.execute("SELECT DKBM, HTDBC, CYYY, CYYYMC, HTZMJ, DBZMJ, CBHTBM FROM cbdk WHERE CYLX = 'contract_register_mismatch' "
                     "ORDER BY DKBM").fetchall()
    assert len(rows) == 8
    contract = [r for r in rows if r[2] == "contract"]
    parcel = [r for r in rows if r[2] == "parcel"]
    assert len(contract) == 6 and len(parcel) == 2
    # the six: their own difference is 0.00; their contract 371526001001020001J records 4,531.77 m² while its parcels
    # are registered with 4,401.00 m² in all
    assert {(r[1], r[4], r[5], r[6]) for r in contract} == {(0.0, 4531.77, 4401.0, "371526001001020001J")}
    assert {r[3] for r in contract} == {"合同总面积与合同内地块登簿面积合计不一致"}
    assert all(abs(r[1]) > 0.01 and r[3] == "地块合同面积与登簿面积不一致" for r in parcel)
    # independent check of ΣDBMJ: the registered areas of every parcel under that contract
    total = c.execute("SELECT SUM(DBMJ) FROM cbdk WHERE CBHTBM = '371526001001020001J'").fetchone()[0]
    assert round(total, 2) == 4401.0
    assert c.execute("SELECT COUNT(*) FROM cbdk WHERE CYLX <> 'contract_register_mismatch' AND CYYY IS NOT NULL").fetchone()[0] == 0
    assert c.execute("SELECT title FROM gpkg_data_columns WHERE table_name = 'cbdk' AND column_name = 'DBZMJ'").fetchone()[0] \
        == "所属合同内地块登簿面积合计（平方米）"


def test_the_consultation_list_says_why(reg, tmp_path):
    rep = consult.build(reg)
    why = {r["DKBM"]: r["CYYYSM"] for r in rep["rows"] if r["CYLX"] == "contract_register_mismatch"}
    assert why["3715260010010200001"] == "合同总面积 4,531.77 ≠ 登簿合计 4,401.00"
    assert why["3715260010010400065"] == "地块合同面积≠登簿面积"
    assert all(r["CYYYSM"] == "" for r in rep["rows"] if r["CYLX"] != "contract_register_mismatch")
    html = consult.to_html(rep)
    assert "<th>差异原因</th>" in html and "合同总面积 4,531.77 ≠ 登簿合计 4,401.00" in html
    consult.to_xlsx(rep, tmp_path / "list.xlsx")
    from osgeo import gdal
    gdal.SetConfigOption("OGR_XLSX_HEADERS", "FORCE")
    ds = gdal.OpenEx(str(tmp_path / "list.xlsx"), gdal.OF_VECTOR)
    lyr = ds.GetLayerByName("协商清单")
    by = {f["地块编码"]: f for f in lyr}
    f = by["3715260010010200001"]
    assert f["差异原因"].startswith("合同总面积") and f["合同总面积㎡"] == 4531.77 and f["合同内登簿面积合计㎡"] == 4401.0
    assert by["3715260010010400065"]["差异原因"] == "地块合同面积≠登簿面积"


def test_a_share_only_households_ledger_area_counts_for_its_contract(reg, demo_copy, tmp_path):
    """A row's registered area is the ledger's for its (DKBM, CBFBM) — for a share-only parcel's row the only source
    besides its HTMJ. Raising the ledger area of a share-only parcel's first household by 100 m² raises the ΣDBMJ of
    that household's contract, which the parcel records (DBZMJ) with the contract's unchanged HTZMJ."""
    c = sqlite3.connect(reg)
    dkbm, cbfbm, before, htzmj = c.execute(
        "SELECT p.DKBM, (SELECT x.CBFBM FROM qs_cbdkxx x WHERE x.DKBM = p.DKBM ORDER BY x.fid LIMIT 1), p.DBZMJ, p.HTZMJ "
        "FROM cbdk p WHERE p.GYFS = '2' AND p.DBZMJ IS NOT NULL ORDER BY p.DKBM LIMIT 1").fetchone()
    c.close()
    ledger = demo_copy / "其他资料" / "确权登记发证台账.csv"
    lines = ledger.read_text("utf-8-sig").splitlines()
    hit = [i for i, line in enumerate(lines) if line.startswith(f"{dkbm},{cbfbm},")]
    assert len(hit) == 1
    *head, area = lines[hit[0]].split(",")
    lines[hit[0]] = ",".join(head + [f"{float(area) + 100:.2f}"])
    ledger.write_text("\ufeff" + "\n".join(lines) + "\n", "utf-8")
    target = tmp_path / "reg.gpkg"
    merge.merge(demo_copy, target)
    c = sqlite3.connect(target)
    after = c.execute("SELECT DBZMJ, HTZMJ FROM cbdk WHERE DKBM = ?", (dkbm,)).fetchone()
    c.close()
    assert (round(after[0] - before, 2), after[1]) == (100.0, htzmj)
