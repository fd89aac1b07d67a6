"""Algorithm help kept beside the code (lcb.yaml), as QGIS keeps its own in processing/algs/help/qgis.yaml.

The texts are translated at run time with the context CONTEXT; scripts/i18n extracts them into the .ts file."""
from pathlib import Path

import yaml  # PyYAML: QGIS's own Processing plugin needs it, so every QGIS Python has it

from ...qtcommon import tr

CONTEXT = "LcbHelp"
FILE = Path(__file__).resolve().parent / "lcb.yaml"
_texts = None


def texts():
    """{algorithm id: English help text} from lcb.yaml (read once)."""
    global _texts
    if _texts is None:
        _texts = {k: v for k, v in yaml.safe_load(FILE.read_text("utf-8")).items() if v}
    return _texts


def short_help(alg_id):
    text = texts().get(alg_id)
    return tr(text, CONTEXT) if text else ""
