"""Straight-line coverage with geodesics measured only where read: the same pairs, order, allocation and
numbers as measuring every pair (hand-made points, with near-ties the chords alone would order wrongly)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from cimic_geo.analytics import allocation
from cimic_geo.analytics.coverage import coverage
from cimic_geo.analytics.lazy_reach import lazy_straight_reach
from cimic_geo.analytics.reach import straight_line_reach
from cimic_geo.geo import GEOD, ecef

S0 = (36.0, 48.5)


def _at(azimuth: float, metres: float) -> Point:
    lon, lat, _ = GEOD.fwd(S0[0], S0[1], azimuth, metres)
    return Point(lon, lat)


def _frames(points_s, pop, points_h, cap):
    sets = gpd.GeoDataFrame({"id": [f"s{i:03d}" for i in range(len(points_s))], "name": None, "population": pop},
                            geometry=points_s, crs="EPSG:4326")
    shel = gpd.GeoDataFrame({"id": [f"h{i:03d}" for i in range(len(points_h))], "name": None, "capacity": cap,
                             "occupancy": 0, "status": "open"}, geometry=points_h, crs="EPSG:4326")
    return sets, shel


def test_a_near_tie_the_chords_order_wrongly_is_settled_by_the_geodesics():
    # A 4 km east, B 4 km + 0.3 µm north: B is farther along the ellipsoid, but its chord is shorter
    # (the meridian bends more than the east-west geodesic); C, 1 km away, is the settlement's nearest
    a, b = _at(90.0, 4000.0), _at(0.0, 4000.0 + 3e-7)
    s, pa, pb = ecef([S0[0], a.x, b.x], [S0[1], a.y, b.y])
    assert np.linalg.norm(pb - s) < np.linalg.norm(pa - s)
    assert GEOD.inv(S0[0], S0[1], b.x, b.y)[2] > GEOD.inv(S0[0], S0[1], a.x, a.y)[2]
    sets, shel = _frames([Point(*S0)], [15], [_at(200.0, 1000.0), a, b], [5, 10, 10])
    allocation._LAST.clear()
    got = coverage(settlements=sets, shelters=shel, max_km=5.0)
    flows = dict(zip(got.allocation["shelter_id"], got.allocation["people"], strict=True))
    assert flows == {"h000": 5, "h001": 10}  # the nearest first, then A, not B
    assert got.allocation["cost"].tolist() == [GEOD.inv(S0[0], S0[1], p.x, p.y)[2] / 1000.0
                                               for p in (shel.geometry[0], a)]


def _random_frames(seed: int):
    rng = np.random.default_rng(seed)
    pts_s = [_at(az, d) for az, d in zip(rng.uniform(0, 360, 120), rng.uniform(0, 20_000, 120), strict=True)]
    pts_h = [_at(az, d) for az, d in zip(rng.uniform(0, 360, 200), rng.uniform(0, 20_000, 200), strict=True)]
    pts_h += pts_h[:10] + [pts_s[i] for i in range(5)]  # shelters at the very same places: exact ties
    cap = rng.integers(0, 400, len(pts_h))
    return _frames(pts_s, rng.integers(1, 2000, 120), pts_h, cap)


def test_same_pairs_and_geodesics_as_measuring_every_pair():
    sets, shel = _random_frames(5)
    usable = shel["capacity"].to_numpy() > 0
    full = straight_line_reach(sets, shel, max_km=4.0, distance_for=usable)
    lazy = lazy_straight_reach(sets, shel, max_km=4.0, distance_for=usable)
    assert np.array_equal(full.s, lazy.s) and np.array_equal(full.h, lazy.h)
    assert 0 < lazy.measured.sum() < len(lazy.s)  # most costs not measured yet
    use = np.flatnonzero(usable[lazy.h])
    # ranks by cost within each settlement and each shelter: those of the geodesics
    for group in (lazy.s[use], lazy.h[use]):
        by_lazy = np.lexsort((lazy.h[use], lazy.s[use], lazy.cost[use], group))
        by_full = np.lexsort((full.h[use], full.s[use], full.cost[use], group))
        assert np.array_equal(by_lazy, by_full)
    assert lazy.exact_cost(use).tobytes() == full.cost[use].tobytes()
    assert lazy.measured[use].all()


def test_coverage_tables_equal_those_of_every_pair_measured():
    for seed in (1, 2, 3):
        sets, shel = _random_frames(seed)
        usable = shel["capacity"].to_numpy() > 0
        allocation._LAST.clear()
        got = coverage(settlements=sets, shelters=shel, max_km=4.0)
        allocation._LAST.clear()
        want = coverage(settlements=sets, shelters=shel,
                        reach=straight_line_reach(sets, shel, max_km=4.0, distance_for=usable))
        assert len(got.allocation) > 50
        pd.testing.assert_frame_equal(got.allocation, want.allocation, check_exact=True)
        pd.testing.assert_frame_equal(got.settlement_table(), want.settlement_table(), check_exact=True)
        pd.testing.assert_frame_equal(got.shelter_table(), want.shelter_table(), check_exact=True)
