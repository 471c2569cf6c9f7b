"""The planner map's layers kept beside the store per data version and time (ui.planner_page_map), and the
page drawing its map from them before it reads the road graph on a session's first visit."""

from __future__ import annotations

import json
import re
from pathlib import Path

from access_fixtures import write_planner_store
from streamlit.testing.v1 import AppTest
from warm_utils import warmed_then_reused

from cimic_geo.corridors import load_access_context
from cimic_geo.store import connect
from cimic_geo.store.access_version import access_data_version
from cimic_geo.ui.planner_page_map import (
    display_file,
    display_key,
    kept_display,
    kept_map_context,
    map_layers,
    small_pieces,
    view_bbox,
)

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "3_Corridor_planner.py")


def _context(db: Path):
    with connect(db, read_only=True) as store:
        return load_access_context(store, keep_graph=False, data_version=access_data_version(store))


def test_map_layers_are_computed_once_then_read_from_the_kept_file(demo_db_copy):
    first = _context(demo_db_copy)
    kept_display(demo_db_copy, first)
    path = display_file(demo_db_copy, display_key(first))
    assert path is not None and path.exists() and path.parent.name == demo_db_copy.name + ".planner"
    assert json.loads(path.read_text(encoding="utf-8"))["key"] == display_key(first)

    # a new context (another process): the file's layers, equal to what the context computes itself
    second = _context(demo_db_copy)
    kept_display(demo_db_copy, second)
    loaded = dict(second.__dict__["_display"])
    assert "layers" not in loaded  # nothing chosen or encoded: read from the file
    assert set(loaded["encoded"]) >= {"roads", "settlements", "front_line"}
    third = _context(demo_db_copy)
    assert loaded["encoded"] == map_layers(third)
    assert loaded["bbox"] == view_bbox(third)
    assert loaded["pieces"] == small_pieces(third)


def test_a_file_of_other_data_or_a_damaged_file_is_not_used(demo_db_copy):
    ctx = _context(demo_db_copy)
    kept_display(demo_db_copy, ctx)
    path = display_file(demo_db_copy, display_key(ctx))
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["encoded"]["roads"] = "not the roads"
    doc["key"] = "format=1|another store"
    path.write_text(json.dumps(doc), encoding="utf-8")
    again = _context(demo_db_copy)
    kept_display(demo_db_copy, again)
    assert again.__dict__["_display"]["encoded"]["roads"] != "not the roads"  # computed again and saved
    assert json.loads(path.read_text(encoding="utf-8"))["key"] == display_key(ctx)

    path.write_text("{ half a fi", encoding="utf-8")
    damaged = _context(demo_db_copy)
    kept_display(demo_db_copy, damaged)
    assert damaged.__dict__["_display"]["encoded"] == again.__dict__["_display"]["encoded"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_no_file_without_a_data_version(demo_db_copy):
    ctx = _context(demo_db_copy)
    ctx.data_version = ""
    kept_display(demo_db_copy, ctx)
    assert not (demo_db_copy.parent / (demo_db_copy.name + ".planner")).exists()


def test_coverage_lets_go_of_a_graph_the_planner_does_not_use():
    """One road graph per process: when the planner takes another time's graph, coverage by road time
    drops the graph it kept (it reads it again when asked); the planner's own graph stays kept."""
    from cimic_geo.analytics import coverage_graph

    current, past = object(), object()
    saved = dict(coverage_graph._LAST)
    try:
        coverage_graph._LAST.clear()
        coverage_graph._LAST[("folder", "key", 1)] = current
        coverage_graph.keep_only(current)
        assert list(coverage_graph._LAST.values()) == [current]
        coverage_graph.keep_only(past)
        assert coverage_graph._LAST == {}
    finally:
        coverage_graph._LAST.clear()
        coverage_graph._LAST.update(saved)


def test_the_map_context_is_read_from_the_kept_file_without_the_road_graph(demo_db_copy):
    ctx = _context(demo_db_copy)
    args = {"as_of": ctx.as_of, "bands_km": ctx.bands_km, "data_version": ctx.data_version}
    assert kept_map_context(demo_db_copy, **args) is None  # no file yet
    kept_display(demo_db_copy, ctx)
    kept = kept_map_context(demo_db_copy, **args)
    assert kept is not None and display_key(kept) == display_key(ctx)
    assert map_layers(kept) == map_layers(ctx) and view_bbox(kept) == view_bbox(ctx)
    assert small_pieces(kept) == small_pieces(ctx)
    assert kept_map_context(demo_db_copy, **{**args, "data_version": "other data"}) is None
    assert kept_map_context(demo_db_copy, **{**args, "bands_km": (1.0, 2.0)}) is None


def _ids_out(text: str) -> str:
    """Map script with folium's random element ids taken out (two builds of one map compare equal)."""
    return re.sub(r"_[0-9a-f]{32}", "_ID", text)


def test_a_first_visit_draws_the_kept_map_before_the_road_graph_is_read(monkeypatch, empty_db):
    """The session's first run draws the map from the kept file and then reads the road graph (the
    browser draws meanwhile); with no file yet, or on later runs, the graph comes first. Same map
    either way, and the page's sections stay in their order."""
    from cimic_geo.ui import planner_page

    with connect(empty_db) as store:
        write_planner_store(store)
    calls: list[str] = []
    real_map, real_context = planner_page.map_ui, planner_page.access_context
    monkeypatch.setattr(planner_page, "map_ui", lambda *a, **kw: calls.append("map") or real_map(*a, **kw))
    monkeypatch.setattr(planner_page, "access_context",
                        lambda *a, **kw: calls.append("graph") or real_context(*a, **kw))
    monkeypatch.setenv("CIMIC_DB", str(empty_db))
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)

    def visit() -> tuple[AppTest, dict]:
        at = AppTest.from_file(PAGE, default_timeout=90)
        at.run()
        assert not at.exception, at.exception
        (component,) = at.get("component_instance")
        return at, json.loads(component.proto.json_args)

    first, cold = visit()  # no file yet: the graph, then the map (and the file written)
    assert calls == ["graph", "map"]
    assert list((empty_db.parent / (empty_db.name + ".planner")).glob("*.json"))
    calls.clear()
    second, warm = visit()  # a new session: the kept map first
    assert calls == ["map", "graph"]
    assert _ids_out(warm["feature_group"]) == _ids_out(cold["feature_group"]) and warm["key"] == cold["key"]
    heads = [h.value for h in second.subheader]
    assert heads[:2] == ["1 · Suggest routes", "2 · Draw or paste a corridor"]
    assert heads == [h.value for h in first.subheader]
    assert any("Road graph:" in c.value for c in second.caption)
    calls.clear()
    second.run()  # a later run of the session: section 1 first (suggested routes are drawn in the same run)
    assert calls == ["graph", "map"]


def test_the_corridors_layer_encoded_in_the_background_is_the_first_visit_s(demo_db_copy, monkeypatch):
    """``warm_data`` (the server's background warm-up) also encodes the saved corridors for the map under the
    data token a page run sees: the first visit's map does not read and encode them again."""
    from cimic_geo.maps.cop_map import encode_layer
    from cimic_geo.ui import planner_page, planner_page_map

    layer, rows = warmed_then_reused(monkeypatch, demo_db_copy, module=planner_page_map, name="list_corridors",
                                     cached=planner_page_map.corridors_layer,
                                     caches=(planner_page._access_version, planner_page_map.corridors_layer))
    assert layer == encode_layer("corridors", rows) and json.loads(layer)["features"]  # the demo has corridors
