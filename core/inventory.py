"""Material inventory (资料清单) of a delivery: every file with size and SHA-256, record counts,
totals, required-but-missing items, village groups still waiting for confirmation, and a comparison
with an earlier inventory that proves a copy complete and undamaged."""
import datetime as dt
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from osgeo import gdal

from . import attrdb, delivery, integrity, report, schema
from .delivery import missing_required
from .errors import NULL_PROGRESS
from .output import write_xlsx
from .workspace import open_workspace

CATEGORY_ZH = {
    "vector": "矢量数据", "metadata": "矢量元数据", "attribute_db": "属性数据库", "code_table": "权属单位代码表",
    "attribute_other": "权属数据（其他）", "summary": "汇总表格", "sketch": "地块示意图", "map": "图件（其他）",
    "attachment": "权属来源附件", "ledger": "确权登记发证台账", "report": "文字报告", "raster": "栅格数据",
    "scan": "扫描资料", "other": "其他",
}
FILES_SHEET = "文件清单"


def sha256(path, chunk=1 << 20):
    """SHA-256 of a file, read with plain os.read (a county's tens of thousands of small scans: no buffered file
    object per file, a third less time than open()/read())."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        while True:
            b = os.read(fd, chunk)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


def _identity(path):
    """What a file is read once per: (device, inode) when it is hard-linked under several names (the same bytes),
    else its path."""
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino) if st.st_nlink > 1 else path
    except OSError:
        return path  # the read reports it


class FileHashes:
    """The SHA-256 of many files, started at once on `workers` threads (hashlib and file reads release the GIL, so a
    county's thousands of scans use both cores and overlap the disk's waits) while the caller goes on; with
    workers=1, each read when asked for on the calling thread (no pool: for 100,000 small scans its futures and
    locks cost more than the hashing). A file hard-linked under several names is read once; every byte of every file
    is still read — a file rewritten with its old size and time is never taken for the old one.

    result(path) waits for one file (raising its OSError); close() cancels what has not started."""

    def __init__(self, paths, workers=4):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lcb-sha") if workers > 1 else None
        self.futures, self._by_key = {}, {}
        if self.pool is not None:
            for path in paths:
                key = _identity(path)
                if key not in self._by_key:
                    self._by_key[key] = self.pool.submit(sha256, path)
                self.futures[path] = self._by_key[key]

    def result(self, path):
        if self.pool is not None:
            return self.futures[path].result()
        key = _identity(path)
        if key not in self._by_key:
            self._by_key[key] = sha256(path)
        return self._by_key[key]

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class Inventory:
    root: str
    county: str
    county_name: str
    year: str
    created: str
    files: list  # dicts: rel, category, size, sha256, format, records
    totals: dict
    missing: list  # dicts: item, message
    warnings: list
    pending_groups: list  # dicts: code, name
    layer_counts: dict
    table_counts: dict
    comparison: dict = field(default_factory=dict)  # added, missing, changed lists when PREVIOUS given

    @property
    def file_count(self):
        return len(self.files)

    @property
    def total_bytes(self):
        return sum(max(0, f["size"]) for f in self.files)

    @property
    def complete(self):
        return not self.missing

    def fingerprint(self):
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda x: x["rel"]):
            h.update(f["rel"].encode())
            h.update(f["sha256"].encode())
        return h.hexdigest()


def _format(rel):
    ext = rel.rsplit(".", 1)[-1].lower() if "." in rel else ""
    return {"shp": "ESRI Shapefile", "dbf": "dBASE", "shx": "Shapefile 索引", "prj": "坐标系定义", "cpg": "编码声明",
            "mdb": "Access 数据库", "sqlite": "SQLite 数据库", "gpkg": "GeoPackage", "xls": "Excel 97-2003",
            "xlsx": "Excel", "pdf": "PDF", "xml": "XML", "csv": "CSV", "txt": "文本", "tif": "GeoTIFF", "jpg": "JPEG"}.get(ext, ext.upper())


def _feature_count(path):
    try:
        ds = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY)
        return ds.GetLayer(0).GetFeatureCount()
    except Exception:  # noqa: BLE001 - an unreadable file is reported elsewhere
        return None


def build(path, previous=None, ledger=None, required_layers=None, progress=NULL_PROGRESS):
    d = path if isinstance(path, delivery.Delivery) else delivery.scan(path, required_layers=required_layers)
    hashes = FileHashes([e.abspath for e in d.files])  # hashed on other threads while the tables are read
    try:
        ws = open_workspace(d, ledger=ledger, required_layers=required_layers, progress=progress.sub(0, 30), with_geometry=False,
                            dk_fields=("DKBM", "DKLB", "SCMJ", "SCMJM"))
    except BaseException:
        hashes.close()
        raise
    try:
        st = ws.stage
        total = sum(max(0, e.size) for e in d.files) or 1
        done = 0
        files = []
        layer_counts = {}
        for e in d.files:
            progress.check()
            try:
                digest = hashes.result(e.abspath)
            except OSError as exc:
                digest = ""
                ws.d.problems.append(("package.unreadable", e.rel, "", f"文件无法读取：{exc}", ""))
            rec = None
            if e.rel.lower().endswith(".shp"):
                rec = _feature_count(e.abspath)
                layer_counts[e.name[:-4]] = rec
            files.append(dict(rel=e.rel, category=e.category, category_zh=CATEGORY_ZH.get(e.category, e.category),
                              size=e.size, sha256=digest, format=_format(e.rel), records=rec))
            done += max(0, e.size)
            progress.set(30 + 60 * done / total)
        table_counts = {t: st.count(t) for t in schema.TABLES}
        if st.has_ledger:
            table_counts["确权登记发证台账"] = st.count("LEDGER")
        for f in files:
            if f["category"] == "attribute_db":
                f["records"] = sum(table_counts[t] for t in schema.TABLES)
            elif f["category"] == "ledger" and st.has_ledger:
                f["records"] = st.count("LEDGER")
        totals = _totals(ws)
        missing = [dict(item=p[1], message=p[3]) for p in missing_required(d)]
        warnings = [dict(item=p[1], message=p[3]) for p in ws.problems if p[0] not in {m[0] for m in missing_required(d)}]
        # A delivery that cannot be merged is not complete: an unusable attribute database or DK layer is a
        # required item missing (COMPLETE = false); a CRS that contradicts the coordinates is a warning.
        for f in integrity.check(ws).findings:
            entry = dict(item=f.file, message=f.zh)
            if f.missing:
                if not any(m["item"] == f.file for m in missing):
                    missing.append(entry)
            elif not any(w["item"] == f.file and w["message"] == f.zh for w in warnings):
                warnings.append(entry)
        pending = _pending_groups(ws)
        inv = Inventory(root=str(d.root), county=d.county, county_name=d.county_name, year=d.year,
                        created=dt.datetime.now().strftime("%Y-%m-%d %H:%M"), files=files, totals=totals,
                        missing=missing, warnings=warnings, pending_groups=pending,
                        layer_counts=layer_counts, table_counts=table_counts)
        if previous:
            inv.comparison = compare(inv, read_previous(previous))
        progress.set(100)
        return inv
    finally:
        hashes.close()
        ws.close()


def _totals(ws):
    st = ws.stage
    one = lambda sql: st.q(sql)[0][0]  # noqa: E731
    groups = {r[0] for r in st.q("SELECT DISTINCT FBFBM FROM FBF WHERE FBFBM IS NOT NULL")}
    if not groups:
        groups = {r[0][:14] for r in st.q("SELECT DISTINCT DKBM FROM DK WHERE length(DKBM) >= 14")}
    villages = {g[:12] for g in groups}
    towns = {g[:9] for g in groups}
    htmj = one("SELECT COALESCE(SUM(HTMJ),0) FROM CBDKXX")
    scmj = one("SELECT COALESCE(SUM(SCMJ),0) FROM DK")
    return {
        "townships": len(towns), "villages": len(villages), "groups": len(groups),
        "households": st.count("CBF"), "members": st.count("CBF_JTCY"), "contracts": st.count("CBHT"),
        "certificates": st.count("CBJYQZDJB"), "certificate_docs": st.count("CBJYQZ"),
        "parcels": one("SELECT COUNT(*) FROM (SELECT DKBM FROM DK UNION SELECT DKBM FROM CBDKXX)"),
        "dk_features": st.count("DK"), "cbdkxx_rows": st.count("CBDKXX"),
        "share_only_parcels": one("SELECT COUNT(DISTINCT DKBM) FROM CBDKXX WHERE SFQQQG = '1'"),
        "non_contract_parcels": one("SELECT COUNT(*) FROM DK WHERE DKLB IN ('21','22','23','99')"),
        "lzht": st.count("LZHT"), "qzbf": st.count("CBJYQZ_QZBF"), "qzhf": st.count("CBJYQZ_QZHF"),
        "qzzx": st.count("CBJYQZ_QZZX"), "qslyzlfj": st.count("QSLYZLFJ"),
        "ledger_rows": st.count("LEDGER"),
        "dksyt_pdfs": len(ws.d.sketches), "attachment_pdfs": len(ws.d.attachments),
        "htmj_m2": round(htmj, 2), "htmj_mu": round(htmj * 0.0015, 2),
        "scmj_m2": round(scmj, 2), "scmj_mu": round(scmj * 0.0015, 2),
    }


TOTAL_LABELS = [
    ("townships", "乡镇数"), ("villages", "行政村数"), ("groups", "发包方（村民小组）数"),
    ("households", "承包方（户）数"), ("members", "家庭成员（人）数"), ("contracts", "承包合同（份）数"),
    ("certificates", "登记簿（份）数"), ("certificate_docs", "承包经营权证（份）数"), ("parcels", "地块数（图数合计，去重）"),
    ("dk_features", "地块图斑数"), ("cbdkxx_rows", "承包地块信息记录数"), ("share_only_parcels", "确股不确地地块数"),
    ("non_contract_parcels", "非承包地块数"), ("lzht", "流转合同数"), ("qzbf", "权证补发记录数"), ("qzhf", "权证换发记录数"),
    ("qzzx", "权证注销记录数"), ("qslyzlfj", "权属来源资料附件记录数"), ("ledger_rows", "台账记录数"),
    ("dksyt_pdfs", "地块示意图文件数"), ("attachment_pdfs", "权属来源附件文件数"),
    ("htmj_m2", "确权（合同）面积合计（m²）"), ("htmj_mu", "确权（合同）面积合计（亩）"),
    ("scmj_m2", "实测面积合计（m²）"), ("scmj_mu", "实测面积合计（亩）"),
]


def _pending_groups(ws):
    """Groups in the unit-code table or the ZJQY layer with no households and no parcels: 未确权待确权村组."""
    st = ws.stage
    known = {}
    for code, name, level in st.q("SELECT code, name, level FROM CODES"):
        if len(code) == 14 and not code.endswith("00") or (level or "").strip() == "组":
            known[code] = name
    zj = ws.layer("ZJQY")
    if zj is not None and zj.n:
        for code, name in zip(zj.text("ZJQYDM").tolist(), zj.text("ZJQYMC").tolist()):
            if code:
                known.setdefault(code, name)
    have = {r[0] for r in st.q("SELECT DISTINCT substr(CBFBM,1,14) FROM CBF")}
    have |= {r[0] for r in st.q("SELECT DISTINCT substr(DKBM,1,14) FROM DK")}
    have |= {r[0] for r in st.q("SELECT DISTINCT FBFBM FROM CBDKXX")}
    return [dict(code=c, name=n) for c, n in sorted(known.items()) if c not in have]


# ------------------------------------------------------------------ previous inventory
def read_previous(path):
    """{rel: sha256} from an earlier inventory XLSX (our own sheet 文件清单; tolerant of re-saving in Excel)."""
    header, rows = _read_sheet(path, FILES_SHEET)
    up = [str(h or "").strip() for h in header]

    def col(*names):
        for n in names:
            if n in up:
                return up.index(n)
        return None
    i_rel, i_sha = col("相对路径", "path", "rel"), col("SHA-256", "SHA256", "sha256")
    if i_rel is None or i_sha is None:
        from .errors import LcbError
        raise LcbError("上次的资料清单中找不到“相对路径”和“SHA-256”列", "the previous inventory has no path/SHA-256 columns",
                       path=str(path), record=FILES_SHEET)
    return {str(r[i_rel]): str(r[i_sha] or "").replace(" ", "").lower() for r in rows if r and r[i_rel]}


def _read_sheet(path, name):
    ds = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY, open_options=["HEADERS=FORCE", "FIELD_TYPES=STRING"])
    if ds is None:
        return attrdb.read_table_file(path)
    lyr = ds.GetLayerByName(name) or ds.GetLayer(0)
    defn = lyr.GetLayerDefn()
    header = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    return header, [[f.GetField(i) for i in range(len(header))] for f in lyr]


def compare(inv, prev):
    now = {f["rel"]: f["sha256"] for f in inv.files}
    added = sorted(set(now) - set(prev))
    missing = sorted(set(prev) - set(now))
    changed = sorted(k for k in set(now) & set(prev) if now[k] != prev[k])
    return dict(added=added, missing=missing, changed=changed, previous_count=len(prev))


# ------------------------------------------------------------------ outputs
BIG_FOLDER = 500  # folders with more files than this print as one line with a digest (the XLSX lists every file)


def folder_digest(files):
    h = hashlib.sha256()
    for f in sorted(files, key=lambda x: x["rel"]):
        h.update(f"{f['rel']}\x1f{f['sha256']}\n".encode())
    return h.hexdigest()


def file_rows_html(inv):
    """The printed file list, rendered without a template loop (a county has 100,000+ files)."""
    from html import escape
    top_count = {}
    for f in inv.files:
        top = f["rel"].split("/", 1)[0] if "/" in f["rel"] else ""
        top_count[top] = top_count.get(top, 0) + 1
    by_folder = {}
    for f in inv.files:
        parts = f["rel"].split("/")
        if len(parts) > 2 and top_count.get(parts[0], 0) > BIG_FOLDER:
            key = ("/".join(parts[:2]), True)  # e.g. 图件/<FBFBM>: one digest line per sub-folder
        else:
            key = (f["rel"].rsplit("/", 1)[0] if "/" in f["rel"] else "", False)
        by_folder.setdefault(key, []).append(f)
    out, n = [], 0
    for key in sorted(by_folder):
        folder, fold = key
        files = by_folder[key]
        if fold or len(files) > BIG_FOLDER:
            n += 1
            size = sum(max(0, f["size"]) for f in files)
            cats = "、".join(sorted({f["category_zh"] for f in files}))
            out.append(f'<tr><td class="n">{n}</td><td>{escape(folder)}/（{len(files):,} 个文件）</td><td>{escape(cats)}</td>'
                       f'<td class="n">{size:,}</td><td class="n"></td><td class="mono">文件夹摘要 {report.group_hex(folder_digest(files))}</td></tr>')
            continue
        for f in files:
            n += 1
            rec = "" if f["records"] is None else f["records"]
            out.append(f'<tr><td class="n">{n}</td><td>{report.breakable(f["rel"])}</td><td>{escape(f["category_zh"])}</td>'
                       f'<td class="n">{f["size"]:,}</td><td class="n">{rec}</td><td class="mono">{report.group_hex(f["sha256"])}</td></tr>')
    return "\n".join(out), any(k[1] or len(v) > BIG_FOLDER for k, v in by_folder.items())


def to_html(inv, lang="zh"):
    from markupsafe import Markup
    rows, folded = file_rows_html(inv)
    return report.render("inventory.html.j2", inv=inv, total_labels=TOTAL_LABELS, group_sha=report.group_hex,
                         file_rows=Markup(rows), folded=folded, big_folder=BIG_FOLDER)


def to_xlsx(inv, target):
    files = [[f["rel"], f["category_zh"], f["format"], f["size"], f["records"], f["sha256"]] for f in inv.files]
    totals = [[label, inv.totals.get(k)] for k, label in TOTAL_LABELS]
    summary = [["县级行政区", f"{inv.county}{inv.county_name}"], ["数据年份", inv.year], ["成果包路径", inv.root],
               ["清点时间", inv.created], ["文件数", inv.file_count], ["总字节数", inv.total_bytes],
               ["必备项缺失数", len(inv.missing)], ["是否齐全", "是" if inv.complete else "否"],
               ["清单指纹（SHA-256）", inv.fingerprint()]]
    sheets = [("概况", ["项目", "值"], summary), (FILES_SHEET, ["相对路径", "类别", "格式", "字节数", "记录数", "SHA-256"], files),
              ("统计", ["项目", "数量"], totals),
              ("缺失必备项", ["项目", "说明"], [[m["item"], m["message"]] for m in inv.missing]),
              ("待确权村组", ["权属单位代码", "名称"], [[g["code"], g["name"]] for g in inv.pending_groups]),
              ("提示", ["项目", "说明"], [[w["item"], w["message"]] for w in inv.warnings])]
    if inv.comparison:
        c = inv.comparison
        rows = [[r, "新增"] for r in c["added"]] + [[r, "缺失"] for r in c["missing"]] + [[r, "已变化"] for r in c["changed"]]
        sheets.append(("与上次清单比对", ["相对路径", "状态"], rows))
    write_xlsx(target, sheets)
