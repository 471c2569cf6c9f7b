"""The roads a road graph of a past time is built from: the store's rows in force then, or the lines
the current graph already has.

A road graph for another as-of time (the planner's time slider, coverage by road time at a past time)
is built from the roads in force then. Reading them from the store's history decodes a million lines
nationally (about 1.1 s), a million shapely lines the build only takes the vertices of, and leaves the
history table's geometry in DuckDB's block cache (about 70 MB the app's server keeps). Roads change far
less often than the front line, and mostly by roads being reported: when every road in force then is
still as it was, the roads then are the roads now less those reported since, and the current graph kept
beside the store holds their lines as its vertices (:func:`~cimic_geo.analytics.road_cache.kept_vertices`).
Then only the attributes are read from the store (0.25 s) and the graph is built from the mapped
vertices of the rows in force then; it is the graph built from the store's lines, array for array.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RoadRows", "roads_in_force"]


@dataclass(frozen=True)
class RoadRows:
    """Road rows to build a graph from: ``rows`` with their geometry, or without it and their lines'
    ``vertices`` (lon/lat vertices, each row's first and last vertex) beside them."""

    rows: pd.DataFrame
    vertices: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def roads_in_force(store: Any, *, as_of: Any, columns: Sequence[str], data_version: str | None) -> RoadRows:
    """``store.read("roads", columns=columns, as_of=as_of)``; without the geometry and with the current
    road graph's vertices when every road in force at ``as_of`` still is as it was and the graph kept
    beside the store is of ``data_version`` (:func:`~cimic_geo.store.access_version.access_data_version`)."""
    path = getattr(store, "path", None)
    if as_of is not None and path is not None and data_version:
        from cimic_geo.analytics.road_cache import graph_file, kept_vertices
        from cimic_geo.store.access_version import road_columns_then

        vertices = kept_vertices(graph_file(path), data_version=data_version)
        now = None if vertices is None else road_columns_then(store, columns, as_of=as_of)
        if now is not None and len(now[0]) == len(vertices[1]):
            rows, then = now
            return RoadRows(rows, vertices) if then.all() else _subset(rows, vertices, then)
    return RoadRows(store.read("roads", columns=columns, as_of=as_of))


def _subset(rows: pd.DataFrame, vertices: tuple[np.ndarray, np.ndarray, np.ndarray], keep: np.ndarray) -> RoadRows:
    """The rows ``keep`` marks, with their vertices only (each row's vertices still after the previous row's)."""
    coords, v0, v1 = vertices
    n = np.asarray(v1, dtype=np.int64) - np.asarray(v0, dtype=np.int64) + 1
    on_kept = np.repeat(keep, n)
    last = np.cumsum(n[keep]) - 1
    return RoadRows(rows[keep].reset_index(drop=True), (np.asarray(coords)[on_kept], last - n[keep] + 1, last))
