"""A compact index for snapping many points to the nearest edge of a road graph.

Every vertex-to-vertex step of every edge is cut into pieces at most :attr:`SnapIndex.spacing`
long; the middle of each piece is a sample, and a k-d tree (:class:`scipy.spatial.cKDTree`) holds
the samples in the graph's metric CRS with the step each belongs to. Every point of a step is within
``half`` (half the longest piece) of one of its samples, so for a query point whose exact distance to
some step is ``d``, the nearest step lies within ``d``, and one of its samples within ``d + half``:
the steps of the samples within ``d + half`` contain the nearest. The query takes the nearest
:data:`FIRST_SAMPLES` samples, measures their steps exactly (``d``), and asks the tree for the
samples within ``d + half`` only when they are not all among those already taken.

Nearest of equals: among candidate edges whose plane distance is within a round-off tolerance of
the least, the one nearest by :func:`shapely.distance` on the edge's line (the measure the snapped
distance reports), then the lowest edge number. Memory: a national graph (1M edges) takes ~60 MB
here instead of ~360 MB for a :class:`shapely.STRtree` over one line per edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy.spatial import cKDTree

from cimic_geo.analytics.road_noding import piece_lines

if TYPE_CHECKING:
    from cimic_geo.analytics.roadgraph import RoadGraph

#: Samples taken per point before the exact ball query (most points are settled by these).
FIRST_SAMPLES = 8
#: Plane distances within this (metres, plus 1e-9 of the distance) of the least are re-measured by shapely.
TIE_M = 1e-6


@dataclass
class SnapIndex:
    """Samples along every step of the graph's edges (metric CRS): ``tree`` over them, ``edge`` and
    ``vertex`` (the step's first vertex) of each sample, ``half`` the farthest any point of a step is
    from its nearest sample, ``xy`` the vertices in the metric CRS (:func:`metric_vertices`), ``spacing``
    the length pieces are cut to at most."""

    tree: cKDTree
    edge: np.ndarray
    vertex: np.ndarray
    half: float
    xy: np.ndarray
    spacing: float


def _steps(graph: RoadGraph) -> tuple[np.ndarray, np.ndarray]:
    """(edge, first vertex) of every vertex-to-vertex step of every edge (an edge of one vertex: one
    step of length 0 on it)."""
    c0 = np.asarray(graph.edge_c0).astype(np.int64)
    n = np.maximum(np.asarray(graph.edge_c1).astype(np.int64) - c0, 1)
    edge = np.repeat(np.arange(len(c0)), n)
    first = np.repeat(c0, n) + (np.arange(len(edge)) - np.repeat(np.cumsum(n) - n, n))
    return edge, first


#: Nodes re-projected to check that the graph's metric node positions are this transformer's.
CHECK_NODES = 256


def metric_vertices(graph: RoadGraph) -> np.ndarray:
    """The vertices of the graph's edges in its metric CRS (rows of ``coords``; NaN for a vertex on no edge).

    An edge's end vertex at its node's exact lon/lat takes the node's metric position (``node_xy``,
    projected by the same transformer when the graph was built; checked on a sample of nodes, else every
    vertex is projected): only the vertices inside edges are projected here, the same numbers either way.
    """
    coords = np.asarray(graph.coords)
    c0 = np.asarray(graph.edge_c0).astype(np.int64)
    c1 = np.asarray(graph.edge_c1).astype(np.int64)
    xy = np.full((len(coords), 2), np.nan)
    cover = np.bincount(c0, minlength=len(coords) + 1) - np.bincount(c1 + 1, minlength=len(coords) + 1)
    need = np.cumsum(cover[:-1]) > 0  # vertices on some edge: the c0..c1 ranges
    nodes_ll, nodes_xy = np.asarray(graph.node_lonlat), np.asarray(graph.node_xy)
    to_metric = graph.threat.to_metric
    step = max(len(nodes_ll) // CHECK_NODES, 1)
    probe = np.column_stack(to_metric.transform(nodes_ll[::step, 0], nodes_ll[::step, 1]))
    if len(nodes_xy) == len(nodes_ll) and np.array_equal(probe, nodes_xy[::step]):
        for c, n in ((c0, np.asarray(graph.edge_u)), (c1, np.asarray(graph.edge_v))):
            a, b = coords[c], nodes_ll[n]
            same = (a[:, 0] == b[:, 0]) & (a[:, 1] == b[:, 1])
            xy[c[same]] = nodes_xy[n[same]]
    rest = np.flatnonzero(need & np.isnan(xy[:, 0]))
    if len(rest):
        xy[rest] = np.column_stack(to_metric.transform(coords[rest, 0], coords[rest, 1]))
    return xy


def build_snap_index(graph: RoadGraph) -> SnapIndex:
    """The :class:`SnapIndex` of ``graph`` (its vertices projected to the metric CRS once)."""
    xy = metric_vertices(graph)
    edge, first = _steps(graph)
    second = np.minimum(first + 1, np.asarray(graph.edge_c1).astype(np.int64)[edge])
    a, b = xy[first], xy[second]
    length = np.hypot(*(b - a).T)
    # pieces no longer than the spacing: at most ~1.5 samples per step whatever the lengths
    spacing = max(float(np.percentile(length, 90)), 2.0 * float(length.mean()), 1.0) if len(length) else 1.0
    k = np.maximum(np.ceil(length / spacing), 1).astype(np.int64)
    owner = np.repeat(np.arange(len(k)), k)
    t = ((np.arange(len(owner)) - np.repeat(np.cumsum(k) - k, k)) + 0.5) / k[owner]
    samples = a[owner] + (b - a)[owner] * t[:, None]
    half = float((length / (2.0 * k)).max(initial=0.0)) * (1.0 + 1e-9) + 1e-6
    small = np.int32 if max(len(xy), graph.n_edges) < 2**31 else np.int64
    tree = cKDTree(samples, balanced_tree=False, compact_nodes=False)
    return SnapIndex(tree, edge[owner].astype(small), first[owner].astype(small), half, xy, spacing)


def _plane_d(index: SnapIndex, graph: RoadGraph, pts: np.ndarray, edge: np.ndarray, first: np.ndarray
             ) -> np.ndarray:
    """Plane distance (metres) from each ``pts`` row to the step of ``edge`` starting at vertex ``first``."""
    a = index.xy[first]
    d = index.xy[np.minimum(first + 1, np.asarray(graph.edge_c1)[edge])] - a
    den = (d * d).sum(axis=1)
    t = np.where(den > 0, np.clip(((pts - a) * d).sum(axis=1) / np.where(den > 0, den, 1.0), 0.0, 1.0), 0.0)
    return np.hypot(*(a + d * t[:, None] - pts).T)


def nearest_edges(index: SnapIndex, graph: RoadGraph, pts_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest edge of each metric point ``pts_xy`` (rows) and that edge's line (metric CRS).

    Exact: see the module text (nearest of equals by shapely's distance, then the lowest edge).
    """
    m = len(pts_xy)
    if not m:
        return np.zeros(0, dtype=np.int64), np.empty(0, dtype=object)
    k = min(FIRST_SAMPLES, index.tree.n)
    dd, ii = index.tree.query(pts_xy, k=k)
    dd, ii = dd.reshape(m, k), ii.reshape(m, k)
    row = np.repeat(np.arange(m), k)
    s = ii.ravel()
    d = _plane_d(index, graph, pts_xy[row], index.edge[s], index.vertex[s])
    bound = d.reshape(m, k).min(axis=1) + index.half
    # the nearest step has a sample within its distance + half: all such samples already taken?
    more = np.flatnonzero(dd[:, -1] <= bound) if k < index.tree.n else np.zeros(0, dtype=np.int64)
    if len(more):
        xrow, extra = _within(index.tree, pts_xy, more, bound)
        redo = np.zeros(m, dtype=bool)
        redo[more] = True
        keep = ~redo[row]
        row = np.concatenate([row[keep], xrow])
        s = np.concatenate([s[keep], extra])
        d = np.concatenate([d[keep], _plane_d(index, graph, pts_xy[xrow], index.edge[extra], index.vertex[extra])])
    edge = index.edge[s].astype(np.int64)
    least = np.full(m, np.inf)
    np.minimum.at(least, row, d)
    near = d <= least[row] * (1.0 + 1e-9) + TIE_M
    row, edge = row[near], edge[near]
    key = _distinct(row * np.int64(graph.n_edges) + edge)  # one candidate per point and edge, ordered
    row, edge = np.divmod(key, np.int64(graph.n_edges))
    if len(row) == m:  # one candidate each
        return edge, _lines(index, graph, edge)
    cand = _distinct(edge)
    lines = _lines(index, graph, cand)
    exact = shapely.distance(shapely.points(pts_xy[row]), lines[np.searchsorted(cand, edge)])
    order = np.lexsort((edge, exact, row))  # per point: least distance, then lowest edge
    first = np.r_[True, row[order][1:] != row[order][:-1]]
    best = edge[order][first]
    return best, lines[np.searchsorted(cand, best)]


