"""The Qt-side helpers that plugin.py, processing/ and ui/ share: translation and the plugin icon.

core/ never imports this (it has no Qt); file locations come from core/paths.py."""
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .core.paths import ICON, RESOURCES

CONTEXT = "@default"  # the context pylupdate5 gives bare tr("...") calls
MENU = "确权成果衔接 Land Contract Bridge"  # the plugin's menu under 插件 Plugins (its name is the same in every language)


def tr(text, context=CONTEXT):
    """The translation of `text` for the installed QTranslator (the plugin's zh_CN .qm), or `text` itself."""
    return QCoreApplication.translate(context, text)


def QT_TRANSLATE_NOOP(context, text):  # noqa: N802 - the name pylupdate5 looks for
    """Marks `text` for extraction; translate it later with tr(text)."""
    return text


def icon(name=None):
    """The plugin's icon, or resources/icons/<name>.svg (one per tool and dock) when there is one."""
    if name:
        path = RESOURCES / "icons" / f"{name}.svg"
        if path.exists():
            return QIcon(str(path))
    return QIcon(str(ICON))


RECENT_KEY = "land_contract_bridge/recent_databases"  # QgsSettings: registration databases, most recent first


def recent_databases(limit=8):
    """Registration databases merged into or opened in the docks before, most recent first, those that exist."""
    import os

    from qgis.core import QgsSettings
    from .core import pgconn
    value = QgsSettings().value(RECENT_KEY, []) or []
    if isinstance(value, str):
        value = [value]
    return [p for p in value if isinstance(p, str) and (pgconn.is_database(p) or os.path.isfile(p))][:limit]


def remember_database(path, limit=8):
    """Put a registration database first in the list the merge dialog offers (a PostgreSQL one without its password:
    it comes back from ~/.pgpass, the service file or the QGIS connection's authentication)."""
    import os

    from qgis.core import QgsSettings

    from .core import pgconn
    if pgconn.is_database(str(path)):  # postgresql://…, PG:…, or QGIS's layer source postgres://…
        path = pgconn.strip_password(str(path))
    else:
        path = os.path.abspath(str(path))
    value = [p for p in recent_databases(limit) if p != path and (pgconn.is_database(p) or os.path.abspath(p) != path)]
    QgsSettings().setValue(RECENT_KEY, [path] + value[: limit - 1])


# The values the docks and logs show for codes stored in the data (issue severity and category, area class,
# consultation outcome): English in the English UI, Chinese in the Chinese one (i18n/zh_CN.json). The data keep
# their codes (and the outcomes their Chinese values, as design.md stores them).
SEVERITY_NAMES = {"error": QT_TRANSLATE_NOOP("@default", "Error"), "warning": QT_TRANSLATE_NOOP("@default", "Warning"),
                  "info": QT_TRANSLATE_NOOP("@default", "Note")}
CATEGORY_NAMES = {"package": QT_TRANSLATE_NOOP("@default", "Package"), "schema": QT_TRANSLATE_NOOP("@default", "Structure"),
                  "code": QT_TRANSLATE_NOOP("@default", "Codes"), "reference": QT_TRANSLATE_NOOP("@default", "References"),
                  "geometry": QT_TRANSLATE_NOOP("@default", "Geometry"), "area": QT_TRANSLATE_NOOP("@default", "Areas"),
                  "member": QT_TRANSLATE_NOOP("@default", "Household members"), "date": QT_TRANSLATE_NOOP("@default", "Dates"),
                  "encoding": QT_TRANSLATE_NOOP("@default", "Encoding")}
CLASS_NAMES = {"share_only": QT_TRANSLATE_NOOP("@default", "Share-only (no parcel of its own)"),
               "unmatched": QT_TRANSLATE_NOOP("@default", "Map and table do not match"),
               "contract_register_mismatch": QT_TRANSLATE_NOOP("@default", "Contract and registered areas differ"),
               "measured_differs": QT_TRANSLATE_NOOP("@default", "Measured area differs"),
               "consistent": QT_TRANSLATE_NOOP("@default", "Consistent")}
STATUS_NAMES = {"待协商": QT_TRANSLATE_NOOP("@default", "To be consulted"), "以合同面积为准": QT_TRANSLATE_NOOP("@default", "Contract area prevails"),
                "以登簿面积为准": QT_TRANSLATE_NOOP("@default", "Registered area prevails"), "重新测量": QT_TRANSLATE_NOOP("@default", "Re-measure"),
                "其他": QT_TRANSLATE_NOOP("@default", "Other"), "（未填）": QT_TRANSLATE_NOOP("@default", "(not recorded)")}


def severity_name(code):
    return tr(SEVERITY_NAMES[code]) if code in SEVERITY_NAMES else (code or "")


def category_name(code):
    return tr(CATEGORY_NAMES[code]) if code in CATEGORY_NAMES else (code or "")


def class_name(code):
    return tr(CLASS_NAMES[code]) if code in CLASS_NAMES else (code or "")


def status_name(value):
    return tr(STATUS_NAMES[value]) if value in STATUS_NAMES else (value or "")


def chinese_ui():
    """True when the plugin's zh_CN translation is installed (QGIS runs in Chinese)."""
    return tr("Land Contract Bridge") != "Land Contract Bridge"
