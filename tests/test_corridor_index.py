"""What the corridor evaluation prepares once per graph and layer (cimic_geo.analytics.corridor_index)
gives what it gave before, row by row: rows within a distance of a line, their exact distances, their
records; the not-open road rows near a route; settlements looked up by name."""

from __future__ import annotations

import math
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from access_fixtures import river_grid
from shapely.geometry import LineString, Point

from cimic_geo.analytics.corridor_eval import evaluate_corridor
from cimic_geo.analytics.corridor_index import (
    PointLayer,
    distances_to_pieces,
    line_pieces,
    not_open_roads,
    point_layer,
    settlement_finder,
)
from cimic_geo.analytics.places import find_settlement
from cimic_geo.analytics.road_chains import chain_from, walk
from cimic_geo.analytics.road_snap import _rows_in_window
from cimic_geo.analytics.roadgraph import build_road_graph
from cimic_geo.analytics.routing import find_routes, route_road_ids, route_rows
from cimic_geo.errors import NotFoundError

#: UTM 37N to itself: PROJ's no-op, so the frame's coordinates are metres as written.
METRES = pyproj.Transformer.from_crs("EPSG:32637", "EPSG:32637", always_xy=True)


def _frame(points: list[Point | None], **columns: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [f"P{i}" for i in range(len(points))], **columns}, geometry=points,
                            crs="EPSG:32637")


def test_rows_within_a_line_by_hand():
    # a 10 km line along y = 0, cut into 100 m steps (101 vertices: two pieces of 64 vertices)
    line = shapely.segmentize(LineString([(0.0, 0.0), (10_000.0, 0.0)]), 100.0)
    assert len(line_pieces(line)) == 2
    pts = [Point(5000, 1500),   # 1500 m above the middle
           Point(5000, -2000),  # exactly 2000 m: within (inclusive)
           Point(5000, 2000.5),  # 0.5 m too far
           Point(11_000, 0),    # 1000 m past the east end
           Point(-1500, 1500),  # sqrt(1500² + 1500²) = 2121.3 m from the west end: too far
           None,                # no geometry: never listed
           Point(12, 1999)]     # 1999 m above the first piece
    layer = PointLayer(_frame(pts), METRES)
    rows, d = layer.within(line, 2000.0)
    assert rows.tolist() == [0, 1, 3, 6]
    assert d.tolist() == pytest.approx([1500.0, 2000.0, 1000.0, 1999.0], abs=1e-6)
    assert layer.within(line, 999.0)[0].tolist() == []


def test_rows_within_match_the_whole_line_distance():
    rng = np.random.default_rng(7)
    xy = np.cumsum(rng.normal(0, 300, size=(400, 2)), axis=0)  # a wandering 400-vertex line
    line = LineString(xy)
    pts = shapely.points(rng.uniform(xy.min(0) - 3000, xy.max(0) + 3000, size=(3000, 2)))
    layer = PointLayer(_frame(list(pts)), METRES)
    rows, d = layer.within(line, 1500.0)
    whole = shapely.distance(pts, line)  # every point against the whole line (GEOS)
    assert rows.tolist() == np.flatnonzero(whole <= 1500.0).tolist()
    assert d.tolist() == whole[rows].tolist()  # the same numbers, bit for bit
    lines = shapely.linestrings(rng.uniform(xy.min(0), xy.max(0), size=(200, 3, 2)))
    near = np.flatnonzero(shapely.distance(lines, line) <= 800.0)
    got = distances_to_pieces(lines[near], line_pieces(line), 800.0)
    assert got.tolist() == shapely.distance(lines[near], line).tolist()


def test_records_are_plain_and_converted_once():
    frame = _frame([Point(0, 0), Point(10, 0)], capacity=pd.array([5, None], dtype="Int64"),
                   occupancy=[np.nan, 2.5], accessible=np.array([True, False]))
    layer = PointLayer(frame, METRES)
    recs = layer.records([1, 0], ("id", "capacity", "occupancy", "accessible", "not_a_column"))
    assert recs == [{"id": "P1", "capacity": None, "occupancy": 2.5, "accessible": False},
                    {"id": "P0", "capacity": 5, "occupancy": None, "accessible": True}]
    assert type(recs[1]["capacity"]) is int and type(recs[1]["accessible"]) is bool
    assert layer.records([0], ("id", "capacity", "occupancy", "accessible"))[0] is recs[1]


