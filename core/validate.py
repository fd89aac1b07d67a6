"""Quality check of a delivery (成果质检): run the rule catalogue and collect issues."""
import sqlite3
import threading

import shapely

from . import codes
from . import rules as _rules  # noqa: F401 - registers the rules
from .errors import NULL_PROGRESS
from .issues import CATEGORIES, FAMILIES, REGISTRY, SEVERITIES, Issue
from .params import SPECS, Params
from .rules.common import dk_rows
from .workspace import open_workspace

DEFAULTS = Params().as_dict()  # kept for callers that merge a dict over the defaults


class _Args(dict):
    def __missing__(self, k):
        return ""


class ValidationContext:
    def __init__(self, ws, params=None, **kw):
        self.ws = ws
        self.p = params if isinstance(params, Params) else Params.of(params, **kw)
        self.issues = []
        self.codes = codes.load(self.p.codelists)
        self.key_blanks = []  # (table, key field, record key, field, raw value), filled by rules.keys.trim_keys
        self._dk_index = None
        self._lock = threading.Lock()
        self._main = threading.current_thread()
        self._local = threading.local()
        self.cache = {}  # values shared by rules (geometry masks, …), computed once

    def dk_index(self):
        if self._dk_index is None:
            index = {}
            dk = self.ws.dk
            if dk is not None:
                for i, k in enumerate(dk.text("DKBM").tolist()):
                    index.setdefault(k, i)
            self._dk_index = index
        return self._dk_index

    def dk_geometry(self, dkbm):
        i = self.dk_index().get(dkbm)
        if i is None:
            return None
        g = self.ws.dk.geoms[i]
        return None if g is None or shapely.is_empty(g) else shapely.to_wkb(g, output_dimension=2)

    def issue(self, rule_id, key, field="", value="", layer=None, wkb=None, geometry_of=None, village=None, **fmt):
        r = REGISTRY[rule_id]
        args = _Args(key=key, field=field, value=value, layer=layer or "", **fmt)
        msg = r.message.format_map(args)
        key = "" if key is None else str(key)
        if wkb is None and geometry_of:
            wkb = self.dk_geometry(geometry_of)
        if wkb is not None:
            wkb = polygonal_wkb(wkb)
        if village is None:
            village = key[:12] if len(key) >= 14 and key[:12].isdigit() else ""
        self.issues.append(Issue(rule_id, r.category, r.severity, layer or "", key, field or "", msg,
                                 "" if value is None else str(value), wkb, village))

    @property
    def conn(self):
        """The staging database connection of the calling thread (SQLite connections are not shared)."""
        if threading.current_thread() is self._main:
            return self.ws.stage.conn
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.ws.stage.path)
            c.execute("PRAGMA temp_store = MEMORY")
            c.execute("PRAGMA cache_size = -64000")
            self._local.conn = c
        return c

    def close_thread(self):
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def q(self, sql, args=()):
        return self.conn.execute(sql, args).fetchall()

    def geometry_masks(self):
        """(has a shape, non-empty, valid polygon) boolean arrays over the DK features, computed once."""
        import numpy as np
        with self._lock:
            if "masks" not in self.cache:
                dk = self.ws.dk
                g = dk.geoms
                has = ~shapely.is_missing(g)
                nonempty = has.copy()
                nonempty[has] = ~shapely.is_empty(g[has])
                valid = nonempty.copy()  # a valid polygon; another type is package.dk_not_polygon (integrity)
                if nonempty.any():
                    valid[nonempty] = np.isin(shapely.get_type_id(g[nonempty]), (3, 6))
                    valid[valid] = shapely.is_valid(g[valid])
                self.cache["masks"] = (has, nonempty, valid)
            return self.cache["masks"]

    @property
    def delivery_date(self):
        """The latest date the delivery can speak of: the end of its year (from the file names), else today."""
        import datetime as dt
        year = self.ws.d.year
        today = dt.date.today()
        if year and year.isdigit() and 1990 <= int(year) <= today.year:
            return dt.date(int(year), 12, 31)
        return today


