"""Routing policy (how the threat shapes routing) and the connectivity of a road network: the
small value types of :mod:`cimic_geo.analytics.roadgraph`, which re-exports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cimic_geo.errors import AnalysisError

#: Travel-time multiplier for ``damaged`` road segments (half speed).
DAMAGED_TIME_FACTOR = 2.0
#: Default cost multipliers for segments in each threat band (0-5, 5-20, 20-40 km).
DEFAULT_PENALTIES = (10.0, 3.0, 1.5)
#: Cost multiplier of the avoided zone's roads when a start or end inside it may leave/reach it.
ZONE_EXIT_FACTOR = 1e6
#: Weighted graphs kept per road graph (least recently used dropped first).
WEIGHTED_CACHE_SIZE = 4


@dataclass(frozen=True)
class RoutingPolicy:
    """How the threat shapes routing.

    Parameters
    ----------
    avoid_km : leave out segments closer than this to the front line (None: exclude nothing).
        Any distance is allowed; the avoided area is not capped.
    penalties : travel-time multiplier for segments in each threat band (same length as the
        graph's bands; None or all 1: no penalty). Only used for segments not excluded.
    exclude_occupied : leave out segments on the occupied side of the front line
    ignore_oneway : drive one-way roads both ways (convoy/emergency)
    zone_exit : keep the avoided zone's roads at :data:`ZONE_EXIT_FACTOR` × their cost instead of
        leaving them out (used for starts and ends inside the zone)
    """

    avoid_km: float | None = None
    penalties: tuple[float, ...] | None = DEFAULT_PENALTIES
    exclude_occupied: bool = True
    ignore_oneway: bool = False
    zone_exit: bool = False

    def __post_init__(self) -> None:
        if self.avoid_km is not None and not (np.isfinite(self.avoid_km) and self.avoid_km >= 0):
            raise AnalysisError(f"avoid distance must be a number of km >= 0, got {self.avoid_km!r}")
        if self.penalties is not None:
            pens = tuple(float(p) for p in self.penalties)
            if any(not (np.isfinite(p) and p >= 1) for p in pens):
                raise AnalysisError(f"band penalties must be factors >= 1, got {list(self.penalties)}")
            object.__setattr__(self, "penalties", pens)


def default_policy(bands_km: tuple[float, ...]) -> RoutingPolicy:
    """The policy of a route with no options (:data:`DEFAULT_PENALTIES` per band, the last repeated
    for extra bands; the occupied side excluded; one-way respected): the weighted graph a road
    graph file keeps ready."""
    pens = (list(DEFAULT_PENALTIES) + [DEFAULT_PENALTIES[-1]] * len(bands_km))[:len(bands_km)]
    return RoutingPolicy(avoid_km=None, penalties=tuple(pens), exclude_occupied=True)


#: No threat handling at all (pure fastest route on the passable network).
NO_THREAT = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=False)


@dataclass(frozen=True)
class Connectivity:
    """How the passable road network falls apart into connected pieces.

    Attributes
    ----------
    components : number of connected components (one-way ignored)
    largest_share : share of passable road length (0-1) in the largest component
    edge_component : component of each graph edge (0 = the largest)
    small_edges : graph edges outside the largest component
    """

    components: int
    largest_share: float
    edge_component: np.ndarray
    small_edges: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        return {"components": self.components, "largest_share": round(self.largest_share, 4),
                "small_pieces_edges": len(self.small_edges)}
