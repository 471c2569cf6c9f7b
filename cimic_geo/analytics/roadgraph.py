"""Road graph for access analytics: the routable graph of a roads layer, its weights and connectivity.

The graph (:class:`RoadGraph`) is built by :mod:`cimic_geo.analytics.road_build` (re-exported here)
from the ``roads`` layer, whatever its source (GeoJSON, GeoPackage, Shapefile,
OpenStreetMap): lines are cut at every vertex they share with another line
(:func:`cimic_geo.analytics.road_noding.node_lines`), so a junction exists wherever roads share a
vertex — at line ends or in the middle of lines — and lines that merely cross without a shared
vertex (bridges, tunnels) are not joined. Nodes are the junctions, edges the pieces between them,
weighted by travel time in minutes (geodesic length / speed; damaged roads slowed down). One-way
roads (``oneway`` true: drivable in the line's direction only) are respected unless the policy
ignores one-way (convoy/emergency). Impassable roads and roads carrying a destroyed bridge
(``infrastructure`` rows with sector ``bridge``, damage ``destroyed`` and a ``road_id``) are left
out. Every edge knows its distance to the front line in force at the as-of time and whether it
lies on the occupied side, so a :class:`RoutingPolicy` can exclude edges near the front line (any
distance: the avoided area is not capped) or penalise them by threat band.

**The danger-zone rule.** With ``zone_exit`` the avoided zone's roads are not removed but cost
:data:`ZONE_EXIT_FACTOR` × their travel time: a start or end inside the zone leaves or reaches it
by the way with the least time in the zone. Route, alternatives, time to safety and cut-off
settlements all use this one rule (:mod:`cimic_geo.analytics.routing`).

Everything is vectorised (numpy, shapely 2, pyproj); the weighted graphs are CSR matrices for
:mod:`scipy.sparse.csgraph` (:mod:`cimic_geo.analytics.road_weights`), kept per policy in a small
least-recently-used cache so memory stays flat however many avoid distances users try.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from cimic_geo.analytics.bands import EDGE_TOLERANCE_KM
from cimic_geo.analytics.road_noding import piece_lines, row_lines
from cimic_geo.analytics.road_policy import (
    DAMAGED_TIME_FACTOR,
    DEFAULT_PENALTIES,
    NO_THREAT,
    WEIGHTED_CACHE_SIZE,
    ZONE_EXIT_FACTOR,
    Connectivity,
    RoutingPolicy,
)
from cimic_geo.analytics.road_threat import ThreatGeometry, edge_front_km, project, union_geometry
from cimic_geo.analytics.road_weights import MIN_COST, WeightedGraph
from cimic_geo.errors import AnalysisError

__all__ = ["DAMAGED_TIME_FACTOR", "DEFAULT_PENALTIES", "MIN_COST", "NO_THREAT", "WEIGHTED_CACHE_SIZE",
           "ZONE_EXIT_FACTOR", "Connectivity", "RoadGraph", "RoutingPolicy", "ThreatGeometry", "WeightedGraph",
           "build_road_graph", "connectivity_note", "destroyed_bridge_rows", "project", "union_geometry"]

#: Up to this many road ids are looked up without building an index of every id (:meth:`RoadGraph.road_rows`).
FEW_ROAD_IDS = 5000


@dataclass
class RoadGraph:
    """A routable road network at one as-of time. Build with :func:`build_road_graph`.

    Edge arrays (``edge_*``) cover the passable pieces only; ``edge_seg`` points back to the row
    of the roads frame, ``edge_c0``/``edge_c1`` to the piece's first and last vertex in
    ``coords``. Node coordinates are lon/lat (``node_lonlat``) and metric (``node_xy``, in ``crs``).
    ``edge_oneway`` marks pieces drivable only from ``edge_u`` to ``edge_v``. ``road_table`` holds the
    road rows' attributes (``id``, ``name``, ``status``, ...; with or without geometry), ``seg_v0``/
    ``seg_v1`` each row's first and last vertex in ``coords``: :attr:`roads` rebuilds the geometry
    from them on first use, so a graph read from its file needs no geometry from the store.
    """

    node_lonlat: np.ndarray
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_seg: np.ndarray
    edge_length_km: np.ndarray
    edge_minutes: np.ndarray
    edge_front_km: np.ndarray
    edge_occupied: np.ndarray
    edge_oneway: np.ndarray
    edge_c0: np.ndarray
    edge_c1: np.ndarray
    coords: np.ndarray
    road_table: pd.DataFrame
    seg_v0: np.ndarray
    seg_v1: np.ndarray
    seg_length_km: np.ndarray
    seg_speed: np.ndarray
    seg_status: np.ndarray
    seg_bounds: np.ndarray | None  # None: computed from coords on first use (row_bounds)
    destroyed_bridges: gpd.GeoDataFrame
    threat: ThreatGeometry
    as_of: pd.Timestamp | None = None
    removed_impassable: int = 0
    removed_bridges: int = 0
    front_cap_km: float = np.inf
    _snap_index: Any = None  # road_snap_index.SnapIndex, built on first use
    _row_edges: tuple[np.ndarray, np.ndarray] | None = None
    _weighted: OrderedDict[RoutingPolicy, WeightedGraph] = field(default_factory=OrderedDict)
    # weighted graphs saved with a kept graph, read from their files when first asked (None: rebuild)
    _saved_weighted: dict[RoutingPolicy, Any] = field(default_factory=dict)
    _connectivity: Connectivity | None = None
    _id_index: pd.Index | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- sizes ----------------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.node_lonlat)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    @property
    def crs(self) -> pyproj.CRS:
        return self.threat.crs

    @property
    def bands_km(self) -> tuple[float, ...]:
        return self.threat.bands_km

    @property
    def roads(self) -> gpd.GeoDataFrame:
        """The road rows with their geometry (rebuilt from ``coords`` on first use when the table has none)."""
        with self._lock:
            if not isinstance(self.road_table, gpd.GeoDataFrame):
                geoms = self.seg_geoms(np.arange(len(self.road_table)))
                self.road_table = gpd.GeoDataFrame(self.road_table, geometry=geoms, crs="EPSG:4326")
            return self.road_table

    def drop_road_lines(self) -> None:
        """Let go of the road rows' geometry (a national layer: a million lines, hundreds of MB):
        :attr:`roads` rebuilds it from ``coords`` when asked again, as a graph read from its folder does."""
        with self._lock:
            if isinstance(self.road_table, gpd.GeoDataFrame):
                self.road_table = pd.DataFrame(self.road_table.drop(columns=self.road_table.geometry.name))

    def seg_geoms(self, rows: np.ndarray) -> np.ndarray:
        """Lon/lat LineStrings of road rows (from ``coords``; repeated vertices dropped)."""
        return row_lines(self.coords, self.seg_v0, self.seg_v1, rows)

    def row_bounds(self) -> np.ndarray:
        """(minlon, minlat, maxlon, maxlat) of every road row (from its vertices; computed once)."""
        with self._lock:
            if self.seg_bounds is None:
                x, y, v0 = self.coords[:, 0].copy(), self.coords[:, 1].copy(), self.seg_v0
                self.seg_bounds = (np.column_stack([np.minimum.reduceat(x, v0), np.minimum.reduceat(y, v0),
                                                    np.maximum.reduceat(x, v0), np.maximum.reduceat(y, v0)])
                                   if len(v0) else np.zeros((0, 4)))
            return self.seg_bounds

    def road_rows(self, road_ids: Sequence[str]) -> np.ndarray:
        """Row index in :attr:`roads` of each road id (AnalysisError naming unknown ids).

        A few ids (one route) are looked up with a vectorised ``isin`` over the id column; many
        ids, or ids not found that way, through an index of every id built once."""
        wanted = [str(r) for r in road_ids]
        if self._id_index is None and len(wanted) <= FEW_ROAD_IDS:
            ids = self.road_table["id"]
            hit = np.flatnonzero(ids.isin(wanted).to_numpy())
            found = {str(v): int(i) for i, v in zip(hit, ids.iloc[hit], strict=True)}
            if len(found) == len(hit) and all(w in found for w in wanted):
                return np.array([found[w] for w in wanted], dtype=np.intp)
        with self._lock:
            if self._id_index is None:
                self._id_index = pd.Index(self.road_table["id"].astype(str))
        rows = self._id_index.get_indexer(wanted)
        if (rows < 0).any():
            bad = [str(r) for r, i in zip(road_ids, rows, strict=True) if i < 0][:5]
            raise AnalysisError(f"unknown road ids: {bad}")
        return rows

    @property
    def edge_band(self) -> np.ndarray:
        return self.threat.band_index(self.edge_front_km)

    def edge_geoms(self, edges: np.ndarray) -> np.ndarray:
        """Lon/lat LineStrings of graph edges (pieces, from ``edge_u`` to ``edge_v``)."""
        edges = np.asarray(edges, dtype=np.int64)
        return piece_lines(self.coords, self.edge_c0[edges], self.edge_c1[edges])

    def summary(self) -> dict[str, Any]:
        """Sizes, for logs and the CLI."""
        return {"nodes": self.n_nodes, "edges": self.n_edges, "segments": len(self.road_table),
                "one_way_edges": int(self.edge_oneway.sum()),
                "removed_impassable": self.removed_impassable, "removed_destroyed_bridges": self.removed_bridges,
                "as_of": None if self.as_of is None else self.as_of.isoformat()}

    # -- connectivity ---------------------------------------------------------------------------
    def connectivity(self) -> Connectivity:
        """Connected components of the passable network (one-way ignored), largest first."""
        with self._lock:
            if self._connectivity is None:
                n = self.n_nodes
                adj = sp.coo_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)), shape=(n, n))
                _, label = connected_components(adj, directed=False)
                comp = label[self.edge_u] if self.n_edges else np.zeros(0, np.int64)
                length = np.bincount(comp, weights=self.edge_length_km) if self.n_edges else np.zeros(0)
                used = np.flatnonzero(length > 0) if len(length) else np.zeros(0, np.int64)
                if not len(used):
                    self._connectivity = Connectivity(0, 0.0, comp, np.zeros(0, np.int64))
                else:
                    rank = np.empty(len(length), dtype=np.int64)
                    rank[used[np.argsort(-length[used], kind="stable")]] = np.arange(len(used))
                    ec = rank[comp]
                    self._connectivity = Connectivity(len(used), float(length.max() / length.sum()), ec,
                                                      np.flatnonzero(ec > 0))
            return self._connectivity

    # -- snapping -------------------------------------------------------------------------------
    def snap_edges(self, lon: Iterable[float] | float, lat: Iterable[float] | float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nearest point on the nearest passable edge of each lon/lat point (metric CRS):
        ``(edge, fraction along the edge from edge_u, distance_km)``
        (:func:`cimic_geo.analytics.road_snap.snap_edges`)."""
        from cimic_geo.analytics.road_snap import snap_edges

        return snap_edges(self, lon, lat)

    def snap(self, lon: Iterable[float] | float, lat: Iterable[float] | float) -> tuple[np.ndarray, np.ndarray]:
        """For each lon/lat point, the node where it joins the network: the nearer end of the
        nearest passable edge; ``(node, distance_km to that edge)``."""
        edge, frac, dist = self.snap_edges(lon, lat)
        node = np.where(frac <= 0.5, self.edge_u[edge], self.edge_v[edge])
        return node, dist

    # -- weights --------------------------------------------------------------------------------
    def zone_mask(self, policy: RoutingPolicy) -> np.ndarray:
        """Edges inside the policy's avoided zone (closer than ``avoid_km`` to the front line)."""
        if policy.avoid_km is None or policy.avoid_km <= 0:
            return np.zeros(self.n_edges, dtype=bool)
        self._ensure_front_cap(float(policy.avoid_km))
        return self.edge_front_km <= float(policy.avoid_km) + EDGE_TOLERANCE_KM

    def edge_cost(self, policy: RoutingPolicy) -> np.ndarray:
        """Cost in minutes of each edge under ``policy`` (inf = excluded)."""
        cost = self.edge_minutes.astype(float).copy()
        if policy.penalties is not None:
            pens = np.asarray(policy.penalties, float)
            if len(pens) != len(self.bands_km):
                raise AnalysisError(
                    f"{len(pens)} band penalties given for {len(self.bands_km)} threat bands {list(self.bands_km)}"
                )
            factor = np.concatenate([pens, [1.0]])[self.edge_band]
            cost *= factor
        zone = self.zone_mask(policy)
        if policy.zone_exit:
            cost[zone] *= ZONE_EXIT_FACTOR
        else:
            cost[zone] = np.inf
        if policy.exclude_occupied:
            cost[self.edge_occupied] = np.inf
        return cost

    def _ensure_front_cap(self, km: float) -> None:
        """Make ``edge_front_km`` exact up to at least ``km`` (distances beyond the cap are inf)."""
        with self._lock:
            if km < self.front_cap_km:
                return
            cap = max(2 * km, km + 50.0)
            far = np.flatnonzero(~np.isfinite(self.edge_front_km))
            if len(far) and self.threat.has_front:
                self.edge_front_km[far] = edge_front_km(
                    self.threat, self.node_lonlat, self.edge_u[far], self.edge_v[far], self.edge_length_km[far],
                    lambda i: self.edge_geoms(far[i]), cap)
            self.front_cap_km = cap

    def weighted(self, policy: RoutingPolicy = NO_THREAT) -> WeightedGraph:
        """The CSR graph for ``policy`` (built once, kept in a small LRU cache; thread-safe)."""
        with self._lock:
            w = self._weighted.get(policy)
            if w is not None:
                self._weighted.move_to_end(policy)
                return w
            read = self._saved_weighted.pop(policy, None)
            w = read() if read is not None else None
            if w is None:
                backward = None if policy.ignore_oneway else ~self.edge_oneway
                w = WeightedGraph(self.n_nodes, self.edge_u, self.edge_v, self.edge_cost(policy), None, backward)
            self._weighted[policy] = w
            while len(self._weighted) > WEIGHTED_CACHE_SIZE:
                self._weighted.popitem(last=False)
        return w


# The build lives in road_build (imported at the end: it imports this module's RoadGraph only when it
# builds one, so either module may be imported first).
from cimic_geo.analytics.road_build import build_road_graph, connectivity_note, destroyed_bridge_rows  # noqa: E402
