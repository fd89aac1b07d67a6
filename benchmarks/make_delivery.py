#!/usr/bin/env python3
"""Write a realistic synthetic 汇交 delivery of N parcels in the bundled sample's layout, with a truth.json.

    python benchmarks/make_delivery.py --out DIR --parcels 100000 [--township 002] [--epsg 4548]
                                       [--defects 0.001] [--kinds classic|all|KIND,KIND…] [--each N]
                                       [--county 371526 --county-name 高唐县] [--no-cpg] [--seed 1]

DK and the region layers as GBK shapefiles (.cpg unless --no-cpg), the 12 attribute tables in
<county><year>.sqlite (an .mdb cannot be written on Linux), the unit-code table and the six summary tables as CSV
(the .xls layout: title, unit and header rows, one row per county / township / village / group), the
certificate-issue ledger, plot-sketch PDFs (hard links to one small PDF), a work report. Parcels are strips in rows
inside each village group, neighbours sharing edges vertex for vertex, rows separated by 6 m roads. Households are
coherent (relations agree with sex and generation, ID numbers unique and valid); a few groups have contractors of
other kinds (单位 / 个人, 其他方式承包) and transfer contracts (流转).

Clean by default. --defects R plants defects on a fraction R of households (at least one of each kind), --each N
plants every kind at least N times; --kinds chooses the kinds: `classic` (default, the 22 kinds of the first
version, so the data of existing tests do not change in kind), `all` (every kind the quality check knows), or a
comma-separated list. Each planted defect is recorded in truth.json with its category and the key of the record
that is wrong, and every parcel's expected area class."""
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

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田"
            "董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白"
            "邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强"
         "海燕春花国华德明淑珍凤英建华喆堃垚昇玥珺东立长庆")
PLACE = "东西南北前后大小新旧上下马郭李王张刘陈杨黄赵吴周徐孙胡高林何罗郑梁谢宋唐韩"
FIELDS = ["二道沟", "东洼", "西岭", "南大地", "北坡", "老坟地", "河滩", "庄前", "庄后", "大井", "柳树行", "三角地"]
NUM = "一二三四五六七八九十"
MU = 0.0015
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def check_char(s17):
    return "10X98765432"[sum(int(a) * w for a, w in zip(s17, W)) % 11]


