"""The Ukrainian interface in a real browser: after switching the sidebar's language to Ukrainian,
every page (home, the eight pages and the audit trail) shows its title in Ukrainian and no visible
line of text is an English message of the catalogue, nor holds a known English interface phrase.

Data values are not interface text and are left out: tables are drawn on a canvas (no DOM text) and
the maps live in iframes (their legends are checked against the catalogue like the page).
Streamlit's own file-uploader texts ("Upload", "200MB per file") are drawn by its front end; in
Ukrainian a style shows the catalogue's text in their place, which the test reads from the computed style.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cimic_geo.i18n import _, use_language
from cimic_geo.i18n_catalogue import read_catalogue
from tests.browser_utils import (
    TEST_USER,
    RequestLog,
    chromium,
    map_frame,
    require_browser,
    screenshot_path,
    sign_in,
    streamlit_server,
)

pytestmark = pytest.mark.browser

#: (English page title as in app.py / the admin pages, the page's English h1, has a map).
PAGES = [
    ("Home", "CIMIC situational awareness", False),
    ("COP", "Common operational picture", True),
    ("Exposure and coverage", "Exposure, shelter coverage and restoration", True),
    ("Corridor planner", "Corridor planner", True),
    ("Import", "Import data", False),
    ("Evacuations", "Evacuations", True),
    ("Civil assessments", "Civil assessments", True),
    ("Partners (3W)", "Partners: who does what where", True),
    ("Audit", "Audit trail", False),
]

#: English interface phrases that must not remain anywhere in the Ukrainian pages (whole words).
ENGLISH_UI = ("Download", "Sign out", "Signed in as", "Layers", "Threat bands", "As of", "Front line",
              "Shelters", "Settlements", "Evacuations", "Corridor", "Search", "Time", "Sector", "Population",
              "Exposure", "Restoration", "Template", "Spreadsheet", "History", "Suggest", "Legend")

_VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, el = n.parentElement;
    if (!el || !n.textContent.trim()) continue;
    if (el.closest('script,style,noscript,[data-testid="stDataFrame"],[data-testid="stCode"],code,' +
                   '[data-testid="stFileUploaderDropzone"],[data-testid="stTooltipContent"],.cimic-marking')) continue;
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none' || (r.width === 0 && r.height === 0)) continue;
    out.push(n.textContent.trim());
  }
  return out;
}"""


#: The file uploader's button and limit texts as drawn: the ``::after`` content the page's style sets.
_UPLOADER_TEXTS = """() => {
  const zone = document.querySelector('[data-testid="stFileUploaderDropzone"]');
  const els = [zone.querySelector('button [data-testid="stMarkdownContainer"] p'),
               zone.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span')];
  return els.map(e => getComputedStyle(e, '::after').content.replace(/^"|"$/g, ''));
}"""


def _english_messages() -> set[str]:
    """English msgids whose Ukrainian text differs and that have no placeholders (shown verbatim)."""
    cat = read_catalogue("uk")
    out = set()
    for m in cat:
        if not m.id or isinstance(m.id, tuple) or "{" in m.id or not m.string or m.string == m.id:
            continue
        if m.context == "term" or len(m.id) < 3 or m.id.isupper():  # data values (statuses, the handling
            continue  # marking such as EXERCISE) and symbols are not checked
        out.add(m.id)
    return out


#: Latin-script words allowed in a Ukrainian line: codes, formats, acronyms, the product's name.
LATIN_OK = {"EXERCISE", "CIMIC", "MGRS", "DTG", "UTC", "CSV", "PNG", "PDF", "HTML", "KML", "GeoJSON", "GeoPackage",
            "TAK", "CoT", "WKT", "ISO", "APP", "Language", "zip", "xlsx", "csv", "XLSX", "Leaflet", "OpenStreetMap",
            "CIMIC_READ_ONLY", "WGS", "EPSG", "km", "NATO", "SIDC", "Shapefile"}
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")
_CYRILLIC = re.compile(r"[А-Яа-яІіЇїЄєҐґ]")


