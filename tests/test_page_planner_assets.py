"""What the corridor planner page asks the browser to load: its map's scripts requested all at once (a
first ``data:`` script preloads the others), milsymbol only when the APP-6 switch is checked, and a page
that does not pulse or fade while it runs."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from test_planner_page import _app, planner_db  # noqa: F401  (fixture)

from cimic_geo.maps.assets import SERVED_BASE_URL, asset_links, preload_first
from cimic_geo.maps.planner_map import build_planner_base_map, build_planner_map

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "3_Corridor_planner.py")
MILSYMBOL = f"{SERVED_BASE_URL}/milsymbol/milsymbol.js"


def _preloaded(uri: str) -> list[list[str]]:
    """The ``[kind, url]`` pairs a preload script (a base64 ``data:`` URI) asks for."""
    assert uri.startswith("data:text/javascript;base64,"), uri[:40]
    code = base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")
    assert "rel = 'preload'" in code, code
    return json.loads(re.search(r"(\[\[.*\]\])\.forEach", code).group(1))


def test_the_page_preloads_its_map_scripts_and_leaves_milsymbol_for_the_switch(monkeypatch, planner_db):  # noqa: F811
    at = _app(monkeypatch, planner_db)
    (component,) = at.get("component_instance")
    args = json.loads(component.proto.json_args)
    first, *rest = args["js_links"]
    # the first script costs no request and asks for every other file of the map at once, in the order the
    # component runs them (Leaflet before the scripts that extend it), stylesheets too
    assert [u.split("?v=")[0] for u in rest] == [
        "/app/static/vendor/leaflet/leaflet.js", "/app/static/vendor/cimic/cop-layers.js",
        "/app/static/vendor/cimic/cop-controls.js", "/app/static/vendor/leaflet-draw/leaflet.draw.js"]
    assert _preloaded(first) == [["script", u] for u in rest] + [["style", u] for u in args["css_links"]]
    assert args["css_links"] == ["/app/static/vendor/leaflet/leaflet.css",
                                 "/app/static/vendor/leaflet-draw/leaflet.draw.css"]
    # milsymbol is not loaded with the map: the APP-6 switch carries its address and loads it when checked
    assert not [u for u in args["js_links"] if "milsymbol" in u]
    assert re.search(r'symbolSwitch\([^;]*"APP-6 symbols",\s*"' + re.escape(MILSYMBOL) + r'"\);', args["script"])
    # the page does not pulse or fade while it runs (placeholders still, stale elements unfaded)
    css = " ".join(h.proto.body for h in at.get("html"))
    assert '[data-testid="stSkeleton"]' in css and "animation: none" in css
    assert '[data-stale="true"] { opacity: 1 !important; }' in css


def test_a_standalone_planner_map_has_milsymbol_inlined_and_nothing_to_preload() -> None:
    m = build_planner_map(bounds=(30.0, 46.0, 31.0, 47.0), asset_mode="inline")
    names = [n for n, _ in m.default_js]
    assert "milsymbol" in names and "cimic_preload" not in names
    assert all(u.startswith("data:") for _, u in m.default_js)
    html = m.get_root().render()
    # the switch has milsymbol on the page already: no address to load it from
    assert re.search(r'"APP-6 symbols",\s*null\);', html)
    assert MILSYMBOL not in html


def test_preloading_twice_keeps_one_preload_script_listing_every_served_file() -> None:
    m = build_planner_base_map(bounds=(30.0, 46.0, 31.0, 47.0))
    before = list(m.default_js)
    preload_first(m)  # again: the preload script is replaced, not stacked
    assert m.default_js == before
    assert [n for n, _ in m.default_js].count("cimic_preload") == 1
    listed = [u for _, u in _preloaded(m.default_js[0][1])]
    leaflet_js, leaflet_css = asset_links("leaflet")
    assert leaflet_js[0][1] in listed and leaflet_css[0][1] in listed
    assert not [u for u in listed if u.startswith("data:") or "milsymbol" in u]
    # without the Draw tool nothing of Leaflet.draw is asked for
    bare = build_planner_base_map(bounds=(30.0, 46.0, 31.0, 47.0), draw=False)
    assert not [u for _, u in _preloaded(bare.default_js[0][1]) if "draw" in u]
