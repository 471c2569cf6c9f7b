"""How a view's read meets its bbox, told by the view's own count: the same answer the store's own count gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimic_geo.schema import get_layer
from cimic_geo.store import connect, frames
from cimic_geo.store.cop_reads import count_in_bbox, grid_aggregate, read_ranked, scan_known


@pytest.mark.parametrize("threshold", [0, 5, 40, 10_000])
def test_scan_known_from_the_count_agrees_with_the_index_count(monkeypatch: pytest.MonkeyPatch, demo_db: Path,
                                                               threshold: int) -> None:
    monkeypatch.setattr(frames, "SCAN_ABOVE_ROWS", threshold)
    with connect(demo_db, read_only=True) as store:
        x0, y0, x1, y1 = store.bbox()
        boxes = [(x0, y0, x1, y1), (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2), (x1 - 0.05, y1 - 0.05, x1, y1)]
        told = 0
        for layer, where in (("shelters", None), ("settlements", None), ("infrastructure", {"damage": ["major"]}),
                             ("shelters", {"status": ["open"]})):
            for box in boxes:
                n = count_in_bbox(store, layer, bbox=box, where=where)
                known = scan_known(n, where=where, layer=layer)
                truth = frames._bbox_scan(store.con, get_layer(layer), bbox=box, as_of=None)
                assert known in (None, truth), (layer, where, box, n)
                told += known is not None
                if where is None:  # the count is the index's count: always known
                    assert known == (n > frames.scan_above(layer))
                # a read told how gives the rows of one that counts for itself
                if known is not None:
                    a = store.read(layer, bbox=box, where=where, scan=known)
                    b = store.read(layer, bbox=box, where=where)
                    assert a.equals(b) or (a.empty and b.empty)
        assert told


def test_reads_told_how_to_scan_give_the_same_rows(demo_db: Path) -> None:
    """Told the store's own answer, a read gives exactly what it gives when it counts for itself. (Told the other
    answer, the grid's mean positions may differ in the last bits: the rows are summed in another order; the
    counts do not.)"""
    with connect(demo_db, read_only=True) as store:
        box = store.bbox()
        truth = frames._bbox_scan(store.con, get_layer("shelters"), bbox=box, as_of=None)
        for scan in (True, False):
            a = read_ranked(store, "settlements", order_by="population", limit=7, bbox=box, scan=scan)
            b = read_ranked(store, "settlements", order_by="population", limit=7, bbox=box)
            assert a["id"].tolist() == b["id"].tolist()
            g1 = grid_aggregate(store, "shelters", bbox=box, cell_deg=0.5, category="status", scan=scan)
            g2 = grid_aggregate(store, "shelters", bbox=box, cell_deg=0.5, category="status")
            counts = ["n", "open", "full", "closed", "damaged"]
            assert g1[counts].equals(g2[counts])
            if scan == truth:
                assert g1.drop(columns="geometry").equals(g2.drop(columns="geometry"))
                assert g1.geometry.equals(g2.geometry)


def test_point_layers_scan_from_fewer_rows_in_the_bbox_than_line_layers(monkeypatch: pytest.MonkeyPatch,
                                                                        empty_db: Path) -> None:
    """A table of points is cheap to scan: a read of a bbox scans it from a share of the rows that make a read
    of roads scan (fetching each row through the index costs more than the scan then), with the same rows."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    monkeypatch.setattr(frames, "SCAN_ABOVE_ROWS", 10)
    xs = [0.1 * i for i in range(1, 6)]  # five points and five roads in the box
    with connect(empty_db) as store:
        store.write("shelters", gpd.GeoDataFrame(
            {"id": [f"s{i}" for i in range(5)], "name": "s", "kind": "medical", "status": "open", "capacity": 10},
            geometry=[Point(x, 0.5) for x in xs], crs="EPSG:4326"))
        store.write("roads", gpd.GeoDataFrame(
            {"id": [f"r{i}" for i in range(5)], "name": "r", "road_class": "primary"},
            geometry=[LineString([(x, 0.1), (x, 0.9)]) for x in xs], crs="EPSG:4326"))
        box = (0.0, 0.0, 1.0, 1.0)
        assert frames.scan_above("shelters") == pytest.approx(10 * frames.POINT_SCAN_SHARE)
        assert frames.scan_above("shelters") < 5 < frames.scan_above("roads")
        assert frames._bbox_scan(store.con, get_layer("shelters"), bbox=box, as_of=None) is True
        assert frames._bbox_scan(store.con, get_layer("roads"), bbox=box, as_of=None) is False
        assert scan_known(5, layer="shelters") is True and scan_known(5, layer="roads") is False
        for layer in ("shelters", "roads"):
            assert store.read(layer, bbox=box, scan=True).equals(store.read(layer, bbox=box, scan=False))
