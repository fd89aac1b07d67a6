"""Print the plugin's HTML reports to A4 PDF, page by page, with Qt (works in qgis_process, no browser).

The report's own HTML (resources/templates) stays the one source: the body is cut into blocks. Headings,
paragraphs and images are laid out by QTextDocument one block at a time; every top-level <table> is laid out
here row by row, so that

- a table of 40,000 rows costs time in proportion to its rows (QTextDocument lays out one huge table in
  quadratic time and prints it in one call: no progress, no cancel);
- cells get their padding, columns are wide enough for their longest unbreakable token (a 19-digit DKBM never
  wraps), a row is never cut by a page break, and the header rows (<th> rows at the top) are repeated on each
  page, under the table's heading marked 续 (continued);
- a heading stays with what follows it, and a signature table (class "sign") never sits alone on the last page:
  it takes the last rows of the table before it along;
- every page has a footer with the document title and 第 n 页 共 N 页.

Progress: parse, measure, paginate and paint report to a core.errors.Progress, which also cancels. The painting
may run in a worker thread (processing/worker.py): QPdfWriter, QTextDocument and fonts are thread-safe there."""
import re
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

from qgis.PyQt.QtCore import QLineF, QMarginsF, QRectF, Qt
from qgis.PyQt.QtGui import (QColor, QFont, QFontDatabase, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter,
                             QPen, QTextDocument)  # noqa: F401

from ..core.errors import NULL_PROGRESS
from ..core.output import atomic_path

CJK_FAMILIES = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun", "AR PL UMing CN"]
MONO_FAMILIES = ["DejaVu Sans Mono", "Noto Sans Mono", "Consolas", "Menlo", "Courier New"]
RESOLUTION = 96  # device pixels per inch: the templates' px (image widths) mean what they mean in a browser
MARGIN_MM = 12
FOOTER_PT = 7.5
TABLE_PT = 8.5
SMALL_PT = 7.0
MONO_PT = 6.5
PAD_V_PT, PAD_H_PT = 2.0, 3.5  # cell padding
BLOCK_GAP_PT = 4.0
PULL_ROWS = 3  # rows of the preceding table that go along with a signature block onto a new page
COLOURS = {"ok": "#1b5e20", "bad": "#b71c1c", "small": "#333333"}
VOID = {"br", "wbr", "img", "hr", "meta", "link", "input", "col", "area", "base", "source"}
HEADINGS = {"h1", "h2", "h3", "h4"}
_WS = re.compile(r"\s+")
_TOKENS = re.compile(r"[\x21-\x7e]+|[^\s\x21-\x7e]")  # unbreakable runs: ASCII words (codes, numbers) or one CJK character


def _first(families, candidates):
    for f in candidates:
        if f in families:
            return f
    return None


def cjk_family():
    return _first(set(QFontDatabase().families()), CJK_FAMILIES)


def mono_family():
    return _first(set(QFontDatabase().families()), MONO_FAMILIES)


# ------------------------------------------------------------------ HTML → blocks
@dataclass
class Cell:
    text: str
    colspan: int = 1
    th: bool = False
    styles: frozenset = frozenset()
    width: str = ""  # the width attribute of a header cell (e.g. "40%")


@dataclass
class Table:
    rows: list = field(default_factory=list)  # [[Cell]]
    border: bool = True
    sign: bool = False
    padding: float = None  # cellpadding attribute (px), None: the default padding
    caption: str = ""  # the heading the table belongs to, repeated with 续 on continuation pages
    header_n: int = 0


@dataclass
class Rich:
    html: str
    tag: str
    text: str = ""


