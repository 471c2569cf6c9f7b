"""A one-off CLI route answered from the road graph folder, without DuckDB, pandas or geopandas.

``python -m cimic_geo route`` in a fresh process used to spend most of its time importing pandas
and geopandas, loading DuckDB's spatial extension and reading whole layers to list a few rows.
:func:`fast_route` reads the graph folder kept beside the store
(:mod:`cimic_geo.analytics.road_cache`) and what the full path writes into it for this purpose
(:mod:`cimic_geo.analytics.route_fast_data`), then runs the same place resolution
(:func:`~cimic_geo.analytics.places.resolve_place`), the same router
(:func:`~cimic_geo.analytics.routing.find_routes`, its searches run in plain Python,
:func:`~cimic_geo.analytics.route_fast_search.python_search`, so that scipy is not imported) and
builds the same document
(:mod:`cimic_geo.analytics.route_doc`), evaluating each route on the kept arrays
(:mod:`cimic_geo.analytics.route_fast_eval`): the printed output, text or ``--json``, is the
full path's byte for byte.

It returns None, and the caller takes the full path (:func:`cimic_geo.corridors.route_document`), when:

* an option other than ``--from``, ``--to``, ``--alternatives``, ``--db`` and ``--json`` is
  given: ``--as-of``, ``--avoid-km``, ``--no-penalties`` or ``--ignore-oneway`` (the folder keeps
  the weighted graph of the default policy only);
* the data version kept beside the store file is missing or the file changed since it was kept
  (:func:`cimic_geo.data_stamp.kept_data_version`), or the graph folder is missing,
  has another key (data version, as-of time, threat bands, format) or lacks the route's arrays;
* a settlement is named other than exactly by its name, Ukrainian name or id (other spellings,
  and suggestions for unknown names, come from the full path);
* no route is found, or a place cannot be used (too far from a road, both places on one point):
  the full path explains why.

The store itself is not opened: a store left at an older schema by a program upgrade, which the
full path refuses until it is migrated, is still answered from a folder written before the upgrade
(from data unchanged since).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cimic_geo.analytics.road_cache import folder_inode, graph_file, key_text
from cimic_geo.analytics.road_noding import piece_lines, unique_sorted
from cimic_geo.analytics.road_policy import Connectivity, RoutingPolicy
from cimic_geo.analytics.route_fast_data import PREFIX, Texts
from cimic_geo.analytics.route_fast_search import per_radian, python_search, unit_vectors
from cimic_geo.errors import CimicError

if TYPE_CHECKING:
    from cimic_geo.analytics.routing import CoreParts, CoreSearch

__all__ = ["FastGraph", "FastRoute", "fast_route", "open_fast_graph", "python_search"]

#: Graph arrays a route reads.
_GRAPH = ("edge_u", "edge_v", "edge_seg", "edge_length_km", "edge_minutes", "edge_front_km", "edge_occupied",
          "edge_oneway", "edge_c0", "edge_c1", "coords", "seg_v0", "seg_v1", "seg_length_km", "seg_speed",
          "seg_status_labels", "seg_status_codes", "seg_bounds", "conn_edge_component")
#: Node indices are widened to int64 (sums of two node ids); vertex and row indices are only used
#: to index, which int32 does as well (:func:`~cimic_geo.analytics.road_cache.load_graph` keeps them int32 too).
_WIDEN = ("edge_u", "edge_v")
#: Arrays of the weighted graph over all nodes or node pairs that the router only indexes with or
#: reads one element of: left as they are kept (a map of the file, read where a route goes);
#: the others are widened as :meth:`~cimic_geo.analytics.roadgraph.RoadGraph.weighted` widens a saved policy.
_NARROW = frozenset({"chain", "core_id", "inc_e", "inc_ptr", "ua", "ub", "ue_ab", "ue_ba"})


class _Fallback(Exception):
    """The fast path cannot answer exactly as the full path would: take the full path."""


@dataclass
class FastRoute:
    """The route document and the as-of time as a date-time group (for the text output)."""

    doc: dict[str, Any]
    as_of_dtg: str


class _Labels:
    """Each road row's status (``seg_status`` of the graph), looked up for the rows asked for."""

    def __init__(self, labels: np.ndarray, codes: np.ndarray) -> None:
        self._labels = labels.astype(object)
        self._codes = codes

    def __getitem__(self, rows: Any) -> Any:
        return self._labels[self._codes[rows]]


