"""The data version (cache key of road graphs, road attributes and the planner's map layers) moves
with every change of the data it covers, including changes a cheaper stamp (row counts, table
statistics, per-column sums) would not see; the road attributes are kept beside a store opened
read-write too; the planner's version is hashed in the server's background warm-up."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point
from warm_utils import warmed_then_reused

from cimic_geo.store import access_version as av
from cimic_geo.store import connect


def _roads() -> gpd.GeoDataFrame:
    """Two roads of the same class and speed: swapping their names or lines keeps every column's
    values (and so every per-column sum, count and min/max statistic) as it was."""
    return gpd.GeoDataFrame(
        {"id": ["R1", "R2"], "road_class": ["primary", "primary"], "speed_kmh": [60.0, 60.0],
         "status": ["open", "open"], "bridge": [False, False], "name": ["North road", "South road"],
         "source": ["test", "test"], "reliability": ["A1", "A1"],
         "reported_at": [np.datetime64("2026-11-01T00:00:00")] * 2},
        geometry=[LineString([(36.0, 48.0), (36.05, 48.02), (36.1, 48.0)]),
                  LineString([(36.0, 47.9), (36.05, 47.92), (36.1, 47.9)])], crs="EPSG:4326")


def _store_with_roads(path):
    with connect(path) as store:
        store.write("roads", _roads(), mode="upsert")
        store.write("shelters", gpd.GeoDataFrame(
            {"id": ["S1"], "name": ["School 1"], "kind": ["school"], "status": ["open"], "capacity": [100],
             "occupancy": [10], "accessible": [True], "source": ["test"], "reliability": ["A1"],
             "reported_at": [np.datetime64("2026-11-01T00:00:00")]},
            geometry=[Point(36.02, 48.01)], crs="EPSG:4326"), mode="upsert")


# The changes below are SQL straight on the layer's table (as another program could make them): a write
# through the store would also add versions to the history table, which any stamp of it would show.


def _swap_names(store) -> None:
    # the same two names, each on the other road: per-column sums, counts and statistics unchanged
    store.con.execute("UPDATE roads SET name = CASE id WHEN 'R1' THEN 'South road' ELSE 'North road' END")


def _swap_lines(store) -> None:
    store.con.execute("UPDATE roads SET geom = (SELECT geom FROM roads o WHERE o.id <> roads.id)")


def _nudge_vertex(store) -> None:
    # the middle vertex 1e-7 degrees (~1 cm) north: same row count, same vertex count, same box
    store.con.execute("UPDATE roads SET geom = ST_GeomFromText('LINESTRING (36 48, 36.05 48.0200001, 36.1 48)') "
                      "WHERE id = 'R1'")


def _raw_sql_capacity(store) -> None:
    store.con.execute("UPDATE shelters SET capacity = 101 WHERE id = 'S1'")


def _history_only(store) -> None:
    # a late correction of when a road version started: the layer's table itself unchanged
    store.con.execute("UPDATE roads_history SET valid_from = valid_from - INTERVAL 1 DAY WHERE id = 'R2'")


@pytest.mark.parametrize("change", [_swap_names, _swap_lines, _nudge_vertex, _raw_sql_capacity, _history_only])
def test_every_change_of_the_data_moves_the_version_of_a_read_write_store(empty_db, change):
    _store_with_roads(empty_db)
    with connect(empty_db) as store:  # read-write, as the app opens it
        before = av.access_data_version(store)
        assert av.access_data_version(store) == before  # the same data: the same version
        change(store)
        after = av.access_data_version(store)
    assert after != before
    with connect(empty_db, read_only=True) as store:  # a read-only store (kept token) agrees
        assert av.access_data_version(store) == after


def test_road_attributes_are_kept_beside_a_read_write_store_and_follow_a_renamed_road(empty_db, monkeypatch):
    _store_with_roads(empty_db)
    kept = empty_db.with_name(empty_db.name + ".roadattributes.arrow")
    writes: list[int] = []
    real = av.write_kept_arrow
    monkeypatch.setattr(av, "write_kept_arrow", lambda path, table: writes.append(1) or real(path, table))
    with connect(empty_db) as store:
        direct = store.query_df("SELECT id, road_class, status, name FROM roads ORDER BY id")
        version = av.access_data_version(store)  # the planner hashes it once and passes it on
        first = av.road_attributes(store, data_version=version)
        assert kept.is_file() and writes == [1]
        again = av.road_attributes(store, data_version=version)  # read back from the kept file: nothing written
        assert av.road_attributes(store).equals(direct) and writes == [1]  # no version given: read, not kept
        assert writes == [1]
        assert first.equals(direct) and again.equals(direct) and (again.dtypes == direct.dtypes).all()
        _swap_names(store)
        renamed = av.road_attributes(store, data_version=av.access_data_version(store))
        assert renamed["name"].tolist() == ["South road", "North road"]  # not the kept names
    assert writes == [1, 1]


def test_the_planner_version_hashed_in_the_background_is_the_first_visit_s(demo_db_copy, monkeypatch):
    """``warm_data`` (run by the server's background warm-up) leaves the version cached under the data
    token a page run sees: the page's own call does not hash."""
    from cimic_geo.ui import planner_page

    version, fresh = warmed_then_reused(monkeypatch, demo_db_copy, module=planner_page, name="access_data_version",
                                        cached=planner_page._access_version, caches=(planner_page._access_version,))
    assert version == fresh
