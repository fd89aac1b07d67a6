"""A technician's day, driven inside the real QGIS desktop (qgis --code tests/desktop/day.py) under Xvfb.

LCB_DAY_STEPS names the steps to run (comma separated), in order:
  missing    the plugin loaded without its Python packages: the message bar, its command and its copy button
  validate   lcb:validate from its dialog, outputs left at their defaults (a temporary issue layer)
  merge      lcb:merge from its dialog (TARGET typed into the box at the top of the dialog)
  docks      the two docks after those runs: rows, title, width, style, keyboard zoom, a second database
  save       the project written to LCB_DAY_PROJECT
  reopen     (QGIS started with the project) both docks restored with their rows
  batch      lcb:validate in the batch dialog, two rows with HTML reports, "load layers" off, then on
  report     lcb:discrepancy_report with a PDF from its dialog on LCB_DAY_GPKG, Cancel pressed after
             LCB_DAY_CANCEL_AFTER seconds (0: let it finish); GUI responsiveness measured meanwhile
Results go to LCB_DAY_OUT (JSON); screenshots, when LCB_DAY_SHOTS names a folder, are PNGs in it. Errors shown
to the user (Python error dialogs, excepthook) are recorded, never left as a modal dialog."""
import json
import os
import sys
import time
import traceback

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

ENV = os.environ
OUT = ENV["LCB_DAY_OUT"]
SHOTS = ENV.get("LCB_DAY_SHOTS", "")
res = {"steps": {}, "errors": []}


def _hook(kind, value, tb):  # an exception in a slot would open QGIS's error dialog: record it instead
    res["errors"].append("".join(traceback.format_exception(kind, value, tb))[-3000:])


sys.excepthook = _hook


def _log(message, tag, level):  # Python errors and anything this plugin or Processing logs as a warning or worse
    from qgis.core import Qgis
    if level not in (Qgis.Info, Qgis.Success) and (tag in ("Python error", "Processing", "Land Contract Bridge") or "land_contract_bridge" in message):
        res.setdefault("log", []).append(f"[{tag}] {message[-2000:]}")


QgsApplication.messageLog().messageReceived.connect(_log)


def shot(name, widget=None):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        (widget or iface.mainWindow()).grab().save(os.path.join(SHOTS, f"{name}.png"))


def plugin():
    return plugins.get("land_contract_bridge")


def wait(pred, timeout):
    """Yielded by a step: resume when pred() is true or after timeout seconds (then the step sees the timeout)."""
    return ("wait", pred, time.time() + timeout)


# ---------------------------------------------------------------------------------------------- steps
def step_plugin(r):
    """Loaded from the zip, its algorithms and actions, unloaded and loaded again (the plugin manager's reinstall)."""
    import hashlib

    import qgis.utils as qu
    from qgis.PyQt.QtCore import QBuffer, QIODevice
    yield wait(lambda: False, 0.5)
    r["loaded"] = plugin() is not None
    prov = QgsApplication.processingRegistry().providerById("lcb")
    r["algorithms"] = sorted(a.id() for a in prov.algorithms()) if prov else []
    icons = []
    for a in plugin().actions:
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        a.icon().pixmap(24, 24).toImage().save(buf, "PNG")
        icons.append(hashlib.sha1(bytes(buf.data())).hexdigest())
    r["icons"] = icons
    r["unload"] = qu.unloadPlugin("land_contract_bridge")
    r["reload"] = bool(qu.loadPlugin("land_contract_bridge") and qu.startPlugin("land_contract_bridge"))
    r["provider_after_reload"] = QgsApplication.processingRegistry().providerById("lcb") is not None


def step_missing(r):
    from qgis.PyQt.QtWidgets import QApplication, QLineEdit, QPushButton
    yield wait(lambda: False, 1.5)
    p = plugin()
    r["loaded"] = p is not None
    item = getattr(p, "missing_bar", None)
    r["bar"] = item is not None and item in iface.messageBar().items()
    if item is not None:
        line = item.findChild(QLineEdit, "LcbInstallCommand")
        r["command"] = line.text() if line else ""
        r["text"] = item.text()
        r["title"] = item.title()
        from qgis.PyQt.QtWidgets import QTextBrowser
        yield wait(lambda: False, 0.3)
        tb = item.findChild(QTextBrowser)  # the message: all of it in view, not cut after its first line
        r["text_fits"] = tb is not None and tb.document().size().height() <= tb.viewport().height() + 1
        r["window_width"] = iface.mainWindow().width()
        r["text_box"] = tb and (tb.document().size().height(), tb.viewport().height(), tb.width(), line.width(), item.width())
        btn = item.findChild(QPushButton, "LcbCopyCommand")
        QApplication.clipboard().setText("")
        if btn:
            btn.click()
        r["clipboard"] = QApplication.clipboard().text()
    r["provider"] = QgsApplication.processingRegistry().providerById("lcb") is not None
    shot("missing_dependencies")


