"""The corridor planner's map: the base map opened once on the data, the layers that change
(threat in force, corridors, options, cut-off settlements) sent as a feature group so that the
browser keeps the Leaflet map and the user's view.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from shapely.geometry import box
from streamlit_folium import st_folium

from cimic_geo.corridors import AccessContext, list_corridors
from cimic_geo.data_stamp import write_kept_text
from cimic_geo.i18n import _
from cimic_geo.maps.cop_map import encode_layer
from cimic_geo.maps.planner_map import ViewCommand, build_planner_base_map, planner_extent, planner_layer_groups
from cimic_geo.store import Store
from cimic_geo.ui.common import settings
from cimic_geo.ui.planner_page_state import (
    MAP_KEY,
    cutoff_places,
    k,
    options,
    reported_view,
    request_view,
    take_drawing,
)


@st.cache_data(show_spinner=False, max_entries=8)
def corridors_layer(_store: Store, token: str) -> str:
    """The saved corridors encoded for the map (per data_token)."""
    return encode_layer("corridors", list_corridors(_store))


def view_bbox(ctx: AccessContext) -> tuple[float, float, float, float] | None:
    """The extent of the planner's data: the roads, the settlements drawn and the front line in force."""
    cache = ctx.__dict__.setdefault("_display", {})
    if "bbox" not in cache:
        _, _, places = display_layers(ctx)
        cache["bbox"] = planner_extent(_roads_box(ctx), places, _frame(ctx.graph.threat.front_line))
    return cache["bbox"]


def mount_bbox(ctx: AccessContext) -> tuple[float, float, float, float] | None:
    """The extent the map opened on in this session (the data on first load; then fixed, so the
    base map's script, and with it the mounted Leaflet map and the user's view, stays the same)."""
    if k("mount") not in st.session_state:
        st.session_state[k("mount")] = view_bbox(ctx)
    return st.session_state[k("mount")]


def export_bbox(ctx: AccessContext) -> tuple[float, float, float, float] | None:
    """The area the user sees on the map now (its last reported bounds), else the extent it opened on."""
    reported = reported_view()
    return reported[0] if reported is not None else mount_bbox(ctx)


def map_ui(store: Store, ctx: AccessContext | KeptMapContext, *, token: str, marking: str | None) -> None:
    """The planner map; a line drawn on it is kept for evaluation.

    The base map (legend, marking, Draw tool) opens once fitted to the data and then stays the
    same; everything that changes (threat at the as-of time, corridors, options, cut-off
    settlements) goes in ``feature_group_to_add``, so the browser keeps the Leaflet map and the
    user's pan and zoom. The view moves only on request (:func:`request_view`: suggested routes,
    a pasted line, the *Fit map to the data* button).
    """
    cfg = settings()
    kept_display(store.path, ctx)
    if st.button(_("Fit map to the data"), key=k("fit_all"),
                 help=_("Zoom the map out to the roads, settlements and front line")):
        request_view(fit=view_bbox(ctx))
    m = build_planner_base_map(bounds=mount_bbox(ctx), marking=marking, tile_url=cfg.tile_url,
                               tile_attribution=cfg.tile_attribution)
    cmd = st.session_state.get(k("view_cmd"))
    command = ViewCommand(bounds=cmd["fit"], clear_drawn=cmd["clear_drawn"], nonce=cmd["n"]) if cmd else None
    groups = planner_layer_groups({**map_layers(ctx), "corridors": corridors_layer(store, token)},
                                  options=options(), places=st.session_state.get(k("places"), []),
                                  cutoff=cutoff_places(ctx), command=command, small_pieces=small_pieces(ctx))
    result = st_folium(m, key=MAP_KEY, height=560, use_container_width=True, feature_group_to_add=groups,
                       returned_objects=["last_active_drawing", "all_drawings", "bounds", "zoom"])
    take_drawing(result)


