"""Field formats: every formatted field of every table — dates (a real calendar date, not before 1949-10-01,
not after the delivery), 邮政编码, telephone numbers, and document numbers by document type (GB 11643 resident
ID with its check digit, GB 11714 / GB 32100 organisation codes, passports …).

Each check is one scan per table in SQLite that returns only the offending rows; the few that come back get the
exact check (and the Chinese reason) in Python."""
from .. import codes, schema
from ..issues import parallel, rule
from ..output import mask_id
from .common import KEYS, present

EARLIEST = "1949-10-01"
# Dates of events of the confirmation work: none can lie after the delivery. Period ends (CBQXZ, LZQXJSRQ) and
# period starts (CBQXQ — an extended contract may start in 2028 —, LZQXKSRQ) legitimately lie ahead.
NOT_EVENTS = {"CBQXQ", "CBQXZ", "LZQXKSRQ", "LZQXJSRQ"}
# (table, document type field, document number field)
DOCUMENTS = [("CBF_JTCY", "CYZJLX", "CYZJHM"), ("CBF", "CBFZJLX", "CBFZJHM"), ("FBF", "FZRZJLX", "FZRZJHM"),
             ("CBJYQZ", "QZLQRZJLX", "QZLQRZJHM"), ("CBJYQZ_QZBF", "BFLQRZJLX", "BFLQRZJHM"), ("CBJYQZ_QZHF", "HFLQRZJLX", "HFLQRZJHM")]


