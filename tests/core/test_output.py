"""Excel output through xlsxwriter: real cell types, column widths, a frozen bold header, atomic writing.
Read back with GDAL's XLSX driver (its own type detection) and from the workbook's XML."""
import re
import zipfile

import pytest
from osgeo import gdal

from land_contract_bridge.core import output

ROWS = [["371526001001010001", 1234, 0.5, True, None, "=SUM(A1)", "马堂村一组\x07说明"],
        ["371526001001010002", 99, 1.25, False, "", "plain", "a"]]
HEADER = ["地块编码", "字节数", "面积", "flag", "empty", "formula-like", "note"]


def read(path, sheet):
    ds = gdal.OpenEx(str(path), gdal.OF_VECTOR, open_options=["HEADERS=FORCE", "FIELD_TYPES=AUTO"])
    lyr = ds.GetLayerByName(sheet)
    defn = lyr.GetLayerDefn()
    types = {defn.GetFieldDefn(i).GetName(): defn.GetFieldDefn(i).GetTypeName() for i in range(defn.GetFieldCount())}
    return types, [f.items() for f in lyr]


@pytest.mark.parametrize("stream", [False, True])
def test_cells_keep_their_types_and_codes_stay_text(tmp_path, monkeypatch, stream):
    if stream:
        monkeypatch.setattr(output, "STREAM_ROWS", 0)  # the constant_memory path used for county-size sheets
    target = tmp_path / "t.xlsx"
    output.write_xlsx(target, [("清单", HEADER, ROWS), ("second", ["a"], [[1]])])
    types, rows = read(target, "清单")
    assert types["地块编码"] == "String" and rows[0]["地块编码"] == "371526001001010001"  # 18 digits: text, not 3.7e17
    assert types["字节数"] == "Integer" and [r["字节数"] for r in rows] == [1234, 99]
    assert types["面积"] == "Real" and rows[1]["面积"] == 1.25
    assert rows[0]["formula-like"] == "=SUM(A1)"  # text, never a formula
    assert rows[0]["empty"] is None
    with zipfile.ZipFile(target) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        styles = z.read("xl/styles.xml").decode()
        workbook = z.read("xl/workbook.xml").decode()
        allxml = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    assert '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' in sheet
    assert "<f>" not in sheet  # no formula cell
    assert 't="b"' in sheet  # the bool is a boolean cell
    assert "<b/>" in styles and 'formatCode="0.00"' in styles  # bold header, two decimals for the float column
    widths = [float(w) for w in re.findall(r'<col min="\d+" max="\d+" width="([\d.]+)"', sheet)]
    assert len(widths) == len(HEADER) and widths[0] > widths[3]  # the 18-digit code column is wider than "flag"
    assert "<autoFilter" in sheet and 'name="清单"' in workbook and 'name="second"' in workbook
    assert "_x0007_" in allxml  # a control character is escaped, not dropped and not breaking the XML


def test_written_atomically_and_sheet_names_made_valid(tmp_path):
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        output.write_xlsx(target, [("x", ["a"], [[object()], None])])  # fails midway: rows not iterable
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
    output.write_xlsx(target, [("a/b:c*?[d]" + "x" * 40, ["h"], [["v"]]), ("a/b:c*?[d]" + "x" * 40, ["h"], [])])
    ds = gdal.OpenEx(str(target), gdal.OF_VECTOR)
    names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
    assert len(names) == 2 and len(set(names)) == 2 and all(len(n) <= 31 and not set(n) & set("/:*?[]") for n in names)


@pytest.mark.parametrize("stream", [False, True])
def test_a_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch, stream):
    import broken
    from land_contract_bridge.core.errors import LcbError
    if stream:
        monkeypatch.setattr(output, "STREAM_ROWS", 0)
    rows = [[f"371526001001{i:06d}", i, "一段不短的中文说明文字，让工作簿写不进这个小小的磁盘" * 3, f"{i:064x}"] for i in range(5000)]
    with broken.full_disk(tmp_path / "disk", size="64k") as disk:
        with pytest.raises(LcbError) as e:
            output.write_xlsx(disk / "big.xlsx", [("清单", ["a", "b", "c", "d"], rows)])
        assert "磁盘空间不足" in e.value.text() and "big.xlsx" in e.value.text()
        assert list(disk.iterdir()) == []