def org_code(body8):
    c = 11 - sum((int(x) if x.isdigit() else ord(x) - 55) * w for x, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    return body8 + ("X" if c == 10 else "0" if c == 11 else str(c))


def uscc(region6, body8):
    s = "93" + region6 + org_code(body8)  # 93: 农民专业合作社
    c = (31 - sum(USCC.index(ch) * w for ch, w in zip(s, (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28))) % 31) % 31
    return s + USCC[c]


def name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def ordinal(i):
    return (NUM[i] if i < 10 else f"十{NUM[i - 10]}" if i < 20 else str(i + 1))


def days(d, n):
    return (dt.date.fromisoformat(d) + dt.timedelta(days=n)).isoformat()


SCHEMA = {  # the standard 12 tables (types as SQLite declarations, NOT NULL like the Access template)
    "FBF": ("FBFBM TEXT NOT NULL, FBFMC TEXT NOT NULL, FBFFZRXM TEXT NOT NULL, FZRZJLX TEXT NOT NULL, FZRZJHM TEXT NOT NULL, LXDH TEXT, "
            "FBFDZ TEXT NOT NULL, YZBM TEXT NOT NULL, FBFDCY TEXT NOT NULL, FBFDCRQ TEXT NOT NULL, FBFDCJS TEXT"),
    "CBF": ("CBFBM TEXT NOT NULL, CBFLX TEXT NOT NULL, CBFMC TEXT NOT NULL, CBFZJLX TEXT NOT NULL, CBFZJHM TEXT NOT NULL, CBFDZ TEXT NOT NULL, "
            "YZBM TEXT NOT NULL, LXDH TEXT, CBFCYSL INTEGER NOT NULL, CBFDCRQ TEXT NOT NULL, CBFDCY TEXT NOT NULL, CBFDCJS TEXT, GSJS TEXT, "
            "GSJSR TEXT NOT NULL, GSSHRQ TEXT NOT NULL, GSSHR TEXT NOT NULL"),
    "CBF_JTCY": ("CBFBM TEXT NOT NULL, CYXM TEXT NOT NULL, CYXB TEXT NOT NULL, CYZJLX TEXT NOT NULL, CYZJHM TEXT NOT NULL, YHZGX TEXT NOT NULL, "
                 "CYBZ TEXT, SFGYR TEXT, CYBZSM TEXT"),
    "CBHT": ("CBHTBM TEXT NOT NULL, YCBHTBM TEXT, FBFBM TEXT NOT NULL, CBFBM TEXT NOT NULL, CBFS TEXT NOT NULL, CBQXQ TEXT NOT NULL, "
             "CBQXZ TEXT NOT NULL, HTZMJ REAL NOT NULL, CBDKZS INTEGER NOT NULL, QDSJ TEXT NOT NULL, HTZMJM REAL, YHTZMJ REAL, YHTZMJM REAL"),
    "CBDKXX": ("DKBM TEXT NOT NULL, FBFBM TEXT NOT NULL, CBFBM TEXT NOT NULL, CBJYQQDFS TEXT NOT NULL, HTMJ REAL NOT NULL, CBHTBM TEXT NOT NULL, "
               "LZHTBM TEXT, CBJYQZBM TEXT NOT NULL, YHTMJ REAL, HTMJM REAL, YHTMJM REAL, SFQQQG TEXT"),
    "CBJYQZDJB": ("CBJYQZBM TEXT NOT NULL, FBFBM TEXT NOT NULL, CBFBM TEXT NOT NULL, CBFS TEXT NOT NULL, CBQX TEXT NOT NULL, CBQXQ TEXT NOT NULL, "
                  "CBQXZ TEXT NOT NULL, DKSYT TEXT NOT NULL, YCBJYQZBH TEXT, CBJYQZLSH TEXT NOT NULL, DJBFJ TEXT, DBR TEXT NOT NULL, DJSJ TEXT NOT NULL"),
    "CBJYQZ": "CBJYQZBM TEXT NOT NULL, FZJG TEXT NOT NULL, FZRQ TEXT NOT NULL, QZSFLQ TEXT NOT NULL, QZLQRQ TEXT, QZLQRXM TEXT, QZLQRZJLX TEXT, QZLQRZJHM TEXT",
    "CBJYQZ_QZBF": ("CBJYQZBM TEXT NOT NULL, QZBFYY TEXT NOT NULL, BFRQ TEXT NOT NULL, QZBFLQRQ TEXT NOT NULL, QZBFLQRXM TEXT NOT NULL, "
                    "BFLQRZJLX TEXT NOT NULL, BFLQRZJHM TEXT NOT NULL"),
    "CBJYQZ_QZHF": ("CBJYQZBM TEXT NOT NULL, QZHFYY TEXT NOT NULL, HFRQ TEXT NOT NULL, QZHFLQRQ TEXT NOT NULL, QZHFLQRXM TEXT NOT NULL, "
                    "HFLQRZJLX TEXT NOT NULL, HFLQRZJHM TEXT NOT NULL"),
    "CBJYQZ_QZZX": "CBJYQZBM TEXT NOT NULL, ZXYY TEXT NOT NULL, ZXRQ TEXT NOT NULL",
    "LZHT": ("CBHTBM TEXT NOT NULL, LZHTBM TEXT NOT NULL, CBFBM TEXT NOT NULL, SRFBM TEXT NOT NULL, LZFS TEXT NOT NULL, LZQX TEXT NOT NULL, "
             "LZQXKSRQ TEXT NOT NULL, LZQXJSRQ TEXT NOT NULL, LZMJ REAL NOT NULL, LZDKS INTEGER NOT NULL, LZQTDYT TEXT, LZHTDYT TEXT, "
             "LZJGSM TEXT NOT NULL, HTQDRQ TEXT NOT NULL, LZMJM REAL"),
    "QSLYZLFJ": "CBJYQZBM TEXT NOT NULL, ZLFJBH TEXT NOT NULL, ZLFJMC TEXT NOT NULL, ZLFJRQ TEXT NOT NULL, FJ TEXT NOT NULL",
}
CLASSIC = ["self_intersection", "overlap", "empty_geometry", "dkbm_length", "invalid_code", "id_check_digit", "cyxb_id_mismatch",
           "dk_without_cbdkxx", "cbdkxx_dkbm_not_in_dk", "dksyt_file_missing", "scmj_geometry_mismatch", "scmjm_mismatch",
           "htmjm_mismatch", "htzmj_sum_mismatch", "cbdkzs_mismatch", "cbfcysl_mismatch", "no_household_head",
           "two_household_heads", "cbqx_reversed", "cbqxq_djb_mismatch", "required_field_empty", "ledger_dbmj_mismatch"]
DEFECT_KINDS = CLASSIC  # the name the first version exported
# kind -> (family, category). The family is the quality check's (docs/rules.md); the category is the issue layer's.
KINDS = {
    # spatial
    "self_intersection": ("spatial", "geometry"), "overlap": ("spatial", "geometry"), "empty_geometry": ("spatial", "geometry"),
    "gap": ("spatial", "geometry"), "spike": ("spatial", "geometry"), "duplicate_vertex": ("spatial", "geometry"),
    "multipart": ("spatial", "geometry"), "sliver": ("spatial", "geometry"), "outside_group": ("spatial", "geometry"),
    "outside_county": ("spatial", "geometry"), "outside_zone": ("spatial", "geometry"), "region_missing": ("spatial", "geometry"),
    # codes
    "dkbm_length": ("codes", "code"), "invalid_code": ("codes", "code"), "dkbm_serial_zero": ("codes", "code"),
    "contract_code": ("codes", "code"), "cbfbm_prefix": ("codes", "code"),
    # formats
    "id_check_digit": ("formats", "code"), "id_birthdate_invalid": ("formats", "code"), "org_code_invalid": ("formats", "code"),
    "postcode_invalid": ("formats", "code"), "phone_invalid": ("formats", "code"), "date_invalid": ("formats", "schema"),
    "date_future": ("formats", "date"), "date_placeholder": ("formats", "date"),
    # persons
    "cyxb_id_mismatch": ("persons", "code"), "cbfcysl_mismatch": ("persons", "member"), "no_household_head": ("persons", "member"),
    "two_household_heads": ("persons", "member"), "id_in_two_households": ("persons", "member"),
    "duplicate_member": ("persons", "member"), "sex_relation": ("persons", "member"), "age_relation": ("persons", "member"),
    "head_name_mismatch": ("persons", "member"), "no_members": ("persons", "member"),
    # keys and references
    "dk_without_cbdkxx": ("keys", "reference"), "cbdkxx_dkbm_not_in_dk": ("keys", "reference"),
    "dksyt_file_missing": ("keys", "reference"), "key_trailing_blank": ("keys", "code"), "fbfbm_not_in_fbf": ("keys", "reference"),
    "cbf_missing": ("keys", "reference"), "lzhtbm_not_in_lzht": ("keys", "reference"), "fbf_not_in_code_table": ("keys", "reference"),
    # areas
    "scmj_geometry_mismatch": ("areas", "area"), "scmjm_mismatch": ("areas", "area"), "htmjm_mismatch": ("areas", "area"),
    "htzmj_sum_mismatch": ("areas", "area"), "cbdkzs_mismatch": ("areas", "area"), "ledger_dbmj_mismatch": ("areas", "area"),
    "htmj_nonpositive": ("areas", "area"), "dbmj_nonpositive": ("areas", "area"), "yhtzmj_mismatch": ("areas", "area"),
    "lzdks_mismatch": ("areas", "area"), "lzmj_mismatch": ("areas", "area"),
    # dates
    "cbqx_reversed": ("dates", "date"), "cbqxq_djb_mismatch": ("dates", "date"), "date_sequence": ("dates", "date"),
    "register_before_contract": ("dates", "date"), "certificate_before_register": ("dates", "date"),
    "receipt_before_issue": ("dates", "date"), "cbqx_text_mismatch": ("dates", "date"), "lz_reversed": ("dates", "date"),
    "lz_beyond_contract": ("dates", "date"),
    # schema
    "required_field_empty": ("schema", "schema"),
    # summary tables
    "summary_parcels": ("summary", "package"), "summary_contractors": ("summary", "package"),
    "summary_certificates": ("summary", "package"), "summary_land_use": ("summary", "package"),
    "summary_farmland": ("summary", "package"), "summary_non_contract": ("summary", "package"),
}
CATEGORY = {k: v[1] for k, v in KINDS.items()}
FAMILY = {k: v[0] for k, v in KINDS.items()}
SUMMARY = {  # summary table kind -> (file title, column planted, delta)
    "summary_parcels": ("按地块汇总表", "承包地块总数", 1), "summary_contractors": ("按承包方汇总表", "家庭承包成员数量", 2),
    "summary_certificates": ("按权证信息汇总表", "颁发权证面积合计", 0.5),
    "summary_land_use": ("按承包地土地用途汇总表", "种植业", 0.8),
    "summary_farmland": ("按承包地是否基本农田汇总表", "合计", 1.2),
    "summary_non_contract": ("按非承包地地块类别汇总表", "自留地", 0.3),
}
SUMMARY_COLUMNS = {
    "按地块汇总表": ("单位：个、块、亩、份", ["发包方数量", "承包地块总数", "承包地块总面积",
                                    "非承包地块总数", "非承包地块总面积", "颁发权证数量"]),
    "按承包方汇总表": ("单位：户、人", ["承包方总数", "家庭承包农户数量", "家庭承包成员数量",
                                "其他方式承包合计", "单位承包数量", "个人承包数量"]),
    "按权证信息汇总表": ("单位：份、亩", ["颁发权证数量合计", "颁发权证数量家庭承包", "颁发权证数量其他方式承包",
                                 "颁发权证面积合计", "颁发权证面积家庭承包", "颁发权证面积其他方式承包"]),
    "按承包地土地用途汇总表": ("单位：亩", ["种植业", "林业", "畜牧业", "渔业", "非农业用途", "合计"]),
    "按承包地是否基本农田汇总表": ("单位：亩", ["基本农田面积", "非基本农田面积", "合计"]),
    "按非承包地地块类别汇总表": ("单位：亩", ["自留地", "机动地", "开荒地", "其他集体土地", "合计"]),
}


class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.county, self.cname, self.year = a.county, a.county_name, a.year
        self.prefixed = a.epsg in range(4513, 4534)
        self.zone = 25 + (a.epsg - 4513 if self.prefixed else a.epsg - 4534)
        self.x0 = (self.zone * 1_000_000 if self.prefixed else 0) + 428_000 + (int(a.township) - 1) * 40_000
        self.y0 = 4_072_000
        self.parcels, self.households, self.groups, self.others = [], [], [], []
        self.defects, self.tables = [], {t: [] for t in SCHEMA}
        self.ledger = []
        self.ids = set()
        self.transfers = []
        self.summary_off = []  # (table title, group FBFBM, column, delta)
        self.drop_code_rows, self.drop_zjqy = set(), set()

    # ---------------------------------------------------------------- people
    def person_id(self, born, male):
        """A valid, unique 18-digit ID number (GB 11643) for a person born on `born`."""
        rng = self.rng
        while True:
            seq = f"{rng.randrange(0, 100):02d}{rng.randrange(0, 5) * 2 + (1 if male else 0)}"
            s = f"{self.county}{born:%Y%m%d}{seq}"
            s += check_char(s)
            if s not in self.ids:
                self.ids.add(s)
                return s

    def _born(self, lo, hi):
        lo, hi = max(lo, dt.date(1905, 1, 1)), min(hi, dt.date(2014, 12, 31))
        if hi <= lo:
            hi = lo + dt.timedelta(days=1)
        return lo + dt.timedelta(days=self.rng.randrange(0, (hi - lo).days))

    def _member(self, born, male, rel):
        return dict(name=name(self.rng), male=male, born=born, id=self.person_id(born, male), rel=rel)

    def _household(self, grp, serial):
        """A coherent farm household: head, spouse, children (sons 2x male, daughters 3x female, born 22–38 years after
        the head), sometimes a parent (51/52) or a grandchild (41/42)."""
        rng = self.rng
        y = lambda d, n: d + dt.timedelta(days=int(n * 365.25))  # noqa: E731
        n = rng.randint(2, 6)
        head_male = rng.random() < 0.85
        hb = self._born(dt.date(1938, 1, 1), dt.date(1978, 12, 31))
        members = [self._member(hb, head_male, "02")]
        if n >= 2:
            rel = "10" if rng.random() < 0.9 else ("12" if head_male else "11")
            members.append(self._member(self._born(y(hb, -6), y(hb, 6)), not head_male, rel))
        if n >= 4 and rng.random() < 0.15:
            male = rng.random() < 0.5
            members.append(self._member(self._born(y(hb, -38), y(hb, -22)), male, "51" if male else "52"))
        sons = daughters = 0
        while len(members) < n:
            cb = self._born(y(hb, 22), y(hb, 38))
            if hb.year < 1962 and len(members) >= 3 and rng.random() < 0.3 and y(hb, 46) < dt.date(2014, 12, 31):
                male = rng.random() < 0.5
                members.append(self._member(self._born(y(hb, 46), y(hb, 60)), male, "41" if male else "42"))
                continue
            male = rng.random() < 0.5
            if male:
                sons += 1
                rel = "20" if sons > 3 or rng.random() < 0.5 else f"2{sons + 1}"
            else:
                daughters += 1
                rel = "30" if daughters > 3 or rng.random() < 0.5 else f"3{daughters + 1}"
            members.append(self._member(cb, male, rel))
        h = dict(CBFBM=f"{grp['FBFBM']}{serial:04d}", grp=grp, members=members, parcels=[], CBFLX="1", CBFS="110", suffix="J")
        self.households.append(h)
        return h

    def _other_contractor(self, grp, kind, serial):
        """A contractor of another kind (其他方式承包): a cooperative (单位, CBFLX 3, 9001–9999) or a person (个人, 8001–9000)."""
        rng = self.rng
        if kind == "3":
            body = f"{rng.randrange(10**7):07d}{rng.choice('ABCDEFGH')}"
            h = dict(CBFBM=f"{grp['FBFBM']}{9000 + serial:04d}", grp=grp, members=[], parcels=[], CBFLX="3", CBFS="121", suffix="Q",
                     name=f"{grp['vname']}{rng.choice(['种植', '农机', '果蔬'])}专业合作社", ZJLX="3", ZJHM=uscc(self.county, body))
        else:
            m = self._member(self._born(dt.date(1960, 1, 1), dt.date(1985, 12, 31)), rng.random() < 0.7, "02")
            h = dict(CBFBM=f"{grp['FBFBM']}{8000 + serial:04d}", grp=grp, members=[], parcels=[], CBFLX="2", CBFS="123", suffix="Q",
                     name=m["name"], ZJLX="1", ZJHM=m["id"])
        self.others.append(h)
        return h

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
                           x=self.x0 + gx * 1500.0, y=self.y0 + gy * 1500.0, parcels=[], index=len(self.groups))
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
            p = dict(DKBM=f"{grp['FBFBM']}{serial:05d}", ring=ring, group=grp, DKLB="10", cbdkxx=[], dk=True, TDYT="1")
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
        if grp["index"] % 4 == 1 and len(contract) > 12:  # 其他方式承包: a cooperative and a person take a few parcels
            for kind, k in (("3", 2), ("2", 1)):
                o = self._other_contractor(grp, kind, 1)
                for p in contract[i:i + k]:
                    p["cbdkxx"].append(dict(h=o, HTMJ=None, SFQQQG="2"))
                    o["parcels"].append(p)
                i += k
        while i < len(contract):
            serial += 1
            h = self._household(grp, serial)
            k = rng.randint(2, 6)
            for p in contract[i:i + k]:
                p["cbdkxx"].append(dict(h=h, HTMJ=None, SFQQQG="2"))
                h["parcels"].append(p)
            i += k

    def contractors(self):
        return self.households + self.others

    # ---------------------------------------------------------------- areas, transfers and defects
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
                if r["SFQQQG"] == "2" and r["h"]["CBFLX"] == "1":  # the 二轮 contract's area: whole or half 亩
                    r["YHTMJ"] = round(max(0.5, round(r["HTMJ"] * MU * 2) / 2) / MU, 2)
        for h in self.contractors():
            rows = [r for p in h["parcels"] for r in p["cbdkxx"] if r["h"] is h]
            h["HTZMJ"] = round(sum(r["HTMJ"] for r in rows), 2)
            h["CBDKZS"] = len(rows)
            h["YHTZMJ"] = round(sum(r["YHTMJ"] for r in rows), 2) if rows and all(r.get("YHTMJ") is not None for r in rows) else None
        for grp in self.groups:  # the region polygons follow the parcels as surveyed, before any defect is planted
            grp["box"] = shapely.box(*shapely.total_bounds([p["geom"] for p in grp["parcels"]])).buffer(3, join_style=2)

    def make_transfers(self):
        """About 2 % of farm households rent one or two parcels out to another household of their group (流转)."""
        rng = self.rng
        by_group = {}
        for h in self.households:
            if not h["grp"]["share"]:
                by_group.setdefault(h["grp"]["FBFBM"], []).append(h)
        for hh in by_group.values():
            for h in hh:
                if len(hh) > 1 and len(h["parcels"]) >= 3 and rng.random() < 0.02:
                    self._transfer(h, rng.choice([o for o in hh if o is not h]))

    def _transfer(self, h, to=None):
        if h.get("lz"):
            return h["lz"]
        grp = h["grp"]
        n = sum(1 for t in self.transfers if t["grp"] is grp) + 1
        rows = [r for p in h["parcels"][-2:] for r in p["cbdkxx"] if r["h"] is h]
        if to is None:
            to = next((o for o in self.households if o["grp"] is grp and o is not h), h)
        lz = dict(LZHTBM=f"{grp['FBFBM']}L{n:03d}", h=h, grp=grp, SRFBM=to["CBFBM"], rows=rows, start="2017-03-01", end="2022-02-28",
                  signed="2017-02-20", LZDKS_off=0, LZMJ_off=0.0)
        for r in rows:
            r["LZHTBM"] = lz["LZHTBM"]
        h["lz"] = lz
        self.transfers.append(lz)
        return lz

    def plant(self):
        a = self.a
        kinds = CLASSIC if a.kinds == "classic" else list(KINDS) if a.kinds == "all" else [k.strip() for k in a.kinds.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise SystemExit(f"unknown defect kinds: {', '.join(unknown)}")
        if a.defects <= 0 and a.each <= 0:
            return
        rng = self.rng
        normal = [h for h in self.households if not h["grp"]["share"] and len(h["parcels"]) >= 2]
        rng.shuffle(normal)
        n = max(len(kinds) * max(1, a.each), int(len(self.households) * a.defects))
        free = list(normal)
        units = [o for o in self.others if o["CBFLX"] == "3"]
        lz_kinds = {"lzdks_mismatch", "lzmj_mismatch", "lz_reversed", "lz_beyond_contract"}
        for i in range(n):
            kind = kinds[i % len(kinds)]
            pool = units if kind == "org_code_invalid" else free
            for j, h in enumerate(pool[:60]):
                if h.get("lz") and kind not in lz_kinds:  # a household that rents land out keeps its other records clean
                    continue
                if self._plant(kind, h) is not False:
                    pool.pop(j)
                    break

    def _rec(self, kind, table, key, field, **extra):
        self.defects.append(dict(kind=kind, category=CATEGORY[kind], table=table, key=key, field=field, **extra))

    def _neighbour(self, p):
        """The parcel to the right of p in its row when they share p's right edge, else None."""
        grp = p["group"]["parcels"]
        j = grp.index(p)
        nb = grp[j + 1] if j + 1 < len(grp) else None
        if nb is None or nb.get("moved") or (self.a.kinds != "classic" and nb.get("touched")) \
                or abs(min(x for x, _ in nb["ring"]) - max(x for x, _ in p["ring"])) > 1e-9 \
                or abs(nb["ring"][0][1] - p["ring"][0][1]) > 1e-9:
            return None
        return nb

    def _regeom(self, p, ring=None, geom=None):
        if ring is not None:
            p["ring"] = ring
            geom = shapely.Polygon(ring)
        p["geom"] = geom
        p["SCMJ"] = round(shapely.area(geom), 2)

    def _plant(self, kind, h):
        rng = self.rng
        p = h["parcels"][0]
        p2 = h["parcels"][1] if len(h["parcels"]) > 1 else p
        row = next((r for r in p["cbdkxx"] if r["h"] is h), None)
        bm = h["CBFBM"] + h["suffix"]
        strict = self.a.kinds != "classic"  # every parcel takes part in one planted defect at most
        if strict and (p.get("touched") or (kind == "ledger_dbmj_mismatch" and p2.get("touched"))):
            return False
        if kind == "self_intersection":
            r = p["ring"]
            x0, x1 = r[0][0], r[-2][0] if len(r) > 5 else r[3][0]
            ys, yn = r[0][1], r[1][1]
            p["ring"] = [(x0, ys), (x1, yn), (x0, yn), (x1, ys), (x0, ys)]  # bow tie
            p["geom"] = shapely.Polygon(p["ring"])
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind in ("overlap", "gap"):
            nb = self._neighbour(p)
            if nb is None or p.get("moved"):
                if kind == "overlap" and self.a.kinds == "classic":
                    return self._plant("scmjm_mismatch", h)
                return False
            r = p["ring"]
            right = max(x for x, _ in r)
            if kind == "overlap":
                d = min(1.0, (max(x for x, _ in nb["ring"]) - min(x for x, _ in nb["ring"])) / 3)
                self._regeom(p, [((x + d, y) if abs(x - right) < 1e-9 else (x, y)) for x, y in r])
                self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"], other_DKBM=nb["DKBM"])
            else:
                d = round(rng.uniform(0.05, 0.3), 3)
                full = sum(1 for x in self.defects if x["kind"] == "gap") % 2 == 0
                top = max(y for x, y in r if abs(x - right) < 1e-9)
                self._regeom(p, [((x - d, y) if abs(x - right) < 1e-9 and (full or y == top) else (x, y)) for x, y in r])
                self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"], other_DKBM=nb["DKBM"], width=d, partial=not full)
            p["moved"] = nb["moved"] = nb["touched"] = True
        elif kind == "empty_geometry":
            p["empty"] = True
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind == "spike":
            r = p["ring"]
            (x1, y1), (x2, y2) = r[1], r[2]
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            e = 0.01 / max(1e-9, abs(x2 - x1))
            a = (x1 + (x2 - x1) * (0.5 - e), y1 + (y2 - y1) * (0.5 - e))
            b = (x1 + (x2 - x1) * (0.5 + e), y1 + (y2 - y1) * (0.5 + e))
            self._regeom(p, [r[0], r[1], a, (mx, my + 2.0), b, *r[2:]])
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind == "duplicate_vertex":
            r = p["ring"]
            self._regeom(p, [r[0], r[1], r[1], *r[2:]])
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind == "multipart":
            x0, y0, x1, y1 = shapely.bounds(p["geom"])
            h_ = y1 - y0
            self._regeom(p, geom=shapely.MultiPolygon([shapely.box(x0, y0, x1, y0 + 0.45 * h_), shapely.box(x0, y0 + 0.55 * h_, x1, y1)]))
            p["moved"] = True
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind == "sliver":
            x0, y0 = p["ring"][0]
            self._regeom(p, geom=shapely.box(x0, y0, x0 + 0.6, y0 + 0.8))
            p["moved"] = True
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind in ("outside_group", "outside_county", "outside_zone"):
            if p.get("moved") or (kind == "outside_group" and p["group"]["FBFBM"] in self.drop_zjqy):
                return False
            x0, y0, _x1, _y1 = shapely.bounds(p["geom"])
            if kind == "outside_group":
                dx, dy = p["group"]["x"] - 60 - x0, 0.0
            elif kind == "outside_county":
                dx, dy = 0.0, self.y0 - 3000 - y0
            else:
                dx, dy = (-self.zone * 1_000_000.0 if self.prefixed else self.zone * 1_000_000.0), 0.0
            self._regeom(p, [(x + dx, y + dy) for x, y in p["ring"]])
            p["moved"] = p["moved_out"] = True
            self._rec(kind, "DK", p["DKBM"], "geometry", DKBM=p["DKBM"])
        elif kind == "region_missing":
            g = h["grp"]["FBFBM"]
            if g in self.drop_zjqy or any(q.get("moved_out") for q in h["grp"]["parcels"]):
                return False
            self.drop_zjqy.add(g)
            self._rec(kind, "ZJQY", g, "ZJQYDM")
        elif kind == "dkbm_length":
            p["DKBM"] = p["DKBM"][:-1]
            self._rec(kind, "DK", p["DKBM"], "DKBM")
        elif kind == "dkbm_serial_zero":
            if any(q["DKBM"].endswith("00000") for q in p["group"]["parcels"]):
                return False
            p["DKBM"] = p["DKBM"][:14] + "00000"
            self._rec(kind, "DK", p["DKBM"], "DKBM", DKBM=p["DKBM"])
        elif kind == "invalid_code":
            p["bad_code"] = ("DKLB", "19")
            self._rec(kind, "DK", p["DKBM"], "DKLB", DKBM=p["DKBM"], value="19")
        elif kind == "contract_code":
            h["CBFS_written"] = "121"  # 招标 written on a family contract whose code ends in J
            self._rec(kind, "CBHT", bm, "CBFS")
        elif kind == "cbfbm_prefix":
            other = next(g for g in self.groups if g is not h["grp"])
            h["CBHT_FBFBM"] = other["FBFBM"]
            self._rec(kind, "CBHT", bm, "FBFBM")
        elif kind == "id_check_digit":
            m = h["members"][-1]
            m["id"] = m["id"][:17] + ("0" if m["id"][17] != "0" else "1")
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "CYZJHM")
        elif kind == "id_birthdate_invalid":
            m = h["members"][-1]
            s = m["id"][:10] + "13" + m["id"][12:17]
            m["id"] = s + check_char(s)
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "CYZJHM")
        elif kind == "org_code_invalid":
            z = h["ZJHM"]
            h["ZJHM"] = z[:17] + ("0" if z[17] != "0" else "1")
            self._rec(kind, "CBF", h["CBFBM"], "CBFZJHM")
        elif kind == "postcode_invalid":
            h["YZBM"] = "25280"
            self._rec(kind, "CBF", h["CBFBM"], "YZBM")
        elif kind == "phone_invalid":
            h["LXDH"] = "1380013800"
            self._rec(kind, "CBF", h["CBFBM"], "LXDH")
        elif kind == "date_invalid":
            h["CBFDCRQ"] = "2015-02-30"
            self._rec(kind, "CBF", h["CBFBM"], "CBFDCRQ")
        elif kind == "date_future":
            h["FZRQ"] = "2031-05-08"
            self._rec(kind, "CBJYQZ", bm, "FZRQ")
        elif kind == "date_placeholder":
            h["QDSJ"] = "1899-12-30"
            self._rec(kind, "CBHT", bm, "QDSJ")
        elif kind == "cyxb_id_mismatch":
            h["members"][-1]["sex_flip"] = True
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "CYXB")
        elif kind == "id_in_two_households":
            other = next((o for o in self.households if o is not h and not o["grp"]["share"] and len(o["members"]) >= 2
                          and not o.get("planted")), None)
            if other is None:
                return False
            other["planted"] = True
            src = other["members"][-1]
            m = h["members"][-1]
            m.update(id=src["id"], male=src["male"], born=src["born"], rel=_rel_like(m["rel"], src["male"]))
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "CYZJHM", CBFBM=other["CBFBM"])
        elif kind == "duplicate_member":
            h["members"].append(dict(h["members"][-1]))
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "CYZJHM")
        elif kind == "sex_relation":
            m = next((m for m in h["members"][1:] if m["rel"][0] in "23"), None)
            if m is None:
                m = h["members"][-1]
                m["rel"] = "12" if m["male"] else "11"
            else:
                m["rel"] = ("3" if m["rel"][0] == "2" else "2") + m["rel"][1]
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "YHZGX")
        elif kind == "age_relation":
            head = h["members"][0]
            m = next((m for m in h["members"][1:] if m["rel"][0] in "23"), None)
            if m is None:
                m = h["members"][-1]
                m["rel"] = "20" if m["male"] else "30"
            self.ids.discard(m["id"])
            m["born"] = head["born"] - dt.timedelta(days=400)
            m["id"] = self.person_id(m["born"], m["male"])
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "YHZGX")
        elif kind == "cbfcysl_mismatch":
            h["cysl_off"] = 1
            self._rec(kind, "CBF", h["CBFBM"], "CBFCYSL")
        elif kind == "no_household_head":
            h["members"][0]["rel"] = "10"
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "YHZGX")
        elif kind == "two_household_heads":
            h["members"][-1]["rel"] = "02"
            self._rec(kind, "CBF_JTCY", h["CBFBM"], "YHZGX")
        elif kind == "head_name_mismatch":
            h["CBFMC"] = h["members"][0]["name"] + "某"
            self._rec(kind, "CBF", h["CBFBM"], "CBFMC")
        elif kind == "no_members":
            h["members_dropped"] = True
            self._rec(kind, "CBF", h["CBFBM"], "CBFBM")
        elif kind == "dk_without_cbdkxx":
            r = row
            p["cbdkxx"].remove(r)
            h["HTZMJ"] = round(h["HTZMJ"] - r["HTMJ"], 2)
            h["CBDKZS"] -= 1
            if h.get("YHTZMJ") is not None and r.get("YHTMJ") is not None:
                h["YHTZMJ"] = round(h["YHTZMJ"] - r["YHTMJ"], 2)
            self._rec(kind, "DK", p["DKBM"], "DKBM", DKBM=p["DKBM"])
        elif kind == "cbdkxx_dkbm_not_in_dk":
            p["dk"] = False
            self._rec(kind, "CBDKXX", p["DKBM"], "DKBM", DKBM=p["DKBM"], CBFBM=h["CBFBM"])
        elif kind == "dksyt_file_missing":
            h["no_pdf"] = True
            self._rec(kind, "CBJYQZDJB", f"图件/{h['grp']['FBFBM']}/DKSYT{bm}.pdf", "DKSYT", CBJYQZBM=bm)
        elif kind == "key_trailing_blank":
            row["DKBM_written"] = p["DKBM"] + " "
            self._rec(kind, "CBDKXX", p["DKBM"], "DKBM", DKBM=p["DKBM"])
        elif kind == "fbfbm_not_in_fbf":
            h["CBHT_FBFBM"] = h["grp"]["FBFBM"][:9] + "99901"
            self._rec(kind, "CBHT", bm, "FBFBM")
        elif kind == "cbf_missing":
            h["cbf_dropped"] = True
            self._rec(kind, "CBDKXX", h["CBFBM"], "CBFBM")
        elif kind == "lzhtbm_not_in_lzht":
            row["LZHTBM"] = h["grp"]["FBFBM"] + "L999"
            self._rec(kind, "CBDKXX", p["DKBM"], "LZHTBM", DKBM=p["DKBM"])
        elif kind == "fbf_not_in_code_table":
            g = h["grp"]["FBFBM"]
            if g in self.drop_code_rows:
                return False
            self.drop_code_rows.add(g)
            self._rec(kind, "FBF", g, "FBFBM")
        elif kind == "scmj_geometry_mismatch":
            p["SCMJ"] = round(p["SCMJ"] * 1.05, 2)
            p["scmj_attr_only"] = True
            self._rec(kind, "DK", p["DKBM"], "SCMJ", DKBM=p["DKBM"])
        elif kind == "scmjm_mismatch":
            p["SCMJM_off"] = 0.2
            self._rec("scmjm_mismatch", "DK", p["DKBM"], "SCMJM", DKBM=p["DKBM"])
        elif kind == "htmjm_mismatch":
            row["HTMJM_off"] = 0.3
            self._rec(kind, "CBDKXX", p["DKBM"], "HTMJM", DKBM=p["DKBM"], CBFBM=h["CBFBM"])
        elif kind == "htzmj_sum_mismatch":
            h["HTZMJ"] = round(h["HTZMJ"] + 55.5, 2)
            self._rec(kind, "CBHT", bm, "HTZMJ")
        elif kind == "cbdkzs_mismatch":
            h["CBDKZS"] += 1
            self._rec(kind, "CBHT", bm, "CBDKZS")
        elif kind == "ledger_dbmj_mismatch":
            r1 = row
            r2 = next(r for r in p2["cbdkxx"] if r["h"] is h)
            d = 33.3
            r1["DBMJ"] = round(r1["HTMJ"] + d, 2)
            r2["DBMJ"] = round(r2["HTMJ"] - d, 2)
            self._rec(kind, "确权登记发证台账", p["DKBM"], "DBMJ", DKBM=p["DKBM"], paired_with=p2["DKBM"])
            self._rec(kind, "确权登记发证台账", p2["DKBM"], "DBMJ", DKBM=p2["DKBM"], paired_with=p["DKBM"])
        elif kind == "htmj_nonpositive":
            h["HTZMJ"] = round(h["HTZMJ"] - row["HTMJ"], 2)
            row["HTMJ"] = row["DBMJ"] = 0.0
            self._rec(kind, "CBDKXX", p["DKBM"], "HTMJ", DKBM=p["DKBM"])
        elif kind == "dbmj_nonpositive":
            row["DBMJ"] = 0.0
            self._rec(kind, "确权登记发证台账", p["DKBM"], "DBMJ", DKBM=p["DKBM"])
        elif kind == "yhtzmj_mismatch":
            if h.get("YHTZMJ") is None:
                return False
            h["YHTZMJ"] = round(h["YHTZMJ"] + 100, 2)
            self._rec(kind, "CBHT", bm, "YHTZMJ")
        elif kind in ("lzdks_mismatch", "lzmj_mismatch", "lz_reversed", "lz_beyond_contract"):
            lz = self._transfer(h)
            if kind == "lzdks_mismatch":
                lz["LZDKS_off"] = 1
            elif kind == "lzmj_mismatch":
                lz["LZMJ_off"] = 50.0
            elif kind == "lz_reversed":
                lz["start"], lz["end"] = lz["end"], lz["start"]
                lz["signed"] = "2017-02-20"
            else:
                lz["end"] = "2030-02-28"
            self._rec(kind, "LZHT", lz["LZHTBM"], {"lzdks_mismatch": "LZDKS", "lzmj_mismatch": "LZMJ"}.get(kind, "LZQXJSRQ"))
        elif kind == "cbqx_reversed":
            h["reversed"] = True
            self._rec(kind, "CBHT", bm, "CBQXQ")
        elif kind == "cbqxq_djb_mismatch":
            h["djb_shift"] = True
            self._rec(kind, "CBJYQZDJB", bm, "CBQXQ")
        elif kind == "date_sequence":
            h["survey_late"] = True
            self._rec(kind, "CBF", h["CBFBM"], "CBFDCRQ")
        elif kind == "register_before_contract":
            h["DJSJ_off"] = -30
            self._rec(kind, "CBJYQZDJB", bm, "DJSJ")
        elif kind == "certificate_before_register":
            h["FZRQ_off"] = -10
            self._rec(kind, "CBJYQZ", bm, "FZRQ")
        elif kind == "receipt_before_issue":
            h["QZLQRQ_off"] = -5
            self._rec(kind, "CBJYQZ", bm, "QZLQRQ")
        elif kind == "cbqx_text_mismatch":
            h["CBQX"] = "1998年12月01日至2028年12月30日"
            self._rec(kind, "CBJYQZDJB", bm, "CBQX")
        elif kind == "required_field_empty":
            p["DLDJ_empty"] = True
            self._rec(kind, "DK", p["DKBM"], "DLDJ", DKBM=p["DKBM"])
        elif kind in SUMMARY:
            title, column, delta = SUMMARY[kind]
            self.summary_off.append((title, h["grp"]["FBFBM"], column, delta))
            self._rec(kind, "汇总表格", f"汇总表格/{self.county}{self.cname}{title}.csv", column, unit=h["grp"]["FBFBM"])
        else:
            raise ValueError(kind)
        h["planted"] = p["touched"] = True
        if kind == "ledger_dbmj_mismatch":
            p2["touched"] = True

    # ---------------------------------------------------------------- classes (independent of the plugin)
    def classes(self, tol=0.01):
        out = {}
        contract_bad = set()
        for h in self.contractors():
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
            f'<?xml version="1.0" encoding="UTF-8"?><Metadata><dataIdInfo>'
            f'<title>{self.county}{self.cname}农村土地承包经营权确权登记数据库</title>'
            f"<geoID>{self.county}</geoID></dataIdInfo><refSysInfo><centralMer>{self.zone * 3}</centralMer></refSysInfo></Metadata>", "utf-8")
        self._write_tables(root / "权属数据" / f"{tag}.sqlite")
        self._write_summaries(root / "汇总表格")
        if a.no_cpg:
            for cpg in (root / "矢量数据").glob("*.cpg"):
                cpg.unlink()
        (root / "文字报告" / f"{self.county}{self.cname}确权登记工作报告.txt").write_text(
            f"{self.cname}确权登记工作报告（合成数据）\n", "utf-8")
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
            owner = p["cbdkxx"][0]["h"].get("name") or p["cbdkxx"][0]["h"]["members"][0]["name"] if p["cbdkxx"] else "集体"
            p["DKMC"] = p["group"].setdefault("field", rng.choice(FIELDS)) if p["DKLB"] == "10" else "自留地"
            p["ZJRXM"] = owner
            p["SCMJM"] = round(p["SCMJ"] * MU + p.get("SCMJM_off", 0), 2)
            vals = dict(BSM=i + 1, YSDM="211011", DKBM=p["DKBM"], DKMC=p["DKMC"], SYQXZ="31", DKLB=p["DKLB"], TDLYLX="012",
                        DLDJ="" if p.get("DLDJ_empty") else f"{rng.randint(3, 8):02d}", TDYT=p["TDYT"], SFJBNT=p.setdefault("SFJBNT", "2"),
                        SCMJ=p["SCMJ"], DKDZ="路", DKXZ="路", DKNZ="沟渠", DKBZ="沟渠", DKBZXX="", ZJRXM=owner, KJZB="",
                        SCMJM=p["SCMJM"])
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
        boxes = {g["FBFBM"]: g["box"] for g in self.groups}
        layer("ZJQY", [("ZJQYDM", 14), ("ZJQYMC", 100)],
              [({"ZJQYDM": g["FBFBM"], "ZJQYMC": g["gname"]}, boxes[g["FBFBM"]]) for g in self.groups if g["FBFBM"] not in self.drop_zjqy])
        villages = {}
        for g in self.groups:
            villages.setdefault(g["village"], (g["vname"], []))[1].append(boxes[g["FBFBM"]])
        layer("CJQY", [("CJQYDM", 12), ("CJQYMC", 100)],
              [({"CJQYDM": v, "CJQYMC": n}, shapely.envelope(shapely.union_all(b))) for v, (n, b) in villages.items()])
        town = shapely.envelope(shapely.union_all(list(boxes.values())))
        layer("XJQY", [("XJQYDM", 9), ("XJQYMC", 100)], [({"XJQYDM": f"{self.county}{self.a.township}", "XJQYMC": "合成镇"}, town)])
        layer("XJXZQ", [("XZQDM", 6), ("XZQMC", 100)], [({"XZQDM": self.county, "XZQMC": self.cname}, town)])

    def _write_tables(self, path):
        rng = self.rng
        tb = self.tables
        root = self.root
        pdf_src = root / "图件" / ".template.pdf"
        pdf_src.write_bytes(PDF)
        town = f"山东省聊城市{self.cname}合成镇"
        codes = [(f"{self.county}00000000", f"山东省聊城市{self.cname}", "县"), (f"{self.county}{self.a.township}00000", town, "乡镇")]
        seen_v = set()
        for g in self.groups:
            if g["village"] not in seen_v:
                seen_v.add(g["village"])
                codes.append((g["village"] + "00", f"{town}{g['vname']}", "村"))
            if g["FBFBM"] not in self.drop_code_rows:
                codes.append((g["FBFBM"], f"{town}{g['vname']}{g['gname']}", "组"))
            fz = self._member(self._born(dt.date(1955, 1, 1), dt.date(1975, 12, 31)), True, "02")
            tb["FBF"].append((g["FBFBM"], f"{g['vname']}{g['gname']}", fz["name"], "1", fz["id"], "13800000000",
                              f"{town}{g['vname']}", "252800", name(rng), "2015-05-01", None))
        for h in self.contractors():
            grp = h["grp"]
            farm = h["CBFLX"] == "1"
            head = h["members"][0] if farm else None
            dc = dt.date(2015, 6, 1) + dt.timedelta(days=rng.randrange(0, 40))
            gs = dc + dt.timedelta(days=rng.randrange(20, 50))
            qd = gs + dt.timedelta(days=rng.randrange(5, 30))
            dcs = h.get("CBFDCRQ") or ((gs + dt.timedelta(days=10)).isoformat() if h.get("survey_late") else dc.isoformat())
            members = [] if h.get("members_dropped") else h["members"]
            if not h.get("cbf_dropped"):
                tb["CBF"].append((h["CBFBM"], h["CBFLX"], h.get("CBFMC") or (head["name"] if farm else h["name"]), "1" if farm else h["ZJLX"],
                                  head["id"] if farm else h["ZJHM"], f"{town}{grp['vname']}", h.get("YZBM", "252800"),
                                  h.get("LXDH") or f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}", len(members) + h.get("cysl_off", 0),
                                  dcs, name(rng), "经调查核实无误。", "公示无异议", name(rng), gs.isoformat(), name(rng)))
                for m in members:
                    sex = "1" if m["male"] else "2"
                    if m.get("sex_flip"):
                        sex = "2" if sex == "1" else "1"
                    tb["CBF_JTCY"].append((h["CBFBM"], m["name"], sex, "1", m["id"], m["rel"], None, "1", None))
            bm = h["CBFBM"] + h["suffix"]
            q, z = ("1998-12-01", "2028-11-30") if farm else ("2015-10-01", "2025-09-30")
            cbqx = h.get("CBQX") or (f"{q[:4]}年{q[5:7]}月{q[8:10]}日至{z[:4]}年{z[5:7]}月{z[8:10]}日")
            if h.get("reversed"):
                q, z = z, q
            qds = h.get("QDSJ") or qd.isoformat()
            cbfs = h.get("CBFS_written") or h["CBFS"]
            yhtzmj = h.get("YHTZMJ")
            tb["CBHT"].append((bm, None, h.get("CBHT_FBFBM") or grp["FBFBM"], h["CBFBM"], cbfs, q, z, h["HTZMJ"], h["CBDKZS"], qds,
                               round(h["HTZMJ"] * MU, 2), yhtzmj, None if yhtzmj is None else round(yhtzmj * MU, 2)))
            dq = "1999-12-01" if h.get("djb_shift") else q
            rel = f"图件\\{grp['FBFBM']}\\DKSYT{bm}.pdf"
            djsj = days(qd.isoformat(), h.get("DJSJ_off", 0))
            fzrq = h.get("FZRQ") or days(qd.isoformat(), h.get("FZRQ_off", 0))
            lqrq = days(fzrq, h.get("QZLQRQ_off", 0)) if not h.get("FZRQ") else qd.isoformat()
            tb["CBJYQZDJB"].append((bm, grp["FBFBM"], h["CBFBM"], h["CBFS"], cbqx, dq, z, rel, None, f"{rng.randrange(10**9):09d}", None, name(rng), djsj))
            holder = (head["name"], "1", head["id"]) if farm else (h["name"], h["ZJLX"], h["ZJHM"])
            tb["CBJYQZ"].append((bm, f"{self.cname}人民政府", fzrq, "1", lqrq, *holder))
            if farm and rng.random() < 0.005:  # a lost certificate re-issued
                tb["CBJYQZ_QZBF"].append((bm, "权证遗失", "2016-03-24", "2016-03-31", *holder))
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
                    y = r.get("YHTMJ")
                    r["HTMJM"] = round(r["HTMJ"] * MU + r.get("HTMJM_off", 0), 2)
                    tb["CBDKXX"].append((r.get("DKBM_written") or p["DKBM"], grp["FBFBM"], h["CBFBM"], h["CBFS"], r["HTMJ"], bm, r.get("LZHTBM"), bm,
                                         y, r["HTMJM"], None if y is None else round(y * MU, 2), r["SFQQQG"]))
                    self.ledger.append((p["DKBM"], h["CBFBM"], bm, f"{r['DBMJ']:.2f}"))
        for lz in self.transfers:
            h = lz["h"]
            rows = lz["rows"]
            lzmj = round(sum(r["HTMJ"] for r in rows) + lz["LZMJ_off"], 2)
            tb["LZHT"].append((h["CBFBM"] + h["suffix"], lz["LZHTBM"], h["CBFBM"], lz["SRFBM"], "1", "5年", lz["start"], lz["end"], lzmj,
                               len(rows) + lz["LZDKS_off"], "1", "1", "每亩每年800元", lz["signed"], round(lzmj * MU, 2)))
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
        self.codes = codes
        with open(root / "权属数据" / f"{self.county}{self.year}权属单位代码表.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(["权属单位代码", "权属单位名称", "级别"])
            w.writerows(codes)
        with open(root / "其他资料" / "确权登记发证台账.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(["DKBM", "CBFBM", "CBJYQZBM", "DBMJ"])
            w.writerows(self.ledger)

    def _write_summaries(self, folder):
        """The six summary tables, computed from the tables and the DK layer as written (planted summary defects aside)."""
        tb = self.tables
        group = {}  # FBFBM -> {column: value}

        def add(g, col, v):
            if g:
                d = group.setdefault(g[:14], {})
                d[col] = d.get(col, 0) + v
        for r in tb["FBF"]:
            add(r[0], "发包方数量", 1)
        seen = set()
        cbflx = {r[0]: r[1] for r in tb["CBF"]}
        cbfs = {r[0]: r[3] for r in tb["CBJYQZDJB"]}
        issued = {r[0] for r in tb["CBJYQZ"]}
        dk = {p["DKBM"]: p for p in self.parcels if p["dk"]}
        for r in tb["CBDKXX"]:
            dkbm, fbfbm, mu = r[0].strip(), r[1], r[9]
            if (fbfbm, dkbm) not in seen:
                seen.add((fbfbm, dkbm))
                add(fbfbm, "承包地块总数", 1)
            add(fbfbm, "承包地块总面积", mu)
            if r[7] in issued:
                fam = "家庭承包" if cbfs.get(r[7], "110") in ("110", "100") else "其他方式承包"
                add(r[7], "颁发权证面积合计", mu)
                add(r[7], f"颁发权证面积{fam}", mu)
            p = dk.get(dkbm)
            if p is not None:
                use = p["TDYT"]
                add(fbfbm, {"1": "种植业", "2": "林业", "3": "畜牧业", "4": "渔业"}.get(use, "非农业用途"), mu)
                add(fbfbm, "合计@use", mu)
                add(fbfbm, "基本农田面积" if p["SFJBNT"] == "1" else "非基本农田面积", mu)
                add(fbfbm, "合计@jbnt", mu)
        for p in self.parcels:
            if p["dk"] and p["DKLB"] in ("21", "22", "23", "99"):
                add(p["DKBM"], "非承包地块总数", 1)
                add(p["DKBM"], "非承包地块总面积", p["SCMJM"])
                add(p["DKBM"], {"21": "自留地", "22": "机动地", "23": "开荒地", "99": "其他集体土地"}[p["DKLB"]], p["SCMJM"])
                add(p["DKBM"], "合计@non", p["SCMJM"])
        for r in tb["CBJYQZ"]:
            fam = "家庭承包" if cbfs.get(r[0], "110") in ("110", "100") else "其他方式承包"
            add(r[0], "颁发权证数量", 1)
            add(r[0], "颁发权证数量合计", 1)
            add(r[0], f"颁发权证数量{fam}", 1)
        for r in tb["CBF"]:
            add(r[0], "承包方总数", 1)
            add(r[0], {"1": "家庭承包农户数量", "2": "个人承包数量", "3": "单位承包数量"}[r[1]], 1)
            if r[1] in ("2", "3"):
                add(r[0], "其他方式承包合计", 1)
        for r in tb["CBF_JTCY"]:
            if cbflx.get(r[0]) == "1":
                add(r[0], "家庭承包成员数量", 1)
        planted = {}
        for title, g, column, delta in self.summary_off:  # only the group's own row is wrong, not its village's or county's
            planted[(title, g, column)] = planted.get((title, g, column), 0) + delta
        units = [(f"{self.county}00000000", f"山东省聊城市{self.cname}", 6),
                 (f"{self.county}{self.a.township}00000", f"山东省聊城市{self.cname}合成镇", 9)]
        seen_v = set()
        for g in self.groups:
            if g["village"] not in seen_v:
                seen_v.add(g["village"])
                units.append((g["village"] + "00", f"山东省聊城市{self.cname}合成镇{g['vname']}", 12))
            units.append((g["FBFBM"], f"山东省聊城市{self.cname}合成镇{g['vname']}{g['gname']}", 14))
        suffix = {"按承包地土地用途汇总表": "@use", "按承包地是否基本农田汇总表": "@jbnt",
                  "按非承包地地块类别汇总表": "@non"}
        for title, (unit_row, cols) in SUMMARY_COLUMNS.items():
            with open(folder / f"{self.county}{self.cname}{title}.csv", "w", encoding="utf-8-sig", newline="") as f:
                w = csv.writer(f)
                w.writerow([title] + [""] * (len(cols) + 1))
                w.writerow([unit_row] + [""] * (len(cols) + 1))
                w.writerow(["权属单位代码", "权属单位名称"] + cols)
                for code, uname, n in units:
                    vals = []
                    for col in cols:
                        key = col + suffix[title] if col == "合计" and title in suffix else col
                        v = sum(d.get(key, 0) for gg, d in group.items() if gg[:n] == code[:n])
                        if n == 14:
                            v += planted.get((title, code, col), 0)
                        vals.append(round(v, 2) if isinstance(v, float) else v)
                    w.writerow([code, uname] + vals)

    def farmland(self):
        """Every other group lies in a basic-farmland zone; SFJBNT follows."""
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


def _rel_like(rel, male):
    """A relation code of the same generation as `rel` that agrees with the sex."""
    if rel[0] in "23":
        return ("2" if male else "3") + rel[1]
    if rel[0] == "4":
        return "41" if male else "42"
    if rel[0] == "5":
        return "51" if male else "52"
    if rel in ("11", "12"):
        return "11" if male else "12"
    return rel


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
    ap.add_argument("--kinds", default="classic", help="classic (default), all, or a comma-separated list of defect kinds")
    ap.add_argument("--each", type=int, default=0, help="plant every chosen kind at least this many times")
    ap.add_argument("--no-cpg", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    g = Gen(a)
    g.build()
    g.areas()
    g.farmland()
    g.make_transfers()
    g.plant()
    g.write()
    g.write_farmland()
    parcels = g.classes()
    counts = dict(parcels=len(parcels), dk_features=sum(1 for p in g.parcels if p["dk"]), households=len(g.tables["CBF"]),
                  contracts=len(g.tables["CBHT"]), members=len(g.tables["CBF_JTCY"]), cbdkxx_rows=len(g.tables["CBDKXX"]),
                  groups=len(g.groups), share_only_parcels=sum(1 for p in parcels.values() if p["class"] == "share_only"),
                  other_contractors=len(g.others), transfers=len(g.transfers),
                  by_class={c: sum(1 for p in parcels.values() if p["class"] == c) for c in
                            ("consistent", "measured_differs", "contract_register_mismatch", "share_only", "unmatched")},
                  by_defect_kind={k: sum(1 for d in g.defects if d["kind"] == k) for k in dict.fromkeys(d["kind"] for d in g.defects)},
                  by_family={f: sum(1 for d in g.defects if FAMILY[d["kind"]] == f) for f in dict.fromkeys(FAMILY[d["kind"]] for d in g.defects)})
    truth = dict(generator="benchmarks/make_delivery.py", parameters=vars(a), package_root=g.root.name, counts=counts,
                 defects=g.defects, parcels=parcels)
    (Path(a.out) / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), "utf-8")
    print(f"{g.root}: {counts['parcels']} parcels, {counts['households']} households, {len(g.defects)} defects", file=sys.stderr)
    return g.root


if __name__ == "__main__":
    main()
