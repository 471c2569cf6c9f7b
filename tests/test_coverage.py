"""Shelter coverage: exact, order-independent allocation on hand-made cases ."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from cimic_geo.analytics.allocation import allocate
from cimic_geo.analytics.coverage import coverage
from cimic_geo.analytics.reach import Reach, straight_line_reach
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import GEOD


def north_of(km: float) -> Point:
    """A point ``km`` north (negative: south) of (36°E, 48.5°N) along the meridian (geodesic)."""
    lon, lat, _ = GEOD.fwd(36.0, 48.5, 0.0 if km >= 0 else 180.0, abs(km) * 1000.0)
    return Point(lon, lat)


def frame(rows: list[dict]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({"id": [], "name": [], "capacity": [], "status": []},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def by_id(res, table: str, col: str) -> dict:
    t = getattr(res, table)
    return dict(zip(t["id"], t[col], strict=True))


def test_shared_shelter_capacity_goes_to_the_nearest_first():
    # A (100 people, 2 km from H) and B (60 people, 3 km from H) share H (capacity 150,
    # occupancy 30 -> 120 free). Max placed = min(160, 120) = 120; least person-km: A 100 at 2 km,
    # B 20 at 3 km (person-km 260). B has 40 unserved.
    sets = frame([
        {"id": "A", "name": "Alpha", "population": 100, "geometry": north_of(-2)},
        {"id": "B", "name": "Bravo", "population": 60, "geometry": north_of(3)},
    ])
    shel = frame([{"id": "H", "name": "Hall", "capacity": 150, "occupancy": 30, "status": "open",
                   "geometry": north_of(0)}])
    res = coverage(settlements=sets, shelters=shel, max_km=5)
    assert by_id(res, "settlements", "covered") == {"A": 100, "B": 20}
    assert by_id(res, "settlements", "unserved") == {"A": 0, "B": 40}
    assert by_id(res, "shelters", "assigned") == {"H": 120}
    assert by_id(res, "shelters", "spare") == {"H": 0}
    doc = res.to_dict()
    assert doc["population_total"] == 160 and doc["population_covered"] == 120
    assert doc["covered_pct"] == 75.0 and doc["capacity_total"] == 120
    assert doc["person_km"] == pytest.approx(100 * 2 + 20 * 3, abs=1e-3)
    assert [w["id"] for w in doc["worst_served"]] == ["B"]


# Where AccessMod's facility-by-facility allocation loses people: H1 (processed first) takes
# its nearest settlement S1 (1 km), then S2 (which only reaches H1) gets nothing: 100 placed.
# The optimum places everybody: S1 -> H2 (2 km), S2 -> H1 (3 km): 200 placed, 500 person-km.
CROSS_SETTLEMENTS = [
    {"id": "S1", "name": "One", "population": 100, "geometry": north_of(0)},
    {"id": "S2", "name": "Two", "population": 100, "geometry": north_of(4)},
]
CROSS_SHELTERS = [
    {"id": "H1", "name": "North", "capacity": 100, "occupancy": 0, "status": "open", "geometry": north_of(1)},
    {"id": "H2", "name": "South", "capacity": 100, "occupancy": 0, "status": "open", "geometry": north_of(-2)},
]


def test_exact_allocation_beats_facility_by_facility():
    res = coverage(settlements=frame(CROSS_SETTLEMENTS), shelters=frame(CROSS_SHELTERS), max_km=5)
    alloc = {(r.settlement_id, r.shelter_id): int(r.people) for r in res.allocation.itertuples()}
    assert alloc == {("S1", "H2"): 100, ("S2", "H1"): 100}
    assert res.population_covered == 200
    assert res.to_dict()["person_km"] == pytest.approx(500.0, abs=1e-3)


def test_reversed_row_order_gives_the_same_allocation():
    # ties on purpose: T is equidistant (2 km) from K1 and K2, each with room for 30 of its 50
    sets = frame([*CROSS_SETTLEMENTS, {"id": "T", "name": "Tie", "population": 50, "geometry": north_of(-10)}])
    shel = frame([*CROSS_SHELTERS,
                  {"id": "K1", "name": "K1", "capacity": 30, "status": "open", "geometry": north_of(-8)},
                  {"id": "K2", "name": "K2", "capacity": 30, "status": "open", "geometry": north_of(-12)}])
    a = coverage(settlements=sets, shelters=shel, max_km=5)
    b = coverage(settlements=sets.iloc[::-1].reset_index(drop=True), shelters=shel.iloc[::-1], max_km=5)
    assert a.to_dict() == b.to_dict()
    assert a.allocation.equals(b.allocation)
    assert by_id(a, "settlements", "covered")["T"] == 50  # 30 + 20 (which one gets 20 is fixed)


def test_empty_shelter_set_covers_nobody():
    sets = frame(CROSS_SETTLEMENTS)
    res = coverage(settlements=sets, shelters=frame([]), max_km=5)
    doc = res.to_dict()
    assert doc["population_covered"] == 0 and doc["population_total"] == 200
    assert doc["covered_pct"] == 0.0 and doc["shelters"] == [] and doc["capacity_total"] == 0
    assert {s["id"]: s["unserved"] for s in doc["settlements"]} == {"S1": 100, "S2": 100}


def test_only_open_shelters_with_free_places_take_people():
    shel = frame([
        {"id": "F", "name": "Full", "capacity": 100, "occupancy": 100, "status": "full", "geometry": north_of(1)},
        {"id": "C", "name": "Closed", "capacity": 100, "occupancy": 0, "status": "closed", "geometry": north_of(1)},
        {"id": "O", "name": "Over", "capacity": 10, "occupancy": 15, "status": "open", "geometry": north_of(1)},
        {"id": "G", "name": "Good", "capacity": 40, "occupancy": 0, "status": "open", "geometry": north_of(4.9)},
    ])
    sets = frame([{"id": "S1", "name": "One", "population": 100, "geometry": north_of(0)}])
    res = coverage(settlements=sets, shelters=shel, max_km=5)
    assert by_id(res, "shelters", "assigned") == {"C": 0, "F": 0, "G": 40, "O": 0}
    assert by_id(res, "shelters", "overloaded") == {"C": 0, "F": 0, "G": 0, "O": 5}  # already 15 in 10 places
    assert res.population_covered == 40


def test_reach_limit_is_geodesic_and_inclusive():
    sets = frame([{"id": "S", "name": "S", "population": 10, "geometry": north_of(0)}])
    shel = frame([
        {"id": "in", "name": "in", "capacity": 5, "status": "open", "geometry": north_of(5.0)},
        {"id": "out", "name": "out", "capacity": 5, "status": "open", "geometry": north_of(-5.001)},
    ])
    reach = straight_line_reach(sets, shel, max_km=5)
    assert list(reach.h) == [0] and reach.cost[0] == pytest.approx(5.0, abs=1e-6)


def _networkx_optimum(pop, cap, reach):
    g = nx.DiGraph()
    for i, p in enumerate(pop):
        g.add_edge("src", f"s{i}", capacity=int(p), weight=0)
    for j, c in enumerate(cap):
        g.add_edge(f"h{j}", "dst", capacity=int(c), weight=0)
    for s, h, c in zip(reach.s, reach.h, reach.cost, strict=True):
        g.add_edge(f"s{s}", f"h{h}", capacity=int(pop[s]), weight=int(c))
    flow = nx.max_flow_min_cost(g, "src", "dst")
    value = sum(flow["src"].values())
    return value, nx.cost_of_flow(g, flow)


def _assert_matches_networkx(pop, cap, s, h, cost):
    """Our allocation places as many people as networkx's optimum at the same total cost, within limits."""
    ns, nh = len(pop), len(cap)
    reach = Reach(s, h, cost)
    flow = allocate(pop, cap, reach)
    value, total_cost = _networkx_optimum(pop, cap, reach)
    assert flow.sum() == value
    assert (flow * cost).sum() == pytest.approx(total_cost)
    assert np.all(np.bincount(s, flow, ns) <= pop) and np.all(np.bincount(h, flow, nh) <= cap)


