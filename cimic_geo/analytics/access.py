"""Routing on the road graph: least-risk routes with alternatives, time to safety, cut-off settlements.

All graph searches are :func:`scipy.sparse.csgraph.dijkstra` on the CSR matrix of a
:class:`~cimic_geo.analytics.roadgraph.RoadGraph` for a :class:`RoutingPolicy`.

* :func:`find_routes` — the least-cost route (travel time × band penalty, excluded segments left
  out) and up to 3 alternatives by the penalty method: the edges of routes found so far are made
  more expensive and the search repeated; a candidate is kept when it shares less than
  ``max_shared`` of its length with every route kept so far and costs at most ``max_stretch``
  times the best.
* :func:`time_to_safety` — multi-source Dijkstra from the safe hubs (settlements beyond the outer
  band, or chosen ones); cut-off settlements have no route to any hub without entering the
  excluded band.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from cimic_geo.analytics.bands import EDGE_TOLERANCE_KM, band_labels
from cimic_geo.analytics.road_weights import WeightedGraph
from cimic_geo.analytics.roadgraph import NO_THREAT, ZONE_EXIT_FACTOR, RoadGraph, RoutingPolicy
from cimic_geo.errors import AnalysisError, NotFoundError

#: A point further than this from any passable road is refused (km).
MAX_SNAP_KM = 5.0

_LATLON_RE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)\s*$")


# ----------------------------------------------------------------------------------------------
# Places
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A resolved origin/destination: where it is and the road node it snaps to."""

    label: str
    lon: float
    lat: float
    node: int
    snap_km: float
    settlement_id: str | None = None

    def as_dict(self) -> dict:
        return {"label": self.label, "lon": round(self.lon, 6), "lat": round(self.lat, 6),
                "snap_km": round(self.snap_km, 3), "settlement_id": self.settlement_id}


def _norm(text: object) -> str:
    return " ".join(str(text).casefold().split())


def find_settlement(text: str, settlements: gpd.GeoDataFrame) -> pd.Series:
    """The settlement named ``text`` (name or Ukrainian name, case-insensitive; or its id).

    When several settlements share the name, the most populous one is returned.

    Raises
    ------
    NotFoundError
        With up to 5 close matches when no settlement has that name.
    """
    q = _norm(text)
    if not q:
        raise NotFoundError("empty place name")
    if settlements is None or not len(settlements):
        raise NotFoundError(f"no settlement named '{text}': the settlements layer is empty")
    names = settlements["name"].map(_norm)
    mask = (names == q) | (settlements["id"].astype(str).map(_norm) == q)
    if "name_uk" in settlements.columns:
        mask |= settlements["name_uk"].fillna("").map(_norm) == q
    hits = settlements[mask]
    if len(hits):
        if "population" in hits.columns and len(hits) > 1:
            hits = hits.sort_values("population", ascending=False, kind="stable")
        return hits.iloc[0]
    pool = {n: n for n in settlements["name"].astype(str)}
    if "name_uk" in settlements.columns:
        pool.update({str(n): str(n) for n in settlements["name_uk"].dropna()})
    lower = {_norm(k): k for k in pool}
    close = [lower[c] for c in difflib.get_close_matches(q, list(lower), n=5, cutoff=0.6)]
    hint = f"; did you mean: {', '.join(close)}?" if close else "; give a settlement name or 'lat,lon'"
    raise NotFoundError(f"no settlement named '{text}'{hint}")


def parse_latlon(text: str) -> tuple[float, float] | None:
    """``(lat, lon)`` from ``"48.5,37.2"``; None when the text is not two numbers."""
    m = _LATLON_RE.match(str(text))
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise AnalysisError(f"'{text}' is not a valid 'lat,lon' (latitude -90..90, longitude -180..180)")
    return lat, lon


