"""Corridor evaluation: the same metrics for any line — drawn, imported or routed.

:func:`evaluate_corridor` reports geodesic length, travel time, km inside each threat band (and on
the occupied side), the minimum distance to the front line, damaged/impassable road segments and
destroyed bridges crossed or within ``hazard_m``, shelters and medical points within
``buffer_km`` and the planned time window.

Band lengths: the line is cut into pieces of at most ``piece_m`` metres in the metric CRS of the
road graph; each piece counts in the band of its midpoint's exact distance to the front line, so
a band boundary is placed to within ``piece_m / 2``. Piece lengths are scaled so that they add
up to the geodesic length.

Travel time: for a routed line (``road_ids`` given) the sum of its segments' travel times; for
any other line each piece takes the speed of the nearest road segment within ``match_m``
(damaged segments slowed down as in the graph), or ``offroad_kmh`` when no road is that close.

Nearby roads, bridges, shelters and medical points are found with STRtrees in the road graph's
metric CRS (for roads, only the rows a grid of their bounding boxes puts near the line are
projected), so every "within" is an exact distance in metres, at any latitude.

The result is a :class:`CorridorEvaluation`; :meth:`CorridorEvaluation.to_dict` gives the JSON
document the CLI prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.bands import EDGE_TOLERANCE_KM, band_labels
from cimic_geo.analytics.corridor_index import (
    distances_to_pieces,
    line_pieces,
    not_open_roads,
    plain_record,
    point_layer,
)
from cimic_geo.analytics.corridor_lines import check_corridor_line, lines_from_geojson
from cimic_geo.analytics.corridor_parts import (
    BRIDGE_CROSSED_M,
    CorridorEvaluation,
    Hazard,
    ShelterSummary,
    TimeWindow,
    distances_within,
    may_touch,
    shelter_totals,
    sort_hazards,
)
from cimic_geo.analytics.road_snap import rows_near
from cimic_geo.analytics.roadgraph import RoadGraph, project
from cimic_geo.errors import AnalysisError, Problem, ValidationError
from cimic_geo.geo import GEOD
from cimic_geo.i18n import _
from cimic_geo.timefmt import to_utc

#: Margin (km) of ``front_floor_km`` over the outer band (room for the edges' distances' rounding).
FLOOR_MARGIN_KM = 1.0
#: Pieces' distances to the front kept per threat geometry (see :func:`_pieces_front_km`).
KEPT_PIECES = 100_000
#: Columns of the shelter and health rows listed within the buffer (in this order, with ``distance_km``).
SHELTER_COLUMNS = ("id", "name", "kind", "status", "capacity", "occupancy", "accessible")
HEALTH_COLUMNS = ("id", "name", "sector", "damage")

__all__ = [
    "BRIDGE_CROSSED_M",
    "CorridorEvaluation",
    "Hazard",
    "ShelterSummary",
    "TimeWindow",
    "check_corridor_line",
    "evaluate_corridor",
    "lines_from_geojson",
    "plain_record",
]


def _seg_minutes(graph: RoadGraph, seg: np.ndarray, damaged_time_factor: float) -> np.ndarray:
    speed = graph.seg_speed[seg]
    status = graph.seg_status[seg]
    minutes = graph.seg_length_km[seg] / speed * 60.0
    return np.where(status == "damaged", minutes * damaged_time_factor, minutes)


def _road_index(graph: RoadGraph, line: BaseGeometry, within_m: float
                ) -> tuple[np.ndarray, np.ndarray, shapely.STRtree]:
    """The road rows that may lie within ``within_m`` of the lon/lat line (a grid pre-filter,
    :func:`~cimic_geo.analytics.road_snap.rows_near`), their lines in the graph's metric CRS and an
    STRtree of them: only the roads near the line are projected."""
    rows = rows_near(graph, line, within_m)
    geoms_m = _to_metric_geoms(graph, graph.seg_geoms(rows))
    return rows, geoms_m, shapely.STRtree(geoms_m)


def _not_open_near(graph: RoadGraph, line: BaseGeometry, line_m: BaseGeometry, within_m: float,
                   pieces: np.ndarray) -> list[Hazard]:
    """The road rows that are not ``open`` within ``within_m`` of the line (lon/lat ``line``, metric
    ``line_m`` cut into ``pieces``, :func:`~cimic_geo.analytics.corridor_index.line_pieces`), by row: among the graph's not-open rows
    (:func:`~cimic_geo.analytics.corridor_index.not_open_roads`) those a grid of their boxes puts
    near the line, then exactly those within the distance."""
    roads = not_open_roads(graph)
    if not len(roads.rows):
        return []
    cand = roads.candidates(line, within_m)
    lines_m = roads.lines_m(cand)
    shapely.prepare(line_m)
    within = shapely.dwithin(line_m, lines_m, within_m)
    cand, lines_m = cand[within], lines_m[within]
    d = distances_to_pieces(lines_m, pieces, within_m)
    status = graph.seg_status
    pos = cand.tolist()
    return [Hazard(type=f"{status[roads.rows[i]]}_road", id=rid, name=name, distance_m=round(float(dist), 1),
                   crossed=bool(dist < 1.0))
            for i, (rid, name), dist in zip(pos, roads.labels(pos), d.tolist(), strict=True)]


def _pieces_front_km(threat: Any, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The pieces' distances to the front (:meth:`ThreatGeometry.distance_km`, exact near the band
    edges) as far as their band needs them: a piece whose lower bound
    (:meth:`ThreatGeometry.lower_bound_km`) already lies beyond the outer band gets inf, which
    puts it in the same place (beyond), without its distance.

    Each point's distance depends on that point only; the distances measured are kept on
    ``threat`` by the point (:data:`KEPT_PIECES` at most), so a route's alternatives, which share
    stretches of road and so the same pieces, and routes asked for again measure them once."""
    out = np.full(len(lon), np.inf)
    if not threat.has_front or not len(lon):
        return out
    beyond = float(threat.bands_km[-1]) + EDGE_TOLERANCE_KM
    need = np.flatnonzero(~(threat.lower_bound_km(lon, lat, upper_km=beyond) > beyond))
    if not len(need):
        return out
    kept = threat.__dict__.setdefault("_pieces_km", {})
    keys = list(zip(lon[need].tolist(), lat[need].tolist(), strict=True))
    got = [kept.get(key) for key in keys]
    miss = [i for i, v in enumerate(got) if v is None]
    if miss:
        m = need[miss]
        d = threat.distance_km(shapely.points(lon[m], lat[m]), exact_near_km=threat.bands_km).tolist()
        if len(kept) + len(miss) > KEPT_PIECES:
            kept.clear()
        for i, v in zip(miss, d, strict=True):
            got[i] = kept[keys[i]] = v
    out[need] = got
    return out


