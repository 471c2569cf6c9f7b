"""The COP's orienting layers are prepared once per store data version and cut per view in memory:
the same rows as reading the store, and a write to the store is seen by the next view."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from cimic_geo.ingest.basemap import write_basemap
from cimic_geo.maps import basemap_cache
from cimic_geo.maps.cop_view import basemap_layers, label_rule, major_road_classes
from cimic_geo.store import connect
from cimic_geo.store.cop_reads import read_ranked

BBOX = (36.5, 48.5, 38.0, 49.5)


def test_labels_and_roads_match_the_store(demo_db: Path) -> None:
    basemap_cache.clear()
    with connect(demo_db, read_only=True) as store:
        out = basemap_layers(store, bbox=BBOX, zoom=10)
        min_pop, limit = label_rule(10)
        # independent: the store's ranked read (ORDER BY population DESC NULLS LAST, id) then the floor
        ranked = read_ranked(store, "settlements", order_by="population", limit=limit, bbox=BBOX,
                             columns=["name", "population"])
        roads = store.read("roads", where={"road_class": list(major_road_classes(10))}, columns=["road_class"])
        basemap = store.read("basemap", bbox=BBOX)
    want = ranked[ranked["population"].fillna(0) >= min_pop]["id"].tolist()
    assert out["labels"]["id"].tolist() == want and len(want) > 0
    # every major road piece that lies inside the bbox is covered by the merged lines of its class
    # (simplified by half a pixel at zoom 10: 360/(256·2^10)/2 ≈ 0.00069°, so 0.001° of slack)
    inside = roads[shapely.within(roads.geometry.values, shapely.box(*BBOX))]
    merged = out["major_roads"].set_index("road_class").geometry
    for cls, group in inside.groupby("road_class"):
        assert shapely.covers(merged[cls].buffer(1e-3), group.geometry.values).all(), cls
    assert set(out["basemap"]["id"]) >= set(basemap["id"])


def test_a_write_is_seen_by_the_next_view(demo_db_copy: Path) -> None:
    basemap_cache.clear()
    with connect(demo_db_copy) as store:
        before = basemap_layers(store, bbox=BBOX, zoom=9)
        assert basemap_cache.prepared(store) is basemap_cache.prepared(store)  # kept while nothing changes
        lake = gpd.GeoDataFrame({"id": ["lake-1"], "kind": ["water"], "name": ["Test lake"], "name_uk": [None]},
                                geometry=[shapely.box(37.0, 49.0, 37.1, 49.05)], crs="EPSG:4326")
        write_basemap(store, lake)
        after = basemap_layers(store, bbox=BBOX, zoom=9)
    assert "lake-1" not in set(before["basemap"]["id"])
    assert (after["basemap"]["kind"] == "water").tolist().count(True) == 1  # the water kind was replaced
    assert after["basemap"].set_index("id").loc["lake-1", "name"] == "Test lake"


def test_cache_is_bounded(demo_db: Path, tmp_path: Path) -> None:
    import shutil

    basemap_cache.clear()
    for i in range(basemap_cache.MAX_STORES + 2):
        copy = tmp_path / f"s{i}.duckdb"
        shutil.copy(demo_db, copy)
        with connect(copy, read_only=True) as store:
            basemap_cache.prepared(store)
    assert len(basemap_cache._CACHE) == basemap_cache.MAX_STORES


def _roads(rows: list[tuple[str, str, list[tuple[float, float]]]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "road_class": [r[1] for r in rows],
                             "speed_kmh": [90.0] * len(rows), "status": ["open"] * len(rows)},
                            geometry=[shapely.LineString(r[2]) for r in rows], crs="EPSG:4326")


@pytest.fixture
def tiny_roads_db(tmp_path: Path) -> Path:
    """Two motorway pieces sharing the end (31, 50), one primary and one secondary piece."""
    from cimic_geo.store import init_store

    db = tmp_path / "tiny.duckdb"
    init_store(db).close()
    with connect(db) as store:
        store.write("roads", _roads([("m1", "motorway", [(30, 50), (31, 50)]), ("m2", "motorway", [(31, 50), (32, 51)]),
                                     ("p1", "primary", [(30, 49), (30, 48)]), ("s1", "secondary", [(33, 45), (34, 45)])]))
    return db


def _major(store, zoom: int) -> dict[str, shapely.Geometry]:
    out = basemap_layers(store, bbox=(29.0, 44.0, 35.0, 52.0), zoom=zoom, want=("major_roads",))["major_roads"]
    return dict(zip(out["road_class"], out.geometry, strict=True))


def test_road_class_versions_count_and_change_with_a_road(tiny_roads_db: Path) -> None:
    from cimic_geo.store.cop_reads import road_class_versions

    with connect(tiny_roads_db) as store:
        before = road_class_versions(store, ["motorway", "primary", "trunk"])
        assert [v.split(":")[0] for v in before.values()] == ["2", "1", "0"]  # roads per class
        store.write("roads", _roads([("p1", "primary", [(30, 49), (30, 47)])]), mode="upsert")  # p1 moved
        after = road_class_versions(store, ["motorway", "primary", "trunk"])
    assert after["motorway"] == before["motorway"] and after["trunk"] == before["trunk"]
    assert after["primary"] != before["primary"] and after["primary"].startswith("1:")


def test_merged_major_roads_are_kept_beside_the_store(tiny_roads_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    basemap_cache.clear()
    kept = basemap_cache.kept_roads_path_for(tiny_roads_db)
    with connect(tiny_roads_db, read_only=True) as store:
        z6 = _major(store, 6)  # zoom 6 draws motorway and trunk
    # the two motorway pieces joined at (31, 50) (simplifying a 3-point line at half a pixel, 0.0014°, keeps
    # its corner); no trunk road
    assert list(z6) == ["motorway"]
    assert shapely.equals(z6["motorway"], shapely.MultiLineString([[(30, 50), (31, 50), (32, 51)]]))
    assert sorted(basemap_cache._read_kept(kept)) == ["motorway", "trunk"]

    # another process: the kept merge is read, nothing merged again; zoom 8 adds the primary road (merged
    # now and added to the kept file), zoom 10 the secondary one
    basemap_cache.clear()
    merged: list[str] = []
    real = basemap_cache._merge_class
    monkeypatch.setattr(basemap_cache, "_merge_class", lambda store, c: merged.append(c) or real(store, c))
    with connect(tiny_roads_db, read_only=True) as store:
        assert _major(store, 6).keys() == {"motorway"} and merged == []
        z8 = _major(store, 8)
        assert merged == ["primary"]
        assert shapely.equals(z8["primary"], shapely.MultiLineString([[(30, 49), (30, 48)]]))
        assert shapely.equals(z8["motorway"], z6["motorway"])
        assert _major(store, 10).keys() == {"motorway", "primary", "secondary"} and merged == ["primary", "secondary"]
    assert sorted(basemap_cache._read_kept(kept)) == ["motorway", "primary", "secondary", "trunk"]


def test_a_changed_class_is_merged_again_and_a_bad_file_ignored(tiny_roads_db: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    basemap_cache.clear()
    with connect(tiny_roads_db, read_only=True) as store:
        _major(store, 8)
    with connect(tiny_roads_db) as store:
        store.write("roads", _roads([("p1", "primary", [(30, 49), (30.5, 48)])]), mode="upsert")  # p1 moved
    basemap_cache.clear()
    merged: list[str] = []
    real = basemap_cache._merge_class
    monkeypatch.setattr(basemap_cache, "_merge_class", lambda store, c: merged.append(c) or real(store, c))
    with connect(tiny_roads_db, read_only=True) as store:
        z8 = _major(store, 8)
    assert merged == ["primary"]  # motorway and trunk unchanged: read from the kept file
    assert shapely.equals(z8["primary"], shapely.MultiLineString([[(30, 49), (30.5, 48)]]))
    # a damaged kept file is ignored: everything merged again, the same lines
    basemap_cache.kept_roads_path_for(tiny_roads_db).write_bytes(b"not arrow")
    basemap_cache.clear()
    merged.clear()
    with connect(tiny_roads_db, read_only=True) as store:
        again = _major(store, 8)
    assert sorted(merged) == ["motorway", "primary", "trunk"]
    assert all(shapely.equals(again[c], z8[c]) for c in z8)
