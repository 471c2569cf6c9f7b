"""The front line's segments (densified along the geodesic), and the parts of a long line that can
hold its nearest point to the front line.

:meth:`cimic_geo.analytics.front_distance.Front.distance_km` with ``exact=True`` measures a whole
corridor or route (thousands of vertices) against the front's segments; an STRtree nearest search
with such a line compares it, vertex by vertex, with every segment whose box it meets.
:func:`nearest_parts` keeps only the runs of the line that can be nearest, so the search (and the
exact refinement that follows) gives the same distance and the same nearest points for a fraction
of the work.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.geo import GEOD, WGS84, metric_crs

#: Vertices per run of a long line (runs share their end vertices).
PART_VERTICES = 64
#: Front segments longer than this (km) are split along their geodesic.
_DENSIFY_KM = 2.0


def nearest_parts(tree: Any, geoms_m: np.ndarray) -> np.ndarray:
    """Long metric lines cut down to the runs of :data:`PART_VERTICES` vertices that can hold their
    nearest point to the geometries of ``tree`` (an STRtree of the front's metric segments); other
    geometries as they are.

    A run's box's distance to the front bounds the run's own distance from below, that plus the
    box's diagonal from above (every vertex of the run lies within the diagonal of the box's point
    nearest the front); runs whose lower bound exceeds the least upper bound are dropped, the
    others kept in order (one line, or several for runs apart).
    """
    out = geoms_m
    long_ = (shapely.get_type_id(geoms_m) == 1) & (shapely.get_num_coordinates(geoms_m) > 4 * PART_VERTICES)
    for i in np.flatnonzero(long_):
        c = shapely.get_coordinates(geoms_m[i])
        starts = np.arange(0, len(c) - 1, PART_VERTICES - 1)
        ends = np.minimum(starts + PART_VERTICES - 1, len(c) - 1)
        lo = np.minimum(np.minimum.reduceat(c, starts, axis=0), c[ends])
        hi = np.maximum(np.maximum.reduceat(c, starts, axis=0), c[ends])
        boxes = shapely.box(lo[:, 0] - 1.0, lo[:, 1] - 1.0, hi[:, 0] + 1.0, hi[:, 1] + 1.0)
        _, lower = tree.query_nearest(boxes, return_distance=True, all_matches=False)
        upper = float(np.min(lower + np.hypot(*(hi - lo + 2.0).T)))
        keep = np.flatnonzero(lower <= upper + 1.0)
        if len(keep) == len(starts):
            continue
        first = keep[np.r_[True, np.diff(keep) > 1]]
        last = keep[np.r_[np.diff(keep) > 1, True]]
        lines = [c[starts[a]:ends[b] + 1] for a, b in zip(first.tolist(), last.tolist(), strict=True)]
        if out is geoms_m:
            out = geoms_m.copy()
        out[i] = shapely.LineString(lines[0]) if len(lines) == 1 else shapely.MultiLineString(lines)
    return out


def _segments_lonlat(lines: np.ndarray) -> np.ndarray:
    """(n, 4) array of segment endpoints lon0, lat0, lon1, lat1 of all parts of the lines."""
    parts = shapely.get_parts(lines)
    parts = parts[shapely.get_type_id(parts) == 1] if len(parts) else parts  # LineString
    if len(parts) and np.any(shapely.get_type_id(parts) != 1):
        parts = shapely.get_parts(shapely.boundary(parts))
    if not len(parts):
        return np.empty((0, 4))
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[1:] == index[:-1]
    segs = np.column_stack([coords[:-1][same], coords[1:][same]])
    keep = (segs[:, 0] != segs[:, 2]) | (segs[:, 1] != segs[:, 3])
    if not keep.any() and len(coords):  # degenerate line (a point): keep one zero-length segment
        return np.column_stack([coords[:1], coords[:1]])
    return segs[keep]


def _densify(segs: np.ndarray, max_km: float = _DENSIFY_KM) -> np.ndarray:
    """Split segments longer than ``max_km`` along their geodesic, so that the straight segments
    in the projection stay within millimetres of the geodesic edges."""
    if not len(segs):
        return segs
    _, _, length = GEOD.inv(segs[:, 0], segs[:, 1], segs[:, 2], segs[:, 3])
    long_ = np.asarray(length) > max_km * 1000.0
    if not long_.any():
        return segs
    pieces = [segs[~long_]]
    for (lon0, lat0, lon1, lat1), ln in zip(segs[long_], np.asarray(length)[long_], strict=True):
        n = math.ceil(ln / (max_km * 1000.0)) - 1
        mid = np.array(GEOD.npts(lon0, lat0, lon1, lat1, n)) if n > 0 else np.empty((0, 2))
        pts = np.vstack([[lon0, lat0], mid.reshape(-1, 2), [lon1, lat1]])
        pieces.append(np.column_stack([pts[:-1], pts[1:]]))
    return np.vstack(pieces)


def front_line_from_occupied(
    occupied_area: Any, *, territory: Any = None, border_margin_km: float = 2.0
) -> BaseGeometry:
    """A front line derived from an occupied-area polygon: its boundary.

    With ``territory`` (the country's polygons), boundary parts that run along the country's own
    border or coast (within ``border_margin_km``) are dropped, leaving the contact line.
    """
    from cimic_geo.analytics.front_distance import as_geometry_array, valid_mask

    occ = as_geometry_array(occupied_area)
    occ = occ[valid_mask(occ)]
    if not len(occ):
        return shapely.MultiLineString([])
    boundary = shapely.boundary(shapely.union_all(occ))
    if territory is None:
        return boundary
    terr = as_geometry_array(territory)
    terr = terr[valid_mask(terr)]
    if not len(terr):
        return boundary
    crs = metric_crs(shapely.total_bounds(np.concatenate([occ, terr])))
    fwd = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)
    inv = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    b_m = shapely.transform(boundary, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    t_m = shapely.transform(shapely.union_all(terr), lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    inner = shapely.buffer(t_m, -border_margin_km * 1000.0)
    kept = shapely.intersection(b_m, inner)
    return shapely.transform(kept, lambda c: np.column_stack(inv.transform(c[:, 0], c[:, 1])))
