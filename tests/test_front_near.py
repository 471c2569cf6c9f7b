"""The nearest projected front segment found with samples in a k-d tree: the STRtree's own answer."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString

from cimic_geo.analytics.front_distance import prepare_front
from cimic_geo.analytics.front_near import nearest_segments, point_segment_m, segment_samples
from cimic_geo.analytics.front_samples import golden_min
from cimic_geo.geo import GEOD, ecef

# an L of two 1 km segments and a long third one (metres, a projected plane)
ENDS = np.array([[0.0, 0.0, 1000.0, 0.0], [1000.0, 0.0, 1000.0, 1000.0], [1000.0, 1000.0, 4000.0, 1500.0]])
SEGS = shapely.linestrings(ENDS.reshape(-1, 2, 2))


def _strtree(xy: np.ndarray, max_m: float) -> dict[int, int]:
    pts = shapely.points(xy)
    pair = shapely.STRtree(SEGS).query_nearest(pts, max_distance=max_m, return_distance=False, all_matches=False)
    return dict(zip(pair[0].tolist(), pair[1].tolist(), strict=True))


def test_point_segment_distance_by_hand():
    xy = np.array([[500.0, 300.0], [1300.0, 500.0], [1200.0, -200.0], [-30.0, 40.0]])
    d, r = point_segment_m(xy, ENDS[[0, 1, 0, 0]])
    # 300 m above segment 0; 300 m right of segment 1; beyond segment 0's end (1000, 0): hypot(200, 200);
    # before its start (0, 0): hypot(30, 40) = 50
    assert np.allclose(d, [300.0, 300.0, math.hypot(200.0, 200.0), 50.0], atol=1e-9)
    assert np.allclose(r, [0.5, 0.5, 1.2, -0.03])
    assert np.allclose(d, shapely.distance(shapely.points(xy), SEGS[[0, 1, 0, 0]]))  # GEOS agrees


def test_hand_made_points_and_the_limit():
    smp = segment_samples(ENDS, spacing_m=400.0)
    xy = np.array([[500.0, 300.0], [1300.0, 500.0], [1200.0, -200.0], [9000.0, 9000.0]])
    found, seg, ask = nearest_segments(smp, xy, max_m=1000.0, points=shapely.points(xy), segments=SEGS)
    # (1200, -200) is as near to segment 0 as to segment 1, at their shared vertex (1000, 0): either
    # gives the same shortest line, so it is settled (the first); (9000, 9000) is beyond 1 km of all
    assert found.tolist() == [0, 1, 2] and seg.tolist() == [0, 1, 0] and ask.tolist() == []
    # at exactly the limit (300 m) the point is left to the STRtree
    found, _seg, ask = nearest_segments(smp, xy[:1], max_m=300.0)
    assert found.tolist() == [] and ask.tolist() == [0]


def test_same_shortest_lines_as_the_strtree_on_random_points():
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(-1500, 5500, 4000), rng.uniform(-1500, 3000, 4000)])
    xy[:50] = np.round(xy[:50] / 250.0) * 250.0  # some on the lines' grid: exact ties
    pts = shapely.points(xy)
    for spacing in (100.0, 500.0, 3000.0):
        smp = segment_samples(ENDS, spacing_m=spacing)
        found, seg, ask = nearest_segments(smp, xy, max_m=1200.0, points=pts, segments=SEGS)
        ref = _strtree(xy, 1200.0)
        assert set(found.tolist()) | set(ask.tolist()) >= set(ref)  # every point the STRtree finds
        assert not set(found.tolist()) - set(ref)  # and no other
        mine = shapely.get_coordinates(shapely.shortest_line(pts[found], SEGS[seg]))
        theirs = shapely.get_coordinates(shapely.shortest_line(pts[found], SEGS[[ref[i] for i in found.tolist()]]))
        assert np.array_equal(mine, theirs)
        assert len(ask) < 10


def test_front_distances_equal_the_strtree_way(monkeypatch):
    front = prepare_front(LineString([(30.0, 48.0), (31.0, 48.5), (32.0, 48.2), (33.5, 49.0), (35.0, 48.6)]))
    rng = np.random.default_rng(3)
    pts = shapely.points(np.column_stack([rng.uniform(29.5, 35.5, 3000), rng.uniform(47.3, 49.8, 3000)]))
    got = front.distance_km(pts)

    def strtree_only(self, geoms_m, max_m):
        return self._tree.query_nearest(geoms_m, max_distance=max_m, return_distance=False, all_matches=False)

    monkeypatch.setattr(type(front), "nearest_within", strtree_only)
    want = prepare_front(front_line=LineString([(30.0, 48.0), (31.0, 48.5), (32.0, 48.2), (33.5, 49.0),
                                                (35.0, 48.6)])).distance_km(pts)
    assert np.array_equal(got, want)


def _plain_golden(f, n, steps=40):
    g = (math.sqrt(5.0) - 1.0) / 2.0
    rows = np.arange(n)
    a, b = np.zeros(n), np.ones(n)
    for _ in range(steps):
        x1 = b - g * (b - a)
        x2 = a + g * (b - a)
        left = f(x1, rows) <= f(x2, rows)
        b = np.where(left, x2, b)
        a = np.where(left, a, x1)
    return np.minimum.reduce([f(a, rows), f(b, rows), f(np.zeros(n), rows), f(np.ones(n), rows)])


def test_golden_min_is_the_plain_loop_with_fewer_evaluations():
    # geodesic distance from points to 2 km geodesic segments (pyproj.Geod), as the exact refinement uses it
    rng = np.random.default_rng(11)
    n = 300
    lon0, lat0 = rng.uniform(30, 36, n), rng.uniform(46, 51, n)
    az, length = rng.uniform(-180, 180, n), np.full(n, 2000.0)
    plon, plat = lon0 + rng.uniform(-0.1, 0.1, n), lat0 + rng.uniform(-0.1, 0.1, n)
    seen = []

    def f(t, i):
        seen.append(len(i))
        lon, lat, _ = GEOD.fwd(lon0[i], lat0[i], az[i], t * length[i])
        return GEOD.inv(plon[i], plat[i], lon, lat)[2]

    got = golden_min(f, n)
    evaluated = sum(seen)
    want = _plain_golden(f, n)
    assert np.array_equal(got, want)
    assert evaluated < 80 * n  # the plain loop evaluates 84 * n
    # and the least really is the distance to the segment: below every sampled point of it, by < 1 mm
    t = np.linspace(0, 1, 201)
    sampled = np.min([f(np.full(n, x), np.arange(n)) for x in t], axis=0)
    assert np.all(got <= sampled + 1e-6) and np.all(sampled - got < 2000.0 / 200.0)


def test_sample_index_fractions_are_linspaces():
    front = prepare_front(LineString([(30.0, 48.0), (30.005, 48.0), (31.0, 48.5), (31.0, 48.52)]))
    tree, owner, _ends, geodesics = front._sample_index()
    seg = front.segments
    n = np.maximum(np.ceil(geodesics[:, 1] / 1000.0).astype(int), 1)
    t = np.concatenate([np.linspace(0.0, 1.0, k + 1) for k in n])
    lon = seg[owner, 0] + (seg[owner, 2] - seg[owner, 0]) * t
    lat = seg[owner, 1] + (seg[owner, 3] - seg[owner, 1]) * t
    assert np.array_equal(tree.data, ecef(lon, lat))


def test_nearest_candidates_from_few_neighbours_or_a_ball_query(monkeypatch):
    # with only 1 or 2 nearest samples asked, most points have them all within the search radius and
    # ask a ball query: the answers stay the STRtree's, as with the default number
    import cimic_geo.analytics.front_near as front_near

    rng = np.random.default_rng(5)
    xy = np.column_stack([rng.uniform(-1500, 5500, 1500), rng.uniform(-1500, 3000, 1500)])
    pts = shapely.points(xy)
    smp = segment_samples(ENDS, spacing_m=100.0)  # 3 km segment: 30 samples, many within the radius
    want = nearest_segments(smp, xy, max_m=1200.0, points=pts, segments=SEGS)
    for k in (1, 2, len(smp.owner)):
        monkeypatch.setattr(front_near, "NEAREST_K", k)
        got = nearest_segments(smp, xy, max_m=1200.0, points=pts, segments=SEGS)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    ref = _strtree(xy, 1200.0)
    found, seg, _ask = want
    assert len(found) > 500 and all(ref[i] == j for i, j in zip(found.tolist(), seg.tolist(), strict=True))
