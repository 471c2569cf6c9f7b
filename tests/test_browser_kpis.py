"""KPI tiles in a real browser (COP and Exposure pages on the demo store): every value is shown whole,
none cut off with an ellipsis."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_utils import chromium, map_frame, require_browser, sign_in, streamlit_server

pytestmark = pytest.mark.browser

#: For every metric value: its text, and whether its content is wider than its box (cut off).
_OVERFLOW = """() => Array.from(document.querySelectorAll('[data-testid="stMetricValue"]')).map(el => {
  const inner = el.querySelector('div') || el;
  return [el.innerText.trim(), inner.scrollWidth > inner.clientWidth + 1 || el.scrollWidth > el.clientWidth + 1];
})"""


@pytest.mark.parametrize(("link", "first_label"), [("COP", "Shelters open"),
                                                   ("Exposure and coverage", "Unserved (people)")])
def test_kpi_values_are_not_cut_off(demo_db_copy: Path, link: str, first_label: str) -> None:
    require_browser()
    with streamlit_server(demo_db_copy, env={"CIMIC_LANGUAGE": "en"}) as base, chromium(viewport=(1280, 1000)) as ctx:
        page = ctx.new_page()
        sign_in(page, base)
        page.get_by_role("link", name=link).first.click(timeout=180_000)
        map_frame(page, timeout_ms=180_000)
        page.get_by_text(first_label, exact=True).first.wait_for(timeout=180_000)
        page.wait_for_timeout(1000)
        tiles = page.evaluate(_OVERFLOW)
        assert len(tiles) >= 4, tiles
        assert not [t for t in tiles if t[1]], tiles
        assert not [t for t in tiles if t[0].endswith("…")], tiles
        # the check sees a cut-off value: the old "open / full" text in one tile overflows it
        page.evaluate("""() => { const el = document.querySelector('[data-testid="stMetricValue"]');
                                 (el.querySelector('div') || el).innerText = '40,812 / 5,310 / 33,856,120'; }""")
        assert page.evaluate(_OVERFLOW)[0][1] is True


def test_zooming_in_changes_the_cop_kpis(demo_db_copy: Path) -> None:
    """The COP's KPIs follow the map: zoomed in on one shelter, the tiles count only the view."""
    from cimic_geo.store import connect

    with connect(demo_db_copy, read_only=True) as store:
        shelters = store.read("shelters", columns=["status"])
    one = shelters[shelters["status"] == "open"].iloc[0].geometry
    total_open = f"{int((shelters['status'] == 'open').sum()):,}"
    require_browser()
    with streamlit_server(demo_db_copy, env={"CIMIC_LANGUAGE": "en"}) as base, chromium(viewport=(1280, 1000)) as ctx:
        page = ctx.new_page()
        sign_in(page, base)
        page.get_by_role("link", name="COP").first.click(timeout=180_000)
        frame = map_frame(page, timeout_ms=180_000)
        page.get_by_text("KPIs for the whole store", exact=False).first.wait_for(timeout=180_000)
        value = """() => { const m = Array.from(document.querySelectorAll('[data-testid="stMetric"]'))
                             .find(e => e.innerText.includes('Shelters open'));
                           return m.querySelector('[data-testid="stMetricValue"]').innerText.trim(); }"""
        assert page.evaluate(value) == total_open
        frame.evaluate("([lat, lon]) => { window.map.setView([lat, lon], 13); }", [one.y, one.x])
        page.get_by_text("KPIs in view: SW", exact=False).first.wait_for(timeout=120_000)
        page.wait_for_function(f"() => ({value})() !== {total_open!r}", timeout=60_000)
        zoomed = page.evaluate(value)
        assert zoomed != total_open and 1 <= int(zoomed.replace(",", "")) < int(total_open.replace(",", ""))
