"""Whole layers read once per process and shared by the pages' analyses.

The Exposure page runs three analyses (exposure, coverage, restoration) and the planner builds its
access context; each reads the settlements, shelters and infrastructure of the same time again
(a national layer takes most of a second to read and decode, and every read is one more copy in
memory). :class:`SharedReads` stands in for the store in those calls: a read of a whole layer (or
of some of its columns) at a time comes from one frame kept per process and per store content
(:func:`cimic_geo.ui.common.data_token`); any other read (a bounding box, filters, simplified
geometry) goes to the store as before.

Each caller gets its own copy of the kept frame (new column arrays; the geometries themselves are
immutable and shared), so an analysis that adds or changes columns never changes what another one
reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from cimic_geo.store import Store
from cimic_geo.ui.result_cache import budgeted

#: Layers whose whole reads are shared (the large point layers and the situation in force).
SHARED = ("settlements", "shelters", "infrastructure", "front_line", "occupied_area")


@budgeted(max_entries=8)  # five layers at the latest time, a few others; within the shared memory budget
def _layer(_store: Store, token: str, layer: str, as_of: str | None) -> gpd.GeoDataFrame:
    # one object per entry, shared by every session (read-only; callers get copies)
    return _store.read(layer, as_of=None if as_of is None else pd.Timestamp(as_of))


class SharedReads:
    """A store whose whole-layer reads are shared per process (see the module text).

    Parameters
    ----------
    store : the session's store cursor
    token : :func:`cimic_geo.ui.common.data_token` of this rerun (changes after any write)
    """

    def __init__(self, store: Store, token: str) -> None:
        self._store = store
        self._token = token

    def read(self, layer: str, *, as_of: Any = None, bbox: Sequence[float] | None = None,
             columns: Sequence[str] | None = None, **options: Any) -> gpd.GeoDataFrame:
        """:meth:`cimic_geo.store.Store.read`; whole layers (any ``columns``) from the shared copy."""
        if layer not in SHARED or bbox is not None or any(v is not None for v in options.values()):
            return self._store.read(layer, as_of=as_of, bbox=bbox, columns=columns, **options)
        when = None if as_of is None else pd.Timestamp(as_of).isoformat()
        frame = _layer(self._store, self._token, layer, when)
        if columns is not None:
            wanted = ["id", *[c for c in columns if c != "id"]]
            missing = [c for c in wanted if c not in frame.columns]
            if missing:  # let the store name the unknown column
                return self._store.read(layer, as_of=as_of, columns=columns)
            frame = frame[[*wanted, frame.geometry.name]]
        return frame.copy()

    def history_times(self, layer: str = "occupied_area") -> list[pd.Timestamp]:
        return self._store.history_times(layer)

    def __getattr__(self, name: str) -> Any:  # path, read_only, and the store's other reads
        return getattr(self._store, name)
