"""Schema rules: fields present with the standard's types and widths, required values, value widths."""
import numpy as np

from .. import schema
from ..issues import parallel, rule
from .common import KEYS, dk_rows, present


@rule("schema.dk_missing_field", "schema", "error", "地块图层缺少字段 {field}（{detail}）",
      "The DK layer lacks a standard field the standard marks mandatory.")
@rule("schema.dk_missing_optional", "schema", "warning", "地块图层缺少可选字段 {field}（{detail}）",
      "The DK layer lacks an optional standard field.",
      why="the field is optional in NY/T 2539; nothing downstream depends on it.")
@rule("schema.field_type", "schema", "warning", "{layer} 字段 {field} 的类型/宽度为 {value}，标准为 {detail}",
      "A DK field's DBF type or width differs from the standard template.", why="values are still read; only the declared width/type differs.")
@parallel
def dk_fields(ctx):
    dk = ctx.ws.dk
    if dk is None or not dk.paths:
        return
    rel = ctx.ws.d.rel(dk.paths[0])
    have = {d[0]: d for d in dk.field_defs}
    for name, typ, width, required, title in schema.DK_FIELDS:
        if name not in have:
            ctx.issue("schema.dk_missing_field" if required else "schema.dk_missing_optional", rel, name, "", layer="DK", detail=title)
            continue
        _n, t, w, _p = have[name]
        if t != typ and not (typ == "I" and t == "N") or (typ == "T" and w and w < width and name not in ("KJZB", "DKBZXX")):
            ctx.issue("schema.field_type", rel, name, f"{t}({w})", layer="DK", detail=f"{typ}({width})")


@rule("schema.required_empty", "schema", "error", "{layer} 的必填字段 {field}（{detail}）为空", "A value the standard marks mandatory is empty.")
@parallel
def required_empty(ctx):
    dk = ctx.ws.dk
    if dk is not None and dk.n:
        rows = dk_rows(ctx)
        for name, _t, _w, required, title in schema.DK_FIELDS:
            if not required or name not in dk.nulls:
                continue
            for i in np.nonzero(dk.nulls[name])[0]:
                key = rows[i][1]
                ctx.issue("schema.required_empty", key, name, "", layer="DK", detail=title, geometry_of=key)
    for table, spec in schema.TABLES.items():  # one scan per table; only rows with an empty value come back
        key = KEYS[table]
        fields = [(name, typ, title) for name, typ, _w, required, title in spec if required and present(ctx, table, name)]
        if not fields:
            continue
        conds = [f'"{n}" IS NULL' + (f' OR trim("{n}") = \'\'' if t in "TMD" else "") for n, t, _ in fields]
        sql = f'SELECT "{key}", {", ".join(chr(34) + n + chr(34) for n, _, _ in fields)} FROM "{table}" WHERE ' + " OR ".join(f"({c})" for c in conds)
        for row in ctx.q(sql):
            for (name, typ, title), v in zip(fields, row[1:]):
                if v is None or (typ in "TMD" and str(v).strip() == ""):
                    ctx.issue("schema.required_empty", row[0] or f"{table}", name, "", layer=table, detail=title)


@rule("schema.too_long", "schema", "error", "{layer} 字段 {field} 的值长度 {value} 超过标准宽度 {detail}",
      "A text value is longer than the standard field width.")
@rule("schema.not_number", "schema", "error", "{layer} 字段 {field} 的值“{value}”不是数值", "A numeric field holds text.")
@parallel
def widths_and_types(ctx):
    """One scan per table; SQLite returns only rows with a value too long or a number that is text (dates: formats.py)."""
    for table, spec in schema.TABLES.items():
        key = KEYS[table]
        checks = []
        for name, typ, width, _req, _title in spec:
            if not present(ctx, table, name):
                continue
            q = f'"{name}"'
            if typ == "T" and width:
                checks.append((name, typ, width, f"length({q}) > {width}"))
            elif typ in "NI":
                checks.append((name, typ, width, f"(typeof({q}) = 'text' AND trim({q}) <> '')"))
        if not checks:
            continue
        sql = (f'SELECT "{key}", {", ".join(chr(34) + c[0] + chr(34) for c in checks)} FROM "{table}" WHERE '
               + " OR ".join(c[3] for c in checks))
        for row in ctx.q(sql):
            for (name, typ, width, _cond), v in zip(checks, row[1:]):
                if v is None:
                    continue
                if typ == "T" and len(str(v)) > width:
                    ctx.issue("schema.too_long", row[0], name, len(str(v)), layer=table, detail=width)
                elif typ in "NI" and isinstance(v, str) and v.strip():
                    ctx.issue("schema.not_number", row[0], name, v, layer=table)
