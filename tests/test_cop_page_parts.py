"""The COP's view parts: what each layer's cache entry depends on, and that reusing entries sends what a fresh
read of the view sends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cop_page import _run, map_args, sent_layers, slider

from cimic_geo.store import connect


def _state(bounds: tuple[float, float, float, float], zoom: int) -> dict:
    x0, y0, x1, y1 = bounds
    return {"bounds": {"_southWest": {"lat": y0, "lng": x0}, "_northEast": {"lat": y1, "lng": x1}}, "zoom": zoom}


def test_part_key_drops_what_a_layer_does_not_depend_on() -> None:
    from datetime import UTC, datetime

    from cimic_geo.ui.cop_page import part_key

    box, t, s = (30.0, 45.0, 31.0, 46.0), datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert part_key("front_line", box, 8, t, s) == (None, 8, t, None)  # read whole, at the time
    assert part_key("occupied_area", box, 8, t, s) == (None, 8, t, None)
    assert part_key("front_change", box, 8, t, s) == (None, 8, t, s)  # the only one that uses since
    assert part_key("basemap", box, 8, t, s) == (box, 8, None, None)  # the same at every time
    assert part_key("roads", box, 8, t, s) == (box, 8, None, None)
    assert part_key("shelters", box, 8, t, s) == (box, 8, t, None)  # in the view, as they were then


def test_a_pan_rereads_only_the_layers_in_the_view_and_sends_what_a_fresh_read_sends(
        monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    """A move to another part of the map at the same zoom reads the view's layers again but not the front line
    or the occupied area (read whole); what goes to the browser is what query_view and encode_layer give for that
    view read from scratch."""
    from cimic_geo.maps import cop_view
    from cimic_geo.maps.cop_map import encode_layer, query_bbox
    from cimic_geo.ui import cop_parts
    from cimic_geo.ui.cop_page import MAP_KEY

    with connect(demo_db, read_only=True) as store:
        x0, y0, x1, y1 = store.bbox()
    zoom = 10
    w, h = (x1 - x0) / 4, (y1 - y0) / 4
    west = (x0, y0, x0 + w, y0 + h)
    east = (x1 - w, y1 - h, x1, y1)
    at = _run(monkeypatch, demo_db)
    at.session_state[MAP_KEY] = _state(west, zoom)
    at.run()
    assert not at.exception
    as_of = slider(at, "Front line as of").value
    reads: list[tuple[str, ...]] = []

    def counted(store: object, **kw: object) -> object:
        reads.append(tuple(kw["visible"]))
        return cop_view.query_view(store, **kw)

    monkeypatch.setattr(cop_parts, "query_view", counted)
    at.session_state[MAP_KEY] = _state(east, zoom)
    at.run()
    assert not at.exception
    read = {p for parts in reads for p in parts}
    assert query_bbox(east, zoom) != query_bbox(west, zoom)  # a new fetch area: the view's layers read again
    assert {"shelters", "settlements", "infrastructure", "corridors", "basemap"} <= read
    assert not read & {"front_line", "occupied_area", "front_change"}
    sent = sent_layers(map_args(at))
    with connect(demo_db, read_only=True) as store:
        fresh = cop_view.query_view(store, bbox=query_bbox(east, zoom), zoom=zoom, as_of=as_of)
    assert {"front_line", "occupied_area", "shelters", "settlements"} <= set(fresh.layers)
    for key, gdf in fresh.layers.items():
        assert sent[key] == json.loads(encode_layer(key, gdf)), key
    # a zoom reads the front line again (simplified for the new zoom)
    reads.clear()
    at.session_state[MAP_KEY] = _state(east, zoom + 1)
    at.run()
    assert {"front_line", "occupied_area"} <= {p for parts in reads for p in parts}
