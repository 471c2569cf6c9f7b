"""Exposure & coverage page plumbing: cached analytics, controls, tables and the map.

All computing happens in :mod:`cimic_geo.analytics`; this module only caches results per
database content (:func:`cimic_geo.ui.common.data_token`), draws widgets and renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from cimic_geo.analytics.bands import band_labels, check_bands, shifted_occupied_area
from cimic_geo.analytics.coverage import DEFAULT_MAX_KM
from cimic_geo.analytics.kpi_strip import compact
from cimic_geo.analytics.situation import coverage_at, exposure_at, history_times, restoration_at
from cimic_geo.errors import CimicError
from cimic_geo.export.gis import table_csv
from cimic_geo.i18n import N_, _, fmt_int, fmt_number, fmt_percent, get_language
from cimic_geo.maps.analytics_map import analytics_extent, build_analytics_map
from cimic_geo.store import Store
from cimic_geo.timefmt import dtg
from cimic_geo.ui.common import apply_language, background_store, data_token, get_store, plain, settings
from cimic_geo.ui.common import key as _key
from cimic_geo.ui.compact_table import compact_for_display
from cimic_geo.ui.cop_page import assets_ok
from cimic_geo.ui.result_cache import budgeted
from cimic_geo.ui.shared_layers import SharedReads
from cimic_geo.ui.tables import display_frame

PAGE = "analytics"
MAP_KEY = f"{PAGE}:map"
#: The limit coverage by road time opens with (minutes): prepared ahead in the server's background warm-up.
DEFAULT_MINUTES = 15.0
#: Store layers offered by the export panel: what the page's map and tables are about.
EXPORT_LAYERS = ("front_line", "occupied_area", "settlements", "shelters", "infrastructure")


def k(name: str) -> str:
    """Session-state / widget key private to this page."""
    return _key(PAGE, name)


@dataclass
class Shown:
    """The view the page shows (for the export panel): the map's extent and the as-of time."""

    bbox: tuple[float, float, float, float] | None
    as_of: pd.Timestamp | None


@dataclass
class Controls:
    as_of: pd.Timestamp | None
    bands_km: tuple[float, ...]
    shift_km: float
    reach_mode: str  # "distance" or "time"
    max_km: float
    max_minutes: float
    colour_by: str  # "band" or "coverage"


# ----------------------------------------------------------------------------------------------
# cached computations (the Store argument is not hashed; data_token changes after any write)
# ----------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def times(_store: Store, token: str) -> list[pd.Timestamp]:
    return history_times(_store)


# The results hold sentences (notes, restoration reasons) written in the language of the run that computed
# them, so each cache entry is per language (``language``: get_language() of the caller).
# budgeted (like st.cache_resource, not st.cache_data): one shared result per entry (read-only for the page),
# not a pickled copy kept and another one unpickled on every rerun; the entries of every large cache together
# stay within one memory budget (:mod:`cimic_geo.ui.result_cache`), so memory stays flat while settings change
# (an exposure result holds the three point layers with their distances: tens of MB at national scale).
@budgeted(max_entries=2)
def cached_exposure(_store: Store, token: str, as_of: Any, bands_km: tuple[float, ...], shift_km: float,
                    language: str) -> Any:
    return exposure_at(SharedReads(_store, token), as_of=as_of, bands_km=bands_km, shift_km=shift_km)


@budgeted(max_entries=2)  # road-time allocations are large
def cached_coverage(_store: Store, token: str, as_of: Any, max_km: float | None, max_minutes: float | None,
                    language: str) -> Any:
    return coverage_at(SharedReads(_store, token), as_of=as_of, max_km=max_km, max_minutes=max_minutes)


@budgeted(max_entries=4)
def cached_restoration(_store: Store, token: str, as_of: Any, bands_km: tuple[float, ...], language: str) -> Any:
    return restoration_at(SharedReads(_store, token), as_of=as_of, bands_km=bands_km)


@budgeted(max_entries=4)
def cached_situation_layers(_store: Store, token: str, as_of: Any) -> tuple[Any, Any]:
    shared = SharedReads(_store, token)
    return (shared.read("front_line", as_of=as_of), shared.read("occupied_area", as_of=as_of))


@budgeted(max_entries=4)
def cached_shifted(_store: Store, token: str, as_of: Any, shift_km: float) -> Any:
    return shifted_occupied_area(SharedReads(_store, token).read("occupied_area", as_of=as_of), shift_km)


