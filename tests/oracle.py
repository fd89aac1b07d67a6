"""truth.json as a test oracle: the same matching rules as the shared conformance check."""
import json
import os
import re
from pathlib import Path


def norm(key):
    return str(key or "").replace("\\", "/")


def load(truth_path):
    return json.loads(Path(truth_path).read_text("utf-8"))


def tainted(truth):
    by_household = {}
    for dkbm, p in truth["parcels"].items():
        if p.get("CBFBM"):
            by_household.setdefault(p["CBFBM"], set()).add(dkbm)
    keys = set()
    for d in truth["defects"]:
        for k in (d.get("key"), d.get("other_DKBM"), d.get("DKBM"), d.get("CBFBM"), d.get("CBJYQZBM"), d.get("CBHTBM")):
            if not k:
                continue
            k = norm(k)
            keys.add(k)
            hh = truth["parcels"].get(k, {}).get("CBFBM") or (k[:18] if re.match(r"^\d{18}", k) else None)
            if hh:
                keys.update({hh, hh + "J", hh + "Q"}, by_household.get(hh, ()))
    return keys


def found(defect, issues):
    key = norm(defect["key"])
    base = os.path.basename(key)
    return any(i["category"] == defect["category"]
               and (norm(i["key"]) == key or (base and base in norm(i["key"])) or key in norm(i["key"]))
               for i in issues)


def compare(truth, issues):
    """issues: dicts with category, key, severity. Returns (missed defects, false errors)."""
    missed = [d for d in truth["defects"] if not found(d, issues)]
    t = tainted(truth)
    names = {os.path.basename(x) for x in t}

    def related(key):
        key = norm(key)
        household = key[:18] if re.match(r"^\d{18}[JQ]?$", key) else None
        return key in t or os.path.basename(key) in names or (household is not None and household in t)

    false = [i for i in issues if i["severity"] == "error" and i["category"] != "package" and not related(i["key"])]
    return missed, false
