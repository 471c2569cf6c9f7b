"""Road graphs for past as-of times are kept apart from the current one: moving the planner's time
back and forth builds each graph once, a past build never replaces the graph a one-off CLI route
reads, at most two past graphs are kept (least recently used removed) and a damaged one is rebuilt."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from cimic_geo.analytics import road_cache as rc


@pytest.fixture
def counted(monkeypatch):
    """``load_access_context`` on a read-only store, and the list of the times it built a graph for."""
    import cimic_geo.corridors as corridors
    from cimic_geo.store import connect

    real, builds = corridors.build_road_graph, []

    def build(*args, **kwargs):
        builds.append(kwargs.get("as_of"))
        return real(*args, **kwargs)

    monkeypatch.setattr(corridors, "build_road_graph", build)

    def load(db, as_of=None):
        with connect(db, read_only=True) as store:
            return corridors.load_access_context(store, as_of=as_of, bands_km=(3.0, 6.0, 9.0))

    return load, builds


def _times(db):
    from cimic_geo.analytics.situation import history_times
    from cimic_geo.store import connect

    with connect(db, read_only=True) as store:
        return history_times(store)


def _current(db):
    folder = rc.graph_file(db)
    return rc.saved_key(folder), rc.folder_inode(folder), (folder / "meta.json").stat().st_mtime_ns


def _add_a_road_now(db, times):
    """A road reported at the latest snapshot: in the current roads, not in those of earlier times."""
    from cimic_geo.store import connect

    with connect(db) as store:
        road = store.read("roads", limit=1).assign(id="added-later", reported_at=times[-1])
        store.write("roads", road, mode="upsert")


def test_past_times_are_kept_apart_and_reused(demo_db_copy, counted):
    load, builds = counted
    times = _times(demo_db_copy)
    assert len(times) >= 4, times  # the demo scenario has a front-line history
    _add_a_road_now(demo_db_copy, times)  # a past graph has other road rows than the current one
    t1, t2, t3 = times[0], times[1], times[2]
    now = load(demo_db_copy)
    assert builds == [times[-1]] and now.as_of == times[-1]
    current = _current(demo_db_copy)
    assert "asof=" + times[-1].isoformat() in current[0]

    past = load(demo_db_copy, t1)
    assert builds == [times[-1], t1] and past.graph.as_of == t1
    assert _current(demo_db_copy) == current  # the current graph was neither replaced nor rewritten
    folder1 = rc.past_folder(demo_db_copy, rc.saved_key(next(rc.past_root(demo_db_copy).iterdir())))
    assert folder1.parent == rc.past_root(demo_db_copy) and "asof=" + t1.isoformat() in rc.saved_key(folder1)

    again_now, again_past = load(demo_db_copy), load(demo_db_copy, t1)
    assert len(builds) == 2  # both read from their folders
    assert np.array_equal(again_now.graph.edge_minutes, now.graph.edge_minutes)
    assert np.array_equal(again_past.graph.edge_minutes, past.graph.edge_minutes)
    assert np.array_equal(again_past.graph.edge_front_km, past.graph.edge_front_km)
    assert again_past.graph.as_of == t1 and again_past.graph._connectivity is not None  # read back, not rebuilt
    # each with the road rows of its own time
    assert again_past.graph.road_table["id"].tolist() == past.graph.road_table["id"].tolist()
    assert "added-later" in set(again_now.graph.road_table["id"]) - set(again_past.graph.road_table["id"])

    load(demo_db_copy, t2)  # a second past time: both kept
    load(demo_db_copy, t1)  # t1 used again: t2 is now the least recently used
    assert builds == [times[-1], t1, t2]
    load(demo_db_copy, t3)  # a third: t2 is removed, t1 and t3 are kept
    assert builds == [times[-1], t1, t2, t3]
    kept = sorted(p.name for p in rc.past_root(demo_db_copy).iterdir())
    assert len(kept) == rc.PAST_KEEP == 2
    load(demo_db_copy, t1), load(demo_db_copy, t3), load(demo_db_copy)
    assert len(builds) == 4
    load(demo_db_copy, t2)
    assert builds[4:] == [t2]  # it was evicted: built again
    assert _current(demo_db_copy) == current


def test_a_damaged_past_graph_is_rebuilt(demo_db_copy, counted):
    load, builds = counted
    t1 = _times(demo_db_copy)[0]
    first = load(demo_db_copy, t1)
    want = np.array(first.graph.edge_minutes)  # a copy: the graph read back maps the file damaged below
    del first  # let go of it: a graph still held would be shared, not read again
    gc.collect()
    (folder,) = rc.past_root(demo_db_copy).iterdir()
    array = folder / "edge_minutes.npy"
    data = array.read_bytes()
    array.write_bytes(data[: len(data) // 2])  # truncated
    rebuilt = load(demo_db_copy, t1)
    assert builds == [t1, t1]
    assert np.array_equal(rebuilt.graph.edge_minutes, want)
    assert [p.name for p in rc.past_root(demo_db_copy).iterdir()] == [folder.name]
    load(demo_db_copy, t1)
    assert builds == [t1, t1]  # the rewritten folder is whole again
    assert not rc.graph_file(demo_db_copy).exists()  # no current-time graph was asked for, none written


def test_mark_used_keeps_the_most_recent_past_graphs(tmp_path):
    root = rc.past_root(tmp_path / "x.duckdb")
    folders = [rc.past_folder(tmp_path / "x.duckdb", f"key{i}") for i in range(4)]
    (root / "abc.tmp").mkdir(parents=True)  # a folder being written: never removed by the pruning
    for f in folders:
        f.mkdir()
        rc.mark_used(f)
    assert sorted(p.name for p in root.iterdir()) == sorted([folders[2].name, folders[3].name, "abc.tmp"])
    rc.mark_used(folders[2])
    folders[0].mkdir()
    rc.mark_used(folders[0])  # folders[3] is now the least recently used
    assert sorted(p.name for p in root.iterdir()) == sorted([folders[0].name, folders[2].name, "abc.tmp"])


def test_a_built_past_graph_is_read_back_from_its_folder(demo_db_copy, counted):
    """The past graph a first visit builds is saved and read back from its folder (arrays mapped from
    the files, as the current graph is read), and routes like a graph built in the process and kept
    nowhere: same arrays, same road rows, same documents."""
    import json

    from cimic_geo.corridors import load_access_context, route_document
    from cimic_geo.store import connect

    load, builds = counted
    times = _times(demo_db_copy)
    t1 = times[0]
    first = load(demo_db_copy, t1)
    assert builds == [t1]
    assert isinstance(first.graph.edge_minutes.base, np.memmap)  # the built copy was let go
    with connect(demo_db_copy, read_only=True) as store:
        built = load_access_context(store, as_of=t1, bands_km=(3.0, 6.0, 9.0), keep_graph=False)
        names = [r[0] for r in store.con.execute(
            "SELECT name FROM settlements ORDER BY population DESC, id LIMIT 3").fetchall()]
    g, h = built.graph, first.graph
    assert not isinstance(g.edge_minutes.base, np.memmap) and g.as_of == h.as_of == t1
    for name in rc._ARRAYS:
        assert np.array_equal(getattr(g, name), getattr(h, name)), name
    assert g.seg_status.tolist() == h.seg_status.tolist()
    assert g.road_table["id"].tolist() == h.road_table["id"].tolist()
    assert h.connectivity().as_dict() == g.connectivity().as_dict()
    for origin, destination, alternatives in ((names[0], names[1], 0), (names[1], names[2], 2)):
        a = route_document(built, origin, destination, alternatives=alternatives)
        b = route_document(first, origin, destination, alternatives=alternatives)
        assert a["found"] and a["length_km"] > 0
        assert json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)


def test_a_past_build_lets_go_of_its_lines_and_its_copy(demo_db_copy, monkeypatch):
    """Building a past graph: the road lines (a national layer: hundreds of MB) go before the graph is
    saved and read back, and the built copy goes once it is read back; the read graph rebuilds the
    same lines from its vertices."""
    import weakref

    import shapely

    import cimic_geo.corridors as corridors
    from cimic_geo.store import connect

    real_build, real_shared, built, seen = corridors.build_road_graph, corridors.shared_graph, [], []

    def build(*args, **kwargs):
        g = real_build(*args, **kwargs)
        built.append((weakref.ref(g), g.roads.copy()))  # the lines as built, for the comparison below
        return g

    def shared(*args, **kwargs):
        if built:  # the read-back: the built graph holds no lines any more
            seen.append(type(built[0][0]().road_table).__name__)
        return real_shared(*args, **kwargs)

    monkeypatch.setattr(corridors, "build_road_graph", build)
    monkeypatch.setattr(corridors, "shared_graph", shared)
    t1 = _times(demo_db_copy)[0]
    with connect(demo_db_copy, read_only=True) as store:
        ctx = corridors.load_access_context(store, as_of=t1, bands_km=(3.0, 6.0, 9.0))
    gc.collect()
    assert len(built) == 1 and seen == ["DataFrame"]
    assert built[0][0]() is None  # the built copy was let go: the context has the graph read back
    lines = built[0][1]
    assert ctx.graph.roads["id"].tolist() == lines["id"].tolist()
    assert shapely.equals(ctx.graph.roads.geometry.values, lines.geometry.values).all()


def test_the_planner_keeps_one_road_graph_while_its_time_moves(demo_db_copy):
    """Moving the planner's time slider over past times (each graph built and kept beside the store)
    leaves one road graph alive in the process, not one per time visited."""
    import weakref

    from cimic_geo.analytics import coverage_graph
    from cimic_geo.store import connect
    from cimic_geo.ui import planner_page
    from cimic_geo.ui.common import data_token

    times = _times(demo_db_copy)
    assert len(times) >= 3
    planner_page._context.clear()
    refs = []
    try:
        with connect(demo_db_copy, read_only=True) as store:
            token = data_token(store)
            for t in (None, times[-2], times[-3], times[-2]):
                ctx = planner_page.access_context(store, token, t)
                refs.append(weakref.ref(ctx.graph))
                del ctx
                gc.collect()
                alive = {id(r()) for r in refs if r() is not None}
                assert len(alive) == 1, f"{len(alive)} road graphs alive after the time moved to {t}"
    finally:
        planner_page._context.clear()
        planner_page._last_args.clear()
        planner_page._last_graph.clear()
        coverage_graph._LAST.clear()


def test_a_kept_past_graph_maps_its_road_rows_instead_of_asking_the_store(demo_db_copy, monkeypatch):
    """A past graph saved beside the store carries its road rows' attributes: reading it back (at once,
    and in a fresh process) maps them from its folder; no query of the roads' history, the same rows."""
    import weakref

    import cimic_geo.corridors as corridors
    from cimic_geo.analytics.situation import layers_time
    from cimic_geo.store import connect
    from cimic_geo.store.access_version import ROAD_ATTRIBUTES, road_attributes

    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("as_of"))
        return road_attributes(*args, **kwargs)

    monkeypatch.setattr(corridors, "road_attributes", counted)
    times = _times(demo_db_copy)
    t1 = times[0]
    with connect(demo_db_copy, read_only=True) as store:
        ctx = corridors.load_access_context(store, as_of=t1, bands_km=(3.0, 6.0, 9.0))
        assert calls == []  # built, saved and read back with the rows it was built from
        want = road_attributes(store, as_of=layers_time(t1, times))
        got = ctx.graph.road_table[list(ROAD_ATTRIBUTES)]
        assert got.equals(want)
        ref = weakref.ref(ctx.graph)
        del ctx, got
        gc.collect()
        assert ref() is None
        monkeypatch.setattr(rc, "_LIVE", weakref.WeakValueDictionary())  # as a fresh process
        again = corridors.load_access_context(store, as_of=t1, bands_km=(3.0, 6.0, 9.0))
        assert calls == []
        assert again.graph.road_table[list(ROAD_ATTRIBUTES)].equals(want)
        folder = rc.past_folder(demo_db_copy, rc.graph_key(again.data_version, as_of=t1, bands_km=(3.0, 6.0, 9.0)))
        assert (folder / rc.ROADS_FILE).is_file()
        assert rc.kept_roads(folder, "another key") is None
