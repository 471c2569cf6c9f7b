"""Coverage by road time made ready ahead: places snapped to the kept graph kept beside it, the background
warm-up's preparation, and the data version hashed once while the store is unchanged."""

from __future__ import annotations

import gc
import json
import weakref

import numpy as np
import pytest

from cimic_geo.analytics import coverage_graph, coverage_situation, reach, road_cache, road_snap, road_snap_kept
from cimic_geo.analytics.road_cache import graph_file, saved_key
from cimic_geo.analytics.road_snap_kept import FILE, KeptSnaps
from cimic_geo.analytics.situation import coverage_at
from cimic_geo.corridors import load_access_context
from cimic_geo.store import connect


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing held in memory, as in a new process (what is kept beside the store stays)."""
    monkeypatch.setattr(coverage_graph, "_LAST", {})
    monkeypatch.setattr(coverage_graph, "_VERSION", {}, raising=False)
    monkeypatch.setattr(road_cache, "_LIVE", weakref.WeakValueDictionary())
    coverage_situation.forget()


def _count_snaps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of points of each call that snaps places to a graph from now on."""
    calls: list[int] = []
    real = road_snap.snap_edges

    def counted(graph: object, lon: object, lat: object, **options: object) -> object:
        calls.append(len(np.atleast_1d(lon)))
        return real(graph, lon, lat, **options)

    monkeypatch.setattr(road_snap, "snap_edges", counted)
    return calls


def test_snapped_places_are_kept_beside_the_graph_and_a_new_process_snaps_none(demo_db_copy, monkeypatch):
    with connect(demo_db_copy) as store:
        load_access_context(store)  # the planner keeps its graph beside the store
    folder = graph_file(demo_db_copy)
    _new_process(monkeypatch)
    with connect(demo_db_copy, read_only=True) as store:
        first = coverage_at(store, max_minutes=20).to_dict()
        graph = next(iter(coverage_graph._LAST.values()))
        sit = coverage_situation.coverage_situation(store)
    assert (folder / FILE).is_file()
    # the kept answers are the graph's own snapping of each point, to the last bit
    pts = np.array([[g.x, g.y] for g in (*sit.settlements.geometry, *sit.shelters.geometry)])
    edge, frac, dist, found = KeptSnaps(folder, saved_key(folder)).look_up(pts[:, 0], pts[:, 1])
    assert found.all()
    fresh = road_snap.snap_edges(graph, pts[:, 0], pts[:, 1])
    assert all(np.array_equal(a, b) for a, b in zip((edge, frac, dist), fresh, strict=True))
    _new_process(monkeypatch)
    calls = _count_snaps(monkeypatch)
    with connect(demo_db_copy, read_only=True) as store:
        again = coverage_at(store, max_minutes=20).to_dict()
        graph = next(iter(coverage_graph._LAST.values()))
    assert not calls and graph._snap_index is None  # looked up, no index built
    assert again == first and first["population_covered"] > 0
    # two places not kept (say, new ones): only they are snapped, through the index as among many, and kept
    with np.load(folder / FILE) as z:
        table = {k: z[k] for k in z.files}
    np.savez(folder / FILE, **{k: (v if k == "key" else v[2:]) for k, v in table.items()})
    _new_process(monkeypatch)
    with connect(demo_db_copy, read_only=True) as store:
        assert coverage_at(store, max_minutes=20).to_dict() == first
        graph = next(iter(coverage_graph._LAST.values()))
    assert calls == [2] and graph._snap_index is not None
    with np.load(folder / FILE) as z:
        assert np.array_equal(z["point"], table["point"]) and np.array_equal(z["edge"], table["edge"])


def test_kept_snaps_answer_only_for_their_graph_and_stay_bounded(tmp_path, monkeypatch):
    folder = tmp_path / "national.duckdb.roadgraph"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"key": "k1"}))
    lon, lat = np.array([30.0, 30.5, 31.25]), np.array([50.0, 49.5, 48.0])
    KeptSnaps(folder, "k1").add(lon, lat, np.array([7, 8, 9]), np.array([0.1, 0.2, 0.3]),
                                np.array([0.01, 0.02, 0.03]), asked=3)
    edge, frac, dist, found = KeptSnaps(folder, "k1").look_up(np.array([30.5, 30.5, 31.25]),
                                                              np.array([49.5, 49.0, 48.0]))
    assert found.tolist() == [True, False, True]  # a point is found by its exact lon and lat only
    assert edge[found].tolist() == [8, 9] and frac[found].tolist() == [0.2, 0.3]
    assert dist[found].tolist() == [0.02, 0.03] and np.isnan(dist[1])
    assert not KeptSnaps(folder, "k2").look_up(lon, lat)[3].any()  # another graph's key: nothing
    before = (folder / FILE).read_bytes()
    (folder / "meta.json").write_text(json.dumps({"key": "k2"}))  # the folder holds another graph now
    KeptSnaps(folder, "k1").add(np.array([32.0]), np.array([47.0]), np.array([1]), np.array([0.5]),
                                np.array([0.1]), asked=1)
    assert (folder / FILE).read_bytes() == before  # nothing written for a graph no longer there
    (folder / "meta.json").write_text(json.dumps({"key": "k1"}))
    monkeypatch.setattr(road_snap_kept, "MAX_ROWS", 4)
    KeptSnaps(folder, "k1").add(np.array([32.0, 33.0]), np.array([47.0, 46.0]), np.array([1, 2]),
                                np.array([0.5, 0.6]), np.array([0.1, 0.2]), asked=1)
    found = KeptSnaps(folder, "k1").look_up(np.r_[lon, 32.0, 33.0], np.r_[lat, 47.0, 46.0])[3]
    assert found.tolist() == [False, False, False, True, True]  # too many: the last call's points only
    (folder / FILE).write_bytes(b"not an archive")
    assert not KeptSnaps(folder, "k1").look_up(lon, lat)[3].any()  # damaged: snapped again


