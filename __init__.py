"""Land Contract Bridge (确权成果衔接) QGIS plugin."""


def classFactory(iface):  # noqa: N802 - QGIS entry point name
    from .plugin import LandContractBridgePlugin

    return LandContractBridgePlugin(iface)
