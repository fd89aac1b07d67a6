"""Code rules: code structures and hierarchy (NY/T 2538), region and unit codes, code lists, feature codes."""
import re

import numpy as np

from .. import codes, schema
from ..issues import parallel, rule
from .common import KEYS, dk_rows, present

D14, D18, D19 = re.compile(r"^\d{14}$"), re.compile(r"^\d{18}$"), re.compile(r"^\d{19}$")


@rule("code.dkbm_format", "code", "error", "地块编码“{key}”应为19位数字（发包方编码14位+地块顺序码5位），实际 {value} 位",
      "DKBM is not 19 digits.")
@rule("code.dkbm_serial", "code", "error", "地块编码“{key}”的地块顺序码为 00000（顺序码从 00001 起编）",
      "The 5-digit plot serial of a DKBM is 00000.", source="NY/T 2538-2014: the plot serial runs from 00001 within its 发包方.")
@rule("code.county_prefix", "code", "error", "{field}“{key}”的县级代码与成果包县级代码 {detail} 不一致",
      "A code does not start with the package's county code.")
@parallel
def dkbm_format(ctx):
    county = ctx.ws.d.county
    bad = "(length(DKBM) <> 19 OR DKBM GLOB '*[^0-9]*' OR substr(DKBM, 1, 6) <> ? OR substr(DKBM, 15) = '00000')"
    seen = set()
    for k, in ctx.q(f"SELECT DISTINCT DKBM FROM DK WHERE DKBM IS NOT NULL AND DKBM <> '' AND {bad}", (county,)):
        seen.add(k)
        if not D19.match(k):
            ctx.issue("code.dkbm_format", k, "DKBM", len(k), layer="DK", geometry_of=k)
        elif k[:6] != county:
            ctx.issue("code.county_prefix", k, "DKBM", k[:6], layer="DK", detail=county, geometry_of=k)
        else:
            ctx.issue("code.dkbm_serial", k, "DKBM", k[14:], layer="DK", geometry_of=k)
    for k, in ctx.q(f"SELECT DISTINCT DKBM FROM CBDKXX WHERE DKBM IS NOT NULL AND DKBM <> '' AND {bad}", (county,)):
        if k in seen:
            continue
        if not D19.match(k):
            ctx.issue("code.dkbm_format", k, "DKBM", len(k), layer="CBDKXX")
        elif k[14:] == "00000":
            ctx.issue("code.dkbm_serial", k, "DKBM", k[14:], layer="CBDKXX")


@rule("code.dkbm_prefix", "code", "error", "地块编码“{key}”的前14位与其发包方编码 {value} 不一致",
      "A CBDKXX row's DKBM does not start with its FBFBM.")
@rule("code.cbfbm_prefix", "code", "error", "{layer}“{key}”的承包方编码 {value} 的前14位与发包方编码 {detail} 不一致",
      "A CBFBM does not start with the FBFBM recorded beside it (CBHT, CBDKXX, CBJYQZDJB); keyed by the record.")
@parallel
def prefixes(ctx):
    for dk, fbf in ctx.q("SELECT DISTINCT DKBM, FBFBM FROM CBDKXX WHERE length(DKBM) = 19 AND FBFBM IS NOT NULL AND FBFBM <> '' "
                         "AND substr(DKBM,1,14) <> FBFBM"):
        ctx.issue("code.dkbm_prefix", dk, "DKBM", fbf, layer="CBDKXX", geometry_of=dk)
    for table in ("CBHT", "CBDKXX", "CBJYQZDJB"):
        for k, cbf, fbf in ctx.q(f'SELECT DISTINCT "{KEYS[table]}", CBFBM, FBFBM FROM "{table}" WHERE length(CBFBM) = 18 AND FBFBM IS NOT NULL '
                                 "AND FBFBM <> '' AND substr(CBFBM,1,14) <> FBFBM"):
            ctx.issue("code.cbfbm_prefix", k, "CBFBM", cbf, layer=table, detail=fbf, geometry_of=k if table == "CBDKXX" else None)


@rule("code.fbfbm_format", "code", "error", "{layer} 的发包方编码“{value}”应为14位数字", "FBFBM is not 14 digits; keyed by the record.")
@rule("code.cbfbm_format", "code", "error", "{layer} 的承包方编码“{value}”应为18位数字", "CBFBM is not 18 digits; keyed by the record.")
@parallel
def code_formats(ctx):
    """Only the offending codes come back from SQLite: format (length, digits) and county prefix are tested there."""
    county = ctx.ws.d.county
    for col, n, rid, tables in (("FBFBM", 14, "code.fbfbm_format", ("FBF", "CBHT", "CBDKXX", "CBJYQZDJB")),
                                ("CBFBM", 18, "code.cbfbm_format", ("CBF", "CBHT", "CBDKXX", "CBJYQZDJB", "CBF_JTCY"))):
        pattern = D14 if n == 14 else D18
        for table in tables:
            if not present(ctx, table, col):
                continue
            key = KEYS[table]
            sql = (f'SELECT DISTINCT "{key}", "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL AND "{col}" <> \'\' AND '
                   f'(length("{col}") <> {n} OR "{col}" GLOB \'*[^0-9]*\' OR substr("{col}", 1, 6) <> ?)')
            for k, v in ctx.q(sql, (county,)):
                if not pattern.match(v):
                    ctx.issue(rid, k or v, col, v, layer=table, geometry_of=k if table == "CBDKXX" else None)
                elif key == col:
                    ctx.issue("code.county_prefix", k, col, v[:6], layer=table, detail=county)


