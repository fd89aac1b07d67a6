"""Area classes per parcel (design.md, 'Area classes'): share_only > unmatched >
contract_register_mismatch > measured_differs > consistent, with tolerance AREA_TOLERANCE (m²)."""
import numpy as np

CLASSES = {
    "share_only": "确股不确地", "unmatched": "图数不对应", "contract_register_mismatch": "合同与登簿面积不一致",
    "measured_differs": "实测面积不一致", "consistent": "一致",
}
ORDER = list(CLASSES)

# A CBDKXX row of a parcel, as a list (compact: a county has hundreds of thousands).
R_CBFBM, R_CBHTBM, R_CBJYQZBM, R_FBFBM, R_HTMJ, R_SFQQQG, R_LZHTBM, R_QDFS, R_DBMJ, R_BAD = range(10)


class Parcel:
    __slots__ = ("DKBM", "dk_index", "HTMJ", "DBMJ", "SCMJ", "CYLX", "rows")

    def __init__(self, dkbm, dk_index=None, scmj=None):
        self.DKBM, self.dk_index, self.SCMJ = dkbm, dk_index, scmj
        self.HTMJ = self.DBMJ = None
        self.CYLX = ""
        self.rows = []

    @property
    def share_only(self):
        return any((r[R_SFQQQG] or "").strip() == "1" for r in self.rows)


def _diff(a, b, tol):
    if a is None or b is None:
        return False
    return abs(a - b) > tol + 1e-9


def classify(ws, tol=0.01):
    """{DKBM: Parcel} for every distinct DKBM in DK or CBDKXX."""
    st, dk = ws.stage, ws.dk
    parcels = {}
    if dk is not None and dk.n:
        keys = dk.text("DKBM").tolist()
        lb = dk.raw["DKLB"] if "DKLB" in dk.raw else np.full(dk.n, b"10")
        scmj = dk.number("SCMJ")
        for i, k in enumerate(keys):
            if not k:
                continue
            p = parcels.get(k)
            s = None if scmj[i] != scmj[i] else float(scmj[i])
            if p is None:
                parcels[k] = Parcel(k, i, s)
            elif lb[i] == b"10" and lb[p.dk_index] != b"10":  # duplicate DKBM: the contract parcel wins
                p.dk_index, p.SCMJ = i, s
    ledger_row, ledger_dk = {}, {}
    if st.has_ledger:
        for k, cbf, v in st.q("SELECT DKBM, CBFBM, DBMJ FROM LEDGER WHERE DBMJ IS NOT NULL"):
            if cbf:
                ledger_row[(k, cbf)] = ledger_row.get((k, cbf), 0.0) + v
            ledger_dk[k] = ledger_dk.get(k, 0.0) + v
    sql = ("SELECT DKBM, CBFBM, CBHTBM, CBJYQZBM, FBFBM, HTMJ, SFQQQG, LZHTBM, CBJYQQDFS FROM CBDKXX "
           "WHERE DKBM IS NOT NULL AND trim(DKBM) <> '' ORDER BY _row")
    by_contract = {}
    for k, cbf, ht, qz, fbf, htmj, sf, lz, qdfs in st.conn.execute(sql):
        htmj = float(htmj) if isinstance(htmj, (int, float)) else None
        p = parcels.get(k)
        if p is None:
            p = parcels[k] = Parcel(k)
        r = [cbf, ht, qz, fbf, htmj, sf, lz, qdfs, ledger_row.get((k, cbf)) if ledger_row else None, False]
        p.rows.append(r)
        if ht:
            by_contract.setdefault(ht, []).append(r)
    for p in parcels.values():
        if not p.rows:
            continue
        hts = [r[R_HTMJ] for r in p.rows if r[R_HTMJ] is not None]
        p.HTMJ = round(sum(hts), 2) if hts else None
        p.DBMJ = round(ledger_dk[p.DKBM], 2) if p.DKBM in ledger_dk else p.HTMJ
        for r in p.rows:  # row-level registered area for the contract test
            if r[R_DBMJ] is None:
                r[R_DBMJ] = p.DBMJ if len(p.rows) == 1 else r[R_HTMJ]
    for ht, total in st.q("SELECT CBHTBM, HTZMJ FROM CBHT WHERE CBHTBM IS NOT NULL"):
        rows = by_contract.get(ht)
        if not rows or not isinstance(total, (int, float)):
            continue
        if abs(total - sum(r[R_DBMJ] or 0.0 for r in rows)) > tol + 1e-9:
            for r in rows:
                r[R_BAD] = True
    for p in parcels.values():
        if p.share_only:
            p.CYLX = "share_only"
        elif p.dk_index is None or not p.rows:
            p.CYLX = "unmatched"
        elif _diff(p.HTMJ, p.DBMJ, tol) or any(r[R_BAD] for r in p.rows):
            p.CYLX = "contract_register_mismatch"
        elif _diff(p.HTMJ, p.SCMJ, tol):
            p.CYLX = "measured_differs"
        else:
            p.CYLX = "consistent"
    return parcels


def counts(parcels):
    out = {c: 0 for c in ORDER}
    for p in parcels.values():
        out[p.CYLX] += 1
    return out
