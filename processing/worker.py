"""Long work of an algorithm that must itself run on QGIS's main thread (FlagNoThreading, e.g. because it also
exports a print layout), done without freezing QGIS.

run(fn, feedback) calls fn(progress) in a Python worker thread while the main thread keeps processing events
(the dialog repaints, its Cancel button works) and passes the worker's progress, stage messages and the
user's cancel on. When the algorithm already runs in a worker thread (QgsProcessingAlgRunnerTask), fn simply
runs there. Whatever fn does must be thread-safe: plain Python, sqlite3, QPdfWriter/QPainter/QTextDocument
(processing/pdf.py) — never QgsProject.instance(), layers of the project, or widgets."""
import threading

from qgis.PyQt.QtCore import QCoreApplication, QEventLoop, QThread

from ..core.errors import Progress

POLL = 0.05  # seconds between two looks at the worker: the longest the GUI waits for its events


def in_main_thread():
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() == app.thread()


def run(fn, feedback=None, name="lcb-worker"):
    """fn(progress) → its result, raised exceptions included (Cancelled when the user cancelled)."""
    if not in_main_thread():
        if feedback is None:
            return fn(Progress())
        return fn(Progress(feedback.setProgress, feedback.isCanceled, feedback.pushInfo))
    cancel = threading.Event()
    state = {"p": None, "result": None, "error": None}
    messages = []  # list.append / pop(0) are atomic under the GIL

    def report(p):
        state["p"] = p

    prog = Progress(report, cancel.is_set, messages.append)

    def target():
        try:
            state["result"] = fn(prog)
        except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
            # Without its traceback: the frames (and the Qt objects fn made, e.g. a QPdfWriter) are released here,
            # in the thread that made them, not later in the main thread.
            err = e
            while err is not None:
                err.__traceback__ = None
                err = err.__context__ or err.__cause__
            state["error"] = e

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    shown = None
    while True:
        worker.join(POLL)
        while messages:
            text = messages.pop(0)
            if feedback is not None:
                feedback.pushInfo(text)
        if feedback is not None:
            if state["p"] is not None and state["p"] != shown:
                shown = state["p"]
                feedback.setProgress(shown)
            if feedback.isCanceled():
                cancel.set()
        if not worker.is_alive():
            break
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, int(POLL * 1000))
    if state["error"] is not None:
        raise state["error"]
    return state["result"]