def resolve_place(
    text: str | tuple[float, float],
    *,
    graph: RoadGraph,
    settlements: gpd.GeoDataFrame | None = None,
    max_snap_km: float = MAX_SNAP_KM,
) -> Place:
    """Resolve a settlement name or ``"lat,lon"`` (or a ``(lat, lon)`` tuple) and snap it to the road graph.

    Raises
    ------
    NotFoundError
        Unknown settlement name (close matches suggested).
    AnalysisError
        The point is further than ``max_snap_km`` from any passable road.
    """
    sid = None
    if isinstance(text, tuple):
        lat, lon = float(text[0]), float(text[1])
        label = f"{lat:.5f},{lon:.5f}"
    else:
        ll = parse_latlon(text)
        if ll is not None:
            lat, lon = ll
            label = f"{lat:.5f},{lon:.5f}"
        else:
            row = find_settlement(text, settlements)
            pt = row.geometry
            lon, lat = float(pt.x), float(pt.y)
            label, sid = str(row["name"]), str(row["id"])
    nodes, dist = graph.snap(lon, lat)
    if dist[0] > max_snap_km:
        raise AnalysisError(
            f"'{label}' is {dist[0]:.1f} km from the nearest passable road (limit {max_snap_km:g} km); "
            "pick a point on or near the road network"
        )
    return Place(label=label, lon=lon, lat=lat, node=int(nodes[0]), snap_km=float(dist[0]), settlement_id=sid)


# ----------------------------------------------------------------------------------------------
# Routes
# ----------------------------------------------------------------------------------------------


@dataclass
class Route:
    """One route on the graph (edges in travel order)."""

    nodes: np.ndarray
    edges: np.ndarray
    cost: float  # policy cost (penalised minutes)
    minutes: float  # travel time
    length_km: float
    geometry: LineString


def route_road_ids(graph: RoadGraph, route: Route) -> list[str]:
    """The ``roads.id`` of each road row the route drives, in travel order (a row cut into
    several pieces at junctions is listed once per consecutive run)."""
    rows = graph.edge_seg[route.edges]
    if len(rows):
        rows = rows[np.r_[True, rows[1:] != rows[:-1]]]
    return graph.roads["id"].astype(str).to_numpy()[rows].tolist()


def route_geometry(graph: RoadGraph, nodes: np.ndarray, edges: np.ndarray) -> LineString:
    """The route's line (lon/lat), each piece oriented in travel direction."""
    edges = np.asarray(edges, dtype=np.int64)
    c0, c1 = graph.edge_c0[edges], graph.edge_c1[edges]
    parts = []
    for k in range(len(edges)):
        seg = graph.coords[c0[k]:c1[k] + 1]
        if graph.edge_u[edges[k]] != nodes[k]:
            seg = seg[::-1]
        parts.append(seg if k == 0 else seg[1:])
    return LineString(np.concatenate(parts))


def _make_route(graph: RoadGraph, w_cost: np.ndarray, nodes: np.ndarray, edges: np.ndarray) -> Route:
    return Route(
        nodes=nodes,
        edges=edges,
        cost=float(w_cost[edges].sum()),
        minutes=float(graph.edge_minutes[edges].sum()),
        length_km=float(graph.edge_length_km[edges].sum()),
        geometry=route_geometry(graph, nodes, edges),
    )


def _walk(w: WeightedGraph, start: int, first: int) -> tuple[list[int], list[int]]:
    """Follow a chain from ``start`` along unique edge ``first`` to the next junction (or back to
    ``start`` on a cycle); returns (unique edges, nodes incl. both ends)."""
    ua, ub, junction, inc_ptr, inc_e = w.ua, w.ub, w.junction, w.inc_ptr, w.inc_e
    edges, nodes = [], [start]
    e, n = first, start
    while True:
        edges.append(e)
        a = ua.item(e)
        n = ub.item(e) if a == n else a
        nodes.append(n)
        if junction.item(n) or n == start:
            return edges, nodes
        p = inc_ptr.item(n)
        e1 = inc_e.item(p)
        e = inc_e.item(p + 1) if e1 == e else e1


@dataclass
class _Access:
    """How a node reaches the core: the junction, the cost, and the path (edges, nodes) from the node."""

    junction: int
    cost: float
    edges: list[int]
    nodes: list[int]


def _accesses(w: WeightedGraph, node: int) -> list[_Access]:
    if w.junction.item(node):
        return [_Access(node, 0.0, [], [node])] if w.inc_ptr[node + 1] > w.inc_ptr[node] else []
    out = []
    p = w.inc_ptr.item(node)
    for first in (w.inc_e.item(p), w.inc_e.item(p + 1)):
        edges, nodes = _walk(w, node, first)
        if nodes[-1] != node:
            out.append(_Access(nodes[-1], float(w.uc_ab[edges].sum()), edges, nodes))
        else:  # a pure cycle: no way out
            out.append(_Access(-1, np.inf, edges, nodes))
    return out


