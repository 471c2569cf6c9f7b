"""Threat-band exposure: population, settlements, shelters and infrastructure
per distance band from the front line in force, with the occupied side reported separately, and
a what-if shift of the front line toward friendly territory.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics import geod_pool
from cimic_geo.analytics.bands import (
    BEYOND,
    OCCUPIED,
    band_labels,
    check_bands,
    check_distance,
    classify_bands,
    shift_distances,
)
from cimic_geo.analytics.front_distance import Front, as_geometry_array, prepare_front
from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import WGS84, metric_crs
from cimic_geo.i18n import _
from cimic_geo.timefmt import TimeLike, iso, to_utc

#: Summary columns, in the order of the CLI document.
#: From this many features in all, half of them are measured on a helper thread.
_THREADED_FROM = 20_000
METRICS = ("population", "settlements", "shelters", "shelter_capacity", "infrastructure", "people_served")


@functools.lru_cache(maxsize=32)
def _crs_text(crs: Any) -> str:
    """``crs.to_string()``, kept per CRS: for a projection without an authority code (the front's
    azimuthal equidistant one) it searches the whole EPSG database, ~0.2 s each time."""
    return crs.to_string()


def _empty_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def _frame(gdf: gpd.GeoDataFrame | None, name: str) -> gpd.GeoDataFrame:
    if gdf is None:
        return _empty_frame()
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise AnalysisError(_("{name} must be a GeoDataFrame, got {type}").format(name=name, type=type(gdf).__name__))
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(WGS84)
    return gdf.copy()


def _num(gdf: gpd.GeoDataFrame, col: str) -> np.ndarray:
    if col not in gdf.columns or not len(gdf):
        return np.zeros(len(gdf))
    return pd.to_numeric(gdf[col], errors="coerce").fillna(0).to_numpy(dtype=float)


@dataclass
class ExposureResult:
    """Exposure per band. ``settlements``/``shelters``/``infrastructure`` are the inputs with
    ``distance_km``, ``occupied`` and ``band`` columns added (and ``distance_shifted_km``,
    ``occupied_shifted``, ``band_shifted`` when ``shift_km`` > 0). ``summary`` has one row per
    band label, then ``beyond`` and ``occupied``; with a shift it describes the shifted front and
    ``baseline`` the front as in force.
    """

    as_of: pd.Timestamp | None
    bands_km: tuple[float, ...]
    shift_km: float
    settlements: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    infrastructure: gpd.GeoDataFrame
    summary: pd.DataFrame
    baseline: pd.DataFrame | None = None
    crs: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def band_column(self) -> str:
        """The per-feature label column of the scenario asked (``band_shifted`` when shifted)."""
        return "band_shifted" if self.shift_km > 0 else "band"

    def table(self) -> pd.DataFrame:
        """The summary for display: one row per band (and beyond, occupied), with changes."""
        t = self.summary.copy()
        if self.baseline is not None:
            for m in METRICS:
                t[f"{m}_change"] = t[m] - self.baseline[m]
        t.index.name = "band"
        return t.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """The CLI document: ``{"as_of", "bands": [...], "occupied": {...}, ...}``."""
        edges = self.bands_km
        lows = (0.0, *edges[:-1])

        def metrics(frame: pd.DataFrame, label: str) -> dict[str, int]:
            return {m: int(frame.loc[label, m]) for m in METRICS}

        def entry(label: str) -> dict[str, Any]:
            d = metrics(self.summary, label)
            if self.baseline is not None:
                base = metrics(self.baseline, label)
                d["baseline"] = base
                d["change"] = {m: d[m] - base[m] for m in METRICS}
            return d

        bands = []
        for label, lo, hi in zip(band_labels(edges), lows, edges, strict=True):
            bands.append({"band": label, "min_km": _num_out(lo), "max_km": _num_out(hi), **entry(label)})
        total = {m: int(self.summary[m].sum()) for m in METRICS}
        return {
            "as_of": iso(self.as_of),
            "shift_km": _num_out(self.shift_km),
            "bands_km": [_num_out(e) for e in edges],
            "bands": bands,
            "beyond": {"min_km": _num_out(edges[-1]), **entry(BEYOND)},
            "occupied": entry(OCCUPIED),
            "total": total,
            "notes": list(self.notes),
        }


def _num_out(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _summarise(labels: dict[str, np.ndarray], frames: dict[str, gpd.GeoDataFrame],
               order: list[str]) -> pd.DataFrame:
    rows = {lab: dict.fromkeys(METRICS, 0) for lab in order}
    specs = (
        ("settlements", "population", "settlements"),
        ("shelters", "capacity", "shelters"),
        ("infrastructure", "people_served", "infrastructure"),
    )
    for layer, value_col, count_name in specs:
        lab = labels[layer]
        vals = _num(frames[layer], value_col)
        if not len(lab):
            continue
        codes, keys = pd.factorize(lab, sort=True)
        counts = np.bincount(codes, minlength=len(keys))
        sums = pd.Series(vals).groupby(codes).sum().to_numpy()  # pandas' compensated sum, as before
        metric = {"settlements": "population", "shelters": "shelter_capacity",
                  "infrastructure": "people_served"}[layer]
        for k, n, v in zip(keys.tolist(), counts.tolist(), sums.tolist(), strict=True):
            if k not in rows:
                rows[k] = dict.fromkeys(METRICS, 0)
            rows[k][count_name] += int(n)
            rows[k][metric] += round(float(v))
    return pd.DataFrame.from_dict(rows, orient="index")[list(METRICS)]


def _measure_layers(front: Front, frames: dict[str, gpd.GeoDataFrame], edges: tuple[float, ...]
                    ) -> dict[str, np.ndarray]:
    """Distance (km) to the front of each feature of every layer (inf for all with no front).

    The layers are measured together, and when they are large in two halves (every other feature) on
    two threads (k-d trees, pyproj and shapely let go of the GIL). A feature's distance depends on that
    feature alone, never on the others measured with it, so the numbers are the same on any thread and
    in any grouping. The front's indexes are all built first (:meth:`Front.warm`), so the threads only
    read them."""
    sizes = [len(gdf) for gdf in frames.values()]
    if front.empty:
        return {name: np.full(len(gdf), np.inf) for name, gdf in frames.items()}
    geoms = np.concatenate([np.asarray(gdf.geometry.values, dtype=object) for gdf in frames.values()]
                           ) if sum(sizes) else np.empty(0, dtype=object)
    if geod_pool.THREADS < 2 or geod_pool.in_pool() or len(geoms) < _THREADED_FROM:
        dist = front.distance_km(geoms, exact_near_km=edges)
    else:
        front.warm()
        later = geod_pool.pool().submit(front.distance_km, geoms[1::2], exact_near_km=edges)
        dist = np.empty(len(geoms))
        dist[0::2] = front.distance_km(geoms[0::2], exact_near_km=edges)
        dist[1::2] = later.result()
    parts = np.split(dist, np.cumsum(sizes)[:-1])
    return dict(zip(frames, parts, strict=True))


def exposure(
    *,
    settlements: gpd.GeoDataFrame | None,
    shelters: gpd.GeoDataFrame | None = None,
    infrastructure: gpd.GeoDataFrame | None = None,
    front_line: gpd.GeoDataFrame | None,
    occupied_area: gpd.GeoDataFrame | None = None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
    shift_km: float = 0.0,
    as_of: TimeLike | None = None,
    beyond_without_front: bool = False,
) -> ExposureResult:
    """Population, settlements, shelters and infrastructure per threat band.

    Parameters
    ----------
    settlements, shelters, infrastructure : layers (EPSG:4326); None counts as empty
    front_line : the front line in force (one or several rows, multi-part allowed); when empty,
        the boundary of ``occupied_area`` is used
    occupied_area : occupied polygon(s) in force; features inside are reported as ``occupied``
    bands_km : increasing outer band edges in km (default 5, 20, 40)
    shift_km : what-if: move the front this far toward friendly territory (a buffer of the
        occupied area) and report the change per band
    as_of : the time the front line is in force at (reported only)
    beyond_without_front : with no front line at all, count everything "beyond" instead of raising
        (a rear region with no front)

    Raises
    ------
    AnalysisError
        Bands not increasing or not positive, negative shift, or no front line at all.
    """
    edges = check_bands(bands_km)
    shift = check_distance(shift_km, name="shift_km")
    frames = {
        "settlements": _frame(settlements, "settlements"),
        "shelters": _frame(shelters, "shelters"),
        "infrastructure": _frame(infrastructure, "infrastructure"),
    }
    fl = as_geometry_array(front_line)
    occ = as_geometry_array(occupied_area)
    boxes = [f.total_bounds for f in frames.values() if len(f) and not f.geometry.isna().all()]
    boxes += [np.asarray(shapely.total_bounds(a)) for a in (fl, occ) if len(a)]
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    extent = None
    if boxes:
        arr = np.array(boxes)
        extent = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    front = prepare_front(front_line, occupied_area, extent=extent)
    if front.empty and not beyond_without_front:
        raise AnalysisError(
            _("no front line in force: exposure needs a front line or an occupied area") if as_of is None else
            _("no front line in force at {time}: exposure needs a front line or an occupied area").format(
                time=iso(as_of))
        )
    notes: list[str] = []
    if (not len(fl) or all(g is None or g.is_empty for g in fl)) and not front.empty:
        notes.append(_("front line derived from the occupied-area boundary"))
    labels: dict[str, np.ndarray] = {}
    labels_shift: dict[str, np.ndarray] = {}
    measured = _measure_layers(front, frames, edges)
    for name, gdf in frames.items():
        d, o = measured[name], front.occupied(gdf.geometry)
        gdf["distance_km"] = d
        gdf["occupied"] = o
        gdf["band"] = classify_bands(d, occupied=o, bands_km=edges)
        labels[name] = gdf["band"].to_numpy()
        if shift > 0:
            sd, so = shift_distances(d, o, shift)
            gdf["distance_shifted_km"] = sd
            gdf["occupied_shifted"] = so
            gdf["band_shifted"] = classify_bands(sd, occupied=so, bands_km=edges)
            labels_shift[name] = gdf["band_shifted"].to_numpy()
    order = [*band_labels(edges), BEYOND, OCCUPIED]
    base = _summarise(labels, frames, order)
    if shift > 0:
        summary, baseline = _summarise(labels_shift, frames, order), base
    else:
        summary, baseline = base, None
    ts = None if as_of is None else to_utc(as_of)
    crs = _crs_text(front.crs if extent is None else metric_crs(extent))
    return ExposureResult(
        as_of=ts, bands_km=edges, shift_km=shift,
        settlements=frames["settlements"], shelters=frames["shelters"], infrastructure=frames["infrastructure"],
        summary=summary, baseline=baseline, crs=crs, notes=notes,
    )
