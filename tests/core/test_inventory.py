"""The material inventory: counts against truth.json, required items, PREVIOUS comparison, outputs."""
import re
import shutil
import zipfile

from conftest import tree_hash
from land_contract_bridge.core import inventory

COUNT_KEYS = ["dk_features", "groups", "dksyt_pdfs", "attachment_pdfs", "parcels", "households", "contracts", "members",
              "cbdkxx_rows", "certificates", "share_only_parcels", "lzht", "qzbf", "qzhf", "qslyzlfj", "ledger_rows",
              "non_contract_parcels"]


def test_counts_equal_truth(demo, truth):
    before = tree_hash(demo)
    inv = inventory.build(demo)
    assert inv.file_count == sum(1 for p in demo.rglob("*") if p.is_file())
    assert inv.complete and inv.missing == []
    for k in COUNT_KEYS:
        assert inv.totals[k] == truth["counts"][k], k
    assert inv.totals["townships"] == 1 and inv.totals["villages"] == 2
    # contract area: the sum of the parcels' HTMJ in truth.json (written by the sample's generator), and 亩 as
    # 1 亩 = 10000/15 m², not the implementation's factor
    htmj = round(sum(p["HTMJ"] for p in truth["parcels"].values() if p["HTMJ"]), 2)
    assert inv.totals["htmj_m2"] == htmj == 374646.01
    assert inv.totals["htmj_mu"] == round(htmj / (10000 / 15), 2) == 561.97
    assert inv.pending_groups == []
    assert tree_hash(demo) == before


def test_missing_summary_folder_makes_it_incomplete(demo_copy):
    shutil.rmtree(demo_copy / "汇总表格")
    inv = inventory.build(demo_copy)
    assert not inv.complete
    assert [m["item"] for m in inv.missing] == ["汇总表格"]


