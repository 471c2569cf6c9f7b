"""What the COP map sends to the browser: compact GeoJSON per layer, and the zoom arithmetic.

Each layer is one GeoJSON FeatureCollection with the popup's properties only, coordinates rounded
to 1e-5° (~1 m), datetimes as DTG and points with MGRS. :func:`script_json` is the only way data
enters a map script: JSON with ``<``, ``>``, ``&`` (and the JavaScript line separators) escaped, so
no text can close the ``<script>`` element or start markup, passed to the constant templates of
:mod:`cimic_geo.maps.cop_map` as a variable.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.geo import to_mgrs
from cimic_geo.maps.cop_style import CHANGE_LABELS
from cimic_geo.timefmt import dtg

#: Attribute columns sent for each layer (popup fields); everything else stays on the server.
_SEND_COLUMNS: dict[str, tuple[str, ...]] = {
    "settlements": ("name", "name_uk", "population", "settlement_type", "admin1", "admin2"),
    "shelters": ("name", "kind", "status", "capacity", "occupancy", "accessible", "address"),
    "infrastructure": ("name", "sector", "damage", "restoration", "people_served"),
    "roads": ("name", "road_class", "status", "speed_kmh", "bridge"),
    "corridors": ("name", "status", "origin", "destination", "notes", "version", "updated_by"),
    "front_line": (),
    "occupied_area": (),
    "front_change": ("change", "area_km2", "since", "as_of"),
    "changes": ("name", "kind", "what", "change", "before", "after"),
    "search": ("name", "population"),
    "basemap": ("kind", "name", "name_uk"),
    "major_roads": ("name", "road_class"),
    "labels": ("name", "name_uk", "population"),
}
_PROVENANCE_LAYERS = {"settlements", "shelters", "infrastructure", "roads", "corridors", "front_line",
                      "occupied_area"}

COORD_DECIMALS = 5


# ----------------------------------------------------------------------------------------------
# Zoom helpers (pure; the page and the bench use them)
# ----------------------------------------------------------------------------------------------


def degrees_per_pixel(zoom: float) -> float:
    """Longitude degrees covered by one screen pixel at a web-mercator ``zoom``."""
    return 360.0 / (256.0 * 2.0 ** float(zoom))


def simplify_tolerance(zoom: float) -> float:
    """Display-only simplification tolerance (degrees): half a pixel at ``zoom``."""
    return degrees_per_pixel(zoom) / 2.0


def grid_cell_deg(zoom: float, *, cell_px: int = 40) -> float:
    """Grid cell size (degrees) for aggregating points: ``cell_px`` pixels at ``zoom``."""
    return degrees_per_pixel(zoom) * cell_px


def query_bbox(bounds: Sequence[float], zoom: float, *, margin: float = 0.25) -> tuple[float, float, float, float]:
    """The bbox to query for a view: ``bounds`` grown by ``margin`` of its size on each side and
    snapped outward to a grid of one 256-px tile at ``zoom``, so that small pans reuse the same
    query (and its cached result) and the browser keeps the drawn layers.
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    x0, x1, y0, y1 = x0 - margin * w, x1 + margin * w, y0 - margin * h, y1 + margin * h
    step = 256 * degrees_per_pixel(zoom)
    snap = lambda v, f: f(v / step) * step  # noqa: E731
    x0, y0, x1, y1 = snap(x0, math.floor), snap(y0, math.floor), snap(x1, math.ceil), snap(y1, math.ceil)
    return max(x0, -180.0), max(y0, -85.0), min(x1, 180.0), min(y1, 85.0)


def zoom_for_extent(bbox: Sequence[float], *, width_px: int = 900, height_px: int = 640) -> int:
    """The largest web-mercator zoom (3-16) at which ``bbox`` fits a map of the given pixel size."""
    w = max(float(bbox[2]) - float(bbox[0]), 1e-4)
    lat = math.radians((float(bbox[1]) + float(bbox[3])) / 2)
    h = max(float(bbox[3]) - float(bbox[1]), 1e-4) / max(math.cos(lat), 0.2)
    z = min(math.log2(360 * width_px / (256 * w)), math.log2(360 * height_px / (256 * h)))
    return int(max(3, min(16, math.floor(z))))


def contains_bbox(outer: Sequence[float], inner: Sequence[float]) -> bool:
    """True when ``inner`` lies within ``outer`` (both minlon, minlat, maxlon, maxlat)."""
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


# ----------------------------------------------------------------------------------------------
# GeoJSON encoding
# ----------------------------------------------------------------------------------------------


