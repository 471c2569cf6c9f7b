"""How the occupied area changed between two snapshots: gained and lost ground, geodesic km².

Pure functions on GeoDataFrames (no Streamlit, no DuckDB). ``gained`` is ground newly occupied
(in ``after``, not in ``before``); ``lost`` is ground no longer occupied (liberated: in ``before``,
not in ``after``). Areas are geodesic on the WGS84 ellipsoid (:data:`cimic_geo.geo.GEOD`), never
planar degrees.
"""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import AnalysisError
from cimic_geo.geo import geodesic_area_km2

Occupied = gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None


class FrontChange(NamedTuple):
    """Result of :func:`front_change`: one row per polygon, largest first, column ``area_km2``."""

    gained: gpd.GeoDataFrame
    lost: gpd.GeoDataFrame

    @property
    def gained_km2(self) -> float:
        return float(self.gained["area_km2"].sum())

    @property
    def lost_km2(self) -> float:
        return float(self.lost["area_km2"].sum())

    @property
    def net_km2(self) -> float:
        """Net change of the occupied area (positive: the occupied area grew)."""
        return self.gained_km2 - self.lost_km2


def _as_geometry(value: Occupied, name: str) -> BaseGeometry:
    if value is None:
        return shapely.Polygon()
    if isinstance(value, BaseGeometry):
        geoms = [value]
    elif isinstance(value, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if value.crs is not None and value.crs.to_epsg() != 4326:
            raise AnalysisError(f"{name}: expected EPSG:4326 lon/lat, got {value.crs}")
        geoms = [g for g in (value.geometry if isinstance(value, gpd.GeoDataFrame) else value).tolist()
                 if g is not None]
    else:
        raise AnalysisError(f"{name}: expected a GeoDataFrame, GeoSeries or geometry, got {type(value).__name__}")
    polys = []
    for g in geoms:
        if g.is_empty:
            continue
        if not g.is_valid:
            g = shapely.make_valid(g)
        polys += [p for p in shapely.get_parts(g).tolist() if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def _parts_frame(geom: BaseGeometry, min_area_km2: float) -> gpd.GeoDataFrame:
    parts = [p for p in shapely.get_parts(geom).tolist() if p.geom_type == "Polygon" and not p.is_empty]
    areas = np.array([geodesic_area_km2(p) for p in parts], dtype=float)
    keep = areas >= min_area_km2
    parts = [p for p, k in zip(parts, keep, strict=False) if k]
    areas = areas[keep]
    order = np.argsort(-areas, kind="stable")
    return gpd.GeoDataFrame(
        {"area_km2": areas[order]},
        geometry=gpd.GeoSeries([parts[i] for i in order], crs="EPSG:4326"),
        crs="EPSG:4326",
    )


def front_change(
    occupied_before: Occupied,
    occupied_after: Occupied,
    *,
    min_area_km2: float = 0.0,
) -> FrontChange:
    """Ground gained and lost between two occupied-area snapshots.

    Parameters
    ----------
    occupied_before, occupied_after : occupied area (GeoDataFrame/GeoSeries in EPSG:4326, or a
        geometry); all rows are merged. None means nothing occupied.
    min_area_km2 : drop polygons smaller than this (slivers from redrawn edges); 0 keeps all

    Returns
    -------
    FrontChange
        ``gained`` (after minus before) and ``lost`` (before minus after), each a GeoDataFrame of
        polygons with ``area_km2`` (geodesic), largest first.
    """
    if not np.isfinite(min_area_km2) or min_area_km2 < 0:
        raise AnalysisError(f"min_area_km2 must be >= 0, got {min_area_km2!r}")
    before = _as_geometry(occupied_before, "occupied_before")
    after = _as_geometry(occupied_after, "occupied_after")
    gained = shapely.difference(after, before)
    lost = shapely.difference(before, after)
    return FrontChange(_parts_frame(gained, min_area_km2), _parts_frame(lost, min_area_km2))
