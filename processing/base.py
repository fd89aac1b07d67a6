"""Shared plumbing for the lcb algorithms: translation, progress/cancel wiring, clean errors."""
import os
from pathlib import Path

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..core.errors import Cancelled, LcbError, Progress

ICON = str(Path(__file__).resolve().parent.parent / "resources" / "icon.svg")


CONTEXT = "@default"  # the context pylupdate5 gives bare tr("...") calls


def tr(text):
    return QCoreApplication.translate(CONTEXT, text)


def QT_TRANSLATE_NOOP(context, text):  # noqa: N802 - the name pylupdate5 looks for
    return text


class LcbAlgorithm(QgsProcessingAlgorithm):
    ID = ""
    NAME = ""  # English display name, translated through tr()
    GROUP = ""
    GROUP_ID = ""
    HELP = ""

    def tr(self, text):
        return tr(text)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def name(self):
        return self.ID

    def displayName(self):  # noqa: N802
        return self.tr(self.NAME)

    def group(self):
        return self.tr(self.GROUP)

    def groupId(self):  # noqa: N802
        return self.GROUP_ID

    def shortHelpString(self):  # noqa: N802
        return self.tr(self.HELP)

    def icon(self):
        return QIcon(ICON)

    @staticmethod
    def progress(feedback):
        if feedback is None:
            return Progress()
        return Progress(feedback.setProgress, feedback.isCanceled, feedback.pushInfo)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        profile = os.environ.get("LCB_PROFILE")  # developer aid: LCB_PROFILE=stats.prof writes cProfile stats
        try:
            if profile:
                import cProfile
                prof = cProfile.Profile()
                try:
                    return prof.runcall(self.execute, parameters, context, feedback)
                finally:
                    prof.dump_stats(profile)
            return self.execute(parameters, context, feedback)
        except LcbError as e:
            raise QgsProcessingException(e.text()) from None
        except Cancelled:
            raise QgsProcessingException(tr("Cancelled by the user. 已取消，未写出任何结果。")) from None

    def execute(self, parameters, context, feedback):
        raise NotImplementedError
