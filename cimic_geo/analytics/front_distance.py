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
projecting them where a bound makes it sure) skip the STRtree: they are measured on the ellipsoid
from the front's samples in earth-centred coordinates, as is the exact solution near a band edge
(:mod:`cimic_geo.analytics.front_geodesic`).
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

from cimic_geo.analytics.front_geodesic import REFINE_ABS_KM, REFINE_REL, SAMPLE_M, FrontSamples
from cimic_geo.analytics.front_near import SegmentSamples, nearest_segments, segment_samples
from cimic_geo.analytics.front_parts import _densify, _segments_lonlat, front_line_from_occupied, nearest_parts
from cimic_geo.analytics.front_samples import GOLDEN
from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.geo import GEOD, WGS84, metric_crs

_REFINE_REL = REFINE_REL
_REFINE_ABS_KM = REFINE_ABS_KM
_SAMPLE_M = SAMPLE_M
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
        self._geodesic = FrontSamples(self.segments)  # far points, lower bounds and the exact solution

    @property
    def empty(self) -> bool:
        return not len(self.segments)

    def warm(self) -> Front:
        """Build every index the distance queries make on first use (so that threads sharing this
        front never build one twice); returns the front."""
        if not self.empty:
            self._geodesic.warm()
            if self._near is None:
                self._near = segment_samples(self._ends_m)
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
        """:meth:`cimic_geo.analytics.front_geodesic.FrontSamples.index` of the front (built once)."""
        return self._geodesic.index()

    def lower_bound_km(self, lon: np.ndarray, lat: np.ndarray, *, upper_km: float) -> np.ndarray:
        """A cheap lower bound (km) of each lon/lat point's geodesic distance to the front line;
        inf when the bound exceeds ``upper_km`` (or there is no front): see
        :meth:`cimic_geo.analytics.front_geodesic.FrontSamples.lower_bound_km`."""
        return self._geodesic.lower_bound_km(lon, lat, upper_km=upper_km)

    def _surely_far(self, geoms: np.ndarray, far_m: float
                    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """:meth:`cimic_geo.analytics.front_geodesic.FrontSamples.surely_far` in this front's CRS."""
        return self._geodesic.surely_far(geoms, far_m, self.crs)

    def _far_points_km(self, lonlat: np.ndarray, *, found: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Geodesic km from far points to the front line
        (:meth:`cimic_geo.analytics.front_geodesic.FrontSamples.far_points_km`)."""
        return self._geodesic.far_points_km(lonlat, found=found)

    def _exact(self, pts_lonlat: np.ndarray, geoms_m: np.ndarray, d_proj_km: np.ndarray) -> np.ndarray:
        """Exact geodesic distance from lon/lat points to the front (segments as geodesics)."""
        return self._geodesic.exact_km(self._tree, pts_lonlat, geoms_m, d_proj_km)


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
