"""HTML reports from jinja2 templates in resources/templates (self-contained, A4, Chinese)."""
import re

import jinja2

from .paths import TEMPLATES  # noqa: F401 - report.TEMPLATES is read by others

_env = None


def env():
    global _env
    if _env is None:
        _env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                  autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
        _env.filters["num"] = lambda v, nd=2: "" if v is None else (f"{v:,.{nd}f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else v)
        _env.filters["wrap"] = breakable
    return _env


def render(name, progress=None, **kw):
    """The template `name` rendered with kw; with a core.errors.Progress, cancellable while it renders (a list of
    40,000 parcels takes seconds): jinja2 streams the output and the cancel is checked every few hundred pieces."""
    template = env().get_template(name)
    if progress is None:
        return template.render(**kw)
    parts = []
    for i, piece in enumerate(template.generate(**kw)):
        parts.append(piece)
        if i % 500 == 0:
            progress.check()
    return "".join(parts)


def group_hex(h, n=8):
    return " ".join(h[i:i + n] for i in range(0, len(h), n))


_LONG_DIGITS = re.compile(r"\d{15,}")


def breakable(text):
    """Insert <wbr> break points into long digit runs (codes in file names) so table cells can wrap.
    Invisible in print; it also keeps 18-digit codes from reading as ID numbers to scanners."""
    from markupsafe import Markup, escape

    out = _LONG_DIGITS.sub(lambda m: "\x00".join(m.group(0)[i:i + 14] for i in range(0, len(m.group(0)), 14)), str(text or ""))
    return Markup(str(escape(out)).replace("\x00", "<wbr>"))
