"""QGIS entry point: translations, the dependency check, the Processing provider, and (desktop only) menus and docks.

Dependencies point one way: plugin.py → processing/ (toolbox, also qgis_process) and ui/ (desktop); both use
qtcommon.py (tr, icon) and core/ (no Qt). The algorithms never import ui/: they announce finished runs through
processing/hooks.py, and the plugin subscribes there in initGui to open its docks."""
from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

from .core import deps
from .core.paths import I18N
from .processing import hooks
from .qtcommon import MENU, tr

_translator = None


def normalise_locale(locale):
    """QGIS names Simplified Chinese 'zh-Hans' (3.22) or 'zh_CN'; the plugin ships zh_CN."""
    low = locale.replace("-", "_").lower()
    if low.startswith("zh") and not any(t in low for t in ("hant", "tw", "hk", "mo")):
        return "zh_CN"
    return locale


def install_translator(locale=None):
    """Load i18n/land_contract_bridge_<locale>.qm for the user's QGIS locale (zh_CN ships)."""
    global _translator
    if locale is None:
        locale = QgsSettings().value("locale/userLocale", "") or QLocale.system().name()
    locale = normalise_locale(str(locale))
    for cand in (locale, locale[:2]):
        qm = I18N / f"land_contract_bridge_{cand}.qm"
        if qm.exists():
            translator = QTranslator()
            if translator.load(str(qm)):
                if _translator is not None:
                    QCoreApplication.removeTranslator(_translator)
                QCoreApplication.installTranslator(translator)
                _translator = translator
                return True
    return False


class LandContractBridgePlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.menu_actions = []  # menu-only tools (ui/menus.py)
        self.toolbar = None
        self.docks = {}
        self.missing_bar = None
        self._logged_missing = False
        self.post_processors = []  # issue-layer post-processors QGIS may still call (ui/menus.py)
        install_translator()
        self.missing = deps.check()

    # -------------------------------------------------------------- processing (also qgis_process)
    def initProcessing(self):  # noqa: N802
        if self.provider is not None:
            return
        if self.missing:
            if not self._logged_missing:  # QGIS and initGui may both call this: one log entry
                QgsMessageLog.logMessage(deps.message(self.missing), "Land Contract Bridge", Qgis.Critical)
                self._logged_missing = True
            return
        from .processing.provider import PROVIDER_ID, LcbProvider

        registry = QgsApplication.processingRegistry()
        if registry.providerById(PROVIDER_ID) is not None:  # a stale copy (e.g. a plugin reload): replace it
            registry.removeProvider(PROVIDER_ID)
        provider = LcbProvider()
        if registry.addProvider(provider):
            self.provider = provider
        else:
            QgsMessageLog.logMessage("lcb provider could not be registered", "Land Contract Bridge", Qgis.Critical)

    # -------------------------------------------------------------- desktop
    def initGui(self):  # noqa: N802
        if not self.missing:  # the desktop can afford to prove the libraries import (a shapely built for another numpy)
            self.missing = deps.check(imports=True)
            if self.missing and self.provider is not None:
                QgsApplication.processingRegistry().removeProvider(self.provider)
                self.provider = None
        self.initProcessing()
        if self.missing:
            self.missing_bar = self._show_missing()
            return
        from qgis.core import QgsProject

        from .ui.menus import build_menus

        from .processing import compat

        compat.results_timestamp()  # QGIS 3.22: batch runs with an HTML output end cleanly
        self.toolbar, self.actions, self.menu_actions = build_menus(self)
        QgsProject.instance().writeProject.connect(self._write_project)
        QgsProject.instance().readProject.connect(self._read_project)
        hooks.subscribe(self._on_result)

    def _show_missing(self):
        """Missing or too old Python packages: a message bar that stays until closed, with the exact install command
        for the Python QGIS runs and a button that copies it (the full text also goes to the log panel)."""
        from qgis.PyQt.QtWidgets import QApplication, QLineEdit, QPushButton

        bar = self.iface.messageBar()
        names = ", ".join(dep.need() for dep, _v in self.missing)
        command = deps.install_command(self.missing)
        zh, en = deps.where_to_run()
        item = bar.createMessage(tr("Land Contract Bridge"), tr("needs") + f" {names}. " + tr("run this command, then restart QGIS:"))
        item.setToolTip(f"{zh} / {en}\n{deps.message(self.missing)}")
        item.setObjectName("LcbMissingDependencies")
        line = QLineEdit(command)
        line.setReadOnly(True)
        line.setObjectName("LcbInstallCommand")
        line.setFixedWidth(min(300, 7 * len(command)))  # the message keeps its one line in a 1280-px window; the box
        # scrolls, and the button copies the whole command
        line.setToolTip(f"{zh} / {en}")
        line.setCursorPosition(0)
        item.layout().addWidget(line)
        copy = QPushButton(tr("Copy command"))
        copy.setObjectName("LcbCopyCommand")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(command))
        item.layout().addWidget(copy)
        bar.pushWidget(item, Qgis.Critical, 0)  # duration 0: stays until the user closes it
        return item

    def _on_result(self, alg_id, results, context):
        """A finished lcb run (processing/hooks.py): open the dock that shows its result."""
        from .ui.menus import show_result

        show_result(self, alg_id, results, context)

    def _write_project(self, *_):
        from .ui.menus import write_state

        write_state(self)

    def _read_project(self, *_):
        from .ui.menus import read_state

        read_state(self)

    def unload(self):
        from qgis.core import QgsProject

        if self.missing_bar is not None:
            try:
                self.iface.messageBar().popWidget(self.missing_bar)
            except (RuntimeError, AttributeError):
                pass
            self.missing_bar = None
        hooks.unsubscribe(self._on_result)
        if self.actions:
            from .processing import compat

            compat.restore()
            for sig, slot in ((QgsProject.instance().writeProject, self._write_project), (QgsProject.instance().readProject, self._read_project)):
                try:
                    sig.disconnect(slot)
                except (TypeError, RuntimeError):
                    pass
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            if self.toolbar is not None:
                self.toolbar.removeAction(action)
        for action in self.menu_actions:
            self.iface.removePluginMenu(MENU, action)
        self.actions, self.menu_actions = [], []
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        for dock in self.docks.values():
            self.iface.removeDockWidget(dock)
            dock.deleteLater()
        self.docks = {}
        if self.provider is not None:
            from .processing.provider import PROVIDER_ID

            registry = QgsApplication.processingRegistry()
            if registry.providerById(PROVIDER_ID) is not None:
                registry.removeProvider(PROVIDER_ID)
            self.provider = None
