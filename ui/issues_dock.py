"""质检结果 dock: the issues of a validation run, grouped by category and severity, with filters, search,
zoom-and-flash (mouse or keyboard), and export to XLSX/CSV.

The dock shows one issue layer of the project, chosen in its layer box (any layer with the issue fields, also one
opened from a file); after a desktop validation it shows the new layer by itself (ui/menus.py). Its state (which
layer, filters) is saved with the project."""
import csv

from qgis.core import Qgis, QgsGeometry, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QSortFilterProxyModel, Qt
from qgis.PyQt.QtGui import QBrush, QColor
from qgis.PyQt.QtWidgets import (QAbstractItemView, QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                                 QLineEdit, QMessageBox, QPushButton, QSizePolicy, QTableView, QToolButton, QTreeWidget, QTreeWidgetItem,
                                 QVBoxLayout, QWidget)

from ..core.errors import LcbError
from ..core.issues import CATEGORIES, CATEGORY_ZH, SEVERITIES, SEVERITY_ZH
from ..core.output import write_xlsx
from ..qtcommon import category_name, severity_name
from .common import TableModel, style_issue_layer, tr, zoom_and_flash

FIELDS = ["severity", "category", "rule", "layer", "key", "field", "message", "value"]
ISSUE_FIELDS = {"rule", "category", "severity", "message"}  # what makes a layer an issue layer
SEV_COLOUR = {"error": "#fde0dd", "warning": "#fff7bc", "info": "#e5f5f9"}


def is_issue_layer(layer):
    return isinstance(layer, QgsVectorLayer) and layer.isValid() and ISSUE_FIELDS <= set(layer.fields().names())


class IssueModel(TableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows = []  # dicts with FIELDS plus 'geometry' (QgsGeometry or None)
        self.headers = [tr("Severity (级别)"), tr("Category (类别)"), tr("Rule (规则)"), tr("Table/layer (表/图层)"),
                        tr("Key (编码)"), tr("Field (字段)"), tr("Message (说明)"), tr("Value (值)")]

    def set_rows(self, rows):
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def _rows(self):
        return len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        key = FIELDS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            v = r.get(key) or ""
            if key == "severity":
                v = severity_name(v)
            elif key == "category":
                v = category_name(v)
            v = str(v)
            if role == Qt.ItemDataRole.ToolTipRole and key != "message" and r.get("message"):
                return f"{v}\n{r['message']}"  # the message, off to the right in a narrow dock, on any cell of the row
            return v
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(SEV_COLOUR.get(r.get("severity"), "#ffffff")))
        if role == Qt.ItemDataRole.UserRole:
            return index.row()
        return None


class IssueFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.category = ""
        self.severity = ""
        self.text = ""

    def set(self, category=None, severity=None, text=None):
        if category is not None:
            self.category = category
        if severity is not None:
            self.severity = severity
        if text is not None:
            self.text = text.lower()
        self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):  # noqa: N802
        r = self.sourceModel().rows[row]
        if self.category and r.get("category") != self.category:
            return False
        if self.severity and r.get("severity") != self.severity:
            return False
        if self.text:
            hay = " ".join(str(r.get(k) or "") for k in ("rule", "layer", "key", "field", "message", "value")).lower()
            return self.text in hay
        return True


