"""Print an HTML report to an A4 PDF with Qt's text engine (works in qgis_process, no browser)."""
from qgis.PyQt.QtCore import QMarginsF, QSizeF
from qgis.PyQt.QtGui import QFont, QFontDatabase, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from ..core.output import atomic_path

CJK_FAMILIES = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun", "AR PL UMing CN"]


def cjk_family():
    families = set(QFontDatabase().families())
    for f in CJK_FAMILIES:
        if f in families:
            return f
    return None


def html_to_pdf(html, target, title="", landscape=False):
    with atomic_path(target, ".pdf") as tmp:
        writer = QPdfWriter(str(tmp))
        writer.setTitle(title)
        writer.setCreator("Land Contract Bridge")
        writer.setResolution(96)
        orientation = QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), orientation, QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
        doc = QTextDocument()
        fam = cjk_family()
        font = QFont(fam) if fam else QFont()
        font.setPointSizeF(9)
        doc.setDefaultFont(font)
        doc.setHtml(html)
        rect = writer.pageLayout().paintRectPixels(writer.resolution())
        doc.setPageSize(QSizeF(rect.width(), rect.height()))
        doc.print_(writer)
        del writer
