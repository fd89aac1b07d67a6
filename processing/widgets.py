"""Parameter widgets of the lcb dialogs (desktop only; imported lazily by QGIS's Processing dialog through the
parameter's 'widget_wrapper' metadata, never in qgis_process).

TargetWidgetWrapper: lcb:merge's TARGET, the registration database. It sits under INPUT at the top of the
dialog (an ordinary parameter, not an output, so QGIS does not move it below the fold), offers the databases
used before (most recent first, pre-filled with the last one) and a browse button that picks an existing
database or names a new one. There is no "save to temporary file": consultation outcomes recorded in a
temporary database would be lost when QGIS closes."""
import os

from processing.gui.wrappers import DIALOG_STANDARD, WidgetWrapper
from qgis.PyQt.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from ..qtcommon import recent_databases, tr


class TargetWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setObjectName("LcbTargetCombo")
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setMinimumContentsLength(20)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.lineEdit().setPlaceholderText(tr("Choose an existing database or name a new .gpkg"))
        for path in recent_databases():
            self.combo.addItem(path)
        self.browse = QToolButton()
        self.browse.setText("…")
        self.browse.setObjectName("LcbTargetBrowse")
        self.browse.setToolTip(tr("Choose an existing registration database or name a new one"))
        self.browse.clicked.connect(self.choose)
        row.addWidget(self.combo, 1)
        row.addWidget(self.browse)
        v.addLayout(row)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setObjectName("LcbTargetNote")
        v.addWidget(self.note)
        self.combo.editTextChanged.connect(self._describe)
        self._describe(self.combo.currentText())

    def value(self):
        return self.combo.currentText().strip()

    def set_value(self, text):
        self.combo.setEditText(str(text or ""))

    def choose(self):
        start = self.value() or (recent_databases() or [""])[0]
        path, _ = QFileDialog.getSaveFileName(self, tr("Registration database"), os.path.dirname(start) if start else "",
                                              "GeoPackage (*.gpkg)", options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            if not path.lower().endswith(".gpkg"):
                path += ".gpkg"
            self.set_value(path)

    def _describe(self, text):
        text = (text or "").strip()
        if not text:
            self.note.setText(tr("Required: the registration database keeps the consultation outcomes."))
        elif _postgres(text):
            self.note.setText(tr("PostgreSQL database: the delivery goes into the schema SCHEMA (created if missing)."))
        elif os.path.isfile(text):
            self.note.setText(tr("Existing database: the delivery is added to it."))
        else:
            self.note.setText(tr("New database: it will be created."))


def _postgres(text):
    """A PostgreSQL database (postgresql://…, PG:…, a QGIS layer source or the name of a QGIS PostgreSQL connection)."""
    from qgis.core import QgsProviderRegistry

    from . import pgsource
    if pgsource.is_database(text):
        return True
    if text.lower().endswith(".gpkg") or "/" in text or "\\" in text:
        return False
    md = QgsProviderRegistry.instance().providerMetadata("postgres")
    try:
        return md is not None and md.findConnection(text) is not None
    except Exception:  # noqa: BLE001 - QGIS raises for an unknown name
        return False


class TargetWidgetWrapper(WidgetWrapper):
    """Python widget wrapper (processing.gui.wrappers) for TARGET; in batch and model dialogs a plain editable box."""

    def createWidget(self, **kwargs):  # noqa: N802
        if self.dialogType == DIALOG_STANDARD:
            w = TargetWidget()
            recent = recent_databases()
            if recent:
                w.set_value(recent[0])
            return w
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(recent_databases())
        combo.setEditText("")
        return combo

    def setValue(self, value):  # noqa: N802
        if value in (None, ""):
            return
        if isinstance(self.widget, TargetWidget):
            self.widget.set_value(value)
        else:
            self.widget.setEditText(str(value))

    def value(self):
        if isinstance(self.widget, TargetWidget):
            return self.widget.value()
        return self.widget.currentText().strip()
