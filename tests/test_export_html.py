"""Standalone HTML export: everything inlined, nothing fetched from the network, data text escaped."""

from __future__ import annotations

import html.parser
import shutil
from pathlib import Path

import pytest
from export_fixtures import BBOX, EVIL, build_store

from cimic_geo.errors import AssetError
from cimic_geo.export import View, export
from cimic_geo.maps.assets import missing_assets
from cimic_geo.store import connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(bool(missing_assets()), reason="offline map assets not installed (make assets)")


#: Number of GeoJSON features drawn on the folium map (``map_<id>`` global), -1 without a map.
_COUNT_FEATURES = """() => {
  const k = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map);
  if (!k.length) return -1;
  let n = 0;
  window[k[0]].eachLayer(l => { if (l.feature) n++; });
  return n;
}"""


class _Refs(html.parser.HTMLParser):
    """Collect script/link/img references and inline script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.refs.append((tag, a["src"] or ""))
            else:
                self.inline_scripts += 1
        elif tag == "link" and a.get("href"):
            self.refs.append((tag, a["href"] or ""))
        elif tag in ("img", "iframe") and a.get("src"):
            self.refs.append((tag, a["src"] or ""))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export_html")
    db = build_store(folder / "hand.duckdb")
    with connect(db, read_only=True) as store:
        return export(store, View(bbox=BBOX, title="Brief <img src=x onerror=alert(1)>",
                                  layers=("settlements", "shelters", "corridors", "front_line", "occupied_area")),
                      "html", folder / "brief.html")


def test_html_inlines_every_asset(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    p = _Refs()
    p.feed(text)
    assert p.inline_scripts > 0
    assert p.refs, "Leaflet should be referenced as data: URIs"
    for tag, ref in p.refs:
        assert ref.startswith("data:"), f"<{tag}> references {ref[:80]} (not inlined)"
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "code.jquery", "maxcdn", "netdna", "googleapis"):
        assert cdn not in text
    assert "L.map(" in text or "L.map (" in text  # the Leaflet map itself is in the file


def test_html_escapes_text_from_data(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert EVIL not in text and "<script>alert(" not in text
    assert "<img src=x onerror" not in text
    assert "Brief &lt;img src=x onerror=alert(1)&gt;" in text  # the title, escaped
    for ident in ("s1", "s2", "h1", "h3", "c1", "c2"):
        assert f'"id":"{ident}"' in text


def test_html_missing_assets_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    db = build_store(tmp_path / "h.duckdb")
    monkeypatch.setenv("CIMIC_ASSET_DIR", str(tmp_path / "no_assets"))
    from cimic_geo.maps import assets

    assets._read_asset.cache_clear()
    with connect(db, read_only=True) as store, pytest.raises(AssetError, match="make assets"):
        export(store, View(bbox=BBOX), "html", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
    assert [p.name for p in tmp_path.iterdir() if ".part-" in p.name] == []


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
def test_html_opens_offline_in_chromium(page: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        try:
            context = browser.new_context(offline=True)
            pg = context.new_page()
            pg.on("request", lambda r: requests.append(r.url))
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(page.as_uri(), wait_until="load", timeout=30_000)
            pg.wait_for_selector(".leaflet-container", timeout=15_000)
            drawn = pg.evaluate(_COUNT_FEATURES)
        finally:
            browser.close()
    assert errors == []
    assert drawn == 4 + 3 + 2 + 1 + 1  # settlements, shelters, corridors, front line, occupied area
    remote = [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:"))]
    assert remote == []


def test_html_refuses_views_too_large_for_a_browser(tmp_path: Path, monkeypatch) -> None:
    from cimic_geo.errors import ExportError
    from cimic_geo.export import html as html_export

    db = build_store(tmp_path / "h.duckdb")
    monkeypatch.setattr(html_export, "HTML_MAX_FEATURES", 10)  # the hand-made view has 16 features
    with connect(db, read_only=True) as store, pytest.raises(ExportError, match="16 features, too many"):
        export(store, View(bbox=BBOX, layers=("settlements", "shelters", "infrastructure", "front_line",
                                              "occupied_area", "corridors", "roads")), "html", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