@pytest.mark.parametrize("seed", range(6))
def test_allocation_matches_networkx_min_cost_flow(seed):
    # independent check: networkx's network simplex on the same max-flow/min-cost problem
    rng = np.random.default_rng(seed)
    ns, nh = 12, 9
    pop = rng.integers(0, 60, ns)
    cap = rng.integers(0, 50, nh)
    mask = rng.random((ns, nh)) < 0.35
    s, h = np.nonzero(mask)
    cost = rng.integers(1, 20, len(s)).astype(float)
    _assert_matches_networkx(pop, cap, s, h, cost)


def test_bad_input_is_a_clear_error():
    sets = frame(CROSS_SETTLEMENTS)
    with pytest.raises(AnalysisError, match="max_km"):
        coverage(settlements=sets, shelters=frame(CROSS_SHELTERS), max_km=-1)
    bad = frame([{**CROSS_SETTLEMENTS[0], "population": -5}])
    with pytest.raises(AnalysisError, match=r"row 1 field 'population'"):
        coverage(settlements=bad, shelters=frame(CROSS_SHELTERS), max_km=5)
    dup = frame([CROSS_SETTLEMENTS[0], CROSS_SETTLEMENTS[0]])
    with pytest.raises(AnalysisError, match="duplicate id"):
        coverage(settlements=dup, shelters=frame(CROSS_SHELTERS), max_km=5)


