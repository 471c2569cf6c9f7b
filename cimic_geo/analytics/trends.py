"""Series over the history, at the snapshot times: population within each threat band, shelter places
used, open damage by sector and corridors by status (the trend charts of the COP and the brief).

Pure functions of the layers' versions (:func:`cimic_geo.store.trend_reads.trend_inputs`). At national
scale (tens of thousands of settlements, 90 snapshots) the cost is in the distances to the front: each
distinct settlement position is measured once per distinct front (a front repeated at several
snapshots is measured once), vectorised (:func:`cimic_geo.analytics.front_distance.prepare_front`);
everything else is a mask over the version intervals per time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics.bands import BEYOND, OCCUPIED, band_labels, check_bands, classify_bands
from cimic_geo.analytics.front_distance import prepare_front
from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.schema import CORRIDOR_STATUSES, DAMAGE_LEVELS, SECTORS

_DAMAGED = tuple(d for d in DAMAGE_LEVELS if d != "none")
_TAKING = ("open", "full")


@dataclass
class Trends:
    """Series indexed by the snapshot times (UTC).

    ``population``: people per threat band (columns the band labels, ``beyond`` and ``occupied``);
    ``shelters``: ``capacity`` and ``occupancy`` of open and full shelters and ``used`` (their ratio, NaN
    without places); ``damage``: damaged, not restored objects per sector (every sector);
    ``corridors``: corridors per status (every status).
    """

    population: pd.DataFrame
    shelters: pd.DataFrame
    damage: pd.DataFrame
    corridors: pd.DataFrame

    @property
    def times(self) -> list[pd.Timestamp]:
        return list(self.population.index)


def in_force(valid_from: pd.Series, valid_to: pd.Series, t: pd.Timestamp) -> np.ndarray:
    """True for the versions in force at ``t`` (``valid_from <= t < valid_to``; NaT ``valid_to``: still)."""
    to = valid_to.to_numpy(dtype="datetime64[ns]") if len(valid_to) else np.array([], dtype="datetime64[ns]")
    fr = valid_from.to_numpy(dtype="datetime64[ns]") if len(valid_from) else np.array([], dtype="datetime64[ns]")
    tn = np.datetime64(pd.Timestamp(t).tz_convert("UTC").tz_localize(None), "ns")
    return (fr <= tn) & (np.isnat(to) | (tn < to))


def _index(times: Sequence[pd.Timestamp]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(times), name="time")


def population_series(times: Sequence[pd.Timestamp], settlements: pd.DataFrame, front_line: gpd.GeoDataFrame | None,
                      occupied_area: gpd.GeoDataFrame | None, *,
                      bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> pd.DataFrame:
    """People per threat band at each time (settlement versions in force then, front in force then).

    ``settlements``: ``population``, ``valid_from``, ``valid_to``, ``geometry`` (one row per version).
    A time without a front line gives zeros but in ``beyond`` (nothing is threatened: everything is beyond).
    """
    edges = check_bands(bands_km)
    columns = [*band_labels(edges), BEYOND, OCCUPIED]
    out = pd.DataFrame(0, index=_index(times), columns=columns, dtype="int64")
    if not len(settlements):
        return out
    geoms = np.asarray(settlements["geometry"], dtype=object)
    codes, uniques = pd.factorize(shapely.to_wkb(geoms))
    points = shapely.from_wkb(np.asarray(uniques, dtype=object))
    pop = pd.to_numeric(settlements["population"], errors="coerce").fillna(0).to_numpy(dtype="int64")
    bounds = shapely.total_bounds(points)
    tree, max_lat = shapely.STRtree(points), float(max(abs(bounds[1]), abs(bounds[3])))
    fronts: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[Any, np.ndarray, np.ndarray, np.ndarray]] = {}
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    fl = front_line if front_line is not None else empty
    oa = occupied_area if occupied_area is not None else empty
    for t in times:
        live = in_force(settlements["valid_from"], settlements["valid_to"], t)
        if not live.any():
            continue
        f_rows = np.flatnonzero(in_force(fl["valid_from"], fl["valid_to"], t)) if len(fl) else np.array([], int)
        o_rows = np.flatnonzero(in_force(oa["valid_from"], oa["valid_to"], t)) if len(oa) else np.array([], int)
        if not len(f_rows) and not len(o_rows):
            out.loc[t, BEYOND] = int(pop[live].sum())
            continue
        key = (tuple(f_rows), tuple(o_rows))
        if key not in fronts:  # one preparation per distinct front
            lines, areas = np.asarray(fl.geometry.values)[f_rows], np.asarray(oa.geometry.values)[o_rows]
            front = prepare_front(lines, areas, extent=tuple(bounds))
            near = np.zeros(len(points), dtype=bool)
            near[_near(tree, lines if len(lines) else shapely.boundary(areas), edges[-1] + 1.0, max_lat)] = True
            fronts[key] = (front, near, np.full(len(points), np.nan), np.zeros(len(points), dtype=np.int8))
        front, near, dist, occ = fronts[key]
        # each distinct position in force is measured once per front: those near the front exactly, the
        # others are beyond every band (occupied or not)
        need = np.unique(codes[live])
        need = need[np.isnan(dist[need])]
        if len(need):
            close = need[near[need]]
            dist[need] = np.inf
            if len(close):
                dist[close] = front.distance_km(points[close], exact_near_km=edges)
            occ[need] = front.occupied(points[need])
        dist, occ = dist[codes[live]], occ[codes[live]].astype(bool)
        labels = classify_bands(dist, occupied=occ, bands_km=edges)
        sums = pd.Series(pop[live]).groupby(labels).sum()
        for label, value in sums.items():
            if label in out.columns:
                out.loc[t, label] = int(value)
    return out


def _near(tree: shapely.STRtree, lines: np.ndarray, km: float, max_lat: float) -> np.ndarray:
    """Indices of the points (in ``tree``) that may lie within ``km`` of ``lines``: a point within ``km``
    (geodesic) differs by at most km / 110 degrees in latitude and km / (110 cos(lat)) in longitude, so it is
    within sqrt(2) times the larger of the two in plain lon/lat degrees; farther points are beyond every
    band and need no exact distance (at national scale most of them)."""
    cos = max(np.cos(np.radians(min(max_lat + 1.0, 89.0))), 1e-3)
    radius = 1.4143 * km / (110.0 * cos)
    hits = tree.query(np.asarray(lines, dtype=object), predicate="dwithin", distance=radius)
    return np.unique(hits[1]) if hits.size else np.array([], dtype=int)


def shelter_series(times: Sequence[pd.Timestamp], shelters: pd.DataFrame) -> pd.DataFrame:
    """Places (``capacity``) and people (``occupancy``) in open and full shelters, and ``used`` = their ratio."""
    rows = []
    taking = shelters["status"].isin(_TAKING).to_numpy() if len(shelters) else np.array([], bool)
    cap = pd.to_numeric(shelters.get("capacity"), errors="coerce").fillna(0).to_numpy() if len(shelters) else taking
    occ = pd.to_numeric(shelters.get("occupancy"), errors="coerce").fillna(0).to_numpy() if len(shelters) else taking
    for t in times:
        m = (in_force(shelters["valid_from"], shelters["valid_to"], t) & taking) if len(shelters) else taking
        c, o = int(cap[m].sum()), int(occ[m].sum())
        rows.append({"capacity": c, "occupancy": o, "used": o / c if c else np.nan})
    return pd.DataFrame(rows, index=_index(times), columns=["capacity", "occupancy", "used"])


def damage_series(times: Sequence[pd.Timestamp], infrastructure: pd.DataFrame) -> pd.DataFrame:
    """Damaged objects not yet restored per sector (every sector of the schema) at each time."""
    out = pd.DataFrame(0, index=_index(times), columns=list(SECTORS), dtype="int64")
    if not len(infrastructure):
        return out
    open_ = (infrastructure["damage"].isin(_DAMAGED)
             & (infrastructure["restoration"].astype(object) != "restored")).to_numpy()
    sector = infrastructure["sector"].astype(str).to_numpy()
    for t in times:
        m = in_force(infrastructure["valid_from"], infrastructure["valid_to"], t) & open_
        for s, n in zip(*np.unique(sector[m], return_counts=True), strict=True):
            if s in out.columns:
                out.loc[t, s] = int(n)
    return out


def corridor_series(times: Sequence[pd.Timestamp], corridor_log: pd.DataFrame, corridors: pd.DataFrame) -> pd.DataFrame:
    """Corridors per status at each time: the status after a corridor's last logged change at or before
    the time (not counted before its first); a corridor with no logged change counts at its current status."""
    out = pd.DataFrame(0, index=_index(times), columns=list(CORRIDOR_STATUSES), dtype="int64")
    log = corridor_log.sort_values("changed_at", kind="stable")
    logged = set(log["corridor_id"].astype(str))
    unlogged = corridors[~corridors["id"].astype(str).isin(logged)]["status"].value_counts()
    for t in times:
        last = log[log["changed_at"] <= t].groupby("corridor_id")["to_status"].last().value_counts()
        for status in CORRIDOR_STATUSES:
            out.loc[t, status] = int(last.get(status, 0)) + int(unlogged.get(status, 0))
    return out


def compute_trends(*, times: Sequence[pd.Timestamp], settlements: pd.DataFrame, shelters: pd.DataFrame,
                   infrastructure: pd.DataFrame, front_line: gpd.GeoDataFrame | None,
                   occupied_area: gpd.GeoDataFrame | None, corridor_log: pd.DataFrame, corridors: pd.DataFrame,
                   bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> Trends:
    """Every series at ``times`` (see :class:`Trends`; inputs from
    :func:`cimic_geo.store.trend_reads.trend_inputs`)."""
    times = [pd.Timestamp(t).tz_convert("UTC") for t in times]
    return Trends(population=population_series(times, settlements, front_line, occupied_area, bands_km=bands_km),
                  shelters=shelter_series(times, shelters), damage=damage_series(times, infrastructure),
                  corridors=corridor_series(times, corridor_log, corridors))