class _Parser(HTMLParser):
    """Cuts a report's HTML into top-level blocks: Table (parsed into cells) and Rich (HTML for QTextDocument)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.css, self.title, self.blocks = "", "", []
        self._in = None  # "style", "title"
        self._body = False
        self._rich = None  # [tag, depth, parts, text parts]
        self._table = None
        self._tdepth = 0
        self._row = None
        self._cell = None  # dict(text=[], ...)
        self._spans = []  # inner elements of the current cell: [classes, bold, start]
        self._heading = ""

    # the body is whatever is not head; tolerate fragments without <body>
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("style", "title"):
            self._in = tag
            return
        if tag in ("html", "head", "meta", "link"):
            return
        if tag == "body":
            self._body = True
            return
        if self._table is not None:
            return self._table_start(tag, a)
        if self._rich is not None:
            if tag not in VOID:
                self._rich[1] += 1
            self._rich[2].append(self._tag(tag, attrs, tag in VOID))
            if tag == "br":
                self._rich[3].append(" ")
            return
        if tag == "table":
            cls = set((a.get("class") or "").split())
            pad = a.get("cellpadding")
            self._table = Table(border=a.get("border", "1") != "0" and "sign" not in cls, sign="sign" in cls,
                                padding=float(pad) if pad and pad.replace(".", "", 1).isdigit() else None, caption=self._heading)
            self._tdepth = 1
            return
        self._rich = [tag, 0 if tag in VOID else 1, [self._tag(tag, attrs, tag in VOID)], []]
        if tag in VOID:
            self._close_rich()

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._in = None
            return
        if tag in ("html", "head", "body"):
            return
        if self._table is not None:
            return self._table_end(tag)
        if self._rich is not None and tag not in VOID:
            self._rich[2].append(f"</{tag}>")
            self._rich[1] -= 1
            if self._rich[1] <= 0:
                self._close_rich()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_data(self, data):
        if self._in == "style":
            self.css += data
            return
        if self._in == "title":
            self.title += data
            return
        if self._table is not None:
            if self._cell is not None:
                self._cell["text"].append(data)
            return
        if self._rich is not None:
            self._rich[2].append(escape(data, quote=False))
            self._rich[3].append(data)
        elif data.strip():
            self.blocks.append(Rich(f"<p>{escape(data.strip(), quote=False)}</p>", "p", data.strip()))

    @staticmethod
    def _tag(tag, attrs, void):
        at = "".join(f' {k}="{escape(v or "", quote=True)}"' for k, v in attrs)
        return f"<{tag}{at}{' /' if void else ''}>"

    def _close_rich(self):
        tag, _d, parts, text = self._rich
        self._rich = None
        plain = _WS.sub(" ", "".join(text)).strip()
        if tag in HEADINGS:
            self._heading = plain
        if tag in VOID and tag != "img" and tag != "hr":
            return
        self.blocks.append(Rich("".join(parts), tag, plain))

    # tables
    def _table_start(self, tag, a):
        if tag == "table":
            self._tdepth += 1  # a nested table: its text joins the current cell
        elif tag == "tr" and self._tdepth == 1:
            self._row = []
        elif tag in ("td", "th") and self._tdepth == 1 and self._row is not None:
            span = a.get("colspan") or "1"
            self._cell = dict(text=[], th=tag == "th", colspan=int(span) if span.isdigit() else 1,
                              styles=set((a.get("class") or "").split()), width=a.get("width") or "", inner=[])
            self._spans = []
        elif self._cell is not None:
            if tag == "br":
                self._cell["text"].append("\n")
            elif tag not in VOID:
                cls = set((a.get("class") or "").split())
                if tag in ("b", "strong"):
                    cls.add("b")
                self._spans.append([cls, len("".join(self._cell["text"])), tag])

    def _table_end(self, tag):
        if tag == "table":
            self._tdepth -= 1
            if self._tdepth == 0:
                t = self._table
                self._table = None
                t.header_n = 0
                for row in t.rows:
                    if not all(c.th for c in row):
                        break
                    t.header_n += 1
                if t.header_n >= len(t.rows):
                    t.header_n = 0  # a table of header cells only: nothing to repeat
                if t.rows:
                    self.blocks.append(t)
        elif tag in ("td", "th") and self._cell is not None:
            raw = "".join(self._cell["text"])
            styles = set(self._cell["styles"])
            for cls, start, end in self._cell["inner"]:  # a <span class>/<b> around the whole text styles the cell
                if not raw[:start].strip() and not raw[end:].strip():
                    styles |= cls
            text = "\n".join(_WS.sub(" ", line).strip() for line in raw.split("\n")).strip()
            self._row.append(Cell(text, self._cell["colspan"], self._cell["th"], frozenset(styles), self._cell["width"]))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self._table.rows.append(self._row)
            self._row = None
        elif self._cell is not None and self._spans and self._spans[-1][2] == tag:
            cls, start, _t = self._spans.pop()
            if cls:
                self._cell["inner"].append((cls, start, len("".join(self._cell["text"]))))

    def close(self):
        super().close()
        if self._rich is not None:
            self._close_rich()


def parse(html, progress=NULL_PROGRESS, chunk=1 << 17):
    """(title, css, blocks) of a report's HTML, fed in chunks (progress and cancel between them)."""
    p = _Parser()
    n = len(html) or 1
    for start in range(0, len(html), chunk):
        progress.check()
        p.feed(html[start:start + chunk])
        progress.set(100.0 * min(n, start + chunk) / n)
    p.close()
    return p.title.strip(), p.css, p.blocks


