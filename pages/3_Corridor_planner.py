"""Corridor planner: suggest least-risk routes, draw or paste lines, compare them, save and move
corridors through the status workflow."""

import streamlit as st

from cimic_geo.errors import CimicError
from cimic_geo.i18n import _, fmt_int, fmt_number
from cimic_geo.ui import export_panel
from cimic_geo.ui import planner_page as planner
from cimic_geo.ui.common import data_token, page_setup, plain, settings, still_page

store = page_setup("Corridor planner")
st.title(_("Corridor planner"))
still_page()
marking = settings().marking or store.marking
token = data_token(store)  # once per rerun: every cached read below is keyed by it

with st.sidebar:
    st.subheader(_("Time"))
    as_of = planner.as_of_ui(store, token)
    st.subheader(_("Who"))
    user = planner.user_ui()

head = st.container()  # the road graph's summary and section 1, written once the graph is read
section2 = st.container()
kept = planner.kept_map(store, token, as_of)
if kept is not None:  # the map first, from its layers kept beside the store: drawn while the graph is read
    with section2:
        st.subheader(_("2 · Draw or paste a corridor"))
        if planner.assets_ok():
            planner.map_ui(store, kept, token=token, marking=marking)

with head:
    try:
        ctx = planner.access_context(store, token, as_of)
    except CimicError as exc:
        st.error(_("Routing is not available: {reason}").format(reason=plain(exc)))
        st.stop()
    st.caption(_("Road graph: {n} passable segments ({removed} impassable or destroyed-bridge segments left out); "
                 "threat bands {bands} km").format(n=fmt_int(ctx.graph.n_edges),
                                                   removed=fmt_int(ctx.graph.removed_impassable
                                                                   + ctx.graph.removed_bridges),
                                                   bands=", ".join(fmt_number(b) for b in ctx.bands_km)))
    st.subheader(_("1 · Suggest routes"))
    planner.route_ui(ctx)
with section2:
    if kept is None:
        st.subheader(_("2 · Draw or paste a corridor"))
        if planner.assets_ok():
            planner.map_ui(store, ctx, token=token, marking=marking)
    planner.draw_ui(ctx)
st.subheader(_("3 · Compare options"))
planner.compare_ui(ctx)
st.subheader(_("4 · Save"))
planner.save_ui(store, user)
st.subheader(_("5 · Saved corridors: status and history"))
planner.workflow_ui(store, user)
st.subheader(_("6 · Access: settlements cut off from safety"))
planner.access_ui(ctx)
export_panel.render(store, bbox=planner.export_bbox(ctx), as_of=as_of, layers=planner.EXPORT_LAYERS,
                    title=_("CIMIC corridors and access"), marking=marking, page=planner.PAGE)
