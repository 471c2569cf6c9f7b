"""The core-graph searches of a one-off CLI route, in plain Python (no scipy import).

:func:`python_search` is ``core_search`` of :func:`~cimic_geo.analytics.routing.find_routes`
for :mod:`cimic_geo.analytics.route_fast`: it finds the routes scipy's
:func:`~scipy.sparse.csgraph.dijkstra` finds, on the policy's core graph and on each re-weighted
core of the alternatives.

Given the core nodes' positions, the search is A* towards the targets with a lower bound from the
great-circle angle: ``k × angle(node, nearest target)``, ``k`` a little below the least cost per
radian of any core edge, so it never overestimates and never drops by more than an edge costs
(consistent); the search goes on until no open node can lie within a hair of the farthest target's
distance. Every node on a path to a target, and every node that could tie with it, has then been
reached by its least cost, added up edge by edge along the path as Dijkstra adds it: the same
numbers and the same predecessors, reached by a fraction of the nodes. An exact tie on a path to a
target (two ways of the same cost: there the order of equal entries decides) is handed to scipy.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cimic_geo.analytics.routing import CoreParts, CoreSearch

#: The bound's ``k`` is this much below the least cost per radian (room for rounding).
BOUND_SLACK = 1e-6
#: The search stops when every open node's estimate exceeds the farthest target's distance by more
#: than this (relative and absolute, minutes): room for rounding, so that no tie is missed.
STOP_MARGIN = 1e-7


def unit_vectors(lonlat: np.ndarray) -> np.ndarray:
    """Points on the unit sphere of lon/lat degrees (n x 3)."""
    lon, lat = np.radians(np.asarray(lonlat, dtype=float)).T
    c = np.cos(lat)
    return np.column_stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)])


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle angle (radians) between unit vectors (rows)."""
    chord = np.linalg.norm(a - b, axis=-1)
    return 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0))


def per_radian(parts: CoreParts, points: np.ndarray) -> float:
    """The bound's ``k`` for a core graph: a little below the least cost per radian of its edges
    (0 when no edge joins two distinct points). It holds as well for the same core with some
    costs raised (the alternatives' re-weighted cores)."""
    data, indices, indptr = (np.asarray(a) for a in parts)
    if not len(data):
        return 0.0
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    ang = _angle(points[rows], points[indices])
    pos = ang > 0
    return float(np.min(data[pos] / ang[pos])) * (1.0 - BOUND_SLACK) if pos.any() else 0.0


def python_search(parts: CoreParts, *, points: np.ndarray | None = None, k: float | None = None) -> CoreSearch:
    """A search of a core graph given as its CSR arrays ``(data, indices, indptr)`` in plain Python
    (see the module docstring); ``points``: the core nodes on the unit sphere (:func:`unit_vectors`),
    for the A* bound (None: Dijkstra); ``k``: the bound's cost per radian, no more than
    :func:`per_radian` of ``parts`` gives (None: computed)."""
    data, indices, indptr = (np.asarray(a).tolist() for a in parts)
    n = len(indptr) - 1
    if points is not None and k is None:
        k = per_radian(parts, points)

    def run(rows: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        want = sorted({int(t) for t in targets})
        h = None
        if k and points is not None and want:
            h = (k * np.min(np.stack([_angle(points, points[t]) for t in want]), axis=0)).tolist()
        dist = np.full((len(rows), n), np.inf)
        pred = np.full((len(rows), n), -9999, dtype=np.int32)
        for i, src in enumerate(int(r) for r in rows):
            d, p, tied = _search(indptr, indices, data, src, want, h)
            for t in want:  # a tie on a path to a target: let scipy choose, as the full path does
                x = t
                while x != src and p[x] >= 0:
                    if tied[x]:
                        from cimic_geo.analytics.routing import scipy_search

                        return scipy_search(parts)(rows, targets)
                    x = p[x]
            dist[i], pred[i] = d, p
        return dist, pred
    return run


def _search(indptr: list[int], indices: list[int], data: list[float], src: int, want: list[int],
            h: list[float] | None) -> tuple[list[float], list[int], bytearray]:
    """Distances, predecessors (-9999: none) and exact ties (a second way of the same cost) from
    ``src``, exact for the targets ``want`` and on the paths to them; ``h``: the A* bound of each
    node (None: Dijkstra). A node reached again more cheaply is searched again from."""
    n = len(indptr) - 1
    inf = float("inf")
    dist, pred, tied = [inf] * n, [-9999] * n, bytearray(n)
    dist[src] = 0.0
    bound = h if h else [0.0] * n
    targets = set(want)
    far = max((dist[t] for t in want), default=inf)
    stop = far + STOP_MARGIN * (1.0 + far)
    heap = [(bound[src], 0.0, src)]
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        f, du, u = pop(heap)
        if f > stop:
            break
        if du != dist[u]:
            continue  # reached more cheaply since
        a, b = indptr[u], indptr[u + 1]
        for v, w in zip(indices[a:b], data[a:b], strict=True):
            nd = du + w
            dv = dist[v]
            if nd < dv:
                dist[v], pred[v], tied[v] = nd, u, 0
                push(heap, (nd + bound[v], nd, v))
                if v in targets:
                    far = max(dist[t] for t in want)
                    stop = far + STOP_MARGIN * (1.0 + far)
            elif nd == dv and v != src and pred[v] != u:
                tied[v] = 1
    return dist, pred, tied
