"""Code lists (codelists.csv, overridable) and code rules of NY/T 2538 / GB 11643."""
import csv
import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

CODELISTS = Path(__file__).resolve().parent.parent / "resources" / "codelists.csv"

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


_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_C = "10X98765432"


def id_check_char(first17):
    return _C[sum(int(a) * w for a, w in zip(first17, _W)) % 11]


def id_problem(s):
    """None if `s` is a valid 18-digit resident ID (GB 11643), else a Chinese reason."""
    s = (s or "").strip()
    if not re.fullmatch(r"\d{17}[\dXx]", s):
        return "不是18位身份证号码"
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return f"出生日期 {s[6:14]} 无效"
    if born.year < 1880 or born > dt.date.today():
        return f"出生日期 {s[6:14]} 不合理"
    if id_check_char(s[:17]) != s[17].upper():
        return f"校验码应为 {id_check_char(s[:17])}"
    return None


def suspect_ids(values):
    """Boolean array: True where an ID number may be invalid (format, check digit or an implausible date part).
    Vectorised over a whole table; only the suspects go through id_problem()."""
    import numpy as np
    n = len(values)
    if not n:
        return np.zeros(0, bool)
    arr = np.array([(v or "").strip().upper().encode("ascii", "replace")[:18].ljust(18, b"?") for v in values], dtype="S18")
    b = np.frombuffer(arr.tobytes(), dtype=np.uint8).reshape(n, 18)
    digits = (b[:, :17] >= 48) & (b[:, :17] <= 57)
    last = ((b[:, 17] >= 48) & (b[:, 17] <= 57)) | (b[:, 17] == 88)
    lens = np.array([len((v or "").strip()) for v in values])
    ok = digits.all(axis=1) & last & (lens == 18)
    d = (b[:, :17].astype(np.int64) - 48)
    chk = np.frombuffer(_C.encode(), dtype=np.uint8)[(d @ np.array(_W)) % 11]
    ok &= chk == b[:, 17]
    month = (d[:, 10] * 10 + d[:, 11])
    day = (d[:, 12] * 10 + d[:, 13])
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 28) & (year >= 1880) & (year < dt.date.today().year)
    return ~ok


def id_sex(s):
    """'1' male / '2' female from the 17th digit, or None."""
    s = (s or "").strip()
    if len(s) == 18 and s[16].isdigit():
        return "1" if int(s[16]) % 2 else "2"
    return None


SERIAL_RANGES = {"1": (1, 8000, "0001–8000"), "2": (8001, 9000, "8001–9000"), "3": (9001, 9999, "9001–9999")}
