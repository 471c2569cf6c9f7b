"""The evaluation of a routed line for a one-off CLI route, on the arrays kept in the graph folder.

The same metrics, computed the same way, as :func:`cimic_geo.analytics.corridor_eval.evaluate_corridor`
with ``road_ids`` (a routed line; see there), but without pandas, geopandas or the store:

* length, band lengths, occupied length: the same 50 m pieces of the line in the graph's metric
  CRS. The pieces' distances to the front line are computed only when an edge of the route lies
  within 1 km of the outer band (the kept edge distances say so); otherwise every piece is beyond
  the outer band, as its distance would show;
* least distance to the front line and crossing it: the same exact computation on the line;
* hazards: the road rows that are not ``open`` (kept with their names) and the destroyed bridges,
  each at its exact metric distance from the line;
* shelters and medical points: the kept rows whose boxes meet the line's box padded by the buffer,
  at their exact metric distance, with the attributes the full evaluation lists (kept as JSON).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import LineString

from cimic_geo.analytics.corridor_parts import (
    BRIDGE_CROSSED_M,
    CorridorEvaluation,
    Hazard,
    TimeWindow,
    distances_within,
    lonlat_box,
    may_touch,
    near_line,
    shelter_totals,
    sort_hazards,
)
from cimic_geo.analytics.road_noding import project, row_lines
from cimic_geo.analytics.road_snap import rows_near_bounds
from cimic_geo.analytics.route_fast_data import PREFIX
from cimic_geo.geo import GEOD

if TYPE_CHECKING:
    from cimic_geo.analytics.route_fast import FastGraph
    from cimic_geo.analytics.routing import Route

#: The full evaluation's defaults for a route (:func:`cimic_geo.corridors.evaluate_document`).
BUFFER_KM = 2.0
HAZARD_M = 200.0
PIECE_M = 50.0
DAMAGED_TIME_FACTOR = 2.0
#: Edges farther than the outer band plus this from the front line have every piece beyond it.
NEAR_MARGIN_KM = 1.0


class _FrontCache:
    """The front line prepared once per graph (:func:`cimic_geo.analytics.front_distance.prepare_front`)."""

    def __init__(self, g: FastGraph) -> None:
        from cimic_geo.analytics.front_distance import prepare_front

        texts = g.texts["threat_wkb"]
        front, occupied, used = (None if texts.raw(i) is None else shapely.from_wkb(texts.raw(i)) for i in range(3))
        self.front_line_used = used
        self.front = prepare_front(front, occupied, crs=g.threat.crs, fwd=g.threat.to_metric)

    def distance_km(self, geoms: np.ndarray, **kw: Any) -> np.ndarray:
        d = self.front.distance_km(geoms, **kw)
        return np.where(np.isnan(d), np.inf, d)


def _front(g: FastGraph) -> _FrontCache:
    cache = getattr(g, "_front_cache", None)
    if cache is None:
        cache = _FrontCache(g)
        g._front_cache = cache  # type: ignore[attr-defined]
    return cache


def _projected(g: FastGraph, name: str, rows: np.ndarray) -> np.ndarray:
    """The kept WKB geometries ``name`` of the rows in the metric CRS, each decoded and projected
    once per graph (the alternatives of a route share most of them)."""
    cache = g.__dict__.setdefault("_projected", {})
    done = cache.get(name)
    if done is None:
        done = cache[name] = np.full(len(g.texts[name]), None, dtype=object)
    todo = rows[shapely.is_missing(done[rows])]
    if len(todo):
        # plain 2-D points (little-endian WKB, 21 bytes) read as numbers: the same coordinates
        # from_wkb gives, projected as project() projects them, without a geometry per row first
        ok, raw = g.texts[name].fixed_width(todo, 21)
        xy = raw[:, 5:].copy().view("<f8")
        plain = (raw[:, 0] == 1) & (raw[:, 1:5].copy().view("<u4")[:, 0] == 1) & np.isfinite(xy).all(axis=1)
        is_pt = np.zeros(len(todo), dtype=bool)
        is_pt[np.flatnonzero(ok)[plain]] = True
        if is_pt.any():
            done[todo[is_pt]] = shapely.points(
                np.column_stack(g.threat.to_metric.transform(xy[plain, 0], xy[plain, 1])))
        other = todo[~is_pt]
        if len(other):
            geoms = shapely.from_wkb(g.texts[name].raw_many(other))
            done[other] = np.asarray(project(geoms, g.threat.to_metric), dtype=object)
    return done[rows]


def _points(g: FastGraph, layer: str, line: LineString, line_m: Any, within_km: float) -> list[dict[str, Any]]:
    """Rows of a kept point layer within ``within_km`` of the metric line, nearest first, as the full
    evaluation lists them (its attributes and ``distance_km``)."""
    b = g.arrays[f"{PREFIX}{layer}_bounds"]
    if not len(b):
        return []
    x0, y0, x1, y1 = lonlat_box(g.threat.to_metric, line_m, within_km * 1000.0)
    keep = np.flatnonzero((b[:, 2] >= x0) & (b[:, 0] <= x1) & (b[:, 3] >= y0) & (b[:, 1] <= y1))
    if not len(keep):
        return []
    # a long line's box holds many rows far from it: keep those the grid puts near the line (a superset)
    keep = keep[rows_near_bounds(b[keep], line, within_km * 1000.0)]
    if not len(keep):
        return []
    pts_m = _projected(g, f"{layer}_wkb", keep)
    near, d_m = near_line(pts_m, line_m, within_km * 1000.0)
    if not len(near):
        return []
    d_km = np.round(d_m / 1000.0, 3)
    # one JSON array for all the rows: the same values as decoding each row, at a fraction of the calls
    records = json.loads(b"[" + b",".join(g.texts[f"{layer}_record"].raw_many(keep[near])) + b"]")
    rows = records
    for r, d in zip(rows, d_km.tolist(), strict=True):
        r["distance_km"] = float(d)  # last, as the full evaluation lists it
    rows.sort(key=lambda r: (r["distance_km"], r["id"]))
    return rows


def _hazards(g: FastGraph, line: LineString, line_m: Any) -> list[Hazard]:
    hazards: list[Hazard] = []
    bad = g.arrays[f"{PREFIX}bad_rows"]
    if len(bad):
        b = g.seg_bounds[bad]
        x0, y0, x1, y1 = lonlat_box(g.threat.to_metric, line_m, HAZARD_M)
        pos = np.flatnonzero((b[:, 2] >= x0) & (b[:, 0] <= x1) & (b[:, 3] >= y0) & (b[:, 1] <= y1))
        pos = pos[rows_near_bounds(b[pos], line, HAZARD_M)]
        rows = bad[pos]
        if len(rows):
            roads_m = np.asarray(project(row_lines(g.coords, g.seg_v0, g.seg_v1, rows), g.threat.to_metric),
                                 dtype=object)
            near, d_m = near_line(roads_m, line_m, HAZARD_M)
            order = np.argsort(rows[near])
            names = g.texts["bad_name"]
            for i, dist in zip(near[order], d_m[order], strict=True):
                r = int(rows[i])
                hazards.append(Hazard(type=f"{g.seg_status[r]}_road", id=str(g.texts["road_id"][r]),
                                      name=names[int(pos[i])], distance_m=round(float(dist), 1),
                                      crossed=bool(dist < 1.0)))
    wkb = g.texts["bridge_wkb"]
    if len(wkb):
        d = distances_within(_projected(g, "bridge_wkb", np.arange(len(wkb))), line_m, HAZARD_M)
        for i in np.flatnonzero(d <= HAZARD_M):
            hazards.append(Hazard(type="destroyed_bridge", id=str(g.texts["bridge_id"][int(i)]),
                                  name=g.texts["bridge_name"][int(i)], road_id=g.texts["bridge_road_id"][int(i)],
                                  distance_m=round(float(d[i]), 1), crossed=bool(d[i] <= BRIDGE_CROSSED_M)))
    return hazards


def evaluate_route(g: FastGraph, route: Route, road_ids: list[str]) -> dict[str, Any]:
    """The evaluation document of a routed line (:meth:`CorridorEvaluation.to_dict`), as the full path gives it."""
    fast = g.fast
    xy = shapely.get_coordinates(route.geometry)
    line = LineString(xy)
    to_metric = g.threat.to_metric
    bands = g.bands_km
    # geodesic_length_km(line) from the coordinates at hand (the same call on the same numbers)
    length_km = float(GEOD.line_length(xy[:, 0], xy[:, 1])) / 1000.0 if len(xy) else 0.0
    line_m = project(line, to_metric)
    metric_len = line_m.length
    c = shapely.get_coordinates(shapely.segmentize(line_m, PIECE_M))
    a, b = c[:-1], c[1:]
    piece_len = np.hypot(*(b - a).T) * (length_km * 1000.0 / metric_len if metric_len > 0 else 0.0) / 1000.0
    mid = (a + b) / 2
    has_front = bool(fast["has_front"])
    near = has_front and len(route.edges) and \
        float(np.min(g.edge_front_km[route.edges])) <= bands[-1] + NEAR_MARGIN_KM
    occ = _front(g).front.occupied_geom if g.texts["threat_wkb"].raw(1) is not None else None
    occ_near = occ is not None and not occ.is_empty and may_touch(occ, line, xy)
    # the pieces' midpoints in lon/lat, only when a piece may be near the front or in the occupied area
    mlon, mlat = to_metric.transform(mid[:, 0], mid[:, 1], direction="INVERSE") if near or occ_near else (mid, mid)
    piece_front = (_front(g).distance_km(shapely.points(mlon, mlat), exact_near_km=bands) if near
                   else np.full(len(mid), np.inf))
    piece_occ = np.zeros(len(mid), dtype=bool)
    if occ_near:
        piece_occ = np.asarray(shapely.contains_xy(occ, mlon, np.asarray(mlat, float)), dtype=bool)
    band_idx = np.searchsorted(np.asarray(bands) + float(fast["edge_tolerance_km"]), np.asarray(piece_front, float),
                               side="left")
    labels = fast["band_labels"]
    band_km = {lab: float(piece_len[(band_idx == i) & ~piece_occ].sum()) for i, lab in enumerate(labels)}
    beyond_km = float(piece_len[(band_idx == len(labels)) & ~piece_occ].sum())
    occupied_km = float(piece_len[piece_occ].sum())
    if has_front:
        fc = _front(g)
        min_front: float | None = float(fc.distance_km(np.array([line], dtype=object), exact=True)[0])
        crosses = bool(shapely.intersects(line, fc.front_line_used)) if fc.front_line_used is not None else False
    else:
        min_front, crosses = None, False

    rows = np.asarray(g.edge_seg[route.edges])
    if len(rows):
        rows = rows[np.r_[True, rows[1:] != rows[:-1]]]
    seg_min = g.seg_length_km[rows] / g.seg_speed[rows] * 60.0
    minutes = float(np.where(g.seg_status[rows] == "damaged", seg_min * DAMAGED_TIME_FACTOR, seg_min).sum())

    hazards, passable = sort_hazards(_hazards(g, line, line_m))
    shelter_rows = _points(g, "shelter", line, line_m, BUFFER_KM)
    medical, summary = shelter_totals(shelter_rows, _points(g, "health", line, line_m, BUFFER_KM))
    ev = CorridorEvaluation(
        length_km=length_km, travel_time_min=minutes, band_km=band_km, beyond_km=beyond_km, occupied_km=occupied_km,
        min_frontline_km=min_front, crosses_front_line=crosses, passable=passable, hazards=hazards,
        on_road_km=length_km, off_road_km=0.0, shelter_summary=summary, shelters=tuple(shelter_rows),
        medical=tuple(medical), window=TimeWindow(), as_of=None, geometry=line,
    ).to_dict()
    ev["as_of"] = fast["as_of_iso"]
    return ev
