"""The COP page's logic with Streamlit's AppTest: layers sent, time, KPIs, search, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_page_planner_assets import _preloaded

from cimic_geo.analytics.kpi_strip import kpi_strip
from cimic_geo.store import connect
from cimic_geo.ui.common import STILL_PAGE_CSS

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "1_COP.py")


def _run(monkeypatch: pytest.MonkeyPatch, db: Path, **env: str) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")  # the shared demo database must not be written
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def map_args(at: AppTest) -> dict:
    """The arguments the page passed to the streamlit-folium component (what the browser gets)."""
    (component,) = at.get("component_instance")
    assert component.proto.component_name == "streamlit_folium.st_folium"
    return json.loads(component.proto.json_args)


def sent_layers(args: dict) -> dict[str, dict]:
    """``{layer key: GeoJSON}`` sent in the dynamic feature groups."""
    out = {}
    # layer(key, data, digest of the data, the feature group it goes in); the data a JSON object, or a string or
    # template literal the browser parses as JSON (its value: JavaScript's escapes undone)
    for m in re.finditer(r"window\.cimicMap\.layer\(\"([a-z_]+)\", (\{.*?\}|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'),"
                         r"\s*\"[0-9a-f]{24}\", \w+\);", args["feature_group"], flags=re.S):
        data = m.group(2)
        if data[0] in "`'":
            data = re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda e: chr(int(e[1][1:], 16)) if len(e[1]) == 5
                          else {"n": "\n", "r": "\r", "t": "\t"}.get(e[1], e[1]), data[1:-1], flags=re.S)
        out[m.group(1)] = json.loads(data)
    return out


def slider(at: AppTest, label: str):
    return next(s for s in at.select_slider if s.label == label)


def test_cop_page_sends_default_layers_and_marks_exercise(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = _run(monkeypatch, demo_db)
    assert "EXERCISE" in at.markdown[0].body  # marking banner
    args = map_args(at)
    layers = sent_layers(args)
    assert {"front_line", "occupied_area", "shelters", "infrastructure", "corridors", "settlements",
            "front_change"} <= set(layers)
    assert "roads" not in layers  # hidden by default, not sent
    # the basemap from the store: outlines and rivers, major roads only, place names
    assert {"state", "admin1", "river"} <= {f["properties"]["kind"] for f in layers["basemap"]["features"]}
    assert {f["properties"]["road_class"] for f in layers["major_roads"]["features"]} <= {"motorway", "trunk",
                                                                                          "primary", "secondary"}
    assert layers["labels"]["features"]
    # offline: the component loads Leaflet from the app's static folder only (milsymbol when the APP-6
    # switch is first checked; the project's own map scripts carry a content hash against stale browser caches)
    first, *rest = args["js_links"]
    assert [u.split("?v=")[0] for u in rest] == [
        "/app/static/vendor/leaflet/leaflet.js",
        "/app/static/vendor/cimic/cop-layers.js", "/app/static/vendor/cimic/cop-controls.js"]
    assert args["css_links"] == ["/app/static/vendor/leaflet/leaflet.css"]
    # the first script costs no request and asks for all the others and the stylesheet at once, in the
    # component's order (streamlit-folium would otherwise fetch each only once the one before has run)
    assert _preloaded(first) == [["script", u] for u in rest] + [["style", u] for u in args["css_links"]]
    # the page does not pulse or fade while it loads and reruns
    assert [h.proto.body for h in at.get("html")].count(STILL_PAGE_CSS) == 1
    # panning reruns only for view changes and clicks
    assert sorted(args["returned_objects"]) == ["bounds", "last_object_clicked", "zoom"]
    with connect(demo_db, read_only=True) as store:
        counts = store.counts()
        damaged = len(store.read("infrastructure", columns=["damage"], where={"damage": ["minor", "major", "destroyed"]}))
    # the demo fits under the point limit: every shelter and damaged object is drawn individually
    assert len(layers["shelters"]["features"]) == counts["shelters"]
    assert len(layers["infrastructure"]["features"]) == damaged


def test_toggling_roads_on_sends_roads(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = _run(monkeypatch, demo_db)
    next(c for c in at.checkbox if c.label == "Roads").check().run()
    next(c for c in at.checkbox if c.label == "Shelters").uncheck().run()
    layers = sent_layers(map_args(at))
    assert "roads" in layers and len(layers["roads"]["features"]) > 0
    assert "shelters" not in layers


def test_as_of_slider_changes_front_line_and_kpis(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    from cimic_geo.ui.cop_page import compact, fmt_time

    with connect(demo_db, read_only=True) as store:
        times = store.history_times("front_line")
        t = times[0]
        strip = kpi_strip(settlements=store.read("settlements"), shelters=store.read("shelters"),
                          infrastructure=store.read("infrastructure"), corridors=store.read("corridors"),
                          front_line=store.read("front_line", as_of=t),
                          occupied_area=store.read("occupied_area", as_of=t), as_of=t)
    at = _run(monkeypatch, demo_db)
    as_of = slider(at, "Front line as of")
    assert as_of.value == times[-1] and as_of.options[0] == fmt_time(times[0])
    line_latest = sent_layers(map_args(at))["front_line"]
    metrics_latest = {m.label: m.value for m in at.metric}
    as_of.set_value(times[0]).run()
    assert not at.exception
    assert slider(at, "Front line as of").value == times[0]
    layers = sent_layers(map_args(at))
    assert layers["front_line"] != line_latest
    # KPIs follow the time: the analytics on the store at that time
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Population 0-5 km"] == compact(int(strip.bands.loc["0-5", "population"]))
    assert metrics != metrics_latest
    # no snapshot earlier than the first: no change layer
    assert "front_change" not in layers


def test_front_change_summary_uses_geodesic_areas(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = _run(monkeypatch, demo_db)
    text = next(m.body for m in at.markdown if m.body.startswith("**Front change"))
    layers = sent_layers(map_args(at))
    gained = sum(f["properties"]["area_km2"] for f in layers["front_change"]["features"]
                 if f["properties"]["change"] == "gained")
    assert f"newly occupied {gained:,.1f} km²" in text


def test_search_moves_the_view_and_sends_its_layers_in_the_same_run(monkeypatch: pytest.MonkeyPatch,
                                                                   demo_db: Path) -> None:
    """A found place: the pin tells the browser to move there (once per place), and the same run already
    reads and sends the layers of the view the map will show (zoom 12 on the place, the map's reported size)."""
    from cimic_geo.maps.cop_map import query_bbox
    from cimic_geo.ui.cop_page import MAP_KEY

    with connect(demo_db, read_only=True) as store:
        places = store.read("settlements").sort_values("population")
        shelters = store.read("shelters")
    biggest, second = places.iloc[-1], places.iloc[-2]
    at = _run(monkeypatch, demo_db)
    # the map reported a 1000 x 640 px view at zoom 8 around the store (1000 px = 1000/256/2^8*360°)
    w = 1000 / 256 / 2**8 * 360
    at.session_state[MAP_KEY] = {"bounds": {"_southWest": {"lat": 47.0, "lng": 35.0},
                                            "_northEast": {"lat": 49.59, "lng": 35.0 + w}}, "zoom": 8}
    at.run()
    field = next(t for t in at.text_input if t.label == "Find a settlement")
    field.input(biggest["name"][:5]).run()
    assert not at.exception
    pick = next(s for s in at.selectbox if s.label == "Matches")
    assert biggest["name"] in pick.options[0]
    args = map_args(at)
    assert args["center"] is None and args["zoom"] is None  # the browser moves the map itself
    pin = sent_layers(args)["search"]
    assert pin["features"][0]["properties"]["name"] == biggest["name"]
    assert pin["goto"] == {"n": 1, "zoom": 12}
    assert any("MGRS" in c.value for c in at.caption)
    # the view state is already the view the map will show: zoom 12, centred on the place, 1000 px wide
    state = at.session_state[MAP_KEY]
    sw, ne = state["bounds"]["_southWest"], state["bounds"]["_northEast"]
    assert state["zoom"] == 12
    assert ne["lng"] - sw["lng"] == pytest.approx(1000 / 256 / 2**12 * 360, abs=1e-9)
    assert (sw["lng"] + ne["lng"]) / 2 == pytest.approx(biggest.geometry.x, abs=1e-3)  # within a pixel
    assert sw["lat"] < biggest.geometry.y < ne["lat"]
    # ... and its layers went out in this run: the shelters of that view's grown bbox, not of the old view
    x0, y0, x1, y1 = query_bbox((sw["lng"], sw["lat"], ne["lng"], ne["lat"]), 12)
    sent = {f["properties"]["id"] for f in sent_layers(args).get("shelters", {"features": []})["features"]}
    assert sent and sent == set(shelters.cx[x0:x1, y0:y1]["id"]) and len(sent) < len(shelters)
    # a rerun with the same place keeps its number (the browser does not move the map again) ...
    at.run()
    assert sent_layers(map_args(at))["search"]["goto"]["n"] == 1
    # ... another place gets a new one, and so does the same place searched again after a cleared search
    field = next(t for t in at.text_input if t.label == "Find a settlement")
    field.input(second["name"]).run()
    assert sent_layers(map_args(at))["search"]["goto"]["n"] == 2
    next(t for t in at.text_input if t.label == "Find a settlement").input("").run()
    assert "search" not in sent_layers(map_args(at))
    next(t for t in at.text_input if t.label == "Find a settlement").input(second["name"]).run()
    assert sent_layers(map_args(at))["search"]["goto"]["n"] == 3


def test_missing_assets_are_reported_with_install_command(monkeypatch: pytest.MonkeyPatch, demo_db: Path,
                                                         tmp_path: Path) -> None:
    at = _run(monkeypatch, demo_db, CIMIC_ASSET_DIR=str(tmp_path))
    assert at.error and "make assets" in at.error[0].value
    assert not at.get("component_instance")


def test_empty_store_says_how_to_fill_it(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    at = _run(monkeypatch, empty_db)
    assert any("empty" in i.value for i in at.info)
    assert not at.get("component_instance")


def test_map_bounds_drive_the_query(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    """What st_folium reports (bounds, zoom) selects what is read and sent: a zoomed-in view gets
    only the features in its (grown, snapped) bbox; the whole-store view gets them all."""
    from cimic_geo.maps.cop_map import query_bbox
    from cimic_geo.ui.cop_page import MAP_KEY

    with connect(demo_db, read_only=True) as store:
        shelters = store.read("shelters")
    one = shelters.iloc[0].geometry
    bounds = (one.x - 0.02, one.y - 0.01, one.x + 0.02, one.y + 0.01)
    at = _run(monkeypatch, demo_db)
    total = len(sent_layers(map_args(at))["shelters"]["features"])
    at.session_state[MAP_KEY] = {
        "bounds": {"_southWest": {"lat": bounds[1], "lng": bounds[0]},
                   "_northEast": {"lat": bounds[3], "lng": bounds[2]}},
        "zoom": 14,
        "last_object_clicked": {"lat": one.y, "lng": one.x},
    }
    at.run()
    assert not at.exception
    x0, y0, x1, y1 = query_bbox(bounds, 14)
    inside = shelters.cx[x0:x1, y0:y1]
    sent = sent_layers(map_args(at))["shelters"]["features"]
    assert 0 < len(sent) == len(inside) < total
    assert {f["properties"]["id"] for f in sent} == set(inside["id"])
    # the click is reported in lat/lon and MGRS with the nearest feature (the shelter clicked on)
    text = " ".join(m.body for m in at.markdown)
    assert "MGRS" in text and f"{one.y:.5f}" in text
    details = next(d.value for d in at.dataframe if list(d.value.columns) == ["attribute", "value"])
    assert dict(zip(details["attribute"], details["value"], strict=True))["id"] == shelters.iloc[0]["id"]


def test_compact_numbers_for_metric_tiles() -> None:
    from cimic_geo.ui.cop_page import compact

    assert [compact(n) for n in (950, 9_999, 12_400, 99_949, 250_400, 35_813_000)] == [
        "950", "9,999", "12.4 k", "99.9 k", "250 k", "35.8 M"]


def test_data_token_moves_on_every_commit_and_on_clear_caches_not_on_reads(demo_db_copy: Path) -> None:
    """The one cache key every page uses for "the store's content" (ui.common.data_token)."""
    from cimic_geo.ui.common import clear_caches, data_token

    with connect(demo_db_copy) as store:
        t0 = data_token(store)
        store.read("settlements")
        store.counts()
        assert data_token(store) == t0  # reads write nothing
        one = store.read("settlements").head(1)
        one["population"] = one["population"] + 1
        store.write("settlements", one, mode="upsert")
        t1 = data_token(store)
        assert t1 != t0  # the commit appended to the WAL
        store.write("settlements", one, mode="upsert")  # same content, new commit
        t2 = data_token(store)
        assert t2 != t1
        clear_caches()  # what the app calls after its own writes
        assert data_token(store) != t2


def test_audit_only_commits_keep_the_data_token_and_move_the_audit_token(demo_db_copy: Path) -> None:
    """A sign-in, a sign-out, a refusal or a brief's record writes only the audit trail: page caches (keyed
    by data_token) stay warm, the audit trail's readers (audit_token) see the new rows; a data write
    after them moves both."""
    from cimic_geo.auth import Actor
    from cimic_geo.store.audit import AuditEntry, read_audit, record_refusal
    from cimic_geo.store.brief_log import last_brief_time, record_brief
    from cimic_geo.store.users import record_sign_in, record_sign_out
    from cimic_geo.ui.common import audit_token, data_token

    who = Actor("duty", "user", "editor")
    with connect(demo_db_copy) as store:
        d0, a0 = data_token(store), audit_token(store)
        before = len(read_audit(store))
        record_sign_in(store, who)
        record_brief(store, actor=who, as_of="2026-11-20T06:00:00Z")
        record_refusal(store, who, AuditEntry(action="import", layer="shelters", detail="not allowed"))
        record_sign_out(store, who)
        assert len(read_audit(store)) == before + 4  # the rows are written ...
        assert data_token(store) == d0  # ... and the layers' caches stay valid
        a1 = audit_token(store)
        assert a1 != a0
        assert str(last_brief_time(store)) == "2026-11-20 06:00:00+00:00"
        one = store.read("settlements").head(1)
        one["population"] = one["population"] + 1
        store.write("settlements", one, mode="upsert")
        d1 = data_token(store)
        assert d1 != d0 and audit_token(store) != a1
        record_sign_in(store, who)  # audit-only again: the new content's token holds
        assert data_token(store) == d1


def test_the_maps_first_view_wider_than_the_store_reads_nothing_again(monkeypatch: pytest.MonkeyPatch,
                                                                     demo_db: Path) -> None:
    """The map opens centred on the store at the zoom that fits it; its real view (the map is wider than the
    store) sticks out past the first fetch area, but only where there is no data: its first report reads no
    layer again and keeps the fetch area (a wide map: 1400 px; a narrow one reports a view inside it)."""
    from cimic_geo.maps import cop_view
    from cimic_geo.maps.controls import view_bounds
    from cimic_geo.maps.cop_map import contains_bbox, query_bbox, zoom_for_extent
    from cimic_geo.ui import cop_page, cop_parts
    from cimic_geo.ui.cop_page import MAP_KEY

    with connect(demo_db, read_only=True) as store:
        x0, y0, x1, y1 = extent = store.bbox()
    zoom = zoom_for_extent(extent)
    at = _run(monkeypatch, demo_db)
    first = sent_layers(map_args(at))
    fetched = at.session_state[cop_page.k("fetched")]
    assert fetched == (query_bbox(extent, zoom), zoom)
    reads: list[tuple[float, ...]] = []
    whole: list[str] = []  # the front line and occupied area are read whole (not for a bbox)

    def counted(store: object, **kw: object) -> object:
        if set(kw["visible"]) <= cop_page.WHOLE_LAYERS:
            whole.extend(kw["visible"])
        else:
            reads.append(tuple(kw["bbox"]))
        return cop_view.query_view(store, **kw)

    monkeypatch.setattr(cop_parts, "query_view", counted)
    for width in (1400, 700):
        view = view_bounds(((y0 + y1) / 2, (x0 + x1) / 2), zoom, (width, 640))
        if width == 1400:  # the case this is about: the view is not inside the first fetch area
            assert not contains_bbox(fetched[0], view)
        at.session_state[MAP_KEY] = {"bounds": {"_southWest": {"lat": view[1], "lng": view[0]},
                                                "_northEast": {"lat": view[3], "lng": view[2]}}, "zoom": zoom}
        at.run()
        assert not at.exception
        assert reads == [] and whole == []
        assert at.session_state[cop_page.k("fetched")] == fetched
        assert sent_layers(map_args(at)) == first
    # a view at another zoom is read (the count above can see a read)
    view = view_bounds(((y0 + y1) / 2, (x0 + x1) / 2), zoom + 2, (1000, 640))
    at.session_state[MAP_KEY] = {"bounds": {"_southWest": {"lat": view[1], "lng": view[0]},
                                            "_northEast": {"lat": view[3], "lng": view[2]}}, "zoom": zoom + 2}
    at.run()
    assert reads and all(bbox == query_bbox(view, zoom + 2) for bbox in reads)
    assert {"front_line", "occupied_area"} <= set(whole)  # simplified for the new zoom
