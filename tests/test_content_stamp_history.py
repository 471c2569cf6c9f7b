"""A version written only to a history table (a late report, an import valid from a past time) changes
what a past time shows, not the layer's own table: everything keyed on the data must still change.

Road R1: reported open at 60 km/h on 3 November; then a report of 1 November says it was closed. That
report is older than the version in force, so it goes to the roads' history only: the roads table still
holds R1 open, but as of 2 November R1 was closed (a road graph of that time differs).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString

import cimic_geo.store.access_version as av
from cimic_geo.analytics.road_cache import graph_key, past_folder
from cimic_geo.store import connect
from cimic_geo.store.content_stamp import content_stamp

D1, D2, D3 = (pd.Timestamp(f"2026-11-0{d}T00:00Z") for d in (1, 2, 3))


def _road(status: str, at: pd.Timestamp) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["R1"], "road_class": ["primary"], "speed_kmh": [60.0], "status": [status],
                             "bridge": [False], "source": ["test"], "reliability": ["A1"], "reported_at": [at]},
                            geometry=[LineString([(36.0, 48.0), (36.1, 48.0)])], crs="EPSG:4326")


def test_a_late_report_changes_the_data_version_and_the_past_graph_key(empty_db, monkeypatch) -> None:
    monkeypatch.setattr(av, "SETTLE_S", 0.0)  # the file was just written: trust its stamp at once
    with connect(empty_db) as store:
        store.write("roads", _road("open", D3), mode="upsert")
    with connect(empty_db, read_only=True) as store:  # keeps its version beside the file
        before = av.access_data_version(store)
    stamp_before = content_stamp(empty_db)
    with connect(empty_db) as store:
        store.write("roads", _road("closed", D1), mode="upsert")
        # the current table is as it was; the history has the closed version from D1 to D3
        assert store.query_df("SELECT status FROM roads")["status"].tolist() == ["open"]
        assert store.read("roads", as_of=D2)["status"].tolist() == ["closed"]
        hist = store.query_df("SELECT status, valid_from, valid_to FROM roads_history ORDER BY valid_from")
        assert hist["status"].tolist() == ["closed", "open"]
        assert av.access_data_version(store) != before
    assert content_stamp(empty_db) != stamp_before
    with connect(empty_db, read_only=True) as store:  # the version kept beside the file is not reused
        after = av.access_data_version(store)
    assert after != before
    bands = (5.0, 20.0, 40.0)
    old, new = graph_key(before, as_of=D2, bands_km=bands), graph_key(after, as_of=D2, bands_km=bands)
    assert old != new and past_folder(empty_db, old) != past_folder(empty_db, new)


def test_only_the_versions_validity_is_hashed_for_the_history(empty_db) -> None:
    """Moving when a version took effect (nothing else) changes the version too."""
    with connect(empty_db) as store:
        store.write("roads", _road("open", D3), mode="upsert")
        before = av.access_data_version(store)
        with store.transaction() as con:
            con.execute("UPDATE roads_history SET valid_from = ?", [D2])
        assert av.access_data_version(store) != before
