"""The compact snapping index: the nearest edge of every point, checked against a brute-force scan."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from access_fixtures import river_grid, roads_frame
from shapely.geometry import LineString

from cimic_geo.analytics import road_snap_index
from cimic_geo.analytics.road_noding import piece_lines
from cimic_geo.analytics.road_snap_index import build_snap_index, metric_vertices, nearest_edges
from cimic_geo.analytics.roadgraph import build_road_graph


def _brute(graph, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) from each point to every edge line (all vertices projected at once), and the points."""
    xy = np.column_stack(graph.threat.to_metric.transform(graph.coords[:, 0], graph.coords[:, 1]))
    lines = piece_lines(xy, graph.edge_c0, graph.edge_c1)
    x, y = graph.threat.to_metric.transform(lon, lat)
    pts = shapely.points(x, y)
    return shapely.distance(pts[:, None], lines[None, :]), np.column_stack([x, y])


def _check(graph, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The index's edge is at the least distance of all edges (the same number), the lowest of equals."""
    d, pts = _brute(graph, lon, lat)
    edge, lines = nearest_edges(build_snap_index(graph), graph, pts)
    least = d.min(axis=1)
    assert np.array_equal(d[np.arange(len(edge)), edge], least)
    assert np.array_equal(shapely.distance(shapely.points(pts), lines), least)
    tied_lowest = np.argmax(d == least[:, None], axis=1)  # first edge at the least distance
    assert np.array_equal(edge, tied_lowest)
    return edge


def _curvy_roads() -> gpd.GeoDataFrame:
    """A 30 km straight road of one step (many samples), a winding road of 40 short steps crossing it,
    and a short spur: steps from ~100 m to 30 km, so the ball query is needed."""
    wind = LineString([(36.80 + 0.01 * i, 48.10 + 0.004 * (-1) ** i) for i in range(41)])
    roads = roads_frame([("long", (36.70, 48.10), (37.10, 48.10)), ("spur", (37.00, 48.10), (37.00, 48.102))])
    extra = roads.iloc[[0]].copy()
    extra["id"], extra["geometry"] = "wind", [wind]
    return gpd.GeoDataFrame(list(roads.to_dict("records")) + list(extra.to_dict("records")), geometry="geometry",
                            crs="EPSG:4326")


@pytest.mark.parametrize(("first", "second"), [(8, 32), (2, 3)])  # (2, 3): every round of the search used
def test_nearest_edges_match_a_scan_of_every_edge_on_a_grid(first, second, monkeypatch):
    monkeypatch.setattr(road_snap_index, "FIRST_SAMPLES", first)
    monkeypatch.setattr(road_snap_index, "SECOND_SAMPLES", second)
    g = build_road_graph(river_grid())
    rng = np.random.default_rng(7)
    lon = rng.uniform(36.99, 37.05, 400)
    lat = rng.uniform(47.99, 48.03, 400)
    # points on junctions: several edges at distance 0, the lowest edge number is taken
    lon = np.r_[lon, g.node_lonlat[:, 0]]
    lat = np.r_[lat, g.node_lonlat[:, 1]]
    edge = _check(g, lon, lat)
    assert len(edge) == 400 + g.n_nodes


@pytest.mark.parametrize("second", [32, 9])  # 9: some points have more samples within their bound (a ball query)
def test_nearest_edges_match_a_scan_with_long_and_short_steps(second, monkeypatch):
    monkeypatch.setattr(road_snap_index, "SECOND_SAMPLES", second)
    g = build_road_graph(_curvy_roads())
    idx = build_snap_index(g)
    assert idx.tree.n > len(g.coords)  # the 30 km step is cut into many pieces
    rng = np.random.default_rng(11)
    lon = np.r_[rng.uniform(36.6, 37.2, 300), 36.9, 37.5]
    lat = np.r_[rng.uniform(48.0, 48.2, 300), 48.1004, 49.0]  # one point beside the crossing, one far north
    _check(g, lon, lat)


def test_snap_edges_uses_the_index_for_many_points_and_agrees_with_the_scan_for_few():
    g = build_road_graph(_curvy_roads())
    lon, lat = np.array([36.95, 37.0005, 36.81]), np.array([48.103, 48.1015, 48.099])
    few = g.snap_edges(lon, lat)  # up to FEW_POINTS: scanned without the index
    assert g._snap_index is None
    many = g.snap_edges(np.r_[lon, lon, lon], np.r_[lat, lat, lat])
    assert g._snap_index is not None
    for a, b in zip(few, many, strict=True):
        np.testing.assert_allclose(np.r_[a, a, a], b, rtol=0, atol=1e-12)


def test_metric_vertices_are_the_projected_vertices():
    g = build_road_graph(_curvy_roads())
    full = np.column_stack(g.threat.to_metric.transform(g.coords[:, 0], g.coords[:, 1]))
    mv = metric_vertices(g)
    used = ~np.isnan(mv[:, 0])
    assert used.all()  # every vertex is on an edge here
    assert np.array_equal(mv, full)


def test_a_graph_whose_node_positions_are_not_this_projection_is_projected_vertex_by_vertex():
    g = build_road_graph(river_grid())
    g.node_xy = np.asarray(g.node_xy) + 1.0  # not what the transformer gives: the check must notice
    full = np.column_stack(g.threat.to_metric.transform(g.coords[:, 0], g.coords[:, 1]))
    assert np.array_equal(metric_vertices(g), full)


@pytest.mark.parametrize("n", [1, 5])
def test_fewer_samples_than_asked(n):
    roads = roads_frame([(f"r{i}", (37.0 + 0.01 * i, 48.0), (37.0 + 0.01 * i + 0.005, 48.0)) for i in range(n)])
    g = build_road_graph(roads)
    lon = np.array([37.001, 37.043, 36.9])
    _check(g, lon, np.array([48.001, 47.999, 48.3]))
