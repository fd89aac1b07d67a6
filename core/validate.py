"""Quality check of a delivery (成果质检): run the rule catalogue and collect issues."""
import shapely

from . import codes
from . import rules as _rules  # noqa: F401 - registers the rules
from .errors import NULL_PROGRESS
from .issues import CATEGORIES, REGISTRY, SEVERITIES, Issue
from .workspace import open_workspace

DEFAULTS = dict(area_tolerance=0.01, scmj_tolerance=0.01, overlap_min_area=0.01, min_area=1.0, codelists=None)


class _Args(dict):
    def __missing__(self, k):
        return ""


class ValidationContext:
    def __init__(self, ws, **params):
        self.ws = ws
        self.p = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
        self.issues = []
        self.codes = codes.load(self.p["codelists"])
        self._dk_index = None

    def dk_geometry(self, dkbm):
        if self._dk_index is None:
            self._dk_index = {}
            dk = self.ws.dk
            if dk is not None:
                for i, k in enumerate(dk.text("DKBM").tolist()):
                    self._dk_index.setdefault(k, i)
        i = self._dk_index.get(dkbm)
        if i is None:
            return None
        g = self.ws.dk.geoms[i]
        return None if g is None or shapely.is_empty(g) else shapely.to_wkb(g, output_dimension=2)

    def issue(self, rule_id, key, field="", value="", layer=None, wkb=None, geometry_of=None, **fmt):
        r = REGISTRY[rule_id]
        args = _Args(key=key, field=field, value=value, layer=layer or "", **fmt)
        msg = r.message.format_map(args)
        key = "" if key is None else str(key)
        if wkb is None and geometry_of:
            wkb = self.dk_geometry(geometry_of)
        if wkb is not None:
            wkb = polygonal_wkb(wkb)
        village = key[:12] if len(key) >= 14 and key[:12].isdigit() else ""
        self.issues.append(Issue(rule_id, r.category, r.severity, layer or "", key, field or "", msg,
                                 "" if value is None else str(value), wkb, village))

    def q(self, sql, args=()):
        return self.ws.stage.q(sql, args)


def run_rules(ws, rule_ids=None, progress=NULL_PROGRESS, **params):
    ctx = ValidationContext(ws, **params)
    ids = [r for r in REGISTRY if rule_ids is None or r in rule_ids]
    funcs = []
    for rid in ids:
        f = REGISTRY[rid].func
        if f not in funcs:
            funcs.append(f)
    for i, f in enumerate(funcs):
        progress.check()
        f(ctx)
        progress.set(100 * (i + 1) / len(funcs))
    if rule_ids is not None:
        ctx.issues = [x for x in ctx.issues if x.rule in rule_ids]
    order = {c: i for i, c in enumerate(CATEGORIES)}
    sev = {s: i for i, s in enumerate(SEVERITIES)}
    ctx.issues.sort(key=lambda x: (sev[x.severity], order[x.category], x.rule, x.key))
    return ctx


def validate(path, ledger=None, required_layers=None, progress=NULL_PROGRESS, **params):
    """Open the delivery, run every rule; returns (issues, workspace summary dict)."""
    progress.info("读取成果包 / reading the delivery")
    ws = open_workspace(path, ledger=ledger, required_layers=required_layers, progress=progress.sub(0, 30))
    try:
        progress.info(f"逐条检查 {len(REGISTRY)} 条规则 / checking {len(REGISTRY)} rules")
        ctx = run_rules(ws, progress=progress.sub(30, 100), **params)
        summary = dict(county=ws.d.county, county_name=ws.d.county_name, root=str(ws.d.root), epsg=ws.dk.epsg if ws.dk else None,
                       wkt=ws.dk.wkt if ws.dk else "", parcels=ws.dk.n if ws.dk else 0, village_names=village_names(ws))
        return ctx.issues, summary
    finally:
        ws.close()


def village_names(ws):
    names = {}
    for code, name, _level in ws.stage.q("SELECT code, name, level FROM CODES"):
        if len(code) >= 12 and code[12:].strip("0") == "":
            names[code[:12]] = name
    cj = ws.layer("CJQY")
    if cj is not None and cj.n:
        for code, name in zip(cj.text("CJQYDM").tolist(), cj.text("CJQYMC").tolist()):
            names.setdefault(code[:12], name)
    return names


def counts(issues):
    out = {s: 0 for s in SEVERITIES}
    for i in issues:
        out[i.severity] += 1
    return out


def by_category(issues):
    table = {c: {s: 0 for s in SEVERITIES} for c in CATEGORIES}
    for i in issues:
        table[i.category][i.severity] += 1
    return table


def catalogue_markdown():
    """The rule catalogue as Markdown, generated from the registry so the docs never drift."""
    from .issues import CATEGORY_ZH, SEVERITY_ZH
    lines = ["# 质检规则目录 Rule catalogue", "", "Generated from `core/rules/` by `scripts/make-docs`; do not edit by hand.", "",
             f"{len(REGISTRY)} rules. Parameters: " + ", ".join(f"`{k}` = {v}" for k, v in DEFAULTS.items() if k != "codelists") + " (m²).", ""]
    for cat in CATEGORIES:
        rules = [r for r in REGISTRY.values() if r.category == cat]
        if not rules:
            continue
        lines += [f"## {cat} — {CATEGORY_ZH[cat]}", "", "| id | severity | 中文提示 | description |", "|---|---|---|---|"]
        for r in rules:
            desc = r.description + (f" *Warning because:* {r.why}" if r.why else "")
            lines.append(f"| `{r.id}` | {r.severity} {SEVERITY_ZH[r.severity]} | {(r.zh or r.message).replace('|', '/')} | {desc} |")
        lines.append("")
    return "\n".join(lines)


def polygonal_wkb(wkb):
    """Issue geometries are stored as MultiPolygon: keep the polygonal parts (an overlap can be a collection)."""
    g = shapely.from_wkb(wkb)
    if g is None or g.is_empty:
        return None
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p))
    if not polys:
        return None
    return shapely.to_wkb(shapely.multipolygons(polys), output_dimension=2)


def to_html(issues, summary, params):
    from . import report
    from .issues import CATEGORY_ZH, REGISTRY, SEVERITY_ZH
    names = summary.get("village_names", {})
    cats = by_category(issues)
    villages = {}
    for i in issues:
        v = villages.setdefault(i.village or "", dict(code=i.village or "", name=names.get(i.village, "") if i.village else "（成果包/无村级编码）", error=0, warning=0, info=0, issues=[]))
        v[i.severity] += 1
        v["issues"].append(i)
    order = sorted(villages.values(), key=lambda v: (-v["error"], -v["warning"], v["code"]))
    worst = {}
    for i in issues:
        if i.severity == "error":
            worst[i.key] = worst.get(i.key, 0) + 1
    worst = sorted(worst.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    return report.render("validate.html.j2", issues=issues, summary=summary, params=params, cats=cats, villages=order,
                         worst=worst, counts=counts(issues), CATEGORY_ZH=CATEGORY_ZH, SEVERITY_ZH=SEVERITY_ZH, REGISTRY=REGISTRY)
