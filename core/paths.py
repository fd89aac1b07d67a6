"""Where the plugin's own files are (no qgis import: used by core, processing and ui alike)."""
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent
RESOURCES = PLUGIN_DIR / "resources"
TEMPLATES = RESOURCES / "templates"
STYLES = RESOURCES / "styles"
ICON = RESOURCES / "icon.svg"
I18N = PLUGIN_DIR / "i18n"


def resource(*parts):
    """Path of a file under resources/ (e.g. resource("styles", "cbdk.qml"))."""
    return RESOURCES.joinpath(*parts)
