"""Finished runs are announced here, and whoever cares subscribes: the desktop plugin opens its docks.

Deliberately GUI-free (no qgis or Qt import): an algorithm only calls announce() and never learns who, if
anyone, listens. In qgis_process, or in a script that runs the algorithms without the plugin's GUI, nobody has
subscribed and announce() does nothing."""

_listeners = []


def subscribe(listener):
    """listener(alg_id, results, context) is called after each successful lcb run, in the main thread."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener):
    while listener in _listeners:
        _listeners.remove(listener)


def listeners():
    return list(_listeners)


def announce(alg_id, results, context, feedback=None):
    """Tell every listener that lcb:<alg_id> finished with `results` (its output dict) in `context`.
    A failing listener is reported on `feedback` and does not fail the run."""
    for listener in list(_listeners):
        try:
            listener(alg_id, results, context)
        except Exception as e:  # noqa: BLE001 - a listener's bug must not turn a finished run into a failure
            if feedback is not None:
                feedback.reportError(f"{alg_id}: {type(e).__name__}: {e}", False)
