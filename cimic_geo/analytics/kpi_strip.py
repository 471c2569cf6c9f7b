"""The COP's KPI strip: threat-band population, shelters, damage and corridors.

Pure functions on GeoDataFrames; the page only displays the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics.bands import BEYOND, OCCUPIED, band_labels
from cimic_geo.analytics.exposure import exposure
from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _, fmt_int, fmt_number
from cimic_geo.schema import CORRIDOR_STATUSES, DAMAGE_LEVELS, SECTORS, SHELTER_STATUSES
from cimic_geo.timefmt import TimeLike, to_utc

DAMAGED = tuple(d for d in DAMAGE_LEVELS if d != "none")


@dataclass
class ShelterKpi:
    """Shelter counts by status and capacity in use.

    ``capacity_used`` = occupancy / capacity over shelters that are open or full (the ones in
    service); None when they have no capacity.
    """

    by_status: dict[str, int]
    capacity: int
    occupancy: int

    @property
    def capacity_used(self) -> float | None:
        return self.occupancy / self.capacity if self.capacity > 0 else None


@dataclass
class KpiStrip:
    """Everything the KPI strip shows."""

    bands: pd.DataFrame  # index: band label, beyond, occupied; columns population, settlements
    shelters: ShelterKpi
    damage: pd.DataFrame  # index: sector; columns minor, major, destroyed, total
    corridors: dict[str, int]
    notes: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None  # the extent summarised (None = whole store)
    as_of: pd.Timestamp | None = None  # the time of the front line the bands use (None = current)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bands": {k: {c: int(v) for c, v in row.items()} for k, row in self.bands.iterrows()},
            "shelters": {**self.shelters.by_status, "capacity": self.shelters.capacity,
                         "occupancy": self.shelters.occupancy, "capacity_used": self.shelters.capacity_used},
            "damage": {k: {c: int(v) for c, v in row.items()} for k, row in self.damage.iterrows()},
            "corridors": dict(self.corridors),
            "notes": list(self.notes),
            "bbox": None if self.bbox is None else list(self.bbox),
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
        }


def compact(n: int) -> str:
    """A number short enough for a metric tile: 9,950, 12.4 k, 250 k, 35.8 M (exact value in the tile's help)."""
    # thresholds where the rounded value moves to the next unit (999,600 is "1.0 M", not "1000 k")
    if abs(n) >= 999_500:
        return _("{n} M").format(n=fmt_number(n / 1e6, digits=1))
    if abs(n) >= 99_950:
        return _("{n} k").format(n=fmt_number(n / 1e3, digits=0))
    if abs(n) >= 10_000:
        return _("{n} k").format(n=fmt_number(n / 1e3, digits=1))
    return fmt_int(n)


def _ints(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").fillna(0).to_numpy(dtype="float64")


def shelter_kpi(shelters: gpd.GeoDataFrame | pd.DataFrame | None) -> ShelterKpi:
    """Counts per status; capacity and occupancy summed over open and full shelters."""
    if shelters is None or len(shelters) == 0:
        return ShelterKpi(dict.fromkeys(SHELTER_STATUSES, 0), 0, 0)
    status = shelters["status"].astype(str)
    by_status = {s: int((status == s).sum()) for s in SHELTER_STATUSES}
    in_service = status.isin(["open", "full"]).to_numpy()
    cap = _ints(shelters["capacity"])[in_service]
    occ = _ints(shelters["occupancy"])[in_service] if "occupancy" in shelters else np.zeros(int(in_service.sum()))
    return ShelterKpi(by_status, round(float(cap.sum())), round(float(occ.sum())))


def damage_kpi(infrastructure: gpd.GeoDataFrame | pd.DataFrame | None) -> pd.DataFrame:
    """Damaged objects per sector (rows, every sector) and damage level (minor, major, destroyed, total)."""
    table = pd.DataFrame(0, index=pd.Index(SECTORS, name="sector"), columns=[*DAMAGED, "total"], dtype="int64")
    if infrastructure is None or len(infrastructure) == 0:
        return table
    damage = infrastructure["damage"].to_numpy(dtype=object)
    hit = pd.Series(damage).isin(DAMAGED).to_numpy()
    if hit.any():
        # a count per (sector, level) pair present, as a cross-tabulation counts them (missing values left out),
        # written in the table's order of sectors then levels (sorted, as the cross-tabulation orders them)
        sectors, sec_keys = pd.factorize(infrastructure["sector"].to_numpy(dtype=object)[hit], sort=True)
        levels, lvl_keys = pd.factorize(damage[hit], sort=True)
        ok = (sectors >= 0) & (levels >= 0)
        counts = np.bincount(sectors[ok] * len(lvl_keys) + levels[ok], minlength=len(sec_keys) * len(lvl_keys))
        present_levels = [j for j in range(len(lvl_keys)) if counts[j::len(lvl_keys)].any()]
        for i, sector in enumerate(sec_keys.tolist()):
            if not counts[i * len(lvl_keys):(i + 1) * len(lvl_keys)].any():
                continue
            for j in present_levels:
                table.loc[sector, lvl_keys[j]] = int(counts[i * len(lvl_keys) + j])
    table["total"] = table[list(DAMAGED)].sum(axis=1)
    return table


def corridor_kpi(corridors: gpd.GeoDataFrame | pd.DataFrame | None) -> dict[str, int]:
    """Number of corridors in each status (every status, zero included)."""
    if corridors is None or len(corridors) == 0:
        return dict.fromkeys(CORRIDOR_STATUSES, 0)
    status = corridors["status"].astype(str)
    return {s: int((status == s).sum()) for s in CORRIDOR_STATUSES}


def band_kpi(
    *,
    settlements: gpd.GeoDataFrame | None,
    front_line: gpd.GeoDataFrame | None,
    occupied_area: gpd.GeoDataFrame | None,
    bands_km: Sequence[float],
    as_of: TimeLike | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Population and settlements per threat band, occupied side separately.

    Uses :func:`cimic_geo.analytics.exposure.exposure`. Without any front line the table is empty
    and a note says why.
    """
    has_front = (front_line is not None and len(front_line)) or (occupied_area is not None and len(occupied_area))
    if not has_front:
        return pd.DataFrame(columns=["population", "settlements"]), [_("no front line in force at this time")]
    try:
        res = exposure(settlements=settlements, front_line=front_line, occupied_area=occupied_area,
                       bands_km=bands_km, as_of=as_of)
    except AnalysisError as exc:
        return pd.DataFrame(columns=["population", "settlements"]), [str(exc)]
    table = res.summary[["population", "settlements"]].astype("int64")
    return table, list(res.notes)


def in_bbox(gdf: gpd.GeoDataFrame | None, bbox: Sequence[float] | None) -> gpd.GeoDataFrame | None:
    """The rows of ``gdf`` whose geometry intersects ``bbox`` (minlon, minlat, maxlon, maxlat); all when None.

    Raises
    ------
    AnalysisError
        A bbox that is not four finite numbers with min < max.
    """
    if bbox is None or gdf is None or len(gdf) == 0:
        return gdf
    box = check_bbox(bbox)
    hit = shapely.intersects(gdf.geometry.to_numpy(), shapely.box(*box))
    return gdf.loc[np.asarray(hit, dtype=bool)]


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """``bbox`` as four floats (minlon, minlat, maxlon, maxlat), checked."""
    try:
        x0, y0, x1, y1 = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(_("bbox must be four numbers (minlon, minlat, maxlon, maxlat), got {bbox}").format(
            bbox=repr(bbox))) from exc
    if not all(np.isfinite([x0, y0, x1, y1])) or x0 >= x1 or y0 >= y1:
        raise AnalysisError(_("bbox must be finite with min < max, got {bbox}").format(bbox=repr(bbox)))
    return x0, y0, x1, y1


def kpi_strip(
    *,
    settlements: gpd.GeoDataFrame | None,
    shelters: gpd.GeoDataFrame | None,
    infrastructure: gpd.GeoDataFrame | None,
    corridors: gpd.GeoDataFrame | None,
    front_line: gpd.GeoDataFrame | None,
    occupied_area: gpd.GeoDataFrame | None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
    as_of: TimeLike | None = None,
    bbox: Sequence[float] | None = None,
) -> KpiStrip:
    """All KPIs of the COP strip for the features in ``bbox`` (whole layers when None).

    ``front_line`` and ``occupied_area`` are the ones in force at ``as_of`` (the caller reads them
    at that time) and are used whole: a settlement in the view is banded by its distance to the
    nearest part of the front, in the view or not. Shelters, infrastructure and corridors are
    counted as given (their current state); a feature counts when it intersects ``bbox``.
    """
    box = None if bbox is None else check_bbox(bbox)
    bands, notes = band_kpi(settlements=in_bbox(settlements, box), front_line=front_line,
                            occupied_area=occupied_area, bands_km=bands_km, as_of=as_of)
    return KpiStrip(bands=bands, shelters=shelter_kpi(in_bbox(shelters, box)),
                    damage=damage_kpi(in_bbox(infrastructure, box)), corridors=corridor_kpi(in_bbox(corridors, box)),
                    notes=notes, bbox=box, as_of=None if as_of is None else to_utc(as_of))


@dataclass
class KpiBase:
    """Every feature the KPI strip counts at one time, each settlement with its threat band: made once
    (:func:`kpi_base`), then cut to any extent by :func:`strip_in_bbox` without reading or banding again.

    A settlement's band depends only on its distance to the whole front, not on the extent summarised, so
    the cut gives the strip :func:`kpi_strip` gives for the features in that extent.
    """

    settlements: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    infrastructure: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame
    band: np.ndarray | None  # per settlement (None: no band table, see notes)
    population: np.ndarray  # per settlement, as the band table sums it
    bands_km: tuple[float, ...]
    notes: list[str]
    as_of: pd.Timestamp | None
    trees: dict[str, shapely.STRtree | np.ndarray] = field(default_factory=dict)  # see cut

    def cut(self, layer: str, box: tuple[float, float, float, float] | None) -> np.ndarray | None:
        """Positions (in order) of the rows of ``layer`` whose geometry intersects ``box``; None = every row.

        A layer of points only is cut by comparing coordinates (a point intersects the closed box when it lies
        inside or on its edge; an empty or missing point meets nothing); others through an R-tree. Both are
        made at the first cut of the layer and kept."""
        if box is None:
            return None
        if layer not in self.trees:
            geoms = getattr(self, layer).geometry.to_numpy()
            types = shapely.get_type_id(geoms)
            if np.all((types == 0) | (types == -1)):  # points (or missing)
                xy = np.full((2, len(geoms)), np.nan)
                real = (types == 0) & ~shapely.is_empty(geoms)
                xy[0, real], xy[1, real] = shapely.get_x(geoms[real]), shapely.get_y(geoms[real])
                self.trees[layer] = xy
            else:
                self.trees[layer] = shapely.STRtree(geoms)
        index = self.trees[layer]
        if isinstance(index, np.ndarray):
            x, y = index
            x0, y0, x1, y1 = box
            return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        return np.sort(index.query(shapely.box(*box), predicate="intersects"))


def _empty(columns: Sequence[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def kpi_base(
    *,
    settlements: gpd.GeoDataFrame | None,
    shelters: gpd.GeoDataFrame | None,
    infrastructure: gpd.GeoDataFrame | None,
    corridors: gpd.GeoDataFrame | None,
    front_line: gpd.GeoDataFrame | None,
    occupied_area: gpd.GeoDataFrame | None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
    as_of: TimeLike | None = None,
) -> KpiBase:
    """The :class:`KpiBase` of whole layers (the arguments of :func:`kpi_strip` without ``bbox``): every
    settlement banded once with :func:`cimic_geo.analytics.exposure.exposure`."""
    frames = {name: _empty(cols) if gdf is None else gdf for name, gdf, cols in (
        ("settlements", settlements, ["population"]), ("shelters", shelters, ["status", "capacity", "occupancy"]),
        ("infrastructure", infrastructure, ["sector", "damage"]), ("corridors", corridors, ["status"]))}
    sett = frames["settlements"]
    band, edges = None, tuple(float(b) for b in bands_km)
    has_front = (front_line is not None and len(front_line)) or (occupied_area is not None and len(occupied_area))
    if not has_front:
        notes = [_("no front line in force at this time")]
    else:
        try:
            res = exposure(settlements=sett, front_line=front_line, occupied_area=occupied_area, bands_km=bands_km,
                           as_of=as_of)
        except AnalysisError as exc:
            notes = [str(exc)]
        else:
            band, edges, notes = res.settlements["band"].to_numpy(), res.bands_km, list(res.notes)
    population = (pd.to_numeric(sett["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
                  if "population" in sett.columns and len(sett) else np.zeros(len(sett)))
    return KpiBase(**frames, band=band, population=population, bands_km=edges, notes=notes,
                   as_of=None if as_of is None else to_utc(as_of))


def _band_table(band: np.ndarray, population: np.ndarray, bands_km: Sequence[float]) -> pd.DataFrame:
    """Population and settlements per band label, as :func:`band_kpi` tabulates them (same sums, same order)."""
    rows = {lab: {"population": 0, "settlements": 0} for lab in [*band_labels(bands_km), BEYOND, OCCUPIED]}
    if len(band):
        codes, keys = pd.factorize(band, sort=True)
        counts = np.bincount(codes, minlength=len(keys))
        sums = pd.Series(population).groupby(codes).sum().to_numpy()  # pandas' compensated sum, as exposure
        for k, n, v in zip(keys.tolist(), counts.tolist(), sums.tolist(), strict=True):
            row = rows.setdefault(k, {"population": 0, "settlements": 0})
            row["settlements"] += int(n)
            row["population"] += round(float(v))
    return pd.DataFrame.from_dict(rows, orient="index")[["population", "settlements"]].astype("int64")


def strip_in_bbox(base: KpiBase, bbox: Sequence[float] | None) -> KpiStrip:
    """The strip of :func:`kpi_strip` for the features of ``base`` that intersect ``bbox`` (all when None)."""
    box = None if bbox is None else check_bbox(bbox)

    def rows(layer: str) -> gpd.GeoDataFrame:
        at = base.cut(layer, box)
        gdf = getattr(base, layer)
        return gdf if at is None else gdf.iloc[at]

    if base.band is None:
        bands = pd.DataFrame(columns=["population", "settlements"])
    else:
        at = base.cut("settlements", box)
        bands = _band_table(base.band if at is None else base.band[at],
                            base.population if at is None else base.population[at], base.bands_km)
    return KpiStrip(bands=bands, shelters=shelter_kpi(rows("shelters")), damage=damage_kpi(rows("infrastructure")),
                    corridors=corridor_kpi(rows("corridors")), notes=list(base.notes), bbox=box, as_of=base.as_of)


__all__ = ["OCCUPIED", "KpiBase", "KpiStrip", "ShelterKpi", "band_kpi", "check_bbox", "compact", "corridor_kpi",
           "damage_kpi", "in_bbox", "kpi_base", "kpi_strip", "shelter_kpi", "strip_in_bbox"]
