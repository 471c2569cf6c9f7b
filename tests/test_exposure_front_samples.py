"""The quick nearest-sample search of far points: the same neighbour sets as the reference k-d tree."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from scipy.spatial import cKDTree

from cimic_geo.analytics.front_distance import prepare_front
from cimic_geo.analytics.front_samples import nearest_samples, quick_tree


def _sets(idx: np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(idx), axis=1)


def test_same_neighbour_sets_as_the_reference_tree_with_duplicate_samples():
    rng = np.random.default_rng(7)
    # a polyline sampled like the front: each vertex twice (end of one segment, start of the next)
    vertices = np.cumsum(rng.normal(size=(60, 3)), axis=0)
    pts = np.concatenate([np.linspace(a, b, 5) for a, b in pairwise(vertices)])
    tree = cKDTree(pts)
    queries = np.concatenate([rng.normal(scale=40.0, size=(3000, 3)),  # far and near points
                              vertices + 25.0, pts[::7]])               # ties at the 2nd and 3rd neighbour
    quick = quick_tree(tree)
    for k in (1, 2, 3):
        got = nearest_samples(tree, quick, queries, k)
        want = tree.query(queries, k=k)[1].reshape(len(queries), k)
        assert np.array_equal(_sets(got), _sets(want))
    # a tie the quick tree must not settle: two copies of one point, one query at equal distance
    two = cKDTree(np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [5.0, 0.0, 0.0], [9.0, 0.0, 0.0]]))
    q = np.array([[1.0, 0.0, 0.0]])  # nearest 0 (1 away), then the two copies (4 away each)
    assert np.array_equal(_sets(nearest_samples(two, quick_tree(two), q, 2)), _sets(two.query(q, k=2)[1]))
    # fewer samples than asked: the reference answer
    assert nearest_samples(two, quick_tree(two), q, 4).shape == (1, 4)


def test_far_point_distances_unchanged(monkeypatch):
    from shapely.geometry import LineString

    front = prepare_front([LineString([(30.0, 48.0), (31.0, 48.5), (32.0, 48.2), (33.5, 49.0)])])
    rng = np.random.default_rng(3)
    lonlat = np.column_stack([rng.uniform(24.0, 40.0, 400), rng.uniform(44.0, 52.5, 400)])
    got = front._far_points_km(lonlat)
    tree = front._sample_index()[0]
    # the reference: the balanced tree's own k=2 answer (what the function used before)
    monkeypatch.setattr("cimic_geo.analytics.front_samples.nearest_samples",
                        lambda t, _q, p, k: np.asarray(t.query(p, k=k)[1]).reshape(len(p), k))
    fresh = prepare_front([LineString([(30.0, 48.0), (31.0, 48.5), (32.0, 48.2), (33.5, 49.0)])])
    want = fresh._far_points_km(lonlat)
    assert tree.n > 100 and np.array_equal(got, want)
    # and both are the geodesic distance to the line, checked by brute force: the line's geodesics
    # sampled every <= 100 m (the brute force is above the truth by at most 50²/2d m, the far
    # search by at most 500²/2d + 1 m, never below it)
    from cimic_geo.geo import GEOD

    verts = [(30.0, 48.0), (31.0, 48.5), (32.0, 48.2), (33.5, 49.0)]
    dense = [verts[0]]
    for (x0, y0), (x1, y1) in pairwise(verts):
        n = int(GEOD.inv(x0, y0, x1, y1)[2] // 100.0) + 1
        dense += [*GEOD.npts(x0, y0, x1, y1, n), (x1, y1)]
    dense = np.asarray(dense)
    sub = lonlat[:60]
    brute = np.array([np.min(GEOD.inv(np.full(len(dense), x), np.full(len(dense), y), dense[:, 0], dense[:, 1])[2])
                      for x, y in sub]) / 1000.0
    far = brute > 60.0
    assert far.sum() > 30
    assert np.all(np.abs(got[:60][far] - brute[far]) <= 0.005)  # within 5 m at > 60 km
