"""64-bit digests computed column-wise with numpy, folded into a parcel record's content fingerprint (YJHASH):
one for its numbers (areas and their 亩 twins), one for its geometry (coordinates rounded to the millimetre).

They only serve change detection between two versions of the same parcel (a false "unchanged" has a chance of
2⁻⁶⁴); splitmix64 mixing, wrapping unsigned arithmetic."""
import numpy as np
import shapely

_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
_NAN = np.uint64(0x7FF8DEADBEEF0001)


def _mix(z):
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _signed(u):
    return u.view(np.int64)  # SQLite integers are signed


def rows64(matrix):
    """One digest per row of a float matrix (NaN, i.e. NULL, included)."""
    m = np.ascontiguousarray(matrix, dtype=np.float64)
    bits = m.view(np.uint64).copy()
    bits[np.isnan(m)] = _NAN
    h = np.zeros(len(m), np.uint64)
    with np.errstate(over="ignore"):
        for k in range(m.shape[1] if m.ndim == 2 else 0):
            h = _mix(h * _GOLD + bits[:, k] + np.uint64(k))
    return _signed(h)


def geometry64(geoms):
    """One digest per geometry (0 for a missing one): its coordinates rounded to mm, in order, and their count."""
    out = np.zeros(len(geoms), np.uint64)
    ok = ~shapely.is_missing(geoms)
    if not ok.any():
        return _signed(out)
    coords, gi = shapely.get_coordinates(geoms[ok], return_index=True)
    if not len(coords):
        return _signed(out)
    mm = np.round(coords * 1000.0).astype(np.int64).view(np.uint64)
    start = np.searchsorted(gi, np.arange(int(ok.sum())))
    local = (np.arange(len(gi)) - start[gi]).astype(np.uint64)
    with np.errstate(over="ignore"):
        v = _mix(_mix(mm[:, 0] ^ (local * _GOLD)) + mm[:, 1])
        counts = np.diff(np.append(start, len(gi))).astype(np.uint64)
        sums = np.add.reduceat(v, np.minimum(start, len(v) - 1))
        empty = counts == 0
        sums[empty] = 0
        out[ok] = np.where(empty, np.uint64(0), _mix(sums + counts))
    return _signed(out)