#: Streamlit's own chrome (accessibility text, icon ligatures) and the import modes (CLI values).
STREAMLIT_CHROME = re.compile(r"^(Skip to main content|keyboard_\w+|\d+ options? available\.|append|upsert|replace)$")
#: Date-time groups and ISO dates: military formats, the same in both languages.
_DTG = re.compile(r"\b\d{6}Z[A-Z]{3}\d{2}\b|\d{4}-\d{2}-\d{2}(T[\d:]+Z?)?")


#: A ranked data name ("1. Central hospital No. 1"): the restoration ranking's first lines.
_RANKED = re.compile(r"\d+\. \S")


def _latin_only(line: str) -> bool:
    """A line of interface text with English words and no Ukrainian letter (data values are not checked)."""
    if STREAMLIT_CHROME.match(line) or line == TEST_USER or _RANKED.match(line):
        return False
    words = [w for w in _LATIN_WORD.findall(_DTG.sub(" ", line)) if w not in LATIN_OK]
    return bool(words) and not _CYRILLIC.search(line)


def _offending(texts: list[str], english: set[str], *, strict: bool = True) -> list[str]:
    bad = []
    for text in texts:
        line = " ".join(text.split())
        if line in english or line.rstrip(":") in english:
            bad.append(line)
            continue
        if strict and _latin_only(line):
            bad.append(f"{line}  [no Ukrainian]")
            continue
        for phrase in ENGLISH_UI:
            if re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", line):
                bad.append(f"{line}  [{phrase}]")
                break
    return bad


def _idle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=240_000)
    page.wait_for_timeout(500)


def test_ukrainian_interface_shows_no_english_on_any_page(demo_db_copy: Path) -> None:
    require_browser()
    english = _english_messages()
    assert len(english) > 200
    with use_language("uk"):
        pages = [(_(title), _(h1), has_map) for title, h1, has_map in PAGES]
        restoration, rank = _("Restoration priority"), _("Rank the damaged objects")
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1100)) as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        sign_in(page, base)
        page.get_by_label("Мова · Language").click()
        page.get_by_role("option", name="Українська").click()
        page.get_by_text("Ви увійшли як").first.wait_for(timeout=120_000)
        problems: dict[str, list[str]] = {}
        for title, h1, has_map in pages:
            page.get_by_role("link", name=title, exact=True).first.click(timeout=180_000)
            page.locator("h1", has_text=h1).first.wait_for(timeout=240_000)
            if has_map:
                map_frame(page, timeout_ms=240_000)
            _idle(page)
            assert page.locator('[data-testid="stException"]').count() == 0, title
            if title == pages[2][0]:  # Exposure: the restoration ranking reruns only its own part of the page
                page.get_by_role("tab", name=restoration).click()
                page.get_by_role("button", name=rank).click()
                page.get_by_role("button", name=rank).wait_for(state="detached", timeout=240_000)
                _idle(page)
            bad = _offending(page.evaluate(_VISIBLE_TEXT), english)
            for frame in page.frames[1:]:  # the maps: legends and controls (their labels are data)
                try:
                    bad += _offending(frame.evaluate(_VISIBLE_TEXT), english, strict=False)
                except Exception:  # a frame that navigated away meanwhile
                    continue
            if title == pages[1][0]:
                page.screenshot(path=str(screenshot_path("cop_uk.png")))
            if title == pages[4][0]:  # Import: the uploader's own texts, replaced by the style
                shown = page.evaluate(_UPLOADER_TEXTS)
                assert shown == ["Завантажити", "до 200 МБ на файл"], shown
            if bad:
                problems[title] = bad
        assert log.external == [], log.external
    assert not problems, "\n".join(f"{p}: {b}" for p, b in problems.items())
