"""The corridor planner's map in headless Chromium: it opens without milsymbol (each of its scripts
requested once, all preloaded together), its placeholders do not pulse, and the APP-6 switch loads
milsymbol and draws the destroyed bridges as symbols, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cimic_geo.maps.symbols import infrastructure_sidc
from tests.browser_utils import RequestLog, chromium, map_frame, require_browser, sign_in, streamlit_server

pytestmark = pytest.mark.browser
ROADS = "() => window.cimicLayers && window.cimicLayers.roads && window.cimicLayers.roads.getLayers().length > 0"
SYMBOLS = "() => Array.from(document.querySelectorAll('.cimic-symbol [data-sidc]')).map(e => e.getAttribute('data-sidc'))"
MAP_FILES = ("/app/static/vendor/leaflet/leaflet.js", "/app/static/vendor/cimic/cop-layers.js",
             "/app/static/vendor/cimic/cop-controls.js", "/app/static/vendor/leaflet-draw/leaflet.draw.js",
             "/app/static/vendor/leaflet/leaflet.css", "/app/static/vendor/leaflet-draw/leaflet.draw.css")
#: The animation a grey placeholder of the page (Streamlit's skeleton) runs: ``none`` on a still page.
STILL = """() => { const d = document.createElement('div');
    d.setAttribute('data-testid', 'stSkeleton'); d.style.animation = 'x 1s infinite';
    document.body.appendChild(d); const a = getComputedStyle(d).animationName; d.remove(); return a; }"""
#: What the map frame's preload links ask for: ``[as, path]`` (the address without its host and version).
PRELOADS = """() => Array.from(document.querySelectorAll('link[rel=preload]'))
    .map(l => [l.as, l.getAttribute('href').split('?')[0]])"""


def _requested(log: RequestLog, path: str) -> int:
    return sum(1 for u in log.requests if re.sub(r"^https?://[^/]+", "", u).split("?")[0] == path)


def test_planner_map_loads_milsymbol_only_for_the_symbols(demo_db_copy: Path) -> None:
    require_browser()
    with streamlit_server(demo_db_copy, env={"CIMIC_LANGUAGE": "en"}) as base, chromium() as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_role("link", name="Corridor planner").first.click()
        frame = map_frame(page, timeout_ms=120_000)
        frame.wait_for_function(ROADS, timeout=120_000)

        # opened without milsymbol; every file of the map asked for once (the preload is what the
        # component's script and stylesheet elements then use, not a second download)
        assert _requested(log, "/app/static/vendor/milsymbol/milsymbol.js") == 0
        assert frame.evaluate("() => typeof window.ms") == "undefined"
        assert {f: _requested(log, f) for f in MAP_FILES} == dict.fromkeys(MAP_FILES, 1)
        assert frame.evaluate(PRELOADS) == [["script", f] for f in MAP_FILES[:4]] + [["style", f] for f in MAP_FILES[4:]]
        # the page's placeholders (the map's while its frame loads) stand still
        assert page.evaluate(STILL) == "none"

        # the switch loads milsymbol and draws every destroyed bridge as its APP-6 symbol, then back to shapes
        bridges = frame.evaluate("() => window.cimicLayers.infrastructure.getLayers().length")
        assert bridges > 0
        assert frame.evaluate(SYMBOLS) == []
        frame.locator(".cimic-symbol-switch input").check()
        frame.wait_for_function(f"() => document.querySelectorAll('.cimic-symbol svg').length === {bridges}",
                                timeout=60_000)
        assert frame.evaluate(SYMBOLS) == [infrastructure_sidc("bridge", "destroyed")] * bridges
        assert _requested(log, "/app/static/vendor/milsymbol/milsymbol.js") == 1
        frame.locator(".cimic-symbol-switch input").uncheck()
        frame.wait_for_function("() => document.querySelectorAll('.cimic-symbol').length === 0", timeout=30_000)
        assert frame.evaluate("() => window.cimicLayers.infrastructure.getLayers().length") == bridges
        # on again: milsymbol is there already (no second download)
        frame.locator(".cimic-symbol-switch input").check()
        frame.wait_for_function(f"() => document.querySelectorAll('.cimic-symbol svg').length === {bridges}",
                                timeout=30_000)
        assert _requested(log, "/app/static/vendor/milsymbol/milsymbol.js") == 1

        assert log.external == [], log.external
        assert log.page_errors == [], log.page_errors
        assert log.console_errors == [], log.console_errors