# ------------------------------------------------------------------ layout and painting
class _Fonts:
    """The fonts of the table cells, their metrics on the PDF device, and a cache of measured heights."""

    def __init__(self, device, family, mono):
        self.device = device
        self.family, self.mono = family, mono
        self._cache = {}
        self._fm = {}
        self._heights = {}

    def font(self, styles, th=False):
        key = (frozenset(s for s in styles if s in ("small", "mono", "b", "ok", "bad")), th)
        f = self._cache.get(key)
        if f is None:
            mono = "mono" in styles and self.mono
            f = QFont(self.mono if mono else (self.family or QFont().family()))
            f.setPointSizeF(MONO_PT if mono else SMALL_PT if "small" in styles else TABLE_PT)
            f.setBold(th or bool({"b", "ok", "bad"} & set(styles)))
            self._cache[key] = f
            self._fm[key] = QFontMetricsF(f, self.device)
        return f, self._fm[key]

    def height(self, text, styles, th, width):
        """Height of `text` wrapped into `width` device pixels."""
        f, fm = self.font(styles, th)
        if not text:
            return fm.height()
        key = (text, styles, th, round(width))
        h = self._heights.get(key)
        if h is None:
            if "\n" not in text and fm.horizontalAdvance(text) <= width - 2:
                h = fm.height()
            else:
                h = fm.boundingRect(QRectF(0, 0, width, 1e6), int(Qt.TextFlag.TextWordWrap), text).height()
            if len(self._heights) < 200000:
                self._heights[key] = h
        return h

    def token_width(self, text, styles, th):
        """Width of the longest unbreakable run of `text` (a code, a number) and of its longest line."""
        _f, fm = self.font(styles, th)
        tokens = max(_TOKENS.findall(text), key=len, default="")
        longest = max(text.split("\n"), key=len, default="")
        return fm.horizontalAdvance(tokens), fm.horizontalAdvance(longest)


class _Measured:
    """A table laid out: column x positions, row heights, header height."""

    def __init__(self, table, widths, heights, pad):
        self.table, self.widths, self.heights, self.pad = table, widths, heights, pad
        self.x = [0.0]
        for w in widths:
            self.x.append(self.x[-1] + w)

    def header_height(self):
        return sum(self.heights[: self.table.header_n])


