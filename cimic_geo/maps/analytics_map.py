"""Map of the exposure/coverage page: settlements coloured by threat band or by shelter
coverage, shelters, the front line, the occupied area and the what-if shifted front.

Offline: Leaflet from the app's static folder (:func:`cimic_geo.maps.assets.set_offline_assets`),
no tiles unless an operator tile URL is given. Text from data never becomes HTML: the point layers'
tooltip values go as escaped JSON and are written with ``textContent`` (:class:`PointLayer`), legend
and marking are escaped by their constant templates (``|e``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from cimic_geo.analytics.bands import BEYOND, OCCUPIED, UNKNOWN
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import N_, _, fmt_int
from cimic_geo.maps.assets import AssetMode, preload_first, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale, fit_to, frames_extent
from cimic_geo.maps.cop_data import script_json

BAND_COLOURS = ("#d62728", "#ff7f0e", "#e6b800", "#9467bd", "#8c564b")  # nearest band first
OTHER_COLOURS = {BEYOND: "#2ca02c", OCCUPIED: "#4d4d4d", UNKNOWN: "#bbbbbb"}
COVERAGE_COLOURS = ((N_("covered (90 % or more)"), "#1a9850"), (N_("partly (50-90 %)"), "#fdae61"),
                    (N_("mostly unserved (under 50 %)"), "#d73027"), (N_("no shelter in reach"), "#67001f"))
MAX_POINTS = 4000
Mode = Literal["band", "coverage"]


def band_colour_map(labels: list[str]) -> dict[str, str]:
    """Colour per band label (nearest band first), plus beyond/occupied/unknown."""
    out = {lab: BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)] for i, lab in enumerate(labels)}
    return {**out, **OTHER_COLOURS}


def coverage_colour(pct: float, in_reach: int) -> str:
    if not in_reach:
        return COVERAGE_COLOURS[3][1]
    if pct >= 90:
        return COVERAGE_COLOURS[0][1]
    if pct >= 50:
        return COVERAGE_COLOURS[1][1]
    return COVERAGE_COLOURS[2][1]


class AnalyticsLegend(MacroElement):
    """A legend box as on the COP: bottom left (the front runs east), collapsed under a "Legend"
    summary; constant template, title and labels as escaped variables. Items are ``(label,
    colour)`` or ``(label, colour, shape)`` with a shape of :data:`SWATCH_CSS` (default ``dot``)."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div class="cimic-analytics-legend" style="position:absolute;bottom:36px;left:10px;z-index:1000;
          background:rgba(255,255,255,0.92);padding:6px 8px;border:1px solid #999;border-radius:4px;
          font:12px sans-serif;max-height:45vh;overflow:auto">
          <details{% if this.open %} open{% endif %}><summary style="font-weight:bold">{{ this.summary|e }}</summary>
          <b>{{ this.title|e }}</b>
          {% for label, colour, css in this.items %}<div><span style="display:inline-block;width:11px;height:11px;
            margin:0 7px 0 1px;border:1px solid #333;background:{{ colour|e }};{{ css|e }}"></span>{{ label|e }}</div>
          {% endfor %}
          </details>
        </div>
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: list[tuple[str, ...]], *, open_: bool = False) -> None:
        super().__init__()
        from cimic_geo.i18n import _

        self._name = "CimicAnalyticsLegend"
        self.title = str(title)
        self.summary = _("Legend")
        self.open = bool(open_)
        self.items = [(str(it[0]), str(it[1]), SWATCH_CSS[it[2] if len(it) > 2 else "dot"]) for it in items]


#: CSS of each legend swatch shape (constants).
SWATCH_CSS = {"dot": "border-radius:6px", "square": "border-radius:0", "diamond": "transform:rotate(45deg) scale(0.85)",
              "line": "height:3px;border:none"}


class MarkingBanner(MacroElement):
    """The handling marking (e.g. EXERCISE) across the top of the map (escaped variable)."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div class="cimic-marking" style="position:absolute;top:8px;left:50%;transform:translateX(-50%);
          z-index:1000;background:#ffd200;color:#000;font:bold 12px sans-serif;padding:2px 10px;
          border:1px solid #000">{{ this.text|e }}</div>
        {% endmacro %}
        """
    )

    def __init__(self, marking: str) -> None:
        super().__init__()
        self._name = "CimicMarkingBanner"
        self.text = str(marking).upper()


