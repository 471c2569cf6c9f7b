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

from cimic_geo.analytics.bands import band_labels
from cimic_geo.analytics.roadgraph import NO_THREAT, RoadGraph, RoutingPolicy, WeightedGraph
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
    """The ``roads.id`` of each segment of the route, in travel order."""
    return graph.roads["id"].astype(str).to_numpy()[graph.edge_seg[route.edges]].tolist()


def route_geometry(graph: RoadGraph, nodes: np.ndarray, edges: np.ndarray) -> LineString:
    """The route's line (lon/lat), each segment oriented in travel direction."""
    import shapely

    geoms = np.asarray(graph.roads.geometry.values, dtype=object)[graph.edge_seg[edges]]
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(idx, minlength=len(edges))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    parts = []
    for k, (s, c) in enumerate(zip(starts, counts, strict=True)):
        seg = coords[s:s + c]
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
            out.append(_Access(nodes[-1], float(w.uc[edges].sum()), edges, nodes))
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


def _best_path(w: WeightedGraph, core: sp.csr_matrix, pair_chain: np.ndarray, origin: int, target: int
               ) -> tuple[list[int], list[int]] | None:
    """Cheapest path (unique edges, nodes) from ``origin`` to ``target`` using the core graph."""
    acc_o = _accesses(w, origin)
    acc_t = _accesses(w, target)
    best: tuple[float, Any] = (np.inf, None)
    # origin and target on the same chain: along the chain, without a junction
    for a in acc_o:
        if target in a.nodes[1:]:
            i = a.nodes.index(target, 1)
            c = float(w.uc[a.edges[:i]].sum())
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
        chain = int(pair_chain[w.pair_index(x, y)])
        e, n = _chain_from(w, int(w.core_nodes[x]), chain)
        if n[-1] != w.core_nodes[y]:
            raise AnalysisError("internal error: chain does not end at the next junction")
        edges += e
        nodes += n[1:]
    edges += t.edges[::-1]
    nodes += t.nodes[::-1][1:]
    return edges, nodes


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
) -> list[Route]:
    """The best route and up to ``alternatives`` meaningfully different ones (best first).

    Dijkstra (:func:`scipy.sparse.csgraph.dijkstra`) runs on the policy's core graph of junctions
    (:class:`~cimic_geo.analytics.roadgraph.WeightedGraph`); origin and target reach it along
    their own chains, and each core edge on the result is walked back into road segments.

    Parameters
    ----------
    origin, target : node indices (see :func:`resolve_place`)
    policy : threat handling (excluded segments, band penalties)
    alternatives : at most this many alternatives (0-3)
    max_shared : an alternative shares less than this fraction of its length with every route kept
    max_stretch : an alternative costs at most this many times the best route
    penalty_factor : cost multiplier applied to the road chains of routes found so far

    Returns
    -------
    list of :class:`Route`; empty when the target cannot be reached.
    """
    if not 0 <= alternatives <= 3:
        raise AnalysisError(f"alternatives must be 0..3, got {alternatives}")
    if origin == target:
        raise AnalysisError("origin and destination snap to the same road junction; pick two different places")
    w = graph.weighted(policy)
    found = _best_path(w, w.core_csr, w.pair_chain, int(origin), int(target))
    if found is None:
        return []

    def make(ue_list: list[int], nodes: list[int]) -> Route:
        ue_arr = np.asarray(ue_list, dtype=np.int64)
        return _make_route(graph, w.cost, np.asarray(nodes, dtype=np.int64), w.ue[ue_arr])

    best = make(*found)
    kept = [best]
    if alternatives == 0:
        return kept
    chain_cost = w.chain_cost.copy()
    last_ue = found[0]
    seen = {tuple(best.edges.tolist())}
    for _ in range(3 * alternatives + 3):
        if len(kept) > alternatives:
            break
        chain_cost[np.unique(w.chain[np.asarray(last_ue, dtype=np.int64)])] *= penalty_factor
        core, pair_chain = w.core_matrix(chain_cost)
        cand = _best_path(w, core, pair_chain, int(origin), int(target))
        if cand is None:
            break
        last_ue = cand[0]
        e2 = w.ue[np.asarray(cand[0], dtype=np.int64)]
        key = tuple(e2.tolist())
        if key in seen:
            continue
        seen.add(key)
        cand_cost = float(w.cost[e2].sum())
        if cand_cost > max_stretch * best.cost:
            break
        cand_len = float(graph.edge_length_km[e2].sum())
        if cand_len > 0 and all(graph.edge_length_km[np.intersect1d(e2, r.edges)].sum() / cand_len < max_shared
                                for r in kept):
            kept.append(make(*cand))
    return [kept[0], *sorted(kept[1:], key=lambda r: r.cost)]


# ----------------------------------------------------------------------------------------------
# Time to safety and cut-off settlements
# ----------------------------------------------------------------------------------------------


def _tree_minutes(graph: RoadGraph, policy: RoutingPolicy, pred: np.ndarray) -> np.ndarray:
    """Travel minutes from each node to its tree root along the predecessor tree (list ranking)."""
    w = graph.weighted(policy)
    n = graph.n_nodes
    idx = np.arange(n)
    has = pred >= 0
    step = np.zeros(n)
    pos = w.positions(pred[has], idx[has])
    step[has] = graph.edge_minutes[w.pos_edge[pos]]
    acc = step.copy()
    jump = np.where(has, pred, -1)
    while (jump >= 0).any():
        valid = jump >= 0
        acc = acc + np.where(valid, acc[np.where(valid, jump, 0)], 0.0)
        jump = np.where(valid, jump[np.where(valid, jump, 0)], -1)
    return acc


def _is_penalised(policy: RoutingPolicy) -> bool:
    return policy.penalties is not None and any(p != 1 for p in policy.penalties)


def _hub_search(graph: RoadGraph, policy: RoutingPolicy, hub_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(travel minutes, source hub node) from the nearest hub for every node; inf/-1 when unreachable."""
    w = graph.weighted(policy)
    dist, pred, src = dijkstra(w.csr, indices=hub_nodes, min_only=True, return_predecessors=True)
    minutes = _tree_minutes(graph, policy, pred) if _is_penalised(policy) else dist
    minutes = np.where(np.isfinite(dist), minutes, np.inf)
    return minutes, src


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

    minutes_n, src_n = _hub_search(graph, policy, hub_nodes)
    minutes = minutes_n[nodes]
    src = src_n[nodes]
    in_band = np.zeros(len(s), dtype=bool)
    if policy.avoid_km:
        # inside the excluded band a settlement has to cross it to get out: allow band segments
        in_band = front_km < float(policy.avoid_km)
        if in_band.any():
            free = replace(policy, avoid_km=None)
            m2, s2 = _hub_search(graph, free, hub_nodes)
            minutes = np.where(in_band, m2[nodes], minutes)
            src = np.where(in_band, s2[nodes], src)
    net_minutes, _ = _hub_search(graph, replace(policy, avoid_km=None, penalties=None), hub_nodes)
    reachable_without_band = np.isfinite(net_minutes[nodes])

    status = np.where(is_hub, "hub", np.where(np.isfinite(minutes) & ~no_road, "reachable", "cut_off"))
    status = np.where(occ & ~is_hub, "occupied", status)
    reason = np.full(len(s), "", dtype=object)
    cut = status == "cut_off"
    reason[cut & no_road] = f"no passable road within {max_snap_km:g} km"
    reason[cut & ~no_road & reachable_without_band] = "every route enters the excluded threat band"
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
