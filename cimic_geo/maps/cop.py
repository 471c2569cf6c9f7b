"""The common operational picture as a folium map (issue 4): every layer, offline, escaped, compact.

Public functions
----------------
:func:`build_cop_map`
    One standalone folium map of given layers (with a layer control and a legend). Used by the
    export helper (``asset_mode="inline"`` for a self-contained HTML file) and by tests.
:func:`build_base_map` and :func:`build_layer_groups`
    The same map in two parts for the Streamlit page: a base map whose script never changes (so
    streamlit-folium keeps it mounted while panning) and the data layers as feature groups that
    streamlit-folium swaps in place.

How data reaches the browser
----------------------------
Each layer is one ``L.geoJson`` with compact properties and coordinates rounded to 1e-5° (~1 m).
Styling, tooltips and popups are built in the browser by one small shared script
(``window.cimicMap``) from a style table defined here, so per-feature HTML is never sent. All
text from the data is put into the page with ``textContent`` (never ``innerHTML``) and the JSON
is embedded with ``<``, ``>``, ``&`` escaped, so a name like ``<script>`` or
``<img onerror=...>`` is shown literally and never executed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from cimic_geo.errors import UnknownLayerError
from cimic_geo.geo import to_mgrs
from cimic_geo.maps.assets import AssetMode, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale, fit_to, frames_extent
from cimic_geo.schema import CORRIDOR_STATUSES, DAMAGE_LEVELS, SECTORS, SHELTER_KINDS, SHELTER_STATUSES
from cimic_geo.timefmt import dtg

# ----------------------------------------------------------------------------------------------
# Symbology (one table, used by the browser helper and the legend)
# ----------------------------------------------------------------------------------------------

SHELTER_STATUS_COLORS = {"open": "#1a9641", "full": "#fdae61", "closed": "#7f7f7f", "damaged": "#d7191c"}
SHELTER_KIND_COLORS = {"blast_shelter": "#000000", "collective_centre": "#2c7bb6",
                       "transit_centre": "#984ea3", "medical": "#e7298a"}
DAMAGE_COLORS = {"none": "#bbbbbb", "minor": "#fee08b", "major": "#f46d43", "destroyed": "#67001f"}
SECTOR_COLORS = {
    "power": "#ffd700", "water": "#1f78b4", "heating": "#ff7f00", "gas": "#6a3d9a", "telecom": "#33a02c",
    "health": "#e31a1c", "education": "#b15928", "bridge": "#000000", "road": "#555555", "rail": "#8c564b",
}
CORRIDOR_COLORS = {"draft": "#9e9e9e", "proposed": "#42a5f5", "agreed": "#1565c0", "active": "#00c853",
                   "suspended": "#ff9100", "closed": "#424242"}
ROAD_STATUS_COLORS = {"open": "#8d8d8d", "damaged": "#f4a261", "impassable": "#c1121f"}
#: ``gained``/``lost`` as in :func:`cimic_geo.analytics.frontline.front_change`: ground newly occupied
#: and ground liberated since the earlier date.
CHANGE_COLORS = {"gained": "#6a1b9a", "lost": "#2e7d32"}
CHANGE_LABELS = {"gained": "newly occupied", "lost": "liberated"}

_PROV = [["source", "Source"], ["reported", "Reported (DTG)"], ["reliability", "Reliability"]]
_PT = [["lat", "Lat"], ["lon", "Lon"], ["mgrs", "MGRS"]]

#: Per layer: title, style and popup fields. ``fill_by``/``color_by``/``dash_by`` pick a property.
STYLES: dict[str, dict[str, Any]] = {
    "occupied_area": {
        "title": "Occupied area", "tip": ["valid_from"],
        "base": {"color": "#b71c1c", "weight": 1, "fillColor": "#e53935", "fillOpacity": 0.18, "opacity": 0.6},
        "fields": [["valid_from", "Valid from"], ["valid_to", "Valid to"], *_PROV],
    },
    "front_change": {
        "title": "Front-line change", "tip": ["label", "area_km2", "since"],
        "base": {"weight": 1, "fillOpacity": 0.45, "opacity": 0.9},
        "color_by": "change", "colors": CHANGE_COLORS, "fill_by": "change", "fills": CHANGE_COLORS,
        "fields": [["label", "Change"], ["area_km2", "Area (km², geodesic)"], ["since", "Since"],
                   ["as_of", "As of"]],
    },
    "front_line": {
        "title": "Front line", "tip": ["valid_from"],
        "base": {"color": "#d50000", "weight": 3.5, "opacity": 0.95},
        "fields": [["valid_from", "Valid from"], ["valid_to", "Valid to"], *_PROV],
    },
    "roads": {
        "title": "Roads", "tip": ["name", "road_class", "status"],
        "base": {"color": "#8d8d8d", "weight": 1.5, "opacity": 0.8},
        "color_by": "status", "colors": ROAD_STATUS_COLORS,
        "dash_by": "status", "dash": {"impassable": "4 4"},
        "fields": [["road_class", "Class"], ["status", "Status"], ["speed_kmh", "Speed (km/h)"],
                   ["bridge", "Bridge"], *_PROV],
    },
    "corridors": {
        "title": "Corridors", "tip": ["name", "status"],
        "base": {"color": "#1565c0", "weight": 5, "opacity": 0.9},
        "color_by": "status", "colors": CORRIDOR_COLORS,
        "dash_by": "status", "dash": {"draft": "8 6", "proposed": "8 6", "suspended": "2 6"},
        "fields": [["status", "Status"], ["origin", "Origin"], ["destination", "Destination"],
                   ["window", "Window (DTG)"], ["notes", "Notes"], ["version", "Version"],
                   ["updated_by", "Updated by"], *_PROV],
    },
    "settlements": {
        "title": "Settlements", "tip": ["name", "population"],
        "base": {"color": "#37474f", "weight": 1, "fillColor": "#eceff1", "fillOpacity": 0.9, "radius": 3},
        "radius_by": "population",
        "fields": [["name_uk", "Name (uk)"], ["population", "Population"], ["settlement_type", "Type"],
                   ["admin1", "Oblast"], ["admin2", "Raion"], *_PT, *_PROV],
    },
    "shelters": {
        "title": "Shelters", "tip": ["name", "kind", "status", "occupancy", "capacity"],
        "base": {"color": "#000000", "weight": 2, "fillColor": "#1a9641", "fillOpacity": 0.9, "radius": 5},
        "fill_by": "status", "fills": SHELTER_STATUS_COLORS, "color_by": "kind", "colors": SHELTER_KIND_COLORS,
        "fields": [["kind", "Kind"], ["status", "Status"], ["capacity", "Capacity"], ["occupancy", "Occupancy"],
                   ["accessible", "Step-free"], ["address", "Address"], *_PT, *_PROV],
    },
    "infrastructure": {
        "title": "Damaged infrastructure", "tip": ["name", "sector", "damage"],
        "base": {"color": "#000000", "weight": 2.5, "fillColor": "#f46d43", "fillOpacity": 0.9, "radius": 5},
        "fill_by": "damage", "fills": DAMAGE_COLORS, "color_by": "sector", "colors": SECTOR_COLORS,
        "fields": [["sector", "Sector"], ["damage", "Damage"], ["restoration", "Restoration"],
                   ["people_served", "People served"], *_PT, *_PROV],
    },
    "search": {
        "title": "Search result", "tip": ["name"],
        "base": {},
        "marker": "pin",
        "fields": [["population", "Population"], *_PT],
    },
}
#: Aggregated (gridded) versions of the point layers, drawn at low zoom.
for _k, _title, _cats in (
    ("shelters", "Shelters", SHELTER_STATUSES),
    ("infrastructure", "Damaged infrastructure", DAMAGE_LEVELS[1:]),
    ("settlements", "Settlements", ()),
):
    STYLES[f"{_k}_grid"] = {
        "title": f"{_title} (aggregated)", "tip": ["n"],
        "base": {"color": "#263238", "weight": 1, "fillColor": STYLES[_k]["base"].get("fillColor", "#888"),
                 "fillOpacity": 0.55},
        "radius_by": "n",
        "fields": [["n", "Count"], *[[c, c.replace("_", " ").capitalize()] for c in _cats],
                   ["capacity", "Capacity"], ["occupancy", "Occupancy"], ["population", "Population"],
                   ["people_served", "People served"]],
    }

#: Layer order on the map (bottom to top) and whether each is shown by default.
LAYER_ORDER = ("occupied_area", "front_change", "front_line", "roads", "corridors", "settlements",
               "shelters", "infrastructure", "search")
DEFAULT_VISIBLE = frozenset(k for k in LAYER_ORDER if k not in ("roads",))

#: Attribute columns sent for each layer (popup fields); everything else stays on the server.
_SEND_COLUMNS: dict[str, tuple[str, ...]] = {
    "settlements": ("name", "name_uk", "population", "settlement_type", "admin1", "admin2"),
    "shelters": ("name", "kind", "status", "capacity", "occupancy", "accessible", "address"),
    "infrastructure": ("name", "sector", "damage", "restoration", "people_served"),
    "roads": ("name", "road_class", "status", "speed_kmh", "bridge"),
    "corridors": ("name", "status", "origin", "destination", "notes", "version", "updated_by"),
    "front_line": (),
    "occupied_area": (),
    "front_change": ("change", "area_km2", "since", "as_of"),
    "search": ("name", "population"),
}
_PROVENANCE_LAYERS = {"settlements", "shelters", "infrastructure", "roads", "corridors", "front_line",
                      "occupied_area"}

COORD_DECIMALS = 5


# ----------------------------------------------------------------------------------------------
# Zoom helpers (pure; the page and the bench use them)
# ----------------------------------------------------------------------------------------------


def degrees_per_pixel(zoom: float) -> float:
    """Longitude degrees covered by one screen pixel at a web-mercator ``zoom``."""
    return 360.0 / (256.0 * 2.0 ** float(zoom))


def simplify_tolerance(zoom: float) -> float:
    """Display-only simplification tolerance (degrees): half a pixel at ``zoom``."""
    return degrees_per_pixel(zoom) / 2.0


def grid_cell_deg(zoom: float, *, cell_px: int = 40) -> float:
    """Grid cell size (degrees) for aggregating points: ``cell_px`` pixels at ``zoom``."""
    return degrees_per_pixel(zoom) * cell_px


def query_bbox(bounds: Sequence[float], zoom: float, *, margin: float = 0.25) -> tuple[float, float, float, float]:
    """The bbox to query for a view: ``bounds`` grown by ``margin`` of its size on each side and
    snapped outward to a grid of one 256-px tile at ``zoom``, so that small pans reuse the same
    query (and its cached result) and the browser keeps the drawn layers.
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    x0, x1, y0, y1 = x0 - margin * w, x1 + margin * w, y0 - margin * h, y1 + margin * h
    step = 256 * degrees_per_pixel(zoom)
    snap = lambda v, f: f(v / step) * step  # noqa: E731
    x0, y0, x1, y1 = snap(x0, math.floor), snap(y0, math.floor), snap(x1, math.ceil), snap(y1, math.ceil)
    return max(x0, -180.0), max(y0, -85.0), min(x1, 180.0), min(y1, 85.0)