def _grid_graph():
    roads = river_grid(h01={"status": "impassable", "name": "Broken road"}, v00={"status": "damaged"})
    return build_road_graph(roads)


def test_not_open_rows_and_the_prepared_layer_are_kept_per_graph():
    g = _grid_graph()
    bad = not_open_roads(g)
    labels = dict(bad.labels(list(range(len(bad.rows)))))
    assert sorted(labels) == ["h01", "v00"] and labels["h01"] == "Broken road" and labels["v00"] == "road v00"
    assert not_open_roads(g) is bad
    # the rows near a line along row 0 (lat 48.0) within 200 m: h01 (on it) and v00 (touching its west end)
    near = bad.candidates(LineString([(37.0, 48.0), (37.04, 48.0)]), 200.0)
    assert sorted(bad.labels(near.tolist())) == [("h01", "Broken road"), ("v00", "road v00")]
    assert bad.lines_m(near)[0] is bad.lines_m(near)[0]  # projected once, kept
    shelters = gpd.GeoDataFrame({"id": ["S1"]}, geometry=[Point(37.02, 48.005)], crs="EPSG:4326")
    assert point_layer(g, shelters) is point_layer(g, shelters)


def test_a_routed_line_lists_what_the_same_line_drawn_lists():
    # the drawn line's hazards come from every road row near it, the routed line's from the kept
    # not-open rows: the same rows at the same distances
    g = _grid_graph()
    shelters = gpd.GeoDataFrame({"id": ["S1", "S2", "S3"], "kind": ["school", "medical", "hall"],
                                 "status": ["open", "open", "closed"], "capacity": [100, 20, 50],
                                 "occupancy": [10, 5, 0]},
                                geometry=[Point(37.02, 48.005), Point(37.03, 48.0), Point(37.5, 48.5)], crs="EPSG:4326")
    for k, (a, b) in enumerate([((37.0, 48.0), (37.04, 48.01)), ((37.0, 48.02), (37.04, 48.0))]):
        for r in find_routes(g, _node(g, a), _node(g, b), alternatives=1):
            routed = evaluate_corridor(r.geometry, graph=g, shelters=shelters, road_ids=route_road_ids(g, r),
                                       road_rows=route_rows(g, r), check=False)
            drawn = evaluate_corridor(r.geometry, graph=g, shelters=shelters, check=False)
            assert routed.hazards == drawn.hazards
            assert routed.shelters == drawn.shelters
            assert {s["id"] for s in routed.shelters} <= {"S1", "S2"}  # S3 is ~60 km away
            if k == 0:  # starting at the south-west corner, on the damaged v00
                assert any(h.id == "v00" and h.crossed for h in routed.hazards)


def _node(g, lonlat: tuple[float, float]) -> int:
    d = np.hypot(g.node_lonlat[:, 0] - lonlat[0], g.node_lonlat[:, 1] - lonlat[1])
    return int(np.argmin(d))


def test_settlement_finder_finds_what_find_settlement_finds():
    s = gpd.GeoDataFrame({"id": ["S1", "S2", "S3", "S4"], "name": ["Lyman", "Lyman", "Izium", None],
                          "name_uk": ["Лиман", "Лиман", "Ізюм", "Балаклія"], "population": [2_000, 20_000, 45_000, 26_000]},
                         geometry=[Point(37.8, 48.99), Point(37.8, 49.0), Point(37.25, 49.2), Point(36.8, 49.46)],
                         crs="EPSG:4326")
    kept: dict = {}
    find = settlement_finder(s, kept=kept)
    # two named Lyman: the more populous (S2); by id; by Ukrainian name; other spellings as find_settlement
    for text in ["Lyman", "S1", "Ізюм", "Лиман", "  lyman ", "IZIUM"]:
        row = find_settlement(text, s)
        assert find(text) == (str(row["name"]), row.geometry.x, row.geometry.y, str(row["id"]))
    assert find("Lyman")[3] == "S2" and find("S1")[3] == "S1"
    with pytest.raises(NotFoundError):
        find("Atlantis")
    with pytest.raises(NotFoundError):
        find("   ")
    assert settlement_finder(s, kept=kept) and kept["_settlement_names"][0] is s


