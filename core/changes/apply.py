"""Apply a change package to a registration GeoPackage (lcb:apply_changes), in one transaction.

1. ``read``: the package verified (package.read_package: every checksum, the signature when a sender key is given),
   the target recognised (layout version) and read as a state in the package's CRS (state.read_state).
2. ``check``: the same package applied before (its id in ``batches``) or a target already equal to the package's
   result is a no-op. Each record is compared with the target: its old values (and old geometry) still there →
   to apply; its new values already there → nothing to do; anything else → a *conflict* (the target changed it
   since the base): never overwritten, reported, and its whole case (diff._cases) is held back. A target whose
   content fingerprint is not the package's base is refused, naming the villages that differ and the conflicts,
   unless ``on_diverged="apply"``: then the records that do not conflict are applied.
3. ``build``: the new state of the affected parcels (those the records touch, the parcels of the households,
   contracts and certificates they change, and every parcel of the contracts involved — a contract's total decides
   its parcels' class) staged like a delivery and turned into working-layer records by the merge's own
   ``records.build`` (area classes recomputed with the target's AREA_TOLERANCE).
4. ``write`` through ``store.GpkgStore`` in ONE transaction: a ``batches`` row; the changed households, registers,
   contracts and parcels' CBDKXX/ledger rows as ``qs_*`` copies of that batch (a family whole, so the effective
   rows stay those of one batch); changed parcels updated (不动产单元号 and consultation kept), new parcels
   inserted with a 不动产单元号 (``bdcdyh.allocate``: the sender's number when it is free, else the next serial of
   the village's sub-zone), cancelled parcels moved to ``cbdk_history`` (their number stays allocated, never
   reused); right holders and the standard tables refreshed (``sync_standard``); ``conflicts`` and ``audit`` rows.
   A killed process leaves the target as it was (SQLite's journal).

The database work goes through the merge's store seam (``_store``: transaction, staged tables attached as ``stg``,
``bdcdyh.allocate``, ``sync_standard``). Reading the target's state (state.read_state) and a few look-ups
(``_read_connection``: its CRS, geometries, allocated sub-zones) are plain SELECTs. A PostgreSQL TARGET (issue 15)
runs the same statements through registration/pg.py's ``PgStore.transaction`` (SQLite dialect translated, staged
tables COPYed in), after taking the advisory locks a merge of the same villages takes; its 不动产单元号 come from
``PgStore.allocate`` and ``cbdk_history`` is created by ``pg.ensure_history``; the standard tables' row trigger is
off for the transaction (lcb.bulk) and ``sync_standard`` refreshes them set-wise, as on a GeoPackage."""
import contextlib
import json
import types
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely

from .. import gpkg, pgconn
from ..errors import NULL_PROGRESS, LcbError
from ..params import Params
from ..registration import bdcdyh, records, schema, standard, store
from . import package as pkgmod
from .diff import CHANGED, NEW, REMOVED, values_of
from .state import DK_VALUES, ENTITIES, HEADS, dumps, key_of, open_readonly, read_state, record_hash
from .state import _village as village_of  # noqa: PLC2701

APPLY, ALREADY, CONFLICT, HELD = "apply", "already", "conflict", "held"
DIVERGED = ("refuse", "apply")
HISTORY = "cbdk_history"


def apply_changes(path, target, sender_key=None, on_diverged="refuse", area_tolerance=None, progress=NULL_PROGRESS):
    """Apply the change package in folder `path` to the registration database `target` (a .gpkg path, or a PostgreSQL
    URI / PG: string / core.pgconn.PgTarget).
    Returns CHANGES, APPLIED, CONFLICTS (and ALREADY, INSERTED, UPDATED, CANCELLED, batch, noop, conflicts)."""
    job = ApplyJob(path, target, sender_key, on_diverged, area_tolerance, progress)
    try:
        return job.run()
    finally:
        job.close()


def sync_standard(c, where):
    """The registration standard's tables (ZDJBXX, NYDSYQ, QLR) of the parcels `where` (an SQL condition on cbdk c)
    rebuilt from their working data: the one call apply makes for them (standard.refresh, as the merge)."""
    return standard.refresh(c, where)


def drop_standard(c, codes):
    """The standard rows of units that leave the working layer (`codes`: SQL list or subquery of BDCDYH)."""
    for sql in standard.delete_statements(codes):
        c.execute(sql)


