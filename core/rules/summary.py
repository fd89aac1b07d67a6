"""Summary tables (汇总表格) agree with the database.

The delivery's six summary tables (按地块 / 按承包方 / 按权证信息 / 按承包地土地用途 / 按承包地是否基本农田 /
按非承包地地块类别汇总表) give, per 权属单位 row (county, township, village, group: the row's 14-digit code with
trailing zeros), counts and areas. Each figure is recomputed from the attribute tables and the DK layer and compared:
counts exactly, areas (亩, 2 decimals) within 0.01 亩 of any of the conventions vendors use (the sum of the stored 亩
twins, the sum of the per-record rounded twins, or the rounded sum of the m² areas; contract land by its contract
area or by its measured area). Issues are keyed by the table's file path; the message names the row's unit.

Definitions, as the bundled sample's tables are built: 承包地块 = distinct DKBM of CBDKXX (by its FBFBM), area from
CBDKXX.HTMJ; 非承包地块 = DK features of class 21/22/23/99, area from DK.SCMJ; 颁发权证 = CBJYQZ rows; 承包方 = CBF
rows (农户 CBFLX 1, 个人 2, 单位 3; 其他方式 = 2 + 3); 家庭成员 = CBF_JTCY rows of farm households (or their CBFCYSL);
土地用途 and 基本农田 from the parcel's DK.TDYT / DK.SFJBNT."""
import re
from pathlib import Path

import numpy as np

from ..attrdb import read_table_file
from ..errors import LcbError
from ..issues import parallel, rule
from ..params import MU, exceeds

TOLERANCE = 0.01  # in the table's own unit (亩, or m² when the unit row says 平方米)
LEVEL = {6: "县", 9: "乡镇", 12: "村", 14: "组"}

# kind -> (file-name fragment, standard title, rule id, [(column, aliases, metric)])
#   metric: a count metric name, or ("area", area metric name)
TABLES = {
    "parcels": ("按地块", "按地块汇总表", "package.summary_parcels", [
        ("发包方数量", ["发包方数量", "发包方个数"], "fbf"),
        ("承包地块总数", ["承包地块总数", "承包地块数量", "承包地块数"], "parcels"),
        ("承包地块总面积", ["承包地块总面积", "承包地块面积"], ("area", "contract")),
        ("非承包地块总数", ["非承包地块总数", "非承包地块数量", "非承包地块数"], "noncontract"),
        ("非承包地块总面积", ["非承包地块总面积", "非承包地块面积"], ("area", "noncontract")),
        ("颁发权证数量", ["颁发权证数量", "权证数量", "发证数量"], "certs"),
    ]),
    "contractors": ("按承包方", "按承包方汇总表", "package.summary_contractors", [
        ("承包方总数", ["承包方总数", "承包方数量"], "cbf"),
        ("家庭承包农户数量", ["承包农户数量", "家庭承包农户数量", "农户数量"], "cbf1"),
        ("家庭承包成员数量", ["家庭成员数量", "家庭承包成员数量", "成员数量"], "members"),
        ("其他方式承包合计", ["其他方式承包合计", "其他方式承包数量"], "cbf23"),
        ("单位承包数量", ["单位承包数量", "单位数量"], "cbf3"),
        ("个人承包数量", ["个人承包数量", "个人数量"], "cbf2"),
    ]),
    "certificates": ("按权证", "按权证信息汇总表", "package.summary_certificates", [
        ("颁发权证数量合计", ["颁发权证数量合计", "权证数量合计", "颁发权证数量", "颁发权证总数"], "certs"),
        ("颁发权证数量家庭承包", ["颁发权证数量家庭承包", "家庭承包颁发权证数量", "家庭承包权证数量"], "certs_family"),
        ("颁发权证数量其他方式承包",
         ["颁发权证数量其他方式承包", "其他方式承包颁发权证数量", "其他方式承包权证数量"],
         "certs_other"),
        ("颁发权证面积合计", ["颁发权证面积合计", "权证面积合计", "颁发权证面积", "颁发权证总面积"], ("area", "cert")),
        ("颁发权证面积家庭承包", ["颁发权证面积家庭承包", "家庭承包颁发权证面积", "家庭承包权证面积"],
         ("area", "cert_family")),
        ("颁发权证面积其他方式承包",
         ["颁发权证面积其他方式承包", "其他方式承包颁发权证面积", "其他方式承包权证面积"],
         ("area", "cert_other")),
    ]),
    "land_use": ("土地用途", "按承包地土地用途汇总表", "package.summary_land_use", [
        ("种植业", ["种植业"], ("area", "use1")),
        ("林业", ["林业"], ("area", "use2")),
        ("畜牧业", ["畜牧业"], ("area", "use3")),
        ("渔业", ["渔业"], ("area", "use4")),
        ("农业用途小计", ["农业用途小计", "农业用途合计", "农业用途面积小计", "农业用途面积合计"], ("area", "use1234")),
        ("非农业用途", ["非农用途", "非农业用途", "非农用途面积", "非农业用途面积"], ("area", "use5")),
        ("合计", ["合计", "总计", "总面积"], ("area", "use_all")),
    ]),
    "farmland": ("基本农田", "按承包地是否基本农田汇总表", "package.summary_farmland", [
        ("基本农田面积", ["基本农田面积", "基本农田"], ("area", "jbnt1")),
        ("非基本农田面积", ["非基本农田面积", "非基本农田"], ("area", "jbnt2")),
        ("合计", ["合计", "总计", "总面积"], ("area", "jbnt_all")),
    ]),
    "non_contract": ("非承包地", "按非承包地地块类别汇总表", "package.summary_non_contract", [
        ("自留地", ["自留地"], ("area", "dklb21")),
        ("机动地", ["机动地"], ("area", "dklb22")),
        ("开荒地", ["开荒地"], ("area", "dklb23")),
        ("其他集体土地", ["其他集体土地"], ("area", "dklb99")),
        ("合计", ["合计", "总计", "总面积"], ("area", "noncontract")),
    ]),
}
NONCONTRACT = ("21", "22", "23", "99")

