"""Civil assessments and partners (3W) over the store: what the CLI and the pages share.

:func:`assessment_overview` gives, at an as-of time, each settlement's latest assessment, its
staleness and the sector picture; :func:`partner_overview` gives the 3W entries in force and the
gaps (settlements with an unmet need in a sector that no partner covers). The reference time when
none is given is the latest information in the store (last front-line snapshot, assessment or
partner change), so that an exercise scenario is judged at its own "now". Documents returned by
``to_dict`` are JSON-serialisable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.analytics.assessment_status import (
    Staleness,
    check_sector,
    sector_status,
    sector_summary,
    staleness,
)
from cimic_geo.analytics.partner_gaps import GapAnalysis, coverage_pairs, gap_analysis, three_w_table
from cimic_geo.config import stale_days as stale_days_setting
from cimic_geo.errors import NotFoundError
from cimic_geo.i18n import _
from cimic_geo.store import Store
from cimic_geo.store.assessment_records import assessment_history, latest_assessments
from cimic_geo.store.partner_records import partner_history, read_partners
from cimic_geo.timefmt import dtg, iso, to_utc

#: Columns of a settlement card's history table.
HISTORY_COLUMNS = ("assessed_at", "population_present", "power_status", "water_status", "heating_status",
                   "gas_status", "telecom_status", "health_status", "food_status", "access_status",
                   "priority_needs", "assessor", "reliability", "source")


def reference_time(store: Store, as_of: Any = None) -> pd.Timestamp:
    """``as_of`` as UTC, or the latest information in the store (now if the store is empty)."""
    if as_of is not None and not (isinstance(as_of, str) and not as_of.strip()):
        return to_utc(as_of)
    row = store.query_df(
        "SELECT max(t) AS t FROM (SELECT max(valid_from) AS t FROM front_line "
        "UNION ALL SELECT max(assessed_at) FROM assessments UNION ALL SELECT max(valid_from) FROM partners)")
    t = row["t"].iloc[0] if len(row) else None
    return to_utc(t) if t is not None and not pd.isna(t) else pd.Timestamp.now(tz="UTC")


def _settlements(store: Store) -> gpd.GeoDataFrame:
    return store.read("settlements", columns=["name", "admin1", "admin2", "population"])


@dataclass
class AssessmentOverview:
    """Settlements with their latest assessment at ``as_of``.

    ``settlements`` has every settlement with ``state`` (current/stale/never), ``age_days``,
    ``last_assessed`` and, for the chosen ``sector``, ``status`` (``unknown`` where never assessed).
    """

    as_of: pd.Timestamp
    sector: str
    latest: gpd.GeoDataFrame
    settlements: gpd.GeoDataFrame
    stale: Staleness
    summary: pd.DataFrame

    def to_dict(self, *, rows: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "as_of": iso(self.as_of), "as_of_dtg": dtg(self.as_of), "sector": self.sector,
            "settlements": len(self.settlements), "assessed": len(self.latest), **self.stale.to_dict(),
            "by_sector": self.summary.to_dict(orient="records"),
        }
        doc["stale_settlements"] = [
            {"id": r["id"], "name": r["name"], "last_assessed": iso(r["last_assessed"]),
             "age_days": round(float(r["age_days"]), 1)}
            for _, r in self.settlements[self.settlements["state"] == "stale"].sort_values(
                "age_days", ascending=False).iterrows()]
        if rows:
            doc["latest"] = [_jsonable(r) for r in pd.DataFrame(self.latest.drop(columns="geometry")).to_dict("records")]
        return doc


def _jsonable(rec: dict) -> dict:
    out = {}
    for k, v in rec.items():
        if isinstance(v, pd.Timestamp):
            out[k] = iso(v)
        elif v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            out[k] = None
        elif isinstance(v, np.integer):
            out[k] = int(v)
        elif isinstance(v, np.floating):
            out[k] = float(v)
        else:
            out[k] = v
    return out


def assessment_overview(store: Store, *, as_of: Any = None, sector: str = "water",
                        stale_days: float | None = None) -> AssessmentOverview:
    """Latest assessment per settlement at ``as_of``, staleness and the status of ``sector``."""
    check_sector(sector)
    t = reference_time(store, as_of)
    days = stale_days_setting(stale_days)
    latest = latest_assessments(store, as_of=t)
    st = _settlements(store)
    stale = staleness(st, latest, as_of=t, stale_days=days)
    out = st.copy()
    out["state"] = stale.table["state"].to_numpy()
    out["age_days"] = stale.table["age_days"].to_numpy()
    out["last_assessed"] = stale.table["last_assessed"].to_numpy()
    status = pd.Series(sector_status(latest, sector).to_numpy(), index=latest["settlement_id"].astype(str).to_numpy())
    out["status"] = out["id"].astype(str).map(status).fillna("unknown").to_numpy()
    needs = latest.set_index(latest["settlement_id"].astype(str))["priority_needs"] if len(latest) else pd.Series()
    out["priority_needs"] = out["id"].astype(str).map(needs).to_numpy() if len(needs) else None
    return AssessmentOverview(as_of=t, sector=sector, latest=latest, settlements=out, stale=stale,
                              summary=sector_summary(latest))


@dataclass
class SettlementCard:
    """One settlement with its assessment history (newest first) and the partners covering it."""

    settlement: dict[str, Any]
    history: pd.DataFrame
    partners: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"settlement": _jsonable(self.settlement),
                "assessments": [_jsonable(r) for r in self.history.to_dict("records")],
                "partners": [_jsonable(r) for r in self.partners.to_dict("records")]}


def settlement_card(store: Store, settlement_id: str, *, as_of: Any = None) -> SettlementCard:
    """The card of one settlement: its data, every assessment up to ``as_of`` and its partners then."""
    found = store.read("settlements", columns=["name", "name_uk", "admin1", "admin2", "population"],
                       where={"id": str(settlement_id)})
    if not len(found):
        raise NotFoundError(_("no settlement with id '{id}'").format(id=settlement_id))
    t = reference_time(store, as_of)
    row = found.iloc[0]
    info = {k: row[k] for k in ("id", "name", "name_uk", "admin1", "admin2", "population")}
    hist = assessment_history(store, str(settlement_id))
    hist = pd.DataFrame(hist[hist["assessed_at"] <= t].drop(columns="geometry"))
    partners = read_partners(store, as_of=t)
    pairs = coverage_pairs(partners, found)
    mine = partners[partners["partner_id"].astype(str).isin(set(pairs["partner_id"][pairs["settlement_id"] ==
                                                                                   str(settlement_id)]))]
    cols = ["partner_id", "organisation", "org_type", "sector", "activity", "contact"]
    return SettlementCard(settlement=info, history=hist[[c for c in ("id", *HISTORY_COLUMNS) if c in hist]],
                          partners=pd.DataFrame(mine[cols]).reset_index(drop=True))


@dataclass
class PartnerOverview:
    """The 3W entries in force at ``as_of``, their table, and the gaps against the latest assessments."""

    as_of: pd.Timestamp
    partners: gpd.GeoDataFrame
    table: pd.DataFrame
    gaps: GapAnalysis
    settlements: gpd.GeoDataFrame

    def to_dict(self, *, gaps: bool = True, table: bool = True) -> dict[str, Any]:
        doc: dict[str, Any] = {"as_of": iso(self.as_of), "as_of_dtg": dtg(self.as_of), "partners": len(self.table),
                               "organisations": int(self.table["organisation"].nunique()) if len(self.table) else 0,
                               "by_sector": self.gaps.by_sector.to_dict(orient="records"),
                               "gap_settlements": len(self.gaps.gap_settlements())}
        if table:
            doc["table"] = [_jsonable(r) for r in self.table.to_dict("records")]
        if gaps:
            cols = [c for c in ("settlement_id", "name", "admin1", "sector", "status", "assessed_at", "age_days",
                                "people")
                    if c in self.gaps.gaps]
            doc["gaps"] = [_jsonable(r) for r in self.gaps.gaps[cols].to_dict("records")]
        return doc


def partner_overview(store: Store, *, as_of: Any = None, sector: str | None = None) -> PartnerOverview:
    """3W table and gaps at ``as_of`` (optionally for one assessed sector)."""
    sectors = (check_sector(sector),) if sector else None
    t = reference_time(store, as_of)
    partners = read_partners(store, as_of=t)
    st = _settlements(store)
    latest = latest_assessments(store, as_of=t)
    covers = coverage_pairs(partners, st)  # once, for the gaps and the 3W table
    gaps = gap_analysis(latest, partners, st, covers=covers, **({"sectors": sectors} if sectors else {}))
    # how old the assessment behind each gap is (a gap on a stale assessment needs a visit first)
    gaps.gaps["age_days"] = ((t - pd.to_datetime(gaps.gaps["assessed_at"], utc=True)) / pd.Timedelta(days=1)).round(1)
    table = three_w_table(partners, st, covers=covers)
    if sector:
        table = table[table["sector"] == sector].reset_index(drop=True)
        partners = partners[partners["sector"] == sector]
    return PartnerOverview(as_of=t, partners=partners, table=table, gaps=gaps, settlements=st)


def partner_versions(store: Store, partner_id: str) -> pd.DataFrame:
    """Every version of one 3W entry, oldest first (without geometry)."""
    hist = partner_history(store, partner_id)
    if not len(hist):
        raise NotFoundError(_("no 3W entry '{id}'").format(id=partner_id))
    return pd.DataFrame(hist.drop(columns="geometry"))
