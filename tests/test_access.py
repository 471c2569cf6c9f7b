"""Routing, alternatives, time to safety and cut-off settlements on hand-made networks; the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from access_fixtures import (
    FRONT_NORTH,
    PT_A,
    PT_E,
    PT_H,
    PT_N1,
    PT_N2,
    PT_W,
    SALIENT,
    bridge_at_s2,
    cutoff_roads,
    cutoff_settlements,
    destroyed_bridge,
    grid_node,
    meridian_km,
    parallel_km,
    river_grid,
    roads_frame,
    salient_roads,
)
from shapely.geometry import LineString, Polygon

from cimic_geo.analytics.roadgraph import NO_THREAT, RoutingPolicy, build_road_graph
from cimic_geo.analytics.routing import (
    find_routes,
    resolve_place,
    route_road_ids,
)
from cimic_geo.analytics.time_to_safety import time_to_safety
from cimic_geo.cli import main
from cimic_geo.errors import AnalysisError, NotFoundError
from cimic_geo.store import connect


def _node(g, lonlat) -> int:
    n, d = g.snap(*lonlat)
    assert d[0] < 1e-6
    return int(n[0])


# ----------------------------------------------------------------------------------------------
# routes
# ----------------------------------------------------------------------------------------------


def test_destroyed_bridge_forces_the_hand_computed_detour():
    intact = build_road_graph(river_grid())
    o, t = _node(intact, grid_node(1, 0)), _node(intact, grid_node(1, 4))
    (r,) = find_routes(intact, o, t, policy=NO_THREAT, alternatives=0)
    # straight along lat 48.01: 4 x 0.01°
    assert r.length_km == pytest.approx(4 * parallel_km(48.01, 0.01), abs=1e-6)
    assert route_road_ids(intact, r) == ["h10", "h11", "h12", "h13"]

    broken = build_road_graph(river_grid(), infrastructure=destroyed_bridge("h12"))
    (d,) = find_routes(broken, o, t, policy=NO_THREAT, alternatives=0)
    # cheapest detour: up to row 2 (lat 48.02, where a degree of longitude is shortest), across, down:
    # 4 x 0.01° along the parallel 48.02 + 2 x 0.01° of meridian around 48.015
    expected = 4 * parallel_km(48.02, 0.01) + 2 * meridian_km(48.015, 0.01)
    assert d.length_km == pytest.approx(expected, abs=1e-6)
    assert d.minutes == pytest.approx(expected, abs=1e-6)  # 60 km/h
    assert route_road_ids(broken, d) == ["v10", "h20", "h21", "h22", "h23", "v14"]
    # the route geometry runs from origin to destination
    assert d.geometry.coords[0] == pytest.approx(grid_node(1, 0))
    assert d.geometry.coords[-1] == pytest.approx(grid_node(1, 4))


def test_penalties_change_the_chosen_route():
    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=(3, 6, 9))
    o, t = _node(g, PT_W), _node(g, PT_E)
    straight = parallel_km(48.05, 0.1)  # w1 + w2, both 2.22 km from the salient's tip: band 0-3
    north = 2 * meridian_km(48.075, 0.05) + parallel_km(48.1, 0.1)  # u1 + u2 + u3, all outside 0-3
    # straight = 7.44 km, north = 18.56 km: the straight road wins unless its penalty exceeds 18.56 / 7.44 = 2.49
    assert north / straight == pytest.approx(2.49, abs=0.01)
    for pens, expected in (((1, 1, 1), ["w1", "w2"]), ((2, 1, 1), ["w1", "w2"]), ((3, 1, 1), ["u1", "u2", "u3"])):
        (r,) = find_routes(g, o, t, policy=RoutingPolicy(penalties=pens), alternatives=0)
        assert route_road_ids(g, r) == expected, pens
    (r,) = find_routes(g, o, t, policy=RoutingPolicy(penalties=(2, 1, 1)), alternatives=0)
    assert r.cost == pytest.approx(2 * straight, abs=1e-6) and r.minutes == pytest.approx(straight, abs=1e-6)
    # excluding 3 km instead of penalising also forces the northern road; 2 km does not
    (r,) = find_routes(g, o, t, policy=RoutingPolicy(avoid_km=3, penalties=None), alternatives=0)
    assert r.length_km == pytest.approx(north, abs=1e-3)
    (r,) = find_routes(g, o, t, policy=RoutingPolicy(avoid_km=2, penalties=None), alternatives=0)
    assert r.length_km == pytest.approx(straight, abs=1e-6)
    # avoiding 8 km leaves no route at all
    assert find_routes(g, o, t, policy=RoutingPolicy(avoid_km=8, penalties=None)) == []


def test_occupied_ground_is_never_routed_through():
    occupied = Polygon([(37.02, 48.0), (37.08, 48.0), (37.08, 48.06), (37.02, 48.06)])
    g = build_road_graph(salient_roads(), front_line=SALIENT, occupied=occupied, bands_km=(3, 6, 9))
    (r,) = find_routes(g, _node(g, PT_W), _node(g, PT_E), policy=RoutingPolicy(penalties=None), alternatives=0)
    assert route_road_ids(g, r) == ["u1", "u2", "u3"]


def test_alternatives_are_meaningfully_different():
    g = build_road_graph(river_grid())
    o, t = _node(g, grid_node(1, 0)), _node(g, grid_node(1, 4))
    routes = find_routes(g, o, t, policy=NO_THREAT, alternatives=3, max_shared=0.7, max_stretch=2.0)
    assert 2 <= len(routes) <= 4
    assert routes[0].length_km == pytest.approx(4 * parallel_km(48.01, 0.01), abs=1e-6)
    assert all(r.cost >= routes[0].cost - 1e-9 for r in routes)
    assert all(r.cost <= 2.0 * routes[0].cost for r in routes)
    for i, a in enumerate(routes):
        for b in routes[i + 1:]:
            shared = g.edge_length_km[np.intersect1d(a.edges, b.edges)].sum()
            assert shared / b.length_km < 0.7
    with pytest.raises(AnalysisError, match=r"0\.\.3"):
        find_routes(g, o, t, alternatives=5)
    with pytest.raises(AnalysisError, match="same road junction"):
        find_routes(g, o, o)


# ----------------------------------------------------------------------------------------------
# places
# ----------------------------------------------------------------------------------------------


def test_point_beside_the_middle_of_a_long_edge_routes_from_the_point_on_it():
    # Road A runs north along the meridian 33°E (the central meridian of the metric UTM zone, so the
    # position along it in metres is the geodesic one) from S (33.00, 48.00) to N (33.00, 48.10) in
    # ONE edge; road B runs east from N to E (33.10, 48.10). 60 km/h: minutes = km.
    # The origin (33.001, 48.03) lies 74 m east of A, beside it 0.03° north of S: it joins A there
    # (a virtual node splitting A), not at A's nearer end S. To E the route drives 48.03 -> 48.10
    # on A, then all of B:
    #   minutes = meridian_km(48.065, 0.07) + parallel_km(48.10, 0.10) = 7.7834 + 7.4481 = 15.2315
    # (joining at S would drive A's whole 11.1191 km: 18.5672 min).
    s_, n_, e_ = (33.0, 48.0), (33.0, 48.1), (33.1, 48.1)
    g = build_road_graph(roads_frame([("A", s_, n_), ("B", n_, e_)]))
    assert g.n_edges == 2
    o = resolve_place("48.03,33.001", graph=g)
    # the meridian arc S -> 48.03 over S -> N (not quite 0.3: the arc per degree grows northwards)
    frac = meridian_km(48.015, 0.03) / meridian_km(48.05, 0.10)
    assert o.edge == 0 and o.frac == pytest.approx(frac, abs=1e-6) and o.node == _node(g, s_)
    assert o.snap_km == pytest.approx(parallel_km(48.03, 0.001), rel=1e-3)
    t = resolve_place(f"{e_[1]},{e_[0]}", graph=g)
    (r,) = find_routes(g, o.point, t.point, policy=NO_THREAT, alternatives=0)
    expected = meridian_km(48.065, 0.07) + parallel_km(48.10, 0.10)
    assert r.minutes == pytest.approx(expected, abs=1e-4) and r.length_km == pytest.approx(expected, abs=1e-4)
    assert r.minutes == pytest.approx(15.2315, abs=1e-4)
    # the line is cut at the same fraction of its lon/lat length: within 1e-6° (0.1 m) of the foot
    assert r.geometry.coords[0] == pytest.approx((33.0, 48.03), abs=1e-6)
    assert r.geometry.coords[-1] == pytest.approx(e_, abs=1e-9)
    # back towards S: only the southern part of A, 0.03° of meridian = 3.3357 min
    (r,) = find_routes(g, o.point, resolve_place("48.0,33.0", graph=g).point, alternatives=0)
    assert r.minutes == pytest.approx(meridian_km(48.015, 0.03), abs=1e-4)
    # two points on the same edge: the part between them (0.03 -> 0.07 north of S) = 4.4477 min
    (r,) = find_routes(g, o.point, resolve_place("48.07,32.999", graph=g).point, alternatives=0)
    assert r.minutes == pytest.approx(meridian_km(48.05, 0.04), abs=1e-4) and list(r.edges) == [0]


def test_a_point_on_a_one_way_edge_leaves_it_in_its_direction_only():
    # Same roads, A one-way northwards (drawn S -> N). From the point 0.03° north of S, S is only
    # reachable against the one-way: no route; ignoring one-way: 0.03° of meridian = 3.3357 min.
    # Towards E the one-way direction is the right one: 0.07° of A + B = 15.2315 min (as above).
    s_, n_, e_ = (33.0, 48.0), (33.0, 48.1), (33.1, 48.1)
    g = build_road_graph(roads_frame([("A", s_, n_), ("B", n_, e_)], A={"oneway": True}))
    o = resolve_place("48.03,33.001", graph=g)
    to_s = resolve_place("48.0,33.0", graph=g).point
    assert find_routes(g, o.point, to_s, policy=NO_THREAT, alternatives=0) == []
    (r,) = find_routes(g, o.point, to_s, policy=RoutingPolicy(penalties=None, exclude_occupied=False,
                                                              ignore_oneway=True), alternatives=0)
    assert r.minutes == pytest.approx(meridian_km(48.015, 0.03), abs=1e-4)
    (r,) = find_routes(g, o.point, resolve_place("48.1,33.1", graph=g).point, alternatives=0)
    assert r.minutes == pytest.approx(meridian_km(48.065, 0.07) + parallel_km(48.10, 0.10), abs=1e-4)
    # arriving at a point on A from E is against the one-way too
    assert find_routes(g, resolve_place("48.1,33.1", graph=g).point, o.point, alternatives=0) == []


def test_resolve_place_by_name_ukrainian_name_and_latlon():
    g = build_road_graph(cutoff_roads())
    s = cutoff_settlements()
    p = resolve_place("harbour", graph=g, settlements=s)
    assert p.settlement_id == "S-H" and np.allclose(g.node_lonlat[p.node], PT_H)
    assert resolve_place("ГАВАНЬ", graph=g, settlements=s).settlement_id == "S-H"
    # 0.0001° south of A: the nearest point of any road is A itself
    p = resolve_place("47.9999, 37.0", graph=g, settlements=s)
    assert np.allclose(g.node_lonlat[p.node], PT_A)
    assert p.snap_km == pytest.approx(meridian_km(47.99995, 0.0001), abs=1e-4)
    # on road n0 (A -> N1), 0.0001° north of A: snapped onto the road (0 km), joining at its near end A
    p = resolve_place("48.0001, 37.0", graph=g, settlements=s)
    assert np.allclose(g.node_lonlat[p.node], PT_A)
    assert p.snap_km == pytest.approx(0.0, abs=1e-6)


def test_unknown_place_suggests_close_matches():
    g = build_road_graph(cutoff_roads())
    with pytest.raises(NotFoundError, match="no settlement named 'Harbor'; did you mean: Harbour"):
        resolve_place("Harbor", graph=g, settlements=cutoff_settlements())
    with pytest.raises(NotFoundError, match="no settlement named 'Zzyzx'"):
        resolve_place("Zzyzx", graph=g, settlements=cutoff_settlements())


def test_point_far_from_any_road_is_refused():
    g = build_road_graph(cutoff_roads())
    # 0.1° south of A: 11.1 km from the nearest junction
    with pytest.raises(AnalysisError, match=r"11\.1 km from the nearest passable road \(limit 5 km\)"):
        resolve_place("47.9,37.0", graph=g, settlements=cutoff_settlements())
    with pytest.raises(AnalysisError, match="not a valid 'lat,lon'"):
        resolve_place("95,37", graph=g, settlements=cutoff_settlements())


# ----------------------------------------------------------------------------------------------
# time to safety, cut off
# ----------------------------------------------------------------------------------------------


def test_excluding_a_band_cuts_a_settlement_off():
    # the bridge between M and H is destroyed: from Alpha only the northern road (lat 48.05) leads to
    # Harbour; it runs 0.02° (2.22 km) from the front line at lat 48.07
    g = build_road_graph(cutoff_roads(), front_line=FRONT_NORTH, infrastructure=bridge_at_s2(),
                         bands_km=(3, 6, 9))
    s = cutoff_settlements()
    far = time_to_safety(g, s, policy=RoutingPolicy(avoid_km=3, penalties=None), hubs=["Harbour"]).set_index("id")
    assert far.loc["S-H", "status"] == "hub" and far.loc["S-H", "minutes"] == 0
    assert far.loc["S-A", "status"] == "cut_off"
    assert far.loc["S-A", "reason"] == "every route enters the excluded threat band"
    # Northby lies inside the excluded band (2.22 km): it may cross the band to get out
    assert far.loc["S-N", "in_excluded_band"] and far.loc["S-N", "status"] == "reachable"

    near = time_to_safety(g, s, policy=RoutingPolicy(avoid_km=2, penalties=None), hubs=["Harbour"]).set_index("id")
    # A -> N1 -> N2 -> H: 2 x 0.05° meridian around 48.025 + 0.1° along 48.05, at 60 km/h
    expected = 2 * meridian_km(48.025, 0.05) + parallel_km(48.05, 0.1)
    assert near.loc["S-A", "status"] == "reachable"
    assert near.loc["S-A", "minutes"] == pytest.approx(expected, abs=1e-3)
    assert near.loc["S-A", "nearest_hub"] == "S-H"

    intact = build_road_graph(cutoff_roads(), front_line=FRONT_NORTH, infrastructure=bridge_at_s2("minor"),
                              bands_km=(3, 6, 9))
    ok = time_to_safety(intact, s, policy=RoutingPolicy(avoid_km=3, penalties=None), hubs=["Harbour"]).set_index("id")
    assert ok.loc["S-A", "minutes"] == pytest.approx(parallel_km(48.0, 0.1), abs=1e-6)  # straight south road


def test_broken_network_reason_and_penalised_minutes_are_real_minutes():
    roads = cutoff_roads(n1={"status": "impassable"})
    g = build_road_graph(roads, front_line=FRONT_NORTH, infrastructure=bridge_at_s2(), bands_km=(3, 6, 9))
    t = time_to_safety(g, cutoff_settlements(), policy=RoutingPolicy(avoid_km=3, penalties=None),
                       hubs=["S-H"]).set_index("id")
    assert t.loc["S-A", "status"] == "cut_off"
    assert t.loc["S-A", "reason"].startswith("road network broken")

    g = build_road_graph(cutoff_roads(), front_line=FRONT_NORTH, infrastructure=bridge_at_s2(), bands_km=(3, 6, 9))
    t = time_to_safety(g, cutoff_settlements(), policy=RoutingPolicy(avoid_km=None, penalties=(5, 1, 1)),
                       hubs=["Harbour"]).set_index("id")
    # the northern road is penalised x5 but the travel time reported is the real one
    assert t.loc["S-A", "minutes"] == pytest.approx(2 * meridian_km(48.025, 0.05) + parallel_km(48.05, 0.1), abs=1e-3)


def test_default_hubs_are_settlements_beyond_the_outer_band():
    g = build_road_graph(cutoff_roads(), front_line=FRONT_NORTH, infrastructure=bridge_at_s2("minor"),
                         bands_km=(1, 3, 5))
    t = time_to_safety(g, cutoff_settlements()).set_index("id")
    # Alpha and Harbour are 0.07° (7.8 km) from the front: beyond 5 km; Northby 2.2 km: band 1-3
    assert t.loc["S-A", "hub"] and t.loc["S-H", "hub"] and not t.loc["S-N", "hub"]
    assert t.loc["S-N", "band"] == "1-3"
    g2 = build_road_graph(cutoff_roads(), front_line=FRONT_NORTH, bands_km=(10, 20))
    with pytest.raises(AnalysisError, match="no safe hub"):
        time_to_safety(g2, cutoff_settlements())


# ----------------------------------------------------------------------------------------------
# CLI over a hand-made store
# ----------------------------------------------------------------------------------------------

T0 = pd.Timestamp("2026-11-20T06:00:00Z")


def _cutoff_store(path: Path, *, bridge: str = "destroyed") -> None:
    with connect(path) as store:
        store.write("roads", cutoff_roads())
        store.write("settlements", cutoff_settlements())
        store.write("infrastructure", bridge_at_s2(bridge))
        store.write("front_line", gpd.GeoDataFrame({"id": ["F1"], "valid_from": [T0], "valid_to": [None]},
                                                   geometry=[FRONT_NORTH], crs=4326))


def _run(capsys, argv: list[str]) -> tuple[int, dict]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_cli_route_json(empty_db, capsys, monkeypatch):
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _cutoff_store(empty_db)
    code, doc = _run(capsys, ["route", "--from", "alpha", "--to", "Harbour", "--db", str(empty_db), "--json"])
    assert code == 0 and doc["found"] is True
    expected = 2 * meridian_km(48.025, 0.05) + parallel_km(48.05, 0.1)
    assert doc["length_km"] == pytest.approx(expected, abs=1e-3)
    assert doc["travel_time_min"] == pytest.approx(expected, abs=0.1)
    assert set(doc["band_km"]) == {"0-3", "3-6", "6-9"}
    # the northern road (0.1° along lat 48.05) is 2.22 km from the front: band 0-3; the legs go
    # from 7.8 km to 2.2 km: (3 - 2.22) / 0.0111 per km ... 0.78 km of each leg in band 0-3 too
    assert doc["band_km"]["0-3"] == pytest.approx(parallel_km(48.05, 0.1) + 2 * (3 - meridian_km(48.06, 0.02)),
                                                  abs=0.06)
    assert doc["min_frontline_km"] == pytest.approx(meridian_km(48.06, 0.02), abs=1e-3)
    assert doc["geometry"]["type"] == "LineString"
    assert [tuple(c) for c in doc["geometry"]["coordinates"]] == [PT_A, PT_N1, PT_N2, PT_H]
    assert any(h["type"] == "destroyed_bridge" and h["id"] == "BR-S2" for h in doc["hazards"]) is False
    assert isinstance(doc["alternatives"], list)

    code, doc = _run(capsys, ["route", "--from", "alpha", "--to", "Harbour", "--avoid-km", "3",
                              "--db", str(empty_db), "--json"])
    assert code == 1 and doc["found"] is False and "within 3 km" in doc["reason"]

    code, doc = _run(capsys, ["route", "--from", "Alfa", "--to", "Harbour", "--db", str(empty_db), "--json"])
    assert code == 2 and "did you mean: Alpha" in doc["error"]


def test_cli_access_cutoff_json(empty_db, capsys, monkeypatch):
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _cutoff_store(empty_db)
    code, doc = _run(capsys, ["access", "cutoff", "--avoid-km", "3", "--hubs", "Harbour", "--db", str(empty_db),
                              "--json"])
    assert code == 0
    assert doc["cut_off"] == [{"id": "S-A", "name": "Alpha", "population": 1200, "front_km": pytest.approx(
        meridian_km(48.035, 0.07), abs=1e-3), "band": "6-9", "reason": "every route enters the excluded threat band"}]
    assert doc["cut_off_population"] == 1200
    code, doc = _run(capsys, ["access", "cutoff", "--avoid-km", "2", "--hubs", "Harbour", "--db", str(empty_db),
                              "--json"])
    assert doc["cut_off"] == []


def test_cli_corridor_evaluate_file(empty_db, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _cutoff_store(empty_db)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "South"}, "geometry": {"type": "LineString",
                                                                          "coordinates": [PT_A, PT_H]}},
        {"type": "Feature", "properties": {"name": "North"},
         "geometry": {"type": "LineString", "coordinates": [PT_A, PT_N1, PT_N2, PT_H]}},
    ]}
    f = tmp_path / "lines.geojson"
    f.write_text(json.dumps(fc))
    code, doc = _run(capsys, ["corridor", "evaluate", str(f), "--db", str(empty_db), "--json"])
    assert code == 0 and [c["name"] for c in doc["corridors"]] == ["South", "North"]
    south = doc["corridors"][0]
    assert south["length_km"] == pytest.approx(parallel_km(48.0, 0.1), abs=1e-3)
    assert [h["id"] for h in south["hazards"]] == ["BR-S2"] and south["hazards"][0]["crossed"] is True
    assert south["passable"] is False

    bad = {"type": "FeatureCollection", "features": [
        fc["features"][0],
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString",
                                                            "coordinates": [[37.0, 48.0], [37.1, 48.1],
                                                                            [37.1, 48.0], [37.0, 48.1]]}},
    ]}
    f.write_text(json.dumps(bad))
    code, doc = _run(capsys, ["corridor", "evaluate", str(f), "--db", str(empty_db), "--json"])
    assert code == 2 and doc["ok"] is False
    assert doc["problems"][0]["row"] == 2 and "crosses itself" in doc["problems"][0]["message"]


def test_route_on_the_demo_scenario(demo_db, capsys):
    with connect(demo_db, read_only=True) as store:
        names = store.read("settlements", columns=["name", "population"]).sort_values("population").tail(2)
    a, b = names["name"].tolist()
    code, doc = _run(capsys, ["route", "--from", a, "--to", b, "--db", str(demo_db), "--json"])
    assert code in (0, 1)
    if doc["found"]:
        line = LineString(doc["geometry"]["coordinates"])
        assert doc["length_km"] > 0 and line.length > 0
        assert doc["travel_time_min"] > 0


def test_core_graph_routes_equal_full_dijkstra_on_random_networks():
    """The contracted (junction) graph gives exactly the full graph's shortest costs."""
    from access_fixtures import roads_frame
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(7)
    for trial in range(4):
        # a 6 x 6 grid whose edges are cut into 1-4 segments (chains of degree-2 nodes), with
        # random speeds, some segments impassable and some parallel duplicates
        rows, k = [], 0
        for i in range(6):
            for j in range(6):
                for di, dj in ((0, 1), (1, 0)):
                    if i + di > 5 or j + dj > 5:
                        continue
                    a = np.array([37.0 + 0.01 * j, 48.0 + 0.01 * i])
                    b = np.array([37.0 + 0.01 * (j + dj), 48.0 + 0.01 * (i + di)])
                    cuts = int(rng.integers(1, 5))
                    pts = [a + (b - a) * t for t in np.linspace(0, 1, cuts + 1)]
                    for p, q in itertools.pairwise(pts):
                        rows.append((f"r{k}", tuple(np.round(p, 6)), tuple(np.round(q, 6))))
                        k += 1
        rows.append(("dup", rows[0][1], rows[0][2]))
        over = {rid: {"speed_kmh": float(rng.choice([20, 50, 90]))} for rid, _, _ in rows}
        for rid in rng.choice([r[0] for r in rows], 8, replace=False):
            over[rid]["status"] = "impassable"
        g = build_road_graph(roads_frame(rows, **over))
        w = g.weighted(NO_THREAT)
        full = dijkstra(w.csr, indices=np.arange(g.n_nodes))
        for _ in range(25):
            o, t = (int(x) for x in rng.choice(g.n_nodes, 2, replace=False))
            routes = find_routes(g, o, t, policy=NO_THREAT, alternatives=0)
            if not np.isfinite(full[o, t]):
                assert routes == [], trial
                continue
            (r,) = routes
            assert r.cost == pytest.approx(full[o, t], rel=1e-9, abs=1e-9), trial
            # the path is connected and runs from o to t
            assert r.nodes[0] == o and r.nodes[-1] == t
            ends = {frozenset((int(g.edge_u[e]), int(g.edge_v[e]))) for e in r.edges}
            assert ends == {frozenset((int(a), int(b))) for a, b in zip(r.nodes[:-1], r.nodes[1:], strict=True)}


