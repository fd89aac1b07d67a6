"""Integrity rules: the conditions under which a delivery cannot be merged (core/integrity.py), as package errors,
and over-long text in the DK layer.

Registered last (core/rules/__init__.py imports this module last), so `integrity_conditions` runs after every
other rule: when the attribute database is unusable or empty, or the DK layer unreadable or not polygons, it folds
the issues that only restate that condition (e.g. ~6,000 reference errors of an empty template) into the one
package error, which says how many were folded."""
import numpy as np

from .. import integrity, schema
from ..issues import rule
from .common import dk_rows

_SCAN = "{detail}"
OWN = {"package.dk_not_polygon", "package.dk_incomplete", "package.crs_contradicts", "package.not_attr_db", "package.attr_db_empty"}


@rule("package.dk_not_polygon", "package", "error", _SCAN,
      "The DK layer is not a polygon layer (points or lines): parcels without an outline cannot be merged.",
      zh="地块图层不是面图层")
@rule("package.dk_incomplete", "package", "error", _SCAN, "Fewer DK features could be read than its .dbf declares.", zh="地块图层未能完整读取")
@rule("package.crs_contradicts", "package", "error", _SCAN,
      "The DK layer's declared CRS (its .prj, or SOURCE_CRS) places its coordinates outside China, e.g. a WGS 84 .prj on Gauss–Krüger coordinates.",
      zh="坐标系与坐标不符")
@rule("package.not_attr_db", "package", "error", _SCAN, "The attribute database holds none of the 12 standard tables: it is not a confirmation database.",
      zh="不是确权成果的属性数据库")
@rule("package.attr_db_empty", "package", "error", _SCAN,
      "The attribute database has no contractors (CBF) or no contracted parcels (CBDKXX), like an empty vendor template.",
      zh="属性数据库没有数据（空模板）")
def integrity_conditions(ctx):
    res = integrity.check(ctx.ws)
    for f in res.findings:
        if f.rule in OWN:
            ctx.issue(f.rule, f.file, "", "", layer="DK" if f.file.startswith("矢量数据") else "权属数据", detail=f.zh)
    for f in res.findings:
        if not f.fold:
            continue
        own = next((i for i in ctx.issues if i.rule == f.rule and i.key == f.file), None)
        if own is None:  # reported by another rule under another key: keep everything
            continue
        keep, folded = [], {}
        stem = own.key.rsplit(".", 1)[0]
        for i in ctx.issues:
            if i is not own and (i.rule in f.fold or i.category in f.fold or
                                 (f.fold_files and i.category == "package" and i.key.startswith(f.fold_files) and i.rule != "package.missing_companion")):
                if i.key.rsplit(".", 1)[0] != stem:  # another file's restatement is counted; the same file's is just dropped
                    folded[i.rule] = folded.get(i.rule, 0) + 1
            else:
                keep.append(i)
        if folded:
            n = sum(folded.values())
            own.message += f"（由此引起的 {n} 条问题未逐条列出：" + "、".join(f"{r} {k}" for r, k in sorted(folded.items())) + "）"
        ctx.issues[:] = keep


@rule("schema.dk_too_long", "schema", "error", "{layer} 字段 {field} 的值长度 {value} 超过标准宽度 {detail}",
      "A DK text value longer than the standard's width (e.g. DKMC 50, ZJRXM 100 characters), counted like schema.too_long for the tables.")
def dk_widths(ctx):
    dk = ctx.ws.dk
    if dk is None or not dk.n:
        return
    rows = None
    for name, typ, width, _req, _title in schema.DK_FIELDS:
        if typ != "T" or not width or name not in dk.raw:
            continue
        raw = dk.raw[name]
        if raw.dtype.itemsize <= width:  # no UTF-8 value this short in bytes can be longer in characters
            continue
        maybe = np.nonzero(np.char.str_len(raw) > width)[0]
        if not len(maybe):
            continue
        text = dk.fields[name]
        rows = rows or dk_rows(ctx)
        for i in maybe:
            n = len(text[i])
            if n > width:
                ctx.issue("schema.dk_too_long", rows[i][1], name, n, layer="DK", detail=width, geometry_of=rows[i][1])