def map_layers(ctx: AccessContext) -> dict[str, str]:
    """The context's layers encoded for the map (threat in force, roads, destroyed bridges,
    settlements), once per context."""
    cache = ctx.__dict__.setdefault("_display", {})
    if "encoded" not in cache:
        roads, bridges, places = display_layers(ctx)
        layers = {"occupied_area": _frame(ctx.graph.threat.occupied), "front_line": _frame(ctx.graph.threat.front_line),
                  "roads": roads, "settlements": places, "infrastructure": bridges}
        cache["encoded"] = {name: encode_layer(name, gdf) for name, gdf in layers.items() if gdf is not None}
    return cache["encoded"]


def small_pieces(ctx: AccessContext) -> list[list[tuple[float, float]]]:
    """Road pieces outside the largest connected network (at most :data:`MAX_MAP_PIECES`), once per context."""
    cache = ctx.__dict__.setdefault("_display", {})
    if "pieces" not in cache:
        edges = ctx.graph.connectivity().small_edges[:MAX_MAP_PIECES]
        cache["pieces"] = [list(g.coords) for g in ctx.graph.edge_geoms(edges)]
    return cache["pieces"]


#: Bump when what :func:`kept_display` saves changes meaning.
DISPLAY_FORMAT = 1
#: At most this many saved map layer files are kept beside a store (one per data version and time).
DISPLAY_KEEP = 6


def display_key(ctx: AccessContext) -> str | None:
    """What the map layers of ``ctx`` depend on: the road-graph data version, the time and the bands."""
    if not ctx.data_version:
        return None
    when = None if ctx.as_of is None else pd.Timestamp(ctx.as_of).isoformat()
    return f"format={DISPLAY_FORMAT}|asof={when}|bands={','.join(f'{b:g}' for b in ctx.bands_km)}|{ctx.data_version}"


def display_file(db_path: str | os.PathLike | None, key: str) -> Path | None:
    """Where the map layers of the context with ``key`` are kept: ``<store>.planner/<hash>.json``."""
    if db_path is None:
        return None
    p = Path(db_path)
    return p.with_name(p.name + ".planner") / (hashlib.sha256(key.encode()).hexdigest()[:20] + ".json")


@dataclass
class KeptMapContext:
    """What the planner map needs of an :class:`~cimic_geo.corridors.AccessContext` (time, bands, data
    version and the map layers), with the layers read from the file kept beside the store: the page draws
    its map from it before the road graph is read (:func:`kept_map_context`)."""

    as_of: pd.Timestamp | None
    bands_km: tuple[float, ...]
    data_version: str


#: The map contexts read from kept files, by store and display key (the last few: a rerun does not read the
#: file again).
_KEPT: dict[tuple[str, str], KeptMapContext] = {}
_KEPT_LOCK = threading.Lock()


def kept_map_context(db_path: str | os.PathLike | None, *, as_of: pd.Timestamp | None, bands_km: tuple[float, ...],
                     data_version: str) -> KeptMapContext | None:
    """The map's layers for this time, bands and road-graph data version from the file kept beside the
    store (no road graph read), or None when there is no such file yet."""
    ctx = KeptMapContext(as_of=None if as_of is None else pd.Timestamp(as_of),
                         bands_km=tuple(float(b) for b in bands_km), data_version=data_version)
    key = display_key(ctx)  # type: ignore[arg-type]
    if key is None or db_path is None:
        return None
    ident = (os.path.abspath(db_path), key)
    with _KEPT_LOCK:
        if ident in _KEPT:
            return _KEPT[ident]
    if not read_kept_display(db_path, ctx):  # type: ignore[arg-type]
        return None
    with _KEPT_LOCK:
        _KEPT[ident] = ctx
        for old in list(_KEPT)[:-2]:
            del _KEPT[old]
    return ctx


def read_kept_display(db_path: str | os.PathLike | None, ctx: AccessContext) -> bool:
    """Fill the map layers, extent and road pieces of ``ctx`` from the file kept beside the store for its
    data version and time; False (nothing filled) when there is no readable file for it."""
    cache = ctx.__dict__.setdefault("_display", {})
    key = display_key(ctx)
    path = display_file(db_path, key) if key else None
    if path is None:
        return False
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["key"] == key:
            cache["encoded"] = {str(n): str(v) for n, v in doc["encoded"].items()}
            cache["bbox"] = tuple(float(v) for v in doc["bbox"]) if doc["bbox"] else None
            cache["pieces"] = [[(float(x), float(y)) for x, y in piece] for piece in doc["pieces"]]
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: kept when older files are removed
            return True
    return False


