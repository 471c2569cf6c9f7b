"""The corridor planner's saving and status workflow: save an option as a draft corridor, move
saved corridors through the workflow with optimistic locking, show their history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import streamlit as st
from shapely.geometry import shape

from cimic_geo.corridors import change_status, history, list_corridors, save_option
from cimic_geo.errors import CimicError, Problem, ValidationError
from cimic_geo.schema import CORRIDOR_STATUSES, CORRIDOR_TRANSITIONS
from cimic_geo.store import Store
from cimic_geo.timefmt import dtg, to_utc
from cimic_geo.ui.common import clear_caches, plain
from cimic_geo.ui.planner_page_state import k, options
from cimic_geo.ui.sign_in import current_actor


def _parse_time(text: str, field: str) -> datetime | None:
    if not (text or "").strip():
        return None
    try:
        return to_utc(text).to_pydatetime()
    except CimicError:
        raise ValidationError("the corridor was not saved", [Problem(
            None, field, f"'{text}' is not a time (use ISO 8601 UTC, e.g. 2026-11-22T06:00Z)")]) from None


def save_ui(store: Store, user: str) -> None:
    """Name and save one option as a draft corridor."""
    opts = options()
    if not opts:
        return
    with st.form(k("save_form")):
        idx = st.selectbox("Option to save", range(len(opts)), format_func=lambda i: f"{i + 1}. {opts[i]['label']}",
                           key=k("save_idx"))
        name = st.text_input("Corridor name", key=k("save_name"))
        c1, c2 = st.columns(2)
        ws = c1.text_input("Window start (UTC, ISO 8601)", key=k("save_ws"))
        we = c2.text_input("Window end (UTC, ISO 8601)", key=k("save_we"))
        notes = st.text_area("Notes", key=k("save_notes"), height=68)
        go = st.form_submit_button("Save as draft corridor")
    if not go:
        return
    opt = opts[int(idx)]
    try:
        res = save_option(store, geometry=shape(opt["geometry"]), name=name, actor=current_actor(),
                          origin=opt.get("origin"), destination=opt.get("destination"),
                          window_start=_parse_time(ws, "window_start"), window_end=_parse_time(we, "window_end"),
                          notes=notes or None, source="corridor planner")
    except CimicError as exc:
        st.error(plain(exc))
        return
    clear_caches()
    st.session_state[k("selected")] = res["id"]
    st.session_state[k("seen_version")] = {**st.session_state.get(k("seen_version"), {}), res["id"]: res["version"]}
    st.success(plain(f"saved {name} as {res['id']} ({res['status']}, version {res['version']})"))


def _commit_edit(seen: dict, corridor_id: str, edit: Callable[[], dict], message: Callable[[dict], str]) -> None:
    """Run one corridor edit; on success remember the new version, drop caches and rerun."""
    try:
        res = edit()
    except CimicError as exc:
        st.error(plain(exc))
        return
    seen[corridor_id] = res["version"]
    clear_caches()
    st.success(plain(message(res)))
    st.rerun()


def workflow_ui(store: Store, user: str) -> None:
    """Saved corridors, their status workflow and history."""
    gdf = list_corridors(store)
    if not len(gdf):
        st.caption("No saved corridors yet.")
        return
    table = pd.DataFrame({"id": gdf["id"], "name": gdf["name"], "status": gdf["status"], "version": gdf["version"],
                          "updated by": gdf["updated_by"], "updated": gdf["updated_at"].map(dtg)})
    st.dataframe(table.astype(str), width="stretch", hide_index=True, key=k("corridors"))
    ids = gdf["id"].tolist()
    default = st.session_state.get(k("selected"))
    sel = st.selectbox("Corridor", ids, index=ids.index(default) if default in ids else 0,
                       format_func=lambda i: f"{i} — {gdf.loc[gdf['id'] == i, 'name'].iloc[0]}", key=k("sel_box"))
    row = gdf[gdf["id"] == sel].iloc[0]
    seen = st.session_state.setdefault(k("seen_version"), {})
    seen.setdefault(sel, int(row["version"]))
    if seen[sel] != int(row["version"]):
        st.warning(plain(f"{row['name']} was changed (now version {int(row['version'])}, you are looking at "
                         f"version {seen[sel]}). Reload before changing it."))
        if st.button("Reload", key=k("reload")):
            seen[sel] = int(row["version"])
            st.rerun()
    allowed = CORRIDOR_TRANSITIONS.get(str(row["status"]), ())
    st.write(f"Status: **{plain(row['status'])}** — allowed next: "
             f"{', '.join(allowed) or 'none (closed is final)'}")
    with st.form(k("status_form")):
        new = st.selectbox("New status", CORRIDOR_STATUSES, key=k("new_status"))
        note = st.text_input("Note", key=k("status_note"))
        go = st.form_submit_button("Change status")
    if go:
        _commit_edit(seen, sel, lambda: change_status(store, sel, new, actor=current_actor(), expected_version=seen[sel],
                                                      note=note),
                     lambda res: f"{sel} is now {res['status']} (version {res['version']})")
    opts = options()
    if opts:
        with st.form(k("edit_form")):
            idx = st.selectbox("Replace this corridor's line with option", range(len(opts)),
                               format_func=lambda i: f"{i + 1}. {opts[i]['label']}", key=k("edit_idx"))
            go_edit = st.form_submit_button("Update corridor line")
        if go_edit:
            _commit_edit(seen, sel, lambda: save_option(store, geometry=shape(opts[int(idx)]["geometry"]),
                                                        name=str(row["name"]), actor=current_actor(), corridor_id=sel,
                                                        expected_version=seen[sel]),
                         lambda res: f"{sel}: line updated (version {res['version']})")
    hist = history(store, sel)
    if len(hist):
        show = pd.DataFrame({"when": hist["changed_at"].map(dtg), "who": hist["changed_by"],
                             "action": hist["action"], "from": hist["from_status"], "to": hist["to_status"],
                             "version": hist["version"], "notes": hist["notes"]})
        st.dataframe(show.astype(str), width="stretch", hide_index=True, key=k("history"))