def run_rules(ws, rule_ids=None, progress=NULL_PROGRESS, params=None, **kw):
    """Run the rules on an open workspace. Two threads share the work, so the two cores of a county office PC both
    run: the second thread prepares the geometry (layers, envelopes, validity) while this one prepares the tables
    (DK keys staged, blanks trimmed, indexes); then rules marked parallel (shapely/numpy, which release the GIL, or
    SQLite through the thread's own connection) are taken from a shared queue, longest first — the second thread
    takes table rules only once the tables are ready — and the others run on this thread at the end, in order."""
    ctx = ValidationContext(ws, params, **kw)
    ids = [r for r in REGISTRY if rule_ids is None or r in rule_ids]
    funcs = []
    for rid in ids:
        f = REGISTRY[rid].func
        if f not in funcs:
            funcs.append(f)
    own = [f for f in funcs if not getattr(f, "parallel", False)]
    pool = sorted((f for f in funcs if getattr(f, "parallel", False)), key=lambda f: -COST.get(f.__name__, 0.05))
    total, done = len(funcs), [0]
    lock, stop, box = threading.Lock(), threading.Event(), {}
    geometry_ready, tables_ready = threading.Event(), threading.Event()

    def take(spatial_only=False):
        with lock:
            for i, f in enumerate(pool):
                if not spatial_only or getattr(f, "spatial", False):
                    return pool.pop(i)
            return None

    def work():
        try:
            try:
                _prepare_geometry(ctx)
            finally:
                geometry_ready.set()
            while not stop.is_set():
                f = take(spatial_only=not tables_ready.is_set())
                if f is None:
                    if tables_ready.is_set() or not pool:
                        return
                    tables_ready.wait(0.1)
                    continue
                f(ctx)
                done[0] += 1
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            box["error"] = e
            stop.set()
        finally:
            ctx.close_thread()
    worker = threading.Thread(target=work, name="lcb-rules", daemon=True)
    worker.start()
    try:
        _prepare_tables(ctx)
        tables_ready.set()
        while not geometry_ready.wait(0.2):
            progress.check()
        if "error" in box:
            raise box["error"]
        while not stop.is_set():
            progress.check()
            f = take()
            if f is None:
                break
            f(ctx)
            done[0] += 1
            progress.set(100 * done[0] / total)
        while worker.is_alive():
            worker.join(0.2)
            progress.check()
        if "error" in box:
            raise box["error"]
        # The rules not marked parallel run last, alone and in registration order: the integrity rules (registered
        # last) fold the issues that only restate an integrity condition, so they must see all the others.
        for f in own:
            progress.check()
            f(ctx)
            done[0] += 1
            progress.set(100 * done[0] / total)
    except BaseException:
        stop.set()
        tables_ready.set()
        worker.join()
        raise
    if "error" in box:
        raise box["error"]
    progress.set(100)
    if rule_ids is not None:
        ctx.issues = [x for x in ctx.issues if x.rule in rule_ids]
    order = {c: i for i, c in enumerate(CATEGORIES)}
    sev = {s: i for i, s in enumerate(SEVERITIES)}
    ctx.issues.sort(key=lambda x: (sev[x.severity], order[x.category], x.rule, x.key, x.field, x.value))
    return ctx


# Rough cost of the rule functions at county scale (seconds per 100,000 parcels): the queue starts with the longest.
COST = {"neighbours": 1.2, "summary_tables": 0.8, "vertices": 0.4, "links": 0.3, "code_formats": 0.2, "documents": 0.2,
        "regions": 0.17, "codelists": 0.16, "ledger": 0.15, "dates": 0.15, "required_empty": 0.14, "sfjbnt": 0.13, "duplicates": 0.13,
        "widths_and_types": 0.12, "ages": 0.11, "members": 0.1, "dkbm_format": 0.1, "scmj_geometry": 0.1, "basic": 0.1,
        "contract_totals": 0.08, "duplicate_people": 0.07, "sex": 0.07, "work_order": 0.07}


def _prepare(ctx):
    """Both preparations, one after the other (for callers that run rule functions themselves)."""
    _prepare_tables(ctx)
    _prepare_geometry(ctx)


