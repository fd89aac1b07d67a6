"""SQLite-flavoured SQL of the registration code → PostgreSQL, so that one statement serves both backends.

The statements in ``records``, ``bdcdyh``, ``standard`` and ``merge`` are written for SQLite (the GeoPackage).
Most of them are plain SQL that PostgreSQL runs as it is; ``translate`` rewrites the rest, token by token (string
literals and quoted names are never touched inside):

- ``?`` placeholders → ``%s`` (and a literal ``%`` → ``%%`` when there are arguments: psycopg2's format);
- ``"Name"`` → ``"name"``: the PostgreSQL tables and columns are created in lower case, so unquoted names fold
  to them and quoted ones are lowered here; ``user`` (a column of batches and audit) → ``"user"`` (reserved there);
- ``stg.<table>`` (the merge's staging database, ATTACHed in SQLite) → ``lcb_stg_<table>``, a temporary table the
  PostgreSQL store fills from the staging database with COPY when a statement first needs it (``stage_tables``);
  ``temp.<t>`` → ``<t>``, ``main.<t>`` → ``<t>``;
- ``AND (1)`` (a condition written as SQLite's integer truth value) → ``AND (TRUE)``;
- ``a IS b`` / ``a IS NOT b`` (SQLite's null-safe comparison) → ``IS [NOT] DISTINCT FROM`` (``IS [NOT] NULL`` kept);
- ``round(x, n)`` → ``round((x)::numeric, n)::double precision``; ``printf('%05d', x)`` → ``lpad``;
  ``printf('%.6f', x)`` → ``round((x)::numeric, 6)::text``; ``typeof(x)`` → ``lcb_typeof(x)`` (a function of the
  schema giving SQLite's type names); ``group_concat`` → ``string_agg``; ``ifnull`` → ``coalesce``;
  ``CAST(x AS REAL)`` → ``double precision`` (PostgreSQL's REAL is 4 bytes); ``BEGIN IMMEDIATE`` → ``BEGIN``.

What it does not do — and the shared statements therefore avoid: integers used as booleans (``WHERE fresh``,
``SUM(a = b)``), ``lastrowid``, SQLite's ``GLOB`` and ``json_*`` (the dialect helpers of ``store`` cover the first)."""
import re

STAGE_PREFIX = "lcb_stg_"