def _chain_from(w: WeightedGraph, x: int, chain: int) -> tuple[list[int], list[int]]:
    """Walk ``chain`` starting at junction ``x``."""
    for i in range(w.inc_ptr.item(x), w.inc_ptr.item(x + 1)):
        e = w.inc_e.item(i)
        if w.chain.item(e) == chain:
            return _walk(w, x, e)
    raise AnalysisError("internal error: chain not incident to junction")


def _best_path(w: WeightedGraph, core: sp.csr_matrix, pair_chain: tuple[np.ndarray, np.ndarray], origin: int,
               target: int) -> tuple[list[int], list[int]] | None:
    """Cheapest path (unique edges, nodes) from ``origin`` to ``target`` using the core graph."""
    acc_o = _accesses(w, origin)
    acc_t = _accesses(w, target)
    best: tuple[float, Any] = (np.inf, None)
    # origin and target on the same chain: along the chain, without a junction
    for a in acc_o:
        if target in a.nodes[1:]:
            i = a.nodes.index(target, 1)
            c = float(w.uc_ab[a.edges[:i]].sum())
            if c < best[0]:
                best = (c, ("direct", a.edges[:i], a.nodes[:i + 1]))
    starts = sorted({a.junction for a in acc_o if a.junction >= 0})
    ends = [t for t in acc_t if t.junction >= 0]
    if starts and ends:
        rows = w.core_id[np.asarray(starts)]
        dist, pred = dijkstra(core, indices=rows, return_predecessors=True)
        for a in acc_o:
            if a.junction < 0:
                continue
            r = starts.index(a.junction)
            for t in ends:
                c = a.cost + float(dist[r, w.core_id[t.junction]]) + t.cost
                if c < best[0]:
                    best = (c, ("core", a, t, r))
    if best[1] is None:
        return None
    if best[1][0] == "direct":
        return best[1][1], best[1][2]
    _, a, t, r = best[1]
    # junction sequence on the core from a.junction to t.junction
    seq = [int(w.core_id[t.junction])]
    src = int(w.core_id[a.junction])
    while seq[-1] != src:
        prev = int(pred[r, seq[-1]])
        if prev < 0:
            raise AnalysisError("internal error: broken predecessor chain")
        seq.append(prev)
    seq.reverse()
    edges, nodes = list(a.edges), list(a.nodes)
    for x, y in itertools.pairwise(seq):
        chain = int(pair_chain[0 if x < y else 1][w.pair_index(x, y)])
        e, n = _chain_from(w, int(w.core_nodes[x]), chain)
        if n[-1] != w.core_nodes[y]:
            raise AnalysisError("internal error: chain does not end at the next junction")
        edges += e
        nodes += n[1:]
    edges += t.edges[::-1]
    nodes += t.nodes[::-1][1:]
    return edges, nodes


def _zone_ok(zone: np.ndarray, edges: np.ndarray, *, leave: bool, arrive: bool) -> bool:
    """True when the route's zone edges are only a leading run (``leave``) and a trailing run
    (``arrive``): the route may leave or reach the avoided zone, never cross it."""
    z = zone[edges]
    if not z.any():
        return True
    if z.all():
        return leave or arrive
    head = int(np.argmin(z))  # length of the leading run of zone edges
    tail = int(np.argmin(z[::-1]))
    return bool(not z[head:len(z) - tail].any() and (head == 0 or leave) and (tail == 0 or arrive))


