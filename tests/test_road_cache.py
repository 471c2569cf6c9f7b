"""The road graph kept between runs beside the store: reused while the data is unchanged, rebuilt when
stale or unreadable."""

from __future__ import annotations

import numpy as np
import shapely
from access_fixtures import SALIENT, salient_roads

from cimic_geo.analytics.road_cache import graph_file, graph_key, load_graph, save_graph
from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph
from cimic_geo.analytics.routing import find_routes

BANDS = (3.0, 6.0, 9.0)


def _load(path, key):
    return load_graph(path, key, roads=salient_roads(), front_line=SALIENT, bands_km=BANDS)


def test_saved_graph_routes_like_the_built_one(tmp_path):
    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=BANDS)
    path = tmp_path / "x.duckdb.roadgraph"
    legacy = tmp_path / "x.duckdb.roadgraph.npz"
    legacy.write_bytes(b"a graph file of an older format")
    key = graph_key("v1", as_of=None, bands_km=BANDS)
    assert save_graph(path, g, key)
    assert not legacy.exists()  # the older single-file format is removed, not left to fill the disk
    h = _load(path, key)
    assert h is not None
    for name in ("edge_u", "edge_v", "edge_minutes", "edge_front_km", "edge_oneway", "coords"):
        assert np.array_equal(getattr(g, name), getattr(h, name))
    policy = RoutingPolicy(avoid_km=2.0)
    o, t = 0, int(g.n_nodes - 1)
    a = find_routes(g, o, t, policy=policy, alternatives=0)
    b = find_routes(h, o, t, policy=policy, alternatives=0)
    assert [r.cost for r in a] == [r.cost for r in b]


def test_stale_or_damaged_files_are_ignored(tmp_path):
    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=BANDS)
    path = tmp_path / "x.duckdb.roadgraph"
    key = graph_key("v1", as_of=None, bands_km=BANDS)
    save_graph(path, g, key)
    assert _load(path, graph_key("v2", as_of=None, bands_km=BANDS)) is None  # the data changed
    assert _load(path, graph_key("v1", as_of="2026-01-01T00:00Z", bands_km=BANDS)) is None
    assert _load(path, key) is not None
    array = path / "edge_minutes.npy"
    data = array.read_bytes()
    array.write_bytes(data[: len(data) // 2])  # truncated
    assert _load(path, key) is None
    array.write_bytes(b"not an array")
    assert _load(path, key) is None
    array.unlink()  # missing
    assert _load(path, key) is None
    (path / "meta.json").write_text("not json")
    assert _load(path, key) is None
    assert _load(tmp_path / "missing", key) is None


def test_store_graph_is_saved_reused_and_rebuilt_after_a_change(demo_db_copy):
    from cimic_geo.corridors import load_access_context
    from cimic_geo.store import connect

    path = graph_file(demo_db_copy)
    assert not path.exists()
    with connect(demo_db_copy, read_only=True) as store:
        first = load_access_context(store)
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    with connect(demo_db_copy, read_only=True) as store:
        again = load_access_context(store)
    assert path.stat().st_mtime_ns == stamp  # reused, not rewritten
    assert np.array_equal(first.graph.edge_minutes, again.graph.edge_minutes)
    # the kept graph was read without road geometry: it rebuilds the same lines from its vertices
    assert again.graph.roads["id"].tolist() == first.graph.roads["id"].tolist()
    assert shapely.equals(again.graph.roads.geometry.values, first.graph.roads.geometry.values).all()
    assert np.array_equal(again.graph.row_bounds(), shapely.bounds(first.graph.roads.geometry.values))
    with connect(demo_db_copy) as store:
        rid = store.con.execute("SELECT id FROM roads WHERE status = 'open' ORDER BY id LIMIT 1").fetchone()[0]
        store.con.execute("UPDATE roads SET status = 'impassable' WHERE id = ?", [rid])
    with connect(demo_db_copy, read_only=True) as store:
        changed = load_access_context(store)
    assert changed.graph.n_edges < first.graph.n_edges  # rebuilt from the changed data
    assert path.stat().st_mtime_ns != stamp


def test_moving_a_road_under_the_same_id_changes_the_graph_key(empty_db):
    """The kept graph is keyed by the data version: a road's new geometry (same id, same attributes)
    must give a new version, or a stale graph would be reused."""
    import geopandas as gpd
    from shapely.geometry import LineString

    from cimic_geo.store import connect
    from cimic_geo.store.access_version import access_data_version

    def roads(y: float) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"id": ["R1"], "road_class": ["primary"], "speed_kmh": [60.0], "status": ["open"],
                                 "bridge": [False], "source": ["test"], "reliability": ["A1"],
                                 "reported_at": [np.datetime64("2026-11-01T00:00:00")]},
                                geometry=[LineString([(36.0, 48.0), (36.1, y)])], crs="EPSG:4326")

    store = connect(empty_db)
    try:
        store.write("roads", roads(48.0), mode="upsert")
        before = access_data_version(store)
        store.write("roads", roads(48.05), mode="upsert")
        assert access_data_version(store) != before
    finally:
        store.close()


