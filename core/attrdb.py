"""Load a delivery's attribute tables (the 12 standard tables, the ledger, the unit-code table) into a
private staging SQLite database, so every later check is a set-based query.

Sources: the standard Access .mdb through GDAL's ODBC driver with mdbtools (mdb-export as the fallback),
or the same tables in a .sqlite/.gpkg file. The delivery itself is only ever opened read-only."""
import csv
import io
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

from . import schema
from .errors import LcbError

gdal.UseExceptions()

_AFFINITY = {"T": "TEXT", "M": "TEXT", "D": "TEXT", "N": "REAL", "I": "INTEGER"}


class Staging:
    """A temporary SQLite database holding the delivery's tables under their standard names."""

    def __init__(self, path=None):
        self.tmpdir = None
        if path is None:
            self.tmpdir = tempfile.mkdtemp(prefix="lcb-stage-")
            path = os.path.join(self.tmpdir, "stage.sqlite")
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.execute("PRAGMA cache_size=-64000")
        self.present = {}  # table -> list of columns present in the source
        self.problems = []  # (rule, key, field, message, value, layer)
        for table, spec in schema.TABLES.items():
            cols = ", ".join(f'"{f[0]}" {_AFFINITY[f[1]]}' for f in spec)
            self.conn.execute(f'CREATE TABLE "{table}" (_row INTEGER PRIMARY KEY, {cols})')
        self.conn.execute("CREATE TABLE LEDGER (_row INTEGER PRIMARY KEY, DKBM TEXT, CBFBM TEXT, CBJYQZBM TEXT, DBMJ REAL, DBMJ_RAW TEXT)")
        self.conn.execute("CREATE TABLE CODES (code TEXT, name TEXT, level TEXT)")
        self.has_ledger = False

    def close(self):
        try:
            self.conn.close()
        finally:
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def q(self, sql, args=()):
        return self.conn.execute(sql, args).fetchall()

    def count(self, table):
        return self.conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]

    def index(self):
        c = self.conn
        for t, col in [("CBDKXX", "DKBM"), ("CBDKXX", "CBHTBM"), ("CBDKXX", "CBFBM"), ("CBDKXX", "CBJYQZBM"),
                       ("CBF", "CBFBM"), ("CBF_JTCY", "CBFBM"), ("CBHT", "CBHTBM"), ("CBJYQZDJB", "CBJYQZBM"),
                       ("CBJYQZ", "CBJYQZBM"), ("FBF", "FBFBM"), ("LEDGER", "DKBM"), ("QSLYZLFJ", "CBJYQZBM"),
                       ("LZHT", "LZHTBM")]:
            c.execute(f'CREATE INDEX IF NOT EXISTS "ix_{t}_{col}" ON "{t}"("{col}")')
        c.commit()

    # ------------------------------------------------------------------ loading
    def _insert(self, table, columns, rows):
        spec = {f[0]: f for f in schema.TABLES[table]}
        use = [c for c in columns if c in spec]
        idx = [columns.index(c) for c in use]
        self.present[table] = use
        if not use:
            return
        sql = f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in use)}) VALUES ({", ".join("?" * len(use))})'
        self.conn.executemany(sql, ([r[i] for i in idx] for r in rows))

    def load_tables(self, db_path, rel, progress=None):
        """Load the 12 tables from an .mdb/.accdb or .sqlite/.gpkg file."""
        suffix = Path(db_path).suffix.lower()
        if suffix in (".sqlite", ".gpkg", ".db"):
            self._load_sqlite(db_path, rel)
        else:
            self._load_mdb(db_path, rel)
        for table, spec in schema.TABLES.items():
            if table not in self.present:
                self.problems.append(("schema.missing_table", rel, "", f"属性数据库缺少表 {table}（{schema.TABLE_TITLES[table]}）", table, table))
                continue
            have = set(self.present[table])
            for f in spec:
                if f[0] not in have:
                    self.problems.append(("schema.missing_field", rel, f[0], f"表 {table} 缺少字段 {f[0]}（{f[4]}）", f[0], table))
        self.conn.commit()

    def _load_sqlite(self, db_path, rel):
        uri = Path(db_path).resolve().as_uri() + "?mode=ro&immutable=1"
        try:
            src = sqlite3.connect(uri, uri=True)
            names = {r[0].upper(): r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")}
            src.close()
        except sqlite3.DatabaseError as e:
            self.problems.append(("package.unreadable", rel, "", f"无法读取属性数据库：{e}", "", "权属数据"))
            return
        self.conn.execute("ATTACH DATABASE ? AS src", (uri,))
        try:
            for table in schema.TABLES:
                real = names.get(table)
                if real is None:
                    continue
                cols = [r[1] for r in self.conn.execute(f'PRAGMA src.table_info("{real}")')]
                upper = {c.upper(): c for c in cols}
                use = [f[0] for f in schema.TABLES[table] if f[0] in upper]
                self.present[table] = use
                if use:
                    sel = ", ".join(f'src."{real}"."{upper[c]}"' for c in use)
                    self.conn.execute(f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in use)}) SELECT {sel} FROM src."{real}"')
            self.conn.commit()
        finally:
            self.conn.execute("DETACH DATABASE src")
        # Dates written as ISO datetimes -> dates.
        for table, spec in schema.TABLES.items():
            for f in spec:
                if f[1] == "D":
                    self.conn.execute(f'UPDATE "{table}" SET "{f[0]}" = substr("{f[0]}", 1, 10) WHERE length("{f[0]}") > 10')

    def _load_mdb(self, db_path, rel):
        err = ""
        try:
            ds = gdal.OpenEx(str(db_path), gdal.OF_VECTOR | gdal.OF_READONLY)
        except RuntimeError as e:
            ds, err = None, str(e)
        if ds is None:
            if shutil.which("mdb-export") and self._load_mdb_export(db_path, rel):
                return
            why = ("文件已损坏或不是 Access 数据库" if shutil.which("mdb-export") else
                   "GDAL 的 ODBC 驱动不可用，且未安装 mdbtools（apt install mdbtools odbc-mdbtools）")
            self.problems.append(("package.unreadable", rel, "", f"无法读取 Access 数据库：{why}" + (f"（{err}）" if err else ""), "", "权属数据"))
            return
        names = {ds.GetLayer(i).GetName().upper(): ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())}
        for table, spec in schema.TABLES.items():
            real = names.get(table)
            if real is None:
                continue
            lyr = ds.GetLayerByName(real)
            defn = lyr.GetLayerDefn()
            cols = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
            ucols = [c.upper() for c in cols]
            rows_cols = {}
            try:
                for batch in lyr.GetArrowStreamAsNumPy(options=["USE_MASKED_ARRAYS=YES"]):
                    for c, uc in zip(cols, ucols):
                        rows_cols.setdefault(uc, []).append(_to_python(batch[c]))
            except RuntimeError as e:
                self.problems.append(("package.unreadable", rel, "", f"读取表 {table} 失败：{e}", "", table))
                continue
            if not rows_cols:
                self._insert(table, ucols, [])
                continue
            colvals = [sum(rows_cols[uc], []) for uc in ucols]
            self._insert(table, ucols, zip(*colvals))

    def _load_mdb_export(self, db_path, rel):
        """The mdbtools command-line fallback. Returns False when not a single table could be read."""
        try:
            subprocess.run(["mdb-tables", str(db_path)], capture_output=True, check=True, timeout=60)
        except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired):
            return False
        for table in schema.TABLES:
            try:
                out = subprocess.run(["mdb-export", "-T", "%Y-%m-%d", "-D", "%Y-%m-%d", str(db_path), table],
                                     capture_output=True, check=True).stdout.decode("utf-8", "replace")
            except (subprocess.CalledProcessError, OSError):
                continue
            reader = csv.reader(io.StringIO(out))
            header = next(reader, None)
            if header is None:
                continue
            rows = [[(v if v != "" else None) for v in r] for r in reader]
            self._insert(table, [h.upper() for h in header], rows)
        return bool(self.present)

    # ------------------------------------------------------------------ ledger and code table
    def load_ledger(self, path, rel):
        """Certificate-issue ledger (台账): a table with DKBM and a registered-area column."""
        try:
            header, rows = read_table_file(path)
            if isinstance(rows, list) and rows and isinstance(rows[0], list) and str(path).lower().endswith(".csv"):
                return self._load_ledger_fast(header, rows, rel)
        except LcbError as e:
            self.problems.append(("package.unreadable", rel, "", e.zh, "", "确权登记发证台账"))
            return
        up = [str(h or "").strip().upper() for h in header]

        def find(*names):
            for n in names:
                if n.upper() in up:
                    return up.index(n.upper())
            return None
        i_dk = find("DKBM", "地块编码", "地块代码")
        i_mj = find("DBMJ", "登簿面积", "登记面积", "HTMJ", "确权面积")
        if i_dk is None or i_mj is None:
            self.problems.append(("package.ledger_columns", rel, "DKBM" if i_dk is None else "DBMJ",
                                  "台账缺少地块编码（DKBM）或登簿面积（DBMJ）列", ",".join(map(str, header)), "确权登记发证台账"))
            return
        i_cbf, i_qz = find("CBFBM", "承包方编码"), find("CBJYQZBM", "承包经营权证编码", "权证编码")
        out = []
        for r in rows:
            def get(i, r=r):
                return r[i] if i is not None and i < len(r) else None
            raw = get(i_mj)
            try:
                val = float(str(raw).strip()) if raw not in (None, "") else None
            except ValueError:
                val = None
            out.append((_s(get(i_dk)), _s(get(i_cbf)), _s(get(i_qz)), val, None if raw is None else str(raw)))
        self.conn.executemany("INSERT INTO LEDGER (DKBM, CBFBM, CBJYQZBM, DBMJ, DBMJ_RAW) VALUES (?,?,?,?,?)", out)
        self.conn.commit()
        self.has_ledger = True

    def _load_ledger_fast(self, header, rows, rel):
        """CSV ledgers (the usual form, a row per CBDKXX row: 500,000+ at county scale) without per-cell calls."""
        up = [str(h or "").strip().upper() for h in header]
        names = {"DKBM": ("DKBM", "地块编码", "地块代码"), "MJ": ("DBMJ", "登簿面积", "登记面积", "HTMJ", "确权面积"),
                 "CBF": ("CBFBM", "承包方编码"), "QZ": ("CBJYQZBM", "承包经营权证编码", "权证编码")}
        col = {k: next((up.index(n) for n in v if n in up), None) for k, v in names.items()}
        if col["DKBM"] is None or col["MJ"] is None:
            self.problems.append(("package.ledger_columns", rel, "DKBM" if col["DKBM"] is None else "DBMJ",
                                  "台账缺少地块编码（DKBM）或登簿面积（DBMJ）列", ",".join(map(str, header)), "确权登记发证台账"))
            return
        width = max(i for i in col.values() if i is not None) + 1
        i_dk, i_mj, i_cbf, i_qz = col["DKBM"], col["MJ"], col["CBF"], col["QZ"]
        out = []
        for r in rows:
            if len(r) < width:
                r = r + [""] * (width - len(r))
            raw = r[i_mj].strip()
            try:
                val = float(raw) if raw else None
            except ValueError:
                val = None
            out.append((r[i_dk].strip() or None, (r[i_cbf].strip() or None) if i_cbf is not None else None,
                        (r[i_qz].strip() or None) if i_qz is not None else None, val, raw))
        self.conn.executemany("INSERT INTO LEDGER (DKBM, CBFBM, CBJYQZBM, DBMJ, DBMJ_RAW) VALUES (?,?,?,?,?)", out)
        self.conn.commit()
        self.has_ledger = True

    def load_code_table(self, path, rel):
        try:
            header, rows = read_table_file(path)
        except LcbError as e:
            self.problems.append(("package.unreadable", rel, "", e.zh, "", "权属单位代码表"))
            return
        out = []
        for r in [header] + rows:
            code = _s(r[0] if r else None)
            if code and code.replace(".0", "").isdigit():
                code = code.replace(".0", "") if code.endswith(".0") else code
                out.append((code, _s(r[1]) if len(r) > 1 else "", _s(r[2]) if len(r) > 2 else ""))
        self.conn.executemany("INSERT INTO CODES VALUES (?,?,?)", out)
        self.conn.commit()


