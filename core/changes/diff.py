"""The change records between two states and the business kind of each (lcb:export_changes).

A record per entity that differs (state.ENTITIES: a parcel and its geometry, a CBDKXX row, a household, a member, a
contract, a register, a certificate and its reissues/replacements/cancellations, an attachment, a transfer
contract, a contracting party, a ledger row): change type 新增 (only in CURRENT), 变更 (in both, values or geometry
differ), 注销 (only in BASE), with the old and the new values.

Business kinds (KINDS), decided per record from the whole set of changes — docs/change-package.md lists the rules:
- 首次登记: a new parcel, and the new CBDKXX rows, households, contracts, registers that come with it;
- 互换: two parcels whose contractors swap (X: A→B and Y: B→A);
- 转让: a parcel whose CBDKXX rows move to another household (a row removed and one added), and the contracts,
  households, registers and ledger rows of both sides that change with it;
- 家庭成员变化: any change of a household's members (CBF_JTCY), and the household record when its members change;
- 流转: a new, changed or ended transfer contract (LZHT), a CBDKXX row whose LZHTBM changes;
- 注销: a parcel removed, its rows, contracts and registers that go with it, a certificate cancellation (QZZX) added;
- 更正: every other change (attributes or geometry of the same contractor's parcel, a name, a contract area, a
  certificate reissue or replacement).

Records that touch each other (the same parcel, household, contract or certificate code) form a *case*; a case is
applied or refused as a whole."""
import json
from collections import defaultdict

from ..errors import NULL_PROGRESS, LcbError
from . import KIND_CODES, KINDS  # noqa: F401 - defined in the package (light: lcb:export_changes names its outputs by them)
from . import state as statemod
from .state import DK_VALUES, ENTITIES, read_state

NEW, CHANGED, REMOVED = "新增", "变更", "注销"
LINK_FIELDS = ("DKBM", "CBFBM", "CBHTBM", "CBJYQZBM", "LZHTBM")


def as_dict(ent, k, values):
    if values is None:
        return None
    if ent == "DK":
        return dict(DKBM=k, **dict(zip(DK_VALUES, values)))
    return dict(zip(ENTITIES[ent].fields, values))


def values_of(ent, obj):
    """The values list (the standard's field order) of a record's old/new object."""
    if obj is None:
        return None
    return [obj.get(f) for f in (DK_VALUES if ent == "DK" else ENTITIES[ent].fields)]


