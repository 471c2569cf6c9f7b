"""The shortcuts of the one-off CLI route's evaluation give the numbers the long way gives: the
nearest part of a long line to the front, the occupied-area test skipped far from it, point
geometries read straight from their WKB, and numpy's unique/intersect without numpy.ma."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from access_fixtures import FRONT_NORTH
from shapely.geometry import LineString, Polygon
from test_route_fast import T0, _full_and_fast, _tiny_store

import cimic_geo.analytics.front_distance as front_distance
import cimic_geo.analytics.route_fast_eval as route_fast_eval
import cimic_geo.store.access_version as access_version
from cimic_geo.analytics.corridor_parts import may_touch
from cimic_geo.analytics.front_distance import Front, prepare_front
from cimic_geo.analytics.front_parts import nearest_parts
from cimic_geo.analytics.road_noding import unique_sorted
from cimic_geo.analytics.route_fast import fast_route
from cimic_geo.analytics.routing import _common
from cimic_geo.geo import GEOD
from cimic_geo.store import connect


@pytest.fixture(autouse=True)
def _keep_versions_at_once(monkeypatch):
    monkeypatch.setattr(access_version, "SETTLE_S", 0.0)


#: A short front: a meridian piece at lon 31.0 from lat 48.0 to 48.001.
FRONT = LineString([(31.0, 48.0), (31.0, 48.001)])


def _parallel(lon0: float, lat: float, n: int = 1001, step: float = 0.002) -> LineString:
    """A line along ``lat`` from ``lon0`` eastwards, a vertex every ``step`` degrees."""
    return LineString(np.column_stack([lon0 + step * np.arange(n), np.full(n, lat)]))


def _both_ways(front: Front, line: LineString, monkeypatch) -> tuple[float, float]:
    """The exact distance of the line with the shortcut, then with every run of the line kept."""
    geoms = np.array([line], dtype=object)
    short = float(front.distance_km(geoms, exact=True)[0])
    with monkeypatch.context() as m:
        m.setattr(front_distance, "nearest_parts", lambda tree, g: g)
        full = float(front.distance_km(geoms, exact=True)[0])
    return short, full


def test_a_long_line_is_measured_on_its_nearest_runs_only(monkeypatch):
    front = prepare_front(FRONT)
    # a line along lat 48.5 from lon 30 to 32 (1001 vertices, one at lon 31.0): its nearest point
    # is the vertex (31.0, 48.5), straight north of the front's end (31.0, 48.001): the meridian
    # arc of 0.499° (~55.5 km, 111.2 km per degree), taken from pyproj's Geod
    arc_km = GEOD.inv(31.0, 48.5, 31.0, 48.001)[2] / 1000.0
    assert 55.3 < arc_km < 55.6
    line = _parallel(30.0, 48.5)
    kept = nearest_parts(front._tree, front.project(np.array([line], dtype=object)))[0]
    # a run of 63 segments spans 0.126° (9.37 km at 74.4 km per degree of longitude): runs whose box
    # lies within 55.46 + 9.37 = 64.83 km of the front are kept, sqrt(64.83² - 55.46²) = 33.6 km
    # (0.451°, 225 vertices) either side of vertex 500: vertices 275..725, in runs 4..11 (starting at
    # vertex 63 k): 8 runs, 8 * 63 + 1 = 505 vertices
    assert shapely.get_num_coordinates(kept) == 505
    short, full = _both_ways(front, line, monkeypatch)
    assert short == full
    assert short == pytest.approx(arc_km, abs=1e-4)
    # the same with lon 31.0 on the vertex shared by the first two runs (index 63)
    short, full = _both_ways(front, _parallel(31.0 - 0.002 * 63, 48.5), monkeypatch)
    assert short == full == pytest.approx(arc_km, abs=1e-4)
    # a line crossing the front (at lat 48.0005) is at 0 km
    assert _both_ways(front, _parallel(30.0, 48.0005), monkeypatch) == (0.0, 0.0)
    # a short line (under 4 runs) is left whole
    few = front.project(np.array([_parallel(30.9, 48.5, n=100)], dtype=object))
    assert nearest_parts(front._tree, few)[0] is few[0]


def test_the_occupied_test_is_skipped_only_far_from_the_area():
    occ = Polygon([(37.0, 48.0), (37.1, 48.0), (37.1, 48.1), (37.0, 48.1)])
    # 0.005° north of the area: within 0.01° (+1 % of the 0.3° segment = 0.013°)
    near = LineString([(36.9, 48.105), (37.2, 48.105)])
    far = LineString([(36.9, 48.2), (37.2, 48.2)])  # 0.1° north
    assert may_touch(occ, near, shapely.get_coordinates(near))
    assert not may_touch(occ, far, shapely.get_coordinates(far))


def test_unique_and_common_values_are_numpys():
    assert unique_sorted(np.array([3, 1, 3, 2])).tolist() == [1, 2, 3]
    assert unique_sorted(np.zeros(0, dtype=np.int64)).tolist() == []
    assert _common(np.array([5, 1, 5, 9]), np.array([9, 2, 5])).tolist() == [5, 9]
    assert _common(np.array([5, 1]), np.zeros(0, dtype=np.int64)).tolist() == []


def test_routes_near_the_occupied_area_and_area_facilities_print_what_the_full_path_prints(
        empty_db, capsys, monkeypatch):
    """The hand-made village store with the occupied area 0.0005° north of the northern road at
    lat 48.05 (the area test runs there) and a clinic given as a small square (read as WKB, not as
    a point)."""
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _tiny_store(empty_db)
    with connect(empty_db) as store:
        store.write("occupied_area", gpd.GeoDataFrame(
            {"id": ["O1"], "valid_from": [T0], "valid_to": [None]},
            geometry=[Polygon([(36.95, 48.0505), (37.15, 48.0505), (37.15, 48.07), (36.95, 48.07)])], crs=4326),
            mode="replace")
        infra = store.read("infrastructure")
        square = Polygon([(37.061, 48.004), (37.062, 48.004), (37.062, 48.005), (37.061, 48.005)])
        infra.loc[infra["id"] == "H-1", "geometry"] = square
        store.write("infrastructure", infra, mode="replace")
    db = str(empty_db)
    seen = []
    monkeypatch.setattr(route_fast_eval, "may_touch", lambda *a: seen.append(may_touch(*a)) or seen[-1])
    for argv in (["--from", "Northby", "--to", "Harbour"], ["--from", "48.05,37.002", "--to", "48.05,37.098"]):
        full, fast = _full_and_fast(capsys, monkeypatch, ["route", *argv, "--db", db, "--json"])
        assert full[0] == 0 and fast == full, argv
    assert True in seen  # the area test ran for a route along the northern road
    doc = fast_route(db, "48.0,37.02", "Harbour", alternatives=0).doc
    clinic = [m for m in doc["medical"] if m["id"] == "H-1"]
    # the square's south-west corner is 0.004° (0.445 km) north of the road at lat 48.0
    assert clinic and clinic[0]["distance_km"] == pytest.approx(0.445, abs=0.002)


def test_pieces_beyond_the_outer_band_by_their_lower_bound_keep_their_band(monkeypatch):
    """A meridian line at lon 37.05 south of the front along lat 48.07 (lon 36.8-37.3), bands 3/6/9 km:
    from lat 48.00 (0.07° = 7.78 km from the front, 111.2 km per degree) to 47.98 (10.01 km). The
    part within 9 km, 9 - 7.78 = 1.22 km, lies in band 6-9; the other 10.01 - 9 = 1.01 km beyond it."""
    from access_fixtures import cutoff_roads

    from cimic_geo.analytics.corridor_eval import evaluate_corridor
    from cimic_geo.analytics.road_threat import ThreatGeometry
    from cimic_geo.analytics.roadgraph import build_road_graph

    g = build_road_graph(cutoff_roads(), front_line=FRONT_NORTH, bands_km=(3, 6, 9))
    line = LineString([(37.05, 48.00), (37.05, 47.98)])
    ev = evaluate_corridor(line, graph=g, piece_m=10)
    assert ev.band_km["6-9"] == pytest.approx(1.22, abs=0.02)
    assert ev.beyond_km == pytest.approx(1.01, abs=0.02)
    # the same numbers when every piece is measured (no piece bounded beyond the band)
    with monkeypatch.context() as m:
        m.setattr(ThreatGeometry, "lower_bound_km", lambda self, lon, lat, upper_km: np.zeros(len(lon)))
        assert evaluate_corridor(line, graph=g, piece_m=10).to_dict() == ev.to_dict()
    # a routed line's floor past the outer band + 1 km: every piece beyond, as measured
    far = LineString([(37.05, 47.97), (37.05, 47.95)])  # 11.1 to 13.3 km from the front
    ev_far = evaluate_corridor(far, graph=g, piece_m=10)
    assert ev_far.beyond_km == pytest.approx(ev_far.length_km) and ev_far.band_km["6-9"] == 0.0
    assert evaluate_corridor(far, graph=g, piece_m=10, front_floor_km=11.0).to_dict() == ev_far.to_dict()
