"""The COP reads the snapshots' time range once per store content, and again after a commit changes it."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box
from test_history import BBOX, D

from cimic_geo.maps.cop_view import query_view
from cimic_geo.store import connect
from cimic_geo.store.cop_reads import layers_as_of
from cimic_geo.store.core import Store


def _fronts(days: list[int]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"F{d}" for d in days], "valid_from": [D[d] for d in days],
         "valid_to": [D[e] for e in days[1:]] + [None]},
        geometry=[LineString([(38.5 - 0.01 * d, 47.0), (38.5 - 0.01 * d, 50.0)]) for d in days], crs="EPSG:4326")


def test_the_time_range_is_read_once_per_store_content(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    calls: list[str] = []
    real = Store.time_range

    def counted(self: Store) -> object:
        calls.append(str(self.path))
        return real(self)

    monkeypatch.setattr(Store, "time_range", counted)
    with connect(empty_db) as store:
        store.write("front_line", _fronts([1, 2, 4]))
    with connect(empty_db, read_only=True) as store:
        assert layers_as_of(store, D[2]) == D[2]
        assert layers_as_of(store, D[4]) is None  # the newest snapshot: the current state
        # a view's layers read at a past time each ask for it: the range was read once
        query_view(store, bbox=BBOX, zoom=9, as_of=D[2], visible=["shelters", "settlements", "infrastructure"])
        assert len(calls) == 1
    # a commit that adds a later snapshot (an occupied area of day 5): the range is read again
    with connect(empty_db) as store:
        store.write("occupied_area", gpd.GeoDataFrame({"id": ["O5"], "valid_from": [D[5]], "valid_to": [None]},
                                                      geometry=[box(38.5, 47.0, 39.0, 50.0)], crs="EPSG:4326"))
        assert layers_as_of(store, D[4]) == D[4]  # no longer the newest
        assert layers_as_of(store, D[5]) is None
    assert len(calls) == 2
