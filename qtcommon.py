"""The Qt-side helpers that plugin.py, processing/ and ui/ share: translation and the plugin icon.

core/ never imports this (it has no Qt); file locations come from core/paths.py."""
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .core.paths import ICON

CONTEXT = "@default"  # the context pylupdate5 gives bare tr("...") calls
MENU = "确权成果衔接 Land Contract Bridge"  # the plugin's menu under 插件 Plugins (its name is the same in every language)


def tr(text, context=CONTEXT):
    """The translation of `text` for the installed QTranslator (the plugin's zh_CN .qm), or `text` itself."""
    return QCoreApplication.translate(context, text)


def QT_TRANSLATE_NOOP(context, text):  # noqa: N802 - the name pylupdate5 looks for
    """Marks `text` for extraction; translate it later with tr(text)."""
    return text


def icon():
    return QIcon(str(ICON))
