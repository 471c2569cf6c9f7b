"""The COP's ``changes`` layer follows the view like the other point layers: cut to the view's bbox (the
same features as ``shapely.intersects`` on the whole frame) and, above the point limit, counted per grid
cell (counts checked against a hand count); on the page, the aggregated cells and the note under the map."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from streamlit.testing.v1 import AppTest
from test_cop_page import map_args, sent_layers

from cimic_geo.maps.change_layer import aggregate_changes, changes_in_view, in_view, prepare_changes
from cimic_geo.maps.cop_map import build_layer_groups
from cimic_geo.maps.cop_style import legend_items

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "1_COP.py")
BBOX = (30.0, 48.0, 31.0, 49.0)


def _frame(rows: list[tuple[str, str, object]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "kind": [r[1] for r in rows]},
                            geometry=[r[2] for r in rows], crs="EPSG:4326")


# inside, on each edge and corner (edges belong to the box), just outside, far away; lines crossing the box
# with no vertex in it, touching it at one point, with overlapping bounds but passing by the corner, and a
# multi-line with one part inside
CASES = [
    ("in", "shelters", Point(30.5, 48.5)),
    ("west-edge", "shelters", Point(30.0, 48.3)),
    ("ne-corner", "infrastructure", Point(31.0, 49.0)),
    ("south-edge", "infrastructure", Point(30.7, 48.0)),
    ("just-east", "shelters", Point(31.000001, 48.5)),
    ("just-south", "infrastructure", Point(30.5, 47.99999)),
    ("far", "shelters", Point(36.0, 50.0)),
    ("crossing", "corridors", LineString([(29.0, 48.5), (32.0, 48.6)])),
    ("touching", "corridors", LineString([(31.0, 49.0), (32.0, 50.0)])),
    ("past-corner", "corridors", LineString([(30.8, 49.5), (31.5, 48.8)])),  # bounds overlap, line misses
    ("multi", "corridors", MultiLineString([[(35.0, 50.0), (36.0, 50.0)], [(30.2, 48.2), (30.3, 48.3)]])),
    ("outside-line", "corridors", LineString([(33.0, 40.0), (34.0, 41.0)])),
]


def test_view_cut_is_shapely_intersects_on_the_whole_frame() -> None:
    frame = _frame(CASES)
    prep = prepare_changes(frame)
    for bbox in (BBOX, (30.5, 48.5, 30.5, 48.5), (29.5, 48.55, 31.5, 48.65), (0.0, 0.0, 1.0, 1.0)):
        want = shapely.intersects(np.asarray(frame.geometry.values), shapely.box(*bbox))
        assert in_view(prep, bbox).tolist() == want.tolist(), bbox
    # and by name, for the box itself: the edges and corner count, the line past the corner does not
    hit = frame.loc[in_view(prep, BBOX), "id"].tolist()
    assert hit == ["in", "west-edge", "ne-corner", "south-edge", "crossing", "touching", "multi"]


def test_above_the_point_limit_points_are_counted_per_cell_by_hand() -> None:
    # cells of 0.5 degrees: (floor(x / 0.5), floor(y / 0.5))
    #   (60, 96): a (30.1, 48.1) shelter, b (30.3, 48.4) shelter, c (30.2, 48.2) infrastructure -> n 3, 2 + 1,
    #             mean (30.2, 48.2333...)
    #   (60, 97): d (30.4, 48.6) infrastructure -> n 1
    #   (61, 96): e (30.6, 48.1) shelter, f (30.9, 48.3) shelter -> n 2, mean (30.75, 48.2)
    #   the corridor in the view stays a line; g (35, 50) is outside the view
    rows = [("a", "shelters", Point(30.1, 48.1)), ("b", "shelters", Point(30.3, 48.4)),
            ("c", "infrastructure", Point(30.2, 48.2)), ("d", "infrastructure", Point(30.4, 48.6)),
            ("e", "shelters", Point(30.6, 48.1)), ("f", "shelters", Point(30.9, 48.3)),
            ("g", "shelters", Point(35.0, 50.0)), ("k", "corridors", LineString([(29.0, 48.5), (32.0, 48.5)]))]
    prep = prepare_changes(_frame(rows))
    got = changes_in_view(prep, bbox=BBOX, cell_deg=0.5, point_limit=5)
    assert (got.points, got.cells) == (6, 3)
    assert got.layers["changes"]["id"].tolist() == ["k"]
    grid = got.layers["changes_grid"]
    assert grid[["n", "shelters", "infrastructure"]].values.tolist() == [[3, 2, 1], [1, 0, 1], [2, 2, 0]]
    assert np.allclose(shapely.get_coordinates(np.asarray(grid.geometry.values)),
                       [[30.2, (48.1 + 48.4 + 48.2) / 3], [30.4, 48.6], [30.75, 48.2]])
    # at the limit (6 points in view, limit 6; 7 in the window): every feature in the view ringed, none aggregated
    few = changes_in_view(prep, bbox=BBOX, cell_deg=0.5, point_limit=6)
    assert (few.points, few.cells, set(few.layers)) == (6, 0, {"changes"})
    assert few.layers["changes"]["id"].tolist() == ["a", "b", "c", "d", "e", "f", "k"]
    # no more points in the whole window than the limit (7): the whole frame, the same object at every view
    for bbox in (BBOX, (0.0, 0.0, 1.0, 1.0)):
        small = changes_in_view(prep, bbox=bbox, cell_deg=0.5, point_limit=7)
        assert small.layers["changes"] is prep.frame and small.cells == 0
    # nothing changed: an empty grid, still a frame
    assert len(aggregate_changes(_frame([]), cell_deg=0.5)) == 0


def test_the_cells_are_a_map_layer_with_a_legend_row() -> None:
    prep = prepare_changes(_frame([("a", "shelters", Point(30.1, 48.1)), ("b", "shelters", Point(30.2, 48.2))]))
    got = changes_in_view(prep, bbox=BBOX, cell_deg=1.0, point_limit=1)
    groups = build_layer_groups(got.layers, show={"changes"})
    assert [g.layer_name for g in groups] == ["Changed since the earlier time", "Changed features"]
    rows = dict((title, items) for title, items in legend_items(["changes"]))
    assert ["number = changed features in the area (zoom in for the rings)", "#c2008f", "count"] in rows[
        "Changed since the earlier time (rings)"]


def test_the_page_counts_the_changes_per_cell_above_the_point_limit(monkeypatch: pytest.MonkeyPatch,
                                                                    hand_made_history_db: Path) -> None:
    from cimic_geo.ui import cop_changes

    monkeypatch.setenv("CIMIC_DB", str(hand_made_history_db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.setattr(cop_changes, "POINT_LIMIT", 3)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sent = sent_layers(map_args(at))
    # since the last brief: shelters A, B and objects I1, I2 changed (4 points > 3), and corridor C1
    cells = sent["changes_grid"]["features"]
    assert sum(f["properties"]["n"] for f in cells) == 4
    assert sum(f["properties"]["shelters"] for f in cells) == 2
    assert sum(f["properties"]["infrastructure"] for f in cells) == 2
    assert [f["properties"]["id"] for f in sent["changes"]["features"]] == ["C1"]
    notes = [re.sub(r"\\(.)", r"\1", c.value) for c in at.caption]
    assert f"Changed since the earlier time: 4 in view aggregated into {len(cells)} cells (zoom in for details)" \
        in notes, notes
