"""A road graph of a past time is built from the current graph's own vertices when the roads changed since
only by roads being added: the same graph, array for array, as one built from the store's lines then.

Hand-made history (D<n> = day n of October 2026, 00:00 UTC), front-line snapshots at D1 and D5 along
37.0 E (the occupied area west of it):

- D1: road ``a`` (38.00 E -> 38.10 E at 48.00 N, with a repeated vertex the graph drops) and road ``b``
  (38.05 E 48.00 N -> 38.05 E 48.05 N, a side road ending on ``a``'s middle vertex);
- D3: road ``c`` (38.10 E 48.00 N -> 38.15 E 48.05 N) is reported.

So at D2 the roads in force are ``a`` and ``b``: three junctions (38.00, 38.05, 38.10 on 48.00 N and the
end of ``b`` makes four nodes), three pieces; now ``c`` adds a node and a piece.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from history_fixtures import still_front
from shapely.geometry import LineString

from cimic_geo.analytics import road_cache as rc
from cimic_geo.analytics.road_rows import roads_in_force
from cimic_geo.analytics.roadgraph import build_road_graph
from cimic_geo.store import connect
from cimic_geo.store.access_version import access_data_version, road_columns_then

D = {n: pd.Timestamp("2026-10-01T00:00Z") + pd.Timedelta(days=n - 1) for n in range(1, 7)}
COLUMNS = ["road_class", "speed_kmh", "bridge", "status", "name", "oneway"]
LINES = {"a": LineString([(38.00, 48.00), (38.05, 48.00), (38.05, 48.00), (38.10, 48.00)]),
         "b": LineString([(38.05, 48.00), (38.05, 48.05)]),
         "c": LineString([(38.10, 48.00), (38.15, 48.05)])}


def _roads(ids, t, **values):
    return gpd.GeoDataFrame({"id": ids, "road_class": "primary", "speed_kmh": 60.0, "status": "open",
                             "name": [f"Road {i}" for i in ids], "oneway": [i == "b" for i in ids],
                             "reported_at": t, **values}, geometry=[LINES[i] for i in ids], crs="EPSG:4326")


@pytest.fixture
def history_db(empty_db):
    with connect(empty_db) as store:
        store.write("roads", _roads(["a", "b"], D[1]))
        store.write("roads", _roads(["c"], D[3]), mode="upsert")
        still_front(store, [D[1], D[5]])
    return empty_db


def _keep_current_graph(db) -> str:
    """The planner's current graph kept beside the store (what a server has after its warm-up)."""
    from cimic_geo import corridors

    with connect(db) as store:
        ctx = corridors.load_access_context(store)
        assert rc.saved_key(rc.graph_file(db)) is not None
        return ctx.data_version


def _same_graph(a, b) -> None:
    for name in rc._ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.seg_status, b.seg_status)
    assert np.array_equal(a.row_bounds(), b.row_bounds())
    assert a.crs == b.crs


def test_roads_added_later_are_left_out_of_the_current_vertices(history_db):
    version = _keep_current_graph(history_db)
    with connect(history_db) as store:
        then = store.read("roads", columns=COLUMNS, as_of=D[2])
        rows = roads_in_force(store, as_of=D[2], columns=COLUMNS, data_version=version)
        assert rows.vertices is not None  # from the kept graph, not the store's lines
        assert list(rows.rows["id"]) == ["a", "b"]
        pd.testing.assert_frame_equal(rows.rows, pd.DataFrame(then.drop(columns="geometry")))
        coords, v0, v1 = rows.vertices
        # a's repeated vertex dropped: 3 + 2 vertices, each row's after the previous row's
        assert coords.tolist() == [[38.00, 48.00], [38.05, 48.00], [38.10, 48.00], [38.05, 48.00], [38.05, 48.05]]
        assert list(v0) == [0, 3] and list(v1) == [2, 4]
        from_vertices = build_road_graph(rows.rows, vertices=rows.vertices, front_line=store.read("front_line", as_of=D[2]))
        from_lines = build_road_graph(then, front_line=store.read("front_line", as_of=D[2]))
    _same_graph(from_vertices, from_lines)
    assert from_lines.n_nodes == 4 and from_lines.n_edges == 3  # the hand count of the module docstring
    assert from_vertices.edge_oneway.tolist() == [False, False, True]


def test_with_no_road_added_since_the_current_vertices_are_used_whole(history_db):
    version = _keep_current_graph(history_db)
    with connect(history_db) as store:
        rows = roads_in_force(store, as_of=D[4], columns=COLUMNS, data_version=version)
        assert rows.vertices is not None and list(rows.rows["id"]) == ["a", "b", "c"]
        _same_graph(build_road_graph(rows.rows, vertices=rows.vertices),
                    build_road_graph(store.read("roads", columns=COLUMNS, as_of=D[4])))
        assert rows.vertices[0].shape == (7, 2)


