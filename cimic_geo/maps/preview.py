"""Preview map of records being imported: valid records blue, rejected records red.

Offline: Leaflet from the app's static folder (:func:`cimic_geo.maps.assets.set_offline_assets`),
no tiles. Every text taken from the file is HTML-escaped before it reaches the map.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from cimic_geo.maps.assets import AssetMode, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale, fit_to

#: Colours of the two record states.
STATUS_COLOURS = {"ok": "#1f5fbf", "error": "#d62728", "derived": "#111111"}
_STATUS_LABELS = {"ok": "valid records", "error": "records with errors", "derived": "derived front line"}
_TOOLTIP_FIELDS = ("_row", "id", "name", "valid_from", "file", "front_km", "_status")


def _escape(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (int, float)):
        return value
    return html.escape(str(value))[:200]


def preview_map(
    gdf: gpd.GeoDataFrame,
    *,
    status_column: str = "_status",
    max_features: int = 2000,
    asset_mode: AssetMode = "served",
    height: int | str = 450,
) -> folium.Map:
    """A folium map of ``gdf`` fitted to its bounds: one layer per record status.

    Parameters
    ----------
    gdf : records in EPSG:4326; ``status_column`` holds ``ok``, ``error`` or ``derived`` (the front line
        derived from occupied-area snapshots); all ``ok`` if absent
    max_features : draw at most this many records (errors first), so large files stay responsive
    asset_mode : ``served`` (the app) or ``inline`` (a standalone HTML file)
    """
    m = folium.Map(location=[48.5, 35.0], zoom_start=6, tiles=None, control_scale=False, prefer_canvas=True,
                   height=height, zoom_snap=FIT_ZOOM_SNAP)
    set_offline_assets(m, asset_mode=asset_mode)
    add_metric_scale(m)
    if gdf is None or len(gdf) == 0:
        return m
    frame = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    if status_column not in frame.columns:
        frame[status_column] = "ok"
    frame = frame.sort_values(status_column, key=lambda s: s != "error", kind="stable").head(max_features)
    if len(frame) == 0:
        return m
    fields = [c for c in _TOOLTIP_FIELDS if c in frame.columns]
    shown = gpd.GeoDataFrame({c: [_escape(v) for v in frame[c].tolist()] for c in fields},
                             geometry=frame.geometry.values, crs="EPSG:4326")
    for status, colour in STATUS_COLOURS.items():
        part = shown[frame[status_column].to_numpy() == status]
        if not len(part):
            continue
        label = _STATUS_LABELS[status]
        folium.GeoJson(
            part.__geo_interface__,
            name=f"{label} ({len(part)})",
            style_function=lambda _f, c=colour: {"color": c, "weight": 2, "fillColor": c, "fillOpacity": 0.25},
            marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.8, color=colour, fill_color=colour),
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[f.strip("_") for f in fields]),
        ).add_to(m)
    fit_to(m, frame.total_bounds)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
