"""Building the road graph from a roads layer: noding, passable pieces, travel times and the threat.

:func:`build_road_graph` cuts the lines at every shared vertex
(:func:`cimic_geo.analytics.road_noding.node_lines`), leaves out impassable roads and roads carrying
a destroyed bridge, weights the pieces by travel time and measures each one's distance to the front
line; the result is a :class:`~cimic_geo.analytics.roadgraph.RoadGraph` (which re-exports these
functions). :func:`connectivity_note` builds a graph to tell an import whether its roads connect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.bands import DEFAULT_BANDS_KM
from cimic_geo.analytics.road_cache import vertices_crs
from cimic_geo.analytics.road_noding import node_lines, node_vertices, piece_lines
from cimic_geo.analytics.road_policy import DAMAGED_TIME_FACTOR
from cimic_geo.analytics.road_threat import ThreatGeometry, edge_front_km, union_geometry
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import metric_crs
from cimic_geo.i18n import _, fmt_int, fmt_percent

if TYPE_CHECKING:  # imported where the graph is made: roadgraph re-exports this module's functions
    from cimic_geo.analytics.roadgraph import RoadGraph

__all__ = ["build_road_graph", "connectivity_note", "destroyed_bridge_rows"]




def destroyed_bridge_rows(infrastructure: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Infrastructure rows that are destroyed bridges (any geometry)."""
    if infrastructure is None or not len(infrastructure):
        return gpd.GeoDataFrame({"id": [], "name": [], "road_id": []}, geometry=[], crs="EPSG:4326")
    inf = infrastructure
    mask = (inf["sector"] == "bridge") & (inf["damage"] == "destroyed")
    cols = [c for c in ("id", "name", "road_id", "damage") if c in inf.columns]
    return inf.loc[mask, [*cols, inf.geometry.name]].reset_index(drop=True)


def _flag(roads: gpd.GeoDataFrame, column: str) -> np.ndarray:
    if column not in roads.columns:
        return np.zeros(len(roads), dtype=bool)
    return roads[column].astype("boolean").fillna(False).to_numpy(bool)


