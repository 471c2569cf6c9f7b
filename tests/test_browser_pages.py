"""Every page in a real browser: renders the right content, no exception, no request leaves localhost.

One Streamlit server on a copy of the demo database; each page is opened from the home page's
sidebar in headless Debian Chromium. The numbers a page shows are checked against the library
computing them directly (Exposure: the KPI numbers; Corridor planner: the road graph; Import: the
report and the preview's features on the map). The planner's drawing tool is driven as a user
drives it: draw on the Leaflet map → st_folium → evaluate → save. Screenshots go to
tests/artifacts/, or to docs/img/ for the README with ``CIMIC_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_planner_page import planner_db  # noqa: F401  (fixture)

from cimic_geo.analytics.kpi_strip import compact
from cimic_geo.analytics.situation import exposure_at
from cimic_geo.corridors import load_access_context
from cimic_geo.store import connect, corridor_history
from tests.browser_utils import (
    TEST_USER,
    RequestLog,
    chromium,
    map_frame,
    require_browser,
    screenshot_path,
    sign_in,
    streamlit_server,
    wait_until_idle,
)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]

# (sidebar link or None for home, text the page must show, has a map, screenshot name). Pages are
# opened from the home page's sidebar, as a user does (a deep link makes Streamlit's front end probe
# <page>/_stcore/* first, which logs 404s in the console).
PAGES = [
    (None, "CIMIC situational awareness", False, "home.png"),
    ("Exposure and coverage", "Exposure, shelter coverage and restoration", True, "exposure.png"),
    ("Corridor planner", "Corridor planner", True, "planner.png"),
    ("Import", "Import data", False, "import.png"),
]

#: Three settlements for the Import page: two valid, one without a population (an error).
IMPORT_FILE = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"id": "B1", "name": "Browserivka", "population": 1200},
     "geometry": {"type": "Point", "coordinates": [37.10, 48.60]}},
    {"type": "Feature", "properties": {"id": "B2", "name": "Chromiumske", "population": 800},
     "geometry": {"type": "Point", "coordinates": [37.20, 48.70]}},
    {"type": "Feature", "properties": {"id": "B3", "name": "Bez Naselennia", "population": None},
     "geometry": {"type": "Point", "coordinates": [37.30, 48.80]}},
]}


def _metrics(page) -> dict[str, str]:
    """The page's st.metric tiles as {label: value}."""
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {lab.strip(): val.strip() for lab, val in zip(labels, values, strict=True)}


def _idle(page) -> None:
    """Wait until Streamlit has finished the current rerun."""
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)
    page.wait_for_timeout(300)


def _expected(db: Path) -> dict[str, dict[str, str]]:
    """What the Exposure and Planner pages must show, computed with the library."""
    with connect(db, read_only=True) as store:
        doc = exposure_at(store).to_dict()
        graph = load_access_context(store).graph
    exposure = {f"Population {b['band']} km": compact(b["population"]) for b in doc["bands"]}
    exposure["Occupied side"] = compact(doc["occupied"]["population"])
    return {"Exposure and coverage": exposure,
            "Corridor planner": {"caption": f"Road graph: {graph.n_edges:,} passable segments"}}


def _check_content(page, path: str | None, expected: dict[str, dict[str, str]], tmp_path: Path) -> None:
    if path == "Exposure and coverage":
        shown = _metrics(page)
        for label, value in expected[path].items():
            assert shown.get(label) == value, (label, shown)
    elif path == "Corridor planner":
        page.get_by_text(expected[path]["caption"]).first.wait_for(timeout=60_000)
    elif path == "Import":
        upload = tmp_path / "browser_settlements.geojson"
        upload.write_text(json.dumps(IMPORT_FILE), encoding="utf-8")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
        page.get_by_text("Records read").first.wait_for(timeout=120_000)
        _idle(page)
        shown = _metrics(page)
        assert (shown["Records read"], shown["Valid"], shown["Rejected"]) == ("3", "2", "1"), shown
        frame = map_frame(page, timeout_ms=120_000)
        # the preview draws every record: 2 valid (blue) and 1 rejected (red) circle markers
        frame.wait_for_function(
            "() => Object.values(window.map._layers).filter(l => l instanceof L.CircleMarker).length === 3",
            timeout=60_000)
        legend = frame.locator(".leaflet-control-layers").inner_text()
        assert "valid records (2)" in legend and "records with errors (1)" in legend, legend


