"""The k nearest samples of the front line for many points, quickly and exactly as the reference tree.

:meth:`cimic_geo.analytics.front_distance.Front._far_points_km` names a far point's candidate
segments by its nearest samples of the front line (earth-centred 3-D coordinates). A balanced k-d
tree (scipy's default) is slow for points far from a line: many of its boxes lie at about the same
distance. A sliding-midpoint tree (``balanced_tree=False``) answers the same query 3-4× faster with
the same distances, but may pick another of two samples at exactly the same distance (each vertex
is sampled twice, once for each of its segments). So the quick tree is asked for one neighbour
more: where the k-th and the next are strictly apart, the k nearest are the same set in any tree
(and the caller only takes their minimum, so their order does not matter); the few points with a
tie there are asked again of the reference tree, which settles it as it always did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.spatial import cKDTree


def quick_tree(tree: cKDTree) -> cKDTree:
    """A sliding-midpoint k-d tree of ``tree``'s points (same points, same order)."""
    from scipy.spatial import cKDTree

    return cKDTree(tree.data, balanced_tree=False, compact_nodes=False)


def nearest_samples(tree: cKDTree, quick: cKDTree, points: np.ndarray, k: int) -> np.ndarray:
    """Indices (m, k) of the ``k`` nearest points of ``tree`` to each of ``points``: the same sets as
    ``tree.query(points, k=k)`` gives, found with ``quick`` (:func:`quick_tree` of ``tree``)."""
    m = len(points)
    if k >= tree.n or m == 0:
        return np.asarray(tree.query(points, k=k)[1]).reshape(m, k)
    dist, idx = quick.query(points, k=k + 1)
    out = np.asarray(idx[:, :k], dtype=np.int64).copy()
    tie = dist[:, k - 1] == dist[:, k]
    if tie.any():
        out[tie] = np.asarray(tree.query(points[tie], k=k)[1]).reshape(-1, k)
    return out