@contextlib.contextmanager
def standard_triggers_suspended(c):
    """The per-row triggers that keep the standard tables in step with cbdk (standard.triggers) off while apply
    writes its parcels — it refreshes them once, set-wise, afterwards. Inside the transaction: a failure restores
    them. (GDAL's spatial-index triggers stay on. A PostgreSQL store: ALTER TABLE cbdk DISABLE TRIGGER …)"""
    if getattr(c, "is_pg", False):  # PostgreSQL: the store's transaction has its row trigger off already (lcb.bulk)
        yield
        return
    names = [n for n, _sql in standard.triggers()]
    saved = c.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({','.join('?' * len(names))})", names).fetchall()
    for name, _sql in saved:
        c.execute(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in saved:
        c.execute(sql)


class ApplyJob:
    def __init__(self, path, target, sender_key, on_diverged, area_tolerance, progress):
        if on_diverged not in DIVERGED:
            raise LcbError("ON_DIVERGED 只能是 refuse 或 apply", "ON_DIVERGED must be refuse or apply", field="ON_DIVERGED")
        self.pg = None if isinstance(target, Path) else pgconn.target(target)  # a registration database in PostgreSQL
        self.path, self.target = Path(path), (self.pg if self.pg is not None else Path(target))
        self.sender_key, self.on_diverged, self.tol, self.progress = sender_key, on_diverged, area_tolerance, progress
        self.state = self.stage = None
        self.now, self.user = store.now(), store.user()

    def close(self):
        for s in (self.stage, self.state):
            if s is not None:
                s.close()

    # ------------------------------------------------------------------ 1 + 2
    def run(self):
        progress = self.progress
        self.manifest, self.records = pkgmod.read_package(self.path, self.sender_key)
        m = self.manifest
        if self.pg is not None:
            from ..registration import pg as pgstore
            if not pgstore.exists(self.pg):  # also refuses another layout version
                raise LcbError(f"TARGET 的模式 {self.pg.schema} 中没有登记库", f"schema {self.pg.schema} of TARGET holds no registration database",
                               path=self.pg.display(), field="SCHEMA")
            self.target_epsg = pgstore.target_epsg(self.pg)
        elif self.target.suffix.lower() != ".gpkg" or not self.target.is_file():
            raise LcbError("TARGET 必须是已有的登记库（.gpkg）", "TARGET must be an existing registration GeoPackage (.gpkg)", path=str(self.target))
        else:
            self.target_epsg = store.target_epsg(self.target)  # also refuses another layout version
        self.pkg_id = m["manifest_sha256"]
        res = dict(CHANGES=len(self.records), APPLIED=0, CONFLICTS=0, ALREADY=0, INSERTED=0, UPDATED=0, CANCELLED=0, noop=False,
                   conflicts=[], target=str(self.target), package_id=m.get("package_id"), batch=None)
        if self._applied_before():
            progress.set(100)
            return dict(res, ALREADY=len(self.records), noop=True)
        crs = m.get("crs") or {}
        self.pkg_epsg = crs.get("epsg")
        self.pkg_wkt = crs.get("wkt") or ""
        self.state = read_state(self.target, epsg=self.pkg_epsg or self.target_epsg, progress=progress.sub(0, 40))
        st = self.state
        if m.get("county") and st.county and m["county"] != st.county:
            raise LcbError(f"变更包属于 {m['county']}{m.get('county_name') or ''}，TARGET 是 {st.county}{st.county_name} 的登记库",
                           f"the package is for county {m['county']}, TARGET holds county {st.county}", path=str(self.target))
        fp = st.fingerprint()
        if fp["content"] == (m.get("result") or {}).get("fingerprint"):
            progress.set(100)
            return dict(res, ALREADY=len(self.records), noop=True)
        progress.check()
        status = self._statuses()
        conflicts = [r for r in self.records if status[r["seq"]] in (CONFLICT, HELD)]
        base = (m.get("base") or {}).get("fingerprint")
        if base and fp["content"] != base and self.on_diverged == "refuse":
            raise self._diverged_error(fp, [r for r in self.records if status[r["seq"]] == CONFLICT])
        todo = [r for r in self.records if status[r["seq"]] == APPLY]
        res.update(ALREADY=sum(1 for s in status.values() if s == ALREADY), CONFLICTS=len(conflicts),
                   conflicts=[dict(seq=r["seq"], entity=r["entity"], key=r["key"], kind=r["kind"], held=status[r["seq"]] == HELD) for r in conflicts])
        progress.set(45)
        if not todo and (not conflicts or self._applied_before(any_outcome=True)):
            progress.set(100)  # nothing to apply, and the conflicts are on record already
            return dict(res, noop=True)
        self._mutate(todo)
        progress.set(55)
        self._build(todo)
        progress.set(70)
        progress.check()
        res.update(self._write(todo, conflicts, status))
        res["APPLIED"] = len(todo)
        progress.set(100)
        return res

    def _applied_before(self, any_outcome=False):
        """This package was applied before (without conflicts, unless any_outcome)."""
        c = self._read_connection()
        try:
            cond = "" if any_outcome else " AND COALESCE(conflicts, 0) = 0"
            return c.execute(f"SELECT 1 FROM batches WHERE fingerprint = ?{cond} LIMIT 1", (self.pkg_id,)).fetchone() is not None
        except Exception:  # noqa: BLE001 - a bad target is reported by the full path
            return False
        finally:
            c.close()

    def _read_connection(self):
        """A read connection to TARGET (a GeoPackage, or PostgreSQL through core/pgconn.py: the same SQL)."""
        return pgconn.connect_read(self.pg) if self.pg is not None else open_readonly(self.target)

    def _statuses(self):
        """{seq: APPLY | ALREADY | CONFLICT | HELD} (module docstring)."""
        st = self.state
        status = {}
        for r in self.records:
            ent, k = r.get("entity"), r.get("key")
            if ent not in ENTITIES or not isinstance(k, str) or r.get("change") not in (NEW, CHANGED, REMOVED):
                raise LcbError("changes.jsonl 中有无法识别的记录", "changes.jsonl holds a record this version cannot read",
                               path=str(self.path / pkgmod.CHANGES), record=f"{r.get('seq')}: {ent} {k}")
            _h, cur = st.get(ent, k)
            old, new = values_of(ent, r.get("old")), values_of(ent, r.get("new"))
            if ent == "DK":
                gcur = self._geom_digest_target(k) if cur is not None else None
                gold = _digest_hex(r.get("old_geometry"))
                gnew = _digest_hex(r["geometry"]) if "geometry" in r else gold
                cur = None if cur is None else (cur, gcur)
                old = None if old is None else (old, gold)
                new = None if new is None else (new, gnew)
            if _same(cur, old):
                status[r["seq"]] = APPLY
            elif _same(cur, new):
                status[r["seq"]] = ALREADY
            else:
                status[r["seq"]] = CONFLICT
        bad_cases = {r["case"] for r in self.records if status[r["seq"]] == CONFLICT}
        for r in self.records:
            if r["case"] in bad_cases and status[r["seq"]] == APPLY:
                status[r["seq"]] = HELD
        return status

    def _geom_digest_target(self, k):
        row = self.state.conn.execute("SELECT gh FROM G WHERE k = ?", (k,)).fetchone()
        return row[0] if row else 0

    def _diverged_error(self, fp, conflicts):
        base = (self.manifest.get("base") or {}).get("villages") or {}
        have = fp["villages"]
        names = {}
        for k, xz, cj in self.state.conn.execute("SELECT k, XZMC, CJMC FROM N"):
            names.setdefault(village_of(k), f"{xz or ''}{cj or ''}")
        differ = sorted(v for v in set(base) | set(have) if base.get(v) != have.get(v))
        shown = "、".join(f"{v}{names.get(v, '')}" for v in differ[:5]) + ("等" if len(differ) > 5 else "")
        zh = f"TARGET 的内容与变更包的基准状态不一致：{len(differ)} 个村不同（{shown}）"
        en = f"TARGET's content is not the package's base: {len(differ)} villages differ ({', '.join(differ[:5])})"
        if conflicts:
            keys = "、".join(f"{ENTITIES[r['entity']].title} {r['key']}" for r in conflicts[:5])
            zh += f"；变更包中有 {len(conflicts)} 条记录在 TARGET 中已被改动（冲突，不会覆盖）：{keys}"
            en += f"; {len(conflicts)} records of the package were changed in TARGET since the base (conflicts, never overwritten)"
        zh += "。未作任何修改；确认后可选择 ON_DIVERGED=apply 只应用不冲突的变更"
        en += ". Nothing was changed; ON_DIVERGED=apply applies the changes that do not conflict"
        return LcbError(zh, en, path=str(self.target))

    # ------------------------------------------------------------------ the new state
    def _mutate(self, todo):
        """Apply the records to the target's state (tables E and G of its staging database), keeping each
        surviving record's place (rowid) so that rows keep their order within a parcel."""
        c = self.state.conn
        self.old_rows = defaultdict(list)  # ent -> old values of records that change (for the affected-parcel search)
        self.new_geoms = {}
        for r in todo:
            ent, k = r["entity"], r["key"]
            old, new = values_of(ent, r.get("old")), values_of(ent, r.get("new"))
            e = ENTITIES[ent]
            if old is not None:
                self.old_rows[ent].append(old)
            if new is None:
                c.execute("DELETE FROM E WHERE ent = ? AND k = ?", (ent, k))
                if ent == "DK":
                    c.execute("DELETE FROM G WHERE k = ?", (k,))
                continue
            vals = dict(zip(e.fields, new))
            fam = None
            if e.family == "parcel":
                fam = str(vals["DKBM"] or "").strip()
            elif e.family:
                fam = str(vals[e.key[0]] or "")
            gh = None
            if ent == "DK":
                if "geometry" in r:
                    wkb = bytes.fromhex(r["geometry"]) if r["geometry"] else None
                    gh = _digest_hex(r["geometry"])
                    c.execute("INSERT OR REPLACE INTO G VALUES (?,?,?)", (k, wkb, gh))
                    self.new_geoms[k] = wkb
                else:
                    gh = self._geom_digest_target(k)
            row = (fam, village_of(vals.get(e.village) if ent != "DK" else k), record_hash(ent, k, new, gh), dumps(new))
            if c.execute("UPDATE E SET fam = ?, vil = ?, h = ?, v = ? WHERE ent = ? AND k = ?", (*row, ent, k)).rowcount == 0:
                c.execute("INSERT INTO E (ent, k, fam, vil, h, v) VALUES (?,?,?,?,?,?)", (ent, k, *row))
        c.commit()

    def _codes(self, name, values):
        """A temporary table temp.<name>(x) of codes in the state's database, for set-wise lookups."""
        c = self.state.conn
        c.execute(f"DROP TABLE IF EXISTS temp.{name}")
        c.execute(f"CREATE TEMP TABLE {name} (x TEXT PRIMARY KEY)")
        c.executemany(f"INSERT OR IGNORE INTO temp.{name} VALUES (?)", [(v,) for v in values if v is not None])
        return f"(SELECT x FROM temp.{name})"

    def _rows(self, ent, codes, by="k"):
        """[(key, values)] of the new state's records of `ent` whose key (by="k", without a #n suffix) or family
        (by="fam") is in the temporary table `codes` (see _codes), in their order."""
        col = "fam" if by == "fam" else "CASE WHEN instr(k, '#') > 0 THEN substr(k, 1, instr(k, '#') - 1) ELSE k END"
        return [(k, json.loads(v)) for k, v in self.state.conn.execute(
            f"SELECT k, v FROM E WHERE ent = ? AND {col} IN {codes} ORDER BY rowid", (ent,))]

    def _parcels_referencing(self, field, codes):
        """DKBMs whose CBDKXX rows (new state) have `field` in the temporary table `codes`."""
        i = ENTITIES["CBDKXX"].fields.index(field)
        return {r[0] for r in self.state.conn.execute(
            f"SELECT DISTINCT fam FROM E WHERE ent = 'CBDKXX' AND json_extract(v, '$[{i}]') IN {codes}")}

    def _build(self, todo):
        """Affected parcels, their staged new state and their working-layer records (stg.RECV)."""
        from .. import attrdb
        direct, old_contracts = set(), set()
        self.touched = defaultdict(set)  # family kind -> codes whose rows this batch writes
        via = defaultdict(set)  # CBDKXX field -> changed codes whose parcels are redefined
        for r in todo:
            ent = r["entity"]
            obj = r.get("new") or r.get("old")
            if ent in ("DK", "CBDKXX", "LEDGER"):
                direct.add(str(obj["DKBM"]).strip())
                if ent == "CBDKXX" and r.get("old") and r["old"].get("CBHTBM"):
                    old_contracts.add(r["old"]["CBHTBM"])  # the contract a row leaves: its parcels' class may change
            elif ent in ("CBF", "CBF_JTCY"):
                self.touched["CBF"].add(obj["CBFBM"])
                via["CBFBM"].add(obj["CBFBM"])
            elif ent in HEADS or ent == "CBJYQZDJB":
                self.touched["CBJYQZDJB"].add(obj["CBJYQZBM"])
                via["CBJYQZBM"].add(obj["CBJYQZBM"])
            elif ent in ("CBHT", "LZHT", "FBF"):
                field = {"CBHT": "CBHTBM", "LZHT": "LZHTBM", "FBF": "FBFBM"}[ent]
                code = obj[field]
                self.touched[ent].add(code)
                via[field].add(code)
        for field, codes in via.items():
            direct |= self._parcels_referencing(field, self._codes("Q", codes))
        # every parcel of the contracts involved (a contract's total decides its parcels' class)
        i = ENTITIES["CBDKXX"].fields.index("CBHTBM")
        d = self._codes("D", direct)
        contracts = {r[0] for r in self.state.conn.execute(
            f"SELECT DISTINCT json_extract(v, '$[{i}]') FROM E WHERE ent = 'CBDKXX' AND fam IN {d}")} | old_contracts
        affected = direct | self._parcels_referencing("CBHTBM", self._codes("Q", contracts))
        present = {r[0] for r in self.state.conn.execute(
            f"SELECT k FROM E WHERE ent = 'DK' AND k IN {d} UNION SELECT fam FROM E WHERE ent = 'CBDKXX' AND fam IN {d}")}
        self.direct = direct
        self.cancelled = sorted(direct - present)
        self.affected = sorted(affected - set(self.cancelled))
        self.stage = attrdb.Staging()
        self._stage(self.affected)

    def _stage(self, affected):
        conn = self.stage.conn
        aff = self._codes("A", affected)
        rows = [v for _k, v in self._rows("CBDKXX", aff, "fam")]
        fx = ENTITIES["CBDKXX"].fields
        refs = defaultdict(set)
        for v in rows:
            d = dict(zip(fx, v))
            for f in ("CBFBM", "CBHTBM", "CBJYQZBM", "FBFBM", "LZHTBM"):
                if d.get(f):
                    refs[f].add(d[f])
        refs["FBFBM"] |= {k[:14] for k in affected if len(k) >= 14}

        def put(table, values):
            cols = ENTITIES[table].fields
            conn.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})', values)
        put("CBDKXX", rows)
        cbht = [v for _k, v in self._rows("CBHT", self._codes("Q", refs["CBHTBM"]))]
        put("CBHT", cbht)
        refs["CBFBM"] |= {v[ENTITIES["CBHT"].fields.index("CBFBM")] for v in cbht}
        put("CBF", [v for _k, v in self._rows("CBF", self._codes("Q", refs["CBFBM"]))])
        put("CBF_JTCY", [v for _k, v in self._rows("CBF_JTCY", self._codes("Q", refs["CBFBM"]), "fam")])
        certs = self._codes("Q", refs["CBJYQZBM"])
        put("CBJYQZDJB", [v for _k, v in self._rows("CBJYQZDJB", certs)])
        for ent in ("CBJYQZ", "CBJYQZ_QZBF", "CBJYQZ_QZHF", "CBJYQZ_QZZX", "QSLYZLFJ"):  # everything record building may read
            put(ent, [v for _k, v in self._rows(ent, certs, "fam")])
        lz = ENTITIES["LZHT"].fields
        put("LZHT", [v for _k, v in self.state.conn.execute("SELECT k, v FROM E WHERE ent = 'LZHT' ORDER BY rowid")
                     for v in [json.loads(v)] if v[lz.index("LZHTBM")] in refs["LZHTBM"] or v[lz.index("CBHTBM")] in refs["CBHTBM"]])
        put("FBF", [v for _k, v in self._rows("FBF", self._codes("Q", refs["FBFBM"]))])
        put("LEDGER", [v for _k, v in self._rows("LEDGER", aff, "fam")])
        self.stage.has_ledger = True
        dk = self._rows("DK", aff)
        # DK: the new attributes; geometries in the target's CRS (the target's own blob when unchanged)
        conn.execute("DROP TABLE IF EXISTS DK")
        conn.execute(f"CREATE TABLE DK (_i INTEGER PRIMARY KEY, DKBM TEXT, SCMJ REAL, {', '.join(t + ' TEXT' for t in records.DK_TEXT)})")
        conn.executemany(f"INSERT INTO DK VALUES ({', '.join('?' * (3 + len(records.DK_TEXT)))})",
                         [(i, k, v[DK_VALUES.index('SCMJ')], *[v[DK_VALUES.index(t)] for t in records.DK_TEXT]) for i, (k, v) in enumerate(dk)])
        tc = self._read_connection()
        try:
            pg = self.pg is not None
            self.srs_id = self.target_epsg if pg else tc.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'cbdk'").fetchone()[0]
            old = {}
            keys = [k for k, _v in dk if k not in self.new_geoms]
            for s in range(0, len(keys), 900):
                part = keys[s:s + 900]
                old.update(tc.execute(f"SELECT DKBM, {'ST_AsBinary(geom)' if pg else 'geom'} FROM cbdk WHERE DKBM IN ({','.join('?' * len(part))})",
                                      part).fetchall())
            self.alloc_zones = {}
            for code, zone, n in tc.execute("SELECT substr(DKBM, 1, 12), substr(BDCDYH, 7, 6), COUNT(*) FROM bdcdyh_alloc "
                                            "WHERE length(DKBM) >= 12 AND length(BDCDYH) = 28 GROUP BY 1, 2 ORDER BY 3"):
                self.alloc_zones[code] = zone  # the most common sub-zone of the village's numbers
            row = tc.execute("SELECT params FROM batches WHERE params LIKE '%area_tolerance%' ORDER BY fid DESC LIMIT 1").fetchone()
        finally:
            tc.close()
        geoms = np.empty(len(dk), dtype=object)
        moved = np.zeros(len(dk), bool)
        for i, (k, _v) in enumerate(dk):
            if k in self.new_geoms:
                geoms[i] = shapely.from_wkb(self.new_geoms[k]) if self.new_geoms[k] else None
                moved[i] = True
            else:
                geoms[i] = gpkg.geometry_from_blob(old.get(k)) if self.pg is None else \
                    (shapely.from_wkb(bytes(old[k])) if old.get(k) is not None else None)
        if moved.any():
            from .state import _transform
            tf = _transform(self.pkg_epsg, self.target_epsg, self.pkg_wkt)
            if tf is not None:
                ok = moved & ~shapely.is_missing(geoms)
                geoms[ok] = tf(geoms[ok])
        blobs, bounds, digests = records.geometry_parts(geoms, None, self.srs_id)
        conn.execute("DROP TABLE IF EXISTS DKG")
        conn.execute("CREATE TABLE DKG (_i INTEGER PRIMARY KEY, geom BLOB, minx REAL, maxx REAL, miny REAL, maxy REAL, gh INTEGER)")
        conn.executemany("INSERT INTO DKG VALUES (?,?,?,?,?,?,?)",
                         zip(range(len(dk)), blobs, *[records._floats(bounds[:, j]) for j in range(4)], digests.tolist()))  # noqa: SLF001
        conn.commit()
        tol = self.tol
        if tol is None:
            try:
                tol = json.loads(row[0]).get("area_tolerance") if row else None
            except (ValueError, AttributeError):
                tol = None
        self.params = Params().with_(area_tolerance=tol) if tol is not None else Params()
        ws = types.SimpleNamespace(stage=self.stage, layer=lambda prefix: None)
        self.classes = records.build(conn, ws, self.state.county, self.params)
        self._names(conn)
        bdcdyh.stage_zoning(conn, self.alloc_zones)
        conn.commit()

    def _names(self, conn):
        """Township, village and group names: those the target already uses, else the sender's for a new parcel."""
        by = [{}, {}, {}]
        for k, xz, cj, zj in self.state.conn.execute("SELECT k, XZMC, CJMC, ZJMC FROM N"):
            for d, code, name in ((by[0], k[:9], xz), (by[1], k[:12], cj), (by[2], k[:14], zj)):
                if name:
                    d.setdefault(code, name)
        for r in self.records:
            ctx = r.get("context") or {}
            k = r["key"]
            for d, code, name in ((by[0], k[:9], ctx.get("XZMC")), (by[1], k[:12], ctx.get("CJMC")), (by[2], k[:14], ctx.get("ZJMC"))):
                if name:
                    d.setdefault(code, name)
        rows = conn.execute("SELECT k9, k12, fbf, XZMC, CJMC, ZJMC FROM NM").fetchall()
        conn.executemany("UPDATE NM SET XZMC = ?, CJMC = ?, ZJMC = ? WHERE k9 = ? AND k12 = ? AND fbf = ?",
                         [(by[0].get(k9, xz), by[1].get(k12, cj), by[2].get(fbf, zj), k9, k12, fbf) for k9, k12, fbf, xz, cj, zj in rows])

    # ------------------------------------------------------------------ 4. write
    def _store(self):
        """The write side of the registration database: the store seam (registration/store.py). A PostgreSQL TARGET
        gets its PgStore here; everything written goes through its transaction() and plain SQL (UPDATE … FROM,
        temporary tables, window functions in bdcdyh.allocate), like the merge's."""
        if self.pg is not None:
            from ..registration import pg as pgstore
            return pgstore.PgStore(self.pg)
        return store.GpkgStore(self.target)

    def _write(self, todo, conflicts, status):
        from ..merge import _test_pause
        m = self.manifest
        st = self._store()
        self._pg_store = st if self.pg is not None else None
        out = {}
        try:
            st.attach_stage(self.stage)
            with st.transaction() as c:
                if self.pg is not None:  # first of all, the locks a merge of the same villages takes (registration/pg.py)
                    st.lock_staged(c, self.state.county or (self.manifest.get("county") or ""), self.alloc_zones, source="RECK")
                params = dict(kind="change_package", package_id=m.get("package_id"), sender=m.get("sender"), receiver=m.get("receiver"),
                              base=(m.get("base") or {}).get("fingerprint"), result=(m.get("result") or {}).get("fingerprint"),
                              area_tolerance=self.params.area_tolerance, on_diverged=self.on_diverged)
                batch = c.execute("INSERT INTO batches (package, county, county_name, fingerprint, params, merged_at, user, epsg) VALUES (?,?,?,?,?,?,?,?)",
                                  (str(self.path), m.get("county") or self.state.county, m.get("county_name") or self.state.county_name,
                                   self.pkg_id, json.dumps(params, ensure_ascii=False), self.now, self.user, self.target_epsg)).lastrowid
                out["batch"] = batch
                fp = records.fingerprint("v")
                c.execute("DROP TABLE IF EXISTS temp.AP")
                c.execute(f"""CREATE TEMP TABLE AP AS SELECT p.pid, p.DKBM, x.fid,
                    CASE WHEN x.fid IS NULL THEN 0 WHEN x.YJHASH = (SELECT {fp} FROM stg.RECV v WHERE v.pid = p.pid) THEN 1 ELSE 2 END AS st
                    FROM stg.P p LEFT JOIN main.cbdk x ON x.DKBM = p.DKBM""")
                c.execute("CREATE TEMP TABLE DIRECT (DKBM TEXT PRIMARY KEY)")
                c.executemany("INSERT INTO temp.DIRECT VALUES (?)", [(d,) for d in self.direct])
                c.execute("UPDATE temp.AP SET st = 2 WHERE st = 1 AND DKBM IN (SELECT DKBM FROM temp.DIRECT)")
                redefined = [r[0] for r in c.execute("SELECT DKBM FROM temp.AP WHERE st <> 1 ORDER BY DKBM")]
                self._write_copies(c, batch, redefined)
                with standard_triggers_suspended(c):
                    out["CANCELLED"] = self._cancel(c, batch)
                    cols = schema.HASHED
                    c.execute(f"""UPDATE cbdk SET geom = x.geom, {', '.join(f'{f} = x.{f}' for f in cols)}, YJHASH = x.YJHASH, PCID = ?, RKSJ = ?,
                            XSZT = CASE WHEN x.CYLX = 'contract_register_mismatch' AND COALESCE(cbdk.CYLX, '') <> 'contract_register_mismatch'
                                        AND cbdk.XSZT IS NULL THEN '待协商' ELSE cbdk.XSZT END
                        FROM (SELECT a.fid, d.geom, {', '.join('v.' + f for f in cols)}, {fp} AS YJHASH
                              FROM temp.AP a JOIN stg.RECV v ON v.pid = a.pid LEFT JOIN stg.DKG d ON d._i = v.dk_i WHERE a.st = 2) AS x
                        WHERE cbdk.fid = x.fid""", (batch, self.now))
                    out["UPDATED"] = c.execute("SELECT COUNT(*) FROM temp.AP WHERE st = 2").fetchone()[0]
                    out["INSERTED"] = self._insert(c, batch)
                sync_standard(c, "c.DKBM IN (SELECT DKBM FROM temp.AP WHERE st <> 1)")
                self._log(c, batch, todo, conflicts, status)
                counts = dict(c.execute("SELECT v.CYLX, COUNT(*) FROM temp.AP a JOIN stg.RECV v ON v.pid = a.pid WHERE a.st <> 1 "
                                        "GROUP BY v.CYLX ORDER BY v.CYLX"))
                c.execute("UPDATE batches SET parcels=?, inserted=?, updated=?, unchanged=?, conflicts=?, classes=? WHERE fid=?",
                          (len(self.affected), out["INSERTED"], out["UPDATED"] + out["CANCELLED"],
                           c.execute("SELECT COUNT(*) FROM temp.AP WHERE st = 1").fetchone()[0], len(conflicts), json.dumps(counts), batch))
                if self.pg is None:  # PostgreSQL has them from its creation (an index built here would lock cbdk)
                    for sql in schema.INDEXES:
                        c.execute(sql)
                self.progress.check()
                _test_pause("before_commit", self.target if self.pg is None else st.pause_path)
        finally:
            st.close()
        return out

    def _write_copies(self, c, batch, redefined):
        """qs_* copies of this batch: the CBDKXX and ledger rows of every parcel redefined, and each changed
        household, register (with its certificate family), contract, transfer contract and contracting party."""
        def insert(ent, values):
            e = ENTITIES[ent]
            if not values:
                return
            cols = ", ".join(f'"{f}"' for f in e.fields)
            c.executemany(f'INSERT INTO "{e.qs}" ({cols}, PCID) VALUES ({", ".join("?" * (len(e.fields) + 1))})', [(*v, batch) for v in values])
        red = self._codes("R", redefined)
        insert("CBDKXX", [v for _k, v in self._rows("CBDKXX", red, "fam")])
        insert("LEDGER", [v for _k, v in self._rows("LEDGER", red, "fam")])
        for head, children in (("CBF", ["CBF_JTCY"]), ("CBJYQZDJB", [e for e, h in HEADS.items() if h == "CBJYQZDJB"])):
            if not self.touched.get(head):
                continue
            codes = self._codes("Q", self.touched[head])
            insert(head, [v for _k, v in self._rows(head, codes)])
            for ch in children:
                insert(ch, [v for _k, v in self._rows(ch, codes, "fam")])
        for ent in ("CBHT", "LZHT", "FBF"):
            if self.touched.get(ent):
                insert(ent, [v for _k, v in self._rows(ent, self._codes("Q", self.touched[ent]))])

    def _cancel(self, c, batch):
        """Cancelled parcels leave the working layer for cbdk_history (with their standard rows); their 不动产单元号
        stays in bdcdyh_alloc."""
        if not self.cancelled:
            return 0
        ensure_history(c)
        c.execute("CREATE TEMP TABLE GONE (DKBM TEXT PRIMARY KEY)")
        c.executemany("INSERT INTO temp.GONE VALUES (?)", [(d,) for d in self.cancelled])
        cols = [r[1] for r in c.execute("PRAGMA table_info(cbdk)") if r[1] != "fid"]
        reason = {r["key"]: r["kind"] for r in self.records if r["entity"] == "DK"}
        c.execute(f"INSERT INTO {HISTORY} ({', '.join(cols)}, ZXPCID, ZXSJ, ZXYY) SELECT {', '.join(cols)}, ?, ?, ? FROM cbdk "
                  "WHERE DKBM IN (SELECT DKBM FROM temp.GONE) ORDER BY fid", (batch, self.now, "变更包注销 " + ",".join(sorted(set(reason.values())))))
        drop_standard(c, "SELECT BDCDYH FROM cbdk WHERE DKBM IN (SELECT DKBM FROM temp.GONE)")
        return c.execute("DELETE FROM cbdk WHERE DKBM IN (SELECT DKBM FROM temp.GONE)").rowcount

    def _insert(self, c, batch):
        """New parcels: the sender's 不动产单元号 when it is free here, else the next serial of the sub-zone."""
        n = c.execute("SELECT COUNT(*) FROM temp.AP WHERE st = 0").fetchone()[0]
        if not n:
            return 0
        county = self.state.county or (self.manifest.get("county") or "")
        for r in self.records:
            hint = (r.get("context") or {}).get("BDCDYH")
            if r["entity"] == "DK" and r["change"] == NEW and isinstance(hint, str) and len(hint) == 28 and hint.startswith(county) \
                    and r["key"] in {x[0] for x in c.execute("SELECT DKBM FROM temp.AP WHERE st = 0 AND DKBM = ?", (r["key"],))} \
                    and not c.execute("SELECT 1 FROM bdcdyh_alloc WHERE DKBM = ? OR BDCDYH = ?", (r["key"], hint)).fetchone():
                c.execute("INSERT INTO bdcdyh_alloc (DKBM, BDCDYH, PCID, at) VALUES (?,?,?,?)", (r["key"], hint, batch, self.now))
        if self.pg is not None:  # PostgreSQL: the same allocation, run in the staging database against the numbers given
            self.stage.conn.execute("DROP TABLE IF EXISTS APNEW")
            self.stage.conn.execute("CREATE TABLE APNEW (pid INTEGER PRIMARY KEY)")
            self.stage.conn.executemany("INSERT INTO APNEW VALUES (?)", c.execute("SELECT pid FROM temp.AP WHERE st = 0").fetchall())
            self._pg_store.allocate(c, "(SELECT k.pid, k.DKBM, k.FBFBM, k.TZM FROM RECK k WHERE k.pid IN (SELECT pid FROM APNEW))",
                                    batch, self.now, county, self.alloc_zones)
        else:
            bdcdyh.allocate(c, "(SELECT k.pid, k.DKBM, k.FBFBM, k.TZM FROM temp.AP a JOIN stg.RECK k ON k.pid = a.pid WHERE a.st = 0)",
                            batch, self.now, county, self.alloc_zones)
        cols = schema.HASHED
        c.execute(f"""INSERT INTO cbdk (geom, BDCDYH, {', '.join(cols)}, PCID, YJHASH, RKSJ, XSZT)
            SELECT d.geom, a.BDCDYH, {', '.join('v.' + f for f in cols)}, ?, {records.fingerprint('v')}, ?,
                   CASE WHEN v.CYLX = 'contract_register_mismatch' THEN '待协商' END
            FROM temp.NA a JOIN stg.RECV v ON v.pid = a.pid LEFT JOIN stg.DKG d ON d._i = v.dk_i ORDER BY a.pid""", (batch, self.now))
        return n

    def _log(self, c, batch, todo, conflicts, status):
        audits = []
        for r in todo:
            ps = r.get("parcels") or [None]
            audits.append((self.now, self.user, f"change:{r['kind']}", ps[0], batch,
                           dumps(dict(seq=r["seq"], entity=r["entity"], key=r["key"], change=r["change"], kind=r["kind"], fields=r.get("fields")))))
        rows = []
        for r in conflicts:
            _h, cur = self.state.get(r["entity"], r["key"]) if status[r["seq"]] == CONFLICT else (None, None)
            ps = r.get("parcels") or [r["key"]]
            rows.append((batch, ps[0], ",".join(r.get("fields") or []) or r["entity"],
                         dumps(dict(entity=r["entity"], key=r["key"], values=cur)),
                         dumps(dict(entity=r["entity"], key=r["key"], change=r["change"], kind=r["kind"], values=r.get("new"))),
                         "kept" if status[r["seq"]] == CONFLICT else "held", self.now))
        c.executemany("INSERT INTO conflicts (PCID, DKBM, fields, existing, incoming, resolution, at) VALUES (?,?,?,?,?,?,?)", rows)
        audits.append((self.now, self.user, "apply_changes", None, batch,
                       dumps(dict(package_id=self.manifest.get("package_id"), records=len(self.records), applied=len(todo), conflicts=len(conflicts)))))
        c.executemany("INSERT INTO audit (at, user, action, DKBM, PCID, detail) VALUES (?,?,?,?,?,?)", audits)