@pytest.mark.parametrize("seed", range(6))
def test_allocation_with_big_cities_matches_networkx(seed):
    # the national pattern: a few cities with more people than all shelters in reach (their rows
    # are redundant and edges beyond them get pruned) and villages competing for the same shelters
    rng = np.random.default_rng(100 + seed)
    ns, nh = 14, 12
    pop = rng.integers(5, 60, ns)
    pop[:3] = 5000
    cap = rng.integers(1, 80, nh)
    mask = rng.random((ns, nh)) < 0.45
    s, h = np.nonzero(mask)
    cost = rng.integers(1, 30, len(s)).astype(float)
    _assert_matches_networkx(pop, cap, s, h, cost)


def test_travel_time_reach_on_a_hand_made_road_graph():
    from cimic_geo.analytics.reach import travel_time_reach
    from cimic_geo.analytics.roadgraph import build_road_graph

    # A --(open, 60 km/h)--> H: the meridian from 48.0 to 48.1 N, geodesic length L km = L minutes.
    # B's only road is impassable (removed from the graph), so B snaps to H's node ~7.4 km away
    # and walks it at 5 km/h (~89 min): no reach within 12 minutes.
    length_km = GEOD.inv(36.0, 48.0, 36.0, 48.1)[2] / 1000.0  # ~11.12 km
    roads = gpd.GeoDataFrame(
        {"id": ["r1", "r2"], "road_class": ["primary", "local"], "speed_kmh": [60.0, 30.0],
         "status": ["open", "impassable"], "bridge": [False, False], "name": ["", ""]},
        geometry=[LineString([(36.0, 48.0), (36.0, 48.1)]), LineString([(36.0, 48.1), (36.1, 48.1)])],
        crs="EPSG:4326")
    graph = build_road_graph(roads)
    sets = frame([{"id": "A", "name": "A", "population": 10, "geometry": Point(36.0, 48.0)},
                  {"id": "B", "name": "B", "population": 10, "geometry": Point(36.1, 48.1)}])
    shel = frame([{"id": "H", "name": "H", "capacity": 5, "status": "open", "geometry": Point(36.0, 48.1)}])
    reach = travel_time_reach(graph, sets, shel, max_minutes=12)
    assert list(reach.s) == [0] and reach.cost[0] == pytest.approx(length_km, abs=0.01)
    assert len(travel_time_reach(graph, sets, shel, max_minutes=11).s) == 0
    from functools import partial

    res = coverage(settlements=sets, shelters=shel, reach_fn=partial(travel_time_reach, graph, max_minutes=12))
    assert by_id(res, "settlements", "covered") == {"A": 5, "B": 0} and res.unit == "min"


def test_reach_is_exact_east_west_at_high_latitude():
    # East-west at 70°N a projected distance would be distorted; the earth-centred chord is always
    # shorter than the geodesic, so no pair within the limit is missed. GEOD.fwd places shelters at
    # exactly 3.000 km (in, limit inclusive) and 3.001 km (out) east and west of S.
    lon, lat = 20.0, 70.0
    east = GEOD.fwd(lon, lat, 90.0, 3000.0)
    west = GEOD.fwd(lon, lat, 270.0, 3001.0)
    sets = frame([{"id": "S", "name": "S", "population": 10, "geometry": Point(lon, lat)}])
    shel = frame([
        {"id": "E", "name": "E", "capacity": 5, "status": "open", "geometry": Point(east[0], east[1])},
        {"id": "W", "name": "W", "capacity": 5, "status": "open", "geometry": Point(west[0], west[1])},
    ])
    reach = straight_line_reach(sets, shel, max_km=3)
    assert list(reach.h) == [0] and reach.cost[0] == pytest.approx(3.0, abs=1e-6)


