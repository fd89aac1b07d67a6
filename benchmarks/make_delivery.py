#!/usr/bin/env python3
"""Write a realistic synthetic 汇交 delivery of N parcels in the bundled sample's layout, with a truth.json.

    python benchmarks/make_delivery.py --out DIR --parcels 100000 [--township 002] [--epsg 4548]
                                       [--defects 0.001] [--no-cpg] [--seed 1]

DK and the region layers as GBK shapefiles (.cpg unless --no-cpg), the 12 attribute tables in
<county><year>.sqlite (an .mdb cannot be written on Linux), the unit-code table and summary tables as CSV,
the certificate-issue ledger, plot-sketch PDFs (hard links to one small PDF), a work report. Parcels are
strips in rows inside each village group, neighbours sharing edges vertex for vertex, rows separated by
6 m roads. Clean by default; --defects R plants defects of every kind on a fraction R of households and
records each in truth.json, with every parcel's expected area class."""
import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import sys
from pathlib import Path

import shapely
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强海燕春花国华德明淑珍凤英建华喆堃垚昇玥珺东立长庆"
PLACE = "东西南北前后大小新旧上下马郭李王张刘陈杨黄赵吴周徐孙胡高林何罗郑梁谢宋唐韩"
FIELDS = ["二道沟", "东洼", "西岭", "南大地", "北坡", "老坟地", "河滩", "庄前", "庄后", "大井", "柳树行", "三角地"]
NUM = "一二三四五六七八九十"
MU = 0.0015
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_char(s17):
    return "10X98765432"[sum(int(a) * w for a, w in zip(s17, W)) % 11]


def make_id(rng, county, male, seq):
    born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 70))
    s = f"{county}{born:%Y%m%d}{seq % 100:02d}{(rng.randrange(0, 5) * 2 + (1 if male else 0))}"
    return s + check_char(s)


def name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def ordinal(i):
    return (NUM[i] if i < 10 else f"十{NUM[i - 10]}" if i < 20 else str(i + 1))


