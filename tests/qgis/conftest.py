import pytest


@pytest.fixture
def plugin(qgis_iface):
    from land_contract_bridge import classFactory

    p = classFactory(qgis_iface)
    p.initGui()
    yield p
    p.unload()


@pytest.fixture
def merged_gpkg(demo, tmp_path):
    from land_contract_bridge.core import merge

    target = tmp_path / "reg.gpkg"
    merge.merge(demo, target)
    return target


@pytest.fixture(autouse=True)
def _clean_project():
    from qgis.core import QgsProject

    yield
    QgsProject.instance().removeAllMapLayers()