def diff(base, cur, progress=NULL_PROGRESS):
    """The change records from state `base` to state `cur` (both state.State, geometries in the same CRS)."""
    c = base.conn
    cur.conn.commit()
    c.execute("ATTACH DATABASE ? AS cur", (str(cur.stage.path),))
    try:
        rows = c.execute("""
            SELECT b.ent, b.k, b.v, x.v, b.h <> x.h FROM main.E b LEFT JOIN cur.E x ON x.ent = b.ent AND x.k = b.k WHERE x.h IS NULL OR x.h <> b.h
            UNION ALL
            SELECT x.ent, x.k, NULL, x.v, 1 FROM cur.E x LEFT JOIN main.E b ON b.ent = x.ent AND b.k = x.k WHERE b.k IS NULL
            ORDER BY 1, 2""").fetchall()
        progress.set(40)
        dk_keys = [r[1] for r in rows if r[0] == "DK"]
        geo_old = _geoms(c, "main", dk_keys)
        geo_new = _geoms(c, "cur", dk_keys)
        names = {r[0]: r[1:] for r in c.execute(f"SELECT k, XZMC, CJMC, ZJMC, BDCDYH FROM cur.N WHERE k IN ({_marks(dk_keys)})", dk_keys)} \
            if dk_keys else {}
        # the parcels each code reaches, in either state (for the records of households, contracts, certificates)
        reach = defaultdict(set)
        for schema_ in ("main", "cur"):
            for v, in c.execute(f"SELECT v FROM {schema_}.E WHERE ent = 'CBDKXX'"):
                d = dict(zip(ENTITIES["CBDKXX"].fields, json.loads(v)))
                for f in ("CBFBM", "CBHTBM", "CBJYQZBM"):
                    if d.get(f):
                        reach[(f, d[f])].add(str(d["DKBM"]).strip())
    finally:
        c.execute("DETACH DATABASE cur")
    records = []
    for ent, k, old, new, _changed in rows:
        old_v = json.loads(old) if old is not None else None
        new_v = json.loads(new) if new is not None else None
        rec = dict(entity=ent, key=k, change=NEW if old_v is None else REMOVED if new_v is None else CHANGED,
                   old=as_dict(ent, k, old_v), new=as_dict(ent, k, new_v))
        if ent == "DK":
            (wo, go), (wn, gn) = geo_old.get(k, (None, 0)), geo_new.get(k, (None, 0))
            moved = rec["change"] != CHANGED or go != gn
            rec["fields"] = [f for i, f in enumerate(DK_VALUES) if old_v is not None and new_v is not None and old_v[i] != new_v[i]]
            if moved and rec["change"] == CHANGED:
                rec["fields"].append("geometry")
            if rec["change"] != REMOVED and (moved or rec["change"] == NEW):
                rec["geometry"] = wn.hex() if wn is not None else None
            if rec["change"] != NEW:
                rec["old_geometry"] = wo.hex() if wo is not None else None
            if rec["change"] == NEW and k in names:
                rec["context"] = dict(zip(("XZMC", "CJMC", "ZJMC", "BDCDYH"), names[k]))
        else:
            fields = ENTITIES[ent].fields
            rec["fields"] = [f for i, f in enumerate(fields) if old_v is not None and new_v is not None and old_v[i] != new_v[i]]
        records.append(rec)
    _parcels_and_villages(records, reach)
    infer_kinds(records)
    _cases(records)
    records.sort(key=lambda r: (r["village"], r["case"], list(ENTITIES).index(r["entity"]), r["key"]))
    for i, r in enumerate(records, 1):
        r["seq"] = i
    return [_ordered(r) for r in records]


_ORDER = ["seq", "entity", "key", "change", "kind", "case", "village", "parcels", "fields", "old", "new", "geometry", "old_geometry", "context"]


def _ordered(r):
    return {k: r[k] for k in _ORDER if k in r}


def _marks(seq):
    return ",".join("?" * len(seq))


def _geoms(c, schema_, keys):
    out = {}
    for s in range(0, len(keys), 900):
        part = keys[s:s + 900]
        for k, w, gh in c.execute(f"SELECT k, wkb, gh FROM {schema_}.G WHERE k IN ({_marks(part)})", part):
            out[k] = (w, gh)
    return out


def _parcels_and_villages(records, reach):
    for r in records:
        obj = r["new"] or r["old"]
        e = ENTITIES[r["entity"]]
        r["village"] = statemod._village(obj.get(e.village))  # noqa: SLF001
        if "DKBM" in obj:
            r["parcels"] = [str(obj["DKBM"]).strip()]
            continue
        ps = set()
        for o in (r["old"], r["new"]):
            if o:
                for f in ("CBFBM", "CBHTBM", "CBJYQZBM"):
                    if o.get(f):
                        ps |= reach.get((f, o[f]), set())
        r["parcels"] = sorted(ps)