def test_reach_matches_brute_force_geodesic_pairs():
    # independent check of the k-d tree candidates: every pair within 2 km by pyproj.Geod, no other
    rng = np.random.default_rng(7)
    a = np.column_stack([36.0 + rng.random(60) * 0.1, 48.5 + rng.random(60) * 0.06])
    b = np.column_stack([36.0 + rng.random(80) * 0.1, 48.5 + rng.random(80) * 0.06])
    sets = frame([{"id": f"S{i}", "name": "", "population": 1, "geometry": Point(*xy)} for i, xy in enumerate(a)])
    shel = frame([{"id": f"H{j}", "name": "", "capacity": 1, "status": "open", "geometry": Point(*xy)}
                  for j, xy in enumerate(b)])
    reach = straight_line_reach(sets, shel, max_km=2)
    ii, jj = np.meshgrid(np.arange(60), np.arange(80), indexing="ij")
    d = GEOD.inv(a[ii.ravel(), 0], a[ii.ravel(), 1], b[jj.ravel(), 0], b[jj.ravel(), 1])[2] / 1000.0
    want = {(int(i), int(j)): float(k) for i, j, k in zip(ii.ravel(), jj.ravel(), d, strict=True) if k <= 2.0}
    got = {(int(i), int(j)): float(k) for i, j, k in zip(reach.s, reach.h, reach.cost, strict=True)}
    assert len(want) > 50 and got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k], abs=1e-9) for k in want)


def test_polygon_settlements_use_a_point_inside():
    # a settlement drawn as a small square centred on north_of(0): its representative point is the
    # centre (shapely point_on_surface of a symmetric square), 1.5 km from H
    c = north_of(0)
    square = Point(c.x, c.y).buffer(0.001, cap_style="square")
    sets = frame([{"id": "S", "name": "S", "population": 10, "geometry": square}])
    shel = frame([{"id": "H", "name": "H", "capacity": 4, "status": "open", "geometry": north_of(1.5)}])
    res = coverage(settlements=sets, shelters=shel, max_km=2)
    assert by_id(res, "settlements", "covered") == {"S": 4}
    assert res.to_dict()["person_km"] == pytest.approx(4 * 1.5, abs=1e-3)


def _east(km_north: float, lon: float) -> Point:
    lon_, lat, _ = GEOD.fwd(lon, 48.5, 0.0 if km_north >= 0 else 180.0, abs(km_north) * 1000.0)
    return Point(lon_, lat)


def test_independent_coupled_parts_are_solved_exactly(monkeypatch):
    import cimic_geo.analytics.allocation as cov

    # Two far-apart copies of a problem that needs the flow solver (both greedy certificates fail):
    # west (lon 36): the CROSS case, optimum S1 -> H2 100 (2 km), S2 -> H1 100 (3 km) = 500 person-km.
    # east (lon 38): S3 80 people at 0 km reaches H3 (60 places, 1 km) and H4 (100 places, 2 km);
    # S4 50 people at 4 km reaches only H3 (3 km). Max placed = 130, which needs S4 -> H3 50;
    # H3 has 10 left: S3 -> H3 10 (1 km) + S3 -> H4 70 (2 km): 150 + 10 + 140 = 300 person-km
    # (S3 all to H4 would cost 310). Total 330 placed, 800 person-km.
    sets = frame([*CROSS_SETTLEMENTS,
                  {"id": "S3", "name": "", "population": 80, "geometry": _east(0, 38.0)},
                  {"id": "S4", "name": "", "population": 50, "geometry": _east(4, 38.0)}])
    shel = frame([*CROSS_SHELTERS,
                  {"id": "H3", "name": "", "capacity": 60, "status": "open", "geometry": _east(1, 38.0)},
                  {"id": "H4", "name": "", "capacity": 100, "status": "open", "geometry": _east(-2, 38.0)}])
    calls = []
    real = cov.least_cost_flow
    monkeypatch.setattr(cov, "least_cost_flow", lambda c, *a, **k: calls.append(len(c)) or real(c, *a, **k))
    monkeypatch.setattr(cov, "_LAST", {}, raising=False)  # solved here, not the kept answer of the last case
    res = coverage(settlements=sets, shelters=shel, max_km=3.5)
    alloc = {(r.settlement_id, r.shelter_id): int(r.people) for r in res.allocation.itertuples()}
    assert alloc == {("S1", "H2"): 100, ("S2", "H1"): 100, ("S3", "H3"): 10, ("S3", "H4"): 70, ("S4", "H3"): 50}
    assert res.to_dict()["person_km"] == pytest.approx(800.0, abs=1e-3)
    assert calls == [6]  # both coupled parts in one least-cost flow (6 edges left by the exact reductions)


