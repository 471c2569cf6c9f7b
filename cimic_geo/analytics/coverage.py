"""Shelter coverage: who can reach an open shelter with a free place.

Method
------
1. *Reach* (:mod:`cimic_geo.analytics.reach`): the settlement→shelter pairs within a limit and
   their cost, as a sparse :class:`Reach` (straight-line km from
   :func:`~cimic_geo.analytics.lazy_reach.lazy_straight_reach`, whose geodesics are measured only where
   read, or road minutes from :func:`travel_time_reach`); any other reach plugs into the same solver.
2. *Allocation* (:mod:`cimic_geo.analytics.allocation`), exact and independent of the row order:
   most people placed first (max-flow), then the least person-cost (a least-cost flow). Rows are put in
   a canonical order (by id) first, so the answer does not depend on the order of the input
   rows; AccessMod's facility-by-facility allocation does.

Usable shelters: status ``open`` with ``capacity - occupancy > 0`` free places (``full``,
``closed`` and ``damaged`` shelters take nobody).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.analytics.allocation import allocate
from cimic_geo.analytics.bands import check_distance
from cimic_geo.analytics.lazy_reach import LazyReach, lazy_straight_reach
from cimic_geo.analytics.reach import Reach
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import WGS84
from cimic_geo.i18n import _
from cimic_geo.timefmt import TimeLike, iso, to_utc

DEFAULT_MAX_KM = 2.0
USABLE_STATUSES = ("open",)


def _canonical(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows sorted by id (then coordinates) so that results do not depend on the row order."""
    if not len(gdf):
        return gdf.reset_index(drop=True)
    ids = gdf["id"].astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")
    if (ids[order[1:]] == ids[order[:-1]]).any():  # duplicate ids (an error later): order fully
        pts = gdf.geometry.representative_point()
        order = np.lexsort((pts.y.to_numpy(), pts.x.to_numpy(), ids))
    return gdf.iloc[order].reset_index(drop=True)


def _check_ids(gdf: gpd.GeoDataFrame, name: str) -> None:
    if "id" not in gdf.columns:
        raise AnalysisError(_("{layer}: an 'id' column is required").format(layer=name))
    dup = gdf["id"].astype(str).duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise AnalysisError(_("{layer}: row {row} field 'id': duplicate id {id}").format(
            layer=name, row=row + 1, id=repr(gdf["id"].iloc[row])))


def _int_col(gdf: gpd.GeoDataFrame, col: str, name: str, *, required: bool) -> np.ndarray:
    if col not in gdf.columns:
        if required:
            raise AnalysisError(_("{layer}: a '{column}' column is required").format(layer=name, column=col))
        return np.zeros(len(gdf), dtype=np.int64)
    v = pd.to_numeric(gdf[col], errors="coerce")
    if required and v.isna().any():
        row = int(np.flatnonzero(v.isna().to_numpy())[0])
        raise AnalysisError(_("{layer}: row {row} field '{column}': missing or not a number").format(
            layer=name, row=row + 1, column=col))
    v = v.fillna(0)
    if (v < 0).any():
        row = int(np.flatnonzero((v < 0).to_numpy())[0])
        raise AnalysisError(_("{layer}: row {row} field '{column}': negative value {value}").format(
            layer=name, row=row + 1, column=col, value=v.iloc[row]))
    return np.rint(v.to_numpy(dtype=float)).astype(np.int64)


