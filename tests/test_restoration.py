"""Restoration priority on a hand-made case."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from cimic_geo.analytics.restoration import restoration_priority
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import GEOD

FRONT = gpd.GeoDataFrame({"id": ["f"]}, geometry=[LineString([(36.0, 48.0), (36.0, 49.0)])], crs="EPSG:4326")
OCC = gpd.GeoDataFrame({"id": ["o"]}, geometry=[box(36.0, 48.0, 37.0, 49.0)], crs="EPSG:4326")


def west(km: float) -> Point:
    lon, lat, _ = GEOD.fwd(36.0, 48.5, 270.0, km * 1000.0)
    return Point(lon, lat)


ROWS = [
    # id, name, sector, damage, restoration, people, where
    ("r1", "Hospital", "health", "major", "none", 10_000, west(10)),        # 10000*1.0*0.8 = 8000
    ("r2", "Pump", "water", "destroyed", "planned", 6_000, west(30)),       # 6000*1.0*1.0 = 6000
    ("r3", "Substation", "power", "destroyed", "none", 20_000, west(3)),    # 18000, but 3 km: unsafe
    ("r4", "School", "education", "destroyed", "none", 30_000, west(50)),   # 30000*0.3*1.0 = 9000
    ("r5", "Boiler", "heating", "major", "restored", 9_000, west(20)),      # restored: not ranked
    ("r6", "Mast", "telecom", "none", "none", 5_000, west(20)),             # undamaged: not ranked
    ("r7", "Plant", "power", "major", "none", 50_000, Point(36.5, 48.5)),   # occupied: excluded
    ("r8", "Edge", "gas", "minor", "none", 1_000, west(5)),                 # exactly 5 km: unsafe
]
INFRA = gpd.GeoDataFrame(
    [dict(zip(("id", "name", "sector", "damage", "restoration", "people_served", "geometry"), r, strict=True))
     for r in ROWS], geometry="geometry", crs="EPSG:4326")


def test_ranking_by_hand():
    res = restoration_priority(INFRA, front_line=FRONT, occupied_area=OCC, bands_km=(5, 20, 40))
    t = res.table()
    # safe first by score: r4 9000, r1 8000, r2 6000; then unsafe: r3 18000, r8 1000*0.6*0.4 = 240
    assert list(t["id"]) == ["r4", "r1", "r2", "r3", "r8"]
    assert list(t["rank"]) == [1, 2, 3, 4, 5]
    assert t.set_index("id")["score"].to_dict() == pytest.approx(
        {"r4": 9000, "r1": 8000, "r2": 6000, "r3": 18000, "r8": 240})
    assert list(t["safe_to_repair"]) == [True, True, True, False, False]
    doc = res.to_dict(top=3)
    assert [o["id"] for o in doc["objects"]] == ["r4", "r1", "r2"]
    assert doc["excluded_occupied"] == 1 and doc["count"] == 5 and doc["not_safe_count"] == 2
    reasons = t.set_index("id")["reason"]
    assert "NOT SAFE TO REPAIR NOW" in reasons["r3"] and "serving 20,000 people" in reasons["r3"]
    assert "safe to repair now" in reasons["r1"] and "top-priority sector" in reasons["r1"]
    assert "already planned" in reasons["r2"]
    assert "Score 9,000 = 30,000 people × 0.3 × 1" in reasons["r4"]


def test_configurable_weights_and_row_order():
    res = restoration_priority(INFRA.iloc[::-1], front_line=FRONT, occupied_area=OCC,
                               sector_weights="education=0.1")
    # school now 30000*0.1 = 3000 -> after the pump (6000)
    assert list(res.table()["id"]) == ["r1", "r2", "r4", "r3", "r8"]
    with pytest.raises(AnalysisError, match="unknown sector 'hospitals'"):
        restoration_priority(INFRA, front_line=FRONT, sector_weights="hospitals=1")
    with pytest.raises(AnalysisError, match="non-negative"):
        restoration_priority(INFRA, front_line=FRONT, damage_weights={"minor": -1})
    with pytest.raises(AnalysisError, match="increasing"):
        restoration_priority(INFRA, front_line=FRONT, bands_km=(20, 5))


def test_equal_scores_break_ties_by_id():
    two = gpd.GeoDataFrame(
        [{"id": "b", "name": "B", "sector": "water", "damage": "major", "people_served": 100, "geometry": west(30)},
         {"id": "a", "name": "A", "sector": "water", "damage": "major", "people_served": 100, "geometry": west(31)}],
        geometry="geometry", crs="EPSG:4326")
    assert list(restoration_priority(two, front_line=FRONT).table()["id"]) == ["a", "b"]