_TOKENS = re.compile(r"""
    (?P<lit>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<space>\s+)
  | (?P<op>::|<>|<=|>=|!=|\|\||[(),.;?%*+\-/<>=\[\]:])
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

_IS_KEEP = {"null", "true", "false", "unknown", "distinct", "document", "normalized"}
_PRINTF_INT = re.compile(r"^'%0(\d+)d'$")
_PRINTF_FIX = re.compile(r"^'%\.(\d+)f'$")


def tokens(sql):
    return [(m.lastgroup, m.group()) for m in _TOKENS.finditer(sql)]


class Translation:
    """The result: ``sql`` for psycopg2 and the staged tables it reads (``stage``: lower-case names)."""

    def __init__(self, sql, stage):
        self.sql, self.stage = sql, stage


def translate(sql, with_args=False):
    toks = tokens(sql)
    stage = []
    out, _i = _seq(toks, 0, with_args, stage, stops=())
    return Translation("".join(out), stage)


def _next(toks, i):
    """Index of the next token that is not whitespace or a comment."""
    while i < len(toks) and toks[i][0] in ("space", "comment"):
        i += 1
    return i


def _name(tok):
    kind, text = tok
    if kind == "ident":
        return text[1:-1].replace('""', '"').lower()
    return text.lower()


def _last_word(out):
    for piece in reversed(out):
        if piece.strip():
            return piece.strip().lower()
    return ""


def _seq(toks, i, with_args, stage, stops=(")",)):
    """Translate tokens from i up to (not including) the first operator in `stops` at this nesting level.
    Returns (pieces, index of that operator or len(toks))."""
    out = []
    while i < len(toks):
        kind, text = toks[i]
        if kind == "op" and text in stops:
            return out, i
        if kind == "lit":
            out.append(text.replace("%", "%%") if with_args else text)
        elif kind == "ident":
            t = text.lower()
            out.append(t.replace("%", "%%") if with_args else t)
        elif kind == "op" and text == "?":
            out.append("%s")
        elif kind == "op" and text == "%":
            out.append("%%" if with_args else "%")
        elif kind == "op" and text == "(":
            before = _last_word(out)
            inner, i = _seq(toks, i + 1, with_args, stage)
            inner = "".join(inner)
            if inner.strip() in ("0", "1") and before in ("and", "or", "where", "on", "not"):  # SQLite's integer truth values
                inner = "TRUE" if inner.strip() == "1" else "FALSE"
            out.append("(" + inner + ")")
        elif kind == "word":
            low = text.lower()
            j = _next(toks, i + 1)
            nxt = toks[j] if j < len(toks) else None
            if low in ("stg", "temp", "main") and nxt == ("op", ".") and _last_word(out) != ".":
                k = _next(toks, j + 1)
                if k < len(toks) and toks[k][0] in ("word", "ident"):
                    name = _name(toks[k])
                    if low == "stg":
                        if name not in stage:
                            stage.append(name)
                        out.append(STAGE_PREFIX + name)
                    else:
                        out.append(name if toks[k][0] == "word" else f'"{name}"')
                    i = k + 1
                    continue
            if nxt == ("op", "(") and low in _FUNCS and _last_word(out) != ".":
                args, i = _args(toks, j + 1, with_args, stage)
                out.append(_FUNCS[low](args))
                i += 1  # past the closing parenthesis
                continue
            if low == "is":  # SQLite's null-safe comparison `a IS b` / `a IS NOT b`
                k = j
                neg = nxt is not None and nxt[0] == "word" and nxt[1].lower() == "not"
                if neg:
                    k = _next(toks, j + 1)
                after = toks[k] if k < len(toks) else None
                if after is not None and not (after[0] == "word" and after[1].lower() in _IS_KEEP):
                    out.append("IS DISTINCT FROM " if neg else "IS NOT DISTINCT FROM ")
                    i = k
                    continue
            if low == "user" and nxt != ("op", "("):
                out.append('"user"')
            elif low == "immediate" and _last_word(out) == "begin":
                out.append("")
            elif low == "real" and _last_word(out) == "as":
                out.append("double precision")
            else:
                out.append(text)
        else:
            out.append(text)
        i += 1
    return out, i


def _args(toks, i, with_args, stage):
    """The translated arguments of a call, from just after its '('; returns (args, index of its ')')."""
    args = []
    while True:
        piece, i = _seq(toks, i, with_args, stage, stops=(")", ","))
        args.append("".join(piece).strip())
        if i >= len(toks) or toks[i][1] == ")":
            break
        i += 1  # past the comma
    if args == [""]:
        args = []
    return args, i


def _round(a):
    if len(a) == 1:
        return f"round(({a[0]})::double precision)"
    return f"round(({a[0]})::numeric, {a[1]})::double precision"


def _printf(a):
    fmt = a[0].replace("%%", "%")
    m = _PRINTF_INT.match(fmt)
    if m and len(a) == 2:
        return f"lpad(({a[1]})::bigint::text, {m.group(1)}, '0')"
    m = _PRINTF_FIX.match(fmt)
    if m and len(a) == 2:
        return f"round(({a[1]})::numeric, {m.group(1)})::text"
    raise ValueError(f"printf format {a[0]} has no PostgreSQL translation")


def _group_concat(a):
    return f"string_agg(({a[0]})::text, {a[1] if len(a) > 1 else chr(39) + ',' + chr(39)})"


_FUNCS = {
    "round": _round,
    "printf": _printf,
    "typeof": lambda a: f"lcb_typeof({a[0]})",
    "group_concat": _group_concat,
    "ifnull": lambda a: f"coalesce({', '.join(a)})",
}

# The functions translated statements call, created in each registration schema.
FUNCTIONS = [
    """CREATE OR REPLACE FUNCTION {schema}.lcb_typeof(anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE WHEN $1 IS NULL THEN 'null'
                   WHEN pg_typeof($1) IN ('double precision'::regtype, 'real'::regtype, 'numeric'::regtype) THEN 'real'
                   WHEN pg_typeof($1) IN ('integer'::regtype, 'bigint'::regtype, 'smallint'::regtype) THEN 'integer'
                   WHEN pg_typeof($1) = 'bytea'::regtype THEN 'blob' ELSE 'text' END $$""",
]
