"""Geodesic distance to the front line, for any number of features, at any scale.

Accuracy
--------
Everything is projected once to a metric CRS for the extent (:func:`cimic_geo.geo.metric_crs_for`:
UTM for small extents, azimuthal equidistant nationally). The front line is cut into its
segments (densified along the geodesic to <= 2 km), which go into an STRtree; each feature's
nearest segment comes from ``STRtree.query_nearest`` (vectorised). The reported distance is the
**geodesic** (WGS84, ``pyproj.Geod``) distance between the two nearest points found in the
projection; its error is second order in the projection's scale error (centimetres). Features
whose distance lies within 1 % + 100 m of a band edge are then solved exactly: every segment that
could be the nearest (bounds in earth-centred 3-D drop the others) is treated as a geodesic between
its vertices and the distance to it is minimised by golden-section search on the ellipsoid, so a
feature exactly on a band edge is classified correctly.

Points farther than the outer band edge + 10 km (most of a national set; told apart without
projecting them where a bound makes it sure) skip the STRtree: the
front is sampled every <= 1 km and the samples go into a k-d tree in earth-centred 3-D
coordinates, which ranks them by geodesic distance (a projected plane does not: its ~0.1 %
scale error can name a part of the front ~100 m farther than the nearest one). The distance to
the candidate segments' nearest points is then geodesic, at most ``(500 m)^2 / 2d`` + 1 m above
the truth (< 3 m at 60 km) and never below it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.front_near import SegmentSamples, nearest_segments, segment_samples
from cimic_geo.analytics.front_parts import _densify, _segments_lonlat, front_line_from_occupied, nearest_parts
from cimic_geo.analytics.front_samples import (
    GOLDEN,
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
from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.geo import GEOD, WGS84, ecef, metric_crs

_REFINE_REL = 0.01
_REFINE_ABS_KM = 0.1
_SAMPLE_M = 1000.0
_GOLDEN = GOLDEN  # the golden-section ratio (also used by the trends' own refinement)

if TYPE_CHECKING:  # geopandas and scipy.spatial are imported only when used (a one-off CLI route needs neither)
    import geopandas as gpd
    from scipy.spatial import cKDTree

    GeomInput = gpd.GeoDataFrame | gpd.GeoSeries | Sequence[BaseGeometry] | np.ndarray | BaseGeometry | None
else:
    GeomInput = Any


# ----------------------------------------------------------------------------------------------
# geometry helpers
# ----------------------------------------------------------------------------------------------


def as_geometry_array(geoms: GeomInput) -> np.ndarray:
    """Shapely geometries (EPSG:4326) as an object array from a frame, series, list or geometry."""
    if geoms is None:
        return np.empty(0, dtype=object)
    gpd = sys.modules.get("geopandas")  # not imported: ``geoms`` cannot be a frame or series
    if gpd is not None and isinstance(geoms, gpd.GeoDataFrame | gpd.GeoSeries):
        if geoms.crs is not None and CRS.from_user_input(geoms.crs) != CRS.from_user_input(WGS84):
            geoms = geoms.to_crs(WGS84)
        arr = np.asarray(geoms.geometry.values, dtype=object) if isinstance(geoms, gpd.GeoDataFrame) else np.asarray(
            geoms.values, dtype=object)
        return arr
    if isinstance(geoms, BaseGeometry):
        return np.array([geoms], dtype=object)
    return np.asarray(list(geoms), dtype=object)


def valid_mask(arr: np.ndarray) -> np.ndarray:
    return ~(shapely.is_missing(arr) | shapely.is_empty(arr)) if len(arr) else np.zeros(0, dtype=bool)


def _line_parts(front_line: GeomInput) -> np.ndarray:
    arr = as_geometry_array(front_line)
    arr = arr[valid_mask(arr)]
    if not len(arr):
        return arr
    types = shapely.get_type_id(arr)
    polys = np.isin(types, (3, 6))
    if polys.any():  # a polygon given as the "line": use its boundary
        arr = np.where(polys, shapely.boundary(arr), arr)
    return arr


@dataclass
class Front:
    """A front line (and occupied area) prepared for many distance queries.

    Build with :func:`prepare_front`. ``distance_km`` and ``occupied`` accept any geometries in
    EPSG:4326.
    """

    crs: CRS
    segments: np.ndarray  # (n, 4) lon/lat endpoints
    occupied_geom: BaseGeometry | None
    fwd: pyproj.Transformer | None = None  #: lon/lat -> ``crs`` (always_xy) when one is at hand, else made here

    def __post_init__(self) -> None:
        self._fwd = self.fwd or pyproj.Transformer.from_crs(WGS84, self.crs, always_xy=True)
        self._inv = pyproj.Transformer.from_crs(self.crs, WGS84, always_xy=True)
        if len(self.segments):
            x0, y0 = self._fwd.transform(self.segments[:, 0], self.segments[:, 1])
            x1, y1 = self._fwd.transform(self.segments[:, 2], self.segments[:, 3])
            self._ends_m = np.column_stack([x0, y0, x1, y1])
            self._seg_m = shapely.linestrings(np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1))
            self._tree = shapely.STRtree(self._seg_m)
        else:
            self._ends_m = np.empty((0, 4))
            self._seg_m = np.empty(0, dtype=object)
            self._tree = None
        self._near: SegmentSamples | None = None  # see nearest_within
        if self.occupied_geom is not None and not self.occupied_geom.is_empty:
            shapely.prepare(self.occupied_geom)
        self._samples: tuple[cKDTree, np.ndarray, np.ndarray, np.ndarray] | None = None  # see _sample_index

    @property
    def empty(self) -> bool:
        return not len(self.segments)

    def warm(self) -> Front:
        """Build every index the distance queries make on first use (so that threads sharing this
        front never build one twice); returns the front."""
        if not self.empty:
            self._sample_index()
            self._quick()
            if self._near is None:
                self._near = segment_samples(self._ends_m)
            if getattr(self, "_seg_ends", None) is None:
                self._seg_ends = segment_ends(self.segments, self._sample_index()[3])
            self._tree.query_nearest(self._seg_m[:1])  # the STRtree built now, not by two threads at once
        return self

    def project(self, geoms: np.ndarray) -> np.ndarray:
        fwd = self._fwd
        if len(geoms) and (shapely.get_type_id(geoms) == 0).all():  # points: made anew, a little quicker
            xy = shapely.get_coordinates(geoms)
            if len(xy) == len(geoms):  # none empty
                return shapely.points(*fwd.transform(xy[:, 0], xy[:, 1]))
        return shapely.transform(geoms, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))

    def occupied(self, geoms: GeomInput) -> np.ndarray:
        """True where the feature lies inside the occupied area (its representative point, for
        lines and polygons; a point on the boundary is friendly)."""
        arr = as_geometry_array(geoms)
        out = np.zeros(len(arr), dtype=bool)
        if self.occupied_geom is None or self.occupied_geom.is_empty or not len(arr):
            return out
        ok = valid_mask(arr)
        pts = arr[ok]
        is_pt = shapely.get_type_id(pts) == 0
        rep = pts.copy()
        if not is_pt.all():
            rep[~is_pt] = shapely.point_on_surface(pts[~is_pt])
        xy = shapely.get_coordinates(rep)
        out[ok] = shapely.contains_xy(self.occupied_geom, xy[:, 0], xy[:, 1])
        return out

    def distance_km(self, geoms: GeomInput, *, exact_near_km: Sequence[float] = DEFAULT_BANDS_KM,
                    exact: bool = False, projected: np.ndarray | None = None) -> np.ndarray:
        """Geodesic distance (km) from each feature to the nearest point of the front line.

        Parameters
        ----------
        geoms : features in EPSG:4326 (NaN for missing/empty ones, or when there is no front)
        exact_near_km : distances solved exactly on the ellipsoid when within 1 % + 100 m of
            one of these values (the band edges)
        exact : solve every feature exactly (slower; for a few features such as a corridor)
        projected : the same features already in ``crs`` by this front's transformer (``fwd``),
            when the caller has them: not projected again
        """
        arr = as_geometry_array(geoms)
        out = np.full(len(arr), np.nan)
        if self._tree is None or not len(arr):
            return out
        ok = np.flatnonzero(valid_mask(arr))
        if not len(ok):
            return out
        edges_near = [float(e) for e in exact_near_km] or [0.0]
        far_m = (max(edges_near) * 1.25 + 10.0) * 1000.0
        found = None
        if not exact:  # points surely beyond far_m in the projection too: neither projected nor searched there
            sure, found = self._surely_far(arr[ok], far_m)
            if len(sure):
                out[ok[sure]] = self._far_points_km(shapely.get_coordinates(arr[ok[sure]]),
                                                    found=(found[0][sure], found[1][sure]))
                ok = np.delete(ok, sure)
                found = (np.delete(found[0], sure, axis=0), np.delete(found[1], sure, axis=0))
                if not len(ok):
                    return out
        proj = self.project(arr[ok]) if projected is None else np.asarray(projected, dtype=object)[ok]
        if exact:
            proj = nearest_parts(self._tree, proj)  # long lines: only their runs near the front
            pair = self._tree.query_nearest(proj, return_distance=False, all_matches=False)
        else:
            # near features: the exact nearest segment; far ones (beyond every band edge) cost
            # an STRtree far more, so points there use the dense-sample k-d tree below
            pair = self.nearest_within(proj, far_m)
            far = np.ones(len(proj), dtype=bool)
            far[pair[0]] = False
            far_pts = far & (shapely.get_type_id(proj) == 0)
            rest = np.flatnonzero(far & ~far_pts)
            if len(rest):  # far lines/polygons: unbounded nearest search
                extra = self._tree.query_nearest(proj[rest], return_distance=False, all_matches=False)
                pair = np.concatenate([pair, np.vstack([rest[extra[0]], extra[1]])], axis=1)
            fp = np.flatnonzero(far_pts)
            if len(fp):
                out[ok[fp]] = self._far_points_km(
                    shapely.get_coordinates(arr[ok[fp]]),
                    found=None if found is None or np.isnan(found[0][fp]).any() else (found[0][fp], found[1][fp]))
        # one nearest segment per input (all_matches=False); map back to the input positions
        qi, si = pair[0], pair[1]
        lines = shapely.shortest_line(proj[qi], self._seg_m[si])
        c = shapely.get_coordinates(lines).reshape(-1, 2, 2)
        lon_a, lat_a = self._inv.transform(c[:, 0, 0], c[:, 0, 1])
        lon_b, lat_b = self._inv.transform(c[:, 1, 0], c[:, 1, 1])
        _, _, dist_m = GEOD.inv(lon_a, lat_a, lon_b, lat_b)
        d_proj = np.hypot(c[:, 1, 0] - c[:, 0, 0], c[:, 1, 1] - c[:, 0, 1]) / 1000.0
        res = np.asarray(dist_m, dtype=float) / 1000.0
        res[d_proj == 0] = 0.0
        # which need the exact ellipsoidal solution
        if exact:
            need = d_proj > 0
        else:
            edges = np.asarray(list(exact_near_km) or [0.0], dtype=float)
            tol = edges * _REFINE_REL + _REFINE_ABS_KM
            need = (np.abs(d_proj[:, None] - edges[None, :]) <= tol[None, :]).any(axis=1) & (d_proj > 0)
        if need.any():
            k = np.flatnonzero(need)
            res[k] = self._exact(np.column_stack([lon_a, lat_a])[k], proj[qi[k]], d_proj[k])
        out[ok[qi]] = res
        return out

    def nearest_within(self, geoms_m: np.ndarray, max_m: float) -> np.ndarray:
        """``STRtree.query_nearest(geoms_m, max_distance=max_m, all_matches=False)`` of the projected
        segments (2, k pairs by input position), with points found by :func:`nearest_segments`."""
        is_pt = shapely.get_type_id(geoms_m) == 0
        pos = np.flatnonzero(is_pt)
        if self._near is None:
            self._near = segment_samples(self._ends_m)
        hit, seg, ask = nearest_segments(self._near, shapely.get_coordinates(geoms_m[pos]), max_m=max_m,
                                         points=geoms_m[pos], segments=self._seg_m)
        rest = np.sort(np.concatenate([pos[ask], np.flatnonzero(~is_pt)]))
        pair = np.vstack([pos[hit], seg])
        if len(rest):
            extra = self._tree.query_nearest(geoms_m[rest], max_distance=max_m, return_distance=False,
                                             all_matches=False)
            pair = np.concatenate([pair, np.vstack([rest[extra[0]], extra[1]])], axis=1)
            pair = pair[:, np.argsort(pair[0], kind="stable")]
        return pair

    def _sample_index(self) -> tuple[cKDTree, np.ndarray, np.ndarray, np.ndarray]:
        """k-d tree of points every <= ``_SAMPLE_M`` along the front in earth-centred 3-D
        coordinates (:func:`cimic_geo.geo.ecef`), with each sample's segment, the segments' end
        points in the same coordinates and their geodesic azimuth and length (built once)."""
        if self._samples is None:
            from scipy.spatial import cKDTree

            seg = self.segments
            az, _, length = GEOD.inv(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3])
            n = np.maximum(np.ceil(np.asarray(length) / _SAMPLE_M).astype(np.int64), 1)
            owner = np.repeat(np.arange(len(seg)), n + 1)
            first = np.cumsum(n + 1) - (n + 1)
            t = (np.arange(len(owner)) - first[owner]) * (1.0 / n)[owner]  # np.linspace(0, 1, k + 1) each
            t[first[1:] - 1] = 1.0
            t[-1:] = 1.0
            lon = seg[owner, 0] + (seg[owner, 2] - seg[owner, 0]) * t
            lat = seg[owner, 1] + (seg[owner, 3] - seg[owner, 1]) * t
            ends = np.stack([ecef(seg[:, 0], seg[:, 1]), ecef(seg[:, 2], seg[:, 3])], axis=1)
            geodesics = np.column_stack([np.asarray(az, dtype=float), np.asarray(length, dtype=float)])
            self._samples = (cKDTree(ecef(lon, lat)), owner, ends, geodesics)
        return self._samples

    def lower_bound_km(self, lon: np.ndarray, lat: np.ndarray, *, upper_km: float) -> np.ndarray:
        """A cheap lower bound (km) of each lon/lat point's geodesic distance to the front line;
        inf when the bound exceeds ``upper_km`` (or there is no front).

        The chord to the nearest sample, less half the sample spacing: a chord is never longer
        than the geodesic, and the true nearest point is within half a spacing of a sample.
        """
        lon = np.asarray(lon, dtype=float)
        out = np.full(len(lon), np.inf)
        if self.empty or not len(lon):
            return out
        tree = self._sample_index()[0]
        slack_m = _SAMPLE_M / 2.0 + 1.0
        d, _ = tree.query(ecef(lon, lat), distance_upper_bound=upper_km * 1000.0 + slack_m)
        ok = np.isfinite(d)
        out[ok] = np.maximum(d[ok] - slack_m, 0.0) / 1000.0
        return out

    def _surely_far(self, geoms: np.ndarray, far_m: float
                    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Positions of the points among ``geoms`` surely farther than ``far_m`` from the front in the
        projection (the chord to the nearest sample less half a spacing, below the geodesic, times the
        projection's least scale over the data, less 1 %), and the quick tree's three nearest samples
        of every point of ``geoms`` (NaN distances for the others)."""
        tree = self._sample_index()[0]
        pos = np.flatnonzero(shapely.get_type_id(geoms) == 0)
        if tree.n <= 2 or not len(pos):
            return np.empty(0, dtype=np.int64), None
        xy = shapely.get_coordinates(geoms[pos])
        box = np.r_[np.minimum(xy.min(axis=0), self.segments.reshape(-1, 2).min(axis=0)) - 1.0,
                    np.maximum(xy.max(axis=0), self.segments.reshape(-1, 2).max(axis=0)) + 1.0]
        k_lo = least_scale(self.crs, box) * 0.99
        dist, idx = query_in_order(self._quick(), ecef(xy[:, 0], xy[:, 1]), 3)
        sure = k_lo * (dist[:, 0] - _SAMPLE_M / 2.0 - 2.0) > far_m + 1.0
        all_d, all_i = np.full((len(geoms), 3), np.nan), np.zeros((len(geoms), 3), dtype=idx.dtype)
        all_d[pos], all_i[pos] = dist, idx
        return pos[sure], (all_d, all_i)

    def _quick(self) -> cKDTree:
        if getattr(self, "_quick_samples", None) is None:
            self._quick_samples = quick_tree(self._sample_index()[0])
        return self._quick_samples

    def _far_points_km(self, lonlat: np.ndarray, *, found: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Geodesic km from far points (beyond the outer band + 10 km) to the front line.

        The nearest samples of the line in earth-centred coordinates (which rank by geodesic
        distance to well under a metre, unlike a projected plane) name the candidate segments;
        the distance is the geodesic one to the point of each candidate segment (a geodesic)
        nearest in those coordinates. It is at most ``(500 m)^2 / 2d`` + 1 m above the true
        distance (< 3 m at 60 km) and never below it.
        """
        tree, owner, ends, geodesics = self._sample_index()
        p = ecef(lonlat[:, 0], lonlat[:, 1])
        k = min(2, tree.n)  # two: a vertex is sampled twice, once for each of its segments
        idx = nearest_samples(tree, self._quick(), p, k, found=found)
        cand = owner[np.asarray(idx).reshape(len(p), k)]  # (m, k) segments
        _, t = chord_lower_m(p[:, None, :], ends[cand, 0], ends[cand, 1], geodesics[cand, 1])  # t as ever
        if getattr(self, "_seg_ends", None) is None:
            self._seg_ends = segment_ends(self.segments, geodesics)
        flon, flat = points_on_segments(self.segments, geodesics, self._seg_ends, cand.ravel(), t.ravel())
        flon, flat = flon.reshape(len(p), k), flat.reshape(len(p), k)
        d = np.empty((len(p), k))
        d[:, 0] = GEOD.inv(lonlat[:, 0], lonlat[:, 1], flon[:, 0], flat[:, 0])[2]
        for j in range(1, k):  # a candidate at the very point of the first (a shared vertex): the same distance
            again = (flon[:, j] == flon[:, 0]) & (flat[:, j] == flat[:, 0])
            d[again, j] = d[again, 0]
            o = np.flatnonzero(~again)
            d[o, j] = GEOD.inv(lonlat[o, 0], lonlat[o, 1], flon[o, j], flat[o, j])[2]
        return d.min(axis=1) / 1000.0

    def _exact(self, pts_lonlat: np.ndarray, geoms_m: np.ndarray, d_proj_km: np.ndarray) -> np.ndarray:
        """Exact geodesic distance from lon/lat points to the front (segments as geodesics)."""
        radius = d_proj_km * (1 + 2 * _REFINE_REL) + _REFINE_ABS_KM
        qi, si = self._tree.query(geoms_m, predicate="dwithin", distance=radius * 1000.0)
        _, _, ends, geodesics = self._sample_index()
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


def prepare_front(
    front_line: GeomInput,
    occupied_area: GeomInput = None,
    *,
    crs: CRS | str | None = None,
    extent: Sequence[float] | None = None,
    fwd: pyproj.Transformer | None = None,
) -> Front:
    """Prepare a front line for distance queries.

    Parameters
    ----------
    front_line : the (multi)line(s) in force, EPSG:4326; several rows and parts are allowed. When
        empty or None, the boundary of ``occupied_area`` is used.
    occupied_area : the occupied polygon(s) in force (for the occupied-side test), or None
    crs : metric CRS to work in (default: chosen for ``extent`` or the front's bounds)
    extent : (minlon, minlat, maxlon, maxlat) of all data, to choose the CRS
    fwd : ``pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)`` when the caller has it
    """
    lines = _line_parts(front_line)
    occ = as_geometry_array(occupied_area)
    occ = occ[valid_mask(occ)] if len(occ) else occ
    occ_geom = shapely.union_all(occ) if len(occ) else None
    if not len(lines) and occ_geom is not None:
        lines = np.array([front_line_from_occupied(occ)], dtype=object)
    segs = _densify(_segments_lonlat(lines)) if len(lines) else np.empty((0, 4))
    if crs is None:
        if extent is None:
            pts = segs.reshape(-1, 2) if len(segs) else np.array([[30.0, 49.0]])
            extent = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
        crs = metric_crs(extent)
    return Front(crs=CRS.from_user_input(crs), segments=segs, occupied_geom=occ_geom, fwd=fwd)


def front_distance_km(
    geoms: GeomInput,
    *,
    front_line: GeomInput,
    occupied_area: GeomInput = None,
    exact_near_km: Sequence[float] = DEFAULT_BANDS_KM,
    exact: bool = False,
) -> np.ndarray:
    """Geodesic distance in km from each geometry to the nearest point of the front line.

    Parameters
    ----------
    geoms : points, lines or polygons (GeoDataFrame, GeoSeries, list or one geometry; EPSG:4326)
    front_line : the front line in force (lines; several rows/parts allowed); when empty the
        boundary of ``occupied_area`` is used
    occupied_area : occupied polygons (only used when ``front_line`` is empty)
    exact_near_km : distances near these values are solved exactly on the ellipsoid
    exact : solve every distance exactly (for a handful of features, e.g. a corridor)

    Returns
    -------
    numpy.ndarray of float, NaN for missing geometries or when there is no front line. A line
    crossing the front gives 0. Use :func:`occupied_mask` to tell the sides apart.
    """
    arr = as_geometry_array(geoms)
    front = prepare_front(front_line, occupied_area, extent=_extent(arr, front_line))
    return front.distance_km(arr, exact_near_km=exact_near_km, exact=exact)


def occupied_mask(geoms: GeomInput, *, occupied_area: GeomInput) -> np.ndarray:
    """True where a feature is on the occupied side (inside the occupied area)."""
    arr = as_geometry_array(geoms)
    front = prepare_front(None, occupied_area, crs=WGS84)
    return front.occupied(arr)


def _extent(arr: np.ndarray, *others: GeomInput) -> tuple[float, float, float, float] | None:
    parts = [arr, *[as_geometry_array(o) for o in others]]
    parts = [p[valid_mask(p)] for p in parts if len(p)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    b = shapely.total_bounds(np.concatenate(parts))
    return tuple(float(v) for v in b)  # type: ignore[return-value]
