"""The Evacuations page in a real browser on the demo store: KPI numbers and board rows as computed
by the package, the map drawn with a marker per shown evacuation, no request outside localhost."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimic_geo.evacuations import evacuation_overview
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


def test_evacuations_page_shows_kpis_board_and_map_offline(demo_db_copy: Path) -> None:
    require_browser()
    with connect(demo_db_copy) as store:
        ov = evacuation_overview(store, bands_km=(5, 20, 40))
    k = ov.kpis()
    board = ov.board()
    open_rows = board[board["status"].isin(["requested", "planned", "underway"])]
    assert len(open_rows) > 0
    env = {"CIMIC_BANDS_KM": "5,20,40"}
    with streamlit_server(demo_db_copy, env=env) as base, chromium(viewport=(1500, 1200)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_role("link", name="Evacuations").first.click(timeout=120_000)
        page.locator("h1", has_text="Evacuations").first.wait_for(timeout=90_000)
        frame = map_frame(page, timeout_ms=120_000)
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
        metrics = {}
        for m in page.locator('[data-testid="stMetric"]').all():
            label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
            metrics[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
        assert metrics["Open requests"] == f"{k['requests_open']:,}"
        assert metrics["People waiting"] == f"{k['people_waiting']:,}"
        assert metrics["People evacuated"] == f"{k['people_evacuated']:,}"
        assert metrics["Oldest open request"] == f"{k['oldest_open_hours']:,.0f} h"
        page.get_by_text(f"Board ({len(open_rows)} of {len(board)})").first.wait_for(timeout=30_000)
        # one diamond marker (an SVG icon) per evacuation shown (open statuses by default)
        n_markers = frame.evaluate(
            "() => { let n = 0; window.map.eachLayer(l => { if (l instanceof L.Marker && l.options.icon"
            " && l.options.icon.options.className === 'cimic-shape') n++; }); return n; }")
        assert n_markers == len(open_rows)
        assert frame.locator(".cimic-shape svg path").count() == len(open_rows)
        # the legend opens collapsed (bottom left, off the front); a click shows the statuses
        legend_box = frame.locator(".cimic-analytics-legend")
        assert "requested" not in legend_box.inner_text()
        legend_box.locator("summary").click()
        legend = legend_box.inner_text()
        assert "requested" in legend
        assert page.locator('[data-testid="stException"]').count() == 0
        wait_until_idle(page)
        page.screenshot(path=str(screenshot_path("evacuations.png")), full_page=False)
        assert log.external == [], log.external
        assert log.page_errors == [], log.page_errors
