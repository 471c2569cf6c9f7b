"""The front line measured on the ellipsoid: its samples in earth-centred coordinates (far points, cheap
lower bounds) and the exact distance of features near a band edge.

:class:`cimic_geo.analytics.front_distance.Front` finds near features' nearest segment in a metric
projection; what it measures without the projection lives here:

* **far points** (beyond the outer band edge + 10 km): the front is sampled every <= 1 km and the
  samples go into a k-d tree in earth-centred 3-D coordinates (:func:`cimic_geo.geo.ecef`), which
  ranks them by geodesic distance (a projected plane does not: its ~0.1 % scale error can name a
  part of the front ~100 m farther than the nearest one). The distance to the candidate segments'
  nearest points is geodesic, at most ``(500 m)^2 / 2d`` + 1 m above the truth (< 3 m at 60 km)
  and never below it;
* **lower bounds** (the chord to the nearest sample, less half a spacing) that tell far points apart
  without projecting them, and that corridor and road searches use to skip what is surely beyond;
* the **exact** distance near a band edge: every segment that could be the nearest is treated as a
  geodesic between its vertices and the distance to it minimised by golden-section search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from cimic_geo.analytics.front_samples import (
    chord_lower_m,
    golden_min,
    keep_candidates,
    least_scale,
    nearest_samples,
    points_on_segments,
    query_in_order,
    quick_tree,
    segment_ends,
)
from cimic_geo.geo import GEOD, ecef

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

#: Spacing (m) of the front's samples in earth-centred coordinates.
SAMPLE_M = 1000.0
#: Features within this fraction of a band edge (plus :data:`REFINE_ABS_KM`) are solved exactly.
REFINE_REL = 0.01
REFINE_ABS_KM = 0.1


class FrontSamples:
    """The front's segments (n, 4 lon/lat) sampled for searches on the ellipsoid; every index is built
    on first use (:meth:`warm` builds them all)."""

    def __init__(self, segments: np.ndarray) -> None:
        self.segments = segments
        self._index: tuple[cKDTree, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._quick: cKDTree | None = None
        self._seg_ends: np.ndarray | None = None

    def index(self) -> tuple[cKDTree, np.ndarray, np.ndarray, np.ndarray]:
        """k-d tree of points every <= :data:`SAMPLE_M` along the front in earth-centred 3-D
        coordinates, with each sample's segment, the segments' end points in the same coordinates and
        their geodesic azimuth and length."""
        if self._index is None:
            from scipy.spatial import cKDTree

            seg = self.segments
            az, _, length = GEOD.inv(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3])
            n = np.maximum(np.ceil(np.asarray(length) / SAMPLE_M).astype(np.int64), 1)
            owner = np.repeat(np.arange(len(seg)), n + 1)
            first = np.cumsum(n + 1) - (n + 1)
            t = (np.arange(len(owner)) - first[owner]) * (1.0 / n)[owner]  # np.linspace(0, 1, k + 1) each
            t[first[1:] - 1] = 1.0
            t[-1:] = 1.0
            lon = seg[owner, 0] + (seg[owner, 2] - seg[owner, 0]) * t
            lat = seg[owner, 1] + (seg[owner, 3] - seg[owner, 1]) * t
            ends = np.stack([ecef(seg[:, 0], seg[:, 1]), ecef(seg[:, 2], seg[:, 3])], axis=1)
            geodesics = np.column_stack([np.asarray(az, dtype=float), np.asarray(length, dtype=float)])
            self._index = (cKDTree(ecef(lon, lat)), owner, ends, geodesics)
        return self._index

    def quick(self) -> cKDTree:
        """:func:`cimic_geo.analytics.front_samples.quick_tree` of the samples."""
        if self._quick is None:
            self._quick = quick_tree(self.index()[0])
        return self._quick

    def seg_ends(self) -> np.ndarray:
        """:func:`cimic_geo.analytics.front_samples.segment_ends` of the segments."""
        if self._seg_ends is None:
            self._seg_ends = segment_ends(self.segments, self.index()[3])
        return self._seg_ends

    def warm(self) -> None:
        """Build every index now (threads sharing the samples then only read them)."""
        self.index()
        self.quick()
        self.seg_ends()

    def lower_bound_km(self, lon: np.ndarray, lat: np.ndarray, *, upper_km: float) -> np.ndarray:
        """A cheap lower bound (km) of each lon/lat point's geodesic distance to the front; inf when the
        bound exceeds ``upper_km``: the chord to the nearest sample, less half the sample spacing (a chord
        is never longer than the geodesic, and the true nearest point is within half a spacing of a
        sample)."""
        lon = np.asarray(lon, dtype=float)
        out = np.full(len(lon), np.inf)
        if not len(self.segments) or not len(lon):
            return out
        slack_m = SAMPLE_M / 2.0 + 1.0
        d, _ = self.index()[0].query(ecef(lon, lat), distance_upper_bound=upper_km * 1000.0 + slack_m)
        ok = np.isfinite(d)
        out[ok] = np.maximum(d[ok] - slack_m, 0.0) / 1000.0
        return out

    def surely_far(self, geoms: np.ndarray, far_m: float, crs: Any
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Positions of the points among ``geoms`` (lon/lat) surely farther than ``far_m`` from the front
        in the projection ``crs`` (the chord to the nearest sample less half a spacing, below the
        geodesic, times the projection's least scale over the data, less 1 %), and the quick tree's
        three nearest samples of every point of ``geoms`` (NaN distances for the others)."""
        tree = self.index()[0]
        pos = np.flatnonzero(shapely.get_type_id(geoms) == 0)
        if tree.n <= 2 or not len(pos):
            return np.empty(0, dtype=np.int64), None
        xy = shapely.get_coordinates(geoms[pos])
        box = np.r_[np.minimum(xy.min(axis=0), self.segments.reshape(-1, 2).min(axis=0)) - 1.0,
                    np.maximum(xy.max(axis=0), self.segments.reshape(-1, 2).max(axis=0)) + 1.0]
        k_lo = least_scale(crs, box) * 0.99
        dist, idx = query_in_order(self.quick(), ecef(xy[:, 0], xy[:, 1]), 3)
        sure = k_lo * (dist[:, 0] - SAMPLE_M / 2.0 - 2.0) > far_m + 1.0
        all_d, all_i = np.full((len(geoms), 3), np.nan), np.zeros((len(geoms), 3), dtype=idx.dtype)
        all_d[pos], all_i[pos] = dist, idx
        return pos[sure], (all_d, all_i)

    def far_points_km(self, lonlat: np.ndarray, *, found: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> np.ndarray:
        """Geodesic km from far points (beyond the outer band + 10 km) to the front line.

        The nearest samples of the line in earth-centred coordinates name the candidate segments; the
        distance is the geodesic one to the point of each candidate segment (a geodesic) nearest in those
        coordinates. ``found`` is the quick tree's answer from :meth:`surely_far` when at hand.
        """
        tree, owner, ends, geodesics = self.index()
        p = ecef(lonlat[:, 0], lonlat[:, 1])
        k = min(2, tree.n)  # two: a vertex is sampled twice, once for each of its segments
        idx = nearest_samples(tree, self.quick(), p, k, found=found)
        cand = owner[np.asarray(idx).reshape(len(p), k)]  # (m, k) segments
        _, t = chord_lower_m(p[:, None, :], ends[cand, 0], ends[cand, 1], geodesics[cand, 1])  # t as ever
        flon, flat = points_on_segments(self.segments, geodesics, self.seg_ends(), cand.ravel(), t.ravel())
        flon, flat = flon.reshape(len(p), k), flat.reshape(len(p), k)
        d = np.empty((len(p), k))
        d[:, 0] = GEOD.inv(lonlat[:, 0], lonlat[:, 1], flon[:, 0], flat[:, 0])[2]
        for j in range(1, k):  # a candidate at the very point of the first (a shared vertex): the same distance
            again = (flon[:, j] == flon[:, 0]) & (flat[:, j] == flat[:, 0])
            d[again, j] = d[again, 0]
            o = np.flatnonzero(~again)
            d[o, j] = GEOD.inv(lonlat[o, 0], lonlat[o, 1], flon[o, j], flat[o, j])[2]
        return d.min(axis=1) / 1000.0

    def exact_km(self, tree: shapely.STRtree, pts_lonlat: np.ndarray, geoms_m: np.ndarray,
                 d_proj_km: np.ndarray) -> np.ndarray:
        """Exact geodesic distance (km) from lon/lat points to the front (segments as geodesics);
        ``tree`` is the STRtree of the projected segments, ``geoms_m`` the points projected and
        ``d_proj_km`` their projected distance (the search radius comes from it)."""
        radius = d_proj_km * (1 + 2 * REFINE_REL) + REFINE_ABS_KM
        qi, si = tree.query(geoms_m, predicate="dwithin", distance=radius * 1000.0)
        _, _, ends, geodesics = self.index()
        if len(si) > len(pts_lonlat):  # drop segments that cannot be the nearest (bounds, see keep_candidates)
            plon, plat = pts_lonlat[qi, 0], pts_lonlat[qi, 1]
            lower, t = chord_lower_m(ecef(plon, plat), ends[si, 0], ends[si, 1], geodesics[si, 1])
            seg = self.segments[si]
            lon, lat, _ = GEOD.fwd(seg[:, 0], seg[:, 1], geodesics[si, 0], t * geodesics[si, 1])
            upper = np.asarray(GEOD.inv(plon, plat, lon, lat)[2], dtype=float)
            keep = keep_candidates(qi, lower, upper, len(pts_lonlat))
            qi, si = qi[keep], si[keep]
        seg = self.segments[si]
        plon, plat = pts_lonlat[qi, 0], pts_lonlat[qi, 1]
        az, length = geodesics[si, 0], geodesics[si, 1]

        best = golden_min(lambda t, i: GEOD.inv(plon[i], plat[i], *GEOD.fwd(seg[i, 0], seg[i, 1], az[i],
                                                                          t * length[i])[:2])[2], len(seg))
        out = np.full(len(pts_lonlat), np.inf)
        np.minimum.at(out, qi, best)
        return out / 1000.0
