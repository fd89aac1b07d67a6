"""Errors a user sees: always bilingual, naming the file, record and field."""


class LcbError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    def __init__(self, zh, en, path=None, record=None, field=None):
        self.zh, self.en, self.path, self.record, self.field = zh, en, path, record, field
        super().__init__(self.text())

    def where(self):
        parts = []
        if self.path:
            parts.append(f"文件 file: {self.path}")
        if self.record:
            parts.append(f"记录 record: {self.record}")
        if self.field:
            parts.append(f"字段 field: {self.field}")
        return "; ".join(parts)

    def text(self):
        w = self.where()
        return f"{self.zh} / {self.en}" + (f" ({w})" if w else "")


class Cancelled(Exception):
    """The user cancelled a long run."""


class Progress:
    """Progress and cancel hooks passed into long core functions; processing wires them to its feedback."""

    def __init__(self, report=None, cancelled=None, log=None):
        self._report, self._cancelled, self._log = report, cancelled, log

    def set(self, percent):
        if self._report:
            self._report(max(0.0, min(100.0, float(percent))))

    def check(self):
        if self._cancelled and self._cancelled():
            raise Cancelled("已取消 / cancelled")

    def info(self, text):
        if self._log:
            self._log(text)

    def sub(self, start, end):
        """A Progress whose 0..100 maps to start..end of this one."""
        return Progress(lambda p: self.set(start + (end - start) * p / 100.0), self._cancelled, self._log)


NULL_PROGRESS = Progress()
