"""The PDFs (processing/pdf.py) read back with poppler's pdftotext: page numbers, repeated table headers, codes
that never wrap, cell padding, a signature block that never sits alone; the consultation list written off the GUI
thread with progress, and a cancelled run that leaves no file."""
import re
import shutil
import subprocess
import threading

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QTimer

from land_contract_bridge.core.errors import Cancelled, Progress
from land_contract_bridge.processing.pdf import PdfReport, html_to_pdf, parse

DKBM = "3715260010010{:06d}"


def pages_text(pdf):
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext (poppler-utils) is needed; scripts/setup installs it")
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")
    return [re.sub(r"[ \t]+", "", p) for p in pages]  # pdftotext spaces CJK unevenly; lines stay lines


def report_html(n_rows, sign=True, note=""):
    """A report in the templates' own style: a heading, a table with a header row, the signature block."""
    rows = "".join(f'<tr><td>{i % 7 + 1}组</td><td>{DKBM.format(i)}</td><td>地块{i}</td><td class="n">{1000 + i:,.2f}</td>'
                   f'<td>{note}</td></tr>' for i in range(n_rows))
    body = (f'<h1>测试清单</h1><p class="sub">副标题</p><h2>一、清单</h2><table border="1" width="100%">'
            f'<tr><th>组</th><th>地块编码</th><th>地块名称</th><th>合同面积</th><th>备注</th></tr>{rows}</table>')
    if sign:
        body += '{% include "signature.html.j2" %}'
    from land_contract_bridge.core import report
    tpl = report.env().from_string('{% extends "base.html.j2" %}{% block body %}' + body + '{% endblock %}')
    return tpl.render()


def test_every_page_has_its_number_and_the_table_header(tmp_path):
    pdf = tmp_path / "r.pdf"
    n = html_to_pdf(report_html(400), pdf, title="测试清单")
    pages = pages_text(pdf)
    assert len(pages) == n > 5
    for i, text in enumerate(pages, 1):
        assert f"第{i}页共{n}页" in text
        if i > 1:
            assert "地块编码" in text and "（续）" in text  # header repeated, under its heading marked continued


def test_codes_never_wrap_and_cells_are_padded(tmp_path):
    pdf = tmp_path / "r.pdf"
    long_note = "这是一段很长的备注，" * 12
    html_to_pdf(report_html(60, note=long_note), pdf)
    text = "\n".join(pages_text(pdf))
    for i in range(60):
        assert DKBM.format(i) in text  # all 19 digits on one line
    # padding: the text of a cell starts inside its box, not on the line
    rep = PdfReport(report_html(3))
    _t, _css, blocks = parse(rep.html)
    table = next(b for b in blocks if hasattr(b, "rows"))
    rep.width, rep.fonts = 1000.0, None
    from qgis.PyQt.QtGui import QImage
    from land_contract_bridge.processing.pdf import _Fonts, cjk_family
    rep.fonts = _Fonts(QImage(10, 10, QImage.Format.Format_RGB32), cjk_family(), None)
    m = rep._measure_table(table, Progress(), 0, 1)
    pad_v, pad_h = m.pad
    assert pad_v >= 2 and pad_h >= 4
    code_col = m.widths[1]
    _f, fm = rep.fonts.font(frozenset(), False)
    assert code_col >= fm.horizontalAdvance(DKBM.format(1)) + 2 * pad_h


@pytest.mark.parametrize("rows", range(20, 60, 3))
def test_the_signature_block_never_sits_alone_on_the_last_page(tmp_path, rows):
    """Whatever the length of the list, the last page holds some of its rows together with the signatures."""
    rep = PdfReport(report_html(rows))
    pdf = tmp_path / "r.pdf"
    rep.write(pdf)
    last = rep.pages[-1]
    kinds = [k for k, *_ in last]
    assert "row" in kinds, kinds
    sign_rows = [e for e in last if e[0] == "row" and e[1].table.sign]
    assert sign_rows, "the signature block is on the last page"
    text = pages_text(pdf)[-1]
    assert "交接签字" in text and "移交单位" in text and DKBM[:10] in text


