"""不动产单元号 (BDCDYH, GB/T 37346): county 6 + 地籍区 3 + 地籍子区 3 + 宗地特征码 2 + 宗地顺序号 5 + W00000000.

- Zoning: 地籍区/地籍子区 come from the ZONING table (code = 12-digit village → DJQ+DJZQ, or 9-digit township → DJQ
  with the village digits as DJZQ); without one, from the township and village digits of the DKBM.
- Serials: the next free 5-digit number in the sub-zone, in DKBM order; numbers are logged in ``bdcdyh_alloc``
  once and never change or get reused (a deleted parcel keeps its number; it comes back with it).
- Everything is set-wise SQL: ``zone_sql`` on the staging side, ``allocate`` on the target."""
import re

from ..errors import LcbError
from .store import digits, zero_pad

FIXTURE = "W00000000"  # 定着物特征码 W (无定着物) + 8 zeros: land without a fixture


def load_zoning(path):
    """Optional ZONING table: columns code (9-digit township or 12-digit village), DJQ (3), DJZQ (3).
    Returns {code: DJQ+DJZQ}."""
    if not path:
        return {}
    from ..attrdb import read_table_file
    header, rows = read_table_file(path)
    up = [str(h).strip().upper() for h in header]
    try:
        i_code = next(i for i, h in enumerate(up) if h in ("CODE", "代码", "XZQDM", "村级代码", "乡镇代码"))
        i_djq = next(i for i, h in enumerate(up) if h in ("DJQ", "地籍区"))
        i_djzq = next(i for i, h in enumerate(up) if h in ("DJZQ", "地籍子区"))
    except StopIteration:
        raise LcbError("地籍区划对照表应有 code、DJQ、DJZQ 三列", "the zoning table needs code, DJQ, DJZQ columns", path=str(path)) from None
    out = {}
    for r in rows:
        code = re.sub(r"\.0$", "", str(r[i_code]).strip())
        djq, djzq = re.sub(r"\.0$", "", str(r[i_djq]).strip()).zfill(3), re.sub(r"\.0$", "", str(r[i_djzq]).strip()).zfill(3)
        if not (re.fullmatch(r"\d{9}|\d{12}", code) and re.fullmatch(r"\d{3}", djq) and re.fullmatch(r"\d{3}", djzq)):
            raise LcbError("地籍区划对照表中的代码格式不正确", "bad code in the zoning table", path=str(path), record=code)
        out[code] = djq + djzq
    return out


def stage_zoning(conn, zoning):
    """The zoning table as ZN(code, v) in the staging database."""
    conn.execute("DROP TABLE IF EXISTS ZN")
    conn.execute("CREATE TABLE ZN (code TEXT PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO ZN VALUES (?, ?)", sorted(zoning.items()))
    conn.commit()


def _zone(code, county, zoning, zn):
    """SQL: 地籍区 + 地籍子区 (6 characters) read from a code known to start with 12 digits."""
    if not zoning:
        return f"substr({code}, 7, 6)"
    return (f"COALESCE((SELECT v FROM {zn} WHERE code = substr({code}, 1, 12)), "
            f"(SELECT substr(v, 1, 3) FROM {zn} WHERE code = substr({code}, 1, 9)) || substr({code}, 10, 3), substr({code}, 7, 6))")


def zone_sql(dkbm, fbfbm, county, zoning, zn="stg.ZN"):
    """SQL for the 12-character prefix county + 地籍区 + 地籍子区 of a parcel: from its DKBM when that starts with
    12 digits, else from its FBFBM; the ZONING table (staged as `zn`) first."""
    county = "".join(ch for ch in str(county or "") if ch.isalnum())
    return (f"'{county}' || CASE WHEN {digits(f'substr({dkbm}, 1, 12)', 12)} THEN {_zone(dkbm, county, zoning, zn)} "
            f"WHEN {digits(f'substr({fbfbm}, 1, 12)', 12)} THEN {_zone(fbfbm, county, zoning, zn)} ELSE '000000' END")


def allocate(c, source, batch, at, county, zoning, zn="stg.ZN"):
    """Numbers for the parcels of `source` (a subquery with pid, DKBM, FBFBM, TZM): the one already allocated to
    the DKBM (a parcel deleted and delivered again keeps it), else the next free serial of its sub-zone, logged in
    bdcdyh_alloc. Leaves temp.NA(pid, n = rank in pid order, BDCDYH) for the caller. `zn`: the staged ZONING table."""
    c.execute("DROP TABLE IF EXISTS temp.NA")
    c.execute("DROP TABLE IF EXISTS temp.NZ")
    # Each parcel's sub-zone and earlier number first, numbered n in pid order (as a table: in one statement with the
    # windows below SQLite would evaluate both expressions several times per row, and sort once more for n).
    c.execute("CREATE TEMP TABLE NZ (n INTEGER PRIMARY KEY, pid INTEGER, DKBM TEXT, TZM TEXT, ZONE TEXT, old TEXT)")
    c.execute(f"""INSERT INTO temp.NZ (pid, DKBM, TZM, ZONE, old)
        SELECT s.pid, s.DKBM, s.TZM, {zone_sql('s.DKBM', 's.FBFBM', county, zoning, zn)},
               (SELECT a.BDCDYH FROM bdcdyh_alloc a WHERE a.DKBM = s.DKBM)
        FROM {source} s ORDER BY s.pid""")
    c.execute("CREATE TEMP TABLE NA (pid INTEGER PRIMARY KEY, n INTEGER, DKBM TEXT, BDCDYH TEXT, fresh INTEGER)")
    c.execute(f"""INSERT INTO temp.NA (pid, n, DKBM, BDCDYH, fresh)
        SELECT z.pid, z.n, z.DKBM, COALESCE(z.old, z.ZONE || z.TZM
               || {zero_pad('COALESCE(m.serial, 0) + ROW_NUMBER() OVER (PARTITION BY z.ZONE, z.old IS NULL ORDER BY z.DKBM)', 5)}
               || '{FIXTURE}'), z.old IS NULL
        FROM temp.NZ z
        LEFT JOIN (SELECT substr(BDCDYH, 1, 12) AS zone, MAX(CAST(substr(BDCDYH, 15, 5) AS INTEGER)) AS serial
                   FROM bdcdyh_alloc GROUP BY substr(BDCDYH, 1, 12)) AS m ON m.zone = z.ZONE
        ORDER BY z.pid""")
    c.execute("DROP TABLE temp.NZ")
    row = c.execute("SELECT BDCDYH FROM temp.NA WHERE length(BDCDYH) <> 28 LIMIT 1").fetchone()
    if row is not None:
        zone = row[0][:12]
        raise LcbError(f"地籍子区 {zone} 的宗地顺序号已用尽", "the parcel serial of a cadastral sub-zone is exhausted", record=zone)
    c.execute("INSERT INTO bdcdyh_alloc (DKBM, BDCDYH, PCID, at) SELECT DKBM, BDCDYH, ?, ? FROM temp.NA WHERE fresh ORDER BY pid",
              (batch, at))
