"""Keys are compared after trimming blanks, and a key with blanks is itself reported.

`trim_keys` runs before every rule (core.validate.run_rules): it finds the code values with leading or trailing
blanks (space, tab, full-width space, no-break space) in the staged attribute tables, records them, and trims them
in the private staging copy, so that a DKBM written "3715…0001 " in CBDKXX still matches its parcel. (The DK
layer needs nothing: GDAL trims the blanks around .dbf strings itself.) The delivery itself is never touched."""
from ..issues import parallel, rule
from .common import KEYS

# Code columns per table (the record's own key first is not required: KEYS names it).
KEY_COLUMNS = {
    "FBF": ["FBFBM"],
    "CBF": ["CBFBM"],
    "CBF_JTCY": ["CBFBM"],
    "CBHT": ["CBHTBM", "FBFBM", "CBFBM", "YCBHTBM"],
    "CBDKXX": ["DKBM", "FBFBM", "CBFBM", "CBHTBM", "LZHTBM", "CBJYQZBM"],
    "CBJYQZDJB": ["CBJYQZBM", "FBFBM", "CBFBM"],
    "CBJYQZ": ["CBJYQZBM"],
    "CBJYQZ_QZBF": ["CBJYQZBM"],
    "CBJYQZ_QZHF": ["CBJYQZBM"],
    "CBJYQZ_QZZX": ["CBJYQZBM"],
    "LZHT": ["LZHTBM", "CBHTBM", "CBFBM", "SRFBM"],
    "QSLYZLFJ": ["CBJYQZBM"],
}
BLANKS = " \t\r\n\u3000\u00a0"
_SQL_BLANKS = "' ' || char(9) || char(13) || char(10) || char(12288) || char(160)"


def _trim(col):
    return f'trim("{col}", {_SQL_BLANKS})'


def trim_keys(ctx):
    """Record (ctx.key_blanks) and trim code values with surrounding blanks in the staging tables."""
    ctx.key_blanks.extend(trim_stage(ctx.ws.stage))


def trim_stage(stage):
    """Trim the blanks around every code value of a staging database (core.attrdb.Staging) in place; return what was
    trimmed as (table, record key, field, value as delivered). The merge can call this too, so that a DKBM written
    with a trailing blank still finds its parcel."""
    found = []
    for table, cols in KEY_COLUMNS.items():
        cols = [c for c in cols if c in stage.present.get(table, [])]
        if not cols:
            continue
        key = KEYS[table]
        cond = " OR ".join(f'"{c}" <> {_trim(c)}' for c in cols)
        sel = ", ".join(f'"{c}"' for c in cols)
        rows = stage.conn.execute(f'SELECT "{key}", {sel} FROM "{table}" WHERE {cond}').fetchall()
        if not rows:
            continue
        for row in rows:
            rec = (row[0] or "").strip(BLANKS)
            for c, v in zip(cols, row[1:]):
                if isinstance(v, str) and v != v.strip(BLANKS):
                    found.append((table, rec, c, v))
        for c in cols:
            stage.conn.execute(f'UPDATE "{table}" SET "{c}" = {_trim(c)} WHERE "{c}" <> {_trim(c)}')
        stage.conn.commit()
    return found


@rule("code.key_blanks", "code", "error", "{layer} 的 {field}“{value}”首尾含空白字符（已去除空白后再比对）",
      "A code (DKBM, CBFBM, FBFBM, CBHTBM, CBJYQZBM, LZHTBM …) has leading or trailing blanks; it is compared after "
      "trimming, so the record still links, but the value must be corrected.", family="keys",
      source="NY/T 2538-2014: codes are fixed-length digit strings; vendor QC (字符串不得含空格, reference/standards.md §5).")
@parallel
def key_blanks(ctx):
    for table, key, field, raw in ctx.key_blanks:
        ctx.issue("code.key_blanks", key, field, raw, layer=table, geometry_of=key if table in ("DK", "CBDKXX") else None)
