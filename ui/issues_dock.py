"""质检结果 dock: the issues of a validation run, grouped by category and severity, with filters, search,
zoom-and-flash, and export to XLSX/CSV."""
import csv

from qgis.core import QgsGeometry, QgsVectorLayer
from qgis.PyQt.QtCore import QSortFilterProxyModel, Qt
from qgis.PyQt.QtGui import QBrush, QColor
from qgis.PyQt.QtWidgets import (QAbstractItemView, QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                                 QPushButton, QTableView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..core.issues import CATEGORIES, CATEGORY_ZH, SEVERITIES, SEVERITY_ZH
from ..core.output import write_xlsx
from .common import TableModel, tr, zoom_and_flash

FIELDS = ["severity", "category", "rule", "layer", "key", "field", "message", "value"]
SEV_COLOUR = {"error": "#fde0dd", "warning": "#fff7bc", "info": "#e5f5f9"}


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
                return SEVERITY_ZH.get(v, v)
            if key == "category":
                return CATEGORY_ZH.get(v, v)
            return str(v)
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
        self.layer = None
        w = QWidget()
        v = QVBoxLayout(w)
        self.title = QLabel(tr("Run the quality check (成果质检) to see its results here."))
        self.title.setWordWrap(True)
        v.addWidget(self.title)
        self.summary = QTreeWidget()
        self.summary.setHeaderLabels([tr("Category (类别)"), tr("Errors"), tr("Warnings"), tr("Notes")])
        self.summary.setMaximumHeight(170)
        self.summary.setRootIsDecorated(False)
        self.summary.itemClicked.connect(self._summary_clicked)
        v.addWidget(self.summary)
        f = QHBoxLayout()
        self.cat = QComboBox()
        self.cat.addItem(tr("All categories"), "")
        for c in CATEGORIES:
            self.cat.addItem(f"{CATEGORY_ZH[c]} {c}", c)
        self.sev = QComboBox()
        self.sev.addItem(tr("All severities"), "")
        for s in SEVERITIES:
            self.sev.addItem(f"{SEVERITY_ZH[s]} {s}", s)
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("Search code, rule, message…"))
        self.export_btn = QPushButton(tr("Export…"))
        self.export_btn.clicked.connect(self._export_dialog)
        for wdg in (self.cat, self.sev, self.export_btn):
            f.addWidget(wdg)
        v.addLayout(f)
        v.addWidget(self.search)
        self.model = IssueModel(self)
        self.proxy = IssueFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.clicked.connect(self.zoom_to)
        v.addWidget(self.view, 1)
        self.status = QLabel()
        v.addWidget(self.status)
        self.setWidget(w)
        self.cat.currentIndexChanged.connect(lambda: self._filter(category=self.cat.currentData()))
        self.sev.currentIndexChanged.connect(lambda: self._filter(severity=self.sev.currentData()))
        self.search.textChanged.connect(lambda t: self._filter(text=t))

    def load_layer(self, layer):
        """Show the issues of an issue layer written by lcb:validate."""
        if not isinstance(layer, QgsVectorLayer) or not layer.isValid():
            return False
        names = layer.fields().names()
        rows = []
        for f in layer.getFeatures():
            r = {k: f[k] if k in names else None for k in FIELDS}
            g = f.geometry()
            r["geometry"] = QgsGeometry(g) if g is not None and not g.isEmpty() else None
            rows.append(r)
        self.layer = layer
        self.model.set_rows(rows)
        self.title.setText(tr("Issues of") + f" {layer.name()} — {layer.source().split('|')[0]}")
        self._summary()
        self._filter()
        self.view.resizeColumnsToContents()
        self.view.setColumnWidth(6, min(self.view.columnWidth(6), 480))
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
                item = QTreeWidgetItem([f"{CATEGORY_ZH[c]} {c}", str(n["error"]), str(n["warning"]), str(n["info"])])
                item.setData(0, Qt.ItemDataRole.UserRole, c)
                self.summary.addTopLevelItem(item)
        total = {s: sum(counts[c][s] for c in CATEGORIES) for s in SEVERITIES}
        item = QTreeWidgetItem([tr("Total (合计)"), str(total["error"]), str(total["warning"]), str(total["info"])])
        item.setData(0, Qt.ItemDataRole.UserRole, "")
        self.summary.addTopLevelItem(item)
        for i in range(4):
            self.summary.resizeColumnToContents(i)

    def _summary_clicked(self, item, _col):
        i = self.cat.findData(item.data(0, Qt.ItemDataRole.UserRole) or "")
        self.cat.setCurrentIndex(max(0, i))

    def _filter(self, **kw):
        self.proxy.set(**kw)
        self.status.setText(tr("Rows shown:") + f" {self.proxy.rowCount()} / {self.model.rowCount()}")

    def visible_rows(self):
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()] for i in range(self.proxy.rowCount())]

    def zoom_to(self, index):
        r = self.model.rows[self.proxy.mapToSource(index).row()]
        if r.get("geometry") is None or self.iface is None or self.layer is None:
            self.status.setText(tr("This issue has no location on the map."))
            return False
        return zoom_and_flash(self.iface.mapCanvas(), [r["geometry"]], self.layer.crs())

    def _export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, tr("Export issues"), "质检问题.xlsx", "Excel (*.xlsx);;CSV (*.csv)")
        if path:
            self.export(path)

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
