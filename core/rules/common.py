"""Helpers shared by rules."""
KEYS = {"FBF": "FBFBM", "CBF": "CBFBM", "CBF_JTCY": "CBFBM", "CBHT": "CBHTBM", "CBDKXX": "DKBM",
        "CBJYQZDJB": "CBJYQZBM", "CBJYQZ": "CBJYQZBM", "CBJYQZ_QZBF": "CBJYQZBM", "CBJYQZ_QZHF": "CBJYQZBM",
        "CBJYQZ_QZZX": "CBJYQZBM", "LZHT": "LZHTBM", "QSLYZLFJ": "CBJYQZBM"}


def present(ctx, table, field):
    return field in ctx.ws.stage.present.get(table, [])


def dk_rows(ctx):
    """(index, DKBM) of DK features, with a readable fallback key when DKBM is blank. Computed once per run."""
    rows = ctx.cache.get("dk_rows") if hasattr(ctx, "cache") else None
    if rows is not None:
        return rows
    dk = ctx.ws.dk
    if dk is None:
        return []
    keys = dk.text("DKBM").tolist()
    bsm = dk.fields.get("BSM")
    rows = [(i, k if k else f"BSM={int(bsm[i]) if bsm is not None and bsm[i] == bsm[i] else i + 1}") for i, k in enumerate(keys)]
    if hasattr(ctx, "cache"):
        ctx.cache["dk_rows"] = rows
    return rows