def test_the_default_policy_weights_and_the_components_are_kept_in_the_file(tmp_path):
    from cimic_geo.analytics.road_policy import default_policy
    from cimic_geo.corridors import make_policy

    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=BANDS)
    policy = make_policy(bands_km=BANDS)  # what a route with no options uses
    assert default_policy(BANDS) == policy
    path = tmp_path / "x.duckdb.roadgraph"
    key = graph_key("v1", as_of=None, bands_km=BANDS)
    assert save_graph(path, g, key)
    h = _load(path, key)
    # read back, not recomputed: the weighted graph is read from its files when first asked (not
    # before: a graph used with another policy never widens them) and the components are set
    assert list(h._saved_weighted) == [policy] and not h._weighted and h._connectivity is not None
    built = g.weighted(policy)
    import cimic_geo.analytics.roadgraph as roadgraph

    def no_build(*_args, **_kwargs):
        raise AssertionError("the saved weighted graph was rebuilt")

    real, roadgraph.WeightedGraph = roadgraph.WeightedGraph, no_build
    try:
        kept = h.weighted(policy)
    finally:
        roadgraph.WeightedGraph = real
    assert list(h._weighted) == [policy] and not h._saved_weighted and h.weighted(policy) is kept
    for name in ("cost", "ua", "ub", "uc_ab", "uc_ba", "junction", "chain", "core_nodes", "pair_keys"):
        assert np.array_equal(getattr(built, name), getattr(kept, name)), name
    assert (built.core_csr != kept.core_csr).nnz == 0
    assert h.connectivity().as_dict() == g.connectivity().as_dict()
    assert np.array_equal(h.connectivity().edge_component, g.connectivity().edge_component)
    for o, t in ((0, g.n_nodes - 1), (1, g.n_nodes // 2)):
        a = find_routes(g, o, t, policy=policy, alternatives=2)
        b = find_routes(h, o, t, policy=policy, alternatives=2)
        assert [r.cost for r in a] == [r.cost for r in b]
        assert [r.edges.tolist() for r in a] == [r.edges.tolist() for r in b]


def _one_road(y: float):
    import geopandas as gpd
    from shapely.geometry import LineString

    return gpd.GeoDataFrame({"id": ["R1"], "road_class": ["primary"], "speed_kmh": [60.0], "status": ["open"],
                             "bridge": [False], "source": ["test"], "reliability": ["A1"],
                             "reported_at": [np.datetime64("2026-11-01T00:00:00")]},
                            geometry=[LineString([(36.0, 48.0), (36.1, y)])], crs="EPSG:4326")


def test_a_read_only_store_reuses_its_kept_data_version_until_the_file_changes(empty_db, monkeypatch):
    """The data version is kept beside the file with the file's stamp: reused (no hashing) while the
    file is unchanged, recomputed after any write (here: a road moved under the same id)."""
    import cimic_geo.store.access_version as av
    from cimic_geo.store import connect

    monkeypatch.setattr(av, "SETTLE_S", 0.0)  # the file was just written: trust its stamp at once
    with connect(empty_db) as store:
        store.write("roads", _one_road(48.0), mode="upsert")
    real, calls = av._hashed_version, []
    monkeypatch.setattr(av, "_hashed_version", lambda store: calls.append(1) or real(store))
    with connect(empty_db, read_only=True) as store:
        first = av.access_data_version(store)
    assert calls == [1] and av.version_file(empty_db).is_file()
    with connect(empty_db, read_only=True) as store:
        assert av.access_data_version(store) == first
    assert calls == [1]  # kept, not hashed again
    with connect(empty_db) as store:
        store.write("roads", _one_road(48.05), mode="upsert")
        assert av.access_data_version(store) != first  # a writable store always hashes
    with connect(empty_db, read_only=True) as store:
        moved = av.access_data_version(store)
    assert moved != first and len(calls) == 3
    assert av.version_file(empty_db).read_text(encoding="utf-8").count(moved) == 1


def test_a_route_on_the_kept_graph_is_the_route_on_a_fresh_build(demo_db_copy):
    """What a cold CLI ``route`` computes (the graph mapped from the kept folder) equals, document for
    document, the route on a graph built in the process from the store's layers."""
    import json

    from cimic_geo.corridors import load_access_context, route_document
    from cimic_geo.store import connect

    with connect(demo_db_copy, read_only=True) as store:
        built = load_access_context(store, keep_graph=False)
        load_access_context(store)  # builds again and keeps it
        names = [r[0] for r in store.con.execute(
            "SELECT name FROM settlements ORDER BY population DESC, id LIMIT 3").fetchall()]
    with connect(demo_db_copy, read_only=True) as store:
        kept = load_access_context(store)
    assert built.graph._connectivity is None and kept.graph._connectivity is not None  # read from the folder
    for origin, destination, alternatives in ((names[0], names[1], 0), (names[1], names[2], 2)):
        a = route_document(built, origin, destination, alternatives=alternatives)
        b = route_document(kept, origin, destination, alternatives=alternatives)
        assert a["found"] and a["length_km"] > 0
        assert json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)


def test_a_few_road_ids_are_found_without_indexing_every_id():
    import pytest

    from cimic_geo.errors import AnalysisError

    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=BANDS)
    ids = g.road_table["id"].astype(str).tolist()
    n = len(ids)
    pick = [ids[-1], ids[0], ids[n // 2], ids[0]]
    fast = g.road_rows(pick)
    assert fast.tolist() == [n - 1, 0, n // 2, 0] and g._id_index is None  # no index of every id was built
    with pytest.raises(AnalysisError, match="no-such-road"):
        g.road_rows([ids[0], "no-such-road"])
    assert g._id_index is not None and g.road_rows(pick).tolist() == fast.tolist()


def test_road_attributes_kept_beside_a_read_only_store_follow_a_renamed_road(empty_db, monkeypatch):
    import cimic_geo.store.access_version as av
    from cimic_geo.store import connect

    monkeypatch.setattr(av, "SETTLE_S", 0.0)
    kept = empty_db.with_name(empty_db.name + ".roadattributes.arrow")
    with connect(empty_db) as store:
        store.write("roads", _one_road(48.0).assign(name="Old road"), mode="upsert")
    with connect(empty_db, read_only=True) as store:
        first = av.road_attributes(store)
        assert kept.is_file()
        again = av.road_attributes(store)  # read back from the kept file
        direct = store.query_df("SELECT id, road_class, status, name FROM roads ORDER BY id")
    assert first.equals(direct) and again.equals(direct) and (again.dtypes == direct.dtypes).all()
    with connect(empty_db) as store:
        store.write("roads", _one_road(48.0).assign(name="New road"), mode="upsert")
    with connect(empty_db, read_only=True) as store:
        assert av.road_attributes(store)["name"].tolist() == ["New road"]  # not the kept "Old road"


def test_a_graph_replaced_while_it_is_read_is_not_used(tmp_path, monkeypatch):
    """A writer renames a new folder into place while a reader maps the arrays: the reader must not
    mix arrays of two folders (it returns None and the caller builds or reads again)."""
    import cimic_geo.analytics.road_cache as rc

    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=BANDS)
    path = tmp_path / "x.duckdb.roadgraph"
    key = graph_key("v1", as_of=None, bands_km=BANDS)
    assert save_graph(path, g, key)
    real_load, calls = np.load, []

    def load_and_replace(*args, **kwargs):
        if not calls:
            calls.append(1)
            assert save_graph(path, g, key)  # another process writes the graph again meanwhile
        return real_load(*args, **kwargs)

    monkeypatch.setattr(rc.np, "load", load_and_replace)
    assert _load(path, key) is None and calls == [1]
    assert _load(path, key) is not None  # the new folder, read whole


def _mapped(a: np.ndarray) -> bool:
    """Whether ``a`` is (a view of) an array mapped from its file."""
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = a.base if isinstance(a.base, np.ndarray) else None
    return False


def test_a_read_graph_keeps_its_index_arrays_int32_as_mapped(tmp_path):
    """The seven index arrays and the components are read as the int32 maps of their files: no int64
    copy of each in memory (a national graph: ~60 MB), and routes on the read graph are the built graph's."""
    from cimic_geo.analytics.road_cache import _INDEX

    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=BANDS)
    path = tmp_path / "x.duckdb.roadgraph"
    key = graph_key("v1", as_of=None, bands_km=BANDS)
    assert save_graph(path, g, key)
    h = _load(path, key)
    for name in _INDEX:
        a = getattr(h, name)
        assert a.dtype == np.int32 and _mapped(a), name
        assert np.array_equal(a, getattr(g, name)), name
    ec = h.connectivity().edge_component
    assert ec.dtype == np.int32 and _mapped(ec)
    policy = RoutingPolicy(avoid_km=1.0)
    for o, t in ((0, g.n_nodes - 1), (1, g.n_nodes // 2)):
        a = find_routes(g, o, t, policy=policy, alternatives=2)
        b = find_routes(h, o, t, policy=policy, alternatives=2)
        assert [r.cost for r in a] == [r.cost for r in b]
        assert [r.edges.tolist() for r in a] == [r.edges.tolist() for r in b]
    assert np.array_equal(h.edge_geoms(np.arange(h.n_edges)), g.edge_geoms(np.arange(g.n_edges)))
    assert shapely.equals(h.roads.geometry.values, g.roads.geometry.values).all()