def test_every_page_renders_offline(demo_db_copy: Path, tmp_path: Path) -> None:
    require_browser()
    expected = _expected(demo_db_copy)
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1100)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        for path, text, has_map, shot in PAGES:
            page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
            if path is not None:
                page.get_by_role("link", name=path).first.click(timeout=180_000)
            page.locator("h1", has_text=text).first.wait_for(timeout=180_000)
            if has_map:
                map_frame(page, timeout_ms=180_000)
            _idle(page)
            banner = page.locator(".cimic-marking")
            banner.first.wait_for(timeout=60_000)
            assert banner.count() >= 1 and "EXERCISE" in banner.first.inner_text(), path
            _check_content(page, path, expected, tmp_path)
            assert page.locator('[data-testid="stException"]').count() == 0, (
                path, page.locator('[data-testid="stException"]').first.inner_text())
            wait_until_idle(page)
            page.screenshot(path=str(screenshot_path(shot)), full_page=False)
            assert log.external == [], (path, log.external)
            assert log.page_errors == [], (path, log.page_errors)
            assert log.console_errors == [], (path, log.console_errors)


def test_draw_evaluate_and_save_in_headless_chromium(planner_db):  # noqa: F811
    """Draw the line with Leaflet.draw in a real browser, evaluate and save it; nothing leaves localhost."""
    require_browser()
    env = {"CIMIC_BANDS_KM": "3,6,9"}
    with streamlit_server(planner_db, env=env) as base, chromium(viewport=(1400, 2200)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_role("link", name="Corridor planner").first.click(timeout=120_000)
        frame = map_frame(page, timeout_ms=120_000)
        frame.wait_for_selector(".leaflet-draw-draw-polyline", timeout=60_000)
        box = page.query_selector('iframe[title="streamlit_folium.st_folium"]').bounding_box()
        frame.click(".leaflet-draw-draw-polyline")
        # inside the map, away from the controls in its corners (legend, marking)
        pts = [(37.02, 48.01), (37.02, 48.04), (37.08, 48.04), (37.08, 48.01)]
        for lon, lat in pts:
            xy = frame.evaluate("([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);"
                                " return [p.x, p.y]; }", [lat, lon])
            page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
            page.wait_for_timeout(300)
        frame.click('.leaflet-draw-actions a[title="Finish drawing"]')
        page.get_by_text("Drawn line: ready").wait_for(timeout=60_000)
        page.get_by_role("button", name="Evaluate drawn line").click()
        page.get_by_text("1. drawn line 1").first.wait_for(state="attached", timeout=60_000)
        # the evaluated option is drawn on the map: a line through the four clicked points
        frame.wait_for_function("() => Object.values(window.map._layers).some(l => l instanceof L.Polyline"
                                " && !(l instanceof L.Polygon) && l.getLatLngs().length === 4"
                                " && !window.drawnItems.hasLayer(l))", timeout=60_000)
        # the evaluated option replaces the sketch on the (same, still mounted) map
        frame.wait_for_function("() => window.drawnItems.getLayers().length === 0", timeout=30_000)
        page.get_by_label("Corridor name").fill("Drawn north loop")
        page.get_by_role("button", name="Save as draft corridor").click()
        page.get_by_text("saved Drawn north loop").wait_for(timeout=60_000)

        # the user zooms in; a cut-off search then adds diamonds to the same map without moving it
        _idle(page)
        frame.evaluate("() => { window.cimicKept = 'same map'; }")
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -200)
        frame.wait_for_function("() => !window.map._animatingZoom", timeout=10_000)
        _idle(page)
        view = "() => [window.map.getCenter().lat, window.map.getCenter().lng, window.map.getZoom(), window.cimicKept]"
        before = frame.evaluate(view)
        page.get_by_label("Safe hubs", exact=False).fill("Harbour")
        page.get_by_role("button", name="Find cut-off settlements").click()
        page.get_by_text("Population cut off").first.wait_for(timeout=60_000)
        frame.wait_for_function("() => document.querySelectorAll('.cimic-cutoff').length === 1", timeout=30_000)
        _idle(page)
        assert frame.evaluate(view) == before
        shot = ROOT / "tests" / "artifacts" / "planner_draw.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        wait_until_idle(page)
        page.screenshot(path=str(shot), full_page=True)
        assert log.external == [], log.external
        assert any("/app/static/vendor/leaflet-draw/leaflet.draw.js" in u for u in log.requests)
        assert log.page_errors == [], log.page_errors

    with connect(planner_db, read_only=True) as store:
        corridors = store.read("corridors")
        hist = corridor_history(store)
    assert corridors["name"].tolist() == ["Drawn north loop"]
    coords = list(corridors.geometry.iloc[0].coords)
    assert len(coords) == 4
    for (x, y), (px, py) in zip(coords, pts, strict=True):
        assert abs(x - px) < 0.002 and abs(y - py) < 0.002  # a pixel is ~0.0002° at this zoom
    # the history names the signed-in user, not a typed call sign
    assert hist["changed_by"].tolist() == [TEST_USER] and hist["action"].tolist() == ["create"]


