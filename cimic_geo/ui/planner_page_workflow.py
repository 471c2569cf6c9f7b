"""The corridor planner's saving and status workflow: save an option as a draft corridor, move
saved corridors through the workflow with optimistic locking, show their history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import streamlit as st
from shapely.geometry import shape

from cimic_geo.corridors import change_status, history, list_corridors, next_statuses, save_option
from cimic_geo.errors import CimicError, Problem, ValidationError
from cimic_geo.i18n import _, term
from cimic_geo.store import Store
from cimic_geo.timefmt import dtg, to_utc
from cimic_geo.ui.common import clear_caches, plain
from cimic_geo.ui.planner_page_state import flash, k, options, show_flash
from cimic_geo.ui.sign_in import current_actor
from cimic_geo.ui.tables import display_frame


def _parse_time(text: str, field: str) -> datetime | None:
    if not (text or "").strip():
        return None
    try:
        return to_utc(text).to_pydatetime()
    except CimicError:
        raise ValidationError("the corridor was not saved", [Problem(
            None, field, f"'{text}' is not a time (use ISO 8601 UTC, e.g. 2026-11-22T06:00Z)")]) from None


def _cell(value: object) -> str:
    """A table cell as text: missing values (None, NaN, NaT) are an em dash, never "None"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return str(value)


def _cells(table: pd.DataFrame) -> pd.DataFrame:
    return table.map(_cell)


def save_ui(store: Store, user: str) -> None:
    """Name and save one option as a draft corridor; the saved corridor becomes the selected one."""
    opts = options()
    if not opts:
        return
    with st.form(k("save_form")):
        idx = st.selectbox(_("Option to save"), range(len(opts)), format_func=lambda i: f"{i + 1}. {opts[i]['label']}",
                           key=k("save_idx"))
        name = st.text_input(_("Corridor name"), key=k("save_name"))
        c1, c2 = st.columns(2)
        ws = c1.text_input(_("Window start (UTC, ISO 8601)"), key=k("save_ws"))
        we = c2.text_input(_("Window end (UTC, ISO 8601)"), key=k("save_we"))
        notes = st.text_area(_("Notes"), key=k("save_notes"), height=68)
        go = st.form_submit_button(_("Save as draft corridor"))
    slot = st.empty()
    if go:
        opt = opts[int(idx)]
        try:
            res = save_option(store, geometry=shape(opt["geometry"]), name=name, actor=current_actor(),
                              origin=opt.get("origin"), destination=opt.get("destination"),
                              window_start=_parse_time(ws, "window_start"), window_end=_parse_time(we, "window_end"),
                              notes=notes or None, source="corridor planner")
        except CimicError as exc:
            st.session_state.pop(k("flash:save"), None)
            st.error(plain(exc))
            return
        clear_caches()
        # the corridor selector below follows the saved corridor (set before that widget is drawn)
        st.session_state[k("sel_box")] = res["id"]
        st.session_state[k("seen_version")] = {**st.session_state.get(k("seen_version"), {}),
                                               res["id"]: res["version"]}
        flash("save", _("saved {name} as {id} ({status}, version {version})").format(
            name=name.strip(), id=res["id"], status=res["status"], version=res["version"]))
        st.rerun()  # the map above, drawn before the save, shows the saved corridor too
    with slot.container():
        show_flash("save")


def _commit_edit(seen: dict, corridor_id: str, edit: Callable[[], dict], message: Callable[[dict], str]) -> None:
    """Run one corridor edit; on success remember the new version, keep its message, drop caches and rerun."""
    try:
        res = edit()
    except CimicError as exc:
        st.session_state.pop(k("flash:workflow"), None)
        st.error(plain(exc))
        return
    seen[corridor_id] = res["version"]
    clear_caches()
    flash("workflow", message(res))
    st.rerun()


def _selected(ids: list[str]) -> None:
    """Keep the corridor selector on a corridor that exists (the one saved last, else the newest)."""
    if st.session_state.get(k("sel_box")) not in ids:
        st.session_state[k("sel_box")] = ids[0]


