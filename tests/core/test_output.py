"""Excel output: real cell types, column widths, a frozen bold header, atomic writing. Read back with GDAL's XLSX
driver (its own type detection), from the workbook's XML, and compared part by part with the workbook xlsxwriter
writes when it is called for every cell."""
import decimal
import fractions
import math
import re
import zipfile

import numpy as np

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


def test_cells_keep_their_types_and_codes_stay_text(tmp_path):
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


def test_a_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path):
    import broken
    from land_contract_bridge.core.errors import LcbError
    rows = [[f"371526001001{i:06d}", i, "一段不短的中文说明文字，让工作簿写不进这个小小的磁盘" * 3, f"{i:064x}"] for i in range(5000)]
    with broken.full_disk(tmp_path / "disk", size="64k") as disk:
        with pytest.raises(LcbError) as e:
            output.write_xlsx(disk / "big.xlsx", [("清单", ["a", "b", "c", "d"], rows)])
        assert "磁盘空间不足" in e.value.text() and "big.xlsx" in e.value.text()
        assert list(disk.iterdir()) == []


def xlsxwriter_per_cell(target, sheets):
    """The workbook as xlsxwriter writes it when called for every cell (the writer before the rows went straight into
    the sheets' XML), in its constant_memory mode: the oracle the fast writer must match part by part."""
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False, "nan_inf_to_errors": True, "tmpdir": str(target.parent)})
    head_fmt = wb.add_format({"bold": True, "bottom": 1})
    decimal_fmt = wb.add_format({"num_format": "0.00"})
    for (_name, header, rows), sheet_name in zip(sheets, output._sheet_names(sheets)):
        ws = wb.add_worksheet(sheet_name)
        sample = rows[:output.WIDTH_SAMPLE]
        for c in range(max([len(header)] + [len(r) for r in sample])):
            col = [r[c] for r in sample if c < len(r) and r[c] is not None]
            width = min(output.MAX_WIDTH, max([8, output._width(header[c]) + 2 if c < len(header) else 0] + [output._width(v) + 2 for v in col]))
            ws.set_column(c, c, width, decimal_fmt if col and all(isinstance(v, float) for v in col) else None)
        for c, h in enumerate(header):
            ws.write_string(0, c, str(h), head_fmt)
        ws.freeze_panes(1, 0)
        if header:
            ws.autofilter(0, 0, max(1, len(rows)), len(header) - 1)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if type(v) is str:
                    if v:
                        ws.write_string(r, c, v)
                elif v is None:
                    continue
                elif type(v) in (int, float):
                    ws.write_number(r, c, v)
                elif type(v) is bool:
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (int, float, fractions.Fraction, np.number)):
                    ws.write_number(r, c, float(v))
                else:
                    ws.write_string(r, c, str(v))
    wb.close()


class Blank:
    def __str__(self):
        return ""


TEXTS = ["", " lead", "trail ", "\n", "a\nb", "a\tb", "\tx", "x\r", "\x07bell", "\x00", "_x0041_", "_X0041_", "a_x00zz_",
         "&<>\"'", "\ufffe", "x\uffff", "\u3000全角", "全角\u3000", "x" * 40000, "=SUM(A1)", "中文", "😀 emoji", "\u200bzw", "  ",
         " ", "371526001001010001", "a  b", "\u00a0nbsp", "tab\t", "马堂村一组\x07说明"]
VALUES = [0, -1, 10 ** 17, 2 ** 53 + 1, 1.5, -0.0, 1e-300, 1e300, math.nan, math.inf, -math.inf, True, False, np.int64(7),
          np.float32(0.25), np.float64(2.5), np.bool_(True), decimal.Decimal("1.10"), fractions.Fraction(1, 3), Blank()]


def parts(path):
    """Every part of a workbook, with the creation time of docProps/core.xml taken out."""
    with zipfile.ZipFile(path) as z:
        return {n: re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*<", b"<T><", z.read(n)) for n in z.namelist()}


def test_the_same_workbook_as_xlsxwriter_cell_by_cell(tmp_path, monkeypatch):
    """Every part of the workbook (sheets, styles, names, properties) byte for byte what xlsxwriter writes when called
    for every cell: text that needs escaping (control characters, _xHHHH_ look-alikes, white space at either end, &<>,
    Excel's 32,767-character limit) among plain text, numbers of every kind, NaN and infinities, booleans, numpy scalars,
    objects; float columns (also beyond the header); empty rows at either end; rows longer than the header; a sheet
    with no header, an empty one, a long one over several chunks with one text needing escapes in one chunk only."""
    monkeypatch.setattr(output, "ROWS_PER_CHUNK", 7)
    many = [[f"371526001001{i:06d}", i, i / 3, "矢量数据" if i % 2 else None] for i in range(100)]
    many[61][0] = "needs\x01escape"
    many[45][0] += " "  # a space at the end of a text inside a chunk of plain texts
    many[30] = [None, ""]
    sheets = [("边界", ["文本", "值"], [[t, v] for t, v in zip(TEXTS, VALUES + [None] * len(TEXTS))]),
              ("清单", ["k", "i", "f", "c"], many),
              ("floats", ["k"], [[None, None, 1.25], [None, None, 2.5, "x"], [], [None] * 5]),
              ("no header", [], [[None], [None, " x", None], [None, None, 1], [None]]),
              ("empty", [], []), ("header only", ["a", "b"], []), ("one cell", [], [[None], ["only"]]),
              ("ends", ["x"], [[None]] * 3 + [["y ", None, ""]] + [[None, ""]] * 2)]  # the only text: first and last of its chunk
    output.write_xlsx(tmp_path / "fast.xlsx", sheets)
    xlsxwriter_per_cell(tmp_path / "oracle.xlsx", sheets)
    fast, oracle = parts(tmp_path / "fast.xlsx"), parts(tmp_path / "oracle.xlsx")
    assert list(fast) == list(oracle)
    assert [n for n in oracle if fast[n] != oracle[n]] == []
    sheet = fast["xl/worksheets/sheet1.xml"].decode()
    assert "_x0007_" in sheet and "_x005F_x0041_" in sheet and '<t xml:space="preserve"> lead</t>' in sheet
    assert "&amp;&lt;&gt;" in sheet and "x" * 32767 + "<" in sheet  # cut at Excel's limit
    assert '<f>1/0</f><v>#DIV/0!</v>' in sheet and '<f>#NUM!</f><v>#NUM!</v>' in sheet


def test_text_like_rich_string_markup_stays_text(tmp_path):
    """xlsxwriter writes a text of the form <r>…</r> into the sheet unescaped (its rich-string markup); here it is
    text like any other."""
    output.write_xlsx(tmp_path / "t.xlsx", [("r", ["h", "n"], [["<r>x</r>", 1], ["<r><t>bold</t></r>", 2]])])
    _types, rows = read(tmp_path / "t.xlsx", "r")
    assert [r["h"] for r in rows] == ["<r>x</r>", "<r><t>bold</t></r>"]