@pytest.mark.parametrize("change", ["status", "removed"])
def test_a_road_in_force_then_changed_or_removed_since_is_read_as_it_was(history_db, change):
    with connect(history_db) as store:
        if change == "status":  # a reported as damaged on D4: on D2 it was open
            store.write("roads", _roads(["a"], D[4], status="damaged"), mode="upsert")
        else:
            store.delete("roads", ["b"])
    version = _keep_current_graph(history_db)
    with connect(history_db) as store:
        assert road_columns_then(store, COLUMNS, as_of=D[2]) is None
        rows = roads_in_force(store, as_of=D[2], columns=COLUMNS, data_version=version)
        assert rows.vertices is None  # the store's lines as they were
        assert list(rows.rows["id"]) == ["a", "b"] and list(rows.rows["status"]) == ["open", "open"]


def test_a_road_reported_since_and_changed_since_does_not_matter_then(history_db):
    """c was reported on D3 and reported damaged on D4: at D2 it was not in force, so the roads then are still a
    part of the roads now."""
    with connect(history_db) as store:
        store.write("roads", _roads(["c"], D[4], status="damaged"), mode="upsert")
    version = _keep_current_graph(history_db)
    with connect(history_db) as store:
        rows = roads_in_force(store, as_of=D[2], columns=COLUMNS, data_version=version)
        assert rows.vertices is not None and list(rows.rows["id"]) == ["a", "b"]
        _same_graph(build_road_graph(rows.rows, vertices=rows.vertices),
                    build_road_graph(store.read("roads", columns=COLUMNS, as_of=D[2])))
        # at D3.5 c was in force as it was first reported, not as it is now
        assert road_columns_then(store, COLUMNS, as_of=D[3] + pd.Timedelta(hours=12)) is None


def test_a_graph_of_other_data_is_not_used(history_db):
    _keep_current_graph(history_db)
    with connect(history_db) as store:
        rows = roads_in_force(store, as_of=D[2], columns=COLUMNS, data_version="another version")
        assert rows.vertices is None and "geometry" in rows.rows
        # no graph kept at all: the store's lines
        rc.graph_file(history_db).joinpath("meta.json").unlink()
        assert roads_in_force(store, as_of=D[2], columns=COLUMNS,
                              data_version=access_data_version(store)).vertices is None


def test_the_planners_past_graph_of_the_exercise_is_the_graph_of_the_roads_then(demo_db_copy, monkeypatch):
    """On the seeded exercise, with a road reported at the latest snapshot (the national scenario reports its
    roads over its last weeks): a past graph the planner builds from the current graph's vertices is the
    graph built from the store's roads at that time."""
    import cimic_geo.corridors as corridors
    from cimic_geo.analytics.situation import history_times, layers_time

    built_from = []

    def spied(*args, **kwargs):
        rows = roads_in_force(*args, **kwargs)
        built_from.append("vertices" if rows.vertices is not None else "lines")
        return rows

    monkeypatch.setattr(corridors, "roads_in_force", spied)
    with connect(demo_db_copy) as store:
        times = history_times(store)
        side = gpd.GeoDataFrame({"id": ["added-later"], "road_class": "tertiary", "speed_kmh": 50.0, "status": "open",
                                 "reported_at": times[-1]}, crs="EPSG:4326",
                                geometry=[LineString([*store.read("roads", limit=1).geometry.iloc[0].coords[:1], (36.0, 48.0)])])
        store.write("roads", side, mode="upsert")
    _keep_current_graph(demo_db_copy)
    with connect(demo_db_copy) as store:
        t = times[-3]
        at = layers_time(t, times)
        rows, then = road_columns_then(store, COLUMNS, as_of=at)
        assert not then[list(rows["id"]).index("added-later")] and then.sum() == len(then) - 1
        built_from.clear()  # the current graph was built from the store's lines
        ctx = corridors.load_access_context(store, as_of=t)
        assert built_from == ["vertices"]
        infra = store.read("infrastructure", where={"sector": ["bridge", "health"]},
                           columns=["name", "sector", "damage", "road_id", "settlement_id"], as_of=at)
        built = build_road_graph(store.read("roads", columns=COLUMNS, as_of=at),
                                 front_line=store.read("front_line", as_of=t),
                                 occupied=store.read("occupied_area", as_of=t), infrastructure=infra,
                                 bands_km=ctx.bands_km, as_of=t)
    _same_graph(ctx.graph, built)
    assert np.array_equal(ctx.graph.edge_front_km, built.edge_front_km)
    assert "added-later" not in set(ctx.graph.road_table["id"])
