"""Area classes per parcel (design.md, 'Area classes'): share_only > unmatched >
contract_register_mismatch > measured_differs > consistent, with tolerance AREA_TOLERANCE (m²)."""
from dataclasses import dataclass, field

import numpy as np

CLASSES = {
    "share_only": "确股不确地", "unmatched": "图数不对应", "contract_register_mismatch": "合同与登簿面积不一致",
    "measured_differs": "实测面积不一致", "consistent": "一致",
}
ORDER = list(CLASSES)
ACTION = {"share_only": "按份共有建库", "unmatched": "列入待核查", "contract_register_mismatch": "联合协商",
          "measured_differs": "不作调整，记录实测面积", "consistent": ""}


@dataclass
class Parcel:
    DKBM: str
    dk_index: int = None  # row in the DK layer (None: not in DK)
    HTMJ: float = None
    DBMJ: float = None
    SCMJ: float = None
    CYLX: str = ""
    rows: list = field(default_factory=list)  # CBDKXX rows: dict(CBFBM, CBHTBM, CBJYQZBM, FBFBM, HTMJ, DBMJ, SFQQQG, LZHTBM, CBJYQQDFS)
    contract_mismatch: bool = False

    @property
    def share_only(self):
        return any((r["SFQQQG"] or "").strip() == "1" for r in self.rows)


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
        lb = dk.text("DKLB").tolist()
        scmj = dk.number("SCMJ")
        for i, k in enumerate(keys):
            if not k:
                continue
            p = parcels.get(k)
            if p is None:
                parcels[k] = Parcel(k, i, SCMJ=None if np.isnan(scmj[i]) else float(scmj[i]))
            elif lb[i] == "10" and lb[p.dk_index] != "10":  # duplicate DKBM: the contract parcel wins
                p.dk_index, p.SCMJ = i, None if np.isnan(scmj[i]) else float(scmj[i])
    ledger_row, ledger_dk = {}, {}
    if st.has_ledger:
        for k, cbf, v in st.q("SELECT DKBM, CBFBM, DBMJ FROM LEDGER WHERE DBMJ IS NOT NULL"):
            if cbf:
                ledger_row[(k, cbf)] = ledger_row.get((k, cbf), 0.0) + v
            ledger_dk[k] = ledger_dk.get(k, 0.0) + v
    sql = ("SELECT DKBM, CBFBM, CBHTBM, CBJYQZBM, FBFBM, HTMJ, SFQQQG, LZHTBM, CBJYQQDFS FROM CBDKXX "
           "WHERE DKBM IS NOT NULL AND trim(DKBM) <> '' ORDER BY _row")
    by_contract = {}
    for k, cbf, ht, qz, fbf, htmj, sf, lz, qdfs in st.q(sql):
        htmj = float(htmj) if isinstance(htmj, (int, float)) else None
        p = parcels.setdefault(k, Parcel(k))
        row_db = ledger_row.get((k, cbf)) if ledger_row else None
        r = dict(CBFBM=cbf, CBHTBM=ht, CBJYQZBM=qz, FBFBM=fbf, HTMJ=htmj, SFQQQG=sf, LZHTBM=lz, CBJYQQDFS=qdfs, DBMJ=row_db)
        p.rows.append(r)
        if ht:
            by_contract.setdefault(ht, []).append(r)
    for p in parcels.values():
        if not p.rows:
            continue
        hts = [r["HTMJ"] for r in p.rows if r["HTMJ"] is not None]
        p.HTMJ = round(sum(hts), 2) if hts else None
        if p.DKBM in ledger_dk:
            p.DBMJ = round(ledger_dk[p.DKBM], 2)
        else:
            p.DBMJ = p.HTMJ
        for r in p.rows:  # row-level registered area for the contract test
            if r["DBMJ"] is None:
                r["DBMJ"] = p.DBMJ if len(p.rows) == 1 else r["HTMJ"]
    for ht, total in st.q("SELECT CBHTBM, HTZMJ FROM CBHT WHERE CBHTBM IS NOT NULL"):
        rows = by_contract.get(ht)
        if not rows or not isinstance(total, (int, float)):
            continue
        s = sum(r["DBMJ"] or 0.0 for r in rows)
        if abs(total - s) > tol + 1e-9:
            for r in rows:
                r["_contract_mismatch"] = True
    for p in parcels.values():
        p.contract_mismatch = any(r.get("_contract_mismatch") for r in p.rows)
        if p.share_only:
            p.CYLX = "share_only"
        elif p.dk_index is None or not p.rows:
            p.CYLX = "unmatched"
        elif _diff(p.HTMJ, p.DBMJ, tol) or p.contract_mismatch:
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
