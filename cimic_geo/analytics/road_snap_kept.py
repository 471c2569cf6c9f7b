"""Places snapped to a kept road graph, kept beside it: a new process looks them up instead of snapping.

Snapping a national store's settlements and shelters to the road graph (:mod:`cimic_geo.analytics.road_snap`)
builds an index of a million edges and queries it: about two seconds, the largest part of the first
coverage by road time in a new process. Where a place snaps depends only on its exact lon/lat and on
the graph, so the answers are kept in the graph's folder (:mod:`cimic_geo.analytics.road_cache`), one
row per distinct point: lon, lat, edge, fraction along the edge and distance (``cov_snaps.npz``, with
the folder's key; written under a temporary name and renamed into place). A folder holds one graph and
is replaced whole when the graph is built again, and the key is checked too, so an answer is never read
for another graph. Points not kept are snapped as before (the index built then) and added; the file is
bounded (:data:`MAX_ROWS`, or a few times the points asked).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cimic_geo.data_stamp import write_kept_file

if TYPE_CHECKING:
    from cimic_geo.analytics.roadgraph import RoadGraph

#: The file of kept snaps in a graph's folder.
FILE = "cov_snaps.npz"
#: At most this many points are kept (or four times the points of the last call that added some).
MAX_ROWS = 250_000


def _complex(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Each point as one complex number (lon + i·lat, the bits kept): sorted and searched lon first."""
    z = np.empty(len(lon), dtype=np.complex128)
    z.real, z.imag = lon, lat
    return z


@dataclass
class KeptSnaps:
    """The snaps kept in ``folder`` for the graph saved there under ``key`` (read on first use)."""

    folder: Path
    key: str
    _table: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _read: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(points as complex, sorted; edge; fraction; distance km) from the file, or None."""
        if self._read:
            return self._table
        self._read = True
        try:
            with np.load(self.folder / FILE, allow_pickle=False) as z:
                if bytes(z["key"]).decode("utf-8") != self.key:
                    return None
                pts, edge, frac, dist = z["point"], z["edge"], z["frac"], z["dist"]
        except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError):
            return None
        if not (pts.ndim == edge.ndim == frac.ndim == dist.ndim == 1 and len(pts) == len(edge) == len(frac)
                == len(dist)) or pts.dtype != np.complex128 or (len(pts) > 1 and not (pts[1:] > pts[:-1]).all()):
            return None  # not what this module writes
        self._table = (pts, edge.astype(np.int64), frac.astype(float), dist.astype(float))
        return self._table

    def look_up(self, lon: np.ndarray, lat: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(edge, fraction, distance km, found)`` of each point; rows not ``found`` hold 0 and NaN."""
        n = len(lon)
        edge, frac, dist = np.zeros(n, dtype=np.int64), np.full(n, np.nan), np.full(n, np.nan)
        with self._lock:
            table = self._load()
        if table is None or not len(table[0]) or not n:
            return edge, frac, dist, np.zeros(n, dtype=bool)
        pts = table[0]
        z = _complex(lon, lat)
        at = np.minimum(np.searchsorted(pts, z), len(pts) - 1)
        found = pts[at] == z
        hit = at[found]
        edge[found], frac[found], dist[found] = table[1][hit], table[2][hit], table[3][hit]
        return edge, frac, dist, found

    def add(self, lon: np.ndarray, lat: np.ndarray, edge: np.ndarray, frac: np.ndarray, dist: np.ndarray, *,
            asked: int) -> None:
        """Keep these snaps with those kept (best effort: nothing is kept when the folder is not writable or
        holds another graph now). ``asked``: how many points the call that snapped them asked for."""
        from cimic_geo.analytics.road_cache import saved_key

        z = _complex(np.asarray(lon, float), np.asarray(lat, float))
        new = (z, np.asarray(edge, np.int64), np.asarray(frac, float), np.asarray(dist, float))
        with self._lock:
            old = self._load()
            if old is not None and len(old[0]) + len(z) <= max(MAX_ROWS, 4 * asked):
                new = tuple(np.concatenate([a, b]) for a, b in zip(old, new, strict=True))  # type: ignore[assignment]
            pts, first = np.unique(new[0], return_index=True)
            table = (pts, *(a[first] for a in new[1:]))
            with contextlib.suppress(OSError):
                if saved_key(self.folder) != self.key:
                    return
                arrays = {"key": np.frombuffer(self.key.encode("utf-8"), dtype=np.uint8), "point": table[0],
                          "edge": table[1], "frac": table[2], "dist": table[3]}
                if write_kept_file(self.folder / FILE, lambda f: np.savez(f, **arrays)):
                    self._table, self._read = table, True  # type: ignore[assignment]


def snap_kept(graph: RoadGraph, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``graph.snap_edges`` of ``xy``; on a graph read from its kept folder, the points snapped before
    (by any process) are looked up there and only the others snapped, then kept there too
    (:class:`KeptSnaps`: where a point snaps depends on the point and the graph only)."""
    from cimic_geo.analytics.road_snap import FEW_POINTS, snap_edges

    kept = graph.__dict__.get("_kept_snaps")
    if kept is None:
        return graph.snap_edges(xy[:, 0], xy[:, 1])
    edge, frac, dist, found = kept.look_up(xy[:, 0], xy[:, 1])
    miss = np.flatnonzero(~found)
    if len(miss):  # the points left snapped the way the whole set would be (through the index unless few)
        e, f, d = snap_edges(graph, xy[miss, 0], xy[miss, 1], indexed=len(xy) > FEW_POINTS)
        edge[miss], frac[miss], dist[miss] = e, f, d
        kept.add(xy[miss, 0], xy[miss, 1], e, f, d, asked=len(xy))
    return edge, frac, dist
