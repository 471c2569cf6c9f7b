"""A mouse-wheel zoom step on the COP map in a real browser (headless Chromium against `streamlit run`).

Asserts that the map reports the view its zoom animation goes to once, when the animation starts (not a
quarter second after it ended), with the value streamlit-folium reports after it (so that report sends
nothing); that a layer whose data the rerun did not change stays drawn (never removed from the map and
added again) while the new view's layers replace the old ones; that after a rerun the layers it did not
send are gone and the canvas draws the layers in the script's order; and that a layer's data, sent as a
string the browser parses, comes back exactly, whatever its text holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cimic_geo.maps.cop_data import script_json
from cimic_geo.maps.cop_map import string_text
from tests.browser_utils import (
    chromium,
    open_signed_in,
    require_browser,
    streamlit_server,
)

pytestmark = pytest.mark.browser

#: Record each view report (with the map's state then) and every removal of the front line from the map.
RECORD = """() => {
    const T = window.__zoomlog = {reports: [], zoomend: []};
    const send = window.Streamlit.setComponentValue;
    window.Streamlit.setComponentValue = function (v) {
        T.reports.push({value: JSON.parse(JSON.stringify(v)), animating: !!window.map._animatingZoom,
                        t: performance.now()});
        return send.apply(this, arguments);
    };
    window.map.on('zoomend', () => T.zoomend.push(performance.now()));
    window.__marks = Object.values(window.cimicLayers);
    window.__marks.forEach(l => { l.__removed = 0; l.on('remove', () => { l.__removed += 1; }); });
    return true;
}"""
#: The settled view as streamlit-folium reports it (its order of keys).
VIEW = """() => { const b = window.map.getBounds();
    return {last_object_clicked: window.__GLOBAL_DATA__.last_object_clicked,
            bounds: {_southWest: {lat: b.getSouth(), lng: b.getWest()}, _northEast: {lat: b.getNorth(), lng: b.getEast()}},
            zoom: window.map.getZoom()}; }"""
#: Keys of the layers in the order the shared canvas draws their paths (bottom first), runs merged.
CANVAS_ORDER = """() => {
    const owner = new Map();
    Object.entries(window.cimicLayers).forEach(([k, gj]) => gj.eachLayer(l => owner.set(l, k)));
    const r = Object.values(window.map._layers).map(l => l._renderer).find(Boolean);
    const out = [];
    for (let o = r && r._drawFirst; o; o = o.next) {
        const k = owner.get(o.layer);
        if (k && out[out.length - 1] !== k) { out.push(k); }
    }
    return out; }"""


def test_wheel_zoom_reports_at_once_keeps_unchanged_layers_and_orders_the_canvas(demo_db_copy: Path) -> None:
    require_browser()
    with streamlit_server(demo_db_copy) as base, chromium(viewport=(1400, 1000)) as context:
        page = context.new_page()
        log, frame = open_signed_in(page, base)
        frame.wait_for_function("() => window.cimicLayers && window.cimicLayers.front_line && "
                                "Object.keys(window.cimicLayers).length > 3", timeout=60_000)
        page.wait_for_function("() => document.querySelector('[data-test-script-state]')"
                               ".getAttribute('data-test-script-state') !== 'running'", timeout=60_000)
        page.wait_for_timeout(1000)  # the first view report's rerun over
        frame.evaluate(RECORD)
        zoom0 = frame.evaluate("() => window.map.getZoom()")
        handle = page.query_selector('iframe[title="streamlit_folium.st_folium"]')
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        page.mouse.wheel(0, -120)
        # the new view's layers drawn (new layer objects for it) and the run over
        frame.wait_for_function("(z) => window.map.getZoom() > z && !window.map._animatingZoom && "
                                "Object.values(window.cimicLayers).some(l => !window.__marks.includes(l))", arg=zoom0,
                                timeout=60_000)
        page.wait_for_function("() => document.querySelector('[data-test-script-state]')"
                               ".getAttribute('data-test-script-state') !== 'running'", timeout=60_000)
        page.wait_for_timeout(1000)  # streamlit-folium's own report (250 ms after the move ended) has had its chance
        got = frame.evaluate("() => window.__zoomlog")
        view = frame.evaluate(VIEW)

        # one report, sent while the zoom animation ran (before it ended), holding the view it went to exactly
        assert len(got["reports"]) == 1, got["reports"]
        report = got["reports"][0]
        assert report["animating"] and got["zoomend"] and report["t"] < got["zoomend"][0], got
        assert report["value"] == view
        assert view["zoom"] > zoom0

        # the layers whose data the step did not change (the same objects) stayed drawn, never removed and added
        # again; those of the new view replaced the old ones (new objects)
        kept = frame.evaluate("() => Object.fromEntries(Object.entries(window.cimicLayers).filter(([k, l]) => "
                              "window.__marks.includes(l) && window.map.hasLayer(l)).map(([k, l]) => [k, l.__removed]))")
        assert kept and set(kept.values()) == {0}, kept

        # the canvas draws the layers in the script's order (bottom to top)
        from cimic_geo.maps.cop_style import LAYER_ORDER

        rank = {k: i for i, k in enumerate(LAYER_ORDER)}
        order = frame.evaluate(CANVAS_ORDER)
        assert len(order) >= 2 and [rank[k.removesuffix("_grid")] for k in order] == sorted(
            rank[k.removesuffix("_grid")] for k in order), order

        # a rerun (as the component runs one: the previous groups removed, then the script) that sends the front
        # line anew and the corridors unchanged: the new front line is drawn below the corridors, kept, and both
        # below a plain group's path; a layer it did not send (the basemap) is gone from the map; the groups only
        # mark the rerun
        after = frame.evaluate("""() => new Promise(done => {
            const M = window.cimicMap, line = {type: 'FeatureCollection', features: [{type: 'Feature',
                properties: {}, geometry: {type: 'LineString', coordinates: [[30, 45], [40, 52]]}}]};
            const road = {type: 'FeatureCollection', features: [{type: 'Feature', properties: {name: 'r'},
                geometry: {type: 'LineString', coordinates: [[30, 52], [40, 45]]}}]};
            const g1 = L.featureGroup().addTo(window.map);
            M.layer('front_line', JSON.stringify(line), 'test-front-1', g1);
            const kept = M.layer('corridors', JSON.stringify(road), 'test-corridors', g1);
            const base = M.layer('basemap', JSON.stringify(road), 'test-base', g1);
            Promise.resolve().then(() => {
                window.map.removeLayer(g1);  // the component's next rerun
                const g2 = L.featureGroup();
                const front = M.layer('front_line', JSON.stringify(line), 'test-front-2', g2);
                const again = M.layer('corridors', JSON.stringify(road), 'test-corridors', g2);
                const other = L.polyline([[45, 30], [52, 40]]).addTo(g2);  // a plain group's path (the planner's)
                g2.addTo(window.map);
                setTimeout(() => {
                    const r = front.getLayers()[0]._renderer, order = [];
                    for (let o = r._drawFirst; o; o = o.next) {
                        if (o.layer === front.getLayers()[0]) { order.push('front_line'); }
                        if (o.layer === again.getLayers()[0]) { order.push('corridors'); }
                        if (o.layer === other) { order.push('other'); }
                    }
                    done({same: kept === again, keptOn: window.map.hasLayer(again), baseOn: window.map.hasLayer(base),
                          g2: g2.getLayers().length - 1, order: order});
                }, 0);
            });
        })""")
        assert after == {"same": True, "keptOn": True, "baseOn": False, "g2": 0,
                         "order": ["front_line", "corridors", "other"]}

        assert log.external == [], log.external
        assert log.page_errors == [], log.page_errors


NASTY = ["a`b", "${7*7}", "back\\slash \\n \\u003c", 'q"uote', "<script>&amp;</script>", "line\u2028sep\u2029",
         "tab\tnew\nline", "Краматорськ", "end\\", "\\`", "}`); window.__ran = 1; (`"]


def test_layer_text_parses_back_to_the_data_and_never_runs() -> None:
    require_browser()
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n, "i": i}, "geometry": {"type": "Point", "coordinates": [i, 1.5]}}
        for i, n in enumerate(NASTY)]}
    text = string_text(script_json(data))
    # what the script holds: no markup characters
    assert not any(c in text for c in "<>&\n\u2028\u2029")
    with chromium() as context:
        page = context.new_page()
        page.set_content("<html><body></body></html>")
        back = page.evaluate("() => { const v = JSON.parse('" + text + "'); return [v, window.__ran || 0]; }")
    assert back == [json.loads(json.dumps(data)), 0]