def script_json(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` element (no ``</script>`` or HTML can break out)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@functools.lru_cache(maxsize=8192)
def _dtg(v: Any) -> str | None:
    # a layer's times repeat (reports of one batch): each distinct one converted once
    return dtg(v) or None


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return _dtg(v)
    if isinstance(v, (bool, np.bool_)):
        return "yes" if bool(v) else "no"
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        if not math.isfinite(f):
            return None
        return int(f) if f.is_integer() else round(f, 2)
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _round_geoms(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))


def encode_layer(key: str, gdf: gpd.GeoDataFrame) -> str:
    """:func:`features_geojson` as JSON safe to embed in a script (what :class:`DataLayer` sends)."""
    return script_json(features_geojson(key, gdf))


def front_change_frame(change: Any, *, since: Any = None, as_of: Any = None) -> gpd.GeoDataFrame:
    """One frame of a :class:`cimic_geo.analytics.front_change.FrontChange` for the ``front_change`` layer.

    Columns ``change`` (``gained`` = newly occupied, ``lost`` = liberated), ``area_km2``
    (geodesic, from the analytics), ``since`` and ``as_of`` (DTG).
    """
    parts = []
    for name in ("gained", "lost"):
        gdf = getattr(change, name)
        if gdf is not None and len(gdf):
            part = gdf[["area_km2", gdf.geometry.name]].copy()
            part.insert(0, "change", name)
            parts.append(part.rename_geometry("geometry") if gdf.geometry.name != "geometry" else part)
    if not parts:
        return gpd.GeoDataFrame({"change": [], "area_km2": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"),
                                crs="EPSG:4326")
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    out.insert(0, "id", [f"{c}-{i + 1}" for i, c in enumerate(out["change"])])
    out["since"] = dtg(since) if since is not None else None
    out["as_of"] = dtg(as_of) if as_of is not None else None
    return out


def simplify_for_zoom(gdf: gpd.GeoDataFrame, zoom: float) -> gpd.GeoDataFrame:
    """A display copy of lines/polygons simplified to half a pixel at ``zoom`` (topology kept)."""
    if gdf is None or len(gdf) == 0:
        return gdf
    out = gdf.copy()
    out[out.geometry.name] = shapely.simplify(np.asarray(out.geometry.values), simplify_tolerance(zoom),
                                              preserve_topology=True)
    return out


def features_geojson(key: str, gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """Compact GeoJSON FeatureCollection of a layer frame for the map (properties for the popup).

    Coordinates are rounded to 1e-5 degrees; datetimes become DTGs; points get lat/lon and MGRS.
    """
    if gdf is None or len(gdf) == 0:
        return {"type": "FeatureCollection", "features": []}
    base = key.removesuffix("_grid")
    grid = key.endswith("_grid")
    gdf = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    geoms = _round_geoms(np.asarray(gdf.geometry.values))
    if grid:
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
    else:
        cols = [c for c in ("id", *_SEND_COLUMNS.get(base, ())) if c in gdf.columns]
        if base in _PROVENANCE_LAYERS:
            cols += [c for c in ("valid_from", "valid_to", "window_start", "window_end", "source",
                                 "reported_at", "reliability") if c in gdf.columns]
    values = [_clean_column(gdf[c]) for c in cols]  # column by column: the same values as _clean of each
    is_point = np.asarray(shapely.get_type_id(geoms) == 0)
    xy = shapely.get_coordinates(geoms[is_point]).tolist()  # the points' coordinates, as geom.x and geom.y
    feats = []
    at = 0
    for i, (geom, pt) in enumerate(zip(geoms, is_point, strict=True)):
        p = {c: v[i] for c, v in zip(cols, values, strict=True)}
        if "reported_at" in p:
            p["reported"] = p.pop("reported_at")
        if "window_start" in p or "window_end" in p:
            ws, we = p.pop("window_start", None), p.pop("window_end", None)
            p["window"] = f"{ws or '?'} – {we or '?'}" if (ws or we) else None
        if pt:
            lon, lat = xy[at]
            at += 1
            if not grid and key != "labels":
                p["mgrs"] = _mgrs(lat, lon)
        if key == "front_change":
            p["label"] = CHANGE_LABELS.get(str(p.get("change")), p.get("change"))
        p = {k: v for k, v in p.items() if v is not None}
        # a point's mapping built here (shapely's mapping of each point costs more than the rest of its feature)
        shape = {"type": "Point", "coordinates": (lon, lat)} if pt else shapely.geometry.mapping(geom)
        feats.append({"type": "Feature", "properties": p, "geometry": shape})
    return {"type": "FeatureCollection", "features": feats}


@functools.lru_cache(maxsize=1 << 16)
def _mgrs(lat: float, lon: float) -> str | None:
    # a point is encoded again in each view that holds it: its reference is worked out once
    try:
        return to_mgrs(lat, lon)
    except Exception:  # outside MGRS coverage (polar): leave it out
        return None


def _clean_column(col: pd.Series) -> list[Any]:
    """``[_clean(v) for v in col]``, with the common types (plain ints, floats, strings, times) taken directly."""
    kind = col.dtype.kind
    if kind in "iu" and isinstance(col.dtype, np.dtype):  # numpy integers: Python ints, as _clean makes them
        return col.tolist()
    out = []
    for v in col.tolist():
        t = type(v)
        if v is None or t is str or t is int:
            out.append(v)
        elif t is float:
            out.append(None if not math.isfinite(v) else int(v) if v.is_integer() else round(v, 2))
        elif t is pd.Timestamp:
            out.append(_dtg(v))
        else:
            out.append(_clean(v))
    return out