def _s(v):
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _to_python(arr):
    mask = np.ma.getmaskarray(arr) if np.ma.isMaskedArray(arr) else None
    data = np.ma.getdata(arr)
    if data.dtype.kind == "S":
        vals = np.char.decode(data, "utf-8", errors="replace").astype(object)
    elif data.dtype.kind == "M":
        vals = np.datetime_as_string(data.astype("datetime64[D]")).astype(object)
    elif data.dtype.kind in "iu":
        vals = data.astype(object)
        vals = np.array([int(v) for v in vals], dtype=object)
    elif data.dtype.kind == "f":
        vals = data.astype(object)
    else:
        vals = np.array([(v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for v in data], dtype=object)
    out = vals.tolist()
    if mask is not None and mask.any():
        for i in np.nonzero(mask)[0]:
            out[i] = None
    return out


def read_table_file(path):
    """Header and rows of a small table file: .csv (UTF-8 or GBK), .xlsx, .xls, .dbf."""
    p = Path(path)
    ext = p.suffix.lower()
    try:
        if ext == ".csv":
            raw = p.read_bytes()
            for codec in ("utf-8-sig", "gb18030"):
                try:
                    text = raw.decode(codec)
                    break
                except UnicodeDecodeError:
                    continue
            rows = list(csv.reader(io.StringIO(text)))
            return (rows[0] if rows else []), rows[1:]
        if ext == ".xls":
            try:
                import xlrd
            except ImportError as e:
                raise LcbError("读取 .xls 需要 Python 包 xlrd（pip install xlrd）", "reading .xls needs the xlrd package", path=str(p)) from e
            book = xlrd.open_workbook(str(p))
            sh = book.sheet_by_index(0)
            rows = [sh.row_values(i) for i in range(sh.nrows)]
            return (rows[0] if rows else []), rows[1:]
        if ext in (".xlsx", ".dbf"):
            opts = ["HEADERS=FORCE"] if ext == ".xlsx" else []
            ds = gdal.OpenEx(str(p), gdal.OF_VECTOR | gdal.OF_READONLY, open_options=opts)
            lyr = ds.GetLayer(0)
            defn = lyr.GetLayerDefn()
            header = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
            rows = [[f.GetField(i) for i in range(len(header))] for f in lyr]
            return header, rows
    except LcbError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure becomes a clear message
        raise LcbError(f"无法读取表格文件：{e}", f"cannot read the table file: {e}", path=str(p)) from e
    raise LcbError("不支持的表格格式（应为 csv/xlsx/xls/dbf）", "unsupported table format", path=str(p))