SCHEMA = {  # the standard 12 tables (types as SQLite declarations, NOT NULL like the Access template)
    "FBF": "FBFBM TEXT NOT NULL, FBFMC TEXT NOT NULL, FBFFZRXM TEXT NOT NULL, FZRZJLX TEXT NOT NULL, FZRZJHM TEXT NOT NULL, LXDH TEXT, FBFDZ TEXT NOT NULL, YZBM TEXT NOT NULL, FBFDCY TEXT NOT NULL, FBFDCRQ TEXT NOT NULL, FBFDCJS TEXT",
    "CBF": "CBFBM TEXT NOT NULL, CBFLX TEXT NOT NULL, CBFMC TEXT NOT NULL, CBFZJLX TEXT NOT NULL, CBFZJHM TEXT NOT NULL, CBFDZ TEXT NOT NULL, YZBM TEXT NOT NULL, LXDH TEXT, CBFCYSL INTEGER NOT NULL, CBFDCRQ TEXT NOT NULL, CBFDCY TEXT NOT NULL, CBFDCJS TEXT, GSJS TEXT, GSJSR TEXT NOT NULL, GSSHRQ TEXT NOT NULL, GSSHR TEXT NOT NULL",
    "CBF_JTCY": "CBFBM TEXT NOT NULL, CYXM TEXT NOT NULL, CYXB TEXT NOT NULL, CYZJLX TEXT NOT NULL, CYZJHM TEXT NOT NULL, YHZGX TEXT NOT NULL, CYBZ TEXT, SFGYR TEXT, CYBZSM TEXT",
    "CBHT": "CBHTBM TEXT NOT NULL, YCBHTBM TEXT, FBFBM TEXT NOT NULL, CBFBM TEXT NOT NULL, CBFS TEXT NOT NULL, CBQXQ TEXT NOT NULL, CBQXZ TEXT NOT NULL, HTZMJ REAL NOT NULL, CBDKZS INTEGER NOT NULL, QDSJ TEXT NOT NULL, HTZMJM REAL, YHTZMJ REAL, YHTZMJM REAL",
    "CBDKXX": "DKBM TEXT NOT NULL, FBFBM TEXT NOT NULL, CBFBM TEXT NOT NULL, CBJYQQDFS TEXT NOT NULL, HTMJ REAL NOT NULL, CBHTBM TEXT NOT NULL, LZHTBM TEXT, CBJYQZBM TEXT NOT NULL, YHTMJ REAL, HTMJM REAL, YHTMJM REAL, SFQQQG TEXT",
    "CBJYQZDJB": "CBJYQZBM TEXT NOT NULL, FBFBM TEXT NOT NULL, CBFBM TEXT NOT NULL, CBFS TEXT NOT NULL, CBQX TEXT NOT NULL, CBQXQ TEXT NOT NULL, CBQXZ TEXT NOT NULL, DKSYT TEXT NOT NULL, YCBJYQZBH TEXT, CBJYQZLSH TEXT NOT NULL, DJBFJ TEXT, DBR TEXT NOT NULL, DJSJ TEXT NOT NULL",
    "CBJYQZ": "CBJYQZBM TEXT NOT NULL, FZJG TEXT NOT NULL, FZRQ TEXT NOT NULL, QZSFLQ TEXT NOT NULL, QZLQRQ TEXT, QZLQRXM TEXT, QZLQRZJLX TEXT, QZLQRZJHM TEXT",
    "CBJYQZ_QZBF": "CBJYQZBM TEXT NOT NULL, QZBFYY TEXT NOT NULL, BFRQ TEXT NOT NULL, QZBFLQRQ TEXT NOT NULL, QZBFLQRXM TEXT NOT NULL, BFLQRZJLX TEXT NOT NULL, BFLQRZJHM TEXT NOT NULL",
    "CBJYQZ_QZHF": "CBJYQZBM TEXT NOT NULL, QZHFYY TEXT NOT NULL, HFRQ TEXT NOT NULL, QZHFLQRQ TEXT NOT NULL, QZHFLQRXM TEXT NOT NULL, HFLQRZJLX TEXT NOT NULL, HFLQRZJHM TEXT NOT NULL",
    "CBJYQZ_QZZX": "CBJYQZBM TEXT NOT NULL, ZXYY TEXT NOT NULL, ZXRQ TEXT NOT NULL",
    "LZHT": "CBHTBM TEXT NOT NULL, LZHTBM TEXT NOT NULL, CBFBM TEXT NOT NULL, SRFBM TEXT NOT NULL, LZFS TEXT NOT NULL, LZQX TEXT NOT NULL, LZQXKSRQ TEXT NOT NULL, LZQXJSRQ TEXT NOT NULL, LZMJ REAL NOT NULL, LZDKS INTEGER NOT NULL, LZQTDYT TEXT, LZHTDYT TEXT, LZJGSM TEXT NOT NULL, HTQDRQ TEXT NOT NULL, LZMJM REAL",
    "QSLYZLFJ": "CBJYQZBM TEXT NOT NULL, ZLFJBH TEXT NOT NULL, ZLFJMC TEXT NOT NULL, ZLFJRQ TEXT NOT NULL, FJ TEXT NOT NULL",
}
DEFECT_KINDS = ["self_intersection", "overlap", "empty_geometry", "dkbm_length", "invalid_code", "id_check_digit", "cyxb_id_mismatch",
                "dk_without_cbdkxx", "cbdkxx_dkbm_not_in_dk", "dksyt_file_missing", "scmj_geometry_mismatch", "scmjm_mismatch",
                "htmjm_mismatch", "htzmj_sum_mismatch", "cbdkzs_mismatch", "cbfcysl_mismatch", "no_household_head",
                "two_household_heads", "cbqx_reversed", "cbqxq_djb_mismatch", "required_field_empty", "ledger_dbmj_mismatch"]
CATEGORY = {"self_intersection": "geometry", "overlap": "geometry", "empty_geometry": "geometry", "dkbm_length": "code", "invalid_code": "code",
            "id_check_digit": "code", "cyxb_id_mismatch": "code", "dk_without_cbdkxx": "reference", "cbdkxx_dkbm_not_in_dk": "reference",
            "dksyt_file_missing": "reference", "scmj_geometry_mismatch": "area", "scmjm_mismatch": "area", "htmjm_mismatch": "area",
            "htzmj_sum_mismatch": "area", "cbdkzs_mismatch": "area", "cbfcysl_mismatch": "member", "no_household_head": "member",
            "two_household_heads": "member", "cbqx_reversed": "date", "cbqxq_djb_mismatch": "date", "required_field_empty": "schema",
            "ledger_dbmj_mismatch": "area"}


