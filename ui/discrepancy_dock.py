"""面积差异 dock: the parcels whose contract, registered and measured areas disagree, on the map and in a
table backed by numpy columns (core.parcel_table), with filters, two-way selection and consultation records."""
from pathlib import Path

import numpy as np
from qgis.core import QgsDataSourceUri, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtGui import QBrush, QColor
from qgis.PyQt.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog,
                                 QHBoxLayout, QInputDialog, QLabel, QLineEdit, QMenu, QMessageBox, QPushButton, QTableView, QVBoxLayout,
                                 QWidget)

from ..core import consult
from ..core.classify import ORDER
from ..core.errors import LcbError
from ..core.params import MU
from ..core.parcel_table import UNSET, ParcelTable
from ..processing import pgsource
from ..qtcommon import QT_TRANSLATE_NOOP, chinese_ui, class_name, remember_database, status_name
from .common import TableModel, cbdk_layer_for, tr, zoom_and_flash

CLS_COMBO_CHROME = 36  # frame, margins and the drop-down arrow of a combo box beside its text
CLS_COMBO_MAX = 200


COLOURS = {"consistent": "#edf8e9", "measured_differs": "#fdae6b", "share_only": "#9e9ac8",
           "contract_register_mismatch": "#de2d26", "unmatched": "#252525"}


def reason_text(code, htzmj, dbzmj):
    parts = []
    if "parcel" in code:
        parts.append(tr("parcel: contract area ≠ registered area"))
    if "contract" in code:
        if htzmj is not None and dbzmj is not None:
            parts.append(f"{tr('contract total')} {htzmj:,.2f} ≠ {tr('Σ registered')} {dbzmj:,.2f}")
        else:
            parts.append(tr("contract total") + " ≠ " + tr("Σ registered"))
    return ("；" if chinese_ui() else "; ").join(parts)


def _norm(path):
    """A GeoPackage's absolute path; a PostgreSQL database (URI, PG: string, QGIS layer source) as given."""
    if pgsource.is_database(path):
        return str(path)
    from pathlib import Path
    return str(Path(str(path)).resolve())


MAX_COLUMN = 240  # px; the full text of a cell is its tooltip


