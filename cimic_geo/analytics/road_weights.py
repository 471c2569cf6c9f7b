"""The road graph weighted for one routing policy: directed CSR matrices for :mod:`scipy.sparse.csgraph`.

A :class:`WeightedGraph` is built from the graph's edges (end nodes, cost in minutes × penalty,
and which directions are allowed: one-way roads allow only ``u -> v``). It holds

* the **full graph**: a directed CSR over all nodes (:attr:`WeightedGraph.csr`, built on first
  use) and its transpose (:attr:`WeightedGraph.csr_reverse`, for searches *towards* a set of
  targets such as the safe hubs of time to safety);
* the **core graph**: chains of two-way roads through nodes of degree 2 contracted into single
  edges between junctions. A junction is a node of degree ≠ 2 or an end of a one-way road, so a
  contracted chain costs the same both ways and a one-way road is a core edge of its own with one
  direction. Real road networks cut into segments are mostly such chains (national scenario:
  956k of 981k nodes), so point-to-point routing searches a graph ~40× smaller;
  :func:`cimic_geo.analytics.routing.find_routes` walks the chains back into segments.

Parallel edges between the same two nodes keep the cheapest per direction; parallel chains
between the same two junctions are all kept (the core CSR holds the cheapest of each pair and
direction, recomputed when the alternatives' penalty method changes chain costs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cimic_geo.errors import AnalysisError

if TYPE_CHECKING:  # scipy is imported when a graph is built or searched with it (a one-off CLI route may not)
    import scipy.sparse as sp

#: Smallest edge cost in minutes (csgraph needs strictly positive weights).
MIN_COST = 1e-9


def _best_per_pair(order: np.ndarray, starts: np.ndarray, cost: np.ndarray, edge: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest cost and its edge for each pair (inf / -1 when the pair has no finite cost).

    ``order`` sorts the edges by pair; ``starts`` are the positions in that order where each
    pair's run begins.
    """
    c = cost[order]
    best = np.minimum.reduceat(c, starts) if len(c) else np.zeros(0)
    counts = np.diff(np.append(starts, len(c)))
    at_min = np.flatnonzero(c == np.repeat(best, counts))
    group = np.searchsorted(starts, at_min, side="right") - 1
    first = np.ones(len(at_min), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    out_e = np.full(len(starts), -1, dtype=np.int64)
    out_e[group[first]] = edge[order[at_min[first]]]
    out_e[~np.isfinite(best)] = -1
    return best, out_e


class WeightedGraph:
    """The road graph weighted for one policy (see the module docstring).

    Parameters
    ----------
    n_nodes : number of graph nodes
    edge_u, edge_v : end nodes of each graph edge
    cost : cost of each edge in minutes × penalty (inf: excluded), the same both ways
    forward, backward : whether ``u -> v`` / ``v -> u`` may be driven (None: both ways)

    Attributes
    ----------
    ua, ub : unique undirected node pairs (``ua < ub``)
    uc_ab, uc_ba : cheapest cost ``ua -> ub`` and ``ub -> ua`` (inf when not allowed)
    ue_ab, ue_ba : the graph edge giving that cost (-1 when none)
    """

    def __init__(self, n_nodes: int, edge_u: np.ndarray, edge_v: np.ndarray, cost: np.ndarray,
                 forward: np.ndarray | None = None, backward: np.ndarray | None = None) -> None:
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        self.n_nodes = n_nodes
        self.cost = cost
        fw = np.where(forward if forward is not None else True, cost, np.inf)
        bw = np.where(backward if backward is not None else True, cost, np.inf)
        e = np.flatnonzero(np.isfinite(fw) | np.isfinite(bw))
        u, v = edge_u[e].astype(np.int64), edge_v[e].astype(np.int64)
        swap = u > v
        c_ab = np.maximum(np.where(swap, bw[e], fw[e]), MIN_COST)
        c_ba = np.maximum(np.where(swap, fw[e], bw[e]), MIN_COST)
        key = np.minimum(u, v) * max(n_nodes, 1) + np.maximum(u, v)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if len(ks) else np.zeros(0, np.int64)
        uk = ks[starts]
        k = len(uk)
        self.ua, self.ub = uk // max(n_nodes, 1), uk % max(n_nodes, 1)
        self.uc_ab, self.ue_ab = _best_per_pair(order, starts, c_ab, e)
        self.uc_ba, self.ue_ba = _best_per_pair(order, starts, c_ba, e)
        asym = self.uc_ab != self.uc_ba
        # node -> incident unique pairs
        inc_node = np.concatenate([self.ua, self.ub])
        inc_edge = np.concatenate([np.arange(k), np.arange(k)])
        order = np.argsort(inc_node, kind="stable")
        self.inc_e = inc_edge[order]
        self.inc_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(inc_node, minlength=n_nodes), out=self.inc_ptr[1:])
        deg = np.diff(self.inc_ptr)
        one_way_end = np.zeros(n_nodes, dtype=bool)
        one_way_end[self.ua[asym]] = True
        one_way_end[self.ub[asym]] = True
        self.junction = (deg != 2) | one_way_end
        # chains: two-way pairs linked through degree-2 nodes that are not junctions
        inner = np.flatnonzero(~self.junction)
        p = self.inc_ptr[inner]
        link = sp.coo_matrix((np.ones(len(inner)), (self.inc_e[p], self.inc_e[p + 1])), shape=(k, k))
        n_chain, self.chain = connected_components(link, directed=False) if k else (0, np.zeros(0, np.int64))
        # chain costs from its lower-numbered junction end to the higher one and back: equal for
        # chains of two-way pairs; a one-way pair is a chain of its own whose ends are ua < ub
        self.chain_up = np.bincount(self.chain, weights=self.uc_ab, minlength=n_chain)
        self.chain_dn = np.bincount(self.chain, weights=self.uc_ba, minlength=n_chain)
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
        self.core_nodes = np.flatnonzero(self.junction & (deg > 0))
        self.core_id = np.full(n_nodes, -1, dtype=np.int64)
        self.core_id[self.core_nodes] = np.arange(len(self.core_nodes))
        nc = len(self.core_nodes)
        ca, cb = self.core_id[np.minimum(j1, j2)], self.core_id[np.maximum(j1, j2)]
        order = np.lexsort((cb, ca))
        self.core_chains, ca, cb = self.core_chains[order], ca[order], cb[order]
        newpair = np.ones(len(ca), dtype=bool)
        newpair[1:] = (ca[1:] != ca[:-1]) | (cb[1:] != cb[:-1])
        self.pair_a, self.pair_b = ca[newpair], cb[newpair]
        self.pair_of_chainpos = np.cumsum(newpair) - 1
        self.pair_keys = self.pair_a * max(nc, 1) + self.pair_b
        self._core_csr, self.pair_chain_up, self.pair_chain_dn = self.core_matrix(self.chain_up, self.chain_dn)
        self.core_arrays = (self._core_csr.data, self._core_csr.indices, self._core_csr.indptr)
        self._full: tuple[sp.csr_matrix, np.ndarray, np.ndarray] | None = None
        self._reverse: sp.csr_matrix | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that make this graph (for saving; :meth:`from_arrays` restores it)."""
        out = {k: v for k, v in vars(self).items() if isinstance(v, np.ndarray)}
        data, indices, indptr = self.core_arrays
        out.update(core_data=data, core_indices=indices, core_indptr=indptr, n_nodes=np.array([self.n_nodes]))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> WeightedGraph:
        """The graph saved by :meth:`arrays` (nothing recomputed)."""
        w = cls.__new__(cls)
        rest = {k: v for k, v in arrays.items() if not k.startswith("core_") or k in ("core_chains", "core_nodes",
                                                                                       "core_id")}
        for k, v in rest.items():
            setattr(w, k, v)
        w.n_nodes = int(arrays["n_nodes"][0])
        w.core_arrays = (arrays["core_data"], arrays["core_indices"], arrays["core_indptr"])
        w._core_csr = None  # built from core_arrays on first use
        w._full = None
        w._reverse = None
        return w

    @property
    def core_csr(self) -> sp.csr_matrix:
        """The directed core CSR of the policy's chain costs (:meth:`core_matrix`); ``core_arrays`` holds
        its data, indices and pointers."""
        if self._core_csr is None:
            import scipy.sparse as sp

            nc = len(self.core_nodes)
            self._core_csr = sp.csr_matrix(self.core_arrays, shape=(nc, nc))
        return self._core_csr

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the arrays (bytes)."""
        total = sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
        for m in (self.core_csr, *(self._full[:1] if self._full else ()), self._reverse):
            if m is not None:
                total += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
        return int(total)

    def step_edges(self, pairs: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Graph edge of each unique pair ``pairs[i]`` driven from ``nodes[i]`` to ``nodes[i+1]``."""
        pairs = np.asarray(pairs, dtype=np.int64)
        nodes = np.asarray(nodes, dtype=np.int64)
        up = nodes[:-1] < nodes[1:]
        return np.where(up, self.ue_ab[pairs], self.ue_ba[pairs])

    def _core_plan(self) -> tuple[np.ndarray, ...]:
        """What :meth:`core_parts` reuses for any chain costs: the chain positions alone in their
        junction pair (and that pair), those sharing one, and the entries in CSR order."""
        plan = getattr(self, "_plan", None)
        if plan is None:
            pos = self.pair_of_chainpos
            alone = np.bincount(pos, minlength=len(self.pair_a))[pos] == 1 if len(pos) else np.zeros(0, bool)
            src = np.concatenate([self.pair_a, self.pair_b]).astype(np.int64)
            dst = np.concatenate([self.pair_b, self.pair_a]).astype(np.int64)
            order = np.lexsort((dst, src))  # no pair twice in one direction: each entry once
            plan = (np.flatnonzero(alone), pos[alone], np.flatnonzero(~alone), order, src[order], dst[order])
            self._plan = plan
        return plan

    def core_parts(self, chain_up: np.ndarray, chain_dn: np.ndarray
                   ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
        """The directed core CSR for the given chain costs as its arrays ``(data, indices, indptr)``
        (each row's columns ascending, as scipy keeps a matrix built from coordinates; no scipy
        needed), and the chain used for each junction pair in each direction (``pair_a -> pair_b``
        and back): the cheapest of the pair's chains, the first in ``core_chains`` of equal ones."""
        nc = len(self.core_nodes)
        n_pairs = len(self.pair_a)
        pos = self.pair_of_chainpos
        alone, alone_pair, shared, order, src, dst = self._core_plan()
        best = []
        for chain_cost in (chain_up, chain_dn):
            costs = chain_cost[self.core_chains]
            c, ch = np.empty(n_pairs), np.empty(n_pairs, dtype=np.int64)
            c[alone_pair], ch[alone_pair] = costs[alone], self.core_chains[alone]
            if len(shared):
                o = shared[np.lexsort((costs[shared], pos[shared]))]
                first = np.ones(len(o), dtype=bool)
                first[1:] = pos[o][1:] != pos[o][:-1]
                bp = o[first]  # one per pair
                c[pos[bp]], ch[pos[bp]] = costs[bp], self.core_chains[bp]
            best.append((c, ch))
        (c_up, ch_up), (c_dn, ch_dn) = best
        cc = np.concatenate([c_up, c_dn]).astype(float)[order]
        ok = np.isfinite(cc)
        idx = np.int32 if max(len(cc), nc) <= np.iinfo(np.int32).max else np.int64
        indptr = np.zeros(nc + 1, dtype=idx)
        np.cumsum(np.bincount(src[ok], minlength=nc), out=indptr[1:])
        return (cc[ok], dst[ok].astype(idx), indptr), ch_up, ch_dn

    def core_matrix(self, chain_up: np.ndarray, chain_dn: np.ndarray
                    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """:meth:`core_parts` as a scipy CSR matrix."""
        import scipy.sparse as sp

        nc = len(self.core_nodes)
        parts, ch_up, ch_dn = self.core_parts(chain_up, chain_dn)
        return sp.csr_matrix(parts, shape=(nc, nc)), ch_up, ch_dn

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
            import scipy.sparse as sp

            n = self.n_nodes
            src = np.concatenate([self.ua, self.ub])
            dst = np.concatenate([self.ub, self.ua])
            cc = np.concatenate([self.uc_ab, self.uc_ba])
            ee = np.concatenate([self.ue_ab, self.ue_ba])
            ok = np.isfinite(cc)
            src, dst, cc, ee = src[ok], dst[ok], cc[ok], ee[ok]
            order = np.lexsort((dst, src))
            src, dst, cc, ee = src[order], dst[order], cc[order], ee[order]
            indptr = np.zeros(n + 1, dtype=np.int32)
            np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
            csr = sp.csr_matrix((cc, dst.astype(np.int32), indptr), shape=(n, n))
            self._full = (csr, ee, src.astype(np.int64) * n + dst.astype(np.int64))
        return self._full

    @property
    def csr(self) -> sp.csr_matrix:
        """Directed CSR over all nodes (minutes × penalty); entry ``[a, b]`` drives ``a -> b``."""
        return self._full_graph()[0]

    @property
    def csr_reverse(self) -> sp.csr_matrix:
        """The transpose of :attr:`csr`: searches from targets backwards."""
        if self._reverse is None:
            self._reverse = self.csr.T.tocsr()
        return self._reverse

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
