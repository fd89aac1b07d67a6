"""Recognise a 汇交 delivery package on disk: root, sub-folders, vector layers, attribute database,
unit-code table, summary tables, sketches, attachments, ledger. Read-only: nothing is written into it."""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import schema
from .errors import LcbError

ROOT_RE = re.compile(r"^(\d{6})(.*)$")
VECTOR_RE = re.compile(r"^([A-Za-z]{2,7})(\d{6})(\d{4})(?:-(\d+))?\.shp$", re.I)
METADATA_RE = re.compile(r"^SL(\d{6})(\d{4})\.xml$", re.I)
ATTRDB_RE = re.compile(r"^(\d{6})(\d{4})\.(mdb|accdb|sqlite|gpkg|db)$", re.I)
CODETABLE_RE = re.compile(r"^(\d{6})(\d{4})权属单位代码表\.(xls|xlsx|csv)$", re.I)
LEDGER_RE = re.compile(r"台账.*\.(csv|xlsx|xls|dbf)$", re.I)


class FileEntry:
    """One file of the delivery. `path` is built on demand: a county has hundreds of thousands of files."""
    __slots__ = ("rel", "abspath", "size", "category")

    def __init__(self, rel, abspath, size, category):
        self.rel, self.abspath, self.size, self.category = rel, abspath, size, category

    @property
    def path(self):
        return Path(self.abspath)

    @property
    def name(self):
        return self.rel.rsplit("/", 1)[-1]


@dataclass
class Delivery:
    root: Path
    county: str
    county_name: str
    year: str = ""
    files: list = field(default_factory=list)
    folders: dict = field(default_factory=dict)  # standard sub-folder name -> Path or None
    vectors: dict = field(default_factory=dict)  # layer prefix -> [shp Path, ...]
    metadata_xml: Path = None
    attr_db: Path = None
    code_table: Path = None
    summary_tables: list = field(default_factory=list)
    ledger: Path = None
    sketches: list = field(default_factory=list)  # FileEntry
    attachments: list = field(default_factory=list)  # FileEntry
    problems: list = field(default_factory=list)  # (rule id, key, field, message, value)
    _rels: set = None

    def rel(self, path):
        return Path(path).relative_to(self.root).as_posix()

    def has_file(self, stored):
        """Does a path as stored in DKSYT/FJ (relative, often with backslashes) name a file of the package?"""
        if not stored:
            return False
        if self._rels is None:
            self._rels = {e.rel for e in self.files}
        p = str(stored).strip().replace("\\", "/")
        while p.startswith("./"):
            p = p[2:]
        if p in self._rels:
            return True
        cand = Path(p)
        return cand.is_absolute() and cand.exists()


def find_root(path):
    """The package root: the folder itself when named <6 digits><name>, or its single such child."""
    p = Path(path)
    if not p.exists():
        raise LcbError("找不到成果包文件夹", "delivery folder not found", path=str(p))
    if not p.is_dir():
        raise LcbError("输入必须是成果包文件夹", "the input must be the delivery folder", path=str(p))
    if ROOT_RE.match(p.name):
        return p
    kids = [c for c in sorted(p.iterdir()) if c.is_dir() and ROOT_RE.match(c.name)]
    if len(kids) == 1:
        return kids[0]
    if not kids:
        raise LcbError("文件夹名称应以6位县级行政区划代码开头（如 371526高唐县）",
                       "the delivery root must be named <6-digit county code><county name>", path=str(p))
    raise LcbError("文件夹中有多个成果包，请选择其中一个", "several delivery packages found; choose one",
                   path=str(p), record=", ".join(k.name for k in kids))


def _category(rel_parts, name):
    top = rel_parts[0] if len(rel_parts) > 1 else ""
    low = name.lower()
    if top == "矢量数据":
        if METADATA_RE.match(name):
            return "metadata"
        return "vector"
    if top == "权属数据":
        if ATTRDB_RE.match(name):
            return "attribute_db"
        if CODETABLE_RE.match(name):
            return "code_table"
        return "attribute_other"
    if top == "汇总表格":
        return "summary"
    if top == "图件":
        return "sketch" if low.endswith(".pdf") else "map"
    if top == "其他资料":
        if LEDGER_RE.search(name):
            return "ledger"
        return "attachment" if low.endswith(".pdf") else "other"
    if top == "文字报告":
        return "report"
    if top == "栅格数据":
        return "raster"
    if top == "扫描资料":
        return "scan"
    return "other"


