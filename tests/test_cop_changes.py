"""The COP's "what changed" panel on a hand-made history (tests/history_fixtures.py): the tables list
exactly the hand-made differences since the last brief and the map gets a ring per changed feature."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from history_fixtures import D, build_history
from pyproj import Geod
from shapely.geometry import box
from streamlit.testing.v1 import AppTest
from test_cop_page import map_args, sent_layers

from cimic_geo.store import connect
from cimic_geo.store.brief_log import brief_times, last_brief_time

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "1_COP.py")


def _run(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _every_kind(at: AppTest) -> dict[tuple[str, ...], pd.DataFrame]:
    """The panel's table of each kind of change, choosing the kinds one after the other (one table shown at
    a time; a kind without a change shows no table)."""
    frames: dict[tuple[str, ...], pd.DataFrame] = {}
    for kind in ("shelters", "damage", "corridors", "front", "imports"):
        at.segmented_control(key="cop:changes_kind").set_value(kind).run()
        assert not at.exception, [e.value for e in at.exception]
        shown = [d.value for d in at.dataframe]
        assert len(shown) <= 1, [tuple(d.columns) for d in shown]  # only the chosen kind's table
        frames.update({tuple(d.columns): d for d in shown})
    return frames


def test_brief_times_are_recorded_and_the_latest_before_a_time_is_found(hand_made_history_db: Path) -> None:
    with connect(hand_made_history_db) as store:
        assert brief_times(store) == [D[2]]
        assert last_brief_time(store, before=D[5]) == D[2]
        assert last_brief_time(store, before=D[2]) is None  # strictly before


def test_panel_lists_exactly_the_hand_made_changes_since_the_last_brief(monkeypatch: pytest.MonkeyPatch,
                                                                        hand_made_history_db: Path) -> None:
    at = _run(monkeypatch, hand_made_history_db)
    box_ = next(s for s in at.selectbox if s.label == "What changed")
    assert box_.value == 0 and box_.options[0] == "since the last brief (020000ZOCT26)"
    head = [m.value for m in at.subheader if m.value.startswith("What changed")]
    assert head == ["What changed 020000ZOCT26 → now"]
    frames = _every_kind(at)
    shelters = frames[("name", "id", "change", "status before", "status after", "capacity before", "capacity after")]
    assert shelters.values.tolist() == [["Shelter A", "A", "closed", "open", "closed", "100", "100"],
                                        ["Shelter B", "B", "capacity changed", "full", "full", "50", "80"]]
    damage = frames[("sector", "name", "id", "change", "damage before", "damage after")]
    assert damage.values.tolist() == [["power", "Object I1", "I1", "new", "none", "major"],
                                      ["water", "Object I2", "I2", "repaired", "major", "major"]]
    corridors = frames[("time (DTG)", "name", "id", "status before", "status after", "by")]
    assert corridors.values.tolist() == [["030000ZOCT26", "Corridor North", "C1", "proposed", "agreed", "planner1"]]
    front = frames[("change", "area (km², geodesic)")]
    gained = abs(Geod(ellps="WGS84").geometry_area_perimeter(box(37.0, 47.8, 37.2, 48.3))[0]) / 1e6  # ~829 km²
    assert front.values.tolist() == [["newly occupied", f"{gained:,.1f}"], ["liberated", "0.0"],
                                     ["net occupied", f"+{gained:,.1f}"]]
    imports = frames[("time (DTG)", "layer", "rows", "files", "by")]
    assert imports[["layer", "rows", "files", "by"]].values.tolist() == [["shelters", "3", "shelters_d3.csv",
                                                                         "planner1"]]
    # open places: D2 A 100 + B 50 + C 80 = 230; now B 80 + C 80 = 160 (A closed) => -70
    assert any("places in open shelters 230 → 160 (-70)" in c.value for c in at.caption)
    # the map rings exactly the changed shelters, objects and the corridor
    ringed = sent_layers(map_args(at))["changes"]["features"]
    assert sorted((f["properties"]["kind"], f["properties"]["id"]) for f in ringed) == [
        ("corridors", "C1"), ("infrastructure", "I1"), ("infrastructure", "I2"), ("shelters", "A"),
        ("shelters", "B")]
    a = next(f for f in ringed if f["properties"]["id"] == "A")
    assert a["geometry"]["coordinates"] == [37.4, 48.1]
    assert (a["properties"]["before"], a["properties"]["after"]) == ("open (100)", "closed (100)")


def test_without_a_brief_the_window_is_24_hours_before_the_picture(monkeypatch: pytest.MonkeyPatch,
                                                                   empty_db: Path) -> None:
    with connect(empty_db) as store:
        build_history(store, brief=False, imports=False)
    at = _run(monkeypatch, empty_db)
    # the picture is the newest snapshot D5 (current layers); 24 h before it is D4: nothing changed since
    assert [m.value for m in at.subheader if m.value.startswith("What changed")] == ["What changed 040000ZOCT26 → now"]
    assert all(len(d) == 0 or "sector" not in d.columns for d in _every_kind(at).values())
    assert sent_layers(map_args(at))["changes"]["features"] == []
    # moving the picture back to D3 (layers as of D3): 24 h before is D2, shelters A and B changed at D3
    next(s for s in at.select_slider if s.label == "Front line as of").set_value(D[3]).run()
    assert [m.value for m in at.subheader if m.value.startswith("What changed")] == [
        "What changed 020000ZOCT26 → 030000ZOCT26"]
    ringed = sent_layers(map_args(at))["changes"]["features"]
    assert sorted(f["properties"]["id"] for f in ringed) == ["A", "B", "C1", "I1", "I2"]


def _export_app(db: str, as_of: str) -> None:
    """A page with only the export panel of a view at ``as_of`` (a writable store: the brief is recorded)."""
    import pandas as pd

    from cimic_geo.store import connect
    from cimic_geo.ui import export_panel

    with connect(db) as store:
        export_panel.render(store, bbox=(37.0, 47.9, 38.1, 48.3), as_of=pd.Timestamp(as_of), layers=("shelters",),
                            title="Brief", page="t")


def test_exporting_a_pdf_brief_records_its_situation_time(empty_db: Path) -> None:
    with connect(empty_db) as store:
        build_history(store, brief=False, imports=False)
    at = AppTest.from_function(_export_app, args=(str(empty_db), D[3].isoformat()), default_timeout=180)
    at.run()
    at.multiselect(key="t:export_formats").set_value(["geojson"])
    at.button(key="t:export_prepare").click()
    at.run()
    with connect(empty_db, read_only=True) as store:
        assert brief_times(store) == []  # only a PDF is a brief
    at.multiselect(key="t:export_formats").set_value(["pdf"])
    at.button(key="t:export_prepare").click()
    at.run()
    assert not at.exception and not at.error
    with connect(empty_db, read_only=True) as store:
        # the view showed D3, an earlier snapshot than the newest (D5): its layers as of D3
        assert brief_times(store) == [D[3]]
        assert last_brief_time(store, before=D[5]) == D[3]
