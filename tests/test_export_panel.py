"""The export panel with Streamlit's AppTest: prepare, progress, download, errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from export_fixtures import BBOX, build_store
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def _panel_app(db: str, bbox: tuple[float, float, float, float], layers: tuple[str, ...]) -> None:
    """A page with only the panel (the view is given, as a map page would)."""
    from cimic_geo.store import connect
    from cimic_geo.ui import export_panel

    store = connect(db, read_only=True)
    export_panel.render(store, bbox=bbox, as_of=None, layers=layers, title="Test brief", page="t")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("export_panel") / "hand.duckdb")


def _app(db: Path, bbox=BBOX, layers=("shelters", "corridors", "front_change")) -> AppTest:
    at = AppTest.from_function(_panel_app, args=(str(db), bbox, layers), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _files(at: AppTest) -> dict[str, tuple[str, bytes]]:
    return (at.session_state["t:export_files"] or {}).get("files", {})


def test_prepare_then_download(db: Path) -> None:
    at = _app(db)
    assert at.subheader[0].value == "Export for the brief"
    assert at.get("download_button") == []  # nothing rendered before asking
    at.multiselect(key="t:export_formats").set_value(["geojson", "cot"])
    at.button(key="t:export_prepare").click()
    at.run()
    assert not at.exception and not at.error
    files = _files(at)
    assert set(files) == {"geojson", "cot"}
    name, data = files["geojson"]
    # area, the page ("t"), the view's layers and its as-of time
    assert name == "cimic_testarea_t_corridors-shelters_20261121_0600Z.geojson"
    doc = json.loads(data)
    # front_change is the COP's own overlay, not a store layer: dropped; shelters 3 + corridors 2
    assert sorted({f["properties"]["layer"] for f in doc["features"]}) == ["corridors", "shelters"]
    assert len(doc["features"]) == 5
    assert len(ET.fromstring(files["cot"][1]).findall("event")) == 5
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(lab.startswith("Download cimic_testarea_t_corridors-shelters_20261121_0600Z.geojson") for lab in labels)
    assert at.get("status")  # the progress display was shown


def test_view_change_drops_prepared_files(db: Path) -> None:
    at = _app(db)
    at.multiselect(key="t:export_formats").set_value(["csv"])
    at.button(key="t:export_prepare").click()
    at.run()
    assert "csv" in _files(at)
    at.text_input(key="t:export_title").input("Another title")
    at.run()
    assert at.get("download_button") == []
    assert any("view changed" in c.value for c in at.caption)


def test_empty_view_shows_error_and_no_download(db: Path) -> None:
    at = _app(db, bbox=(10.0, 10.0, 11.0, 11.0))
    at.multiselect(key="t:export_formats").set_value(["png"])
    at.button(key="t:export_prepare").click()
    at.run()
    assert not at.exception
    assert any("empty view" in e.value for e in at.error)
    assert at.get("download_button") == []


def test_cop_page_has_the_panel(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    at = AppTest.from_file(str(ROOT / "pages" / "1_COP.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Export for the brief" in [s.value for s in at.subheader]
    at.multiselect(key="cop:export_formats").set_value(["kml"])
    at.button(key="cop:export_prepare").click()
    at.run()
    assert not at.exception and not at.error
    name, data = _files_for(at, "cop")["kml"]
    assert name.endswith("Z.kml") and b"<kml" in data


def _files_for(at: AppTest, page: str) -> dict[str, tuple[str, bytes]]:
    return (at.session_state[f"{page}:export_files"] or {}).get("files", {})
