"""Atomic output files, Excel workbooks (through xlsxwriter), and masking of personal data."""
import contextlib
import errno
import io
import numbers
import os
import re
import tempfile
import zipfile
from pathlib import Path

from .errors import LcbError

# errno -> (zh, en): why an output could not be written, in words a user can act on.
_WRITE_ERRORS = {
    errno.ENOSPC: ("磁盘空间不足", "the disk is full"),
    errno.EDQUOT: ("超出磁盘配额", "the disk quota is exhausted"),
    errno.EROFS: ("所在文件夹是只读的（只读磁盘或只读挂载）", "the folder is on a read-only disk"),
    errno.EACCES: ("没有写入权限", "permission denied"),
    errno.EPERM: ("没有写入权限", "permission denied"),
    errno.ENOTDIR: ("路径中有一段是文件而不是文件夹", "a part of the path is a file, not a folder"),
    errno.EEXIST: ("路径中有一段是文件而不是文件夹", "a part of the path is a file, not a folder"),
    errno.EISDIR: ("这是一个文件夹，不是文件", "it is a folder, not a file"),
    errno.ENOENT: ("文件夹不存在", "the folder does not exist"),
    errno.ENAMETOOLONG: ("路径太长", "the path is too long"),
    errno.EIO: ("磁盘读写错误", "an input/output error of the disk"),
}
_SQLITE_FULL = ("database or disk is full", "no space left on device")
_SQLITE_RO = ("readonly database", "read-only file system", "unable to open database file", "attempt to write a readonly")


def write_error(exc, path, what=("输出文件", "output file")):
    """An LcbError that says why `path` could not be written, from an OSError (or a SQLite/GDAL error whose text
    says the disk is full or the file cannot be opened). Returns None for other errors."""
    reason = None
    if isinstance(exc, OSError) and exc.errno in _WRITE_ERRORS:
        reason = _WRITE_ERRORS[exc.errno]
    else:
        text = str(exc).lower()
        if any(s in text for s in _SQLITE_FULL):
            reason = _WRITE_ERRORS[errno.ENOSPC]
        elif any(s in text for s in _SQLITE_RO):
            reason = ("无法在此处创建或写入文件（文件夹不可写、只读或不存在）",
                      "the file cannot be created or written there (the folder is not writable, read-only or missing)")
    if reason is None and path:  # e.g. GDAL's bare RuntimeError('') when it cannot create a GeoPackage on a full disk
        free = free_bytes(_existing(path))
        if free is not None and free < NEARLY_FULL:
            reason = (f"磁盘空间不足（仅剩 {free // 1024:,} KB）", f"the disk is full ({free // 1024:,} KB left)")
    if reason is None:
        return None
    return LcbError(f"无法写入{what[0]}：{reason[0]}。请换一个可写入且有足够空间的位置",
                    f"cannot write the {what[1]}: {reason[1]}. Choose a writable location with enough free space", path=str(path))


def _existing(path):
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable(target, what=("输出文件", "output file")):
    """Raise LcbError unless `target` can be created or replaced: not a folder, and the nearest existing folder on
    its path is a writable folder (missing folders below it are created when the file is written). Nothing is
    created. Full disks show only when writing; atomic_path reports them."""
    target = Path(target)

    def fail(zh, en):
        raise LcbError(f"无法写入{what[0]}：{zh}", f"cannot write the {what[1]}: {en}", path=str(target))
    if target.is_dir():
        fail("这是一个文件夹，请给出文件名", "it is a folder; give a file name")
    if target.exists() and not os.access(target, os.W_OK):
        fail("文件是只读的", "the file is read-only")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        fail(f"路径中的“{folder}”是文件而不是文件夹", f"“{folder}” on the path is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(f"文件夹“{folder}”不可写", f"the folder “{folder}” is not writable")
    try:  # a read-only mount passes os.access for root: ask the file system itself
        fd, probe = tempfile.mkstemp(prefix=".lcb-probe-", dir=str(folder))
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise (write_error(e, target, what) or LcbError(f"无法写入{what[0]}：{e.strerror}", f"cannot write the {what[1]}: {e.strerror}",
                                                           path=str(target))) from None


NEARLY_FULL = 16 << 20  # bytes: an unexplained write failure on a disk with less free space than this is the disk


def free_bytes(path):
    try:
        st = os.statvfs(path)
    except (AttributeError, OSError):  # Windows has no statvfs: rely on the writers' own errors
        return None
    return st.f_bavail * st.f_frsize


def disk_full(path):
    free = free_bytes(path)
    return free is not None and free < 4096


@contextlib.contextmanager
def atomic_path(target, suffix=None, what=("输出文件", "output file")):
    """Yield a temporary path beside `target`; move it into place only if the block succeeds. Nothing is left
    behind on failure, and a file-system failure (folder not writable, path is a file, disk full) becomes one
    clear LcbError naming `target`."""
    target = Path(target)
    tmp = None
    try:
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix or target.suffix or ".tmp", dir=str(target.parent))
        os.close(fd)
        os.unlink(tmp)
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if disk_full(tmp):  # some writers (Qt's PDF writer) drop a failed write silently and leave a cut file
            raise OSError(errno.ENOSPC, "no space left on device", str(target))
        os.replace(tmp, target)
    except (OSError, RuntimeError) as e:  # RuntimeError: GDAL/Qt writers report a full disk this way
        err = write_error(e, target, what)
        if err is None:
            raise
        raise err from None
    finally:
        if tmp and os.path.exists(tmp):
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


def _discard_zips(tb):
    """A half-built archive left in a failed writer's frames would try to finish itself when collected (and print
    "Exception ignored" on stderr): it is discarded anyway, so detach it from its file."""
    while tb is not None:
        for v in tb.tb_frame.f_locals.values():
            if isinstance(v, zipfile.ZipFile):
                v.fp = None
        tb = tb.tb_next


def write_xlsx(target, sheets):
    """Write an Excel workbook atomically with xlsxwriter. sheets: list of (name, header list, rows list).

    Numbers (int, float) become numeric cells, bools boolean cells, None an empty cell, anything else text (so
    codes such as DKBM or ID numbers stay text, and text starting with '=' is never a formula). Float-only columns
    show two decimals. Bold, frozen header row with a filter; column widths from the header and the first rows.
    Above STREAM_ROWS rows the rows are streamed to disk (constant_memory), so a county's hundreds of thousands of
    rows need no more memory than one; below it the shared-string table is kept (about 0.7 KB a row, and ~20 %
    faster, since repeated texts such as categories are written once)."""
    import xlsxwriter
    import xlsxwriter.exceptions

    stream = sum(len(rows) for _n, _h, rows in sheets) > STREAM_ROWS
    buf = io.BytesIO()  # the zip is assembled in memory (a few MB for a county) and written in one go
    with atomic_path(target, ".xlsx") as tmp, tempfile.TemporaryDirectory(prefix=".lcb-xlsx-", dir=str(Path(tmp).parent)) as work:
        wb = xlsxwriter.Workbook(buf, {"constant_memory": stream, "strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "nan_inf_to_errors": True, "tmpdir": work})
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
        try:
            wb.close()
        except xlsxwriter.exceptions.FileCreateError as e:  # wraps the OSError of its temporary files (a full disk …)
            _discard_zips(e.__context__.__traceback__ if e.__context__ is not None else e.__traceback__)
            raise (e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(errno.EIO, str(e))) from None
        Path(tmp).write_bytes(buf.getvalue())  # a plain write: a full disk is an OSError that atomic_path names


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
