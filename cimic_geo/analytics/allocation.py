"""Exact allocation of people to shelter places along reach edges, independent of row order.

A transportation problem (settlement population → shelter free places along the edges of a
:class:`~cimic_geo.analytics.reach.Reach`) solved lexicographically: first the most people placed
(an integer max-flow, :func:`scipy.sparse.csgraph.maximum_flow`), then, with that many placed in
every connected component of the reach graph, the least total person-cost (a least-cost flow of
that size, LEMON's network simplex in integers: :func:`cimic_geo.analytics.flow_solver.least_cost_flow`). Edges no optimum needs (behind a settlement that
can fill all its shelters at once, :func:`_undominated`) are dropped first. Components settled by
a greedy certificate (each settlement alone nearest-first, or each shelter alone nearest-first,
without overloading the other side) skip the solvers; exact reductions keep the flow problem small. Where costs tie (journeys through the same
junctions), the first reduction may pick another of the equally good optima than the solver alone
would: as many people placed at the same least person-cost, split otherwise only among tied edges.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, maximum_flow

from cimic_geo.analytics.flow_solver import least_cost_flow
from cimic_geo.analytics.reach import Reach
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _

_INT_MAX = np.iinfo(np.int32).max


def _greedy(groups: np.ndarray, rank: np.ndarray, supply: np.ndarray, other_cap: np.ndarray) -> np.ndarray:
    """Nearest-first fill of each group's supply over its edges, ignoring the other groups.

    ``groups`` is the node (settlement or shelter) whose edges these are, ``rank`` the edges' rank
    by cost (ties broken by settlement, then shelter index), ``supply`` that node's amount
    (repeated per edge), ``other_cap`` the capacity of the edge's other end.
    """
    order = np.argsort(groups * np.int64(rank.max() + 1) + rank)
    g = groups[order]
    cap = other_cap[order].astype(np.int64)
    csum = np.cumsum(cap)
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(g)]))
    before = csum - cap - (csum[first] - cap[first])
    amount = np.clip(supply[order].astype(np.int64) - before, 0, cap)
    out = np.empty(len(order), dtype=np.int64)
    out[order] = amount
    return out


def _stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, from the faster unstable sort: equal values (few among
    road minutes) are put back in index order afterwards. Same permutation, NaN-free input."""
    order = np.argsort(values)
    ordered = values[order]
    tie = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(tie):
        pos = np.unique(np.concatenate([tie, tie + 1]))  # sorted positions inside a run of equal values
        run = np.cumsum(np.r_[True, (np.diff(pos) > 1) | (ordered[pos[1:]] != ordered[pos[:-1]])])
        sub = order[pos]
        order[pos] = sub[np.lexsort((sub, run))]
    return order


def allocate(population: np.ndarray, capacity: np.ndarray, reach: Reach) -> np.ndarray:
    """People sent along each reach edge: most people placed, then least person-cost. Exact.

    Parameters
    ----------
    population : people per settlement (non-negative integers)
    capacity : free places per shelter (non-negative integers)
    reach : edges (indices into the two arrays) with costs

    Returns
    -------
    numpy.ndarray of int64, people per edge of ``reach`` (same order).

    The result depends only on the arrays' content and order; :func:`coverage` sorts rows by id
    first so that it does not depend on the input row order. A reach whose costs only order the edges
    within each settlement and shelter until read (:class:`~cimic_geo.analytics.lazy_reach.LazyReach`)
    gives the exact costs of the edges solved as a least-cost flow when asked (``exact_cost``). The last
    answer is kept (keyed by a hash of every input array), so the same allocation asked again is not
    solved again.
    """
    pop = np.asarray(population, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.int64)
    if (pop < 0).any() or (cap < 0).any():
        raise AnalysisError(_("population and capacity must be non-negative"))
    digest = hashlib.blake2b(digest_size=20)
    parts = getattr(reach, "digest_parts", None)  # a reach whose costs are measured when read: what they depend on
    for a in (pop, cap, reach.s, reach.h, *(parts() if parts is not None else (reach.cost,))):
        digest.update(np.ascontiguousarray(a))  # the array's bytes, not copied
        digest.update(str(len(a)).encode())
    key = digest.digest()
    with _LAST_LOCK:
        kept = _LAST.get(key)
    if kept is not None:
        return kept.copy()
    flow = _allocate(pop, cap, reach)
    with _LAST_LOCK:
        _LAST.clear()  # one answer kept: memory stays flat
        _LAST[key] = flow.copy()
    return flow


_LAST: dict[bytes, np.ndarray] = {}
_LAST_LOCK = threading.Lock()


