"""Maps of the civil picture: settlements coloured by a sector's status or by assessment age, and
the 3W map (partner areas, settlements served, gaps).

Offline: Leaflet from the app's static folder (:func:`cimic_geo.maps.assets.set_offline_assets`),
no tiles unless an operator tile URL is given. Every value from data is HTML-escaped before it
reaches folium (its tooltip builds HTML in the browser); legend and marking are constant
templates with escaped variables (:class:`cimic_geo.maps.analytics.AnalyticsLegend`).
"""

from __future__ import annotations

import html
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.errors import AnalysisError
from cimic_geo.maps.analytics import AnalyticsLegend, MarkingBanner
from cimic_geo.maps.assets import AssetMode, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale, fit_to, frames_extent
from cimic_geo.schema import PARTNER_SECTORS

STATUS_COLOURS = {"functional": "#1a9850", "partial": "#fdae61", "disrupted": "#d73027", "unknown": "#9e9e9e"}
STATE_COLOURS = {"current": "#1a9850", "stale": "#e6a700", "never": "#9e9e9e"}
STATE_LABELS = {"current": "assessed recently", "stale": "assessment stale", "never": "never assessed"}
#: Colour of each partner sector on the 3W map (fixed per sector, none of them the gap red).
SECTOR_COLOURS = dict(zip(PARTNER_SECTORS, ("#e6a700", "#1f77b4", "#e377c2", "#8c564b", "#17becf", "#2ca02c",
                                            "#9467bd", "#7f7f7f", "#6b8e23", "#000080", "#bcbd22", "#00a087"),
                          strict=True))
GAP_COLOUR = "#d62728"
MAX_POINTS = 4000
Colouring = Literal["status", "state"]


def _esc(v: Any) -> Any:
    if v is None or (not isinstance(v, (str, list, tuple)) and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%MZ")
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.1f}"
    return html.escape(str(v))[:200]


def _points(gdf: gpd.GeoDataFrame, fields: list[tuple[str, str]], colour: np.ndarray, radius: np.ndarray,
            name: str, *, show: bool = True) -> folium.FeatureGroup:
    """Circle markers with escaped tooltip values; ``fields`` are (column, label) pairs."""
    fg = folium.FeatureGroup(name=html.escape(name), show=show)
    if not len(gdf):
        return fg
    keep = [(f, a) for f, a in fields if f in gdf.columns]
    data: dict[str, list] = {f: [_esc(v) for v in gdf[f].tolist()] for f, _ in keep}
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


def _base(bounds: Any, *, tile_url: str | None, tile_attribution: str, asset_mode: AssetMode,
          height: int | str) -> folium.Map:
    m = folium.Map(location=[48.5, 35.0], zoom_start=7, tiles=None, control_scale=False, prefer_canvas=True,
                   height=height, zoom_snap=FIT_ZOOM_SNAP)
    set_offline_assets(m, asset_mode=asset_mode)
    add_metric_scale(m)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="Basemap tiles", overlay=False,
                         control=False).add_to(m)
    return m


def _radius(frame: gpd.GeoDataFrame) -> np.ndarray:
    pop = pd.to_numeric(frame.get("population", pd.Series(0, index=frame.index)), errors="coerce").fillna(0)
    return np.clip(np.sqrt(pop.to_numpy(dtype=float)) / 40.0, 3, 16)


def _front(m: folium.Map, front_line: gpd.GeoDataFrame | None, occupied_area: gpd.GeoDataFrame | None) -> None:
    if occupied_area is not None and len(occupied_area):
        folium.GeoJson(occupied_area[["geometry"]].__geo_interface__, name="Occupied area",
                       style_function=lambda _f: {"color": "#555555", "weight": 1, "fillColor": "#555555",
                                                  "fillOpacity": 0.2}).add_to(m)
    if front_line is not None and len(front_line):
        folium.GeoJson(front_line[["geometry"]].__geo_interface__, name="Front line",
                       style_function=lambda _f: {"color": "#d40000", "weight": 3}).add_to(m)