def test_window_rows_are_the_rows_a_full_scan_finds():
    rng = np.random.default_rng(3)
    lo = np.column_stack([rng.uniform(30, 40, 5000), rng.uniform(45, 50, 5000)])
    size = rng.exponential(0.01, size=(5000, 2))
    size[:40] *= 30  # some rows wider than the cut
    b = np.column_stack([lo, lo + size])
    b[7] = np.nan  # a row without a box
    graph = type("G", (), {})()
    graph._lock = threading.RLock()
    # the first few windows scan every row, the others only the rows ordered near them
    for x, y, r in zip(rng.uniform(29, 41, 200), rng.uniform(44, 51, 200), rng.uniform(0.001, 2, 200), strict=True):
        want = np.flatnonzero((b[:, 0] <= x + r) & (b[:, 2] >= x - r) & (b[:, 1] <= y + r) & (b[:, 3] >= y - r))
        assert _rows_in_window(graph, b, x - r, y - r, x + r, y + r).tolist() == want.tolist()
    assert graph.__dict__["_window_rows"][0] is b


def test_kept_chains_are_the_chains_walked():
    g = _grid_graph()
    routes = find_routes(g, _node(g, (37.0, 48.0)), _node(g, (37.04, 48.02)), alternatives=2)
    again = find_routes(g, _node(g, (37.0, 48.0)), _node(g, (37.04, 48.02)), alternatives=2)
    assert [r.edges.tolist() for r in routes] == [r.edges.tolist() for r in again]
    w = next(iter(g._weighted.values()))
    kept = w.__dict__.get("_chains_walked", {})
    assert kept  # the routes crossed the core: chains were walked and kept
    for (x, chain), walked in kept.items():
        e = next(int(w.inc_e[i]) for i in range(int(w.inc_ptr[x]), int(w.inc_ptr[x + 1]))
                 if int(w.chain[w.inc_e[i]]) == chain)
        assert walked == walk(w, x, e) and chain_from(w, x, chain) is walked
    assert math.isfinite(routes[0].minutes)


def test_pieces_distances_are_measured_once_and_kept(monkeypatch):
    from access_fixtures import SALIENT, meridian_km, salient_roads

    from cimic_geo.analytics.corridor_eval import _pieces_front_km

    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=(3, 6, 9))
    lon, lat = np.linspace(37.0, 37.1, 41), np.full(41, 48.05)  # 37.05 is the 21st point
    first = _pieces_front_km(g.threat, lon, lat)
    # right above the salient's tip (37.05, 48.03): 0.02° of meridian = 2.224 km
    assert first[20] == pytest.approx(meridian_km(48.04, 0.02), abs=1e-3)
    want = g.threat.distance_km(shapely.points(lon, lat), exact_near_km=g.threat.bands_km)
    assert first.tolist() == want.tolist()
    monkeypatch.setattr(type(g.threat), "distance_km", lambda *a, **k: pytest.fail("measured again"))
    assert _pieces_front_km(g.threat, lon[::-1], lat[::-1]).tolist() == first[::-1].tolist()


