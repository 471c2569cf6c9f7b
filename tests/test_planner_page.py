"""The corridor planner page with AppTest: a drawn line is evaluated, saved, moved through the
workflow and appears in the corridor history; bad input is refused and nothing is saved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from access_fixtures import (
    PT_A,
    PT_H,
    PT_N1,
    PT_N2,
    write_planner_store,
)
from access_fixtures import meridian_km as m_km
from access_fixtures import parallel_km as p_km
from streamlit.testing.v1 import AppTest

from cimic_geo.store import connect, corridor_history, set_corridor_status

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "3_Corridor_planner.py")
NORTH_LOOP = {"type": "LineString", "coordinates": [list(PT_A), list(PT_N1), list(PT_N2), list(PT_H)]}


@pytest.fixture
def planner_db(empty_db: Path) -> Path:
    with connect(empty_db) as store:
        write_planner_store(store)
    return empty_db


def _app(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def _button(at: AppTest, label: str):
    hits = [b for b in at.button if b.label == label]
    assert hits, f"no button {label!r}: {[b.label for b in at.button]}"
    return hits[0]


def _errors(at: AppTest) -> str:
    """The error messages as the user reads them (data is shown with markdown characters escaped)."""
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))


def _new_status(at: AppTest):
    """The *New status* selectbox (its key names the corridor and its status)."""
    hits = [s for s in at.selectbox if s.label == "New status"]
    assert len(hits) == 1, [s.label for s in at.selectbox]
    return hits[0]


def _successes(at: AppTest) -> list[str]:
    """The success messages as the user reads them."""
    return [re.sub(r"\\(.)", r"\1", m.value) for m in at.success]


def _map_script(at: AppTest) -> str:
    """The planner map as st_folium sends it to the browser: base map script and data groups."""
    (component,) = at.get("component_instance")
    args = json.loads(component.proto.json_args)
    return args["script"] + args["html"] + (args.get("feature_group") or "")


def _draw(at: AppTest, geometry: dict) -> AppTest:
    # what ui.planner_page_state.take_drawing stores when st_folium reports a drawn line
    at.session_state["planner:drawn"] = geometry
    at.run()
    _button(at, "Evaluate drawn line").click()
    at.run()
    return at


def test_drawn_line_is_evaluated_saved_and_in_the_history(monkeypatch, planner_db):
    at = _app(monkeypatch, planner_db)
    at.run()
    _draw(at, NORTH_LOOP)
    assert not at.exception and not at.error, _errors(at)
    table = at.dataframe[0].value
    col = "1. drawn line 1"
    assert list(table.columns) == [col]
    # A -> N1 -> N2 -> H: 2 x 0.05° of meridian around 48.025 + 0.1° along 48.05 (geodesic)
    expected = 2 * m_km(48.025, 0.05) + p_km(48.05, 0.1)
    assert float(table.loc["Length (km, geodesic)", col]) == pytest.approx(expected, abs=1e-3)
    assert float(table.loc["Closest to front line (km)", col]) == pytest.approx(m_km(48.06, 0.02), abs=2e-3)

    with connect(planner_db, read_only=True) as store:
        before = store.fingerprint()
    # saving without a name: refused, nothing written
    _button(at, "Save as draft corridor").click()
    at.run()
    assert "a corridor needs a name" in _errors(at)
    with connect(planner_db, read_only=True) as store:
        assert store.fingerprint() == before

    at.text_input(key="planner:save_name").input("North loop <b>A</b>")
    at.text_input(key="planner:save_ws").input("2026-11-22T06:00Z")
    at.text_input(key="planner:save_we").input("2026-11-22T18:00Z")
    _button(at, "Save as draft corridor").click()
    at.run()
    assert not at.error, _errors(at)
    assert any("saved North loop" in s.value for s in at.success)

    with connect(planner_db, read_only=True) as store:
        corridors = store.read("corridors")
        hist = corridor_history(store)
    assert len(corridors) == 1
    row = corridors.iloc[0]
    assert row["name"] == "North loop <b>A</b>" and row["status"] == "draft" and row["version"] == 1
    assert list(row.geometry.coords) == [PT_A, PT_N1, PT_N2, PT_H]
    assert row["window_start"] == pd.Timestamp("2026-11-22T06:00Z")
    # the signed-in user (in-process page tests: the conftest actor), not a typed name
    assert hist["action"].tolist() == ["create"] and hist["changed_by"].tolist() == ["apptest"]
    # the page shows the history of the saved corridor
    shown = at.dataframe[-1].value
    assert shown["action"].tolist() == ["create"] and shown["who"].tolist() == ["apptest"]
    # the name is shown as text, never as HTML
    assert not any("<b>A</b>" in m.body for m in at.markdown)

    cid = row["id"]
    # only the steps allowed from draft are offered (an illegal one such as draft -> active cannot be picked)
    assert _new_status(at).options == ["proposed", "closed"]
    _new_status(at).select("proposed")
    at.text_input(key="planner:status_note").input("sent to the oblast administration")
    _button(at, "Change status").click()
    at.run()
    assert not at.error, _errors(at)
    assert _successes(at) == [f"North loop <b>A</b> ({cid}): status draft → proposed (version 2)"]
    with connect(planner_db, read_only=True) as store:
        hist = corridor_history(store, cid)
    assert hist["action"].tolist() == ["status", "create"]
    assert hist.iloc[0]["from_status"] == "draft" and hist.iloc[0]["to_status"] == "proposed"
    assert hist.iloc[0]["notes"] == "sent to the oblast administration"

    # edit the line: a new version with an "edit" history row
    _button(at, "Update corridor line").click()
    at.run()
    assert not at.error, _errors(at)
    assert _successes(at) == [f"North loop <b>A</b> ({cid}): line replaced with option 1. drawn line 1 (version 3)"]
    with connect(planner_db, read_only=True) as store:
        hist = corridor_history(store, cid)
        assert store.read("corridors").iloc[0]["version"] == 3
    assert hist["action"].tolist() == ["edit", "status", "create"]

    # another session agrees the corridor meanwhile: this session's change must not overwrite it
    with connect(planner_db) as other:
        set_corridor_status(other, cid, "agreed", user="Maj Other", expected_version=3)
    at.run()
    assert any("was changed" in w.value for w in at.warning)
    _new_status(at).select("closed")
    _button(at, "Change status").click()
    at.run()
    assert "changed by someone else" in _errors(at)
    with connect(planner_db, read_only=True) as store:
        assert store.read("corridors").iloc[0]["status"] == "agreed"


def test_bad_drawn_lines_are_refused_and_nothing_is_saved(monkeypatch, planner_db):
    at = _app(monkeypatch, planner_db)
    _draw(at, {"type": "LineString", "coordinates": [[37.0, 48.0], [37.1, 48.05], [37.1, 48.0], [37.0, 48.05]]})
    assert "crosses itself" in _errors(at)
    at = _app(monkeypatch, planner_db)
    _draw(at, {"type": "LineString", "coordinates": [[37.0, 48.0], [37.0, 48.0]]})
    assert "zero-length" in _errors(at)
    assert not [b for b in at.button if b.label == "Save as draft corridor"]  # no option to save
    with connect(planner_db, read_only=True) as store:
        assert store.counts()["corridors"] == 0


def test_cut_off_settlements_on_the_page(monkeypatch, planner_db):
    at = _app(monkeypatch, planner_db)
    at.number_input(key="planner:cut_avoid").set_value(3.0)
    at.text_input(key="planner:cut_hubs").input("Harbour")
    _button(at, "Find cut-off settlements").click()
    at.run()
    assert not at.error, _errors(at)
    metrics = {m.label: m.value for m in at.metric}
    # the bridge is destroyed and the northern road is 2.2 km from the front: Alpha (1,200) is cut off
    assert metrics["Cut off"] == "1" and metrics["Population cut off"] == "1,200"
    cut = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert cut["name"].tolist() == ["Alpha"]
    # ... and on the map (drawn again after the search): one magenta diamond with name, population, reason
    script = _map_script(at)
    assert script.count("cimic-cutoff") == 1
    assert f"CUT OFF: Alpha (pop. 1,200) — {cut['reason'].iloc[0]}" in script
    assert "cut off from safety" in script  # legend entry
    at.text_input(key="planner:cut_hubs").input("Harbor")
    _button(at, "Find cut-off settlements").click()
    at.run()
    assert "did you mean: Harbour" in _errors(at)


def test_suggested_routes_and_unknown_places(monkeypatch, planner_db):
    at = _app(monkeypatch, planner_db)
    at.text_input(key="planner:origin").input("Alpah")
    at.text_input(key="planner:destination").input("Harbour")
    _button(at, "Suggest routes").click()
    at.run()
    assert "did you mean: Alpha" in _errors(at)

    at.text_input(key="planner:origin").input("alpha")
    _button(at, "Suggest routes").click()
    at.run()
    assert not at.error, _errors(at)
    table = at.dataframe[0].value
    assert table.columns[0] == "1. Alpha → Harbour (least risk)"
    expected = 2 * m_km(48.025, 0.05) + p_km(48.05, 0.1)  # the only way: the bridge is destroyed
    assert float(table.iloc[:, 0]["Length (km, geodesic)"]) == pytest.approx(expected, abs=1e-3)
    n = len(table.columns)  # the least-risk route and its alternatives, numbered 1..n in the comparison
    numbers = "option 1" if n == 1 else f"options 1–{n}"
    assert _successes(at) == [f"{n} route option(s) added as {numbers}: Alpha → Harbour, "
                              f"least-risk route {expected:.1f} km"]

    at.text_input(key="planner:origin").input("47.5,37.0")  # 55 km south of any road
    _button(at, "Suggest routes").click()
    at.run()
    assert "from the nearest passable road" in _errors(at)


def test_planner_has_the_export_panel_with_corridors_and_roads(monkeypatch, planner_db):
    at = _app(monkeypatch, planner_db)
    assert "cimic-cutoff" not in _map_script(at)  # nothing searched yet
    assert "Export for the brief" in [s.value for s in at.subheader]
    view = next(c.value for c in at.caption if c.value.startswith("View: "))
    assert {"corridors", "roads", "front_line", "settlements"} <= set(view.split("layers: ")[1].split(", "))
    _draw(at, NORTH_LOOP)
    at.text_input(key="planner:save_name").input("North loop")
    _button(at, "Save as draft corridor").click()
    at.run()
    assert not at.error, _errors(at)
    with connect(planner_db, read_only=True) as store:
        saved = store.fingerprint()
    at.multiselect(key="planner:export_formats").set_value(["geojson"])
    at.button(key="planner:export_prepare").click()
    at.run()
    assert not at.exception and not at.error, _errors(at)
    name, data = (at.session_state["planner:export_files"] or {})["files"]["geojson"]
    assert name.endswith("20261120_0600Z.geojson")  # the front line's as-of time
    by_layer: dict[str, list] = {}
    for f in json.loads(data)["features"]:
        by_layer.setdefault(f["properties"]["layer"], []).append(f["properties"])
    assert [p["name"] for p in by_layer["corridors"]] == ["North loop"]  # the corridor just saved
    with connect(planner_db, read_only=True) as store:
        assert len(by_layer["roads"]) == store.counts()["roads"]  # the map's extent holds every road
        assert store.fingerprint() == saved  # exporting writes nothing


def _map_args(at: AppTest) -> dict:
    (component,) = at.get("component_instance")
    return json.loads(component.proto.json_args)


def test_map_keeps_the_users_view_while_its_content_changes(monkeypatch, planner_db):
    """The base map (its script, hence the component key and the mounted Leaflet map) stays the same
    while cut-off results or options change: those go in the feature groups, with no fitBounds
    unless routes were suggested. The export panel exports the view the map last reported."""
    at = _app(monkeypatch, planner_db)
    first = _map_args(at)
    assert "fitBounds" in first["script"]  # first load: fitted to the data
    assert "fitBounds" not in first["feature_group"]
    assert sorted(first["returned_objects"]) == ["all_drawings", "bounds", "last_active_drawing", "zoom"]
    # the user zooms in on Alpha: what st_folium reports after the pan
    at.session_state["planner:map"] = {"bounds": {"_southWest": {"lat": 47.99, "lng": 36.98},
                                                  "_northEast": {"lat": 48.02, "lng": 37.03}}, "zoom": 14}
    at.number_input(key="planner:cut_avoid").set_value(3.0)
    at.text_input(key="planner:cut_hubs").input("Harbour")
    _button(at, "Find cut-off settlements").click()
    at.run()
    assert not at.error, _errors(at)
    after = _map_args(at)
    assert "cimic-cutoff" in after["feature_group"]  # the new content ...
    assert after["script"] == first["script"] and after["key"] == first["key"]  # ... on the same mounted map
    assert "fitBounds" not in after["feature_group"]  # ... without moving the view
    view = next(c.value for c in at.caption if c.value.startswith("View: "))
    assert view.startswith("View: 47.990–48.020°N, 36.980–37.030°E")  # the export is of the reported view

    at.text_input(key="planner:origin").input("Alpha")
    at.text_input(key="planner:destination").input("Harbour")
    _button(at, "Suggest routes").click()
    at.run()
    assert not at.error, _errors(at)
    assert len(at.session_state["planner:options"]) == 1  # the bridge is destroyed: only the northern loop
    routed = _map_args(at)
    assert routed["key"] == first["key"]
    # asked for: fit to the route A (37.0, 48.0) -> N1 (37.0, 48.05) -> N2 (37.1, 48.05) -> H (37.1, 48.0)
    assert "fitBounds([[48.0, 37.0], [48.05, 37.1]]" in routed["feature_group"]
    # a later change (cut-off search again) sends the same numbered command, which the browser has run already
    _button(at, "Find cut-off settlements").click()
    at.run()
    again = _map_args(at)
    assert again["key"] == first["key"]
    assert again["feature_group"].count("n = 1;") == 1 and "n = 2;" not in again["feature_group"]
    # the user asks for the whole data again: roads and settlements span 37.0-37.1 E, 48.0-48.05 N
    # and the front line 36.8-37.3 E along 48.07 N
    _button(at, "Fit map to the data").click()
    at.run()
    fitted = _map_args(at)
    assert fitted["key"] == first["key"] and "n = 2;" in fitted["feature_group"]
    assert "fitBounds([[48.0, 36.8], [48.07, 37.3]]" in fitted["feature_group"]


def test_a_cold_planner_run_hashes_the_road_data_once(monkeypatch, planner_db):
    """The page's version hash is passed on to the road-graph loading, not computed there again
    (a national read-write store takes a second or two per hash)."""
    import cimic_geo.store.access_version as av

    calls = []
    real = av._hashed_version
    monkeypatch.setattr(av, "_hashed_version", lambda store: calls.append(1) or real(store))
    at = _app(monkeypatch, planner_db)
    assert any("Road graph:" in c.value for c in at.caption)  # the graph was built in this run
    assert len(calls) == 1


def test_access_version_is_hashed_once_per_data_change(monkeypatch, planner_db):
    """The road-graph version hash runs once per data_token, not on every rerun; a corridor save
    moves the token (every page reloads) and the hash runs once more."""
    from cimic_geo.ui import planner_page as ui

    calls = []
    real = ui.access_data_version
    monkeypatch.setattr(ui, "access_data_version", lambda store: calls.append(1) or real(store))
    at = _app(monkeypatch, planner_db)
    assert len(calls) == 1
    at.run()
    assert len(calls) == 1  # a rerun without a write: cached by the token
    _draw(at, NORTH_LOOP)
    at.text_input(key="planner:save_name").input("Cached loop")
    _button(at, "Save as draft corridor").click()
    at.run()
    assert not at.error, _errors(at)
    at.run()
    assert len(calls) == 2
    assert "Cached loop" in _map_script(at)  # the map shows the saved corridor


def test_planner_on_the_demo_scenario_read_only(monkeypatch, demo_db):
    monkeypatch.setenv("CIMIC_DB", str(demo_db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert any("Road graph:" in c.value for c in at.caption)
    with connect(demo_db, read_only=True) as store:
        big = store.read("settlements", columns=["name", "population"]).sort_values("population").tail(2)
    a, b = big["name"].tolist()
    at.text_input(key="planner:origin").input(a.upper())
    at.text_input(key="planner:destination").input(b)
    _button(at, "Suggest routes").click()
    at.run()
    assert not at.exception and not at.error, _errors(at)
    table = at.dataframe[0].value
    assert table.columns[0].startswith(f"1. {a} → {b}")
    assert float(table.iloc[:, 0]["Length (km, geodesic)"]) > 0
    # read-only deployment: saving is refused with a message, nothing written
    at.text_input(key="planner:save_name").input("Try")
    _button(at, "Save as draft corridor").click()
    at.run()
    assert "read-only" in _errors(at)
