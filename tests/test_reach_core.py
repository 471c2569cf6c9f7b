"""Road-time reach on the core graph of junctions: places joined along their chains give the same
pairs and minutes as a Dijkstra over every road node (networkx), including places on the same chain,
on a loop from a junction back to itself and on a ring of roads touching no junction."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString
from test_reach_tiles import _lattice, _networkx_reach, _points

from cimic_geo.analytics import reach_core
from cimic_geo.analytics.reach import travel_time_reach
from cimic_geo.analytics.reach_core import chains_of
from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph

BOTH_WAYS = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=True, ignore_oneway=True)


def _roads(lines, speeds=None):
    return gpd.GeoDataFrame({"id": [f"r{k}" for k in range(len(lines))],
                             "speed_kmh": speeds or [60.0] * len(lines), "status": "open"},
                            geometry=lines, crs="EPSG:4326")


def _special_network():
    """A street J0 - a - b - J1 cut in three (a, b: nodes of degree 2), spurs making J0 and J1 junctions,
    a loop of three segments from J1 back to itself, and a square ring touching nothing."""
    j0, a, b, j1 = (30.00, 50.00), (30.02, 50.00), (30.04, 50.00), (30.06, 50.00)
    lines = [LineString([j0, a]), LineString([a, b]), LineString([b, j1]),
             LineString([j0, (30.00, 50.03)]), LineString([j0, (29.97, 50.00)]),
             LineString([j1, (30.06, 49.97)]),
             LineString([j1, (30.07, 50.02)]), LineString([(30.07, 50.02), (30.05, 50.03)]),
             LineString([(30.05, 50.03), j1]),
             LineString([(30.10, 50.10), (30.12, 50.10)]), LineString([(30.12, 50.10), (30.12, 50.12)]),
             LineString([(30.12, 50.12), (30.10, 50.12)]), LineString([(30.10, 50.12), (30.10, 50.10)])]
    return lines, (j0, a, b, j1)


def test_chain_positions_are_the_chain_costs_from_its_first_end():
    lines, (j0, a, b, j1) = _special_network()
    graph = build_road_graph(_roads(lines[:9]))  # no ring
    w = graph.weighted(BOTH_WAYS)
    ch = chains_of(w, graph.node_lonlat)
    ll = np.asarray(graph.node_lonlat)
    node = {p: int(np.argmin(np.abs(ll - np.array(p)).sum(axis=1))) for p in (j0, a, b, j1)}
    minutes = {tuple(sorted((int(u), int(v)))): float(m)
               for u, v, m in zip(graph.edge_u, graph.edge_v, graph.edge_minutes, strict=True)}
    m_j0a = minutes[tuple(sorted((node[j0], node[a])))]
    m_ab = minutes[tuple(sorted((node[a], node[b])))]
    m_bj1 = minutes[tuple(sorted((node[b], node[j1])))]
    c = ch.chain[node[a]]
    assert c == ch.chain[node[b]] and ch.chain[node[j0]] == ch.chain[node[j1]] == -1
    assert {int(ch.end_a[c]), int(ch.end_b[c])} == {node[j0], node[j1]}
    # the chain J0 - a - b - J1: 1.43 km per 0.02 degree of longitude at 50 N, at 60 km/h
    assert ch.length[c] == pytest.approx(m_j0a + m_ab + m_bj1, rel=1e-12)
    from_j0 = {node[a]: m_j0a, node[b]: m_j0a + m_ab}
    for n, want in from_j0.items():
        got = ch.pos[n] if ch.end_a[c] == node[j0] else ch.length[c] - ch.pos[n]
        assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("method", ["core", "tiles"])
def test_chains_loops_and_rings_equal_networkx(method, monkeypatch):
    lines, _ends = _special_network()
    graph = build_road_graph(_roads(lines, speeds=[30.0, 50.0, 90.0] * 4 + [20.0]))
    rng = np.random.default_rng(3)
    # places near the roads, not the ring (up to ~40 m off a random point of a random line): many on the
    # same chain, some on the loop
    at = [lines[i].interpolate(f, normalized=True) for i, f in zip(rng.integers(0, 9, 60), rng.random(60),
                                                                   strict=True)]
    lon = np.array([p.x for p in at]) + rng.uniform(-5e-4, 5e-4, 60)
    lat = np.array([p.y for p in at]) + rng.uniform(-3e-4, 3e-4, 60)
    sets = _points([(f"s{k}", lon[k], lat[k]) for k in range(25)], population=10)
    shel = _points([(f"h{k}", lon[k], lat[k]) for k in range(25, 60)], capacity=10, status="open")
    want = _networkx_reach(graph, sets, shel, t_max=4.0, policy=BOTH_WAYS)
    assert 20 < len(want) < 25 * 35 - 20
    calls = []
    real = reach_core.core_pairs
    monkeypatch.setattr(reach_core, "core_pairs", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = travel_time_reach(graph, sets, shel, max_minutes=4.0, policy=BOTH_WAYS, method=method)
    assert calls == ([1] if method == "core" else [])
    assert list(zip(got.s.tolist(), got.h.tolist(), strict=True)) == sorted(want)
    # minutes equal up to the sums' order and the 1e-9 floor of a zero-cost virtual edge
    np.testing.assert_allclose(got.cost, [want[k] for k in sorted(want)], rtol=1e-12, atol=2e-9)


def test_a_place_on_a_ring_is_searched_on_the_whole_graph(monkeypatch):
    lines, _ends = _special_network()
    graph = build_road_graph(_roads(lines))
    sets = _points([("on ring", 30.11, 50.10), ("street", 30.03, 50.00)], population=10)
    shel = _points([("ring H", 30.12, 50.11), ("street H", 30.01, 50.00)], capacity=10, status="open")
    calls = []
    real = reach_core.core_pairs
    monkeypatch.setattr(reach_core, "core_pairs", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = travel_time_reach(graph, sets, shel, max_minutes=30.0, policy=BOTH_WAYS)
    assert calls == []  # a place on the ring: the tiled search over every node
    assert sorted(zip(got.s.tolist(), got.h.tolist(), strict=True)) == [(0, 0), (1, 1)]
    got2 = travel_time_reach(graph, sets.iloc[[1]], shel.iloc[[1]], max_minutes=30.0, policy=BOTH_WAYS)
    assert calls == [1] and got2.cost[0] == pytest.approx(got.cost[-1], abs=2e-9)


@pytest.mark.parametrize("seed", [4, 6])
def test_core_search_equals_networkx_with_one_way_roads(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    graph = build_road_graph(_lattice(rng))
    lon, lat = 30.0 + rng.random(40) * 0.16, 50.0 + rng.random(40) * 0.16
    sets = _points([(f"s{k}", lon[k], lat[k]) for k in range(25)], population=10)
    shel = _points([(f"h{k}", lon[k], lat[k]) for k in range(25, 40)], capacity=10, status="open")
    policy = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=True, ignore_oneway=False)
    want = _networkx_reach(graph, sets, shel, t_max=15.0, policy=policy)
    for tile in (0.05, 1.0, 100.0):
        monkeypatch.setattr(reach_core, "TILE_PER_REACH", tile)
        got = travel_time_reach(graph, sets, shel, max_minutes=15.0, policy=policy, method="core")
        assert list(zip(got.s.tolist(), got.h.tolist(), strict=True)) == sorted(want)
        np.testing.assert_allclose(got.cost, [want[k] for k in sorted(want)], rtol=1e-12, atol=2e-9)
