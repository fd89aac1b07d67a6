"""Column data behind the discrepancy dock: the parcels of a registration GeoPackage read through GDAL's Arrow
interface straight into numpy columns (text stays UTF-8 bytes until a cell is shown), with filters and sorting
as array operations, so a county of 500,000 parcels opens and filters in well under a second. A registration
database in PostgreSQL is read with one aggregate query per load (each column as one array or one string)."""
import sqlite3
from pathlib import Path

import numpy as np
from osgeo import gdal

from .classify import ORDER

gdal.UseExceptions()

TEXT = ["DKBM", "XZMC", "CJDM", "CJMC", "ZJMC", "CBFMC", "CYLX", "CYYY"]
EDITABLE = ["XSZT", "XSBZ"]  # consultation fields: object arrays of str, updated in place after an edit
NUMERIC = ["HTMJ", "DBMJ", "SCMJ", "HTDBC", "HTSCC", "HTZMJ", "DBZMJ"]  # HTZMJ, DBZMJ: the parcel's contract (CYYY says why it differs)
COLUMNS = TEXT + EDITABLE + NUMERIC
UNSET = "（未填）"


class ParcelTable:
    def __init__(self, path):
        from . import pgconn
        self.pg = pgconn.target(path) if not isinstance(path, Path) else None  # a PostgreSQL database (pgconn.PgTarget)
        self.path = self.pg if self.pg is not None else str(path)
        self.fid = np.zeros(0, np.int64)
        self.cols = {}
        self.loaded_all = False
        self.class_counts = {c: 0 for c in ORDER}
        self._text_memo = None  # (needle, row mask) of the last text search; reset when the data change

    # ------------------------------------------------------------------ loading
    def _connect(self):
        if self.pg is not None:
            from . import pgconn
            return pgconn.connect_read(self.pg)
        return sqlite3.connect(Path(self.path).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)

    def _read_pg(self, include_consistent):
        """{column: numpy array} of the cbdk rows in fid order, in one query (text as one joined string per column)."""
        c = self._connect()
        try:
            self.class_counts = {k: 0 for k in ORDER}
            for cls, n in c.execute("SELECT CYLX, COUNT(*) FROM cbdk GROUP BY CYLX"):
                if cls in self.class_counts:
                    self.class_counts[cls] = n
            sep = "\x1f"
            # one sort (the subquery's), aggregated in that order: an ORDER BY inside each aggregate would sort 15 times
            text = [f"string_agg(replace(COALESCE({k}, ''), E'\\x1f', ' '), E'\\x1f')" for k in TEXT + EDITABLE]
            nums = [f"array_agg(COALESCE({k}, 'NaN'::float8))" for k in NUMERIC]
            where = "" if include_consistent else "WHERE CYLX <> 'consistent'"  # as the GeoPackage's attribute filter
            row = c.execute(f"SELECT count(*), array_agg(fid), {', '.join(text + nums)} "
                            f"FROM (SELECT fid, {', '.join(TEXT + EDITABLE + NUMERIC)} FROM cbdk {where} ORDER BY fid) AS s").fetchone()
        finally:
            c.close()
        n = row[0]
        out = {"fid": np.array(row[1] or [], np.int64)}
        for j, k in enumerate(TEXT + EDITABLE):
            s = row[2 + j]
            vals = s.encode("utf-8").split(sep.encode()) if n else []
            out[k] = np.array(vals, dtype=object) if k in EDITABLE else np.array(vals, dtype="S") if n else np.zeros(0, "S1")
        for j, k in enumerate(NUMERIC):
            out[k] = np.array(row[2 + len(TEXT) + len(EDITABLE) + j] or [], dtype=float)
        return out

    def load(self, include_consistent=False):
        """Default view: the parcels whose class is not 'consistent' (all of them on request)."""
        if self.pg is not None:
            cols = self._read_pg(include_consistent)
            self.fid = cols.pop("fid")
            self.cols = cols
            return self._loaded(include_consistent)
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        c = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            self.class_counts = {k: 0 for k in ORDER}
            for cls, n in c.execute("SELECT CYLX, COUNT(*) FROM cbdk GROUP BY CYLX"):
                if cls in self.class_counts:
                    self.class_counts[cls] = n
        finally:
            c.close()
        ds = gdal.OpenEx(self.path, gdal.OF_VECTOR | gdal.OF_READONLY)
        lyr = ds.GetLayerByName("cbdk")
        if lyr is None:
            raise ValueError("no cbdk layer")
        defn = lyr.GetLayerDefn()
        names = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
        lyr.SetIgnoredFields([n for n in names if n not in COLUMNS] + ["OGR_GEOMETRY"])
        if not include_consistent:
            lyr.SetAttributeFilter("CYLX <> 'consistent'")
        parts = {k: [] for k in ["fid"] + COLUMNS}
        for batch in lyr.GetArrowStreamAsNumPy(options=["USE_MASKED_ARRAYS=YES"]):
            fid_key = "fid" if "fid" in batch else "OGC_FID"
            parts["fid"].append(np.asarray(batch[fid_key], np.int64))
            for k in COLUMNS:
                a = batch.get(k)
                if a is None:  # a column an older database lacks
                    a = np.full(len(parts["fid"][-1]), np.nan) if k in NUMERIC else np.zeros(len(parts["fid"][-1]), dtype="S1")
                if k in NUMERIC:
                    parts[k].append(np.ma.filled(np.ma.asarray(a, dtype=float), np.nan))
                else:
                    data = np.ma.getdata(a)
                    if np.ma.isMaskedArray(a):
                        data = data.copy()
                        data[np.ma.getmaskarray(a)] = b""
                    parts[k].append(data)
        ds = None
        self.fid = np.concatenate(parts["fid"]) if parts["fid"] else np.zeros(0, np.int64)
        self.cols = {}
        for k in COLUMNS:
            if parts[k]:
                arr = np.concatenate(parts[k])
            else:
                arr = np.zeros(0, dtype=float if k in NUMERIC else "S1")
            if k in EDITABLE:  # object arrays of UTF-8 bytes, so one row can be updated after an edit
                arr = arr.astype(object)
            self.cols[k] = arr
        return self._loaded(include_consistent)

    def _loaded(self, include_consistent):
        self.loaded_all = include_consistent
        self._text_memo = None
        ht, sc = self.cols["HTMJ"], self.cols["SCMJ"]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.pct_sc = np.where(ht > 0, (ht - sc) / ht * 100.0, np.nan)
        self.maxdiff = np.fmax(np.abs(np.nan_to_num(self.cols["HTDBC"])), np.abs(np.nan_to_num(self.cols["HTSCC"])))
        return self

    # ------------------------------------------------------------------ values
    def get(self, key, i):
        """Display value of row i (an index into the loaded columns)."""
        v = self.cols[key][i]
        if isinstance(v, (bytes, bytearray)):
            return v.decode("utf-8", "replace")
        if isinstance(v, np.bytes_):
            return bytes(v).decode("utf-8", "replace")
        if isinstance(v, (float, np.floating)):
            return None if np.isnan(v) else float(v)
        return v

    def villages(self):
        """[(village code, 'township village')] present in the loaded rows."""
        if not len(self.fid):
            return []
        codes, first = np.unique(self.cols["CJDM"], return_index=True)
        out = [(c.decode(), f"{self.get('XZMC', i)}{self.get('CJMC', i)}") for c, i in zip(codes.tolist(), first.tolist()) if c]
        return sorted(out, key=lambda x: x[1])

    def refresh_rows(self, fids):
        """Re-read the consultation fields of some parcels after an edit."""
        fids = [int(f) for f in fids]
        if not fids:
            return
        pos = {int(f): i for i, f in enumerate(self.fid)}
        c = self._connect()
        try:
            for s in range(0, len(fids), 500):
                chunk = fids[s:s + 500]
                for fid, zt, bz in c.execute(f"SELECT fid, XSZT, XSBZ FROM cbdk WHERE fid IN ({','.join('?' * len(chunk))})", chunk):
                    j = pos.get(fid)
                    if j is not None:
                        self.cols["XSZT"][j] = (zt or "").encode("utf-8")
                        self.cols["XSBZ"][j] = (bz or "").encode("utf-8")
        finally:
            c.close()
        self._text_memo = None

    def set_rows(self, rows, **values):
        for j in rows:
            for k, v in values.items():
                self.cols[k][j] = (v or "").encode("utf-8")
        self._text_memo = None

    # ------------------------------------------------------------------ filter and sort
    @staticmethod
    def _contains(col, needle):
        """Rows of a fixed-width bytes column containing `needle`: a vectorised sliding-window comparison, so a
        needle that matches most rows (a code prefix) costs no more than a rare one."""
        width = col.dtype.itemsize
        k = len(needle)
        if k > width or not len(col):
            return np.zeros(len(col), bool)
        b = np.frombuffer(np.ascontiguousarray(col).tobytes(), dtype=np.uint8).reshape(len(col), width)
        pat = np.frombuffer(needle, dtype=np.uint8)
        hit = np.zeros(len(col), bool)
        for off in range(width - k + 1):
            m = b[:, off] == pat[0]
            for t in range(1, k):
                m &= b[:, off + t] == pat[t]
            hit |= m
        return hit

    def _text_rows(self, needle):
        if self._text_memo is not None and self._text_memo[0] == needle:
            return self._text_memo[1]
        hit = np.zeros(len(self.fid), bool)
        for k in ("DKBM", "CBFMC", "CJMC", "ZJMC"):
            hit |= self._contains(self.cols[k], needle)
        notes = self.cols["XSBZ"]
        if len(notes):
            hit |= np.fromiter((needle in v for v in notes.tolist()), dtype=bool, count=len(notes))
        self._text_memo = (needle, hit)
        return hit

    def filter(self, classes=None, village=None, status=None, min_diff=0.0, text=""):
        """Indices of the rows that pass every filter."""
        c = self.cols
        m = np.ones(len(self.fid), bool)
        if classes:
            m &= np.isin(c["CYLX"], [x.encode() for x in classes])
        if village:
            m &= c["CJDM"] == village.encode()
        if status:
            m &= c["XSZT"] == ("" if status == UNSET else status).encode("utf-8")
        if min_diff:
            m &= self.maxdiff >= float(min_diff)
        if text and text.strip():
            m &= self._text_rows(text.strip().encode("utf-8"))
        return np.nonzero(m)[0]

    def sort(self, idx, column, descending=False):
        if column == "PCT":
            key = self.pct_sc[idx]
        elif column == "CYLX":
            rank = {c.encode(): i for i, c in enumerate(ORDER)}
            key = np.array([rank.get(bytes(v), 99) for v in self.cols["CYLX"][idx]])
        else:
            key = self.cols[column][idx]
            if key.dtype == object:
                key = key.astype(str)
        order = np.argsort(key, kind="stable")
        if descending:
            order = order[::-1]
        return idx[order]
