"""The one-off CLI route answered from the road graph folder (cimic_geo.analytics.route_fast) prints
exactly what the full path (store, pandas, corridor evaluation) prints, and steps aside when it
cannot: other options, stale data, other spellings of a name, no route."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from access_fixtures import FRONT_NORTH, cutoff_roads, cutoff_settlements, parallel_km
from shapely.geometry import Point, Polygon

import cimic_geo.analytics.route_fast as route_fast
import cimic_geo.store
import cimic_geo.store.access_version as access_version
from cimic_geo.analytics.road_cache import FORMAT, graph_file
from cimic_geo.analytics.route_fast import fast_route
from cimic_geo.analytics.route_fast_data import Texts, pack_text
from cimic_geo.cli import main
from cimic_geo.store import connect

T0 = pd.Timestamp("2026-11-20T06:00:00Z")


@pytest.fixture(autouse=True)
def _keep_versions_at_once(monkeypatch):
    """A store written a moment ago keeps its data version at once (normally after 2 s)."""
    monkeypatch.setattr(access_version, "SETTLE_S", 0.0)


def _out(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def _full_and_fast(capsys, monkeypatch, argv: list[str]) -> tuple[tuple[int, str], tuple[int, str]]:
    """The output of the full path (fast path switched off), then of the fast path with the store
    unreachable (any fallback to the store fails the test)."""
    with monkeypatch.context() as m:
        m.setattr(route_fast, "fast_route", lambda *a, **k: None)
        full = _out(capsys, argv)

    def no_store(*a, **k):
        raise AssertionError("the fast path opened the store")

    with monkeypatch.context() as m:
        m.setattr(cimic_geo.store, "connect", no_store)
        fast = _out(capsys, argv)
    return full, fast


def test_packed_texts_are_found_exactly():
    t = Texts({f"f_x_{k}": v for k, v in pack_text(["Alpha", None, "Al", "Альфа", "", "Alpha"]).items()}, "x")
    assert [t[i] for i in range(len(t))] == ["Alpha", None, "Al", "Альфа", "", "Alpha"]
    assert t.find("Alpha").tolist() == [0, 5]
    assert t.find("Al").tolist() == [2]  # not the prefix of "Alpha"
    assert t.find("lpha").tolist() == []
    assert t.find("Альфа").tolist() == [3]
    assert t.find("").tolist() == [4]  # the empty text, not the missing value


def _tiny_store(path) -> None:
    """The village network of access_fixtures (A - M - H along lat 48.0, a northern road at 48.05,
    the front along lat 48.07) with a damaged southern road, an occupied area north of the front,
    shelters, a clinic and a destroyed bridge carrying the northern road n1, placed 0.0005° (55.6 m)
    north of the southern road."""
    roads = cutoff_roads(s1={"status": "damaged"})
    infra = gpd.GeoDataFrame(
        [{"id": "BR-N", "name": "North bridge", "sector": "bridge", "damage": "destroyed", "road_id": "n1",
          "geometry": Point(37.05, 48.0005)},
         {"id": "H-1", "name": "Clinic", "sector": "health", "damage": "none", "road_id": None,
          "geometry": Point(37.06, 48.005)}], geometry="geometry", crs=4326)
    shelters = gpd.GeoDataFrame(
        [{"id": "SH-1", "name": "School", "kind": "collective", "capacity": 100, "occupancy": 30, "status": "open",
          "accessible": True, "geometry": Point(37.08, 47.995)},
         {"id": "SH-2", "name": "Hospital ward", "kind": "medical", "capacity": None, "occupancy": None,
          "status": "open", "accessible": None, "geometry": Point(37.03, 48.01)},
         # 0.005° west and 0.01° south of A: 1.17 km from A, so within 2 km of the whole road s1, but
         # 2.17 km from (37.02, 48.0): sqrt((0.025 * 74.6)^2 + 1.11^2) -- outside a route starting there
         {"id": "SH-3", "name": "Barn", "kind": "collective", "capacity": 20, "occupancy": 25, "status": "full",
          "accessible": False, "geometry": Point(36.995, 47.99)},
         {"id": "SH-4", "name": "Far away", "kind": "collective", "capacity": 10, "occupancy": 0, "status": "open",
          "accessible": True, "geometry": Point(37.5, 47.5)}], geometry="geometry", crs=4326)
    occupied = Polygon([(36.7, 48.07), (37.3, 48.07), (37.3, 48.3), (36.7, 48.3)])
    with connect(path) as store:
        store.write("roads", roads)
        store.write("settlements", cutoff_settlements())
        store.write("infrastructure", infra)
        store.write("shelters", shelters)
        store.write("front_line", gpd.GeoDataFrame({"id": ["F1"], "valid_from": [T0], "valid_to": [None]},
                                                   geometry=[FRONT_NORTH], crs=4326))
        store.write("occupied_area", gpd.GeoDataFrame({"id": ["O1"], "valid_from": [T0], "valid_to": [None]},
                                                      geometry=[occupied], crs=4326))


def test_fast_route_prints_what_the_full_path_prints_on_a_hand_made_store(empty_db, capsys, monkeypatch):
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _tiny_store(empty_db)
    db = str(empty_db)
    cases = [
        ["route", "--from", "Alpha", "--to", "Harbour"],
        ["route", "--from", "Гавань", "--to", "S-A", "--alternatives", "0"],
        ["route", "--from", "Northby", "--to", "Harbour", "--alternatives", "2"],
        ["route", "--from", "48.0,37.02", "--to", "Harbour"],  # starts on a part of road s1
        ["route", "--from", "48.001,37.09", "--to", "Alpha", "--alternatives", "1"],
    ]
    for argv in cases:
        for fmt in ([], ["--json"]):
            full, fast = _full_and_fast(capsys, monkeypatch, [*argv, "--db", db, *fmt])
            assert full[0] == 0 and fast == full, argv
    doc = route_fast.fast_route(db, "48.0,37.02", "Harbour", alternatives=0).doc
    assert [r["id"] for r in doc["shelters"]] == ["SH-1", "SH-2"]  # not SH-3 (2.17 km), not SH-4
    # SH-1 is 0.005° (0.556 km) south of the road at lat 48.0
    assert doc["shelters"][0]["distance_km"] == pytest.approx(0.556, abs=0.002)
    assert [(m["id"], m["source_layer"]) for m in doc["medical"]] == [("H-1", "infrastructure"),
                                                                      ("SH-2", "shelters")]
    assert [(h["type"], h["id"], h["crossed"]) for h in doc["hazards"]] == [
        ("damaged_road", "s1", True), ("destroyed_bridge", "BR-N", False)]
    assert doc["hazards"][1]["distance_m"] == pytest.approx(55.6, abs=0.2)  # 0.0005° of latitude
    assert doc["length_km"] == pytest.approx(parallel_km(48.0, 0.08), abs=1e-3)
    assert doc["occupied_km"] == 0.0 and doc["crosses_front_line"] is False
    # 0.07° of latitude to the front (7.8 km): the whole southern road lies in band 6-9
    assert doc["band_km"]["6-9"] == pytest.approx(doc["length_km"], abs=1e-3)
    north = route_fast.fast_route(db, "48.05,37.002", "48.05,37.098", alternatives=0).doc
    # round the broken road n1 (its bridge is destroyed): down n0 and up n2, 2.2 km from the front
    # at lat 48.05, so part of the way lies in band 0-3
    assert north["band_km"]["0-3"] > 0


def test_the_fast_path_steps_aside_for_what_it_does_not_answer(empty_db, capsys, monkeypatch):
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _tiny_store(empty_db)
    db = str(empty_db)
    assert fast_route(db, "Alpha", "Harbour") is None  # no data version kept yet: nothing to trust
    assert _out(capsys, ["route", "--from", "Alpha", "--to", "Harbour", "--db", db])[0] == 0
    assert fast_route(db, "Alpha", "Harbour") is not None
    for options in ({"avoid_km": 3.0}, {"penalise": False}, {"ignore_oneway": True}, {"as_of": "2026-11-21"}):
        assert fast_route(db, "Alpha", "Harbour", **options) is None, options
    assert fast_route(db, "alpha", "Harbour") is None  # another spelling: the full path resolves it
    assert fast_route(db, "Alfa", "Harbour") is None  # unknown: the full path suggests names
    # a start inside the avoided zone (Northby, 2.2 km from the front) and --avoid-km: the full path
    for argv in (["--from", "Northby", "--to", "Harbour", "--avoid-km", "3"],
                 ["--from", "alpha", "--to", "Harbour"], ["--from", "Alfa", "--to", "Harbour"]):
        with monkeypatch.context() as m:
            m.setattr(route_fast, "fast_route", lambda *a, **k: None)
            full = _out(capsys, ["route", *argv, "--db", db, "--json"])
        assert _out(capsys, ["route", *argv, "--db", db, "--json"]) == full


def test_a_change_to_the_data_is_never_answered_from_the_old_folder(empty_db, capsys, monkeypatch):
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _tiny_store(empty_db)
    db = str(empty_db)
    _out(capsys, ["route", "--from", "Alpha", "--to", "Harbour", "--db", db])
    assert [r["name"] for r in fast_route(db, "Alpha", "Harbour").doc["shelters"]][:1] == ["School"]
    with connect(empty_db) as store:
        store.con.execute("UPDATE shelters SET name = 'Gym' WHERE id = 'SH-1'")
    assert fast_route(db, "Alpha", "Harbour") is None  # the file changed: not trusted
    full, fast = _full_and_fast(capsys, monkeypatch, ["route", "--from", "Alpha", "--to", "Harbour", "--db", db,
                                                      "--json"])
    assert fast == full and '"Gym"' in fast[1]  # the folder was rebuilt with the new name
    # a folder of another format, or one without the route's arrays, is not read
    meta_path = graph_file(empty_db) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "key": meta["key"].replace(f"format={FORMAT}", "format=4")}))
    assert fast_route(db, "Alpha", "Harbour") is None
    meta_path.write_text(json.dumps({k: v for k, v in meta.items() if k != "fast"}))
    assert fast_route(db, "Alpha", "Harbour") is None
    meta_path.write_text(json.dumps(meta))
    assert fast_route(db, "Alpha", "Harbour") is not None


def test_fast_route_prints_what_the_full_path_prints_on_the_demo_store(demo_db_copy, capsys, monkeypatch):
    db = str(demo_db_copy)
    with connect(demo_db_copy, read_only=True) as store:
        s = store.read("settlements", columns=["name", "name_uk", "population"])
    s = s.sort_values(["population", "id"], ascending=[False, True]).reset_index(drop=True)
    rng = np.random.default_rng(7)
    picks = [(s["name"][0], s["name"][1])] + [tuple(s["name"][rng.choice(len(s), 2, replace=False)]) for _ in range(4)]
    picks.append((s["name_uk"][2], s["id"][3]))
    p = s.geometry[4]
    picks.append((f"{p.y + 0.003:.5f},{p.x - 0.002:.5f}", s["name"][5]))
    answered = alternatives = 0
    for a, b in picks:
        for extra in (["--alternatives", "0"], ["--json"], ["--json", "--alternatives", "2"]):
            argv = ["route", "--from", a, "--to", b, "--db", db, *extra]
            with monkeypatch.context() as m:
                m.setattr(route_fast, "fast_route", lambda *a, **k: None)
                full = _out(capsys, argv)
            res = fast_route(db, a, b, alternatives=int(extra[-1]) if extra[-1].isdigit() else 3)
            answered += res is not None
            alternatives += 0 if res is None else len(res.doc["alternatives"])
            assert _out(capsys, argv) == full, argv
    # the fast path answered (it steps aside only when no route is found), alternatives included
    assert answered >= 0.8 * 3 * len(picks)
    assert alternatives >= len(picks)


def _grid_rows(rng, n: int, *, cuts: bool):
    """An n x n grid at 0.01° spacing, each edge cut into 1-3 segments when ``cuts``."""
    import itertools

    rows, k = [], 0
    for i in range(n):
        for j in range(n):
            for di, dj in ((0, 1), (1, 0)):
                if i + di >= n or j + dj >= n:
                    continue
                a = np.array([37.0 + 0.01 * j, 48.0 + 0.01 * i])
                b = np.array([37.0 + 0.01 * (j + dj), 48.0 + 0.01 * (i + di)])
                pts = [a + (b - a) * t for t in np.linspace(0, 1, int(rng.integers(1, 4)) + 1 if cuts else 2)]
                for p, q in itertools.pairwise(pts):
                    rows.append((f"r{k}", tuple(np.round(p, 6)), tuple(np.round(q, 6))))
                    k += 1
    return rows


def _python_search(g, policy, *, astar: bool):
    """``core_search`` for find_routes: the plain-Python search, A* (the core nodes' positions) or Dijkstra."""
    from cimic_geo.analytics.route_fast_search import python_search, unit_vectors

    points = unit_vectors(g.node_lonlat[g.weighted(policy).core_nodes]) if astar else None
    return lambda parts: python_search(parts, points=points)


def test_the_plain_python_search_finds_the_routes_scipy_finds():
    """Random speeds (no ties) and a grid of equal roads (many equal-cost routes: the search defers
    to scipy there): every route, the best and the alternatives (searched on the re-weighted cores),
    is the one scipy's dijkstra gives, edge for edge, with A* as with Dijkstra."""
    from access_fixtures import roads_frame

    from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph
    from cimic_geo.analytics.routing import find_routes

    rng = np.random.default_rng(11)
    alternatives_found = 0
    for trial in range(3):
        rows = _grid_rows(rng, 7, cuts=trial > 0)
        over = {} if trial == 0 else {rid: {"speed_kmh": float(rng.choice([20, 50, 90]))} for rid, _, _ in rows}
        g = build_road_graph(roads_frame(rows, **over))
        policy = RoutingPolicy(penalties=None)
        searches = [_python_search(g, policy, astar=True), _python_search(g, policy, astar=False)]
        for _ in range(20):
            o, t = (int(x) for x in rng.choice(g.n_nodes, 2, replace=False))
            for alternatives in (0, 3):
                a = find_routes(g, o, t, policy=policy, alternatives=alternatives)
                alternatives_found += len(a) - 1
                for search in searches:
                    b = find_routes(g, o, t, policy=policy, alternatives=alternatives, core_search=search)
                    assert [r.edges.tolist() for r in a] == [r.edges.tolist() for r in b]
                    assert [r.cost for r in a] == [r.cost for r in b]
    assert alternatives_found > 50  # the alternatives' searches were compared, not only the best routes


def test_an_exact_tie_is_left_to_scipy(monkeypatch):
    """A diamond mirrored about a meridian: S - A, then A - B - D or A - C - D (B and C mirror
    images, so both ways have exactly the same length), then D - N; B and C have side roads, so
    they are junctions and the tie is met inside the search. The plain search hands it to scipy."""
    from access_fixtures import roads_frame

    import cimic_geo.analytics.routing as routing
    from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph

    a, b, c, d = (37.0, 48.0), (36.99, 48.01), (37.01, 48.01), (37.0, 48.02)
    rows = [("sa", (37.0, 47.99), a), ("ab", a, b), ("bd", b, d), ("ac", a, c), ("cd", c, d),
            ("dn", d, (37.0, 48.03)), ("bw", b, (36.98, 48.01)), ("ce", c, (37.02, 48.01))]
    g = build_road_graph(roads_frame(rows))
    policy = RoutingPolicy(penalties=None)
    calls = []
    real = routing.scipy_search
    monkeypatch.setattr(routing, "scipy_search", lambda core: calls.append(1) or real(core))
    o, t = (int(n) for n in g.snap(np.array([37.0, 37.0]), np.array([47.99, 48.03]))[0])
    expected = routing.find_routes(g, o, t, policy=policy, alternatives=0)
    for astar in (True, False):
        calls.clear()
        got = routing.find_routes(g, o, t, policy=policy, alternatives=0,
                                  core_search=_python_search(g, policy, astar=astar))
        assert calls == [1]  # the tie was found and scipy searched
        assert [r.edges.tolist() for r in got] == [r.edges.tolist() for r in expected]


#: Four ways from West (37.00, 48.00) to East (37.10, 48.00), each W -> (37.02, 48 + y) -> (37.08,
#: 48 + y) -> E, at y = 0.0100, -0.0105, 0.0110, -0.0115 (degrees of latitude). The longer the
#: detour the longer the way: 2 * sqrt(1.49^2 + (111.2 y)^2) + 4.46 km = 8.18, 8.25, 8.32, 8.39 km
#: (0.02° and 0.06° of longitude at lat 48: 1.49 and 4.46 km), all at 60 km/h, so the best route
#: takes the first and the three alternatives the others in that order (no road in common: each
#: shares 0 of its length; no front line: no band penalties). The first two have a dead-end spur at their western bend (a junction);
#: the last two are chains straight from West to East, parallel core edges of one junction pair.
LADDER_Y = (0.0100, -0.0105, 0.0110, -0.0115)


def _ladder_store(path) -> None:
    from access_fixtures import roads_frame

    w, e = (37.0, 48.0), (37.1, 48.0)
    rows = []
    for i, y in enumerate(LADDER_Y):
        p, q = (37.02, round(48.0 + y, 6)), (37.08, round(48.0 + y, 6))
        rows += [(f"a{i}", w, p), (f"m{i}", p, q), (f"b{i}", q, e)]
        if i < 2:
            rows.append((f"s{i}", p, (37.02, round(48.0 + 2 * y, 6))))
    settlements = gpd.GeoDataFrame(
        [{"id": "S-W", "name": "West", "name_uk": "Захід", "population": 900, "geometry": Point(*w)},
         {"id": "S-E", "name": "East", "name_uk": "Схід", "population": 800, "geometry": Point(*e)}],
        geometry="geometry", crs=4326)
    with connect(path) as store:
        store.write("roads", roads_frame(rows))
        store.write("settlements", settlements)


def test_the_default_route_and_its_alternatives_print_what_the_full_path_prints(empty_db, capsys, monkeypatch):
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    _ladder_store(empty_db)
    db = str(empty_db)
    for argv in (["--from", "West", "--to", "East"], ["--from", "East", "--to", "West"],
                 ["--from", "Захід", "--to", "S-E", "--alternatives", "2"]):
        for fmt in ([], ["--json"]):
            full, fast = _full_and_fast(capsys, monkeypatch, ["route", *argv, "--db", db, *fmt])
            assert full[0] == 0 and fast == full, argv
    doc = fast_route(db, "West", "East").doc  # the default: up to 3 alternatives
    assert doc["road_ids"] == ["a0", "m0", "b0"]
    assert [r["road_ids"] for r in doc["alternatives"]] == [[f"a{i}", f"m{i}", f"b{i}"] for i in (1, 2, 3)]
    lengths = [doc["length_km"]] + [r["length_km"] for r in doc["alternatives"]]
    assert lengths == pytest.approx([8.18, 8.25, 8.32, 8.39], abs=0.02)
    assert lengths == sorted(lengths)


def test_the_core_arrays_are_the_matrix_scipy_builds_from_coordinates():
    """WeightedGraph.core_parts (no scipy) gives the arrays of the CSR matrix scipy builds from the
    entries' coordinates, for the policy's chain costs and for re-weighted ones (some doubled, some
    excluded), on a network with parallel chains between two junctions."""
    import scipy.sparse as sp
    from access_fixtures import roads_frame

    from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph

    rng = np.random.default_rng(5)
    rows = _grid_rows(rng, 5, cuts=True)
    rows += [("p1", (37.0, 48.0), (37.005, 48.004)), ("p2", (37.005, 48.004), (37.01, 48.0)),
             ("p3", (37.0, 48.0), (37.005, 47.996)), ("p4", (37.005, 47.996), (37.01, 48.0))]
    w = build_road_graph(roads_frame(rows)).weighted(RoutingPolicy(penalties=None))
    assert np.bincount(w.pair_of_chainpos).max() >= 3  # the grid edge and the two detours: one pair
    for trial in range(4):
        up, dn = w.chain_up.copy(), w.chain_dn.copy()
        if trial:
            hit = rng.choice(len(up), len(up) // 3)
            up[hit] *= 2.0
            dn[hit] *= 2.0
            up[rng.choice(len(up), 3)] = np.inf
        (data, indices, indptr), ch_up, ch_dn = w.core_parts(up, dn)
        # the matrix from coordinates, as the cheapest chain of each pair and direction gives it
        nc = len(w.core_nodes)
        src, dst, cost, chain_up, chain_dn = [], [], [], {}, {}
        for k, c in enumerate(w.core_chains):
            pair = int(w.pair_of_chainpos[k])
            for costs, best in ((up, chain_up), (dn, chain_dn)):
                if pair not in best or costs[c] < costs[best[pair]]:
                    best[pair] = c
        for pair in range(len(w.pair_a)):
            for costs, best, a, b in ((up, chain_up, w.pair_a, w.pair_b), (dn, chain_dn, w.pair_b, w.pair_a)):
                if np.isfinite(costs[best[pair]]):
                    src.append(a[pair])
                    dst.append(b[pair])
                    cost.append(costs[best[pair]])
        m = sp.csr_matrix((cost, (src, dst)), shape=(nc, nc))
        assert np.array_equal(data, m.data) and np.array_equal(indices, m.indices)
        assert np.array_equal(indptr, m.indptr)
        assert ch_up.tolist() == [chain_up[p] for p in range(len(w.pair_a))]
        assert ch_dn.tolist() == [chain_dn[p] for p in range(len(w.pair_a))]
