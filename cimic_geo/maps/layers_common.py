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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.i18n import _
from cimic_geo.maps.assets import AssetMode, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale
from cimic_geo.maps.cop_style import STYLES

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
    """The occupied area under the front line, in the COP's threat colours, when given."""
    if occupied_area is not None and len(occupied_area):
        folium.GeoJson(occupied_area[["geometry"]].__geo_interface__, name=_("Occupied area"),
                       style_function=lambda _f: dict(STYLES["occupied_area"]["base"])).add_to(m)
    if front_line is not None and len(front_line):
        folium.GeoJson(front_line[["geometry"]].__geo_interface__, name=_("Front line"),
                       style_function=lambda _f: dict(STYLES["front_line"]["base"])).add_to(m)


#: SVG paths (in a 14 × 14 box) of the point shapes of :data:`cimic_geo.maps.cop_style.POINT_SHAPES`.
SHAPE_PATHS = {"square": "M2.5,2.5H11.5V11.5H2.5z", "triangle": "M7,1.5L12.5,12H1.5z", "diamond": "M7,1L13,7L7,13L1,7z"}
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def shape_icon_html(shape: str, colour: str, size: int) -> str:
    """Inline SVG of a marker ``shape`` filled with a palette ``colour`` (``#rrggbb`` only: a
    constant of the palette, never text from data)."""
    if shape not in SHAPE_PATHS or not _HEX.fullmatch(colour):
        raise ValueError(f"shape {shape!r} / colour {colour!r}: expected one of {sorted(SHAPE_PATHS)} and #rrggbb")
    return (f'<svg width="{int(size)}" height="{int(size)}" viewBox="0 0 14 14" style="display:block">'
            f'<path d="{SHAPE_PATHS[shape]}" fill="{colour}" fill-opacity="0.9" stroke="#222" stroke-width="1"/></svg>')


def shape_layer(gdf: gpd.GeoDataFrame, fields: Sequence[tuple[str, str]], colour: Sequence[str],
                radius: Sequence[float], name: str, *, shape: str = "circle", show: bool = True) -> folium.FeatureGroup:
    """Like :func:`circle_layer`, with the layer's own ``shape`` (``circle``, ``square``,
    ``triangle``, ``diamond``): one ``L.marker`` with an SVG icon per point, the icon sized from
    ``radius`` (rounded to whole pixels) and filled with the row's colour."""
    if shape == "circle":
        return circle_layer(gdf, fields, colour, radius, name, show=show)
    fg = folium.FeatureGroup(name=html.escape(name), show=show)
    if not len(gdf):
        return fg
    keep = [(f, a) for f, a in fields if f in gdf.columns]
    data: dict[str, list] = {f: [tooltip_text(v) for v in gdf[f].tolist()] for f, _ in keep}
    frame = gpd.GeoDataFrame(data, geometry=gdf.geometry.representative_point().values, crs="EPSG:4326")
    size = np.clip(np.round(2 * np.asarray(radius, dtype=float) + 2), 8, 40).astype(int)
    groups = pd.Series(range(len(frame))).groupby([np.asarray(list(colour), dtype=object), size])
    for (c, d), idx in groups:
        icon = folium.DivIcon(html=shape_icon_html(shape, str(c), int(d)), icon_size=(int(d), int(d)),
                              icon_anchor=(int(d) // 2, int(d) // 2), class_name="cimic-shape")
        folium.GeoJson(
            frame.iloc[idx.to_numpy()].__geo_interface__, marker=folium.Marker(icon=icon),
            tooltip=folium.GeoJsonTooltip(fields=[f for f, _ in keep], aliases=[a for _, a in keep]),
        ).add_to(fg)
    return fg


def point_features(columns: dict[str, list], points: Sequence[Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``points`` with the properties ``columns`` (one list per column):
    the dict ``GeoDataFrame(columns, geometry=points).__geo_interface__`` gives (ids ``"0"``, ``"1"``, ...,
    bounding boxes; a missing or empty point has no geometry), built without a frame: the feature loop of geopandas costs
    a third of a layer page's run with a few thousand points."""
    geoms = np.asarray(points, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.zeros(0, dtype=bool)
    xy = np.full((len(geoms), 2), np.nan)
    if present.any():
        xy[present] = shapely.get_coordinates(geoms[present])
    names = list(columns)
    values = []
    for n in names:  # missing values (NaN, None, NaT) become null, as geopandas writes them
        col = np.asarray(columns[n], dtype=object)
        col[pd.isna(col)] = None
        values.append(col.tolist())
    rows = zip(*values, strict=True) if names else ((),) * len(geoms)
    feats = []
    for i, (row, ok, (x, y)) in enumerate(zip(rows, present, xy.tolist(), strict=True)):
        feats.append({"id": str(i), "type": "Feature", "properties": dict(zip(names, row, strict=True)),
                      "geometry": {"type": "Point", "coordinates": (x, y)} if ok else None,
                      "bbox": (x, y, x, y) if ok else None})
    bounds = shapely.total_bounds(geoms) if len(geoms) else np.full(4, np.nan)
    return {"type": "FeatureCollection", "features": feats, "bbox": tuple(bounds.tolist())}


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
    folium.GeoJson(
        point_features(data, gdf.geometry.representative_point().values),
        marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.85, weight=1),
        style_function=lambda f: {"color": "#222222", "weight": 1, "fillColor": f["properties"]["_colour"],
                                  "fillOpacity": 0.85, "radius": f["properties"]["_radius"]},
        tooltip=folium.GeoJsonTooltip(fields=[f for f, _ in keep], aliases=[a for _, a in keep]),
    ).add_to(fg)
    return fg
