"""The planner map's layers kept beside the store per data version and time (ui.planner_page_map)."""

from __future__ import annotations

import json
from pathlib import Path

from cimic_geo.corridors import load_access_context
from cimic_geo.store import connect
from cimic_geo.store.access_version import access_data_version
from cimic_geo.ui.planner_page_map import display_file, display_key, kept_display, map_layers, small_pieces, view_bbox


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
