"""Walking the weighted road graph's chains: from a node along its degree-2 chain to the junctions
at its ends, the way :func:`cimic_geo.analytics.routing.find_routes` joins a place to the core graph
and expands a core edge back into the road edges it stands for.

Reads one element at a time through memory views (a Python number without a call): a chain is a
few to a few hundred edges, where numpy's per-call cost would dominate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cimic_geo.analytics.road_weights import WeightedGraph
from cimic_geo.errors import AnalysisError


def views(w: WeightedGraph) -> tuple[Any, ...]:
    """``ua, ub, junction, inc_ptr, inc_e`` of ``w`` as memory views (an element read as a Python
    number without a call), kept on ``w``; arrays that cannot be viewed so are used as they are."""
    views = getattr(w, "_walk_views", None)
    if views is None:
        views = []
        for a in (w.ua, w.ub, w.junction, w.inc_ptr, w.inc_e):
            try:
                views.append(memoryview(a) if a.ndim == 1 and a.flags.c_contiguous else a)
            except (TypeError, ValueError, BufferError):
                views.append(a)
        views = tuple(views)
        w._walk_views = views  # type: ignore[attr-defined]
    return views


def walk(w: WeightedGraph, start: int, first: int) -> tuple[list[int], list[int]]:
    """Follow a chain from ``start`` along unique edge ``first`` to the next junction (or back to
    ``start`` on a cycle); returns (unique edges, nodes incl. both ends)."""
    ua, ub, junction, inc_ptr, inc_e = views(w)
    edges, nodes = [], [start]
    e, n = int(first), int(start)
    while True:
        edges.append(e)
        a = int(ua[e])
        n = int(ub[e]) if a == n else a
        nodes.append(n)
        if junction[n] or n == start:
            return edges, nodes
        p = int(inc_ptr[n])
        e1 = int(inc_e[p])
        e = int(inc_e[p + 1]) if e1 == e else e1


@dataclass
class Access:
    """How a node reaches the core: the junction, the cost, and the path (edges, nodes) from the node."""

    junction: int
    cost: float
    edges: list[int]
    nodes: list[int]


def accesses(w: WeightedGraph, node: int) -> list[Access]:
    """Every way from ``node`` to the core: itself when a junction, else both ends of its chain."""
    if w.junction.item(node):
        return [Access(node, 0.0, [], [node])] if w.inc_ptr[node + 1] > w.inc_ptr[node] else []
    out = []
    p = w.inc_ptr.item(node)
    for first in (w.inc_e.item(p), w.inc_e.item(p + 1)):
        edges, nodes = walk(w, node, first)
        if nodes[-1] != node:
            out.append(Access(nodes[-1], float(w.uc_ab[edges].sum()), edges, nodes))
        else:  # a pure cycle: no way out
            out.append(Access(-1, np.inf, edges, nodes))
    return out


#: Chains walked kept per weighted graph (routes and their alternatives share many); beyond this
#: many the kept ones are dropped.
KEPT_CHAINS = 50_000


def chain_from(w: WeightedGraph, x: int, chain: int) -> tuple[list[int], list[int]]:
    """Walk ``chain`` starting at junction ``x`` (kept on ``w``: the lists returned are shared, not
    to be changed)."""
    kept = w.__dict__.setdefault("_chains_walked", {})
    hit = kept.get((x, chain))
    if hit is not None:
        return hit
    for i in range(w.inc_ptr.item(x), w.inc_ptr.item(x + 1)):
        e = w.inc_e.item(i)
        if w.chain.item(e) == chain:
            if len(kept) >= KEPT_CHAINS:
                kept.clear()
            kept[(x, chain)] = out = walk(w, x, e)
            return out
    raise AnalysisError("internal error: chain not incident to junction")
