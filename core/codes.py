"""Code lists (codelists.csv, overridable) and code rules of NY/T 2538 / GB 11643."""
import csv
import datetime as dt
import re
from functools import lru_cache

from .paths import resource

CODELISTS = resource("codelists.csv")

# Which code list each coded field uses. Lists marked UNCONFIRMED in the reference give warnings only.
FIELD_LISTS = {
    ("DK", "SYQXZ"): "所有权性质", ("DK", "DKLB"): "地块类别", ("DK", "TDLYLX"): "土地利用类型",
    ("DK", "DLDJ"): "地力等级", ("DK", "TDYT"): "土地用途", ("DK", "SFJBNT"): "是否",
    ("CBF", "CBFLX"): "承包方类型", ("CBF", "CBFZJLX"): "证件类型",
    ("CBF_JTCY", "CYXB"): "性别", ("CBF_JTCY", "CYZJLX"): "证件类型", ("CBF_JTCY", "YHZGX"): "与户主关系",
    ("CBF_JTCY", "CYBZ"): "成员备注", ("CBF_JTCY", "SFGYR"): "是否",
    ("CBHT", "CBFS"): "承包经营权取得方式", ("CBDKXX", "CBJYQQDFS"): "承包经营权取得方式",
    ("CBDKXX", "SFQQQG"): "是否", ("CBJYQZDJB", "CBFS"): "承包经营权取得方式",
    ("CBJYQZ", "QZSFLQ"): "是否", ("FBF", "FZRZJLX"): "证件类型", ("LZHT", "LZFS"): "流转类型",
    ("CBJYQZ", "QZLQRZJLX"): "证件类型", ("CBJYQZ_QZBF", "BFLQRZJLX"): "证件类型", ("CBJYQZ_QZHF", "HFLQRZJLX"): "证件类型",
    ("LZHT", "LZQTDYT"): "土地用途", ("LZHT", "LZHTDYT"): "土地用途",
    ("JZD", "JZDLX"): "界址点类型", ("JZD", "JBLX"): "界标类型", ("JZX", "JZXLB"): "界址线类别", ("JZX", "JZXWZ"): "界址线位置",
    ("JZX", "JXXZ"): "界线性质", ("QYJX", "JXLX"): "界线类型", ("QYJX", "JXXZ"): "界线性质",
}
UNCONFIRMED_LISTS = {"流转类型"}
# Parent codes that are legal in 承包方式 / 取得方式 (100 承包, 120 其他方式承包).
EXTRA = {"承包经营权取得方式": {"100", "120"}}


