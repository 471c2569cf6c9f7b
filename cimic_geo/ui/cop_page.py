"""COP page plumbing: cached store reads, the map view state and the st_folium call.

The map is drawn in two parts so panning stays cheap at national scale:

* the **base map** (Leaflet, legend, marking, optional tiles) depends only on the store's extent,
  so its script never changes and streamlit-folium keeps the same Leaflet map mounted;
* the **data layers** are streamlit-folium ``feature_group_to_add`` groups for the bbox of the
  view (grown by a quarter of the view and snapped to a tile grid). A pan inside the bbox already fetched
  reuses it, so the browser keeps what it drew; a pan outside it or a zoom change fetches the new
  bbox, each layer's part cached on its own in the app's memory budget (:mod:`cimic_geo.ui.cop_parts`).

Only ``bounds``, ``zoom`` and ``last_object_clicked`` come back from the map
(``returned_objects``), so hovering or opening a popup never reruns the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from cimic_geo.analytics.kpi_strip import KpiStrip, compact
from cimic_geo.errors import AssetError
from cimic_geo.i18n import _, fmt_int, fmt_number, get_language
from cimic_geo.maps.assets import check_assets, preload_first
from cimic_geo.maps.cop_map import (
    LAYER_ORDER,
    STYLES,
    build_base_map,
    build_layer_groups,
    contains_bbox,
    query_bbox,
    zoom_for_extent,
)
from cimic_geo.maps.cop_view import nearest_feature, search_settlements
from cimic_geo.store import Store
from cimic_geo.store.cop_reads import layers_as_of
from cimic_geo.timefmt import dtg
from cimic_geo.ui.common import key as _key
from cimic_geo.ui.common import plain, settings
from cimic_geo.ui.cop_parts import (  # noqa: F401  (re-exported: the page and the tests use them here)
    TIMELESS_LAYERS,
    WHOLE_LAYERS,
    ViewPart,
    encoded_view,
    front_change_layer,
    part_key,
    view_layers,
    view_parts,
)
from cimic_geo.ui.folium_data import data_last
from cimic_geo.ui.kpi_bases import view_strip
from cimic_geo.ui.tables import column_label, display_frame

PAGE = "cop"
MAP_KEY = _key(PAGE, "map")
MAP_HEIGHT = 640
#: Layers the user can toggle (key, label); the search marker is always shown when there is one.
TOGGLES = tuple((k, STYLES[k]["title"]) for k in LAYER_ORDER if k != "search")


def k(name: str) -> str:
    """Session-state / widget key private to this page."""
    return _key(PAGE, name)


# ----------------------------------------------------------------------------------------------
# Cached reads (keyed by ui.common.data_token; the Store argument is not hashed)
# ----------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def history_times(_store: Store, token: str) -> list[pd.Timestamp]:
    """Distinct times of the front-line history (occupied-area times when there is no front line)."""
    times = _store.history_times("front_line")
    return times or _store.history_times("occupied_area")


@st.cache_data(show_spinner=False, max_entries=4)
def extent(_store: Store, token: str) -> tuple[float, float, float, float] | None:
    return _store.bbox()


@dataclass
class CopKpis(KpiStrip):
    """The KPI strip and the time its settlements, shelters and damage were read at (None = current)."""

    layers_as_of: pd.Timestamp | None = None


def kpis(_store: Store, token: str, as_of: datetime | None, bands_km: tuple[float, ...],
         bbox: tuple[float, float, float, float] | None = None) -> CopKpis:
    """The KPI strip for ``bbox`` (whole store when None) at ``as_of`` (front line in force then;
    settlements, shelters and damage as they were then, current at the newest snapshot).

    Cached per (store content, time, bands, bbox, language: its notes are sentences); pass
    :func:`kpi_bbox` of the view so that small pans and reruns with the same view reuse the result.
    """
    return _kpis(_store=_store, token=token, as_of=as_of, bands_km=bands_km, bbox=bbox, language=get_language())


@st.cache_data(show_spinner=False, max_entries=32)
def _kpis(_store: Store, token: str, as_of: datetime | None, bands_km: tuple[float, ...],
          bbox: tuple[float, float, float, float] | None, language: str) -> CopKpis:
    # cut from the time's base kept in memory when there is one (a zoom or pan reads and bands nothing)
    strip = view_strip(_store, token=token, as_of=as_of, bands_km=bands_km, bbox=bbox, language=language)
    return CopKpis(**{f.name: getattr(strip, f.name) for f in fields(strip)},
                   layers_as_of=layers_as_of(_store, as_of))


def kpi_bbox(bounds: tuple[float, float, float, float],
             store_extent: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """The extent the KPIs summarise for the map's ``bounds``: None (whole store) when the view holds
    the whole store, else the bounds rounded outward to about 1 % of the view's size (a cache key
    that small pans share; the caption names this rounded box)."""
    if contains_bbox(bounds, store_extent):
        return None
    x0, y0, x1, y1 = bounds
    step = 10.0 ** math.floor(math.log10(max(x1 - x0, y1 - y0, 1e-4) / 100))
    out = (math.floor(x0 / step) * step, math.floor(y0 / step) * step,
           math.ceil(x1 / step) * step, math.ceil(y1 / step) * step)
    digits = max(0, -math.floor(math.log10(step)))
    return tuple(round(v, digits) for v in out)  # type: ignore[return-value]


@st.cache_data(show_spinner=False, max_entries=64)
def cached_search(_store: Store, token: str, text: str) -> pd.DataFrame:
    return search_settlements(_store, text)


# ----------------------------------------------------------------------------------------------
# View state
# ----------------------------------------------------------------------------------------------


@dataclass
class View:
    """The map view the page draws for: bbox fetched, zoom, initial centre."""

    bounds: tuple[float, float, float, float]
    zoom: int
    fetch_bbox: tuple[float, float, float, float]


def _bounds_from_state(state: dict[str, Any] | None) -> tuple[tuple[float, float, float, float], int] | None:
    if not state:
        return None
    b, z = state.get("bounds"), state.get("zoom")
    try:
        sw, ne = b["_southWest"], b["_northEast"]
        bounds = (float(sw["lng"]), float(sw["lat"]), float(ne["lng"]), float(ne["lat"]))
    except (TypeError, KeyError, ValueError):
        return None
    if not all(math.isfinite(v) for v in bounds) or bounds[0] >= bounds[2] or bounds[1] >= bounds[3] or z is None:
        return None
    return bounds, int(z)


def clip_to(bounds: tuple[float, float, float, float],
            store_extent: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The part of ``bounds`` inside ``store_extent`` (the extent itself when they do not overlap: no data to read
    outside it either way)."""
    x0, y0 = max(bounds[0], store_extent[0]), max(bounds[1], store_extent[1])
    x1, y1 = min(bounds[2], store_extent[2]), min(bounds[3], store_extent[3])
    return (x0, y0, x1, y1) if x0 <= x1 and y0 <= y1 else store_extent


