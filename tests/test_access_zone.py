"""The danger-zone rule: a start or end inside the avoided zone may use the zone's roads to leave or
arrive, never to cross the zone; route, time to safety and cut-off settlements agree.

Hand-made network north of a straight front line along the parallel 48.00° (occupied side to the
south). Every road runs 60 km/h, so travel minutes equal kilometres; distances to the front are
meridian arcs (see access_fixtures). With ``avoid_km = 3``:

* Alpha (37.00, 48.01), 1.11 km from the front: its road north A-P-Q-H1 has two zone edges
  (A-P 1.11 km, P-Q 2.22 km from the front) and then leaves (Q-H1, 3.34 km): Alpha leaves the zone,
  0.09° of meridian = 10.0 km = 10.0 min to hub H1.
* Bravo (37.05, 48.04), 4.45 km away, outside the zone: its only road B-C-P goes into the zone
  (C is 2.22 km away): cut off, every route enters the avoided zone.
* Delta (36.95, 48.01), inside: its way out leaves the zone (D1-D5, 4.45 km) and comes back into
  it (D5-D2-D4, 2.22 km) before the hub: cut off, its way out crosses the zone again.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from access_fixtures import meridian_km, roads_frame
from shapely.geometry import LineString, Point, Polygon

from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph
from cimic_geo.analytics.routing import find_routes, in_zone, resolve_place
from cimic_geo.analytics.time_to_safety import time_to_safety
from cimic_geo.corridors import AccessContext, cutoff_document, route_document

FRONT = LineString([(36.9, 48.0), (37.2, 48.0)])
OCCUPIED = Polygon([(36.9, 47.9), (37.2, 47.9), (37.2, 48.0), (36.9, 48.0)])
A, P, Q, H1 = (37.0, 48.01), (37.0, 48.02), (37.0, 48.03), (37.0, 48.10)
B, C = (37.05, 48.04), (37.05, 48.02)
D0, D1, D5, D2, D4, H2 = (36.95, 48.01), (36.95, 48.05), (36.94, 48.05), (36.93, 48.02), (36.93, 48.05), (36.93, 48.10)


def _roads() -> gpd.GeoDataFrame:
    return roads_frame([("a1", A, P), ("a2", P, Q), ("a3", Q, H1), ("b1", B, C), ("b2", C, P),
                        ("d1", D0, D1), ("d2", D1, D5), ("d3", D5, D2), ("d4", D2, D4), ("d5", D4, H2)])


def _settlements() -> gpd.GeoDataFrame:
    rows = [("S-A", "Alpha", A), ("S-B", "Bravo", B), ("S-D", "Delta", D0), ("S-H1", "Hub One", H1),
            ("S-H2", "Hub Two", H2)]
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [r[1] for r in rows], "population": 100},
                            geometry=[Point(*r[2]) for r in rows], crs="EPSG:4326")


def _graph():
    return build_road_graph(_roads(), front_line=FRONT, occupied=OCCUPIED, bands_km=(3, 6, 9))


def _node(g, lonlat) -> int:
    return int(np.flatnonzero(np.all(np.isclose(g.node_lonlat, lonlat), axis=1))[0])


POLICY = RoutingPolicy(avoid_km=3.0, penalties=None)


def test_start_inside_the_zone_leaves_it_by_its_roads():
    g = _graph()
    assert in_zone(g, POLICY, [A[0], B[0], D0[0]], [A[1], B[1], D0[1]]).tolist() == [True, False, True]
    # without the rule nobody inside the zone has a route out
    assert find_routes(g, _node(g, A), _node(g, H1), policy=POLICY) == []
    (r,) = find_routes(g, _node(g, A), _node(g, H1), policy=POLICY, origin_in_zone=True, alternatives=0)
    assert r.minutes == pytest.approx(meridian_km(48.055, 0.09), abs=1e-6)
    # arriving: the same roads backwards
    (r,) = find_routes(g, _node(g, H1), _node(g, A), policy=POLICY, target_in_zone=True, alternatives=0)
    assert r.minutes == pytest.approx(meridian_km(48.055, 0.09), abs=1e-6)
    # a start outside the zone may not enter it; a start inside may not cross it again
    assert find_routes(g, _node(g, B), _node(g, H1), policy=POLICY, target_in_zone=False) == []
    assert find_routes(g, _node(g, D0), _node(g, H2), policy=POLICY, origin_in_zone=True) == []


def test_route_time_to_safety_and_cut_off_agree():
    g = _graph()
    s = _settlements()
    t = time_to_safety(g, s, policy=POLICY).set_index("id")
    assert t.loc["S-A", "status"] == "reachable" and t.loc["S-A", "nearest_hub"] == "S-H1"
    assert t.loc["S-A", "minutes"] == pytest.approx(meridian_km(48.055, 0.09), abs=1e-6)
    assert t.loc["S-B", "status"] == "cut_off" and "enters" in t.loc["S-B", "reason"]
    assert t.loc["S-D", "status"] == "cut_off" and "crosses it again" in t.loc["S-D", "reason"]

    empty = gpd.GeoDataFrame({"id": [], "name": [], "capacity": [], "occupancy": [], "status": [], "kind": [],
                              "accessible": [], "sector": []}, geometry=[], crs="EPSG:4326")
    ctx = AccessContext(graph=g, settlements=s, shelters=empty, health=empty, as_of=None)
    doc, _ = cutoff_document(ctx, avoid_km=3.0)
    assert sorted(c["id"] for c in doc["cut_off"]) == ["S-B", "S-D"]
    assert doc["network"]["components"] == 2
    route = route_document(ctx, "Alpha", "Hub One", avoid_km=3.0, penalise=False, alternatives=0)
    assert route["found"] and route["travel_time_min"] == pytest.approx(t.loc["S-A", "minutes"], abs=0.05)
    assert any("inside the avoided zone" in w for w in route["warnings"])
    for name, hub in (("Bravo", "Hub One"), ("Delta", "Hub Two")):
        assert not route_document(ctx, name, hub, avoid_km=3.0, penalise=False)["found"]
    far = route_document(ctx, "Alpha", "Hub Two", avoid_km=3.0, penalise=False)
    assert not far["found"] and "separate pieces" in far["reason"]


def test_every_settlement_near_the_front_with_a_road_gets_a_route_out(demo_db):
    from cimic_geo.corridors import load_access_context
    from cimic_geo.store import connect

    with connect(demo_db, read_only=True) as store:
        ctx = load_access_context(store, keep_graph=False)
    avoid = 5.0
    _, table = cutoff_document(ctx, avoid_km=avoid)
    near = table[(table["in_excluded_band"]) & (table["status"] != "occupied") & (table["snap_km"] <= 5)]
    assert len(near) > 0
    # a road connection: some hub reachable when nothing is avoided
    free_t = cutoff_document(ctx, avoid_km=0.0)[1].set_index("id")
    connected = near[free_t.loc[near["id"], "status"].isin(["reachable", "hub"]).to_numpy()]
    assert len(connected) > 0
    crossing = connected["reason"].str.contains("crosses it again")
    assert (connected.loc[~crossing, "status"] == "reachable").all(), connected.loc[~crossing, ["name", "reason"]]
    # the route out agrees with time to safety for a sample of them
    for row in connected[connected["status"] == "reachable"].head(8).itertuples():
        hub = table.loc[table["id"] == row.nearest_hub, "id"].iloc[0]
        r = route_document(ctx, row.id, hub, avoid_km=avoid, penalise=False, alternatives=0)
        assert r["found"], (row.name, r.get("reason"))
        assert r["travel_time_min"] == pytest.approx(row.minutes, rel=1e-6, abs=0.05)


def test_unconnected_pieces_are_drawn_on_the_planner_map():
    import folium

    from cimic_geo.maps.planner_map import PIECE_COLOR, planner_layer_groups
    from cimic_geo.ui.planner_page_map import small_pieces

    g = _graph()
    ctx = AccessContext(graph=g, settlements=_settlements(), shelters=None, health=None, as_of=None)
    pieces = small_pieces(ctx)
    # km: the Alpha/Bravo roads a1 1.11 + a2 1.11 + a3 7.78 + b1 2.22 + b2 3.72 (0.05° of parallel at 48.02)
    # = 15.9; the Delta roads d1 4.45 + d2 0.74 + d3 3.35 + d4 3.34 + d5 5.56 = 17.4: Alpha's piece is the small one
    assert len(pieces) == 5 and set(g.roads["id"].to_numpy()[g.edge_seg[g.connectivity().small_edges]]) == {
        "a1", "a2", "a3", "b1", "b2"}
    m = folium.Map()
    for fg in planner_layer_groups({}, small_pieces=pieces):
        fg.add_to(m)
    html = m.get_root().render()
    assert PIECE_COLOR in html and "not connected to the main road network" in html
    assert "[48.04, 37.05]" in html  # Bravo's end of b1, as Leaflet's [lat, lon]


def test_a_settlement_beside_a_zone_road_leaves_from_its_point_and_all_three_agree():
    # Echo (37.0005, 48.025) lies 37 m east of road a2 (P 48.02 -> Q 48.03), beside its middle and
    # 2.78 km from the front: inside the zone. It leaves north from its point on a2: half of a2
    # (48.025 -> 48.03) and a3 (48.03 -> 48.10), 0.075° of meridian = meridian_km(48.0625, 0.075)
    # = 8.34 min. Joined at a2's nearer end it would add 0.005° (0.56 min) or drive a1 south first.
    g = _graph()
    echo = (37.0005, 48.025)
    s = pd.concat([_settlements(), gpd.GeoDataFrame({"id": ["S-E"], "name": ["Echo"], "population": [50]},
                                                     geometry=[Point(*echo)], crs="EPSG:4326")],
                  ignore_index=True)
    expected = meridian_km(48.0625, 0.075)
    assert expected == pytest.approx(8.3397, abs=1e-3)
    t = time_to_safety(g, s, policy=POLICY).set_index("id")
    assert bool(t.loc["S-E", "in_excluded_band"])
    assert t.loc["S-E", "status"] == "reachable" and t.loc["S-E", "nearest_hub"] == "S-H1"
    assert t.loc["S-E", "minutes"] == pytest.approx(expected, abs=1e-4)
    empty = gpd.GeoDataFrame({"id": [], "name": [], "capacity": [], "occupancy": [], "status": [], "kind": [],
                              "accessible": [], "sector": []}, geometry=[], crs="EPSG:4326")
    ctx = AccessContext(graph=g, settlements=s, shelters=empty, health=empty, as_of=None)
    doc, table = cutoff_document(ctx, avoid_km=3.0)
    assert "S-E" not in {c["id"] for c in doc["cut_off"]}
    assert table.set_index("id").loc["S-E", "minutes"] == pytest.approx(expected, abs=1e-4)
    route = route_document(ctx, "Echo", "Hub One", avoid_km=3.0, penalise=False, alternatives=0)
    assert route["found"] and route["travel_time_min"] == pytest.approx(expected, abs=0.05)
    (r,) = find_routes(g, resolve_place("Echo", graph=g, settlements=s).point, _node(g, H1), policy=POLICY,
                       origin_in_zone=True, alternatives=0)
    assert r.minutes == pytest.approx(t.loc["S-E", "minutes"], abs=1e-6)