def test_cli_corridor_status_list_and_history(empty_db, capsys):
    from cimic_geo.store import save_corridor

    with connect(empty_db) as store:
        cid = save_corridor(store, geometry=LineString([PT_A, PT_H]), name="South road", user="Lt A")["id"]
        before = store.fingerprint()
    code, doc = _run(capsys, ["corridor", "status", cid, "active", "--user", "Lt B", "--version", "1",
                              "--db", str(empty_db), "--json"])
    assert code == 2 and "cannot go from draft to active" in doc["error"]
    with connect(empty_db, read_only=True) as store:
        assert store.fingerprint() == before
    code, doc = _run(capsys, ["corridor", "status", cid, "proposed", "--user", "Lt B", "--version", "1",
                              "--note", "for approval", "--db", str(empty_db), "--json"])
    assert code == 0 and doc["status"] == "proposed" and doc["version"] == 2
    code, doc = _run(capsys, ["corridor", "status", cid, "agreed", "--user", "Lt C", "--version", "1",
                              "--db", str(empty_db), "--json"])  # stale version
    assert code == 2 and "changed by someone else" in doc["error"]
    code, doc = _run(capsys, ["corridor", "list", "--db", str(empty_db), "--json"])
    assert [(c["id"], c["status"], c["version"]) for c in doc["corridors"]] == [(cid, "proposed", 2)]
    code, doc = _run(capsys, ["corridor", "history", cid, "--db", str(empty_db), "--json"])
    assert [(h["action"], h["changed_by"], h["to_status"]) for h in doc["history"]] == [
        ("status", "Lt B", "proposed"), ("create", "Lt A", "draft")]
