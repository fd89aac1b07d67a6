"""Keys are compared after trimming blanks, and a key with blanks is itself reported.

Opening a delivery (core.workspace) finds the code values with leading or trailing blanks (space, tab, full-width
space, no-break space) in the staged attribute tables, records them and trims them in the private staging copy
(core.attrdb.Staging.trim_keys), so that a DKBM written "3715…0001 " in CBDKXX still matches its parcel — in the
merge as in validation. `trim_keys` hands what was trimmed to the rule below. (The DK
layer needs nothing: GDAL trims the blanks around .dbf strings itself.) The delivery itself is never touched."""
from ..issues import parallel, rule

def trim_keys(ctx):
    """Record (ctx.key_blanks) the code values whose blanks the workspace trimmed (core.attrdb.Staging.trim_keys)."""
    ctx.key_blanks.extend(ctx.ws.stage.trimmed)


@rule("code.key_blanks", "code", "error", "{layer} 的 {field}“{value}”首尾含空白字符（已去除空白后再比对）",
      "A code (DKBM, CBFBM, FBFBM, CBHTBM, CBJYQZBM, LZHTBM …) has leading or trailing blanks; it is compared after "
      "trimming, so the record still links, but the value must be corrected.", family="keys",
      source="NY/T 2538-2014: codes are fixed-length digit strings; vendor QC (字符串不得含空格, reference/standards.md §5).")
@parallel
def key_blanks(ctx):
    for table, key, field, raw in ctx.key_blanks:
        ctx.issue("code.key_blanks", key, field, raw, layer=table, geometry_of=key if table in ("DK", "CBDKXX") else None)