def _run_dialog(d, timeout):
    done = []
    d.algorithmFinished.connect(lambda ok, results: done.append((ok, dict(results))))
    d.runButton().click()
    return done


def step_validate(r):
    from qgis import processing
    d = processing.createAlgorithmDialog("lcb:validate", {"INPUT": ENV["LCB_DAY_DEMO"]})
    d.resize(900, 640)
    d.show()
    yield wait(lambda: False, 0.5)
    shot("validate_dialog", d)
    done = _run_dialog(d, 120)
    yield wait(lambda: bool(done), 180)
    r["ok"], results = done[0] if done else (False, {})
    r["errors"] = results.get("ERROR_COUNT")
    r["log"] = _log_text(d)
    shot("validate_log", d)
    d.close()
    yield wait(lambda: False, 1.0)


def step_merge(r):
    from qgis import processing
    d = processing.createAlgorithmDialog("lcb:merge", {"INPUT": ENV["LCB_DAY_DEMO"]})
    d.resize(900, 640)
    d.show()
    yield wait(lambda: False, 0.5)
    panel = d.mainWidget()
    w = panel.wrappers["TARGET"]
    r["target_prefilled"] = w.value()
    r["target_widget"] = type(w.widget).__name__
    r["target_is_second"] = [p.name() for p in d.algorithm().parameterDefinitions()][:2] == ["INPUT", "TARGET"]
    widths = _dialog_fits(d)
    r.update(widths)
    r["labels"] = _labels(d)
    w.setValue(ENV["LCB_DAY_TARGET"])
    yield wait(lambda: False, 0.3)
    shot("merge_dialog", d)
    done = _run_dialog(d, 180)
    yield wait(lambda: bool(done), 240)
    r["ok"], results = done[0] if done else (False, {})
    r["parcels"] = results.get("PARCELS")
    r["target_result"] = results.get("TARGET")  # the database the run wrote: the name typed, never a temporary file
    r["log"] = _log_text(d)
    d.close()
    yield wait(lambda: False, 1.0)


def _labels(d):
    """The texts of the parameters panel's visible labels (what a Chinese user reads before running)."""
    from qgis.PyQt.QtWidgets import QLabel, QScrollArea
    area = d.mainWidget().findChild(QScrollArea)
    return [w.text() for w in area.widget().findChildren(QLabel) if w.isVisible() and w.text().strip()]


def _log_text(d):
    """What the dialog's 记录 (log) tab shows the user."""
    from qgis.PyQt.QtWidgets import QTextEdit
    log = d.findChild(QTextEdit, "txtLog")
    return log.toPlainText() if log else ""


def _dialog_fits(d):
    """Every label and browse button of the parameters panel inside the visible part of the panel (no label cut
    off, no button off-screen), measured in the dialog's own coordinates."""
    from qgis.PyQt.QtWidgets import QLabel, QScrollArea, QToolButton
    area = d.mainWidget().findChild(QScrollArea)
    view = area.viewport() if area else d
    right = view.mapTo(d, view.rect().topRight()).x()
    cut = []
    for wdg in area.widget().findChildren(QLabel) + area.widget().findChildren(QToolButton):
        if not wdg.isVisible():
            continue
        x1 = wdg.mapTo(d, wdg.rect().topRight()).x()
        need = wdg.sizeHint().width() if isinstance(wdg, QLabel) and not wdg.wordWrap() else wdg.width()
        x_need = wdg.mapTo(d, wdg.rect().topLeft()).x() + need
        if max(x1, x_need) > right + 1:
            cut.append(wdg.text() if isinstance(wdg, QLabel) else f"button {wdg.text()}")
    return {"cut_off": cut, "hscroll": bool(area and area.horizontalScrollBar().isVisible())}


