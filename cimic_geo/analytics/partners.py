"""3W (who does what where): which partner covers which settlement, and the gaps (pure functions).

A partner entry *covers* a settlement in its sector when the settlement's id is in the entry's
``settlement_ids`` list, or when the settlement's point lies in (or on the edge of) the entry's
area polygon. A *gap* is a settlement whose latest assessment shows an unmet need in a sector
(status ``partial`` or ``disrupted``) and no partner entry of that sector covers it. Point-in-polygon
tests use one shapely STRtree query for all pairs (no Python loop over partners).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics.assessments import unmet_needs
from cimic_geo.schema import ASSESSMENT_SECTORS, NEED_STATUSES


def split_ids(value: object) -> list[str]:
    """The settlement ids of a ``settlement_ids`` cell (separated by ``;`` or ``,``; blanks dropped)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [p.strip() for p in str(value).replace(",", ";").split(";") if p.strip()]


def coverage_pairs(partners: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every (partner row, settlement) covered: columns ``partner_id``, ``sector``, ``settlement_id``, ``how``.

    ``how`` is ``listed`` (id in the list) or ``area`` (point in the polygon); a pair found both
    ways is kept once, as ``listed``. Listed ids that are not in ``settlements`` are kept (they may be
    outside the frame passed in).
    """
    cols = ["partner_id", "sector", "settlement_id", "how"]
    if not len(partners):
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    pid = partners["partner_id"].astype(str).to_numpy()
    sector = partners["sector"].astype(str).to_numpy()
    listed = pd.DataFrame({"partner_id": pid, "sector": sector,
                           "settlement_id": [split_ids(v) for v in partners["settlement_ids"].tolist()]})
    listed = listed.explode("settlement_id").dropna(subset=["settlement_id"])
    listed["how"] = "listed"
    parts = [listed]
    geoms = np.asarray(partners.geometry.values, dtype=object)
    poly = np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    if poly.any() and len(settlements):
        tree = shapely.STRtree(np.asarray(settlements.geometry.values, dtype=object))
        p_idx = np.flatnonzero(poly)
        q, s = tree.query(geoms[p_idx], predicate="covers")
        rows = p_idx[q]
        parts.append(pd.DataFrame({"partner_id": pid[rows], "sector": sector[rows],
                                   "settlement_id": settlements["id"].astype(str).to_numpy()[s], "how": "area"}))
    out = pd.concat(parts, ignore_index=True)
    out = out.drop_duplicates(["partner_id", "settlement_id"], keep="first")
    return out[cols].reset_index(drop=True)


@dataclass(frozen=True)
class GapAnalysis:
    """Result of :func:`gap_analysis`.

    Attributes
    ----------
    needs : every unmet need (settlement, sector, status) with ``partners`` = how many entries of
        the sector cover the settlement, and ``covered``
    gaps : the needs with no covering partner, with the settlement's ``name``, ``admin1``, ``population``
    by_sector : per sector: ``needs``, ``covered``, ``gaps``, ``people_in_gaps`` (population present,
        else the settlement's population)
    """

    needs: pd.DataFrame
    gaps: pd.DataFrame
    by_sector: pd.DataFrame

    def gap_settlements(self, sector: str | None = None) -> list[str]:
        g = self.gaps if sector is None else self.gaps[self.gaps["sector"] == sector]
        return sorted(set(g["settlement_id"].astype(str)))

    def to_dict(self) -> dict:
        return {
            "by_sector": self.by_sector.to_dict(orient="records"),
            "gaps": [{k: (None if pd.isna(v) else (v.isoformat() if isinstance(v, pd.Timestamp) else v))
                      for k, v in r.items()} for r in self.gaps.to_dict(orient="records")],
        }


def gap_analysis(
    latest: pd.DataFrame,
    partners: gpd.GeoDataFrame,
    settlements: gpd.GeoDataFrame,
    *,
    sectors: tuple[str, ...] = ASSESSMENT_SECTORS,
    need_statuses: tuple[str, ...] = NEED_STATUSES,
) -> GapAnalysis:
    """Settlements with an unmet need in a sector and no partner of that sector covering them.

    Parameters
    ----------
    latest : the latest assessment per settlement (see
        :func:`cimic_geo.analytics.assessments.latest_per_settlement`)
    partners : the 3W entries in force (``partner_id``, ``sector``, ``settlement_ids``, geometry)
    settlements : settlements (``id``, points; ``name``, ``admin1``, ``population`` when present)
    sectors, need_statuses : which sectors and statuses count as an unmet need
    """
    needs = unmet_needs(latest, sectors=sectors, need_statuses=need_statuses)
    need_ids = set(needs["settlement_id"])
    st = settlements[settlements["id"].astype(str).isin(need_ids)]
    pairs = coverage_pairs(partners[partners["sector"].isin(sectors)] if len(partners) else partners, st)
    n_cover = pairs.groupby(["settlement_id", "sector"]).size().rename("partners")
    needs = needs.join(n_cover, on=["settlement_id", "sector"])
    needs["partners"] = needs["partners"].fillna(0).astype(int)
    needs["covered"] = needs["partners"] > 0
    info = settlements.drop(columns=settlements.geometry.name).assign(settlement_id=settlements["id"].astype(str))
    keep = [c for c in ("settlement_id", "name", "admin1", "population") if c in info]
    gaps = needs[~needs["covered"]].merge(info[keep], on="settlement_id", how="left")
    people = gaps["population_present"] if "population_present" in gaps else pd.Series(np.nan, index=gaps.index)
    if "population" in gaps:
        people = people.fillna(gaps["population"])
    gaps = gaps.assign(people=people.fillna(0).astype(float)).reset_index(drop=True)
    rows = []
    for sector in sectors:
        n = needs[needs["sector"] == sector]
        g = gaps[gaps["sector"] == sector]
        rows.append({"sector": sector, "needs": len(n), "covered": int(n["covered"].sum()), "gaps": len(g),
                     "people_in_gaps": int(g["people"].sum())})
    return GapAnalysis(needs=needs, gaps=gaps, by_sector=pd.DataFrame(rows))


def three_w_table(partners: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame) -> pd.DataFrame:
    """The 3W table: one row per entry with the number of settlements it covers (listed or in its area)."""
    pairs = coverage_pairs(partners, settlements)
    known = set(settlements["id"].astype(str))
    pairs = pairs[pairs["settlement_id"].isin(known)]
    n = pairs.groupby("partner_id").size()
    cols = [c for c in ("partner_id", "organisation", "org_type", "sector", "activity", "contact", "valid_from",
                        "source", "reliability") if c in partners]
    table = pd.DataFrame(partners[cols]).reset_index(drop=True)
    table["settlements_covered"] = table["partner_id"].astype(str).map(n).fillna(0).astype(int).to_numpy()
    table["area"] = np.where(np.isin(shapely.get_type_id(np.asarray(partners.geometry.values, dtype=object)),
                                     [3, 6]), "polygon", "settlement list")
    return table.sort_values(["sector", "organisation", "partner_id"], ignore_index=True)