class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.county, self.cname, self.year = a.county, a.county_name, a.year
        self.prefixed = a.epsg in range(4513, 4534)
        self.x0 = (39_000_000 if self.prefixed else 0) + 428_000 + (int(a.township) - 1) * 40_000
        self.y0 = 4_072_000
        self.parcels, self.households, self.groups = [], [], []
        self.defects, self.tables = [], {t: [] for t in SCHEMA}
        self.ledger = []

    # ---------------------------------------------------------------- layout
    def build(self):
        a, rng = self.a, self.rng
        n_target = a.parcels
        t = a.township
        village, gx, gy = 0, 0, 0
        while len(self.parcels) < n_target:
            village += 1
            vname = rng.choice(PLACE) + rng.choice(PLACE) + "村"
            for g in range(rng.randint(2, 6)):
                if len(self.parcels) >= n_target:
                    break
                fbfbm = f"{self.county}{t}{village:03d}{g + 1:02d}"
                share = (len(self.groups) % 40 == 7)
                size = min(n_target - len(self.parcels), rng.randint(4, 5) if share else rng.randint(80, 400))
                grp = dict(FBFBM=fbfbm, village=f"{self.county}{t}{village:03d}", vname=vname, gname=f"{ordinal(g)}组", share=share,
                           x=self.x0 + gx * 1500.0, y=self.y0 + gy * 1500.0, parcels=[])
                gx += 1
                if gx >= 25:
                    gx, gy = 0, gy + 1
                self.groups.append(grp)
                self._group_parcels(grp, size)
                self._group_households(grp)
        self.share_groups = [g for g in self.groups if g["share"]]

    def _group_parcels(self, grp, size):
        rng = self.rng
        x, y = grp["x"], grp["y"]
        row_h = rng.uniform(70, 140)
        xs = x
        serial = 0
        while serial < size:
            w = rng.uniform(40, 90) if grp["share"] else rng.uniform(5, 25)
            if xs + w > grp["x"] + 1400:  # next row, 6 m road between rows
                xs, y = grp["x"], y + row_h + 6
                row_h = rng.uniform(70, 140)
            serial += 1
            ring = [(xs, y), (xs, y + row_h), (xs + w, y + row_h), (xs + w, y), (xs, y)]
            if rng.random() < 0.5:  # real strips have bends on their unshared ends: extra vertices top and bottom
                k = rng.randint(1, 3)
                top = [(xs + w * (j + 1) / (k + 1), y + row_h + rng.uniform(-0.4, 0.4)) for j in range(k)]
                bottom = [(xs + w * (k - j) / (k + 1), y + rng.uniform(-0.4, 0.4)) for j in range(k)]
                ring = [(xs, y), (xs, y + row_h), *top, (xs + w, y + row_h), (xs + w, y), *bottom, (xs, y)]
            p = dict(DKBM=f"{grp['FBFBM']}{serial:05d}", ring=ring, group=grp, DKLB="10", cbdkxx=[], dk=True)
            if not grp["share"] and rng.random() < 0.01:
                p["DKLB"] = rng.choice(["21", "22"])
            grp["parcels"].append(p)
            self.parcels.append(p)
            xs += w

    def _group_households(self, grp):
        rng = self.rng
        contract = [p for p in grp["parcels"] if p["DKLB"] == "10"]
        serial = 0
        if grp["share"]:
            hh = [self._household(grp, s + 1) for s in range(rng.randint(8, 20))]
            for p in contract:
                area = round(shapely.area(shapely.Polygon(p["ring"])), 2)
                total_members = sum(len(h["members"]) for h in hh)
                shares, acc = [], 0.0
                for h in hh[:-1]:
                    v = round(area * len(h["members"]) / total_members, 2)
                    shares.append(v)
                    acc += v
                shares.append(round(area - acc, 2))
                for h, v in zip(hh, shares):
                    p["cbdkxx"].append(dict(h=h, HTMJ=v, SFQQQG="1"))
                    h["parcels"].append(p)
            return
        i = 0
        while i < len(contract):
            serial += 1
            h = self._household(grp, serial)
            k = rng.randint(2, 6)
            for p in contract[i:i + k]:
                p["cbdkxx"].append(dict(h=h, HTMJ=None, SFQQQG="2"))
                h["parcels"].append(p)
            i += k

    def _household(self, grp, serial):
        rng = self.rng
        n = rng.randint(2, 6)
        members = []
        head_male = rng.random() < 0.85
        for j in range(n):
            male = head_male if j == 0 else rng.random() < 0.5
            rel = "02" if j == 0 else ("10" if j == 1 else rng.choice(["20", "30", "41", "42", "51", "52"]))
            members.append(dict(name=name(rng), male=male, id=make_id(rng, self.county, male, serial * 7 + j), rel=rel))
        h = dict(CBFBM=f"{grp['FBFBM']}{serial:04d}", grp=grp, members=members, parcels=[])
        self.households.append(h)
        return h

    # ---------------------------------------------------------------- areas and defects
    def areas(self):
        rng = self.rng
        for p in self.parcels:
            p["geom"] = shapely.Polygon(p["ring"])
            p["SCMJ"] = round(shapely.area(p["geom"]), 2)
            for r in p["cbdkxx"]:
                if r["HTMJ"] is None:
                    u = rng.random()
                    if u < 0.58:
                        r["HTMJ"] = p["SCMJ"]
                    elif u < 0.75:
                        r["HTMJ"] = round(max(0.5, round(p["SCMJ"] * MU * 2) / 2) / MU, 2)
                    else:
                        r["HTMJ"] = round(p["SCMJ"] * (1 + rng.choice((-1, 1)) * rng.uniform(0.02, 0.08)), 2)
                r["DBMJ"] = r["HTMJ"]
        for h in self.households:
            h["HTZMJ"] = round(sum(r["HTMJ"] for p in h["parcels"] for r in p["cbdkxx"] if r["h"] is h), 2)
            h["CBDKZS"] = sum(1 for p in h["parcels"] for r in p["cbdkxx"] if r["h"] is h)

    def plant(self):
        rate = self.a.defects
        if rate <= 0:
            return
        rng = self.rng
        normal = [h for h in self.households if not h["grp"]["share"] and len(h["parcels"]) >= 2]
        rng.shuffle(normal)
        n = max(len(DEFECT_KINDS), int(len(self.households) * rate))
        used = set()
        for i, h in enumerate(normal[:n]):
            kind = DEFECT_KINDS[i % len(DEFECT_KINDS)]
            self._plant(kind, h, used)

    def _rec(self, kind, table, key, field, **extra):
        self.defects.append(dict(kind=kind, category=CATEGORY[kind], table=table, key=key, field=field, **extra))

    def _plant(self, kind, h, used):
        p = h["parcels"][0]
        p2 = h["parcels"][1]
        if kind == "self_intersection":
            r = p["ring"]
            x0, x1 = r[0][0], r[-2][0] if len(r) > 5 else r[3][0]
            ys, yn = r[0][1], r[1][1]
            p["ring"] = [(x0, ys), (x1, yn), (x0, yn), (x1, ys), (x0, ys)]  # bow tie
            p["geom"] = shapely.Polygon(p["ring"])
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind == "overlap":
            grp = p["group"]["parcels"]
            j = grp.index(p)
            nb = grp[j + 1] if j + 1 < len(grp) else None
            if nb is None or abs(min(x for x, _ in nb["ring"]) - max(x for x, _ in p["ring"])) > 1e-9 or abs(nb["ring"][0][1] - p["ring"][0][1]) > 1e-9:
                return self._plant("scmjm_mismatch", h, used)
            r = p["ring"]
            right = max(x for x, _ in r)
            d = min(1.0, (max(x for x, _ in nb["ring"]) - min(x for x, _ in nb["ring"])) / 3)
            p["ring"] = [((x + d, y) if abs(x - right) < 1e-9 else (x, y)) for x, y in r]
            p["geom"] = shapely.Polygon(p["ring"])
            p["SCMJ"] = round(p["geom"].area, 2)
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"], other_DKBM=nb["DKBM"])
        elif kind == "empty_geometry":
            p["empty"] = True
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind == "dkbm_length":
            p["DKBM"] = p["DKBM"][:-1]
            self._rec(kind, "DK", p["DKBM"], "DKBM")
        elif kind == "invalid_code":
            p["bad_code"] = ("DKLB", "19")
            self._rec(kind, "DK", p["DKBM"], "DKLB", DKBM=p["DKBM"], value="19")
        elif kind == "id_check_digit":
            m = h["members"][-1]
            m["id"] = m["id"][:17] + ("0" if m["id"][17] != "0" else "1")
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "CYZJHM")
        elif kind == "cyxb_id_mismatch":
            h["members"][-1]["sex_flip"] = True
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "CYXB")
        elif kind == "dk_without_cbdkxx":
            r = next(r for r in p["cbdkxx"] if r["h"] is h)
            p["cbdkxx"].remove(r)
            h["HTZMJ"] = round(h["HTZMJ"] - r["HTMJ"], 2)
            h["CBDKZS"] -= 1
            self._rec(kind, "DK", p["DKBM"], "DKBM", DKBM=p["DKBM"])
        elif kind == "cbdkxx_dkbm_not_in_dk":
            p["dk"] = False
            self._rec(kind, "CBDKXX", p["DKBM"], "DKBM", DKBM=p["DKBM"], CBFBM=h["CBFBM"])
        elif kind == "dksyt_file_missing":
            h["no_pdf"] = True
            self._rec(kind, "CBJYQZDJB", f"图件/{h['grp']['FBFBM']}/DKSYT{h['CBFBM']}J.pdf", "DKSYT", CBJYQZBM=h["CBFBM"] + "J")
        elif kind == "scmj_geometry_mismatch":
            p["SCMJ"] = round(p["SCMJ"] * 1.05, 2)
            p["scmj_attr_only"] = True
            self._rec(kind, "DK", p["DKBM"], "SCMJ", DKBM=p["DKBM"])
        elif kind == "scmjm_mismatch":
            p["SCMJM_off"] = 0.2
            self._rec(kind, "DK", p["DKBM"], "SCMJM", DKBM=p["DKBM"])
        elif kind == "htmjm_mismatch":
            next(r for r in p["cbdkxx"] if r["h"] is h)["HTMJM_off"] = 0.3
            self._rec(kind, "CBDKXX", p["DKBM"], "HTMJM", DKBM=p["DKBM"], CBFBM=h["CBFBM"])
        elif kind == "htzmj_sum_mismatch":
            h["HTZMJ"] = round(h["HTZMJ"] + 55.5, 2)
            self._rec(kind, "CBHT", h["CBFBM"] + "J", "HTZMJ")
        elif kind == "cbdkzs_mismatch":
            h["CBDKZS"] += 1
            self._rec(kind, "CBHT", h["CBFBM"] + "J", "CBDKZS")
        elif kind == "cbfcysl_mismatch":
            h["cysl_off"] = 1
            self._rec(kind, "CBF", h["CBFBM"], "CBFCYSL")
        elif kind == "no_household_head":
            h["members"][0]["rel"] = "10"
            if len(h["members"]) > 1:
                h["members"][1]["rel"] = "20"
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "YHZGX")
        elif kind == "two_household_heads":
            h["members"][-1]["rel"] = "02"
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "YHZGX")
        elif kind == "cbqx_reversed":
            h["reversed"] = True
            self._rec(kind, "CBHT", h["CBFBM"] + "J", "CBQXQ")
        elif kind == "cbqxq_djb_mismatch":
            h["djb_shift"] = True
            self._rec(kind, "CBJYQZDJB", h["CBFBM"] + "J", "CBQXQ")
        elif kind == "required_field_empty":
            p["DLDJ_empty"] = True
            self._rec(kind, "DK", p["DKBM"], "DLDJ", DKBM=p["DKBM"])
        elif kind == "ledger_dbmj_mismatch":
            r1 = next(r for r in p["cbdkxx"] if r["h"] is h)
            r2 = next(r for r in p2["cbdkxx"] if r["h"] is h)
            d = 33.3
            r1["DBMJ"] = round(r1["HTMJ"] + d, 2)
            r2["DBMJ"] = round(r2["HTMJ"] - d, 2)
            self._rec(kind, "确权登记发证台账", p["DKBM"], "DBMJ", DKBM=p["DKBM"], paired_with=p2["DKBM"])
            self._rec(kind, "确权登记发证台账", p2["DKBM"], "DBMJ", DKBM=p2["DKBM"], paired_with=p["DKBM"])

    # ---------------------------------------------------------------- classes (independent of the plugin)
    def classes(self, tol=0.01):
        out = {}
        contract_bad = set()
        for h in self.households:
            rows = [r for p in h["parcels"] for r in p["cbdkxx"] if r["h"] is h]
            if rows and abs(h["HTZMJ"] - sum(r["DBMJ"] for r in rows)) > tol:
                contract_bad.add(h["CBFBM"])
        for p in self.parcels:
            rows = p["cbdkxx"]
            ht = round(sum(r["HTMJ"] for r in rows), 2) if rows else None
            db = round(sum(r["DBMJ"] for r in rows), 2) if rows else None
            if any(r["SFQQQG"] == "1" for r in rows):
                c = "share_only"
            elif not rows or not p["dk"]:
                c = "unmatched"
            elif abs(ht - db) > tol or any(r["h"]["CBFBM"] in contract_bad for r in rows):
                c = "contract_register_mismatch"
            elif abs(ht - p["SCMJ"]) > tol:
                c = "measured_differs"
            else:
                c = "consistent"
            out[p["DKBM"]] = dict(**{"class": c}, HTMJ=ht, DBMJ=db, SCMJ=p["SCMJ"] if p["dk"] else None,
                                  village=p["group"]["village"], group=p["group"]["FBFBM"], DKLB=p["DKLB"] if p["dk"] else None,
                                  DKMC=p.get("DKMC") if p["dk"] else None, ZJRXM=p.get("ZJRXM") if p["dk"] else None,
                                  CBFBM=rows[0]["h"]["CBFBM"] if rows else None)
        return out

    # ---------------------------------------------------------------- writing
    def write(self):
        a = self.a
        root = Path(a.out) / f"{self.county}{self.cname}"
        if root.exists():
            shutil.rmtree(root)
        for sub in ("矢量数据", "权属数据", "汇总表格", "图件", "文字报告", "其他资料/权属来源", "栅格数据"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.root = root
        tag = f"{self.county}{self.year}"
        self._write_dk(root / "矢量数据" / f"DK{tag}.shp")
        self._write_regions(root / "矢量数据", tag)
        (root / "矢量数据" / f"SL{tag}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><Metadata><dataIdInfo><title>{self.county}{self.cname}农村土地承包经营权确权登记数据库</title>'
            f"<geoID>{self.county}</geoID></dataIdInfo><refSysInfo><centralMer>117</centralMer></refSysInfo></Metadata>", "utf-8")
        self._write_tables(root / "权属数据" / f"{tag}.sqlite")
        if a.no_cpg:
            for cpg in (root / "矢量数据").glob("*.cpg"):
                cpg.unlink()
        (root / "文字报告" / f"{self.county}{self.cname}确权登记工作报告.txt").write_text(f"{self.cname}确权登记工作报告（合成数据）\n", "utf-8")
        (root / "栅格数据" / "说明.txt").write_text("无栅格数据\n", "utf-8")

    def _write_dk(self, path):
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(self.a.epsg)
        ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(path))
        lyr = ds.CreateLayer(path.stem, srs, ogr.wkbPolygon, ["ENCODING=CP936"])
        spec = [("BSM", ogr.OFTInteger, 9, 0), ("YSDM", ogr.OFTString, 6, 0), ("DKBM", ogr.OFTString, 19, 0), ("DKMC", ogr.OFTString, 50, 0),
                ("SYQXZ", ogr.OFTString, 2, 0), ("DKLB", ogr.OFTString, 2, 0), ("TDLYLX", ogr.OFTString, 3, 0), ("DLDJ", ogr.OFTString, 2, 0),
                ("TDYT", ogr.OFTString, 1, 0), ("SFJBNT", ogr.OFTString, 1, 0), ("SCMJ", ogr.OFTReal, 16, 2), ("DKDZ", ogr.OFTString, 50, 0),
                ("DKXZ", ogr.OFTString, 50, 0), ("DKNZ", ogr.OFTString, 50, 0), ("DKBZ", ogr.OFTString, 50, 0), ("DKBZXX", ogr.OFTString, 254, 0),
                ("ZJRXM", ogr.OFTString, 100, 0), ("KJZB", ogr.OFTString, 254, 0), ("SCMJM", ogr.OFTReal, 16, 2)]
        for nm, t, w, pr in spec:
            fd = ogr.FieldDefn(nm, t)
            fd.SetWidth(w)
            fd.SetPrecision(pr)
            lyr.CreateField(fd)
        defn = lyr.GetLayerDefn()
        rng = self.rng
        for i, p in enumerate(self.parcels):
            if not p["dk"]:
                continue
            f = ogr.Feature(defn)
            owner = p["cbdkxx"][0]["h"]["members"][0]["name"] if p["cbdkxx"] else "集体"
            p["DKMC"] = p["group"].setdefault("field", rng.choice(FIELDS)) if p["DKLB"] == "10" else "自留地"
            p["ZJRXM"] = owner
            vals = dict(BSM=i + 1, YSDM="211011", DKBM=p["DKBM"], DKMC=p["DKMC"], SYQXZ="31", DKLB=p["DKLB"], TDLYLX="012",
                        DLDJ="" if p.get("DLDJ_empty") else f"{rng.randint(3, 8):02d}", TDYT="1", SFJBNT=p.setdefault("SFJBNT", "2"),
                        SCMJ=p["SCMJ"], DKDZ="路", DKXZ="路", DKNZ="沟渠", DKBZ="沟渠", DKBZXX="", ZJRXM=owner, KJZB="",
                        SCMJM=round(p["SCMJ"] * MU + p.get("SCMJM_off", 0), 2))
            if p.get("bad_code"):
                vals[p["bad_code"][0]] = p["bad_code"][1]
            for k, v in vals.items():
                f.SetField(k, v)
            if not p.get("empty"):
                f.SetGeometry(ogr.CreateGeometryFromWkb(shapely.to_wkb(p["geom"], output_dimension=2)))
            lyr.CreateFeature(f)
        ds = None

    def _write_regions(self, folder, tag):
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(self.a.epsg)

        def layer(prefix, fields, rows):
            ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(folder / f"{prefix}{tag}.shp"))
            lyr = ds.CreateLayer(f"{prefix}{tag}", srs, ogr.wkbPolygon, ["ENCODING=CP936"])
            for nm, w in fields:
                fd = ogr.FieldDefn(nm, ogr.OFTString)
                fd.SetWidth(w)
                lyr.CreateField(fd)
            for vals, geom in rows:
                f = ogr.Feature(lyr.GetLayerDefn())
                for k, v in vals.items():
                    f.SetField(k, v)
                f.SetGeometry(ogr.CreateGeometryFromWkb(shapely.to_wkb(geom, output_dimension=2)))
                lyr.CreateFeature(f)
            ds = None
        boxes = {g["FBFBM"]: shapely.box(*shapely.total_bounds([p["geom"] for p in g["parcels"]])).buffer(3, join_style=2) for g in self.groups}
        layer("ZJQY", [("ZJQYDM", 14), ("ZJQYMC", 100)], [({"ZJQYDM": g["FBFBM"], "ZJQYMC": g["gname"]}, boxes[g["FBFBM"]]) for g in self.groups])
        villages = {}
        for g in self.groups:
            villages.setdefault(g["village"], (g["vname"], []))[1].append(boxes[g["FBFBM"]])
        layer("CJQY", [("CJQYDM", 12), ("CJQYMC", 100)], [({"CJQYDM": v, "CJQYMC": n}, shapely.envelope(shapely.union_all(b))) for v, (n, b) in villages.items()])
        town = shapely.envelope(shapely.union_all(list(boxes.values())))
        layer("XJQY", [("XJQYDM", 9), ("XJQYMC", 100)], [({"XJQYDM": f"{self.county}{self.a.township}", "XJQYMC": "合成镇"}, town)])
        layer("XJXZQ", [("XZQDM", 6), ("XZQMC", 100)], [({"XZQDM": self.county, "XZQMC": self.cname}, town)])
        # Basic-farmland zones: every 3rd group's box; its parcels get SFJBNT = 1 (already written as 2 -> set before DK).

    def _write_tables(self, path):
        rng = self.rng
        tb = self.tables
        root = self.root
        pdf_src = root / "图件" / ".template.pdf"
        pdf_src.write_bytes(PDF)
        codes = [(f"{self.county}00000000", f"山东省聊城市{self.cname}", "县"), (f"{self.county}{self.a.township}00000", f"山东省聊城市{self.cname}合成镇", "乡镇")]
        seen_v = set()
        for g in self.groups:
            if g["village"] not in seen_v:
                seen_v.add(g["village"])
                codes.append((g["village"] + "00", f"山东省聊城市{self.cname}合成镇{g['vname']}", "村"))
            codes.append((g["FBFBM"], f"山东省聊城市{self.cname}合成镇{g['vname']}{g['gname']}", "组"))
            tb["FBF"].append((g["FBFBM"], f"{g['vname']}{g['gname']}", name(rng), "1", make_id(rng, self.county, True, 1), "13800000000",
                              f"山东省聊城市{self.cname}合成镇{g['vname']}", "252800", name(rng), "2015-05-01", None))
        for h in self.households:
            grp = h["grp"]
            head = h["members"][0]
            dc = dt.date(2015, 6, 1) + dt.timedelta(days=rng.randrange(0, 40))
            gs = dc + dt.timedelta(days=rng.randrange(20, 50))
            qd = gs + dt.timedelta(days=rng.randrange(5, 30))
            tb["CBF"].append((h["CBFBM"], "1", head["name"], "1", head["id"], f"山东省聊城市{self.cname}合成镇{grp['vname']}", "252800",
                              f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}", len(h["members"]) + h.get("cysl_off", 0), dc.isoformat(), name(rng),
                              "经调查核实无误。", "公示无异议", name(rng), gs.isoformat(), name(rng)))
            for m in h["members"]:
                sex = "1" if m["male"] else "2"
                if m.get("sex_flip"):
                    sex = "2" if sex == "1" else "1"
                tb["CBF_JTCY"].append((h["CBFBM"], m["name"], sex, "1", m["id"], m["rel"], None, "1", None))
            bm = h["CBFBM"] + "J"
            q, z = ("1998-12-01", "2028-11-30")
            if h.get("reversed"):
                q, z = z, q
            tb["CBHT"].append((bm, None, grp["FBFBM"], h["CBFBM"], "110", q, z, h["HTZMJ"], h["CBDKZS"], qd.isoformat(), round(h["HTZMJ"] * MU, 2), None, None))
            dq = "1999-12-01" if h.get("djb_shift") else q
            rel = f"图件\\{grp['FBFBM']}\\DKSYT{bm}.pdf"
            tb["CBJYQZDJB"].append((bm, grp["FBFBM"], h["CBFBM"], "110", "1998年12月01日至2028年11月30日", dq, z, rel, None, f"{rng.randrange(10**9):09d}", None, name(rng), qd.isoformat()))
            tb["CBJYQZ"].append((bm, f"{self.cname}人民政府", qd.isoformat(), "1", qd.isoformat(), head["name"], "1", head["id"]))
            if not h.get("no_pdf"):
                dst = root / "图件" / grp["FBFBM"] / f"DKSYT{bm}.pdf"
                dst.parent.mkdir(exist_ok=True)
                try:
                    os.link(pdf_src, dst)
                except OSError:
                    shutil.copyfile(pdf_src, dst)
            for p in h["parcels"]:
                for r in p["cbdkxx"]:
                    if r["h"] is not h:
                        continue
                    tb["CBDKXX"].append((p["DKBM"], grp["FBFBM"], h["CBFBM"], "110", r["HTMJ"], bm, None, bm, None,
                                         round(r["HTMJ"] * MU + r.get("HTMJM_off", 0), 2), None, r["SFQQQG"]))
                    self.ledger.append((p["DKBM"], h["CBFBM"], bm, f"{r['DBMJ']:.2f}"))
        pdf_src.unlink()
        if path.exists():
            path.unlink()
        c = sqlite3.connect(str(path))
        for t, cols in SCHEMA.items():
            c.execute(f"CREATE TABLE {t} ({cols})")
            n = cols.count(",") + 1
            c.executemany(f"INSERT INTO {t} VALUES ({','.join('?' * n)})", tb[t])
        c.commit()
        c.close()
        with open(root / "权属数据" / f"{self.county}{self.year}权属单位代码表.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(["权属单位代码", "权属单位名称", "级别"])
            w.writerows(codes)
        with open(root / "其他资料" / "确权登记发证台账.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(["DKBM", "CBFBM", "CBJYQZBM", "DBMJ"])
            w.writerows(self.ledger)
        with open(root / "汇总表格" / f"{self.county}{self.cname}按地块汇总表.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(["权属单位代码", "承包地块总数"])
            w.writerow([f"{self.county}00000000", sum(1 for p in self.parcels if p["DKLB"] == "10")])

    def farmland(self):
        """Every third row block of each group lies in a basic-farmland zone; SFJBNT follows."""
        zones = []
        for gi, g in enumerate(self.groups):
            if gi % 2:
                continue
            ps = [p for p in g["parcels"]]
            box = shapely.box(*shapely.total_bounds([p["geom"] for p in ps])).buffer(1, join_style=2)
            zones.append(box)
            for p in ps:
                p["SFJBNT"] = "1"
        self.zones = zones

    def write_farmland(self):
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(self.a.epsg)
        tag = f"{self.county}{self.year}"
        ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(self.root / "矢量数据" / f"JBNTBHQ{tag}.shp"))
        lyr = ds.CreateLayer(f"JBNTBHQ{tag}", srs, ogr.wkbPolygon, ["ENCODING=CP936"])
        for nm, t in (("BSM", ogr.OFTInteger), ("YSDM", ogr.OFTString), ("BHQBH", ogr.OFTString), ("JBNTMJ", ogr.OFTReal)):
            lyr.CreateField(ogr.FieldDefn(nm, t))
        for i, z in enumerate(self.zones):
            f = ogr.Feature(lyr.GetLayerDefn())
            f.SetField("BSM", i + 1)
            f.SetField("YSDM", "251100")
            f.SetField("BHQBH", f"{self.county}{i + 1:07d}")
            f.SetField("JBNTMJ", round(z.area, 2))
            f.SetGeometry(ogr.CreateGeometryFromWkb(shapely.to_wkb(z, output_dimension=2)))
            lyr.CreateFeature(f)
        ds = None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--parcels", type=int, default=1000)
    ap.add_argument("--county", default="371526")
    ap.add_argument("--county-name", default="高唐县")
    ap.add_argument("--township", default="002")
    ap.add_argument("--year", default="2018")
    ap.add_argument("--epsg", type=int, default=4527)
    ap.add_argument("--defects", type=float, default=0.0, help="fraction of households with a planted defect (0 = clean)")
    ap.add_argument("--no-cpg", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    g = Gen(a)
    g.build()
    g.areas()
    g.farmland()
    g.plant()
    g.write()
    g.write_farmland()
    parcels = g.classes()
    counts = dict(parcels=len(parcels), dk_features=sum(1 for p in g.parcels if p["dk"]), households=len(g.households),
                  contracts=len(g.households), members=sum(len(h["members"]) for h in g.households), cbdkxx_rows=len(g.tables["CBDKXX"]),
                  groups=len(g.groups), share_only_parcels=sum(1 for p in parcels.values() if p["class"] == "share_only"),
                  by_class={c: sum(1 for p in parcels.values() if p["class"] == c) for c in
                            ("consistent", "measured_differs", "contract_register_mismatch", "share_only", "unmatched")})
    truth = dict(generator="benchmarks/make_delivery.py", parameters=vars(a), package_root=g.root.name, counts=counts,
                 defects=g.defects, parcels=parcels)
    (Path(a.out) / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), "utf-8")
    print(f"{g.root}: {counts['parcels']} parcels, {counts['households']} households, {len(g.defects)} defects", file=sys.stderr)
    return g.root


if __name__ == "__main__":
    main()
