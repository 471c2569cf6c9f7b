"""Straight-line reach whose geodesics are measured only where a number is read.

:func:`cimic_geo.analytics.reach.straight_line_reach` measures the geodesic of every pair within the
limit (pyproj, ~1 µs a pair: 590k pairs at 5 km nationally). The exact allocation reads far fewer:

* the order of a settlement's edges, or of a shelter's, by cost (ranks are only ever compared within
  one settlement or one shelter);
* the cost of the edges of the coupled part solved as a least-cost flow, and of the edges that carry
  people (the person-km and the allocation table);
* each settlement's nearest usable shelter.

A pair's chord ``c`` in earth-centred coordinates (:func:`cimic_geo.geo.ecef`) bounds its geodesic ``g``:
``c <= g <= c + c^3 / 12R^2`` (``R`` the least radius of curvature of the ellipsoid; a geodesic's
curvature in space never exceeds ``1/R``, so ``g - c`` is at most about ``g^3 / 24R^2``), plus
:data:`SLACK_M` for the round-off of both. Two edges whose chords are farther apart than that bound
are in the same order by chord as by geodesic. So :func:`lazy_straight_reach` measures only

* the pairs whose chord cannot tell whether they are within the limit;
* every usable pair whose chord lies within the bound of another usable pair's chord (near-ties,
  in any settlement or shelter);
* each settlement's usable pairs whose chord is within the bound of its least chord (its nearest);

and keeps the chord (km) as the cost of the others. Ranks by that cost are the ranks by geodesic within
every settlement and shelter, and the same pairs are within the limit. The rest is measured when read
(:meth:`LazyReach.exact_cost`), so every number the coverage reports is the very geodesic
:func:`~cimic_geo.analytics.reach.straight_line_reach` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from cimic_geo.analytics.bands import check_distance
from cimic_geo.analytics.front_samples import R_MIN_M
from cimic_geo.analytics.geod_pool import distance_m
from cimic_geo.analytics.reach import Reach, _points_lonlat
from cimic_geo.geo import ecef

#: Round-off allowance (m) of a chord from earth-centred coordinates and of a pyproj geodesic
#: (each good to ~1e-8 m at these lengths).
SLACK_M = 1e-5


def bulge_m(chord_m: np.ndarray | float) -> np.ndarray | float:
    """Most by which a geodesic exceeds its chord (m), for chords up to 100 km: ``c^3 / 12R^2`` plus
    :data:`SLACK_M`."""
    return chord_m**3 / (12.0 * R_MIN_M**2) + SLACK_M


@dataclass
class LazyReach(Reach):
    """A :class:`~cimic_geo.analytics.reach.Reach` in km whose ``cost`` is the geodesic where
    ``measured`` and the chord elsewhere (ordered as the geodesics are within each settlement and each
    shelter, see the module doc); :meth:`exact_cost` measures the others when read."""

    lonlat_s: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    lonlat_h: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    measured: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))

    def exact_cost(self, idx: np.ndarray) -> np.ndarray:
        """The geodesic km of pairs ``idx`` (measured now where not yet, then kept in ``cost``)."""
        idx = np.asarray(idx, dtype=np.int64)
        todo = np.zeros(len(self.s), dtype=bool)
        todo[idx] = True
        todo = np.flatnonzero(todo & ~self.measured)
        if len(todo):
            a, b = self.lonlat_s[self.s[todo]], self.lonlat_h[self.h[todo]]
            self.cost[todo] = distance_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1]) / 1000.0
            self.measured[todo] = True
        return self.cost[idx]

    def digest_parts(self) -> tuple[np.ndarray, ...]:
        """What the costs depend on besides the pairs (for a key of the allocation's inputs): each one is
        the chord or the geodesic of its pair's points, as ``measured`` says."""
        return (self.lonlat_s, self.lonlat_h, self.measured)


def lazy_straight_reach(settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, *, max_km: float,
                        distance_for: np.ndarray | None = None) -> LazyReach:
    """The pairs of :func:`~cimic_geo.analytics.reach.straight_line_reach` (same arguments, same pairs),
    geodesics measured only where needed (module doc); ``distance_for`` (one bool per shelter, default
    all) names the usable shelters, whose pairs' costs are read."""
    d_max = check_distance(max_km, name="max_km")
    a = _points_lonlat(settlements, "settlements")
    b = _points_lonlat(shelters, "shelters")
    empty = np.empty(0)
    if not len(a) or not len(b):
        return LazyReach(empty, empty, empty, unit="km", limit=d_max, lonlat_s=a, lonlat_h=b,
                         measured=np.zeros(0, dtype=bool))
    radius_m = d_max * 1000.0 * (1.0 + 1e-9) + 1e-3  # float round-off margin only
    pa, pb = ecef(a[:, 0], a[:, 1]), ecef(b[:, 0], b[:, 1])
    pairs = cKDTree(pa).sparse_distance_matrix(cKDTree(pb), radius_m, output_type="ndarray")
    key = np.sort(pairs["i"].astype(np.int64) * len(b) + pairs["j"])  # settlement, then shelter
    s, h = np.divmod(key, len(b))
    chord = np.sqrt(((pa[s] - pb[h]) ** 2).sum(axis=1))
    usable = np.ones(len(b), dtype=bool) if distance_for is None else np.asarray(distance_for, dtype=bool)
    use = usable[h]
    # within the limit for sure (geodesic <= chord + bulge), beyond it for sure, or to be measured
    limit_m = (d_max + 1e-9) * 1000.0
    if distance_for is None:
        sure_in = chord + bulge_m(chord) <= limit_m
    else:  # other shelters' pairs: straight_line_reach's own test (their cost is never read)
        sure_in = np.where(use, chord + bulge_m(chord) <= limit_m,
                           (chord <= 100_000.0) & (chord + chord**3 / (12.0 * R_MIN_M**2) + 0.01 <= d_max * 1000.0))
    sure_out = chord - SLACK_M > limit_m
    need = ~sure_in & ~sure_out
    # usable pairs whose chord is within the bound of another usable pair's chord (ties to settle)
    u = np.flatnonzero(use & ~sure_out)
    if len(u) > 1:
        order = u[np.argsort(chord[u])]
        close = np.diff(chord[order]) <= bulge_m(radius_m)
        need[order[:-1][close]] = True
        need[order[1:][close]] = True
    # each settlement's usable pairs that may be its nearest
    if len(u):
        least = np.full(len(a), np.inf)
        np.minimum.at(least, s[u], chord[u] + bulge_m(chord[u]))
        need[u[chord[u] <= least[s[u]]]] = True
    km = chord / 1000.0
    k = np.flatnonzero(need)
    km[k] = distance_m(a[s[k], 0], a[s[k], 1], b[h[k], 0], b[h[k], 1]) / 1000.0
    keep = np.flatnonzero(km <= d_max + 1e-9)
    return LazyReach(s[keep], h[keep], km[keep], unit="km", limit=d_max, lonlat_s=a, lonlat_h=b,
                     measured=need[keep])