def test_the_inventory_pdf_ends_with_files_and_signatures(tmp_path, demo):
    from land_contract_bridge.core import inventory
    inv = inventory.build(demo)
    pdf = tmp_path / "inv.pdf"
    n = html_to_pdf(inventory.to_html(inv), pdf, title="资料清单")
    pages = pages_text(pdf)
    assert len(pages) == n
    assert "接收单位" in pages[-1] and "矢量数据" in pages[-1]  # the signatures with the last rows they sign
    assert all(f"共{n}页" in p for p in pages)


def test_progress_and_cancel(tmp_path):
    seen = []
    html_to_pdf(report_html(300), tmp_path / "a.pdf", progress=Progress(seen.append, None, None))
    assert seen[-1] == 100 and seen == sorted(seen) and len(seen) > 10
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(Cancelled):
        html_to_pdf(report_html(300), tmp_path / "b.pdf", progress=Progress(None, cancelled, None))
    assert not (tmp_path / "b.pdf").exists() and not list(tmp_path.glob(".b*"))


def test_worker_keeps_the_main_thread_responsive():
    """processing/worker.py: the work runs in another thread while the main thread keeps handling events."""
    from land_contract_bridge.processing import worker
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    main = threading.current_thread()

    def work(prog):
        import time
        t0 = time.time()
        while time.time() - t0 < 0.6:
            prog.check()
            prog.set((time.time() - t0) * 100)
            time.sleep(0.01)
        return threading.current_thread()

    where = worker.run(work)
    timer.stop()
    QCoreApplication.processEvents()
    assert where is not main
    assert len(ticks) >= 10  # the main thread's timer fired while the work ran

    class Feedback:
        def __init__(self):
            self.n = 0

        def isCanceled(self):  # noqa: N802
            self.n += 1
            return self.n > 3

        def setProgress(self, p):  # noqa: N802
            pass

        def pushInfo(self, text):  # noqa: N802
            pass

    with pytest.raises(Cancelled):
        worker.run(work, Feedback())


def test_report_pdf_off_the_gui_thread_and_a_cancel_leaves_no_file(plugin, qgis_processing, merged_gpkg, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback
    out = {k: str(tmp_path / f"list.{k[7:].lower()}") for k in ("OUTPUT_HTML", "OUTPUT_XLSX", "OUTPUT_PDF")}
    res = processing.run("lcb:discrepancy_report", dict(INPUT=str(merged_gpkg), **out))
    assert res["ROWS"] == 124
    text = pages_text(out["OUTPUT_PDF"])
    assert "面积差异协商清单" in text[0] and all("页共" in p for p in text)
    first = text[0]
    assert "合同总面积4,531.77≠登簿合计" in first and "4,401.00" in first  # point 4: why, in the PDF too

    class CancelAtPdf(QgsProcessingFeedback):
        def pushInfo(self, info):  # noqa: N802
            if "PDF" in info:
                self.cancel()

    again = {k: str(tmp_path / f"again.{k[7:].lower()}") for k in out}
    with pytest.raises(QgsProcessingException) as e:
        processing.run("lcb:discrepancy_report", dict(INPUT=str(merged_gpkg), **again), feedback=CancelAtPdf())
    assert "取消" in str(e.value)
    assert not any((tmp_path / f"again.{x}").exists() for x in ("html", "xlsx", "pdf"))  # nothing half-written


def test_codes_never_wrap_even_in_a_crowded_table(tmp_path):
    """Seven columns of long text beside the code: the text wraps, the 19-digit code's column stays wide enough for
    it (Qt would not break the digits, it would draw them over the next cell)."""
    long = "很长的说明文字，" * 6
    rows = "".join(f"<tr><td>{DKBM.format(i)}</td>" + f"<td>{long}</td>" * 7 + "</tr>" for i in range(30))
    rep = PdfReport(f'<table border="1"><tr><th>地块编码</th>{"<th>说明</th>" * 7}</tr>{rows}</table>')
    rep.write(tmp_path / "crowded.pdf")
    m = next(e[1] for e in rep.pages[0] if e[0] == "row")
    _f, fm = rep.fonts.font(frozenset(), False)
    assert m.widths[0] >= fm.horizontalAdvance(DKBM.format(0)) + 2 * m.pad[1]
    assert max(m.heights) > 3 * min(m.heights[:1])  # the text did wrap