class PdfReport:
    """One HTML report printed to a PDF, page by page."""

    def __init__(self, html, title="", landscape=False):
        self.html, self.title, self.landscape = html, title, landscape
        self.pages = []  # [[(kind, obj, y, extra)]]

    # px helpers
    def _pt(self, pt):
        return pt * RESOLUTION / 72.0

    def write(self, target, progress=NULL_PROGRESS):
        """Write the PDF atomically; returns the number of pages."""
        prog = progress
        prog.info("PDF：解析报告 / reading the report")
        doc_title, css, blocks = parse(self.html, prog.sub(0, 20))
        self.title = self.title or doc_title
        with atomic_path(target, ".pdf") as tmp:
            writer = QPdfWriter(str(tmp))
            writer.setTitle(self.title)
            writer.setCreator("Land Contract Bridge")
            writer.setResolution(RESOLUTION)
            orient = QPageLayout.Orientation.Landscape if self.landscape else QPageLayout.Orientation.Portrait
            writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), orient, QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                             QPageLayout.Unit.Millimeter))
            rect = writer.pageLayout().paintRectPixels(writer.resolution())
            self.width = float(rect.width())
            self.footer_h = self._pt(FOOTER_PT) * 2.2
            self.height = float(rect.height()) - self.footer_h
            self.fonts = _Fonts(writer, cjk_family(), mono_family())
            self.css = css
            prog.info("PDF：排版 / laying out")
            items = self._measure(blocks, prog.sub(20, 40))
            self._paginate(items)
            prog.info(f"PDF：{len(self.pages)} 页 / pages")
            painter = QPainter()
            if not painter.begin(writer):
                from ..core.errors import LcbError
                raise LcbError("无法写出 PDF", "the PDF cannot be written", path=str(target))
            try:
                self._paint(writer, painter, prog.sub(40, 100))
            finally:
                painter.end()
            del writer
        return len(self.pages)

    # ---------------------------------------------------------------- measure
    def _rich_doc(self, block):
        doc = QTextDocument()
        doc.documentLayout().setPaintDevice(self.fonts.device)
        f = QFont(self.fonts.family or QFont().family())
        f.setPointSizeF(9)
        doc.setDefaultFont(f)
        doc.setDocumentMargin(0)
        doc.setDefaultStyleSheet(self.css)
        doc.setHtml(block.html)
        doc.setTextWidth(self.width)
        return doc

    def _measure(self, blocks, prog):
        """[(kind, block, measured)]: kind "rich" (QTextDocument, its height) or "table" (_Measured)."""
        out = []
        total = sum(len(b.rows) if isinstance(b, Table) else 1 for b in blocks) or 1
        done = 0
        for b in blocks:
            prog.check()
            if isinstance(b, Rich):
                doc = self._rich_doc(b)
                out.append(("rich", b, doc, doc.size().height()))
                done += 1
            else:
                m = self._measure_table(b, prog, done, total)
                out.append(("table", b, m, 0))
                done += len(b.rows)
            prog.set(100.0 * done / total)
        return out

    def _measure_table(self, t, prog, done, total):
        ncol = max(sum(c.colspan for c in row) for row in t.rows)
        pad_v = self._pt(PAD_V_PT) if t.padding is None else max(self._pt(PAD_V_PT), t.padding * 0.6)
        pad_h = self._pt(PAD_H_PT) if t.padding is None else max(self._pt(PAD_H_PT), t.padding)
        widths = self._widths(t, ncol, pad_h)
        heights = []
        fonts = self.fonts
        for i, row in enumerate(t.rows):
            if i % 500 == 0:
                prog.check()
                prog.set(100.0 * (done + i) / total)
            h, col = 0.0, 0
            for c in row:
                w = sum(widths[col:col + c.colspan]) - 2 * pad_h
                col += c.colspan
                ch = fonts.height(c.text, c.styles, c.th, max(w, 1.0))
                if ch > h:
                    h = ch
            heights.append(h + 2 * pad_v)
        return _Measured(t, widths, heights, (pad_v, pad_h))

    def _widths(self, t, ncol, pad_h):
        """Column widths: the header's width="x%" when given, else wide enough for each column's longest
        unbreakable token, the rest shared by how much text each column holds."""
        avail = self.width
        header = t.rows[0] if t.header_n else []
        pct = []
        if header and all(c.width.endswith("%") for c in header) and sum(c.colspan for c in header) == ncol == len(header):
            try:
                pct = [float(c.width[:-1]) for c in header]
            except ValueError:
                pct = []
        lo, hi = [0.0] * ncol, [0.0] * ncol
        rows = t.rows
        if len(rows) > 3000:  # the longest texts of each column decide; measure those and a spread of the others
            sample = rows[:1000] + rows[1000::max(1, len(rows) // 2000)]
            longest = {}
            for row in rows:
                col = 0
                for c in row:
                    if c.colspan == 1 and len(c.text) > len(longest.get(col, Cell("")).text):
                        longest[col] = c
                    col += c.colspan
            sample = sample + [[Cell("")] * k + [c] for k, c in longest.items()]
        else:
            sample = rows
        for row in sample:
            col = 0
            for c in row:
                if c.colspan == 1 and c.text:
                    tok, line = self.fonts.token_width(c.text, c.styles, c.th)
                    lo[col] = max(lo[col], tok)
                    hi[col] = max(hi[col], line)
                col += c.colspan
        lo = [x + 2 * pad_h + 3 for x in lo]  # + 3 px: what Qt's text layout needs beyond the measured advance
        hi = [max(h + 2 * pad_h + 3, lo_) for h, lo_ in zip(hi, lo)]
        if pct:
            w = [avail * p / sum(pct) for p in pct]
            if all(a >= b for a, b in zip(w, lo)):
                return w
        if sum(hi) <= avail:
            extra = avail - sum(hi)
            return [h + extra * h / sum(hi) for h in hi]
        if sum(lo) <= avail:
            # every column gets its unbreakable minimum; the room left is shared fairly: a column that needs little
            # more than that (a group name, a number) gets all it needs, the long texts share the rest and wrap
            w = list(lo)
            spare = avail - sum(lo)
            need = sorted(range(ncol), key=lambda k: hi[k] - lo[k])
            for n, k in enumerate(need):
                give = min(hi[k] - lo[k], spare / (ncol - n))
                w[k] += give
                spare -= give
            return w
        return [low * avail / sum(lo) for low in lo]  # cannot fit: squeeze (long tokens then wrap)

    # ---------------------------------------------------------------- paginate
    def _paginate(self, items):
        gap = self._pt(BLOCK_GAP_PT)
        pages = [[]]
        y = 0.0

        def new_page():
            nonlocal y
            pages.append([])
            y = 0.0

        def first_height(k):
            """What must follow a heading on its page: the next rich block, or a table's header and first row."""
            if k >= len(items):
                return 0.0
            kind, b, m, h = items[k]
            if kind == "rich":
                return h if h < self.height / 3 else 0.0
            if b.sign:
                return sum(m.heights)
            return m.header_height() + (m.heights[m.table.header_n] if len(m.heights) > m.table.header_n else 0)

        def pull(page):
            """Move the last few rows (or the last paragraph) of `page` onto the next page, with a signature block."""
            moved = []
            while page and len(moved) < PULL_ROWS and page[-1][0] == "row":
                t_rows = [e for e in page if e[0] == "row" and e[1] is page[-1][1]]
                if len(t_rows) <= 1:
                    break
                moved.insert(0, page.pop())
            if not moved and len(page) > 1 and page[-1][0] == "rich":
                moved.insert(0, page.pop())
            return moved

        def place_rows(m, rows, cont):
            nonlocal y
            if cont and m.table.header_n:
                if m.table.caption:
                    ch = self._pt(TABLE_PT) * 1.8
                    pages[-1].append(("caption", m.table.caption + "（续）", y, ch))
                    y += ch
                pages[-1].append(("header", m, y, m.header_height()))
                y += m.header_height()
            for i in rows:
                pages[-1].append(("row", m, y, i))
                y += m.heights[i]

        for k, (kind, b, m, h) in enumerate(items):
            keep_prev = (kind == "table" and b.sign) or (kind == "rich" and b.tag in HEADINGS and k + 1 < len(items)
                                                          and items[k + 1][0] == "table" and items[k + 1][1].sign)
            if kind == "rich":
                need = h + (first_height(k + 1) if b.tag in HEADINGS else 0.0)
                if y > 0 and y + need > self.height:
                    moved = pull(pages[-1]) if keep_prev else []
                    new_page()
                    for e in moved:
                        if e[0] == "row":
                            place_rows(e[1], [e[3]], cont=e is moved[0])
                        else:
                            pages[-1].append((e[0], e[1], y, e[3]))
                            y += e[3] + gap
                if h <= self.height - y:
                    pages[-1].append(("rich", m, y, h))
                    y += h + gap
                else:  # taller than a page: sliced at page boundaries
                    off = 0.0
                    while off < h:
                        take = min(self.height - y, h - off)
                        pages[-1].append(("slice", m, y, (off, take)))
                        off += take
                        if off < h:
                            new_page()
                    y += take + gap
                continue
            # a table
            t = b
            hn = t.header_n
            body = list(range(hn, len(t.rows)))
            if t.sign:
                need = sum(m.heights)
                if y > 0 and y + need > self.height:
                    moved = pull(pages[-1])
                    new_page()
                    for e in moved:
                        if e[0] == "row":
                            place_rows(e[1], [e[3]], cont=e is moved[0])
                        else:
                            pages[-1].append((e[0], e[1], y, e[3]))
                            y += e[3] + gap
                place_rows(m, range(len(t.rows)), cont=False)
                y += gap
                continue
            first = m.header_height() + (m.heights[body[0]] if body else 0)
            if y > 0 and y + first > self.height:
                new_page()
            place_rows(m, range(hn), cont=False)
            for i in body:
                if y + m.heights[i] > self.height and y > m.header_height() + 1:
                    new_page()
                    place_rows(m, [], cont=True)
                pages[-1].append(("row", m, y, i))
                y += m.heights[i]
            y += gap
        self.pages = [p for p in pages if p] or [[]]

    # ---------------------------------------------------------------- paint
    def _paint(self, writer, painter, prog):
        n = len(self.pages)
        grid = QPen(QColor("#666666"))
        grid.setWidthF(0.6)
        self._grid = grid
        fam = self.fonts.family or QFont().family()
        foot = QFont(fam)
        foot.setPointSizeF(FOOTER_PT)
        cap = QFont(fam)
        cap.setPointSizeF(TABLE_PT)
        cap.setBold(True)
        self._th_fill = QColor("#e6e6e6")
        for p, page in enumerate(self.pages):
            self._state = {}
            if p % 5 == 0:
                prog.check()
                prog.set(100.0 * p / n)
            if p:
                writer.newPage()
            for kind, obj, y, extra in page:
                if kind in ("rich", "slice", "caption"):
                    self._state = {}
                if kind == "rich":
                    painter.save()
                    painter.translate(0, y)
                    obj.drawContents(painter, QRectF(0, 0, self.width, extra + 1))
                    painter.restore()
                elif kind == "slice":
                    off, take = extra
                    painter.save()
                    painter.setClipRect(QRectF(0, y, self.width, take))
                    painter.translate(0, y - off)
                    obj.drawContents(painter, QRectF(0, off, self.width, take))
                    painter.restore()
                elif kind == "caption":
                    painter.setFont(cap)
                    painter.setPen(QColor("#111111"))
                    painter.drawText(QRectF(0, y, self.width, extra), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), obj)
                elif kind == "header":
                    yy = y
                    for i in range(obj.table.header_n):
                        self._row(painter, obj, i, yy)
                        yy += obj.heights[i]
                elif kind == "row":
                    self._row(painter, obj, extra, y)
            painter.setFont(foot)
            painter.setPen(QColor("#444444"))
            fy = self.height + self.footer_h * 0.35
            box = QRectF(0, fy, self.width, self.footer_h * 0.65)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self.title)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), f"第 {p + 1} 页 共 {n} 页")
        prog.set(100)

    def _row(self, painter, m, i, y):
        t = m.table
        row = t.rows[i]
        h = m.heights[i]
        pad_v, pad_h = m.pad
        col = 0
        state = self._state
        lines = []
        for c in row:
            x0, x1 = m.x[col], m.x[min(col + c.colspan, len(m.x) - 1)]
            col += c.colspan
            if t.border:
                if c.th:
                    painter.fillRect(QRectF(x0, y, x1 - x0, h), self._th_fill)
                lines.append(QLineF(x0, y, x0, y + h))
            if c.text:
                key = (c.styles, c.th)
                if state.get("font") != key:
                    painter.setFont(self.fonts.font(c.styles, c.th)[0])
                    state["font"] = key
                colour = next((COLOURS[s] for s in ("bad", "ok", "small") if s in c.styles), "#111111")
                if state.get("pen") != colour:
                    painter.setPen(QColor(colour))
                    state["pen"] = colour
                align = Qt.AlignmentFlag.AlignRight if "n" in c.styles else (Qt.AlignmentFlag.AlignHCenter if c.th and t.border else Qt.AlignmentFlag.AlignLeft)
                painter.drawText(QRectF(x0 + pad_h, y + pad_v, x1 - x0 - 2 * pad_h, h - 2 * pad_v),
                                 int(align | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap), c.text)
        if t.border:
            right = m.x[min(col, len(m.x) - 1)]
            lines += [QLineF(right, y, right, y + h), QLineF(m.x[0], y, right, y), QLineF(m.x[0], y + h, right, y + h)]
            painter.setPen(self._grid)
            state["pen"] = "grid"
            painter.drawLines(lines)


def html_to_pdf(html, target, title="", landscape=False, progress=NULL_PROGRESS):
    """Print a report's HTML to an A4 PDF at `target` (atomically); returns the number of pages."""
    return PdfReport(html, title, landscape).write(target, progress)


__all__ = ["html_to_pdf", "cjk_family", "PdfReport", "parse"]
