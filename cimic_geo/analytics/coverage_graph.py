"""The road graph for coverage by travel time: the planner's kept graph when there is one.

The route planner keeps its built graph beside the store (:mod:`cimic_geo.analytics.road_cache`,
keyed by the data it was built from, the as-of time and the threat bands). Coverage by road time
reads that folder instead of noding a million road segments again; the last graph read stays in
memory (one graph per process, with its snapping index and node tree), so a second coverage run
on unchanged data rebuilds nothing. Coverage at a past time reads the planner's graph of that time
(``<store>.roadgraph.past/``, :func:`~cimic_geo.analytics.road_cache.past_folder`) with the road rows
and bridges in force then, or builds it from them and keeps it there for the next run and the
planner; a road reported later is never in it. A graph the planner holds already is used as it is
(:func:`~cimic_geo.analytics.road_cache.shared_graph`: one copy per process, not one each). At the current time without a kept graph (a store
without a file, changed data) the graph is built and not kept: writing the current folder is the
planner's (with what a one-off CLI route reads).

The weighted graph of the coverage policy and the chain positions of its core search
(:mod:`cimic_geo.analytics.reach_core`) are saved into the kept folder beside the graph after the
first run (``cov_*.npy`` and ``coverage.json`` with the folder's key, each file renamed into place), so
a fresh process reads them instead of computing them; files that do not match are ignored.

Where the settlements and shelters snap to a kept graph is kept in its folder too
(:mod:`cimic_geo.analytics.road_snap_kept`), and :func:`prepare` (the server's background warm-up) saves
there ahead what a first question by road time needs: the weights and chains, the places snapped and the
search for the page's default limit (:class:`~cimic_geo.analytics.reach_kept.SavedSearch`). The store's
data version, which names the kept graph, is hashed once per store content (:func:`data_version`).

Coverage has always driven every road both ways (evacuation convoys, as the planner's
``ignore_oneway``): the kept graph knows one-way roads, so the policy ignores them and the
travel times are the same as on a graph built without the one-way flags.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cimic_geo.analytics.road_policy import RoutingPolicy
from cimic_geo.analytics.roadgraph import RoadGraph, build_road_graph
from cimic_geo.data_stamp import write_kept_file, write_kept_text
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _

#: The routing policy of coverage by travel time: occupied-side roads excluded, no threat penalty,
#: every road driven both ways.
COVERAGE_POLICY = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=True, ignore_oneway=True)
#: Coverage by road time searches this many minutes past the limit asked and keeps that search: the next
#: larger limit (the Exposure page steps by 5 minutes) is its pairs within it, not a search again.
SEARCH_AHEAD_MIN = 5.0

_LOCK = threading.Lock()
_LAST: dict[tuple[str, str, int | None], RoadGraph] = {}
#: Road columns a graph is built from (as the planner builds it, so a graph coverage keeps is the planner's).
_ROAD_COLUMNS = ["road_class", "speed_kmh", "bridge", "status", "name", "oneway"]


#: The coverage policy's weighted graph and chain positions, kept in the graph folder under these names.
_META = "coverage.json"
_PREFIX = "cov_"


def _read_weights(graph: RoadGraph, folder: Path, key: str) -> bool:
    """Put the coverage weights and chains saved in ``folder`` (under ``key``) on ``graph``; False: none."""
    from cimic_geo.analytics.reach_core import CHAIN_ARRAYS, kept_chains
    from cimic_geo.analytics.road_weights import WeightedGraph

    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        if meta.get("key") != key or meta.get("policy") != dataclasses.asdict(COVERAGE_POLICY):
            return False
        z = {n: np.asarray(np.load(folder / f"{_PREFIX}{n}.npy", mmap_mode="c", allow_pickle=False))
             for n in meta["arrays"]}
        parts = {n[2:]: v.astype(np.int64) if v.dtype == np.int32 else v for n, v in z.items() if n.startswith("w_")}
        w = WeightedGraph.from_arrays(parts)
        chains = {n: z[f"c_{n}"] for n in CHAIN_ARRAYS}
    except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, AttributeError):
        return False
    if len(w.cost) != graph.n_edges or w.n_nodes != graph.n_nodes or len(chains["chain"]) != graph.n_nodes:
        return False
    with graph._lock:
        kept = graph._weighted.setdefault(COVERAGE_POLICY, w)
    if kept is w:
        kept_chains(w, graph.node_lonlat, chains)
    return True


def _write_weights(graph: RoadGraph, folder: Path, key: str) -> None:
    """Save the coverage weights and chains of ``graph`` into its kept ``folder`` (best effort)."""
    from cimic_geo.analytics.reach_core import CHAIN_ARRAYS, chains_of
    from cimic_geo.analytics.road_cache import saved_key

    w = graph.weighted(COVERAGE_POLICY)
    ch = chains_of(w, graph.node_lonlat)
    arrays = {f"w_{n}": a for n, a in w.arrays().items()}
    arrays.update({f"c_{n}": getattr(ch, n) for n in CHAIN_ARRAYS})
    for n, a in arrays.items():
        if a.dtype == np.int64 and (not len(a) or (a.min() >= -(2**31) and a.max() < 2**31)):
            arrays[n] = a.astype(np.int32)
    meta = {"key": key, "policy": dataclasses.asdict(COVERAGE_POLICY), "arrays": sorted(arrays)}
    with contextlib.suppress(OSError):
        if saved_key(folder) != key:
            return
        for n, a in arrays.items():
            if not write_kept_file(folder / f"{_PREFIX}{n}.npy",
                                   lambda f, a=a: np.save(f, np.ascontiguousarray(a), allow_pickle=False)):
                return
        write_kept_text(folder / _META, json.dumps(meta))  # the metadata last


def _coverage_weights(graph: RoadGraph, folder: Path, key: str) -> None:
    """The coverage weights and chains on ``graph``: read from its folder, or computed and saved there."""
    if getattr(graph, "_coverage_weights", False):
        return
    if not _read_weights(graph, folder, key):
        _write_weights(graph, folder, key)
    graph._coverage_weights = True  # type: ignore[attr-defined]


def _keep_snaps(graph: RoadGraph, folder: Path, key: str) -> None:
    """Places snapped to ``graph`` are looked up in (and added to) its kept ``folder``
    (:mod:`cimic_geo.analytics.road_snap_kept`), and a search saved there ahead is read from it
    (:class:`~cimic_geo.analytics.reach_kept.SavedSearch`)."""
    from cimic_geo.analytics.reach_kept import SavedSearch
    from cimic_geo.analytics.road_snap_kept import KeptSnaps

    with graph._lock:
        kept = graph.__dict__.get("_kept_snaps")
        if kept is None or kept.folder != folder or kept.key != key:
            graph.__dict__["_kept_snaps"] = KeptSnaps(folder, key)
            graph.__dict__["_saved_search"] = SavedSearch(folder, key)


_VERSION: dict[tuple[str, str], str] = {}


def data_version(store: Any) -> str:
    """:func:`~cimic_geo.store.access_version.access_data_version` of ``store``, kept per process under the
    store file's content stamp (:func:`~cimic_geo.analytics.coverage_situation.content_key`: it changes with
    every committed write of data), so a coverage run does not hash the store again (about half a second
    nationally on a store opened read-write) while its data are unchanged."""
    from cimic_geo.analytics.coverage_situation import content_key
    from cimic_geo.store.access_version import access_data_version

    ident = content_key(store)
    with _LOCK:
        kept = _VERSION.get(ident) if ident is not None else None
    if kept is not None:
        return kept
    version = access_data_version(store)
    if ident is not None and content_key(store) == ident:  # not written to while it was hashed
        with _LOCK:
            _VERSION.clear()  # one store's version kept
            _VERSION[ident] = version
    return version


def keep_only_key(key: str) -> None:
    """Let go of the graph kept for the next coverage run unless it is the one kept under ``key`` (the
    route planner is about to read that graph: another one goes first, so the two are never held
    together while the planner's is read or built)."""
    with _LOCK:
        if any(ident[1] != key for ident in _LAST):
            _LAST.clear()


def keep_only(graph: RoadGraph) -> None:
    """Let go of the graph kept for the next coverage run unless it is ``graph`` (the route planner
    moved to another time's graph: one road graph per process, not one per page)."""
    with _LOCK:
        if any(kept is not graph for kept in _LAST.values()):
            _LAST.clear()


#: Called with each graph coverage by road time takes (not the one it kept): the route planner lets
#: go of its context on another time's graph then, as :func:`keep_only` does the other way round.
ON_NEW_GRAPH: list[Callable[[RoadGraph], None]] = []


def _remember(ident: tuple[str, str, int | None], graph: RoadGraph) -> None:
    with _LOCK:
        _LAST.clear()  # one graph per process: memory stays flat
        _LAST[ident] = graph
    for hook in list(ON_NEW_GRAPH):
        hook(graph)


def _kept_graph(store: Any, folder: Path, key: str, *, version: str, as_of: Any, layers_as_of: Any,
                front_line: Any, occupied_area: Any, infra: Any, bands_km: tuple[float, ...]) -> RoadGraph | None:
    """The graph kept in ``folder`` under ``key`` (None: none, or not for this data); ``version``: the
    store's data version (the road attributes kept beside the store are read under it)."""
    from cimic_geo.analytics.road_cache import folder_inode, mark_used, saved_key, shared_graph
    from cimic_geo.store.access_version import road_attributes

    if saved_key(folder) != key:
        return None
    ident = (str(folder), key, folder_inode(folder))
    with _LOCK:
        graph = _LAST.get(ident)
    if graph is None:
        graph = shared_graph(folder, key, roads=lambda: road_attributes(store, data_version=version, as_of=layers_as_of),
                             front_line=front_line, occupied=occupied_area, infrastructure=infra, bands_km=bands_km,
                             as_of=as_of)
        if graph is None:
            return None
        _remember(ident, graph)
    if layers_as_of is not None:
        mark_used(folder)  # the least recently used past graph goes first
    return graph


def _bridges(store: Any, as_of: Any) -> Any:
    """The bridges a graph is built with (those destroyed cut their roads)."""
    return store.read("infrastructure", where={"sector": "bridge"}, columns=["name", "sector", "damage", "road_id"],
                      as_of=as_of)


def _weights_saved(folder: Path, key: str) -> bool:
    """Whether ``folder`` holds the coverage weights and chains under ``key`` (:func:`_write_weights`)."""
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        return (meta.get("key") == key and meta.get("policy") == dataclasses.asdict(COVERAGE_POLICY)
                and all((folder / f"{_PREFIX}{n}.npy").is_file() for n in meta["arrays"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def prepare(store: Any, *, as_of: Any = None, max_minutes: float | None = None) -> bool:
    """Make ready what coverage by road time at ``as_of`` needs, for a later run in this process or another:
    the coverage weights and chain positions and the settlements and shelters snapped to the graph, saved in
    the kept graph's folder (:func:`_write_weights`, :mod:`cimic_geo.analytics.road_snap_kept`), whatever the
    limit; with ``max_minutes``, also the search for that limit and :data:`SEARCH_AHEAD_MIN` past it
    (:class:`~cimic_geo.analytics.reach_kept.SavedSearch`: the search coverage at ``max_minutes`` runs, or
    at a smaller limit or one within the search ahead). The data version and the situation read are kept per
    process (:func:`data_version`, :mod:`cimic_geo.analytics.coverage_situation`).

    The server's background warm-up calls it with the Exposure page's default limit, so a first question
    by road time neither computes, snaps nor searches. No graph is kept for it: one read here is let go
    again (with its snapping index and search), unless a coverage run or the route planner holds it
    already. Only the current graph the planner keeps is used, none is built: at a past time, without a
    kept graph for the data, or when its folder is not writable, nothing is done (False). True: ready.
    """
    from cimic_geo.analytics.coverage import _canonical
    from cimic_geo.analytics.coverage_situation import coverage_situation
    from cimic_geo.analytics.reach import _points_lonlat, travel_time_reach
    from cimic_geo.analytics.reach_kept import SavedSearch, search_ident, search_key
    from cimic_geo.analytics.road_cache import folder_inode, graph_file, graph_key, saved_key, shared_graph
    from cimic_geo.analytics.road_snap_kept import KeptSnaps, snap_kept
    from cimic_geo.config import load_settings
    from cimic_geo.store.access_version import road_attributes

    path = getattr(store, "path", None)
    if path is None:
        return False
    read = coverage_situation(store, as_of=as_of)
    sit = read.situation
    if sit.layers_as_of is not None:
        return False
    bands = tuple(load_settings().bands_km)
    version = data_version(store)
    key = graph_key(version, as_of=sit.as_of, bands_km=bands)
    folder = graph_file(path)
    if saved_key(folder) != key or not os.access(folder, os.W_OK):  # nothing could be kept: left to the run
        return False
    sets, shel = _canonical(read.settlements), _canonical(read.shelters)  # in the order coverage searches them
    points = [p for p in (_points_lonlat(sets, "settlements"), _points_lonlat(shel, "shelters")) if len(p)]
    snaps, saved = KeptSnaps(folder, key), SavedSearch(folder, key)
    ident = None if max_minutes is None or len(points) < 2 else search_ident(search_key(sets, shel,
                                                                                        policy=COVERAGE_POLICY))
    searched = ident is None or saved.holds(ident, float(max_minutes) + SEARCH_AHEAD_MIN)
    if searched and _weights_saved(folder, key) and all(snaps.look_up(p[:, 0], p[:, 1])[3].all() for p in points):
        return True
    with _LOCK:
        graph = _LAST.get((str(folder), key, folder_inode(folder)))
    if graph is None:
        graph = shared_graph(folder, key, roads=lambda: road_attributes(store, data_version=version),
                             front_line=sit.front_line, occupied=sit.occupied_area, infrastructure=_bridges(store, None),
                             bands_km=bands, as_of=sit.as_of)
        if graph is None:
            return False
    _coverage_weights(graph, folder, key)
    _keep_snaps(graph, folder, key)
    indexed = graph._snap_index is not None
    for p in points:
        snap_kept(graph, p)
    if not searched:
        travel_time_reach(graph, sets, shel, max_minutes=float(max_minutes), policy=COVERAGE_POLICY,
                          ahead_minutes=SEARCH_AHEAD_MIN)
        kept = graph.__dict__.get("_reach_last")
        if kept is not None and search_ident(kept[0]) == ident:
            saved.write(ident, kept[1])
    if not indexed:  # built for these points only: a later run that needs it builds it again
        with graph._lock:
            graph._snap_index = None
    return True


def coverage_road_graph(store: Any, *, as_of: Any, front_line: Any, occupied_area: Any,
                        layers_as_of: Any = None) -> tuple[RoadGraph, RoutingPolicy]:
    """The road graph at ``as_of`` and the routing policy coverage by travel time uses.

    ``layers_as_of``: the time roads and bridges are read at (None: their current state). The
    graph is the one the route planner keeps for that time when there is one: the current graph
    folder (``layers_as_of`` None) or the folder of that past time
    (:func:`~cimic_geo.analytics.road_cache.past_folder`), read with the road rows in force then.
    Otherwise it is built from the roads and bridges in force then; a past one is kept for the
    next run and for the planner, as the planner keeps it.

    Raises
    ------
    AnalysisError
        The store has no roads layer.
    """
    from cimic_geo.analytics.road_cache import folder_inode, graph_file, graph_key, mark_used, past_folder, save_graph
    from cimic_geo.analytics.road_rows import roads_in_force
    from cimic_geo.config import load_settings

    bands = tuple(load_settings().bands_km)
    path = getattr(store, "path", None)
    infra = _bridges(store, layers_as_of)
    folder = key = version = None
    if path is not None:
        version = data_version(store)
        key = graph_key(version, as_of=as_of, bands_km=bands)
        folder = graph_file(path) if layers_as_of is None else past_folder(path, key)
        graph = _kept_graph(store, folder, key, version=version, as_of=as_of, layers_as_of=layers_as_of,
                            front_line=front_line, occupied_area=occupied_area, infra=infra, bands_km=bands)
        if graph is not None:
            _coverage_weights(graph, folder, key)
            _keep_snaps(graph, folder, key)
            return graph, COVERAGE_POLICY
    roads = roads_in_force(store, columns=_ROAD_COLUMNS, as_of=layers_as_of, data_version=version)
    if not len(roads.rows) and layers_as_of is not None:
        from cimic_geo.timefmt import iso

        raise AnalysisError(_("travel-time coverage needs roads; none were in force at {time}").format(
            time=iso(layers_as_of)))
    if not len(roads.rows):
        raise AnalysisError(_("travel-time coverage needs a roads layer; the store has none"))
    graph = build_road_graph(roads.rows, vertices=roads.vertices, front_line=front_line, occupied=occupied_area,
                             infrastructure=infra, bands_km=bands, as_of=as_of)
    del roads
    keep = folder is not None and key is not None and layers_as_of is not None
    if keep:  # saved and read back: the lines go now (rebuilt from the vertices if the save fails)
        graph.drop_road_lines()
    if keep and save_graph(folder, graph, key):
        # read back from its folder (mapped, as the current graph is), the built copy let go
        kept = _kept_graph(store, folder, key, version=version, as_of=as_of, layers_as_of=layers_as_of,
                           front_line=front_line, occupied_area=occupied_area, infra=infra, bands_km=bands)
        if kept is None:
            mark_used(folder)
            _remember((str(folder), key, folder_inode(folder)), graph)
        graph = graph if kept is None else kept
        _coverage_weights(graph, folder, key)
        _keep_snaps(graph, folder, key)
    return graph, COVERAGE_POLICY