def assessment_map(
    settlements: gpd.GeoDataFrame,
    *,
    sector: str,
    colour_by: Colouring = "status",
    front_line: gpd.GeoDataFrame | None = None,
    occupied_area: gpd.GeoDataFrame | None = None,
    marking: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    asset_mode: AssetMode = "served",
    height: int | str = 560,
    max_points: int = MAX_POINTS,
) -> folium.Map:
    """Settlements coloured by the status of ``sector`` in their latest assessment, or by its age.

    ``settlements`` has ``status`` (functional/partial/disrupted/unknown) and ``state``
    (current/stale/never), as :func:`cimic_geo.civil.assessment_overview` gives them. At most
    ``max_points`` are drawn: assessed ones and the largest first.
    """
    if colour_by not in ("status", "state"):
        raise AnalysisError(f"colour_by must be 'status' or 'state', got {colour_by!r}")
    m = _base(None, tile_url=tile_url, tile_attribution=tile_attribution, asset_mode=asset_mode, height=height)
    _front(m, front_line, occupied_area)
    sets = settlements
    note = ""
    if len(sets) > max_points:
        key = (sets["state"] != "never").astype(int) * 1e12 + pd.to_numeric(sets["population"], errors="coerce")
        sets = sets.loc[key.sort_values(ascending=False).index[:max_points]]
        note = f" (first {max_points:,} of {len(settlements):,})"
    if colour_by == "status":
        colour = np.array([STATUS_COLOURS.get(s, STATUS_COLOURS["unknown"]) for s in sets["status"]], dtype=object)
        legend = AnalyticsLegend(f"{sector} status (latest assessment)", list(STATUS_COLOURS.items()))
        title = f"Settlements by {sector} status"
    else:
        colour = np.array([STATE_COLOURS.get(s, STATE_COLOURS["never"]) for s in sets["state"]], dtype=object)
        legend = AnalyticsLegend("Latest assessment", [(STATE_LABELS[k], c) for k, c in STATE_COLOURS.items()])
        title = "Settlements by assessment age"
    fields = [("name", "Settlement"), ("id", "ID"), ("population", "Population"), ("status", f"{sector} status"),
              ("last_assessed", "Last assessed"), ("age_days", "Age (days)"), ("priority_needs", "Priority needs")]
    _points(sets, fields, colour, _radius(sets), title + note).add_to(m)
    legend.add_to(m)
    if marking:
        MarkingBanner(marking).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    fit_to(m, frames_extent(sets if len(sets) else None, occupied_area, front_line))
    return m


def partners_map(
    partners: gpd.GeoDataFrame,
    *,
    settlements: gpd.GeoDataFrame,
    gaps: pd.DataFrame,
    marking: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    asset_mode: AssetMode = "served",
    height: int | str = 560,
    max_points: int = MAX_POINTS,
) -> folium.Map:
    """The 3W map: partner areas (polygons) and served settlements per sector, and gap settlements in red.

    ``gaps`` has ``settlement_id`` and ``sector`` (one row per uncovered need).
    """
    m = _base(None, tile_url=tile_url, tile_attribution=tile_attribution, asset_mode=asset_mode, height=height)
    sectors = sorted(set(partners["sector"])) if len(partners) else []
    colours = {s: SECTOR_COLOURS.get(s, "#7f7f7f") for s in sectors}
    for sector in sectors:
        part = partners[partners["sector"] == sector]
        props = gpd.GeoDataFrame({
            "organisation": [_esc(v) for v in part["organisation"]],
            "org_type": [_esc(v) for v in part["org_type"]],
            "activity": [_esc(v) for v in part.get("activity", pd.Series([""] * len(part)))],
            "contact": [_esc(v) for v in part.get("contact", pd.Series([""] * len(part)))],
        }, geometry=part.geometry.values, crs="EPSG:4326")
        c = colours[sector]
        folium.GeoJson(
            props.__geo_interface__, name=html.escape(f"{sector} partners ({len(part)})"),
            style_function=lambda _f, c=c: {"color": c, "weight": 2, "fillColor": c, "fillOpacity": 0.12},
            marker=folium.CircleMarker(radius=4, fill=True, fill_opacity=0.7, color=c, fill_color=c),
            tooltip=folium.GeoJsonTooltip(fields=["organisation", "org_type", "activity", "contact"],
                                          aliases=["Organisation", "Type", "Activity", "Contact"]),
        ).add_to(m)
    gap_sets = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    if len(gaps):
        by = gaps.groupby("settlement_id")["sector"].agg(lambda s: ", ".join(sorted(set(s))))
        gap_sets = settlements[settlements["id"].astype(str).isin(by.index)].copy()
        gap_sets["needs"] = gap_sets["id"].astype(str).map(by).to_numpy()
        if len(gap_sets) > max_points:
            gap_sets = gap_sets.sort_values("population", ascending=False).head(max_points)
        _points(gap_sets, [("name", "Settlement"), ("id", "ID"), ("population", "Population"),
                           ("needs", "Uncovered needs")],
                np.full(len(gap_sets), GAP_COLOUR, dtype=object), _radius(gap_sets),
                f"Gaps: unmet need, no partner ({len(gap_sets):,})").add_to(m)
    AnalyticsLegend("3W", [*((f"{s} partners", c) for s, c in colours.items()),
                           ("gap: unmet need, no partner", GAP_COLOUR)]).add_to(m)
    if marking:
        MarkingBanner(marking).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    fit_to(m, frames_extent(partners if len(partners) else None, gap_sets if len(gap_sets) else None,
                            settlements if len(settlements) else None))
    return m
