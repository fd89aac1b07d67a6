"""Shared plumbing for the lcb algorithms: names and help, progress/cancel wiring, clean errors, and the
announcement of a finished run (processing/hooks.py) for whoever listens."""
import os
import sys

from qgis.core import (Qgis, QgsApplication, QgsMessageLog, QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingOutputLayerDefinition,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFileDestination, QgsProcessingParameterFolderDestination)
from qgis.PyQt.QtCore import QCoreApplication

from ..core.errors import Cancelled, LcbError, Progress
from ..core.output import check_writable, write_error
from ..qtcommon import icon, tr
from . import hooks
from .help import short_help


class LcbAlgorithm(QgsProcessingAlgorithm):
    ID = ""
    NAME = ""  # English display name, translated through tr()
    GROUP = ""
    GROUP_ID = ""
    _results = None  # the last run's outputs, announced by postProcessAlgorithm

    def createInstance(self):  # noqa: N802
        return type(self)()

    def name(self):
        return self.ID

    def displayName(self):  # noqa: N802
        return tr(self.NAME)

    def group(self):
        return tr(self.GROUP)

    def groupId(self):  # noqa: N802
        return self.GROUP_ID

    def shortHelpString(self):  # noqa: N802
        """The algorithm's entry in processing/help/lcb.yaml, translated."""
        return short_help(self.ID)

    def icon(self):
        return icon(self.ID)

    @staticmethod
    def progress(feedback):
        if feedback is None:
            return Progress()
        return Progress(feedback.setProgress, feedback.isCanceled, feedback.pushInfo)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        self._results = None
        profile = os.environ.get("LCB_PROFILE")  # developer aid: LCB_PROFILE=stats.prof writes cProfile stats
        self._outputs = []
        try:
            self._check_outputs(parameters, context)  # an unwritable output fails now, not after the work
            if profile:
                import cProfile
                prof = cProfile.Profile()
                try:
                    self._results = prof.runcall(self.execute, parameters, context, feedback)
                finally:
                    prof.dump_stats(profile)
            else:
                self._results = self.execute(parameters, context, feedback)
            return self._results
        except LcbError as e:
            self._fail(e.text())
        except Cancelled:
            self._fail(tr("Cancelled by the user. 已取消，未写出任何结果。"))
        except QgsProcessingException as e:  # QGIS's own, e.g. a sink it could not create: shown once as well
            self._fail(str(e.args[0]) if e.args else str(e))
        except ImportError as e:  # the algorithms import their libraries when they run: a broken one says how to fix it
            self._fail(self._import_failed(e))
        except Exception as e:  # noqa: BLE001 - no Python traceback ever reaches the user
            self._fail(self._unexpected(e))

    def _check_outputs(self, parameters, context):
        for p in self.destinationParameterDefinitions():
            folder = isinstance(p, QgsProcessingParameterFolderDestination)
            if isinstance(p, QgsProcessingParameterFileDestination) or folder:
                path = self.parameterAsFileOutput(parameters, p.name(), context)
            elif isinstance(p, QgsProcessingParameterFeatureSink):
                path = self._sink_path(parameters.get(p.name()), context)
            else:
                continue
            path = (path or "").split("|")[0]
            if path and os.path.isabs(path):  # not memory: layers or provider URIs
                self._outputs.append(path)
                check_writable(os.path.join(path, "_") if folder else path)  # a folder: something can be written in it

    @staticmethod
    def _sink_path(value, context):
        """The file a feature sink parameter names, read without parameterAsOutputLayer(): that call also registers
        the output to be loaded into the project (for a temporary output under the bogus name 'memory:<title>',
        which the dialog then reports as a layer that was not correctly generated)."""
        if isinstance(value, QgsProcessingOutputLayerDefinition):
            value = value.sink.valueAsString(context.expressionContext())[0]
        text = str(value or "")
        return "" if text in ("TEMPORARY_OUTPUT",) or text.startswith(("memory:", "ogr:", "postgres:", "spatialite:")) else text

    def _import_failed(self, e):
        """A run that failed to import something. The check when the plugin loads reads the installed versions
        without importing (core/deps.py); a required package that is there but does not import (a broken install, a
        build for another numpy) shows up here: the same message as at load, with the command that reinstalls it."""
        from ..core import deps

        problems = deps.check(imports=True)
        if problems:
            return deps.message(problems, failure=f"{type(e).__name__}: {e}")
        return self._unexpected(e)

    def _unexpected(self, e):
        where = getattr(e, "filename", None) or (self._outputs[0] if len(self._outputs) == 1 else ", ".join(self._outputs))
        err = write_error(e, where) if where else None
        if err is not None:
            return err.text()
        import traceback
        detail = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        QgsMessageLog.logMessage(detail, "Land Contract Bridge", Qgis.MessageLevel.Info)  # Info: in the desktop's log panel, not on stderr
        if os.environ.get("LCB_DEBUG"):
            sys.stderr.write(detail)
        return LcbError(f"意外错误（{type(e).__name__}：{e}），未写出任何结果；请将此信息告知插件开发者",
                        f"unexpected error ({type(e).__name__}: {e}); nothing was written; please report this to the plugin's developers").text()

    @staticmethod
    def close_sink(sink, dest, expected):
        """Close a feature sink and make sure all `expected` features reached its file. GDAL may take a full disk
        quietly (features refused, or a GeoPackage commit that fails only when the sink closes): then the cut file is
        removed and the error is one clear line."""
        from osgeo import gdal
        from qgis.PyQt import sip
        last = sink.lastError() if hasattr(sink, "lastError") else ""
        sip.delete(sink)  # the writer commits and closes here
        path = (dest or "").split("|")[0]
        if not os.path.isabs(path) or not os.path.exists(path):
            return
        try:
            ds = gdal.OpenEx(path, gdal.OF_VECTOR | gdal.OF_READONLY)
            count = ds.GetLayer(0).GetFeatureCount() if ds is not None and ds.GetLayerCount() else 0
            ds = None
        except RuntimeError as e:
            count, last = -1, last or str(e)
        if count == expected:
            return
        for extra in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + extra):
                os.unlink(path + extra)
        err = write_error(RuntimeError(last), path)  # says "disk full" when the disk is
        raise err or LcbError(f"输出图层只写入了 {max(count, 0)}/{expected} 个要素，已删除：{last}",
                              f"only {max(count, 0)} of {expected} features reached the output layer, which was removed: {last}", path=path)

    @staticmethod
    def _fail(text):
        """Raise QgsProcessingException(text) so that the user sees it once. QgsProcessingAlgorithm::run() logs the
        exception as a Critical message and then calls feedback.reportError(), whose base class logs it again;
        qgis_process echoes every Critical log message to stderr, and its console feedback also prints
        "ERROR:<tab>text" (not with --json): three copies, two with --json. So in qgis_process, which ends after
        this algorithm, the message log is silenced and the text printed once (--json) or left to "ERROR:"."""
        if QgsApplication.platform() == "qgis_process":
            QgsApplication.messageLog().blockSignals(True)
            if "--json" in QCoreApplication.arguments():
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
        raise QgsProcessingException(text) from None

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        """Runs in the main thread after a successful run: announce the results (the desktop plugin opens its
        docks; in qgis_process nobody listens)."""
        if self._results is not None:
            hooks.announce(self.ID, dict(self._results), context, feedback)
        return {}

    def execute(self, parameters, context, feedback):
        raise NotImplementedError