def step_docks(r):
    from qgis.PyQt.QtCore import QEvent, Qt
    from qgis.PyQt.QtGui import QKeyEvent
    from qgis.PyQt.QtWidgets import QApplication
    p = plugin()
    iface.mainWindow().resize(1600, 1000)
    yield wait(lambda: False, 1.0)
    issues, disc = p.docks.get("issues"), p.docks.get("discrepancy")
    r["issues_rows"] = issues.model.rowCount() if issues else None
    r["discrepancy_rows"] = disc.model.rowCount() if disc else None
    if issues is not None:
        r["issues_visible"] = issues.isVisible()
        r["issues_title"] = issues.title.text()
        r["issues_width"] = issues.width()
        lyr = issues.layer
        r["issue_layer"] = dict(name=lyr.name(), provider=lyr.providerType(), source=lyr.source(),
                                renderer=lyr.renderer().type(), attr=getattr(lyr.renderer(), "classAttribute", lambda: "")(),
                                count=lyr.featureCount())
        r["issue_layers"] = sorted(x.name() for x in QgsProject.instance().mapLayers().values() if "severity" in x.fields().names()) \
            if True else []
    r["window_width"] = iface.mainWindow().width()
    r["screen_width"] = QApplication.primaryScreen().geometry().width()
    if disc is not None:
        r["source_shown"] = disc.source.currentData()
        r["search_width"] = disc.text.width()
    canvas = iface.mapCanvas()
    # keyboard: the current row on a located issue, then the arrow key down to the next located one
    if issues is not None:
        view, proxy = issues.view, issues.proxy
        issues.cat.setCurrentIndex(issues.cat.findData("geometry"))
        yield wait(lambda: False, 0.3)
        rows = [issues.model.rows[proxy.mapToSource(proxy.index(i, 0)).row()] for i in range(proxy.rowCount())]
        pair = next((i for i in range(len(rows) - 1) if rows[i]["geometry"] is not None and rows[i + 1]["geometry"] is not None
                     and rows[i]["geometry"].boundingBox() != rows[i + 1]["geometry"].boundingBox()), None)
        r["keyboard_zoom"] = None
        if pair is not None:
            view.setFocus()
            before = canvas.extent()
            view.setCurrentIndex(proxy.index(pair, 0))
            yield wait(lambda: False, 0.5)
            first = canvas.extent()
            QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier))
            yield wait(lambda: False, 0.8)
            second = canvas.extent()
            r["keyboard_zoom"] = [first != before, view.currentIndex().row() == pair + 1 and second != first]
        issues.cat.setCurrentIndex(0)
        r["issue_values"] = sorted({issues.proxy.data(issues.proxy.index(i, c)) for i in range(issues.proxy.rowCount()) for c in (0, 1)})
    if disc is not None:
        disc.cls.setCurrentIndex(disc.cls.findData("contract_register_mismatch"))
        yield wait(lambda: False, 0.5)
        disc.view.selectRow(0)
        yield wait(lambda: False, 1.5)
    shot("day")
    second = ENV.get("LCB_DAY_SECOND")
    if disc is not None and second:
        disc.open(second)
        yield wait(lambda: False, 1.0)
        import pathlib
        r["second_source_shown"] = disc.source.currentData() == str(pathlib.Path(second).resolve())
        r["second_rows"] = disc.model.rowCount()
        disc.open(ENV["LCB_DAY_TARGET"])
        disc.cls.setCurrentIndex(disc.cls.findData("contract_register_mismatch"))
        yield wait(lambda: False, 0.5)


def step_save(r):
    r["saved"] = QgsProject.instance().write(ENV["LCB_DAY_PROJECT"])
    yield wait(lambda: False, 0.2)


def step_reopen(r):
    yield wait(lambda: plugin() is not None and bool(plugin().docks), 20)
    yield wait(lambda: False, 2.0)
    iface.mainWindow().resize(1600, 1000)
    p = plugin()
    issues, disc = p.docks.get("issues"), p.docks.get("discrepancy")
    r["issues"] = [issues.isVisible(), issues.model.rowCount(), issues.title.text()] if issues else None
    r["discrepancy"] = [disc.isVisible(), disc.model.rowCount(), disc.cls.currentData()] if disc else None
    r["layers"] = sorted(x.name() for x in QgsProject.instance().mapLayers().values())
    yield wait(lambda: False, 1.0)
    shot("reopened")


def step_batch(r):
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from qgis.core import QgsApplication as App
    p = plugin()
    layers_before = set(QgsProject.instance().mapLayers())
    dock_rows = p.docks["issues"].model.rowCount() if "issues" in p.docks else None
    for load in (False, True):
        alg = App.processingRegistry().createAlgorithmById("lcb:validate")
        d = BatchAlgorithmDialog(alg, iface.mainWindow())
        d.show()
        panel = d.mainWidget()
        panel.checkLoadLayersOnCompletion.setChecked(load)
        rows = json.loads(ENV["LCB_DAY_BATCH"])  # [{"INPUT":…, "OUTPUT":…, "OUTPUT_HTML":…}, …]
        while panel.batchRowCount() < len(rows):
            panel.addRow()
        from processing.tools import dataobjects
        context = dataobjects.createContext()
        for i, row in enumerate(rows):  # as the batch panel's own "open" does
            for key, value in row.items():
                col = panel.parameter_to_column[key]
                if key.startswith("OUTPUT"):
                    panel.tblParameters.cellWidget(i + 1, col).setValue(value.replace(".", f"_{int(load)}.", 1))
                else:
                    panel.wrappers[i][col].setParameterValue(value, context)
        yield wait(lambda: False, 0.5)
        shot(f"batch_dialog_{int(load)}", d)
        errors_before = len(res["errors"])
        t0 = time.time()
        d.runAlgorithm()  # runs every row in the main thread, then shows the summary
        yield wait(lambda: False, 1.0)
        key = "load" if load else "noload"
        r[key] = dict(seconds=round(time.time() - t0, 1), errors=res["errors"][errors_before:],
                      active_tasks=App.taskManager().countActiveTasks(),
                      new_layers=sorted(QgsProject.instance().mapLayer(x).name() for x in set(QgsProject.instance().mapLayers()) - layers_before),
                      dock_rows=p.docks["issues"].model.rowCount() if "issues" in p.docks else None,
                      outputs=[os.path.exists(row["OUTPUT_HTML"].replace(".", f"_{int(load)}.", 1)) for row in rows])
        shot(f"batch_done_{int(load)}", d)
        d.close()
        if not load:
            r["dock_rows_before"] = dock_rows
        yield wait(lambda: False, 0.5)