def _prepare_tables(ctx):
    """The staging DB as every table rule expects it (written here, before any rule reads it): the DK keys staged,
    blanks around codes trimmed, the lookup indexes."""
    from .rules import keys, reference
    if not ctx.ws.stage.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'DK'").fetchone():
        _stage_dk(ctx.ws)
    keys.trim_keys(ctx)  # keys are compared after trimming blanks; the blanks themselves are reported
    reference.create_indexes(ctx)


def _prepare_geometry(ctx):
    """Layers read, envelopes computed, the DK index, validity and areas — once, on one thread."""
    import numpy as np
    ws = ctx.ws
    for prefix in ws.d.vectors:  # every rule thread reads the layers: read each once, here
        lyr = ws.layer(prefix)
        # GEOS (before 3.12) computes a geometry's envelope lazily, on first use, and caches it in the geometry: two
        # threads doing that at once can read a half-written envelope. Compute every envelope here, on one thread.
        if lyr is not None and lyr.geoms is not None and len(lyr.geoms):
            shapely.bounds(lyr.geoms)
    ctx.dk_index()
    dk_rows(ctx)
    dk = ws.dk
    if dk is not None and dk.n:
        has, nonempty, _valid = ctx.geometry_masks()
        if ws.area is None or len(ws.area) != dk.n:
            area = np.full(dk.n, np.nan)
            sel = np.nonzero(nonempty)[0]
            area[sel] = shapely.area(dk.geoms[sel])
            ws.area = area


# The DK columns any rule reads; the other (wide, free-text) columns are not parsed.
DK_READ = ["BSM", "YSDM", "DKBM", "DKMC", "SYQXZ", "DKLB", "TDLYLX", "DLDJ", "TDYT", "SFJBNT", "SCMJ", "SCMJM", "ZJRXM"]


def validate(path, ledger=None, required_layers=None, progress=NULL_PROGRESS, params=None, **kw):
    """Open the delivery, run every rule; returns (issues, workspace summary dict).
    params: a core.params.Params, a mapping, or the fields as keywords (area_tolerance=…)."""
    p = params if isinstance(params, Params) else Params.of(params, **kw)
    progress.info("读取成果包 / reading the delivery")
    ws = open_workspace(path, ledger=ledger, required_layers=required_layers, progress=progress.sub(0, 30), dk_fields=DK_READ,
                        stage_dk=False)
    try:
        _complete_field_defs(ws)
        progress.info(f"逐条检查 {len(REGISTRY)} 条规则 / checking {len(REGISTRY)} rules")
        ctx = run_rules(ws, progress=progress.sub(30, 100), params=p)
        summary = dict(county=ws.d.county, county_name=ws.d.county_name, root=str(ws.d.root), epsg=ws.dk.epsg if ws.dk else None,
                       wkt=ws.dk.wkt if ws.dk else "", parcels=ws.dk.n if ws.dk else 0, village_names=village_names(ws))
        return ctx.issues, summary
    finally:
        ws.close()


def _stage_dk(ws):
    """What the table rules join on from the DK layer (DKBM, DKLB, and TDYT / SFJBNT for the summary tables), into the
    staging DB."""
    c = ws.stage.conn
    c.execute("CREATE TABLE IF NOT EXISTS DK (_i INTEGER PRIMARY KEY, DKBM TEXT, DKLB TEXT, TDYT TEXT, SFJBNT TEXT)")
    dk = ws.dk
    if dk is not None and dk.n:
        cols = [dk.text(f).tolist() if f in dk.raw else [""] * dk.n for f in ("DKBM", "DKLB", "TDYT", "SFJBNT")]
        c.executemany("INSERT INTO DK VALUES (?, ?, ?, ?, ?)", zip(range(dk.n), *cols))
        c.execute("CREATE INDEX IF NOT EXISTS ix_DK_DKBM ON DK(DKBM)")
    c.commit()
    ws.stage.index()