def _allocate(pop: np.ndarray, cap: np.ndarray, reach: Reach) -> np.ndarray:
    """:func:`allocate` of checked arrays, solved."""
    n_e = len(reach.s)
    flow = np.zeros(n_e, dtype=np.int64)
    live = (pop[reach.s] > 0) & (cap[reach.h] > 0) if n_e else np.zeros(0, bool)
    e = np.flatnonzero(live)
    if not len(e):
        return flow
    s, h, c = reach.s[e], reach.h[e], reach.cost[e]
    ns, nh = len(pop), len(cap)
    # rank of every edge by cost, ties by settlement then shelter (edges already in (s, h) order,
    # as straight_line_reach returns them, need only a stable sort by cost)
    rank = np.empty(len(e), dtype=np.int64)
    key = s * nh + h
    by_cost = _stable_argsort(c) if np.all(key[1:] > key[:-1]) else np.lexsort((h, s, c))
    rank[by_cost] = np.arange(len(e))
    # edges no optimum needs (see _undominated): dropped before anything else
    keep = _undominated(s, h, rank, pop, cap)
    if not keep.all():
        e, s, h, c, rank = e[keep], s[keep], h[keep], c[keep], rank[keep]
    # connected components of the bipartite reach graph
    g = sp.coo_matrix((np.ones(len(e)), (s, ns + h)), shape=(ns + nh, ns + nh)).tocsr()
    _n, comp = connected_components(g, directed=False)
    ecomp = comp[s]
    # Certificates, per connected component (both exact, see module doc):
    # a) every settlement fills its nearest shelters alone; if no shelter of the component is then
    #    over capacity, each settlement has its own best, so the component is optimal;
    # b) every shelter fills from its nearest settlements alone; if no settlement is then drawn
    #    beyond its population, every shelter is at its own maximum at least cost: optimal.
    todo = np.ones(comp.max() + 1, dtype=bool)
    take = _greedy(s, rank, pop[s], cap[h])
    over = np.bincount(h, weights=take, minlength=nh) > cap
    bad = np.zeros_like(todo)
    bad[comp[ns + np.flatnonzero(over)]] = True
    ok = ~bad[ecomp]
    flow[e[ok]] = take[ok]
    todo &= bad
    rest = todo[ecomp]
    if rest.any():
        k = np.flatnonzero(rest)
        take = _greedy(h[k], rank[k], cap[h[k]], pop[s[k]])
        drawn = np.bincount(s[k], weights=take, minlength=ns) > pop
        bad = np.zeros_like(todo)
        bad[comp[np.flatnonzero(drawn)]] = True
        ok = ~bad[ecomp[k]]
        flow[e[k[ok]]] = take[ok]
        rest = np.zeros(len(e), dtype=bool)
        rest[k[~ok]] = True
    if rest.any():
        k = np.flatnonzero(rest)
        exact = getattr(reach, "exact_cost", None)  # costs measured when read (a lazy reach)
        flow[e[k]] = _solve_general(pop, cap, s[k], h[k], c[k], ecomp[k], rank[k],
                                    exact=None if exact is None else (lambda loc, ids=e[k]: exact(ids[loc])))
    return flow