def zoom_for_extent(bbox: Sequence[float], *, width_px: int = 900, height_px: int = 640) -> int:
    """The largest web-mercator zoom (3-16) at which ``bbox`` fits a map of the given pixel size."""
    w = max(float(bbox[2]) - float(bbox[0]), 1e-4)
    lat = math.radians((float(bbox[1]) + float(bbox[3])) / 2)
    h = max(float(bbox[3]) - float(bbox[1]), 1e-4) / max(math.cos(lat), 0.2)
    z = min(math.log2(360 * width_px / (256 * w)), math.log2(360 * height_px / (256 * h)))
    return int(max(3, min(16, math.floor(z))))


def contains_bbox(outer: Sequence[float], inner: Sequence[float]) -> bool:
    """True when ``inner`` lies within ``outer`` (both minlon, minlat, maxlon, maxlat)."""
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


# ----------------------------------------------------------------------------------------------
# GeoJSON encoding
# ----------------------------------------------------------------------------------------------


def _safe_json(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` element (no ``</script>`` or HTML can break out)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return dtg(v) or None
    if isinstance(v, (bool, np.bool_)):
        return "yes" if bool(v) else "no"
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        if not math.isfinite(f):
            return None
        return int(f) if f.is_integer() else round(f, 2)
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _round_geoms(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))


def encode_layer(key: str, gdf: gpd.GeoDataFrame) -> str:
    """:func:`features_geojson` as JSON safe to embed in a script (what :class:`DataLayer` sends)."""
    return _safe_json(features_geojson(key, gdf))


def front_change_frame(change: Any, *, since: Any = None, as_of: Any = None) -> gpd.GeoDataFrame:
    """One frame of a :class:`cimic_geo.analytics.frontline.FrontChange` for the ``front_change`` layer.

    Columns ``change`` (``gained`` = newly occupied, ``lost`` = liberated), ``area_km2``
    (geodesic, from the analytics), ``since`` and ``as_of`` (DTG).
    """
    parts = []
    for name in ("gained", "lost"):
        gdf = getattr(change, name)
        if gdf is not None and len(gdf):
            part = gdf[["area_km2", gdf.geometry.name]].copy()
            part.insert(0, "change", name)
            parts.append(part.rename_geometry("geometry") if gdf.geometry.name != "geometry" else part)
    if not parts:
        return gpd.GeoDataFrame({"change": [], "area_km2": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"),
                                crs="EPSG:4326")
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    out.insert(0, "id", [f"{c}-{i + 1}" for i, c in enumerate(out["change"])])
    out["since"] = dtg(since) if since is not None else None
    out["as_of"] = dtg(as_of) if as_of is not None else None
    return out


def simplify_for_zoom(gdf: gpd.GeoDataFrame, zoom: float) -> gpd.GeoDataFrame:
    """A display copy of lines/polygons simplified to half a pixel at ``zoom`` (topology kept)."""
    if gdf is None or len(gdf) == 0:
        return gdf
    out = gdf.copy()
    out[out.geometry.name] = shapely.simplify(np.asarray(out.geometry.values), simplify_tolerance(zoom),
                                              preserve_topology=True)
    return out


def features_geojson(key: str, gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """Compact GeoJSON FeatureCollection of a layer frame for the map (properties for the popup).

    Coordinates are rounded to 1e-5 degrees; datetimes become DTGs; points get lat/lon and MGRS.
    """
    if gdf is None or len(gdf) == 0:
        return {"type": "FeatureCollection", "features": []}
    base = key.removesuffix("_grid")
    grid = key.endswith("_grid")
    gdf = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    geoms = _round_geoms(np.asarray(gdf.geometry.values))
    if grid:
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
    else:
        cols = [c for c in ("id", *_SEND_COLUMNS.get(base, ())) if c in gdf.columns]
        if base in _PROVENANCE_LAYERS:
            cols += [c for c in ("valid_from", "valid_to", "window_start", "window_end", "source",
                                 "reported_at", "reliability") if c in gdf.columns]
    records = gdf[cols].to_dict("records")
    is_point = np.asarray(shapely.get_type_id(geoms) == 0)
    feats = []
    for rec, geom, pt in zip(records, geoms, is_point, strict=True):
        p = {k: _clean(v) for k, v in rec.items()}
        if "reported_at" in p:
            p["reported"] = p.pop("reported_at")
        if "window_start" in p or "window_end" in p:
            ws, we = p.pop("window_start", None), p.pop("window_end", None)
            p["window"] = f"{ws or '?'} – {we or '?'}" if (ws or we) else None
        if pt and not grid:
            lon, lat = geom.x, geom.y
            try:
                p["mgrs"] = to_mgrs(lat, lon)
            except Exception:  # outside MGRS coverage (polar): leave it out
                p["mgrs"] = None
        if key == "front_change":
            p["label"] = CHANGE_LABELS.get(str(p.get("change")), p.get("change"))
        p = {k: v for k, v in p.items() if v is not None}
        feats.append({"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": feats}


# ----------------------------------------------------------------------------------------------
# folium elements
# ----------------------------------------------------------------------------------------------


class CimicHelpers(MacroElement):
    """Defines ``window.cimicMap`` (styles, tooltips, popups with textContent) in the map script."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.cimicMap = (function () {
          var S = {{ this.styles_js }};
          function style(f, key) {
            var s = S[key] || {}, p = f.properties || {}, o = Object.assign({}, s.base || {});
            if (s.fill_by && s.fills && s.fills[p[s.fill_by]]) { o.fillColor = s.fills[p[s.fill_by]]; }
            if (s.color_by && s.colors && s.colors[p[s.color_by]]) { o.color = s.colors[p[s.color_by]]; }
            if (s.dash_by && s.dash && s.dash[p[s.dash_by]]) { o.dashArray = s.dash[p[s.dash_by]]; }
            if (s.radius_by === 'n') { o.radius = Math.min(18, 4 + 3.5 * Math.log10((p.n || 1) + 1)); }
            else if (s.radius_by && p[s.radius_by] > 0) {
              o.radius = Math.max(2, Math.min(14, 1.6 * Math.log10(p[s.radius_by] + 1)));
            }
            return o;
          }
          function details(p, key) {
            var s = S[key] || {}, div = document.createElement('div');
            div.className = 'cimic-popup';
            var h = document.createElement('div');
            h.style.fontWeight = 'bold';
            h.textContent = (p.name !== undefined ? p.name : s.title) + '';
            div.appendChild(h);
            var sub = document.createElement('div');
            sub.style.color = '#555';
            sub.textContent = s.title + (p.id !== undefined ? ' · ' + p.id : '');
            div.appendChild(sub);
            var t = document.createElement('table');
            (s.fields || []).forEach(function (fl) {
              var v = p[fl[0]];
              if (v === undefined || v === null || v === '') { return; }
              var tr = t.insertRow(), th = document.createElement('th');
              th.style.textAlign = 'left'; th.style.paddingRight = '6px';
              th.textContent = fl[1]; tr.appendChild(th);
              tr.insertCell().textContent = (typeof v === 'number' ? v.toLocaleString('en') : v + '');
            });
            div.appendChild(t);
            return div;
          }
          var UNITS = {area_km2: ' km²', n: ''};
          function fmt(v, k) {
            if (typeof v === 'number') {
              v = (k === 'area_km2' ? v.toFixed(1) : v.toLocaleString('en'));
            }
            return v + (UNITS[k] || '');
          }
          function tip(p, key) {
            var s = S[key] || {}, parts = [];
            (s.tip || ['name']).forEach(function (k) {
              if (p[k] !== undefined && p[k] !== null && p[k] !== '') { parts.push(fmt(p[k], k)); }
            });
            if (p.n !== undefined) { parts = [fmt(p.n, 'n') + ' × ' + s.title + ' here; zoom in for details']; }
            return parts.join(' · ') || s.title;
          }
          function bind(f, layer, key) {
            var p = f.properties || {};
            if (layer.getLatLng && p.n === undefined) {
              var ll = layer.getLatLng();
              p.lat = Math.round(ll.lat * 1e5) / 1e5; p.lon = Math.round(ll.lng * 1e5) / 1e5;
            }
            layer.bindTooltip(function () {
              var d = document.createElement('span'); d.textContent = tip(p, key); return d;
            }, {sticky: true});
            layer.bindPopup(function () { return details(p, key); }, {maxWidth: 360});
            if (p.n !== undefined && layer.getLatLng) {
              // an aggregate cell: a click also zooms in on it (where its features are drawn)
              layer.on('click', function () {
                var m = layer._map; if (m) { m.setView(layer.getLatLng(), Math.min(m.getZoom() + 2, 18)); }
              });
            }
          }
          function point(f, latlng, key) {
            if ((S[key] || {}).marker === 'pin') { return L.marker(latlng); }
            return L.circleMarker(latlng, style(f, key));
          }
          window.cimicLayers = window.cimicLayers || {};
          return {style: style, bind: bind, point: point, details: details, tip: tip, styles: S};
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "CimicHelpers"
        self.styles_js = _safe_json(STYLES)


class DataLayer(MacroElement):
    """One layer of features as an ``L.geoJson`` added to its parent (a FeatureGroup)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
          pointToLayer: function (f, ll) { return window.cimicMap.point(f, ll, {{ this.key_js }}); },
          style: function (f) { return window.cimicMap.style(f, {{ this.key_js }}); },
          onEachFeature: function (f, l) { window.cimicMap.bind(f, l, {{ this.key_js }}); }
        }).addTo({{ this._parent.get_name() }});
        window.cimicLayers = window.cimicLayers || {};
        window.cimicLayers[{{ this.key_js }}] = {{ this.get_name() }};
        {{ this.get_name() }}.on('remove', function () {
          if (window.cimicLayers[{{ this.key_js }}] === {{ this.get_name() }}) { delete window.cimicLayers[{{ this.key_js }}]; }
        });
        {% endmacro %}
        """
    )

    def __init__(self, key: str, data: Mapping[str, Any] | str) -> None:
        super().__init__()
        if key not in STYLES:
            raise UnknownLayerError(f"no style for layer {key!r}")
        self._name = "CimicDataLayer"
        self.key = key
        self.key_js = _safe_json(key)
        # a str is JSON already made safe by encode_layer (cached by the page)
        self.data_js = data if isinstance(data, str) else _safe_json(data)


class Legend(MacroElement):
    """A legend control (bottom right) built from :data:`STYLES`; all text via textContent."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var items = {{ this.items_js }};
          var legend = L.control({position: 'bottomright'});
          legend.onAdd = function () {
            var div = L.DomUtil.create('div', 'cimic-legend');
            div.style.cssText = 'background:rgba(255,255,255,0.92);padding:6px 8px;font:11px sans-serif;' +
              'max-height:45vh;overflow:auto;border:1px solid #999;border-radius:4px';
            var open = document.createElement('details');
            {% if this.open %}open.open = true;{% endif %}
            var sum = document.createElement('summary'); sum.textContent = 'Legend';
            sum.style.fontWeight = 'bold'; open.appendChild(sum);
            items.forEach(function (sec) {
              var h = document.createElement('div'); h.textContent = sec[0];
              h.style.cssText = 'font-weight:bold;margin-top:4px'; open.appendChild(h);
              sec[1].forEach(function (it) {
                var row = document.createElement('div'), sw = document.createElement('span');
                sw.style.cssText = 'display:inline-block;width:' + (it[2] === 'diamond' ? '9px' : '14px') + ';height:' +
                  (it[2] === 'line' ? '3px' : (it[2] === 'diamond' ? '9px' : '10px')) +
                  ';margin-right:5px;vertical-align:middle;border:1px solid #333;background:' + it[1] +
                  (it[2] === 'dot' ? ';border-radius:50%' : '') +
                  (it[2] === 'diamond' ? ';transform:rotate(45deg);margin-left:2px;margin-right:7px' : '');
                row.appendChild(sw); row.appendChild(document.createTextNode(it[0])); open.appendChild(row);
              });
            });
            div.appendChild(open);
            L.DomEvent.disableClickPropagation(div);
            return div;
          };
          legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, layers: Iterable[str] = LAYER_ORDER, open_: bool = True,
                 extra: Sequence[Sequence[Any]] = ()) -> None:
        super().__init__()
        self._name = "CimicLegend"
        self.open = open_
        # extra sections (e.g. the planner's cut-off settlements) first: visible without scrolling
        self.items_js = _safe_json([list(sec) for sec in extra] + legend_items(layers))


def legend_items(layers: Iterable[str]) -> list[list[Any]]:
    """Legend sections ``[title, [[label, colour, 'dot'|'line'|'area'|'diamond'], ...]]`` for the layers."""
    nice = lambda s: s.replace("_", " ")  # noqa: E731
    out: list[list[Any]] = []
    layers = set(layers)
    if "front_line" in layers:
        out.append(["Front line", [["in force at the as-of time", STYLES["front_line"]["base"]["color"], "line"]]])
    if "occupied_area" in layers:
        out.append(["Occupied area", [["occupied", STYLES["occupied_area"]["base"]["fillColor"], "area"]]])
    if "front_change" in layers:
        out.append(["Front change since the earlier date", [[CHANGE_LABELS[k], CHANGE_COLORS[k], "area"]
                                                             for k in ("gained", "lost")]])
    if "shelters" in layers:
        out.append(["Shelters: fill = status", [[nice(s), SHELTER_STATUS_COLORS[s], "dot"] for s in SHELTER_STATUSES]])
        out.append(["Shelters: ring = kind", [[nice(k), SHELTER_KIND_COLORS[k], "dot"] for k in SHELTER_KINDS]])
    if "infrastructure" in layers:
        out.append(["Damage: fill", [[d, DAMAGE_COLORS[d], "dot"] for d in DAMAGE_LEVELS[1:]]])
        out.append(["Damage: ring = sector", [[s, SECTOR_COLORS[s], "dot"] for s in SECTORS]])
    if "settlements" in layers:
        out.append(["Settlements", [["size by population", STYLES["settlements"]["base"]["fillColor"], "dot"]]])
    if "corridors" in layers:
        out.append(["Corridors", [[s, CORRIDOR_COLORS[s], "line"] for s in CORRIDOR_STATUSES]])
    if "roads" in layers:
        out.append(["Roads", [[s, ROAD_STATUS_COLORS[s], "line"] for s in ROAD_STATUS_COLORS]])
    out.append(["Aggregates", [["circle size = count (zoom in)", "#888888", "dot"]]])
    return out


class MarkingControl(MacroElement):
    """The handling marking (e.g. EXERCISE) as a banner at the top of the map (textContent)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var c = L.control({position: 'topright'});
          c.onAdd = function () {
            var d = L.DomUtil.create('div', 'cimic-marking');
            d.style.cssText = 'background:#ffd200;color:#000;font:bold 13px sans-serif;letter-spacing:0.3em;' +
              'padding:2px 10px;border:1px solid #000';
            d.textContent = {{ this.text_js }};
            return d;
          };
          c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, marking: str) -> None:
        super().__init__()
        self._name = "CimicMarking"
        self.text_js = _safe_json(str(marking).upper())


# ----------------------------------------------------------------------------------------------
# Building maps
# ----------------------------------------------------------------------------------------------


def build_base_map(
    *,
    center: tuple[float, float] = (48.5, 37.5),
    zoom: int = 8,
    bounds: Sequence[float] | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    asset_mode: AssetMode = "served",
    marking: str | None = None,
    legend_layers: Iterable[str] = LAYER_ORDER,
    legend_extra: Sequence[Sequence[Any]] = (),
    height: str | int = "100%",
    zoom_snap: float = 1.0,
) -> folium.Map:
    """An empty offline map: Leaflet only (no CDN), no tiles unless ``tile_url`` is given.

    Parameters
    ----------
    center, zoom : initial view (lat, lon) and zoom, unless ``bounds`` (minlon, minlat, maxlon,
        maxlat) is given, which fits the view to it
    tile_url : an operator-provided tile URL template (e.g. a local tile server); None = no tiles,
        the vector layers are the basemap
    asset_mode : ``served`` (files from the app's static folder) or ``inline`` (embedded)
    marking : handling marking shown on the map (e.g. ``EXERCISE``)
    legend_extra : more legend sections ``[title, [[label, colour, kind], ...]]``, shown before the layers'
    zoom_snap : Leaflet ``zoomSnap``; a fraction (e.g. :data:`~cimic_geo.maps.controls.FIT_ZOOM_SNAP`)
        lets ``bounds`` fill the map instead of rounding the fitted zoom down to a whole level. The
        COP page keeps 1 (its view queries are per whole zoom level).

    The scale bar is metric only (:class:`~cimic_geo.maps.controls.MetricScale`).
    """
    m = folium.Map(location=list(center), zoom_start=int(zoom), tiles=None, prefer_canvas=True,
                   control_scale=False, height=height, min_zoom=3, max_zoom=18,
                   **({"zoom_snap": float(zoom_snap)} if zoom_snap != 1 else {}))
    set_offline_assets(m, asset_mode=asset_mode)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="Basemap tiles", overlay=False,
                         control=False, max_zoom=18).add_to(m)
    add_metric_scale(m)
    CimicHelpers().add_to(m)
    Legend(layers=legend_layers, extra=legend_extra).add_to(m)
    if marking:
        MarkingControl(marking).add_to(m)
    fit_to(m, bounds)
    return m


def build_layer_groups(
    layers: Mapping[str, gpd.GeoDataFrame | str | None],
    *,
    show: Iterable[str] | None = None,
) -> list[folium.FeatureGroup]:
    """One FeatureGroup per layer present in ``layers``, in :data:`LAYER_ORDER` (bottom to top).

    Keys: ``front_line``, ``occupied_area``, ``front_change`` (columns ``change`` gained/lost and
    ``area_km2``), ``settlements``, ``shelters``, ``infrastructure``, ``roads``, ``corridors``,
    ``search``, and the aggregated ``shelters_grid``, ``infrastructure_grid``, ``settlements_grid``
    (from :func:`cimic_geo.store.cop.grid_aggregate`). A value may also be the string from
    :func:`encode_layer` (pre-encoded, e.g. cached by the page). Layers not in ``show`` (default
    :data:`DEFAULT_VISIBLE`) are added hidden (``show=False``).
    """
    visible = set(DEFAULT_VISIBLE if show is None else show)
    groups = []
    order = {k: i for i, k in enumerate(LAYER_ORDER)}
    unknown = [k for k in layers if k.removesuffix("_grid") not in order]
    if unknown:
        raise UnknownLayerError(f"unknown COP layer(s) {unknown}; expected {list(LAYER_ORDER)}")
    for key in sorted(layers, key=lambda k: (order[k.removesuffix("_grid")], k)):
        gdf = layers[key]
        if gdf is None:
            continue
        base = key.removesuffix("_grid")
        fg = folium.FeatureGroup(name=STYLES[key]["title"], show=base in visible)
        DataLayer(key, gdf if isinstance(gdf, str) else encode_layer(key, gdf)).add_to(fg)
        groups.append(fg)
    return groups


def build_cop_map(
    layers: Mapping[str, gpd.GeoDataFrame | None],
    *,
    view: Sequence[float] | None = None,
    center: tuple[float, float] | None = None,
    zoom: int = 8,
    show: Iterable[str] | None = None,
    asset_mode: AssetMode = "served",
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    marking: str | None = None,
    layer_control: bool = True,
    zoom_snap: float = FIT_ZOOM_SNAP,
) -> folium.Map:
    """A complete COP map of the given layers (standalone: layer control, legend, marking).

    Parameters
    ----------
    layers : ``{key: GeoDataFrame}`` in EPSG:4326 (see :func:`build_layer_groups` for the keys)
    view : (minlon, minlat, maxlon, maxlat) to fit; default the extent of the layers
    center, zoom : initial view when neither ``view`` nor any data is given
    show : layers visible on opening (default all but roads)
    asset_mode : ``served`` for the app, ``inline`` for a self-contained HTML file (export)
    tile_url : optional tile URL template (local tile server); default none
    marking : handling marking shown on the map (``EXERCISE`` for scenario data)
    zoom_snap : Leaflet ``zoomSnap`` (fractional by default, so the map opens filled by ``view``)
    """
    bounds = view if view is not None else frames_extent(*layers.values())
    m = build_base_map(center=center or (48.5, 37.5), zoom=zoom, bounds=bounds, tile_url=tile_url,
                       tile_attribution=tile_attribution, asset_mode=asset_mode, marking=marking,
                       legend_layers=[k.removesuffix("_grid") for k in layers], zoom_snap=zoom_snap)
    for fg in build_layer_groups(layers, show=show):
        fg.add_to(m)
    if layer_control:
        folium.LayerControl(collapsed=False).add_to(m)
    return m
