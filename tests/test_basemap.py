"""The basemap: scenario generation, import from boundary files and OSM extracts, view reads by zoom."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from cimic_geo.errors import ValidationError
from cimic_geo.ingest.basemap import read_admin_boundaries, read_osm_basemap, write_basemap
from cimic_geo.maps.cop_view import basemap_layers, label_rule, major_road_classes
from cimic_geo.scenario._basemap import build_basemap, oblast_polygons
from cimic_geo.store import connect, init_store

IDENTITY = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:3857", always_xy=True)


def test_oblast_polygons_are_voronoi_cells_clipped_to_the_area() -> None:
    # a 100 x 100 square, centres at (25, 50) and (75, 50): the cells are its halves x < 50 and
    # x > 50, 5000 each; listed in the order of the centres
    area = shapely.box(0, 0, 100, 100)
    cells = oblast_polygons(area, np.array([[75.0, 50.0], [25.0, 50.0]]))
    assert [round(c.area, 6) for c in cells] == [5000.0, 5000.0]
    assert cells[0].bounds == (50.0, 0.0, 100.0, 100.0) and cells[1].bounds == (0.0, 0.0, 50.0, 100.0)
    # one centre: the whole area
    assert oblast_polygons(area, np.array([[10.0, 10.0]]))[0].equals(area)


def test_build_basemap_on_a_tiny_theatre() -> None:
    # theatre: a 400 km x 200 km box; river A runs 400 km across it (>= 300 km: a reservoir on its
    # middle tenth, x 180..220 km), river B 100 km (no reservoir); oblasts centred on settlements
    # "West" (100 km, 100 km) and "East" (300 km, 100 km): halves of 200 km x 200 km = 40,000 km2 each
    area = shapely.box(0, 0, 400_000, 200_000)
    th = SimpleNamespace(area=area, to_metric=IDENTITY,
                         rivers=[("A", shapely.LineString([(0, 50_000), (400_000, 50_000)])),
                                 ("B", shapely.LineString([(10_000, 150_000), (110_000, 150_000)]))])
    st = pd.DataFrame({"name": ["West", "East", "Village"], "name_uk": ["Захід", "Схід", "Село"],
                       "admin1": ["West Oblast", "East Oblast", "East Oblast"],
                       "x": [100_000.0, 300_000.0, 310_000.0], "y": [100_000.0, 100_000.0, 20_000.0]})
    cfg = SimpleNamespace(name="national", area=())
    bm = build_basemap(cfg, th, st)
    assert sorted(bm["kind"]) == ["admin1", "admin1", "river", "river", "state", "water"]
    assert bm.loc[bm["kind"] == "state", "geometry"].iloc[0].equals(area)
    obl = bm[bm["kind"] == "admin1"].set_index("name")["geometry"]
    assert obl["East Oblast"].area == pytest.approx(40_000e6) and obl["East Oblast"].bounds[0] == pytest.approx(200_000)
    assert obl["West Oblast"].bounds[2] == pytest.approx(200_000)
    lake = bm.loc[bm["kind"] == "water", "geometry"].iloc[0]
    # buffer 1.5 km around x 180..220 km: 40 km x 3 km plus two half discs (pi * 1.5^2 km2)
    assert lake.area / 1e6 == pytest.approx(40 * 3 + np.pi * 1.5**2, rel=0.01)
    assert bm.loc[bm["kind"] == "water", "name"].iloc[0] == "A reservoir"


def test_demo_scenario_basemap_in_the_store(demo_db: Path) -> None:
    with connect(demo_db, read_only=True) as store:
        bm = store.read("basemap")
        st = store.read("settlements", columns=["population"])
    assert set(bm["kind"]) == {"state", "admin1", "river", "water"}
    oblast = shapely.union_all(bm.loc[bm["kind"] == "admin1"].geometry.values)
    # every settlement lies in the oblast outline (1e-6 deg = 0.1 m tolerance for rounding)
    assert shapely.covers(oblast.buffer(1e-6), st.geometry.values).all()
    # the demo's state border is its east side only (a line east of 38.5 E)
    state = bm.loc[bm["kind"] == "state", "geometry"].iloc[0]
    assert state.geom_type == "LineString" and state.bounds[0] > 38.5


def _write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _square(x0: float, props: dict) -> dict:
    ring = [[x0, 0], [x0 + 1, 0], [x0 + 1, 1], [x0, 1], [x0, 0]]
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_read_admin_boundaries_from_a_polygon_file(tmp_path: Path) -> None:
    src = _write_geojson(tmp_path / "oblasts.geojson", [
        _square(30, {"name": "Перша область", "name:en": "First Oblast", "name:uk": "Перша область"}),
        _square(31, {"name": "Друга область"}),
    ])
    bm = read_admin_boundaries(src)
    assert list(bm["kind"]) == ["admin1", "admin1", "state"]
    # English name first, else the plain name; the Ukrainian name from name:uk, else the plain name
    assert list(bm["name"][:2]) == ["First Oblast", "Друга область"]
    assert list(bm["name_uk"][:2]) == ["Перша область", "Друга область"]
    # the state outline is the union of the two 1-degree squares: (30, 0) - (32, 1), one polygon
    state = bm.geometry.iloc[2]
    assert state.bounds == (30.0, 0.0, 32.0, 1.0) and state.area == pytest.approx(2.0)
    assert set(bm["source"]) == {"oblasts.geojson"}


def test_read_admin_boundaries_refuses_points_and_missing_files(tmp_path: Path) -> None:
    pts = _write_geojson(tmp_path / "points.geojson", [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [30, 50]}}])
    with pytest.raises(ValidationError) as err:
        read_admin_boundaries(pts)
    assert err.value.problems[0].field == "geometry" and "points.geojson" in str(err.value)
    with pytest.raises(ValidationError, match="no such file"):
        read_admin_boundaries(tmp_path / "absent.geojson")


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.0" lon="30.0"/><node id="2" lat="50.0" lon="30.2"/><node id="3" lat="50.1" lon="30.4"/>
  <node id="11" lat="49.0" lon="31.0"/><node id="12" lat="49.0" lon="31.1"/><node id="13" lat="49.1" lon="31.1"/>
  <node id="21" lat="48.0" lon="32.0"/><node id="22" lat="48.0" lon="32.1"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="waterway" v="river"/><tag k="name" v="Test River"/><tag k="name:uk" v="Тестова"/></way>
  <way id="101"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="11"/>
    <tag k="natural" v="water"/><tag k="name" v="Test Lake"/></way>
  <way id="102"><nd ref="21"/><nd ref="22"/><tag k="waterway" v="ditch"/></way>
</osm>
"""