@dataclass
class CoverageResult:
    """Coverage tables. ``settlements``/``shelters`` are GeoDataFrames (canonical id order) with
    the allocation columns; ``allocation`` lists settlement→shelter flows."""

    settlements: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    allocation: pd.DataFrame
    unit: str
    limit: float
    as_of: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def population_total(self) -> int:
        return int(self.settlements["population"].sum()) if len(self.settlements) else 0

    @property
    def population_covered(self) -> int:
        return int(self.settlements["covered"].sum()) if len(self.settlements) else 0

    @property
    def covered_pct(self) -> float:
        tot = self.population_total
        return round(100.0 * self.population_covered / tot, 2) if tot else 0.0

    def worst_served(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` settlements with the most people unserved (then lowest covered %, id)."""
        t = pd.DataFrame(self.settlements.drop(columns="geometry"))
        t = t[t["unserved"] > 0]
        t = t.assign(_pct=t["covered_pct"]).sort_values(["unserved", "_pct", "id"], ascending=[False, True, True])
        return t.drop(columns="_pct").head(n).reset_index(drop=True)

    def settlement_table(self) -> pd.DataFrame:
        cols = ["id", "name", "population", "covered", "unserved", "covered_pct", "shelters_in_reach",
                "nearest_shelter", "mean_cost"]
        return pd.DataFrame(self.settlements[[c for c in cols if c in self.settlements.columns]])

    def shelter_table(self) -> pd.DataFrame:
        cols = ["id", "name", "kind", "status", "capacity", "occupancy", "available", "assigned", "spare",
                "overloaded", "unserved_in_reach"]
        return pd.DataFrame(self.shelters[[c for c in cols if c in self.shelters.columns]])

    def to_dict(self, *, worst: int = 10) -> dict[str, Any]:
        """The document printed by ``coverage --json``."""
        st = self.settlement_table()
        sh = self.shelter_table()
        key = "max_km" if self.unit == "km" else "max_minutes"
        return {
            "as_of": iso(self.as_of),
            key: self.limit,
            "cost_unit": self.unit,
            "population_total": self.population_total,
            "population_covered": self.population_covered,
            "population_unserved": self.population_total - self.population_covered,
            "covered_pct": self.covered_pct,
            "population_in_reach": int(self.settlements.loc[self.settlements["shelters_in_reach"] > 0,
                                                            "population"].sum()) if len(st) else 0,
            "capacity_total": int(self.shelters["available"].sum()) if len(sh) else 0,
            "capacity_assigned": int(self.shelters["assigned"].sum()) if len(sh) else 0,
            f"person_{self.unit}": round(float((self.allocation["people"] * self.allocation["cost"]).sum()), 3)
            if len(self.allocation) else 0.0,
            "excluded": dict(self.excluded),
            "notes": list(self.notes),
            "settlements": [
                {"id": str(r.id), "name": None if pd.isna(r.name) else str(r.name), "population": int(r.population),
                 "covered": int(r.covered), "unserved": int(r.unserved), "covered_pct": float(r.covered_pct)}
                for r in st.itertuples(index=False)
            ],
            "shelters": [
                {"id": str(r.id), "name": None if pd.isna(r.name) else str(r.name), "status": str(r.status),
                 "capacity": int(r.capacity), "occupancy": int(r.occupancy), "available": int(r.available),
                 "assigned": int(r.assigned), "spare": int(r.spare), "overloaded": int(r.overloaded)}
                for r in sh.itertuples(index=False)
            ],
            "worst_served": [
                {"id": str(r.id), "name": None if pd.isna(r.name) else str(r.name), "population": int(r.population),
                 "unserved": int(r.unserved), "covered_pct": float(r.covered_pct)}
                for r in self.worst_served(worst).itertuples(index=False)
            ],
        }


def coverage(
    *,
    settlements: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame | None,
    max_km: float | None = None,
    reach: Reach | None = None,
    reach_fn: Callable[[gpd.GeoDataFrame, gpd.GeoDataFrame], Reach] | None = None,
    as_of: TimeLike | None = None,
) -> CoverageResult:
    """Population that can reach a free place in an open shelter, allocated exactly.

    Parameters
    ----------
    settlements : ``id``, ``name``, ``population`` and a point geometry (EPSG:4326)
    shelters : ``id``, ``name``, ``capacity``, ``occupancy`` (missing = 0), ``status`` and a point
    max_km : straight-line (geodesic) reach in km (default 2 km unless ``reach``/``reach_fn``)
    reach : a ready :class:`Reach` on the canonical (id-sorted) rows (advanced use)
    reach_fn : ``fn(settlements, shelters) -> Reach`` on the canonical rows, e.g. a
        :func:`functools.partial` of :func:`travel_time_reach`
    as_of : reported only

    Raises
    ------
    AnalysisError
        Negative or non-finite distance, missing/negative population or capacity, duplicate ids.
    """
    if max_km is not None:
        check_distance(max_km, name="max_km", allow_zero=True)
    sets = _canonical(settlements.to_crs(WGS84) if settlements.crs not in (None, WGS84) else settlements)
    shel = shelters if shelters is not None else gpd.GeoDataFrame(
        {"id": [], "name": [], "capacity": [], "status": []}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    if shel.crs is not None and shel.crs.to_epsg() != 4326:
        shel = shel.to_crs(WGS84)
    shel = _canonical(shel)
    _check_ids(sets, "settlements")
    _check_ids(shel, "shelters")
    pop = _int_col(sets, "population", "settlements", required=True)
    capacity = _int_col(shel, "capacity", "shelters", required=True)
    occupancy = _int_col(shel, "occupancy", "shelters", required=False)
    status = shel["status"].astype(str).to_numpy() if "status" in shel.columns else np.full(len(shel), "open")
    usable = np.isin(status, USABLE_STATUSES)
    available = np.where(usable, np.maximum(capacity - occupancy, 0), 0)
    notes: list[str] = []
    if reach is None:
        if reach_fn is not None:
            reach = reach_fn(sets, shel)
        else:
            # distances only where they count: pairs to shelters with free places
            reach = lazy_straight_reach(sets, shel, max_km=DEFAULT_MAX_KM if max_km is None else max_km,
                                        distance_for=available > 0)
    if not len(shel):
        notes.append(_("no shelters: nobody is covered"))
    elif not usable.any():
        notes.append(_("no open shelter"))
    flow = allocate(pop, available, reach)
    if isinstance(reach, LazyReach):  # the costs read below: those of the edges that carry people
        reach.exact_cost(np.flatnonzero(flow > 0))
    covered = np.bincount(reach.s, weights=flow, minlength=len(sets)).astype(np.int64)
    assigned = np.bincount(reach.h, weights=flow, minlength=len(shel)).astype(np.int64)
    usable_edge = available[reach.h] > 0 if len(reach.s) else np.zeros(0, bool)
    in_reach = np.bincount(reach.s[usable_edge], minlength=len(sets))
    nearest = np.full(len(sets), np.nan)
    if usable_edge.any():
        np.fmin.at(nearest, reach.s[usable_edge], reach.cost[usable_edge])
    person_cost = np.bincount(reach.s, weights=flow * reach.cost, minlength=len(sets))
    unserved = pop - covered
    sets = sets.copy()
    sets["population"] = pop
    sets["covered"] = covered
    sets["unserved"] = unserved
    sets["covered_pct"] = np.where(pop > 0, np.round(100.0 * covered / np.maximum(pop, 1), 2), 100.0)
    sets["shelters_in_reach"] = in_reach
    sets["nearest_shelter"] = nearest
    sets["mean_cost"] = np.where(covered > 0, person_cost / np.maximum(covered, 1), np.nan)
    shel = shel.copy()
    shel["capacity"] = capacity
    shel["occupancy"] = occupancy
    shel["status"] = status
    shel["available"] = available
    shel["assigned"] = assigned
    shel["spare"] = available - assigned
    shel["overloaded"] = np.maximum(occupancy + assigned - capacity, 0)
    unserved_edge = unserved[reach.s] > 0 if len(reach.s) else np.zeros(0, bool)
    shel["unserved_in_reach"] = np.bincount(
        reach.h[unserved_edge], weights=unserved[reach.s[unserved_edge]], minlength=len(shel)).astype(np.int64)
    used = flow > 0
    alloc = pd.DataFrame({
        "settlement_id": sets["id"].to_numpy()[reach.s[used]] if len(sets) else [],
        "shelter_id": shel["id"].to_numpy()[reach.h[used]] if len(shel) else [],
        "people": flow[used],
        "cost": reach.cost[used],
    })
    ts = None if as_of is None else to_utc(as_of)
    return CoverageResult(settlements=sets, shelters=shel, allocation=alloc, unit=reach.unit,
                          limit=float(reach.limit), as_of=ts, notes=notes)

