"""Shared plumbing for the lcb algorithms: names and help, progress/cancel wiring, clean errors, and the
announcement of a finished run (processing/hooks.py) for whoever listens."""
import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException

from ..core.errors import Cancelled, LcbError, Progress
from ..qtcommon import icon, tr
from . import hooks
from .help import short_help


class LcbAlgorithm(QgsProcessingAlgorithm):
    ID = ""
    NAME = ""  # English display name, translated through tr()
    GROUP = ""
    GROUP_ID = ""
    _results = None  # the last run's outputs, announced by postProcessAlgorithm

    def tr(self, text):
        return tr(text)

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
        return icon()

    @staticmethod
    def progress(feedback):
        if feedback is None:
            return Progress()
        return Progress(feedback.setProgress, feedback.isCanceled, feedback.pushInfo)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        self._results = None
        profile = os.environ.get("LCB_PROFILE")  # developer aid: LCB_PROFILE=stats.prof writes cProfile stats
        try:
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
            raise QgsProcessingException(e.text()) from None
        except Cancelled:
            raise QgsProcessingException(tr("Cancelled by the user. 已取消，未写出任何结果。")) from None

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        """Runs in the main thread after a successful run: announce the results (the desktop plugin opens its
        docks; in qgis_process nobody listens)."""
        if self._results is not None:
            hooks.announce(self.ID, dict(self._results), context, feedback)
        return {}

    def execute(self, parameters, context, feedback):
        raise NotImplementedError