def warm_data() -> None:
    """The exposure with the page's default settings (latest time, the configured bands, no shift) and
    the situation layers its map draws, computed in the server's background warm-up after its first run
    (:func:`cimic_geo.ui.common.warm_imports`): a first visit finds them in the caches above and draws
    its map without waiting for the analysis (same data token: a sign-in writes the audit trail only).
    Then what coverage by road time needs at that time (saved beside the store's kept road graph, nothing
    large kept in memory: :func:`cimic_geo.analytics.coverage_graph.prepare`), its search for the page's
    default limit included."""
    from cimic_geo.analytics.coverage_graph import prepare

    with background_store() as store:
        token = data_token(store)
        available = times(store, token)
        as_of = available[-1] if available else None
        bands = check_bands(",".join(f"{b:g}" for b in settings().bands_km))  # as :func:`controls` reads them
        cached_exposure(store, token, as_of, bands, 0.0, get_language())
        cached_situation_layers(store, token, as_of)
        prepare(SharedReads(store, token), as_of=as_of, max_minutes=DEFAULT_MINUTES)


# ----------------------------------------------------------------------------------------------
# widgets
# ----------------------------------------------------------------------------------------------


def controls(store: Store, token: str) -> Controls | None:
    """The sidebar: as-of time, bands, shift, coverage reach and map colouring."""
    available = times(store, token)
    cfg = settings()
    with st.sidebar:
        st.subheader(_("Situation"))
        if available:
            as_of = st.select_slider(_("As of"), options=available, value=available[-1], format_func=dtg,
                                     key=k("as_of"))
        else:  # a rear region: the analyses run on the current layers with nothing excluded
            st.info(_("The store has no front line: nothing is excluded and everything counts as beyond the "
                      "threat bands."))
            as_of = None
        text = st.text_input(_("Threat bands (km, increasing)"), value=",".join(f"{b:g}" for b in cfg.bands_km),
                             key=k("bands"), help=_("Outer edges of the bands, e.g. 5,20,40"))
        try:
            bands = check_bands(text)
        except CimicError as exc:
            st.error(plain(exc))
            return None
        shift = st.number_input(_("What-if: shift the front toward us (km)"), min_value=0.0, max_value=200.0,
                                value=0.0, step=1.0, key=k("shift"))
        st.subheader(_("Shelter coverage"))
        mode = st.radio(_("Reach by"), ["distance", "time"], horizontal=True, key=k("reach_mode"),
                        format_func=lambda v: _("straight-line km") if v == "distance" else _("road minutes"))
        max_km = st.number_input(_("Within (km)"), min_value=0.0, max_value=100.0, value=float(DEFAULT_MAX_KM),
                                 step=0.5, key=k("max_km"), disabled=mode != "distance")
        max_min = st.number_input(_("Within (minutes by road)"), min_value=0.0, max_value=240.0, value=DEFAULT_MINUTES,
                                  step=5.0, key=k("max_minutes"), disabled=mode != "time")
        st.subheader(_("Map"))
        colour = st.radio(_("Colour settlements by"), ["band", "coverage"], horizontal=True, key=k("colour_by"),
                          format_func=lambda v: _("threat band") if v == "band" else _("served / unserved"))
    return Controls(as_of=as_of, bands_km=bands, shift_km=float(shift), reach_mode=mode, max_km=float(max_km),
                    max_minutes=float(max_min), colour_by=colour)


def compute(store: Store, token: str, c: Controls, *, after_exposure: Any = None) -> tuple[Any, Any] | None:
    """Run exposure and coverage with a progress bar; show a clear message on bad input.

    ``after_exposure(exp)`` (optional) runs as soon as the exposure is known, before coverage: the
    page draws its map there, so the browser draws it while the rest is computed. Restoration is
    ranked on request (:func:`restoration_tab`).
    """
    bar = st.progress(0.0, text=_("Exposure per threat band…"))
    try:
        exp = cached_exposure(store, token, c.as_of, c.bands_km, c.shift_km, get_language())
        if after_exposure is not None:
            after_exposure(exp)
        bar.progress(0.34, text=_("Shelter coverage (exact allocation)…") if c.reach_mode == "distance"
                     else _("Shelter coverage: building the road graph and travel times…"))
        if c.reach_mode == "distance":
            cov = cached_coverage(store, token, c.as_of, c.max_km, None, get_language())
        else:
            cov = cached_coverage(store, token, c.as_of, None, c.max_minutes, get_language())
    except CimicError as exc:
        bar.empty()
        st.error(plain(exc))
        return None
    bar.empty()
    return exp, cov


