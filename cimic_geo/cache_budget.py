"""Results kept in memory within one budget of bytes, least recently used first out.

The server keeps large results between runs: analyses (an exposure result holds the three point layers
with their distances, tens of MB at national scale), whole layers read once and shared, the COP's
encoded view parts. Bounding each cache by its number of entries alone lets memory grow with every new
setting a user tries (a result at a shifted front, a layer at a past time): each cache fills up to its
own count, whatever its entries weigh. :class:`BudgetCache` keeps all of them under one budget of
bytes: a new entry that would pass it pushes out the entries used longest ago, whichever cache they
belong to, so the server's memory stays flat while settings change. An entry pushed out is computed
again when it is asked for again.

:func:`nbytes` estimates what an entry holds from its buffers (numpy arrays, pandas/geopandas frames,
shapely geometries, strings) without walking every Python object; :func:`cache_budget_mb` is the
budget (``CIMIC_CACHE_MB`` or ``cache_mb`` in the secrets, default :data:`DEFAULT_CACHE_MB`).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from cimic_geo.config import positive_setting

#: The default budget (MB) of the results kept between runs (:func:`cache_budget_mb`).
#: At national scale the Exposure page's first visit keeps about this much (its exposure result 64 MB,
#: both coverages 35 MB each, the three point layers 61 MB), so its usual toggles find their results;
#: new settings (a what-if shift, a past time) push out the oldest results instead of adding to them.
DEFAULT_CACHE_MB = 200.0
#: Bytes of one shapely geometry besides its coordinates (Python object, GEOS object, array slot),
#: and of each coordinate (x, y and GEOS's bookkeeping), measured from the process's resident memory
#: for points, polygons and lines (about 220 B a point, 760 B a 17-vertex polygon).
GEOMETRY_BYTES = 180
COORDINATE_BYTES = 32
#: Object columns (text) are sized from a sample of this many values.
_SAMPLE = 1000


def cache_budget_mb(value: float | str | None = None) -> float:
    """The budget (MB) of the results kept between runs: ``value``, else ``CIMIC_CACHE_MB``, else
    ``cache_mb`` in the secrets, else :data:`DEFAULT_CACHE_MB`.

    Raises
    ------
    ConfigError
        If the value is not a positive number.
    """
    return positive_setting(value, name="cache_mb", env="CIMIC_CACHE_MB", default=DEFAULT_CACHE_MB,
                            what="the cache budget", unit=" of MB")


def _geometry_bytes(values: Any) -> int:
    import shapely

    geoms = np.asarray(values, dtype=object)
    if not len(geoms):
        return 0
    coords = int(shapely.get_num_coordinates(geoms).sum())
    present = int((~shapely.is_missing(geoms)).sum())
    return 8 * len(geoms) + GEOMETRY_BYTES * present + COORDINATE_BYTES * coords


def _object_bytes(values: np.ndarray) -> int:
    """Pointer slots plus the objects, sized from a sample (text columns)."""
    n = len(values)
    if not n:
        return 0
    step = max(1, n // _SAMPLE)
    sample = values[::step]
    return 8 * n + int(sum(sys.getsizeof(v) for v in sample) * (n / len(sample)))


def _series_bytes(series: pd.Series) -> int:
    from geopandas.array import GeometryDtype

    if isinstance(series.dtype, GeometryDtype):
        return _geometry_bytes(series.array)
    if series.dtype == object:
        return _object_bytes(series.to_numpy())
    return int(series.memory_usage(index=False, deep=False))


def nbytes(obj: Any) -> int:
    """Estimated bytes held by ``obj``: numpy buffers, pandas/geopandas columns (geometries by count and
    coordinates, text from a sample), strings, and the containers and dataclasses holding them. Each
    object is counted once, however often it is referenced within ``obj``."""
    seen: set[int] = set()

    def walk(o: Any) -> int:
        if o is None or isinstance(o, (bool, int, float)) or id(o) in seen:
            return 0
        seen.add(id(o))
        if isinstance(o, (str, bytes)):
            return sys.getsizeof(o)
        if isinstance(o, np.ndarray):
            return _object_bytes(o.ravel()) if o.dtype == object else int(o.nbytes)
        if isinstance(o, pd.DataFrame):
            return sum(_series_bytes(o.iloc[:, i]) for i in range(o.shape[1])) + int(o.index.memory_usage())
        if isinstance(o, pd.Series):
            return _series_bytes(o) + int(o.index.memory_usage())
        if isinstance(o, pd.Index):
            return int(o.memory_usage())
        if type(o).__module__.startswith("geopandas") and hasattr(o, "to_numpy"):
            return _geometry_bytes(o.to_numpy())  # a GeometryArray
        if type(o).__module__.startswith("shapely"):
            return _geometry_bytes([o])
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return 64 + sum(walk(getattr(o, f.name)) for f in dataclasses.fields(o))
        if isinstance(o, dict):
            return sys.getsizeof(o) + sum(walk(k) + walk(v) for k, v in o.items())
        if isinstance(o, (list, tuple, set, frozenset)):
            return sys.getsizeof(o) + sum(walk(v) for v in o)
        if hasattr(o, "__dict__"):
            return sys.getsizeof(o) + walk(vars(o))
        return sys.getsizeof(o)

    return walk(obj)


@dataclasses.dataclass
class _Entry:
    value: Any
    size: int
    group: str


class BudgetCache:
    """A thread-safe least-recently-used cache bounded by the bytes its entries hold (:func:`nbytes`)
    and, per group of entries (one cached function), by a number of entries.

    A new entry that would pass the budget pushes out the entries used longest ago (of any group) until
    it fits; the newest entry is always kept, even alone over the budget (the run that computed it uses
    it). Two callers asking for the same key at once compute it once.

    Parameters
    ----------
    budget_bytes : the most bytes kept
    sizer : estimates an entry's bytes (:func:`nbytes`)
    """

    def __init__(self, budget_bytes: int, *, sizer: Callable[[Any], int] = nbytes) -> None:
        self.budget_bytes = int(budget_bytes)
        self._sizer = sizer
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.evictions = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any], *, group: str,
                       max_entries: int | None = None) -> Any:
        """The value kept under ``key`` (now the most recently used), else ``compute()`` kept under it."""
        with self._lock:
            found = self._hit(key)
            if found is not None:
                return found.value
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:  # one computation per key; the others wait for it and find its result
            with self._lock:
                found = self._hit(key)
                if found is not None:
                    return found.value
            try:
                value = compute()
                size = self._sizer(value)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            self.put(key, value, size=size, group=group, max_entries=max_entries)
            return value

    def _hit(self, key: Hashable) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, value: Any, *, size: int, group: str, max_entries: int | None = None) -> None:
        """Keep ``value`` under ``key`` as the most recently used entry, then push out the oldest entries
        (of its group past ``max_entries``, of any group past the budget)."""
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = _Entry(value, int(size), group)
            if max_entries is not None:
                mine = [k for k, e in self._entries.items() if e.group == group]
                for old in mine[:max(0, len(mine) - max_entries)]:
                    self._evict(old)
            total = sum(e.size for e in self._entries.values())
            for old in list(self._entries):
                if total <= self.budget_bytes or old == key:
                    break
                total -= self._entries[old].size
                self._evict(old)

    def _evict(self, key: Hashable) -> None:
        del self._entries[key]
        self.evictions += 1

    def clear(self, group: str | None = None) -> None:
        """Forget every entry (of ``group`` only when given)."""
        with self._lock:
            for key in [k for k, e in self._entries.items() if group is None or e.group == group]:
                del self._entries[key]

    def usage(self) -> dict[str, int]:
        """Bytes kept per group (and ``"total"``)."""
        with self._lock:
            out: dict[str, int] = {}
            for e in self._entries.values():
                out[e.group] = out.get(e.group, 0) + e.size
            out["total"] = sum(out.values())
            return out

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries
