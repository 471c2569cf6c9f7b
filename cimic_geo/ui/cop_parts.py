"""The COP's view, layer by layer: each visible layer of a view read, encoded and cached on its own.

A view is a fetch bbox, a zoom, a time (and the time compared with) and the visible layers. Each layer
is one :class:`ViewPart`, cached under :func:`part_key`, which drops what the layer does not use (the extent
for the layers read whole, the time for those the same at every time): a toggle reads only the layer
switched on, a pan reuses the front line and a time step the basemap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import geopandas as gpd
import streamlit as st

from cimic_geo.analytics.front_change import front_change
from cimic_geo.maps.cop_map import encode_layer, front_change_frame, simplify_for_zoom
from cimic_geo.maps.cop_view import query_view
from cimic_geo.store import Store
from cimic_geo.ui.result_cache import budgeted


@st.cache_data(show_spinner=False, max_entries=16)
def front_change_layer(_store: Store, token: str, since: datetime, as_of: datetime) -> gpd.GeoDataFrame:
    """Gained/lost polygons (geodesic km²) between the occupied areas in force at two times."""
    change = front_change(_store.read("occupied_area", as_of=since), _store.read("occupied_area", as_of=as_of))
    return front_change_frame(change, since=since, as_of=as_of)


#: The order query_view reads (and notes) layers in; each visible layer is read and cached on its own.
_READ_ORDER = ("basemap", "major_roads", "labels", "front_line", "occupied_area", "corridors", "settlements",
               "shelters", "infrastructure", "roads", "front_change")


def _parts(visible: tuple[str, ...]) -> list[str]:
    """The visible layers, each read on its own (major roads are the basemap's only while roads are hidden)."""
    rank = {key: i for i, key in enumerate(_READ_ORDER)}
    keys = [key for key in visible if not (key == "major_roads" and "roads" in visible)]
    return sorted(keys, key=lambda key: (rank.get(key, len(rank)), key))


#: Layers read whole (in force at the time, simplified for the zoom), whatever the view's extent: one
#: entry per zoom and time serves every pan and every view at that zoom.
WHOLE_LAYERS = frozenset({"front_line", "occupied_area", "front_change"})
#: Layers that are the same at every time (the basemap from the store, and the roads).
TIMELESS_LAYERS = frozenset({"basemap", "major_roads", "labels", "roads"})
#: Any extent for the parts of :data:`WHOLE_LAYERS` (query_view reads them whole; it never uses it).
_ANY_BBOX = (-180.0, -90.0, 180.0, 90.0)


def part_key(part: str, bbox: tuple[float, ...], zoom: int, as_of: datetime | None,
             since: datetime | None) -> tuple[tuple[float, ...] | None, int, datetime | None, datetime | None]:
    """What a part of a view depends on: ``(bbox, zoom, as_of, since)`` with None for what it does not use
    (the extent for :data:`WHOLE_LAYERS`, the time for :data:`TIMELESS_LAYERS`, ``since`` for all but the
    front change), so a zoom or pan reuses the front line and a time step reuses the basemap."""
    return (None if part in WHOLE_LAYERS else tuple(bbox), int(zoom),
            None if part in TIMELESS_LAYERS else as_of, since if part == "front_change" else None)


@dataclass(frozen=True)
class ViewPart:
    """One layer of a view (two for a point layer: points or grid cells): frames, notes, counts and the
    encoded GeoJSON the browser gets (shared objects: do not modify them)."""

    layers: dict[str, gpd.GeoDataFrame]
    notes: list[Any]
    counts: dict[str, int]
    encoded: dict[str, str]


# Per layer, not per set of visible layers: a toggle reads only the layer switched on, and the
# other layers of the view are the same objects as before. budgeted keeps one shared, read-only
# object per entry (no pickled copy per rerun); 64 entries: about 8 views of 8 layers, all within the
# server's memory budget for large results (:mod:`cimic_geo.ui.result_cache`).
# One entry holds the frames and their encoding: one cache look-up per layer and run.
@budgeted(max_entries=64)
def _view_part(_store: Store, token: str, bbox: tuple[float, ...] | None, zoom: int, as_of: datetime | None,
               since: datetime | None, part: str) -> ViewPart:
    data = query_view(_store, bbox=_ANY_BBOX if bbox is None else bbox, zoom=zoom, as_of=as_of, visible=(part,))
    layers = dict(data.layers)
    if part == "front_change" and since is not None and as_of is not None and since < as_of:
        layers["front_change"] = simplify_for_zoom(front_change_layer(_store, token, since, as_of), zoom)
    return ViewPart(layers, list(data.notes), dict(data.counts),
                    {name: encode_layer(name, gdf) for name, gdf in layers.items()})


def view_parts(_store: Store, token: str, bbox: tuple[float, ...], zoom: int, as_of: datetime | None,
               since: datetime | None, visible: tuple[str, ...]) -> list[ViewPart]:
    """The parts of one view (bbox, zoom, time, visible layers), each read, encoded and cached on its own
    (keyed by :func:`part_key`)."""
    out = []
    for part in _parts(visible):
        b, z, a, s = part_key(part, bbox, zoom, as_of, since)
        out.append(_view_part(_store=_store, token=token, bbox=b, zoom=z, as_of=a, since=s, part=part))
    return out


def view_layers(_store: Store, token: str, bbox: tuple[float, ...], zoom: int, as_of: datetime | None,
                since: datetime | None, visible: tuple[str, ...], *,
                parts: list[ViewPart] | None = None) -> tuple[dict[str, gpd.GeoDataFrame], list[str], dict[str, int]]:
    """The layers of one view (bbox, zoom, time, visible layers), with notes on aggregation
    (each layer read and cached on its own; the frames are shared: do not modify them). ``parts``: the
    view's :func:`view_parts` when the caller has them already."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    notes: list[Any] = []
    counts: dict[str, int] = {}
    for got in parts if parts is not None else view_parts(_store, token, bbox, zoom, as_of, since, visible):
        layers.update(got.layers)
        notes += got.notes
        counts.update(got.counts)
    return layers, notes, counts


def encoded_view(_store: Store, token: str, bbox: tuple[float, ...], zoom: int, as_of: datetime | None,
                 since: datetime | None, visible: tuple[str, ...], *,
                 parts: list[ViewPart] | None = None) -> dict[str, str]:
    """:func:`view_layers` encoded for the browser (compact, escaped GeoJSON per layer; cached per layer)."""
    out: dict[str, str] = {}
    for got in parts if parts is not None else view_parts(_store, token, bbox, zoom, as_of, since, visible):
        out.update(got.encoded)
    return out
