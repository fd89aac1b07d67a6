"""Atomic output files, Excel workbooks (through xlsxwriter), and masking of personal data."""
import contextlib
import numbers
import os
import re
import tempfile
from pathlib import Path


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


STREAM_ROWS = 200_000  # above this many rows in all, stream them (constant_memory); below, shared strings are faster
MAX_WIDTH = 60  # characters; wider text wraps in the cell when opened
WIDTH_SAMPLE = 200  # rows looked at to size the columns


def _width(v):
    """Display width of a value: CJK and other wide characters count twice."""
    s = "" if v is None else str(v)
    return sum(2 if ord(ch) > 255 else 1 for ch in s)


def _sheet_names(sheets):
    names = []
    for name, *_ in sheets:
        n = re.sub(r"[\[\]\*\?/\\:]", "_", name)[:31].strip("'") or "Sheet"
        while n in names:
            n = n[:28] + f"_{len(names)}"
        names.append(n)
    return names


def write_xlsx(target, sheets):
    """Write an Excel workbook atomically with xlsxwriter. sheets: list of (name, header list, rows list).

    Numbers (int, float) become numeric cells, bools boolean cells, None an empty cell, anything else text (so
    codes such as DKBM or ID numbers stay text, and text starting with '=' is never a formula). Float-only columns
    show two decimals. Bold, frozen header row with a filter; column widths from the header and the first rows.
    Above STREAM_ROWS rows the rows are streamed to disk (constant_memory), so a county's hundreds of thousands of
    rows need no more memory than one; below it the shared-string table is kept (about 0.7 KB a row, and ~20 %
    faster, since repeated texts such as categories are written once)."""
    import xlsxwriter

    stream = sum(len(rows) for _n, _h, rows in sheets) > STREAM_ROWS
    with atomic_path(target, ".xlsx") as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": stream, "strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "nan_inf_to_errors": True, "tmpdir": str(Path(tmp).parent)})
        head_fmt = wb.add_format({"bold": True, "bottom": 1})
        decimal_fmt = wb.add_format({"num_format": "0.00"})
        for (_name, header, rows), sheet_name in zip(sheets, _sheet_names(sheets)):
            ws = wb.add_worksheet(sheet_name)
            sample = rows[:WIDTH_SAMPLE]
            ncol = max([len(header)] + [len(r) for r in sample])
            for c in range(ncol):
                col = [r[c] for r in sample if c < len(r) and r[c] is not None]
                width = min(MAX_WIDTH, max([8, _width(header[c]) + 2 if c < len(header) else 0] + [_width(v) + 2 for v in col]))
                floats = bool(col) and all(isinstance(v, float) for v in col)
                ws.set_column(c, c, width, decimal_fmt if floats else None)
            for c, h in enumerate(header):
                ws.write_string(0, c, str(h), head_fmt)
            ws.freeze_panes(1, 0)
            if header:
                ws.autofilter(0, 0, max(1, len(rows)), len(header) - 1)
            write_string, write_number, write_boolean = ws.write_string, ws.write_number, ws.write_boolean
            for r, row in enumerate(rows, start=1):
                for c, v in enumerate(row):
                    t = type(v)
                    if t is str:  # xlsxwriter escapes control characters (_xHHHH_)
                        if v:
                            write_string(r, c, v)
                    elif v is None:
                        continue
                    elif t is int or t is float:
                        write_number(r, c, v)
                    elif t is bool:
                        write_boolean(r, c, v)
                    elif isinstance(v, numbers.Real):  # numpy scalars too
                        write_number(r, c, float(v))
                    else:
                        write_string(r, c, str(v))
        wb.close()


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