def _to_metric_geoms(graph: RoadGraph, geoms: np.ndarray) -> np.ndarray:
    if not len(geoms):
        return np.asarray([], dtype=object)
    return np.asarray(project(np.asarray(geoms, dtype=object), graph.threat.to_metric), dtype=object)


def _points_table(frame: gpd.GeoDataFrame | None, line_m: BaseGeometry, graph: RoadGraph,
                  within_km: float, columns: Sequence[str], pieces: np.ndarray) -> list[dict[str, Any]]:
    """Rows of ``frame`` within ``within_km`` of the metric line ``line_m`` (cut into ``pieces``),
    nearest first (then by id), with ``distance_km`` (:class:`~cimic_geo.analytics.corridor_index.PointLayer`, prepared
    once per graph and frame)."""
    if frame is None or not len(frame):
        return []
    layer = point_layer(graph, frame)
    rows, d_m = layer.within(line_m, within_km * 1000.0, pieces=pieces)
    if not len(rows):
        return []
    d_arr = np.round(d_m / 1000.0, 3)
    d_km = d_arr.tolist()
    rank = layer.id_rank()
    if rank is not None:  # nearest first, then by id (rows ascending: a stable sort keeps equal ids in row order)
        order = np.lexsort((rank[rows], d_arr)).tolist()
    else:
        ids = layer.ids
        order = sorted(range(len(rows)), key=lambda i: (d_km[i], ids[rows[i]]))
    rows_l = rows.tolist()
    records = layer.records([rows_l[i] for i in order], columns)
    return [{**rec, "distance_km": d_km[i]} for rec, i in zip(records, order, strict=True)]


