"""Snapping places to the road graph: the nearest point on the nearest passable edge.

Distances are measured in the graph's metric CRS. Many points (time to safety, coverage) use a
compact index of samples along every edge (:mod:`cimic_geo.analytics.road_snap_index`), built once
per graph; a few points (one CLI route) scan the vertex-to-vertex steps in a local plane instead,
which is faster than building the index, and check the closest few exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import shapely

from cimic_geo.analytics.road_noding import project, unique_sorted
from cimic_geo.analytics.road_snap_index import SnapIndex, build_snap_index, nearest_edges
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _

if TYPE_CHECKING:
    from cimic_geo.analytics.roadgraph import RoadGraph

#: Up to this many points are snapped by a scan instead of building the spatial index.
FEW_POINTS = 4


def _index(graph: RoadGraph) -> SnapIndex:
    with graph._lock:
        if graph._snap_index is None:
            graph._snap_index = build_snap_index(graph)
        return graph._snap_index


def snap_edges(graph: RoadGraph, lon: Iterable[float] | float, lat: Iterable[float] | float, *,
               indexed: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest point on the nearest passable edge of each lon/lat point (metric CRS).

    ``indexed``: through the index even for a few points (as they would be among many: the few points
    left of a larger set, :mod:`cimic_geo.analytics.road_snap_kept`).

    Returns
    -------
    ``(edge, fraction along the edge from edge_u, distance_km)``
    """
    if not graph.n_edges:
        raise AnalysisError(_("the road network has no passable segment"))
    lon_a = np.atleast_1d(np.asarray(lon, float))
    lat_a = np.atleast_1d(np.asarray(lat, float))
    x, y = graph.threat.to_metric.transform(lon_a, lat_a)
    pts = shapely.points(x, y)
    if len(pts) <= FEW_POINTS and graph._snap_index is None and not indexed:
        edge = np.array([_nearest_edge_scan(graph, a, b) for a, b in zip(lon_a, lat_a, strict=True)],
                        dtype=np.int64)
        sel = project(graph.edge_geoms(edge), graph.threat.to_metric)
        dist = shapely.distance(pts, sel) / 1000.0
        frac = shapely.line_locate_point(sel, pts, normalized=True)
        return edge, np.asarray(frac, float), np.asarray(dist, float)
    edge, lines = nearest_edges(_index(graph), graph, np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
    dist = shapely.distance(pts, lines) / 1000.0
    frac = shapely.line_locate_point(lines, pts, normalized=True)
    return edge, np.asarray(frac, float), np.asarray(dist, float)


def _nearest_edge_scan(graph: RoadGraph, lon: float, lat: float) -> int:
    """Nearest edge to one point without building an index: the vertex-to-vertex steps in a local
    plane (km per degree at the point's latitude), then the closest few exactly.

    Only the steps of edges whose road row's box meets a window around the point are measured; the
    window grows until the closest :data:`SCAN_CANDIDATES` steps lie within its half-width, so that
    no step outside it (farther than the half-width) could be among them: the candidates are those
    of a scan of every step."""
    kx, ky = 111.32 * np.cos(np.radians(lat)), 110.57
    b = graph.row_bounds()
    r = SCAN_START_KM
    while True:
        wx, wy = r / kx, r / ky
        rows = _rows_in_window(graph, b, lon - wx, lat - wy, lon + wx, lat + wy)
        edges = _edges_of_rows(graph, rows)
        if len(edges) >= graph.n_edges or (len(edges) and r >= SCAN_MAX_KM):
            break
        if len(edges):
            d2, owner = _step_d2(graph, edges, lon, lat, kx, ky)
            k = min(SCAN_CANDIDATES, len(d2))
            best = np.argpartition(d2, k - 1)[:k]
            if len(d2) >= SCAN_CANDIDATES and float(d2[best].max()) <= r * r:
                return _closest(graph, unique_sorted(owner[best]), lon, lat)
        if r >= SCAN_MAX_KM:
            break
        r *= 4.0
    edges = np.arange(graph.n_edges)  # a sparse network or a point far from it: every step
    d2, owner = _step_d2(graph, edges, lon, lat, kx, ky)
    k = min(SCAN_CANDIDATES, len(d2))
    return _closest(graph, unique_sorted(owner[np.argpartition(d2, k - 1)[:k]]), lon, lat)


#: Steps measured exactly at the end of a scan; the first window's half-width and the largest (km).
SCAN_CANDIDATES = 8
SCAN_START_KM = 1.0
SCAN_MAX_KM = 300.0


#: Rows wider than this (degrees of longitude) are always tested by :func:`_rows_in_window`.
WIDE_ROW_DEG = 0.05
#: Windows of a graph tested against every row before its rows are ordered (a first route's).
WINDOW_SCANS = 4


def _rows_in_window(graph: RoadGraph, b: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Rows (ascending) whose boxes ``b`` meet the lon/lat window. A graph kept for many requests
    (not a one-off route's, ``graph.one_off``) keeps its rows ordered by least longitude after its
    first :data:`WINDOW_SCANS` windows: only the rows that can reach the window (least longitude
    within :data:`WIDE_ROW_DEG` west of it, or wider rows) are tested, with the same test, instead
    of every row."""
    kept = graph.__dict__.get("_window_rows")
    if kept is None or kept[0] is not b:
        # the first few windows of a graph (its first route) are scanned; the order is made after
        scans = graph.__dict__["_window_scans"] = graph.__dict__.get("_window_scans", 0) + 1
        if getattr(graph, "one_off", False) or len(b) < 1000 or scans <= WINDOW_SCANS:
            return np.flatnonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0))
    with graph._lock:
        kept = graph.__dict__.get("_window_rows")
        if kept is None or kept[0] is not b:
            narrow = (b[:, 2] - b[:, 0]) <= WIDE_ROW_DEG
            wide = np.flatnonzero(~narrow)  # NaN boxes too (they never meet the window)
            order = np.flatnonzero(narrow)
            order = order[np.argsort(b[order, 0], kind="stable")]
            kept = graph.__dict__["_window_rows"] = (b, order, b[order, 0], wide)
    _, order, min_lon, wide = kept
    lo = int(np.searchsorted(min_lon, x0 - WIDE_ROW_DEG - 1e-6, side="left"))
    hi = int(np.searchsorted(min_lon, x1, side="right"))
    cand = np.concatenate([order[lo:hi], wide])
    c = b[cand]
    return np.sort(cand[(c[:, 0] <= x1) & (c[:, 2] >= x0) & (c[:, 1] <= y1) & (c[:, 3] >= y0)])


def _edges_of_rows(graph: RoadGraph, rows: np.ndarray) -> np.ndarray:
    """Graph edges cut from the road rows ``rows`` (ascending)."""
    seg = graph.edge_seg
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    with graph._lock:
        if graph._row_edges is None:  # edges ordered by row, for range look-ups
            order = np.argsort(seg, kind="stable")
            graph._row_edges = (order, np.asarray(seg)[order])
    order, sorted_seg = graph._row_edges
    lo = np.searchsorted(sorted_seg, rows, side="left")
    hi = np.searchsorted(sorted_seg, rows, side="right")
    n = hi - lo
    if not n.sum():
        return np.zeros(0, dtype=np.int64)
    pos = np.repeat(lo, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    return np.sort(order[pos])


def _step_d2(graph: RoadGraph, edges: np.ndarray, lon: float, lat: float, kx: float, ky: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Squared local-plane distance (km²) from the point to every step of ``edges``, and each step's edge."""
    c0 = np.asarray(graph.edge_c0)[edges].astype(np.int64)
    n = np.asarray(graph.edge_c1)[edges].astype(np.int64) - c0
    owner = np.repeat(edges, n)
    first = np.repeat(c0, n) + (np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n))
    ax = (graph.coords[first, 0] - lon) * kx
    ay = (graph.coords[first, 1] - lat) * ky
    bx = (graph.coords[first + 1, 0] - lon) * kx
    by = (graph.coords[first + 1, 1] - lat) * ky
    dx, dy = bx - ax, by - ay
    t = np.clip(-(ax * dx + ay * dy) / np.maximum(dx * dx + dy * dy, 1e-18), 0.0, 1.0)
    return (ax + t * dx) ** 2 + (ay + t * dy) ** 2, owner


def _closest(graph: RoadGraph, cand: np.ndarray, lon: float, lat: float) -> int:
    """The candidate edge nearest the point in the metric CRS (the first of equals)."""
    if len(cand) == 1:
        return int(cand[0])
    x, y = graph.threat.to_metric.transform(lon, lat)
    sel = project(graph.edge_geoms(cand), graph.threat.to_metric)
    return int(cand[int(np.argmin(shapely.distance(shapely.Point(x, y), sel)))])


def rows_near(graph: RoadGraph, line: shapely.Geometry, within_m: float) -> np.ndarray:
    """Road rows (all, passable or not) that may lie within ``within_m`` of a lon/lat line: a
    superset found on a grid of the rows' bounding boxes, for an exact test on these rows only.

    The grid's cells are at least ``within_m`` wide (0.01° at least); cells within two of any
    cell the line (densified to half a cell) passes are marked, and a row is kept when its
    bounding box touches a marked cell (rows spanning more than two cells are always kept).
    """
    return rows_near_bounds(graph.row_bounds(), line, within_m)


def rows_near_bounds(b: np.ndarray, line: shapely.Geometry, within_m: float) -> np.ndarray:
    """:func:`rows_near` for the rows whose (minlon, minlat, maxlon, maxlat) boxes are ``b``:
    positions in ``b`` of a superset of the rows within ``within_m`` of the lon/lat line."""
    if not len(b):
        return np.zeros(0, dtype=np.int64)
    xy = shapely.get_coordinates(line)
    lat_max = min(float(np.abs(xy[:, 1]).max()) + 1.0, 89.0)
    cy = max(within_m / 110_000.0, 0.01)
    cx = max(within_m / (111_000.0 * np.cos(np.radians(lat_max))), 0.01)
    x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
    nx = int((b[:, 2].max() - x0) / cx) + 1
    ny = int((b[:, 3].max() - y0) / cy) + 1
    dense = shapely.get_coordinates(shapely.segmentize(line, min(cx, cy) / 2.0))
    ix = np.floor((dense[:, 0] - x0) / cx).astype(np.int64)
    iy = np.floor((dense[:, 1] - y0) / cy).astype(np.int64)
    marked = np.zeros((nx + 4, ny + 4), dtype=bool)  # padded by 2 on each side
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            mx, my = ix + dx + 2, iy + dy + 2
            ok = (mx >= 0) & (mx < nx + 4) & (my >= 0) & (my < ny + 4)
            marked[mx[ok], my[ok]] = True
    ax = np.floor((b[:, 0] - x0) / cx).astype(np.int64) + 2
    ay = np.floor((b[:, 1] - y0) / cy).astype(np.int64) + 2
    bx = np.floor((b[:, 2] - x0) / cx).astype(np.int64) + 2
    by = np.floor((b[:, 3] - y0) / cy).astype(np.int64) + 2
    big = ((bx - ax) > 1) | ((by - ay) > 1)
    keep = big | marked[ax, ay] | marked[ax, by] | marked[bx, ay] | marked[bx, by]
    return np.flatnonzero(keep)
