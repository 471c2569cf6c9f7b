"""The COP map's component gets the same arguments when the layers' data is put into its script last.

``cimic_geo.ui.folium_data.data_last`` takes each layer's data out of the feature groups while
streamlit-folium scripts them and puts it back just before the component is called. The arguments the
component receives are compared with those of a plain ``st_folium`` call on an identical map.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pytest
import streamlit_folium
from shapely.geometry import LineString, Point

from cimic_geo.errors import CimicError
from cimic_geo.maps.cop_map import build_base_map, build_layer_groups, encode_layer, string_text
from cimic_geo.ui.folium_data import data_last, fill


def _layers() -> dict[str, str]:
    settlements = gpd.GeoDataFrame(
        {"id": ["s1", "s2"], "name": ["Kramatorsk", "a <b> & 'c' \\u2028 \"d\""], "name_uk": ["Краматорськ", None],
         "population": [150_000, 12]},
        geometry=[Point(37.56, 48.72), Point(37.0, 48.0)], crs="EPSG:4326")
    corridors = gpd.GeoDataFrame({"id": ["c1"], "name": ["north_route"], "status": ["active"]},
                                 geometry=[LineString([(36.5, 48.2), (38.0, 48.2)])], crs="EPSG:4326")
    return {"settlements": encode_layer("settlements", settlements), "corridors": encode_layer("corridors", corridors)}


def _component_args(monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> dict[str, Any]:
    got: dict[str, Any] = {}

    def record(**kwargs: Any) -> dict[str, Any]:
        got.update(kwargs)
        return {}

    monkeypatch.setattr(streamlit_folium, "_component_func", record)
    m = build_base_map(center=(48.5, 37.5), zoom=7, marking="EXERCISE")
    groups = build_layer_groups(_layers(), show={"settlements", "corridors"})
    call = lambda: streamlit_folium.st_folium(m, key="map", feature_group_to_add=groups,  # noqa: E731
                                              returned_objects=["bounds", "zoom"])
    if fast:
        with data_last(groups):
            call()
    else:
        call()
    got.pop("on_change")  # a closure made per call
    return got


def test_component_arguments_are_the_same_with_the_data_put_last(monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[str] = []  # the text streamlit-folium's renaming pass runs over
    real = streamlit_folium._replace_folium_vars
    monkeypatch.setattr(streamlit_folium, "_replace_folium_vars", lambda text, m: passes.append(text) or real(text, m))
    plain = _component_args(monkeypatch, fast=False)
    assert any("Kramatorsk" in text for text in passes)
    passes.clear()
    fast = _component_args(monkeypatch, fast=True)
    assert passes and not any("Kramatorsk" in text or "north_route" in text for text in passes)
    assert fast == plain
    assert "cimicLayerData" not in fast["feature_group"]
    for text in _layers().values():  # each layer's data once, as encoded, in a string the browser parses
        assert fast["feature_group"].count(f"'{string_text(text)}'") == 1


def test_fill_places_each_placeholder_once_and_refuses_a_missing_one() -> None:
    assert fill("a(X1, y, X2)", {"X2": "[2]", "X1": "{1}"}) == "a({1}, y, [2])"
    with pytest.raises(CimicError):
        fill("a(X1)", {"X1": "1", "X2": "2"})
    with pytest.raises(CimicError):
        fill("a(X1, X1)", {"X1": "1"})
