"""The Exposure page's map in a real browser (demo store): every settlement marker is drawn in its threat
band's colour and at its population's size (each feature carries its own style)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cimic_geo.analytics.bands import band_labels
from cimic_geo.analytics.situation import exposure_at
from cimic_geo.maps.analytics_map import MAX_POINTS, band_colour_map
from cimic_geo.store import connect
from tests.browser_utils import chromium, map_frame, require_browser, sign_in, streamlit_server

pytestmark = pytest.mark.browser

#: Per settlement marker of the map: id, fill colour and radius (as Leaflet drew it).
_MARKERS = """() => { const out = [];
  window.map.eachLayer(l => { if (l instanceof L.CircleMarker && l.feature && l.feature.properties.id !== undefined)
    out.push([String(l.feature.properties.id), l.options.fillColor, l.getRadius()]); });
  return out; }"""


def test_exposure_markers_have_their_band_colour_and_size(demo_db_copy: Path) -> None:
    require_browser()
    with connect(demo_db_copy, read_only=True) as store:
        exp = exposure_at(store, bands_km=(5, 20, 40))
    sets = exp.settlements.sort_values("population", ascending=False).head(MAX_POINTS)
    colours = band_colour_map(band_labels((5.0, 20.0, 40.0)))
    # the radius the map gives a settlement: sqrt(population) / 40, between 3 and 18 (px)
    expected = {str(r.id): (colours[r.band], float(np.clip(math.sqrt(r.population) / 40.0, 3, 18)))
                for r in sets.itertuples()}
    with streamlit_server(demo_db_copy, env={"CIMIC_LANGUAGE": "en", "CIMIC_BANDS_KM": "5,20,40"}) as base, \
            chromium(viewport=(1280, 1000)) as ctx:
        page = ctx.new_page()
        sign_in(page, base)
        page.get_by_role("link", name="Exposure and coverage").first.click(timeout=180_000)
        frame = map_frame(page, timeout_ms=180_000)
        frame.wait_for_function("() => window.map && Object.values(window.map._layers)"
                                ".filter(l => l instanceof L.CircleMarker).length > 10", timeout=180_000)
        drawn = {i: (c, r) for i, c, r in frame.evaluate(_MARKERS)}
    assert set(drawn) == set(expected)
    assert len({c for c, _r in drawn.values()}) >= 3  # several bands on the demo store, not one default colour
    for sid, (colour, radius) in expected.items():
        assert drawn[sid][0] == colour, sid
        assert drawn[sid][1] == pytest.approx(radius, abs=1e-6), sid
