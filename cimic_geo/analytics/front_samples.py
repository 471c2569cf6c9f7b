"""The k nearest samples of the front line for many points, quickly and exactly as the reference tree.

:meth:`cimic_geo.analytics.front_distance.Front._far_points_km` names a far point's candidate
segments by its nearest samples of the front line (earth-centred 3-D coordinates). A balanced k-d
tree (scipy's default) is slow for points far from a line: many of its boxes lie at about the same
distance. A sliding-midpoint tree (``balanced_tree=False``) answers the same query 3-4× faster with
the same distances, but may pick another of two samples at exactly the same distance (each vertex
is sampled twice, once for each of its segments). So the quick tree is asked for one neighbour
more: where the k-th and the next are strictly apart, the k nearest are the same set in any tree
(and the caller only takes their minimum, so their order does not matter); the few points with a
tie there are asked again of the reference tree, which settles it as it always did.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.spatial import cKDTree


def quick_tree(tree: cKDTree) -> cKDTree:
    """A sliding-midpoint k-d tree of ``tree``'s points (same points, same order); leaves of 32 points
    answer far points' queries about 10 % faster than scipy's default 16 (the same distances)."""
    from scipy.spatial import cKDTree

    return cKDTree(tree.data, leafsize=32, balanced_tree=False, compact_nodes=False)


def query_in_order(tree: cKDTree, points: np.ndarray, k: int, *, cell_m: float = 20_000.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(points, k=k)`` (2-D answers), asked in the order of ``cell_m`` cubes: each point's
    answer is its own, but neighbours asked one after another walk the same branches of the tree
    (about twice as fast for a national set)."""
    cube = np.floor(points / cell_m).astype(np.int64)
    order = np.lexsort(cube.T[::-1])
    dist, idx = tree.query(points[order], k=k)
    out_d, out_i = np.empty_like(dist).reshape(len(points), -1), np.empty_like(idx).reshape(len(points), -1)
    out_d[order], out_i[order] = dist.reshape(len(points), -1), idx.reshape(len(points), -1)
    return out_d, out_i


