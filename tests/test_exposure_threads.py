"""The exposure's layers measured on two threads, and geodesic distances in two halves, give the very
numbers of one thread, each on its own layer (hand-made distances)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from cimic_geo.analytics import exposure as exposure_mod
from cimic_geo.analytics import geod_pool
from cimic_geo.analytics.exposure import exposure
from cimic_geo.geo import GEOD

# The front: the meridian 36°E from 48°N to 49°N. A point ``km`` due west of (36°E, 48.5°N) is exactly
# ``km`` from it (a meridian is a geodesic and azimuth 270° is perpendicular to it).
FRONT = gpd.GeoDataFrame({"id": ["f"]}, geometry=[LineString([(36.0, 48.0), (36.0, 49.0)])], crs="EPSG:4326")


def _west(km: float) -> Point:
    lon, lat, _ = GEOD.fwd(36.0, 48.5, 270.0, km * 1000.0)
    return Point(lon, lat)


def _layer(prefix: str, kms: list[float], value: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [f"{prefix}{i}" for i in range(len(kms))], value: [10] * len(kms)},
                            geometry=[_west(k) for k in kms], crs="EPSG:4326")


# settlements 3 and 12 km (bands 0-5, 5-20), shelters 25 and 60 km (20-40, beyond), infrastructure
# 1, 2 and 45 km (0-5, 0-5, beyond): the infrastructure is the largest layer, so it goes to the helper
SETTLEMENTS = _layer("s", [3.0, 12.0], "population")
SHELTERS = _layer("h", [25.0, 60.0], "capacity")
INFRA = _layer("i", [1.0, 2.0, 45.0], "people_served")
WANT = {"settlements": [3.0, 12.0], "shelters": [25.0, 60.0], "infrastructure": [1.0, 2.0, 45.0]}


def _run():
    return exposure(settlements=SETTLEMENTS, shelters=SHELTERS, infrastructure=INFRA, front_line=FRONT)


def test_layers_on_two_threads_give_each_layer_its_own_numbers(monkeypatch):
    monkeypatch.setattr(exposure_mod, "_THREADED_FROM", 0)  # tiny layers threaded too
    monkeypatch.setattr(geod_pool, "THREADS", 2)
    handed = []
    real_pool = geod_pool.pool
    monkeypatch.setattr(geod_pool, "pool", lambda: handed.append(1) or real_pool())
    threaded = _run()
    assert handed == [1]  # half the features went to the helper thread
    monkeypatch.setattr(geod_pool, "THREADS", 1)
    alone = _run()
    for name, kms in WANT.items():
        got = getattr(threaded, name)["distance_km"].to_numpy()
        assert got == pytest.approx(kms, abs=1e-6)
        assert got.tobytes() == getattr(alone, name)["distance_km"].to_numpy().tobytes()
    assert threaded.settlements["band"].tolist() == ["0-5", "5-20"]
    assert threaded.shelters["band"].tolist() == ["20-40", "beyond"]
    assert threaded.infrastructure["band"].tolist() == ["0-5", "0-5", "beyond"]
    assert threaded.to_dict() == alone.to_dict()


def test_geodesic_distances_in_two_halves_are_geods_own(monkeypatch):
    # 1 km steps due north along 36°E from 48°N: pair k is k km long (azimuth 0 along a meridian)
    monkeypatch.setattr(geod_pool, "MIN_SPLIT", 0)
    monkeypatch.setattr(geod_pool, "THREADS", 2)
    n = 7
    lon2, lat2, _ = GEOD.fwd(np.full(n, 36.0), np.full(n, 48.0), np.zeros(n), np.arange(n) * 1000.0)
    got = geod_pool.distance_m(np.full(n, 36.0), np.full(n, 48.0), lon2, lat2)
    assert got == pytest.approx(np.arange(n) * 1000.0, abs=1e-6)
    assert got.tobytes() == np.asarray(GEOD.inv(np.full(n, 36.0), np.full(n, 48.0), lon2, lat2)[2]).tobytes()
