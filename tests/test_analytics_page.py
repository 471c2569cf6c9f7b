"""Exposure & coverage page (AppTest) and the analytics CLI on the demo database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_page_planner_assets import _preloaded

from cimic_geo.analytics.kpi_strip import compact
from cimic_geo.analytics.situation import coverage_at, exposure_at, restoration_at
from cimic_geo.cli import main
from cimic_geo.maps.analytics_map import build_analytics_map
from cimic_geo.maps.assets import remote_urls
from cimic_geo.store import connect
from cimic_geo.ui.common import STILL_PAGE_CSS

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "2_Exposure_and_coverage.py")


def _run(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def map_args(at: AppTest) -> dict:
    (component,) = at.get("component_instance")
    return json.loads(component.proto.json_args)


def test_page_shows_band_kpis_map_and_downloads(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db)
    with connect(demo_db, read_only=True) as store:
        doc = exposure_at(store, bands_km=(5, 20, 40)).to_dict()
        cov = coverage_at(store, max_km=2.0)
    m = metrics(at)
    for b in doc["bands"]:
        assert m[f"Population {b['band']} km"] == compact(b["population"])
    assert m["Occupied side"] == compact(doc["occupied"]["population"])
    assert m["Shelter coverage"] == f"{cov.covered_pct:.1f} %"
    # short values that fit the tile; the exact figures in the help
    assert m["Unserved (people)"] == compact(cov.population_total - cov.population_covered)
    helps = {x.label: x.help for x in at.metric}
    assert helps["Unserved (people)"] == f"{cov.population_total - cov.population_covered:,} people without a " \
        "shelter place in reach"
    assert helps["Occupied side"].startswith(f"{doc['occupied']['population']:,} people in ")
    args = map_args(at)
    assert "Threat band" in args["html"]
    assert not remote_urls(args["header"] + args["html"] + args["script"])
    first, *rest = args["js_links"]
    assert rest == ["/app/static/vendor/leaflet/leaflet.js"]
    assert args["css_links"] == ["/app/static/vendor/leaflet/leaflet.css"]
    # the first script costs no request and asks for Leaflet and its stylesheet at once (streamlit-folium
    # would otherwise fetch the stylesheet and Leaflet one after the other, each once the one before is there)
    assert _preloaded(first) == [["script", rest[0]], ["style", args["css_links"][0]]]
    # the page does not pulse or fade while it loads and reruns
    assert [h.proto.body for h in at.get("html")].count(STILL_PAGE_CSS) == 1
    labels = [d.label for d in at.get("download_button")]
    assert "Download settlements coverage (CSV)" in labels
    # the restoration ranking is computed when asked for (seconds on a national store), then kept
    assert "Download restoration priority (CSV)" not in labels
    at.button(key="analytics:restoration_go").click().run()
    assert not at.exception and not at.error
    with connect(demo_db, read_only=True) as store:
        rest = restoration_at(store, bands_km=(5, 20, 40))
    labels = [d.label for d in at.get("download_button")]
    assert "Download restoration priority (CSV)" in labels
    ranked = next(c.value for c in at.caption if "damaged objects ranked" in c.value)
    assert ranked.startswith(f"{len(rest.table()):,} damaged objects ranked")
    top = rest.table().iloc[0]
    assert any(re.sub(r"\\(.)", r"\1", m.value).startswith(f"**1. {top['name']}**") for m in at.markdown)
    at.number_input(key="analytics:shift").set_value(3.0).run()  # a later run shows it without asking again
    assert "Download restoration priority (CSV)" in [d.label for d in at.get("download_button")]


def test_shift_and_coverage_colouring(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db)
    at.number_input(key="analytics:shift").set_value(5.0).run()
    at.radio(key="analytics:colour_by").set_value("coverage").run()
    assert not at.exception
    with connect(demo_db, read_only=True) as store:
        doc = exposure_at(store, bands_km=(5, 20, 40), shift_km=5).to_dict()
    first = doc["bands"][0]
    metric = next(x for x in at.metric if x.label == "Population 0-5 km")
    assert metric.value == compact(first["population"])
    assert "Shelter coverage" in map_args(at)["html"]
    assert "What-if occupied area" in map_args(at)["script"]


def test_bad_bands_show_a_clear_error(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db)
    at.text_input(key="analytics:bands").set_value("20,5").run()
    assert any("strictly increasing" in e.value for e in at.error)
    assert not at.get("component_instance")


def test_map_escapes_names():
    import geopandas as gpd
    from shapely.geometry import Point

    sets = gpd.GeoDataFrame({"id": ["x"], "name": ["<script>alert(1)</script>"], "population": [10], "band": ["0-5"],
                             "distance_km": [1.0]}, geometry=[Point(36, 48)], crs="EPSG:4326")
    html = build_analytics_map(settlements=sets, band_labels=["0-5"]).get_root().render()
    # sent as JSON with < > & escaped (\u003c), written in the browser with textContent (never as HTML)
    assert "<script>alert(1)</script>" not in html and "\\u003cscript\\u003ealert(1)" in html
    assert "textContent = d.values" in html and "innerHTML" not in html
    assert not remote_urls(html)
    # a standalone file has every script inlined: nothing to preload
    inline = build_analytics_map(settlements=sets, band_labels=["0-5"], asset_mode="inline")
    assert [n for n, _u in inline.default_js] == ["leaflet"]
    assert all(u.startswith("data:") for _n, u in inline.default_js)


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------


def _json(capsys, argv: list[str]) -> tuple[int, dict]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_cli_exposure_document(capsys, demo_db):
    code, doc = _json(capsys, ["exposure", "--db", str(demo_db), "--bands", "5,20,40", "--json"])
    assert code == 0
    assert [b["band"] for b in doc["bands"]] == ["0-5", "5-20", "20-40"]
    assert {"population", "settlements", "shelters", "infrastructure", "min_km", "max_km"} <= set(doc["bands"][0])
    with connect(demo_db, read_only=True) as store:
        total = int(store.read("settlements")["population"].sum())
        latest = max(store.history_times("front_line"))
    counted = sum(b["population"] for b in doc["bands"]) + doc["beyond"]["population"] + doc["occupied"]["population"]
    assert counted == total
    assert doc["as_of"] == latest.strftime("%Y-%m-%dT%H:%M:%SZ")  # default: the latest snapshot
    code, shifted = _json(capsys, ["exposure", "--db", str(demo_db), "--shift-km", "10", "--json"])
    assert shifted["occupied"]["population"] >= doc["occupied"]["population"]
    assert shifted["occupied"]["change"]["population"] == shifted["occupied"]["population"] - doc["occupied"]["population"]


def test_cli_coverage_and_restoration(capsys, demo_db):
    code, doc = _json(capsys, ["coverage", "--db", str(demo_db), "--max-km", "5", "--json"])
    assert code == 0
    assert doc["population_covered"] == sum(s["covered"] for s in doc["settlements"])
    assert doc["population_covered"] == sum(s["assigned"] for s in doc["shelters"])
    assert all(s["assigned"] <= s["available"] for s in doc["shelters"])
    assert all(s["covered"] + s["unserved"] == s["population"] for s in doc["settlements"])
    code, rest = _json(capsys, ["restoration", "--db", str(demo_db), "--top", "5", "--json"])
    assert code == 0 and len(rest["objects"]) == 5
    assert [o["rank"] for o in rest["objects"]] == [1, 2, 3, 4, 5]
    assert all(o["reason"] for o in rest["objects"])


@pytest.mark.parametrize("argv, message", [
    (["exposure", "--bands", "20,5"], "strictly increasing"),
    (["exposure", "--shift-km", "-2"], "shift_km"),
    (["coverage", "--max-km", "-1"], "max_km"),
    (["exposure", "--as-of", "2001-01-01"], "outside the front-line history"),
    (["restoration", "--top", "0"], "--top"),
])
def test_cli_bad_input(capsys, demo_db, argv, message):
    code, doc = _json(capsys, [*argv, "--db", str(demo_db), "--json"])
    assert code == 2 and doc["ok"] is False and message in doc["error"]


def test_cli_coverage_by_road_travel_time(capsys, demo_db):
    code, doc = _json(capsys, ["coverage", "--db", str(demo_db), "--max-minutes", "20", "--json"])
    assert code == 0 and doc["cost_unit"] == "min" and doc["max_minutes"] == 20
    assert doc["population_covered"] == sum(s["covered"] for s in doc["settlements"]) > 0
    assert all(s["assigned"] <= s["available"] for s in doc["shelters"])
    # a longer time can only reach more: never fewer people placed
    code, more = _json(capsys, ["coverage", "--db", str(demo_db), "--max-minutes", "40", "--json"])
    assert more["population_covered"] >= doc["population_covered"]


def test_page_road_time_reach_and_earlier_as_of(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db)
    at.radio(key="analytics:reach_mode").set_value("time").run()
    assert not at.exception and not at.error
    assert any("within 15 min" in c.value for c in at.caption)
    with connect(demo_db, read_only=True) as store:
        first = store.history_times("front_line")[0]
        doc = exposure_at(store, as_of=first, bands_km=(5, 20, 40)).to_dict()
    at.select_slider(key="analytics:as_of").set_value(first).run()
    assert not at.exception
    assert metrics(at)["Occupied side"] == compact(doc["occupied"]["population"])


def test_page_has_the_export_panel_for_the_view_it_shows(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db)
    assert "Export for the brief" in [s.value for s in at.subheader]
    with connect(demo_db, read_only=True) as store:
        latest = max(store.history_times("front_line"))
        sets = store.read("settlements")
        occ = store.read("occupied_area", as_of=latest)
        front = store.read("front_line", as_of=latest)
    # the panel's bbox is the extent the map opens fitted to: settlements, occupied area, front line
    x0 = min(sets.total_bounds[0], occ.total_bounds[0], front.total_bounds[0])
    y1 = max(sets.total_bounds[3], occ.total_bounds[3], front.total_bounds[3])
    view = next(c.value for c in at.caption if c.value.startswith("View: "))
    assert f"–{y1:.3f}°N, {x0:.3f}–" in view
    assert set(view.split("layers: ")[1].split(", ")) == {"front_line", "occupied_area", "settlements", "shelters",
                                                          "infrastructure"}
    at.multiselect(key="analytics:export_formats").set_value(["geojson"])
    at.button(key="analytics:export_prepare").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    name, data = (at.session_state["analytics:export_files"] or {})["files"]["geojson"]
    assert name.endswith(latest.strftime("%Y%m%d_%H%MZ.geojson"))  # the page's as-of time
    doc = json.loads(data)
    layers = {f["properties"]["layer"] for f in doc["features"]}
    assert {"settlements", "shelters", "front_line", "occupied_area"} <= layers
    assert sum(f["properties"]["layer"] == "settlements" for f in doc["features"]) == len(sets)
