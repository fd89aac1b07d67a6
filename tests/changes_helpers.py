"""Changed states for the change-package tests: a copy of a generated delivery (tables in .sqlite, DK shapefile)
edited as each business kind would change it, and the registration-side edits of a merged GeoPackage.

Every edit keeps the delivery consistent the way the contract side would: a transfer moves the CBDKXX row, the
ledger row and the two contracts' totals; a new parcel comes with its household, contract, register, certificate
and ledger row; a cancelled parcel leaves DK, CBDKXX, the ledger and its contract's totals."""
import csv
import shutil
import sqlite3
from pathlib import Path

import shapely
from osgeo import ogr

from oracle import copy_delivery  # the tests call helpers.copy_delivery too

ogr.UseExceptions()


def _db(root):
    return next((Path(root) / "权属数据").glob("*.sqlite"))


def _dk(root):
    return next((Path(root) / "矢量数据").glob("DK*.shp"))


def _ledger(root):
    return next((Path(root) / "其他资料").glob("*台账*.csv"))


class Delivery:
    """Edits of one delivery copy; `changed` remembers which parcels each kind touched."""

    def __init__(self, root):
        self.root = Path(root)
        self.c = sqlite3.connect(str(_db(root)))
        self.c.execute("CREATE TEMP TABLE X AS SELECT rowid AS r, DKBM, CBFBM FROM CBDKXX")  # lookups without touching the delivery's schema
        self.c.execute("CREATE INDEX temp.ix_x_cbf ON X(CBFBM)")
        self.c.execute("CREATE INDEX temp.ix_x_dk ON X(DKBM)")
        self.changed = {}
        self._ledger_ops = []  # applied to the ledger CSV once, at close
        self._ds = None  # the DK shapefile, opened once for update
        self._repack = False
        self._households = None

    def close(self):
        self.c.commit()
        self.c.close()
        if self._ds is not None:
            if self._repack:
                lyr = self._ds.GetLayer(0)
                self._ds.ExecuteSQL(f"REPACK {lyr.GetName()}")
            self._ds = None
        if self._ledger_ops:
            path = _ledger(self.root)
            rows = list(csv.reader(path.read_text("utf-8-sig").splitlines()))
            body = rows[1:]
            for fn in self._ledger_ops:
                body = fn(body)
            with open(path, "w", encoding="utf-8-sig", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows([rows[0]] + body)

    def dk_layer(self):
        if self._ds is None:
            self._ds = ogr.Open(str(_dk(self.root)), 1)
            lyr = self._ds.GetLayer(0)
            lyr.SetIgnoredFields([lyr.GetLayerDefn().GetFieldDefn(i).GetName() for i in range(lyr.GetLayerDefn().GetFieldCount())
                                  if lyr.GetLayerDefn().GetFieldDefn(i).GetName() != "DKBM"] + ["OGR_GEOMETRY"])
            self._fids = {}
            for f in lyr:
                self._fids.setdefault(f.GetField("DKBM"), []).append(f.GetFID())
            lyr.SetIgnoredFields([])
        return self._ds.GetLayer(0)

    def dk_features(self, dkbm):
        lyr = self.dk_layer()
        return [lyr.GetFeature(fid) for fid in self._fids.get(dkbm, [])]

    def q(self, sql, args=()):
        return self.c.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ building blocks
    def households(self):
        """CBFBM of the households with exactly one contract and at least two single-holder parcels (as at first asked)."""
        if self._households is None:
            self._households = self._query_households()
        return self._households

    def _query_households(self):
        return [r[0] for r in self.q(
            "SELECT x.CBFBM FROM CBDKXX x WHERE COALESCE(x.SFQQQG, '') <> '1' GROUP BY x.CBFBM HAVING COUNT(*) >= 2 "
            "AND COUNT(DISTINCT x.CBHTBM) = 1 ORDER BY x.CBFBM")]

    def parcels_of(self, cbfbm):
        return [r[0] for r in self.q("SELECT c.DKBM FROM temp.X x JOIN CBDKXX c ON c.rowid = x.r WHERE x.CBFBM = ? "
                                     "AND COALESCE(c.SFQQQG, '') <> '1' ORDER BY c.DKBM", (cbfbm,))]

    def row(self, dkbm):
        cur = self.c.execute("SELECT c.* FROM temp.X x JOIN CBDKXX c ON c.rowid = x.r WHERE x.DKBM = ?", (dkbm,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))

    def contract_of(self, cbfbm):
        return self.q("SELECT CBHTBM FROM CBHT WHERE CBFBM = ?", (cbfbm,))[0][0]

    def _move_area(self, cbhtbm, area, n):
        self.c.execute("UPDATE CBHT SET HTZMJ = round(HTZMJ + ?, 2), HTZMJM = round((HTZMJ + ?) * 0.0015, 2), CBDKZS = CBDKZS + ? "
                       "WHERE CBHTBM = ?", (area, area, n, cbhtbm))

    def _ledger_edit(self, fn):
        self._ledger_ops.append(fn)

    # ------------------------------------------------------------------ business kinds
    def transfer(self, dkbm, to_cbfbm):
        """转让: the parcel's CBDKXX row and ledger row move to another household and its contract."""
        r = self.row(dkbm)
        to_ht = self.contract_of(to_cbfbm)
        cert = self.q("SELECT CBJYQZBM FROM CBDKXX WHERE CBFBM = ? LIMIT 1", (to_cbfbm,))[0][0]
        self.c.execute("UPDATE CBDKXX SET CBFBM = ?, CBHTBM = ?, CBJYQZBM = ? WHERE DKBM = ?", (to_cbfbm, to_ht, cert, dkbm))
        self.c.execute("UPDATE temp.X SET CBFBM = ? WHERE DKBM = ?", (to_cbfbm, dkbm))
        self._move_area(r["CBHTBM"], -r["HTMJ"], -1)
        self._move_area(to_ht, r["HTMJ"], 1)
        self._ledger_edit(lambda rows: [[x[0], to_cbfbm, cert, x[3]] if x[0] == dkbm else x for x in rows])
        self.changed.setdefault("转让", []).append(dkbm)

    def exchange(self, a, b):
        """互换: two parcels of two households swap contractors (with contracts, certificates and ledger rows)."""
        ra, rb = self.row(a), self.row(b)
        for dk, r in ((a, rb), (b, ra)):
            self.c.execute("UPDATE CBDKXX SET CBFBM = ?, CBHTBM = ?, CBJYQZBM = ? WHERE DKBM = ?", (r["CBFBM"], r["CBHTBM"], r["CBJYQZBM"], dk))
            self.c.execute("UPDATE temp.X SET CBFBM = ? WHERE DKBM = ?", (r["CBFBM"], dk))
        self._move_area(ra["CBHTBM"], rb["HTMJ"] - ra["HTMJ"], 0)
        self._move_area(rb["CBHTBM"], ra["HTMJ"] - rb["HTMJ"], 0)
        swap = {a: (rb["CBFBM"], rb["CBJYQZBM"]), b: (ra["CBFBM"], ra["CBJYQZBM"])}
        self._ledger_edit(lambda rows: [[x[0], *swap[x[0]], x[3]] if x[0] in swap else x for x in rows])
        self.changed.setdefault("互换", []).extend([a, b])

    def add_member(self, cbfbm, name="新成员", id_number="371526201801010011"):
        """家庭成员变化: a member is born into the household."""
        self.c.execute("INSERT INTO CBF_JTCY (CBFBM, CYXM, CYXB, CYZJLX, CYZJHM, YHZGX, CYBZ, SFGYR, CYBZSM) VALUES (?,?,?,?,?,?,?,?,?)",
                       (cbfbm, name, "1", "1", id_number, "20", None, "1", None))
        self.c.execute("UPDATE CBF SET CBFCYSL = CBFCYSL + 1 WHERE CBFBM = ?", (cbfbm,))
        self.changed.setdefault("家庭成员变化", []).extend(self.parcels_of(cbfbm))

    def management_transfer(self, dkbm, lzhtbm="371526LZ0000000001"):
        """流转: a transfer contract for one parcel of the household's contract."""
        r = self.row(dkbm)
        self.c.execute("INSERT INTO LZHT (CBHTBM, LZHTBM, CBFBM, SRFBM, LZFS, LZQX, LZQXKSRQ, LZQXJSRQ, LZMJ, LZDKS, LZQTDYT, LZHTDYT, "
                       "LZJGSM, HTQDRQ, LZMJM) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (r["CBHTBM"], lzhtbm, r["CBFBM"], "371526002001019999", "3", "5", "2024-01-01", "2028-12-31", r["HTMJ"], 1, "1", "1",
                        "每亩每年 800 元", "2023-12-20", round(r["HTMJ"] * 0.0015, 2)))
        self.c.execute("UPDATE CBDKXX SET LZHTBM = ? WHERE DKBM = ?", (lzhtbm, dkbm))
        self.changed.setdefault("流转", []).append(dkbm)

    def correct(self, dkbm, name="更正后地块名", shift=0.5):
        """更正: the parcel's name and its boundary (every vertex moved by `shift` m east), same contractor."""
        lyr = self.dk_layer()
        for f in self.dk_features(dkbm):
            g = shapely.from_wkb(bytes(f.GetGeometryRef().ExportToWkb()))
            g = shapely.transform(g, lambda xy: xy + [shift, 0.0])
            f.SetGeometry(ogr.CreateGeometryFromWkb(shapely.to_wkb(g)))
            f.SetField("DKMC", name)
            lyr.SetFeature(f)
        self.changed.setdefault("更正", []).append(dkbm)

    def cancel(self, dkbm):
        """注销: the parcel leaves DK, CBDKXX and the ledger; its contract's totals shrink."""
        r = self.row(dkbm)
        self.c.execute("DELETE FROM CBDKXX WHERE DKBM = ?", (dkbm,))
        self.c.execute("DELETE FROM temp.X WHERE DKBM = ?", (dkbm,))
        self._move_area(r["CBHTBM"], -r["HTMJ"], -1)
        self._ledger_edit(lambda rows: [x for x in rows if x[0] != dkbm])
        lyr = self.dk_layer()
        for fid in self._fids.pop(dkbm, []):
            lyr.DeleteFeature(fid)
        self._repack = True
        self.changed.setdefault("注销", []).append(dkbm)

    def first_registration(self, template_dkbm, serial="99001", cbf_serial="0999"):
        """首次登记: a newly contracted parcel (a copy of a parcel's shape moved 2 km north) for a new household with
        its member, contract, register, certificate and ledger row."""
        t = self.row(template_dkbm)
        fbf = t["FBFBM"]
        dkbm, cbfbm = fbf + serial, fbf + cbf_serial
        cbht = cbfbm + "J"
        lyr = self.dk_layer()
        src = self.dk_features(template_dkbm)[0]
        g = shapely.transform(shapely.from_wkb(bytes(src.GetGeometryRef().ExportToWkb())), lambda xy: xy + [0.0, 2000.0])
        f = ogr.Feature(lyr.GetLayerDefn())
        for i in range(src.GetFieldCount()):
            f.SetField(i, src.GetField(i))
        f.SetField("DKBM", dkbm)
        f.SetField("DKMC", "新承包地")
        f.SetField("SCMJ", round(g.area, 2))
        f.SetGeometry(ogr.CreateGeometryFromWkb(shapely.to_wkb(g)))
        lyr.CreateFeature(f)
        htmj = round(g.area, 2)
        self.c.execute("INSERT INTO CBF SELECT ?, CBFLX, '新承包户', CBFZJLX, '371526199001010022', CBFDZ, YZBM, LXDH, 1, CBFDCRQ, CBFDCY, CBFDCJS, "
                       "GSJS, GSJSR, GSSHRQ, GSSHR FROM CBF WHERE CBFBM = ?", (cbfbm, t["CBFBM"]))
        self.c.execute("INSERT INTO CBF_JTCY (CBFBM, CYXM, CYXB, CYZJLX, CYZJHM, YHZGX, SFGYR) "
                       "VALUES (?, '新承包户', '1', '1', '371526199001010022', '02', '1')",
                       (cbfbm,))
        self.c.execute("INSERT INTO CBHT SELECT ?, NULL, FBFBM, ?, CBFS, CBQXQ, CBQXZ, ?, 1, QDSJ, ?, NULL, NULL FROM CBHT WHERE CBHTBM = ?",
                       (cbht, cbfbm, htmj, round(htmj * 0.0015, 2), t["CBHTBM"]))
        self.c.execute("INSERT INTO CBJYQZDJB SELECT ?, FBFBM, ?, CBFS, CBQX, CBQXQ, CBQXZ, ?, NULL, CBJYQZLSH || '9', DJBFJ, DBR, DJSJ "
                       "FROM CBJYQZDJB WHERE CBJYQZBM = ?", (cbht, cbfbm, f"图件/{fbf}/DKSYT{cbht}.pdf", t["CBJYQZBM"]))
        self.c.execute("INSERT INTO CBJYQZ SELECT ?, FZJG, FZRQ, QZSFLQ, QZLQRQ, QZLQRXM, QZLQRZJLX, QZLQRZJHM FROM CBJYQZ WHERE CBJYQZBM = ?",
                       (cbht, t["CBJYQZBM"]))
        r = self.c.execute("INSERT INTO CBDKXX (DKBM, FBFBM, CBFBM, CBJYQQDFS, HTMJ, CBHTBM, LZHTBM, CBJYQZBM, YHTMJ, HTMJM, YHTMJM, SFQQQG) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", (dkbm, fbf, cbfbm, "110", htmj, cbht, None, cbht, None, round(htmj * 0.0015, 2), None, "2"))
        self.c.execute("INSERT INTO temp.X VALUES (?,?,?)", (r.lastrowid, dkbm, cbfbm))
        self._ledger_edit(lambda rows: rows + [[dkbm, cbfbm, cbht, f"{htmj:.2f}"]])
        self.changed.setdefault("首次登记", []).append(dkbm)
        return dkbm


