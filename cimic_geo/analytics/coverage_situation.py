"""The situation coverage reads, with the settlements and shelters on the occupied side left out.

Reading a national store's settlements and shelters and testing them against the occupied area costs
about half a second. A new question that changes only the limit (another number of minutes or
kilometres) asks for the same read, so the last one is kept per process: keyed by the store file's
content stamp (:func:`cimic_geo.store.content_stamp.content_stamp`: it changes with every committed
write of data), the as-of time asked for and whether occupied places are left out. A stamp younger
than :data:`SETTLE_S` is not trusted (a write in the same clock tick could leave it unchanged), a
store without a file is never kept, and neither is a read dated "now" (no as-of time on a store
without a front line).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from cimic_geo.analytics.situation import LayerReader, Situation, load_situation

#: A store file changed less than this many seconds ago is not kept under its stamp.
SETTLE_S = 2.0
#: The layers coverage reads.
LAYERS = ("settlements", "shelters")


@dataclass(frozen=True)
class CoverageSituation:
    """The situation for coverage: ``settlements`` and ``shelters`` without the excluded ones.

    Shared with the next run asking the same question: read-only for the caller.
    """

    situation: Situation
    settlements: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    excluded: dict[str, int]


_LAST: dict[Hashable, CoverageSituation] = {}
_LOCK = threading.Lock()


def content_key(store: Any) -> tuple[str, str] | None:
    """``(store path, content stamp)`` to keep something read from ``store`` under, or None when it must
    not be kept: no file, or a stamp younger than :data:`SETTLE_S`."""
    import json

    from cimic_geo.store.content_stamp import content_stamp

    path = getattr(store, "path", None)
    if path is None:
        return None
    try:
        stamp = content_stamp(path)
    except (OSError, TypeError, ValueError):
        return None
    times = json.loads(stamp)
    if times is None or time.time_ns() - max(s[2] for s in times if len(s) > 1) <= SETTLE_S * 1e9:
        return None
    return str(path), stamp


def _key(store: LayerReader, as_of: Any, exclude_occupied: bool) -> Hashable | None:
    """The kept read's key, or None when this read must not be kept."""
    content = content_key(store)
    if content is None:
        return None
    when = None if as_of is None or (isinstance(as_of, str) and not as_of.strip()) else pd.Timestamp(as_of)
    return (*content, None if when is None else when.isoformat(), bool(exclude_occupied))


def coverage_situation(store: LayerReader, *, as_of: Any = None, exclude_occupied: bool = True) -> CoverageSituation:
    """:func:`~cimic_geo.analytics.situation.load_situation` of settlements and shelters at ``as_of``,
    with those on the occupied side taken out when ``exclude_occupied``; the last read is kept.

    Raises
    ------
    AnalysisError
        As :func:`~cimic_geo.analytics.situation.load_situation`.
    """
    key = _key(store, as_of, exclude_occupied)
    if key is not None:
        with _LOCK:
            kept = _LAST.get(key)
        if kept is not None:
            return kept
    out = _read(store, as_of=as_of, exclude_occupied=exclude_occupied)
    # kept unless dated now, or written to while it was read
    if key is not None and (out.situation.has_front or key[2] is not None) and _key(store, as_of,
                                                                                  exclude_occupied) == key:
        with _LOCK:
            _LAST.clear()  # one read kept: memory stays flat
            _LAST[key] = out
    return out


def _read(store: LayerReader, *, as_of: Any, exclude_occupied: bool) -> CoverageSituation:
    from cimic_geo.analytics.bands import prepare_front

    sit = load_situation(store, as_of=as_of, layers=LAYERS)
    sets, shel = sit["settlements"], sit["shelters"]
    excluded = {"settlements": 0, "population": 0, "shelters": 0}
    if exclude_occupied and (len(sit.occupied_area) or len(sit.front_line)):
        front = prepare_front(sit.front_line, sit.occupied_area)
        occ_s = front.occupied(sets.geometry)
        occ_h = front.occupied(shel.geometry)
        excluded = {"settlements": int(occ_s.sum()),
                    "population": int(pd.to_numeric(sets.loc[occ_s, "population"], errors="coerce").fillna(0).sum()),
                    "shelters": int(occ_h.sum())}
        sets, shel = sets[~occ_s], shel[~occ_h]
    return CoverageSituation(situation=sit, settlements=sets, shelters=shel, excluded=excluded)


def forget() -> None:
    """Drop the kept read (tests; memory)."""
    with _LOCK:
        _LAST.clear()
