"""Column data behind the discrepancy dock: parcels of a registration GeoPackage as numpy columns, with
filters and sorting as array operations (no per-row Python on filter), so a county opens and filters fast."""
import sqlite3
from pathlib import Path

import numpy as np

from .classify import CLASSES, ORDER

COLUMNS = ["DKBM", "XZMC", "CJMC", "ZJMC", "CBFMC", "HTMJ", "DBMJ", "SCMJ", "HTDBC", "HTSCC", "CYLX", "XSZT", "XSBZ"]
NUMERIC = {"HTMJ", "DBMJ", "SCMJ", "HTDBC", "HTSCC"}


class ParcelTable:
    def __init__(self, path):
        self.path = str(path)
        self.fid = np.zeros(0, np.int64)
        self.cols = {c: np.zeros(0, object) for c in COLUMNS}
        self.loaded_all = False
        self.class_counts = {c: 0 for c in ORDER}

    def _read(self, where="", args=()):
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        c = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            self.class_counts = {c_: 0 for c_ in ORDER}
            for cls, n in c.execute("SELECT CYLX, COUNT(*) FROM cbdk GROUP BY CYLX"):
                self.class_counts[cls] = n
            rows = c.execute(f"SELECT fid, {', '.join(COLUMNS)} FROM cbdk {where} ORDER BY fid", args).fetchall()
        finally:
            c.close()
        if not rows:
            return np.zeros(0, np.int64), {k: np.zeros(0, float if k in NUMERIC else object) for k in COLUMNS}
        cols = list(zip(*rows))
        fid = np.asarray(cols[0], np.int64)
        out = {}
        for k, v in zip(COLUMNS, cols[1:]):
            if k in NUMERIC:
                out[k] = np.array([np.nan if x is None else x for x in v], float)
            else:
                arr = np.empty(len(v), object)
                arr[:] = ["" if x is None else x for x in v]
                out[k] = arr
        return fid, out

    def load(self, include_consistent=False):
        """Default view: parcels whose class is not 'consistent' (the rest on demand)."""
        where = "" if include_consistent else "WHERE CYLX <> 'consistent'"
        self.fid, self.cols = self._read(where)
        self.loaded_all = include_consistent
        self._derived()
        return self

    def _derived(self):
        ht, sc = self.cols["HTMJ"], self.cols["SCMJ"]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.pct_sc = np.where(ht > 0, (ht - sc) / ht * 100.0, np.nan)
        self.maxdiff = np.fmax(np.abs(np.nan_to_num(self.cols["HTDBC"])), np.abs(np.nan_to_num(self.cols["HTSCC"])))
        self.village = np.array([f"{a}{b}" for a, b in zip(self.cols["XZMC"], self.cols["CJMC"])], object) if len(self.fid) else np.zeros(0, object)
        self._lower = np.char.lower(np.asarray(self.cols["DKBM"] + "\x1f" + self.cols["CBFMC"] + "\x1f" + self.cols["XSBZ"] + "\x1f" + self.village, dtype=str)) if len(self.fid) else np.zeros(0, str)

    def refresh_rows(self, fids):
        """Re-read the consultation fields of some parcels after an edit."""
        fids = list(map(int, fids))
        if not fids:
            return
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        c = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            pos = {int(f): i for i, f in enumerate(self.fid)}
            for i in range(0, len(fids), 500):
                chunk = fids[i:i + 500]
                for fid, zt, bz in c.execute(f"SELECT fid, XSZT, XSBZ FROM cbdk WHERE fid IN ({','.join('?' * len(chunk))})", chunk):
                    j = pos.get(fid)
                    if j is not None:
                        self.cols["XSZT"][j] = zt or ""
                        self.cols["XSBZ"][j] = bz or ""
        finally:
            c.close()

    def villages(self):
        return sorted(set(self.village.tolist())) if len(self.fid) else []

    def filter(self, classes=None, village=None, status=None, min_diff=0.0, text=""):
        """Indices of the rows that pass every filter."""
        m = np.ones(len(self.fid), bool)
        if classes:
            m &= np.isin(self.cols["CYLX"], list(classes))
        if village:
            m &= self.village == village
        if status:
            m &= self.cols["XSZT"] == ("" if status == "（未填）" else status)
        if min_diff:
            m &= self.maxdiff >= float(min_diff)
        if text:
            m &= np.char.find(self._lower, text.lower()) >= 0
        return np.nonzero(m)[0]

    def sort(self, idx, column, descending=False):
        if column == "PCT":
            key = self.pct_sc[idx]
        elif column == "CYLX":
            key = np.array([ORDER.index(c) if c in ORDER else 99 for c in self.cols["CYLX"][idx]])
        else:
            key = self.cols[column][idx]
        if key.dtype == object:
            key = key.astype(str)
        order = np.argsort(key, kind="stable")
        if descending:
            order = order[::-1]
        return idx[order]

    @staticmethod
    def class_label(code):
        return CLASSES.get(code, code)
