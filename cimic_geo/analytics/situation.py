"""The situation in force at an as-of time: front line, occupied area and the other layers.

Shared by the CLI and the pages. Takes an open store (any object with ``read``,
``history_times``; this module does not import DuckDB) and validates the as-of time against the
front-line history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from cimic_geo.errors import AnalysisError, CimicError
from cimic_geo.timefmt import iso, to_utc


@dataclass
class Situation:
    """Layers read at ``as_of`` (front line and occupied area are the rows in force then)."""

    as_of: pd.Timestamp
    front_line: gpd.GeoDataFrame
    occupied_area: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        if name == "front_line":
            return self.front_line
        if name == "occupied_area":
            return self.occupied_area
        return self.layers[name]


def history_times(store: Any) -> list[pd.Timestamp]:
    """Distinct snapshot times of the front line and occupied area, ascending."""
    times: set[pd.Timestamp] = set()
    for layer in ("front_line", "occupied_area"):
        times.update(store.history_times(layer))
    return sorted(times)


def resolve_as_of(as_of: Any, times: Sequence[pd.Timestamp]) -> pd.Timestamp:
    """The as-of time to use: ``as_of`` (validated) or the latest snapshot time.

    Raises
    ------
    AnalysisError
        If the history is empty, ``as_of`` is not a time, or it is before the first snapshot.
    """
    if not times:
        raise AnalysisError("the store has no front-line history; import or seed a front line first")
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return to_utc(times[-1])
    try:
        t = to_utc(as_of)
    except CimicError as exc:
        raise AnalysisError(str(exc)) from None
    if t < times[0]:
        raise AnalysisError(
            f"as-of time {iso(t)} is outside the front-line history ({iso(times[0])} to {iso(times[-1])})"
        )
    return t


def load_situation(
    store: Any,
    *,
    as_of: Any = None,
    layers: Sequence[str] = ("settlements", "shelters", "infrastructure"),
    bbox: Sequence[float] | None = None,
) -> Situation:
    """Read the front line and occupied area in force at ``as_of`` and the other ``layers``.

    Raises
    ------
    AnalysisError
        ``as_of`` outside the history (before the first snapshot, or after the last one ended).
    """
    times = history_times(store)
    t = resolve_as_of(as_of, times)
    front = store.read("front_line", as_of=t, bbox=bbox)
    occ = store.read("occupied_area", as_of=t, bbox=bbox)
    if not len(front) and not len(occ) and bbox is None:
        raise AnalysisError(
            f"as-of time {iso(t)} is outside the front-line history: no front line is in force then "
            f"(snapshots from {iso(times[0])} to {iso(times[-1])})"
        )
    return Situation(as_of=t, front_line=front, occupied_area=occ,
                     layers={name: store.read(name, bbox=bbox) for name in layers})