_MSG = "{layer}“{unit}”（{level}级 {code}）的“{field}”为 {value}，按数据库重新统计应为 {detail}"


def _desc(title, what):
    return f"A figure of {title} differs from the value recomputed from the database ({what}) for its county, township, village or group row."


@rule("package.summary_parcels", "package", "error", _MSG,
      _desc("按地块汇总表", "发包方, 承包地块 count and 亩, 非承包地块 count and 亩, 颁发权证"), family="summary")
@rule("package.summary_contractors", "package", "error", _MSG,
      _desc("按承包方汇总表", "承包方, 农户, 家庭成员, 单位, 个人"), family="summary")
@rule("package.summary_certificates", "package", "error", _MSG,
      _desc("按权证信息汇总表", "颁发权证 count and 亩, 家庭承包 / 其他方式承包"), family="summary")
@rule("package.summary_land_use", "package", "error", _MSG, _desc("按承包地土地用途汇总表", "亩 of contract land by DK.TDYT"), family="summary")
@rule("package.summary_farmland", "package", "error", _MSG,
      _desc("按承包地是否基本农田汇总表", "亩 of contract land by DK.SFJBNT"), family="summary")
@rule("package.summary_non_contract", "package", "error", _MSG,
      _desc("按非承包地地块类别汇总表", "亩 of DK parcels of class 21/22/23/99"), family="summary")
@rule("package.summary_missing", "package", "warning", "汇总表格中没有{detail}", "One of the six standard summary tables is absent.", family="summary",
      why="the 汇交办法 text that lists them is UNCONFIRMED (the six are what vendor exporters write); a county may deliver them on paper.")
@rule("package.summary_layout", "package", "warning", "汇总表格“{key}”{detail}",
      "A summary table whose header row (权属单位代码 …) or columns cannot be recognised, so it is not compared.", family="summary",
      why="the table may follow another template; it is listed in the inventory but not checked.")
@rule("package.summary_units", "package", "warning", "{layer}缺少 {value} 个有数据的权属单位的行（如 {detail}）",
      "A summary table has no row for some county / township / village / group that has data.", family="summary",
      why="some templates list only the units of one level; the totals of the rows present are still checked.")