def current_view(store_extent: tuple[float, float, float, float]) -> View:
    """The view to fetch: from the map's last reported bounds/zoom, else the store's extent.

    Reuses the last fetched bbox while the view's part inside the store's extent (every layer's data lies in it)
    stays inside it at the same zoom: the map's first view, wider than the store, reads nothing again.
    """
    reported = _bounds_from_state(st.session_state.get(MAP_KEY))
    if reported is None:
        bounds, zoom = store_extent, zoom_for_extent(store_extent)
    else:
        bounds, zoom = reported
    last = st.session_state.get(k("fetched"))
    if last and last[1] == zoom and contains_bbox(last[0], clip_to(bounds, store_extent)):
        return View(bounds, zoom, tuple(last[0]))
    fetch = query_bbox(bounds, zoom)
    st.session_state[k("fetched")] = (fetch, zoom)
    return View(bounds, zoom, fetch)


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------


def assets_ok() -> bool:
    """Show an error with install instructions when the offline map assets are missing."""
    try:
        check_assets()
    except AssetError as exc:
        st.error(_("The map cannot be drawn: {reason}").format(reason=plain(exc)))
        st.code("make assets\n# or: npm ci --no-audit --no-fund && .venv/bin/python -m cimic_geo.maps.assets install")
        return False
    return True


