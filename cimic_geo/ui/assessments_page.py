"""Civil assessments page plumbing: staleness KPIs, the map coloured by a sector's status or by the
age of the last assessment, the sector table and a settlement card with its assessment history. Figures come from
:mod:`cimic_geo.civil`; shared page pieces from :mod:`cimic_geo.ui.layer_page`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from cimic_geo.civil import AssessmentOverview, SettlementCard, assessment_overview, settlement_card
from cimic_geo.config import stale_days
from cimic_geo.errors import CimicError
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.maps.civil_map import assessment_map
from cimic_geo.schema import ASSESSMENT_SECTORS
from cimic_geo.store import Store
from cimic_geo.timefmt import dtg
from cimic_geo.ui import layer_page as lp
from cimic_geo.ui.common import data_token, key
from cimic_geo.ui.cop_page import assets_ok
from cimic_geo.ui.sheet_panel import plain, sheet_import_panel
from cimic_geo.ui.tables import display_frame

PAGE = "assessments"
#: Session-state / widget key private to this page.
k = partial(key, PAGE)


@st.cache_data(show_spinner=False, max_entries=16)
def _overview(_store: Store, token: str, as_of: Any, sector: str, days: float) -> AssessmentOverview:
    return assessment_overview(_store, as_of=as_of, sector=sector, stale_days=days)


@st.cache_data(show_spinner=False, max_entries=32)
def _card(_store: Store, token: str, settlement_id: str, as_of: Any) -> SettlementCard:
    return settlement_card(_store, settlement_id, as_of=as_of)


def controls(store: Store, token: str) -> tuple[pd.Timestamp, str, str, float]:
    """Sidebar: as-of date, sector, map colouring, stale threshold."""
    with st.sidebar:
        st.subheader(_("Civil assessments"))
        as_of = lp.as_of_day(store, token, key=k("as_of"))
        sector = st.selectbox(_("Sector"), ASSESSMENT_SECTORS, index=ASSESSMENT_SECTORS.index("water"), key=k("sector"),
                              format_func=term)
        colour = st.radio(_("Colour settlements by"), ["status", "state"], horizontal=True, key=k("colour"),
                          format_func=lambda v: _("sector status") if v == "status" else _("assessment age"))
        days = st.number_input(_("Stale after (days)"), min_value=1.0, max_value=365.0, value=float(stale_days()),
                               step=1.0, key=k("stale_days"))
    return as_of, sector, colour, float(days)


def kpis(ov: AssessmentOverview) -> None:
    doc = ov.to_dict()
    c = st.columns(5)
    c[0].metric(_("Settlements assessed"), _("{assessed} of {total}").format(assessed=fmt_int(doc["assessed"]),
                                                                            total=fmt_int(doc["settlements"])))
    c[1].metric(_("Current"), fmt_int(doc["current"]))
    c[2].metric(_("Stale (> {days} d)").format(days=fmt_number(ov.stale.stale_days)), fmt_int(doc["stale"]))
    c[3].metric(_("Never assessed"), fmt_int(doc["never"]))
    sec = ov.summary.set_index("sector").loc[ov.sector]
    c[4].metric(_("{sector}: disrupted / partial").format(sector=term(ov.sector)),
                f"{fmt_int(sec['disrupted'])} / {fmt_int(sec['partial'])}")


def render_map(store: Store, token: str, ov: AssessmentOverview, colour: str, marking: str | None) -> None:
    front, occ = lp.front(store, token, ov.as_of)
    lp.show_map(assessment_map(ov.settlements, sector=ov.sector, colour_by=colour, front_line=front,
                               occupied_area=occ, look=lp.map_look(marking)), key=k("map"))


def card(store: Store, token: str, ov: AssessmentOverview) -> None:
    """A settlement card: pick among assessed settlements (stale first), see its history and partners."""
    assessed = ov.settlements[ov.settlements["state"] != "never"].sort_values(["state", "name"],
                                                                             ascending=[False, True])
    if not len(assessed):
        st.info(_("No settlement has an assessment at this time."))
        return
    labels = dict(zip(assessed["id"].astype(str), assessed["name"].astype(str) + " (" + assessed["id"].astype(str)
                      + ", " + assessed["state"].map(term) + ")", strict=True))
    sid = st.selectbox(_("Settlement"), list(labels), format_func=labels.get, key=k("card"))
    try:
        c = _card(store, token, sid, ov.as_of)
    except CimicError as exc:
        st.error(plain(exc))
        return
    s = c.settlement
    st.markdown(_("**{name}** · {admin1} · population {population} · {n} assessment(s)").format(
        name=plain(s["name"]), admin1=plain(s.get("admin1") or ""), population=fmt_int(s.get("population") or 0),
        n=fmt_int(len(c.history))))
    hist = c.history.copy()
    hist["assessed_at"] = [dtg(t) for t in hist["assessed_at"]]
    st.dataframe(display_frame(hist), hide_index=True, width="stretch")
    st.caption(_("Partners covering it: {partners}").format(partners=plain(", ".join(
        f"{o} ({term(sec)})" for o, sec in zip(c.partners["organisation"], c.partners["sector"], strict=True))
        or _("none"))))


def tables(ov: AssessmentOverview) -> Any:
    tab_s, tab_t, tab_c = st.tabs([_("Sectors"), _("Stale and never assessed"), _("Settlement card")])
    with tab_s:
        st.dataframe(display_frame(ov.summary), hide_index=True, width="stretch")
    with tab_t:
        t = ov.settlements[ov.settlements["state"] != "current"]
        t = pd.DataFrame(t[["id", "name", "admin1", "population", "state", "last_assessed", "age_days"]]) \
            .sort_values(["state", "population"], ascending=[False, False])
        st.dataframe(display_frame(t), hide_index=True, width="stretch", height=300)
        lp.csv_download(_("Download (CSV)"), t, file_name=f"assessments_stale_{dtg(ov.as_of)}.csv", key=k("dl_stale"))
    return tab_c


def page(store: Store, marking: str | None) -> None:
    """The whole page body after :func:`cimic_geo.ui.common.page_setup`."""
    token = data_token(store)
    as_of, sector, colour, days = controls(store, token)
    try:
        ov = _overview(store, token, as_of, sector, days)
    except CimicError as exc:
        st.error(plain(exc))
        st.stop()
    st.caption(_("As of {dtg}: each settlement's latest assessment made by then.").format(dtg=dtg(ov.as_of)))
    kpis(ov)
    if assets_ok():
        render_map(store, token, ov, colour, marking)
    tab_c = tables(ov)
    with tab_c:
        card(store, token, ov)
    sheet_import_panel(store, "assessments", page=PAGE)
