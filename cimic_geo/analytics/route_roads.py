"""A found route as roads: the road rows and ``roads.id`` it drives, and its line.

Routes (:class:`~cimic_geo.analytics.routing.Route`) are paths of graph edges; these functions turn
them into what a corridor document and the map show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import LineString
from shapely.ops import substring

if TYPE_CHECKING:
    from cimic_geo.analytics.roadgraph import RoadGraph
    from cimic_geo.analytics.routing import Route


def route_rows(graph: RoadGraph, route: Route) -> np.ndarray:
    """The road rows the route drives, in travel order (a row cut into several pieces at junctions
    is listed once per consecutive run)."""
    rows = np.asarray(graph.edge_seg[route.edges], dtype=np.int64)
    if len(rows):
        rows = rows[np.r_[True, rows[1:] != rows[:-1]]]
    return rows


def route_road_ids(graph: RoadGraph, route: Route) -> list[str]:
    """The ``roads.id`` of each road row the route drives (:func:`route_rows`), each row's read
    once (only these rows) and kept on the graph (200,000 at most): alternatives share rows."""
    rows, kept = route_rows(graph, route).tolist(), graph.__dict__.setdefault("_road_ids", {})
    todo = [r for r in dict.fromkeys(rows) if r not in kept]
    if len(kept) + len(todo) > 200_000:
        kept.clear()
        todo = list(dict.fromkeys(rows))
    kept.update(zip(todo, strings_at(graph.road_table["id"], todo), strict=True))
    return [kept[r] for r in rows]


def strings_at(column: Any, rows: list[int]) -> list[str]:
    """``str`` of the values of ``column`` (a pandas Series) at positions ``rows``; an Arrow-backed column
    is taken from chunk by chunk (a take over the whole chunked column joins its chunks first: ~5 ms
    CPU for a million ids, even for no row)."""
    if not rows:
        return []
    to_arrow = getattr(column.array, "__arrow_array__", None)
    data = to_arrow() if to_arrow is not None else None
    if data is None or not hasattr(data, "chunks"):
        return [str(x) for x in column.iloc[rows].tolist()]
    import pyarrow as pa

    pos = np.asarray(rows, dtype=np.int64)
    starts = np.cumsum([0, *(len(c) for c in data.chunks)])
    chunk = np.searchsorted(starts, pos, side="right") - 1
    out = [""] * len(pos)
    for k in np.unique(chunk).tolist():
        at = np.flatnonzero(chunk == k)
        values = data.chunks[k].take(pa.array(pos[at] - starts[k])).to_pylist()
        for j, v in zip(at.tolist(), values, strict=True):
            out[j] = str(v)
    return out


def route_geometry(graph: RoadGraph, nodes: np.ndarray, edges: np.ndarray, *, start_pos: float = 0.0,
                   end_pos: float = 1.0) -> LineString:
    """The route's line (lon/lat), each piece oriented in travel direction; the first piece from
    ``start_pos`` and the last to ``end_pos`` of its length."""
    edges = np.asarray(edges, dtype=np.int64)
    c0, c1 = np.asarray(graph.edge_c0[edges], np.int64), np.asarray(graph.edge_c1[edges], np.int64)
    nodes = np.asarray(nodes, dtype=np.int64)
    last = len(edges) - 1

    def piece(k: int) -> np.ndarray:
        seg = graph.coords[c0[k]:c1[k] + 1]
        if graph.edge_u[edges[k]] != nodes[k]:
            seg = seg[::-1]
        a = start_pos if k == 0 else 0.0
        b = end_pos if k == last else 1.0
        if a > 0.0 or b < 1.0:
            cut = substring(LineString(seg), a, b, normalized=True)
            seg = np.asarray(cut.coords) if cut.geom_type == "LineString" else np.asarray([cut.coords[0]] * 2)
        return seg if k == 0 else seg[1:]

    parts = [piece(0)] if len(edges) else []
    if last > 1:  # the whole edges between the first and the last, at once: each without its first vertex
        m = slice(1, last)
        n = c1[m] - c0[m]
        owner = np.repeat(np.arange(len(n)), n)
        offs = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n) + 1
        fwd = np.asarray(graph.edge_u[edges[m]]) == nodes[m]
        parts.append(graph.coords[np.where(fwd[owner], c0[m][owner] + offs, c1[m][owner] - offs)])
    if last > 0:
        parts.append(piece(last))
    return LineString(np.concatenate(parts))