@lru_cache(maxsize=4)
def load(path=None):
    lists = {}
    with open(path or CODELISTS, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lists.setdefault(row["list"], {})[row["code"]] = row["label"]
    for k, extra in EXTRA.items():
        for c in extra:
            lists.setdefault(k, {}).setdefault(c, "")
    return lists


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643: the check digit's weights
ID_CHECK_CHARS = "10X98765432"


def id_check_char(first17):
    return ID_CHECK_CHARS[sum(int(a) * w for a, w in zip(first17, ID_WEIGHTS)) % 11]


def id_problem(s, latest=None):
    """None if `s` is a valid 18-digit resident ID (GB 11643), else a Chinese reason. `latest`: the latest possible
    birth date (default today)."""
    s = (s or "").strip()
    if not re.fullmatch(r"\d{17}[\dXx]", s):
        return "不是18位身份证号码"
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return f"出生日期 {s[6:14]} 无效"
    if born.year < 1880 or born > (latest or dt.date.today()):
        return f"出生日期 {s[6:14]} 不合理"
    if id_check_char(s[:17]) != s[17].upper():
        return f"校验码应为 {id_check_char(s[:17])}"
    return None


def invalid_resident_ids(values, latest):
    """Boolean array, True where a value is not a valid 18-digit resident ID (GB 11643: format, a real birth date
    between 1880-01-01 and `latest` (a date), check digit). Exact and vectorised; id_problem() gives the reason."""
    import numpy as np
    n = len(values)
    if not n:
        return np.zeros(0, bool)
    stripped = [(v or "").strip().upper() for v in values]
    lens = np.fromiter((len(v) for v in stripped), dtype=np.int64, count=n)
    arr = np.array([v.encode("ascii", "replace")[:18].ljust(18, b"?") for v in stripped], dtype="S18")
    b = np.frombuffer(arr.tobytes(), dtype=np.uint8).reshape(n, 18)
    ok = (lens == 18) & ((b[:, :17] >= 48) & (b[:, :17] <= 57)).all(axis=1) & (((b[:, 17] >= 48) & (b[:, 17] <= 57)) | (b[:, 17] == 88))
    d = b[:, :17].astype(np.int64) - 48
    ok &= np.frombuffer(ID_CHECK_CHARS.encode(), dtype=np.uint8)[(d @ np.array(ID_WEIGHTS)) % 11] == b[:, 17]
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month = d[:, 10] * 10 + d[:, 11]
    day = d[:, 12] * 10 + d[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim)
    born = year * 10000 + month * 100 + day
    ok &= (born >= 18800101) & (born <= latest.year * 10000 + latest.month * 100 + latest.day)
    return ~ok


def id_sex(s):
    """'1' male / '2' female from the 17th digit, or None."""
    s = (s or "").strip()
    if len(s) == 18 and s[16].isdigit():
        return "1" if int(s[16]) % 2 else "2"
    return None


def org_code_problem(s):
    """None if `s` is a valid 9-character organisation code (GB 11714-1997, 8 body characters + check character,
    optionally written XXXXXXXX-X), else a Chinese reason."""
    s = (s or "").strip().upper().replace("-", "")
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", s):
        return "组织机构代码应为8位本体代码+1位校验码"
    total = sum(_org_value(c) * w for c, w in zip(s[:8], (3, 7, 9, 10, 5, 8, 4, 2)))
    c = 11 - total % 11
    want = "X" if c == 10 else "0" if c == 11 else str(c)
    return None if s[8] == want else f"组织机构代码校验码应为 {want}"


def _org_value(c):
    return int(c) if c.isdigit() else ord(c) - 55  # A = 10 … Z = 35


_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
_USCC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_problem(s):
    """None if `s` is a valid 18-character unified social credit code (GB 32100-2015), else a Chinese reason."""
    s = (s or "").strip().upper()
    if len(s) != 18 or any(c not in _USCC for c in s):
        return "统一社会信用代码应为18位（数字或大写字母，不含 I、O、S、V、Z）"
    c = (31 - sum(_USCC.index(ch) * w for ch, w in zip(s[:17], _USCC_W)) % 31) % 31
    if _USCC[c] != s[17]:
        return f"统一社会信用代码校验码应为 {_USCC[c]}"
    body = org_code_problem(s[8:17])
    return f"统一社会信用代码中的组织机构代码无效：{body}" if body else None


ZJLX_NAMES = {"1": "居民身份证", "2": "军官证", "3": "机构代码证或法人代码证", "4": "户口簿", "5": "护照", "9": "其他证件"}


def document_problem(zjlx, s):
    """None if document number `s` is plausible for document type `zjlx` (证件类型), else a Chinese reason.
    1 居民身份证: GB 11643 (18 digits, birth date, check digit). 2 军官证: 4–20 characters with digits. 3 机构代码:
    GB 11714 organisation code or GB 32100 unified social credit code. 4 户口簿: the holder's 18-digit citizen number
    when it has that form, else 6–20 letters/digits. 5 护照: 5–17 letters/digits. 9 其他: anything non-empty."""
    zjlx = (zjlx or "").strip()
    s = (s or "").strip()
    if not s:
        return None
    if zjlx == "1":
        return id_problem(s)
    if re.search(r"\s", s):
        return "含空白字符"
    if zjlx == "2":
        return None if 4 <= len(s) <= 20 and re.search(r"\d", s) else "军官证号应为4–20位且含数字"
    if zjlx == "3":
        if len(s.replace("-", "")) == 18:
            return uscc_problem(s)
        return org_code_problem(s)
    if zjlx == "4":
        if re.fullmatch(r"\d{17}[\dXx]", s):
            return id_problem(s)
        return None if re.fullmatch(r"[0-9A-Za-z]{6,20}", s) else "户口簿号码应为公民身份号码或6–20位字母数字"
    if zjlx == "5":
        return None if re.fullmatch(r"[0-9A-Za-z]{5,17}", s) else "护照号码应为5–17位字母数字"
    return None


POSTCODE = re.compile(r"^\d{6}$")
_PHONE = re.compile(r"^(?:(?:\+?86)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|[2-9]\d{6,7}|400-?\d{3}-?\d{4})$")
_PHONE_SPLIT = re.compile(r"[,，、;；/ ]+")


def phone_problem(s):
    """None if `s` is one or more telephone numbers (mobile 1[3-9]xxxxxxxxx, landline with or without area code,
    extension), else a Chinese reason."""
    s = (s or "").strip()
    if not s:
        return None
    for part in _PHONE_SPLIT.split(s):
        p = part.strip().replace("（", "(").replace("）", ")")
        p = re.sub(r"^\((0\d{2,3})\)", r"\1-", p)
        if p and not _PHONE.match(p):
            return "不是有效的电话号码（手机11位，固定电话区号+7–8位）"
    return None


SEX_BY_RELATION = {  # GB/T 4761-2008 家庭关系代码 that imply the member's sex: 1 male, 2 female
    **{c: "1" for c in ("11", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "41", "43", "46", "47", "51", "53", "55",
                        "57", "61", "63", "66", "71", "73", "76", "78", "81", "83", "85", "87", "89", "93", "95")},
    **{c: "2" for c in ("12", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "42", "44", "45", "48", "52", "54", "56",
                        "58", "62", "64", "67", "72", "74", "75", "77", "82", "84", "86", "88", "90", "94", "96")},
}


SERIAL_RANGES = {"1": (1, 8000, "0001–8000"), "2": (8001, 9000, "8001–9000"), "3": (9001, 9999, "9001–9999")}