def infer_kinds(records):
    """Set r['kind'] of every record (module docstring)."""
    by_ent = defaultdict(list)
    for r in records:
        by_ent[r["entity"]].append(r)
    new_parcels = {r["key"] for r in by_ent["DK"] if r["change"] == NEW}
    gone_parcels = {r["key"] for r in by_ent["DK"] if r["change"] == REMOVED}
    rows_added, rows_removed = defaultdict(set), defaultdict(set)
    for r in by_ent["CBDKXX"]:
        obj = r["new"] or r["old"]
        dk = str(obj["DKBM"]).strip()
        if r["change"] == NEW:
            rows_added[dk].add(obj.get("CBFBM"))
        elif r["change"] == REMOVED:
            rows_removed[dk].add(obj.get("CBFBM"))
    moved = {dk for dk in set(rows_added) | set(rows_removed) if dk not in new_parcels and dk not in gone_parcels and rows_added.get(dk)}
    swaps = set()
    one_way = {dk: (frozenset(rows_removed.get(dk, ())), frozenset(rows_added[dk])) for dk in moved}
    by_pair = defaultdict(set)
    for dk, (old, new) in one_way.items():
        by_pair[(old, new)].add(dk)
    for dk, (old, new) in one_way.items():
        if old and by_pair.get((new, old)):
            swaps.add(dk)
    parcel_kind = {}
    for dk in new_parcels:
        parcel_kind[dk] = "首次登记"
    for dk in gone_parcels:
        parcel_kind[dk] = "注销"
    for dk in moved:
        parcel_kind[dk] = "互换" if dk in swaps else "转让"
    for dk, old in rows_removed.items():  # rows removed, none added, parcel still there: a holder's right ends
        parcel_kind.setdefault(dk, "注销")
    # codes that take part in a parcel's business (both sides of a transfer; a new parcel's contract)
    involved = {}
    for r in by_ent["CBDKXX"]:
        obj_all = [o for o in (r["old"], r["new"]) if o]
        dk = str(obj_all[0]["DKBM"]).strip()
        kind = parcel_kind.get(dk)
        if kind is None:
            continue
        for o in obj_all:
            for f in ("CBFBM", "CBHTBM", "CBJYQZBM"):
                if o.get(f):
                    prev = involved.get((f, o[f]))
                    if prev is None or KINDS.index(kind) < KINDS.index(prev):
                        involved[(f, o[f])] = kind
    members_changed = {str((r["new"] or r["old"]).get("CBFBM")) for r in by_ent["CBF_JTCY"]}

    def via(r, *fields):
        found = [involved[(f, o[f])] for o in (r["old"], r["new"]) if o for f in fields if o.get(f) and (f, o[f]) in involved]
        return min(found, key=KINDS.index) if found else None

    def default(r):
        return {NEW: "首次登记", REMOVED: "注销"}.get(r["change"], "更正")

    # members of a household that comes or goes as a whole share its kind
    household = {str((r["new"] or r["old"]).get("CBFBM")): (via(r, "CBFBM") or default(r)) for r in by_ent["CBF"] if r["change"] != CHANGED}
    for r in records:
        ent, obj = r["entity"], r["new"] or r["old"]
        if ent == "DK":
            kind = {NEW: "首次登记", REMOVED: "注销"}.get(r["change"]) or parcel_kind.get(r["key"]) or "更正"
            if kind in ("转让", "互换") and set(r["fields"]) - {"ZJRXM"}:
                kind = "更正"  # a transfer does not move boundaries: a geometry or attribute change with it is a correction
        elif ent in ("CBDKXX", "LEDGER"):
            dk = str(obj["DKBM"]).strip()
            kind = parcel_kind.get(dk)
            if kind is None:
                kind = "流转" if ent == "CBDKXX" and "LZHTBM" in r["fields"] else default(r)
        elif ent == "CBF_JTCY":
            kind = household.get(str(obj.get("CBFBM"))) or "家庭成员变化"
        elif ent == "CBF":
            if r["change"] == CHANGED and str(obj.get("CBFBM")) in members_changed:
                kind = "家庭成员变化"
            else:
                kind = via(r, "CBFBM") or default(r)
        elif ent == "LZHT":
            kind = "流转"
        elif ent == "CBJYQZ_QZZX":
            kind = "注销" if r["change"] == NEW else "更正"
        elif ent in ("CBJYQZ_QZBF", "CBJYQZ_QZHF"):
            kind = "更正"
        elif ent == "CBHT":
            kind = via(r, "CBHTBM", "CBFBM") or default(r)
        elif ent in ("CBJYQZDJB", "CBJYQZ", "QSLYZLFJ"):
            kind = via(r, "CBJYQZBM") or default(r)
        else:
            kind = default(r)
        r["kind"] = kind