def all_kinds(d):
    """One change of every business kind on distinct households of delivery `d` (a Delivery)."""
    hh = d.households()
    a, b, c, e, f, g, h = hh[0], hh[1], hh[2], hh[3], hh[4], hh[5], hh[6]
    d.transfer(d.parcels_of(a)[0], b)
    d.exchange(d.parcels_of(c)[0], d.parcels_of(e)[0])
    d.add_member(f)
    d.management_transfer(d.parcels_of(g)[0])
    d.correct(d.parcels_of(h)[0])
    d.cancel(d.parcels_of(hh[7])[-1])
    d.first_registration(d.parcels_of(hh[8])[0])
    return d.changed


def remove_parcels(gpkg_path, dkbms):
    """The registration side's cancellation done by hand (a merge never removes a parcel): the working layer and
    right-holder rows of the parcels go; their 不动产单元号 stay allocated."""
    from land_contract_bridge.core import gpkg
    c = gpkg.connect(gpkg_path)
    marks = ",".join("?" * len(dkbms))
    c.execute("BEGIN")
    holders = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND lower(name) = 'qlr'")]
    for t in holders:
        c.execute(f'DELETE FROM "{t}" WHERE BDCDYH IN (SELECT BDCDYH FROM cbdk WHERE DKBM IN ({marks}))', dkbms)
    for t in [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('ZDJBXX', 'NYDSYQ')")]:
        c.execute(f'DELETE FROM "{t}" WHERE BDCDYH IN (SELECT BDCDYH FROM cbdk WHERE DKBM IN ({marks}))', dkbms)
    c.execute(f"DELETE FROM cbdk WHERE DKBM IN ({marks})", dkbms)
    c.execute("COMMIT")
    c.close()


def build_world(w, registration_side=True):
    """The change-package tests' states in folder `w`: D, a generated delivery; A, its registration database; D2, D
    with one change of every business kind (`changed`: the parcels of each); with registration_side, A2: A as the
    registration side has it after D2 (merged with replace, the cancelled parcel removed)."""
    from conftest import run_generator
    from land_contract_bridge.core import merge
    d, _truth = run_generator(w / "gen", "--parcels", "300", "--seed", "5", "--township", "002")
    a = w / "A.gpkg"
    merge.merge(d, a)
    d2 = copy_delivery(d, w / "d2")
    ed = Delivery(d2)
    changed = all_kinds(ed)
    ed.close()
    world = dict(w=w, D=d, A=a, D2=d2, changed=changed)
    if registration_side:
        a2 = w / "A2.gpkg"
        shutil.copy(a, a2)
        merge.merge(d2, a2, on_conflict="replace")
        remove_parcels(a2, changed["注销"])
        world["A2"] = a2
    return world
