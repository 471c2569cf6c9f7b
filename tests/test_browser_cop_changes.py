"""The COP's "changed since the earlier time" layer in a real browser (headless Chromium against `streamlit run`).

With more changed shelters in the view than the COP's point limit (2,000), the wide view counts them per grid
cell (count badges, no rings); zoomed in close on them, the view's changed shelters are ringed one by one.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from cimic_geo.store import connect
from tests.browser_utils import (
    chromium,
    open_signed_in,
    require_browser,
    streamlit_server,
    wait_until_idle,
)

pytestmark = pytest.mark.browser
NEW = 2100  # new shelters written now: each a change since the earlier time, more than the point limit


def _add_new_shelters(db: Path) -> tuple[float, float]:
    """Write :data:`NEW` shelters in a 0.2° square at the middle of the store; return its centre (lat, lon)."""
    with connect(db) as store:
        x0, y0, x1, y1 = store.bbox()
        lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
        rng = np.random.default_rng(7)
        xs, ys = lon + rng.uniform(-0.1, 0.1, NEW), lat + rng.uniform(-0.1, 0.1, NEW)
        store.write("shelters", gpd.GeoDataFrame(
            {"id": [f"NEW-{i}" for i in range(NEW)], "name": [f"New shelter {i}" for i in range(NEW)],
             "kind": "blast_shelter", "capacity": 10, "occupancy": 0, "status": "open", "source": "test",
             "reported_at": pd.Timestamp.now(tz="UTC").floor("s"), "reliability": "B2"},
            geometry=[Point(x, y) for x, y in zip(xs, ys, strict=True)], crs="EPSG:4326"))
    return lat, lon


#: The changed features drawn: per layer key, the number of features, and the ids of those shown as rings.
DRAWN = """() => { const out = {};
    ['changes', 'changes_grid'].forEach(k => { const l = window.cimicLayers[k];
        if (!l || !window.map.hasLayer(l)) { return; }
        const feats = l.getLayers();
        out[k] = {n: feats.length, sum: feats.reduce((s, f) => s + (f.feature.properties.n || 0), 0),
                  rings: feats.filter(f => f instanceof L.CircleMarker && f.feature.properties.n === undefined)
                              .map(f => f.feature.properties.id)};
    });
    return out; }"""


def test_changes_are_counted_per_cell_wide_and_ringed_close(demo_db_copy: Path) -> None:
    require_browser()
    lat, lon = _add_new_shelters(demo_db_copy)
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1000)) as context:
        page = context.new_page()
        log, frame = open_signed_in(page, base)
        frame.wait_for_function("() => window.cimicLayers && window.cimicLayers.changes_grid", timeout=90_000)
        wait_until_idle(page)
        wide = frame.evaluate(DRAWN)
        # the whole store in view: every new shelter counted in a cell (with the scenario's own changes), none
        # ringed; the legend names the count badges
        assert wide["changes_grid"]["sum"] >= NEW and wide["changes_grid"]["n"] < 200, wide
        assert wide.get("changes", {"rings": []})["rings"] == [], wide
        legend = frame.evaluate("() => document.querySelector('.cimic-legend').textContent")
        assert "number = changed features in the area (zoom in for the rings)" in legend
        notes = page.locator("[data-testid='stCaptionContainer']").all_inner_texts()
        assert any(t.startswith("Changed since the earlier time: ") and "aggregated into" in t for t in notes), notes

        # zoomed in close on them: the view's new shelters ringed one by one, no cells
        frame.evaluate(f"() => {{ window.map.setView([{lat}, {lon}], 14, {{animate: false}}); return true; }}")
        frame.wait_for_function("() => window.cimicLayers.changes && window.map.hasLayer(window.cimicLayers.changes)"
                                " && window.cimicLayers.changes.getLayers().length > 0 && !(window.cimicLayers"
                                ".changes_grid && window.map.hasLayer(window.cimicLayers.changes_grid))",
                                timeout=90_000)
        wait_until_idle(page)
        close = frame.evaluate(DRAWN)
        assert "changes_grid" not in close, close
        rings = set(close["changes"]["rings"])
        # every new shelter inside the visible map is ringed (the view's bbox read holds the visible map), and no
        # more than the point limit are
        visible = set(frame.evaluate("""() => { const b = window.map.getBounds(), out = [];
            window.cimicLayers.shelters.eachLayer(l => { const p = l.feature.properties;
                if (p.id && p.id.startsWith('NEW-') && b.contains(l.getLatLng())) { out.push(p.id); } });
            return out; }"""))
        assert len(visible) > 20, len(visible)
        assert visible <= rings and len(rings) <= 2000, (len(visible), len(rings))
        radius = frame.evaluate("() => window.cimicLayers.changes.getLayers()[0].getRadius()")
        assert radius == 11
        assert log.external == [], log.external
        assert log.page_errors == [], log.page_errors
