"""The last road-time search kept on its graph (:func:`cimic_geo.analytics.reach.travel_time_reach`).

A search bounded at a limit finds every journey within any smaller limit at the same time, to the last
bit: the shortest paths below a bound do not depend on it (Dijkstra's float sums along a path only grow,
so no path over the bound leads back under it). A smaller limit is therefore the kept pairs within it,
and a search run past the limit asked for answers the next larger one the same way. One case is
searched again: a kept pair within the 1e-9 min round-off margin above the new limit (a search at that
limit keeps such a pair when its road part is within the limit, which the kept total cannot tell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimic_geo.analytics.reach import Reach


@dataclass(frozen=True)
class KeptReach:
    """A search's pairs (read-only; places as int32 when they fit: 16 bytes a pair) and its limit."""

    s: np.ndarray
    h: np.ndarray
    cost: np.ndarray
    limit: float

    @classmethod
    def of(cls, r: Reach) -> KeptReach:
        """``r`` kept: its arrays made read-only (shared by the next run)."""
        small = bool(len(r.s)) and max(int(r.s.max()), int(r.h.max())) < 2**31
        s, h = (r.s.astype(np.int32), r.h.astype(np.int32)) if small else (r.s, r.h)
        for x in (s, h, r.cost):
            x.flags.writeable = False
        return cls(s, h, r.cost, float(r.limit))

    def within(self, t_max: float) -> Reach | None:
        """The pairs within ``t_max`` (at most the kept limit), in the kept order; None when a kept pair
        is above ``t_max`` by 1e-9 min or less (search at ``t_max`` instead)."""
        if t_max == self.limit:
            return Reach(self.s, self.h, self.cost, unit="min", limit=t_max)
        within = self.cost <= t_max
        if np.count_nonzero(self.cost <= t_max + 1e-9) != np.count_nonzero(within):
            return None
        return Reach(self.s[within], self.h[within], self.cost[within], unit="min", limit=t_max)
