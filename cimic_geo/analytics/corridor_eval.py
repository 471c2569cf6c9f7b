"""Corridor evaluation: the same metrics for any line — drawn, imported or routed (DESIGN §6).

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
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString, mapping
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.bands import band_labels
from cimic_geo.analytics.roadgraph import RoadGraph, project
from cimic_geo.errors import AnalysisError, Problem, ValidationError
from cimic_geo.geo import geodesic_length_km
from cimic_geo.timefmt import iso, to_utc

#: Lines shorter than this (m) are refused as zero-length.
MIN_LENGTH_M = 1.0
#: A line passing this close (m) to a destroyed bridge (a point) counts as crossing it; road
#: segments count as crossed when the line touches them (< 1 m).
BRIDGE_CROSSED_M = 25.0


def _self_crossing(line: LineString) -> tuple[float, float] | None:
    """A point where the line crosses or touches itself (not at consecutive segments), or None."""
    c = np.asarray(line.coords)[:, :2]
    segs = shapely.linestrings(np.stack([c[:-1], c[1:]], axis=1))
    tree = shapely.STRtree(segs)
    a, b = tree.query(segs, predicate="intersects")
    keep = b > a + 1
    closed = len(c) > 3 and np.allclose(c[0], c[-1])
    if closed:  # first and last segments meet at the ring's start: not a crossing
        keep &= ~((a == 0) & (b == len(segs) - 1))
    a, b = a[keep], b[keep]
    if len(a):
        p = shapely.intersection(segs[a[0]], segs[b[0]])
        pt = p.representative_point()
        return float(pt.x), float(pt.y)
    # overlapping consecutive segments (going back on itself)
    ov = shapely.overlaps(segs[:-1], segs[1:]) | shapely.within(segs[1:], segs[:-1]) | shapely.within(segs[:-1], segs[1:])
    ov &= shapely.length(segs[1:]) > 0
    hit = np.flatnonzero(ov)
    if len(hit):
        pt = segs[hit[0] + 1].interpolate(0.5, normalized=True)
        return float(pt.x), float(pt.y)
    return None


def check_corridor_line(geometry: BaseGeometry | None, *, row: int | None = None) -> LineString:
    """Validate a drawn or imported corridor line and return it as a 2D LineString (lon/lat).

    Raises
    ------
    ValidationError
        Empty, not a line, coordinates not lon/lat, zero length, or crossing itself — with the
        row (1-based, for files) and the field ``geometry``.
    """

    def fail(msg: str) -> ValidationError:
        return ValidationError("the corridor line is not valid; nothing was evaluated or saved",
                               [Problem(row, "geometry", msg)])

    if geometry is None or geometry.is_empty:
        raise fail("empty geometry: draw or import a line")
    if isinstance(geometry, MultiLineString):
        merged = shapely.line_merge(geometry)
        if merged.geom_type != "LineString":
            raise fail("a corridor must be one continuous line (got several disconnected parts)")
        geometry = merged
    if geometry.geom_type != "LineString":
        raise fail(f"a corridor must be a line, got a {geometry.geom_type}")
    coords = np.asarray(geometry.coords)[:, :2]
    if not np.isfinite(coords).all() or (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise fail("coordinates must be longitude/latitude in degrees (EPSG:4326)")
    # drop repeated vertices (double clicks when drawing)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    coords = coords[keep]
    if len(coords) < 2:
        raise fail("zero-length line: it needs at least two different points")
    line = LineString(coords)
    if geodesic_length_km(line) * 1000 < MIN_LENGTH_M:
        raise fail(f"zero-length line: shorter than {MIN_LENGTH_M:g} m")
    cross = _self_crossing(line)
    if cross is not None:
        raise fail(f"the line crosses itself near lat {cross[1]:.5f}, lon {cross[0]:.5f}; redraw it without loops")
    return line


def _seg_minutes(graph: RoadGraph, seg: np.ndarray, damaged_time_factor: float) -> np.ndarray:
    speed = graph.seg_speed[seg]
    status = graph.seg_status[seg]
    minutes = graph.seg_length_km[seg] / speed * 60.0
    return np.where(status == "damaged", minutes * damaged_time_factor, minutes)


def _candidates(graph: RoadGraph, bounds: Sequence[float], margin_m: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Road rows whose bounding box is within ``margin_m`` of ``bounds`` (lon/lat)."""
    x0, y0, x1, y1 = bounds
    dlat = margin_m / 110_000.0
    dlon = margin_m / (111_320.0 * max(np.cos(np.radians(max(abs(y0), abs(y1)))), 0.05))
    b = graph.seg_bounds
    hit = (b[:, 0] <= x1 + dlon) & (b[:, 2] >= x0 - dlon) & (b[:, 1] <= y1 + dlat) & (b[:, 3] >= y0 - dlat)
    if mask is not None:
        hit &= mask
    return np.flatnonzero(hit)


