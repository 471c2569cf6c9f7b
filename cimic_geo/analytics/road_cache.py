"""The built road graph kept between runs: a folder of ``.npy`` arrays beside the store.

Building the graph of a national roads layer (noding a million segments, distances to the front
line) takes seconds; every CLI process and every server start would pay it again. The arrays of a
built :class:`~cimic_geo.analytics.roadgraph.RoadGraph` are saved uncompressed, one ``.npy`` file
each, in ``<store>.roadgraph/`` with a ``meta.json`` holding the key: the data fingerprint (roads,
bridges, front line and occupied area: see :func:`cimic_geo.store.access_version.access_data_version`),
the as-of time, the threat bands and the file format version. A fresh process maps the arrays
into memory (copy on write), so it reads only the pages a query touches. A folder with another
key, or one that cannot be read (truncated, missing array, older format), is ignored and rebuilt;
folders are written under a temporary name and renamed into place, so a reader never sees half a
graph. Writing is best effort: a read-only folder just means no graph is kept.

That folder holds the graph at the current time (the latest front-line snapshot) only: a one-off CLI
route reads it. Graphs for other as-of times (the planner's time slider) are kept apart, in
``<store>.roadgraph.past/<short hash of the key>/`` (:func:`past_folder`), written the same way; at
most :data:`PAST_KEEP` of them are kept, the least recently used (folder modification time, set on
every use by :func:`mark_used`) removed first. So moving between the current time and a past one
builds each graph once, and building a past one never replaces the current graph.

Within a process one graph per folder and key is read (:func:`shared_graph`): the planner and
coverage by road time get the same object, with its indexes and weighted graphs, not two copies.
A built graph's road rows (their attributes, :data:`ROADS_FILE`) are saved with it, so reading it back
maps them from the folder as the arrays are mapped: no query of the store's roads (at a past time a
scan of the roads' history) and no copy of a million rows' text in memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimic_geo.analytics.road_policy import Connectivity, RoutingPolicy, default_policy

if TYPE_CHECKING:  # a one-off CLI route reads the folder without pandas (cimic_geo.analytics.route_fast)
    import geopandas as gpd
    import pandas as pd

    from cimic_geo.analytics.road_weights import WeightedGraph
    from cimic_geo.analytics.roadgraph import RoadGraph

#: Bump when the saved arrays change meaning (3: the connected components and the default policy's
#: weighted graph are saved too; 4: a folder of ``.npy`` files mapped into memory; 5: with what a
#: one-off CLI route reads instead of the store, :mod:`cimic_geo.analytics.route_fast_data`).
FORMAT = 5
_ARRAYS = ("node_lonlat", "node_xy", "edge_u", "edge_v", "edge_seg", "edge_length_km", "edge_minutes",
           "edge_front_km", "edge_occupied", "edge_oneway", "edge_c0", "edge_c1", "coords", "seg_v0", "seg_v1",
           "seg_length_km", "seg_speed")
#: Index arrays are saved as int32 (half the bytes to read; a national graph has ~2M vertices).
_INDEX = ("edge_u", "edge_v", "edge_seg", "edge_c0", "edge_c1", "seg_v0", "seg_v1")
#: A read graph keeps its int32 index arrays as they are mapped from their files (no int64 copy in
#: memory: each index only indexes, and the sum of two node ids still fits) while it has fewer vertices
#: than this; a larger one is widened.
NARROW_BELOW = 2**30


#: The road rows' attributes (``id``, class, status, name; Arrow IPC file) saved in a graph's folder.
ROADS_FILE = "roads.arrow"


def graph_file(db_path: str | os.PathLike) -> Path:
    """The folder where the graph of the store at ``db_path`` is kept."""
    p = Path(db_path)
    return p.with_name(p.name + ".roadgraph")


#: How many graphs for past as-of times are kept beside the store (each is a national graph: ~250 MB).
PAST_KEEP = 2


def past_root(db_path: str | os.PathLike) -> Path:
    """The folder holding the graphs of past as-of times of the store at ``db_path``."""
    p = Path(db_path)
    return p.with_name(p.name + ".roadgraph.past")


def past_folder(db_path: str | os.PathLike, key: str) -> Path:
    """Where the graph with ``key`` (a past as-of time) of the store at ``db_path`` is kept."""
    return past_root(db_path) / hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _past_graphs(root: Path) -> list[tuple[int, Path]]:
    """(modification time, folder) of the kept past graphs (not the temporary or old folders)."""
    out = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if len(entry.name) == 16 and "." not in entry.name:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        out.append((entry.stat(follow_symlinks=False).st_mtime_ns, Path(entry.path)))
    return out


def mark_used(folder: str | os.PathLike, *, keep: int = PAST_KEEP) -> None:
    """Mark the past graph at ``folder`` as just used and remove the least recently used beyond ``keep``.

    Best effort: a folder that cannot be touched or removed is left as it is.
    """
    folder = Path(folder)
    others = [(t, f) for t, f in _past_graphs(folder.parent) if f != folder]
    now = max([time.time_ns(), *(t + 1 for t, _f in others)])  # strictly newest, even within a clock tick
    with contextlib.suppress(OSError):
        os.utime(folder, ns=(now, now))
    for _t, old in sorted(others, key=lambda x: x[0], reverse=True)[max(keep - 1, 0):]:
        shutil.rmtree(old, ignore_errors=True)  # a reader's mapped arrays stay valid until it closes them


def graph_key(data_version: str, *, as_of: Any, bands_km: tuple[float, ...]) -> str:
    """The key a saved graph must carry to be reused."""
    import pandas as pd

    return key_text(data_version, None if as_of is None else pd.Timestamp(as_of).isoformat(), bands_km)


def key_text(data_version: str, as_of_iso: str | None, bands_km: Sequence[float]) -> str:
    """:func:`graph_key` with the as-of time given as its ISO text (``None``: no time)."""
    return f"format={FORMAT}|asof={as_of_iso}|bands={','.join(f'{b:g}' for b in bands_km)}|data={data_version}"


def save_graph(path: str | os.PathLike, graph: RoadGraph, key: str,
               policies: Sequence[RoutingPolicy] | None = None,
               extra: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None) -> bool:
    """Write ``graph`` to ``path`` atomically; False when the folder is not writable.

    ``extra`` (arrays, metadata) is saved with it for a one-off CLI route
    (:func:`cimic_geo.analytics.route_fast_data.fast_arrays`; listed under ``fast_arrays`` and
    ``fast`` in the metadata, not read by :func:`load_graph`).

    The weighted graphs of ``policies`` (default: the route's default policy,
    :func:`~cimic_geo.analytics.road_policy.default_policy`) are saved with it, so a fresh process
    routing with them builds nothing.
    """
    p = Path(path)
    arrays = {name: getattr(graph, name) for name in _ARRAYS}
    policies = [default_policy(graph.bands_km)] if policies is None else list(policies)
    for i, policy in enumerate(policies):
        for name, a in graph.weighted(policy).arrays().items():
            small = a.dtype == np.int64 and (not len(a) or (a.min() >= -(2**31) and a.max() < 2**31))
            arrays[f"w{i}_{name}"] = a.astype(np.int32) if small else a
    if len(graph.coords) < 2**31 - 1:
        arrays.update({name: arrays[name].astype(np.int32) for name in _INDEX})
    import pandas as pd  # the graph was built or read with it

    # the sorted labels and each row's code, as np.unique of the text gives them (without a text copy of every row)
    codes, labels = pd.factorize(np.asarray(graph.seg_status, dtype=object), sort=True)
    labels = np.asarray(labels, dtype=str)
    arrays["seg_status_labels"], arrays["seg_status_codes"] = labels, codes.astype(np.int8 if len(labels) < 128 else np.int32)
    conn = graph.connectivity()  # saved, so a fresh process does not label the components again
    arrays["seg_bounds"] = np.asarray(graph.row_bounds(), dtype=float)  # the rows' boxes: no scan of the vertices
    arrays["conn_edge_component"] = conn.edge_component.astype(np.int32)
    meta = {"key": key, "front_cap_km": float(graph.front_cap_km), "removed_impassable": int(graph.removed_impassable),
            "removed_bridges": int(graph.removed_bridges), "components": int(conn.components),
            "largest_share": float(conn.largest_share), "policies": [dataclasses.asdict(x) for x in policies],
            "arrays": sorted(arrays),
            "bounds": [float(v) for v in (*graph.coords.min(axis=0), *graph.coords.max(axis=0))]
            if len(graph.coords) else None}
    if extra is not None:
        meta["fast_arrays"], meta["fast"] = sorted(extra[0]), extra[1]
        arrays.update(extra[0])
    roads = _roads_table(graph)
    if roads is not None:
        meta["roads"] = ROADS_FILE
    try:
        p.parent.mkdir(exist_ok=True)  # the folder of past graphs is made on first use
        tmp = Path(tempfile.mkdtemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent))
    except OSError:
        return False
    try:
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
        if roads is not None:
            _write_roads(tmp / ROADS_FILE, roads)
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        old = None
        if p.is_dir():  # move the old folder aside first: a folder cannot be replaced in one rename
            old = Path(tempfile.mkdtemp(prefix=p.name + ".", suffix=".old", dir=p.parent))
            os.replace(p, old / "g")
        elif p.exists():
            p.unlink()
        os.replace(tmp, p)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    if old is not None:  # mapped arrays of a reader stay valid: the files go when it closes them
        shutil.rmtree(old, ignore_errors=True)
    with contextlib.suppress(OSError):  # the single-file graph of formats 1-3, never read again
        p.with_name(p.name + ".npz").unlink(missing_ok=True)
    return True


def _roads_table(graph: RoadGraph) -> Any:
    """The road rows' attributes of ``graph`` as an Arrow table with large strings (as
    :func:`cimic_geo.store.access_version.road_attributes` gives them); None when its table lacks one."""
    from cimic_geo.store.access_version import ROAD_ATTRIBUTES

    table = graph.road_table
    if any(c not in table.columns for c in ROAD_ATTRIBUTES):
        return None
    import pandas as pd
    import pyarrow as pa

    t = pa.Table.from_pandas(pd.DataFrame(table[list(ROAD_ATTRIBUTES)]), preserve_index=False)
    return t.cast(pa.schema([(f.name, pa.large_string() if pa.types.is_string(f.type) else f.type)
                             for f in t.schema])).replace_schema_metadata(None)


def _write_roads(path: Path, table: Any) -> None:
    import pyarrow as pa

    try:
        with pa.OSFile(str(path), "wb") as fh, pa.ipc.new_file(fh, table.schema) as writer:
            writer.write_table(table)
    except pa.ArrowException as exc:
        raise OSError(str(exc)) from exc


def kept_roads(path: str | os.PathLike, key: str) -> pd.DataFrame | None:
    """The road rows' attributes saved with the graph at ``path`` under ``key``, mapped from their file
    (None: none kept, another key, or unreadable; the caller reads them from the store)."""
    p = Path(path)
    meta = _meta(p)
    if meta is None or meta.get("key") != key or meta.get("roads") != ROADS_FILE:
        return None
    import pyarrow as pa

    try:
        with pa.memory_map(str(p / ROADS_FILE)) as src:
            table = pa.ipc.open_file(src).read_all()
    except (OSError, pa.ArrowException):
        return None
    return table.to_pandas()


def kept_vertices(path: str | os.PathLike, *, data_version: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The road rows' lines (lon/lat vertices, each row's first and last vertex) of the graph saved at
    ``path``, mapped from its files, when that graph was built from the data of ``data_version``
    (None otherwise): every row's own vertices in store order, less a vertex repeating the one before
    (:func:`~cimic_geo.analytics.road_noding.node_lines` drops those too), so a graph built from them
    (``build_road_graph(..., vertices=...)``) is the graph built from the store's lines.
    """
    p = Path(path)
    meta = _meta(p)
    key = None if meta is None else meta.get("key")
    if not isinstance(key, str) or not key.startswith(f"format={FORMAT}|") or not key.endswith(f"|data={data_version}"):
        return None
    try:
        coords, v0, v1 = (np.load(p / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                          for name in ("coords", "seg_v0", "seg_v1"))
    except (OSError, ValueError, EOFError):
        return None
    if coords.ndim != 2 or not len(v0) or len(v0) != len(v1) or v0[0] != 0 or v1[-1] != len(coords) - 1 or \
            (v1[:-1] + 1 != v0[1:]).any() or (v1 < v0).any():
        return None  # each row's vertices right after the previous row's
    return coords, v0, v1


def folder_inode(path: Path) -> int | None:
    """The folder's inode (None: not a folder); a folder renamed into place gets another one."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino if os.path.isdir(path) else None


def _meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def saved_key(path: str | os.PathLike) -> str | None:
    """The key of the graph saved at ``path`` (None: no readable graph)."""
    meta = _meta(Path(path))
    return None if meta is None else str(meta.get("key"))


def load_graph(path: str | os.PathLike, key: str, *, roads: pd.DataFrame, front_line: Any = None,
               occupied: Any = None, infrastructure: gpd.GeoDataFrame | None = None,
               bands_km: tuple[float, ...], as_of: Any = None) -> RoadGraph | None:
    """The saved graph when its key matches and it is whole; None otherwise (rebuild it).

    ``roads`` are the road rows' attributes in store order (``id`` first; geometry not needed: the
    graph rebuilds it from its vertices when asked, :attr:`RoadGraph.roads`).
    """
    p = Path(path)
    folder = folder_inode(p)
    meta = _meta(p) if folder is not None else None
    if meta is None or meta.get("key") != key:
        return None
    try:
        z = {name: np.asarray(np.load(p / f"{name}.npy", mmap_mode="c", allow_pickle=False)) for name in meta["arrays"]}
        arrays = {name: z[name] for name in _ARRAYS}
        status = z["seg_status_labels"].astype(object)[z["seg_status_codes"]]
        edge_component = z["conn_edge_component"]  # int32, as mapped
        policies = [RoutingPolicy(**{**d, "penalties": None if d["penalties"] is None else tuple(d["penalties"])})
                    for d in meta["policies"]]
        weighted = []  # the mapped arrays; widened to int64 when the policy is first asked (RoadGraph.weighted)
        for i in range(len(policies)):
            pre = f"w{i}_"
            weighted.append({k[len(pre):]: z[k] for k in z if k.startswith(pre)})
    except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError):
        return None
    if folder_inode(p) != folder:  # replaced by a writer while reading: the arrays may be from two graphs
        return None
    import pandas as pd

    from cimic_geo.analytics.road_build import destroyed_bridge_rows
    from cimic_geo.analytics.road_threat import ThreatGeometry, union_geometry
    from cimic_geo.analytics.roadgraph import RoadGraph

    roads = roads.reset_index(drop=True)
    if len(arrays["seg_speed"]) != len(roads) or not len(arrays["edge_u"]) == len(arrays["edge_v"]) == len(
            edge_component):
        return None
    if len(arrays["coords"]) >= NARROW_BELOW:
        arrays.update({name: arrays[name].astype(np.int64) for name in _INDEX})
    coords = arrays["coords"]
    v0, v1 = arrays["seg_v0"], arrays["seg_v1"]
    if not len(v0) or v1[-1] != len(coords) - 1 or (np.diff(v0) <= 0).any():
        return None  # row vertex ranges must cover the vertices in order
    threat = ThreatGeometry(union_geometry(front_line), union_geometry(occupied),
                            crs=vertices_crs(coords, meta.get("bounds")), bands_km=bands_km)
    bounds = z.get("seg_bounds")
    bounds = bounds if bounds is not None and bounds.shape == (len(v0), 4) else None  # None: from the vertices
    graph = RoadGraph(**arrays, seg_status=status, seg_bounds=bounds, road_table=roads,
                      destroyed_bridges=destroyed_bridge_rows(infrastructure),
                      threat=threat, as_of=None if as_of is None else pd.Timestamp(as_of),
                      removed_impassable=int(meta["removed_impassable"]), removed_bridges=int(meta["removed_bridges"]),
                      front_cap_km=float(meta["front_cap_km"]))
    graph._connectivity = Connectivity(int(meta["components"]), float(meta["largest_share"]), edge_component,
                                       np.flatnonzero(edge_component > 0))
    for policy, parts in zip(policies, weighted, strict=True):
        graph._saved_weighted[policy] = functools.partial(_saved_weights, parts, graph.n_nodes, graph.n_edges)
    return graph


def _saved_weights(parts: dict[str, np.ndarray], n_nodes: int, n_edges: int) -> WeightedGraph | None:
    """The weighted graph saved as ``parts`` (int32 arrays widened); None when it does not fit the graph."""
    from cimic_geo.analytics.road_weights import WeightedGraph

    try:
        w = WeightedGraph.from_arrays({k: v.astype(np.int64) if v.dtype == np.int32 else v for k, v in parts.items()})
    except (KeyError, ValueError, IndexError):
        return None  # rebuilt
    return w if len(w.cost) == n_edges and w.n_nodes == n_nodes else None


_LIVE: weakref.WeakValueDictionary[tuple[str, str, int], RoadGraph] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()


def shared_graph(path: str | os.PathLike, key: str, *, roads: Callable[[], pd.DataFrame], **load_args: Any
                 ) -> RoadGraph | None:
    """:func:`load_graph`, or the graph already read from the same folder under ``key`` while someone
    still holds it (the folder's inode checked: a folder renamed into place is read again).
    ``roads`` gives the road attributes (called only when the folder is read and has none kept,
    :func:`kept_roads`).

    The key names the data the graph is made of, so the same key gives the same graph whatever the
    caller; the planner and coverage by road time share one object (and its indexes and weighted
    graphs, built once) instead of each keeping a copy.
    """
    p = Path(path)
    inode = folder_inode(p)
    if inode is None:
        return None
    ident = (os.path.abspath(p), key, inode)
    with _LIVE_LOCK:
        graph = _LIVE.get(ident)
    if graph is not None:
        return graph
    rows = kept_roads(p, key)
    graph = load_graph(p, key, roads=roads() if rows is None else rows, **load_args)
    if graph is not None:
        with _LIVE_LOCK:
            graph = _LIVE.setdefault(ident, graph)  # a graph read meanwhile by another thread wins
    return graph


def vertices_crs(coords: np.ndarray, bounds: Sequence[float] | None = None) -> Any:
    """The graph's metric CRS: from the vertices' bounds kept in the metadata, else from the vertices."""
    from cimic_geo.geo import metric_crs

    if bounds is not None and len(bounds) == 4:
        return metric_crs(tuple(float(b) for b in bounds))
    if not len(coords):
        return metric_crs((0.0, 0.0, 0.0, 0.0))
    return metric_crs((*coords.min(axis=0), *coords.max(axis=0)))
