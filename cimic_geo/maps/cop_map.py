"""The common operational picture as a folium map: every layer, offline, escaped, compact.

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
Each layer is one ``L.geoJson`` with compact properties (:mod:`cimic_geo.maps.cop_data`).
Styling, tooltips, popups, the legend and the marking banner are built in the browser by two
static scripts, ``js/cop-layers.js`` and ``js/cop-controls.js``, from the style table of
:mod:`cimic_geo.maps.cop_style`; they are served with the other offline assets
(:func:`cimic_geo.maps.assets.project_script_links`) or inlined in a standalone file.

The templates below are constant source. Data, titles and markings reach them only as variables
already encoded by :func:`~cimic_geo.maps.cop_data.script_json` (JSON with ``<``, ``>``, ``&``
escaped), and the browser writes all text with ``textContent`` (never ``innerHTML``): a name like
``<script>``, ``<img onerror=...>``, ``{{ 7*7 }}`` or ``${7*7}`` is shown literally and never run,
neither in the browser nor on the server (:mod:`cimic_geo.maps.safe_render`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
from branca.element import MacroElement
from jinja2 import Template

from cimic_geo.errors import UnknownLayerError
from cimic_geo.i18n import _, get_language
from cimic_geo.maps.assets import AssetMode, asset_links, project_script_links, set_offline_assets
from cimic_geo.maps.controls import FIT_ZOOM_SNAP, add_metric_scale, fit_to, frames_extent
from cimic_geo.maps.cop_data import (  # noqa: F401  (re-exported: the page, planner and bench use them)
    COORD_DECIMALS,
    contains_bbox,
    degrees_per_pixel,
    encode_layer,
    features_geojson,
    front_change_frame,
    grid_cell_deg,
    query_bbox,
    script_json,
    simplify_for_zoom,
    simplify_tolerance,
    zoom_for_extent,
)
from cimic_geo.maps.cop_style import (  # noqa: F401  (re-exported)
    CHANGE_COLORS,
    CHANGE_LABELS,
    CORRIDOR_COLORS,
    DAMAGE_COLORS,
    DEFAULT_VISIBLE,
    LAYER_ORDER,
    ROAD_STATUS_COLORS,
    SECTOR_COLORS,
    SHELTER_KIND_COLORS,
    SHELTER_STATUS_COLORS,
    STYLES,
    legend_items,
    localized_styles,
)

# ----------------------------------------------------------------------------------------------
# folium elements (constant templates; the behaviour is in js/cop-layers.js and js/cop-controls.js)
# ----------------------------------------------------------------------------------------------


def ui_text() -> dict[str, str]:
    """Interface text of the map's script (``js/cop-layers.js``) in the current language, and the
    locale its numbers are formatted in (passed as data: the script holds no visible text)."""
    return {"aggregate": _("{n} × {title} here; zoom in for details"),
            "locale": "uk-UA" if get_language() == "uk" else "en"}


class CimicHelpers(MacroElement):
    """Defines ``window.cimicMap`` (styles, tooltips, popups, layers) from :data:`STYLES`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.cimicMap = window.cimicCop.helpers({{ this.styles_js }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "CimicHelpers"
        # place names in the interface's language (Ukrainian names where the data has them)
        styles = localized_styles()
        labels = {**styles["labels"], "name_field": "name_uk" if get_language() == "uk" else "name"}
        self.styles_js = script_json({**styles, "labels": labels, "_ui": ui_text()})


#: One escape of JSON text: ``\\`` and the next character, or ``\\uXXXX``.
_JSON_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)", re.DOTALL)
#: Escapes :func:`script_json` writes for characters a script must not hold raw: kept as they are in the
#: literal (the browser reads each back as the character, which JSON allows raw inside a string).
_SCRIPT_ESCAPES = frozenset({"\\u003c", "\\u003e", "\\u0026", "\\u2028", "\\u2029"})


def string_text(json_text: str) -> str:
    """The body of a single-quoted JavaScript string literal whose value is ``json_text``.

    ``json_text`` is JSON from :func:`script_json` (``<``, ``>``, ``&`` escaped, no raw line breaks): each
    of its escapes gets its backslash doubled, except those of ``<``, ``>``, ``&`` and the line separators
    (the value then holds the character raw, which JSON allows inside a string), and quotes ``'`` are
    escaped. The literal holds no ``<``, ``>`` or ``&``, so it cannot end a script either. The browser
    parses the value with ``JSON.parse``: data never runs as code. (A string literal is scanned several
    times faster than a template literal, and far faster than the same data as an object literal.)
    """
    text = _JSON_ESCAPE.sub(lambda m: m.group(0) if m.group(0) in _SCRIPT_ESCAPES else m.group(0).replace("\\", "\\\\"),
                            json_text) if "\\" in json_text else json_text
    return text.replace("'", "\\'") if "'" in text else text


class DataLayer(MacroElement):
    """One layer of features as an ``L.geoJson`` added to its parent (a FeatureGroup); its data reaches
    the browser as a string (:func:`string_text`) that the browser parses with ``JSON.parse``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = window.cimicMap.layer({{ this.key_js }}, '{{ this.text_js }}',
          {{ this.digest_js }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, data: Mapping[str, Any] | str) -> None:
        super().__init__()
        if key not in STYLES:
            raise UnknownLayerError(f"no style for layer {key!r}")
        self._name = "CimicDataLayer"
        self.key = key
        self.key_js = script_json(key)
        # a str is JSON already made safe by encode_layer (cached by the page)
        self.data_js = data if isinstance(data, str) else script_json(data)
        # the browser keeps the layer built from the same data (a rerun re-sends every layer)
        self.digest_js = script_json(hashlib.blake2b(self.data_js.encode("utf-8"), digest_size=12).hexdigest())
        self.text_js = string_text(self.data_js)  # what the script holds: a string the browser parses


class Legend(MacroElement):
    """A collapsible legend control built from :data:`STYLES`; all text via textContent.

    Bottom left and collapsed by default: the front line runs along the east of the theatre, and
    an open legend must not hide it.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.cimicCop.legend({{ this._parent.get_name() }}, {{ this.items_js }}, {{ this.open_js }}, null,
                               {{ this.title_js }});
        {% endmacro %}
        """
    )

    def __init__(self, *, layers: Iterable[str] = LAYER_ORDER, open_: bool = False,
                 extra: Sequence[Sequence[Any]] = ()) -> None:
        super().__init__()
        self._name = "CimicLegend"
        self.open_js = script_json(bool(open_))
        self.title_js = script_json(_("Legend"))
        # extra sections (e.g. the planner's cut-off settlements) first: visible without scrolling
        self.items_js = script_json([list(sec) for sec in extra] + legend_items(layers))


class SymbolSwitch(MacroElement):
    """A map checkbox drawing shelters and infrastructure as APP-6 symbols (milsymbol) or shapes.

    ``src``: the URL milsymbol is loaded from when the box is first checked (the map opens without it);
    None when the page loads milsymbol itself (a standalone file has it inlined).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.cimicCop.symbolSwitch({{ this._parent.get_name() }}, window.cimicMap, {{ this.text_js }},
                                     {{ this.src_js }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str | None = None, *, src: str | None = None) -> None:
        super().__init__()
        self._name = "CimicSymbolSwitch"
        self.text_js = script_json(str(text if text is not None else _("APP-6 symbols")))
        self.src_js = script_json(src)


class MarkingControl(MacroElement):
    """The handling marking (e.g. EXERCISE) as a banner at the top of the map (textContent)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.cimicCop.marking({{ this._parent.get_name() }}, {{ this.text_js }});
        {% endmacro %}
        """
    )

    def __init__(self, marking: str) -> None:
        super().__init__()
        self._name = "CimicMarking"
        self.text_js = script_json(str(marking).upper())


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
    # milsymbol (200 KB) only when the APP-6 switch is first checked: served maps load it then; a standalone
    # file has it inlined (nothing to fetch)
    symbols = asset_links("milsymbol", asset_mode=asset_mode)[0]
    m.default_js = [*m.default_js, *(symbols if asset_mode == "inline" else ()),
                    *project_script_links(asset_mode=asset_mode)]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="Basemap tiles", overlay=False,
                         control=False, max_zoom=18).add_to(m)
    add_metric_scale(m)
    CimicHelpers().add_to(m)
    Legend(layers=legend_layers, extra=legend_extra).add_to(m)
    SymbolSwitch(src=None if asset_mode == "inline" else symbols[0][1]).add_to(m)
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

    Keys: ``basemap``, ``major_roads``, ``labels`` (:func:`cimic_geo.maps.cop_view.basemap_layers`),
    ``front_line``, ``occupied_area``, ``front_change`` (columns ``change`` gained/lost and
    ``area_km2``), ``settlements``, ``shelters``, ``infrastructure``, ``roads``, ``corridors``,
    ``search``, and the aggregated ``shelters_grid``, ``infrastructure_grid``, ``settlements_grid``
    (from :func:`cimic_geo.store.cop_reads.grid_aggregate`). A value may also be the string from
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
        title = STYLES[key]["title"]
        fg = folium.FeatureGroup(name=_(title), show=base in visible)
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