@pytest.mark.parametrize("seed", range(4))
def test_many_components_match_networkx(seed):
    # several disjoint random clusters (block-diagonal reach), solved together
    rng = np.random.default_rng(300 + seed)
    pops, caps, ss, hs, cs = [], [], [], [], []
    for _ in range(5):
        ns, nh = 8, 7
        p = rng.integers(5, 60, ns)
        p[0] = 4000
        mask = rng.random((ns, nh)) < 0.5
        s, h = np.nonzero(mask)
        ss.append(s + sum(len(x) for x in pops))
        hs.append(h + sum(len(x) for x in caps))
        cs.append(rng.integers(1, 25, len(s)).astype(float))
        pops.append(p)
        caps.append(rng.integers(1, 70, nh))
    _assert_matches_networkx(np.concatenate(pops), np.concatenate(caps), np.concatenate(ss),
                             np.concatenate(hs), np.concatenate(cs))


def test_edge_order_of_the_reach_does_not_matter():
    # 50 people, two shelters of 30 at the same 2 km: ties go to the lower shelter index, so
    # shelter 0 gets 30 and shelter 1 gets 20, whether the edges come sorted or not
    pop, cap = np.array([50]), np.array([30, 30])
    assert list(allocate(pop, cap, Reach([0, 0], [0, 1], [2.0, 2.0]))) == [30, 20]
    assert list(allocate(pop, cap, Reach([0, 0], [1, 0], [2.0, 2.0]))) == [20, 30]
    # and on the LP path: the block test's east copy with its edges reversed (see above):
    # S3 -> H3 10, S3 -> H4 70, S4 -> H3 50
    s, h, c = np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0])
    flow = allocate(np.array([80, 50]), np.array([60, 100]), Reach(s[::-1], h[::-1], c[::-1]))
    assert list(flow) == [50, 70, 10]


def test_pairs_to_shelters_without_room_are_kept_by_the_chord_where_it_decides():
    # closed shelters 3 km north (surely in: its chord is < 5 km by far) and 5.0000001 km south (0.1 mm
    # beyond the limit; its chord, ~0.13 mm shorter than the geodesic (d³/24R²), is within 5 km, so only
    # the geodesic tells it is out); an open one with room 4.9 km north: its cost is the geodesic itself
    sets = frame([{"id": "S", "name": "S", "population": 10, "geometry": north_of(0)}])
    shel = frame([
        {"id": "A", "name": "A", "capacity": 5, "status": "closed", "geometry": north_of(3.0)},
        {"id": "B", "name": "B", "capacity": 5, "status": "closed", "geometry": north_of(-5.0000001)},
        {"id": "C", "name": "C", "capacity": 5, "status": "open", "geometry": north_of(4.9)},
    ])
    full = straight_line_reach(sets, shel, max_km=5)
    room = straight_line_reach(sets, shel, max_km=5, distance_for=np.array([False, False, True]))
    assert list(full.h) == list(room.h) == [0, 2]
    assert room.cost[1] == full.cost[1] == pytest.approx(4.9, abs=1e-9)
    assert room.cost[0] == pytest.approx(3.0, abs=1e-7) and room.cost[0] <= full.cost[0]  # the chord: 0.03 mm less
    # the same on random places, some just around the limit: the same pairs, exact costs where asked
    rng = np.random.default_rng(3)
    a = np.column_stack([36.0 + rng.random(40) * 0.1, 48.5 + rng.random(40) * 0.06])
    b = np.column_stack([36.0 + rng.random(90) * 0.1, 48.5 + rng.random(90) * 0.06])
    b[:30] = np.column_stack(GEOD.fwd(a[:30, 0], a[:30, 1], rng.uniform(0, 360, 30),
                                      2000.0 + rng.uniform(-2e-4, 2e-4, 30))[:2])  # 2 km +- 0.2 mm
    sets = frame([{"id": f"S{i}", "name": "", "population": 1, "geometry": Point(*xy)} for i, xy in enumerate(a)])
    shel = frame([{"id": f"H{j}", "name": "", "capacity": 1, "status": "open", "geometry": Point(*xy)}
                  for j, xy in enumerate(b)])
    asked = rng.random(90) < 0.5
    full = straight_line_reach(sets, shel, max_km=2)
    part = straight_line_reach(sets, shel, max_km=2, distance_for=asked)
    assert np.array_equal(full.s, part.s) and np.array_equal(full.h, part.h) and len(full.s) > 40
    on = asked[full.h]
    assert np.array_equal(full.cost[on], part.cost[on])
    assert np.all(part.cost[~on] <= full.cost[~on]) and np.all(full.cost[~on] - part.cost[~on] < 1e-7)