def _distances_within(geoms_m: np.ndarray, line_m: BaseGeometry, within_m: float) -> np.ndarray:
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


def _to_metric_geoms(graph: RoadGraph, geoms: np.ndarray) -> np.ndarray:
    if not len(geoms):
        return np.asarray([], dtype=object)
    return np.asarray(project(np.asarray(geoms, dtype=object), graph.threat.to_metric), dtype=object)


def _points_table(frame: gpd.GeoDataFrame | None, line_m: BaseGeometry, graph: RoadGraph, within_km: float,
                  columns: Sequence[str]) -> list[dict[str, Any]]:
    if frame is None or not len(frame):
        return []
    f = frame.reset_index(drop=True)
    b = line_m.bounds
    # coarse filter in lon/lat around the line, then exact metric distance
    lonlat = np.column_stack(graph.threat.to_metric.transform([b[0], b[2]], [b[1], b[3]], direction="INVERSE"))
    pad_deg = within_km / 70.0 + 0.01
    reps = shapely.get_coordinates(f.geometry.representative_point())
    near = ((reps[:, 0] >= lonlat[:, 0].min() - pad_deg) & (reps[:, 0] <= lonlat[:, 0].max() + pad_deg)
            & (reps[:, 1] >= lonlat[:, 1].min() - pad_deg) & (reps[:, 1] <= lonlat[:, 1].max() + pad_deg))
    f = f[near]
    if not len(f):
        return []
    d_km = _distances_within(_to_metric_geoms(graph, f.geometry.values), line_m, within_km * 1000.0) / 1000.0
    f = f.assign(distance_km=np.round(d_km, 3))[d_km <= within_km].sort_values(["distance_km", "id"])
    cols = [c for c in columns if c in f.columns]
    out = []
    for rec in f[[*cols, "distance_km"]].to_dict("records"):
        out.append({k: (None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else
                        (int(v) if isinstance(v, (np.integer,)) else (bool(v) if isinstance(v, np.bool_) else v)))
                    for k, v in rec.items()})
    return out


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
) -> dict[str, Any]:
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

    Returns
    -------
    dict with ``length_km, travel_time_min, band_km, beyond_km, occupied_km, min_frontline_km,
    crosses_front_line, hazards, hazard_counts, passable, shelters, shelter_summary, medical,
    window, on_road_km, off_road_km, geometry``.
    """
    if buffer_km < 0 or hazard_m < 0 or piece_m <= 0 or offroad_kmh <= 0:
        raise AnalysisError("buffer, hazard distance, piece length and off-road speed must be positive")
    line = check_corridor_line(line) if check else LineString(np.asarray(line.coords)[:, :2])
    threat = graph.threat
    length_km = geodesic_length_km(line)
    line_m = project(line, threat.to_metric)
    metric_len = line_m.length
    dense = shapely.segmentize(line_m, piece_m)
    c = shapely.get_coordinates(dense)
    a, b = c[:-1], c[1:]
    piece_len = np.hypot(*(b - a).T) * (length_km * 1000.0 / metric_len if metric_len > 0 else 0.0) / 1000.0
    mid = (a + b) / 2
    mid_pts = shapely.points(mid)
    mlon, mlat = threat.to_metric.transform(mid[:, 0], mid[:, 1], direction="INVERSE")
    piece_front = threat.distance_km(shapely.points(mlon, mlat), exact_near_km=threat.bands_km)
    piece_occ = threat.occupied_mask(mlon, mlat)
    band_idx = threat.band_index(piece_front)
    labels = band_labels(threat.bands_km)
    band_km = {lab: round(float(piece_len[(band_idx == i) & ~piece_occ].sum()), 3) for i, lab in enumerate(labels)}
    beyond_km = float(piece_len[(band_idx == len(labels)) & ~piece_occ].sum())
    occupied_km = float(piece_len[piece_occ].sum())
    if threat.has_front:
        min_front = float(threat.distance_km(np.array([line], dtype=object), exact=True)[0])
        crosses = bool(shapely.intersects(line, threat.front_line_used)) if threat.front_line_used is not None else False
    else:
        min_front, crosses = None, False

    # ---- travel time
    roads = graph.roads
    if road_ids is not None:
        seg = graph.road_rows(road_ids)
        minutes = float(_seg_minutes(graph, seg, damaged_time_factor).sum())
        on_road_km, off_road_km = length_km, 0.0
    else:
        cand = _candidates(graph, line.bounds, match_m + piece_m)
        piece_min = piece_len / offroad_kmh * 60.0
        matched = np.zeros(len(piece_len), dtype=bool)
        if len(cand):
            cand_m = _to_metric_geoms(graph, roads.geometry.values[cand])
            tree = shapely.STRtree(cand_m)
            (src, tgt), _ = tree.query_nearest(mid_pts, max_distance=match_m, return_distance=True, all_matches=False)
            seg = cand[tgt]
            speed = graph.seg_speed[seg]
            status = graph.seg_status[seg]
            t = piece_len[src] / speed * 60.0
            piece_min[src] = np.where(status == "damaged", t * damaged_time_factor, t)
            matched[src] = True
        minutes = float(piece_min.sum())
        on_road_km = float(piece_len[matched].sum())
        off_road_km = float(piece_len[~matched].sum())

    # ---- hazards within hazard_m
    hazards: list[dict[str, Any]] = []
    status_all = graph.seg_status
    bad = _candidates(graph, line.bounds, hazard_m + 50, mask=status_all != "open")
    if len(bad):
        d = _distances_within(_to_metric_geoms(graph, roads.geometry.values[bad]), line_m, hazard_m)
        for r, dist in zip(bad[d <= hazard_m], d[d <= hazard_m], strict=True):
            row = roads.iloc[int(r)]
            hazards.append({"type": f"{status_all[r]}_road", "id": str(row["id"]),
                            "name": None if pd.isna(row.get("name")) else str(row.get("name")),
                            "distance_m": round(float(dist), 1), "crossed": bool(dist < 1.0)})
    br = graph.destroyed_bridges
    if len(br):
        d = _distances_within(_to_metric_geoms(graph, br.geometry.values), line_m, hazard_m)
        for i in np.flatnonzero(d <= hazard_m):
            row = br.iloc[int(i)]
            hazards.append({"type": "destroyed_bridge", "id": str(row["id"]),
                            "name": None if pd.isna(row.get("name")) else str(row.get("name")),
                            "road_id": None if pd.isna(row.get("road_id")) else str(row.get("road_id")),
                            "distance_m": round(float(d[i]), 1), "crossed": bool(d[i] <= BRIDGE_CROSSED_M)})
    hazards.sort(key=lambda h: (h["distance_m"], h["type"], h["id"]))
    counts: dict[str, int] = {}
    for h in hazards:
        counts[h["type"]] = counts.get(h["type"], 0) + 1
    passable = not any(h["crossed"] and h["type"] in ("impassable_road", "destroyed_bridge") for h in hazards)

    # ---- shelters and medical points
    shelter_rows = _points_table(shelters, line_m, graph, buffer_km,
                                 ("id", "name", "kind", "status", "capacity", "occupancy", "accessible"))
    medical = [dict(r, source_layer="shelters") for r in shelter_rows if r.get("kind") == "medical"]
    medical += [dict(r, source_layer="infrastructure") for r in
                _points_table(health, line_m, graph, buffer_km, ("id", "name", "sector", "damage"))]
    medical.sort(key=lambda r: (r["distance_km"], str(r["id"])))
    open_rows = [r for r in shelter_rows if r.get("status") == "open"]
    cap_open = sum(int(r.get("capacity") or 0) for r in open_rows)
    occ_open = sum(int(r.get("occupancy") or 0) for r in open_rows)
    summary = {"count": len(shelter_rows), "open": len(open_rows), "capacity_open": cap_open,
               "spare_open": max(cap_open - occ_open, 0), "medical": len(medical)}

    # ---- time window
    ws = to_utc(window_start) if window_start not in (None, "") and not pd.isna(window_start) else None
    we = to_utc(window_end) if window_end not in (None, "") and not pd.isna(window_end) else None
    if ws is not None and we is not None and we <= ws:
        raise ValidationError("the time window is not valid; nothing was evaluated or saved",
                              [Problem(None, "window_end", "the window must end after it starts")])
    hours = (we - ws).total_seconds() / 3600 if ws is not None and we is not None else None
    window = {"start": iso(ws), "end": iso(we), "hours": None if hours is None else round(hours, 2),
              "travel_fits": None if hours is None else bool(minutes <= hours * 60)}

    return {
        "length_km": round(length_km, 3),
        "travel_time_min": round(minutes, 1),
        "band_km": band_km,
        "beyond_km": round(beyond_km, 3),
        "occupied_km": round(occupied_km, 3),
        "min_frontline_km": None if min_front is None else round(min_front, 3),
        "crosses_front_line": crosses,
        "passable": passable,
        "hazards": hazards,
        "hazard_counts": counts,
        "on_road_km": round(on_road_km, 3),
        "off_road_km": round(off_road_km, 3),
        "shelter_summary": summary,
        "shelters": shelter_rows,
        "medical": medical,
        "window": window,
        "as_of": None if graph.as_of is None else iso(graph.as_of),
        "geometry": mapping(line),
    }


def lines_from_geojson(data: dict | gpd.GeoDataFrame) -> list[tuple[dict[str, Any], BaseGeometry | None]]:
    """``(properties, geometry)`` for each feature of a GeoJSON FeatureCollection/Feature/geometry dict."""
    from shapely.geometry import shape

    if isinstance(data, gpd.GeoDataFrame):
        props = data.drop(columns=data.geometry.name).to_dict("records")
        return list(zip(props, data.geometry.values, strict=True))
    if not isinstance(data, dict):
        raise ValidationError("not a GeoJSON object", [Problem(None, None, "expected a JSON object")])
    kind = data.get("type")
    if kind == "FeatureCollection":
        feats = data.get("features") or []
    elif kind == "Feature":
        feats = [data]
    elif kind in ("LineString", "MultiLineString", "Point", "Polygon", "MultiPoint", "MultiPolygon"):
        feats = [{"type": "Feature", "properties": {}, "geometry": data}]
    else:
        raise ValidationError("not a GeoJSON FeatureCollection, Feature or geometry",
                              [Problem(None, "type", f"unexpected type {kind!r}")])
    out = []
    for i, f in enumerate(feats, start=1):
        g = f.get("geometry") if isinstance(f, dict) else None
        try:
            geom = shape(g) if g else None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise ValidationError("the GeoJSON has an unreadable geometry",
                                  [Problem(i, "geometry", f"cannot read geometry: {exc}")]) from None
        out.append((dict(f.get("properties") or {}) if isinstance(f, dict) else {}, geom))
    return out