def scan(path, required_layers=None):
    """Walk the package and classify every file. Never raises for a broken package: problems are
    recorded in Delivery.problems; only a missing/unnamed root raises LcbError."""
    root = find_root(path)
    m = ROOT_RE.match(root.name)
    d = Delivery(root=root, county=m.group(1), county_name=m.group(2).strip())
    required_layers = list(required_layers or schema.DEFAULT_REQUIRED_LAYERS)
    for sub in schema.SUBFOLDERS:
        d.folders[sub] = root / sub if (root / sub).is_dir() else None
    entries = []

    def walk(folder, prefix):
        try:
            items = sorted(os.scandir(folder), key=lambda x: x.name)
        except OSError as exc:
            d.problems.append(("package.unreadable", prefix.rstrip("/") or ".", "", f"文件夹无法读取：{exc}", ""))
            return
        for entry in items:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, rel + "/")
            elif entry.is_file():
                try:
                    size = entry.stat().st_size
                except OSError:
                    size = -1
                parts = rel.split("/")
                entries.append(FileEntry(rel, entry.path, size, _category(parts, entry.name)))
    walk(str(root), "")
    d.files = entries
    years = []
    for e in entries:
        if e.category not in ("vector", "metadata", "attribute_db", "code_table", "summary", "ledger", "sketch", "attachment"):
            continue
        name = e.name
        if e.category == "vector":
            mv = VECTOR_RE.match(name)
            if mv:
                prefix = mv.group(1).upper()
                d.vectors.setdefault(prefix, []).append(e.path)
                years.append(mv.group(3))
                if mv.group(2) != d.county:
                    d.problems.append(("package.county_mismatch", e.rel, "",
                                       f"文件名中的县级代码 {mv.group(2)} 与成果包 {d.county} 不一致", mv.group(2)))
            elif name.lower().endswith(".shp"):
                d.problems.append(("package.file_naming", e.rel, "", "矢量文件名不符合“图层代码+6位县级代码+4位年份”的规则", name))
        elif e.category == "metadata":
            d.metadata_xml = d.metadata_xml or e.path
        elif e.category == "attribute_db":
            ma = ATTRDB_RE.match(name)
            if d.attr_db is None or e.path.suffix.lower() == ".mdb":
                d.attr_db = e.path
            years.append(ma.group(2))
            if ma.group(1) != d.county:
                d.problems.append(("package.county_mismatch", e.rel, "",
                                   f"属性数据库文件名中的县级代码 {ma.group(1)} 与成果包 {d.county} 不一致", ma.group(1)))
        elif e.category == "code_table":
            d.code_table = e.path
        elif e.category == "summary":
            d.summary_tables.append(e.path)
        elif e.category == "ledger":
            d.ledger = d.ledger or e.path
        elif e.category == "sketch":
            d.sketches.append(e)
        elif e.category == "attachment":
            d.attachments.append(e)
    d.year = max(set(years), key=years.count) if years else ""
    # Required-but-missing items.
    for sub in schema.REQUIRED_FOLDERS:
        if d.folders.get(sub) is None:
            d.problems.append(("package.missing_folder", sub, "", f"缺少必备文件夹“{sub}”", sub))
    for layer in required_layers:
        if layer not in d.vectors:
            d.problems.append(("package.missing_layer", f"矢量数据/{layer}", "",
                               f"缺少必备矢量图层 {layer}（{schema.LAYERS.get(layer, ('',))[0]}）", layer))
    for layer in schema.RECOMMENDED_LAYERS:
        if layer not in d.vectors and layer not in required_layers:
            d.problems.append(("package.recommended_layer", f"矢量数据/{layer}", "",
                               f"未提供矢量图层 {layer}（{schema.LAYERS[layer][0]}）", layer))
    for shps in d.vectors.values():
        for shp in shps:
            for ext in (".shx", ".dbf", ".prj"):
                if not any(shp.with_suffix(e).exists() for e in (ext, ext.upper())):
                    d.problems.append(("package.missing_companion", d.rel(shp.with_suffix(ext)), "", f"缺少 {shp.name} 的配套文件 {ext}", ext))
    if d.folders.get("矢量数据") is not None and d.metadata_xml is None:
        d.problems.append(("package.missing_metadata", "矢量数据/SL<县代码><年份>.xml", "",
                           "矢量数据目录下未找到元数据文件（SL开头的xml文件）", ""))
    if d.folders.get("权属数据") is not None and d.attr_db is None:
        d.problems.append(("package.missing_attr_db", "权属数据/<县代码><年份>.mdb", "",
                           "权属数据目录下未找到属性数据库（<县代码><年份>.mdb）", ""))
    if d.folders.get("权属数据") is not None and d.code_table is None:
        d.problems.append(("package.missing_code_table", "权属数据/<县代码><年份>权属单位代码表.xls", "", "未找到权属单位代码表", ""))
    return d


MISSING_RULES = {"package.missing_folder", "package.missing_layer", "package.missing_companion",
                 "package.missing_metadata", "package.missing_attr_db", "package.missing_code_table"}


def missing_required(d):
    return [p for p in d.problems if p[0] in MISSING_RULES]