def in_zone(graph: RoadGraph, policy: RoutingPolicy, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each lon/lat place lies inside the policy's avoided zone (within ``avoid_km`` of the
    front line, geodesic). Such places may use the zone's roads to leave or arrive
    (see :data:`~cimic_geo.analytics.roadgraph.ZONE_EXIT_FACTOR`)."""
    lon = np.atleast_1d(np.asarray(lon, float))
    if not policy.avoid_km:
        return np.zeros(len(lon), dtype=bool)
    d = graph.threat.points_distance_km(lon, np.atleast_1d(np.asarray(lat, float)),
                                        exact_near_km=(float(policy.avoid_km),))
    return d <= float(policy.avoid_km) + EDGE_TOLERANCE_KM


def find_routes(
    graph: RoadGraph,
    origin: int,
    target: int,
    *,
    policy: RoutingPolicy = NO_THREAT,
    alternatives: int = 3,
    max_shared: float = 0.7,
    max_stretch: float = 2.0,
    penalty_factor: float = 2.0,
    origin_in_zone: bool = False,
    target_in_zone: bool = False,
) -> list[Route]:
    """The best route and up to ``alternatives`` meaningfully different ones (best first).

    Dijkstra (:func:`scipy.sparse.csgraph.dijkstra`) runs on the policy's core graph of junctions
    (:class:`~cimic_geo.analytics.roadgraph.WeightedGraph`); origin and target reach it along
    their own chains, and each core edge on the result is walked back into road segments.

    Parameters
    ----------
    origin, target : node indices (see :func:`resolve_place`)
    policy : threat handling (excluded segments, band penalties, one-way)
    alternatives : at most this many alternatives (0-3)
    max_shared : an alternative shares less than this fraction of its length with every route kept
    max_stretch : an alternative costs at most this many times the best route
    penalty_factor : cost multiplier applied to the road chains of routes found so far
    origin_in_zone, target_in_zone : the start / end lies inside the avoided zone (:func:`in_zone`):
        the route may use the zone's roads to leave / reach it, by the way with the least time in
        the zone, never to cross it

    Returns
    -------
    list of :class:`Route`; empty when the target cannot be reached.
    """
    if not 0 <= alternatives <= 3:
        raise AnalysisError(f"alternatives must be 0..3, got {alternatives}")
    if origin == target:
        raise AnalysisError("origin and destination snap to the same road junction; pick two different places")
    exit_rule = bool(policy.avoid_km) and (origin_in_zone or target_in_zone)
    if exit_rule:
        policy = replace(policy, zone_exit=True)
    zone = graph.zone_mask(policy) if exit_rule else None
    w = graph.weighted(policy)
    # reported cost: the zone's roads at their band-penalised minutes (without the exit factor)
    report = np.where(zone, w.cost / ZONE_EXIT_FACTOR, w.cost) if zone is not None else w.cost

    def edges_of(ue_list: list[int], nodes: list[int]) -> np.ndarray:
        return w.step_edges(np.asarray(ue_list, dtype=np.int64), np.asarray(nodes, dtype=np.int64))

    def allowed(e: np.ndarray) -> bool:
        return zone is None or _zone_ok(zone, e, leave=origin_in_zone, arrive=target_in_zone)

    found = _best_path(w, w.core_csr, (w.pair_chain_up, w.pair_chain_dn), int(origin), int(target))
    if found is None or not allowed(edges_of(*found)):
        return []
    best = _make_route(graph, report, np.asarray(found[1], dtype=np.int64), edges_of(*found))
    kept = [best]
    if alternatives == 0:
        return kept
    up, dn = w.chain_up.copy(), w.chain_dn.copy()
    last_ue = found[0]
    seen = {tuple(best.edges.tolist())}
    for _ in range(3 * alternatives + 3):
        if len(kept) > alternatives:
            break
        hit = np.unique(w.chain[np.asarray(last_ue, dtype=np.int64)])
        up[hit] *= penalty_factor
        dn[hit] *= penalty_factor
        core, ch_up, ch_dn = w.core_matrix(up, dn)
        cand = _best_path(w, core, (ch_up, ch_dn), int(origin), int(target))
        if cand is None:
            break
        last_ue = cand[0]
        e2 = edges_of(*cand)
        key = tuple(e2.tolist())
        if key in seen:
            continue
        seen.add(key)
        if float(report[e2].sum()) > max_stretch * best.cost:
            break
        if not allowed(e2):
            continue
        cand_len = float(graph.edge_length_km[e2].sum())
        if cand_len > 0 and all(graph.edge_length_km[np.intersect1d(e2, r.edges)].sum() / cand_len < max_shared
                                for r in kept):
            kept.append(_make_route(graph, report, np.asarray(cand[1], dtype=np.int64), e2))
    return [kept[0], *sorted(kept[1:], key=lambda r: r.cost)]


# ----------------------------------------------------------------------------------------------
# Time to safety and cut-off settlements
# ----------------------------------------------------------------------------------------------


def _tree_reduce(pred: np.ndarray, value: np.ndarray, op: Any) -> np.ndarray:
    """``op``-reduce ``value`` over each node and its ancestors in a predecessor tree (pointer jumping)."""
    acc = value.copy()
    jump = np.where(pred >= 0, pred, -1)
    while (jump >= 0).any():
        valid = jump >= 0
        safe = np.where(valid, jump, 0)
        acc = np.where(valid, op(acc, acc[safe]), acc)
        jump = np.where(valid, jump[safe], -1)
    return acc


def _is_penalised(policy: RoutingPolicy) -> bool:
    return policy.penalties is not None and any(p != 1 for p in policy.penalties)


@dataclass
class _HubTree:
    """Shortest paths from every node to its nearest hub (a search backwards from the hubs)."""

    cost: np.ndarray  # policy cost; inf when no hub is reachable
    minutes: np.ndarray  # travel minutes along the path
    src: np.ndarray  # the hub node reached (-1: none)
    crossing: np.ndarray  # the path enters the avoided zone after having left it (zone-exit searches)


def _hub_search(graph: RoadGraph, policy: RoutingPolicy, hub_nodes: np.ndarray) -> _HubTree:
    """Nearest hub for every node, driving towards it (one-way respected)."""
    w = graph.weighted(policy)
    dist, pred, src = dijkstra(w.csr_reverse, indices=hub_nodes, min_only=True, return_predecessors=True)
    n = graph.n_nodes
    idx = np.arange(n)
    has = pred >= 0
    step_edge = np.full(n, -1, dtype=np.int64)
    step_edge[has] = w.pos_edge[w.positions(idx[has], pred[has])]  # node -> pred drives node towards the hub
    crossing = np.zeros(n, dtype=bool)
    if _is_penalised(policy) or policy.zone_exit:
        step = np.where(has, graph.edge_minutes[np.maximum(step_edge, 0)], 0.0)
        minutes = _tree_reduce(pred, step, np.add)
    else:
        minutes = dist
    if policy.zone_exit:
        zone_step = has & graph.zone_mask(policy)[np.maximum(step_edge, 0)]
        zone_ahead = _tree_reduce(pred, zone_step, np.logical_or)
        re_enter = has & ~zone_step & zone_ahead[np.where(has, pred, 0)]
        crossing = _tree_reduce(pred, re_enter, np.logical_or)
    finite = np.isfinite(dist)
    return _HubTree(cost=dist, minutes=np.where(finite, minutes, np.inf), src=src, crossing=crossing)


def time_to_safety(
    graph: RoadGraph,
    settlements: gpd.GeoDataFrame,
    *,
    policy: RoutingPolicy | None = None,
    hubs: Sequence[str] | None = None,
    max_snap_km: float = MAX_SNAP_KM,
) -> gpd.GeoDataFrame:
    """Travel time from every settlement to the nearest safe hub, and which settlements are cut off.

    Parameters
    ----------
    graph : the road graph at the as-of time
    settlements : the settlements layer (``id``, ``name``, ``population``, point geometry)
    policy : threat handling; default excludes the innermost band (``avoid_km`` = first band edge)
    hubs : settlement ids or names to use as safe hubs; default every settlement beyond the outer
        band and not on the occupied side
    max_snap_km : settlements further than this from a passable road are cut off (``no road``)

    Returns
    -------
    GeoDataFrame with ``id, name, population, front_km, band, occupied, hub, minutes, nearest_hub,
    snap_km, status, reason``. ``status`` is one of ``hub``, ``reachable``, ``cut_off``,
    ``occupied``. A settlement inside the excluded band may leave it (its route may use band
    segments); a settlement outside it is cut off when every route to a hub enters the band.
    """
    if policy is None:
        policy = RoutingPolicy(avoid_km=graph.bands_km[0], penalties=None)
    if settlements is None or not len(settlements):
        raise AnalysisError("no settlements to compute access for")
    s = settlements.reset_index(drop=True)
    lon = s.geometry.x.to_numpy(float)
    lat = s.geometry.y.to_numpy(float)
    front_km = graph.threat.points_distance_km(lon, lat)
    occ = graph.threat.occupied_mask(lon, lat)
    nodes, snap_km = graph.snap(lon, lat)
    no_road = snap_km > max_snap_km
    outer = graph.bands_km[-1]
    if hubs is None:
        is_hub = (front_km > outer) & ~occ & ~no_road
    else:
        ids = s["id"].astype(str).to_numpy()
        is_hub = np.zeros(len(s), dtype=bool)
        for h in hubs:
            row = find_settlement(h, s)
            is_hub |= ids == str(row["id"])
        if (is_hub & no_road).any():
            bad = s.loc[is_hub & no_road, "name"].iloc[0]
            raise AnalysisError(f"hub '{bad}' is more than {max_snap_km:g} km from a passable road")
    if not is_hub.any():
        raise AnalysisError(
            f"no safe hub: no settlement lies beyond the outer threat band ({outer:g} km) on the friendly "
            "side; choose hubs explicitly"
        )
    hub_nodes = np.unique(nodes[is_hub])
    node_to_hub = pd.Series(s["id"].astype(str).to_numpy()[is_hub], index=nodes[is_hub])
    node_to_hub = node_to_hub[~node_to_hub.index.duplicated()]

    strict = _hub_search(graph, replace(policy, zone_exit=False), hub_nodes)
    minutes = strict.minutes[nodes]
    src = strict.src[nodes]
    in_band = in_zone(graph, policy, lon, lat)
    crosses = np.zeros(len(s), dtype=bool)
    if in_band.any():
        # the danger-zone rule: inside the avoided zone a settlement may use the zone's roads to
        # leave it, by the way with the least time in the zone, never to cross it again
        out = _hub_search(graph, replace(policy, zone_exit=True), hub_nodes)
        crosses = in_band & out.crossing[nodes]
        ok = np.isfinite(out.cost[nodes]) & ~crosses
        minutes = np.where(in_band, np.where(ok, out.minutes[nodes], np.inf), minutes)
        src = np.where(in_band, out.src[nodes], src)
    net = _hub_search(graph, replace(policy, avoid_km=None, penalties=None, zone_exit=False), hub_nodes)
    reachable_without_band = np.isfinite(net.cost[nodes])

    status = np.where(is_hub, "hub", np.where(np.isfinite(minutes) & ~no_road, "reachable", "cut_off"))
    status = np.where(occ & ~is_hub, "occupied", status)
    reason = np.full(len(s), "", dtype=object)
    cut = status == "cut_off"
    reason[cut & no_road] = f"no passable road within {max_snap_km:g} km"
    reason[cut & ~no_road & reachable_without_band] = "every route enters the excluded threat band"
    reason[cut & ~no_road & reachable_without_band & in_band] = "every way out of the excluded band crosses it again"
    reason[cut & ~no_road & ~reachable_without_band] = "road network broken (impassable roads, destroyed bridges)"
    minutes = np.where(is_hub, 0.0, np.where(status == "reachable", minutes, np.nan))
    labels = [*band_labels(graph.bands_km), "beyond"]
    band = np.array(labels, dtype=object)[graph.threat.band_index(front_km)]
    band = np.where(occ, "occupied", band)
    hub_id = np.where(status == "reachable", node_to_hub.reindex(src).to_numpy(), None)
    hub_id = np.where(is_hub, s["id"].astype(str).to_numpy(), hub_id)
    out = gpd.GeoDataFrame(
        {
            "id": s["id"].astype(str).to_numpy(),
            "name": s["name"].to_numpy(),
            "population": pd.to_numeric(s.get("population", 0), errors="coerce").fillna(0).astype("int64").to_numpy(),
            "front_km": np.round(front_km, 3),
            "band": band,
            "occupied": occ,
            "hub": is_hub,
            "in_excluded_band": in_band,
            "minutes": minutes,
            "nearest_hub": hub_id,
            "snap_km": np.round(snap_km, 3),
            "status": status,
            "reason": reason,
        },
        geometry=s.geometry.values,
        crs="EPSG:4326",
    )
    return out
