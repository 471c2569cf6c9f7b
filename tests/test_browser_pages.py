"""Every page in a real browser: renders without an exception, no request leaves localhost.

One Streamlit server on a copy of the demo database; each page is opened by its URL in headless
Debian Chromium. Screenshots go to tests/artifacts/, or to docs/img/ for the README with
``CIMIC_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser_utils import RequestLog, chromium, map_frame, require_browser, sign_in, streamlit_server

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "img" if os.environ.get("CIMIC_UPDATE_SCREENSHOTS") == "1" else ROOT / "tests" / "artifacts"

# (sidebar link or None for home, text the page must show, has a map, screenshot name). Pages are
# opened from the home page's sidebar, as a user does (a deep link makes Streamlit's front end probe
# <page>/_stcore/* first, which logs 404s in the console).
PAGES = [
    (None, "CIMIC situational awareness", False, "home.png"),
    ("Exposure and coverage", "Exposure, shelter coverage and restoration", True, "exposure.png"),
    ("Corridor planner", "Corridor planner", True, "planner.png"),
    ("Import", "Import data", False, "import.png"),
]


def test_every_page_renders_offline(demo_db_copy: Path) -> None:
    require_browser()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1100)) as context:
        for path, text, has_map, shot in PAGES:
            page = context.new_page()
            log = RequestLog.attach(page)
            sign_in(page, base)
            page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
            if path is not None:
                page.get_by_role("link", name=path).first.click()
            page.locator("h1", has_text=text).first.wait_for(timeout=90_000)
            if has_map:
                map_frame(page, timeout_ms=120_000)
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
            )
            banner = page.locator(".cimic-marking")
            banner.first.wait_for(timeout=60_000)
            assert banner.count() >= 1 and "EXERCISE" in banner.first.inner_text(), path
            assert page.locator('[data-testid="stException"]').count() == 0, (
                path, page.locator('[data-testid="stException"]').first.inner_text())
            page.screenshot(path=str(SHOTS / shot), full_page=False)
            assert log.external == [], (path, log.external)
            assert log.page_errors == [], (path, log.page_errors)
            assert log.console_errors == [], (path, log.console_errors)
            page.close()
