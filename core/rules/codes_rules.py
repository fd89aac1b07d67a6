"""Code rules: code formats and hierarchy (NY/T 2538), code lists, ID numbers (GB 11643), sex."""
import re

import numpy as np

from .. import codes
from ..issues import rule
from .common import KEYS, dk_rows, present

D14, D18, D19 = re.compile(r"^\d{14}$"), re.compile(r"^\d{18}$"), re.compile(r"^\d{19}$")


@rule("code.dkbm_format", "code", "error", "地块编码“{key}”应为19位数字（发包方编码14位+地块顺序码5位），实际 {value} 位", "DKBM is not 19 digits.")
@rule("code.county_prefix", "code", "error", "{field}“{key}”的县级代码与成果包县级代码 {detail} 不一致", "A code does not start with the package's county code.")
def dkbm_format(ctx):
    county = ctx.ws.d.county
    bad = "(length(DKBM) <> 19 OR DKBM GLOB '*[^0-9]*' OR substr(DKBM, 1, 6) <> ?)"
    seen = set()
    for k, in ctx.q(f"SELECT DISTINCT DKBM FROM DK WHERE DKBM IS NOT NULL AND DKBM <> '' AND {bad}", (county,)):
        seen.add(k)
        if not D19.match(k):
            ctx.issue("code.dkbm_format", k, "DKBM", len(k), layer="DK", geometry_of=k)
        else:
            ctx.issue("code.county_prefix", k, "DKBM", k[:6], layer="DK", detail=county, geometry_of=k)
    for k, in ctx.q(f"SELECT DISTINCT DKBM FROM CBDKXX WHERE DKBM IS NOT NULL AND trim(DKBM) <> '' AND {bad}", (county,)):
        if not D19.match(k) and k not in seen:
            ctx.issue("code.dkbm_format", k, "DKBM", len(k), layer="CBDKXX")


@rule("code.dkbm_prefix", "code", "error", "地块编码“{key}”的前14位与其发包方编码 {value} 不一致", "A CBDKXX row's DKBM does not start with its FBFBM.")
@rule("code.cbfbm_prefix", "code", "error", "承包方编码“{key}”的前14位与发包方编码 {value} 不一致", "A CBFBM does not start with the FBFBM recorded beside it.")
def prefixes(ctx):
    for dk, fbf in ctx.q("SELECT DKBM, FBFBM FROM CBDKXX WHERE length(DKBM) = 19 AND FBFBM IS NOT NULL AND substr(DKBM,1,14) <> FBFBM"):
        ctx.issue("code.dkbm_prefix", dk, "DKBM", fbf, layer="CBDKXX", geometry_of=dk)
    for table in ("CBHT", "CBDKXX", "CBJYQZDJB"):
        for k, cbf, fbf in ctx.q(f'SELECT DISTINCT "{KEYS[table]}", CBFBM, FBFBM FROM "{table}" WHERE length(CBFBM) = 18 AND FBFBM IS NOT NULL AND substr(CBFBM,1,14) <> FBFBM'):
            ctx.issue("code.cbfbm_prefix", cbf, "CBFBM", fbf, layer=table)


@rule("code.fbfbm_format", "code", "error", "{layer} 的发包方编码“{key}”应为14位数字", "FBFBM is not 14 digits.")
@rule("code.cbfbm_format", "code", "error", "{layer} 的承包方编码“{key}”应为18位数字", "CBFBM is not 18 digits.")
def code_formats(ctx):
    """Only the offending codes come back from SQLite: format (length, digits) and county prefix are tested there."""
    county = ctx.ws.d.county
    for col, n, rid, tables in (("FBFBM", 14, "code.fbfbm_format", ("FBF", "CBHT", "CBDKXX", "CBJYQZDJB")),
                                ("CBFBM", 18, "code.cbfbm_format", ("CBF", "CBHT", "CBDKXX", "CBJYQZDJB", "CBF_JTCY"))):
        pattern = D14 if n == 14 else D18
        for table in tables:
            sql = (f'SELECT DISTINCT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL AND trim("{col}") <> \'\' AND '
                   f'(length("{col}") <> {n} OR "{col}" GLOB \'*[^0-9]*\' OR substr("{col}", 1, 6) <> ?)')
            for k, in ctx.q(sql, (county,)):
                if not pattern.match(k):
                    ctx.issue(rid, k, col, k, layer=table)
                elif col == "FBFBM":
                    ctx.issue("code.county_prefix", k, "FBFBM", k[:6], layer=table, detail=county)


@rule("code.cbfbm_serial_range", "code", "error", "承包方编码“{key}”的顺序码 {value} 与承包方类型 {detail} 不匹配（应在 {range} 之间）",
      "The CBFBM serial (last 4 digits) is outside the range for its CBFLX: 农户 0001–8000, 个人 8001–9000, 单位 9001–9999.")
def serial_range(ctx):
    for cbf, lx in ctx.q("SELECT CBFBM, CBFLX FROM CBF WHERE length(CBFBM) = 18"):
        rng = codes.SERIAL_RANGES.get((lx or "").strip())
        if rng and not rng[0] <= int(cbf[14:]) <= rng[1]:
            ctx.issue("code.cbfbm_serial_range", cbf, "CBFBM", cbf[14:], layer="CBF", detail=lx, range=rng[2])


@rule("code.contract_code", "code", "error", "{layer} 的 {field}“{key}”应为承包方编码+“{value}”（承包方式 {detail}）",
      "CBHTBM / CBJYQZBM must be the CBFBM plus J (family contract, 110) or Q (other ways).")
