"""Coverage by road time on the route planner's kept graph: the same answer as a graph built anew."""

from __future__ import annotations

from cimic_geo.analytics import coverage_graph
from cimic_geo.analytics.situation import coverage_at
from cimic_geo.corridors import load_access_context
from cimic_geo.store import connect


def test_road_time_coverage_reads_the_planners_kept_graph(demo_db_copy, monkeypatch):
    monkeypatch.setattr(coverage_graph, "_LAST", {})
    with connect(demo_db_copy, read_only=True) as store:
        built = coverage_at(store, max_minutes=20).to_dict()  # no kept graph yet: built from the roads
        roads = store.read("roads", columns=["oneway"])
    assert not coverage_graph._LAST
    with connect(demo_db_copy) as store:
        load_access_context(store)  # the planner keeps its graph (with one-way roads) beside the store
    with connect(demo_db_copy, read_only=True) as store:
        kept = coverage_at(store, max_minutes=20).to_dict()
        assert len(coverage_graph._LAST) == 1
        graph = next(iter(coverage_graph._LAST.values()))
        again = coverage_at(store, max_minutes=20).to_dict()
        assert next(iter(coverage_graph._LAST.values())) is graph  # the second run reads no graph
    assert built["population_covered"] > 0
    assert kept == built and again == built
    # the kept graph knows one-way roads when the data has them; coverage drives them both ways, as before
    assert graph.edge_oneway.any() == bool(roads["oneway"].fillna(False).astype(bool).any())


def test_the_planner_and_coverage_share_one_graph_and_the_coverage_weights_are_kept(demo_db_copy, monkeypatch):
    """The planner's context and coverage by road time hold the same graph object; the coverage policy's
    weighted graph and chain positions are saved in the graph folder and read back unchanged by a fresh
    read, and files that do not match the folder's key are ignored."""
    import json
    import weakref

    import numpy as np

    from cimic_geo.analytics import road_cache
    from cimic_geo.analytics.reach_core import CHAIN_ARRAYS
    from cimic_geo.analytics.road_cache import graph_file, saved_key

    monkeypatch.setattr(coverage_graph, "_LAST", {})
    with connect(demo_db_copy) as store:
        ctx = load_access_context(store)  # keeps the graph beside the store
    folder = graph_file(demo_db_copy)
    assert not (folder / "coverage.json").exists()
    with connect(demo_db_copy) as store:
        ctx = load_access_context(store)  # read from the folder
        first = coverage_at(store, max_minutes=20).to_dict()
        assert next(iter(coverage_graph._LAST.values())) is ctx.graph  # one copy, not two
        w = ctx.graph.weighted(coverage_graph.COVERAGE_POLICY)
        saved = (w.arrays(), {n: getattr(w._reach_chains, n) for n in CHAIN_ARRAYS})
    assert json.loads((folder / "coverage.json").read_text())["key"] == saved_key(folder)
    old = ctx.graph
    monkeypatch.setattr(coverage_graph, "_LAST", {})  # a fresh process: nothing held
    monkeypatch.setattr(road_cache, "_LIVE", weakref.WeakValueDictionary())
    with connect(demo_db_copy, read_only=True) as store:
        again = coverage_at(store, max_minutes=20).to_dict()
        graph = next(iter(coverage_graph._LAST.values()))
    assert graph is not old
    w2 = graph.weighted(coverage_graph.COVERAGE_POLICY)
    assert isinstance(w2.cost.base, np.memmap)  # read from the folder, not computed again
    assert w2 is not w and all(np.array_equal(v, w2.arrays()[k]) for k, v in saved[0].items())
    assert all(np.array_equal(v, getattr(w2._reach_chains, n)) for n, v in saved[1].items())
    assert again == first and first["population_covered"] > 0
    # saved for another key: not read (computed again, and saved again for this key)
    meta = json.loads((folder / "coverage.json").read_text())
    (folder / "coverage.json").write_text(json.dumps({**meta, "key": "another"}))
    assert not coverage_graph._read_weights(graph, folder, saved_key(folder))
    (folder / "cov_w_cost.npy").write_bytes(b"not an array")
    (folder / "coverage.json").write_text(json.dumps(meta))
    assert not coverage_graph._read_weights(graph, folder, saved_key(folder))  # damaged array


def test_a_larger_limit_is_answered_from_the_search_ahead_with_the_fresh_answer(demo_db_copy, monkeypatch):
    """Coverage by road time searches past the limit asked: the next larger limit within it searches no
    roads again and gives the tables of a fresh search at that limit (nothing kept, nothing searched ahead)."""
    from cimic_geo.analytics import allocation
    from cimic_geo.analytics import reach as reach_mod

    monkeypatch.setattr(coverage_graph, "_LAST", {})
    calls = []
    real = reach_mod._road_reach
    monkeypatch.setattr(reach_mod, "_road_reach", lambda *a, **k: calls.append(k["t_max"]) or real(*a, **k))
    step = coverage_graph.SEARCH_AHEAD_MIN
    with connect(demo_db_copy) as store:
        load_access_context(store)  # the planner's graph kept beside the store: coverage holds it in memory
    with connect(demo_db_copy, read_only=True) as store:
        small = coverage_at(store, max_minutes=10).to_dict()
        larger = coverage_at(store, max_minutes=10 + step).to_dict()
        assert calls == [10 + step]  # one search, to the larger limit
        graph = next(iter(coverage_graph._LAST.values()))
        monkeypatch.setattr(coverage_graph, "SEARCH_AHEAD_MIN", 0.0)  # fresh: searched at the limit asked
        fresh = {}
        for minutes in (10 + step, 10):
            graph.__dict__.pop("_reach_last")
            allocation._LAST.clear()
            fresh[minutes] = coverage_at(store, max_minutes=minutes).to_dict()
    assert calls == [10 + step, 10 + step, 10]
    assert larger == fresh[10 + step] and small == fresh[10]
    assert small["population_covered"] < larger["population_covered"]