def kpis(exp: Any, cov: Any) -> None:
    """Population per band, occupied side, coverage and unserved people: short values that fit a
    tile (12.4 k, 35.8 M), the exact figures in each tile's help."""
    doc = exp.to_dict()
    cols = st.columns(len(doc["bands"]) + 3)

    def delta(entry: dict) -> str | None:
        if "change" not in entry:
            return None
        n = int(entry["change"]["population"])
        return ("+" if n > 0 else "") + compact(n)

    def people(entry: dict) -> str:
        return _("{people} people in {settlements} settlements").format(
            people=f"{entry['population']:,}", settlements=f"{entry['settlements']:,}")

    for col, b in zip(cols, doc["bands"], strict=False):
        col.metric(_("Population {band} km").format(band=b["band"]), compact(b["population"]), delta=delta(b), delta_color="inverse",
                   help=people(b))
    occ = doc["occupied"]
    cols[len(doc["bands"])].metric(_("Occupied side"), compact(occ["population"]), delta=delta(occ),
                                   delta_color="inverse", help=people(occ))
    cols[len(doc["bands"]) + 1].metric(_("Shelter coverage"), fmt_number(cov.covered_pct, digits=1) + " %",
                                       help=_("{covered} of {total} people have a shelter place in reach").format(
                                           covered=f"{cov.population_covered:,}", total=f"{cov.population_total:,}"))
    unserved = cov.population_total - cov.population_covered
    cols[len(doc["bands"]) + 2].metric(_("Unserved (people)"), compact(unserved),
                                       help=_("{n} people without a shelter place in reach").format(
                                           n=f"{unserved:,}"))


def render_map(store: Store, token: str, c: Controls, exp: Any, cov: Any, marking: str | None) -> None:
    front, occ = cached_situation_layers(store, token, c.as_of)
    shifted = cached_shifted(store, token, c.as_of, c.shift_km) if c.shift_km > 0 else None
    cfg = settings()
    if c.colour_by == "band":
        sets = exp.settlements
        m = build_analytics_map(settlements=sets, front_line=front, occupied_area=occ, shifted_occupied=shifted,
                                mode="band", band_labels=band_labels(c.bands_km), band_column=exp.band_column,
                                marking=marking, tile_url=cfg.tile_url, tile_attribution=cfg.tile_attribution)
    else:
        m = build_analytics_map(settlements=cov.settlements, shelters=cov.shelters, front_line=front,
                                occupied_area=occ, shifted_occupied=shifted, mode="coverage", marking=marking,
                                tile_url=cfg.tile_url, tile_attribution=cfg.tile_attribution)
    st_folium(m, key=MAP_KEY, height=560, use_container_width=True, returned_objects=[])


#: Why "people served" may exceed a band's (or a settlement's) population: it is not a head count.
PEOPLE_SERVED_HELP = N_("people_served is the sum, over the infrastructure objects, of the people each object serves: "
                      "one person served by a water plant, a substation and a boiler house counts three times, and a "
                      "hospital or substation also serves the villages around it. It can therefore exceed the "
                      "population of the band or settlement; it measures how much service is at stake, not how "
                      "many people.")


def _people_served_column() -> dict[str, Any]:
    """The ``people_served`` column labelled and explained (see :data:`PEOPLE_SERVED_HELP`)."""
    return {"people_served": st.column_config.NumberColumn(_("people served (sum over objects)"),
                                                           help=_(PEOPLE_SERVED_HELP), format="%d")}


def _download(df: pd.DataFrame, name: str, label: str) -> None:
    # the CSV is made when the button is pressed (a callable), not on every rerun of the page
    st.download_button(label, lambda: table_csv(df), file_name=name, mime="text/csv",
                       key=k(f"dl_{name}"), on_click="ignore")


