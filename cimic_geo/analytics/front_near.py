"""The nearest projected front segment of many points: the answer of an STRtree, found faster.

:meth:`cimic_geo.analytics.front_distance.Front.distance_km` needs, for every point near the front,
its nearest segment of the projected front line (``STRtree.query_nearest``, which costs GEOS about
15 µs a point). Here the segments are sampled every <= :data:`SPACING_M` along their straight
projected course and the samples go into a 2-D k-d tree. The nearest sample, at ``ds``, bounds the
nearest segment's distance ``D`` from above (the sample lies on its segment), and every segment no
farther than ``ds`` has a sample within ``ds`` + half a spacing, so the samples within that radius
name every candidate: those among the point's :data:`NEAREST_K` nearest (one k-d tree query for all
points), or a ball query where all of them lie within it. Their distances are measured exactly
(numpy, the point-to-segment formula).

A point is left to the STRtree (``ask``) when the answer could differ from GEOS's in round-off:
two candidates as near to within :data:`TIE_M` whose nearest points are not the very same
coordinates (at a shared vertex they are, and either segment gives the same shortest line), or a
nearest distance within :data:`TIE_M` of the search limit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

#: Spacing (m) of the samples along each projected segment (both ends are always samples).
SPACING_M = 500.0
#: Distances this close (m, plus 1e-9 of the distance) count as a possible tie in GEOS's arithmetic.
TIE_M = 1e-6
#: Nearest samples asked of the k-d tree per point; a point with all of them within its search radius
#: asks the tree for every sample in the radius instead.
NEAREST_K = 12


@dataclass
class SegmentSamples:
    """Samples on the projected segments ``ends`` (n, 4: x0, y0, x1, y1) with their owner segment,
    in a 2-D k-d tree; ``half_m`` is half the largest spacing used."""

    tree: cKDTree
    owner: np.ndarray
    ends: np.ndarray
    half_m: float


def segment_samples(ends: np.ndarray, *, spacing_m: float = SPACING_M) -> SegmentSamples:
    """Sample every segment ``ends`` (n, 4 projected x0, y0, x1, y1) every <= ``spacing_m``."""
    from scipy.spatial import cKDTree

    ends = np.asarray(ends, dtype=float)
    length = np.hypot(ends[:, 2] - ends[:, 0], ends[:, 3] - ends[:, 1])
    n = np.maximum(np.ceil(length / spacing_m).astype(np.int64), 1)
    owner = np.repeat(np.arange(len(ends)), n + 1)
    start = np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)
    t = (np.arange(len(owner)) - start) / n[owner]
    t[np.r_[start[1:] != start[:-1], True]] = 1.0  # each segment's last sample is its very end
    x = ends[owner, 0] + (ends[owner, 2] - ends[owner, 0]) * t
    y = ends[owner, 1] + (ends[owner, 3] - ends[owner, 1]) * t
    half = float(np.max(length / n)) / 2.0 if len(ends) else 0.0
    return SegmentSamples(tree=cKDTree(np.column_stack([x, y])), owner=owner, ends=ends, half_m=half)


def point_segment_m(xy: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Planar distance (m) from each point ``xy`` (m, 2) to the segment ``ends`` (m, 4) on its row, and
    the fraction along the segment of the point's projection on its line (unclipped)."""
    ax, ay = ends[:, 0], ends[:, 1]
    dx, dy = ends[:, 2] - ax, ends[:, 3] - ay
    den = dx * dx + dy * dy
    r = ((xy[:, 0] - ax) * dx + (xy[:, 1] - ay) * dy) / np.where(den > 0, den, 1.0)
    t = np.clip(r, 0.0, 1.0)
    return np.hypot(xy[:, 0] - (ax + t * dx), xy[:, 1] - (ay + t * dy)), np.where(den > 0, r, -1.0)


