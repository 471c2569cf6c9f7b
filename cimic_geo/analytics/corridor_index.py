"""What the corridor evaluation (:mod:`cimic_geo.analytics.corridor_eval`) prepares once per road
graph and layer, so that a route and its alternatives are evaluated in a fraction of the time.

* :class:`PointLayer`: a point layer (shelters, health rows) in the graph's metric CRS, every row
  projected once, with an STRtree of the projected rows and each listed row's record converted
  once. :meth:`PointLayer.within` finds the rows within a distance of a metric line: the rows
  whose boxes meet the boxes of the line's pieces padded by the distance (a superset, from the
  tree), each measured against the pieces near it (a distance to a line is the least over its
  segments: the same number as against the whole line), kept when within it.
* :class:`NotOpenRoads`: the road rows whose status is not ``open`` (the hazards a route can
  meet), projected once, with their ids and names.
* :func:`settlement_finder`: the places of a route looked up by name in a table built once.

Both give exactly what the evaluation computed before, row by row: the same projected
coordinates (the transformation works point by point), the same exact distances to the line,
the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics.corridor_parts import line_chunks
from cimic_geo.analytics.road_noding import project, unique_sorted

if TYPE_CHECKING:
    import geopandas as gpd

    from cimic_geo.analytics.roadgraph import RoadGraph

__all__ = ["NotOpenRoads", "PointLayer", "not_open_roads", "plain_record", "point_layer", "settlement_finder"]

#: How many layers (frames) are kept prepared per graph (the context's shelters and health rows).
KEPT_LAYERS = 4
#: Records kept converted per layer; beyond this the kept ones are dropped and converted again.
KEPT_RECORDS = 20_000
#: Padding (m) over the distance of the pieces' boxes (room for rounding: the boxes only pre-select).
BOX_SLACK_M = 1.0
#: Metres in a degree of latitude, and of longitude at the equator, taken low (110,574 and 111,319 m
#: on WGS84), and the share the lon/lat boxes are padded by over the distance: the metric CRS
#: (UTM, scale >= 0.9996, or azimuthal equidistant, >= 1) never makes a far road look that near.
M_PER_DEG_LAT, M_PER_DEG_LON, BOX_PAD_SHARE = 110_000.0, 111_000.0, 1.1


def plain_record(rec: dict[str, Any]) -> dict[str, Any]:
    """A frame record with plain JSON values (None for missing, int and bool for numpy's)."""
    return {k: (None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else
                (int(v) if isinstance(v, (np.integer,)) else (bool(v) if isinstance(v, np.bool_) else v)))
            for k, v in rec.items()}


def line_pieces(line_m: Any) -> np.ndarray:
    """The metric line cut into pieces of ``CHUNK_VERTICES`` vertices sharing their end vertices
    (as :func:`~cimic_geo.analytics.corridor_parts.near_line` cuts it)."""
    return line_chunks(line_m)


def _padded_boxes(pieces: np.ndarray, within_m: float) -> np.ndarray:
    b = shapely.bounds(pieces)
    pad = within_m + BOX_SLACK_M
    return shapely.box(b[:, 0] - pad, b[:, 1] - pad, b[:, 2] + pad, b[:, 3] + pad)


def distances_to_pieces(geoms_m: np.ndarray, pieces: np.ndarray, within_m: float) -> np.ndarray:
    """Distance (m) of each metric geometry within ``within_m`` of the line cut into ``pieces``
    (:func:`line_pieces`) to that line: the least over the pieces whose boxes, padded by the
    distance, meet the geometry's box (these hold its nearest segment; a distance to a line is
    the least over its segments, so this is the same number as the distance to the whole line)."""
    out = np.full(len(geoms_m), np.inf)
    if not len(geoms_m) or not len(pieces):
        return out
    gi, pi = shapely.STRtree(_padded_boxes(pieces, within_m)).query(geoms_m)
    np.minimum.at(out, gi, shapely.distance(geoms_m[gi], pieces[pi]))
    return out


class PointLayer:
    """A layer's rows in the graph's metric CRS, for "rows within a distance of a line" (see the module docstring)."""

    def __init__(self, frame: gpd.GeoDataFrame, to_metric: Any) -> None:
        self.frame = frame
        geoms = np.asarray(frame.geometry.array, dtype=object)
        self.geoms_m = np.full(len(geoms), None, dtype=object)
        ok = np.flatnonzero(~shapely.is_missing(geoms))
        if len(ok):
            self.geoms_m[ok] = np.asarray(project(geoms[ok], to_metric), dtype=object)
        self._rows = ok
        self._tree = shapely.STRtree(self.geoms_m[ok]) if len(ok) else None
        self.ids = frame["id"].tolist() if "id" in frame.columns else [None] * len(frame)
        self._records: dict[tuple[str, ...], dict[int, dict[str, Any]]] = {}

    def within(self, line_m: Any, within_m: float, *, pieces: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Rows (ascending) within ``within_m`` of the metric line and their distances (m)
        (``pieces``: :func:`line_pieces` of the line when the caller has them)."""
        if self._tree is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        pieces = line_pieces(line_m) if pieces is None else pieces
        # (piece, row) pairs whose boxes meet: each row measured once against each piece near it
        pi, hit = self._tree.query(_padded_boxes(pieces, within_m))
        if not len(hit):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        rows = self._rows[hit]
        best = np.full(len(self.geoms_m), np.inf)
        np.minimum.at(best, rows, shapely.distance(self.geoms_m[rows], pieces[pi]))
        near = unique_sorted(rows)
        near = near[best[near] <= within_m]
        return near, best[near]

    def id_rank(self) -> np.ndarray | None:
        """Each row's place in the rows sorted by id (equal ids in row order); None when an id is not
        text (the caller compares the ids themselves). Made once."""
        if not hasattr(self, "_id_rank"):
            rank = None
            if all(isinstance(i, str) for i in self.ids):
                order = np.argsort(np.asarray(self.ids, dtype=object), kind="stable")
                rank = np.empty(len(order), dtype=np.int64)
                rank[order] = np.arange(len(order))
            self._id_rank = rank
        return self._id_rank

    def records(self, rows: Sequence[int], columns: Sequence[str]) -> list[dict[str, Any]]:
        """The rows' records of ``columns`` (those the frame has), as plain values, each converted once."""
        cols = tuple(c for c in columns if c in self.frame.columns)
        kept = self._records.setdefault(cols, {})
        todo = [r for r in dict.fromkeys(int(r) for r in rows) if r not in kept]
        if todo:
            if len(kept) + len(todo) > KEPT_RECORDS:
                kept.clear()
                todo = list(dict.fromkeys(int(r) for r in rows))
            sub = self.frame.iloc[todo, [self.frame.columns.get_loc(c) for c in cols]]
            values = [sub[c].tolist() for c in cols]
            for r, vals in zip(todo, zip(*values, strict=True), strict=True):
                kept[r] = plain_record(dict(zip(cols, vals, strict=True)))
        return [kept[int(r)] for r in rows]


class NotOpenRoads:
    """The road rows whose status is not ``open``: rows and lon/lat boxes; each row's metric line,
    id and name made when a line first comes near it, then kept."""

    def __init__(self, graph: RoadGraph) -> None:
        self.rows = np.flatnonzero(graph.seg_status != "open")
        self.bounds = graph.row_bounds()[self.rows]
        self._graph = graph
        self._lines_m = np.full(len(self.rows), None, dtype=object)
        self._labels: dict[int, tuple[str, str | None]] = {}
        self._tree: shapely.STRtree | None = None

    def candidates(self, line: Any, within_m: float) -> np.ndarray:
        """Positions (ascending) of a superset of the rows within ``within_m`` of the lon/lat line:
        the rows whose lon/lat boxes meet the boxes of the line's pieces (:func:`line_pieces`)
        padded by the distance in degrees (:data:`BOX_PAD_SHARE` over it, at the line's highest
        latitude plus one degree), from an STRtree of the boxes built once."""
        if not len(self.rows):
            return np.zeros(0, dtype=np.int64)
        if self._tree is None:
            b = self.bounds
            self._tree = shapely.STRtree(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
        pieces = line_pieces(line)
        b = shapely.bounds(pieces)
        lat_max = min(float(np.abs(b[:, [1, 3]]).max()) + 1.0, 89.0)
        py = within_m * BOX_PAD_SHARE / M_PER_DEG_LAT
        px = within_m * BOX_PAD_SHARE / (M_PER_DEG_LON * np.cos(np.radians(lat_max)))
        _, hit = self._tree.query(shapely.box(b[:, 0] - px, b[:, 1] - py, b[:, 2] + px, b[:, 3] + py))
        return unique_sorted(hit)

    def lines_m(self, pos: np.ndarray) -> np.ndarray:
        """The metric lines of the rows at positions ``pos`` (each projected once)."""
        todo = pos[shapely.is_missing(self._lines_m[pos])]
        if len(todo):
            g = self._graph
            self._lines_m[todo] = np.asarray(project(g.seg_geoms(self.rows[todo]), g.threat.to_metric), dtype=object)
        return self._lines_m[pos]

    def labels(self, pos: Sequence[int]) -> list[tuple[str, str | None]]:
        """``(id, name)`` of the rows at positions ``pos`` (the id as text, the name None when missing)."""
        todo = [p for p in dict.fromkeys(pos) if p not in self._labels]
        if todo:
            table = self._graph.road_table
            rows = self.rows[todo]
            ids = table["id"].iloc[rows].tolist()
            names = table["name"].iloc[rows].tolist() if "name" in table.columns else [None] * len(rows)
            for p, i, n in zip(todo, ids, names, strict=True):
                self._labels[p] = (str(i), None if n is None or pd.isna(n) else str(n))
        return [self._labels[p] for p in pos]


def _kept(graph: RoadGraph) -> dict[str, Any]:
    return graph.__dict__.setdefault("_corridor_index", {"layers": []})


def point_layer(graph: RoadGraph, frame: gpd.GeoDataFrame) -> PointLayer:
    """The prepared layer of ``frame`` on ``graph`` (kept for the last :data:`KEPT_LAYERS` frames)."""
    with graph._lock:
        kept = _kept(graph)["layers"]
        for f, layer in kept:
            if f is frame:
                return layer
        layer = PointLayer(frame, graph.threat.to_metric)
        kept[:] = [*kept[-(KEPT_LAYERS - 1):], (frame, layer)]
        return layer


def not_open_roads(graph: RoadGraph) -> NotOpenRoads:
    """The graph's :class:`NotOpenRoads` (built once; a graph's statuses do not change)."""
    with graph._lock:
        kept = _kept(graph)
        if "not_open" not in kept:
            kept["not_open"] = NotOpenRoads(graph)
        return kept["not_open"]


def settlement_finder(settlements: gpd.GeoDataFrame, *, kept: dict[str, Any]
                      ) -> Callable[[str], tuple[str, float, float, str]]:
    """``find`` of :func:`~cimic_geo.analytics.places.resolve_place`: the settlement
    :func:`~cimic_geo.analytics.places.find_settlement` finds, as ``(name, lon, lat, id)``. Names,
    ids and Ukrainian names typed as stored are looked up in a table built once (kept in ``kept``
    under ``"_settlement_names"``, with the frame it was built from); other spellings and unknown
    names go to ``find_settlement`` itself."""
    from cimic_geo.analytics.places import find_settlement

    s = settlements
    hit = kept.get("_settlement_names")
    if hit is None or hit[0] is not s:
        table: dict[str, set[int]] = {}
        some = s is not None and len(s) > 0
        cols = [s["name"].tolist(), s["id"].astype(str).tolist()] if some else []
        if some and "name_uk" in s.columns:
            cols.append(s["name_uk"].tolist())
        for values in cols:
            for i, v in enumerate(values):
                if isinstance(v, str):
                    table.setdefault(v, set()).add(i)
        hit = kept["_settlement_names"] = (s, table)
    table = hit[1]

    def find(text: str) -> tuple[str, float, float, str]:
        rows = table.get(text) if str(text).split() else None  # blank: find_settlement says so
        if rows:
            hits = s.iloc[sorted(rows)]
            if "population" in hits.columns and len(hits) > 1:
                hits = hits.sort_values("population", ascending=False, kind="stable")
            row = hits.iloc[0]
        else:
            row = find_settlement(text, s)
        pt = row.geometry
        return str(row["name"]), float(pt.x), float(pt.y), str(row["id"])
    return find
