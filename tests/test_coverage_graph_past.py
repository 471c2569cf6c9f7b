"""Coverage by road time at a past time uses the roads in force then and the planner's graph of that time.

Hand-made history (D<n> = day n of October 2026, 00:00 UTC): front-line snapshots at D1 and D5 far to
the west (37.0 E; the occupied area west of it), so any time before D5 is a past picture.

- Settlement S (1,000 people) at 38.00 E 48.00 N, shelter H (100 places, open) at 38.10 E 48.00 N.
- D1: a 30 km/h road S -> (38.05 E, 48.05 N) -> H: two legs of ~6.7 km each (geodesic), ~13.4 km at
  30 km/h = ~26.8 min, beyond 15 min.
- D3: a straight 90 km/h road S -> H is added: ~7.45 km at 90 km/h = ~4.97 min.

So with 15 minutes H is out of reach on D2 and within reach (100 people placed) on D4 and now.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from history_fixtures import still_front
from shapely.geometry import LineString, Point

from cimic_geo.analytics import coverage_graph
from cimic_geo.analytics import road_cache as rc
from cimic_geo.analytics.situation import coverage_at
from cimic_geo.geo import GEOD
from cimic_geo.store import connect

D = {n: pd.Timestamp("2026-10-01T00:00Z") + pd.Timedelta(days=n - 1) for n in range(1, 7)}
S, H, BEND = (38.00, 48.00), (38.10, 48.00), (38.05, 48.05)


def _roads(rows, t):
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "road_class": "primary", "speed_kmh": [r[1] for r in rows],
                             "status": "open", "reported_at": t}, geometry=[r[2] for r in rows], crs="EPSG:4326")


@pytest.fixture
def history_db(empty_db):
    with connect(empty_db) as store:
        store.write("settlements", gpd.GeoDataFrame({"id": ["S"], "name": ["Town S"], "population": [1000],
                                                     "reported_at": D[1]}, geometry=[Point(*S)], crs="EPSG:4326"))
        store.write("shelters", gpd.GeoDataFrame({"id": ["H"], "name": ["Shelter H"], "kind": "collective_centre",
                                                  "status": ["open"], "capacity": [100], "occupancy": [0],
                                                  "reported_at": D[1]}, geometry=[Point(*H)], crs="EPSG:4326"))
        store.write("roads", _roads([("slow", 30.0, LineString([S, BEND, H]))], D[1]))
        store.write("roads", _roads([("fast", 90.0, LineString([S, H]))], D[3]), mode="upsert")
        still_front(store, [D[1], D[5]])
    return empty_db


def test_the_hand_made_times(history_db):
    # the arithmetic of the module docstring, so the assertions below cannot pass by accident
    slow = (GEOD.inv(*S, *BEND)[2] + GEOD.inv(*BEND, *H)[2]) / 1000.0 / 30.0 * 60.0
    fast = GEOD.inv(*S, *H)[2] / 1000.0 / 90.0 * 60.0
    assert 25.0 < slow < 28.0 and 4.5 < fast < 5.5


@pytest.fixture
def builds(monkeypatch):
    monkeypatch.setattr(coverage_graph, "_LAST", {})
    real, calls = coverage_graph.build_road_graph, []

    def build(roads, **kwargs):
        calls.append((kwargs.get("as_of"), sorted(roads["id"])))
        return real(roads, **kwargs)

    monkeypatch.setattr(coverage_graph, "build_road_graph", build)
    return calls


def test_coverage_at_a_past_time_uses_the_roads_in_force_then(history_db, builds):
    with connect(history_db, read_only=True) as store:
        assert coverage_at(store, as_of=D[2], max_minutes=15).population_covered == 0  # only the slow road
        assert coverage_at(store, as_of=D[4], max_minutes=15).population_covered == 100  # the fast road
        assert coverage_at(store, max_minutes=15).population_covered == 100
        # on D2 the slow road alone: 26.8 min > 15; with 30 minutes it reaches H
        assert coverage_at(store, as_of=D[2], max_minutes=30).population_covered == 100
    assert builds[0] == (D[2], ["slow"]) and builds[1] == (D[4], ["fast", "slow"])
    # the past graphs were kept for the next run (D2 was read back for 30 minutes: not built again)
    assert [b[0] for b in builds] == [D[2], D[4], D[5]]
    assert len(list(rc.past_root(history_db).iterdir())) == rc.PAST_KEEP


def test_coverage_at_a_past_time_reads_the_planners_graph_of_that_time(history_db, builds):
    from cimic_geo.corridors import load_access_context

    with connect(history_db, read_only=True) as store:
        planner = load_access_context(store, as_of=D[2])  # the planner keeps its graph of D2
        assert sorted(planner.graph.road_table["id"]) == ["slow"]
        assert coverage_at(store, as_of=D[2], max_minutes=15).population_covered == 0
        assert coverage_at(store, as_of=D[2], max_minutes=30).population_covered == 100
        graph = next(iter(coverage_graph._LAST.values()))
        assert sorted(graph.road_table["id"]) == ["slow"] and graph.as_of == D[2]
    assert builds == []  # read from the planner's folder, never built
    with connect(history_db, read_only=True) as store:
        assert coverage_at(store, as_of=D[4], max_minutes=15).population_covered == 100
        again = load_access_context(store, as_of=D[4])  # the planner reads what coverage kept
        assert sorted(again.graph.road_table["id"]) == ["fast", "slow"]
    assert builds == [(D[4], ["fast", "slow"])]


def test_no_roads_in_force_then_is_named(empty_db):
    from cimic_geo.errors import AnalysisError

    with connect(empty_db) as store:
        store.write("settlements", gpd.GeoDataFrame({"id": ["S"], "name": ["Town S"], "population": [1000],
                                                     "reported_at": D[1]}, geometry=[Point(*S)], crs="EPSG:4326"))
        store.write("roads", _roads([("fast", 90.0, LineString([S, H]))], D[3]))  # the first road: day 3
        store.write("front_line", gpd.GeoDataFrame({"id": ["F1"], "valid_from": [D[1]], "valid_to": [None]},
                                                   geometry=[LineString([(37.0, 47.5), (37.0, 48.5)])],
                                                   crs="EPSG:4326"))
        store.write("front_line", gpd.GeoDataFrame({"id": ["F5"], "valid_from": [D[5]], "valid_to": [None]},
                                                   geometry=[LineString([(37.0, 47.5), (37.0, 48.5)])],
                                                   crs="EPSG:4326"), mode="upsert")
    with connect(empty_db, read_only=True) as store, pytest.raises(AnalysisError, match="none were in force at 2026-10-02"):
        coverage_at(store, as_of=D[2], max_minutes=15)


def test_the_planner_moving_to_another_time_lets_go_of_coverages_graph_first(history_db, builds):
    """Before the planner reads the graph of another time, coverage's graph goes (the two are never
    held together); the graph of the planner's own time stays (shared, not read twice)."""
    from cimic_geo.analytics.road_cache import graph_key
    from cimic_geo.config import load_settings
    from cimic_geo.store.access_version import access_data_version

    with connect(history_db, read_only=True) as store:
        coverage_at(store, as_of=D[2], max_minutes=15)
        version = access_data_version(store)
    (ident,) = coverage_graph._LAST
    bands = tuple(load_settings().bands_km)
    coverage_graph.keep_only_key(graph_key(version, as_of=D[2], bands_km=bands))
    assert list(coverage_graph._LAST) == [ident]  # the planner's time: kept
    coverage_graph.keep_only_key(graph_key(version, as_of=D[4], bands_km=bands))
    assert not coverage_graph._LAST  # another time: let go before the planner reads its graph