class _Threat:
    """The part of the threat geometry that snapping uses: the metric projection."""

    def __init__(self, crs: Any, bands_km: tuple[float, ...]) -> None:
        import pyproj

        self.crs = crs
        self.bands_km = bands_km
        self.to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


@dataclass
class FastGraph:
    """The road graph as a route reads it from the folder (the attributes the router, snapping and
    the evaluation use; see :class:`~cimic_geo.analytics.roadgraph.RoadGraph`)."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    bands_km: tuple[float, ...]
    n_nodes: int
    threat: _Threat
    node_lonlat: np.ndarray | None = None  #: lon/lat of every node (a map of the file)
    _snap_index: Any = None
    _row_edges: tuple[np.ndarray, np.ndarray] | None = None
    _weighted: Any = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    #: Read for one route and dropped: no index is built for later requests (:mod:`cimic_geo.analytics.road_snap`).
    one_off = True

    def __post_init__(self) -> None:
        a = self.arrays
        for name in _GRAPH:
            setattr(self, name, a[name])
        self.seg_status = _Labels(a["seg_status_labels"], a["seg_status_codes"])
        self.fast: dict[str, Any] = self.meta["fast"]
        self.texts = {name: Texts(a, name) for name in ("settlement_id", "settlement_name", "settlement_name_uk",
                                                         "road_id", "bad_name", "bridge_wkb", "bridge_id",
                                                         "bridge_name", "bridge_road_id", "shelter_wkb",
                                                         "shelter_record", "health_wkb", "health_record",
                                                         "threat_wkb")}

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    def row_bounds(self) -> np.ndarray:
        return self.seg_bounds

    def edge_geoms(self, edges: np.ndarray) -> np.ndarray:
        edges = np.asarray(edges, dtype=np.int64)
        return piece_lines(self.coords, self.edge_c0[edges], self.edge_c1[edges])

    def snap_edges(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from cimic_geo.analytics.road_snap import snap_edges

        return snap_edges(self, lon, lat)  # type: ignore[arg-type]

    @property
    def default_policy(self) -> RoutingPolicy:
        d = self.meta["policies"][0]
        return RoutingPolicy(**{**d, "penalties": None if d["penalties"] is None else tuple(d["penalties"])})

    def weighted(self, policy: RoutingPolicy) -> Any:
        """The saved weighted graph of the default policy (another policy: the full path)."""
        if policy != self.default_policy:
            raise _Fallback
        if self._weighted is None:
            from cimic_geo.analytics.road_weights import WeightedGraph

            parts = {k[3:]: v for k, v in self.arrays.items() if k.startswith("w0_")}
            self._weighted = WeightedGraph.from_arrays(
                {k: v.astype(np.int64) if v.dtype == np.int32 and k not in _NARROW else v for k, v in parts.items()})
        return self._weighted

    def core_search(self, policy: RoutingPolicy) -> Callable[[CoreParts], CoreSearch]:
        """``core_search`` of :func:`~cimic_geo.analytics.routing.find_routes`: the plain-Python
        search (:func:`python_search`), A* with the core nodes' positions."""
        w = self.weighted(policy)
        if self.node_lonlat is None:
            return python_search
        points = unit_vectors(self.node_lonlat[w.core_nodes])
        k = per_radian(w.core_arrays, points)  # the re-weighted cores' costs are no lower
        return lambda parts: python_search(parts, points=points, k=k)

    def zone_mask(self, policy: RoutingPolicy) -> np.ndarray:
        raise _Fallback  # the avoided zone: only with --avoid-km, which the full path answers

    def connectivity(self) -> Connectivity:
        ec = self.conn_edge_component
        return Connectivity(int(self.meta["components"]), float(self.meta["largest_share"]), ec,
                            np.flatnonzero(ec > 0))

    def find_settlement(self, text: str) -> tuple[str, float, float, str]:
        """``(name, lon, lat, id)`` of the settlement whose name, Ukrainian name or id is exactly
        ``text`` (the most populous of several, then the first in the store's order), as
        :func:`~cimic_geo.analytics.places.find_settlement` finds it; anything else: the full path."""
        t = self.texts
        rows = unique_sorted(np.concatenate([t["settlement_name"].find(text), t["settlement_id"].find(text),
                                         t["settlement_name_uk"].find(text)]))
        if not len(rows):
            raise _Fallback
        pop = self.arrays[f"{PREFIX}settlement_population"]
        best = min(rows.tolist(), key=lambda r: (bool(np.isnan(pop[r])), -float(np.nan_to_num(pop[r])), r))
        lon, lat = (float(v) for v in self.arrays[f"{PREFIX}settlement_lonlat"][best])
        name = t["settlement_name"][best]
        if name is None or not (np.isfinite(lon) and np.isfinite(lat)):
            raise _Fallback  # no name to show, or no point: as the full path words it
        return name, lon, lat, str(t["settlement_id"][best])

    def route_road_ids(self, route: Any) -> list[str]:
        """:func:`~cimic_geo.analytics.routing.route_road_ids` from the kept ids."""
        rows = np.asarray(self.edge_seg[route.edges])
        if len(rows):
            rows = rows[np.r_[True, rows[1:] != rows[:-1]]]
        return ["None" if b is None else b.decode("utf-8") for b in self.texts["road_id"].raw_many(rows)]


