"""Routing on the road graph: places, least-risk routes with alternatives, the danger-zone rule.

All graph searches are :func:`scipy.sparse.csgraph.dijkstra` on the CSR matrix of a
:class:`~cimic_geo.analytics.roadgraph.RoadGraph` for a :class:`RoutingPolicy` (a one-off CLI
route may search in plain Python instead: ``core_search`` of :func:`find_routes`,
:func:`cimic_geo.analytics.route_fast.python_search`, which gives the same routes).

* :func:`find_routes` — the least-cost route (travel time × band penalty, excluded segments left
  out) and up to 3 alternatives by the penalty method: the edges of routes found so far are made
  more expensive and the search repeated; a candidate is kept when it shares less than
  ``max_shared`` of its length with every route kept so far and costs at most ``max_stretch``
  times the best.
* :func:`in_zone` and the danger-zone rule: a start or end inside the avoided zone may use the
  zone's roads to leave or reach it, never to cross it (time to safety and cut-off settlements,
  :mod:`cimic_geo.analytics.time_to_safety`, follow the same rule).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import LineString

from cimic_geo.analytics.places import (  # noqa: F401  (re-exported: the routing API)
    MAX_SNAP_KM,
    EdgePoint,
    Place,
    find_settlement,
    parse_latlon,
    resolve_place,
)
from cimic_geo.analytics.road_chains import accesses, chain_from
from cimic_geo.analytics.road_noding import unique_sorted
from cimic_geo.analytics.road_policy import NO_THREAT, ZONE_EXIT_FACTOR, RoutingPolicy
from cimic_geo.analytics.road_weights import WeightedGraph
from cimic_geo.analytics.route_roads import (  # noqa: F401  (re-exported: the routing API)
    route_geometry,
    route_road_ids,
    route_rows,
)
from cimic_geo.errors import AnalysisError

if TYPE_CHECKING:  # routes are found without pandas too (cimic_geo.analytics.route_fast)
    import scipy.sparse as sp

    from cimic_geo.analytics.roadgraph import RoadGraph

#: A shortest-path search on a core graph: ``(rows, targets) -> (dist, pred)`` from each of the core
#: nodes ``rows``, as :func:`scipy.sparse.csgraph.dijkstra` with ``return_predecessors`` gives them
#: (exact at least at the core nodes ``targets`` and on the paths to them).
CoreSearch = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: A core graph as the arrays ``(data, indices, indptr)`` of its CSR matrix
#: (:meth:`~cimic_geo.analytics.road_weights.WeightedGraph.core_parts`).
CoreParts = tuple[np.ndarray, np.ndarray, np.ndarray]


def scipy_search(core: CoreParts | sp.csr_matrix | Callable[[], sp.csr_matrix]) -> CoreSearch:
    """:func:`scipy.sparse.csgraph.dijkstra` on ``core`` (a matrix, its CSR arrays, or a function
    returning the matrix, built when the search runs)."""
    def run(rows: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from scipy.sparse.csgraph import dijkstra

        m = core() if callable(core) else core
        if isinstance(m, tuple):
            import scipy.sparse as sp

            n = len(m[2]) - 1
            m = sp.csr_matrix(m, shape=(n, n))
        return dijkstra(m, indices=rows, return_predecessors=True)
    return run

# ----------------------------------------------------------------------------------------------
# Routes
# ----------------------------------------------------------------------------------------------


@dataclass
class Route:
    """One route on the graph: edges in travel order, edge ``k`` driven from ``nodes[k]`` to
    ``nodes[k + 1]``. A route from or to a point on an edge (:class:`EdgePoint`) drives that first
    or last edge in part: it starts ``start_pos`` and ends ``end_pos`` of the way along them in
    travel direction (0 and 1 for whole edges)."""

    nodes: np.ndarray
    edges: np.ndarray
    cost: float  # policy cost (penalised minutes)
    minutes: float  # travel time
    length_km: float
    geometry: LineString
    start_pos: float = 0.0
    end_pos: float = 1.0

    @property
    def parts(self) -> np.ndarray:
        """Share of each edge driven (1 for whole edges)."""
        p = np.ones(len(self.edges))
        if len(p) == 1:
            p[0] = self.end_pos - self.start_pos
        elif len(p):
            p[0], p[-1] = 1.0 - self.start_pos, self.end_pos
        return p


def _make_route(graph: RoadGraph, w_cost: np.ndarray, nodes: np.ndarray, edges: np.ndarray,
                start_pos: float = 0.0, end_pos: float = 1.0) -> Route:
    r = Route(nodes=nodes, edges=edges, cost=0.0, minutes=0.0, length_km=0.0, geometry=LineString(),
              start_pos=start_pos, end_pos=end_pos)
    p = r.parts
    r.cost = float((w_cost[edges] * p).sum())
    r.minutes = float((graph.edge_minutes[edges] * p).sum())
    r.length_km = float((graph.edge_length_km[edges] * p).sum())
    r.geometry = route_geometry(graph, nodes, edges, start_pos=start_pos, end_pos=end_pos)
    return r


def _best_path(w: WeightedGraph, search: CoreSearch, pair_chain: tuple[np.ndarray, np.ndarray],
               origins: list[tuple[int, float]], targets: list[tuple[int, float]]
               ) -> tuple[list[int], list[int], int, int] | None:
    """Cheapest path (unique edges, nodes, origin used, target used) from any of the ``(node,
    extra cost)`` origins to any of the targets, using the core graph (searched with ``search``)."""
    best: tuple[float, Any] = (np.inf, None)
    acc_o = [(i, a) for i, (node, _) in enumerate(origins) for a in accesses(w, node)]
    acc_t = [(j, t) for j, (node, _) in enumerate(targets) for t in accesses(w, node)]
    for i, (o_node, o_off) in enumerate(origins):
        for j, (t_node, t_off) in enumerate(targets):
            if o_node == t_node and o_off + t_off < best[0]:
                best = (o_off + t_off, ("direct", [], [o_node], i, j))
    # origin and target on the same chain: along the chain, without a junction
    for i, a in acc_o:
        for j, (t_node, t_off) in enumerate(targets):
            if t_node in a.nodes[1:]:
                k = a.nodes.index(t_node, 1)
                c = origins[i][1] + float(w.uc_ab[a.edges[:k]].sum()) + t_off
                if c < best[0]:
                    best = (c, ("direct", a.edges[:k], a.nodes[:k + 1], i, j))
    starts = sorted({a.junction for _, a in acc_o if a.junction >= 0})
    ends = [(j, t) for j, t in acc_t if t.junction >= 0]
    if starts and ends:
        rows = w.core_id[np.asarray(starts)]
        dist, pred = search(rows, w.core_id[np.asarray(sorted({t.junction for _, t in ends}))])
        for i, a in acc_o:
            if a.junction < 0:
                continue
            r = starts.index(a.junction)
            for j, t in ends:
                c = origins[i][1] + a.cost + float(dist[r, w.core_id[t.junction]]) + t.cost + targets[j][1]
                if c < best[0]:
                    best = (c, ("core", a, t, r, i, j))
    if best[1] is None:
        return None
    if best[1][0] == "direct":
        return best[1][1], best[1][2], best[1][3], best[1][4]
    _, a, t, r, i, j = best[1]
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
        e, n = chain_from(w, int(w.core_nodes[x]), chain)
        if n[-1] != w.core_nodes[y]:
            raise AnalysisError("internal error: chain does not end at the next junction")
        edges += e
        nodes += n[1:]
    edges += t.edges[::-1]
    nodes += t.nodes[::-1][1:]
    return edges, nodes, i, j


@dataclass(frozen=True)
class _End:
    """A way a route starts (ends): at ``node``, after (before) driving ``part`` of ``edge``
    (-1: no partial edge) from (to) the point, at ``cost``; ``pos`` is where the point lies along
    that edge in travel direction."""

    node: int
    cost: float
    edge: int = -1
    pos: float = 0.0


def _ends(graph: RoadGraph, cost: np.ndarray, point: EdgePoint | int, *, leaving: bool, ignore_oneway: bool
          ) -> list[_End]:
    """The ways to join the network at ``point``: a node as it is, or a point on an edge split
    there (a virtual node) with the partial edge's cost to each end it may be driven to or from
    (one-way edges only from ``edge_u`` towards ``edge_v``)."""
    if not isinstance(point, EdgePoint):
        return [_End(int(point), 0.0)]
    e, f = int(point.edge), min(max(float(point.frac), 0.0), 1.0)
    c = float(cost[e])
    u, v = int(graph.edge_u[e]), int(graph.edge_v[e])
    # a point on an end node is that node, whatever its edge's cost or direction
    if f == 0.0:
        return [_End(u, 0.0)]
    if f == 1.0:
        return [_End(v, 0.0)]
    if not np.isfinite(c):
        return []
    both = ignore_oneway or not bool(graph.edge_oneway[e])
    out = []
    if leaving:  # point -> v drives forward; point -> u backward
        out.append(_End(v, (1 - f) * c, e, f))
        if both:
            out.append(_End(u, f * c, e, 1 - f))
    else:  # u -> point forward; v -> point backward
        out.append(_End(u, f * c, e, f))
        if both:
            out.append(_End(v, (1 - f) * c, e, 1 - f))
    return out


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
    from cimic_geo.analytics.bands import EDGE_TOLERANCE_KM

    d = graph.threat.points_distance_km(lon, np.atleast_1d(np.asarray(lat, float)),
                                        exact_near_km=(float(policy.avoid_km),))
    return d <= float(policy.avoid_km) + EDGE_TOLERANCE_KM


def find_routes(
    graph: RoadGraph,
    origin: int | EdgePoint,
    target: int | EdgePoint,
    *,
    policy: RoutingPolicy = NO_THREAT,
    alternatives: int = 3,
    max_shared: float = 0.7,
    max_stretch: float = 2.0,
    penalty_factor: float = 2.0,
    origin_in_zone: bool = False,
    target_in_zone: bool = False,
    core_search: Callable[[CoreParts], CoreSearch] | None = None,
) -> list[Route]:
    """The best route and up to ``alternatives`` meaningfully different ones (best first).

    Dijkstra (:func:`scipy.sparse.csgraph.dijkstra`) runs on the policy's core graph of junctions
    (:class:`~cimic_geo.analytics.roadgraph.WeightedGraph`); origin and target reach it along
    their own chains, and each core edge on the result is walked back into road segments.

    Parameters
    ----------
    origin, target : node indices, or points on edges (:class:`EdgePoint`, :attr:`Place.point`):
        a point splits its edge and the route drives the partial edge to or from either end
        (one-way edges only in their direction), its time counted in part
    policy : threat handling (excluded segments, band penalties, one-way)
    alternatives : at most this many alternatives (0-3)
    max_shared : an alternative shares less than this fraction of its length with every route kept
    max_stretch : an alternative costs at most this many times the best route
    penalty_factor : cost multiplier applied to the road chains of routes found so far
    origin_in_zone, target_in_zone : the start / end lies inside the avoided zone (:func:`in_zone`):
        the route may use the zone's roads to leave / reach it, by the way with the least time in
        the zone, never to cross it
    core_search : makes the search of a core graph given as its CSR arrays: the policy's core for
        the best route, the re-weighted cores for the alternatives (default: :func:`scipy_search`,
        scipy's dijkstra; the policy's core as :attr:`WeightedGraph.core_csr`)

    Returns
    -------
    list of :class:`Route`; empty when the target cannot be reached.
    """
    if not 0 <= alternatives <= 3:
        raise AnalysisError(f"alternatives must be 0..3, got {alternatives}")
    if origin == target:
        raise AnalysisError("origin and destination snap to the same road junction or point; pick two "
                            "different places")
    exit_rule = bool(policy.avoid_km) and (origin_in_zone or target_in_zone)
    if exit_rule:
        policy = replace(policy, zone_exit=True)
    zone = graph.zone_mask(policy) if exit_rule else None
    w = graph.weighted(policy)
    # reported cost: the zone's roads at their band-penalised minutes (without the exit factor)
    report = np.where(zone, w.cost / ZONE_EXIT_FACTOR, w.cost) if zone is not None else w.cost

    o_ends = _ends(graph, w.cost, origin, leaving=True, ignore_oneway=policy.ignore_oneway)
    t_ends = _ends(graph, w.cost, target, leaving=False, ignore_oneway=policy.ignore_oneway)
    o_list = [(x.node, x.cost) for x in o_ends]
    t_list = [(x.node, x.cost) for x in t_ends]

    def assemble(found: tuple[list[int], list[int], int, int]) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Graph edges, nodes and the first/last edge positions of a path between two ends."""
        ue, nodes, i, j = found
        edges = w.step_edges(np.asarray(ue, dtype=np.int64), np.asarray(nodes, dtype=np.int64)).tolist()
        o, t = o_ends[i], t_ends[j]
        start, end = 0.0, 1.0
        if o.edge >= 0:
            other = int(graph.edge_u[o.edge] + graph.edge_v[o.edge]) - o.node
            edges, nodes, start = [o.edge, *edges], [other, *nodes], o.pos
        if t.edge >= 0:
            other = int(graph.edge_u[t.edge] + graph.edge_v[t.edge]) - t.node
            edges, nodes, end = [*edges, t.edge], [*nodes, other], t.pos
        return np.asarray(edges, dtype=np.int64), np.asarray(nodes, dtype=np.int64), start, end

    def allowed(e: np.ndarray) -> bool:
        return zone is None or _zone_ok(zone, e, leave=origin_in_zone, arrive=target_in_zone)

    def search(how: CoreSearch, chains: tuple[np.ndarray, np.ndarray]
               ) -> tuple[list[int], tuple[np.ndarray, np.ndarray, float, float]] | None:
        found = _best_path(w, how, chains, o_list, t_list) if o_list and t_list else None
        direct = _same_edge(graph, w.cost, origin, target, ignore_oneway=policy.ignore_oneway)
        if direct is not None and (found is None or direct[0] <= _path_cost(w.cost, assemble(found))):
            return [], direct[1]
        return None if found is None else (found[0], assemble(found))

    make = core_search or scipy_search
    res = search(make(w.core_arrays) if core_search else scipy_search(lambda: w.core_csr),
                 (w.pair_chain_up, w.pair_chain_dn))
    if res is None or not allowed(res[1][0]):
        return []
    e1, n1, s1, t1 = res[1]
    best = _make_route(graph, report, n1, e1, s1, t1)
    kept = [best]
    if alternatives == 0:
        return kept
    up, dn = w.chain_up.copy(), w.chain_dn.copy()
    last_ue = res[0]
    seen = {tuple(best.edges.tolist())}
    for _ in range(3 * alternatives + 3):
        if len(kept) > alternatives or not last_ue:
            break
        hit = unique_sorted(w.chain[np.asarray(last_ue, dtype=np.int64)])
        up[hit] *= penalty_factor
        dn[hit] *= penalty_factor
        parts, ch_up, ch_dn = w.core_parts(up, dn)
        cand = search(make(parts), (ch_up, ch_dn))
        if cand is None:
            break
        last_ue = cand[0]
        e2, n2, s2, t2 = cand[1]
        key = tuple(e2.tolist())
        if key in seen:
            continue
        seen.add(key)
        r2 = _make_route(graph, report, n2, e2, s2, t2)
        if r2.cost > max_stretch * best.cost:
            break
        if not allowed(e2):
            continue
        if r2.length_km > 0 and all(graph.edge_length_km[_common(e2, r.edges)].sum() / r2.length_km < max_shared
                                    for r in kept):
            kept.append(r2)
    return [kept[0], *sorted(kept[1:], key=lambda r: r.cost)]