def test_previous_inventory_proves_one_damaged_file(demo_copy, tmp_path):
    first = inventory.build(demo_copy)
    inventory.to_xlsx(first, tmp_path / "inv.xlsx")
    victim = sorted(demo_copy.rglob("*.pdf"))[7]
    b = bytearray(victim.read_bytes())
    b[len(b) // 2] ^= 0xFF
    victim.write_bytes(bytes(b))
    (demo_copy / "文字报告" / "新增说明.txt").write_text("x", "utf-8")
    (demo_copy / "栅格数据" / "说明.txt").unlink()
    again = inventory.build(demo_copy, previous=tmp_path / "inv.xlsx")
    c = again.comparison
    assert c["changed"] == [victim.relative_to(demo_copy).as_posix()]
    assert c["added"] == ["文字报告/新增说明.txt"] and c["missing"] == ["栅格数据/说明.txt"]


def test_pending_groups_from_the_code_table(demo_copy):
    import sqlite3  # noqa: F401 - the code table is .xls; add a group through a CSV copy instead
    (demo_copy / "权属数据/3715262018权属单位代码表.xls").unlink()
    (demo_copy / "权属数据/3715262018权属单位代码表.csv").write_text(
        "权属单位代码,权属单位名称,级别\n37152600100101,马堂村一组,组\n37152600100105,马堂村五组,组\n", "utf-8")
    inv = inventory.build(demo_copy)
    assert inv.pending_groups == [dict(code="37152600100105", name="马堂村五组")]


def test_outputs_have_no_personal_data_and_a_signature_block(demo, tmp_path):
    inv = inventory.build(demo)
    html = inventory.to_html(inv)
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", html)
    assert "移交单位：农业农村部门" in html and "接收单位：自然资源部门" in html
    assert "韩东" not in html  # no names of contractors either
    inventory.to_xlsx(inv, tmp_path / "inv.xlsx")
    with zipfile.ZipFile(tmp_path / "inv.xlsx") as z:
        text = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert "DK3715262018.shp" in text
    ids, names = personal_data(demo)
    assert len(ids) > 100 and not [i for i in ids if i in text] and not [n for n in names if n in text]
    files = xlsx_sheet(tmp_path / "inv.xlsx", inventory.FILES_SHEET)
    assert len(files) == inv.file_count
    shp = next(r for r in files if r["相对路径"] == "矢量数据/DK3715262018.shp")
    assert shp["字节数"] == (demo / "矢量数据/DK3715262018.shp").stat().st_size  # a number, not text
    assert len(inventory.read_previous(tmp_path / "inv.xlsx")) == inv.file_count


def personal_data(demo):
    """ID numbers and names of the sample's family members, read with mdb-export (not the plugin's reader)."""
    import csv
    import io
    import subprocess
    out = subprocess.run(["mdb-export", str(demo / "权属数据" / "3715262018.mdb"), "CBF_JTCY"], capture_output=True, text=True, check=True)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    return {r["CYZJHM"] for r in rows if r["CYZJHM"]}, {r["CYXM"] for r in rows if len(r["CYXM"] or "") >= 2}


def xlsx_sheet(path, name):
    """Rows of one sheet as dicts, read by GDAL's XLSX driver with its own type detection."""
    from osgeo import gdal
    ds = gdal.OpenEx(str(path), gdal.OF_VECTOR, open_options=["HEADERS=FORCE", "FIELD_TYPES=AUTO"])
    lyr = ds.GetLayerByName(name)
    return [f.items() for f in lyr]


def test_truncated_shapefile_is_reported_and_the_rest_inventoried(demo_copy, truth):
    shp = demo_copy / "矢量数据/DK3715262018.shp"
    shp.write_bytes(shp.read_bytes()[:5000])
    inv = inventory.build(demo_copy)
    assert inv.file_count == 191 and all(f["sha256"] for f in inv.files)
    assert any("DK3715262018.shp" in w["item"] and "截断" in w["message"] for w in inv.warnings)
    assert inv.totals["households"] == truth["counts"]["households"]  # the attribute database is still read


def test_inventory_of_a_generated_sqlite_delivery(generated):
    root, truth = generated
    inv = inventory.build(root)
    assert inv.complete and inv.totals["households"] == truth["counts"]["households"]
    assert inv.totals["dk_features"] == truth["counts"]["dk_features"] and inv.totals["members"] == truth["counts"]["members"]


def test_big_folders_print_as_one_line_with_a_digest():
    """A county's 100,000+ files: the printed list folds each sub-folder of a top folder with more than BIG_FOLDER
    files, and any folder with more than that, into one line (file count, bytes, SHA-256 of its sorted
    "path<US>sha256" lines, recomputed here); smaller folders list every file; the XLSX still lists every file."""
    import hashlib

    def f(rel, size=10, cat="scan"):
        return dict(rel=rel, category=cat, category_zh=inventory.CATEGORY_ZH[cat], size=size,
                    sha256=hashlib.sha256(rel.encode()).hexdigest(), format="PDF", records=None)
    files = ([f("说明.txt", 5, "report")] + [f(f"图件/37152600100101/DKSYT{i:05d}.pdf", 100 + i, "sketch") for i in range(300)]
             + [f(f"图件/37152600100102/DKSYT{i:05d}.pdf", 7, "sketch") for i in range(250)]
             + [f(f"扫描资料/{i:04d}.pdf") for i in range(501)] + [f("矢量数据/DK3715262018.shp", 123456, "vector"),
                                                               f("矢量数据/DK3715262018.dbf", -1, "vector")])
    files[-3]["size"] = -1  # unreadable: counts as 0 bytes
    inv = inventory.Inventory(root="/x", county="371526", county_name="高唐县", year="2018", created="2026-11-30 12:00",
                              files=files[::-1], totals={}, missing=[], warnings=[], pending_groups=[], layer_counts={},
                              table_counts={})
    rows, folded = inventory.file_rows_html(inv)
    lines = rows.split("\n")
    assert folded and len(lines) == 1 + 2 + 1 + 2

    def digest(prefix):
        mine = sorted((x for x in files if x["rel"].startswith(prefix)), key=lambda x: x["rel"])
        h = hashlib.sha256("".join(f"{x['rel']}\x1f{x['sha256']}\n" for x in mine).encode()).hexdigest()
        return " ".join(h[i:i + 8] for i in range(0, 64, 8))
    assert lines[0].startswith('<tr><td class="n">1</td><td>说明.txt</td>')
    assert (f'<td class="n">2</td><td>图件/37152600100101/（300 个文件）</td><td>地块示意图</td><td class="n">{sum(range(100, 400)):,}</td>'
            in lines[1]) and f"文件夹摘要 {digest('图件/37152600100101/')}</td>" in lines[1]
    assert "图件/37152600100102/（250 个文件）" in lines[2] and f'<td class="n">{250 * 7:,}</td>' in lines[2]
    assert "扫描资料/（501 个文件）" in lines[3] and f'<td class="n">{500 * 10:,}</td>' in lines[3] and digest("扫描资料/") in lines[3]
    assert '<td class="n">6</td><td>矢量数据/DK3715262018.shp</td>' in lines[5] and '<td class="n">123,456</td>' in lines[5]
    html = inventory.to_html(inv)
    assert rows in html and "文件数超过 500 的文件夹只打印一行" in html
