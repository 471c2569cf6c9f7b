"""The last road-time search kept on its graph (:func:`cimic_geo.analytics.reach.travel_time_reach`).

A search bounded at a limit finds every journey within any smaller limit at the same time, to the last
bit: the shortest paths below a bound do not depend on it (Dijkstra's float sums along a path only grow,
so no path over the bound leads back under it). A smaller limit is therefore the kept pairs within it,
and a search run past the limit asked for answers the next larger one the same way. One case is
searched again: a kept pair within the 1e-9 min round-off margin above the new limit (a search at that
limit keeps such a pair when its road part is within the limit, which the kept total cannot tell).

A search can also be saved beside a kept road graph (:class:`SavedSearch`): the server's warm-up saves
the one the Exposure page's default limit needs, and a new process reads it instead of searching.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cimic_geo.analytics.reach import Reach

if TYPE_CHECKING:
    import geopandas as gpd

    from cimic_geo.analytics.road_policy import RoutingPolicy


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


#: The search kept beside a kept road graph (in its folder) by the server's warm-up.
SEARCH_FILE = "cov_reach.npz"


@dataclass(frozen=True)
class SavedSearch:
    """A search saved in the kept graph ``folder`` (under the folder's ``key``), for a new process: the
    search the Exposure page's first question by road time needs, made ahead by the server's background
    warm-up (:func:`cimic_geo.analytics.coverage_graph.prepare`) instead of on the user's click. ``ident``
    names the search's inputs besides the graph (places, policy, method: :func:`search_ident`); one search
    is kept, written under a temporary name and renamed into place."""

    folder: Path
    key: str

    def read(self, ident: str, t_max: float) -> KeptReach | None:
        """The saved search for ``ident`` when it reaches ``t_max`` at least; None otherwise."""
        try:
            with np.load(self.folder / SEARCH_FILE, allow_pickle=False) as z:
                if bytes(z["key"]).decode("utf-8") != self.key or bytes(z["ident"]).decode("utf-8") != ident:
                    return None
                limit = float(z["limit"])
                if not limit >= t_max:
                    return None
                s, h, cost = z["s"], z["h"], z["cost"]
        except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError, TypeError):
            return None
        if not (s.ndim == h.ndim == cost.ndim == 1 and len(s) == len(h) == len(cost)) or cost.dtype != np.float64:
            return None
        for x in (s, h, cost):
            x.flags.writeable = False
        return KeptReach(s, h, cost, limit)

    def holds(self, ident: str, t_max: float) -> bool:
        """Whether the saved search is for ``ident`` and reaches ``t_max`` (its pairs not read)."""
        try:
            with np.load(self.folder / SEARCH_FILE, allow_pickle=False) as z:
                return (bytes(z["key"]).decode("utf-8") == self.key and bytes(z["ident"]).decode("utf-8") == ident
                        and float(z["limit"]) >= t_max)
        except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError, TypeError):
            return False

    def write(self, ident: str, kept: KeptReach) -> bool:
        """Save ``kept`` for ``ident`` (best effort: False when the folder holds another graph now or is not
        writable)."""
        from cimic_geo.analytics.road_cache import saved_key
        from cimic_geo.data_stamp import write_kept_file

        if saved_key(self.folder) != self.key:
            return False
        arrays = {"key": np.frombuffer(self.key.encode("utf-8"), dtype=np.uint8),
                  "ident": np.frombuffer(ident.encode("utf-8"), dtype=np.uint8),
                  "limit": np.float64(kept.limit), "s": kept.s, "h": kept.h, "cost": kept.cost}
        return write_kept_file(self.folder / SEARCH_FILE, lambda f: np.savez(f, **arrays))


def search_ident(key: tuple) -> str:
    """A search's inputs besides the graph (the key :func:`~cimic_geo.analytics.reach.travel_time_reach` keeps
    it under) as text."""
    return hashlib.blake2b(key[0] + repr(key[1:]).encode("utf-8"), digest_size=20).hexdigest()


def search_key(settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, *, policy: RoutingPolicy,
               access_speed_kmh: float = 5.0, method: str = "core") -> tuple:
    """The key :func:`~cimic_geo.analytics.reach.travel_time_reach` keeps its search under for these places and
    options."""
    from cimic_geo.analytics.reach import _points_lonlat

    return search_key_of(_points_lonlat(settlements, "settlements"), _points_lonlat(shelters, "shelters"),
                         policy=policy, access_speed_kmh=access_speed_kmh, method=method)


def search_key_of(a: np.ndarray, b: np.ndarray, *, policy: RoutingPolicy, access_speed_kmh: float,
                  method: str) -> tuple:
    """:func:`search_key` of the settlement and shelter points ``a`` and ``b`` (lon/lat rows)."""
    from cimic_geo.analytics.reach import _TILE_PER_REACH, _core_tile

    return (hashlib.blake2b(np.ascontiguousarray(a, dtype=float).tobytes() + b"|"
                            + np.ascontiguousarray(b, dtype=float).tobytes(), digest_size=16).digest(),
            len(a), len(b), policy, float(access_speed_kmh), method, _TILE_PER_REACH, _core_tile())
