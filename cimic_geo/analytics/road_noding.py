"""Noding a roads layer: a junction wherever roads share a vertex, at line ends or in the middle.

OpenStreetMap ways, and most GIS road layers, meet at shared vertices in the middle of lines (a
T-junction where a side road ends on an inner vertex of a main road). :func:`node_lines` cuts
every line at each vertex it shares with another line (or with itself: loops) and at its ends;
lines that merely cross without a shared vertex — bridges, tunnels, overpasses — stay apart.

Vectorised with numpy: vertices are keyed by their rounded lon/lat, occurrences counted over all
lines, and each line split between consecutive node vertices. 1M two-point segments node in
about a second (bench/bench_roads.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from cimic_geo.geo import GEOD

if TYPE_CHECKING:
    import pyproj


@dataclass
class NodedLines:
    """Lines cut at shared vertices. Pieces point into ``coords`` by vertex index.

    Attributes
    ----------
    coords : (V, 2) lon/lat of every vertex (repeated vertices in a row dropped)
    vertex_row : row of each vertex
    node_lonlat : (N, 2) lon/lat of the junction nodes
    piece_row, piece_u, piece_v : source row and end nodes of each piece
    piece_c0, piece_c1 : first and last vertex index of each piece (inclusive)
    piece_length_km : geodesic length of each piece
    row_length_km : geodesic length of each input row
    """

    coords: np.ndarray
    vertex_row: np.ndarray
    node_lonlat: np.ndarray
    piece_row: np.ndarray
    piece_u: np.ndarray
    piece_v: np.ndarray
    piece_c0: np.ndarray
    piece_c1: np.ndarray
    piece_length_km: np.ndarray
    row_length_km: np.ndarray


def vertex_keys(lon: np.ndarray, lat: np.ndarray, precision: int) -> np.ndarray:
    """One int64 per lon/lat rounded to ``precision`` decimals (equal keys: the same point)."""
    scale = 10.0**precision
    xi = np.round(np.asarray(lon) * scale).astype(np.int64)
    yi = np.round(np.asarray(lat) * scale).astype(np.int64)
    return xi * (1 << 32) + (yi + (1 << 31))


def node_lines(geoms: np.ndarray, *, precision: int = 6) -> NodedLines:
    """Cut LineStrings (lon/lat) at every shared vertex and at their ends.

    Parameters
    ----------
    geoms : array of shapely LineStrings
    precision : decimals of lon/lat identifying the same vertex (6 ≈ 0.1 m)
    """
    coords, idx = shapely.get_coordinates(np.asarray(geoms, dtype=object), return_index=True)
    return node_vertices(coords, idx, rows=len(geoms), precision=precision)


def node_vertices(coords: np.ndarray, idx: np.ndarray, *, rows: int, precision: int = 6) -> NodedLines:
    """:func:`node_lines` of the lines whose vertices are ``coords`` (lon/lat, row after row), ``idx``
    the row of each vertex (non-decreasing, every one of the ``rows`` rows present)."""
    m = rows
    keys = vertex_keys(coords[:, 0], coords[:, 1], precision)
    if len(keys):  # drop a vertex repeating the previous one of its row
        keep = np.ones(len(keys), dtype=bool)
        keep[1:] = (idx[1:] != idx[:-1]) | (keys[1:] != keys[:-1])
        coords, idx, keys = coords[keep], idx[keep], keys[keep]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = idx[1:] != idx[:-1]
    last = np.ones(len(idx), dtype=bool)
    last[:-1] = idx[1:] != idx[:-1]
    # geodesic length of each vertex-to-vertex step, accumulated along the whole array
    step = np.zeros(len(idx))
    if len(idx) > 1:
        same = ~first[1:]
        a, b = coords[:-1][same], coords[1:][same]
        _, _, d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        step[1:][same] = np.asarray(d) / 1000.0
    cum = np.cumsum(step)
    row_len = np.bincount(idx, weights=step, minlength=m)
    # node vertices: line ends and vertices occurring more than once anywhere
    uniq, vinv = np.unique(keys, return_inverse=True)
    occ = np.bincount(vinv, minlength=len(uniq))
    is_node = first | last | (occ[vinv] > 1)
    p = np.flatnonzero(is_node)
    pair = idx[p[1:]] == idx[p[:-1]]
    c0, c1 = p[:-1][pair], p[1:][pair]
    key_is_node = np.zeros(len(uniq), dtype=bool)
    key_is_node[vinv[p]] = True
    node_id = np.cumsum(key_is_node) - 1
    node_lonlat = np.empty((int(key_is_node.sum()), 2))
    node_lonlat[node_id[vinv[p]]] = coords[p]
    return NodedLines(
        coords=coords, vertex_row=idx, node_lonlat=node_lonlat,
        piece_row=idx[c0].astype(np.int64), piece_u=node_id[vinv[c0]].astype(np.int64),
        piece_v=node_id[vinv[c1]].astype(np.int64), piece_c0=c0.astype(np.int64), piece_c1=c1.astype(np.int64),
        piece_length_km=cum[c1] - cum[c0], row_length_km=row_len,
    )


def piece_lines(coords: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """LineStrings of the pieces ``coords[c0[i] : c1[i] + 1]`` (vectorised)."""
    c0 = np.asarray(c0, dtype=np.int64)
    n = (np.asarray(c1, dtype=np.int64) - c0 + 1)
    if not len(n):
        return np.empty(0, dtype=object)
    owner = np.repeat(np.arange(len(n)), n)
    offs = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
    return shapely.linestrings(coords[c0[owner] + offs], indices=owner)


def row_lines(coords: np.ndarray, v0: np.ndarray, v1: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """LineStrings of input rows ``rows`` whose vertices are ``coords[v0[r] : v1[r] + 1]`` (a row
    left with one vertex becomes a zero-length line on it)."""
    rows = np.asarray(rows, dtype=np.int64)
    c0 = np.asarray(v0)[rows].astype(np.int64)
    c1 = np.asarray(v1)[rows].astype(np.int64)
    if not len(rows):
        return np.empty(0, dtype=object)
    n = np.maximum(c1 - c0 + 1, 2)
    owner = np.repeat(np.arange(len(n)), n)
    offs = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
    return shapely.linestrings(coords[np.minimum(c0[owner] + offs, c1[owner])], indices=owner)


def project(geom: shapely.Geometry | np.ndarray, transformer: pyproj.Transformer) -> shapely.Geometry | np.ndarray:
    """Transform a shapely geometry (or array of geometries) with a pyproj transformer."""
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def unique_sorted(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``a`` (:func:`numpy.unique` without its ``numpy.ma`` import,
    which a one-off CLI route would pay for)."""
    a = np.sort(np.asarray(a).ravel())
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a
