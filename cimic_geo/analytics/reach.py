"""Who can reach which shelter: the sparse settlement→shelter pairs within a limit, with a cost.

Two kinds of reach feed the same allocation (:mod:`cimic_geo.analytics.allocation`):

- :func:`straight_line_reach`: geodesic km, candidates from a k-d tree on earth-centred 3-D
  coordinates (a chord is never longer than the geodesic, so no pair within the limit is missed);
- :func:`travel_time_reach`: road minutes on a :class:`~cimic_geo.analytics.roadgraph.RoadGraph`
  (Dijkstra limited to the reach, on the core graph of junctions: :mod:`cimic_geo.analytics.reach_core`),
  walking at both ends to the nearest point on the nearest road.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from cimic_geo.analytics.bands import check_distance
from cimic_geo.analytics.front_samples import R_MIN_M
from cimic_geo.analytics.geod_pool import distance_m
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import ecef
from cimic_geo.i18n import _

if TYPE_CHECKING:
    from cimic_geo.analytics.reach_core import Chains
    from cimic_geo.analytics.road_weights import WeightedGraph
    from cimic_geo.analytics.roadgraph import RoadGraph, RoutingPolicy

#: Road-time searches run on grid tiles this many reach radii wide (fewer, larger searches vs. smaller graphs).
_TILE_PER_REACH = 1.0


@dataclass
class Reach:
    """Sparse reach: settlement ``s[k]`` can reach shelter ``h[k]`` at ``cost[k]`` (``unit``).

    Indices refer to the rows of the settlements and shelters frames as given to the solver.
    """

    s: np.ndarray
    h: np.ndarray
    cost: np.ndarray
    unit: str = "km"
    limit: float = float("nan")

    def __post_init__(self) -> None:
        self.s = np.asarray(self.s, dtype=np.int64)
        self.h = np.asarray(self.h, dtype=np.int64)
        self.cost = np.asarray(self.cost, dtype=float)
        if not (len(self.s) == len(self.h) == len(self.cost)):
            raise AnalysisError("reach arrays must have the same length")
        if len(self.cost) and (not np.all(np.isfinite(self.cost)) or self.cost.min() < 0):
            raise AnalysisError("reach costs must be finite and non-negative")


def _xy(geom: gpd.GeoSeries) -> np.ndarray:
    """(lon, lat) of each geometry: the point itself, or a representative point inside it."""
    arr = np.asarray(geom.array)
    if not len(arr):
        return np.empty((0, 2))
    if not (shapely.get_type_id(arr) == 0).all():
        arr = shapely.point_on_surface(arr)
    return np.column_stack([shapely.get_x(arr), shapely.get_y(arr)])


def _points_lonlat(gdf: gpd.GeoDataFrame, name: str) -> np.ndarray:
    if not len(gdf):
        return np.empty((0, 2))
    geom = gdf.geometry
    missing = shapely.is_missing(np.asarray(geom.array)) | shapely.is_empty(np.asarray(geom.array))
    if missing.any():
        raise AnalysisError(_("{layer}: row {row} has no geometry").format(layer=name,
                                                                           row=int(np.flatnonzero(missing)[0]) + 1))
    return _xy(geom)


def straight_line_reach(
    settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, *, max_km: float,
    distance_for: np.ndarray | None = None,
) -> Reach:
    """Pairs within ``max_km`` (geodesic, WGS84) and their distance in km.

    Candidates come from a k-d tree on earth-centred 3-D coordinates: the straight chord between
    two points on the ellipsoid is never longer than the geodesic between them, so every pair
    within ``max_km`` is a candidate (and, the chord being shorter by only ~d³/24R², very few
    others are). The kept pairs and costs are exact geodesic distances (pyproj.Geod).

    ``distance_for`` (one bool per shelter): only pairs to these shelters need their distance. A pair
    to another shelter whose chord is surely within ``max_km`` (a geodesic of length g is at most
    ``g³/24R²`` longer than its chord, R the least radius of curvature) is kept without a geodesic,
    with the chord as its cost (below the geodesic by less than 0.2 mm within 5 km).
    """
    d_max = check_distance(max_km, name="max_km")
    a = _points_lonlat(settlements, "settlements")
    b = _points_lonlat(shelters, "shelters")
    if not len(a) or not len(b):
        return Reach(np.empty(0), np.empty(0), np.empty(0), unit="km", limit=d_max)
    radius_m = d_max * 1000.0 * (1.0 + 1e-9) + 1e-3  # float round-off margin only
    pa, pb = ecef(a[:, 0], a[:, 1]), ecef(b[:, 0], b[:, 1])
    pairs = cKDTree(pa).sparse_distance_matrix(cKDTree(pb), radius_m, output_type="ndarray")
    key = np.sort(pairs["i"].astype(np.int64) * len(b) + pairs["j"])  # settlement, then shelter
    s, h = np.divmod(key, len(b))
    if not len(s):
        return Reach(s, h, np.empty(0), unit="km", limit=d_max)
    km = np.empty(len(s))
    need = np.ones(len(s), dtype=bool)
    if distance_for is not None:
        other = np.flatnonzero(~np.asarray(distance_for, dtype=bool)[h])
        chord = np.sqrt(((pa[s[other]] - pb[h[other]]) ** 2).sum(axis=1))
        sure = (chord <= 100_000.0) & (chord + chord**3 / (12.0 * R_MIN_M**2) + 0.01 <= d_max * 1000.0)
        need[other[sure]] = False
        km[other[sure]] = chord[sure] / 1000.0
    km[need] = distance_m(a[s[need], 0], a[s[need], 1], b[h[need], 0], b[h[need], 1]) / 1000.0
    keep = km <= d_max + 1e-9
    return Reach(s[keep], h[keep], km[keep], unit="km", limit=d_max)


def _node_tree(graph: RoadGraph) -> cKDTree:
    """A k-d tree of the graph's nodes in earth-centred 3-D coordinates (metres), kept on the graph."""
    tree = getattr(graph, "_reach_node_tree", None)
    if tree is None:
        ll = np.asarray(graph.node_lonlat, dtype=float)
        tree = cKDTree(ecef(ll[:, 0], ll[:, 1]), balanced_tree=False, compact_nodes=False)
        graph._reach_node_tree = tree  # type: ignore[attr-defined]
    return tree