def nearest_samples(tree: cKDTree, quick: cKDTree, points: np.ndarray, k: int, *,
                    found: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Indices (m, k) of the ``k`` nearest points of ``tree`` to each of ``points``: the same sets as
    ``tree.query(points, k=k)`` gives, found with ``quick`` (:func:`quick_tree` of ``tree``);
    ``found`` is ``quick.query(points, k=k + 1)`` when already at hand."""
    m = len(points)
    if k >= tree.n or m == 0:
        return np.asarray(tree.query(points, k=k)[1]).reshape(m, k)
    dist, idx = found if found is not None else query_in_order(quick, points, k + 1)
    out = np.asarray(idx[:, :k], dtype=np.int64).copy()
    tie = dist[:, k - 1] == dist[:, k]
    if tie.any():
        out[tie] = np.asarray(tree.query(points[tie], k=k)[1]).reshape(-1, k)
    return out


#: Least radius of curvature of the WGS84 ellipsoid (m): the meridian's at the equator, a(1 - e²),
#: rounded down. No geodesic bends more sharply than a circle of this radius.
R_MIN_M = 6_335_000.0


def chord_lower_m(points: np.ndarray, a: np.ndarray, b: np.ndarray, length_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A lower bound (m) of the geodesic distance from each earth-centred point to a geodesic segment
    with earth-centred ends ``a``, ``b`` and length ``length_m``, and the fraction ``t`` of the chord
    ``a``-``b`` at its nearest point.

    The straight distance to the chord, less the segment's greatest bulge from its chord
    (``L² / 8R``, ``R`` = :data:`R_MIN_M`) and 1 cm: a geodesic is never shorter than the straight
    line, and every point of the segment lies within its bulge of the chord.
    """
    ab = b - a
    t = np.clip(((points - a) * ab).sum(axis=-1) / np.maximum((ab * ab).sum(axis=-1), 1e-12), 0.0, 1.0)
    near = a + t[..., None] * ab
    dist = np.sqrt(((points - near) ** 2).sum(axis=-1))
    return dist - np.asarray(length_m, dtype=float) ** 2 / (8.0 * R_MIN_M) - 0.01, t


def keep_candidates(owner: np.ndarray, lower_m: np.ndarray, upper_m: np.ndarray, n: int,
                    *, slack_m: float = 1.0) -> np.ndarray:
    """Which (point ``owner``, segment) candidates can hold the point's nearest part of the front: those
    whose ``lower_m`` bound is within ``slack_m`` of the least ``upper_m`` bound of the same point
    (``n`` points). The least distance over the kept ones is the least over all."""
    best = np.full(n, np.inf)
    np.minimum.at(best, owner, upper_m)
    return lower_m <= best[owner] + slack_m


def segment_ends(segments: np.ndarray, geodesics: np.ndarray) -> np.ndarray:
    """(n, 4) lon/lat of ``pyproj.Geod.fwd`` at distance 0 and at the full length of each segment
    (``geodesics``: azimuth, length), as :func:`points_on_segments` would compute them."""
    from cimic_geo.geo import GEOD

    lon0, lat0, _ = GEOD.fwd(segments[:, 0], segments[:, 1], geodesics[:, 0], 0.0 * geodesics[:, 1])
    lon1, lat1, _ = GEOD.fwd(segments[:, 0], segments[:, 1], geodesics[:, 0], 1.0 * geodesics[:, 1])
    return np.column_stack([lon0, lat0, lon1, lat1]).astype(float)


def points_on_segments(segments: np.ndarray, geodesics: np.ndarray, ends: np.ndarray, seg: np.ndarray,
                       t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat ``pyproj.Geod.fwd(start, azimuth, t * length)`` of segment ``seg`` at fraction ``t``;
    the same numbers, with the ends (``t`` exactly +0 or 1, as most far points' nearest parts are)
    taken from :func:`segment_ends` instead of computed again."""
    from cimic_geo.geo import GEOD

    lon, lat = np.empty(len(seg)), np.empty(len(seg))
    at0 = (t == 0.0) & ~np.signbit(t)
    at1 = t == 1.0
    lon[at0], lat[at0] = ends[seg[at0], 0], ends[seg[at0], 1]
    lon[at1], lat[at1] = ends[seg[at1], 2], ends[seg[at1], 3]
    mid = np.flatnonzero(~(at0 | at1))
    if len(mid):
        s = seg[mid]
        flon, flat, _ = GEOD.fwd(segments[s, 0], segments[s, 1], geodesics[s, 0], t[mid] * geodesics[s, 1])
        lon[mid], lat[mid] = flon, flat
    return lon, lat


def least_scale(crs: object, box: np.ndarray, *, n: int = 25) -> float:
    """The least scale factor, in any direction, of the projection ``crs`` over the lon/lat ``box``
    (minlon, minlat, maxlon, maxlat): the smallest Tissot semi-minor axis on an ``n`` × ``n`` grid
    (0 when it cannot be told, or for a geographic CRS, whose units are not metres)."""
    import pyproj

    if pyproj.CRS.from_user_input(crs).is_geographic:
        return 0.0
    lon, lat = np.meshgrid(np.linspace(box[0], box[2], n), np.linspace(max(box[1], -89.0), min(box[3], 89.0), n))
    factors = pyproj.Proj(crs).get_factors(lon.ravel(), lat.ravel())
    axis = np.asarray(factors.tissot_semiminor, dtype=float)
    axis = axis[np.isfinite(axis)]
    return float(axis.min()) if len(axis) else 0.0


#: The golden-section ratio.
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def golden_min(f: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, *, steps: int = 40) -> np.ndarray:
    """Least of ``f`` over [0, 1] for ``n`` functions at once by golden-section search, as the plain loop

    ``x1 = b - G (b - a); x2 = a + G (b - a); left = f(x1) <= f(x2); b = x2 if left else b;
    a = a if left else x1`` (``steps`` times from a = 0, b = 1), then the least of f(a), f(b), f(0), f(1);

    but ``f`` (``f(t, rows)``: the values at ``t`` of the functions ``rows``) is evaluated only at
    fractions it has not been given before for the same function: a new ``x1`` or ``x2`` is often
    exactly the other one of the step before, and ``a``, ``b`` are always earlier fractions.
    """
    rows = np.arange(n)
    a, b = np.zeros(n), np.ones(n)
    fa = np.asarray(f(a, rows), dtype=float)
    fb = np.asarray(f(b, rows), dtype=float)
    f0, f1 = fa.copy(), fb.copy()
    px1, pf1, px2, pf2 = a, fa, b, fb  # the fractions met last step (the start: 0 and 1)

    def at(x: np.ndarray) -> np.ndarray:
        out = np.where(x == px1, pf1, np.where(x == px2, pf2, np.nan))
        new = np.flatnonzero((x != px1) & (x != px2))
        if len(new):
            out[new] = f(x[new], rows[new])
        return out

    for _ in range(steps):
        x1 = b - GOLDEN * (b - a)
        x2 = a + GOLDEN * (b - a)
        v1, v2 = at(x1), at(x2)
        left = v1 <= v2
        b, fb = np.where(left, x2, b), np.where(left, v2, fb)
        a, fa = np.where(left, a, x1), np.where(left, fa, v1)
        px1, pf1, px2, pf2 = x1, v1, x2, v2
    return np.minimum.reduce([fa, fb, f0, f1])
