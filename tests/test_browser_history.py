"""The COP's time slider in a real browser moves every layer, not only the front line.

On the hand-made history of tests/history_fixtures.py, shelter A is open from D1 and closed from D3. The
page opens at the newest snapshot (D5: A closed); moving the "as of" slider to D1 redraws the shelters
layer with A open (its property and the fill colour of the drawn square), and the "what changed" rings
follow the window. No request leaves localhost.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from history_fixtures import build_history

from cimic_geo.maps.cop_style import SHELTER_STATUS_COLORS
from cimic_geo.store import init_store
from tests.browser_utils import RequestLog, chromium, map_frame, require_browser, sign_in, streamlit_server

pytestmark = pytest.mark.browser

#: ``{id: [status, fill colour drawn]}`` of the shelters on the map.
DRAWN = """() => { const out = {}; const l = window.cimicLayers && window.cimicLayers.shelters;
    if (!l) { return null; }
    l.eachLayer(m => { out[m.feature.properties.id] = [m.feature.properties.status, m.options.fillColor]; });
    return JSON.stringify(out); }"""
RINGED = """() => { const l = window.cimicLayers && window.cimicLayers.changes; if (!l) { return null; }
    return l.getLayers().map(m => m.feature.properties.id).sort().join(','); }"""


@pytest.fixture
def history_store(tmp_path: Path) -> Path:
    path = tmp_path / "history.duckdb"
    store = init_store(path)
    try:
        build_history(store)
    finally:
        store.close()
    return path


def test_slider_changes_the_shelter_statuses_drawn(history_store: Path) -> None:
    require_browser()
    import json

    with streamlit_server(history_store) as base, chromium(viewport=(1400, 1200)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_role("link", name="COP").first.click()
        frame = map_frame(page)
        frame.wait_for_function(f"() => ({DRAWN})() !== null && Object.keys(JSON.parse(({DRAWN})())).length === 3",
                                timeout=90_000)
        now = json.loads(frame.evaluate(DRAWN))
        # newest snapshot (D5) = current state: A closed, B full, C open
        assert now == {"A": ["closed", SHELTER_STATUS_COLORS["closed"]], "B": ["full", SHELTER_STATUS_COLORS["full"]],
                       "C": ["open", SHELTER_STATUS_COLORS["open"]]}
        # since the last brief (D2): A, B, I1, I2 and the corridor changed
        assert frame.evaluate(RINGED) == "A,B,C1,I1,I2"
        thumb = page.get_by_role("slider").first
        thumb.focus()
        thumb.press("Home")  # D1
        frame.wait_for_function(f"(prev) => {{ const d = ({DRAWN})(); return d !== null && d !== prev; }}",
                                arg=json.dumps(now, separators=(",", ":")), timeout=90_000)
        frame.wait_for_function(f"() => JSON.parse(({DRAWN})()).A[0] === 'open'", timeout=90_000)
        then = json.loads(frame.evaluate(DRAWN))
        assert then == {"A": ["open", SHELTER_STATUS_COLORS["open"]], "B": ["full", SHELTER_STATUS_COLORS["full"]],
                        "C": ["open", SHELTER_STATUS_COLORS["open"]]}
        # at D1 the window is the 24 hours before it: everything reported at D1 is new (shelters A, B, C opened,
        # damaged I2 and I3, corridor C1 created)
        frame.wait_for_function(f"() => ({RINGED})() === 'A,B,C,C1,I2,I3'", timeout=60_000)
        # drawn cheaply at every step: marker icons (names, counts) placed with 2D translates (a 3D one made
        # each its own compositing layer), and elements being rerun are not faded with a transition
        placed = frame.evaluate("""() => { const m = window.cimicMap.point({properties: {name: 'x', population: 1}},
            window.map.getCenter(), 'labels').addTo(window.map); const t = m._icon.style.transform; m.remove();
            return t; }""")
        assert placed.startswith("translate(") and "3d" not in placed, placed
        rules = page.evaluate("""() => Array.from(document.styleSheets)
            .flatMap(s => { try { return Array.from(s.cssRules); } catch (e) { return []; } })
            .filter(r => (r.selectorText || '').includes('data-stale'))
            .map(r => [r.selectorText, r.style.opacity, r.style.transitionProperty])""")
        assert ['[data-stale="true"]', "1", ""] in rules and ["[data-stale]", "", "none"] in rules, rules
        assert log.external == [], log.external
        assert log.page_errors == [], log.page_errors
