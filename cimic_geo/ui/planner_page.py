"""Corridor planner page plumbing: the cached access context and the page's sections (route
form, drawing and pasting, comparison, cut-off settlements). The map is in
:mod:`cimic_geo.ui.planner_page_map`, the session state in :mod:`cimic_geo.ui.planner_page_state`, saving
and the status workflow in :mod:`cimic_geo.ui.planner_page_workflow`.
"""

from __future__ import annotations

import html
import threading
import weakref

import pandas as pd
import streamlit as st

from cimic_geo.analytics.corridor_lines import line_from_text
from cimic_geo.analytics.coverage_graph import ON_NEW_GRAPH, keep_only, keep_only_key
from cimic_geo.analytics.road_cache import graph_key
from cimic_geo.corridors import AccessContext, cutoff_document, load_access_context
from cimic_geo.errors import AssetError, CimicError
from cimic_geo.i18n import _, fmt_int, fmt_number, fmt_percent
from cimic_geo.maps.assets import check_assets
from cimic_geo.maps.planner_map import option_color, options_extent
from cimic_geo.store import Store
from cimic_geo.store.access_version import access_data_version
from cimic_geo.timefmt import dtg
from cimic_geo.ui.common import background_store, data_token, plain, settings
from cimic_geo.ui.planner_page_map import KeptMapContext, corridors_layer, export_bbox, kept_map_context, map_ui
from cimic_geo.ui.planner_page_state import (
    PAGE,
    add_line_option,
    add_route_options,
    as_of_key,
    comparison_table,
    flash,
    k,
    options,
    request_view,
    show_flash,
)
from cimic_geo.ui.planner_page_workflow import save_ui, workflow_ui
from cimic_geo.ui.shared_layers import SharedReads
from cimic_geo.ui.sign_in import current_actor
from cimic_geo.ui.tables import display_frame

#: Store layers offered by the export panel: what the planner map shows.
EXPORT_LAYERS = ("front_line", "occupied_area", "roads", "corridors", "settlements", "infrastructure")

#: What the page calls (the map, saving and the workflow live in their own modules).
__all__ = ["EXPORT_LAYERS", "PAGE", "access_context", "access_ui", "as_of_ui", "assets_ok", "compare_ui",
           "draw_ui", "export_bbox", "kept_map", "map_ui", "route_ui", "save_ui", "user_ui", "workflow_ui"]


# each context holds a national road graph (hundreds of MB, more when built afresh for another as-of time):
# one per process, so memory stays flat while users move the time slider
@st.cache_resource(show_spinner=False, max_entries=1)
def _context(_store: Store, db: str, as_of: str | None, bands: tuple[float, ...], version: str,
             _token: str) -> AccessContext:
    # settlements and shelters from the copies the Exposure page reads too (one per process); ``_token``
    # (data_token, not part of the key: a corridor save does not rebuild the graph) names those copies
    return load_access_context(SharedReads(_store, _token), as_of=as_of, bands_km=bands,  # type: ignore[arg-type]
                               data_version=version)  # hashed once


@st.cache_data(show_spinner=False, max_entries=8)
def _access_version(_store: Store, token: str) -> str:
    # the hash over what the road graph uses (0.5-2 s national on a read-write store), once per data_token
    # and passed on to the graph's loading: a corridor save moves the token but not this version, so
    # the road graph is not rebuilt for it
    return access_data_version(_store)


def warm_data() -> None:
    """Hash the data version now, in the server's background warm-up after its first run (see
    :func:`cimic_geo.ui.common.warm_imports`), so a user's first planner visit finds it cached under
    the same data token (a sign-in writes the audit trail only and keeps the token). Then the saved
    corridors encoded for the map (a fraction of a second nationally, on the first visit's way to the map)."""
    with background_store() as store:
        token = data_token(store)
        _access_version(store, token)
        corridors_layer(store, token)


def access_context(store: Store, token: str, as_of: pd.Timestamp | None) -> AccessContext:
    """The access context for ``as_of``, built once per road-graph data/as-of/bands (st.cache_resource).

    ``token`` is :func:`cimic_geo.ui.common.data_token` of this rerun.
    """
    bands = tuple(settings().bands_km)
    args = (str(store.path), None if as_of is None else as_of.isoformat(), bands, _access_version(store, token))
    with _last_lock:
        if _last_args and _last_args[0] != args:  # another graph: the old one goes before the new one is read
            _context.clear()
            if as_of is not None:  # and coverage's graph of another time (None: the key's time is resolved later)
                keep_only_key(graph_key(args[3], as_of=as_of, bands_km=bands))
        _last_args[:] = [args]
    with st.spinner(_("Building the road graph…")):  # shown only when building takes a moment (not a cache hit)
        ctx = _context(store, *args, token)
    keep_only(ctx.graph)  # and coverage by road time lets go of another time's graph: one graph per process
    with _last_lock:
        _last_graph[:] = [weakref.ref(ctx.graph)]
    return ctx