@rule("code.cbfbm_serial_range", "code", "error",
      "承包方编码“{key}”的顺序码 {value} 与承包方类型 {detail} 不匹配（应在 {range} 之间）",
      "The CBFBM serial (last 4 digits) is outside the range for its CBFLX: 农户 0001–8000, 个人 8001–9000, 单位 9001–9999.")
@parallel
def serial_range(ctx):
    for cbf, lx in ctx.q("SELECT CBFBM, CBFLX FROM CBF WHERE length(CBFBM) = 18 AND CBFBM NOT GLOB '*[^0-9]*' AND CBFLX IN ('1','2','3') AND ("
                         "(CBFLX = '1' AND CAST(substr(CBFBM, 15) AS INTEGER) NOT BETWEEN 1 AND 8000) OR "
                         "(CBFLX = '2' AND CAST(substr(CBFBM, 15) AS INTEGER) NOT BETWEEN 8001 AND 9000) OR "
                         "(CBFLX = '3' AND CAST(substr(CBFBM, 15) AS INTEGER) NOT BETWEEN 9001 AND 9999))"):
        rng = codes.SERIAL_RANGES[lx]
        ctx.issue("code.cbfbm_serial_range", cbf, "CBFBM", cbf[14:], layer="CBF", detail=lx, range=rng[2])


@rule("code.contract_code", "code", "error", "{layer} 的 {field}“{key}”应为承包方编码+“{value}”（承包方式 {detail}）",
      "CBHTBM / CBJYQZBM must be the CBFBM plus J (family contract, 110) or Q (other ways); a CBDKXX row's CBJYQZBM equals its CBHTBM.")
@parallel
def contract_codes(ctx):
    for table, col in (("CBHT", "CBHTBM"), ("CBJYQZDJB", "CBJYQZBM")):
        sql = (f'SELECT "{col}", CBFBM, CBFS FROM "{table}" WHERE "{col}" IS NOT NULL AND CBFBM IS NOT NULL AND NOT ('
               f'("{col}" = CBFBM || \'J\' AND (CBFS IS NULL OR trim(CBFS) IN (\'\', \'110\', \'100\'))) OR '
               f'("{col}" = CBFBM || \'Q\' AND (CBFS IS NULL OR trim(CBFS) NOT IN (\'110\', \'100\'))))')
        for k, cbf, fs in ctx.q(sql):
            fs = (fs or "").strip()
            want = "J" if fs in ("110", "100") else "Q"
            ctx.issue("code.contract_code", k, col, want if fs else "J/Q", layer=table, detail=fs)
    for k, ht, qz in ctx.q("SELECT DISTINCT DKBM, CBHTBM, CBJYQZBM FROM CBDKXX WHERE CBJYQZBM IS NOT NULL AND CBHTBM IS NOT NULL "
                           "AND CBJYQZBM <> CBHTBM"):
        ctx.issue("code.contract_code", k, "CBJYQZBM", ht[-1:] if ht else "", layer="CBDKXX", detail=f"与承包合同编码 {ht} 不一致：{qz}",
                  geometry_of=k)


@rule("code.lzhtbm_format", "code", "warning", "流转合同编码“{key}”不以其承包方的发包方编码 {value} 开头",
      "LZHT.LZHTBM does not begin with the 14-digit FBFBM of its contractor (vendor practice: FBFBM + serial).",
      why="NY/T 2538 fixes only the width (18) of LZHTBM; its structure is vendor practice (UNCONFIRMED).")
@parallel
def lzhtbm(ctx):
    for k, cbf in ctx.q("SELECT LZHTBM, CBFBM FROM LZHT WHERE LZHTBM IS NOT NULL AND length(CBFBM) = 18 AND substr(LZHTBM, 1, 14) <> substr(CBFBM, 1, 14)"):
        ctx.issue("code.lzhtbm_format", k, "LZHTBM", cbf[:14], layer="LZHT")


REGION_CODES = {"XJXZQ": ("XZQDM", 6), "XJQY": ("XJQYDM", 9), "CJQY": ("CJQYDM", 12), "ZJQY": ("ZJQYDM", 14)}