def evaluate_corridor(
    line: BaseGeometry,
    *,
    graph: RoadGraph,
    shelters: gpd.GeoDataFrame | None = None,
    health: gpd.GeoDataFrame | None = None,
    road_ids: Sequence[str] | None = None,
    buffer_km: float = 2.0,
    hazard_m: float = 200.0,
    window_start: datetime | str | None = None,
    window_end: datetime | str | None = None,
    match_m: float = 100.0,
    offroad_kmh: float = 20.0,
    piece_m: float = 50.0,
    damaged_time_factor: float = 2.0,
    check: bool = True,
    road_rows: np.ndarray | None = None,
    front_floor_km: float | None = None,
) -> CorridorEvaluation:
    """Evaluate one corridor line (EPSG:4326).

    Parameters
    ----------
    line : the corridor (validated with :func:`check_corridor_line` when ``check``)
    graph : road graph at the as-of time (roads, threat bands, destroyed bridges)
    shelters : shelters layer (kind ``medical`` rows count as medical points too)
    health : infrastructure rows of sector ``health`` (medical points)
    road_ids : the road segments a routed line follows, in order (exact travel time)
    buffer_km : shelters and medical points within this distance are listed
    hazard_m : damaged/impassable segments and destroyed bridges within this distance are listed
    window_start, window_end : planned time window (UTC)
    match_m, offroad_kmh : travel-time model for lines not produced by the router
    piece_m : resolution of the band lengths (m)
    road_rows : the road rows of ``road_ids`` when the caller has them (not looked up again)
    front_floor_km : no point of the line is nearer the front than this (a routed line: its edges'
        least distance); past the outer band by :data:`FLOOR_MARGIN_KM` every piece is beyond it

    Returns
    -------
    CorridorEvaluation
    """
    if buffer_km < 0 or hazard_m < 0 or piece_m <= 0 or offroad_kmh <= 0:
        raise AnalysisError(_("buffer, hazard distance, piece length and off-road speed must be positive"))
    line = check_corridor_line(line) if check else LineString(np.asarray(line.coords)[:, :2])
    threat = graph.threat
    xy = shapely.get_coordinates(line)
    # GEOD.geometry_length(line) on the coordinates at hand (the same call on the same numbers)
    length_km = float(GEOD.line_length(xy[:, 0], xy[:, 1])) / 1000.0 if len(xy) else 0.0
    line_m = project(line, threat.to_metric)
    pieces = line_pieces(line_m)  # one cut of the metric line for every "within" below
    metric_len = line_m.length
    dense = shapely.segmentize(line_m, piece_m)
    c = shapely.get_coordinates(dense)
    a, b = c[:-1], c[1:]
    piece_len = np.hypot(*(b - a).T) * (length_km * 1000.0 / metric_len if metric_len > 0 else 0.0) / 1000.0
    mid = (a + b) / 2
    far = front_floor_km is not None and front_floor_km > threat.bands_km[-1] + FLOOR_MARGIN_KM
    occ = threat.front.occupied_geom
    if far and road_ids is not None and (occ is None or occ.is_empty or not may_touch(occ, line, xy)):
        # a routed line far from the front and the occupied area: every piece is beyond the bands
        # and none is occupied, without taking the pieces' midpoints back to lon/lat
        piece_front, piece_occ = np.full(len(mid), np.inf), np.zeros(len(mid), dtype=bool)
    else:
        mlon, mlat = threat.to_metric.transform(mid[:, 0], mid[:, 1], direction="INVERSE")
        piece_front = (np.full(len(mid), np.inf) if far else
                       _pieces_front_km(threat, np.asarray(mlon, float), np.asarray(mlat, float)))
        piece_occ = threat.occupied_mask(mlon, mlat)
    band_idx = threat.band_index(piece_front)
    labels = band_labels(threat.bands_km)
    band_km = {lab: float(piece_len[(band_idx == i) & ~piece_occ].sum()) for i, lab in enumerate(labels)}
    beyond_km = float(piece_len[(band_idx == len(labels)) & ~piece_occ].sum())
    occupied_km = float(piece_len[piece_occ].sum())
    if threat.has_front:
        min_front = float(threat.distance_km(np.array([line], dtype=object), exact=True,
                                             projected=np.array([line_m], dtype=object))[0])
        crosses = bool(shapely.intersects(line, threat.front_line_used)) if threat.front_line_used is not None else False
    else:
        min_front, crosses = None, False

    # ---- travel time
    roads = graph.road_table
    # a routed line's time comes from its rows: only the rows that are not open (hazards) are needed
    if road_ids is not None:
        seg = graph.road_rows(road_ids) if road_rows is None else np.asarray(road_rows, dtype=np.int64)
        minutes = float(_seg_minutes(graph, seg, damaged_time_factor).sum())
        on_road_km, off_road_km = length_km, 0.0
    else:
        near_rows, roads_m, road_tree = _road_index(graph, line, max(match_m, hazard_m))
        piece_min = piece_len / offroad_kmh * 60.0
        matched = np.zeros(len(piece_len), dtype=bool)
        if len(near_rows):
            src, loc = road_tree.query_nearest(shapely.points(mid), max_distance=match_m, all_matches=False)
            seg = near_rows[loc]
            speed = graph.seg_speed[seg]
            status = graph.seg_status[seg]
            t = piece_len[src] / speed * 60.0
            piece_min[src] = np.where(status == "damaged", t * damaged_time_factor, t)
            matched[src] = True
        minutes = float(piece_min.sum())
        on_road_km = float(piece_len[matched].sum())
        off_road_km = float(piece_len[~matched].sum())

    # ---- hazards within hazard_m
    if road_ids is not None:  # only the rows that are not open, prepared once per graph
        hazards = _not_open_near(graph, line, line_m, hazard_m, pieces)
    else:
        hazards = []
        status_all = graph.seg_status
        loc = road_tree.query(line_m, predicate="dwithin", distance=hazard_m)
        loc = loc[status_all[near_rows[loc]] != "open"]
        loc = loc[np.argsort(near_rows[loc])]
        bad = near_rows[loc]
        if len(bad):
            d = shapely.distance(roads_m[loc], line_m)
            for r, dist in zip(bad, d, strict=True):
                row = roads.iloc[int(r)]
                hazards.append(Hazard(type=f"{status_all[r]}_road", id=str(row["id"]), name=_text(row.get("name")),
                                      distance_m=round(float(dist), 1), crossed=bool(dist < 1.0)))
    br = graph.destroyed_bridges
    if len(br):
        d = distances_within(_to_metric_geoms(graph, br.geometry.values), line_m, hazard_m)
        for i in np.flatnonzero(d <= hazard_m):
            row = br.iloc[int(i)]
            hazards.append(Hazard(type="destroyed_bridge", id=str(row["id"]), name=_text(row.get("name")),
                                  road_id=_text(row.get("road_id")), distance_m=round(float(d[i]), 1),
                                  crossed=bool(d[i] <= BRIDGE_CROSSED_M)))
    hazards_sorted, passable = sort_hazards(hazards)

    # ---- shelters and medical points
    shelter_rows = _points_table(shelters, line_m, graph, buffer_km, SHELTER_COLUMNS, pieces)
    medical, summary = shelter_totals(shelter_rows, _points_table(health, line_m, graph, buffer_km, HEALTH_COLUMNS,
                                                                  pieces))

    # ---- time window
    ws = to_utc(window_start) if window_start not in (None, "") and not pd.isna(window_start) else None
    we = to_utc(window_end) if window_end not in (None, "") and not pd.isna(window_end) else None
    if ws is not None and we is not None and we <= ws:
        raise ValidationError(_("the time window is not valid; nothing was evaluated or saved"),
                              [Problem(None, "window_end", _("the window must end after it starts"))])
    hours = (we - ws).total_seconds() / 3600 if ws is not None and we is not None else None
    window = TimeWindow(start=ws, end=we, hours=hours, travel_fits=None if hours is None else bool(minutes <= hours * 60))

    return CorridorEvaluation(
        length_km=length_km, travel_time_min=minutes, band_km=band_km, beyond_km=beyond_km, occupied_km=occupied_km,
        min_frontline_km=min_front, crosses_front_line=crosses, passable=passable, hazards=hazards_sorted,
        on_road_km=on_road_km, off_road_km=off_road_km, shelter_summary=summary, shelters=tuple(shelter_rows),
        medical=tuple(medical), window=window, as_of=graph.as_of, geometry=line,
    )


def _text(v: Any) -> str | None:
    return None if v is None or pd.isna(v) else str(v)