def _text(v: Any) -> str:
    """A tooltip value as text (written with ``textContent`` in the browser: never parsed as HTML)."""
    if v is None or (not isinstance(v, str) and not isinstance(v, (list, tuple)) and pd.isna(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.1f}"
    return str(v)[:200]


class PointLayer(MacroElement):
    """Circle markers of one point layer, added to the parent group when the group is first shown.

    The data goes as columns (coordinates, radius, colour index into a palette, one text column per
    tooltip field; JSON with ``<``, ``>`` and ``&`` escaped), and the markers are drawn on the map's
    canvas. One tooltip is bound on the group: a table of field aliases and values, built on hover with
    ``textContent`` (data is never parsed as HTML). A hidden group (the shelters) builds its markers
    only when the user shows it. Constant template: the data reaches it as escaped JSON variables.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group, d) {
          group._cimicData = d;
          var built = false;
          function build() {
            if (built) { return; }
            built = true;
            for (var i = 0; i < d.lon.length; i++) {
              if (d.lon[i] === null || d.lat[i] === null) { continue; }
              var mk = L.circleMarker([d.lat[i], d.lon[i]], {radius: d.r[i], color: '#222222', weight: 1,
                fill: true, fillColor: d.palette[d.c[i]], fillOpacity: 0.85});
              mk.cimicRow = i;
              group.addLayer(mk);
            }
          }
          group.on('add', build);
          group.bindTooltip(function (layer) {
            var div = document.createElement('div'), table = document.createElement('table');
            d.fields.forEach(function (f, j) {
              var tr = table.insertRow(), th = document.createElement('th');
              th.textContent = d.aliases[j];
              tr.appendChild(th);
              tr.insertCell().textContent = d.values[j][layer.cimicRow];
            });
            div.appendChild(table);
            return div;
          }, {sticky: true, className: 'foliumtooltip'});
        })({{ this._parent.get_name() }}, {{ this.data_js }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self._name = "CimicPointLayer"
        self.data_js = script_json(data)


def _points(gdf: gpd.GeoDataFrame, fields: list[str], aliases: list[str], colour: np.ndarray, radius: np.ndarray,
            name: str, *, show: bool = True) -> folium.FeatureGroup:
    """One circle marker per row at its representative point, styled by ``colour`` and ``radius``
    (see :class:`PointLayer`); rows without geometry are left out."""
    fg = folium.FeatureGroup(name=name, show=show)
    if not len(gdf):
        return fg
    keep = [f for f in fields if f in gdf.columns]
    pts = gdf.geometry.representative_point().values
    xs, ys = shapely.get_x(pts), shapely.get_y(pts)  # NaN where a row has no geometry
    palette, index = np.unique(np.asarray(colour, dtype=str), return_inverse=True)
    data = {
        "lon": [None if x != x else x for x in xs.tolist()],
        "lat": [None if y != y else y for y in ys.tolist()],
        "r": np.round(np.asarray(radius, dtype=float), 2).tolist(),
        "c": index.tolist(), "palette": palette.tolist(),
        "fields": keep, "aliases": [a for f, a in zip(fields, aliases, strict=True) if f in gdf.columns],
        "values": [[_text(v) for v in gdf[f].to_numpy(dtype=object)] for f in keep],
    }
    PointLayer(data).add_to(fg)
    return fg


def analytics_extent(
    settlements: gpd.GeoDataFrame | None,
    *,
    front_line: gpd.GeoDataFrame | None = None,
    occupied_area: gpd.GeoDataFrame | None = None,
) -> tuple[float, float, float, float] | None:
    """The extent the analytics map opens fitted to (settlements, occupied area, front line)."""
    return frames_extent(settlements, occupied_area, front_line)


def build_analytics_map(
    *,
    settlements: gpd.GeoDataFrame,
    front_line: gpd.GeoDataFrame | None = None,
    occupied_area: gpd.GeoDataFrame | None = None,
    shifted_occupied: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    shelters: gpd.GeoDataFrame | None = None,
    mode: Mode = "band",
    band_labels: list[str] | None = None,
    band_column: str = "band",
    marking: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "local tiles",
    asset_mode: AssetMode = "served",
    height: int | str = 600,
    max_points: int = MAX_POINTS,
) -> folium.Map:
    """The page's map.

    Parameters
    ----------
    settlements : with a ``band_column`` (``mode="band"``) or the coverage columns ``covered_pct``,
        ``covered``, ``unserved``, ``shelters_in_reach`` (``mode="coverage"``)
    front_line, occupied_area : in force; ``shifted_occupied`` the what-if occupied area (dashed)
    shelters : drawn small, blue with spare places, purple when full (coverage columns optional)
    max_points : draw at most this many settlements (largest population first) for responsiveness

    The map opens fitted to :func:`analytics_extent` (fractional zoom) with a metric scale bar. Served, its
    first script asks for all its files at once (:func:`~cimic_geo.maps.assets.preload_first`).
    """
    if mode not in ("band", "coverage"):
        raise AnalysisError(f"mode must be 'band' or 'coverage', got {mode!r}")
    bounds = analytics_extent(settlements, front_line=front_line, occupied_area=occupied_area)
    m = folium.Map(location=[48.5, 35.0], zoom_start=7, tiles=None, control_scale=False, prefer_canvas=True,
                   height=height, zoom_snap=FIT_ZOOM_SNAP)
    set_offline_assets(m, asset_mode=asset_mode)
    add_metric_scale(m)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="Basemap tiles", overlay=False,
                         control=False).add_to(m)
    if occupied_area is not None and len(occupied_area):
        folium.GeoJson(occupied_area[["geometry"]].__geo_interface__, name=_("Occupied area"),
                       style_function=lambda _f: {"color": "#555555", "weight": 1, "fillColor": "#555555",
                                                  "fillOpacity": 0.25}).add_to(m)
    if shifted_occupied is not None and len(shifted_occupied):
        geo = gpd.GeoDataFrame(geometry=gpd.GeoSeries(shifted_occupied.geometry if hasattr(shifted_occupied, "geometry")
                                                      else shifted_occupied).values, crs="EPSG:4326")
        folium.GeoJson(geo.__geo_interface__, name=_("What-if occupied area"),
                       style_function=lambda _f: {"color": "#b30000", "weight": 2, "dashArray": "6 4",
                                                  "fill": False}).add_to(m)
    if front_line is not None and len(front_line):
        folium.GeoJson(front_line[["geometry"]].__geo_interface__, name=_("Front line"),
                       style_function=lambda _f: {"color": "#d40000", "weight": 3}).add_to(m)
    sets = settlements
    note = ""
    if len(sets) > max_points:
        sets = sets.sort_values("population", ascending=False).head(max_points)
        note = _(" (largest {n} of {total})").format(n=fmt_int(max_points), total=fmt_int(len(settlements)))
    pop = pd.to_numeric(sets.get("population", pd.Series(0, index=sets.index)), errors="coerce").fillna(0)
    radius = np.clip(np.sqrt(pop.to_numpy(dtype=float)) / 40.0, 3, 18)
    if mode == "band":
        labels = band_labels or sorted(set(sets[band_column]) - set(OTHER_COLOURS))
        colours = band_colour_map(list(labels))
        colour = np.array([colours.get(b, OTHER_COLOURS[UNKNOWN]) for b in sets[band_column]])
        fields = ["name", "id", "population", band_column, "distance_km"]
        aliases = [_("Settlement"), "ID", _("Population"), _("Band"), _("km to front")]
        legend = AnalyticsLegend(_("Threat band (km from the front line)"),
                         [(_("{band} km").format(band=lab), colours[lab]) for lab in labels]
                         + [(_("beyond"), OTHER_COLOURS[BEYOND]), (_("occupied side"), OTHER_COLOURS[OCCUPIED])])
        title = _("Settlements by threat band")
    else:
        colour = np.array([coverage_colour(p, r) for p, r in zip(sets["covered_pct"], sets["shelters_in_reach"],
                                                                strict=True)])
        fields = ["name", "id", "population", "covered", "unserved", "covered_pct", "nearest_shelter"]
        aliases = [_("Settlement"), "ID", _("Population"), _("Covered"), _("Unserved"), _("Covered %"),
                   _("Nearest shelter")]
        legend = AnalyticsLegend(_("Shelter coverage"), [(_(label), c) for label, c in COVERAGE_COLOURS])
        title = _("Settlements by shelter coverage")
    if shelters is not None and len(shelters):
        sh = shelters.head(max_points * 2)
        spare = sh["spare"].to_numpy() if "spare" in sh.columns else np.ones(len(sh))
        col = np.where(spare > 0, "#1f77b4", "#7b3294")
        _points(sh, ["name", "id", "status", "capacity", "assigned", "spare"],
                [_("Shelter"), "ID", _("Status"), _("Capacity"), _("Assigned"), _("Spare")], col,
                np.full(len(sh), 3.0), _("Shelters"), show=False).add_to(m)
    _points(sets, fields, aliases, colour, radius, title + note).add_to(m)
    finish(m, legend, marking=marking, bounds=bounds)
    return preload_first(m) if asset_mode == "served" else m


def finish(m: folium.Map, legend: AnalyticsLegend, *, marking: str | None,
           bounds: Sequence[float] | None) -> folium.Map:
    """Add the legend, the marking banner (when given) and the layer control; open on ``bounds``."""
    legend.add_to(m)
    if marking:
        MarkingBanner(marking).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    fit_to(m, bounds)
    return m
