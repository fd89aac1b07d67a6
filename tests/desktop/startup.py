"""PYQGIS_STARTUP script for the desktop smoke test: runs inside QGIS before any plugin loads.

It records every message-log entry that concerns Python or this plugin (a failed plugin load, an exception in a
slot) to LCB_SMOKE_LOG as it happens, and stops QGIS after LCB_SMOKE_WATCHDOG seconds if the smoke script never
finished (e.g. a modal error dialog during start-up), writing the modal dialog's text to the log."""
import json
import os

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import QTimer

_LOG = os.environ["LCB_SMOKE_LOG"]


def _write(entry):
    with open(_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _on_message(message, tag, level):
    if tag == "Python error" or "land_contract_bridge" in message or tag == "Land Contract Bridge":
        if level not in (Qgis.Info, Qgis.Success):
            _write({"tag": tag, "level": int(level), "message": message[-3000:]})


def _watchdog():
    from qgis.PyQt.QtWidgets import QApplication, QLabel, QTextEdit

    modal = QApplication.activeModalWidget()
    text = ""
    if modal is not None:
        parts = [w.text() for w in modal.findChildren(QLabel)] + [w.toPlainText() for w in modal.findChildren(QTextEdit)]
        text = " | ".join(t for t in parts if t)[-3000:] or modal.windowTitle()
    _write({"tag": "watchdog", "level": 2, "message": f"QGIS did not finish the smoke script in time; modal dialog: {modal!r} {text}"})
    os._exit(3)


QgsApplication.messageLog().messageReceived.connect(_on_message)
_timer = QTimer()
_timer.setSingleShot(True)
_timer.timeout.connect(_watchdog)
_timer.start(int(float(os.environ.get("LCB_SMOKE_WATCHDOG", "60")) * 1000))