def kept_display(db_path: str | os.PathLike | None, ctx: AccessContext) -> None:
    """The map layers, extent and road pieces of ``ctx`` from the file kept beside the store for its
    data version and time (:func:`read_kept_display`), else computed (:func:`map_layers`,
    :func:`view_bbox`, :func:`small_pieces`) and saved there: a server's first planner visit reads a
    file instead of choosing and encoding thousands of roads. Best effort: a file that cannot be read
    is ignored, one that cannot be written is not kept; written under a temporary name and renamed
    into place."""
    cache = ctx.__dict__.setdefault("_display", {})
    key = display_key(ctx)
    path = display_file(db_path, key) if key else None
    if "encoded" in cache or path is None or read_kept_display(db_path, ctx):
        return
    doc = {"key": key, "encoded": map_layers(ctx), "bbox": view_bbox(ctx), "pieces": small_pieces(ctx)}
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        write_kept_text(path, json.dumps(doc))
        kept = sorted(path.parent.glob("*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in kept[DISPLAY_KEEP:]:
            old.unlink(missing_ok=True)


#: At most this many road pieces outside the main network are drawn on the planner map.
MAX_MAP_PIECES = 2_000
#: At most this many road segments / settlements are drawn on the planner map.
MAX_MAP_ROADS = 8_000
MAX_MAP_SETTLEMENTS = 1_500
_ROAD_LEVELS = (None, ("motorway", "trunk", "primary", "secondary", "tertiary"), ("motorway", "trunk", "primary"),
                ("motorway", "trunk"))


def display_layers(ctx: AccessContext) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads (all, or the main classes when there are too many; non-open segments always), destroyed
    bridges and the largest settlements for the planner map (computed once per context)."""
    cache = ctx.__dict__.setdefault("_display", {})
    if "layers" not in cache:
        # choose rows on the attributes, then make lines for the chosen rows only (a national graph
        # kept beside the store has no geometry column: a million lines are never built for the map)
        table = ctx.graph.road_table
        road_class = table["road_class"].to_numpy(dtype=object)
        status = table["status"].to_numpy(dtype=object)
        sel = np.zeros(0, dtype=np.int64)
        for classes in _ROAD_LEVELS:
            cand = np.arange(len(table)) if classes is None else np.flatnonzero(np.isin(road_class, classes))
            if len(cand) <= MAX_MAP_ROADS:
                sel = cand
                break
        bad = np.flatnonzero(status != "open")
        if len(bad) > MAX_MAP_ROADS:
            bad = np.flatnonzero(status == "impassable")[:MAX_MAP_ROADS]
        ids = table["id"].to_numpy(dtype=object)
        rows = np.concatenate([sel, bad[~np.isin(ids[bad], ids[sel])]])
        attrs = pd.DataFrame(table.drop(columns="geometry", errors="ignore").iloc[rows])
        roads = gpd.GeoDataFrame(attrs, geometry=ctx.graph.seg_geoms(rows), crs="EPSG:4326")
        bridges = ctx.graph.destroyed_bridges.assign(sector="bridge", damage="destroyed")
        places = ctx.settlements.sort_values("population", ascending=False).head(MAX_MAP_SETTLEMENTS)
        cache["layers"] = (roads, bridges, places)
    return cache["layers"]


def _roads_box(ctx: AccessContext) -> gpd.GeoSeries | None:
    """The extent of the road graph's vertices as one box (no road line is built for it)."""
    coords = ctx.graph.coords
    if not len(coords):
        return None
    (x0, y0), (x1, y1) = coords.min(axis=0), coords.max(axis=0)
    return gpd.GeoSeries([box(float(x0), float(y0), float(x1), float(y1))], crs="EPSG:4326")


def _frame(geom: Any) -> gpd.GeoDataFrame | None:
    if geom is None:
        return None
    return gpd.GeoDataFrame({"id": ["in force"]}, geometry=[geom], crs="EPSG:4326")