def nearest_segments(samples: SegmentSamples, xy: np.ndarray, *, max_m: float,
                     points: np.ndarray | None = None, segments: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's nearest segment within ``max_m``, as ``STRtree.query_nearest(max_distance=max_m)``.

    Parameters
    ----------
    samples : :func:`segment_samples` of the segments
    xy : (m, 2) projected points
    max_m : search limit (m)
    points, segments : the same points and segments as shapely geometries (for the shortest lines
        that settle ties); when None, every tie is left to the caller

    Returns
    -------
    (found, segment, ask): positions of the points whose nearest segment ``segment`` is within
    ``max_m``; positions of the points to ask of the STRtree. The others are farther than ``max_m``.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    empty = np.empty(0, dtype=np.int64)
    if not len(xy) or not len(samples.owner):
        return empty, empty, np.arange(len(xy)) if not len(samples.owner) else empty
    k = min(NEAREST_K, len(samples.owner))
    dk, ik = samples.tree.query(xy, k=k)
    dk, ik = dk.reshape(len(xy), k), ik.reshape(len(xy), k)
    ds = dk[:, 0]
    slack = TIE_M + 1e-9 * np.maximum(ds, max_m)
    todo = np.flatnonzero(ds - samples.half_m - slack <= max_m)  # the others: no segment within max_m
    if not len(todo):
        return empty, empty, empty
    radius = np.minimum(ds[todo], max_m + slack[todo]) + samples.half_m + 4.0 * slack[todo]
    # the samples within ``radius``: from the k nearest, unless the k-th is within it too (then a ball query)
    inside = dk[todo] <= radius[:, None]
    more = inside[:, -1] & (k < len(samples.owner))
    inside[more] = False
    who, flat = np.repeat(todo, inside.sum(axis=1)), ik[todo][inside]
    if more.any():
        hits = samples.tree.query_ball_point(xy[todo[more]], radius[more], return_sorted=False)
        count = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
        who = np.concatenate([who, np.repeat(todo[more], count)])
        flat = np.concatenate([flat, np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64,
                                                 count=int(count.sum()))])
    key = np.sort(who * np.int64(len(samples.ends)) + samples.owner[flat])  # (point, segment)
    key = key[np.r_[True, key[1:] != key[:-1]]]
    who, seg = np.divmod(key, len(samples.ends))
    dist, r = point_segment_m(xy[who], samples.ends[seg])
    best = np.full(len(xy), np.inf)
    np.minimum.at(best, who, dist)
    tol = TIE_M + 1e-9 * best[who]
    close = dist <= best[who] + tol
    # each point's first close candidate; a point with several whose nearest points are the very same
    # end vertex (clearly beyond the segment's ends, where GEOS also takes the end itself) is settled,
    # any other is settled by GEOS's own shortest lines
    close_idx = np.flatnonzero(close)
    cw = who[close_idx]
    start = np.r_[0, np.flatnonzero(cw[1:] != cw[:-1]) + 1]
    head = close_idx[start]
    chosen = np.full(len(xy), -1, dtype=np.int64)
    chosen[who[head]] = seg[head]
    first = np.repeat(head, np.diff(np.r_[start, len(cw)]))  # each close candidate's point's first one
    margin = 1e-9
    at0, at1 = r < -margin, r > 1.0 + margin
    vx = np.where(at0, samples.ends[seg, 0], np.where(at1, samples.ends[seg, 2], np.nan))
    vy = np.where(at0, samples.ends[seg, 1], np.where(at1, samples.ends[seg, 3], np.nan))
    same = (vx[close_idx] == vx[first]) & (vy[close_idx] == vy[first])
    n_close = np.bincount(cw, minlength=len(xy))
    unsure = np.zeros(len(xy), dtype=bool)
    unsure[cw[~same & (n_close[cw] > 1)]] = True
    ask = np.zeros(len(xy), dtype=bool)
    many = close_idx[unsure[cw]]
    if len(many):
        if points is None or segments is None:
            ask[who[many]] = True
        else:
            lines = shapely.get_coordinates(shapely.shortest_line(points[who[many]], segments[seg[many]]))
            lines = lines.reshape(-1, 4)
            wm = who[many]
            start = np.r_[0, np.flatnonzero(wm[1:] != wm[:-1]) + 1]
            first = np.repeat(start, np.diff(np.r_[start, len(wm)]))  # each point's first close candidate
            differ = np.any(lines != lines[first], axis=1)
            ask[who[many][differ]] = True
    within = np.isfinite(best) & (best <= max_m)
    edge = np.abs(best - max_m) <= TIE_M + 1e-9 * max_m
    ask |= edge
    found = np.flatnonzero(within & ~ask)
    return found, chosen[found], np.flatnonzero(ask)
