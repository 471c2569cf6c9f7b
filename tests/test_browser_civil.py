"""The Civil assessments and Partners pages in a real browser on the demo store: KPI numbers as the
package computes them, one map marker per settlement (or per served settlement and gap), no request
outside localhost."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from cimic_geo.civil import assessment_overview, partner_overview
from cimic_geo.store import connect
from cimic_geo.store.users import add_user
from tests.browser_utils import (
    RequestLog,
    chromium,
    map_frame,
    require_browser,
    screenshot_path,
    streamlit_server,
    wait_until_idle,
)

pytestmark = pytest.mark.browser
PASSWORD = "civil-browser-test-pw-1"
COUNT_MARKERS = "() => { let n = 0; window.map.eachLayer(l => { if (l instanceof L.CircleMarker) n++; }); return n; }"


def _metrics(page) -> dict[str, str]:
    out = {}
    for m in page.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def _open(page, link: str, title: str):
    page.get_by_role("link", name=link).first.click(timeout=60_000)
    page.locator("h1", has_text=title).first.wait_for(timeout=90_000)
    frame = map_frame(page, timeout_ms=120_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    return frame


def test_assessments_and_partners_pages_offline(demo_db_copy: Path) -> None:
    require_browser()
    with connect(demo_db_copy) as store:
        add_user(store, "civil.viewer", role="viewer", password=PASSWORD)
        a = assessment_overview(store, sector="water", stale_days=14)
        p = partner_overview(store)
    doc = a.to_dict()
    served_points = sum(len(shapely.get_parts(g)) for g in p.partners.geometry
                        if g.geom_type in ("Point", "MultiPoint"))
    with streamlit_server(demo_db_copy, env={"CIMIC_STALE_DAYS": "14"}) as base, \
            chromium(viewport=(1500, 1200)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        page.goto(base + "/")
        page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
        page.get_by_role("textbox", name="User name").fill("civil.viewer")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        frame = _open(page, "Civil assessments", "Civil assessments")
        m = _metrics(page)
        assert m["Settlements assessed"] == f"{doc['assessed']:,} of {doc['settlements']:,}"
        assert m["Stale (> 14 d)"] == f"{doc['stale']:,}"
        assert frame.evaluate(COUNT_MARKERS) == len(a.settlements)  # every settlement, coloured
        frame.locator(".cimic-analytics-legend summary").click()  # collapsed by default
        assert "water: status" in frame.locator(".cimic-analytics-legend").inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        wait_until_idle(page)
        page.screenshot(path=str(screenshot_path("assessments.png")), full_page=False)

        frame = _open(page, "Partners (3W)", "Partners: who does what where")
        m = _metrics(page)
        assert m["3W entries"] == f"{len(p.table):,}"
        assert m["Settlements with a gap"] == f"{len(p.gaps.gap_settlements()):,}"
        assert frame.evaluate(COUNT_MARKERS) == served_points + len(p.gaps.gap_settlements())
        frame.locator(".cimic-analytics-legend summary").click()  # collapsed by default
        assert "gap: unmet need, no partner" in frame.locator(".cimic-analytics-legend").inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        wait_until_idle(page)
        page.screenshot(path=str(screenshot_path("partners.png")), full_page=False)
        assert log.external == [], log.external
        assert log.page_errors == [], log.page_errors