def _complete_field_defs(ws):
    """The DK layer was read with a subset of its columns: take the declared definitions of all of them from the
    .dbf header (the schema rules compare every field with the standard)."""
    dk = ws.dk
    if dk is None or not dk.paths:
        return
    from osgeo import ogr
    try:
        ds = ogr.Open(str(dk.paths[0]))
        if ds is None:
            return
        defn = ds.GetLayer(0).GetLayerDefn()
        types = {ogr.OFTString: "T", ogr.OFTInteger: "I", ogr.OFTInteger64: "I", ogr.OFTReal: "N", ogr.OFTDate: "D", ogr.OFTDateTime: "D"}
        defs = []
        for i in range(defn.GetFieldCount()):
            fd = defn.GetFieldDefn(i)
            defs.append((fd.GetName().upper(), types.get(fd.GetType(), "T"), fd.GetWidth(), fd.GetPrecision()))
        ds = None
    except RuntimeError:
        return
    if len(defs) >= len(dk.field_defs):
        dk.field_defs = defs


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


def by_family(issues):
    out = {f: {s: 0 for s in SEVERITIES} for f in FAMILIES}
    for i in issues:
        out[REGISTRY[i.rule].family][i.severity] += 1
    return out


def _md(text):
    return str(text).replace("|", "/").replace("\n", " ")


def catalogue_markdown():
    """The rule catalogue as Markdown, generated from the registry so the docs never drift."""
    from .issues import CATEGORY_ZH, SEVERITY_ZH
    lines = ["# 质检规则目录 Rule catalogue", "",
             "Generated from `core/rules/` by `scripts/make-docs`; do not edit by hand.", "",
             f"{len(REGISTRY)} rules in {len(FAMILIES)} families. Each issue carries the rule id, its category (the issue "
             "layer's `category` field), its severity and the key of the record that is wrong (DKBM / CBFBM / CBHTBM / "
             "CBJYQZBM, a unit code, or the file path). Where the standard is unclear, warnings say why they are not errors.",
             "", "## Parameters", "", "| parameter (algorithm) | field | default | unit | 说明 | rules that read it |", "|---|---|---|---|---|---|"]
    for name, spec in SPECS.items():
        users = [r.id for r in REGISTRY.values() if name in r.params]
        default = "—" if spec.default is None else spec.default
        lines.append(f"| `{spec.key}` | `{name}` | {default} | {spec.unit or '—'} | {_md(spec.zh)} | "
                     + (", ".join(f"`{u}`" for u in users) or "—") + " |")
    lines += ["", "## Families", "", "| family | 中文 | rules | implements |", "|---|---|---|---|"]
    for fam in FAMILIES.values():
        n = sum(1 for r in REGISTRY.values() if r.family == fam.key)
        lines.append(f"| [{fam.en}](#{fam.key}) | {fam.zh} | {n} | {_md(fam.source)} |")
    for fam in FAMILIES.values():
        rules = [r for r in REGISTRY.values() if r.family == fam.key]
        if not rules:
            continue
        rules.sort(key=lambda r: (CATEGORIES.index(r.category), SEVERITIES.index(r.severity), r.id))
        lines += ["", f"## {fam.key}", "", f"**{fam.en} — {fam.zh}.** Implements: {_md(fam.source)}", "",
                  "| id | category | severity | 中文提示 | description | parameters |", "|---|---|---|---|---|---|"]
        for r in rules:
            desc = r.description + (f" *Source:* {r.source}" if r.source else "") + (f" *Warning because:* {r.why}" if r.why else "")
            params = ", ".join(f"`{SPECS[p].key}`" for p in r.params) or "—"
            lines.append(f"| `{r.id}` | {r.category} {CATEGORY_ZH[r.category]} | {r.severity} {SEVERITY_ZH[r.severity]} | "
                         f"{_md(r.zh or r.message)} | {_md(desc)} | {params} |")
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
    if isinstance(params, Params):
        params = params.as_dict()
    params = {**DEFAULTS, **{k: v for k, v in dict(params or {}).items() if v is not None}}
    names = summary.get("village_names", {})
    cats = by_category(issues)
    villages = {}
    for i in issues:
        v = villages.setdefault(i.village or "", dict(code=i.village or "", name=names.get(i.village, "") if i.village else "（成果包/无村级编码）",
                                                      error=0, warning=0, info=0, issues=[]))
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
