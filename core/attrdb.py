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
import time
from pathlib import Path

import numpy as np
from osgeo import gdal

from . import schema
from .errors import LcbError
from .guard import Guard
from .output import write_error

gdal.UseExceptions()

# The page size of the SQLite files written in bulk (the staging database and the files beside it, a new registration
# GeoPackage): 16 KB pages made a county-scale merge ~7 % faster than SQLite's 4 KB (fewer pages to fill and link);
# 64 KB no faster.
PAGE_SIZE = 16384


def scratch(conn, name="main"):
    """The database `name` of `conn` set up as a scratch file written in bulk (nothing to recover after a crash: a
    run that fails starts again): PAGE_SIZE pages (before its first table), no journal, no syncs."""
    for pragma in (f"page_size={PAGE_SIZE}", "journal_mode=OFF", "synchronous=OFF"):
        conn.execute(f"PRAGMA {name}.{pragma}")
_AFFINITY = {"T": "TEXT", "M": "TEXT", "D": "TEXT", "N": "REAL", "I": "INTEGER"}


STAGE_PREFIX = "lcb-stage-"
_ACCESS_MAGIC = (b"Standard Jet DB\x00", b"Standard ACE DB\x00")


def db_file_check(path):
    """None when `path` looks like the database its name says (Access .mdb/.accdb, SQLite .sqlite/.gpkg/.db),
    else why not as (zh, en). Headers only, so an empty or text file never reaches mdbtools."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(32)
    except OSError as e:
        return f"文件无法打开（{e.strerror}）", f"the file cannot be opened ({e.strerror})"
    if size == 0:
        return "文件是空的（0 字节）", "the file is empty (0 bytes)"
    if p.suffix.lower() in (".mdb", ".accdb"):
        if head[4:20] not in _ACCESS_MAGIC:
            kind = "文本文件" if _looks_like_text(head) else "其他格式的文件"
            return (f"不是 Access 数据库，而是{kind}",
                    "it is not an Access database but " + ("a text file" if _looks_like_text(head) else "a file of another format"))
    elif head[:16] != b"SQLite format 3\x00":
        return "不是 SQLite 数据库", "it is not a SQLite database"
    return None


def _looks_like_text(head):
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            head.decode("gb18030")
        except UnicodeDecodeError:
            return False
    return not any(b < 9 for b in head)


def stage_write_error(e, path):
    """LcbError for a staging database that cannot be written (temp folder full or read-only), else None."""
    return write_error(e, tempfile.gettempdir(),
                       ("临时数据库（系统临时文件夹）", "temporary staging database (in the system's temporary folder)"))


def _lock(fd):
    """An exclusive lock on an open file while this process lives (POSIX); True when taken."""
    try:
        import fcntl
    except ImportError:  # Windows: an open file cannot be deleted, which is lock enough for the sweep below
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def sweep_stale_stages(folder=None):
    """Delete staging folders left by runs that no longer exist (their lock is free). Returns how many."""
    n = 0
    now = time.time()
    for d in Path(folder or tempfile.gettempdir()).glob(STAGE_PREFIX + "*"):
        try:
            age = now - max(d.stat().st_mtime, (d / "stage.sqlite").stat().st_mtime if (d / "stage.sqlite").exists() else 0)
        except OSError:
            continue
        if age < 10:  # one being created right now
            continue
        lock = d / "lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            fd = None
            if age < 86400:  # no lock: left by a version before the lock, or being set up; a day old is surely dead
                continue
        try:
            if fd is None or _lock(fd):
                shutil.rmtree(d, ignore_errors=True)
                n += not d.exists()
        finally:
            if fd is not None:
                os.close(fd)
    return n


# Code columns per table whose surrounding blanks are trimmed after loading (see Staging.trim_keys).
KEY_COLUMNS = {
    "FBF": ["FBFBM"], "CBF": ["CBFBM"], "CBF_JTCY": ["CBFBM"], "CBHT": ["CBHTBM", "FBFBM", "CBFBM", "YCBHTBM"],
    "CBDKXX": ["DKBM", "FBFBM", "CBFBM", "CBHTBM", "LZHTBM", "CBJYQZBM"], "CBJYQZDJB": ["CBJYQZBM", "FBFBM", "CBFBM"],
    "CBJYQZ": ["CBJYQZBM"], "CBJYQZ_QZBF": ["CBJYQZBM"], "CBJYQZ_QZHF": ["CBJYQZBM"], "CBJYQZ_QZZX": ["CBJYQZBM"],
    "LZHT": ["LZHTBM", "CBHTBM", "CBFBM", "SRFBM"], "QSLYZLFJ": ["CBJYQZBM"],
}
# The record key of each table (the issue key of its rows).
TABLE_KEYS = {"FBF": "FBFBM", "CBF": "CBFBM", "CBF_JTCY": "CBFBM", "CBHT": "CBHTBM", "CBDKXX": "DKBM",
              "CBJYQZDJB": "CBJYQZBM", "CBJYQZ": "CBJYQZBM", "CBJYQZ_QZBF": "CBJYQZBM", "CBJYQZ_QZHF": "CBJYQZBM",
              "CBJYQZ_QZZX": "CBJYQZBM", "LZHT": "LZHTBM", "QSLYZLFJ": "CBJYQZBM"}
BLANKS = " \t\r\n\u3000\u00a0"
_SQL_BLANKS = "' ' || char(9) || char(13) || char(10) || char(12288) || char(160)"


def _trim(col):
    return f'trim("{col}", {_SQL_BLANKS})'


class Staging:
    """A temporary SQLite database holding the delivery's tables under their standard names.

    It holds names, ID numbers and phones, so it never outlives the run: it lives in a private folder (mode 0700)
    that is deleted on close, by a guard process when this process is killed, and by the next run's sweep should
    both fail (power cut). Not in memory: at county scale (500,000 parcels) it is a few hundred MB."""

    def __init__(self, path=None):
        self.tmpdir = None
        self._guard = None
        self._lockfd = None
        if path is None:
            sweep_stale_stages()
            try:
                self.tmpdir = tempfile.mkdtemp(prefix=STAGE_PREFIX)
                self._lockfd = os.open(os.path.join(self.tmpdir, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as e:
                self._cleanup()
                raise (stage_write_error(e, tempfile.gettempdir()) or LcbError(
                    f"无法在系统临时文件夹中建立临时数据库：{e.strerror}",
                    f"cannot create the staging database in the system's temporary folder: {e.strerror}",
                    path=tempfile.gettempdir())) from None
            _lock(self._lockfd)
            self._guard = Guard(self.tmpdir)
            path = os.path.join(self.tmpdir, "stage.sqlite")
        self.path = path
        self.present = {}  # table -> list of columns present in the source
        self.problems = []  # (rule, key, field, message, value, layer)
        self.db_error = None  # (zh, en) when the attribute database itself cannot be read
        self.has_ledger = False
        self.trimmed = []  # (table, record key, field, value as delivered) of code values trimmed by trim_keys
        self.conn = None
        try:
            self.conn = sqlite3.connect(path)
            scratch(self.conn)
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.execute("PRAGMA cache_size=-64000")
            for table, spec in schema.TABLES.items():
                cols = ", ".join(f'"{f[0]}" {_AFFINITY[f[1]]}' for f in spec)
                self.conn.execute(f'CREATE TABLE "{table}" (_row INTEGER PRIMARY KEY, {cols})')
            self.conn.execute("CREATE TABLE LEDGER (_row INTEGER PRIMARY KEY, DKBM TEXT, CBFBM TEXT, CBJYQZBM TEXT, DBMJ REAL, DBMJ_RAW TEXT)")
            self.conn.execute("CREATE TABLE CODES (code TEXT, name TEXT, level TEXT)")
            self.conn.commit()
        except sqlite3.Error as e:
            self.close()
            raise (stage_write_error(e, path) or LcbError(f"无法建立临时数据库：{e}", f"cannot create the temporary staging database: {e}",
                                                          path=str(path))) from None

    def attach_to(self, conn, alias):
        """ATTACH this staging database to another sqlite3 connection under `alias` (read it as alias.TABLE).
        Detach it (DETACH DATABASE alias) before close()."""
        if not str(alias).isidentifier():
            raise ValueError(f"bad schema name {alias!r}")
        self.conn.commit()
        conn.execute(f'ATTACH DATABASE ? AS "{alias}"', (str(self.path),))

    def _cleanup(self):
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self._lockfd is not None:
            os.close(self._lockfd)
            self._lockfd = None
        if self._guard is not None:
            self._guard.release()
            self._guard = None

    def close(self):
        try:
            if self.conn is not None:
                self.conn.close()
        finally:
            self._cleanup()

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

    def trim_keys(self):
        """Trim the blanks around every code value of the staged tables in place (the delivery is never touched),
        so that a DKBM written with a trailing blank still finds its parcel; remember what was trimmed in
        self.trimmed (validation reports it as code.key_blanks)."""
        for table, cols in KEY_COLUMNS.items():
            cols = [c for c in cols if c in self.present.get(table, [])]
            if not cols:
                continue
            cond = " OR ".join(f'"{c}" <> {_trim(c)}' for c in cols)
            sel = ", ".join(f'"{c}"' for c in cols)
            rows = self.conn.execute(f'SELECT "{TABLE_KEYS[table]}", {sel} FROM "{table}" WHERE {cond}').fetchall()
            if not rows:
                continue
            for row in rows:
                rec = (row[0] or "").strip(BLANKS)
                self.trimmed += [(table, rec, c, v) for c, v in zip(cols, row[1:]) if isinstance(v, str) and v != v.strip(BLANKS)]
            for c in cols:
                self.conn.execute(f'UPDATE "{table}" SET "{c}" = {_trim(c)} WHERE "{c}" <> {_trim(c)}')
            self.conn.commit()
        return self.trimmed

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
        """Load the 12 tables from an .mdb/.accdb or .sqlite/.gpkg file. A file that cannot be read at all, or that
        holds none of the 12 tables, is one problem (db_error / no tables), not twelve missing tables."""
        why = db_file_check(db_path)
        if why is not None:
            self.db_error = why
            self.problems.append(("package.unreadable", rel, "", f"无法读取属性数据库 {Path(db_path).name}：{why[0]}", "", "权属数据"))
            return
        suffix = Path(db_path).suffix.lower()
        if suffix in (".sqlite", ".gpkg", ".db"):
            self._load_sqlite(db_path, rel)
        else:
            self._load_mdb(db_path, rel)
        if self.db_error is not None or not self.present:
            self.conn.commit()
            return  # core.integrity names the condition once
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
            self.db_error = (f"不是有效的 SQLite 数据库（{e}）", f"not a valid SQLite database ({e})")
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
            self.db_error = (why, "the file is damaged or not an Access database" if shutil.which("mdb-export") else
                             "GDAL's ODBC driver is unavailable and mdbtools is not installed (apt install mdbtools odbc-mdbtools)")
            self.problems.append(("package.unreadable", rel, "", f"无法读取 Access 数据库：{why}" + (f"（{err}）" if err else ""),
                                  "", "权属数据"))
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
