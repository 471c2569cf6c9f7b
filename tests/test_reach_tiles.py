"""Road-time reach searched tile by tile equals a plain Dijkstra over the whole network (networkx)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from cimic_geo.analytics import reach as reach_mod
from cimic_geo.analytics.reach import travel_time_reach
from cimic_geo.analytics.road_split import one_way, partial_cost, place_ends, same_edge_pairs
from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph
from cimic_geo.geo import GEOD


def _points(rows: list[tuple[str, float, float]], **cols: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], **{k: [v] * len(rows) for k, v in cols.items()}},
                            geometry=[Point(r[1], r[2]) for r in rows], crs="EPSG:4326")


def _lattice(rng: np.random.Generator, n: int = 9, step: float = 0.02) -> gpd.GeoDataFrame:
    """Roads between neighbours of an n × n lattice (~1.4 km × 2.2 km cells near 50° N): random speeds
    5-110 km/h, some one-way, some damaged, some impassable; a few diagonals."""
    lines = []
    for i in range(n):
        for j in range(n):
            x, y = 30.0 + i * step, 50.0 + j * step
            if i + 1 < n:
                lines.append(LineString([(x, y), (x + step / 2, y + step / 7), (x + step, y)]))
            if j + 1 < n:
                lines.append(LineString([(x, y), (x, y + step)]))
            if i + 1 < n and j + 1 < n and rng.random() < 0.15:
                lines.append(LineString([(x, y), (x + step, y + step)]))
    m = len(lines)
    status = rng.choice(["open", "damaged", "impassable"], size=m, p=[0.85, 0.1, 0.05])
    return gpd.GeoDataFrame({"id": [f"r{k}" for k in range(m)], "speed_kmh": rng.choice([5.0, 30.0, 50.0, 110.0], m),
                             "status": status, "oneway": rng.random(m) < 0.15},
                            geometry=lines, crs="EPSG:4326")


def _random_network(seed: int, n_sets: int, n_shel: int):
    """A random lattice road network (seed ``seed``) with ``n_sets`` settlements of 10 people and
    ``n_shel`` open shelters of 10 places at random points over it: ``(graph, settlements, shelters)``."""
    rng = np.random.default_rng(seed)
    graph = build_road_graph(_lattice(rng))
    n = n_sets + n_shel
    lon, lat = 30.0 + rng.random(n) * 0.16, 50.0 + rng.random(n) * 0.16
    sets = _points([(f"s{k}", lon[k], lat[k]) for k in range(n_sets)], population=10)
    shel = _points([(f"h{k}", lon[k], lat[k]) for k in range(n_sets, n)], capacity=10, status="open")
    return graph, sets, shel


def _networkx_reach(graph, sets, shel, *, t_max: float, policy: RoutingPolicy) -> dict[tuple[int, int], float]:
    """The same reach by one networkx Dijkstra per settlement over the whole network."""
    a = np.column_stack([sets.geometry.x, sets.geometry.y])
    b = np.column_stack([shel.geometry.x, shel.geometry.y])
    ea, fa, da = graph.snap_edges(a[:, 0], a[:, 1])
    eb, fb, db = graph.snap_edges(b[:, 0], b[:, 1])
    wa, wb = da / 5.0 * 60.0, db / 5.0 * 60.0
    w = graph.weighted(policy)
    g = nx.DiGraph()
    coo = w.csr.tocoo()
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    arrive = place_ends(graph, eb, fb, leaving=False, ignore_oneway=policy.ignore_oneway)
    arr_cost = arrive.cost(w.cost)
    out: dict[tuple[int, int], float] = {}
    for i in range(len(a)):
        leave = place_ends(graph, ea[i:i + 1], fa[i:i + 1], leaving=True, ignore_oneway=policy.ignore_oneway)
        src = ("source", i)
        g.add_node(src)
        for node, c in zip(leave.node, leave.cost(w.cost), strict=True):
            if np.isfinite(c):
                g.add_edge(src, int(node), weight=max(float(c), 1e-9))
        dist = nx.single_source_dijkstra_path_length(g, src, cutoff=t_max)
        g.remove_node(src)
        for k in range(len(arrive.place)):
            d = dist.get(int(arrive.node[k]), np.inf) + arr_cost[k]
            h = int(arrive.place[k])
            if d <= t_max:
                c = wa[i] + d + wb[h]
                if c <= t_max + 1e-9:
                    out[(i, h)] = min(out.get((i, h), np.inf), c)
    ia, ib, part = same_edge_pairs(ea, fa, eb, fb, one_way(graph, ignore_oneway=policy.ignore_oneway))
    for i, h, p in zip(ia, ib, part, strict=True):
        c = wa[i] + partial_cost(np.array([p]), w.cost[ea[[i]]])[0] + wb[h]
        if c <= t_max + 1e-9:
            out[(int(i), int(h))] = min(out.get((int(i), int(h)), np.inf), c)
    return out


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("ignore_oneway", [False, True])
def test_tiled_search_equals_networkx_on_a_random_network(seed, ignore_oneway, monkeypatch):
    graph, sets, shel = _random_network(seed, 25, 15)
    policy = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=True, ignore_oneway=ignore_oneway)
    want = _networkx_reach(graph, sets, shel, t_max=15.0, policy=policy)
    assert 20 < len(want) < 25 * 15 - 20  # the limit leaves many pairs in and many out
    for tile in (0.02, 0.3, 100.0):  # tiny tiles (one or two places each) to a single tile
        monkeypatch.setattr(reach_mod, "_TILE_PER_REACH", tile)
        got = travel_time_reach(graph, sets, shel, max_minutes=15.0, policy=policy)
        assert list(zip(got.s.tolist(), got.h.tolist(), strict=True)) == sorted(want)
        np.testing.assert_allclose(got.cost, [want[k] for k in sorted(want)], rtol=1e-12, atol=1e-12)


def test_a_fast_road_far_from_the_tile_is_still_searched(monkeypatch):
    # A 5 km/h track joins S to a 110 km/h road 1 km north; the fast road runs 18 km east to H.
    # Time: 1 km at 5 km/h = 12 min, then L km at 110 km/h = L * 60/110 min (L = geodesic length).
    # With tiles far smaller than the 110 km/h reach the search still covers the whole way.
    north = GEOD.fwd(30.0, 50.0, 0.0, 1000.0)
    east = GEOD.fwd(north[0], north[1], 90.0, 18000.0)
    roads = gpd.GeoDataFrame(
        {"id": ["track", "fast"], "speed_kmh": [5.0, 110.0], "status": ["open", "open"]},
        geometry=[LineString([(30.0, 50.0), (north[0], north[1])]),
                  LineString([(north[0], north[1]), (east[0], east[1])])], crs="EPSG:4326")
    graph = build_road_graph(roads)
    sets = _points([("S", 30.0, 50.0)], population=10)
    shel = _points([("H", east[0], east[1])], capacity=10, status="open")
    fast_km = GEOD.inv(north[0], north[1], east[0], east[1])[2] / 1000.0  # ~18 km (a geodesic: exact)
    track_km = GEOD.inv(30.0, 50.0, north[0], north[1])[2] / 1000.0
    expect = track_km / 5.0 * 60.0 + fast_km / 110.0 * 60.0  # ~12 + 9.82 min
    monkeypatch.setattr(reach_mod, "_TILE_PER_REACH", 0.01)
    got = travel_time_reach(graph, sets, shel, max_minutes=22.0)
    assert list(got.h) == [0] and got.cost[0] == pytest.approx(expect, abs=1e-6)
    assert not len(travel_time_reach(graph, sets, shel, max_minutes=expect - 0.01).s)


def test_a_second_run_on_the_same_places_snaps_nothing(monkeypatch):
    graph, sets, shel = _random_network(5, 20, 10)
    first = travel_time_reach(graph, sets, shel, max_minutes=15.0)
    calls = []
    real = type(graph).snap_edges
    monkeypatch.setattr(type(graph), "snap_edges", lambda self, x, y: calls.append(len(x)) or real(self, x, y))
    again = travel_time_reach(graph, sets, shel, max_minutes=15.0)
    assert calls == [] and len(first.s) > 0
    for a, b in ((first.s, again.s), (first.h, again.h), (first.cost, again.cost)):
        assert np.array_equal(a, b)
    moved = sets.copy()
    moved.geometry = [Point(p.x + 0.001, p.y) for p in sets.geometry]  # other places: snapped anew
    travel_time_reach(graph, moved, shel, max_minutes=15.0)
    assert calls == [20]


@pytest.mark.parametrize("high", [50, 2**40, 2**62])
def test_the_pair_order_is_a_stable_argsort(high):
    """Keys packed with their positions and sorted by value (or, when they do not fit in 63 bits, argsorted)
    give numpy's stable argsort: equal keys (many here) in their first order."""
    keys = np.random.default_rng(5).integers(0, high, 5000)
    keys[::7] = keys[0]
    assert np.array_equal(reach_mod._key_order(keys), np.argsort(keys, kind="stable"))