def tables(exp: Any, cov: Any, c: Controls) -> None:
    when = dtg(c.as_of if c.as_of is not None else exp.as_of)
    tab_e, tab_s, tab_h, tab_w, tab_r = st.tabs(
        [_("Exposure"), _("Settlements (coverage)"), _("Shelters"), _("Worst served"), _("Restoration priority")])
    with tab_e:
        t = exp.table()
        st.dataframe(display_frame(t, keep=["people_served"]), hide_index=True, width="stretch",
                     column_config=_people_served_column())
        st.caption(plain(_(PEOPLE_SERVED_HELP)))
        if c.shift_km:
            st.caption(plain(_("Front shifted {km} km toward friendly territory; *_change = shifted - as in force.").format(
                km=fmt_number(c.shift_km))))
        feats = pd.DataFrame(exp.settlements.drop(columns="geometry"))
        st.dataframe(compact_for_display(display_frame(feats)), hide_index=True, width="stretch", height=260)
        _download(t, f"exposure_{when}.csv", _("Download exposure (CSV)"))
        _download(feats, f"exposure_settlements_{when}.csv", _("Download settlements with bands (CSV)"))
    with tab_s:
        t = cov.settlement_table()
        unit = _("km") if cov.unit == "km" else _("min")
        st.caption(_("Reach: within {limit} {unit}. Covered {covered} of {total} ({pct}).").format(
            limit=fmt_number(cov.limit), unit=unit, covered=fmt_int(cov.population_covered),
            total=fmt_int(cov.population_total), pct=fmt_percent(cov.covered_pct / 100)) + " " + " ".join(cov.notes))
        st.dataframe(compact_for_display(display_frame(t)), hide_index=True, width="stretch")
        _download(t, f"coverage_settlements_{when}.csv", _("Download settlements coverage (CSV)"))
    with tab_h:
        t = cov.shelter_table()
        st.dataframe(compact_for_display(display_frame(t)), hide_index=True, width="stretch")
        _download(t, f"coverage_shelters_{when}.csv", _("Download shelters (CSV)"))
    with tab_w:
        t = cov.worst_served(25)
        st.dataframe(display_frame(t), hide_index=True, width="stretch")
        _download(t, f"worst_served_{when}.csv", _("Download worst served (CSV)"))
    with tab_r:
        restoration_tab(c, when)


#: Session-state key: the user asked for the restoration ranking (kept for the session's later runs).
RESTORATION_ASKED = k("restoration_asked")


@st.fragment
def restoration_tab(c: Controls, when: str) -> None:
    """The restoration ranking, computed once the user asks for it (seconds on a national store, so
    not before the map and the coverage are shown); its button reruns this part of the page only."""
    apply_language()  # a fragment's own run starts in the default language: the session's, as the page's run
    if not st.session_state.get(RESTORATION_ASKED):
        intro = st.empty()  # the offer to rank, gone once taken
        with intro.container():
            st.caption(_("Ranks every damaged infrastructure object by the people it serves and its safety; "
                         "on a large store this takes a few seconds."))
            asked = st.button(_("Rank the damaged objects"), key=k("restoration_go"))
        if not asked:
            return
        intro.empty()
        st.session_state[RESTORATION_ASKED] = True
    store = get_store()  # a fragment's own run: this run's cursor, not the page run's
    try:
        with st.spinner(_("Restoration priority…")):
            rest = cached_restoration(store, data_token(store), c.as_of, c.bands_km, get_language())
    except CimicError as exc:
        st.error(plain(exc))
        return
    t = rest.table()
    st.caption(_("{n} damaged objects ranked; objects within {km} km of the front line are not safe to repair "
                 "now and ranked last; {excluded} on the occupied side not ranked.").format(
        n=fmt_int(len(t)), km=fmt_number(rest.unsafe_km), excluded=fmt_int(len(rest.excluded))))
    st.dataframe(display_frame(t, keep=["people_served"]), hide_index=True, width="stretch",
                 column_config=_people_served_column())
    for row in t.head(5).itertuples(index=False):
        st.markdown(f"**{int(row.rank)}. {plain(row.name)}** — {plain(row.reason)}")
    _download(t, f"restoration_{when}.csv", _("Download restoration priority (CSV)"))


def map_bbox(store: Store, token: str, c: Controls, exp: Any) -> tuple[float, float, float, float] | None:
    """The extent the map opens fitted to: settlements, occupied area and front line at ``c.as_of``."""
    front, occ = cached_situation_layers(store, token, c.as_of)
    return analytics_extent(exp.settlements, front_line=front, occupied_area=occ)


def page(store: Store, marking: str | None) -> Shown:
    """The whole page body after :func:`cimic_geo.ui.common.page_setup`; returns the view shown.

    The map comes as early as it can: coloured by threat band it needs only the exposure, so it is
    sent to the browser before coverage is computed; the KPI tiles sit above it in a container
    filled at the end. Restoration is ranked when the user asks for it (:func:`restoration_tab`).
    """
    token = data_token(store)
    c = controls(store, token)
    if c is None:
        st.stop()
    kpi_box = st.container()
    map_box = st.container()
    draw = assets_ok()

    def early_map(exp: Any) -> None:
        if draw and c.colour_by == "band":
            with map_box:
                render_map(store, token, c, exp, None, marking)

    results = compute(store, token, c, after_exposure=early_map)
    if results is None:
        st.stop()
    exp, cov = results
    with kpi_box:
        kpis(exp, cov)
    if draw and c.colour_by != "band":
        with map_box:
            render_map(store, token, c, exp, cov, marking)
    tables(exp, cov, c)
    return Shown(bbox=map_bbox(store, token, c, exp), as_of=c.as_of)
