"""Commander's common operational picture: every layer on one offline map, with time and KPIs."""

import streamlit as st

from cimic_geo.i18n import _
from cimic_geo.maps.cop_map import DEFAULT_VISIBLE
from cimic_geo.ui import cop_changes, cop_search, export_panel
from cimic_geo.ui import cop_page as cop
from cimic_geo.ui.common import apply_language, data_token, get_store, page_setup, plain, settings, still_page
from cimic_geo.ui.sign_in import signed_in_actor

store = page_setup("COP")
st.title(_("Common operational picture"))
still_page()
if not cop.assets_ok():
    st.stop()

token = data_token(store)
extent = cop.extent(store, token)
if extent is None:
    st.info(_("The store is empty: seed the exercise scenario (`make db`) or import data on the Import page."))
    st.stop()
cfg = settings()
marking = cfg.marking or store.marking

# the sidebar's layer checkboxes, time controls and search are drawn by the picture below, so a toggle,
# a slider step or a search reruns only it
with st.sidebar:
    st.subheader(_("Layers"))
    layer_box = st.container()
    time_box = st.container()
    st.subheader(_("Search"))
    search_box = st.container()


@st.fragment
def picture() -> None:
    """Layer toggles, time controls, search, KPI strip, map, what changed and export. A toggle, a slider
    step, a search, a map move or a zoom reruns only this part of the page."""
    apply_language()  # a fragment's own run starts in the default language: the session's, as the page's run
    store = get_store()  # a fragment's own run: this run's cursor, not the page run's
    if signed_in_actor(store) is None:
        st.rerun(scope="app")  # signed out meanwhile: the page's gate shows the sign-in
    token = data_token(store)
    with layer_box:
        visible = {name for name, label in cop.TOGGLES
                   if st.checkbox(_(label), value=name in DEFAULT_VISIBLE, key=cop.k(f"show_{name}"))}
    with search_box:  # before the view is read: a newly found place moves the view there
        search_layer = cop_search.search_ui(store, token)
    times = cop.history_times(store, token)
    with time_box:
        st.subheader(_("Time"))
        as_of = since = None
        if times:
            as_of = st.select_slider(_("Front line as of"), options=times, value=times[-1], format_func=cop.fmt_time,
                                     key=cop.k("as_of"))
            earlier = [t for t in times if t < as_of]
            if earlier:
                since = st.select_slider(_("Change since"), options=earlier, value=cop.default_since(earlier, as_of),
                                         format_func=cop.fmt_time, key=cop.k("since"))
            else:
                st.caption(_("No earlier snapshot to compare with."))
        else:
            st.caption(_("No front-line history in the store."))
        window = cop_changes.window_ui(store, token, as_of=as_of)

    kpi_box = st.container()  # the KPI strip sits above the map but is computed after it (map first)
    view = cop.current_view(extent)
    shown = tuple(sorted(visible))
    parts = cop.view_parts(store, token, view.fetch_bbox, view.zoom, as_of, since, shown)
    encoded = cop.encoded_view(store, token, view.fetch_bbox, view.zoom, as_of, since, shown, parts=parts)
    highlight = (cop_changes.highlight_layer(store, token, window, bbox=view.fetch_bbox, zoom=view.zoom)
                 if "changes" in visible else None)
    if highlight is not None:
        encoded = {**encoded, **highlight.encoded}
    result = cop.render_map(store_extent=extent, encoded={**encoded, **search_layer}, visible=set(visible),
                            marking=marking)
    with kpi_box:
        strip = cop.kpis(store, token, as_of, tuple(cfg.bands_km), cop.kpi_bbox(view.bounds, extent))
        cop.kpi_strip_ui(strip, bands_km=tuple(cfg.bands_km), as_of=as_of)
    layers, notes, _counts = cop.view_layers(store, token, view.fetch_bbox, view.zoom, as_of, since, shown,
                                             parts=parts)
    cop.change_summary_ui(layers.get("front_change"), since=since, as_of=as_of)
    for note in notes + ([highlight.note] if highlight is not None and highlight.note else []):
        st.caption(plain(note.text() if hasattr(note, "text") else note))
    cop.details_ui(result.get("last_object_clicked"), layers)
    cop_changes.panel_ui(store, token, window)
    cop_changes.trends_ui(store, token, bands_km=tuple(cfg.bands_km))
    export_panel.render(store, bbox=view.bounds, as_of=as_of, layers=visible, marking=marking, page=cop.PAGE)


picture()