def kept_map(store: Store, token: str, as_of: pd.Timestamp | None) -> KeptMapContext | None:
    """The map's layers for ``as_of`` when they are kept beside the store
    (:func:`cimic_geo.ui.planner_page_map.kept_map_context`): the page draws its map from them before it
    reads the road graph, so the browser draws the map meanwhile. Only on the session's first visit of
    the page (the map not mounted yet): on later runs the graph is in memory, and section 1 must run
    before the map (suggested routes are drawn in the same run). None when there is no such file yet
    (the page then draws the map with the access context)."""
    if k("mount") in st.session_state:
        return None
    return kept_map_context(store.path, as_of=as_of, bands_km=tuple(settings().bands_km),
                            data_version=_access_version(store, token))


#: The arguments of the last context asked for (one context per process; see :func:`access_context`).
_last_args: list[tuple[str, str | None, tuple[float, ...], str]] = []
_last_graph: list[weakref.ref] = []  # and its road graph
_last_lock = threading.Lock()


def _let_go(graph: object) -> None:
    """Coverage by road time took ``graph``: the context on another graph goes (one road graph per process)."""
    with _last_lock:
        mine = _last_graph[0]() if _last_graph else None
        if mine is None or mine is graph:
            return
        _last_args.clear()
        _last_graph.clear()
    _context.clear()


ON_NEW_GRAPH.append(_let_go)


@st.cache_data(show_spinner=False, max_entries=8)
def history_times(_store: Store, token: str) -> list[pd.Timestamp]:
    return _store.history_times("front_line")


def error(exc: CimicError) -> None:
    """Show a CimicError (with its problem list) as an error box; text escaped by Streamlit."""
    st.error(plain(exc))


def assets_ok() -> bool:
    """False (with install instructions shown) when the offline map assets are missing."""
    try:
        check_assets()
    except AssetError as exc:
        st.error(_("The map cannot be drawn: {reason}").format(reason=plain(exc)))
        return False
    return True


def as_of_ui(store: Store, token: str) -> pd.Timestamp | None:
    ts = history_times(store, token)
    if not ts:
        st.caption(_("No front-line history: routes ignore the threat."))
        return None
    return st.select_slider(_("Front line as of"), options=ts, value=ts[-1], format_func=dtg, key=k("as_of"))


def user_ui() -> str:
    """The signed-in user, who is recorded in the corridor history (not a typed name)."""
    actor = current_actor()
    name = actor.name if actor else ""
    st.caption(_("Changes are recorded as **{name}** (signed in).").format(name=plain(name)))
    return name


def route_ui(ctx: AccessContext) -> None:
    """Origin/destination form; adds suggested routes as options."""
    with st.form(k("route_form")):
        c1, c2 = st.columns(2)
        origin = c1.text_input(_("From (settlement, lat,lon or MGRS)"), key=k("origin"))
        dest = c2.text_input(_("To (settlement, lat,lon or MGRS)"), key=k("destination"))
        c3, c4, c5 = st.columns(3)
        avoid = c3.number_input(_("Exclude roads within (km of the front line; 0 = none)"), min_value=0.0,
                                value=0.0, step=1.0, key=k("avoid_km"))
        penalise = c4.checkbox(_("Penalise roads inside the threat bands"), value=True, key=k("penalise"))
        oneway_off = c4.checkbox(_("Ignore one-way (convoy/emergency)"), value=False, key=k("ignore_oneway"))
        alts = c5.slider(_("Alternatives"), 0, 3, 2, key=k("alternatives"))
        go = st.form_submit_button(_("Suggest routes"))
    net = ctx.graph.connectivity()
    st.caption(_("Road network: {n} connected piece(s); the largest holds {share} of the road length.").format(
        n=net.components, share=fmt_percent(net.largest_share, digits=0)))
    if go:
        st.session_state.pop(k("flash:route"), None)
        try:
            doc = add_route_options(ctx, origin, dest, avoid_km=avoid or None, penalise=penalise, alternatives=alts,
                                    ignore_oneway=oneway_off)
        except CimicError as exc:
            error(exc)
            return
        for note in doc.get("warnings", []):
            st.info(plain(note))
        if not doc["found"]:
            st.warning(plain(doc["reason"]))
        else:
            flash("route", _routes_message(doc))
            request_view(fit=options_extent([doc, *doc["alternatives"]]))  # show the new routes
    show_flash("route")


def _routes_message(doc: dict) -> str:
    """What *Suggest routes* added: how many options, between which places, numbered as in the comparison."""
    n = 1 + len(doc["alternatives"])
    last = len(options())
    numbers = (_("option {n}").format(n=last) if n == 1
               else _("options {first}–{last}").format(first=last - n + 1, last=last))
    return _("{n} route option(s) added as {numbers}: {origin} → {destination}, least-risk route {km} km").format(
        n=n, numbers=numbers, origin=doc["origin"]["label"], destination=doc["destination"]["label"],
        km=f"{doc['length_km']:.1f}")


