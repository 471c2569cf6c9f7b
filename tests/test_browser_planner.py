"""The corridor planner and the navigation in headless Chromium: saving corridor D after C selects D,
a status change moves D and leaves C alone (read back from the page and from the store), every write
shows what it changed, and the first visitor after a server start sees "Home" in the sidebar."""

from __future__ import annotations

import re

import pytest
from test_planner_page import planner_db  # noqa: F401  (fixture)

from cimic_geo.store import connect
from tests.browser_utils import RequestLog, chromium, require_browser, sign_in, streamlit_server

pytestmark = pytest.mark.browser
ENV = {"CIMIC_BANDS_KM": "3,6,9", "CIMIC_LANGUAGE": "en"}


def _idle(page) -> None:
    """Wait until Streamlit has finished the current rerun."""
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)
    page.wait_for_timeout(300)


def _success(page) -> list[str]:
    return [t.strip() for t in page.locator('[data-testid="stAlertContentSuccess"]').all_inner_texts()]


def _save(page, name: str) -> None:
    page.get_by_label("Corridor name").fill(name)
    page.get_by_role("button", name="Save as draft corridor").click()
    page.get_by_text(f"saved {name} as").wait_for(timeout=60_000)
    _idle(page)


def _selected(page, label: str) -> str:
    """The option shown by the selectbox labelled ``label`` (a combobox input)."""
    return page.get_by_role("combobox", name=label, exact=True).input_value().strip()


def _offered(page, label: str) -> list[str]:
    """The options the selectbox labelled ``label`` lists when opened."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_role("combobox", name=label, exact=True))
    box.first.get_by_role("button", name="Open").click()
    page.get_by_role("option").first.wait_for(timeout=10_000)
    offered = [t.strip() for t in page.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    return offered


def test_saving_d_after_c_selects_d_and_a_status_change_moves_only_d(planner_db):  # noqa: F811
    require_browser()
    with streamlit_server(planner_db, env=ENV) as base, chromium(viewport=(1400, 2600)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_role("link", name="Corridor planner").first.click(timeout=120_000)
        page.get_by_label("From (settlement, lat,lon or MGRS)").fill("Alpha")
        page.get_by_label("To (settlement, lat,lon or MGRS)").fill("Harbour")
        page.get_by_role("button", name="Suggest routes").click()
        page.get_by_text("route option(s) added as").wait_for(timeout=120_000)
        _idle(page)
        # the message outlives the map's own rerun after it fits the new routes
        assert any(re.match(r"\d route option\(s\) added as options? 1.*: Alpha → Harbour, least-risk route "
                            r"\d+\.\d km", m) for m in _success(page)), _success(page)

        # the comparison shows every metric row: its box is as tall as its rows (not the default ten)
        # source, length, time, 3 bands (3, 6, 9 km), beyond, occupied, closest, crosses, passable,
        # 3 hazard counts, shelters, spare places, medical points, off-road km: 18 rows and the header
        rows = 18
        grid = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        assert grid["height"] >= (rows + 1) * 30, grid
        _save(page, "corridor C")
        _save(page, "corridor D")
        with connect(planner_db, read_only=True) as store:
            ids = store.read("corridors").set_index("name")["id"].to_dict()
        assert _selected(page, "Corridor") == f"{ids['corridor D']} — corridor D"
        assert _success(page) == [f"saved corridor D as {ids['corridor D']} (draft, version 1)"]
        # from draft only proposed and closed are offered, proposed first
        assert _selected(page, "New status") == "proposed"
        assert _offered(page, "New status") == ["proposed", "closed"]
        page.get_by_role("button", name="Change status").click()
        page.get_by_text("status draft → proposed").wait_for(timeout=60_000)
        _idle(page)
        assert _success(page) == [f"corridor D ({ids['corridor D']}): status draft → proposed (version 2)"]
        # the page's corridor table: D proposed (version 2), C still a draft (version 1)
        page.get_by_text("Status: proposed").wait_for(timeout=30_000)
        assert _selected(page, "Corridor") == f"{ids['corridor D']} — corridor D"
        # the steps from proposed, the first by default (no choice kept from the draft)
        assert _selected(page, "New status") == "agreed"
        assert _offered(page, "New status") == ["agreed", "draft", "closed"]
        page.screenshot(path=str(_artifact("planner_status.png")), full_page=True)
        assert log.external == [], log.external
        assert log.page_errors == [], log.page_errors

    with connect(planner_db, read_only=True) as store:
        rows = store.read("corridors").set_index("name")
    assert (rows.loc["corridor D", "status"], int(rows.loc["corridor D", "version"])) == ("proposed", 2)
    assert (rows.loc["corridor C", "status"], int(rows.loc["corridor C", "version"])) == ("draft", 1)


def _artifact(name: str):
    from pathlib import Path

    out = Path(__file__).resolve().parent / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    return out / name


def test_the_first_visitor_after_a_start_sees_home_in_the_sidebar(planner_db):  # noqa: F811
    """The first page run after a start used to list the pages/ files with the entry script as "app"
    (sidebar and tab title) until the app set its navigation; watch it from the first paint."""
    require_browser()
    with streamlit_server(planner_db, env=ENV) as base, chromium() as context:
        page = context.new_page()
        page.goto(base + "/")  # the first session of this server process
        seen: list[tuple[tuple[str, ...], str]] = []
        for _ in range(600):  # until the sign-in form is there (at most ~60 s)
            links = tuple(t.strip() for t in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts())
            seen.append((links, page.title()))
            if page.get_by_label("User name").count():
                break
            page.wait_for_timeout(100)
        assert not [s for s in seen if "app" in s[0] or s[1] == "app"], seen
        assert all(links == () for links, _ in seen), seen  # an anonymous visitor sees no page list
        sign_in(page, base)
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.wait_for(timeout=60_000)
        _idle(page)
        links = [t.strip() for t in nav.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
        assert links[:3] == ["Home", "COP", "Exposure and coverage"], links
        assert "app" not in links and page.title() != "app"
