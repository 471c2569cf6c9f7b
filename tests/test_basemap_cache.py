"""The COP's orienting layers are prepared once per store data version and cut per view in memory:
the same rows as reading the store, and a write to the store is seen by the next view."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
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