def step_report(r):
    from qgis import processing
    gpkg = ENV["LCB_DAY_GPKG"]
    outs = {k: ENV["LCB_DAY_REPORT_BASE"] + ext for k, ext in (("OUTPUT_HTML", ".html"), ("OUTPUT_PDF", ".pdf"))}
    d = processing.createAlgorithmDialog("lcb:discrepancy_report", dict(INPUT=gpkg, **outs))
    d.show()
    cancel_after = float(ENV.get("LCB_DAY_CANCEL_AFTER", "0"))
    ticks = []
    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(lambda: ticks.append(time.time()))
    state = {}

    def press_cancel():
        state["cancel"] = time.time()
        d.cancelButton().click()

    def progress_shot():
        from qgis.PyQt.QtWidgets import QProgressBar
        fd = getattr(d, "feedback_dialog", None)
        bars = (fd or d).findChildren(QProgressBar)
        state["progress"] = max((b.value() for b in bars), default=None)
        shot("report_progress", fd if fd is not None else d)

    at = float(ENV.get("LCB_DAY_PROGRESS_SHOT", "0")) or max(cancel_after, 4.0) - 0.8
    QTimer.singleShot(int(at * 1000), progress_shot)
    if cancel_after:
        QTimer.singleShot(int(cancel_after * 1000), press_cancel)
    timer.start()
    t0 = time.time()
    done = []
    d.algorithmFinished.connect(lambda ok, results: done.append(ok))
    d.runButton().click()  # no threading: returns when the run has ended (the dialog keeps QGIS responsive meanwhile)
    end = time.time()
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    r["seconds"] = round(end - t0, 2)
    r["finished_ok"] = done[:1]
    r["max_gap"] = round(max(gaps), 3) if gaps else None
    r["ticks"] = len(ticks)
    r["progress_seen"] = state.get("progress")
    if "cancel" in state:
        r["cancel_to_end"] = round(end - state["cancel"], 3)
    r["files"] = {k: os.path.exists(v) for k, v in outs.items()}
    r["log"] = _log_text(d)[-1500:]
    shot("report_end", d)
    d.close()
    yield wait(lambda: False, 0.3)


# ---------------------------------------------------------------------------------------------- runner
STEPS = [s for s in ENV.get("LCB_DAY_STEPS", "").split(",") if s]
_gen = None
_cur = None
_deadline = None
_pred = None


def _next():
    global _gen, _cur
    if not STEPS:
        return finish()
    _cur = STEPS.pop(0)
    res["steps"][_cur] = {}
    try:
        _gen = globals()[f"step_{_cur}"](res["steps"][_cur])
    except Exception:  # noqa: BLE001
        res["steps"][_cur]["exception"] = traceback.format_exc()
        return QTimer.singleShot(0, _next)
    _advance()


def _advance():
    global _gen, _pred, _deadline
    try:
        _kind, _pred, _deadline = next(_gen)
        QTimer.singleShot(100, _poll)
    except StopIteration:
        QTimer.singleShot(0, _next)
    except Exception:  # noqa: BLE001
        res["steps"][_cur]["exception"] = traceback.format_exc()
        QTimer.singleShot(0, _next)


def _poll():
    try:
        ready = _pred()
    except Exception:  # noqa: BLE001
        ready = False
    if ready or time.time() >= _deadline:
        _advance()
    else:
        QTimer.singleShot(100, _poll)


def finish():
    res["ok"] = not any("exception" in s for s in res["steps"].values())
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, indent=1)
    QgsProject.instance().clear()
    os._exit(0)


QTimer.singleShot(int(float(ENV.get("LCB_DAY_START", "2")) * 1000), _next)
