"""Road graph build: nodes, edges, travel times, removed segments, distances to the front line."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from access_fixtures import (
    PT_E,
    PT_MID,
    PT_W,
    SALIENT,
    destroyed_bridge,
    grid_node,
    meridian_km,
    parallel_km,
    river_grid,
    roads_frame,
    salient_roads,
)
from shapely.geometry import LineString, Point, Polygon

from cimic_geo.analytics.roadgraph import NO_THREAT, RoutingPolicy, build_road_graph
from cimic_geo.errors import AnalysisError


def _edge(graph, road_id: str) -> int:
    ids = graph.roads["id"].to_numpy()[graph.edge_seg]
    hit = np.flatnonzero(ids == road_id)
    assert len(hit) == 1, f"{road_id} not an edge"
    return int(hit[0])


def test_nodes_are_shared_end_points_and_lengths_are_geodesic():
    g = build_road_graph(river_grid())
    # 5 x 3 junctions; 3 rows x 4 horizontal + 2 x 5 vertical segments
    assert g.n_nodes == 15
    assert g.n_edges == 22
    # h00 runs 0.01° along the parallel 48.00; v00 0.01° along the meridian around 48.005
    assert g.edge_length_km[_edge(g, "h00")] == pytest.approx(parallel_km(48.0, 0.01), abs=1e-6)
    assert g.edge_length_km[_edge(g, "v00")] == pytest.approx(meridian_km(48.005, 0.01), abs=1e-6)
    # 60 km/h: minutes = km
    assert g.edge_minutes[_edge(g, "h00")] == pytest.approx(parallel_km(48.0, 0.01), abs=1e-6)


def test_destroyed_bridge_and_impassable_segments_are_removed():
    roads = river_grid(v00={"status": "impassable"})
    g = build_road_graph(roads, infrastructure=destroyed_bridge("h12"))
    ids = set(g.roads["id"].to_numpy()[g.edge_seg])
    assert "h12" not in ids and "v00" not in ids
    assert "h22" in ids  # BR-2 is only minor damage
    assert g.n_edges == 20
    assert g.removed_bridges == 1 and g.removed_impassable == 1


def test_damaged_segment_takes_twice_as_long():
    g = build_road_graph(river_grid(h01={"status": "damaged"}, h02={"speed_kmh": 30.0}))
    # damaged: half speed -> 2 min per km; 30 km/h -> 2 min per km
    assert g.edge_minutes[_edge(g, "h01")] == pytest.approx(2 * parallel_km(48.0, 0.01), abs=1e-6)
    assert g.edge_minutes[_edge(g, "h02")] == pytest.approx(2 * parallel_km(48.0, 0.01), abs=1e-6)


def test_parallel_segments_keep_the_faster_one():
    a, b = grid_node(0, 0), grid_node(0, 1)
    roads = roads_frame([("slow", a, b), ("fast", a, b)], slow={"speed_kmh": 20.0}, fast={"speed_kmh": 80.0})
    g = build_road_graph(roads)
    w = g.weighted(NO_THREAT)
    # one node pair, one entry each way, cost of the 80 km/h road: km / 80 * 60
    assert w.csr.nnz == 2
    assert w.csr.data[0] == pytest.approx(parallel_km(48.0, 0.01) / 80 * 60, abs=1e-6)


def test_front_distance_and_bands_of_segments():
    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=(3, 6, 9))
    # w1/w2 end at (37.05, 48.05), 0.02° north of the salient's tip (37.05, 48.03)
    assert g.edge_front_km[_edge(g, "w1")] == pytest.approx(meridian_km(48.04, 0.02), abs=1e-4)
    # u2 at lat 48.10 passes 0.07° north of the tip; as a geodesic between its ends it bows
    # poleward by about L² tan φ / 8R = 7.44² * 1.113 / (8 * 6371) km = 1.2 m at the middle
    bow = parallel_km(48.1, 0.1) ** 2 * np.tan(np.radians(48.1)) / (8 * 6371.0)
    assert g.edge_front_km[_edge(g, "u2")] == pytest.approx(meridian_km(48.065, 0.07) + bow, abs=2e-4)
    assert g.edge_band[_edge(g, "w1")] == 0  # 2.22 km: band 0-3
    assert g.edge_band[_edge(g, "u2")] == 2  # 7.78 km: band 6-9


def test_exclusion_beyond_the_precomputed_cap_is_computed_on_demand():
    # cap of 1 km: u2 (7.78 km away) is first stored as "beyond"; avoiding 8 km must still exclude it
    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=(0.5, 1), front_cap_km=1.0)
    assert not np.isfinite(g.edge_front_km[_edge(g, "u2")])
    cost = g.edge_cost(RoutingPolicy(avoid_km=8.0, penalties=None))
    assert not np.isfinite(cost[_edge(g, "u2")])
    assert g.edge_front_km[_edge(g, "u2")] == pytest.approx(7.7846, abs=2e-3)  # see the test above
    cost = g.edge_cost(RoutingPolicy(avoid_km=7.7, penalties=None))
    assert np.isfinite(cost[_edge(g, "u2")])


def test_occupied_segments_are_flagged():
    occupied = Polygon([(36.9, 48.04), (37.2, 48.04), (37.2, 48.06), (36.9, 48.06)])
    g = build_road_graph(salient_roads(), front_line=SALIENT, occupied=occupied, bands_km=(3, 6, 9))
    assert g.edge_occupied[_edge(g, "w1")] and g.edge_occupied[_edge(g, "w2")]
    assert not g.edge_occupied[_edge(g, "u2")]
    cost = g.edge_cost(RoutingPolicy(penalties=None))
    assert not np.isfinite(cost[_edge(g, "w1")])


def test_snap_to_nearest_junction():
    g = build_road_graph(salient_roads())
    node, dist = g.snap(PT_MID[0], PT_MID[1] + 0.001)
    assert np.allclose(g.node_lonlat[node[0]], PT_MID)
    assert dist[0] == pytest.approx(meridian_km(48.0505, 0.001), abs=1e-3)
    node, _ = g.snap(*PT_E)
    assert np.allclose(g.node_lonlat[node[0]], PT_E)
    assert not np.allclose(g.node_lonlat[node[0]], PT_W)


def test_bad_roads_are_refused():
    with pytest.raises(AnalysisError, match="no roads"):
        build_road_graph(gpd.GeoDataFrame({"id": [], "speed_kmh": [], "status": []}, geometry=[], crs=4326))
    bad = salient_roads()
    bad.loc[2, "geometry"] = Point(37.0, 48.0)
    with pytest.raises(AnalysisError, match=r"row 3 \(id u1\) is not a LineString"):
        build_road_graph(bad)
    bad = salient_roads()
    bad.loc[1, "speed_kmh"] = 0
    with pytest.raises(AnalysisError, match=r"row 2.*speed_kmh"):
        build_road_graph(bad)
    with pytest.raises(AnalysisError, match="factors >= 1"):
        RoutingPolicy(penalties=(0.5, 1, 1))
    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=(3, 6, 9))
    with pytest.raises(AnalysisError, match="2 band penalties"):
        g.edge_cost(RoutingPolicy(penalties=(2, 2)))


# ----------------------------------------------------------------------------------------------
# noding, one-way, connectivity
# ----------------------------------------------------------------------------------------------


def _lines(rows: list[tuple[str, list[tuple[float, float]]]], **overrides) -> gpd.GeoDataFrame:
    """Roads with several vertices: ``(id, [(lon, lat), ...])``; 60 km/h, open."""
    from shapely.geometry import LineString

    recs = []
    for rid, pts in rows:
        rec = {"id": rid, "road_class": "secondary", "speed_kmh": 60.0, "bridge": False, "status": "open",
               "geometry": LineString(pts)}
        rec.update(overrides.get(rid, {}))
        recs.append(rec)
    return gpd.GeoDataFrame(recs, geometry="geometry", crs="EPSG:4326")


def _node_at(g, lonlat) -> int:
    hit = np.flatnonzero(np.all(np.isclose(g.node_lonlat, lonlat, atol=1e-9), axis=1))
    assert len(hit) == 1, f"no node at {lonlat}"
    return int(hit[0])


def test_t_junction_at_an_inner_vertex_is_a_junction():
    from cimic_geo.analytics.routing import find_routes

    # the side road ends on the middle vertex of the main road (a T-junction, as in OpenStreetMap)
    roads = _lines([("main", [(37.00, 48.00), (37.01, 48.00), (37.02, 48.00)]),
                    ("side", [(37.01, 48.00), (37.01, 48.01)])])
    g = build_road_graph(roads)
    assert g.n_nodes == 4 and g.n_edges == 3  # main cut in two at the shared vertex
    assert g.connectivity().components == 1
    o, t = _node_at(g, (37.01, 48.01)), _node_at(g, (37.02, 48.00))
    (r,) = find_routes(g, o, t, alternatives=0)
    # 60 km/h: minutes = km; up the side road 0.01° of meridian, then half of main, 0.01° of parallel
    assert r.minutes == pytest.approx(meridian_km(48.005, 0.01) + parallel_km(48.0, 0.01), abs=1e-6)
    assert np.allclose(np.asarray(r.geometry.coords), [(37.01, 48.01), (37.01, 48.00), (37.02, 48.00)])


def test_bridge_over_a_road_is_not_a_junction():
    from cimic_geo.analytics.routing import find_routes

    # the bridge has no vertex where it crosses the road below; the road below has one there
    roads = _lines([("bridge", [(37.00, 48.00), (37.02, 48.00)]),
                    ("below", [(37.01, 47.99), (37.01, 48.00), (37.01, 48.01)])], bridge={"bridge": True})
    g = build_road_graph(roads)
    assert g.n_edges == 2 and g.n_nodes == 4
    conn = g.connectivity()
    assert conn.components == 2
    # the road below (0.02° of meridian, 2.22 km) is longer than the bridge (0.02° of parallel at 48°, 1.49 km)
    below, over = meridian_km(48.0, 0.02), parallel_km(48.0, 0.02)
    assert conn.largest_share == pytest.approx(below / (below + over), abs=1e-6)
    assert g.roads["id"].to_numpy()[g.edge_seg[conn.small_edges]].tolist() == ["bridge"]
    assert find_routes(g, _node_at(g, (37.01, 47.99)), _node_at(g, (37.02, 48.00))) == []


def test_one_way_roads_are_driven_one_way_unless_ignored():
    from cimic_geo.analytics.routing import find_routes
    from cimic_geo.analytics.time_to_safety import time_to_safety

    a, b, c, d = (37.00, 48.00), (37.01, 48.00), (37.01, 48.01), (37.00, 48.01)
    roads = _lines([("ab", [a, b]), ("bc", [b, c]), ("cd", [c, d]), ("da", [d, a])], ab={"oneway": True})
    g = build_road_graph(roads)
    side, top = parallel_km(48.0, 0.01), parallel_km(48.01, 0.01)
    up = meridian_km(48.005, 0.01)
    na, nb = _node_at(g, a), _node_at(g, b)
    (r,) = find_routes(g, na, nb, alternatives=0)
    assert r.minutes == pytest.approx(side, abs=1e-6)
    (r,) = find_routes(g, nb, na, alternatives=0)  # against the one-way: round the other three sides
    assert r.minutes == pytest.approx(2 * up + top, abs=1e-6)
    (r,) = find_routes(g, nb, na, policy=RoutingPolicy(penalties=None, ignore_oneway=True), alternatives=0)
    assert r.minutes == pytest.approx(side, abs=1e-6)
    # time to safety drives towards the hub: from B to hub A the long way, from A to hub B direct
    s = gpd.GeoDataFrame({"id": ["A", "B"], "name": ["Alpha", "Bravo"], "population": [1, 1]},
                         geometry=[Point(*a), Point(*b)], crs=4326)
    t = time_to_safety(g, s, policy=RoutingPolicy(penalties=None), hubs=["Alpha"]).set_index("id")
    assert t.loc["B", "minutes"] == pytest.approx(2 * up + top, abs=1e-6)
    t = time_to_safety(g, s, policy=RoutingPolicy(penalties=None), hubs=["Bravo"]).set_index("id")
    assert t.loc["A", "minutes"] == pytest.approx(side, abs=1e-6)


def test_weighted_graphs_are_kept_in_a_bounded_cache():
    from cimic_geo.analytics.roadgraph import WEIGHTED_CACHE_SIZE

    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=(3, 6, 9))
    for km in range(1, 3 * WEIGHTED_CACHE_SIZE):
        g.weighted(RoutingPolicy(avoid_km=float(km), penalties=None))
    assert len(g._weighted) == WEIGHTED_CACHE_SIZE
    last = RoutingPolicy(avoid_km=float(3 * WEIGHTED_CACHE_SIZE - 1), penalties=None)
    assert g.weighted(last) is g.weighted(last)


def test_rows_near_a_line_include_every_road_within_the_distance():
    # the grid pre-filter may keep extra rows but never loses one: 3,000 random roads (up to
    # ~3 km long) over 2° x 1°, exact metric distances of every row to random lines (200 m, 2 km)
    from cimic_geo.analytics.road_snap import rows_near
    from cimic_geo.analytics.roadgraph import project

    rng = np.random.default_rng(3)
    a = np.column_stack([rng.uniform(30.0, 32.0, 3000), rng.uniform(48.0, 49.0, 3000)])
    b = a + rng.uniform(-0.02, 0.02, (3000, 2))
    roads = roads_frame([(f"r{i}", tuple(p), tuple(q)) for i, (p, q) in enumerate(zip(a, b, strict=True))])
    g = build_road_graph(roads)
    roads_m = project(np.asarray(g.roads.geometry.values, dtype=object), g.threat.to_metric)
    kept_share = []
    for _ in range(10):
        line = LineString(np.column_stack([rng.uniform(30.0, 32.0, 3), rng.uniform(48.0, 49.0, 3)]))
        line_m = project(line, g.threat.to_metric)
        for within in (200.0, 2000.0):
            near = rows_near(g, line, within)
            exact = np.flatnonzero(shapely.distance(roads_m, line_m) <= within)
            assert len(exact) and set(exact.tolist()) <= set(near.tolist())
            kept_share.append(len(near) / len(roads))
    assert max(kept_share) < 0.5  # and it does leave most far roads out
