"""Road-time reach searched on the core graph of junctions (:mod:`cimic_geo.analytics.reach`).

A national road network cut into segments is mostly chains of two-way roads through nodes of
degree 2 (:mod:`cimic_geo.analytics.road_weights`: ~19k junctions of ~1M nodes). Every place joins
the network on some node of a chain (the ends of the edge it is on, :mod:`cimic_geo.analytics.road_split`);
from there the only ways out of the chain are its two end junctions, at the chain cost between
(a chain's roads cost the same both ways). So the travel time from a settlement to a shelter is

* the cheapest of: leave to one of the settlement's chain ends, the shortest core path between
  junctions (:attr:`~cimic_geo.analytics.road_weights.WeightedGraph.core_csr`), arrive from one of
  the shelter's chain ends;
* or, when both are on the same chain, straight along it between their nodes (the same edge:
  :func:`~cimic_geo.analytics.road_split.same_edge_pairs`, in :mod:`cimic_geo.analytics.reach`).

The position of every chain node (the chain cost from its first end junction) comes from one
multi-source Dijkstra over the chains cut off at their junctions, done once per weighted graph.
The core searches run tile by tile as on the whole graph, on ~40× fewer nodes. The times are the
same sums of the same edge costs in another order: equal to 1e-9 minutes (the floor csgraph needs on a
zero-cost virtual edge may fall on another edge), not to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from cimic_geo.errors import AnalysisError
from cimic_geo.geo import ecef

if TYPE_CHECKING:
    from cimic_geo.analytics.road_weights import WeightedGraph

#: Core searches run on grid tiles this many reach radii wide (fewer Python steps vs. larger searches).
TILE_PER_REACH = 2.0


@dataclass
class Chains:
    """Where every node sits on its chain: ``chain[n]`` (-1: a junction), ``pos[n]`` the chain cost from
    ``end_a`` of that chain; per chain its end junctions ``end_a``, ``end_b``, its cost ``length`` and
    whether it has two junction ends (``good``; False only for a ring of roads touching no junction)."""

    chain: np.ndarray
    pos: np.ndarray
    end_a: np.ndarray
    end_b: np.ndarray
    length: np.ndarray
    good: np.ndarray
    core_tree: cKDTree


def chains_of(w: WeightedGraph, node_lonlat: np.ndarray) -> Chains:
    """:class:`Chains` of ``w`` (kept on it: built once per graph and policy)."""
    kept = getattr(w, "_reach_chains", None)
    if kept is not None:
        return kept
    from scipy.sparse.csgraph import dijkstra

    n, k = w.n_nodes, len(w.ua)
    n_chain = len(w.chain_up)
    inner = ~w.junction
    chain = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(inner)
    chain[idx] = w.chain[w.inc_e[w.inc_ptr[idx]]]
    # the (pair, junction) ends of each chain: two for a chain between junctions (or a loop), none for a ring
    ends_node = np.concatenate([w.ua, w.ub])
    ends_pair = np.concatenate([np.arange(k), np.arange(k)])
    at_j = w.junction[ends_node]
    en, ep = ends_node[at_j], ends_pair[at_j]
    order = np.argsort(w.chain[ep], kind="stable")
    en, ep = en[order], ep[order]
    cnt = np.bincount(w.chain[ep], minlength=n_chain)
    good = cnt == 2
    first = (np.cumsum(cnt) - cnt)[good]
    g = np.flatnonzero(good)
    end_a = np.full(n_chain, -1, dtype=np.int64)
    end_b = np.full(n_chain, -1, dtype=np.int64)
    end_a[g], end_b[g] = en[first], en[first + 1]
    p1, p2 = ep[first], ep[first + 1]
    x1 = w.ua[p1] + w.ub[p1] - end_a[g]
    x2 = w.ua[p2] + w.ub[p2] - end_b[g]
    length = np.full(n_chain, np.inf)
    length[g] = w.uc_ab[p1]  # a chain of one pair: nothing inside it
    # chains cut off at their junctions, each entered from its first end: one search gives every position
    both = inner[w.ua] & inner[w.ub]
    multi = inner[x1]
    src = n + np.arange(int(multi.sum()))
    rows = np.concatenate([w.ua[both], src])
    cols = np.concatenate([w.ub[both], x1[multi]])
    data = np.concatenate([w.uc_ab[both], w.uc_ab[p1[multi]]])
    size = n + len(src)
    graph = sp.csr_matrix((data, (rows, cols)), shape=(size, size))
    pos = np.full(n, np.inf)
    if len(src):
        pos = dijkstra(graph, directed=False, indices=src, min_only=True)[:n]
        gm = g[multi]
        length[gm] = pos[x2[multi]] + w.uc_ab[p2[multi]]
    return kept_chains(w, node_lonlat, {"chain": chain, "pos": pos, "end_a": end_a, "end_b": end_b,
                                        "length": length, "good": good})


#: The arrays of :class:`Chains` (saved beside a kept graph; the core nodes' k-d tree is rebuilt from the nodes).
CHAIN_ARRAYS = ("chain", "pos", "end_a", "end_b", "length", "good")


def kept_chains(w: WeightedGraph, node_lonlat: np.ndarray, arrays: dict[str, np.ndarray]) -> Chains:
    """:class:`Chains` of ``w`` made of its :data:`CHAIN_ARRAYS` (computed by :func:`chains_of`, or saved
    and read back), kept on ``w``."""
    core_ll = np.asarray(node_lonlat, dtype=float)[w.core_nodes]
    tree = cKDTree(ecef(core_ll[:, 0], core_ll[:, 1]) if len(core_ll) else np.zeros((0, 3)),
                   balanced_tree=False, compact_nodes=False)
    out = Chains(**{name: arrays[name] for name in CHAIN_ARRAYS}, core_tree=tree)
    w._reach_chains = out  # type: ignore[attr-defined]
    return out


def on_a_ring(ch: Chains, node: np.ndarray) -> bool:
    """Whether any of ``node`` is inside a ring of roads touching no junction (searched otherwise)."""
    c = ch.chain[node]
    return bool((~ch.good[c[c >= 0]]).any())


def to_core(ch: Chains, w: WeightedGraph, place: np.ndarray, node: np.ndarray, cost: np.ndarray, t_max: float,
            *, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Places joined at ``node`` for ``cost``, joined to the core instead: ``(place, core node, cost)``,
    the cheapest per place and junction, within ``t_max``. ``floor``: the least join cost (a search's
    sources: the floor csgraph puts on their virtual edges, applied where a search on every node would)."""
    cost = np.maximum(cost, floor)
    c = ch.chain[node]
    at_j = c < 0
    ci = c[~at_j]
    pi, ni, ki = place[~at_j], node[~at_j], cost[~at_j]
    p = np.concatenate([place[at_j], pi, pi])
    j = np.concatenate([node[at_j], ch.end_a[ci], ch.end_b[ci]])
    k = np.concatenate([cost[at_j], ki + ch.pos[ni], ki + (ch.length[ci] - ch.pos[ni])])
    core = w.core_id[j]
    ok = (core >= 0) & (k <= t_max)
    p, core, k = p[ok], core[ok], k[ok]
    key = p * max(len(w.core_nodes), 1) + core
    order = np.lexsort((k, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    sel = order[first]
    return p[sel], core[sel], k[sel]


def same_chain(ch: Chains, a_place: np.ndarray, a_node: np.ndarray, a_cost: np.ndarray, b_place: np.ndarray,
               b_node: np.ndarray, b_cost: np.ndarray, t_max: float, *, floor: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of places joined inside the same chain, straight along it: ``(a, b, cost)`` within ``t_max``
    (``floor``: the least cost of ``a``'s joins, as in :func:`to_core`)."""
    a_cost = np.maximum(a_cost, floor)
    ca, cb = ch.chain[a_node], ch.chain[b_node]
    ia, ib = np.flatnonzero(ca >= 0), np.flatnonzero(cb >= 0)
    ib = ib[np.argsort(cb[ib], kind="stable")]
    keys = cb[ib]
    lo = np.searchsorted(keys, ca[ia], side="left")
    cnt = np.searchsorted(keys, ca[ia], side="right") - lo
    xa = np.repeat(ia, cnt)
    xb = ib[np.repeat(lo, cnt) + np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)]
    cost = a_cost[xa] + np.abs(ch.pos[a_node[xa]] - ch.pos[b_node[xb]]) + b_cost[xb]
    ok = cost <= t_max
    return a_place[xa[ok]], b_place[xb[ok]], cost[ok]


def core_pairs(w: WeightedGraph, ch: Chains, *, src: tuple[np.ndarray, ...], dst: tuple[np.ndarray, ...],
               row_xyz: np.ndarray, row_r: np.ndarray, row_tile: np.ndarray, radius_m: float, t_max: float
               ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Road minutes over the core from each source to each destination within ``t_max``: ``(source,
    destination, minutes)`` in pieces (one per tile).

    ``src`` = (source, core node, cost) joins, ``dst`` = (destination, core node, cost) joins (from
    :func:`to_core`). Every node of a journey within ``t_max`` is within ``radius_m`` (a chord in
    earth-centred 3-D) of a node where its source joined the road; those nodes of source ``i`` are
    within ``row_r[i]`` of ``row_xyz[i]``. The sources of a tile (``row_tile``) are searched
    together on the core nodes within their farthest join plus ``radius_m`` of their centre.

    A destination is read from the nodes each source reaches (a few in a hundred of the tile's): the
    cheaper of its joins (at most two: its chain's ends, or its edge's ends), ``node + join cost``.
    """
    from scipy.sparse.csgraph import dijkstra

    from cimic_geo.analytics.reach import _sub_csr
    from cimic_geo.analytics.road_split import with_sources

    s_place, s_core, s_cost = src
    d_place, d_core, d_cost = dst
    out_r: list[np.ndarray] = []
    out_h: list[np.ndarray] = []
    out_c: list[np.ndarray] = []
    if not len(s_place) or not len(d_place):
        return out_r, out_h, out_c
    csr = w.core_csr
    nc = csr.shape[0]
    # each destination's joins: the cheaper (j1, c1) and the other (j2, c2; inf for none)
    by_dst = np.lexsort((d_cost, d_place))
    d_place, d_core, d_cost = d_place[by_dst], d_core[by_dst], d_cost[by_dst]
    first = np.r_[True, d_place[1:] != d_place[:-1]]
    dests = d_place[first]
    j1, c1 = d_core[first], d_cost[first]
    j2, c2 = j1.copy(), np.full(len(dests), np.inf)
    second = np.flatnonzero(~first)
    at = np.searchsorted(dests, d_place[second])
    if len(np.unique(at)) != len(at):  # pragma: no cover - a place's edge has two ends on one chain
        raise AnalysisError("internal error: more than two core joins for one place")
    j2[at], c2[at] = d_core[second], d_cost[second]
    # the joins listed by core node: destination, whether it is its first join, its cost, and the
    # destination's other join (node nc: none) and that one's cost
    by_node = np.argsort(d_core, kind="stable")
    node_ptr = np.searchsorted(d_core[by_node], np.arange(nc + 1))
    join_dest = (np.cumsum(first) - 1)[by_node]
    join_first = first[by_node]
    join_cost = d_cost[by_node]
    other = np.where(join_first, np.where(np.isfinite(c2[join_dest]), j2[join_dest], nc), j1[join_dest])
    other_cost = np.where(join_first, c2[join_dest], c1[join_dest])
    tiles = row_tile[s_place]
    order = np.argsort(tiles, kind="stable")
    cuts = np.flatnonzero(np.diff(tiles[order])) + 1
    local = np.full(nc + 1, -1, dtype=np.int64)
    row_pos = np.full(len(row_tile), -1, dtype=np.int64)
    for ends in np.split(order, cuts):
        rows = np.unique(s_place[ends])
        centre = row_xyz[rows].mean(axis=0)
        spread = float((np.sqrt(((row_xyz[rows] - centre) ** 2).sum(axis=1)) + row_r[rows]).max())
        nodes = np.asarray(ch.core_tree.query_ball_point(centre, spread + radius_m, return_sorted=True),
                           dtype=np.int64)
        hosts = node_ptr[nodes + 1] > node_ptr[nodes] if len(nodes) else np.zeros(0, dtype=bool)
        if not hosts.any():
            continue  # no destination joins the roads within reach
        local[nodes] = np.arange(len(nodes))
        row_pos[rows] = np.arange(len(rows))
        sub = with_sources(_sub_csr(csr, nodes, local), len(rows), row_pos[s_place[ends]], local[s_core[ends]],
                           s_cost[ends])
        dist = dijkstra(sub, directed=True, indices=len(nodes) + np.arange(len(rows)), limit=t_max)
        # only the columns of nodes where destinations join (a few in a hundred), in node order
        cols = np.flatnonzero(hosts)
        width = len(cols)
        flat = np.append(dist[:, cols].ravel(), np.inf)  # the last: read for a join outside the ball
        del dist
        local[nodes] = -1
        local[nodes[cols]] = np.arange(width)  # a host node's column
        # each host node a source reaches and the joins there, with the minutes at the destination's other
        # join: the cheaper of the two (read at the second join only where the first is not reached, so once
        # per source and destination)
        at = np.flatnonzero(flat < np.inf)
        r, q = np.divmod(at, width)
        g = nodes[cols[q]]
        cnt = node_ptr[g + 1] - node_ptr[g]
        e = np.repeat(node_ptr[g] - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        r, v = np.repeat(r, cnt), np.repeat(flat[at], cnt)
        lo = local[other[e]]
        x = flat[np.where(lo >= 0, r * width + lo, len(flat) - 1)]
        best = np.minimum(x + other_cost[e], v + join_cost[e])
        ok = (join_first[e] | np.isinf(x)) & (best <= t_max)
        r, k, best = r[ok], join_dest[e[ok]], best[ok]
        local[nodes[cols]] = -1
        row_pos[rows] = -1
        out_r.append(rows[r])
        out_h.append(dests[k])
        out_c.append(best)
    return out_r, out_h, out_c