#: Samples taken per point in the second round (those within its bound); more go to a ball query.
SECOND_SAMPLES = 32


def _within(tree: cKDTree, pts_xy: np.ndarray, which: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, sample) of every sample within ``bound`` of the points ``which``: the nearest
    :data:`SECOND_SAMPLES` first, a ball query for a point whose last one is still within its bound."""
    k = min(SECOND_SAMPLES, tree.n)
    dd, ii = tree.query(pts_xy[which], k=k, distance_upper_bound=float(bound[which].max()))
    dd, ii = dd.reshape(len(which), k), ii.reshape(len(which), k)
    inside = dd <= bound[which][:, None]
    full = inside[:, -1].copy() if k < tree.n else np.zeros(len(which), dtype=bool)
    inside[full] = False
    r, c = np.nonzero(inside)
    rows, samples = [which[r]], [ii[r, c].astype(np.int64)]
    if full.any():
        many = which[full]
        balls = tree.query_ball_point(pts_xy[many], bound[many])
        cnt = np.fromiter((len(b) for b in balls), dtype=np.int64, count=len(balls))
        rows.append(np.repeat(many, cnt))
        samples.append(np.fromiter((j for b in balls for j in b), dtype=np.int64, count=int(cnt.sum())))
    return np.concatenate(rows), np.concatenate(samples)


def _distinct(x: np.ndarray) -> np.ndarray:
    """The distinct values of ``x``, ascending (a sort: faster here than :func:`numpy.unique`'s hashing)."""
    x = np.sort(x)
    return x[np.r_[True, x[1:] != x[:-1]]] if len(x) else x


def _lines(index: SnapIndex, graph: RoadGraph, edge: np.ndarray) -> np.ndarray:
    """The metric lines of ``edge`` (as the whole graph's lines are built: :func:`piece_lines`)."""
    return piece_lines(index.xy, np.asarray(graph.edge_c0)[edge], np.asarray(graph.edge_c1)[edge])