def base_map(store_extent: tuple[float, float, float, float], marking: str | None) -> folium.Map:
    """The base map for the store extent (constant for a store, so the component stays mounted); its
    first script asks for all the others at once (:func:`~cimic_geo.maps.assets.preload_first`)."""
    cfg = settings()
    x0, y0, x1, y1 = store_extent
    return preload_first(build_base_map(center=((y0 + y1) / 2, (x0 + x1) / 2), zoom=zoom_for_extent(store_extent),
                                        tile_url=cfg.tile_url, tile_attribution=cfg.tile_attribution,
                                        marking=marking))


def render_map(
    *,
    store_extent: tuple[float, float, float, float],
    encoded: dict[str, str],
    visible: set[str],
    marking: str | None,
    center: tuple[float, float] | None = None,
    zoom: int | None = None,
) -> dict[str, Any]:
    """Draw the map with the given encoded layers; return what st_folium reports."""
    m = base_map(store_extent, marking)
    groups = build_layer_groups(encoded, show=visible | {"search"})
    with data_last(groups):  # the same component script, without st_folium's text passes over the data
        result = st_folium(
            m,
            key=MAP_KEY,
            height=MAP_HEIGHT,
            use_container_width=True,
            feature_group_to_add=groups or None,
            returned_objects=["bounds", "zoom", "last_object_clicked"],
            center=center,
            zoom=zoom,
        ) or {}
    # the latest value the map reported (set by st_folium's on_change before this rerun)
    return {**result, **(st.session_state.get(MAP_KEY) or {})}


def _corner(lat: float, lon: float) -> str:
    from cimic_geo.geo import to_mgrs

    try:
        grid = to_mgrs(lat, lon, precision=2)  # 1 km: the corner of a view, not a position
    except Exception:  # outside MGRS coverage
        return f"{lat:.2f}° N {lon:.2f}° E"
    return f"{lat:.2f}° N {lon:.2f}° E (MGRS {grid})"


def kpi_caption(bbox: tuple[float, float, float, float] | None, as_of: pd.Timestamp | None, *,
                layers_current: bool = True) -> str:
    """What the KPI strip summarises: the extent (view corners or the whole store) and the times
    (``layers_current``: settlements, shelters and damage are their current state, else as of ``as_of``)."""
    if bbox is None:
        where = _("KPIs for the whole store")
    else:
        x0, y0, x1, y1 = bbox
        where = _("KPIs in view: SW {sw} – NE {ne}").format(sw=_corner(y0, x0), ne=_corner(y1, x1))
    if as_of is None:
        when = _("settlements, shelters, damage, corridors and front line: current state")
    elif layers_current:
        when = _("settlements, shelters, damage and corridors: current state; front line and threat bands: "
                 "as of {time}").format(time=fmt_time(as_of))
    else:
        when = _("settlements, shelters, damage, corridors, front line and threat bands: as of {time}").format(
            time=fmt_time(as_of))
    return f"{where} · {when}"