def _cases(records):
    """r['case']: records linked through a shared parcel, household, contract or certificate code form one case,
    numbered in the order of their first record."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    for i, r in enumerate(records):
        node = ("r", i)
        find(node)
        for o in (r["old"], r["new"]):
            if not o:
                continue
            for f in LINK_FIELDS:
                if o.get(f):
                    union(node, (f, str(o[f]).strip()))
    ids = {}
    for i, r in enumerate(sorted(range(len(records)), key=lambda j: (records[j]["village"], records[j]["key"]))):
        root = find(("r", r))
        ids.setdefault(root, len(ids) + 1)
    for i, r in enumerate(records):
        r["case"] = ids[find(("r", i))]


def counts(records):
    by_kind = {k: 0 for k in KINDS}
    by_change = {NEW: 0, CHANGED: 0, REMOVED: 0}
    by_entity = defaultdict(int)
    parcels = set()
    for r in records:
        by_kind[r["kind"]] += 1
        by_change[r["change"]] += 1
        by_entity[r["entity"]] += 1
        parcels.update(r.get("parcels") or ())
    return dict(records=len(records), parcels=len(parcels), cases=len({r["case"] for r in records}), by_kind=by_kind,
                by_change=by_change, by_entity=dict(sorted(by_entity.items())))


def export_changes(base, current, output, sender="", receiver="", signing_key=None, progress=NULL_PROGRESS):
    """Write the change package from state BASE to state CURRENT (registration GeoPackages or deliveries) into the
    folder `output`. Returns CHANGES (records), the counts, the package id and the two fingerprints."""
    from . import package
    if signing_key:
        package.load_private_key(signing_key)  # a bad key fails before the work
    with read_state(base, progress=progress.sub(0, 30)) as b:
        with read_state(current, epsg=b.epsg, progress=progress.sub(30, 60)) as c:
            if b.county and c.county and b.county != c.county:
                raise LcbError(f"BASE 与 CURRENT 不是同一个县（{b.county} / {c.county}）", f"BASE and CURRENT are different counties ({b.county} / {c.county})",
                               path=str(c.path))
            progress.check()
            records = diff(b, c, progress.sub(60, 85))
            fb, fc = b.fingerprint(), c.fingerprint()
            village_names = _village_names(b, c)
            manifest = dict(sender=sender or "", receiver=receiver or "", county=b.county or c.county,
                            county_name=b.county_name or c.county_name, crs=dict(epsg=b.epsg, wkt=b.wkt or ""),
                            base=dict(kind=b.kind, source=b.path.name, fingerprint=fb["content"], parcels=fb["parcels"], records=fb["records"],
                                      villages=fb["villages"]),
                            result=dict(kind=c.kind, source=c.path.name, fingerprint=fc["content"], parcels=fc["parcels"], records=fc["records"],
                                        villages=fc["villages"]),
                            counts=counts(records))
            progress.check()
            out = package.write_package(output, manifest, records, village_names, signing_key=signing_key)
    progress.set(100)
    return dict(CHANGES=len(records), counts=manifest["counts"], package_id=out["package_id"], output=str(output),
                base=manifest["base"]["fingerprint"], result=manifest["result"]["fingerprint"], signed=out["signed"], files=out["files"])


def _village_names(*states):
    out = {}
    for st in states:
        for k, xz, cj in st.conn.execute("SELECT k, XZMC, CJMC FROM N"):
            v = statemod._village(k)  # noqa: SLF001
            if v not in out and (xz or cj):
                out[v] = f"{xz or ''}{cj or ''}"
    return out