def _snapped(graph: RoadGraph, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``graph.snap_edges`` of the lon/lat points ``xy``; the last two answers are kept on the graph
    (keyed by the points' exact bytes), so a second coverage run on the same places snaps nothing."""
    memo = getattr(graph, "_reach_snaps", None)
    if memo is None:
        memo = graph._reach_snaps = {}  # type: ignore[attr-defined]
    key = np.ascontiguousarray(xy, dtype=float).tobytes()
    hit = memo.get(key)
    if hit is None:
        from cimic_geo.analytics.road_snap_kept import snap_kept

        hit = snap_kept(graph, xy)
        while len(memo) >= 2:
            memo.pop(next(iter(memo)))
        memo[key] = hit
    return hit


def _reach_km(graph: RoadGraph, cost: np.ndarray, t_max: float) -> float:
    """Road length (km) no journey within ``t_max`` can exceed: ``t_max`` over the least cost per km
    of any usable edge (csgraph raises costs below :data:`MIN_COST` to it, never lowers them)."""
    from cimic_geo.analytics.road_weights import MIN_COST

    length = np.asarray(graph.edge_length_km, dtype=float)
    ok = np.isfinite(cost) & (length > 0)
    if not ok.any():
        return 0.0
    rate = float(np.min(np.maximum(cost[ok], MIN_COST) / length[ok]))
    return t_max / rate if rate > 0 else np.inf


def _sub_csr(csr: sp.csr_matrix, nodes: np.ndarray, local: np.ndarray) -> sp.csr_matrix:
    """The rows and columns ``nodes`` (sorted) of ``csr``, renumbered 0..len(nodes)-1 (``local`` maps a
    node to its new number and holds -1 elsewhere)."""
    start, stop = csr.indptr[nodes], csr.indptr[nodes + 1]
    cnt = (stop - start).astype(np.int64)
    pos = np.repeat(start.astype(np.int64) - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
    col = local[csr.indices[pos]]
    keep = col >= 0
    row = np.repeat(np.arange(len(nodes)), cnt)[keep]
    indptr = np.zeros(len(nodes) + 1, dtype=np.int32)
    np.cumsum(np.bincount(row, minlength=len(nodes)), out=indptr[1:])
    return sp.csr_matrix((csr.data[pos][keep], col[keep].astype(np.int32), indptr), shape=(len(nodes), len(nodes)))


def _tile_of(xy: np.ndarray, size_m: float) -> np.ndarray:
    """Grid cell (``size_m`` squares in the graph's metric CRS) of each point, as one sortable key."""
    cell = np.floor(xy / size_m).astype(np.int64)
    cell -= cell.min(axis=0)
    return cell[:, 0] * (int(cell[:, 1].max()) + 1) + cell[:, 1]


def _tiled_road(graph: RoadGraph, csr: sp.csr_matrix, n_src: int, n_dst: int, leave: tuple[np.ndarray, ...],
                arrive: tuple[np.ndarray, ...], radius_m: float, t_max: float
                ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Road minutes ``(source, shelter, minutes)`` within ``t_max`` in pieces, searched tile by tile on the
    whole graph.

    ``leave`` = (source, node, cost) ways onto the network, ``arrive`` = (shelter, node, cost) ways off it.
    """
    from scipy.sparse.csgraph import dijkstra

    from cimic_geo.analytics.road_split import with_sources

    lv_place, lv_node, lv_cost = leave
    arr_shelter, arr_node, arr_cost = arrive
    out_r: list[np.ndarray] = []
    out_h: list[np.ndarray] = []
    out_c: list[np.ndarray] = []
    tree = _node_tree(graph)
    end_tree = cKDTree(tree.data[arr_node], balanced_tree=False, compact_nodes=False)
    tile = _tile_of(np.asarray(graph.node_xy, dtype=float)[lv_node], max(radius_m, 2000.0) * _TILE_PER_REACH)
    order = np.argsort(tile, kind="stable")
    cuts = np.flatnonzero(np.diff(tile[order])) + 1
    local = np.full(graph.n_nodes, -1, dtype=np.int64)
    tile_pos = np.full(n_src, -1, dtype=np.int64)
    for ends in np.split(order, cuts):
        rows = np.unique(lv_place[ends])  # the tile's source points
        joins = tree.data[lv_node[ends]]
        centre = joins.mean(axis=0)
        spread = float(np.sqrt(((joins - centre) ** 2).sum(axis=1)).max())
        nodes = np.asarray(tree.query_ball_point(centre, spread + radius_m, return_sorted=True), dtype=np.int64)
        j = np.asarray(end_tree.query_ball_point(centre, spread + radius_m), dtype=np.int64)  # shelter ends
        local[nodes] = np.arange(len(nodes))
        tile_pos[rows] = np.arange(len(rows))
        sub = with_sources(_sub_csr(csr, nodes, local), len(rows), tile_pos[lv_place[ends]],
                           local[lv_node[ends]], lv_cost[ends])
        dist = dijkstra(sub, directed=True, indices=len(nodes) + np.arange(len(rows)), limit=t_max)
        # road minutes from each source point to each shelter end, then the cheaper end per shelter
        j = j[local[arr_node[j]] >= 0]
        tt = dist[:, local[arr_node[j]]] + arr_cost[j]
        r, k = np.nonzero(tt <= t_max)
        local[nodes] = -1
        tile_pos[rows] = -1
        if not len(r):
            continue
        h, road = arr_shelter[j[k]], tt[r, k]
        key = r * n_dst + h
        pick = np.lexsort((road, key))
        first = np.ones(len(pick), dtype=bool)
        first[1:] = key[pick][1:] != key[pick][:-1]
        pick = pick[first]
        out_r.append(rows[r[pick]])
        out_h.append(h[pick])
        out_c.append(road[pick])
    return out_r, out_h, out_c


def _core_road(graph: RoadGraph, w: WeightedGraph, ch: Chains, n_src: int, leave: tuple[np.ndarray, ...],
               arrive: tuple[np.ndarray, ...], radius_m: float, t_max: float
               ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """:func:`_tiled_road` on the core graph of junctions (:mod:`cimic_geo.analytics.reach_core`)."""
    from cimic_geo.analytics.reach_core import TILE_PER_REACH, core_pairs, same_chain, to_core
    from cimic_geo.analytics.road_weights import MIN_COST

    lv_place, lv_node, lv_cost = leave
    arr_shelter, arr_node, arr_cost = arrive
    src = to_core(ch, w, lv_place, lv_node, lv_cost, t_max, floor=MIN_COST)
    dst = to_core(ch, w, arr_shelter, arr_node, arr_cost, t_max)
    # each source's join nodes: their centre, the farthest from it, and the source's tile
    ll = np.asarray(graph.node_lonlat, dtype=float)[lv_node]
    xyz = ecef(ll[:, 0], ll[:, 1])
    cnt = np.maximum(np.bincount(lv_place, minlength=n_src), 1)
    row_xyz = np.column_stack([np.bincount(lv_place, weights=xyz[:, i], minlength=n_src) / cnt for i in range(3)])
    row_r = np.zeros(n_src)
    np.maximum.at(row_r, lv_place, np.sqrt(((xyz - row_xyz[lv_place]) ** 2).sum(axis=1)))
    node_xy = np.asarray(graph.node_xy, dtype=float)[lv_node]
    row_xy = np.column_stack([np.bincount(lv_place, weights=node_xy[:, i], minlength=n_src) / cnt for i in range(2)])
    row_tile = _tile_of(row_xy, max(radius_m, 2000.0) * TILE_PER_REACH)
    r, h, c = core_pairs(w, ch, src=src, dst=dst, row_xyz=row_xyz, row_r=row_r, row_tile=row_tile,
                         radius_m=radius_m, t_max=t_max)
    r2, h2, c2 = same_chain(ch, lv_place, lv_node, lv_cost, arr_shelter, arr_node, arr_cost, t_max, floor=MIN_COST)
    return [*r, r2], [*h, h2], [*c, c2]


def travel_time_reach(
    graph: RoadGraph, settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, *, max_minutes: float,
    policy: RoutingPolicy | None = None, access_speed_kmh: float = 5.0, method: str = "core",
    ahead_minutes: float = 0.0,
) -> Reach:
    """Pairs whose road travel time is within ``max_minutes``, cost in minutes.

    Settlements and shelters join ``graph`` (a :class:`cimic_geo.analytics.roadgraph.RoadGraph`)
    at the nearest point on the nearest passable edge, as a route's start and end do
    (:mod:`cimic_geo.analytics.road_split`: the partial edge to either end, one-way respected, or
    straight along a shared edge); the straight-line distance to that point is added at
    ``access_speed_kmh`` (walking). Travel times come from Dijkstra searches limited to
    ``max_minutes`` (:func:`scipy.sparse.csgraph.dijkstra`), each from a settlement's own point
    (a virtual source node); shelters are read off vectorised.

    The searches run tile by tile on small pieces of the graph, not on the whole network: no
    journey within ``max_minutes`` is longer than ``max_minutes`` over the least cost per km of
    any edge, and no node on it is farther from where it joined the road than that length
    (geodesic, so also in a straight 3-D chord). The settlements of a grid tile are searched
    together on the nodes within that chord of the tile's joining nodes (a k-d tree query): the
    same shortest paths and times as on the whole graph, at a cost that grows with the tile, not
    with the country.

    The last search is kept on the graph (keyed by the places' exact positions, the policy, the walking
    speed and the method): the same question again on the same graph is not searched again, nor one
    with a smaller limit (the kept pairs within it: a search bounded at the larger limit found the
    same journeys with the same times). ``ahead_minutes``: a search runs that many minutes past
    ``max_minutes`` and is kept whole, so that a larger limit within it is answered from it too (the
    answer is the same: its pairs within ``max_minutes``).

    ``method``: ``"core"`` (default) searches the core graph of junctions, places joined along
    their chains (:mod:`cimic_geo.analytics.reach_core`: the same journeys, times equal to
    1e-9 minutes); ``"tiles"`` searches every road node (the times summed edge by edge along
    each path, as one Dijkstra over the whole network would).
    """
    t_max = check_distance(max_minutes, name="max_minutes")
    ahead = check_distance(ahead_minutes, name="ahead_minutes")
    if method not in ("core", "tiles"):
        raise AnalysisError(f"unknown road search method {method!r} (core or tiles)")
    a = _points_lonlat(settlements, "settlements")
    b = _points_lonlat(shelters, "shelters")
    if not len(a) or not len(b):
        return Reach(np.empty(0), np.empty(0), np.empty(0), unit="min", limit=t_max)
    if policy is None:
        from cimic_geo.analytics.roadgraph import NO_THREAT
        policy = NO_THREAT
    from cimic_geo.analytics.reach_kept import KeptReach, search_ident, search_key_of

    key = search_key_of(a, b, policy=policy, access_speed_kmh=access_speed_kmh, method=method)

    search = partial(_road_reach, graph, a, b, policy=policy, access_speed_kmh=access_speed_kmh, method=method)
    kept = graph.__dict__.get("_reach_last")
    if kept is None or kept[0] != key or kept[1].limit < t_max:
        saved = graph.__dict__.get("_saved_search")  # the warm-up's search ahead, beside a kept graph
        found = None if saved is None else saved.read(search_ident(key), t_max)
        kept = (key, found if found is not None else KeptReach.of(search(t_max=t_max + ahead)))
        graph.__dict__["_reach_last"] = kept
    # a search bounded at a larger limit found every journey within this one, at the same time (the
    # shortest paths below a bound do not depend on it): its pairs within this limit. A pair just above it
    # (within the 1e-9 min round-off margin a search keeps) is searched afresh.
    got = kept[1].within(t_max)
    return got if got is not None else search(t_max=t_max)


def _core_tile() -> float:
    from cimic_geo.analytics import reach_core

    return reach_core.TILE_PER_REACH


def _road_reach(graph: RoadGraph, a: np.ndarray, b: np.ndarray, *, t_max: float, policy: RoutingPolicy,
                access_speed_kmh: float, method: str) -> Reach:
    """:func:`travel_time_reach` of the settlement points ``a`` and shelter points ``b`` (lon/lat rows)."""
    from cimic_geo.analytics.road_split import one_way, partial_cost, place_ends, same_edge_pairs

    empty = Reach(np.empty(0), np.empty(0), np.empty(0), unit="min", limit=t_max)
    ea, fa, da = _snapped(graph, a)
    eb, fb, db = _snapped(graph, b)
    wa = np.asarray(da) / access_speed_kmh * 60.0
    wb = np.asarray(db) / access_speed_kmh * 60.0
    w = graph.weighted(policy)
    # one source per distinct point (settlements on the same point share a search); a settlement or a
    # shelter farther from any road than the limit walks reaches nothing
    near = np.flatnonzero(wa <= t_max + 1e-9)
    if not len(near):
        return empty
    pts, inv = np.unique(np.column_stack([ea[near].astype(float), fa[near]]), axis=0, return_inverse=True)
    inv = inv.ravel()
    src_edge, src_frac = pts[:, 0].astype(np.int64), pts[:, 1]
    leave = place_ends(graph, src_edge, src_frac, leaving=True, ignore_oneway=policy.ignore_oneway)
    leave_cost = leave.cost(w.cost)
    arrive = place_ends(graph, eb, fb, leaving=False, ignore_oneway=policy.ignore_oneway)
    arr_cost = arrive.cost(w.cost)
    live = np.isfinite(arr_cost) & (wb[arrive.place] <= t_max + 1e-9)
    arr_node, arr_cost, arr_shelter = arrive.node[live], arr_cost[live], arrive.place[live]
    # settlements of each source point, and the least walk among them (a point no one can leave within
    # the limit is not searched, nor one that cannot drive off its edge)
    walk_min = np.full(len(pts), np.inf)
    np.minimum.at(walk_min, inv, wa[near])
    ok = np.isfinite(leave_cost) & (walk_min[leave.place] <= t_max)
    lv_place, lv_node, lv_cost = leave.place[ok], leave.node[ok], leave_cost[ok]
    order = np.argsort(inv, kind="stable")
    by_src = near[order]
    src_start = np.searchsorted(inv[order], np.arange(len(pts) + 1))
    radius_m = _reach_km(graph, w.cost, t_max) * 1000.0 * (1.0 + 1e-6) + 10.0  # + round-off of node positions
    pieces: tuple[list[np.ndarray], ...] = ([], [], [])
    if len(lv_place) and len(arr_node):
        ch = None
        if method == "core":
            from cimic_geo.analytics.reach_core import chains_of, on_a_ring

            ch = chains_of(w, graph.node_lonlat)
            if on_a_ring(ch, lv_node) or on_a_ring(ch, arr_node):
                ch = None  # a ring touching no junction: searched on the whole graph
        if ch is not None:
            pieces = _core_road(graph, w, ch, len(pts), (lv_place, lv_node, lv_cost),
                                (arr_shelter, arr_node, arr_cost), radius_m, t_max)
        else:
            pieces = _tiled_road(graph, w.csr, len(pts), len(b), (lv_place, lv_node, lv_cost),
                                 (arr_shelter, arr_node, arr_cost), radius_m, t_max)
    # each pair as one key (settlement, then shelter) and its minutes
    k_out, c_out = [], []
    for r_all, h_all, road_all in zip(*pieces, strict=True):
        # every settlement on the source point: walk + road + walk
        if len(pts) == len(near):  # one settlement per point (the usual case)
            si, hh, road = by_src[src_start[r_all]], h_all, road_all
        else:
            cnt = src_start[r_all + 1] - src_start[r_all]
            rr = np.repeat(np.arange(len(r_all)), cnt)
            si = by_src[np.repeat(src_start[r_all], cnt) + np.arange(int(cnt.sum()))
                        - np.repeat(np.cumsum(cnt) - cnt, cnt)]
            hh, road = h_all[rr], road_all[rr]
        cost = wa[si] + road + wb[hh]
        keep = cost <= t_max + 1e-9
        k_out.append(si[keep] * len(b) + hh[keep])
        c_out.append(cost[keep])
    # straight along the edge a settlement and a shelter share (only places whose walk is within the limit:
    # on a sparse network thousands of places can share one edge, and their cross product is of no use)
    na, nb = np.flatnonzero(wa <= t_max + 1e-9), np.flatnonzero(wb <= t_max + 1e-9)
    ia, ib, part = same_edge_pairs(ea[na], fa[na], eb[nb], fb[nb], one_way(graph, ignore_oneway=policy.ignore_oneway))
    ia, ib = na[ia], nb[ib]
    direct = wa[ia] + partial_cost(part, w.cost[ea[ia]]) + wb[ib]
    keep = direct <= t_max + 1e-9
    k_out.append(ia[keep] * len(b) + ib[keep])
    c_out.append(direct[keep])
    key, c = np.concatenate(k_out).astype(np.int64, copy=False), np.concatenate(c_out)
    if not len(key):
        return empty
    # the cheaper of the road and the direct way for each pair, pairs in settlement then shelter order
    order = _key_order(key)
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    s, h = np.divmod(key[starts], len(b))
    c = c[order]
    return Reach(s, h, c if len(starts) == len(c) else np.minimum.reduceat(c, starts), unit="min", limit=t_max)


def _key_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of non-negative int64 keys: each key and its position packed into
    one int64 and sorted by value (numpy's vectorised sort, several times faster than an argsort)."""
    n = len(key)
    shift = max(n - 1, 1).bit_length()
    if not n or int(key.max()) >= 1 << (63 - shift):
        return np.argsort(key, kind="stable")
    packed = np.sort((key << shift) | np.arange(n, dtype=np.int64))
    return packed & ((1 << shift) - 1)
