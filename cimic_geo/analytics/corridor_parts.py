"""The result of a corridor evaluation and the steps the full evaluation
(:mod:`cimic_geo.analytics.corridor_eval`) and the one-off route's (:mod:`cimic_geo.analytics.route_fast_eval`)
share, so both give the same document. Imports neither pandas nor geopandas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import LineString, mapping

from cimic_geo.analytics.road_noding import unique_sorted

if TYPE_CHECKING:
    import pandas as pd
    import pyproj
    from shapely.geometry.base import BaseGeometry

#: A line passing this close (m) to a destroyed bridge (a point) counts as crossing it; road
#: segments count as crossed when the line touches them (< 1 m).
BRIDGE_CROSSED_M = 25.0


def iso(value: Any) -> str | None:
    """:func:`cimic_geo.timefmt.iso` (imported only for a value: it imports pandas)."""
    if value is None:
        return None
    from cimic_geo.timefmt import iso as _iso

    return _iso(value)


@dataclass(frozen=True)
class Hazard:
    """A non-open road segment or a destroyed bridge near a corridor."""

    type: str  #: ``damaged_road``, ``impassable_road`` or ``destroyed_bridge``
    id: str  #: the road segment's or the bridge's id
    name: str | None
    distance_m: float  #: metres from the corridor line (metric CRS)
    crossed: bool  #: the line touches the segment (< 1 m) or passes the bridge within ``BRIDGE_CROSSED_M``
    road_id: str | None = None  #: the road segment a destroyed bridge carries

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": self.type, "id": self.id, "name": self.name}
        if self.type == "destroyed_bridge":
            doc["road_id"] = self.road_id
        doc.update(distance_m=round(self.distance_m, 1), crossed=self.crossed)
        return doc


@dataclass(frozen=True)
class ShelterSummary:
    """Shelters and medical points within the buffer of a corridor."""

    count: int  #: shelters of any status
    open: int  #: shelters with status ``open``
    capacity_open: int  #: places in the open shelters
    spare_open: int  #: free places in the open shelters (capacity − occupancy, not below 0)
    medical: int  #: medical points (``medical`` shelters and ``health`` infrastructure)


@dataclass(frozen=True)
class TimeWindow:
    """The planned time window of a corridor (UTC) and whether the travel time fits in it."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    hours: float | None = None  #: length of the window in hours (both ends given)
    travel_fits: bool | None = None  #: travel time ≤ window length (both ends given)

    def to_dict(self) -> dict[str, Any]:
        return {"start": iso(self.start), "end": iso(self.end),
                "hours": None if self.hours is None else round(self.hours, 2), "travel_fits": self.travel_fits}