def draw_ui(ctx: AccessContext) -> None:
    """Evaluate the line drawn on the map or pasted as text."""
    drawn = st.session_state.get(k("drawn"))
    c1, c2 = st.columns([1, 2])
    with c1:
        st.caption(_("Drawn line: ready — {n} points").format(n=len(drawn.get("coordinates", []))) if drawn
                   else _("Drawn line: none yet (use the line tool on the map)"))
        if st.button(_("Evaluate drawn line"), key=k("eval_drawn"), disabled=not drawn):
            try:
                add_line_option(ctx, drawn, source="drawn")
                st.session_state[k("drawn")] = None
                request_view(clear_drawn=True)  # the option replaces the sketch on the map
                st.rerun()
            except CimicError as exc:
                error(exc)
    with c2:
        text = st.text_area(_("…or paste a line (GeoJSON, or lat,lon; lat,lon; … — MGRS also accepted)"), key=k("pasted"), height=80)
        if st.button(_("Evaluate pasted line"), key=k("eval_pasted")):
            try:
                opt = add_line_option(ctx, line_from_text(text), source="imported")
                request_view(fit=options_extent([opt]))  # a pasted line may be anywhere: show it
                st.rerun()
            except CimicError as exc:
                error(exc)


def compare_ui(ctx: AccessContext) -> None:
    opts = options()
    if not opts:
        st.info(_("No options yet: suggest routes, draw a line on the map or paste one."))
        return
    table = comparison_table(opts, ctx.bands_km)
    # every metric row visible: the default height shows ten rows and hides the rest behind a scrollbar
    st.dataframe(table.astype(str), width="stretch", height="content", key=k("table"))
    legend = " ".join(f'<span style="color:{option_color(i)};font-weight:700">■ {i + 1}. '
                      f'{html.escape(o["label"])}</span>' for i, o in enumerate(opts))
    st.markdown(legend, unsafe_allow_html=True)
    if st.button(_("Clear options"), key=k("clear")):
        st.session_state[k("options")] = []
        st.rerun()


def access_ui(ctx: AccessContext) -> None:
    """Settlements cut off from safety and time to the nearest safe hub."""
    with st.form(k("cutoff_form")):
        c1, c2 = st.columns([1, 2])
        avoid = c1.number_input(_("Avoid roads within (km of the front line)"), min_value=0.0,
                                value=float(ctx.bands_km[0]), step=1.0, key=k("cut_avoid"))
        hubs = c2.text_input(_("Safe hubs (settlement names, comma-separated; empty = every settlement beyond {km} km)")
                             .format(km=fmt_number(ctx.bands_km[-1])), key=k("cut_hubs"))
        go = st.form_submit_button(_("Find cut-off settlements"))
    if go:
        names = [h.strip() for h in hubs.split(",") if h.strip()] or None
        try:
            doc, table = cutoff_document(ctx, avoid_km=avoid, hubs=names)
        except CimicError as exc:
            error(exc)
            return
        st.session_state[k("cutoff")] = (doc, table.drop(columns="geometry"))
        cut = table[table["status"] == "cut_off"]
        pts = cut.geometry.representative_point()
        st.session_state[k("cutoff_places")] = (as_of_key(ctx), [
            {"lat": float(pt.y), "lon": float(pt.x), "name": str(r.name), "population": int(r.population),
             "reason": r.reason if isinstance(r.reason, str) else ""} for pt, r in zip(pts, cut.itertuples(), strict=True)])
        st.rerun()  # the map (section 2, above) is drawn again with the cut-off settlements
    res = st.session_state.get(k("cutoff"))
    if not res:
        return
    doc, table = res
    if doc.get("as_of") != as_of_key(ctx):
        st.caption(_("Computed for the front line as of {as_of}: press *Find cut-off settlements* again for the time "
                     "chosen now (the map shows cut-off settlements only for the time they were computed for).")
                   .format(as_of=doc.get("as_of") or "–"))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_("Cut off"), fmt_int(len(doc["cut_off"])))
    c2.metric(_("Population cut off"), fmt_int(doc["cut_off_population"]))
    c3.metric(_("Median time to safety (min)"), "-" if doc["median_time_to_safety_min"] is None
              else fmt_int(doc["median_time_to_safety_min"]))
    c4.metric(_("Safe hubs"), fmt_int(doc["hubs_count"]))
    if doc["cut_off"]:
        st.caption(_("Cut-off settlements are marked on the map above (magenta diamonds)."))
        st.dataframe(display_frame(pd.DataFrame(doc["cut_off"])), width="stretch", hide_index=True, key=k("cut_table"))
    reach = table[table["status"] == "reachable"].sort_values("minutes", ascending=False)
    if len(reach):
        st.caption(_("Longest times to safety"))
        st.dataframe(display_frame(reach[["name", "population", "band", "minutes", "nearest_hub"]].head(50)),
                     width="stretch", hide_index=True, key=k("tts_table"))
