"""The corridor planner's map: COP base map, threat, saved corridors, options, cut-off
settlements, Draw.

Offline: the base map comes from :func:`cimic_geo.maps.cop_map.build_base_map` (Leaflet from the
app's static folder) and the Leaflet.draw plugin's JS/CSS from the same folder
(:func:`cimic_geo.maps.assets.set_offline_assets`). Labels and names are escaped
(:func:`cimic_geo.maps.controls.tooltip_html`) before they reach the page. The map opens fitted
to the data (fractional zoom) with a metric scale bar.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.plugins import Draw
from jinja2 import Template
from shapely.geometry import shape

from cimic_geo.maps.assets import AssetMode, preload_first, set_offline_assets
from cimic_geo.maps.controls import FIT_PADDING_PX, FIT_ZOOM_SNAP, frames_extent, tooltip_html
from cimic_geo.maps.cop_map import build_base_map, build_layer_groups

#: Colours of the options on the map and in the comparison table (in order).
OPTION_COLORS = ("#6a1b9a", "#00838f", "#ef6c00", "#2e7d32", "#ad1457", "#283593", "#5d4037", "#00695c")
#: Cut-off settlements: a magenta diamond (no other layer uses the shape or the colour).
CUTOFF_COLOR = "#e600e6"
CUTOFF_LEGEND = ["Access", [["cut off from safety", CUTOFF_COLOR, "diamond"]]]
_CUTOFF_ICON = (f'<div style="width:12px;height:12px;margin:2px;background:{CUTOFF_COLOR};border:2px solid #000;'
                'box-sizing:border-box;transform:rotate(45deg)"></div>')


def option_color(index: int) -> str:
    """Colour of the option at ``index`` (cycles)."""
    return OPTION_COLORS[index % len(OPTION_COLORS)]


def draw_control(*, asset_mode: AssetMode = "served") -> Draw:
    """A Leaflet.draw control for polylines only (no self-intersections), served offline."""
    draw = Draw(
        export=False,
        position="topleft",
        show_geometry_on_click=False,
        draw_options={
            "polyline": {"allowIntersection": False, "shapeOptions": {"color": "#d81b60", "weight": 4}},
            "polygon": False, "rectangle": False, "circle": False, "marker": False, "circlemarker": False,
        },
        edit_options={"edit": False, "remove": True},
    )
    set_offline_assets(draw, asset_mode=asset_mode)
    return draw


def options_group(options: Sequence[Mapping[str, Any]], *, selected: int | None = None) -> folium.FeatureGroup:
    """One feature group with each option's line (``geometry`` GeoJSON dict, ``label``), coloured by index."""
    fg = folium.FeatureGroup(name="Corridor options", show=True)
    for i, opt in enumerate(options):
        geom = opt.get("geometry")
        if not geom:
            continue
        color = option_color(i)
        weight = 7 if selected == i else 4
        label = tooltip_html(f"{i + 1}. {opt.get('label', '')}")
        folium.GeoJson(
            {"type": "Feature", "properties": {}, "geometry": geom},
            style_function=lambda _f, c=color, w=weight: {"color": c, "weight": w, "opacity": 0.9},
            tooltip=folium.Tooltip(label),
        ).add_to(fg)
    return fg


def places_group(places: Sequence[Mapping[str, Any]]) -> folium.FeatureGroup:
    """Origin/destination markers (``lat``, ``lon``, ``label``) as circle markers (no icon images)."""
    fg = folium.FeatureGroup(name="Origin and destination", show=True)
    for p in places:
        folium.CircleMarker(location=[p["lat"], p["lon"]], radius=7, color="#000", weight=2, fill=True,
                            fill_color="#ffd200", fill_opacity=1.0,
                            tooltip=folium.Tooltip(tooltip_html(p.get("label", "")))).add_to(fg)
    return fg


def cutoff_label(place: Mapping[str, Any]) -> str:
    """Tooltip text of a cut-off settlement (escaped): name, population and why it is cut off."""
    pop = place.get("population")
    try:
        pop_text = f"{int(pop):,}"
    except (TypeError, ValueError):
        pop_text = "?"
    text = f"CUT OFF: {place.get('name', '')} (pop. {pop_text}) — {place.get('reason') or 'no safe route'}"
    return tooltip_html(text)


