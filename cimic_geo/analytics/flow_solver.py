"""The least-cost flow of a given size through the allocation's transportation network, exactly:
LEMON's network simplex (:mod:`pylmcf`) on integer costs.

The network: a source feeds every settlement that has a row (up to its population) and, directly,
the edges of the settlements without one (population >= all the room they reach, so their edges'
bounds ``min(p, q)`` are their only limit); edges carry at most ``min(p, q)`` people from a
settlement to a shelter at their cost; every shelter drains into the sink (up to its free places).
The source sends exactly ``flow`` people, the most the allocation can place (found by max-flow
before), so the least-cost flow of that size is the lexicographic optimum: most people placed, then
the least person-cost. No big-M weights, no floating-point tolerances.

Costs are rounded to integers in units of ``10**-10`` of the cost unit (0.1 µm for km, 6 µs for
minutes), coarser only where the totals would not fit in 62 bits. A geodesic is itself exact to
~15 nm, so rounding finer than that changes nothing real; HiGHS' simplex, used here before, tells
optima apart only to its dual tolerance (1e-7 of the cost unit). The network simplex is exact in
integers: its answer's rounded cost is the least there is.

Ties (flows of equal rounded cost) are settled by the network simplex's deterministic pivoting over
the arcs in one canonical order (source, settlement rows, shelters, each by index; the allocation's
rows are in id order), so the answer depends only on the data, never on the input row order.
"""

from __future__ import annotations

import math

import numpy as np

from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _

#: Costs are rounded to this many integer units per cost unit (unless the totals would overflow).
COST_UNITS = 10**10
_LIMIT = 2**62


def cost_units(max_cost: float, flow: int, n_nodes: int) -> int:
    """Integer cost units per cost unit: :data:`COST_UNITS`, or the largest power of ten below it
    for which no total (``flow`` people along paths of at most ``n_nodes`` arcs at ``max_cost``)
    can reach 2^62."""
    scale = float(max(max_cost, 1e-12)) * float(max(flow, n_nodes, 1))
    if scale * COST_UNITS < _LIMIT:
        return COST_UNITS
    return 10 ** max(0, math.floor(math.log10(_LIMIT / scale)))


def least_cost_flow(cost: np.ndarray, s_loc: np.ndarray, h_loc: np.ndarray, row: np.ndarray, p: np.ndarray,
                    q: np.ndarray, *, flow: int) -> np.ndarray:
    """People per edge: ``flow`` people from settlements to shelters at the least total cost.

    Parameters
    ----------
    cost : cost per edge (non-negative)
    s_loc, h_loc : each edge's settlement and shelter (indices into ``p`` / ``row`` and ``q``)
    row : per settlement, its row number (0..) when its population limits it, else -1 (unlimited
        but for its edges' bounds)
    p, q : population per settlement, free places per shelter
    flow : people to place (at most the maximum flow of this network)

    Returns
    -------
    numpy.ndarray of int64 per edge.
    """
    import pylmcf

    ne = len(cost)
    if ne == 0 or flow <= 0:
        return np.zeros(ne, dtype=np.int64)
    rows_s = np.flatnonzero(row >= 0)
    n_rows = len(rows_s)
    shelters, h_node = np.unique(h_loc, return_inverse=True)
    n_nodes = 2 + n_rows + len(shelters)  # 0 source, 1 sink, settlement rows, shelters
    start = np.where(row[s_loc] >= 0, 2 + row[s_loc], 0)
    end = 2 + n_rows + h_node
    starts = np.concatenate([start, np.zeros(n_rows, np.int64), 2 + n_rows + np.arange(len(shelters))])
    ends = np.concatenate([end, 2 + row[rows_s], np.ones(len(shelters), np.int64)])
    caps = np.concatenate([np.minimum(p[s_loc], q[h_loc]), p[rows_s], q[shelters]]).astype(np.int64)
    units = cost_units(float(cost.max()), flow, n_nodes)
    costs = np.zeros(len(starts), dtype=np.int64)
    costs[:ne] = np.rint(np.asarray(cost, dtype=float) * units).astype(np.int64)
    order = np.lexsort((np.arange(len(starts)), ends, starts))  # arcs by (start, end), then given order
    graph = pylmcf.Graph(n_nodes, edge_starts=starts[order], edge_ends=ends[order])
    supply = np.zeros(n_nodes, dtype=np.int64)
    supply[0], supply[1] = flow, -flow
    graph.set_node_supply(supply)
    graph.set_edge_costs(costs[order])
    graph.set_edge_capacities(caps[order])
    try:
        graph.solve()
    except RuntimeError as exc:  # pragma: no cover - ``flow`` is at most the maximum flow
        raise AnalysisError(_("the allocation solver failed: {reason}").format(reason=str(exc))) from exc
    out = np.empty(len(starts), dtype=np.int64)
    out[order] = np.asarray(graph.result(), dtype=np.int64)
    return out[:ne]