def _undominated(s: np.ndarray, h: np.ndarray, rank: np.ndarray, pop: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """The edges an optimum may need: at each shelter, none ranked after its cheapest edge from a
    settlement that can fill every shelter it reaches at once (population >= their room together).

    Exact: such a settlement S can take over any flow a costlier edge (s, H) carries into the same
    shelter H (H's intake is unchanged, S sends no more than the room of its shelters, so no more
    than its population): as many people placed, at no higher cost. Dropping edges makes more
    settlements such, so it repeats until nothing changes (at most 6 passes).
    """
    live = np.ones(len(s), dtype=bool)
    for _pass in range(6):
        reach_cap = np.bincount(s[live], weights=cap[h[live]], minlength=len(pop))
        rowless = (pop >= reach_cap)[s] & live
        if not rowless.any():
            break
        keep = _prune(live, rowless, h, rank, len(cap))
        if not (live & ~keep).any():
            break
        live = keep
    return live


def _prune(live: np.ndarray, rowless: np.ndarray, node: np.ndarray, rank: np.ndarray, n_nodes: int) -> np.ndarray:
    """Live edges after dropping, at every ``node``, the edges ranked after its cheapest
    ``rowless`` edge (which is kept); rank = cost, then settlement, then shelter index."""
    idx = np.flatnonzero(rowless)
    best = np.full(n_nodes, np.iinfo(np.int64).max)
    np.minimum.at(best, node[idx], rank[idx])
    return live & (rank <= best[node])


def _solve_general(pop: np.ndarray, cap: np.ndarray, s: np.ndarray, h: np.ndarray, c: np.ndarray,
                   ecomp: np.ndarray, rank: np.ndarray, *,
                   exact: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Lexicographic max-flow / min-cost on the multi-settlement, multi-shelter components; ``exact``
    gives the exact costs of the edges at these positions when ``c`` only orders them (a lazy reach)."""
    us, s_loc = np.unique(s, return_inverse=True)
    uh, h_loc = np.unique(h, return_inverse=True)
    ns, nh = len(us), len(uh)
    p = pop[us]
    q = cap[uh]
    # 1) maximum flow in integers: source 0, settlements 1..ns, shelters ns+1.., sink ns+nh+1
    if p.max() > _INT_MAX or q.max() > _INT_MAX:
        raise AnalysisError(_("population or capacity too large for the solver (over 2^31)"))
    n = ns + nh + 2
    sink = n - 1
    rows = np.concatenate([np.zeros(ns, np.int64), 1 + s_loc, 1 + ns + np.arange(nh)])
    cols = np.concatenate([1 + np.arange(ns), 1 + ns + h_loc, np.full(nh, sink)])
    caps = np.concatenate([p, np.minimum(p[s_loc], q[h_loc]), q]).astype(np.int32)
    graph = sp.csr_matrix((caps, (rows, cols)), shape=(n, n))
    mf = maximum_flow(graph, 0, sink)
    into_sink = np.asarray(mf.flow[1 + ns:1 + ns + nh, sink].todense()).ravel()
    # flow per component = what reaches the sink from its shelters
    comp_of_h = np.zeros(nh, dtype=np.int64)
    comp_of_h[h_loc] = ecomp
    comps, comp_idx = np.unique(ecomp, return_inverse=True)
    comp_h = np.searchsorted(comps, comp_of_h)
    target = np.bincount(comp_h, weights=into_sink, minlength=len(comps))
    # 2) least person-cost among maximum flows: a least-cost flow placing exactly the maximum
    #    found in 1) (less what the greedy part below places) is lexicographically optimal.
    #    Settlement rows that cannot bind (population >= all capacity in reach) are
    #    dropped: they are redundant given the shelter rows and the bounds x <= min(p, q).
    #    A settlement without a row can fill all its shelters at once; so an edge to a shelter
    #    that costs at least as much as that shelter's nearest row-less settlement can be
    #    dropped (moving its flow there keeps the flow and does not raise the cost). Pruning can
    #    make more rows redundant, so repeat (until nothing changes, at most 6 passes).
    live = np.ones(len(c), dtype=bool)
    for _pass in range(6):
        reach_cap = np.bincount(s_loc[live], weights=q[h_loc[live]], minlength=ns)
        rowless = (p >= reach_cap)[s_loc] & live
        if not rowless.any():
            break
        keep = _prune(live, rowless, h_loc, rank, nh)
        if not (live & ~keep).any():
            break
        live = keep
    reach_cap = np.bincount(s_loc[live], weights=q[h_loc[live]], minlength=ns)
    rows_s = np.flatnonzero(p < reach_cap)
    pos = np.full(ns, -1)
    pos[rows_s] = np.arange(len(rows_s))
    # Without settlement rows the problem separates by shelter: a shelter none of whose settlements
    # has a row simply fills its nearest settlements (bounds min(p, q)) - greedy, exact. Only the
    # shelters touching a settlement with a row go to the flow solver.
    coupled = np.zeros(nh, dtype=bool)
    coupled[h_loc[live & (pos[s_loc] >= 0)]] = True
    in_lp = coupled[h_loc] & live
    xf = np.zeros(len(c))
    free = np.flatnonzero(~in_lp & live)
    if len(free):
        xf[free] = _greedy(h_loc[free], rank[free], q[h_loc[free]], p[s_loc[free]])
    e_lp = np.flatnonzero(in_lp)
    if len(e_lp):
        need = target - np.bincount(comp_idx[free], weights=xf[free], minlength=len(comps))
        cost = c[e_lp] if exact is None else exact(e_lp)
        xf[e_lp] = _least_cost(cost, s_loc[e_lp], h_loc[e_lp], pos, p, q, comp_idx[e_lp], need)
    x = np.rint(xf).astype(np.int64)
    # integrality is guaranteed (totally unimodular); guard against solver round-off anyway
    if np.abs(xf - x).max() > 1e-6 or np.any(np.bincount(s_loc, x, ns) > p) or np.any(np.bincount(h_loc, x, nh) > q):
        raise AnalysisError("the allocation solver returned a non-integral solution")  # pragma: no cover
    return x


def _least_cost(c: np.ndarray, s_loc: np.ndarray, h_loc: np.ndarray, pos: np.ndarray, p: np.ndarray,
                q: np.ndarray, comp_idx: np.ndarray, need: np.ndarray) -> np.ndarray:
    """The coupled part: ``need[k]`` people placed in each component ``k`` it touches, at the least cost."""
    touched = np.zeros(len(need), dtype=bool)
    touched[comp_idx] = True
    flow = round(float(need[touched].sum()))
    x = least_cost_flow(c, s_loc, h_loc, pos, p, q, flow=flow)
    placed = np.bincount(comp_idx, weights=x, minlength=len(need))
    if np.any(placed[touched] < need[touched] - 0.5):  # pragma: no cover - the flow is the maximum's remainder
        raise AnalysisError("the allocation solver could not reach the maximum coverage")
    return x.astype(float)