def test_not_open_candidates_hold_every_row_near_the_line():
    """Boxes of not-open rows scattered over 34-40 E, 46-50 N (some wide); every box within 3 km of a
    line (measured in UTM 37N metres with shapely: a row within the distance has its box within it) is a
    candidate, whatever the order of the boxes' west edges."""
    from types import SimpleNamespace

    from cimic_geo.analytics.corridor_index import NotOpenRoads

    rng = np.random.default_rng(7)
    n = 3000
    x, y = rng.uniform(34.0, 40.0, n), rng.uniform(46.0, 50.0, n)
    w, h = rng.exponential(0.01, n), rng.exponential(0.01, n)
    w[:5] = 1.5  # a few long rows
    bounds = np.column_stack([x, y, x + w, y + h])
    graph = SimpleNamespace(seg_status=np.array(["closed"] * n, dtype=object), row_bounds=lambda: bounds)
    roads = NotOpenRoads(graph)
    to_m = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32637", always_xy=True)
    boxes_m = shapely.transform(shapely.box(*bounds.T), lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
    for line in (LineString([(36.0, 47.0), (36.6, 47.9), (37.5, 48.1)]), LineString([(38.9, 49.5), (39.2, 49.4)])):
        line_m = shapely.transform(line, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
        truth = np.flatnonzero(shapely.distance(boxes_m, line_m) <= 3000.0)
        got = roads.candidates(line, 3000.0)
        assert len(truth) >= 3 and set(truth) <= set(got.tolist())
        assert np.all(np.diff(got) > 0)  # ascending


def test_road_ids_are_taken_from_each_arrow_chunk():
    """Ids at positions spread over three Arrow chunks (lengths 4, 2, 3), in the order asked, repeated, and
    from a plain object column: the same as pandas' own positional take."""
    import pyarrow as pa

    from cimic_geo.analytics.route_roads import strings_at

    chunked = pa.chunked_array([["a0", "a1", "a2", "a3"], ["b0", "b1"], ["c0", "c1", "c2"]])
    column = pd.Series(pd.arrays.ArrowExtensionArray(chunked))
    rows = [8, 0, 4, 5, 3, 4, 6]
    assert strings_at(column, rows) == ["c2", "a0", "b0", "b1", "a3", "b0", "c0"]
    assert strings_at(column, rows) == [str(x) for x in column.iloc[rows].tolist()]
    assert strings_at(column, []) == []
    assert strings_at(pd.Series(["x", "y", 3], dtype=object), [2, 0]) == ["3", "x"]


@pytest.mark.parametrize("n", [2, 3, 63, 64, 65, 127, 128, 200])
def test_line_pieces_are_the_slices_of_64_vertices_sharing_their_ends(n):
    # pieces start every 63 vertices: n = 128 gives starts 0, 63, 126 and pieces of 64, 64 and 2 vertices
    xy = np.column_stack([np.arange(n, dtype=float) * 10.0, np.sin(np.arange(n))])
    pieces = line_pieces(LineString(xy))
    starts = range(0, n - 1, 63)
    assert [p.wkb for p in pieces] == [LineString(xy[a:a + 64]).wkb for a in starts]


def test_not_open_candidates_hold_every_row_within_the_distance():
    g = _grid_graph()
    bad = not_open_roads(g)
    to_m = g.threat.to_metric
    rng = np.random.default_rng(3)
    lines = [LineString(np.column_stack([rng.uniform(36.95, 37.1, 5), rng.uniform(47.95, 48.1, 5)]))
             for _i in range(40)]
    for line in lines:
        for within in (50.0, 200.0, 1500.0):
            line_m = shapely.transform(line, lambda c: np.column_stack(to_m.transform(c[:, 0], c[:, 1])))
            near = np.flatnonzero(shapely.dwithin(bad.lines_m(np.arange(len(bad.rows))), line_m, within))
            assert set(near.tolist()) <= set(bad.candidates(line, within).tolist())
    # far from every road (about 75 km east): none
    assert bad.candidates(LineString([(38.0, 48.0), (38.1, 48.1)]), 200.0).tolist() == []


def test_rows_at_the_same_distance_are_listed_by_id():
    from cimic_geo.analytics.corridor_eval import _points_table

    g = _grid_graph()
    # S-b and S-a mirror each other across the line along lat 48.0: the same distance; S-c farther
    shelters = gpd.GeoDataFrame({"id": ["S-b", "S-c", "S-a"]},
                                geometry=[Point(37.02, 48.004), Point(37.02, 48.009), Point(37.02, 47.996)],
                                crs="EPSG:4326")
    line = LineString([(37.0, 48.0), (37.04, 48.0)])
    line_m = shapely.transform(line, lambda c: np.column_stack(g.threat.to_metric.transform(c[:, 0], c[:, 1])))
    got = _points_table(shelters, line_m, g, 2.0, ("id",), line_pieces(line_m))
    assert [r["id"] for r in got] == ["S-a", "S-b", "S-c"]
    assert got[0]["distance_km"] == got[1]["distance_km"] < got[2]["distance_km"]
    assert point_layer(g, shelters).id_rank().tolist() == [1, 2, 0]  # S-a < S-b < S-c
