"""Change packages in a real (offscreen) QGIS: processing.run of both algorithms, the batch dialog, and the
面积差异 dock showing a change package's parcels after a desktop apply."""
import shutil
from pathlib import Path

import pytest

import changes_helpers as helpers
from batch import fill_batch


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    return helpers.build_world(tmp_path_factory.mktemp("qchanges"), registration_side=False)


def test_export_and_apply_through_processing_run(plugin, qgis_processing, states, tmp_path):
    from qgis import processing

    pkg = tmp_path / "pkg"
    res = processing.run("lcb:export_changes", {"BASE": str(states["A"]), "CURRENT": str(states["D2"]), "OUTPUT": str(pkg),
                                                "SENDER": "农业农村局", "RECEIVER": "自然资源局"})
    assert res["CHANGES"] == 33 and res["TRANSFER"] == 6 and res["EXCHANGE"] == 10 and res["CANCELLATION"] == 4
    assert (pkg / "manifest.json").exists()
    target = tmp_path / "T.gpkg"
    shutil.copy(states["A"], target)
    out = processing.run("lcb:apply_changes", {"INPUT": str(pkg), "TARGET": str(target)})
    assert (out["APPLIED"], out["CONFLICTS"], out["INSERTED"], out["CANCELLED"]) == (33, 0, 1, 1)
    # the plugin reacted to the announcement: the 面积差异 dock shows the package's parcels of the updated database
    dock = plugin.docks["discrepancy"]
    assert dock.path == str(target) and dock.package is not None
    shown = {dock.model.value(r, "DKBM") for r in range(dock.model.rowCount())}
    in_package = set(sum(states["changed"].values(), []))
    assert shown and shown <= {p.decode() for p in dock.package[1]}
    assert (in_package - set(states["changed"]["注销"])) <= shown  # every changed parcel still in the database is listed
    assert not (set(states["changed"]["注销"]) & shown)
    again = processing.run("lcb:apply_changes", {"INPUT": str(pkg), "TARGET": str(target)})
    assert again["APPLIED"] == 0 and again["ALREADY"] == 33
    tmp = processing.run("lcb:export_changes", {"BASE": str(states["D"]), "CURRENT": str(states["D2"]), "OUTPUT": "TEMPORARY_OUTPUT"})
    assert (Path(tmp["OUTPUT"]) / "manifest.json").is_file() and tmp["CHANGES"] == 33


def test_a_tampered_package_is_a_clean_processing_error(plugin, qgis_processing, states, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    pkg = tmp_path / "pkg"
    processing.run("lcb:export_changes", {"BASE": str(states["D"]), "CURRENT": str(states["D2"]), "OUTPUT": str(pkg)})
    (pkg / "extra.txt").write_text("x", "utf-8")
    target = tmp_path / "T.gpkg"
    shutil.copy(states["A"], target)
    with pytest.raises(QgsProcessingException) as e:
        processing.run("lcb:apply_changes", {"INPUT": str(pkg), "TARGET": str(target)})
    assert "extra.txt" in str(e.value) and "Traceback" not in str(e.value)


def test_apply_in_the_batch_dialog(plugin, qgis_processing, states, tmp_path):
    """Two packages into two databases in Processing's own batch dialog, run as the 'Run' button does."""
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects
    from qgis import processing
    from qgis.core import QgsApplication

    pkgs, targets = [], []
    for i, cur in enumerate((states["D2"], states["D"])):
        pkg = tmp_path / f"pkg{i}"
        processing.run("lcb:export_changes", {"BASE": str(states["D"]), "CURRENT": str(cur), "OUTPUT": str(pkg)})
        t = tmp_path / f"T{i}.gpkg"
        shutil.copy(states["A"], t)
        pkgs.append(pkg)
        targets.append(t)
    alg = QgsApplication.processingRegistry().createAlgorithmById("lcb:apply_changes")
    dlg = BatchAlgorithmDialog(alg)
    panel = dlg.mainWidget()
    ctx = dataobjects.createContext()
    rows = [{"INPUT": str(pkgs[0]), "TARGET": str(targets[0])}, {"INPUT": str(pkgs[1]), "TARGET": str(targets[1])}]
    fill_batch(panel, rows, ctx)
    dlg.runAlgorithm()
    dlg.close()
    import sqlite3
    count = [sqlite3.connect(t).execute("SELECT COUNT(*) FROM batches").fetchone()[0] for t in targets]
    assert count == [2, 1]  # the first database got the package's batch; an empty package changes nothing


def test_the_dock_shows_a_change_package(qgis_iface, states, tmp_path):
    from land_contract_bridge.core.changes import export_changes
    from land_contract_bridge.ui.discrepancy_dock import DiscrepancyDock

    pkg = tmp_path / "pkg"
    export_changes(states["A"], states["D2"], pkg)
    d = DiscrepancyDock(qgis_iface)
    assert d.open(states["A"], load_layer=False)
    every = d.model.rowCount()
    assert d.show_package(pkg)
    shown = {d.model.value(r, "DKBM") for r in range(d.model.rowCount())}
    from land_contract_bridge.core.changes import package
    concerned = {p for r in package.read_package(pkg)[1] for p in r["parcels"]}  # also the other parcels of the contracts involved
    assert shown == concerned - set(states["changed"]["首次登记"])  # the new parcel is not in A yet
    assert set(sum(states["changed"].values(), [])) - set(states["changed"]["首次登记"]) <= shown
    assert "转让" in d.package_label.text()
    assert d.state()["package"] == str(pkg)
    d.show_package(None)
    assert d.model.rowCount() >= every and d.package is None