def test_read_osm_basemap_rivers_and_water(tmp_path: Path) -> None:
    src = tmp_path / "tiny.osm"
    src.write_text(OSM_XML, encoding="utf-8")
    bm = read_osm_basemap(src)
    rows = bm.set_index("name")
    # the river and the lake; the ditch is not a river
    assert sorted(bm["kind"]) == ["river", "water"]
    assert rows.loc["Test River", "kind"] == "river" and rows.loc["Test River", "name_uk"] == "Тестова"
    assert shapely.get_num_coordinates(rows.loc["Test River", "geometry"]) == 3
    assert rows.loc["Test Lake", "kind"] == "water" and rows.loc["Test Lake", "geometry"].bounds == pytest.approx(
        (31.0, 49.0, 31.1, 49.1))


def test_write_basemap_replaces_only_the_kinds_imported(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    init_store(db).close()
    src = _write_geojson(tmp_path / "o.geojson", [_square(30, {"name": "A"}), _square(31, {"name": "B"})])
    osm = tmp_path / "tiny.osm"
    osm.write_text(OSM_XML, encoding="utf-8")
    with connect(db) as store:
        assert write_basemap(store, read_admin_boundaries(src)) == 3
        assert write_basemap(store, read_osm_basemap(osm)) == 2
        assert write_basemap(store, read_admin_boundaries(src, state=False)) == 2  # oblasts again, state kept
        kinds = store.read("basemap", columns=["kind"])["kind"].value_counts().to_dict()
    assert kinds == {"admin1": 2, "state": 1, "river": 1, "water": 1}


def test_real_oblast_file_gives_the_state_outline(real_data_dir: Path) -> None:
    path = real_data_dir / "admin" / "ua_oblasts_osm_bnotezz.geojson"
    if not path.exists():
        pytest.skip("real oblast file absent")
    bm = read_admin_boundaries(path)
    assert (bm["kind"] == "admin1").sum() == 27 and (bm["kind"] == "state").sum() == 1
    assert "Kherson Oblast" in set(bm["name"]) and "Херсонська область" in set(bm["name_uk"])
    # the state outline is the union of the oblasts: its geodesic area is the sum of theirs (they
    # do not overlap); Ukraine's land area is 603,628 km2 and OSM's coastal oblasts also hold the
    # territorial sea (Black Sea and Sea of Azov), so the outline is larger, but by less than 8 %
    geod = pyproj.Geod(ellps="WGS84")
    area = lambda g: abs(geod.geometry_area_perimeter(g)[0]) / 1e6  # noqa: E731
    state_km2 = area(bm.geometry.iloc[-1])
    assert state_km2 == pytest.approx(sum(area(g) for g in bm.geometry.iloc[:-1]), rel=0.005)
    assert 603_628 < state_km2 < 603_628 * 1.08


def test_labels_and_major_roads_by_zoom(demo_db: Path) -> None:
    assert label_rule(6) == (250_000, 12) and label_rule(12) == (0, 250)
    assert major_road_classes(6) == ("motorway", "trunk") and "secondary" in major_road_classes(10)
    with connect(demo_db, read_only=True) as store:
        bbox = store.bbox()
        far = basemap_layers(store, bbox=bbox, zoom=7)
        near = basemap_layers(store, bbox=bbox, zoom=11)
        pops = store.read("settlements", columns=["population"])["population"]
    # zoom 7: every settlement of 100,000 or more, and nothing smaller; zoom 11: more names
    assert len(far["labels"]) == min(25, int((pops >= 100_000).sum())) and far["labels"]["population"].min() >= 100_000
    assert len(near["labels"]) > len(far["labels"])
    assert set(far["major_roads"]["road_class"]) <= {"motorway", "trunk", "primary"}
    assert {"state", "admin1", "river"} <= set(far["basemap"]["kind"])


def test_basemap_command_imports_a_boundary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cimic_geo.cli import main

    db = tmp_path / "s.duckdb"
    init_store(db).close()
    src = _write_geojson(tmp_path / "o.geojson", [_square(30, {"name": "A"}), _square(31, {"name": "B"})])
    assert main(["basemap", str(src), "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["written"] == 3 and doc["kinds"] == {"admin1": 2, "state": 1}
    with connect(db, read_only=True) as store:
        assert sorted(store.read("basemap", columns=["name"])["name"].dropna()) == ["A", "B"]
    # a point file: refused with the field named (exit 1 or 2), nothing written
    pts = _write_geojson(tmp_path / "p.geojson", [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [30, 50]}}])
    assert main(["basemap", str(pts), "--db", str(db)]) != 0
    assert "expected polygons" in capsys.readouterr().err
    with connect(db, read_only=True) as store:
        assert len(store.read("basemap", columns=["kind"])) == 3


def test_merge_road_pieces_joins_pieces_per_class() -> None:
    import geopandas as gpd

    from cimic_geo.maps.cop_view import merge_road_pieces

    # motorway pieces (0,0)-(1,0) and (1,0)-(2,1) share an end: one line of 3 points; (5,5)-(6,5)
    # stays apart; the primary piece is its own class
    pieces = gpd.GeoDataFrame({"road_class": ["motorway", "motorway", "motorway", "primary"]},
                              geometry=[shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(1, 0), (2, 1)]),
                                        shapely.LineString([(5, 5), (6, 5)]), shapely.LineString([(0, 1), (0, 2)])],
                              crs="EPSG:4326")
    out = merge_road_pieces(pieces, tolerance=0.0).set_index("road_class")
    motorway = out.loc["motorway", "geometry"]
    assert motorway.geom_type == "MultiLineString" and len(motorway.geoms) == 2
    assert sorted(shapely.get_num_coordinates(g) for g in motorway.geoms) == [2, 3]
    assert out.loc["primary", "geometry"].equals(shapely.LineString([(0, 1), (0, 2)]))
