"""Threat geometry for the road graph: distances of roads to the front line and the occupied side.

:class:`ThreatGeometry` wraps :class:`cimic_geo.analytics.bands.Front` (geodesic distances, band
convention: outer edges inclusive) in the road graph's metric CRS; :func:`edge_front_km` gives
each road piece its distance to the front line, exactly up to a cap and cheaply bounded beyond.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.bands import (
    DEFAULT_BANDS_KM,
    EDGE_TOLERANCE_KM,
    check_bands,
    front_line_from_occupied,
    prepare_front,
)
from cimic_geo.analytics.road_noding import project

__all__ = ["ThreatGeometry", "edge_front_km", "project", "union_geometry"]


class ThreatGeometry:
    """The front line and occupied area in force at one time, for many distance queries.

    A thin layer over :class:`cimic_geo.analytics.bands.Front` (geodesic distances, band
    convention: outer edges inclusive) working in the road graph's metric CRS.
    """

    def __init__(self, front_line: BaseGeometry | None, occupied: BaseGeometry | None, *, crs: pyproj.CRS,
                 bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> None:
        self.bands_km = check_bands(tuple(bands_km))
        self.crs = crs
        self.to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self.front_line = front_line if front_line is not None and not front_line.is_empty else None
        self.occupied = occupied if occupied is not None and not occupied.is_empty else None
        self.front = prepare_front(self.front_line, self.occupied, crs=crs, fwd=self.to_metric)
        self.front_line_used = self.front_line
        if self.front_line_used is None and self.occupied is not None:
            self.front_line_used = front_line_from_occupied(self.occupied)

    @property
    def has_front(self) -> bool:
        return not self.front.empty

    def distance_km(self, geoms: np.ndarray, *, exact_near_km: Sequence[float] = (), exact: bool = False,
                    projected: np.ndarray | None = None) -> np.ndarray:
        """Geodesic distance (km) of lon/lat geometries to the front line; inf when there is none.
        ``projected``: the same geometries by :attr:`to_metric` when the caller has them."""
        geoms = np.asarray(geoms, dtype=object)
        if not self.has_front or not len(geoms):
            return np.full(len(geoms), np.inf)
        d = self.front.distance_km(geoms, exact_near_km=exact_near_km, exact=exact, projected=projected)
        return np.where(np.isnan(d), np.inf, d)

    def points_distance_km(self, lon: np.ndarray, lat: np.ndarray, *, exact_near_km: Sequence[float] | None = None
                           ) -> np.ndarray:
        """Distance (km) of lon/lat points to the front line (exact near the band edges)."""
        pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
        return self.distance_km(pts, exact_near_km=self.bands_km if exact_near_km is None else exact_near_km)

    def occupied_mask(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """True for lon/lat points inside the occupied area."""
        lon = np.asarray(lon, float)
        if self.front.occupied_geom is None or self.front.occupied_geom.is_empty:
            return np.zeros(len(lon), dtype=bool)
        return np.asarray(shapely.contains_xy(self.front.occupied_geom, lon, np.asarray(lat, float)), dtype=bool)

    def lower_bound_km(self, lon: np.ndarray, lat: np.ndarray, *, upper_km: float) -> np.ndarray:
        """A cheap lower bound (km) of each lon/lat point's distance to the front line; inf when the
        bound exceeds ``upper_km`` (:meth:`cimic_geo.analytics.front_distance.Front.lower_bound_km`:
        the same earth-centred sample tree the far distances use)."""
        return self.front.lower_bound_km(lon, lat, upper_km=upper_km)

    def band_index(self, dist_km: np.ndarray) -> np.ndarray:
        """Index of each distance's band (0 = innermost; ``len(bands)`` = beyond), outer edges inclusive
        as in :func:`cimic_geo.analytics.bands.classify_bands`."""
        edges = np.asarray(self.bands_km) + EDGE_TOLERANCE_KM
        return np.searchsorted(edges, np.asarray(dist_km, float), side="left")


def union_geometry(frame: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None) -> BaseGeometry | None:
    """One geometry from a frame/series of rows (e.g. the front-line rows in force); None when empty."""
    if frame is None:
        return None
    if isinstance(frame, BaseGeometry):
        return frame
    geoms = frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else frame.values
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return None
    return shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]


def edge_front_km(threat: ThreatGeometry, node_lonlat: np.ndarray, u: np.ndarray, v: np.ndarray,
                  length_km: np.ndarray, geoms_of: Callable[[np.ndarray], np.ndarray], cap_km: float) -> np.ndarray:
    """Geodesic distance of segments to the front line, exact up to ``cap_km``, inf beyond.

    A segment is within ``L/2`` (its length) of one of its end points everywhere, so
    ``min(lower bound at the ends) - L/2`` bounds its distance from below; only segments whose
    bound is within the cap get the exact distance (:meth:`ThreatGeometry.distance_km`; ``geoms_of(i)`` gives the
    lon/lat lines of edges ``i``). Far from
    the front (most of a national network) this skips most of the work.
    """
    out = np.full(len(u), np.inf)
    used = np.zeros(len(node_lonlat), dtype=bool)
    used[u] = True
    used[v] = True
    nodes = np.flatnonzero(used)
    lb = np.full(len(node_lonlat), np.inf)
    lb[nodes] = threat.lower_bound_km(node_lonlat[nodes, 0], node_lonlat[nodes, 1], upper_km=cap_km + length_km.max())
    lower = np.minimum(lb[u], lb[v]) - length_km / 2.0
    near = np.flatnonzero(lower <= cap_km)
    if len(near):
        out[near] = threat.distance_km(geoms_of(near))
    return out
