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
    answered = 0
    for a, b in picks:
        for extra in (["--alternatives", "0"], ["--json"], ["--json", "--alternatives", "2"]):
            argv = ["route", "--from", a, "--to", b, "--db", db, *extra]
            with monkeypatch.context() as m:
                m.setattr(route_fast, "fast_route", lambda *a, **k: None)
                full = _out(capsys, argv)
            res = fast_route(db, a, b, alternatives=int(extra[-1]) if extra[-1].isdigit() else 3)
            answered += res is not None
            assert _out(capsys, argv) == full, argv
    # the fast path answered (it steps aside only when no route is found)
    assert answered >= 0.8 * 3 * len(picks)


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


def test_the_plain_python_search_finds_the_routes_scipy_finds():
    """Random speeds (no ties) and a grid of equal roads (many equal-cost routes: the search defers
    to scipy there): every best route is the one scipy's dijkstra gives, edge for edge."""
    from access_fixtures import roads_frame

    from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph
    from cimic_geo.analytics.routing import find_routes

    rng = np.random.default_rng(11)
    for trial in range(3):
        rows = _grid_rows(rng, 7, cuts=trial > 0)
        over = {} if trial == 0 else {rid: {"speed_kmh": float(rng.choice([20, 50, 90]))} for rid, _, _ in rows}
        g = build_road_graph(roads_frame(rows, **over))
        policy = RoutingPolicy(penalties=None)
        search = route_fast.python_search(g.weighted(policy))
        for _ in range(30):
            o, t = (int(x) for x in rng.choice(g.n_nodes, 2, replace=False))
            a = find_routes(g, o, t, policy=policy, alternatives=0)
            b = find_routes(g, o, t, policy=policy, alternatives=0, core_search=search)
            assert [r.edges.tolist() for r in a] == [r.edges.tolist() for r in b]
            assert [r.cost for r in a] == [r.cost for r in b]


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
    calls.clear()
    got = routing.find_routes(g, o, t, policy=policy, alternatives=0,
                              core_search=route_fast.python_search(g.weighted(policy)))
    assert calls == [1]  # the tie was found and scipy searched
    assert [r.edges.tolist() for r in got] == [r.edges.tolist() for r in expected]