def workflow_ui(store: Store, user: str) -> None:
    """Saved corridors, their status workflow (only the allowed next statuses) and history."""
    gdf = list_corridors(store)
    if not len(gdf):
        st.caption(_("No saved corridors yet."))
        return
    table = pd.DataFrame({"id": gdf["id"], "name": gdf["name"], "status": gdf["status"], "version": gdf["version"],
                          "updated by": gdf["updated_by"], "updated": gdf["updated_at"].map(dtg)})
    st.dataframe(display_frame(_cells(table)), width="stretch", hide_index=True, key=k("corridors"))
    ids = gdf["id"].tolist()
    names = dict(zip(gdf["id"], gdf["name"], strict=True))
    _selected(ids)
    sel = st.selectbox(_("Corridor"), ids, format_func=lambda i: f"{i} — {names[i]}", key=k("sel_box"))
    slot = st.empty()  # the last write's message, filled at the end (an error in this run removes it)
    row = gdf[gdf["id"] == sel].iloc[0]
    name, status = str(row["name"]), str(row["status"])
    seen = st.session_state.setdefault(k("seen_version"), {})
    seen.setdefault(sel, int(row["version"]))
    if seen[sel] != int(row["version"]):
        st.warning(plain(_("{name} was changed (now version {now}, you are looking at version {seen}). Reload "
                           "before changing it.").format(name=name, now=int(row["version"]), seen=seen[sel])))
        if st.button(_("Reload"), key=k("reload")):
            seen[sel] = int(row["version"])
            st.rerun()
    allowed = next_statuses(status)
    st.write(_("Status: **{status}** — allowed next: {allowed}").format(
        status=plain(term(status)), allowed=plain(", ".join(term(a) for a in allowed) or _("none (closed is final)"))))
    if not allowed:
        st.info(plain(_("{name} is {status}: no status change is allowed from {status} (it is final).").format(
            name=name, status=status)))
    else:
        with st.form(k("status_form")):
            # one widget per corridor and status: the browser keeps no choice from another corridor
            # or status, and the first allowed step is the default
            new = st.selectbox(_("New status"), allowed, key=k(f"new_status:{sel}:{status}"), format_func=term)
            note = st.text_input(_("Note"), key=k("status_note"))
            go = st.form_submit_button(_("Change status"))
        if go:
            _commit_edit(seen, sel, lambda: change_status(store, sel, new, actor=current_actor(),
                                                          expected_version=seen[sel], note=note),
                         lambda res: _("{name} ({id}): status {old} → {new} (version {version})").format(
                             name=name, id=sel, old=status, new=res["status"], version=res["version"]))
    opts = options()
    if opts:
        with st.form(k("edit_form")):
            idx = st.selectbox(_("Replace this corridor's line with option"), range(len(opts)),
                               format_func=lambda i: f"{i + 1}. {opts[i]['label']}", key=k("edit_idx"))
            go_edit = st.form_submit_button(_("Update corridor line"))
        if go_edit:
            label = f"{int(idx) + 1}. {opts[int(idx)]['label']}"
            _commit_edit(seen, sel, lambda: save_option(store, geometry=shape(opts[int(idx)]["geometry"]),
                                                        name=name, actor=current_actor(), corridor_id=sel,
                                                        expected_version=seen[sel]),
                         lambda res: _("{name} ({id}): line replaced with option {option} (version {version})").format(
                             name=name, id=sel, option=label, version=res["version"]))
    with slot.container():
        show_flash("workflow")
    hist = history(store, sel)
    if len(hist):
        show = pd.DataFrame({"when": hist["changed_at"].map(dtg), "who": hist["changed_by"],
                             "action": hist["action"], "from": hist["from_status"], "to": hist["to_status"],
                             "version": hist["version"], "notes": hist["notes"]})
        st.dataframe(display_frame(_cells(show)), width="stretch", hide_index=True, key=k("history"))