class ParcelModel(TableModel):
    """Rows = indices into a ParcelTable; cells formatted on demand (nothing per cell is stored)."""
    # What a technician reads first (code, class, consultation status and note) comes first: no horizontal
    # scrolling to see or record an outcome.
    HEAD = [("DKBM", QT_TRANSLATE_NOOP("@default", "Parcel code (地块编码)")), ("CYLX", QT_TRANSLATE_NOOP("@default", "Class (差异类型)")),
            ("CYYY", QT_TRANSLATE_NOOP("@default", "Why (差异原因)")), ("XSZT", QT_TRANSLATE_NOOP("@default", "Consultation (协商状态)")),
            ("XSBZ", QT_TRANSLATE_NOOP("@default", "Note (备注)")),
            ("HTDBC", QT_TRANSLATE_NOOP("@default", "Contract − registered m²")), ("HTSCC", QT_TRANSLATE_NOOP("@default", "Contract − measured m²")),
            ("HTMJ", QT_TRANSLATE_NOOP("@default", "Contract area m² (合同面积)")), ("DBMJ", QT_TRANSLATE_NOOP("@default", "Registered area m² (登簿面积)")),
            ("SCMJ", QT_TRANSLATE_NOOP("@default", "Measured area m² (实测面积)")), ("HTDBC_MU", QT_TRANSLATE_NOOP("@default", "Contract − registered 亩")),
            ("HTSCC_MU", QT_TRANSLATE_NOOP("@default", "Contract − measured 亩")), ("PCT", QT_TRANSLATE_NOOP("@default", "Contract − measured %")),
            ("CBFMC", QT_TRANSLATE_NOOP("@default", "Contractor (承包方)")), ("XZMC", QT_TRANSLATE_NOOP("@default", "Township (乡镇)")),
            ("CJMC", QT_TRANSLATE_NOOP("@default", "Village (村)")), ("ZJMC", QT_TRANSLATE_NOOP("@default", "Group (组)"))]
    SORT = {"HTDBC_MU": "HTDBC", "HTSCC_MU": "HTSCC"}
    ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole,
             Qt.ItemDataRole.ToolTipRole)

    def __init__(self, table=None, parent=None):
        super().__init__(parent)
        self.table = table
        self.idx = np.zeros(0, np.int64)
        self.headers = [tr(h) for _k, h in self.HEAD]

    def set_rows(self, idx):
        self.beginResetModel()
        self.idx = np.asarray(idx, np.int64)
        self.endResetModel()

    def _rows(self):
        return len(self.idx)

    def value(self, row, key):
        t, i = self.table, self.idx[row]
        if key == "PCT":
            v = t.pct_sc[i]
            return None if np.isnan(v) else float(v)
        if key.endswith("_MU"):
            v = t.cols[key[:-3]][i]
            return None if np.isnan(v) else round(float(v) * MU, 2)
        return t.get(key, i)

    def reason(self, row):
        """Why a 合同与登簿面积不一致 parcel is in its class: its own areas, or its contract's total HTZMJ against the
        registered areas of the contract's parcels (ΣDBMJ) — then its own difference may well be 0.00."""
        t, i = self.table, self.idx[row]
        if t.get("CYLX", i) != "contract_register_mismatch":
            return ""
        return reason_text(t.get("CYYY", i) or "", t.get("HTZMJ", i), t.get("DBZMJ", i))

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role not in self.ROLES or not index.isValid():
            return None
        key = self.HEAD[index.column()][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.data(index, Qt.ItemDataRole.DisplayRole) if key in ("CYYY", "XSBZ", "CBFMC", "CYLX") else None
        if role == Qt.ItemDataRole.DisplayRole:
            v = self.value(index.row(), key)
            if v is None:
                return ""
            if key == "CYLX":
                return class_name(v)
            if key == "XSZT":
                return status_name(v)
            if key == "CYYY":
                return self.reason(index.row())
            if isinstance(v, float):
                return f"{v:,.2f}"
            return str(v)
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("HTMJ", "DBMJ", "SCMJ", "HTDBC", "HTSCC", "HTDBC_MU", "HTSCC_MU", "PCT"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if key == "CYLX" and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            cls = self.table.get("CYLX", self.idx[index.row()])
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(COLOURS.get(cls, "#ffffff")))
            if cls in ("unmatched", "contract_register_mismatch"):
                return QBrush(QColor("#ffffff"))
        return None

    def sort(self, column, order=Qt.SortOrder.AscendingOrder):
        if self.table is None or not len(self.idx):
            return
        key = self.HEAD[column][0]
        self.layoutAboutToBeChanged.emit()
        self.idx = self.table.sort(self.idx, self.SORT.get(key, key), order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()

    def fids(self, rows):
        return [int(self.table.fid[self.idx[r]]) for r in rows]


class DiscrepancyDock(QDockWidget):
    def __init__(self, iface=None, parent=None):
        super().__init__(tr("Area discrepancies (面积差异)"), parent)
        self.setObjectName("LcbDiscrepancyDock")
        self.iface = iface
        self.path = None  # what was opened: a GeoPackage path, or a PostgreSQL source (pgsource; may hold a password: memory only)
        self.db = None  # the same, resolved for core: a path or a pgconn.PgTarget
        self.layer = None
        self.table = None
        self._syncing = False
        w = QWidget()
        v = QVBoxLayout(w)
        src = QHBoxLayout()
        self.source = QComboBox()
        self.source.setToolTip(tr("Registration GeoPackage or loaded cbdk layer"))
        self.open_btn = QPushButton(tr("Open GeoPackage…"))
        self.open_btn.clicked.connect(self._choose_file)
        self.db_btn = QPushButton(tr("Open database…"))
        self.db_btn.setToolTip(tr("A registration database in PostgreSQL: a QGIS connection name, postgresql://… or PG:…"))
        self.db_btn.clicked.connect(self._choose_database)
        src.addWidget(QLabel(tr("Source:")))
        src.addWidget(self.source, 1)
        src.addWidget(self.open_btn)
        src.addWidget(self.db_btn)
        v.addLayout(src)
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        v.addWidget(self.counts)
        f = QHBoxLayout()
        self.cls = QComboBox()
        self.cls.addItem(tr("All classes"), "")
        for c in ORDER:
            self.cls.addItem(class_name(c), c)
        self.village = QComboBox()
        self.status = QComboBox()
        self.status.addItem(tr("Any status"), "")
        for s in [UNSET] + consult.STATUSES:
            self.status.addItem(status_name(s), s)
        self.min_diff = QDoubleSpinBox()
        self.min_diff.setRange(0, 1e7)
        self.min_diff.setDecimals(2)
        self.min_diff.setSuffix(" m²")
        self.min_diff.setToolTip(tr("Minimum difference (m²)"))
        self.text = QLineEdit()
        self.text.setObjectName("LcbParcelSearch")
        self.text.setClearButtonEnabled(True)
        self.text.setMinimumWidth(220)
        self.text.setPlaceholderText(tr("Search code, contractor, note…"))
        self.show_all = QCheckBox(tr("Show consistent parcels too"))
        for wdg in (self.cls, self.village, self.status):
            wdg.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            wdg.setMinimumContentsLength(8)
        # the class chosen is read in full (合同与登簿面积不一致 was cut to 合同与登簿面积不), up to a cap for long English names
        fm = self.cls.fontMetrics()
        widest = max(fm.horizontalAdvance(self.cls.itemText(i)) for i in range(self.cls.count()))
        self.cls.setMinimumWidth(min(widest + CLS_COMBO_CHROME, CLS_COMBO_MAX))
        self.cls.currentIndexChanged.connect(lambda i: self.cls.setToolTip(self.cls.itemText(i)))  # an elided English name in full
        for wdg in (self.cls, self.village, self.status, self.min_diff):
            f.addWidget(wdg)
        f.addWidget(self.text, 1)  # the search box takes the room that is left, never squeezed to nothing
        f.addWidget(self.show_all)
        v.addLayout(f)
        pk = QHBoxLayout()  # a change package's parcels (lcb:apply_changes opens it here)
        self.package_label = QLabel(tr("Change package: none"))
        self.package_btn = QPushButton(tr("Change package…"))
        self.package_btn.setToolTip(tr("Show only the parcels of a change package (folder with manifest.json)"))
        self.package_btn.clicked.connect(self._choose_package)
        self.package_clear = QPushButton(tr("All parcels"))
        self.package_clear.clicked.connect(lambda: self.show_package(None))
        self.package_clear.setEnabled(False)
        pk.addWidget(self.package_label, 1)
        pk.addWidget(self.package_btn)
        pk.addWidget(self.package_clear)
        v.addLayout(pk)
        self.package = None  # (folder, DKBMs as UTF-8 bytes) of the change package shown
        self.view = QTableView()
        self.model = ParcelModel(parent=self)
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setResizeContentsPrecision(50)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        v.addWidget(self.view, 1)
        c = QHBoxLayout()
        self.new_status = QComboBox()
        for st in consult.STATUSES:
            self.new_status.addItem(status_name(st), st)
        self.note = QLineEdit()
        self.note.setPlaceholderText(tr("Consultation note (协商备注)"))
        self.apply_btn = QPushButton(tr("Record outcome"))
        self.apply_btn.clicked.connect(self.apply_status)
        self.shown = QLabel()
        c.addWidget(QLabel(tr("Outcome:")))
        c.addWidget(self.new_status)
        c.addWidget(self.note, 1)
        c.addWidget(self.apply_btn)
        v.addLayout(c)
        v.addWidget(self.shown)
        self.setWidget(w)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.apply_filters)
        self.text.textChanged.connect(self._timer.start)
        for wdg in (self.cls, self.village, self.status):
            wdg.currentIndexChanged.connect(self.apply_filters)
        self.min_diff.valueChanged.connect(self._timer.start)
        self.show_all.toggled.connect(self._reload_all)
        self.view.selectionModel().selectionChanged.connect(self._rows_selected)
        self.source.activated.connect(self._source_chosen)
        QgsProject.instance().layersAdded.connect(self.refresh_sources)
        QgsProject.instance().layersRemoved.connect(self.refresh_sources)
        self.refresh_sources()

    # ------------------------------------------------------------------ sources
    def refresh_sources(self, *_):
        cur = self.source.currentData()
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem(tr("— choose —"), None)
        for lyr in QgsProject.instance().mapLayers().values():
            if isinstance(lyr, QgsVectorLayer) and "layername=cbdk" in lyr.source():
                path = _norm(lyr.source().split("|")[0])
                if self.source.findData(path) < 0:
                    self.source.addItem(f"{lyr.name()} ({path})", path)
            elif isinstance(lyr, QgsVectorLayer) and lyr.providerType() == "postgres" and QgsDataSourceUri(lyr.source()).table() == "cbdk":
                src = pgsource.PREFIX + lyr.source()
                if not any(pgsource.describe(self.source.itemData(i)) == pgsource.describe(src) for i in range(1, self.source.count())):
                    self.source.addItem(f"{lyr.name()} ({pgsource.describe(src)})", src)
        if self.path and not any(pgsource.describe(self.source.itemData(i)) == pgsource.describe(self.path) for i in range(1, self.source.count())):
            self.source.addItem(pgsource.describe(self.path), self.path)
        want = pgsource.describe(self.path or cur)  # the database shown in the table, never the one before it
        i = next((j for j in range(1, self.source.count()) if pgsource.describe(self.source.itemData(j)) == want), 0) if want else 0
        self.source.setCurrentIndex(max(0, i))
        self.source.blockSignals(False)

    def _choose_file(self):
        path, _ = QFileDialog.getOpenFileName(self, tr("Registration GeoPackage"), "", "GeoPackage (*.gpkg)")
        if path:
            self.open(path)

    def _choose_database(self):
        """A registration database in PostgreSQL: a QGIS connection (or a URI / PG: string typed in), then its schema."""
        names = pgsource.connection_names()
        text, ok = QInputDialog.getItem(self, tr("Open database…"), tr("QGIS PostgreSQL connection, postgresql://… or PG:…"), names, 0, True)
        if not ok or not text.strip():
            return None
        schema, ok = QInputDialog.getText(self, tr("Open database…"), tr("Schema:"), QLineEdit.EchoMode.Normal, "lcb")
        if not ok:
            return None
        return self.open_database(text.strip(), schema.strip() or None)

    def open_database(self, text, schema=None):
        """Open a PostgreSQL registration database named as lcb:merge's TARGET accepts it."""
        try:
            target = pgsource.resolve(text, schema)
        except LcbError as e:
            QMessageBox.warning(self, tr("Area discrepancies (面积差异)"), e.text())
            return False
        if not pgsource.is_database(target):
            return self.open(target)
        return self.open(pgsource.source(target))

    def _source_chosen(self, i):
        path = self.source.itemData(i)
        if path and path != self.path:
            self.open(path)

    def open(self, path, load_layer=True):
        """Show the parcels of a registration GeoPackage or PostgreSQL database (and its styled cbdk layer on the map)."""
        try:
            db = pgsource.resolve(path) if pgsource.is_database(path) else str(path)
            table = ParcelTable(db).load(include_consistent=self.show_all.isChecked())
        except Exception as e:  # noqa: BLE001 - shown to the user, never a traceback
            msg = e.text() if isinstance(e, LcbError) else str(e)
            QMessageBox.warning(self, tr("Area discrepancies (面积差异)"), tr("Cannot read the registration GeoPackage:") +
                                f"\n{pgsource.describe(path)}\n{pgsource.describe(msg)}")
            return False
        self.path, self.db, self.table = _norm(path), db, table
        remember_database(self.path)
        self.model.table = table
        if self.layer is not None:
            try:
                self.layer.selectionChanged.disconnect(self._map_selected)
            except (TypeError, RuntimeError):
                pass
        self.layer = cbdk_layer_for(path, load=load_layer)
        if self.layer is not None:
            self.layer.selectionChanged.connect(self._map_selected)
        self.village.blockSignals(True)
        self.village.clear()
        self.village.addItem(tr("All villages"), "")
        for code, name in table.villages():
            self.village.addItem(name, code)
        self.village.blockSignals(False)
        self.refresh_sources()
        self._update_counts()
        self.apply_filters()
        self.view.resizeColumnsToContents()  # sampled: setResizeContentsPrecision(50) in __init__
        for c in range(self.model.columnCount()):  # no column so wide that status and note scroll out of sight
            self.view.setColumnWidth(c, min(self.view.columnWidth(c), MAX_COLUMN))
        why = [k for k, _ in self.model.HEAD].index("CYYY")  # its rows may not be among those sampled for the width
        self.view.setColumnWidth(why, max(self.view.columnWidth(why), min(300, self.view.fontMetrics().horizontalAdvance("0" * 40))))
        self._fit_first_columns()
        return True

    def _fit_first_columns(self):
        """Code, class, why, status and note fit in the table's width: the class and why columns give way first."""
        keys = [k for k, _ in self.model.HEAD]
        first = [keys.index(k) for k in ("DKBM", "CYLX", "CYYY", "XSZT", "XSBZ")]
        bar = self.view.verticalScrollBar()
        room = self.view.viewport().width() - (0 if bar.isVisible() else bar.sizeHint().width())  # the bar may come with the rows
        over = sum(self.view.columnWidth(c) for c in first) - room
        for key in ("CYYY", "CYLX"):
            if over <= 0:
                break
            c = keys.index(key)
            cut = min(over, max(0, self.view.columnWidth(c) - 120))
            self.view.setColumnWidth(c, self.view.columnWidth(c) - cut)
            over -= cut

    def resizeEvent(self, event):  # noqa: N802
        super().resizeEvent(event)
        if self.table is not None:
            self._fit_first_columns()

    def _reload_all(self, on):
        if self.path:
            keep = self.state()
            self.open(self.path, load_layer=False)
            self.restore_filters(keep)

    def _update_counts(self):
        t = self.table
        parts = [f'<span style="background:{COLOURS[c]};color:{"#fff" if c in ("unmatched", "contract_register_mismatch") else "#000"}">'
                 f'&nbsp;{class_name(c)}&nbsp;</span> {t.class_counts.get(c, 0)}'
                 for c in ORDER]
        self.counts.setText("&nbsp;&nbsp;".join(parts))

    # ------------------------------------------------------------------ filters
    def apply_filters(self):
        if self.table is None:
            return
        cls = self.cls.currentData()
        idx = self.table.filter(classes=[cls] if cls else None, village=self.village.currentData() or None,
                                status=self.status.currentData() or None, min_diff=self.min_diff.value(), text=self.text.text().strip())
        if self.package is not None:
            idx = idx[np.isin(self.table.cols["DKBM"][idx].astype(bytes), self.package[1])]
        self.model.set_rows(idx)
        hdr = self.view.horizontalHeader()
        if hdr.sortIndicatorSection() >= 0 and self.view.isSortingEnabled():
            self.model.sort(hdr.sortIndicatorSection(), hdr.sortIndicatorOrder())
        self.shown.setText(tr("Rows shown:") + f" {len(idx)}")

    def state(self):
        return dict(path=pgsource.without_password(self.path or ""), cls=self.cls.currentData() or "", village=self.village.currentData() or "",
                    status=self.status.currentData() or "", min_diff=self.min_diff.value(), text=self.text.text(),
                    show_all=self.show_all.isChecked(), visible=self.isVisible(), package=self.package[0] if self.package else "")

    def restore_filters(self, s):
        for combo, key in ((self.cls, "cls"), (self.village, "village"), (self.status, "status")):
            i = combo.findData(s.get(key, ""))
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, i))
            combo.blockSignals(False)
        self.min_diff.blockSignals(True)
        self.min_diff.setValue(float(s.get("min_diff", 0) or 0))
        self.min_diff.blockSignals(False)
        self.text.blockSignals(True)
        self.text.setText(s.get("text", ""))
        self.text.blockSignals(False)
        self.apply_filters()

    def restore(self, s):
        self.show_all.blockSignals(True)
        self.show_all.setChecked(bool(s.get("show_all")))
        self.show_all.blockSignals(False)
        if s.get("path"):
            self.open(s["path"])
        if s.get("package"):
            self.show_package(s["package"])
        self.restore_filters(s)

    # ------------------------------------------------------------------ a change package's parcels
    def _choose_package(self):
        folder = QFileDialog.getExistingDirectory(self, tr("Change package folder"))
        if folder:
            self.show_package(folder)

    def show_package(self, folder):
        """Restrict the table to the parcels of the change package in `folder` (None: every parcel again). The
        package is verified first (checksums); consistent parcels are loaded too, since a change may leave a parcel
        consistent."""
        if not folder:
            self.package = None
            self.package_label.setText(tr("Change package: none"))
            self.package_clear.setEnabled(False)
            self.apply_filters()
            return True
        from ..core.changes import package as change_package
        try:
            manifest, records = change_package.read_package(folder)
        except LcbError as e:
            QMessageBox.warning(self, tr("Area discrepancies (面积差异)"), e.text())
            return False
        parcels = sorted({p for r in records for p in (r.get("parcels") or [])})
        self.package = (str(folder), np.array([p.encode("utf-8") for p in parcels], dtype=bytes))
        if self.table is not None and not self.table.loaded_all:
            self.show_all.blockSignals(True)
            self.show_all.setChecked(True)
            self.show_all.blockSignals(False)
            keep = self.state()
            self.open(self.path, load_layer=False)
            self.restore_filters(keep)
        present = int(np.isin(self.package[1], self.table.cols["DKBM"].astype(bytes)).sum()) if self.table is not None else 0
        kinds = {}
        for r in records:
            kinds[r.get("kind")] = kinds.get(r.get("kind"), 0) + 1
        text = "、".join(f"{k} {n}" for k, n in kinds.items() if k)
        self.package_label.setText(tr("Change package:") + f" {manifest.get('sender') or ''} {Path(folder).name} — "
                                   + tr("parcels") + f" {len(parcels)} ({tr('in this database')} {present}); {text}")
        self.package_clear.setEnabled(True)
        self.apply_filters()
        return True

    # ------------------------------------------------------------------ right-click: parcel dossier
    def context_menu(self):
        menu = QMenu(self)
        act = menu.addAction(tr("Parcel dossier (地块档案)…"))
        act.setEnabled(bool(self.path) and bool(self.selected_rows()))
        act.triggered.connect(self.dossier_dialog)
        return menu

    def _context_menu(self, pos):
        row = self.view.indexAt(pos).row()
        if row >= 0 and row not in self.selected_rows():
            self.view.selectRow(row)
        self.context_menu().exec_(self.view.viewport().mapToGlobal(pos))

    def dossier_dialog(self):
        """lcb:parcel_dossier's dialog for the selected parcels (the user picks the folder and runs it)."""
        from qgis import processing
        codes = ",".join(str(self.model.value(r, "DKBM")) for r in self.selected_rows())
        self._dossier = processing.createAlgorithmDialog("lcb:parcel_dossier", {"INPUT": self.path, "DKBM": codes})
        if self._dossier is not None:
            self._dossier.show()
        return self._dossier

    # ------------------------------------------------------------------ selection both ways
    def selected_rows(self):
        return sorted({i.row() for i in self.view.selectionModel().selectedRows()})

    def _rows_selected(self, *_):
        if self._syncing or self.layer is None:
            return
        fids = self.model.fids(self.selected_rows())
        self._syncing = True
        try:
            self.layer.selectByIds(fids)
        finally:
            self._syncing = False
        if fids and self.iface is not None:
            geoms = [f.geometry() for f in self.layer.getFeatures(fids)]
            zoom_and_flash(self.iface.mapCanvas(), geoms, self.layer.crs())

    def _map_selected(self, *_):
        if self._syncing or self.table is None:
            return
        fids = set(self.layer.selectedFeatureIds())
        rows = np.nonzero(np.isin(self.table.fid[self.model.idx], list(fids)))[0] if fids else []
        from qgis.PyQt.QtCore import QItemSelection, QItemSelectionModel
        sel = QItemSelection()
        for r in rows:
            sel.select(self.model.index(int(r), 0), self.model.index(int(r), self.model.columnCount() - 1))
        self._syncing = True
        try:
            self.view.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            if len(rows):
                self.view.scrollTo(self.model.index(int(rows[0]), 0))
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ consultation
    def apply_status(self, status=None, note=None, rows=None):
        rows = self.selected_rows() if rows is None else rows
        if not rows or self.table is None:
            return 0
        status = status or self.new_status.currentData()
        note = self.note.text().strip() if note is None else note
        fids = self.model.fids(rows)
        dkbms = [self.table.get("DKBM", self.model.idx[r]) for r in rows]
        try:
            if self.layer is not None and self.layer.isEditable():
                # QGIS is editing the layer: go through its edit buffer so nothing is overwritten on commit.
                n = self._apply_in_edit_buffer(fids, status, note)
                consult.audit(self.db, dkbms, status, note or None, action="consult (QGIS edit session)")
            else:
                n = consult.set_status(self.db, dkbms, status, note or None)
        except LcbError as e:
            QMessageBox.warning(self, tr("Record outcome"), e.text())
            return 0
        self.table.refresh_rows(fids) if not (self.layer is not None and self.layer.isEditable()) else self._refresh_from_layer(fids)
        self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(self.model.rowCount() - 1, self.model.columnCount() - 1))
        if self.layer is not None:
            self.layer.triggerRepaint()
        return n

    def _apply_in_edit_buffer(self, fids, status, note):
        import datetime as dt
        import getpass
        lyr = self.layer
        idx = {n: lyr.fields().lookupField(n) for n in ("XSZT", "XSBZ", "XSR", "XSSJ")}  # lower case in PostgreSQL
        now = dt.datetime.now().isoformat(timespec="seconds")
        for fid in fids:
            lyr.changeAttributeValue(fid, idx["XSZT"], status)
            if note:
                lyr.changeAttributeValue(fid, idx["XSBZ"], note)
            lyr.changeAttributeValue(fid, idx["XSR"], getpass.getuser())
            lyr.changeAttributeValue(fid, idx["XSSJ"], now)
        return len(fids)

    def _refresh_from_layer(self, fids):
        pos = {int(f): i for i, f in enumerate(self.table.fid)}
        for f in self.layer.getFeatures(fids):
            j = pos.get(f.id())
            if j is not None:
                self.table.set_rows([j], XSZT=f["XSZT"], XSBZ=f["XSBZ"])