def kpi_strip_ui(strip: KpiStrip, *, bands_km: tuple[float, ...], as_of: pd.Timestamp | None = None) -> None:
    """The KPI strip: population per threat band, shelters, damage by sector, corridors."""
    st.caption(kpi_caption(strip.bbox, as_of if as_of is not None else strip.as_of,
                           layers_current=getattr(strip, "layers_as_of", None) is None))
    cols = st.columns(max(len(strip.bands.index), 1))
    if len(strip.bands):
        for col, (label, row) in zip(cols, strip.bands.iterrows(), strict=False):
            name = {"beyond": "> " + _("{band} km").format(band=fmt_number(bands_km[-1])),
                    "occupied": _("occupied side")}.get(str(label), _("{band} km").format(band=label))
            col.metric(_("Population {band}").format(band=name), compact(int(row["population"])),
                       help=_("{people} people in {settlements} settlements").format(
                           people=fmt_int(row["population"]), settlements=fmt_int(row["settlements"])))
    else:
        cols[0].info("; ".join(strip.notes) or _("no front line"))
    sh = strip.shelters
    # one number per tile, short enough not to be cut off; the exact figures are in the help
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_("Shelters open"), compact(sh.by_status["open"]),
              help=_("{n} shelters open").format(n=f"{sh.by_status['open']:,}"))
    c2.metric(_("Shelters full"), compact(sh.by_status["full"]),
              help=_("{full} full; closed {closed}, damaged {damaged}").format(
                  full=f"{sh.by_status['full']:,}", closed=f"{sh.by_status['closed']:,}",
                  damaged=f"{sh.by_status['damaged']:,}"))
    c3.metric(_("Shelter places used (%)"), "–" if sh.capacity_used is None else f"{sh.capacity_used:.0%}",
              help=_("{used} of {capacity} places in open and full shelters are taken").format(
                  used=f"{sh.occupancy:,}", capacity=f"{sh.capacity:,}"))
    c4.metric(_("Shelter places (open and full)"), compact(sh.capacity),
              help=_("{capacity} places in open and full shelters").format(capacity=f"{sh.capacity:,}"))
    d1, d2 = st.columns([3, 2])
    # sectors as rows: the four damage columns always fit (sectors as columns were cut off)
    dmg = strip.damage.loc[strip.damage["total"] > 0]
    d1.caption(_("Damaged objects by sector (number of objects)"))
    # static tables, not grids: a few rows each, redrawn at every step of the slider
    d1.table(display_frame(dmg, index_values=True))
    d2.caption(_("Corridors by status (number of corridors)"))
    d2.table(display_frame(pd.DataFrame({_("corridors"): strip.corridors}), index_values=True))


def details_ui(clicked: dict[str, Any] | None, layers_for_pick: dict[str, gpd.GeoDataFrame] | None) -> None:
    """Coordinates of the last click (lat/lon, MGRS) and the nearest drawn feature's attributes."""
    from cimic_geo.geo import to_mgrs

    if not clicked:
        st.caption(_("Click a feature for its attributes, provenance and DTG (popup), and here for coordinates."))
        return
    lat, lon = float(clicked["lat"]), float(clicked["lng"])
    try:
        grid = to_mgrs(lat, lon)
    except Exception:  # outside MGRS coverage
        grid = "–"
    st.markdown(_("**Clicked:** {lat}° N, {lon}° E · **MGRS** `{grid}`").format(lat=f"{lat:.5f}", lon=f"{lon:.5f}",
                                                                              grid=grid))
    if layers_for_pick:
        hit = nearest_feature(layers_for_pick, lat=lat, lon=lon)
        if hit is not None:
            # attribute names are column names: shown like the headers of the other tables
            st.dataframe(display_frame(hit.assign(attribute=hit["attribute"].map(column_label))), width="stretch",
                         hide_index=True)


def default_since(earlier: list[pd.Timestamp], as_of: pd.Timestamp, *, days: int = 7) -> pd.Timestamp:
    """The default comparison time: the latest snapshot at least ``days`` before ``as_of``."""
    target = as_of - pd.Timedelta(days=days)
    older = [t for t in earlier if t <= target]
    return older[-1] if older else earlier[0]


def change_summary_ui(change: gpd.GeoDataFrame | None, *, since: pd.Timestamp | None,
                      as_of: pd.Timestamp | None) -> None:
    """Total newly occupied and liberated ground (geodesic km²) between the two times."""
    if change is None or since is None or as_of is None:
        return
    gained = float(change.loc[change["change"] == "gained", "area_km2"].sum())
    lost = float(change.loc[change["change"] == "lost", "area_km2"].sum())
    st.markdown(_("**Front change {since} → {as_of}:** newly occupied {gained} km², liberated {lost} km² (net {net} "
                  "km² occupied; geodesic areas)").format(since=dtg(since), as_of=dtg(as_of),
                                                         gained=fmt_number(gained, digits=1),
                                                         lost=fmt_number(lost, digits=1),
                                                         net=("+" if gained >= lost else "")
                                                         + fmt_number(gained - lost, digits=1)))


def fmt_time(t: pd.Timestamp) -> str:
    return f"{dtg(t)} ({t:%Y-%m-%d})"
