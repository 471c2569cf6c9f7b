"""Pieces shared by the maps of the CIMIC layers (evacuations, civil assessments, partners).

* :func:`base_map`: an offline folium map (Leaflet from the app's static folder, metric scale,
  fractional zoom; tiles only when an operator tile URL is given);
* :func:`add_front`: the occupied area and the front line in force;
* :func:`circle_layer`: points as circle markers with HTML-escaped tooltip values;
* :func:`finish`: legend, marking banner, layer control and the opening extent.

Every value from data is HTML-escaped by :func:`tooltip_text` before it reaches folium (its
tooltip builds HTML in the browser); legend and marking are the constant templates of
:mod:`cimic_geo.maps.analytics_map` with escaped variables.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.maps.assets import AssetMode, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale

#: Longest text shown in a tooltip cell.
MAX_TEXT = 200


@dataclass(frozen=True)
class MapLook:
    """How a map is drawn, apart from its data.

    Attributes
    ----------
    marking : classification banner text (none when empty)
    tile_url, tile_attribution : the operator's tile server (none: no basemap, fully offline)
    asset_mode : Leaflet served by the app (``served``) or inlined into the HTML (``inline``)
    height : map height (pixels or CSS length)
    """

    marking: str | None = None
    tile_url: str | None = None
    tile_attribution: str = "local tiles"
    asset_mode: AssetMode = "served"
    height: int | str = 560


def tooltip_text(v: Any) -> str:
    """A tooltip cell: empty for missing, integers with thousands separators, floats to 0.1, times
    as ``YYYY-MM-DD HH:MMZ``, anything else HTML-escaped and cut to :data:`MAX_TEXT` characters."""
    if v is None or (not isinstance(v, (str, list, tuple)) and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%MZ")
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.1f}"
    return html.escape(str(v))[:MAX_TEXT]


def base_map(look: MapLook) -> folium.Map:
    """An empty offline map over eastern Ukraine (fitted to the data later by :func:`finish`)."""
    m = folium.Map(location=[48.5, 35.0], zoom_start=7, tiles=None, control_scale=False, prefer_canvas=True,
                   height=look.height, zoom_snap=FIT_ZOOM_SNAP)
    set_offline_assets(m, asset_mode=look.asset_mode)
    add_metric_scale(m)
    if look.tile_url:
        folium.TileLayer(tiles=look.tile_url, attr=look.tile_attribution, name="Basemap tiles", overlay=False,
                         control=False).add_to(m)
    return m


def add_front(m: folium.Map, front_line: gpd.GeoDataFrame | None, occupied_area: gpd.GeoDataFrame | None) -> None:
    """The occupied area (grey) under the front line (red), when given."""
    if occupied_area is not None and len(occupied_area):
        folium.GeoJson(occupied_area[["geometry"]].__geo_interface__, name="Occupied area",
                       style_function=lambda _f: {"color": "#555555", "weight": 1, "fillColor": "#555555",
                                                  "fillOpacity": 0.25}).add_to(m)
    if front_line is not None and len(front_line):
        folium.GeoJson(front_line[["geometry"]].__geo_interface__, name="Front line",
                       style_function=lambda _f: {"color": "#d40000", "weight": 3}).add_to(m)


def circle_layer(gdf: gpd.GeoDataFrame, fields: Sequence[tuple[str, str]], colour: Sequence[str],
                 radius: Sequence[float], name: str, *, show: bool = True) -> folium.FeatureGroup:
    """Circle markers at the points (or representative points) of ``gdf``.

    ``fields`` are (column, label) pairs for the tooltip (columns ``gdf`` lacks are skipped);
    ``colour`` and ``radius`` give each row's fill colour and radius in pixels.
    """
    fg = folium.FeatureGroup(name=html.escape(name), show=show)
    if not len(gdf):
        return fg
    keep = [(f, a) for f, a in fields if f in gdf.columns]
    data: dict[str, list] = {f: [tooltip_text(v) for v in gdf[f].tolist()] for f, _ in keep}
    data["_colour"] = list(colour)
    data["_radius"] = [float(r) for r in radius]
    frame = gpd.GeoDataFrame(data, geometry=gdf.geometry.representative_point().values, crs="EPSG:4326")
    folium.GeoJson(
        frame.__geo_interface__,
        marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.85, weight=1),
        style_function=lambda f: {"color": "#222222", "weight": 1, "fillColor": f["properties"]["_colour"],
                                  "fillOpacity": 0.85, "radius": f["properties"]["_radius"]},
        tooltip=folium.GeoJsonTooltip(fields=[f for f, _ in keep], aliases=[a for _, a in keep]),
    ).add_to(fg)
    return fg
