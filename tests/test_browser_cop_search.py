"""The COP's settlement search and layer toggles in a real browser (headless Chromium, `streamlit run`).

A search draws the pin, the map moves to the place at zoom 12 (at once, not animated), and the layers of that view arrive with the
pin (the same server run read them: no run on the old view first). A layer toggle takes the layer off the
map and back, and the layers it did not change stay the objects already drawn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cimic_geo.store import connect
from tests.browser_utils import (
    chromium,
    open_signed_in,
    require_browser,
    streamlit_server,
)

pytestmark = pytest.mark.browser

#: Record the shelters' and the pin's data each time the page sends them (before the map draws them).
RECORD = """() => {
    const layer = window.cimicMap.layer;
    window.__sent = [];
    window.cimicMap.layer = function (key, data, digest, parent) {
        if (key === 'shelters' || key === 'search') {
            const d = typeof data === 'string' ? JSON.parse(data) : data;  // sent as JSON text
            window.__sent.push([key, (d.features || []).map(f => f.geometry.coordinates)]);
        }
        return layer.apply(this, arguments);
    };
    return true;
}"""
SHELTERS_SHOWN = "() => !!window.cimicLayers.shelters && window.map.hasLayer(window.cimicLayers.shelters)"


def test_search_moves_the_map_with_the_new_views_layers_and_toggles(demo_db_copy: Path) -> None:
    require_browser()
    with connect(demo_db_copy, read_only=True) as store:
        place = store.read("settlements", columns=["name", "population"]).sort_values("population").iloc[-1]
        n_shelters = len(store.read("shelters", columns=["id"]))
    lon, lat = place.geometry.x, place.geometry.y
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1000)) as context:
        page = context.new_page()
        log, frame = open_signed_in(page, base)
        frame.wait_for_function(SHELTERS_SHOWN, timeout=120_000)
        page.wait_for_timeout(1500)  # the map's first view report and its run
        frame.evaluate(RECORD)
        front = frame.evaluate_handle("() => window.cimicLayers.front_line")

        # toggle off: the shelters leave the map; the front line is the layer object already drawn
        page.locator('[data-testid="stSidebar"]').get_by_text("Shelters", exact=True).first.click()
        frame.wait_for_function(f"() => !({SHELTERS_SHOWN})()", timeout=120_000)
        assert frame.evaluate("(f) => f === window.cimicLayers.front_line && window.map.hasLayer(f)", front)
        page.locator('[data-testid="stSidebar"]').get_by_text("Shelters", exact=True).first.click()
        frame.wait_for_function(SHELTERS_SHOWN, timeout=120_000)
        assert frame.evaluate("() => window.cimicLayers.shelters.getLayers().length") == n_shelters  # whole store

        frame.evaluate("() => { window.__sent = []; return true; }")
        # the move to the place is not animated (its view's layers come with the pin): no zoom animation starts
        frame.evaluate("() => { window.__zoomAnims = []; window.map.on('zoomanim', (e) => window.__zoomAnims.push("
                       "e.zoom)); return true; }")
        field = page.get_by_label("Find a settlement")
        field.fill(place["name"])
        field.press("Enter")
        frame.wait_for_function("(name) => window.cimicLayers.search && window.map.getZoom() === 12 && "
                                "window.cimicLayers.search.toGeoJSON().features[0].properties.name === name",
                                arg=place["name"], timeout=120_000)
        assert frame.evaluate("() => window.__zoomAnims") == []
        # the map is centred on the place (within a pixel at zoom 12: 360 / 256 / 2^12 degrees of longitude)
        center = frame.evaluate("() => window.map.getCenter()")
        assert center["lng"] == pytest.approx(lon, abs=360 / 256 / 2**12)
        assert center["lat"] == pytest.approx(lat, abs=360 / 256 / 2**12)
        # the shelters sent with the pin are those of the view around the place (zoom 12: a few tenths of a
        # degree), not the previous view's (the whole store)
        sent = frame.evaluate("() => window.__sent")
        first_pin = next(i for i, (key, _coords) in enumerate(sent) if key == "search")
        shelters = next(coords for key, coords in reversed(sent[:first_pin]) if key == "shelters")
        assert 0 < len(shelters) < n_shelters
        assert all(abs(x - lon) < 0.5 and abs(y - lat) < 0.3 for x, y in shelters)
        # the pin is drawn on the map (a marker with its icon), and shown only once per search
        assert frame.evaluate("() => window.map.hasLayer(window.cimicLayers.search) && "
                              "window.cimicLayers.search.getLayers()[0]._icon !== undefined")
        page.wait_for_timeout(1500)  # the view report of the moved map and its run
        assert frame.evaluate("() => window.map.getZoom()") == 12
        assert frame.evaluate("() => window.map.getCenter()")["lng"] == pytest.approx(lon, abs=360 / 256 / 2**12)
        assert log.external == []
