"""The readable summary of a change package (summary.html): counts by village and business kind, then each
village's changes. Names and ID numbers never appear: a record is shown by entity, key, change and field names."""
from collections import defaultdict

from ..report import render as render_template
from .diff import KINDS
from .state import ENTITIES

MAX_ROWS_PER_VILLAGE = 2000  # the rest is counted; changes.jsonl has every record


def render(manifest, records, village_names):
    villages = defaultdict(lambda: dict(rows=[], kinds=defaultdict(int)))
    for r in records:
        v = villages[r.get("village") or ""]
        v["kinds"][r["kind"]] += 1
        if len(v["rows"]) < MAX_ROWS_PER_VILLAGE:
            v["rows"].append(dict(seq=r["seq"], entity=ENTITIES[r["entity"]].title, ent=r["entity"], key=r["key"], change=r["change"],
                                  kind=r["kind"], case=r["case"], fields="、".join(r.get("fields") or []),
                                  parcels="、".join((r.get("parcels") or [])[:3]) + ("…" if len(r.get("parcels") or []) > 3 else "")))
    groups = [dict(code=code, name=village_names.get(code, ""), kinds=dict(v["kinds"]), rows=v["rows"], n=sum(v["kinds"].values()))
              for code, v in sorted(villages.items())]
    return render_template("change_summary.html.j2", m=manifest, groups=groups, KINDS=KINDS)
