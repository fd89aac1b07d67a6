"""Work-arounds for quirks of the QGIS versions the plugin runs on (3.22 and later), installed by the desktop plugin.

QGIS 3.22's batch dialog (processing/gui/BatchAlgorithmDialog.loadHTMLResults) calls
ProcessingResults.addResult(icon=…, name=…, result=…) without the `timestamp` its own addResult requires: any
algorithm with an HTML output (lcb:validate's OUTPUT_HTML, lcb:inventory's, the report's) ends a batch run in a
Python error dialog, after all rows ran, and leaves its progress task behind. Later versions pass the timestamp.
results_timestamp() makes the timestamp optional (now, when missing) on QGIS's one results list, only where the
signature lacks a default; restore() undoes it."""
import inspect
import time

_saved = None


def results_timestamp():
    """Give ProcessingResults.addResult's `timestamp` a default on the running QGIS (idempotent). True if patched."""
    global _saved
    if _saved is not None:
        return True
    try:
        from processing.core.ProcessingResults import resultsList
    except Exception:  # noqa: BLE001 - no Processing plugin: nothing to fix
        return False
    original = resultsList.addResult
    try:
        param = inspect.signature(original).parameters.get("timestamp")
    except (TypeError, ValueError):
        return False
    if param is None or param.default is not inspect.Parameter.empty:
        return False

    def add_result(icon, name, timestamp=None, result=None):
        return original(icon, name, timestamp if timestamp is not None else time.localtime(), result)

    resultsList.addResult = add_result  # on the instance: the class keeps its own method
    _saved = (resultsList, original)
    return True


def restore():
    global _saved
    if _saved is None:
        return
    results, _original = _saved
    try:
        del results.addResult  # the class's method shows through again
    except AttributeError:
        pass
    _saved = None
