"""Evacuations page plumbing: cached overview, KPIs, the board beside the map, status changes,
people waiting per band and group, missions per day and the shelter assignment. Figures come from
:mod:`cimic_geo.evacuations`; shared page pieces from :mod:`cimic_geo.ui.layer_page`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from cimic_geo.analytics.bands import check_bands
from cimic_geo.analytics.situation import history_times
from cimic_geo.errors import CimicError, ConflictError
from cimic_geo.evacuations import EvacuationOverview, assign_waiting, change_status, evacuation_overview, next_statuses
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.maps.evacuation_map import build_evacuation_map
from cimic_geo.schema import EVACUATION_STATUSES, TRANSPORT_KINDS
from cimic_geo.store import Store
from cimic_geo.timefmt import dtg
from cimic_geo.ui import layer_page as lp
from cimic_geo.ui.common import clear_caches, data_token, key, plain, settings
from cimic_geo.ui.cop_page import assets_ok
from cimic_geo.ui.sheet_panel import sheet_import_panel
from cimic_geo.ui.tables import display_frame

PAGE = "evacuations"
NOW = "now"
#: Session-state / widget key private to this page.
k = partial(key, PAGE)


@st.cache_data(show_spinner=False, max_entries=8)
def _times(_store: Store, token: str) -> list[pd.Timestamp]:
    return history_times(_store)


@st.cache_data(show_spinner=False, max_entries=16)
def _overview(_store: Store, token: str, as_of: Any, bands_km: tuple[float, ...]) -> EvacuationOverview:
    return evacuation_overview(_store, as_of=as_of, bands_km=bands_km)


@st.cache_data(show_spinner=False, max_entries=8)
def _shelters(_store: Store, token: str) -> Any:
    return _store.read("shelters", columns=["name", "kind", "capacity", "occupancy", "status"])


def controls(store: Store, token: str) -> tuple[Any, tuple[float, ...], list[str]] | None:
    """Sidebar: time (now or a front-line snapshot), threat bands, statuses on the board."""
    times = _times(store, token)
    with st.sidebar:
        st.subheader(_("Evacuations"))
        options = [NOW, *times]
        as_of = st.select_slider(_("As of"), options=options, value=NOW, key=k("as_of"),
                                 format_func=lambda t: _("now (as stored)") if t == NOW else dtg(t),
                                 help=_("A past time shows each request's status then (from its history)"))
        text = st.text_input(_("Threat bands (km, increasing)"), value=",".join(f"{b:g}" for b in settings().bands_km),
                             key=k("bands"))
        try:
            bands = check_bands(text)
        except CimicError as exc:
            st.error(plain(exc))
            return None
        statuses = st.multiselect(_("Statuses on the board and map"), list(EVACUATION_STATUSES),
                                  default=["requested", "planned", "underway"], key=k("statuses"), format_func=term)
    return (None if as_of == NOW else as_of), bands, statuses


def kpis(ov: EvacuationOverview) -> None:
    f = ov.kpis()
    cols = st.columns(6)
    cols[0].metric(_("Open requests"), fmt_int(f["requests_open"]))
    cols[1].metric(_("People waiting"), fmt_int(f["people_waiting"]))
    cols[2].metric(_("People underway"), fmt_int(f["people_underway"]))
    cols[3].metric(_("People evacuated"), fmt_int(f["people_evacuated"]))
    cols[4].metric(_("Oldest open request"), "–" if f["oldest_open_hours"] is None
                   else _("{hours} h").format(hours=fmt_int(f["oldest_open_hours"])))
    cols[5].metric(_("Missions started, 24 h"), fmt_int(f["missions_last_24h"]))
    st.caption(_("At {now}; threat bands from the front line of {front}. Failed missions: {failed}.").format(
        now=dtg(ov.now), front=dtg(ov.front_time), failed=fmt_int(f["missions_failed"])))


def board_and_map(store: Store, token: str, ov: EvacuationOverview, statuses: list[str], marking: str | None
                  ) -> pd.DataFrame:
    board = ov.board()
    shown = board[board["status"].isin(statuses)].reset_index(drop=True)
    left, right = st.columns([3, 2])
    with left:
        st.subheader(_("Board ({shown} of {total})").format(shown=fmt_int(len(shown)), total=fmt_int(len(board))))
        st.dataframe(display_frame(shown), hide_index=True, width="stretch", height=460, key=k("board"))
        lp.csv_download(_("Download the board (CSV)"), shown, file_name=f"evacuations_{dtg(ov.now)}.csv",
                        key=k("dl_board"))
    with right:
        if assets_ok():
            ev = ov.evacuations
            on_map = ev[ev["status"].isin(statuses)].merge(shown[["id", "requested"]], on="id", how="left")
            front, occ = lp.front(store, token, ov.front_time) if ov.front_time is not None else (None, None)
            m = build_evacuation_map(on_map, shelters=_shelters(store, token), front_line=front, occupied_area=occ,
                                     look=lp.map_look(marking, height=520))
            lp.show_map(m, key=k("map"), height=520)
    return shown


def status_form(store: Store, ov: EvacuationOverview) -> None:
    """Move one open evacuation to one of its allowed next statuses."""
    st.subheader(_("Change a status"))
    actor = lp.writer(store, "edit", action=_("Status changes"))
    if actor is None:
        return
    if ov.as_of is not None:
        st.info(_("Showing a past time: choose 'now' to change statuses."))
        return
    board = ov.board()
    open_rows = board[board["status"].map(lambda s: bool(next_statuses(str(s))))]
    if not len(open_rows):
        st.caption(_("No open evacuation."))
        return
    ids = open_rows["id"].tolist()
    sel = st.selectbox(_("Evacuation"), ids, key=k("sel"), format_func=lambda i: _label(open_rows, i))
    row = open_rows[open_rows["id"] == sel].iloc[0]
    allowed = next_statuses(str(row["status"]))
    with st.form(k("status_form")):
        new = st.selectbox(_("New status (now {status})").format(status=term(row["status"])), allowed,
                           key=k("new_status"), format_func=term)
        shelters = _shelters(store, data_token(store))
        usable = shelters[shelters["status"] == "open"]
        dest_ids = ["", *usable["id"].tolist()]
        names = dict(zip(usable["id"], usable["name"], strict=True))
        st.caption(_("For a plan: destination, transport and seats (kept unless you change them)."))
        c1, c2, c3 = st.columns(3)
        dest = c1.selectbox(_("Destination shelter"), dest_ids, key=k("dest"),
                            format_func=lambda i: _("(unchanged)") if not i else f"{i} — {names.get(i, '')}")
        transport = c2.selectbox(_("Transport"), ["", *TRANSPORT_KINDS], key=k("transport"),
                                 format_func=lambda t: term(t) if t else _("(unchanged)"))
        seats = c3.number_input(_("Seats"), min_value=0, max_value=1000, value=0, step=1, key=k("seats"))
        note = st.text_input(_("Note"), key=k("note"))
        go = st.form_submit_button(_("Apply"))
    if go:
        changes: dict[str, Any] = {}
        if dest:
            changes["destination_shelter_id"] = dest
        if transport:
            changes["transport"] = transport
        if seats:
            changes["transport_capacity"] = int(seats)
        try:
            res = change_status(store, str(sel), str(new), actor=actor, expected_version=int(row["version"]),
                                note=note or None, changes=changes)
        except ConflictError as exc:
            st.error(f"{plain(exc)}")
            return
        except CimicError as exc:
            st.error(plain(exc))
            return
        clear_caches()
        st.session_state[k("done")] = res["message"]
        st.rerun()


def _label(rows: pd.DataFrame, i: str) -> str:
    r = rows[rows["id"] == i].iloc[0]
    return _("{id} — {status}, {people} people, {place}").format(
        id=i, status=term(r["status"]), people=fmt_int(r["people"]), place=r["settlement"] or r["pickup"] or "")


def progress(ov: EvacuationOverview) -> None:
    tab_b, tab_d, tab_h = st.tabs([_("Waiting per threat band and group"), _("Missions per day"), _("History")])
    with tab_b:
        st.dataframe(display_frame(ov.by_band.reset_index()), hide_index=True, width="stretch", key=k("by_band"))
        st.caption(_("People not yet picked up (requested or planned) by the threat band of their pickup point; "
                     "children, elderly, reduced mobility and bedridden are among the people, pets are animals."))
    with tab_d:
        per_day = ov.per_day.copy()
        per_day.index = per_day.index.strftime("%d %b")
        st.bar_chart(per_day, stack=False)
        st.dataframe(display_frame(ov.per_day.reset_index().assign(day=lambda d: d["day"].dt.strftime("%Y-%m-%d"))),
                     hide_index=True, width="stretch", key=k("per_day"))
    with tab_h:
        h = ov.history.head(200)
        st.dataframe(display_frame(pd.DataFrame({"when": h["changed_at"].map(dtg), "evacuation": h["evacuation_id"],
                                                "from": h["from_status"], "to": h["to_status"],
                                                "by": h["changed_by"], "version": h["version"]})), hide_index=True, width="stretch", key=k("hist"))


def assignment(store: Store) -> None:
    with st.expander(_("Suggest shelters for the requested evacuations")):
        st.caption(_("Allocates the people of every requested evacuation to open shelters with free places (places "
                     "promised to planned or underway missions are kept), most people first, then least road time; "
                     "the answer does not depend on the order of the rows."))
        minutes = st.number_input(_("Within (minutes by road)"), min_value=5.0, max_value=600.0, value=120.0,
                                  step=15.0, key=k("minutes"))
        if st.button(_("Suggest"), key=k("assign")):
            try:
                with st.spinner(_("Road graph and travel times…")):
                    res = assign_waiting(store, max_minutes=float(minutes))
            except CimicError as exc:
                st.error(plain(exc))
                return
            st.success(plain(_("{assigned} of {waiting} waiting people have a place within {minutes} minutes by road.")
                             .format(assigned=fmt_int(res.people_assigned), waiting=fmt_int(res.people_waiting),
                                     minutes=fmt_number(minutes))))
            st.dataframe(display_frame(res.allocation), hide_index=True, width="stretch", key=k("alloc"))


def page(store: Store, marking: str | None) -> None:
    """The page body after :func:`cimic_geo.ui.common.page_setup`."""
    token = data_token(store)
    got = controls(store, token)
    if got is None:
        st.stop()
    as_of, bands, statuses = got
    done = st.session_state.pop(k("done"), None)
    if done:
        st.success(plain(done))
    try:
        ov = _overview(store, token, as_of, bands)
    except CimicError as exc:
        st.error(plain(exc))
        st.stop()
    kpis(ov)
    board_and_map(store, token, ov, statuses, marking)
    status_form(store, ov)
    progress(ov)
    assignment(store)
    sheet_import_panel(store, "evacuations", page=PAGE)
