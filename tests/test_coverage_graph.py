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
