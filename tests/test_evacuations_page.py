"""Evacuations page (AppTest) and the ``evacuations`` CLI on the demo database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cimic_geo.auth import Actor
from cimic_geo.cli import main
from cimic_geo.evacuations import evacuation_overview
from cimic_geo.schema import EVACUATION_TRANSITIONS
from cimic_geo.store import connect
from cimic_geo.store.evacuation_records import evacuation_history
from cimic_geo.ui.sign_in import signed_in_for_tests

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "5_Evacuations.py")


EDITOR = Actor("lt.test", "user", "editor")
VIEWER = Actor("viewer1", "user", "viewer")


def _run(monkeypatch: pytest.MonkeyPatch, db: Path, *, read_only: bool, actor: Actor = EDITOR) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1" if read_only else "0")
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=180)
    with signed_in_for_tests(actor):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_kpis_and_board_match_the_overview(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db, read_only=True)
    with connect(demo_db, read_only=True) as store:
        ov = evacuation_overview(store, bands_km=(5, 20, 40))
    k = ov.kpis()
    m = {x.label: x.value for x in at.metric}
    assert m["Open requests"] == f"{k['requests_open']:,}" and k["requests_open"] > 0
    assert m["People waiting"] == f"{k['people_waiting']:,}"
    assert m["People evacuated"] == f"{k['people_evacuated']:,}"
    assert m["Oldest open request"] == f"{k['oldest_open_hours']:,.0f} h"
    board = at.dataframe[0].value
    expected = ov.board()
    expected = expected[expected["status"].isin(["requested", "planned", "underway"])]
    assert board["id"].tolist() == expected["id"].tolist()
    by_band = next(d.value for d in at.dataframe if "requests" in d.value.columns)
    assert int(by_band["people"].sum()) == k["people_waiting"]
    assert any("read-only" in i.value for i in at.info)  # no status change on a read-only store
    # the spreadsheet templates are offered here too; importing is not, on a read-only store
    assert any(e.label == "Spreadsheet: template and import (Evacuations)" for e in at.expander)
    assert any("read-only" in i.value and "imports" in i.value.lower() for i in at.info)


def test_status_change_offers_only_allowed_transitions_and_says_what_changed(monkeypatch, demo_db_copy):
    at = _run(monkeypatch, demo_db_copy, read_only=False)
    sel = at.selectbox(key="evacuations:sel")
    with connect(demo_db_copy, read_only=True) as store:
        board = evacuation_overview(store).board().set_index("id")
        shelter = store.read("shelters", where={"status": "open"}, columns=["name"])["id"].iloc[0]
    requested = board.index[board["status"] == "requested"][0]
    assert len(sel.options) == int(board["status"].isin(["requested", "planned", "underway"]).sum())
    with signed_in_for_tests(EDITOR):
        sel.set_value(requested).run()
    new = at.selectbox(key="evacuations:new_status")
    assert tuple(new.options) == EVACUATION_TRANSITIONS["requested"]  # planned, cancelled
    new.set_value("planned")
    at.selectbox(key="evacuations:dest").set_value(shelter)
    at.selectbox(key="evacuations:transport").set_value("bus")
    at.button[0].click()  # the form's submit button comes first on the page
    with signed_in_for_tests(EDITOR):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    msgs = [re.sub(r"\\(.)", r"\1", s.value) for s in at.success]  # as read: data shown markdown-escaped
    assert any(f"Evacuation {requested}: requested → planned" in s and shelter in s and "bus" in s for s in msgs), msgs
    with connect(demo_db_copy, read_only=True) as store:
        hist = evacuation_history(store, requested)
        row = store.read("evacuations", where={"id": requested}).iloc[0]
    assert hist.iloc[0]["to_status"] == "planned" and hist.iloc[0]["changed_by"] == "lt.test"
    assert row["status"] == "planned" and row["destination_shelter_id"] == shelter


def test_viewer_sees_the_board_but_cannot_change_statuses(monkeypatch, demo_db_copy):
    at = _run(monkeypatch, demo_db_copy, read_only=False, actor=VIEWER)
    assert len(at.dataframe) >= 1
    assert any("editor" in i.value for i in at.info)
    assert not [s for s in at.selectbox if s.key == "evacuations:sel"]


def test_cli_board_and_status(demo_db_copy, capsys):
    assert main(["evacuations", "board", "--db", str(demo_db_copy), "--json", "--status", "requested"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in doc["board"]} == {"requested"}
    assert sum(b["people"] for b in doc["waiting_by_band"].values()) == doc["kpis"]["people_waiting"]
    eid, version = doc["board"][0]["id"], doc["board"][0]["version"]
    assert main(["evacuations", "status", eid, "completed", "--user", "u", "--version", str(version),
                 "--db", str(demo_db_copy), "--json"]) == 2  # requested -> completed is not allowed
    err = json.loads(capsys.readouterr().out)
    assert "cannot go from requested to completed" in err["error"]
    assert main(["evacuations", "status", eid, "cancelled", "--user", "u", "--version", str(version),
                 "--db", str(demo_db_copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "cancelled"
    assert main(["evacuations", "history", eid, "--db", str(demo_db_copy), "--json"]) == 0
    hist = json.loads(capsys.readouterr().out)["history"]
    assert hist[0]["to_status"] == "cancelled" and hist[0]["from_status"] == "requested"


def test_past_time_shows_statuses_from_the_history(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db, read_only=True)
    t = pd.Timestamp("2026-10-01T00:00Z")  # a daily front-line snapshot of the scenario
    with signed_in_for_tests(EDITOR):
        at.select_slider(key="evacuations:as_of").set_value(t).run()
    assert not at.exception, [e.value for e in at.exception]
    with connect(demo_db, read_only=True) as store:
        then = evacuation_overview(store, as_of=t, bands_km=(5, 20, 40)).kpis()
        now = evacuation_overview(store, bands_km=(5, 20, 40)).kpis()
    m = {x.label: x.value for x in at.metric}
    assert m["Open requests"] == f"{then['requests_open']:,}"
    assert m["People evacuated"] == f"{then['people_evacuated']:,}"
    assert then["people_evacuated"] < now["people_evacuated"]  # fewer had been evacuated by then
