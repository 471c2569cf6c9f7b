"""The road graph for coverage by travel time: the planner's kept graph when there is one.

The route planner keeps its built graph beside the store (:mod:`cimic_geo.analytics.road_cache`,
keyed by the data it was built from, the as-of time and the threat bands). Coverage by road time
reads that folder instead of noding a million road segments again; the last graph read stays in
memory (one graph per process, with its snapping index and node tree), so a second coverage run
on unchanged data rebuilds nothing. Without a kept graph (another as-of time, bridges read at an
earlier time, a store without a file, changed data) the graph is built as before and not kept.

Coverage has always driven every road both ways (evacuation convoys, as the planner's
``ignore_oneway``): the kept graph knows one-way roads, so the policy ignores them and the
travel times are the same as on a graph built without the one-way flags.
"""

from __future__ import annotations

import threading
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


def _kept_graph(store: Any, as_of: Any, front_line: Any, occupied_area: Any) -> RoadGraph | None:
    """The planner's graph kept beside ``store`` for ``as_of`` (None: none, or not for this data)."""
    path = getattr(store, "path", None)
    if path is None:
        return None
    from cimic_geo.analytics.road_cache import folder_inode, graph_file, graph_key, load_graph, saved_key
    from cimic_geo.config import load_settings
    from cimic_geo.store.access_version import access_data_version, road_attributes

    folder = graph_file(path)
    key = graph_key(access_data_version(store), as_of=as_of, bands_km=load_settings().bands_km)
    if saved_key(folder) != key:
        return None
    ident = (str(folder), key, folder_inode(folder))
    with _LOCK:
        graph = _LAST.get(ident)
        if graph is not None:
            return graph
    infra = store.read("infrastructure", where={"sector": "bridge"}, columns=["name", "sector", "damage", "road_id"])
    graph = load_graph(folder, key, roads=road_attributes(store), front_line=front_line, occupied=occupied_area,
                       infrastructure=infra, bands_km=load_settings().bands_km, as_of=as_of)
    if graph is not None:
        with _LOCK:
            _LAST.clear()  # one graph per process: memory stays flat
            _LAST[ident] = graph
    return graph


def coverage_road_graph(store: Any, *, as_of: Any, front_line: Any, occupied_area: Any,
                        layers_as_of: Any = None) -> tuple[RoadGraph, RoutingPolicy]:
    """The road graph at ``as_of`` and the routing policy coverage by travel time uses.

    ``layers_as_of``: the time the bridges are read at (None: their current state, as the
    planner's kept graph has them; another time builds the graph from the bridges then).

    Raises
    ------
    AnalysisError
        The store has no roads layer.
    """
    graph = _kept_graph(store, as_of, front_line, occupied_area) if layers_as_of is None else None
    if graph is None:
        roads = store.read("roads", columns=["road_class", "speed_kmh", "bridge", "status", "name"])
        if not len(roads):
            raise AnalysisError(_("travel-time coverage needs a roads layer; the store has none"))
        infra = store.read("infrastructure", where={"sector": "bridge"},
                           columns=["name", "sector", "damage", "road_id"], as_of=layers_as_of)
        graph = build_road_graph(roads, front_line=front_line, occupied=occupied_area, infrastructure=infra,
                                 as_of=as_of)
    return graph, COVERAGE_POLICY