def ensure_history(c):
    """Table cbdk_history (cancelled parcels): cbdk's columns, the geometry as a GeoPackage blob, and when, by which
    batch and why the parcel was cancelled. Registered as an attribute table of the GeoPackage."""
    if getattr(c, "is_pg", False):  # PostgreSQL: the same columns, made by the store (registration/pg.py)
        from ..registration import pg as pgstore
        pgstore.ensure_history(c, HISTORY)
        return
    if c.execute(f"SELECT 1 FROM sqlite_master WHERE name = '{HISTORY}'").fetchone():
        return
    cols = [(r[1], r[2]) for r in c.execute("PRAGMA table_info(cbdk)") if r[1] != "fid"]
    defs = ", ".join(f'"{n}" {"BLOB" if n == "geom" else (t or "TEXT")}' for n, t in cols)
    c.execute(f'CREATE TABLE "{HISTORY}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, {defs}, ZXPCID INTEGER, ZXSJ TEXT, ZXYY TEXT)')
    c.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
              f"VALUES ('{HISTORY}', 'attributes', '{HISTORY}', '注销的地块（历史）', strftime('%Y-%m-%dT%H:%M:%fZ','now'))")


def _digest_hex(h):
    if not h:
        return 0
    from ..registration.digest import geometry64
    return int(geometry64(np.array([shapely.from_wkb(bytes.fromhex(h))], dtype=object))[0])


def _same(a, b):
    return a == b


__all__ = ["apply_changes", "sync_standard", "key_of"]