@rule("code.unit_code", "code", "error", "{layer} 的区域/权属单位代码“{key}”{detail}",
      "A region code (XZQDM 6, XJQYDM 9, CJQYDM 12, ZJQYDM 14 digits) or a code of the 权属单位代码表 (14 digits) is "
      "malformed or does not start with the package's county code.",
      source="NY/T 2538-2014 §权属单位代码; NY/T 2539-2016 XJXZQ/XJQY/CJQY/ZJQY field widths.")
@parallel
def unit_codes(ctx):
    county = ctx.ws.d.county
    for prefix, (field, n) in REGION_CODES.items():
        lyr = ctx.ws.layer(prefix)
        if lyr is None or not lyr.n or field not in lyr.raw:
            continue
        for v in sorted(set(lyr.text(field).tolist())):
            if not v:
                continue
            why = _unit_problem(v, n, county)
            if why:
                ctx.issue("code.unit_code", v, field, v, layer=prefix, detail=why)
    for code, in ctx.q("SELECT code FROM CODES"):
        why = _unit_problem(code, 14, county)
        if why:
            ctx.issue("code.unit_code", code, "权属单位代码", code, layer="权属单位代码表", detail=why)


def _unit_problem(v, n, county):
    if not (len(v) == n and v.isdigit()):
        return f"应为{n}位数字"
    if v[:6] != county:
        return f"的县级代码与成果包县级代码 {county} 不一致"
    return ""


@rule("code.codelist", "code", "error", "{layer} 字段 {field} 的值“{value}”不在代码表“{detail}”中",
      "A coded value is not in its code list (codelists.csv).", params=("codelists",))
@rule("code.codelist_unconfirmed", "code", "warning",
      "{layer} 字段 {field} 的值“{value}”不在代码表“{detail}”中（该代码表未经标准原文确认）",
      "A value outside a code list whose standard values are UNCONFIRMED (流转方式).",
      why="the list is a vendor's; override codelists.csv to make it binding.", params=("codelists",))
@rule("code.ysdm", "code", "error", "{layer} 的要素代码 YSDM 应为 {detail}，实际为“{value}”",
      "A layer's YSDM is not its feature code (DK 211011, XJXZQ 162010, XJQY 162020, CJQY 162030, ZJQY 162040, JBNTBHQ 251100 …).",
      source="NY/T 2539-2016 要素代码 (reference/standards.md §1.1).")
@parallel
def codelists(ctx):
    dk = ctx.ws.dk
    if dk is not None and dk.n:
        rows = dk_rows(ctx)
        for (layer, field), lst in codes.FIELD_LISTS.items():
            if layer != "DK" or field not in dk.raw:
                continue
            valid = np.array([c.encode("utf-8") for c in ctx.codes.get(lst, {})], dtype=bytes)
            raw = dk.raw[field]
            bad = np.nonzero((raw != b"") & ~np.isin(raw, valid))[0]
            for i in bad:
                ctx.issue("code.codelist", rows[i][1], field, raw[i].decode("utf-8", "replace"), layer="DK", detail=lst, geometry_of=rows[i][1])
    for prefix, (_name, ysdm, _kind) in schema.LAYERS.items():
        if prefix not in ctx.ws.d.vectors:
            continue
        lyr = ctx.ws.layer(prefix)
        if lyr is None or not lyr.n or "YSDM" not in lyr.raw:
            continue
        raw = lyr.raw["YSDM"]
        idx = np.nonzero((raw != b"") & (raw != ysdm.encode()))[0]
        if not len(idx):
            continue
        if prefix == "DK":
            rows = dk_rows(ctx)
            for i in idx:
                ctx.issue("code.ysdm", rows[i][1], "YSDM", raw[i].decode("utf-8", "replace"), layer="DK", detail=ysdm, geometry_of=rows[i][1])
        else:  # one issue per layer file and wrong value
            rel = ctx.ws.d.rel(lyr.paths[0])
            for v in sorted(set(raw[idx].tolist())):
                ctx.issue("code.ysdm", rel, "YSDM", v.decode("utf-8", "replace"), layer=prefix, detail=ysdm)
    for (table, field), lst in codes.FIELD_LISTS.items():
        if table == "DK" or not present(ctx, table, field):
            continue
        valid = sorted(ctx.codes.get(lst, {}))
        rid = "code.codelist_unconfirmed" if lst in codes.UNCONFIRMED_LISTS else "code.codelist"
        sql = (f'SELECT "{KEYS[table]}", "{field}" FROM "{table}" WHERE "{field}" IS NOT NULL AND trim("{field}") <> \'\' '
               f'AND CAST("{field}" AS TEXT) NOT IN ({", ".join("?" * len(valid))})')
        for k, v in ctx.q(sql, valid):
            ctx.issue(rid, k, field, v, layer=table, detail=lst, geometry_of=k if table == "CBDKXX" else None)
