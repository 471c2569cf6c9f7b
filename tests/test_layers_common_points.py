"""The layer pages' point layers: the GeoJSON handed to folium is the one geopandas would write."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.maps.layers_common import circle_layer, point_features


def _reference(columns: dict[str, list], points: list) -> dict:
    # independent: geopandas' own GeoJSON of the same frame (ids from the index, bounding boxes, NaN -> null)
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(points, dtype="geometry"), crs="EPSG:4326").__geo_interface__


def test_point_features_equal_geopandas() -> None:
    columns = {"name": ["a", "b", "c", "d"], "_radius": [1.5, float("nan"), 3.0, 4.0], "n": [1, None, 3, pd.NaT]}
    points = [shapely.Point(1, 2), None, shapely.Point(), shapely.Point(30.123456789, 50.5)]
    got = point_features(columns, points)
    assert json.dumps(got) == json.dumps(_reference(columns, points))
    # by hand: the missing and the empty point have no geometry; NaN, None and NaT are null
    assert [f["geometry"] is None for f in got["features"]] == [False, True, True, False]
    assert got["features"][1]["properties"] == {"name": "b", "_radius": None, "n": None}
    assert got["features"][3]["geometry"]["coordinates"] == (30.123456789, 50.5)
    assert got["bbox"] == (1.0, 2.0, 30.123456789, 50.5)
    for columns, points in (({}, []), ({"a": []}, []), ({"a": ["x"]}, [None]), ({}, [shapely.Point(1, 2)])):
        assert str(point_features(columns, points)) == str(_reference(columns, points))


def test_circle_layer_sends_the_points_geopandas_would() -> None:
    import folium

    gdf = gpd.GeoDataFrame({"name": ["Kharkiv", "<b>x</b>"], "population": [1_400_000, np.nan]},
                           geometry=[shapely.box(36.1, 49.9, 36.3, 50.1), shapely.Point(37.5, 48.7)], crs="EPSG:4326")
    fg = circle_layer(gdf, [("name", "Name"), ("population", "People")], ["#1f78b4", "#bdbdbd"], [16.0, 3.0], "s")
    (layer,) = [c for c in fg._children.values() if isinstance(c, folium.GeoJson)]
    # the tooltip texts (escaped; the population column is float because of the NaN: thousands separators and
    # one decimal, empty for missing), colours and radii; the box's representative point
    want = _reference({"name": ["Kharkiv", "&lt;b&gt;x&lt;/b&gt;"], "population": ["1,400,000.0", ""],
                       "_colour": ["#1f78b4", "#bdbdbd"], "_radius": [16.0, 3.0]},
                      list(gdf.geometry.representative_point()))
    assert json.dumps(layer.data) == json.dumps(want)
