"""Road graph for access analytics (DESIGN §6 "Access", issue 6).

The graph is built from the ``roads`` layer: nodes are the segments' end points (rounded to
``precision`` decimals; the scenario generator and well-formed GIS data give identical end points
at junctions), edges are road segments weighted by travel time in minutes (geodesic length /
speed; damaged segments slowed down). Impassable segments and segments carrying a destroyed
bridge (``infrastructure`` rows with sector ``bridge``, damage ``destroyed`` and a ``road_id``)
are left out. Every edge knows its distance to the front line in force at the as-of time and
whether it lies on the occupied side, so a :class:`RoutingPolicy` can exclude segments near the
front line (any distance: there is no cap on the avoided area) or penalise them by threat band.

Everything is vectorised (numpy, shapely 2, pyproj) and the weighted graph is a CSR matrix for
:mod:`scipy.sparse.csgraph`; building a national graph (~1M segments) takes seconds. Build once
per as-of time and reuse: the weighted matrices are cached on the graph per policy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.bands import (
    DEFAULT_BANDS_KM,
    EDGE_TOLERANCE_KM,
    check_bands,
    front_line_from_occupied,
    prepare_front,
)
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import GEOD, metric_crs

#: Travel-time multiplier for ``damaged`` road segments (half speed).
DAMAGED_TIME_FACTOR = 2.0
#: Default cost multipliers for segments in each threat band (0-5, 5-20, 20-40 km).
DEFAULT_PENALTIES = (10.0, 3.0, 1.5)
#: Smallest edge cost in minutes (csgraph needs strictly positive weights).
_MIN_COST = 1e-9


@dataclass(frozen=True)
class RoutingPolicy:
    """How the threat shapes routing.

    Parameters
    ----------
    avoid_km : leave out segments closer than this to the front line (None: exclude nothing).
        Any distance is allowed; the avoided area is not capped.
    penalties : travel-time multiplier for segments in each threat band (same length as the
        graph's bands; None or all 1: no penalty). Only used for segments not excluded.
    exclude_occupied : leave out segments on the occupied side of the front line
    """

    avoid_km: float | None = None
    penalties: tuple[float, ...] | None = DEFAULT_PENALTIES
    exclude_occupied: bool = True

    def __post_init__(self) -> None:
        if self.avoid_km is not None and not (np.isfinite(self.avoid_km) and self.avoid_km >= 0):
            raise AnalysisError(f"avoid distance must be a number of km >= 0, got {self.avoid_km!r}")
        if self.penalties is not None:
            pens = tuple(float(p) for p in self.penalties)
            if any(not (np.isfinite(p) and p >= 1) for p in pens):
                raise AnalysisError(f"band penalties must be factors >= 1, got {list(self.penalties)}")
            object.__setattr__(self, "penalties", pens)


#: No threat handling at all (pure fastest route on the passable network).
NO_THREAT = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=False)


class ThreatGeometry:
    """The front line and occupied area in force at one time, for many distance queries.

    A thin layer over :class:`cimic_geo.analytics.bands.Front` (geodesic distances, band
    convention: outer edges inclusive) working in the road graph's metric CRS.
    """

    def __init__(self, front_line: BaseGeometry | None, occupied: BaseGeometry | None, *, crs: pyproj.CRS,
                 bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> None:
        self.bands_km = check_bands(tuple(bands_km))
        self.crs = crs
        self.to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self.front_line = front_line if front_line is not None and not front_line.is_empty else None
        self.occupied = occupied if occupied is not None and not occupied.is_empty else None
        self.front = prepare_front(self.front_line, self.occupied, crs=crs)
        self.front_line_used = self.front_line
        if self.front_line_used is None and self.occupied is not None:
            self.front_line_used = front_line_from_occupied(self.occupied)

    @property
    def has_front(self) -> bool:
        return not self.front.empty

    def distance_km(self, geoms: np.ndarray, *, exact_near_km: Sequence[float] = (), exact: bool = False) -> np.ndarray:
        """Geodesic distance (km) of lon/lat geometries to the front line; inf when there is none."""
        geoms = np.asarray(geoms, dtype=object)
        if not self.has_front or not len(geoms):
            return np.full(len(geoms), np.inf)
        d = self.front.distance_km(geoms, exact_near_km=exact_near_km, exact=exact)
        return np.where(np.isnan(d), np.inf, d)

    def points_distance_km(self, lon: np.ndarray, lat: np.ndarray, *, exact_near_km: Sequence[float] | None = None
                           ) -> np.ndarray:
        """Distance (km) of lon/lat points to the front line (exact near the band edges)."""
        pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
        return self.distance_km(pts, exact_near_km=self.bands_km if exact_near_km is None else exact_near_km)

    def occupied_mask(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """True for lon/lat points inside the occupied area."""
        lon = np.asarray(lon, float)
        if self.front.occupied_geom is None or self.front.occupied_geom.is_empty:
            return np.zeros(len(lon), dtype=bool)
        return np.asarray(shapely.contains_xy(self.front.occupied_geom, lon, np.asarray(lat, float)), dtype=bool)

    def lower_bound_km(self, lon: np.ndarray, lat: np.ndarray, *, upper_km: float) -> np.ndarray:
        """A cheap lower bound (km) of each lon/lat point's distance to the front line; inf when the
        bound exceeds ``upper_km``.

        KD-tree on the front line densified to 0.5 km, in a lon/lat plane scaled by the smallest
        length of a degree over the extent, with 5 % and one vertex spacing of margin.
        """
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        out = np.full(len(lon), np.inf)
        if not self.has_front or not len(lon):
            return out
        seg = self.front.segments
        spacing_km = 0.5
        _, _, seg_len = GEOD.inv(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3])
        k = np.maximum(np.ceil(np.asarray(seg_len) / (spacing_km * 1000.0)).astype(int), 1)
        rep = np.repeat(np.arange(len(seg)), k)
        frac = (np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(k, k)
        px = np.append(seg[rep, 0] + (seg[rep, 2] - seg[rep, 0]) * frac, seg[-1, 2])
        py = np.append(seg[rep, 1] + (seg[rep, 3] - seg[rep, 1]) * frac, seg[-1, 3])
        max_lat = float(np.abs(np.concatenate([py, lat])).max())
        kx, ky = 111.32 * max(np.cos(np.radians(max_lat)), 0.05), 110.57  # km per degree, lower bounds
        tree = cKDTree(np.column_stack([px * kx, py * ky]))
        bound = (upper_km + 2 * spacing_km) / 0.95
        d, _ = tree.query(np.column_stack([lon * kx, lat * ky]), distance_upper_bound=bound)
        lower = np.maximum(np.asarray(d) * 0.95 - spacing_km, 0.0)
        out[np.isfinite(d)] = lower[np.isfinite(d)]
        return out

    def band_index(self, dist_km: np.ndarray) -> np.ndarray:
        """Index of each distance's band (0 = innermost; ``len(bands)`` = beyond), outer edges inclusive
        as in :func:`cimic_geo.analytics.bands.classify_bands`."""
        edges = np.asarray(self.bands_km) + EDGE_TOLERANCE_KM
        return np.searchsorted(edges, np.asarray(dist_km, float), side="left")


def project(geom: BaseGeometry, transformer: pyproj.Transformer) -> BaseGeometry:
    """Transform a shapely geometry (or array of geometries) with a pyproj transformer."""
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def union_geometry(frame: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None) -> BaseGeometry | None:
    """One geometry from a frame/series of rows (e.g. the front-line rows in force); None when empty."""
    if frame is None:
        return None
    if isinstance(frame, BaseGeometry):
        return frame
    geoms = frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else frame.values
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return None
    return shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]


class WeightedGraph:
    """The road graph weighted for one policy, in two forms.

    * the **full graph**: a symmetric CSR over all nodes (:attr:`csr`; built on first use), for
      multi-source searches such as time to safety;
    * the **core graph**: chains of degree-2 nodes contracted into single edges between junctions
      (nodes of degree ≠ 2). Real road networks cut into segments are mostly such chains (national
      scenario: 956k of 981k nodes), so point-to-point routing searches a graph ~40× smaller;
      :func:`cimic_geo.analytics.access.find_routes` walks the chains back into segments.

    Parallel segments between the same two nodes keep the cheapest; parallel chains between the
    same two junctions are all kept (the core CSR holds the cheapest of each pair, recomputed when
    the alternatives' penalty method changes chain costs).
    """

    def __init__(self, n_nodes: int, edge_u: np.ndarray, edge_v: np.ndarray, cost: np.ndarray) -> None:
        self.n_nodes = n_nodes
        self.cost = cost
        e = np.flatnonzero(np.isfinite(cost))
        a = np.minimum(edge_u[e], edge_v[e])
        b = np.maximum(edge_u[e], edge_v[e])
        c = np.maximum(cost[e], _MIN_COST)
        order = np.lexsort((c, b, a))
        a, b, c, e = a[order], b[order], c[order], e[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        #: unique undirected edges: graph edge index, end nodes, cost
        self.ue, self.ua, self.ub, self.uc = e[first], a[first], b[first], c[first]
        k = len(self.ue)
        # node -> incident unique edges
        inc_node = np.concatenate([self.ua, self.ub])
        inc_edge = np.concatenate([np.arange(k), np.arange(k)])
        order = np.argsort(inc_node, kind="stable")
        self.inc_e = inc_edge[order]
        self.inc_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(inc_node, minlength=n_nodes), out=self.inc_ptr[1:])
        deg = np.diff(self.inc_ptr)
        self.junction = deg != 2
        # chains: unique edges linked through degree-2 nodes
        inner = np.flatnonzero(~self.junction & (deg == 2))
        p = self.inc_ptr[inner]
        link = sp.coo_matrix((np.ones(len(inner)), (self.inc_e[p], self.inc_e[p + 1])), shape=(k, k))
        n_chain, self.chain = connected_components(link, directed=False) if k else (0, np.zeros(0, np.int64))
        self.chain_cost = np.bincount(self.chain, weights=self.uc, minlength=n_chain)
        # each chain's junction ends (pure cycles of degree-2 nodes have none)
        ends_node = np.concatenate([self.ua, self.ub])
        ends_chain = np.concatenate([self.chain, self.chain])
        at_j = self.junction[ends_node]
        ends_node, ends_chain = ends_node[at_j], ends_chain[at_j]
        order = np.argsort(ends_chain, kind="stable")
        ends_node, ends_chain = ends_node[order], ends_chain[order]
        cnt = np.bincount(ends_chain, minlength=n_chain)
        good = np.flatnonzero(cnt == 2)
        startpos = np.concatenate([[0], np.cumsum(cnt)[:-1]])[good]
        j1, j2 = ends_node[startpos], ends_node[startpos + 1]
        keep = j1 != j2  # a chain from a junction back to itself never shortens a route
        self.core_chains = good[keep]
        j1, j2 = j1[keep], j2[keep]
        # core nodes: junctions; core edges: node pairs, each with its chains
        self.core_nodes = np.flatnonzero(self.junction & (deg > 0))
        self.core_id = np.full(n_nodes, -1, dtype=np.int64)
        self.core_id[self.core_nodes] = np.arange(len(self.core_nodes))
        nc = len(self.core_nodes)
        ca, cb = self.core_id[np.minimum(j1, j2)], self.core_id[np.maximum(j1, j2)]
        ca, cb = np.minimum(ca, cb), np.maximum(ca, cb)
        order = np.lexsort((cb, ca))
        self.core_chains, ca, cb = self.core_chains[order], ca[order], cb[order]
        newpair = np.ones(len(ca), dtype=bool)
        newpair[1:] = (ca[1:] != ca[:-1]) | (cb[1:] != cb[:-1])
        self.pair_start = np.flatnonzero(newpair)
        self.pair_a, self.pair_b = ca[self.pair_start], cb[self.pair_start]
        self.pair_of_chainpos = np.cumsum(newpair) - 1
        self.pair_keys = self.pair_a * max(nc, 1) + self.pair_b
        src = np.concatenate([self.pair_a, self.pair_b])
        dst = np.concatenate([self.pair_b, self.pair_a])
        pp = np.concatenate([np.arange(len(self.pair_a)), np.arange(len(self.pair_a))])
        order = np.lexsort((dst, src))
        src, dst, self.core_pos_pair = src[order], dst[order], pp[order]
        self.core_indptr = np.zeros(nc + 1, dtype=np.int32)
        np.cumsum(np.bincount(src, minlength=nc), out=self.core_indptr[1:])
        self.core_indices = dst.astype(np.int32)
        self.core_csr, self.pair_chain = self.core_matrix(self.chain_cost)
        self._full: tuple[sp.csr_matrix, np.ndarray, np.ndarray] | None = None

    def core_matrix(self, chain_cost: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """Core CSR for the given chain costs and the chain used for each junction pair."""
        cc = chain_cost[self.core_chains]
        if not len(cc):
            return sp.csr_matrix((len(self.core_nodes), len(self.core_nodes))), np.zeros(0, np.int64)
        order = np.lexsort((cc, self.pair_of_chainpos))
        first = np.ones(len(order), dtype=bool)
        first[1:] = self.pair_of_chainpos[order][1:] != self.pair_of_chainpos[order][:-1]
        best_pos = order[first]  # one per pair, in pair order
        pair_cost = cc[best_pos]
        nc = len(self.core_nodes)
        m = sp.csr_matrix((pair_cost[self.core_pos_pair], self.core_indices, self.core_indptr), shape=(nc, nc))
        return m, self.core_chains[best_pos]

    def pair_index(self, x: int, y: int) -> int:
        """Index of the core pair joining core nodes ``x`` and ``y``."""
        a, b = (x, y) if x < y else (y, x)
        key = a * max(len(self.core_nodes), 1) + b
        i = int(np.searchsorted(self.pair_keys, key))
        if i >= len(self.pair_keys) or self.pair_keys[i] != key:
            raise AnalysisError("internal error: no core edge between consecutive route junctions")
        return i

    # -- full graph (lazy) ------------------------------------------------------------------------
    def _full_graph(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        if self._full is None:
            n = self.n_nodes
            src = np.concatenate([self.ua, self.ub])
            dst = np.concatenate([self.ub, self.ua])
            cc = np.concatenate([self.uc, self.uc])
            ee = np.concatenate([self.ue, self.ue])
            order = np.lexsort((dst, src))
            src, dst, cc, ee = src[order], dst[order], cc[order], ee[order]
            indptr = np.zeros(n + 1, dtype=np.int32)
            np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
            csr = sp.csr_matrix((cc, dst.astype(np.int32), indptr), shape=(n, n))
            self._full = (csr, ee, src.astype(np.int64) * n + dst.astype(np.int64))
        return self._full

    @property
    def csr(self) -> sp.csr_matrix:
        """Symmetric CSR over all nodes (minutes × penalty)."""
        return self._full_graph()[0]

    @property
    def pos_edge(self) -> np.ndarray:
        """Graph edge index of each entry of :attr:`csr`."""
        return self._full_graph()[1]

    @property
    def keys(self) -> np.ndarray:
        return self._full_graph()[2]

    def positions(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """CSR positions of directed entries a->b (-1 when absent)."""
        keys = self.keys
        n = self.n_nodes
        k = np.asarray(a, np.int64) * n + np.asarray(b, np.int64)
        if not len(keys):
            return np.full(len(k), -1)
        pos = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
        return np.where(keys[pos] == k, pos, -1)


@dataclass
class RoadGraph:
    """A routable road network at one as-of time. Build with :func:`build_road_graph`.

    Edge arrays (``edge_*``) cover the passable segments only; ``edge_seg`` points back to the
    row of the roads frame. Node coordinates are lon/lat (``node_lonlat``) and metric
    (``node_xy``, in ``crs``).
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
    roads: gpd.GeoDataFrame
    seg_length_km: np.ndarray
    seg_speed: np.ndarray
    seg_status: np.ndarray
    seg_bounds: np.ndarray
    destroyed_bridges: gpd.GeoDataFrame
    threat: ThreatGeometry
    as_of: pd.Timestamp | None = None
    removed_impassable: int = 0
    removed_bridges: int = 0
    _tree: cKDTree | None = None
    _tree_nodes: np.ndarray | None = None
    _weighted: dict[RoutingPolicy, WeightedGraph] = field(default_factory=dict)
    front_cap_km: float = np.inf
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

    def road_rows(self, road_ids: Sequence[str]) -> np.ndarray:
        """Row index in :attr:`roads` of each road id (AnalysisError naming unknown ids)."""
        with self._lock:
            if self._id_index is None:
                self._id_index = pd.Index(self.roads["id"].astype(str))
        rows = self._id_index.get_indexer([str(r) for r in road_ids])
        if (rows < 0).any():
            bad = [str(r) for r, i in zip(road_ids, rows, strict=True) if i < 0][:5]
            raise AnalysisError(f"unknown road ids: {bad}")
        return rows

    @property
    def edge_band(self) -> np.ndarray:
        return self.threat.band_index(self.edge_front_km)

    def summary(self) -> dict[str, Any]:
        """Sizes, for logs and the CLI."""
        return {"nodes": self.n_nodes, "edges": self.n_edges, "segments": len(self.roads),
                "removed_impassable": self.removed_impassable, "removed_destroyed_bridges": self.removed_bridges,
                "as_of": None if self.as_of is None else self.as_of.isoformat()}

    # -- snapping -------------------------------------------------------------------------------
    def _snap_tree(self) -> tuple[cKDTree, np.ndarray]:
        if self._tree is None:
            deg = np.bincount(np.concatenate([self.edge_u, self.edge_v]), minlength=self.n_nodes)
            nodes = np.flatnonzero(deg > 0)
            if not len(nodes):
                raise AnalysisError("the road network has no passable segment")
            self._tree_nodes = nodes
            self._tree = cKDTree(self.node_xy[nodes])
        return self._tree, self._tree_nodes  # type: ignore[return-value]

    def snap(self, lon: Iterable[float] | float, lat: Iterable[float] | float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node with a passable segment for each lon/lat point: ``(node, distance_km)``."""
        lon_a = np.atleast_1d(np.asarray(lon, float))
        lat_a = np.atleast_1d(np.asarray(lat, float))
        tree, nodes = self._snap_tree()
        x, y = self.threat.to_metric.transform(lon_a, lat_a)
        d, i = tree.query(np.column_stack([x, y]))
        return nodes[i], np.asarray(d) / 1000.0

    # -- weights --------------------------------------------------------------------------------
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
        if policy.avoid_km is not None and policy.avoid_km > 0:
            self._ensure_front_cap(float(policy.avoid_km))
            cost[self.edge_front_km <= float(policy.avoid_km) + EDGE_TOLERANCE_KM] = np.inf
        if policy.exclude_occupied:
            cost[self.edge_occupied] = np.inf
        return cost

    def _ensure_front_cap(self, km: float) -> None:
        """Make ``edge_front_km`` exact up to at least ``km`` (distances beyond the cap are inf)."""
        with self._lock:
            if km < self.front_cap_km:
                return
            self._extend_front_cap(km)

    def _extend_front_cap(self, km: float) -> None:
        cap = max(2 * km, km + 50.0)
        far = ~np.isfinite(self.edge_front_km)
        if far.any() and self.threat.has_front:
            self.edge_front_km[far] = _edge_front_km(self.threat, self.node_lonlat, self.edge_u[far],
                                                     self.edge_v[far], self.edge_length_km[far],
                                                     np.asarray(self.roads.geometry.values, dtype=object)[
                                                         self.edge_seg[far]], cap)
        self.front_cap_km = cap

    def weighted(self, policy: RoutingPolicy = NO_THREAT) -> WeightedGraph:
        """The CSR graph for ``policy`` (built once, cached on the graph; thread-safe)."""
        with self._lock:
            w = self._weighted.get(policy)
            if w is None:
                w = _build_weighted(self, self.edge_cost(policy))
                self._weighted[policy] = w
        return w


def _build_weighted(graph: RoadGraph, cost: np.ndarray) -> WeightedGraph:
    return WeightedGraph(graph.n_nodes, graph.edge_u, graph.edge_v, cost)


# ----------------------------------------------------------------------------------------------
# Build
# ----------------------------------------------------------------------------------------------


def _edge_front_km(threat: ThreatGeometry, node_lonlat: np.ndarray, u: np.ndarray, v: np.ndarray,
                   length_km: np.ndarray, geoms: np.ndarray, cap_km: float) -> np.ndarray:
    """Geodesic distance of segments to the front line, exact up to ``cap_km``, inf beyond.

    A segment is within ``L/2`` (its length) of one of its end points everywhere, so
    ``min(lower bound at the ends) - L/2`` bounds its distance from below; only segments whose
    bound is within the cap get the exact distance (:meth:`ThreatGeometry.distance_km`). Far from
    the front (most of a national network) this skips most of the work.
    """
    out = np.full(len(u), np.inf)
    used = np.zeros(len(node_lonlat), dtype=bool)
    used[u] = True
    used[v] = True
    nodes = np.flatnonzero(used)
    lb = np.full(len(node_lonlat), np.inf)
    lb[nodes] = threat.lower_bound_km(node_lonlat[nodes, 0], node_lonlat[nodes, 1], upper_km=cap_km + length_km.max())
    lower = np.minimum(lb[u], lb[v]) - length_km / 2.0
    near = np.flatnonzero(lower <= cap_km)
    if len(near):
        out[near] = threat.distance_km(geoms[near])
    return out


def _segment_lengths_km(coords: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    _, _, d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return np.bincount(idx[1:][same], weights=np.asarray(d), minlength=n) / 1000.0


def _node_keys(lon: np.ndarray, lat: np.ndarray, precision: int) -> np.ndarray:
    scale = 10.0**precision
    xi = np.round(lon * scale).astype(np.int64)
    yi = np.round(lat * scale).astype(np.int64)
    return xi * (1 << 32) + (yi + (1 << 31))


def destroyed_bridge_rows(infrastructure: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Infrastructure rows that are destroyed bridges (any geometry)."""
    if infrastructure is None or not len(infrastructure):
        return gpd.GeoDataFrame({"id": [], "name": [], "road_id": []}, geometry=[], crs="EPSG:4326")
    inf = infrastructure
    mask = (inf["sector"] == "bridge") & (inf["damage"] == "destroyed")
    cols = [c for c in ("id", "name", "road_id", "damage") if c in inf.columns]
    return inf.loc[mask, [*cols, inf.geometry.name]].reset_index(drop=True)


def build_road_graph(
    roads: gpd.GeoDataFrame,
    *,
    front_line: gpd.GeoDataFrame | BaseGeometry | None = None,
    occupied: gpd.GeoDataFrame | BaseGeometry | None = None,
    infrastructure: gpd.GeoDataFrame | None = None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
    as_of: Any = None,
    damaged_time_factor: float = DAMAGED_TIME_FACTOR,
    precision: int = 6,
    front_cap_km: float | None = None,
) -> RoadGraph:
    """Build the routable road graph.

    Parameters
    ----------
    roads : the ``roads`` layer (EPSG:4326 LineStrings with ``id``, ``speed_kmh``, ``status``)
    front_line, occupied : rows in force at the as-of time (or one geometry each)
    infrastructure : for destroyed bridges (sector ``bridge``, damage ``destroyed``, ``road_id``)
    bands_km : threat band outer edges (default 5, 20, 40)
    as_of : the time the front line is taken at (kept for display)
    damaged_time_factor : travel-time multiplier for ``damaged`` segments
    precision : decimals of lon/lat used to identify shared end points (6 ≈ 0.1 m)
    front_cap_km : segment distances to the front line are computed exactly up to this distance
        (default: the outer band + 10 km) and stored as inf beyond; a policy that
        avoids a wider area extends the computation on demand, so the avoided area has no cap

    Raises
    ------
    AnalysisError
        No roads, missing columns, non-line geometries or invalid speeds.
    """
    if roads is None or not len(roads):
        raise AnalysisError("no roads to build a road graph from; load or seed the roads layer first")
    missing = [c for c in ("id", "speed_kmh", "status") if c not in roads.columns]
    if missing:
        raise AnalysisError(f"roads: missing columns {missing}")
    if roads.crs is not None and roads.crs.to_epsg() != 4326:
        roads = roads.to_crs(4326)
    roads = roads.reset_index(drop=True)
    geoms = np.asarray(roads.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = np.flatnonzero(types != 1)
    if len(bad):
        raise AnalysisError(f"roads: row {bad[0] + 1} (id {roads['id'].iloc[bad[0]]}) is not a LineString")
    speed = pd.to_numeric(roads["speed_kmh"], errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~(speed > 0))
    if len(bad):
        raise AnalysisError(f"roads: row {bad[0] + 1} (id {roads['id'].iloc[bad[0]]}) field 'speed_kmh' must be > 0")
    if damaged_time_factor < 1:
        raise AnalysisError(f"damaged_time_factor must be >= 1, got {damaged_time_factor}")
    m = len(roads)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(idx, minlength=m)
    ends = np.cumsum(counts) - 1
    starts = ends - counts + 1
    seg_len = _segment_lengths_km(coords, idx, m)

    keys = _node_keys(np.concatenate([coords[starts, 0], coords[ends, 0]]),
                      np.concatenate([coords[starts, 1], coords[ends, 1]]), precision)
    uniq, inverse = np.unique(keys, return_inverse=True)
    u_all, v_all = inverse[:m], inverse[m:]
    node_lonlat = np.empty((len(uniq), 2))
    node_lonlat[u_all] = coords[starts]
    node_lonlat[v_all] = coords[ends]

    status = roads["status"].astype(str).to_numpy()
    bridges = destroyed_bridge_rows(infrastructure)
    destroyed_ids = set(bridges["road_id"].dropna().astype(str)) if "road_id" in bridges else set()
    on_destroyed = roads["id"].astype(str).isin(destroyed_ids).to_numpy() if destroyed_ids else np.zeros(m, bool)
    impassable = status == "impassable"
    usable = ~impassable & ~on_destroyed & (u_all != v_all)
    e_seg = np.flatnonzero(usable)

    minutes = seg_len / speed * 60.0
    minutes = np.where(status == "damaged", minutes * float(damaged_time_factor), minutes)

    crs = metric_crs(roads.total_bounds)
    threat = ThreatGeometry(union_geometry(front_line), union_geometry(occupied), crs=crs, bands_km=bands_km)
    nx_, ny_ = threat.to_metric.transform(node_lonlat[:, 0], node_lonlat[:, 1])
    node_xy = np.column_stack([nx_, ny_])

    # distance of each passable segment to the front line (geodesic) and occupied side
    if front_cap_km is None:
        front_cap_km = threat.bands_km[-1] + 10.0
    front_km = np.full(len(e_seg), np.inf)
    occ = np.zeros(len(e_seg), dtype=bool)
    if len(e_seg):
        sel = geoms[e_seg]
        if threat.has_front:
            front_km = _edge_front_km(threat, node_lonlat, u_all[e_seg], v_all[e_seg], seg_len[e_seg], sel,
                                      front_cap_km)
        if threat.occupied is not None:
            # midpoint of the end points (the segments are short; exact for 2-point segments)
            mid = (coords[starts[e_seg]] + coords[ends[e_seg]]) / 2.0
            occ = threat.occupied_mask(mid[:, 0], mid[:, 1])

    return RoadGraph(
        node_lonlat=node_lonlat,
        node_xy=node_xy,
        edge_u=u_all[e_seg].astype(np.int64),
        edge_v=v_all[e_seg].astype(np.int64),
        edge_seg=e_seg,
        edge_length_km=seg_len[e_seg],
        edge_minutes=minutes[e_seg],
        edge_front_km=front_km,
        edge_occupied=occ,
        roads=roads,
        seg_length_km=seg_len,
        seg_speed=speed,
        seg_status=status,
        seg_bounds=shapely.bounds(geoms),
        destroyed_bridges=bridges,
        threat=threat,
        as_of=None if as_of is None else pd.Timestamp(as_of),
        removed_impassable=int(impassable.sum()),
        removed_bridges=int((on_destroyed & ~impassable).sum()),
        front_cap_km=float(front_cap_km),
    )
