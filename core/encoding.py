"""Text encodings of delivery shapefiles: honour .cpg, otherwise detect GBK/GB18030 versus UTF-8."""
import struct
from pathlib import Path

# Chinese code pages are all decoded with GB18030, a strict superset of GB2312 and GBK (喆 堃 垚 are
# in GBK but not GB2312, so a GB2312 decoder garbles them).
_ALIASES = {
    "gbk": "GB18030", "cp936": "GB18030", "936": "GB18030", "gb2312": "GB18030", "gb18030": "GB18030",
    "ansi 936": "GB18030", "euc-cn": "GB18030", "utf-8": "UTF-8", "utf8": "UTF-8", "65001": "UTF-8",
    "big5": "BIG5", "950": "BIG5", "latin1": "ISO-8859-1", "iso-8859-1": "ISO-8859-1", "1252": "CP1252",
    "ansi 1252": "CP1252", "cp1252": "CP1252",
}
# DBF language-driver ids that name a Chinese code page.
_LDID = {0x4D: "GB18030", 0x7A: "GB18030", 0x78: "BIG5", 0x4F: "BIG5", 0x57: "CP1252", 0x03: "CP1252"}


def normalise(name):
    key = (name or "").strip().lower()
    return _ALIASES.get(key, name.strip() if name else None)


def read_cpg(shp_path):
    cpg = Path(shp_path).with_suffix(".cpg")
    for cand in (cpg, cpg.with_suffix(".CPG")):
        if cand.exists():
            try:
                return normalise(cand.read_bytes().decode("ascii", "ignore").strip()) or None
            except OSError:
                return None
    return None


def sample_dbf_text(dbf_path, max_records=2000):
    """Raw bytes of the character fields of the first records of a DBF, and its language-driver id."""
    with open(dbf_path, "rb") as f:
        head = f.read(32)
        if len(head) < 32:
            return b"", None
        nrec, hlen, rlen = struct.unpack("<IHH", head[4:12])
        ldid = head[29]
        fields = []
        desc = f.read(hlen - 32)
        off = 1
        for i in range(0, len(desc) - 1, 32):
            d = desc[i:i + 32]
            if not d or d[0] == 0x0D:
                break
            ftype, flen = chr(d[11]), d[16]
            if ftype == "C":
                fields.append((off, flen))
            off += flen
        f.seek(hlen)
        data = f.read(rlen * min(nrec, max_records))
    chunks = []
    for r in range(0, len(data) - rlen + 1, rlen):
        rec = data[r:r + rlen]
        for o, n in fields:
            chunks.append(rec[o:o + n].strip())
    return b"\n".join(c for c in chunks if c), ldid


def detect(raw):
    """Guess the encoding of raw DBF text: 'ASCII', 'UTF-8' or 'GB18030'."""
    if not any(b >= 0x80 for b in raw):
        return "ASCII"
    try:
        raw.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "GB18030"
    except UnicodeDecodeError:
        return "GB18030"  # the closest guess; undecodable bytes are replaced, and reported


def shapefile_encoding(shp_path):
    """Return (encoding, source) for a shapefile; source is 'cpg', 'ldid' or 'detected'."""
    cpg = read_cpg(shp_path)
    if cpg:
        return cpg, "cpg"
    dbf = Path(shp_path).with_suffix(".dbf")
    if not dbf.exists():
        return "UTF-8", "detected"
    raw, ldid = sample_dbf_text(dbf)
    guess = detect(raw)
    if ldid in _LDID and guess != "UTF-8":
        return _LDID[ldid], "ldid"
    return ("GB18030" if guess == "ASCII" else guess), "detected"