def open_fast_graph(db: str | os.PathLike | None) -> FastGraph | None:
    """The graph folder of the store at ``db`` when it is current and has the route's arrays (else None)."""
    from cimic_geo.config import load_settings, resolve_db_path
    from cimic_geo.data_stamp import kept_data_version
    from cimic_geo.geo import metric_crs

    path = resolve_db_path(db)
    version = kept_data_version(path)
    if version is None:
        return None
    folder = graph_file(path)
    inode = folder_inode(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        fast = meta.get("fast") if isinstance(meta, dict) else None
    except (OSError, ValueError):
        return None
    bands = tuple(load_settings().bands_km)
    if not isinstance(fast, dict) or meta.get("key") != key_text(version, fast.get("as_of_key"), bands):
        return None
    names = [*_GRAPH, *meta.get("fast_arrays", []), *(n for n in meta.get("arrays", []) if n.startswith("w0_"))]
    try:
        arrays = {n: np.asarray(np.load(folder / f"{n}.npy", mmap_mode="c", allow_pickle=False)) for n in names}
        node_lonlat = np.load(folder / "node_lonlat.npy", mmap_mode="r")
        n_nodes = int(node_lonlat.shape[0])
    except (OSError, ValueError, EOFError):
        return None
    if folder_inode(folder) != inode or inode is None:  # replaced by a writer while reading
        return None
    arrays.update({n: arrays[n].astype(np.int64) for n in _WIDEN})
    bounds = meta.get("bounds")
    if not bounds or len(bounds) != 4:
        return None
    crs = metric_crs(tuple(float(b) for b in bounds))
    try:
        return FastGraph(arrays=arrays, meta=meta, bands_km=bands, n_nodes=n_nodes, threat=_Threat(crs, bands),
                         node_lonlat=node_lonlat)
    except (KeyError, ValueError, IndexError):
        return None


def fast_route(db: str | os.PathLike | None, origin: str, destination: str, *, avoid_km: float | None = None,
               penalise: bool = True, alternatives: int = 3, ignore_oneway: bool = False,
               as_of: Any = None) -> FastRoute | None:
    """The route document as :func:`cimic_geo.corridors.route_document` gives it, from the graph
    folder; None when the fast path cannot answer (see the module docstring)."""
    if as_of not in (None, "") or avoid_km is not None or not penalise or ignore_oneway:
        return None
    if not 0 <= int(alternatives) <= 3:
        return None
    g = open_fast_graph(db)
    if g is None:
        return None
    from cimic_geo.analytics.route_doc import SNAP_WARN_KM, found_document, place_notes, policy_document
    from cimic_geo.analytics.route_fast_eval import evaluate_route
    from cimic_geo.analytics.routing import find_routes, resolve_place

    try:
        o = resolve_place(origin, graph=g, find=g.find_settlement)  # type: ignore[arg-type]
        d = resolve_place(destination, graph=g, find=g.find_settlement)  # type: ignore[arg-type]
        policy = g.default_policy
        routes = find_routes(g, o.point, d.point, policy=policy, alternatives=int(alternatives),  # type: ignore[arg-type]
                             core_search=g.core_search(policy))
        if not routes:
            return None
        doc = found_document(
            o, d, routes, policy=policy_document(policy, g.fast["band_labels"]), as_of=g.fast["as_of_iso"],
            warnings=place_notes(o, d, False, False, warn_km=SNAP_WARN_KM), network=g.connectivity().as_dict(),
            road_ids=g.route_road_ids, evaluate=lambda r, ids: evaluate_route(g, r, ids))
    except (_Fallback, CimicError):
        return None
    return FastRoute(doc=doc, as_of_dtg=str(g.fast["as_of_dtg"]))