def build_road_graph(
    roads: gpd.GeoDataFrame,
    *,
    front_line: gpd.GeoDataFrame | BaseGeometry | None = None,
    occupied: gpd.GeoDataFrame | BaseGeometry | None = None,
    infrastructure: gpd.GeoDataFrame | None = None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
    as_of: Any = None,
    damaged_time_factor: float = DAMAGED_TIME_FACTOR,
    precision: int = 6,
    front_cap_km: float | None = None,
    vertices: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> RoadGraph:
    """Build the routable road graph.

    Parameters
    ----------
    roads : the ``roads`` layer (EPSG:4326 LineStrings with ``id``, ``speed_kmh``, ``status``;
        optional ``oneway``: drivable in the line's direction only)
    front_line, occupied : rows in force at the as-of time (or one geometry each)
    infrastructure : for destroyed bridges (sector ``bridge``, damage ``destroyed``, ``road_id``)
    bands_km : threat band outer edges (default 5, 20, 40)
    as_of : the time the front line is taken at (kept for display)
    damaged_time_factor : travel-time multiplier for ``damaged`` segments
    precision : decimals of lon/lat identifying a shared vertex (6 ≈ 0.1 m)
    front_cap_km : edge distances to the front line are computed exactly up to this distance
        (default: the outer band + 10 km) and stored as inf beyond; a policy that
        avoids a wider area extends the computation on demand, so the avoided area has no cap
    vertices : the rows' lines as (lon/lat vertices, first vertex of each row, last vertex of each
        row), every row's vertices in order and no vertex repeating the one before (as a graph keeps
        them: :func:`cimic_geo.analytics.road_cache.kept_vertices`) instead of ``roads``' geometry,
        which it then need not have

    Raises
    ------
    AnalysisError
        No roads, missing columns, non-line geometries or invalid speeds.
    """
    if roads is None or not len(roads):
        raise AnalysisError(_("no roads to build a road graph from; load or seed the roads layer first"))
    missing = [c for c in ("id", "speed_kmh", "status") if c not in roads.columns]
    if missing:
        raise AnalysisError(f"roads: missing columns {missing}")
    if vertices is None and roads.crs is not None and roads.crs.to_epsg() != 4326:
        roads = roads.to_crs(4326)
    roads = roads.reset_index(drop=True)
    if vertices is None:
        geoms = np.asarray(roads.geometry.values, dtype=object)
        types = shapely.get_type_id(geoms)
        bad = np.flatnonzero(types != 1)
        if len(bad):
            raise AnalysisError(f"roads: row {bad[0] + 1} (id {roads['id'].iloc[bad[0]]}) is not a LineString")
    elif len(vertices[1]) != len(roads):
        raise AnalysisError(f"roads: {len(roads)} rows but vertices of {len(vertices[1])}")
    speed = pd.to_numeric(roads["speed_kmh"], errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~(speed > 0))
    if len(bad):
        raise AnalysisError(f"roads: row {bad[0] + 1} (id {roads['id'].iloc[bad[0]]}) field 'speed_kmh' must be > 0")
    if damaged_time_factor < 1:
        raise AnalysisError(f"damaged_time_factor must be >= 1, got {damaged_time_factor}")
    m = len(roads)
    if vertices is None:
        noded = node_lines(geoms, precision=precision)
    else:
        coords, v0, v1 = (np.asarray(a) for a in vertices)
        noded = node_vertices(coords, np.repeat(np.arange(m), v1 - v0 + 1), rows=m, precision=precision)

    status = roads["status"].astype(str).to_numpy()
    bridges = destroyed_bridge_rows(infrastructure)
    destroyed_ids = set(bridges["road_id"].dropna().astype(str)) if "road_id" in bridges else set()
    on_destroyed = roads["id"].astype(str).isin(destroyed_ids).to_numpy() if destroyed_ids else np.zeros(m, bool)
    impassable = status == "impassable"
    row_ok = ~impassable & ~on_destroyed
    e = np.flatnonzero(row_ok[noded.piece_row] & (noded.piece_u != noded.piece_v))
    rows = noded.piece_row[e]
    length = noded.piece_length_km[e]
    minutes = length / speed[rows] * 60.0
    minutes = np.where(status[rows] == "damaged", minutes * float(damaged_time_factor), minutes)
    u, v = noded.piece_u[e], noded.piece_v[e]
    c0, c1 = noded.piece_c0[e], noded.piece_c1[e]

    # the lines' extent; from the vertices as a graph read back from its folder takes it (a dropped repeated
    # vertex lies within 0.1 m of the one kept)
    crs = metric_crs(roads.total_bounds) if vertices is None else vertices_crs(noded.coords)
    threat = ThreatGeometry(union_geometry(front_line), union_geometry(occupied), crs=crs, bands_km=bands_km)
    node_lonlat = noded.node_lonlat
    nx_, ny_ = threat.to_metric.transform(node_lonlat[:, 0], node_lonlat[:, 1])

    # distance of each passable edge to the front line (geodesic) and occupied side
    if front_cap_km is None:
        front_cap_km = threat.bands_km[-1] + 10.0
    front_km = np.full(len(e), np.inf)
    occ = np.zeros(len(e), dtype=bool)
    if len(e):
        if threat.has_front:
            front_km = edge_front_km(threat, node_lonlat, u, v, length,
                                     lambda i: piece_lines(noded.coords, c0[i], c1[i]), front_cap_km)
        if threat.occupied is not None:
            # midpoint of the end points (pieces are short; exact for 2-point pieces)
            mid = (noded.coords[c0] + noded.coords[c1]) / 2.0
            occ = threat.occupied_mask(mid[:, 0], mid[:, 1])

    from cimic_geo.analytics.roadgraph import RoadGraph

    return RoadGraph(
        node_lonlat=node_lonlat,
        node_xy=np.column_stack([nx_, ny_]),
        edge_u=u,
        edge_v=v,
        edge_seg=rows,
        edge_length_km=length,
        edge_minutes=minutes,
        edge_front_km=front_km,
        edge_occupied=occ,
        edge_oneway=_flag(roads, "oneway")[rows],
        edge_c0=c0,
        edge_c1=c1,
        coords=noded.coords,
        road_table=roads,
        seg_v0=np.searchsorted(noded.vertex_row, np.arange(m)),
        seg_v1=np.searchsorted(noded.vertex_row, np.arange(m), side="right") - 1,
        seg_length_km=noded.row_length_km,
        seg_speed=speed,
        seg_status=status,
        seg_bounds=shapely.bounds(geoms) if vertices is None else None,  # None: from the vertices on first use
        destroyed_bridges=bridges,
        threat=threat,
        as_of=None if as_of is None else pd.Timestamp(as_of),
        removed_impassable=int(impassable.sum()),
        removed_bridges=int((on_destroyed & ~impassable).sum()),
        front_cap_km=float(front_cap_km),
    )


def connectivity_note(roads: gpd.GeoDataFrame) -> str | None:
    """A sentence for the import report when the roads do not form one connected network (None when
    they do): how many pieces, and the share of road length in the largest."""
    frame = roads[["id", "speed_kmh", "status", *(["oneway"] if "oneway" in roads.columns else []),
                   roads.geometry.name]].copy()
    frame["status"] = "open"
    frame = frame[shapely.get_type_id(np.asarray(frame.geometry.values, dtype=object)) == 1]
    if not len(frame):
        return None
    conn = build_road_graph(frame).connectivity()
    if conn.components <= 1:
        return None
    return _("the roads form {pieces} separate pieces that do not connect (no shared vertex); the largest holds "
             "{share} of the road length; routes cannot join the pieces").format(
        pieces=fmt_int(conn.components), share=fmt_percent(conn.largest_share, digits=0))

