"""The Exposure page's map in a real browser (demo store): every settlement marker is drawn in its threat
band's colour and at its population's size on the map's canvas, and hovering one shows its tooltip table
(settlement, ID, population, band, km to front); the map's files are asked for at once (preloaded), each
fetched once, nothing from outside, and the page's placeholders do not pulse."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cimic_geo.analytics.bands import band_labels
from cimic_geo.analytics.situation import exposure_at
from cimic_geo.maps.analytics_map import MAX_POINTS, band_colour_map
from cimic_geo.store import connect
from tests.browser_utils import RequestLog, chromium, map_frame, require_browser, sign_in, streamlit_server
from tests.test_browser_planner_map import PRELOADS, STILL, _requested

pytestmark = pytest.mark.browser
LEAFLET_JS, LEAFLET_CSS = "/app/static/vendor/leaflet/leaflet.js", "/app/static/vendor/leaflet/leaflet.css"

#: Per settlement marker of the map: id (the layer's id column at the marker's row), fill colour, radius
#: (as Leaflet drew it) and whether it is drawn on a canvas.
_MARKERS = """() => { const out = [];
  window.map.eachLayer(l => { if (!(l instanceof L.CircleMarker) || l.cimicRow === undefined) return;
    const d = Object.values(l._eventParents)[0]._cimicData;
    out.push([d.values[d.fields.indexOf('id')][l.cimicRow], l.options.fillColor, l.getRadius(),
              l._renderer instanceof L.Canvas]); });
  return out; }"""
#: Container pixel of the marker of the settlement with id ``arg``.
_PIXEL = """(sid) => { let p = null;
  window.map.eachLayer(l => { if (!(l instanceof L.CircleMarker) || l.cimicRow === undefined) return;
    const d = Object.values(l._eventParents)[0]._cimicData;
    if (d.values[d.fields.indexOf('id')][l.cimicRow] === sid) p = window.map.latLngToContainerPoint(l.getLatLng()); });
  return p && [p.x, p.y]; }"""


def test_exposure_markers_have_their_band_colour_size_and_tooltip(demo_db_copy: Path) -> None:
    require_browser()
    with connect(demo_db_copy, read_only=True) as store:
        exp = exposure_at(store, bands_km=(5, 20, 40))
    sets = exp.settlements.sort_values("population", ascending=False).head(MAX_POINTS)
    colours = band_colour_map(band_labels((5.0, 20.0, 40.0)))
    # the radius the map gives a settlement: sqrt(population) / 40, between 3 and 18 (px), sent to 0.01 px
    expected = {str(r.id): (colours[r.band], float(np.clip(math.sqrt(r.population) / 40.0, 3, 18)))
                for r in sets.itertuples()}
    top = sets.iloc[0]
    with streamlit_server(demo_db_copy, env={"CIMIC_LANGUAGE": "en", "CIMIC_BANDS_KM": "5,20,40"}) as base, \
            chromium(viewport=(1280, 1000)) as ctx:
        page = ctx.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_role("link", name="Exposure and coverage").first.click(timeout=180_000)
        frame = map_frame(page, timeout_ms=180_000)
        frame.wait_for_function("() => window.map && Object.values(window.map._layers)"
                                ".filter(l => l instanceof L.CircleMarker).length > 10", timeout=180_000)
        drawn = {i: (c, r, canvas) for i, c, r, canvas in frame.evaluate(_MARKERS)}
        # the map's first script preloaded Leaflet and its stylesheet together; each was downloaded once
        assert frame.evaluate(PRELOADS) == [["script", LEAFLET_JS], ["style", LEAFLET_CSS]]
        assert {f: _requested(log, f) for f in (LEAFLET_JS, LEAFLET_CSS)} == {LEAFLET_JS: 1, LEAFLET_CSS: 1}
        assert page.evaluate(STILL) == "none"  # the page's placeholders stand still
        # hover the largest settlement: its tooltip is the table of aliases and values
        handle = page.query_selector('iframe[title="streamlit_folium.st_folium"]')
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        x, y = frame.evaluate(_PIXEL, str(top["id"]))
        page.mouse.move(box["x"] + x + 1, box["y"] + y + 1)
        tip = frame.locator(".leaflet-tooltip.foliumtooltip")
        tip.wait_for(timeout=30_000)
        rows = tip.locator("tr").all_inner_texts()
    assert set(drawn) == set(expected)
    assert len({c for c, _r, _k in drawn.values()}) >= 3  # several bands on the demo store, not one default colour
    assert all(canvas for _c, _r, canvas in drawn.values())
    for sid, (colour, radius) in expected.items():
        assert drawn[sid][0] == colour, sid
        assert drawn[sid][1] == pytest.approx(radius, abs=0.005), sid
    # a smaller marker drawn above it may catch the pointer: the tooltip is then that settlement's
    cells = [r.split("\t") for r in rows]
    assert [c[0].strip() for c in cells] == ["Settlement", "ID", "Population", "Band", "km to front"]
    shown = sets.set_index(sets["id"].astype(str)).loc[cells[1][1].strip()]
    assert cells[0][1].strip() == shown["name"]
    assert cells[2][1].strip() == f"{int(shown['population']):,}"
    assert cells[3][1].strip() == shown["band"]
    assert cells[4][1].strip() == f"{float(shown['distance_km']):,.1f}"
    assert log.external == [], log.external
    assert log.page_errors == [], log.page_errors