def valid_resident_id_sql(col, latest):
    """SQL expression true when `col` is a valid 18-digit resident ID (format, birth date, check digit)."""
    s = f'upper(trim("{col}"))'
    weighted = " + ".join(f"CAST(substr({s}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(codes.ID_WEIGHTS))
    born = f"substr({s}, 7, 4) || '-' || substr({s}, 11, 2) || '-' || substr({s}, 13, 2)"
    return (f"COALESCE({s} GLOB '{'[0-9]' * 17}[0-9X]' AND {_valid_date(born)} AND {born} BETWEEN '1880-01-01' AND '{latest}' "
            f"AND substr('{codes.ID_CHECK_CHARS}', (({weighted}) % 11) + 1, 1) = substr({s}, 18, 1), 0)")


def _valid_date(expr):
    """SQL: `expr` (yyyy-mm-dd) is a real calendar date (SQLite's date() alone accepts 2015-02-30; julianday normalises it)."""
    return f"COALESCE(date(julianday({expr})) = {expr}, 0)"


@rule("schema.bad_date", "schema", "error", "{layer} 字段 {field} 的值“{value}”不是有效日期",
      "A date field holds something that is not a real calendar date (text, 2015-02-30, month 13 …).", family="formats",
      source="NY/T 2539-2016: date fields are DateTime; GB/T 7408.")
@rule("date.too_early", "date", "error", "{layer} 字段 {field} 的日期 {value} 早于 1949-10-01（多为空值占位日期，如 1899-12-30）",
      "A date before 1949-10-01: in these tables only a placeholder for a missing value (Access's 1899-12-30, 1900-01-01).",
      family="formats")
@rule("date.future", "date", "error", "{layer} 字段 {field} 的日期 {value} 晚于成果汇交时间（{detail}）",
      "The date of an event of the confirmation work (survey, publicity, signing, registration, issue, receipt, "
      "re-issue, cancellation, attachment) lies after the delivery: after the end of the delivery's year (from its file "
      "names), or after today. Period ends and starts (CBQXQ/CBQXZ, LZQXKSRQ/LZQXJSRQ) may lie ahead.", family="formats")
@parallel
def dates(ctx):
    latest = ctx.delivery_date.isoformat()
    for table, spec in schema.TABLES.items():
        fields = [f[0] for f in spec if f[1] == "D" and present(ctx, table, f[0])]
        if not fields:
            continue
        key = KEYS[table]
        conds = []
        for f in fields:
            q = f'"{f}"'
            # days 01–28 of months 01–12 are real dates; only the 29th–31st need SQLite's calendar (julianday) to say
            ok = (f"({q} GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]*' AND substr({q}, 6, 2) BETWEEN '01' AND '12' AND "
                  f"(substr({q}, 9, 2) BETWEEN '01' AND '28' OR {_valid_date(f'substr({q}, 1, 10)')}))")
            bad = f"NOT {ok} OR substr({q}, 1, 10) < '{EARLIEST}'" + ("" if f in NOT_EVENTS else f" OR substr({q}, 1, 10) > '{latest}'")
            conds.append(f"({q} IS NOT NULL AND trim({q}) <> '' AND ({bad}))")
        sql = f'SELECT "{key}", {", ".join(chr(34) + f + chr(34) for f in fields)} FROM "{table}" WHERE ' + " OR ".join(conds)
        for row in ctx.q(sql):
            for f, v in zip(fields, row[1:]):
                if v is None or not str(v).strip():
                    continue
                d = str(v)[:10]
                if not _is_date(d):
                    ctx.issue("schema.bad_date", row[0], f, v, layer=table)
                elif d < EARLIEST:
                    ctx.issue("date.too_early", row[0], f, d, layer=table)
                elif f not in NOT_EVENTS and d > latest:
                    ctx.issue("date.future", row[0], f, d, layer=table, detail=f"{ctx.ws.d.year or '今'}年末 {latest}")


def _is_date(s):
    import datetime as dt
    try:
        dt.date.fromisoformat(s)
        return len(s) == 10
    except ValueError:
        return False


@rule("code.postcode", "code", "error", "{layer} 的邮政编码 YZBM“{value}”应为6位数字", "A 邮政编码 that is not 6 digits.",
      family="formats", source="NY/T 2539-2016: FBF.YZBM, CBF.YZBM Text(6); GB/T 2260 postal codes are 6 digits.")
@rule("code.phone", "code", "error", "{layer} 的联系电话 LXDH“{value}”{detail}",
      "A 联系电话 that is not a telephone number: mobile 1[3-9] + 9 digits, or a landline (area code 0xx(x) and 7–8 "
      "digits, extension allowed); several numbers may be separated by , 、 ; /.", family="formats",
      source="NY/T 2539-2016: FBF.LXDH Text(15), CBF.LXDH Text(20); YD/T 2781 / GB/T 12999 numbering.")
@parallel
def contact(ctx):
    for table in ("FBF", "CBF"):
        key = KEYS[table]
        if present(ctx, table, "YZBM"):
            for k, v in ctx.q(f'SELECT "{key}", YZBM FROM "{table}" WHERE YZBM IS NOT NULL AND trim(YZBM) <> \'\' '
                              "AND NOT (YZBM GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]')"):
                ctx.issue("code.postcode", k, "YZBM", v, layer=table)
        if present(ctx, table, "LXDH"):
            for k, v in ctx.q(f'SELECT "{key}", LXDH FROM "{table}" WHERE LXDH IS NOT NULL AND trim(LXDH) <> \'\' '
                              f"AND NOT (LXDH GLOB '1[3-9]{'[0-9]' * 9}')"):
                why = codes.phone_problem(str(v))
                if why:
                    ctx.issue("code.phone", k, "LXDH", mask_id(v), layer=table, detail=why)


@rule("code.id_number", "code", "error", "{layer} 的证件号码 {value}（{type}）无效：{detail}",
      "A document number that does not fit its document type: 居民身份证 (and an 18-digit 户口簿 number) must pass GB "
      "11643 (18 digits, a real birth date not after the delivery, check digit); 机构代码证 GB 11714 (8 + check) or "
      "GB 32100 (18, check); 军官证 4–20 characters with digits; 护照 5–17 letters/digits.", family="formats",
      source="GB 11643-1999; GB 11714-1997; GB 32100-2015; NY/T 2539-2016 证件类型 code list.")
@parallel
def documents(ctx):
    latest = ctx.delivery_date
    for table, tfield, nfield in DOCUMENTS:
        if not (present(ctx, table, tfield) and present(ctx, table, nfield)):
            continue
        key = KEYS[table]
        # Resident IDs (and 18-character 户口簿 numbers) checked in numpy over the whole column; other types one by one.
        ids = ctx.q(f'SELECT _row, "{nfield}", "{tfield}" FROM "{table}" WHERE "{nfield}" IS NOT NULL AND ("{tfield}" = \'1\' '
                    f'OR ("{tfield}" = \'4\' AND length(trim("{nfield}")) = 18))')
        bad = []
        if ids:
            invalid = codes.invalid_resident_ids([str(r[1]) for r in ids], latest)
            bad = [ids[j] for j in invalid.nonzero()[0] if str(ids[j][1]).strip()]
        others = ctx.q(f'SELECT _row, "{nfield}", "{tfield}" FROM "{table}" WHERE "{nfield}" IS NOT NULL AND trim("{nfield}") <> \'\' AND '
                       f'("{tfield}" IN (\'2\', \'3\', \'5\') OR ("{tfield}" = \'4\' AND length(trim("{nfield}")) <> 18))')
        for row, v, zjlx in bad + others:
            why = codes.id_problem(str(v), latest) if zjlx in ("1", "4") and len(str(v).strip()) == 18 or zjlx == "1" else codes.document_problem(zjlx, str(v))
            if why:
                k = ctx.q(f'SELECT "{key}" FROM "{table}" WHERE _row = ?', (row,))[0][0]
                ctx.issue("code.id_number", k, nfield, mask_id(v), layer=table, detail=why, type=codes.ZJLX_NAMES.get(zjlx, zjlx))