def _common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sorted values in both ``a`` and ``b`` (:func:`numpy.intersect1d`)."""
    a, b = unique_sorted(a), unique_sorted(b)
    if not len(b):
        return b
    i = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[i] == a]


def _path_cost(cost: np.ndarray, path: tuple[np.ndarray, np.ndarray, float, float]) -> float:
    edges, _, start, end = path
    p = np.ones(len(edges))
    if len(p) == 1:
        p[0] = end - start
    elif len(p):
        p[0], p[-1] = 1.0 - start, end
    return float((cost[edges] * p).sum())


def _same_edge(graph: RoadGraph, cost: np.ndarray, origin: int | EdgePoint, target: int | EdgePoint, *,
               ignore_oneway: bool) -> tuple[float, tuple[np.ndarray, np.ndarray, float, float]] | None:
    """Driving straight along one edge from a point on it to another point on it (when allowed)."""
    if not (isinstance(origin, EdgePoint) and isinstance(target, EdgePoint)) or origin.edge != target.edge:
        return None
    e, f, g = int(origin.edge), float(origin.frac), float(target.frac)
    c = float(cost[e])
    u, v = int(graph.edge_u[e]), int(graph.edge_v[e])
    if not np.isfinite(c):
        return None
    if g >= f:
        return (g - f) * c, (np.array([e]), np.array([u, v]), f, g)
    if ignore_oneway or not bool(graph.edge_oneway[e]):
        return (f - g) * c, (np.array([e]), np.array([v, u]), 1 - f, 1 - g)
    return None