@dataclass(frozen=True)
class CorridorEvaluation:
    """The metrics of one corridor line (EPSG:4326). Distances in km unless named ``_m``."""

    length_km: float  #: geodesic length
    travel_time_min: float  #: minutes (routed: along its segments; otherwise see the module doc)
    band_km: dict[str, float]  #: km inside each threat band on the friendly side, by band label
    beyond_km: float  #: km beyond the outer band on the friendly side
    occupied_km: float  #: km on the occupied side
    min_frontline_km: float | None  #: least geodesic distance to the front line (None: no front)
    crosses_front_line: bool
    passable: bool  #: crosses no impassable segment and no destroyed bridge
    hazards: tuple[Hazard, ...]  #: nearest first
    on_road_km: float  #: km matched to a road (routed: all of it)
    off_road_km: float
    shelter_summary: ShelterSummary
    shelters: tuple[dict[str, Any], ...]  #: shelter rows within the buffer, with ``distance_km``, nearest first
    medical: tuple[dict[str, Any], ...]  #: medical points within the buffer, with ``distance_km`` and ``source_layer``
    window: TimeWindow
    as_of: pd.Timestamp | None  #: time of the front line used
    geometry: LineString  #: the evaluated line (validated, 2D)

    @property
    def hazard_counts(self) -> dict[str, int]:
        """Number of hazards per type."""
        counts: dict[str, int] = {}
        for h in self.hazards:
            counts[h.type] = counts.get(h.type, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (rounded: km to the metre, minutes to 0.1)."""
        return {
            "length_km": round(self.length_km, 3),
            "travel_time_min": round(self.travel_time_min, 1),
            "band_km": {k: round(v, 3) for k, v in self.band_km.items()},
            "beyond_km": round(self.beyond_km, 3),
            "occupied_km": round(self.occupied_km, 3),
            "min_frontline_km": None if self.min_frontline_km is None else round(self.min_frontline_km, 3),
            "crosses_front_line": self.crosses_front_line,
            "passable": self.passable,
            "hazards": [h.to_dict() for h in self.hazards],
            "hazard_counts": self.hazard_counts,
            "on_road_km": round(self.on_road_km, 3),
            "off_road_km": round(self.off_road_km, 3),
            "shelter_summary": asdict(self.shelter_summary),
            "shelters": [dict(r) for r in self.shelters],
            "medical": [dict(r) for r in self.medical],
            "window": self.window.to_dict(),
            "as_of": iso(self.as_of),
            "geometry": _mapping(self.geometry),
        }


def _mapping(geom: BaseGeometry) -> dict[str, Any]:
    """:func:`shapely.geometry.mapping` (a line's coordinates read at once, not point by point)."""
    if isinstance(geom, LineString) and not geom.is_empty:
        xy = shapely.get_coordinates(geom, include_z=geom.has_z)
        return {"type": "LineString", "coordinates": tuple(zip(*(xy[:, i].tolist() for i in range(xy.shape[1])), strict=True))}
    return mapping(geom)


def distances_within(geoms_m: np.ndarray, line_m: BaseGeometry, within_m: float) -> np.ndarray:
    """Distance (m) of each metric geometry to the line; inf beyond ``within_m`` (prepared-geometry
    ``dwithin`` first, exact distance only for those within)."""
    out = np.full(len(geoms_m), np.inf)
    if not len(geoms_m):
        return out
    shapely.prepare(line_m)
    near = np.flatnonzero(shapely.dwithin(line_m, geoms_m, within_m))
    if len(near):
        out[near] = shapely.distance(geoms_m[near], line_m)
    return out


def lonlat_box(to_metric: pyproj.Transformer, line_m: BaseGeometry, within_m: float
               ) -> tuple[float, float, float, float]:
    """Lon/lat bounds of everything within ``within_m`` of the metric line: its metric box padded by
    the distance, the box's outline (densified) taken back to lon/lat, plus 1 % of the spans for the
    outline's curvature between the samples."""
    mx0, my0, mx1, my1 = line_m.bounds
    box = shapely.box(mx0 - within_m, my0 - within_m, mx1 + within_m, my1 + within_m)
    ring = shapely.segmentize(box.exterior, max(mx1 - mx0, my1 - my0, within_m) / 50.0)
    xy = shapely.get_coordinates(ring)
    lon, lat = to_metric.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
    dx, dy = 0.01 * (lon.max() - lon.min()) + 1e-6, 0.01 * (lat.max() - lat.min()) + 1e-6
    return float(lon.min() - dx), float(lat.min() - dy), float(lon.max() + dx), float(lat.max() + dy)


def sort_hazards(hazards: Iterable[Hazard]) -> tuple[tuple[Hazard, ...], bool]:
    """Hazards nearest first (then by type and id) and whether the line is passable (crosses no
    impassable segment and no destroyed bridge)."""
    out = sorted(hazards, key=lambda h: (h.distance_m, h.type, h.id))
    return tuple(out), not any(h.crossed and h.type in ("impassable_road", "destroyed_bridge") for h in out)


def shelter_totals(shelter_rows: Sequence[dict[str, Any]], health_rows: Sequence[dict[str, Any]]
                   ) -> tuple[list[dict[str, Any]], ShelterSummary]:
    """Medical points (``medical`` shelters and health facilities, nearest first) and the summary of
    the shelter and health rows within the buffer."""
    medical = [dict(r, source_layer="shelters") for r in shelter_rows if r.get("kind") == "medical"]
    medical += [dict(r, source_layer="infrastructure") for r in health_rows]
    medical.sort(key=lambda r: (r["distance_km"], str(r["id"])))
    open_rows = [r for r in shelter_rows if r.get("status") == "open"]
    cap_open = sum(int(r.get("capacity") or 0) for r in open_rows)
    occ_open = sum(int(r.get("occupancy") or 0) for r in open_rows)
    return medical, ShelterSummary(count=len(shelter_rows), open=len(open_rows), capacity_open=cap_open,
                                   spare_open=max(cap_open - occ_open, 0), medical=len(medical))


#: Lon/lat margin (degrees) of :func:`may_touch`, plus this share of the longest segment.
OCCUPIED_MARGIN_DEG = 0.01


def may_touch(occ: Any, line: LineString, xy: np.ndarray) -> bool:
    """False when no piece midpoint of the line can lie in the occupied area: the area is farther
    from the lon/lat line than :data:`OCCUPIED_MARGIN_DEG` (plus 1 % of the longest segment, far
    more than a midpoint, taken to lon/lat from the metric line, strays from the line)."""
    longest = float(np.hypot(*np.diff(xy, axis=0).T).max()) if len(xy) > 1 else 0.0
    shapely.prepare(occ)
    return bool(shapely.dwithin(occ, line, OCCUPIED_MARGIN_DEG * (1.0 + longest)))


#: Vertices per piece of the metric line in :func:`near_line`.
CHUNK_VERTICES = 64


def line_chunks(line_m: Any) -> np.ndarray:
    """The metric line cut into pieces of :data:`CHUNK_VERTICES` vertices sharing their end vertices
    (the last piece shorter), made in one vectorised call."""
    c = shapely.get_coordinates(line_m)
    starts = np.arange(0, max(len(c) - 1, 1), CHUNK_VERTICES - 1)
    if len(c) < 2:  # an empty or degenerate line: one piece as the coordinates give it
        return np.asarray([shapely.LineString(c[a:a + CHUNK_VERTICES]) for a in starts], dtype=object)
    n = np.minimum(starts + CHUNK_VERTICES, len(c)) - starts  # every piece has >= 2 vertices
    owner = np.repeat(np.arange(len(starts)), n)
    idx = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n) + np.repeat(starts, n)
    return np.asarray(shapely.linestrings(c[idx], indices=owner), dtype=object)


def near_line(geoms_m: np.ndarray, line_m: Any, within_m: float, *, chunks: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the geometries within ``within_m`` of the metric line (ascending) and their
    distances (m). The line is cut into pieces of :data:`CHUNK_VERTICES` vertices sharing their end
    vertices (:func:`line_chunks`; ``chunks`` when the caller has them), found near each geometry
    with an STRtree: a distance to a line is the least over its segments, so the least over the
    pieces near it is the same number, without measuring every geometry against the whole line."""
    chunks = line_chunks(line_m) if chunks is None else chunks
    gi, ci = shapely.STRtree(chunks).query(geoms_m, predicate="dwithin", distance=within_m)
    if not len(gi):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    d = shapely.distance(geoms_m[gi], chunks[ci])
    near = unique_sorted(gi)
    best = np.full(len(geoms_m), np.inf)
    np.minimum.at(best, gi, d)
    return near, best[near]