def test_the_warm_up_prepares_road_time_coverage_and_holds_no_graph(demo_db_copy, monkeypatch):
    from cimic_geo.analytics.reach_kept import SEARCH_FILE

    with connect(demo_db_copy) as store:
        load_access_context(store)
        times = store.history_times("front_line")
    folder = graph_file(demo_db_copy)
    _new_process(monkeypatch)
    with connect(demo_db_copy, read_only=True) as store:
        assert not coverage_graph.prepare(store, as_of=times[0])  # a past time: no graph read nor built
        assert coverage_graph.prepare(store, as_of=times[-1], max_minutes=15.0)
    gc.collect()
    assert not coverage_graph._LAST and not len(road_cache._LIVE)  # the graph read for it let go
    assert all((folder / f).is_file() for f in (FILE, "coverage.json", SEARCH_FILE))
    assert not any(p.name.startswith(("past", "cov_")) and p.is_dir() for p in folder.parent.iterdir())
    # a first question by road time then snaps no place, computes no coverage weights and searches no roads,
    # at the limit prepared or a smaller one or one within the search ahead; a larger one searches
    _new_process(monkeypatch)
    calls = _count_snaps(monkeypatch)
    monkeypatch.setattr(coverage_graph, "_write_weights", lambda *a: pytest.fail("weights computed again"))
    searched: list[float] = []
    real_search = reach._road_reach
    monkeypatch.setattr(reach, "_road_reach", lambda *a, **k: searched.append(k["t_max"]) or real_search(*a, **k))
    with connect(demo_db_copy, read_only=True) as store:
        prepared = coverage_at(store, as_of=times[-1], max_minutes=15).to_dict()
        assert not searched
        graph = next(iter(coverage_graph._LAST.values()))
        graph.__dict__.pop("_reach_last")  # not held: read from the folder again
        within = {m: coverage_at(store, as_of=times[-1], max_minutes=m).to_dict() for m in (10.0, 20.0)}
        assert not searched
        coverage_at(store, as_of=times[-1], max_minutes=25)
        assert searched == [30.0]
    assert not calls
    monkeypatch.undo()
    # the same answer as without any preparation
    for p in folder.glob("cov_*"):
        p.unlink()
    (folder / "coverage.json").unlink()
    _new_process(monkeypatch)
    with connect(demo_db_copy, read_only=True) as store:
        assert coverage_at(store, as_of=times[-1], max_minutes=15).to_dict() == prepared
        for m, doc in within.items():
            coverage_graph._LAST.clear()
            assert coverage_at(store, as_of=times[-1], max_minutes=m).to_dict() == doc
    assert prepared["population_covered"] > 0


def test_no_kept_graph_nothing_prepared(demo_db_copy, monkeypatch):
    _new_process(monkeypatch)
    with connect(demo_db_copy, read_only=True) as store:
        assert not coverage_graph.prepare(store, as_of=store.history_times("front_line")[-1])
    assert not graph_file(demo_db_copy).exists()


def test_the_data_version_is_hashed_once_while_the_store_is_unchanged(demo_db_copy, monkeypatch):
    from cimic_geo.store import access_version

    with connect(demo_db_copy) as store:
        load_access_context(store)
    _new_process(monkeypatch)
    monkeypatch.setattr(coverage_situation, "SETTLE_S", 0.0)
    calls: list[int] = []
    real = access_version.access_data_version
    monkeypatch.setattr(access_version, "access_data_version", lambda s: calls.append(1) or real(s))
    with connect(demo_db_copy) as store:  # read-write: no version kept beside the file
        first = coverage_at(store, max_minutes=20).to_dict()
        coverage_at(store, max_minutes=25)
        assert len(calls) == 1
        shelters = store.read("shelters")
        store.write("shelters", shelters.head(1).assign(capacity=shelters["capacity"].head(1) + 1), mode="upsert")
        again = coverage_at(store, max_minutes=20).to_dict()
        assert len(calls) == 2  # written to: hashed again
    assert again["capacity_total"] in (first["capacity_total"], first["capacity_total"] + 1)


def test_after_the_warm_up_the_pages_first_road_time_coverage_searches_nothing(monkeypatch, demo_db_copy):
    """The Exposure page's ``warm_data`` (the server's background warm-up) prepares coverage by road time at
    the page's default limit: choosing *road minutes* then snaps no place and searches no roads, and shows
    the coverage a fresh search gives."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from cimic_geo.ui import analytics_page

    with connect(demo_db_copy) as store:
        load_access_context(store)
        expected = coverage_at(store, max_minutes=15.0)  # the page's default limit
    _new_process(monkeypatch)
    monkeypatch.setenv("CIMIC_DB", str(demo_db_copy))
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    analytics_page.cached_coverage.clear()
    analytics_page.warm_data()
    calls = _count_snaps(monkeypatch)
    searched: list[float] = []
    real_search = reach._road_reach
    monkeypatch.setattr(reach, "_road_reach", lambda *a, **k: searched.append(k["t_max"]) or real_search(*a, **k))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "2_Exposure_and_coverage.py"),
                           default_timeout=180)
    at.run()
    at.radio(key=analytics_page.k("reach_mode")).set_value("time").run()
    assert not at.exception, at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("Reach: within 15 min"))
    assert f"Covered {expected.population_covered:,} of {expected.population_total:,}" in caption
    assert not searched and not calls
    analytics_page.cached_coverage.clear()
    analytics_page.cached_exposure.clear()
