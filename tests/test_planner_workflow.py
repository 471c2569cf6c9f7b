"""The corridor planner's status workflow with AppTest: the saved corridor becomes the selected one,
only the allowed next statuses are offered (first one by default), a final status says so, and every
write shows a message naming what it changed."""

from __future__ import annotations

import pytest
from test_planner_page import (
    NORTH_LOOP,
    _app,
    _button,
    _draw,
    _errors,
    _new_status,
    _successes,
    planner_db,  # noqa: F401  (fixture)
)

from cimic_geo.corridors import next_statuses
from cimic_geo.store import connect, set_corridor_status


def _save(at, db, name: str) -> str:
    at.text_input(key="planner:save_name").input(name)
    _button(at, "Save as draft corridor").click()
    at.run()
    assert not at.error, _errors(at)
    with connect(db, read_only=True) as store:
        corridors = store.read("corridors")
    return str(corridors.loc[corridors["name"] == name, "id"].iloc[0])


@pytest.fixture
def page(monkeypatch, planner_db):  # noqa: F811
    """The planner page with one drawn line evaluated (an option to save), and its store."""
    at = _app(monkeypatch, planner_db)
    return _draw(at, NORTH_LOOP), planner_db


def test_next_statuses_follow_the_workflow_table():
    # the workflow as the planners agreed it, written out by hand
    assert next_statuses("draft") == ("proposed", "closed")
    assert next_statuses("proposed") == ("agreed", "draft", "closed")
    assert next_statuses("agreed") == ("active", "suspended", "closed")
    assert next_statuses("active") == ("suspended", "closed")
    assert next_statuses("suspended") == ("active", "closed")
    assert next_statuses("closed") == ()
    assert next_statuses("no such status") == ()


def test_saving_selects_the_saved_corridor_and_status_changes_only_it(page):
    at, db = page
    c_id = _save(at, db, "corridor C")
    assert at.selectbox(key="planner:sel_box").value == c_id
    d_id = _save(at, db, "corridor D")
    # the selector follows the corridor just saved, not the one selected before
    assert at.selectbox(key="planner:sel_box").value == d_id
    assert _successes(at) == [f"saved corridor D as {d_id} (draft, version 1)"]
    # draft: proposed or closed are offered, proposed by default
    status = _new_status(at)
    assert status.options == ["proposed", "closed"] and status.value == "proposed"
    _button(at, "Change status").click()
    at.run()
    assert not at.error, _errors(at)
    assert _successes(at) == [f"corridor D ({d_id}): status draft → proposed (version 2)"]
    with connect(db, read_only=True) as store:
        rows = store.read("corridors").set_index("name")
    assert (rows.loc["corridor D", "status"], int(rows.loc["corridor D", "version"])) == ("proposed", 2)
    assert (rows.loc["corridor C", "status"], int(rows.loc["corridor C", "version"])) == ("draft", 1)
    # D stays selected and now offers the steps from proposed
    assert at.selectbox(key="planner:sel_box").value == d_id
    assert _new_status(at).options == ["agreed", "draft", "closed"]
    assert _new_status(at).value == "agreed"


@pytest.mark.parametrize(("path", "offered"), [
    (["proposed", "agreed"], ["active", "suspended", "closed"]),
    (["proposed", "agreed", "active"], ["suspended", "closed"]),
    (["proposed", "agreed", "active", "suspended"], ["active", "closed"]),
])
def test_only_allowed_transitions_are_offered(page, path, offered):
    at, db = page
    cid = _save(at, db, "corridor E")
    with connect(db) as store:
        for version, status in enumerate(path, start=1):
            set_corridor_status(store, cid, status, user="Maj Other", expected_version=version)
    at.run()
    _button(at, "Reload").click()  # another session moved it: reload before changing it
    at.run()
    status = _new_status(at)
    assert status.options == offered and status.value == offered[0]
    assert f"allowed next: {', '.join(offered)}" in " ".join(m.value for m in at.markdown)


def test_a_closed_corridor_offers_no_status_change(page):
    at, db = page
    cid = _save(at, db, "corridor F")
    _new_status(at).select("closed")
    _button(at, "Change status").click()
    at.run()
    assert _successes(at) == [f"corridor F ({cid}): status draft → closed (version 2)"]
    assert not [b for b in at.button if b.label == "Change status"]
    assert "no status change is allowed from closed" in " ".join(i.value for i in at.info)


def test_history_shows_a_dash_for_missing_values(page):
    at, db = page
    _save(at, db, "corridor G")
    shown = at.dataframe[-1].value
    # a created corridor has no previous status and no note
    assert shown["action"].tolist() == ["create"]
    assert shown["from"].tolist() == ["—"] and shown["notes"].tolist() == ["—"]
    assert "None" not in shown.to_string()
