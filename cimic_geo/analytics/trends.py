"""Series over the history, at the snapshot times: population within each threat band, shelter places
used, open damage by sector and corridors by status (the trend charts of the COP and the brief).

Pure functions of the layers' versions (:func:`cimic_geo.store.trend_reads.trend_inputs`). At national
scale (tens of thousands of settlements, 90 snapshots) the cost is in the bands of the settlements: each
distinct position is classified once per distinct front (a front repeated at several snapshots once),
from bounds of its distance to the front, and measured exactly only near a band edge (see
:func:`population_series`); everything else is a mask over the version intervals per time. The series
of a store are kept beside it between runs (:mod:`cimic_geo.analytics.trend_cache`).
"""

from __future__ import annotations

import itertools
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

    Each distinct position is classified once per distinct front. A band needs no exact distance, only
    the interval it lies in: the front is sampled every <= :data:`_SAMPLE_KM` along its geodesics, and the
    nearest sample (k-d tree in earth-centred coordinates) bounds a point's geodesic distance from below
    (the chord, less half the spacing) and from above (the geodesic to that sample); the few points with
    a band edge inside their interval are measured exactly (:meth:`Front.distance_km
    <cimic_geo.analytics.front_distance.Front.distance_km>`, as every other analysis measures), the others
    take a distance inside their interval: the bands are those of the exact distances.
    """
    edges = check_bands(bands_km)
    columns = [*band_labels(edges), BEYOND, OCCUPIED]
    out = pd.DataFrame(0, index=_index(times), columns=columns, dtype="int64")
    if not len(settlements):
        return out
    geoms = np.asarray(settlements["geometry"], dtype=object)
    codes, uniques = pd.factorize(shapely.to_wkb(geoms))
    pos = _Positions(shapely.from_wkb(np.asarray(uniques, dtype=object)))
    pop = pd.to_numeric(settlements["population"], errors="coerce").fillna(0).to_numpy(dtype="int64")
    fronts: dict[tuple[tuple[int, ...], tuple[int, ...]], _FrontBands] = {}
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    fl = front_line if front_line is not None else empty
    oa = occupied_area if occupied_area is not None else empty
    at: list[tuple[pd.Timestamp, np.ndarray, tuple[tuple[int, ...], tuple[int, ...]] | None]] = []
    for t in times:
        live = in_force(settlements["valid_from"], settlements["valid_to"], t)
        if not live.any():
            continue
        f_rows = np.flatnonzero(in_force(fl["valid_from"], fl["valid_to"], t)) if len(fl) else np.array([], int)
        o_rows = np.flatnonzero(in_force(oa["valid_from"], oa["valid_to"], t)) if len(oa) else np.array([], int)
        key = (tuple(f_rows), tuple(o_rows)) if len(f_rows) or len(o_rows) else None
        if key is not None and key not in fronts:  # one preparation per distinct front
            fronts[key] = _FrontBands(np.asarray(fl.geometry.values)[f_rows], np.asarray(oa.geometry.values)[o_rows],
                                      pos, edges)
        at.append((t, live, key))
    pos.near_any(list(fronts.values()))
    for t, live, key in at:
        if key is None:
            out.loc[t, BEYOND] = int(pop[live].sum())
            continue
        labels = fronts[key].labels(codes[live])
        sums = pd.Series(pop[live]).groupby(labels).sum()
        for label, value in sums.items():
            if label in out.columns:
                out.loc[t, label] = int(value)
    return out


#: Spacing (km) of the front samples that bound the distances (a point's interval is about as wide).
_SAMPLE_KM = 0.1
#: Every how many samples the first cut (points near the line at all) looks at.
_COARSE = 50


class _Positions:
    """The distinct settlement positions: geometries, lon/lat and earth-centred coordinates of the points,
    the metric CRS of their extent (the one :func:`prepare_front` would choose) and its transformer."""

    def __init__(self, geoms: np.ndarray) -> None:
        import pyproj

        from cimic_geo.geo import WGS84, ecef, metric_crs

        self.geoms = geoms
        self.is_point = shapely.get_type_id(geoms) == 0
        xy = np.zeros((len(geoms), 2))
        xy[self.is_point] = shapely.get_coordinates(geoms[self.is_point])
        self.lonlat, self.xyz = xy, ecef(xy[:, 0], xy[:, 1])
        self.crs = metric_crs(tuple(float(b) for b in shapely.total_bounds(geoms)))
        self.fwd = pyproj.Transformer.from_crs(WGS84, self.crs, always_xy=True)
        self.near = np.ones(len(geoms), dtype=bool)

    def near_any(self, fronts: Sequence[_FrontBands]) -> None:
        """Mark the points that may lie within the outer band edge of any of ``fronts`` (the others are
        beyond every band at every time): one query against the coarse samples of all of them."""
        from scipy.spatial import cKDTree

        lines = [f for f in fronts if f.samples()[0] is not None]
        if not lines:
            return
        coarse = np.concatenate([f.coarse for f in lines])
        cut = max(f.coarse_km for f in lines)
        d, _i = cKDTree(coarse).query(self.xyz, distance_upper_bound=cut * 1000.0 + 1.0)
        self.near = np.isfinite(d) | ~self.is_point


class _FrontBands:
    """Distances and occupied side of the positions for one front (the line and occupied-area rows in
    force), each position classified on first use."""

    def __init__(self, lines: np.ndarray, areas: np.ndarray, pos: _Positions, edges: Sequence[float]) -> None:
        from cimic_geo.analytics.bands import EDGE_TOLERANCE_KM
        from cimic_geo.analytics.front_distance import valid_mask

        self.lines, self.areas, self.pos, self.edges = lines, areas, pos, list(edges)
        self.cut = np.asarray(edges, dtype=float) + EDGE_TOLERANCE_KM  # where the labels change
        self.dist = np.full(len(pos.geoms), np.nan)
        self.occ = np.zeros(len(pos.geoms), dtype=bool)
        self.done = np.zeros(len(pos.geoms), dtype=bool)
        valid = areas[valid_mask(areas)] if len(areas) else areas
        self.occ_geom = shapely.union_all(valid) if len(valid) else None
        if self.occ_geom is not None:
            shapely.prepare(self.occ_geom)
        self._front: Any = None
        self._samples: tuple[Any, np.ndarray, float] | None = None
        self.coarse, self.coarse_km = np.empty((0, 3)), 0.0
        self._coarse_tree: Any = None
        self._segments: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def front(self) -> Any:
        """The front prepared for exact distances (built when a position needs one)."""
        if self._front is None:
            self._front = prepare_front(self.lines, self.areas, crs=self.pos.crs, fwd=self.pos.fwd)
        return self._front

    def samples(self) -> tuple[Any, np.ndarray, float]:
        """k-d tree of the samples (earth-centred), their lon/lat and half the largest spacing (km), on the
        line :func:`prepare_front` measures to (the occupied area's boundary when there is no line)."""
        if self._samples is None:
            from scipy.spatial import cKDTree

            from cimic_geo.analytics.front_distance import _line_parts, _segments_lonlat, front_line_from_occupied
            from cimic_geo.geo import GEOD, ecef

            lines = _line_parts(self.lines)
            if not len(lines) and self.occ_geom is not None:
                lines = np.array([front_line_from_occupied(self.areas)], dtype=object)
            seg = _segments_lonlat(lines) if len(lines) else np.empty((0, 4))
            if not len(seg):
                self._samples = (None, np.empty((0, 2)), 0.0)
                return self._samples
            az, _, length = GEOD.inv(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3])
            length = np.asarray(length, dtype=float)
            n = np.maximum(np.ceil(length / (_SAMPLE_KM * 1000.0)).astype(np.int64), 1)
            owner = np.repeat(np.arange(len(seg)), n + 1)
            step = np.arange(len(owner)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)  # 0..n per segment
            lon, lat, _ = GEOD.fwd(seg[owner, 0], seg[owner, 1], np.asarray(az, dtype=float)[owner],
                                   length[owner] * step / n[owner])
            xyz = ecef(lon, lat)
            self._samples = (cKDTree(xyz), np.column_stack([lon, lat]), float((length / n).max()) / 2000.0)
            self._segments = (seg, np.asarray(az, dtype=float), length, owner)
            # every _COARSE-th sample of each segment and its end: a point within the outer band edge of the
            # line is within that edge + (_COARSE + 1) spacings of one of them (the quick first cut)
            coarse = (step % _COARSE == 0) | (step == n[owner])
            self.coarse = xyz[coarse]
            # any point of the line is within half a spacing of a sample, any sample within _COARSE / 2
            # spacings of a coarse one (chords never longer than arcs), with a margin for rounding
            self.coarse_km = float(self.cut[-1]) + (_COARSE + 2) * self._samples[2] + 1e-3
        return self._samples

    def _exact_km(self, rows: np.ndarray, high: np.ndarray, slack: float) -> np.ndarray:
        """Geodesic km from the points ``rows`` to the line, each segment a geodesic, minimised along it by
        golden-section search as :meth:`Front.distance_km` does near a band edge. Only the segments with a
        sample within ``high`` (an upper bound of the distance) + ``slack`` (half the spacing) can hold the
        nearest point: it lies within half a spacing of a sample of its own segment."""
        from cimic_geo.analytics.front_distance import _GOLDEN
        from cimic_geo.geo import GEOD

        tree = self.samples()[0]
        seg, az, length, owner = self._segments
        hits = tree.query_ball_point(self.pos.xyz[rows], r=(high + slack) * 1000.0 + 1.0, return_sorted=False)
        qi = np.repeat(np.arange(len(rows)), [len(h) for h in hits])
        si = owner[np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64)]
        pair = np.unique(qi * len(seg) + si)
        qi, si = pair // len(seg), pair % len(seg)
        plon, plat = self.pos.lonlat[rows[qi], 0], self.pos.lonlat[rows[qi], 1]

        def f(t: np.ndarray) -> np.ndarray:
            lon, lat, _ = GEOD.fwd(seg[si, 0], seg[si, 1], az[si], t * length[si])
            return np.asarray(GEOD.inv(plon, plat, lon, lat)[2], dtype=float)

        a, b = np.zeros(len(si)), np.ones(len(si))
        for _ in range(40):  # golden-section search; 0.618**40 of the segment: far below a millimetre
            x1, x2 = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
            left = f(x1) <= f(x2)
            b, a = np.where(left, x2, b), np.where(left, a, x1)
        best = np.minimum.reduce([f(a), f(b), f(np.zeros(len(si))), f(np.ones(len(si)))])
        out = np.full(len(rows), np.inf)
        np.minimum.at(out, qi, best)
        return out / 1000.0

    def labels(self, rows: np.ndarray) -> np.ndarray:
        """Band labels of the positions ``rows`` (repeats allowed)."""
        mark = np.zeros(len(self.done), dtype=bool)
        mark[rows] = True
        need = np.flatnonzero(mark & ~self.done)
        if len(need):
            self._classify(need)
        return classify_bands(self.dist[rows], occupied=self.occ[rows], bands_km=self.edges)

    def _classify(self, need: np.ndarray) -> None:
        from cimic_geo.geo import GEOD

        pos = self.pos
        pts = need[pos.is_point[need]]
        exact = need[~pos.is_point[need]]
        if self.occ_geom is not None and len(pts):
            self.occ[pts] = shapely.contains_xy(self.occ_geom, pos.lonlat[pts, 0], pos.lonlat[pts, 1])
        tree, lonlat, slack = self.samples()
        if tree is None:  # no line to measure to: no distance (as Front.distance_km)
            self.done[need] = True
            return
        slack += 1e-6  # km, rounding
        # first cut: points farther than coarse_km from every coarse sample are beyond the outer band edge
        if self._coarse_tree is None:
            from scipy.spatial import cKDTree

            self._coarse_tree = cKDTree(self.coarse)
        cand = pts[pos.near[pts]]
        coarse, _i = self._coarse_tree.query(pos.xyz[cand], distance_upper_bound=self.coarse_km * 1000.0 + 1.0)
        close = np.zeros(len(pos.geoms), dtype=bool)
        close[cand[np.isfinite(coarse)]] = True
        self.dist[pts[~close[pts]]] = np.inf  # beyond
        pts = pts[close[pts]]
        chord, idx = tree.query(pos.xyz[pts], distance_upper_bound=(self.cut[-1] + slack) * 1000.0 + 1.0)
        far = ~np.isfinite(chord)
        self.dist[pts[far]] = np.inf
        near, chord, idx = pts[~far], chord[~far], idx[~far]
        if len(near):
            # a chord is never longer than the geodesic, and the nearest point of the line is within half a
            # spacing of a sample; the sample is a point of the line, so the line is no farther than it
            low = chord / 1000.0 - slack
            high = np.asarray(GEOD.inv(pos.lonlat[near, 0], pos.lonlat[near, 1], lonlat[idx, 0], lonlat[idx, 1])[2],
                              dtype=float) / 1000.0 + 1e-6
            unsure = ((self.cut[None, :] >= low[:, None]) & (self.cut[None, :] <= high[:, None])).any(axis=1)
            self.dist[near[~unsure]] = np.maximum((low[~unsure] + high[~unsure]) / 2.0, 0.0)
            if unsure.any():
                self.dist[near[unsure]] = self._exact_km(near[unsure], high[unsure], slack)
        if len(exact):  # lines or polygons
            front = self.front()
            self.dist[exact] = front.distance_km(pos.geoms[exact], exact_near_km=self.edges)
            self.occ[exact] = front.occupied(pos.geoms[exact])
        self.done[need] = True


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
    codes, names = pd.factorize(infrastructure["sector"].astype(str))
    keep = [(i, name) for i, name in enumerate(names) if name in out.columns]
    for t in times:
        m = in_force(infrastructure["valid_from"], infrastructure["valid_to"], t) & open_
        counts = np.bincount(codes[m], minlength=len(names))
        for i, name in keep:
            out.loc[t, name] = int(counts[i])
    return out