def contract_codes(ctx):
    checks = [("CBHT", "CBHTBM", "CBHT.CBFS"), ("CBJYQZDJB", "CBJYQZBM", "CBJYQZDJB.CBFS")]
    for table, col, _ in checks:
        for k, cbf, fs in ctx.q(f'SELECT "{col}", CBFBM, CBFS FROM "{table}" WHERE "{col}" IS NOT NULL AND CBFBM IS NOT NULL'):
            fs = (fs or "").strip()
            want = "J" if fs in ("110", "100") else "Q"
            ok = k in (cbf + "J", cbf + "Q") if not fs else k == cbf + want
            if not ok:
                ctx.issue("code.contract_code", k, col, want, layer=table, detail=fs)
    for k, cbf, ht in ctx.q("SELECT DISTINCT CBJYQZBM, CBFBM, CBHTBM FROM CBDKXX WHERE CBJYQZBM IS NOT NULL AND CBHTBM IS NOT NULL AND CBJYQZBM <> CBHTBM"):
        ctx.issue("code.contract_code", k, "CBJYQZBM", ht[-1:] if ht else "", layer="CBDKXX", detail="与承包合同编码不一致")


@rule("code.codelist", "code", "error", "{layer} 字段 {field} 的值“{value}”不在代码表“{detail}”中", "A coded value is not in its code list (codelists.csv).")
@rule("code.codelist_unconfirmed", "code", "warning", "{layer} 字段 {field} 的值“{value}”不在代码表“{detail}”中（该代码表未经标准原文确认）",
      "A value outside a code list whose standard values are UNCONFIRMED (流转方式).", why="the list is a vendor's; override codelists.csv to make it binding.")
@rule("code.ysdm", "code", "error", "要素代码 YSDM 应为 {detail}，实际为“{value}”", "The DK layer's YSDM is not 211011.")
def codelists(ctx):
    dk = ctx.ws.dk
    if dk is not None and dk.n:
        rows = dk_rows(ctx)
        for (layer, field), lst in codes.FIELD_LISTS.items():
            if layer != "DK" or field not in dk.fields:
                continue
            valid = np.array([c.encode("utf-8") for c in ctx.codes.get(lst, {})], dtype=bytes)
            raw = dk.raw[field]
            bad = np.nonzero((raw != b"") & ~np.isin(raw, valid))[0]
            for i in bad:
                ctx.issue("code.codelist", rows[i][1], field, raw[i].decode("utf-8", "replace"), layer="DK", detail=lst, geometry_of=rows[i][1])
        if "YSDM" in dk.raw:
            raw = dk.raw["YSDM"]
            for i in np.nonzero((raw != b"") & (raw != b"211011"))[0]:
                ctx.issue("code.ysdm", rows[i][1], "YSDM", raw[i].decode("utf-8", "replace"), layer="DK", detail="211011", geometry_of=rows[i][1])
    for (table, field), lst in codes.FIELD_LISTS.items():
        if table == "DK" or not present(ctx, table, field):
            continue
        valid = sorted(ctx.codes.get(lst, {}))
        rid = "code.codelist_unconfirmed" if lst in codes.UNCONFIRMED_LISTS else "code.codelist"
        sql = (f'SELECT "{KEYS[table]}", "{field}" FROM "{table}" WHERE "{field}" IS NOT NULL AND trim("{field}") <> \'\' '
               f'AND CAST("{field}" AS TEXT) NOT IN ({", ".join("?" * len(valid))})')
        for k, v in ctx.q(sql, valid):
            ctx.issue(rid, k, field, v, layer=table, detail=lst)


@rule("code.id_number", "code", "error", "{layer} 的证件号码 {value} 无效：{detail}", "An 18-digit resident ID fails GB 11643 (format, birth date, check digit).")
@rule("code.sex_id", "code", "error", "成员性别 CYXB={detail} 与身份证号码第17位（{value}）不符", "A member's sex contradicts the 17th digit of the ID number.")
def id_numbers(ctx):
    from ..output import mask_id
    rows = ctx.q("SELECT CBFBM, CYZJHM, CYXB FROM CBF_JTCY WHERE CYZJLX = '1' AND CYZJHM IS NOT NULL AND trim(CYZJHM) <> ''")
    suspect = codes.suspect_ids([r[1] for r in rows])  # vectorised first pass; the few suspects get the full check
    for i, (cbf, zjhm, xb) in enumerate(rows):
        sex = codes.id_sex(zjhm)
        if not suspect[i]:
            if xb in ("1", "2") and sex and xb != sex:
                ctx.issue("code.sex_id", cbf, "CYXB", mask_id(zjhm), layer="CBF_JTCY", detail=xb)
            continue
        why = codes.id_problem(zjhm)
        if why:
            ctx.issue("code.id_number", cbf, "CYZJHM", mask_id(zjhm), layer="CBF_JTCY", detail=why)
            continue
        sex = codes.id_sex(zjhm)
        if xb in ("1", "2") and sex and xb != sex:
            ctx.issue("code.sex_id", cbf, "CYXB", mask_id(zjhm), layer="CBF_JTCY", detail=xb)
    for cbf, zjhm in ctx.q("SELECT CBFBM, CBFZJHM FROM CBF WHERE CBFZJLX = '1' AND CBFZJHM IS NOT NULL AND trim(CBFZJHM) <> ''"):
        why = codes.id_problem(zjhm)
        if why:
            ctx.issue("code.id_number", cbf, "CBFZJHM", mask_id(zjhm), layer="CBF", detail=why)
    for fbf, zjhm in ctx.q("SELECT FBFBM, FZRZJHM FROM FBF WHERE FZRZJLX = '1' AND FZRZJHM IS NOT NULL AND trim(FZRZJHM) <> ''"):
        why = codes.id_problem(zjhm)
        if why:
            ctx.issue("code.id_number", fbf, "FZRZJHM", mask_id(zjhm), layer="FBF", detail=why)
