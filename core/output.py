"""Atomic output files, a dependency-free XLSX writer, and masking of personal data."""
import contextlib
import os
import re
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape


@contextlib.contextmanager
def atomic_path(target, suffix=None):
    """Yield a temporary path beside `target`; move it into place only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix or target.suffix or ".tmp", dir=str(target.parent))
    os.close(fd)
    os.unlink(tmp)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(target, text):
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, "utf-8")


def _col(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _cell(ref, v, style=0):
    st = f' s="{style}"' if style else ""
    if v is None or v == "":
        return f'<c r="{ref}"{st}/>'
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, (int, float)) and v == v and abs(v) < 1e15:
        return f'<c r="{ref}"{st}><v>{v!r}</v></c>' if isinstance(v, float) else f'<c r="{ref}"{st}><v>{v}</v></c>'
    text = escape(_BAD_XML.sub("", str(v)))
    return f'<c r="{ref}"{st} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(target, sheets):
    """sheets: list of (name, header list, rows list). Written atomically; bold header, frozen first row."""
    sheet_xml = []
    for _name, header, rows in sheets:
        widths = [min(60, max(8, len(str(h)) * 2 + 2)) for h in header]
        for r in rows[:200]:
            for i, v in enumerate(r[:len(widths)]):
                s = str(v) if v is not None else ""
                widths[i] = min(60, max(widths[i], sum(2 if ord(ch) > 255 else 1 for ch in s) + 2))
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths))
        out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
               '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>',
               f"<cols>{cols}</cols>" if cols else "", "<sheetData>"]
        out.append('<row r="1">' + "".join(_cell(f"{_col(i)}1", h, 1) for i, h in enumerate(header)) + "</row>")
        for rn, r in enumerate(rows, start=2):
            out.append(f'<row r="{rn}">' + "".join(_cell(f"{_col(i)}{rn}", v) for i, v in enumerate(r)) + "</row>")
        out.append("</sheetData></worksheet>")
        sheet_xml.append("".join(out))
    names = []
    for name, *_ in sheets:
        n = re.sub(r"[\[\]\*\?/\\:]", "_", name)[:31] or "Sheet"
        while n in names:
            n = n[:28] + f"_{len(names)}"
        names.append(n)
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
          + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(sheets)))
          + "</Types>")
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
          + "".join(f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, n in enumerate(names)) + "</sheets></workbook>")
    wbrels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              + "".join(f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(sheets)))
              + f'<Relationship Id="rId{len(sheets) + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>')
    styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font><font><b/><sz val="11"/><name val="宋体"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
              '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
              '<cellXfs count="2"><xf fontId="0"/><xf fontId="1" applyFont="1"/></cellXfs></styleSheet>')
    with atomic_path(target, ".xlsx") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", ct)
            z.writestr("_rels/.rels", rels)
            z.writestr("xl/workbook.xml", wb)
            z.writestr("xl/_rels/workbook.xml.rels", wbrels)
            z.writestr("xl/styles.xml", styles)
            for i, x in enumerate(sheet_xml):
                z.writestr(f"xl/worksheets/sheet{i + 1}.xml", x)


def mask_id(v):
    s = str(v or "")
    if len(s) >= 15:
        return s[:6] + "*" * (len(s) - 10) + s[-4:]
    if len(s) > 4:
        return s[:2] + "*" * (len(s) - 4) + s[-2:]
    return "*" * len(s)


def mask_name(v):
    s = str(v or "")
    if len(s) <= 1:
        return s
    return s[0] + "*" * (len(s) - 1)
