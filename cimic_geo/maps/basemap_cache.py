"""The COP's orienting layers (outlines and water, major roads, place names) prepared once per
store data version and cut per view in memory.

Reading them per view from the store costs seconds at national scale (a million road pieces
filtered, merged and simplified each time). Here the whole basemap, the major roads of each zoom
band (merged per class) and the settlements' names are read once per data version; simplified
geometries are kept per zoom; a view then takes what intersects its bbox (STRtree / bounds) in
milliseconds. The data version is the store's content stamp (size, times, inode of the file and
its write-ahead log; a commit of the audit trail alone keeps it): any other write changes it. At most
:data:`MAX_STORES` stores are kept (LRU).

Merging a class of major roads (reading up to 80,000 pieces and joining them) costs about a CPU
second per class nationally, and a zoom step into the next band would pay it. The merged lines of
each class are therefore kept beside the store in ``<store>.majorroads.arrow`` (WKB per part), each
class under a token of its roads (count and a hash of ids and geometries, computed in SQL:
:func:`cimic_geo.store.cop_reads.road_class_versions`); a class whose roads changed is merged again.
A class is merged the first time a view shows it (once per data version, for every process after).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from cimic_geo.data_stamp import write_kept_arrow
from cimic_geo.store.content_stamp import content_stamp

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
    road_tokens: dict[str, str] = field(default_factory=dict)  # road class -> token of its current roads


def _version(store: Any) -> tuple[str, str] | None:
    path = getattr(store, "path", None)
    if path is None:
        return None
    stamp = content_stamp(path)
    return None if stamp == "null" else (str(Path(path).resolve()), stamp)


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
                  tolerance: float, also: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """Major roads of ``classes`` in ``bbox``: one (multi)line per class, the pieces merged once per
    class (``line_merge``) and simplified once per zoom; only parts intersecting the bbox. ``also``: the
    classes of the other zoom bands, taken from the kept file at the first view when it holds them."""

    with prep.lock:
        band = prep.roads.get(classes)
        if band is None:
            merged = _merged_classes(prep, store, classes, also=also)
            parts = [(c, merged[c]) for c in classes]
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


def kept_roads_path_for(db_path: str | os.PathLike) -> Path:
    """Where the merged major roads of the store file ``db_path`` are kept."""
    return Path(db_path).with_name(Path(db_path).name + ".majorroads.arrow")


def kept_roads_path(store: Any) -> Path | None:
    """:func:`kept_roads_path_for` the store's file (None: a store without a file)."""
    path = getattr(store, "path", None)
    return None if path is None else kept_roads_path_for(path)


def _merged_classes(prep: Prepared, store: Any, classes: tuple[str, ...], *,
                    also: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """The merged parts of each of ``classes``: held by ``prep``, else read from the kept file when its
    token still holds, else merged now and added to the kept file. The classes ``also`` (the other zoom
    bands') are taken from the kept file at the same time when it holds them, never merged here."""
    need = [c for c in classes if ("merged", c) not in prep.simplified]
    if need:
        from cimic_geo.store.cop_reads import road_class_versions

        want = [c for c in dict.fromkeys((*need, *also)) if ("merged", c) not in prep.simplified]
        prep.road_tokens.update(road_class_versions(store, [c for c in want if c not in prep.road_tokens]))
        path = kept_roads_path(store)
        kept = _read_kept(path) if path is not None else {}
        for c in want:
            if c in kept and kept[c][0] == prep.road_tokens[c]:
                prep.simplified[("merged", c)] = kept[c][1]
        new = {c: (prep.road_tokens[c], _merge_class(store, c)) for c in need if ("merged", c) not in prep.simplified}
        for c, (_token, parts) in new.items():
            prep.simplified[("merged", c)] = parts
        if new and path is not None:
            _write_kept(path, {**kept, **new})
    return {c: prep.simplified[("merged", c)] for c in classes}


def _merge_class(store: Any, road_class: str) -> np.ndarray:
    """The road pieces of one class joined where they share end points (``line_merge``), as parts."""
    from cimic_geo.maps.cop_view import merge_road_pieces

    pieces = store.read("roads", where={"road_class": [road_class]}, columns=["road_class"])
    merged = merge_road_pieces(pieces, tolerance=0.0)
    return shapely.get_parts(np.asarray(merged.geometry.values)) if len(merged) else np.empty(0, dtype=object)


def _read_kept(path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """``{class: (token, parts)}`` from the kept file (empty when missing or unreadable)."""
    with contextlib.suppress(OSError, pa.ArrowException, KeyError, ValueError, TypeError):
        with pa.memory_map(str(path)) as src:
            table = pa.ipc.open_file(src).read_all()
        tokens = json.loads((table.schema.metadata or {})[b"tokens"])
        cls = np.asarray(table.column("road_class").to_pylist(), dtype=object)
        geoms = shapely.from_wkb(np.asarray(table.column("wkb").to_pylist(), dtype=object))
        return {str(c): (str(t), geoms[cls == c]) for c, t in tokens.items()}
    return {}


def _write_kept(path: Path, classes: dict[str, tuple[str, np.ndarray]]) -> None:
    """Keep ``{class: (token, parts)}`` beside the store, atomically (best effort: an unwritable folder
    only means merging again in the next process)."""
    names = sorted(classes)
    table = pa.table({"road_class": pa.array([c for c in names for _ in range(len(classes[c][1]))], pa.string()),
                      "wkb": pa.array(list(shapely.to_wkb(np.concatenate([classes[c][1] for c in names])))
                                      if names else [], pa.binary())})
    write_kept_arrow(path, table.replace_schema_metadata({"tokens": json.dumps({c: classes[c][0] for c in names})}))


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