def cutoff_group(places: Sequence[Mapping[str, Any]]) -> folium.FeatureGroup:
    """Cut-off settlements (``lat``, ``lon``, ``name``, ``population``, ``reason``) as magenta diamonds
    (a CSS ``L.divIcon``: no image files) with an escaped tooltip."""
    fg = folium.FeatureGroup(name="Cut-off settlements", show=True)
    for p in places:
        folium.Marker(location=[float(p["lat"]), float(p["lon"])],
                      icon=folium.DivIcon(html=_CUTOFF_ICON, icon_size=(16, 16), icon_anchor=(8, 8),
                                          class_name="cimic-cutoff"),
                      tooltip=folium.Tooltip(cutoff_label(p))).add_to(fg)
    return fg


#: Colour of road pieces not connected to the main network.
PIECE_COLOR = "#ff7f00"


def pieces_group(lines: Sequence[Sequence[tuple[float, float]]]) -> folium.FeatureGroup:
    """Road pieces not connected to the main road network (``[(lon, lat), ...]`` each), dashed."""
    fg = folium.FeatureGroup(name="Unconnected road pieces", show=True)
    # one multi-polyline for all pieces: one Leaflet layer and one element to render, not thousands
    pieces = [[(float(lat), float(lon)) for lon, lat in coords] for coords in lines if len(coords) >= 2]
    if pieces:
        folium.PolyLine(pieces, color=PIECE_COLOR, weight=4, dash_array="6 4",
                        tooltip="not connected to the main road network").add_to(fg)
    return fg


def planner_extent(*frames: gpd.GeoDataFrame | None) -> tuple[float, float, float, float] | None:
    """The extent the planner map opens fitted to (roads, threat, settlements ...)."""
    return frames_extent(*frames)


#: The store layers the planner map can show (legend order of the live map).
PLANNER_LAYERS = ("occupied_area", "front_line", "roads", "corridors", "settlements", "infrastructure")


class ViewCommand(MacroElement):
    """A one-off instruction for the live map in the app, run when streamlit-folium adds the
    feature groups that carry it (``feature_group_to_add``): fit the view to ``bounds`` and/or
    clear the lines drawn with the Draw tool.

    ``nonce`` (increasing) numbers the commands: the browser runs each number once, so the page can
    keep sending the last command while other groups change (a cut-off search, a status change)
    without moving the view again. Uses ``window.map`` / ``window.drawnItems`` (set by
    streamlit-folium); does nothing in a standalone map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var m = window.map, n = {{ this.nonce }};
          // once per command: the groups are added again when other content changes
          if (!m || (window.cimicViewCommand || 0) >= n) { return; }
          window.cimicViewCommand = n;
          {% if this.clear_drawn %}if (window.drawnItems && window.drawnItems.clearLayers) { window.drawnItems.clearLayers(); }{% endif %}
          {% if this.bounds_js %}
          // Streamlit narrows the component's frame for a moment while it redraws it: fit again
          // whenever the map is resized in the next moments, so the fit is for the final size
          // (not animated: a zoom animation still running would swallow the second fit)
          var fit = function () { m.fitBounds({{ this.bounds_js }}, {padding: [{{ this.padding }}, {{ this.padding }}], animate: false}); };
          fit();
          m.on('resize', fit);
          setTimeout(function () { m.off('resize', fit); }, {{ this.settle_ms }});
          {% endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, bounds: Sequence[float] | None = None, clear_drawn: bool = False, nonce: int = 0,
                 padding_px: int = FIT_PADDING_PX) -> None:
        super().__init__()
        self._name = "PlannerViewCommand"
        self.bounds_js = None
        if bounds is not None:
            x0, y0, x1, y1 = (float(v) for v in bounds)
            if all(math.isfinite(v) for v in (x0, y0, x1, y1)):
                self.bounds_js = json.dumps([[y0, x0], [y1, x1]])
        self.clear_drawn = bool(clear_drawn)
        self.nonce = int(nonce)
        self.padding = int(padding_px)
        self.settle_ms = 1500


def build_planner_base_map(
    *,
    bounds: Sequence[float] | None,
    marking: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    asset_mode: AssetMode = "served",
    draw: bool = True,
    cutoff_legend: bool = True,
) -> folium.Map:
    """The planner map without data: legend for every planner layer (and the cut-off settlements
    when ``cutoff_legend``), marking, metric scale and (``draw``) the polyline tool, opening fitted
    to ``bounds``.

    The app draws the data with :func:`planner_layer_groups` as streamlit-folium
    ``feature_group_to_add`` groups, so this map (its script) stays the same while the content
    changes and the browser keeps the Leaflet map, with the user's pan and zoom, mounted. Served, its
    scripts are requested all at once (:func:`~cimic_geo.maps.assets.preload_first`).
    """
    m = build_base_map(bounds=bounds, marking=marking, tile_url=tile_url, tile_attribution=tile_attribution,
                       asset_mode=asset_mode, legend_layers=list(PLANNER_LAYERS),
                       legend_extra=[CUTOFF_LEGEND] if cutoff_legend else (), zoom_snap=FIT_ZOOM_SNAP)
    if draw:
        draw_control(asset_mode=asset_mode).add_to(m)
    if asset_mode == "served":  # the scripts requested together, not one after another
        preload_first(m)
    return m


def planner_layer_groups(
    layers: Mapping[str, gpd.GeoDataFrame | str | None],
    *,
    options: Sequence[Mapping[str, Any]] = (),
    places: Sequence[Mapping[str, Any]] = (),
    cutoff: Sequence[Mapping[str, Any]] = (),
    selected: int | None = None,
    command: ViewCommand | None = None,
    small_pieces: Sequence[Sequence[tuple[float, float]]] = (),
) -> list[folium.FeatureGroup]:
    """The planner's data as feature groups, bottom to top: the store ``layers`` (keys of
    :data:`PLANNER_LAYERS`: frames, or strings from :func:`cimic_geo.maps.cop_map.encode_layer`), the
    options, origin/destination, the cut-off settlements, and a group carrying ``command``."""
    present = {k: v for k, v in layers.items() if v is not None}
    groups = build_layer_groups(present, show=list(present))
    if small_pieces:
        groups.append(pieces_group(small_pieces))
    if options:
        groups.append(options_group(options, selected=selected))
    if places:
        groups.append(places_group(places))
    if cutoff:
        groups.append(cutoff_group(cutoff))
    if command is not None:
        fg = folium.FeatureGroup(name="View", show=True, control=False)
        command.add_to(fg)
        groups.append(fg)
    return groups


def options_extent(options: Sequence[Mapping[str, Any]]) -> tuple[float, float, float, float] | None:
    """(minlon, minlat, maxlon, maxlat) of the options' lines (GeoJSON ``geometry``), or None."""
    geoms = [shape(o["geometry"]) for o in options if o.get("geometry")]
    if not geoms:
        return None
    return frames_extent(gpd.GeoSeries(geoms, crs="EPSG:4326"))


