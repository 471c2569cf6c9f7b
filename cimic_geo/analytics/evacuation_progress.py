"""Evacuation progress: who is still waiting where, how old the open requests are, missions per day,
and where the waiting people can go (shelters with free places, allocated exactly).

Pure functions on GeoDataFrames (no Streamlit, no DuckDB). "Waiting" means not yet picked up:
status ``requested`` or ``planned``. The threat band of a request is the band of its pickup point
at the front line in force (:mod:`cimic_geo.analytics.bands`); requests on the occupied side are
counted apart, never as "0 km".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.analytics.bands import (
    BEYOND,
    OCCUPIED,
    band_labels,
    check_bands,
    classify_bands,
    prepare_front,
)
from cimic_geo.analytics.coverage import CoverageResult, coverage
from cimic_geo.analytics.reach import Reach
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _
from cimic_geo.schema import EVACUATION_FINAL, EVACUATION_STATUSES, EVACUATION_WAITING, PEOPLE_GROUPS
from cimic_geo.timefmt import dtg, iso, to_utc

COUNTS = ("people", *PEOPLE_GROUPS)
#: Statuses whose people are committed to a destination shelter but not there yet.
COMMITTED = ("planned", "underway")


def _counts(evac: pd.DataFrame) -> pd.DataFrame:
    """The count columns as int64 (missing = 0); negative counts are an error."""
    out = pd.DataFrame(index=evac.index)
    for col in COUNTS:
        values = pd.to_numeric(evac[col], errors="coerce") if col in evac.columns else pd.Series(0, index=evac.index)
        values = values.fillna(0)
        if (values < 0).any():
            raise AnalysisError(_("negative {column} in evacuation {id}").format(column=col,
                                                                                 id=evac.loc[values < 0].index[0]))
        out[col] = values.astype(np.int64)
    return out


def threat_bands(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    front_line: gpd.GeoDataFrame | None,
    occupied_area: gpd.GeoDataFrame | None,
    bands_km: Sequence[float] | None = None,
) -> np.ndarray:
    """Threat band label of each point at the given front: ``"0-5"``, ..., ``"beyond"``, ``"occupied"``.

    With no front line at all every point is ``"beyond"`` (a rear area: nothing is threatened).
    """
    edges = check_bands(bands_km)
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    no_front = (front_line is None or not len(front_line)) and (occupied_area is None or not len(occupied_area))
    if no_front or not len(geoms):
        return np.full(len(geoms), BEYOND, dtype=object)
    front = prepare_front(front_line, occupied_area)
    return classify_bands(front.distance_km(geoms), occupied=front.occupied(geoms), bands_km=edges)


def waiting_by_band(evacuations: pd.DataFrame, bands: Sequence[str] | np.ndarray, *,
                    bands_km: Sequence[float] | None = None) -> pd.DataFrame:
    """People still waiting (requested or planned) per threat band and group.

    Parameters
    ----------
    evacuations : rows with ``status`` and the count columns (``people``, ``children``, ...)
    bands : the band label of each row (from :func:`threat_bands`)

    Returns
    -------
    DataFrame indexed by band (every band of ``bands_km``, then ``beyond`` and ``occupied``, even
    when empty; any other label after them) with ``requests`` and one column per count.
    """
    labels = np.asarray(bands, dtype=object)
    if len(labels) != len(evacuations):
        raise AnalysisError(f"{len(labels)} band labels for {len(evacuations)} evacuations")
    waiting = evacuations["status"].isin(EVACUATION_WAITING).to_numpy() if len(evacuations) else np.zeros(0, bool)
    counts = _counts(evacuations)[waiting].assign(band=labels[waiting], requests=1)
    order = [*band_labels(check_bands(bands_km)), BEYOND, OCCUPIED]
    order += sorted(set(counts["band"]) - set(order))
    table = counts.groupby("band")[["requests", *COUNTS]].sum().reindex(order, fill_value=0)
    table.index.name = "band"
    return table.astype(np.int64)


def oldest_open(evacuations: pd.DataFrame, *, now: Any) -> dict[str, Any] | None:
    """The open request (not completed, failed or cancelled) waiting longest, with its age in hours.

    Ties (same request time) go to the smaller id, so the answer does not depend on row order.
    """
    if not len(evacuations):
        return None
    open_ = evacuations[~evacuations["status"].isin(EVACUATION_FINAL)]
    if not len(open_):
        return None
    t = to_utc(now)
    row = open_.assign(_t=pd.to_datetime(open_["requested_at"], utc=True)).sort_values(["_t", "id"]).iloc[0]
    age_h = (t - row["_t"]).total_seconds() / 3600.0
    return {"id": str(row["id"]), "status": str(row["status"]), "requested_at": iso(row["_t"]),
            "requested_dtg": dtg(row["_t"]), "age_hours": round(age_h, 1), "people": int(row.get("people") or 0)}


def missions_per_day(history: pd.DataFrame, *, until: Any, days: int = 14) -> pd.DataFrame:
    """Missions started (moved to ``underway``), completed and failed per UTC day.

    Parameters
    ----------
    history : status history rows with ``changed_at`` and ``to_status``
    until : the last day counted is the day of this time
    days : number of days (oldest first, every day present even with zero missions)
    """
    if days < 1:
        raise AnalysisError(_("days must be at least 1, got {days}").format(days=days))
    end = to_utc(until).floor("D")
    index = pd.date_range(end=end, periods=days, freq="D")
    out = pd.DataFrame(0, index=index, columns=["started", "completed", "failed"], dtype=np.int64)
    if len(history):
        t = pd.to_datetime(history["changed_at"], utc=True).dt.floor("D")
        for col, status in (("started", "underway"), ("completed", "completed"), ("failed", "failed")):
            hit = t[(history["to_status"] == status).to_numpy()]
            out[col] = hit.value_counts().reindex(index, fill_value=0).astype(np.int64).to_numpy()
    out.index.name = "day"
    return out


def status_counts(evacuations: pd.DataFrame) -> pd.DataFrame:
    """Requests and people per status, in workflow order."""
    counts = _counts(evacuations).assign(status=evacuations["status"].to_numpy() if len(evacuations) else [],
                                         requests=1)
    table = counts.groupby("status")[["requests", "people"]].sum().reindex(list(EVACUATION_STATUSES), fill_value=0)
    return table.astype(np.int64)


@dataclass
class AssignmentResult:
    """Waiting requests allocated to shelters with free places (see :func:`assign_to_shelters`)."""

    requests: pd.DataFrame  # id, people, assigned, unassigned, shelter ids used
    shelters: pd.DataFrame  # id, name, free, assigned, spare
    allocation: pd.DataFrame  # request_id, shelter_id, people, cost
    unit: str
    limit: float
    coverage: CoverageResult | None = field(default=None, repr=False)

    @property
    def people_waiting(self) -> int:
        return int(self.requests["people"].sum()) if len(self.requests) else 0

    @property
    def people_assigned(self) -> int:
        return int(self.requests["assigned"].sum()) if len(self.requests) else 0

    @property
    def total_cost(self) -> float:
        return float((self.allocation["people"] * self.allocation["cost"]).sum()) if len(self.allocation) else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cost_unit": self.unit, "limit": self.limit, "people_waiting": self.people_waiting,
            "people_assigned": self.people_assigned, "people_unassigned": self.people_waiting - self.people_assigned,
            f"person_{self.unit}": round(self.total_cost, 3),
            "allocation": [{"request_id": str(r.request_id), "shelter_id": str(r.shelter_id), "people": int(r.people),
                            "cost": round(float(r.cost), 3)} for r in self.allocation.itertuples(index=False)],
        }


def committed_places(evacuations: pd.DataFrame) -> pd.Series:
    """People of planned or underway missions per destination shelter (places already promised)."""
    if not len(evacuations) or "destination_shelter_id" not in evacuations.columns:
        return pd.Series(dtype=np.int64)
    busy = evacuations[evacuations["status"].isin(COMMITTED) & evacuations["destination_shelter_id"].notna()]
    return _counts(busy)["people"].groupby(busy["destination_shelter_id"].astype(str)).sum().astype(np.int64)


def assign_to_shelters(
    evacuations: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    *,
    max_km: float | None = None,
    reach: Reach | None = None,
    reach_fn: Callable[[gpd.GeoDataFrame, gpd.GeoDataFrame], Reach] | None = None,
) -> AssignmentResult:
    """Allocate the people of the ``requested`` evacuations to open shelters with free places.

    The exact, order-independent allocation of :func:`cimic_geo.analytics.coverage.coverage`:
    the most people placed, then the least total person-cost (km or road minutes). A shelter's
    free places are ``capacity - occupancy`` minus the people of planned or underway missions
    already heading there. Each request is one "settlement" of the allocation (its pickup point).

    Parameters
    ----------
    evacuations : ``id``, ``status``, ``people`` and pickup points (EPSG:4326)
    shelters : ``id``, ``name``, ``capacity``, ``occupancy``, ``status`` and points
    max_km, reach, reach_fn : as for :func:`~cimic_geo.analytics.coverage.coverage`
        (e.g. a ``functools.partial`` of :func:`~cimic_geo.analytics.reach.travel_time_reach`)
    """
    req = evacuations[evacuations["status"] == "requested"] if len(evacuations) else evacuations
    people = _counts(req)["people"] if len(req) else pd.Series(dtype=np.int64)
    sites = gpd.GeoDataFrame({"id": req["id"].astype(str).to_numpy(), "name": req["id"].astype(str).to_numpy(),
                              "population": people.to_numpy()},
                             geometry=gpd.GeoSeries(np.asarray(req.geometry.values), crs="EPSG:4326"), crs="EPSG:4326")
    shel = shelters.copy()
    occupancy = pd.to_numeric(shel["occupancy"], errors="coerce").fillna(0) if "occupancy" in shel else 0
    promised = shel["id"].astype(str).map(committed_places(evacuations)).fillna(0)
    shel["occupancy"] = (occupancy + promised).astype(np.int64)
    res = coverage(settlements=sites, shelters=shel, max_km=max_km, reach=reach, reach_fn=reach_fn)
    s = res.settlements
    requests = pd.DataFrame({"id": s["id"].to_numpy(), "people": s["population"].to_numpy(),
                             "assigned": s["covered"].to_numpy(), "unassigned": s["unserved"].to_numpy()})
    h = res.shelters
    name = h["name"].to_numpy() if "name" in h.columns else h["id"].to_numpy()
    shelter_table = pd.DataFrame({"id": h["id"].to_numpy(), "name": name, "free": h["available"].to_numpy(),
                                  "assigned": h["assigned"].to_numpy(), "spare": h["spare"].to_numpy()})
    alloc = res.allocation.rename(columns={"settlement_id": "request_id"})
    return AssignmentResult(requests=requests, shelters=shelter_table, allocation=alloc.reset_index(drop=True),
                            unit=res.unit, limit=res.limit, coverage=res)
