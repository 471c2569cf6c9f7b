"""The COP's basemap, legend, APP-6 symbols and hover/popup texts in a real browser (headless Chromium).

One server, one page: the basemap's state and oblast outlines, rivers and place names are drawn
from the store with no request leaving localhost; the legend (opened) does not overlap the front
line's bounding box; the symbol switch draws milsymbol SVGs and switches back; the hover text
labels its values and the popup gives longitude/latitude to 5 decimals. Screenshot saved to
tests/artifacts/cop_basemap.png (docs/img/cop_basemap.png with ``CIMIC_UPDATE_SCREENSHOTS=1``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cimic_geo.maps.symbols import shelter_sidc
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

pytestmark = pytest.mark.browser
SCREENSHOT = screenshot_path("cop_basemap.png")

READY = ("() => window.cimicLayers && ['basemap', 'labels', 'front_line', 'shelters']"
         ".every(k => window.cimicLayers[k] && window.cimicLayers[k].getLayers().length > 0)")
KINDS = "() => window.cimicLayers.basemap.getLayers().map(l => l.feature.properties.kind).sort()"
LABELS = "() => Array.from(document.querySelectorAll('.cimic-label')).map(e => e.textContent)"
# the legend's box and the front line's bounding box, both in the map frame's pixels
BOXES = """() => {
    const r = document.querySelector('.cimic-legend').getBoundingClientRect();
    const m = window.map.getContainer().getBoundingClientRect();
    const b = window.cimicLayers.front_line.getBounds();
    const p1 = window.map.latLngToContainerPoint(b.getNorthWest());
    const p2 = window.map.latLngToContainerPoint(b.getSouthEast());
    return {legend: [r.left, r.top, r.right, r.bottom],
            front: [m.left + p1.x, m.top + p1.y, m.left + p2.x, m.top + p2.y]};
}"""
SYMBOLS = "() => Array.from(document.querySelectorAll('.cimic-symbol [data-sidc]')).map(e => e.getAttribute('data-sidc'))"


def test_cop_basemap_legend_symbols_offline(demo_db_copy: Path) -> None:
    require_browser()
    with connect(demo_db_copy, read_only=True) as store:
        kinds = sorted(store.read("basemap", columns=["kind"])["kind"])
        biggest = store.read("settlements", columns=["name", "population"]).nlargest(2, "population")["name"].tolist()
    assert {"state", "admin1", "river", "water"} <= set(kinds)
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1100)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_role("link", name="COP").first.click()
        frame = map_frame(page)
        frame.wait_for_function(READY, timeout=60_000)

        # basemap: every outline, river and water area of the store in the view; the largest places named
        assert frame.evaluate(KINDS) == kinds
        labels = frame.evaluate(LABELS)
        assert set(biggest) <= set(labels), (biggest, labels)
        # labels are text (escaped), drawn as DOM elements over the map
        assert frame.evaluate("() => document.querySelectorAll('.cimic-label script, .cimic-label img').length") == 0

        # the legend starts collapsed, bottom left; opened it still leaves the front line clear
        assert frame.evaluate("() => document.querySelector('.cimic-legend details').open") is False
        frame.locator(".cimic-legend summary").click()
        assert frame.evaluate("() => document.querySelector('.cimic-legend details').open") is True
        boxes = frame.evaluate(BOXES)
        lg, fr = boxes["legend"], boxes["front"]
        assert lg[2] - lg[0] > 100 and lg[3] - lg[1] > 100, boxes  # really open
        overlap = lg[0] < fr[2] and fr[0] < lg[2] and lg[1] < fr[3] and fr[1] < lg[3]
        assert not overlap, boxes

        # hover text with labelled values; popup longitude/latitude to 5 decimals
        tip = frame.evaluate("""() => { const l = window.cimicLayers.shelters.getLayers()[0];
            l.openTooltip(); return l.getTooltip().getElement().textContent; }""")
        assert re.search(r"status: \w+", tip) and re.search(r"capacity: [\d,]+", tip), tip
        popup = frame.evaluate("""() => { const l = window.cimicLayers.shelters.getLayers()[0];
            l.openPopup(); return document.querySelector('.leaflet-popup-content').textContent; }""")
        assert re.search(r"Longitude-?\d+\.\d{5}(?!\d)", popup) and re.search(r"Latitude-?\d+\.\d{5}(?!\d)", popup), popup
        frame.evaluate("() => { window.map.closePopup(); return true; }")

        # APP-6 symbols: the switch draws milsymbol SVGs for shelters and damage, and switches back
        assert frame.evaluate(SYMBOLS) == []
        frame.locator(".cimic-symbol-switch input").check()
        frame.wait_for_function("() => document.querySelectorAll('.cimic-symbol svg').length > 0", timeout=30_000)
        sidcs = frame.evaluate(SYMBOLS)
        n_points = frame.evaluate("() => window.cimicLayers.shelters.getLayers().length"
                                  " + window.cimicLayers.infrastructure.getLayers().length")
        assert len(sidcs) == n_points and all(re.fullmatch(r"1003(20|40)\d{14}", s) for s in sidcs), sidcs[:5]
        assert any(s[4:6] == "40" for s in sidcs) and any(s[4:6] == "20" for s in sidcs)
        # the browser's codes are the ones of cimic_geo.maps.symbols (the brief draws the same)
        drawn = frame.evaluate("""() => window.cimicLayers.shelters.getLayers().slice(0, 50).map(l => [
            l.feature.properties.kind, l.feature.properties.status,
            l.getElement().querySelector('[data-sidc]').getAttribute('data-sidc')])""")
        assert drawn and all(code == shelter_sidc(kind, status) for kind, status, code in drawn), drawn[:3]
        frame.locator(".cimic-legend summary").click()  # collapse for the screenshot
        wait_until_idle(page)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        frame.locator(".cimic-symbol-switch input").uncheck()
        frame.wait_for_function("() => document.querySelectorAll('.cimic-symbol').length === 0", timeout=30_000)

        # aggregates (national zoom) are drawn as count badges, not as points
        counts = frame.evaluate("""() => {
            const gj = window.cimicMap.layer('shelters_grid', {type: 'FeatureCollection', features: [
                {type: 'Feature', properties: {n: 1234}, geometry: {type: 'Point', coordinates: [37.5, 48.5]}},
                {type: 'Feature', properties: {n: 7}, geometry: {type: 'Point', coordinates: [37.6, 48.6]}}]})
              .addTo(window.map);
            const out = Array.from(document.querySelectorAll('.cimic-count')).map(e => e.textContent);
            gj.remove(); return out; }""")
        assert sorted(counts) == ["1.2k", "7"], counts
        # a layer sent again with the same data (same digest) on a rerun is kept as drawn, on the map itself
        # (the rerun's group only marks the rerun); other data is built anew and replaces it; the data may come
        # as JSON text (what the page sends)
        kept = frame.evaluate("""() => {
            const data = {type: 'FeatureCollection', features: [
                {type: 'Feature', properties: {n: 5}, geometry: {type: 'Point', coordinates: [37.5, 48.5]}}]};
            const g1 = L.featureGroup(), g2 = L.featureGroup(), g3 = L.featureGroup();
            const a = window.cimicMap.layer('shelters_grid', data, 'digest-1', g1);
            const b = window.cimicMap.layer('shelters_grid', JSON.stringify(data), 'digest-1', g2);
            const drawn = window.map.hasLayer(b);
            const c = window.cimicMap.layer('shelters_grid', JSON.stringify(data), 'digest-2', g3);
            const out = [a === b, g2.hasLayer(b), drawn, b === c, window.map.hasLayer(b),
                         window.map.hasLayer(c), c.getLayers().length];
            c.remove(); return out; }""")
        assert kept == [True, False, True, False, False, True, 1], kept

        assert log.external == [], log.external
        assert any("/app/static/vendor/milsymbol/milsymbol.js" in u for u in log.requests)
        assert log.page_errors == [], log.page_errors
        assert log.console_errors == [], log.console_errors
