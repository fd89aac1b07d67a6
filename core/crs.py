"""CRS recognition for deliveries: CGCS2000 3-degree Gauss–Krüger zones, with or without zone prefix."""
import re

# EPSG 4513..4533: CGCS2000 3° GK zones 25..45 with the zone number prefixed to the easting.
# EPSG 4534..4554: the same central meridians (75°E..135°E) with false easting 500 000.
PREFIXED = {4513 + i: (25 + i, 75 + 3 * i) for i in range(21)}
PLAIN = {4534 + i: (25 + i, 75 + 3 * i) for i in range(21)}


def describe(epsg):
    if epsg in PREFIXED:
        z, cm = PREFIXED[epsg]
        return f"CGCS2000 3度带 第{z}带 中央经线{cm}°E（带号前缀）"
    if epsg in PLAIN:
        z, cm = PLAIN[epsg]
        return f"CGCS2000 3度带 中央经线{cm}°E（无带号）"
    return f"EPSG:{epsg}" if epsg else "未知坐标系"


def partner(epsg):
    """The same zone in the other convention (with/without prefix)."""
    if epsg in PREFIXED:
        return epsg + 21
    if epsg in PLAIN:
        return epsg - 21
    return None


def _num(pattern, wkt):
    m = re.search(pattern, wkt, re.I)
    return float(m.group(1)) if m else None


def identify(wkt):
    """EPSG code of a CGCS2000 3° GK projection from a .prj WKT (ESRI or OGC), or None.

    Parsed from the parameters rather than the name, because vendor .prj names vary."""
    if not wkt:
        return None
    text = wkt.replace(" ", "")
    if not re.search(r"2000|CGCS", text, re.I):
        return None
    if not re.search(r"Gauss|Transverse_Mercator|GK", text, re.I):
        return None
    cm = _num(r'"?Central_Meridian"?,([-\d.]+)', text)
    fe = _num(r'"?False_Easting"?,([-\d.]+)', text)
    scale = _num(r'"?Scale_Factor"?,([-\d.]+)', text)
    if cm is None or fe is None or (scale is not None and abs(scale - 1.0) > 1e-9):
        return None
    if abs(cm - round(cm)) > 1e-9 or int(round(cm)) % 3 != 0:
        return None
    cm = int(round(cm))
    zone = cm // 3
    if not 25 <= zone <= 45:
        return None
    if abs(fe - 500000) < 1e-3:
        return 4534 + zone - 25
    if abs(fe - (zone * 1_000_000 + 500000)) < 1e-3:
        return 4513 + zone - 25
    return None


def check_extent(epsg, xmin, xmax, ymin, ymax):
    """Return None when the bounds fit the declared zone, else a Chinese explanation."""
    if epsg in PREFIXED:
        z, _cm = PREFIXED[epsg]
        lo, hi = z * 1_000_000 + 500000 - 300000, z * 1_000_000 + 500000 + 300000
    elif epsg in PLAIN:
        lo, hi = 200000, 800000
    else:
        return None
    if xmin < lo or xmax > hi:
        return f"横坐标 {xmin:.0f}–{xmax:.0f} 不在 {describe(epsg)} 的范围 {lo}–{hi} 内"
    if ymin < 2_000_000 or ymax > 6_000_000:
        return f"纵坐标 {ymin:.0f}–{ymax:.0f} 不在中国境内的合理范围内"
    return None


def transform_offset(src, dst):
    """(dx, dy) that maps coordinates exactly between the two conventions of one zone, else None."""
    if src == dst:
        return (0.0, 0.0)
    if partner(src) == dst:
        zone = (PREFIXED.get(src) or PLAIN.get(src))[0]
        return (-zone * 1_000_000.0, 0.0) if src in PREFIXED else (zone * 1_000_000.0, 0.0)
    return None
