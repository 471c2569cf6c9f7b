"""Many places joined to the road graph at once, at the point where each meets its road.

A place joins the network at the nearest point on the nearest passable edge
(:func:`cimic_geo.analytics.road_snap.snap_edges`), ``frac`` of the way from ``edge_u`` to
``edge_v``: a virtual node splitting that edge, exactly as a route's start or end
(:func:`cimic_geo.analytics.routing.find_routes`). Leaving the place reaches ``edge_v`` after
``1 - frac`` of the edge and ``edge_u`` after ``frac`` of it; a one-way edge (drivable from
``edge_u`` to ``edge_v`` only, unless the policy ignores one-way) leaves only towards ``edge_v``
and is reached only from ``edge_u``. A place on an end node (``frac`` 0 or 1) is that node, open
whatever its edge's policy cost (the edge it snapped to may be excluded while the node's other
roads are not). Two places on the same edge are also joined along it.

Time to safety and coverage by travel time use these functions for thousands of places at once
(numpy, no loop per place): :func:`place_ends` lists the partial edges, :func:`with_sources` adds
one virtual source node per place to a CSR graph so that a single multi-source
:func:`scipy.sparse.csgraph.dijkstra` starts every place from its own point, and
:func:`same_edge_pairs` finds the places joined directly along one edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cimic_geo.analytics.road_weights import MIN_COST

if TYPE_CHECKING:
    from cimic_geo.analytics.roadgraph import RoadGraph


@dataclass
class Ends:
    """The ways places join the network: place ``place[k]`` reaches (or is reached from) node
    ``node[k]`` by driving ``part[k]`` (0-1) of edge ``edge[k]``."""

    place: np.ndarray
    node: np.ndarray
    part: np.ndarray
    edge: np.ndarray

    def cost(self, edge_cost: np.ndarray) -> np.ndarray:
        """Cost of each partial edge (inf when the edge is excluded, as for a route's start or end)."""
        return partial_cost(self.part, edge_cost[self.edge])


def partial_cost(part: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """``part`` of edges costing ``cost``: 0 for no part (a place on the node itself, whatever its
    edge), inf on excluded edges."""
    with np.errstate(invalid="ignore"):
        return np.where(part == 0, 0.0, np.where(np.isfinite(cost), part * cost, np.inf))


def one_way(graph: RoadGraph, *, ignore_oneway: bool) -> np.ndarray:
    """Edges drivable from ``edge_u`` to ``edge_v`` only under the policy."""
    return np.zeros(graph.n_edges, dtype=bool) if ignore_oneway else graph.edge_oneway.astype(bool)


def place_ends(graph: RoadGraph, edge: np.ndarray, frac: np.ndarray, *, leaving: bool, ignore_oneway: bool) -> Ends:
    """The partial edges joining places on ``edge`` at ``frac`` to the edges' end nodes.

    ``leaving``: from the place to ``edge_v`` (``1 - frac``) and, on two-way edges, to ``edge_u``
    (``frac``); arriving: from ``edge_u`` (``frac``) and, on two-way edges, from ``edge_v``.
    """
    edge = np.asarray(edge, dtype=np.int64)
    f = np.clip(np.asarray(frac, float), 0.0, 1.0)
    k = np.arange(len(edge))
    u, v = graph.edge_u[edge].astype(np.int64), graph.edge_v[edge].astype(np.int64)
    if leaving:
        n1, p1, n2, p2 = v, 1.0 - f, u, f
    else:
        n1, p1, n2, p2 = u, f, v, 1.0 - f
    # the end a place sits on (part 0) is always open: the place is that node
    two = ~one_way(graph, ignore_oneway=ignore_oneway)[edge] | (p2 == 0)
    return Ends(place=np.concatenate([k, k[two]]), node=np.concatenate([n1, n2[two]]),
                part=np.concatenate([p1, p2[two]]), edge=np.concatenate([edge, edge[two]]))


def with_sources(csr: sp.csr_matrix, n_sources: int, source: np.ndarray, node: np.ndarray,
                 weight: np.ndarray) -> sp.csr_matrix:
    """``csr`` (n × n) with ``n_sources`` extra nodes ``n .. n + n_sources - 1``; extra node
    ``n + source[k]`` has an edge to ``node[k]`` of ``weight[k]`` (infinite weights left out)."""
    n = csr.shape[0]
    ok = np.isfinite(weight)
    source, node, weight = np.asarray(source)[ok], np.asarray(node)[ok], np.asarray(weight, float)[ok]
    order = np.argsort(source, kind="stable")
    counts = np.bincount(source, minlength=n_sources)
    size = n + n_sources
    # int32 indices when they fit: what scipy.sparse.csgraph works with (no conversion copy)
    itype = np.int32 if max(size, int(csr.indptr[-1]) + len(node)) < 2**31 - 1 else np.int64
    indptr = np.concatenate([csr.indptr.astype(itype, copy=False), (csr.indptr[-1] + np.cumsum(counts)).astype(itype)])
    indices = np.concatenate([csr.indices.astype(itype, copy=False), node[order].astype(itype)])
    data = np.concatenate([csr.data.astype(float, copy=False), np.maximum(weight[order], MIN_COST)])
    return sp.csr_matrix((data, indices, indptr), shape=(size, size))


def same_edge_pairs(edge_a: np.ndarray, frac_a: np.ndarray, edge_b: np.ndarray, frac_b: np.ndarray,
                    one_way_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Places ``a`` and ``b`` on the same edge that ``a`` can drive to along it (forward always,
    backward on two-way edges): ``(ia, ib, part of the edge driven)``."""
    edge_a, edge_b = np.asarray(edge_a, np.int64), np.asarray(edge_b, np.int64)
    order = np.argsort(edge_b, kind="stable")
    eb = edge_b[order]
    lo = np.searchsorted(eb, edge_a, side="left")
    cnt = np.searchsorted(eb, edge_a, side="right") - lo
    ia = np.repeat(np.arange(len(edge_a)), cnt)
    offset = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ib = order[np.repeat(lo, cnt) + offset]
    d = np.asarray(frac_b, float)[ib] - np.asarray(frac_a, float)[ia]
    ok = (d >= 0) | ~one_way_edges[edge_a[ia]]
    return ia[ok], ib[ok], np.abs(d[ok])


def best_per_place(place: np.ndarray, cost: np.ndarray, n_places: int) -> tuple[np.ndarray, np.ndarray]:
    """The cheapest entry of each place: ``(cost, index into the entries)`` (inf / -1 for none)."""
    best = np.full(n_places, np.inf)
    pick = np.full(n_places, -1, dtype=np.int64)
    if not len(place):
        return best, pick
    order = np.lexsort((cost, place))
    first = np.ones(len(order), dtype=bool)
    first[1:] = place[order][1:] != place[order][:-1]
    sel = order[first]
    best[place[sel]] = cost[sel]
    pick[place[sel]] = sel
    pick[~np.isfinite(best)] = -1
    return best, pick