class IssuesDock(QDockWidget):
    def __init__(self, iface=None, parent=None):
        super().__init__(tr("Quality check results (质检结果)"), parent)
        self.setObjectName("LcbIssuesDock")
        self.iface = iface
        self.layer_id = None  # the dock keeps the id, the CRS and the rows, never the layer object itself
        self.crs = None
        w = QWidget()
        v = QVBoxLayout(w)
        src = QHBoxLayout()
        self.source = QComboBox()
        self.source.setObjectName("LcbIssueLayers")
        self.source.setToolTip(tr("Issue layer of the project (any layer written by the quality check)"))
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(12)
        self.open_btn = QToolButton()
        self.open_btn.setText("…")
        self.open_btn.setToolTip(tr("Open an issue layer from a file (GeoPackage, shapefile)…"))
        self.open_btn.clicked.connect(self._choose_file)
        src.addWidget(QLabel(tr("Issue layer:")))
        src.addWidget(self.source, 1)
        src.addWidget(self.open_btn)
        v.addLayout(src)
        self.title = QLabel(tr("Run the quality check (成果质检) to see its results here."))
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the dock
        v.addWidget(self.title)
        self.summary = QTreeWidget()
        self.summary.setHeaderLabels([tr("Category (类别)"), tr("Errors"), tr("Warnings"), tr("Notes")])
        self.summary.setRootIsDecorated(False)
        self.summary.itemClicked.connect(self._summary_clicked)
        v.addWidget(self.summary)
        f = QHBoxLayout()
        self.cat = QComboBox()
        self.cat.addItem(tr("All categories"), "")
        for c in CATEGORIES:
            self.cat.addItem(category_name(c), c)
        self.sev = QComboBox()
        self.sev.addItem(tr("All severities"), "")
        for s in SEVERITIES:
            self.sev.addItem(severity_name(s), s)
        self.export_btn = QPushButton(tr("Export…"))
        self.export_btn.clicked.connect(self._export_dialog)
        for wdg in (self.cat, self.sev):
            f.addWidget(wdg, 1)
        f.addWidget(self.export_btn)
        v.addLayout(f)
        self.search = QLineEdit()
        self.search.setObjectName("LcbIssueSearch")
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(tr("Search code, rule, message…"))
        v.addWidget(self.search)
        self.model = IssueModel(self)
        self.proxy = IssueFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)  # mouse and keyboard
        v.addWidget(self.view, 1)
        # the current issue in full under the table: its message is read without scrolling the table sideways
        self.detail = QLabel()
        self.detail.setObjectName("LcbIssueDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        v.addWidget(self.detail)
        self.status = QLabel()
        v.addWidget(self.status)
        self.setWidget(w)
        self.cat.currentIndexChanged.connect(lambda: self._filter(category=self.cat.currentData()))
        self.sev.currentIndexChanged.connect(lambda: self._filter(severity=self.sev.currentData()))
        self.search.textChanged.connect(lambda t: self._filter(text=t))
        self.source.activated.connect(self._source_chosen)
        project = QgsProject.instance()
        project.layersAdded.connect(self.refresh_sources)
        project.layersRemoved.connect(self._layers_removed)
        self.refresh_sources()

    # ------------------------------------------------------------------ which layer
    def refresh_sources(self, *_):
        current = self.layer_id
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem(tr("— choose —"), None)
        for lyr in QgsProject.instance().mapLayers().values():
            if is_issue_layer(lyr):
                self.source.addItem(lyr.name(), lyr.id())
                self.source.setItemData(self.source.count() - 1, lyr.source().split("|")[0], Qt.ItemDataRole.ToolTipRole)
        self.source.setCurrentIndex(max(0, self.source.findData(current)))
        self.source.blockSignals(False)

    @property
    def layer(self):
        """The issue layer shown, when it is in the project."""
        return QgsProject.instance().mapLayer(self.layer_id) if self.layer_id else None

    def _layers_removed(self, ids):
        if self.layer_id is not None and self.layer_id in ids:
            self.layer_id = self.crs = None
            self.model.set_rows([])
            self.title.setText(tr("Run the quality check (成果质检) to see its results here."))
            self._summary()
            self._filter()
        self.refresh_sources()

    def _source_chosen(self, i):
        lid = self.source.itemData(i)
        lyr = QgsProject.instance().mapLayer(lid) if lid else None
        if lyr is not None:
            self.load_layer(lyr)

    def _choose_file(self):
        path, _ = QFileDialog.getOpenFileName(self, tr("Open an issue layer"), "", "GeoPackage (*.gpkg);;Shapefile (*.shp);;" + tr("All files (*)"))
        if path:
            self.open_file(path)

    def open_file(self, path):
        """Add an issue layer from a file to the project and show it; False (with a message) if it is not one."""
        from pathlib import Path
        lyr = QgsVectorLayer(str(path), tr("Issues (质检问题)") + f" · {Path(path).stem}", "ogr")
        if not is_issue_layer(lyr):
            self.title.setText(tr("Not an issue layer of the quality check:") + f" {Path(path).name}")
            return None
        style_issue_layer(lyr)
        QgsProject.instance().addMapLayer(lyr)
        self.load_layer(lyr)
        return lyr

    def load_layer(self, layer):
        """Show the issues of an issue layer written by lcb:validate."""
        if not is_issue_layer(layer):
            return False
        names = layer.fields().names()
        rows = []
        for f in layer.getFeatures():
            r = {k: f[k] if k in names else None for k in FIELDS}
            g = f.geometry()
            r["geometry"] = QgsGeometry(g) if g is not None and not g.isEmpty() else None
            rows.append(r)
        self.layer_id, self.crs = layer.id(), layer.crs()
        self.model.set_rows(rows)
        self.detail.setText("")
        self.title.setText(layer.name())
        self.title.setToolTip(layer.source().split("|")[0])
        self.refresh_sources()
        self._summary()
        self._filter()
        self.view.resizeColumnsToContents()
        for col, cap in ((6, 420), (7, 200), (4, 200)):
            self.view.setColumnWidth(col, min(self.view.columnWidth(col), cap))
        return True

    def _summary(self):
        self.summary.clear()
        counts = {c: {s: 0 for s in SEVERITIES} for c in CATEGORIES}
        for r in self.model.rows:
            if r.get("category") in counts and r.get("severity") in SEVERITIES:
                counts[r["category"]][r["severity"]] += 1
        for c in CATEGORIES:
            n = counts[c]
            if sum(n.values()):
                item = QTreeWidgetItem([category_name(c), str(n["error"]), str(n["warning"]), str(n["info"])])
                item.setData(0, Qt.ItemDataRole.UserRole, c)
                self.summary.addTopLevelItem(item)
        total = {s: sum(counts[c][s] for c in CATEGORIES) for s in SEVERITIES}
        item = QTreeWidgetItem([tr("Total (合计)"), str(total["error"]), str(total["warning"]), str(total["info"])])
        item.setData(0, Qt.ItemDataRole.UserRole, "")
        self.summary.addTopLevelItem(item)
        for i in range(4):
            self.summary.resizeColumnToContents(i)
        rows = self.summary.topLevelItemCount()  # every category and the total in view, without a scroll bar
        row_h = self.summary.sizeHintForRow(0) if rows else 18
        self.summary.setFixedHeight(min(12, max(rows, 3)) * row_h + self.summary.header().sizeHint().height() + 6)

    def _summary_clicked(self, item, _col):
        i = self.cat.findData(item.data(0, Qt.ItemDataRole.UserRole) or "")
        self.cat.setCurrentIndex(max(0, i))

    def _filter(self, **kw):
        self.proxy.set(**kw)
        self.status.setText(tr("Rows shown:") + f" {self.proxy.rowCount()} / {self.model.rowCount()}")

    def visible_rows(self):
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()] for i in range(self.proxy.rowCount())]

    def _current_changed(self, index, _previous=None):
        self.show_detail(index)
        self.zoom_to(index)

    def show_detail(self, index):
        """The current issue under the table: rule, record (key, field), message and value, wrapped to the dock."""
        if not index.isValid():
            self.detail.setText("")
            return
        r = self.model.rows[self.proxy.mapToSource(index).row()]
        where = " ".join(str(r.get(k)) for k in ("layer", "key", "field") if r.get(k))
        value = f"（{r['value']}）" if r.get("value") not in (None, "", "None") else ""
        self.detail.setText(f"{r.get('rule') or ''}  {where}\n{r.get('message') or ''}{value}")

    def zoom_to(self, index):
        if not index.isValid():
            return False
        r = self.model.rows[self.proxy.mapToSource(index).row()]
        if r.get("geometry") is None or self.iface is None or self.crs is None:
            self.status.setText(tr("This issue has no location on the map."))
            return False
        self.status.setText(tr("Rows shown:") + f" {self.proxy.rowCount()} / {self.model.rowCount()}")
        return zoom_and_flash(self.iface.mapCanvas(), [r["geometry"]], self.crs)

    # ------------------------------------------------------------------ project state
    def state(self):
        return dict(layer=self.layer_id or "", cat=self.cat.currentData() or "", sev=self.sev.currentData() or "",
                    text=self.search.text(), visible=self.isVisible())

    def restore(self, s):
        lyr = QgsProject.instance().mapLayer(s.get("layer") or "")
        if lyr is not None:
            self.load_layer(lyr)
        for combo, key in ((self.cat, "cat"), (self.sev, "sev")):
            combo.setCurrentIndex(max(0, combo.findData(s.get(key, ""))))
        self.search.setText(s.get("text", ""))

    # ------------------------------------------------------------------ export
    def _export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, tr("Export issues"), "质检问题.xlsx", "Excel (*.xlsx);;CSV (*.csv)")
        if path:
            self.save(path)

    def save(self, path):
        """export() for the dialog: an unwritable folder or a file open in Excel is a message, not a Python error;
        the success names the file and the count. Returns the number of rows written, or None."""
        try:
            n = self.export(path)
        except LcbError as e:
            QMessageBox.warning(self, tr("Export issues"), e.text())
            return None
        except OSError as e:
            QMessageBox.warning(self, tr("Export issues"), tr("Cannot write the file:") + f"\n{path}\n{e.strerror or e}")
            return None
        if self.iface is not None:
            self.iface.messageBar().pushMessage(tr("Export issues"), tr("{n} issues written to {path}").format(n=n, path=path),
                                                level=Qgis.MessageLevel.Success, duration=5)
        return n

    def export(self, path):
        rows = self.visible_rows()
        head = ["级别", "类别", "规则", "表/图层", "编码", "字段", "说明", "值"]
        data = [[SEVERITY_ZH.get(r["severity"], r["severity"]), CATEGORY_ZH.get(r["category"], r["category"])] + [r.get(k) for k in FIELDS[2:]] for r in rows]
        if str(path).lower().endswith(".csv"):
            from ..core.output import atomic_path
            with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
                w = csv.writer(f)
                w.writerow(head)
                w.writerows(data)
        else:
            write_xlsx(path, [("质检问题", head, data)])
        return len(rows)
