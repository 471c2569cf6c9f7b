"""Bbox reads that scan the table (many rows in the bbox) select exactly the rows the R-tree index selects."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from cimic_geo.schema import get_layer
from cimic_geo.store import connect, frames
from cimic_geo.store.cop_reads import count_in_bbox, grid_aggregate, read_ranked

BBOX = (0.0, 0.0, 1.0, 1.0)


def _infrastructure() -> gpd.GeoDataFrame:
    # against BBOX: p_in inside; p_edge on the east edge (intersects); p_out east of it; l_cross crosses it
    # with no vertex inside; l_near's extent (0.9..2 x 0.9..2) meets the bbox's corner but the line
    # (x + y = 2.9) stays away from it (the corner's x + y is 2); the triangle's extent (0.8..3) meets the
    # corner too, its hypotenuse x + y = 3.8 does not. In the bbox: l_cross, p_edge, p_in.
    geoms = [Point(0.5, 0.5), Point(1.0, 0.2), Point(1.5, 0.5), LineString([(-1, 0.5), (2, 0.5)]),
             LineString([(0.9, 2), (2, 0.9)]), Polygon([(0.8, 3), (3, 3), (3, 0.8)])]
    ids = ["p_in", "p_edge", "p_out", "l_cross", "l_near", "tri_near"]
    return gpd.GeoDataFrame({"id": ids, "name": ids, "sector": "power", "damage": "major",
                             "people_served": [10, 20, 40, 80, 160, 320]}, geometry=geoms, crs="EPSG:4326")


def _shelters() -> gpd.GeoDataFrame:
    # p_in and p_edge in BBOX (capacities 100 + 50), p_out not
    return gpd.GeoDataFrame({"id": ["p_in", "p_edge", "p_out"], "name": ["a", "b", "c"], "kind": "medical",
                             "capacity": [100, 50, 400], "occupancy": [10, 5, 40],
                             "status": ["open", "full", "open"]},
                            geometry=[Point(0.5, 0.5), Point(1.0, 0.2), Point(1.5, 0.5)], crs="EPSG:4326")


@pytest.mark.parametrize("scan_above", [0, 1_000_000])
def test_scan_and_index_reads_select_the_same_rows(empty_db: Path, monkeypatch: pytest.MonkeyPatch,
                                                  scan_above: int) -> None:
    monkeypatch.setattr(frames, "SCAN_ABOVE_ROWS", scan_above)
    with connect(empty_db) as store:
        store.write("infrastructure", _infrastructure())
        store.write("shelters", _shelters())
        later = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
        # the rule itself: three rows meet BBOX (counted through the index)
        assert frames._bbox_scan(store.con, get_layer("infrastructure"), bbox=BBOX, as_of=None) is (scan_above < 3)
        assert frames._bbox_scan(store.con, get_layer("infrastructure"), bbox=None, as_of=None) is False
        got = store.read("infrastructure", bbox=BBOX)
        assert sorted(got["id"]) == ["l_cross", "p_edge", "p_in"]
        assert sorted(store.read("infrastructure", bbox=BBOX, as_of=later)["id"]) == ["l_cross", "p_edge", "p_in"]
        assert count_in_bbox(store, "infrastructure", bbox=BBOX) == 3
        # largest people_served first: l_cross 80, p_edge 20, p_in 10
        ranked = read_ranked(store, "infrastructure", order_by="people_served", limit=2, bbox=BBOX)
        assert list(ranked["id"]) == ["l_cross", "p_edge"]
        # one cell of 10 degrees holds both shelters in BBOX: n 2, open 1, full 1, capacity 150, occupancy 15
        cells = grid_aggregate(store, "shelters", bbox=BBOX, cell_deg=10.0, category="status",
                               sums=("capacity", "occupancy"), as_of=later)
        assert len(cells) == 1
        row = cells.iloc[0]
        assert (row["n"], row["open"], row["full"], row["capacity"], row["occupancy"]) == (2, 1, 1, 150, 15)
        # mean position of (0.5, 0.5) and (1.0, 0.2)
        assert row.geometry.x == pytest.approx(0.75) and row.geometry.y == pytest.approx(0.35)