@parallel
def summary_tables(ctx):
    d = ctx.ws.d
    if d.folders.get("汇总表格") is None:
        return  # package.missing_folder says so
    files = {}
    for path in d.summary_tables:
        p = Path(path)
        if p.suffix.lower() not in (".xls", ".xlsx", ".csv") or p.name.startswith((".", "~$")):
            continue
        kind = _kind(p.name)
        if kind and kind not in files:
            files[kind] = p
    for kind, (_frag, title, _rid, _cols) in TABLES.items():
        if kind not in files:
            ctx.issue("package.summary_missing", f"汇总表格/{d.county}{d.county_name}{title}.xls", "", "", layer="汇总表格", detail=title)
    if not files:
        return
    present = ctx.ws.stage.present
    if not (present.get("CBF") and present.get("CBDKXX")) or not ctx.q("SELECT 1 FROM CBDKXX LIMIT 1"):
        return  # no usable attribute database to compare with: package.not_attr_db / attr_db_empty say so
    stats = Stats(ctx)
    for kind, path in files.items():
        _check(ctx, stats, kind, path)


def _kind(name):
    for kind in ("non_contract", "land_use", "farmland", "certificates", "contractors", "parcels"):
        if TABLES[kind][0] in name:
            return kind
    return None


def _norm(h):
    h = re.sub(r"[（(][^）)]*[）)]", "", str(h or ""))
    return re.sub(r"\s+", "", h).replace("：", "").replace(":", "")


def _code(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v if v is not None else "").strip()
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    return s if s.isdigit() else ""


def _number(v):
    if v is None:
        return 0.0
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip().replace(",", "")
    if not s:
        return 0.0
    try:
        return float(s)
    except ValueError:
        return None


def _read(path):
    header, rows = read_table_file(path)
    return [list(header)] + [list(r) for r in rows]


def _layout(rows, spec):
    """(header row index, first data row index, {column index: (column, metric)}, unit) or None."""
    hi = next((i for i, r in enumerate(rows[:15]) if any(_norm(c) == "权属单位代码" for c in r)), None)
    if hi is None:
        return None
    first = hi + 1
    while first < len(rows) and first < hi + 4 and not _code(rows[first][0] if rows[first] else ""):
        first += 1
    width = max(len(r) for r in rows[hi:first])
    names, carry = [], ""
    for j in range(width):
        top = _norm(rows[hi][j]) if j < len(rows[hi]) else ""
        subs = [_norm(rows[k][j]) for k in range(hi + 1, first) if j < len(rows[k])]
        subs = [x for x in subs if x]
        if top:
            carry = top
        elif subs:  # a merged parent cell spans this column: its text sits in the first column of the span
            top = carry
        names.append(top + "".join(subs))
    cols = {}
    for j, name in enumerate(names):
        best = None
        for column, aliases, metric in spec:
            for a in aliases:
                if a == name:
                    score = (3, len(a))
                elif name.endswith(a):
                    score = (2, len(a))
                elif a in name:
                    score = (1, len(a))
                else:
                    continue
                if best is None or score > best[0]:
                    best = (score, column, metric)
        if best and best[1] not in {c for c, _m in cols.values()}:
            cols[j] = (best[1], best[2])
    unit_text = "".join(str(c) for r in rows[:hi] for c in r)
    unit = "m²" if ("平方米" in unit_text or "㎡" in unit_text) and "亩" not in unit_text else "亩"
    return hi, first, cols, unit


def _check(ctx, stats, kind, path):
    _frag, title, rid, spec = TABLES[kind]
    rel = ctx.ws.d.rel(path)
    try:
        rows = _read(path)
    except LcbError as e:
        ctx.issue("package.unreadable", rel, "", "", layer="汇总表格", detail=e.zh)
        return
    lay = _layout(rows, spec)
    if lay is None:
        ctx.issue("package.summary_layout", rel, "", "", layer=title, detail="没有“权属单位代码”表头行，未能核对")
        return
    _hi, first, cols, unit = lay
    if not cols:
        ctx.issue("package.summary_layout", rel, "", "", layer=title, detail="的列名都无法识别，未能核对")
        return
    seen = set()
    for r in rows[first:]:
        code = _code(r[0] if r else "")
        if len(code) != 14:
            continue
        n = _level(code)
        unit_code = code[:n]
        seen.add(unit_code)
        name = str(r[1]).strip() if len(r) > 1 and r[1] is not None else ""
        for j, (column, metric) in cols.items():
            reported = _number(r[j] if j < len(r) else None)
            area, want = stats.value(metric, n, unit_code, unit)
            if reported is None:
                ok = False
            elif area:
                ok = any(not exceeds(reported, w, TOLERANCE) for w in want)
            else:
                ok = any(reported == w for w in want)
            if not ok:
                shown = f"{want[0]:.2f} {unit}" if area else " 或 ".join(str(w) for w in dict.fromkeys(want))
                ctx.issue(rid, rel, column, r[j] if j < len(r) else "", layer=title, unit=name or code, level=LEVEL[n], code=code,
                          detail=shown, village=code[:12] if n >= 12 else "")
    have = stats.units()
    missing = sorted(u for u in have if u not in seen)
    if missing:
        ctx.issue("package.summary_units", rel, "权属单位代码", len(missing), layer=title,
                  detail="、".join(u.ljust(14, "0") for u in missing[:3]) + ("…" if len(missing) > 3 else ""))