def corridor_series(times: Sequence[pd.Timestamp], corridor_log: pd.DataFrame, corridors: pd.DataFrame) -> pd.DataFrame:
    """Corridors per status at each time: the status after a corridor's last logged change at or before
    the time (not counted before its first); a corridor with no logged change counts at its current status."""
    statuses = list(CORRIDOR_STATUSES)
    log = corridor_log.sort_values("changed_at", kind="stable")
    logged = set(log["corridor_id"].astype(str))
    unlogged = corridors[~corridors["id"].astype(str).isin(logged)]["status"].value_counts()
    counts = np.tile(np.array([int(unlogged.get(s, 0)) for s in statuses], dtype="int64"), (len(times), 1))
    # a logged change without a status is skipped (the last status logged before it stays)
    log = log[log["changed_at"].notna() & log["to_status"].notna() & log["corridor_id"].notna()]
    if len(log) and len(times):
        at = pd.DatetimeIndex(log["changed_at"]).as_unit("ns").asi8
        code = pd.Categorical(log["to_status"], categories=statuses).codes
        corridor = pd.factorize(log["corridor_id"])[0]
        order = np.argsort(corridor, kind="stable")  # each corridor's changes in time order
        follows = corridor[order][1:] == corridor[order][:-1]  # the next change is the same corridor's
        until = np.full(len(at), np.iinfo(np.int64).max)
        until[order[:-1][follows]] = at[order[1:][follows]]  # a status holds until the corridor's next change
        t = pd.DatetimeIndex(list(times)).as_unit("ns").asi8
        for j in range(len(statuses)):
            k = code == j
            counts[:, j] += (np.searchsorted(np.sort(at[k]), t, side="right")
                             - np.searchsorted(np.sort(until[k]), t, side="right"))
    return pd.DataFrame(counts, index=_index(times), columns=statuses, dtype="int64")


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
