"""Atomic output files, a dependency-free XLSX writer, and masking of personal data."""
import contextlib
import errno
import os
import re
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

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
            reason = ("无法在此处创建或写入文件（文件夹不可写、只读或不存在）", "the file cannot be created or written there (the folder is not writable, read-only or missing)")
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
