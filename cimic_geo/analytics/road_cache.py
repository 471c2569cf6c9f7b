"""The built road graph kept between runs: a ``.npz`` file beside the store.

Building the graph of a national roads layer (noding a million segments, distances to the front
line) takes seconds; every CLI process and every server start would pay it again. The arrays of a
built :class:`~cimic_geo.analytics.roadgraph.RoadGraph` are saved to ``<store>.roadgraph.npz``
under a key made of the data fingerprint (roads, bridges, front line and occupied area: see
:func:`cimic_geo.store.access_version.access_data_version`), the as-of time, the threat bands and the
file format version. A file with another key, or one that cannot be read (truncated, corrupt,
older format), is ignored and rebuilt; files are written to a temporary name and renamed, so a
reader never sees half a file. Writing is best effort: a read-only folder just means no file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.analytics.road_threat import ThreatGeometry, union_geometry
from cimic_geo.analytics.roadgraph import RoadGraph, destroyed_bridge_rows

#: Bump when the saved arrays change meaning.
FORMAT = 2
_ARRAYS = ("node_lonlat", "node_xy", "edge_u", "edge_v", "edge_seg", "edge_length_km", "edge_minutes",
           "edge_front_km", "edge_occupied", "edge_oneway", "edge_c0", "edge_c1", "coords", "seg_v0", "seg_v1",
           "seg_length_km", "seg_speed")
#: Index arrays are saved as int32 (half the bytes to read; a national graph has ~2M vertices).
_INDEX = ("edge_u", "edge_v", "edge_seg", "edge_c0", "edge_c1", "seg_v0", "seg_v1")


def graph_file(db_path: str | os.PathLike) -> Path:
    """Where the graph of the store at ``db_path`` is kept."""
    p = Path(db_path)
    return p.with_name(p.name + ".roadgraph.npz")


def graph_key(data_version: str, *, as_of: Any, bands_km: tuple[float, ...]) -> str:
    """The key a saved graph must carry to be reused."""
    t = None if as_of is None else pd.Timestamp(as_of).isoformat()
    return f"format={FORMAT}|asof={t}|bands={','.join(f'{b:g}' for b in bands_km)}|data={data_version}"


def save_graph(path: str | os.PathLike, graph: RoadGraph, key: str) -> bool:
    """Write ``graph`` to ``path`` atomically; False when the folder is not writable."""
    p = Path(path)
    arrays = {name: getattr(graph, name) for name in _ARRAYS}
    if len(graph.coords) < 2**31 - 1:
        arrays.update({name: arrays[name].astype(np.int32) for name in _INDEX})
    labels, codes = np.unique(graph.seg_status.astype(str), return_inverse=True)
    arrays["seg_status_labels"], arrays["seg_status_codes"] = labels, codes.astype(np.int8 if len(labels) < 128 else np.int32)
    meta = np.array([key, repr(graph.front_cap_km), str(graph.removed_impassable), str(graph.removed_bridges)])
    try:
        fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, _meta=meta, **arrays)
        os.replace(tmp, p)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


def saved_key(path: str | os.PathLike) -> str | None:
    """The key of the graph saved at ``path`` (None: no readable file)."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            return str(z["_meta"][0])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def load_graph(path: str | os.PathLike, key: str, *, roads: pd.DataFrame, front_line: Any = None,
               occupied: Any = None, infrastructure: gpd.GeoDataFrame | None = None,
               bands_km: tuple[float, ...], as_of: Any = None) -> RoadGraph | None:
    """The saved graph when its key matches and it is whole; None otherwise (rebuild it).

    ``roads`` are the road rows' attributes in store order (``id`` first; geometry not needed: the
    graph rebuilds it from its vertices when asked, :attr:`RoadGraph.roads`).
    """
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            meta = z["_meta"]
            if str(meta[0]) != key:
                return None
            arrays = {name: z[name] for name in _ARRAYS}
            status = z["seg_status_labels"].astype(object)[z["seg_status_codes"]]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    roads = roads.reset_index(drop=True)
    if len(arrays["seg_speed"]) != len(roads) or len(arrays["edge_u"]) != len(arrays["edge_v"]):
        return None
    arrays.update({name: arrays[name].astype(np.int64) for name in _INDEX})
    coords = arrays["coords"]
    v0, v1 = arrays["seg_v0"], arrays["seg_v1"]
    if not len(v0) or v1[-1] != len(coords) - 1 or (np.diff(v0) <= 0).any():
        return None  # row vertex ranges must cover the vertices in order
    threat = ThreatGeometry(union_geometry(front_line), union_geometry(occupied),
                            crs=_crs_of(coords), bands_km=bands_km)
    return RoadGraph(**arrays, seg_status=status, seg_bounds=None, road_table=roads,
                     destroyed_bridges=destroyed_bridge_rows(infrastructure),
                     threat=threat, as_of=None if as_of is None else pd.Timestamp(as_of),
                     removed_impassable=int(meta[2]), removed_bridges=int(meta[3]), front_cap_km=float(meta[1]))


def _crs_of(coords: np.ndarray) -> Any:
    from cimic_geo.geo import metric_crs

    if not len(coords):
        return metric_crs((0.0, 0.0, 0.0, 0.0))
    return metric_crs((*coords.min(axis=0), *coords.max(axis=0)))