def _level(code):
    if code[6:].strip("0") == "":
        return 6
    if code[9:].strip("0") == "":
        return 9
    if code[12:].strip("0") == "":
        return 12
    return 14


class Stats:
    """Per-group (14-digit 发包方 code) figures recomputed from the database in a few set-based passes (one grouped
    query per table, the DK layer in numpy), summed to the county, township and village by prefix."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.counts = {}  # metric -> [alternative {length: {prefix: value}}]
        self.areas = {}  # metric -> [basis {length: {prefix: (m2, mu, rounded mu)}}]
        self._built = set()

    # ---------------------------------------------------------------- public
    def units(self):
        """The unit prefixes (6/9/12/14) that have a 发包方."""
        out = set()
        for g, in self.ctx.q("SELECT DISTINCT FBFBM FROM FBF WHERE FBFBM IS NOT NULL"):
            for n in (6, 9, 12, 14):
                out.add(g[:n])
        return {u for u in out if len(u) in (6, 9, 12, 14) and _level(u.ljust(14, "0")) == len(u)}

    def value(self, metric, n, prefix, unit):
        """(is an area, [acceptable values]) of a metric for the unit `prefix` of length n."""
        if isinstance(metric, tuple):
            self._build(_SOURCE[metric[1]])
            out = []
            for basis in self.areas.get(metric[1], []):
                m2, mu, rmu = basis.get(n, {}).get(prefix, (0.0, 0.0, 0.0))
                out += [round(m2, 2)] if unit == "m²" else [mu, rmu, round(m2 * MU + 1e-9, 2)]
            return True, out or [0.0]
        self._build(_SOURCE[metric])
        return False, [a.get(n, {}).get(prefix, 0) for a in self.counts.get(metric, [{}])]

    # ---------------------------------------------------------------- building blocks
    @staticmethod
    def _levels(pairs):
        """{length: {prefix: summed value}} from (14-digit group, value) pairs; values are numbers or tuples."""
        out = {n: {} for n in (6, 9, 12, 14)}
        for g, v in pairs:
            if not g or len(g) < 14:
                continue
            for n in (6, 9, 12, 14):
                d = out[n]
                k = g[:n]
                if isinstance(v, tuple):
                    old = d.get(k)
                    d[k] = v if old is None else tuple(a + b for a, b in zip(old, v))
                else:
                    d[k] = d.get(k, 0) + v
        return out

    def _count(self, metric, pairs):
        self.counts.setdefault(metric, []).append(self._levels(pairs))

    def _area(self, metric, pairs):
        self.areas.setdefault(metric, []).append(self._levels(pairs))

    def _build(self, source):
        if source in self._built:
            return
        self._built.add(source)
        getattr(self, "_" + source)()

    def _tables(self):
        q = self.ctx.q
        self._count("fbf", q("SELECT FBFBM, COUNT(*) FROM FBF GROUP BY FBFBM"))
        cbf = q("SELECT substr(CBFBM, 1, 14), CBFLX, COUNT(*), SUM(CASE WHEN typeof(CBFCYSL) = 'integer' THEN CBFCYSL ELSE 0 END) "
                "FROM CBF GROUP BY 1, 2")
        self._count("cbf", [(g, n) for g, _lx, n, _s in cbf])
        for lx in ("1", "2", "3"):
            self._count("cbf" + lx, [(g, n) for g, x, n, _s in cbf if x == lx])
        self._count("cbf23", [(g, n) for g, x, n, _s in cbf if x in ("2", "3")])
        members = q("SELECT substr(m.CBFBM, 1, 14), f.CBFLX = '1', COUNT(*) FROM CBF_JTCY m LEFT JOIN CBF f ON f.CBFBM = m.CBFBM GROUP BY 1, 2")
        self._count("members", [(g, n) for g, farm, n in members if farm])
        self._count("members", [(g, n) for g, _farm, n in members])
        self._count("members", [(g, s) for g, x, _n, s in cbf if x == "1"])

    def _certificates(self):
        q = self.ctx.q
        certs = q(f"SELECT substr(z.CBJYQZBM, 1, 14), {_FAMILY}, COUNT(*) FROM CBJYQZ z LEFT JOIN CBJYQZDJB d ON d.CBJYQZBM = z.CBJYQZBM GROUP BY 1, 2")
        self._count("certs", [(g, n) for g, _f, n in certs])
        self._count("certs_family", [(g, n) for g, f, n in certs if f])
        self._count("certs_other", [(g, n) for g, f, n in certs if not f])
        area = q(f"SELECT substr(c.CBJYQZBM, 1, 14), {_FAMILY}, SUM(c.HTMJ), SUM(COALESCE(c.HTMJM, round(c.HTMJ * 0.0015, 2))), "
                 "SUM(round(c.HTMJ * 0.0015, 2)) FROM CBDKXX c JOIN CBJYQZ z ON z.CBJYQZBM = c.CBJYQZBM "
                 "LEFT JOIN CBJYQZDJB d ON d.CBJYQZBM = z.CBJYQZBM GROUP BY 1, 2")
        self._area("cert", [(g, _t(a, b, c)) for g, _f, a, b, c in area])
        self._area("cert_family", [(g, _t(a, b, c)) for g, f, a, b, c in area if f])
        self._area("cert_other", [(g, _t(a, b, c)) for g, f, a, b, c in area if not f])

    def _parcels(self):
        """CBDKXX per parcel and group: counts, contract areas, and (through the parcel's DK feature) land use and
        basic farmland."""
        cols = [r[1] for r in self.ctx.q("PRAGMA table_info(DK)")]
        if "TDYT" in cols and "SFJBNT" in cols:
            return self._parcels_sql()
        return self._parcels_numpy()

    def _parcels_sql(self):
        """One grouped query over CBDKXX joined with the parcel's first DK feature; only the sums per group come back."""
        rows = self.ctx.q(
            "SELECT g, TDYT, SFJBNT, found, COUNT(*), SUM(a), SUM(b), SUM(c) FROM ("
            " SELECT COALESCE(NULLIF(x.FBFBM, ''), substr(x.DKBM, 1, 14)) g, x.DKBM, SUM(x.HTMJ) a, "
            " SUM(COALESCE(x.HTMJM, round(x.HTMJ * 0.0015, 2))) b, SUM(round(x.HTMJ * 0.0015, 2)) c, "
            " d.TDYT TDYT, d.SFJBNT SFJBNT, d.DKBM IS NOT NULL found FROM CBDKXX x LEFT JOIN DK d ON d.DKBM = x.DKBM "
            " AND d._i = (SELECT MIN(_i) FROM DK e WHERE e.DKBM = x.DKBM) GROUP BY 1, 2) GROUP BY 1, 2, 3, 4")
        counts, everything = {}, []
        use = {m: [] for m in _USE}
        for g, ty, jb, found, n, a, b, c in rows:
            counts[g] = counts.get(g, 0) + n
            v = (g, _t(a, b, c))
            everything.append(v)
            if not found:
                continue
            for m, (field, values) in _USE.items():
                if values is None or (ty if field == "TDYT" else jb) in values:
                    use[m].append(v)
        self._count("parcels", counts.items())
        self._area("contract", everything)
        for m, pairs in use.items():
            self._area(m, pairs)
        self._build("dk")

    def _parcels_numpy(self):
        """The same from the DK arrays, for a workspace whose staged DK table lacks the attributes."""
        rows = self.ctx.q("SELECT DKBM, COALESCE(NULLIF(FBFBM, ''), substr(DKBM, 1, 14)), SUM(HTMJ), "
                          "SUM(COALESCE(HTMJM, round(HTMJ * 0.0015, 2))), SUM(round(HTMJ * 0.0015, 2)) FROM CBDKXX GROUP BY 1, 2")
        if not rows:
            self._build("dk")
            return
        dkbm, grp, a, b, c = zip(*rows)
        groups, inv = np.unique(np.array(grp, dtype=object).astype(str), return_inverse=True)
        w = [np.nan_to_num(np.array(x, dtype=float)) for x in (a, b, c)]
        n = len(groups)

        def sums(mask):
            k = np.bincount(inv[mask], minlength=n)
            cols = [np.bincount(inv[mask], weights=x[mask], minlength=n) for x in w]
            return [(g, (float(x), float(y), float(z))) for g, x, y, z, m in zip(groups.tolist(), *cols, k) if m]
        everything = np.ones(len(rows), bool)
        self._count("parcels", [(g, int(m)) for g, m in zip(groups.tolist(), np.bincount(inv, minlength=n)) if m])
        self._area("contract", sums(everything))
        dk = self.ctx.ws.dk
        index = self.ctx.dk_index()
        pos = np.fromiter((index.get(k, -1) for k in dkbm), dtype=np.int64, count=len(rows))
        found = pos >= 0
        attr = {}
        for f in ("TDYT", "SFJBNT"):
            col = np.full(len(rows), b"", dtype="S1")
            if dk is not None and f in dk.raw:
                col[found] = dk.raw[f][pos[found]].astype("S1")
            attr[f] = col
        for m, (field, values) in _USE.items():
            mask = found if values is None else found & np.isin(attr[field], [v.encode() for v in values])
            self._area(m, sums(mask))
        self._build("dk")

    def _dk(self):
        """The DK layer's measured areas by group, class, land use and basic farmland (a second basis), in numpy."""
        dk = self.ctx.ws.dk
        if dk is None or not dk.n or "DKBM" not in dk.raw:
            return
        groups, inv = np.unique(dk.raw["DKBM"].astype("S14"), return_inverse=True)
        names = [g.decode("utf-8", "replace") for g in groups.tolist()]
        col = {f: (dk.raw[f] if f in dk.raw else np.full(dk.n, b"", dtype="S1")) for f in ("DKLB", "TDYT", "SFJBNT")}
        m2 = np.nan_to_num(dk.number("SCMJ"))
        mu = dk.number("SCMJM")
        mu = np.where(np.isnan(mu), np.round(m2 * MU, 2), mu)
        rmu = np.round(m2 * MU + 1e-9, 2)

        def sums(mask):
            w = [np.bincount(inv[mask], weights=x[mask], minlength=len(groups)) for x in (m2, mu, rmu)]
            n = np.bincount(inv[mask], minlength=len(groups))
            return [(g, (float(a), float(b), float(c))) for g, a, b, c, k in zip(names, *w, n) if k], \
                [(g, int(k)) for g, k in zip(names, n) if k]
        noncontract = np.isin(col["DKLB"], [c.encode() for c in NONCONTRACT])
        pairs, count = sums(noncontract)
        self._area("noncontract", pairs)
        self._count("noncontract", count)
        for c in NONCONTRACT:
            self._area("dklb" + c, sums(col["DKLB"] == c.encode())[0])
        contract = col["DKLB"] == b"10"
        self._area("contract", sums(contract)[0])
        for m, (field, values) in _USE.items():
            mask = contract if values is None else contract & np.isin(col[field], [v.encode() for v in values])
            self._area(m, sums(mask)[0])


def _t(a, b, c):
    return float(a or 0), float(b or 0), float(c or 0)


_USE = {"use1": ("TDYT", ("1",)), "use2": ("TDYT", ("2",)), "use3": ("TDYT", ("3",)), "use4": ("TDYT", ("4",)),
        "use1234": ("TDYT", ("1", "2", "3", "4")), "use5": ("TDYT", ("5",)), "use_all": ("TDYT", None),
        "jbnt1": ("SFJBNT", ("1",)), "jbnt2": ("SFJBNT", ("2",)), "jbnt_all": ("SFJBNT", None)}
# Which pass computes each metric.
_SOURCE = {**{m: "tables" for m in ("fbf", "cbf", "cbf1", "cbf2", "cbf3", "cbf23", "members")},
           **{m: "certificates" for m in ("certs", "certs_family", "certs_other", "cert", "cert_family", "cert_other")},
           **{m: "parcels" for m in ("parcels", "contract", *_USE)},
           **{m: "dk" for m in ("noncontract", "dklb21", "dklb22", "dklb23", "dklb99")}}

_FAMILY = "COALESCE(NULLIF(trim(d.CBFS), ''), CASE WHEN substr(z.CBJYQZBM, 19, 1) = 'J' THEN '110' ELSE '' END) IN ('110', '100')"
