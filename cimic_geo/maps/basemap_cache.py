"""The COP's orienting layers (outlines and water, major roads, place names) prepared once per
store data version and cut per view in memory.

Reading them per view from the store costs seconds at national scale (a million road pieces
filtered, merged and simplified each time). Here the whole basemap, the major roads of each zoom
band (merged per class) and the settlements' names are read once per data version; simplified
geometries are kept per zoom; a view then takes what intersects its bbox (STRtree / bounds) in
milliseconds. The data version is the database file's stamp (size, times, inode of the file and
its write-ahead log): any write changes it. At most :data:`MAX_STORES` stores are kept (LRU).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.data_stamp import file_stamp

#: Stores kept in the process (each holds a few MB of geometry at national scale).
MAX_STORES = 4
_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[str, str], Prepared] = OrderedDict()


@dataclass
class Prepared:
    """Everything the basemap of one store version needs, in memory."""

    basemap: gpd.GeoDataFrame
    places: pd.DataFrame  # name, name_uk, population, lon, lat; largest first (ties by id)
    roads: dict[tuple[str, ...], tuple] = field(default_factory=dict)  # (classes, parts, bounds) per band
    simplified: dict[tuple[str, Any], Any] = field(default_factory=dict)  # (what, zoom key) -> arrays
    lock: threading.Lock = field(default_factory=threading.Lock)


def _version(store: Any) -> tuple[str, str] | None:
    path = getattr(store, "path", None)
    if path is None:
        return None
    stamp = file_stamp(path)
    return None if stamp is None else (str(Path(path).resolve()), repr(stamp))


def prepared(store: Any) -> Prepared:
    """The prepared basemap of ``store`` (read now when its data version is new)."""
    key = _version(store)
    if key is not None:
        with _LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
    bm = store.read("basemap", columns=["kind", "name", "name_uk"])
    st = store.read("settlements", columns=["name", "name_uk", "population"])
    xy = shapely.get_coordinates(shapely.centroid(np.asarray(st.geometry.values))) if len(st) else \
        np.empty((0, 2))
    places = pd.DataFrame({"id": st["id"].to_numpy(), "name": st["name"].to_numpy(),
                           "name_uk": st["name_uk"].to_numpy(),
                           "population": pd.to_numeric(st["population"], errors="coerce").to_numpy(),
                           "lon": xy[:, 0], "lat": xy[:, 1]})
    places = places.assign(_p=places["population"].fillna(-1)).sort_values(
        ["_p", "id"], ascending=[False, True], kind="stable").drop(columns="_p").reset_index(drop=True)
    out = Prepared(basemap=bm, places=places)
    if key is not None:
        with _LOCK:
            _CACHE[key] = out
            _CACHE.move_to_end(key)
            while len(_CACHE) > MAX_STORES:
                _CACHE.popitem(last=False)
    return out


def clear() -> None:
    """Forget every prepared store (tests, or after replacing a file in place)."""
    with _LOCK:
        _CACHE.clear()


def _in_bbox(bounds: np.ndarray, bbox: Sequence[float]) -> np.ndarray:
    x0, y0, x1, y1 = bbox
    if not len(bounds):
        return np.zeros(0, dtype=bool)
    return (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)


def basemap_in_view(prep: Prepared, *, bbox: Sequence[float], zoom: int, tolerance: float) -> gpd.GeoDataFrame:
    """Basemap rows intersecting ``bbox``, simplified to ``tolerance`` degrees (kept per zoom)."""
    with prep.lock:
        geoms = prep.simplified.get(("basemap", zoom))
        if geoms is None:
            geoms = shapely.simplify(np.asarray(prep.basemap.geometry.values), tolerance)
            prep.simplified[("basemap", zoom)] = geoms
    bm = prep.basemap
    keep = _in_bbox(shapely.bounds(np.asarray(bm.geometry.values)), bbox) if len(bm) else np.zeros(0, bool)
    return gpd.GeoDataFrame(bm.drop(columns="geometry")[keep].reset_index(drop=True),
                            geometry=gpd.GeoSeries(geoms[keep], crs="EPSG:4326"), crs="EPSG:4326")


def roads_in_view(prep: Prepared, store: Any, *, classes: tuple[str, ...], bbox: Sequence[float], zoom: int,
                  tolerance: float) -> gpd.GeoDataFrame:
    """Major roads of ``classes`` in ``bbox``: one (multi)line per class, the pieces merged once per
    class (``line_merge``) and simplified once per zoom; only parts intersecting the bbox."""

    with prep.lock:
        band = prep.roads.get(classes)
        if band is None:
            parts = [_merged_class(prep, store, c) for c in classes]
            geoms_a = np.concatenate([g for _, g in parts]) if parts else np.empty(0, dtype=object)
            band = (np.concatenate([np.full(len(g), c, dtype=object) for c, g in parts]) if parts
                    else np.empty(0, dtype=object), geoms_a,
                    shapely.bounds(geoms_a) if len(geoms_a) else np.empty((0, 4)))
            prep.roads[classes] = band
        cls_a, geoms_a, bounds = band
        keep = _in_bbox(bounds, bbox)
        # simplified per zoom, each part once and only when a view first shows it
        simple = prep.simplified.setdefault(("roads", classes, zoom), np.empty(len(geoms_a), dtype=object))
        todo = keep & shapely.is_missing(simple)
        if todo.any():
            simple[todo] = shapely.simplify(geoms_a[todo], tolerance)
        geoms_a = simple
    rows, out = [], []
    for c in sorted(set(cls_a[keep])):
        sel = keep & (cls_a == c)
        rows.append({"id": f"major-{c}", "road_class": c})
        out.append(shapely.multilinestrings(geoms_a[sel]))
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["id", "road_class"]),
                            geometry=gpd.GeoSeries(out, crs="EPSG:4326"), crs="EPSG:4326")


def _merged_class(prep: Prepared, store: Any, road_class: str) -> tuple[str, np.ndarray]:
    """The road pieces of one class joined where they share end points (``line_merge``), as
    parts; once per class and data version (shared by the zoom bands: the expensive step)."""
    from cimic_geo.maps.cop_view import merge_road_pieces

    hit = prep.simplified.get(("merged", road_class))
    if hit is None:
        pieces = store.read("roads", where={"road_class": [road_class]}, columns=["road_class"])
        merged = merge_road_pieces(pieces, tolerance=0.0)
        hit = shapely.get_parts(np.asarray(merged.geometry.values)) if len(merged) else np.empty(0, dtype=object)
        prep.simplified[("merged", road_class)] = hit
    return road_class, hit


def labels_in_view(prep: Prepared, *, bbox: Sequence[float], min_pop: int, limit: int) -> gpd.GeoDataFrame:
    """The ``limit`` largest places in ``bbox`` (as the store's ranked read), then those with at
    least ``min_pop`` people."""
    p = prep.places
    x0, y0, x1, y1 = bbox
    inside = (p["lon"] >= x0) & (p["lon"] <= x1) & (p["lat"] >= y0) & (p["lat"] <= y1)
    top = p[inside.to_numpy()].head(int(limit))
    top = top[top["population"].fillna(0) >= min_pop].reset_index(drop=True)
    return gpd.GeoDataFrame(top[["id", "name", "name_uk", "population"]],
                            geometry=gpd.GeoSeries(shapely.points(top[["lon", "lat"]].to_numpy()), crs="EPSG:4326"),
                            crs="EPSG:4326")
