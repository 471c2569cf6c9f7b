"""The COP page in a real browser: headless Debian Chromium against `streamlit run`.

Asserts that the Leaflet map renders with the front line, shelters and damage layers; that its files
are asked for at once (preloaded) and fetched once each, and the page's placeholders do not pulse; that the
as-of slider changes the front line drawn; that no request leaves localhost; that the console
has no errors; and that HTML in a shelter name is shown as text, never run. Saves a screenshot to
tests/artifacts/cop.png, or to the README's docs/img/cop.png with ``CIMIC_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from cimic_geo.store import connect
from tests.browser_utils import (
    RequestLog,
    chromium,
    map_frame,
    require_browser,
    screenshot_path,
    sign_in,
    streamlit_server,
    wait_until_idle,
)
from tests.test_browser_planner_map import PRELOADS, STILL, _requested

pytestmark = pytest.mark.browser
SCREENSHOT = screenshot_path("cop.png")
EVIL_NAME = '<img src=x onerror="window.top.__xss=1"><script>window.top.__xss=2</script>'

LAYER_SIZES = """() => Object.fromEntries(Object.entries(window.cimicLayers || {})
    .map(([k, l]) => [k, l.getLayers().length]))"""
FRONT_LINE = "() => JSON.stringify(window.cimicLayers.front_line.toGeoJSON().features.map(f => f.geometry))"
MAP_SCRIPTS = ("/app/static/vendor/leaflet/leaflet.js", "/app/static/vendor/cimic/cop-layers.js",
               "/app/static/vendor/cimic/cop-controls.js")
MAP_CSS = "/app/static/vendor/leaflet/leaflet.css"


def _add_evil_shelter(db: Path) -> tuple[float, float]:
    """Put a shelter whose name is HTML/JS in the middle of the data; return its (lat, lon)."""
    with connect(db) as store:
        x0, y0, x1, y1 = store.bbox()
        lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
        store.write("shelters", gpd.GeoDataFrame(
            {"id": ["EVIL-1"], "name": [EVIL_NAME], "kind": ["blast_shelter"], "capacity": [10], "occupancy": [1],
             "status": ["open"], "source": ["<b>bold</b> source"], "reported_at": [pd.Timestamp("2026-11-20T12:00Z")],
             "reliability": ["B2"]},
            geometry=[Point(lon, lat)], crs="EPSG:4326"))
    return lat, lon


def test_cop_page_in_headless_chromium(demo_db_copy: Path) -> None:
    require_browser()
    _add_evil_shelter(demo_db_copy)
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1500)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, base)
        page.get_by_role("link", name="COP").first.click()
        frame = map_frame(page)
        frame.wait_for_function(
            "() => window.cimicLayers && ['front_line', 'shelters', 'infrastructure']"
            ".every(k => window.cimicLayers[k] && window.cimicLayers[k].getLayers().length > 0)",
            timeout=60_000,
        )
        # the map's first script preloaded all its files together; each was downloaded once
        assert frame.evaluate(PRELOADS) == [["script", f] for f in MAP_SCRIPTS] + [["style", MAP_CSS]]
        assert {f: _requested(log, f) for f in (*MAP_SCRIPTS, MAP_CSS)} == dict.fromkeys((*MAP_SCRIPTS, MAP_CSS), 1)
        assert page.evaluate(STILL) == "none"  # the page's placeholders stand still
        sizes = frame.evaluate(LAYER_SIZES)
        assert sizes["front_line"] >= 1 and sizes["shelters"] > 100 and sizes["infrastructure"] > 10, sizes
        assert frame.evaluate("() => document.querySelectorAll('.leaflet-container canvas, .leaflet-container svg')"
                              ".length") > 0
        assert frame.evaluate("() => document.querySelector('.cimic-legend') !== null")
        # one scale bar, metric only (no miles line)
        scale = frame.evaluate("() => Array.from(document.querySelectorAll('.leaflet-control-scale-line'))"
                               ".map(e => e.textContent)")
        assert len(scale) == 1 and scale[0].endswith(("km", " m")), scale

        # the shelter named with HTML: its popup and tooltip show the text literally, nothing runs
        content = frame.evaluate("""() => {
            let found = null;
            window.cimicLayers.shelters.eachLayer(l => { if (l.feature.properties.id === 'EVIL-1') found = l; });
            found.openPopup();
            const el = document.querySelector('.leaflet-popup-content');
            return {text: el.textContent, imgs: el.querySelectorAll('img').length,
                    scripts: el.querySelectorAll('script').length, bold: el.querySelectorAll('b').length};
        }""")
        assert EVIL_NAME in content["text"] and "<b>bold</b> source" in content["text"]
        assert content["imgs"] == 0 and content["scripts"] == 0 and content["bold"] == 0
        assert "MGRS" in content["text"] and "201200ZNOV26" in content["text"]  # provenance DTG
        frame.evaluate("() => { window.map.closePopup(); return true; }")
        # Leaflet's default marker images (the search pin) resolve from the served assets
        frame.evaluate("() => { window.__pin = L.marker(window.map.getCenter()).addTo(window.map); return true; }")
        frame.wait_for_function("() => { const i = window.__pin._icon; return i && i.complete && i.naturalWidth > 0; }",
                                timeout=30_000)
        assert "/app/static/vendor/leaflet/images/marker-icon" in frame.evaluate("() => window.__pin._icon.src")
        frame.evaluate("() => { window.__pin.remove(); return true; }")
        wait_until_idle(page)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # the as-of slider changes the front line drawn
        before = frame.evaluate(FRONT_LINE)
        thumb = page.get_by_role("slider").first
        thumb.focus()
        thumb.press("Home")
        frame.wait_for_function(f"(prev) => ({FRONT_LINE})() !== prev", arg=before, timeout=60_000)
        after = frame.evaluate(FRONT_LINE)
        assert json.loads(after) != json.loads(before)
        page.wait_for_timeout(1500)

        assert frame.evaluate("() => window.top.__xss === undefined && window.__xss === undefined")
        assert dialogs == []
        assert log.external == [], log.external
        assert any("/app/static/vendor/leaflet/leaflet.js" in u for u in log.requests)
        assert log.page_errors == [], log.page_errors
        assert log.console_errors == [], log.console_errors
        assert log.failed == [], log.failed
