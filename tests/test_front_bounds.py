"""Bounds and shortcuts of the front-line distance: each gives the same answer as the long way."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from cimic_geo.analytics import front_distance, front_geodesic
from cimic_geo.analytics.front_distance import prepare_front
from cimic_geo.analytics.front_samples import (
    chord_lower_m,
    keep_candidates,
    least_scale,
    points_on_segments,
    query_in_order,
    segment_ends,
)
from cimic_geo.geo import GEOD, ecef

FRONT = LineString([(30.0, 48.0), (31.0, 48.5), (32.0, 48.2), (33.5, 49.0), (35.0, 48.6)])


def test_chord_lower_bound_is_below_the_geodesic_distance():
    rng = np.random.default_rng(5)
    lon0, lat0, lon1, lat1 = 31.0, 48.5, 31.02, 48.51  # a ~1.8 km segment
    _az, _, length = GEOD.inv(lon0, lat0, lon1, lat1)
    plon, plat = rng.uniform(30.5, 31.5, 300), rng.uniform(48.2, 48.8, 300)
    lower, t = chord_lower_m(ecef(plon, plat), ecef(np.array([lon0]), np.array([lat0])),
                             ecef(np.array([lon1]), np.array([lat1])), np.full(300, length))
    # the truth by brute force: the segment's geodesic sampled every ~1 m (pyproj.Geod.npts)
    line = np.array([(lon0, lat0), *GEOD.npts(lon0, lat0, lon1, lat1, 2000), (lon1, lat1)])
    truth = np.array([GEOD.inv(np.full(len(line), x), np.full(len(line), y), line[:, 0], line[:, 1])[2].min()
                      for x, y in zip(plon, plat, strict=True)])
    assert np.all(lower <= truth) and np.all(truth - lower < 2.0)  # below, and tight (metres)
    assert np.all((t >= 0) & (t <= 1))


def test_keep_candidates_by_hand():
    # point 0 has candidates with bounds [5, 6] and [7, 9]: the least upper bound is 6, so 7 > 6 + 0.5
    # is dropped with 0.5 m slack and kept with 1 m; point 1's only candidate is always kept
    owner = np.array([0, 0, 1])
    lower, upper = np.array([5.0, 7.0, 3.0]), np.array([6.0, 9.0, 4.0])
    assert keep_candidates(owner, lower, upper, 2, slack_m=0.5).tolist() == [True, False, True]
    assert keep_candidates(owner, lower, upper, 2, slack_m=1.0).tolist() == [True, True, True]


def test_points_on_segments_are_pyprojs_own():
    seg = np.array([[30.0, 48.0, 30.02, 48.01], [30.02, 48.01, 30.05, 48.0]])
    az, _, length = GEOD.inv(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3])
    geodesics = np.column_stack([az, length])
    which = np.array([0, 0, 1, 1, 1, 0])
    t = np.array([0.0, 1.0, 0.0, 0.25, 1.0, 0.7])
    lon, lat = points_on_segments(seg, geodesics, segment_ends(seg, geodesics), which, t)
    want_lon, want_lat, _ = GEOD.fwd(seg[which, 0], seg[which, 1], geodesics[which, 0], t * geodesics[which, 1])
    assert np.array_equal(lon, want_lon) and np.array_equal(lat, want_lat)


def test_query_in_order_is_the_trees_answer():
    rng = np.random.default_rng(2)
    tree = cKDTree(rng.normal(size=(500, 3)) * 1e5)
    pts = rng.normal(size=(2000, 3)) * 3e5
    d, i = query_in_order(tree, pts, 3)
    want_d, want_i = tree.query(pts, k=3)
    assert np.array_equal(d, want_d) and np.array_equal(i, want_i)


def test_least_scale_of_utm_and_azimuthal_equidistant():
    # UTM: 0.9996 on the central meridian (33°E for zone 36), larger elsewhere
    utm = pyproj.CRS.from_epsg(32636)
    assert abs(least_scale(utm, np.array([32.0, 46.0, 34.0, 50.0])) - 0.9996) < 1e-6
    # azimuthal equidistant: radial scale exactly 1 everywhere
    aeqd = pyproj.CRS.from_proj4("+proj=aeqd +lat_0=48 +lon_0=31 +datum=WGS84 +units=m +no_defs")
    assert abs(least_scale(aeqd, np.array([22.0, 44.0, 40.0, 52.5])) - 1.0) < 1e-6
    # degrees are no metres: no bound (nothing is taken as surely far)
    assert least_scale(pyproj.CRS.from_epsg(4326), np.array([30.0, 45.0, 35.0, 50.0])) == 0.0


@pytest.mark.parametrize("extent", [(22.0, 44.5, 40.0, 52.3), (29.0, 46.0, 36.5, 51.0)])  # AEQD, UTM 36N
def test_far_points_skip_the_projection_with_the_same_distances(monkeypatch, extent):
    rng = np.random.default_rng(11)
    pts = shapely.points(rng.uniform(extent[0], extent[2], 3000), rng.uniform(extent[1], extent[3], 3000))
    got = prepare_front([FRONT], extent=extent).distance_km(pts)
    fresh = prepare_front([FRONT], extent=extent)
    sure, _ = fresh._surely_far(pts, 60_000.0)
    assert 500 < len(sure) < 3000
    # the long way: every point projected and searched in the STRtree first
    monkeypatch.setattr(front_distance.Front, "_surely_far",
                        lambda self, geoms, far_m: (np.empty(0, dtype=np.int64), None))
    want = fresh.distance_km(pts)
    assert np.array_equal(got, want)


def test_exact_refinement_keeps_the_nearest_candidates(monkeypatch):
    # points near the band edges (5, 20, 40 km) are solved on the ellipsoid; dropping the candidate
    # segments that cannot be nearest must not change a single bit
    front = prepare_front([FRONT], extent=(29.0, 47.0, 36.0, 50.0))
    rng = np.random.default_rng(4)
    lon0, lat0 = rng.uniform(30.2, 34.8, 400), rng.uniform(48.0, 49.0, 400)
    lon, lat, _ = GEOD.fwd(lon0, lat0, rng.choice([0.0, 180.0], 400), rng.choice([5e3, 20e3, 40e3], 400))
    pts = shapely.points(lon, lat)
    got = front.distance_km(pts)
    monkeypatch.setattr(front_geodesic, "keep_candidates", lambda owner, lower, upper, n: np.ones(len(owner), bool))
    want = prepare_front([FRONT], extent=(29.0, 47.0, 36.0, 50.0)).distance_km(pts)
    assert np.array_equal(got, want)
