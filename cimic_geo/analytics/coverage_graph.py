"""The road graph for coverage by travel time: the planner's kept graph when there is one.

The route planner keeps its built graph beside the store (:mod:`cimic_geo.analytics.road_cache`,
keyed by the data it was built from, the as-of time and the threat bands). Coverage by road time
reads that folder instead of noding a million road segments again; the last graph read stays in
memory (one graph per process, with its snapping index and node tree), so a second coverage run
on unchanged data rebuilds nothing. Coverage at a past time reads the planner's graph of that time
(``<store>.roadgraph.past/``, :func:`~cimic_geo.analytics.road_cache.past_folder`) with the road rows
and bridges in force then, or builds it from them and keeps it there for the next run and the
planner; a road reported later is never in it. At the current time without a kept graph (a store
without a file, changed data) the graph is built and not kept: writing the current folder is the
planner's (with what a one-off CLI route reads).

Coverage has always driven every road both ways (evacuation convoys, as the planner's
``ignore_oneway``): the kept graph knows one-way roads, so the policy ignores them and the
travel times are the same as on a graph built without the one-way flags.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cimic_geo.analytics.road_policy import RoutingPolicy
from cimic_geo.analytics.roadgraph import RoadGraph, build_road_graph
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _

#: The routing policy of coverage by travel time: occupied-side roads excluded, no threat penalty,
#: every road driven both ways.
COVERAGE_POLICY = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=True, ignore_oneway=True)

_LOCK = threading.Lock()
_LAST: dict[tuple[str, str, int | None], RoadGraph] = {}
#: Road columns a graph is built from (as the planner builds it, so a graph coverage keeps is the planner's).
_ROAD_COLUMNS = ["road_class", "speed_kmh", "bridge", "status", "name", "oneway"]


def _remember(ident: tuple[str, str, int | None], graph: RoadGraph) -> None:
    with _LOCK:
        _LAST.clear()  # one graph per process: memory stays flat
        _LAST[ident] = graph


def _kept_graph(store: Any, folder: Path, key: str, *, as_of: Any, layers_as_of: Any, front_line: Any,
                occupied_area: Any, infra: Any, bands_km: tuple[float, ...]) -> RoadGraph | None:
    """The graph kept in ``folder`` under ``key`` (None: none, or not for this data)."""
    from cimic_geo.analytics.road_cache import folder_inode, load_graph, mark_used, saved_key
    from cimic_geo.store.access_version import road_attributes

    if saved_key(folder) != key:
        return None
    ident = (str(folder), key, folder_inode(folder))
    with _LOCK:
        graph = _LAST.get(ident)
    if graph is None:
        graph = load_graph(folder, key, roads=road_attributes(store, as_of=layers_as_of), front_line=front_line,
                           occupied=occupied_area, infrastructure=infra, bands_km=bands_km, as_of=as_of)
        if graph is None:
            return None
        _remember(ident, graph)
    if layers_as_of is not None:
        mark_used(folder)  # the least recently used past graph goes first
    return graph


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
    from cimic_geo.config import load_settings

    bands = tuple(load_settings().bands_km)
    path = getattr(store, "path", None)
    infra = store.read("infrastructure", where={"sector": "bridge"}, columns=["name", "sector", "damage", "road_id"],
                       as_of=layers_as_of)
    folder = key = None
    if path is not None:
        from cimic_geo.store.access_version import access_data_version

        key = graph_key(access_data_version(store), as_of=as_of, bands_km=bands)
        folder = graph_file(path) if layers_as_of is None else past_folder(path, key)
        graph = _kept_graph(store, folder, key, as_of=as_of, layers_as_of=layers_as_of, front_line=front_line,
                            occupied_area=occupied_area, infra=infra, bands_km=bands)
        if graph is not None:
            return graph, COVERAGE_POLICY
    roads = store.read("roads", columns=_ROAD_COLUMNS, as_of=layers_as_of)
    if not len(roads) and layers_as_of is not None:
        from cimic_geo.timefmt import iso

        raise AnalysisError(_("travel-time coverage needs roads; none were in force at {time}").format(
            time=iso(layers_as_of)))
    if not len(roads):
        raise AnalysisError(_("travel-time coverage needs a roads layer; the store has none"))
    graph = build_road_graph(roads, front_line=front_line, occupied=occupied_area, infrastructure=infra,
                             bands_km=bands, as_of=as_of)
    if folder is not None and key is not None and layers_as_of is not None and save_graph(folder, graph, key):
        mark_used(folder)
        _remember((str(folder), key, folder_inode(folder)), graph)
    return graph, COVERAGE_POLICY
