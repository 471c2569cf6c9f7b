"""Map of the evacuations page: pickup points coloured by status (size by people), lines from the
pickup to the destination shelter of planned and underway missions, the front line and the
occupied area.

Offline assets as every map of the package; text from data is HTML-escaped before it reaches
folium's tooltip (which builds HTML in the browser), and legend and marking are template variables
escaped by the constant templates of :mod:`cimic_geo.maps.analytics`.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.maps.analytics import AnalyticsLegend, MarkingBanner
from cimic_geo.maps.assets import AssetMode, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale, fit_to, frames_extent

STATUS_COLOURS = {"requested": "#d62728", "planned": "#ff7f0e", "underway": "#1f77b4", "completed": "#2ca02c",
                  "failed": "#000000", "cancelled": "#9a9a9a"}
TOOLTIP_FIELDS = (("id", "Evacuation"), ("status", "Status"), ("priority", "Priority"), ("people", "People"),
                  ("settlement", "Settlement"), ("pickup", "Pickup"), ("band", "Threat band"),
                  ("destination", "Destination"), ("transport", "Transport"), ("requested", "Requested"))


def _text(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return html.escape(str(v))[:200]


def build_evacuation_map(
    evacuations: gpd.GeoDataFrame,
    *,
    shelters: gpd.GeoDataFrame | None = None,
    front_line: gpd.GeoDataFrame | None = None,
    occupied_area: gpd.GeoDataFrame | None = None,
    marking: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    asset_mode: AssetMode = "served",
    height: int | str = 560,
) -> folium.Map:
    """The evacuations map.

    Parameters
    ----------
    evacuations : pickup points with ``status``, ``people`` and the board columns (``id``,
        ``settlement``, ``destination``, ``requested`` ...) as tooltip fields when present
    shelters : destination shelters (``id``, ``name``, points) for the mission lines
    front_line, occupied_area : in force at the time shown
    """
    m = folium.Map(location=[48.5, 35.0], zoom_start=7, tiles=None, control_scale=False, prefer_canvas=True,
                   height=height, zoom_snap=FIT_ZOOM_SNAP)
    set_offline_assets(m, asset_mode=asset_mode)
    add_metric_scale(m)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="Basemap tiles", overlay=False,
                         control=False).add_to(m)
    if occupied_area is not None and len(occupied_area):
        folium.GeoJson(occupied_area[["geometry"]].__geo_interface__, name="Occupied area",
                       style_function=lambda _f: {"color": "#555555", "weight": 1, "fillColor": "#555555",
                                                  "fillOpacity": 0.25}).add_to(m)
    if front_line is not None and len(front_line):
        folium.GeoJson(front_line[["geometry"]].__geo_interface__, name="Front line",
                       style_function=lambda _f: {"color": "#d40000", "weight": 3}).add_to(m)
    ev = evacuations
    if shelters is not None and len(shelters) and len(ev) and "destination_shelter_id" in ev.columns:
        live = ev[ev["status"].isin(("planned", "underway")) & ev["destination_shelter_id"].notna()]
        where = dict(zip(shelters["id"].astype(str), shelters.geometry, strict=True))
        pairs = [(g, where.get(str(d)), s) for g, d, s in zip(live.geometry, live["destination_shelter_id"],
                                                              live["status"], strict=True)]
        pairs = [(a, b, s) for a, b, s in pairs if b is not None]
        if pairs:
            lines = gpd.GeoDataFrame({"status": [s for _, _, s in pairs]},
                                     geometry=[shapely.LineString([a, b]) for a, b, _ in pairs], crs="EPSG:4326")
            folium.GeoJson(lines.__geo_interface__, name="Missions to shelters",
                           style_function=lambda f: {"color": STATUS_COLOURS.get(f["properties"]["status"], "#555"),
                                                     "weight": 2, "dashArray": "4 4"}).add_to(m)
    fg = folium.FeatureGroup(name="Evacuations")
    if len(ev):
        fields = [(f, a) for f, a in TOOLTIP_FIELDS if f in ev.columns]
        people = pd.to_numeric(ev["people"], errors="coerce").fillna(0).to_numpy(dtype=float)
        data: dict[str, list[Any]] = {f: [_text(v) for v in ev[f].tolist()] for f, _ in fields}
        data["_colour"] = [STATUS_COLOURS.get(str(s), "#555555") for s in ev["status"]]
        data["_radius"] = list(np.clip(3.0 + np.sqrt(people), 4, 16))
        frame = gpd.GeoDataFrame(data, geometry=np.asarray(ev.geometry.values), crs="EPSG:4326")
        folium.GeoJson(
            frame.__geo_interface__,
            marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.85, weight=1),
            style_function=lambda f: {"color": "#222222", "weight": 1, "fillColor": f["properties"]["_colour"],
                                      "fillOpacity": 0.85, "radius": f["properties"]["_radius"]},
            tooltip=folium.GeoJsonTooltip(fields=[f for f, _ in fields], aliases=[a for _, a in fields]),
        ).add_to(fg)
    fg.add_to(m)
    present = [s for s in STATUS_COLOURS if len(ev) and (ev["status"] == s).any()]
    AnalyticsLegend("Evacuations by status (size = people)",
                    [(s, STATUS_COLOURS[s]) for s in present or STATUS_COLOURS]).add_to(m)
    if marking:
        MarkingBanner(marking).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    fit_to(m, frames_extent(ev if len(ev) else None, front_line))
    return m
