"""Time to safety and coverage by travel time join places where a route does: at the nearest point
on the nearest passable edge (a virtual split), not at that edge's nearer end.

Roads (every road 60 km/h, so minutes = km; lengths by hand in access_fixtures):
road A runs north along the meridian 33°E (the central meridian of the metric UTM zone, so
positions along it are geodesic ones) from S (33.00, 48.00) to N (33.00, 48.10) in ONE edge;
road B runs east from N to E (33.10, 48.10).

* Mid (33.001, 48.03) lies 74 m east of A, beside it 0.03° north of S: its nearer end is S.
  Joined at the point beside it, Mid drives 48.03 -> 48.10 on A, then all of B to a hub at E:
      meridian_km(48.065, 0.07) + parallel_km(48.10, 0.10) = 7.7834 + 7.4481 = 15.2315 min.
  Joined at the nearer end S it would drive A whole: 11.1191 + 7.4481 = 18.5672 min.
* Upper (32.999, 48.07) lies beside A 0.07° north of S: Mid reaches it straight along A,
  0.04° of meridian = meridian_km(48.05, 0.04) = 4.4477 min (nearer ends S and N: 11.1191 min).
* Walking to the road at 5 km/h: parallel_km(48.03, 0.001) = 0.0746 km -> 0.0746 / 5 * 60 = 0.895 min.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from access_fixtures import meridian_km, parallel_km, roads_frame
from shapely.geometry import Point

from cimic_geo.analytics.reach import travel_time_reach
from cimic_geo.analytics.road_split import place_ends, same_edge_pairs
from cimic_geo.analytics.roadgraph import NO_THREAT, RoutingPolicy, build_road_graph
from cimic_geo.analytics.routing import find_routes, resolve_place
from cimic_geo.analytics.time_to_safety import time_to_safety

S_, N_, E_ = (33.0, 48.0), (33.0, 48.1), (33.1, 48.1)
MID, UPPER = (33.001, 48.03), (32.999, 48.07)
TO_E = meridian_km(48.065, 0.07) + parallel_km(48.10, 0.10)  # 15.2315
NEARER_END_TO_E = meridian_km(48.05, 0.10) + parallel_km(48.10, 0.10)  # 18.5672
MID_TO_UPPER = meridian_km(48.05, 0.04)  # 4.4477
WALK = parallel_km(48.03, 0.001) / 5.0 * 60.0  # 0.895 min


def _graph(**overrides):
    return build_road_graph(roads_frame([("A", S_, N_), ("B", N_, E_)], **overrides))


def _places(*rows) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [r[0] for r in rows], "population": 10,
                             "capacity": 100, "status": "open"},
                            geometry=[Point(*r[1]) for r in rows], crs="EPSG:4326")


def test_the_hand_computed_numbers():
    assert round(TO_E, 4) == 15.2315
    assert round(NEARER_END_TO_E, 4) == 18.5672
    assert round(MID_TO_UPPER, 4) == 4.4477
    assert round(WALK, 3) == 0.895


def test_time_to_safety_leaves_from_the_point_beside_the_edge_like_the_route():
    g = _graph()
    t = time_to_safety(g, _places(("Mid", MID), ("East", E_)), policy=RoutingPolicy(penalties=None),
                       hubs=["East"]).set_index("id")
    assert t.loc["Mid", "status"] == "reachable" and t.loc["Mid", "nearest_hub"] == "East"
    assert t.loc["Mid", "minutes"] == pytest.approx(TO_E, abs=1e-4)
    assert abs(t.loc["Mid", "minutes"] - NEARER_END_TO_E) > 3  # the nearer-end answer is 3.3 min longer
    (r,) = find_routes(g, resolve_place(f"{MID[1]},{MID[0]}", graph=g).point,
                       resolve_place(f"{E_[1]},{E_[0]}", graph=g).point, policy=NO_THREAT, alternatives=0)
    assert r.minutes == pytest.approx(t.loc["Mid", "minutes"], abs=1e-6)


def test_time_to_safety_along_a_shared_edge_and_one_way():
    g = _graph()
    t = time_to_safety(g, _places(("Mid", MID), ("Upper", UPPER)), policy=RoutingPolicy(penalties=None),
                       hubs=["Upper"]).set_index("id")
    assert t.loc["Mid", "minutes"] == pytest.approx(MID_TO_UPPER, abs=1e-4)
    # A one-way northwards: Mid still reaches Upper (forward), but not a hub at S (behind it) ...
    ow = _graph(A={"oneway": True})
    t = time_to_safety(ow, _places(("Mid", MID), ("Upper", UPPER)), policy=RoutingPolicy(penalties=None),
                       hubs=["Upper"]).set_index("id")
    assert t.loc["Mid", "minutes"] == pytest.approx(MID_TO_UPPER, abs=1e-4)
    places = _places(("Mid", MID), ("South", S_))
    t = time_to_safety(ow, places, policy=RoutingPolicy(penalties=None), hubs=["South"]).set_index("id")
    assert t.loc["Mid", "status"] == "cut_off"
    # ... unless one-way is ignored (convoy/emergency): 0.03° of meridian = 3.3357 min
    t = time_to_safety(ow, places, policy=RoutingPolicy(penalties=None, ignore_oneway=True),
                       hubs=["South"]).set_index("id")
    assert t.loc["Mid", "minutes"] == pytest.approx(meridian_km(48.015, 0.03), abs=1e-4)
    assert t.loc["Mid", "minutes"] == pytest.approx(3.3357, abs=1e-4)


def test_coverage_reach_joins_settlements_and_shelters_at_their_points():
    g = _graph()
    settlements = _places(("Mid", MID))
    shelters = _places(("East", E_), ("Upper", UPPER))
    reach = travel_time_reach(g, settlements, shelters, max_minutes=16.5)
    got = {int(h): c for h, c in zip(reach.h, reach.cost, strict=True)}
    # East: walk 0.895 + 15.2315 = 16.13 min (at the nearer end S: 19.46, beyond the limit)
    assert got[0] == pytest.approx(WALK + TO_E, abs=0.01)
    # Upper: walk at both ends + straight along A: 0.895 + 4.4477 + 0.895 = 6.24 min
    assert got[1] == pytest.approx(2 * WALK + MID_TO_UPPER, abs=0.01)
    assert list(reach.s) == [0, 0]
    assert len(travel_time_reach(g, settlements, shelters, max_minutes=16.0).s) == 1
    # one-way A northwards: the shelter at S is behind Mid, unreachable; ignoring one-way it is not
    ow = _graph(A={"oneway": True})
    south = _places(("South", S_))
    assert len(travel_time_reach(ow, settlements, south, max_minutes=30).s) == 0
    (c,) = travel_time_reach(ow, settlements, south, max_minutes=30,
                             policy=RoutingPolicy(penalties=None, exclude_occupied=False, ignore_oneway=True)).cost
    assert c == pytest.approx(WALK + meridian_km(48.015, 0.03), abs=0.01)


def test_partial_edges_of_many_places_at_once():
    g = _graph(A={"oneway": True})
    edge, frac, _ = g.snap_edges([MID[0], 33.05], [MID[1], 48.1001])
    leave = place_ends(g, edge, frac, leaving=True, ignore_oneway=False)
    # Mid is on the one-way A: it leaves only forwards, 0.7 of A; the point on two-way B both ways
    assert sorted(leave.place.tolist()) == [0, 1, 1]
    assert leave.part[leave.place == 0] == pytest.approx([1 - frac[0]])
    assert sorted(leave.part[leave.place == 1]) == pytest.approx([0.5, 0.5], abs=1e-3)
    arrive = place_ends(g, edge, frac, leaving=False, ignore_oneway=False)
    assert int(arrive.node[arrive.place == 0][0]) == int(g.edge_u[edge[0]])  # reached from S only
    ia, ib, part = same_edge_pairs(np.array([0, 0]), np.array([0.6, 0.2]), np.array([0]), np.array([0.4]),
                                   np.array([True]))
    assert ia.tolist() == [1] and ib.tolist() == [0] and part == pytest.approx([0.2])  # 0.6 -> 0.4 is against the one-way


def test_a_place_on_a_node_is_that_node_even_when_its_edge_is_closed():
    # N is the end of road A and the start of road B. With A on the occupied side (closed), a place
    # snapped to A at N (fraction 1, distance 0) still leaves by B: 0.10° of parallel at 48.10 = 7.4481 min.
    from shapely.geometry import Polygon

    from cimic_geo.analytics.road_split import partial_cost
    from cimic_geo.analytics.routing import EdgePoint

    occupied = Polygon([(32.99, 48.0), (33.01, 48.0), (33.01, 48.09), (32.99, 48.09)])
    g = build_road_graph(roads_frame([("A", S_, N_), ("B", N_, E_)]), occupied=occupied)
    policy = RoutingPolicy(penalties=None)  # occupied side excluded
    a = int(np.flatnonzero(g.roads["id"].to_numpy()[g.edge_seg] == "A")[0])
    cost = g.edge_cost(policy)
    assert not np.isfinite(cost[a])
    leave = place_ends(g, np.array([a]), np.array([1.0]), leaving=True, ignore_oneway=False)
    assert partial_cost(leave.part, cost[leave.edge]).min() == 0.0
    east = resolve_place(f"{E_[1]},{E_[0]}", graph=g).point
    (r,) = find_routes(g, EdgePoint(a, 1.0), east, policy=policy, alternatives=0)
    assert r.minutes == pytest.approx(parallel_km(48.10, 0.10), abs=1e-4)
    assert find_routes(g, EdgePoint(a, 0.5), east, policy=policy, alternatives=0) == []  # mid-A: closed