def build_planner_map(
    *,
    bounds: Sequence[float] | None,
    front_line: gpd.GeoDataFrame | None = None,
    occupied_area: gpd.GeoDataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    bridges: gpd.GeoDataFrame | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    options: Sequence[Mapping[str, Any]] = (),
    places: Sequence[Mapping[str, Any]] = (),
    cutoff: Sequence[Mapping[str, Any]] = (),
    selected: int | None = None,
    marking: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    asset_mode: AssetMode = "served",
    draw: bool = True,
) -> folium.Map:
    """The planner map as one standalone map: threat (front line, occupied area), roads by status,
    destroyed bridges (``bridges``: infrastructure rows), settlements, saved corridors by status,
    the options being compared, origin/destination, the ``cutoff`` settlements (see
    :func:`cutoff_group`) and (``draw``) a polyline drawing tool. Opens fitted to ``bounds``
    (default :func:`planner_extent` of the layers). The app uses :func:`build_planner_base_map` +
    :func:`planner_layer_groups` instead (same content, view kept while the content changes)."""
    layers = {k: v for k, v in (("occupied_area", occupied_area), ("front_line", front_line), ("roads", roads),
                                ("corridors", corridors), ("settlements", settlements),
                                ("infrastructure", bridges)) if v is not None}
    if bounds is None:
        bounds = planner_extent(*layers.values())
    m = build_base_map(bounds=bounds, marking=marking, tile_url=tile_url, tile_attribution=tile_attribution,
                       asset_mode=asset_mode, legend_layers=list(layers), legend_extra=[CUTOFF_LEGEND] if cutoff else (),
                       zoom_snap=FIT_ZOOM_SNAP)
    for fg in planner_layer_groups(layers, options=options, places=places, cutoff=cutoff, selected=selected):
        fg.add_to(m)
    if draw:
        draw_control(asset_mode=asset_mode).add_to(m)
    return m
