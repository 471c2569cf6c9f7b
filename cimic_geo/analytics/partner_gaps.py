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

from cimic_geo.analytics.assessment_status import unmet_needs
from cimic_geo.i18n import N_, _
from cimic_geo.schema import ASSESSMENT_SECTORS, NEED_STATUSES


def split_ids(value: object) -> list[str]:
    """The settlement ids of a ``settlement_ids`` cell (separated by ``;`` or ``,``; blanks dropped)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [p.strip() for p in str(value).replace(",", ";").split(";") if p.strip()]


def _pairs(pid: np.ndarray, sector: np.ndarray, id_lists: np.ndarray, geoms: np.ndarray,
           st_ids: np.ndarray, st_geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(partner row, settlement id, how) of every cover, as arrays; listed first, then areas."""
    lists = [split_ids(v) for v in id_lists]
    lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    rows_l = np.repeat(np.arange(len(lists)), lens)
    ids_l = np.array([i for x in lists for i in x], dtype=object)
    poly = np.isin(shapely.get_type_id(geoms), [3, 6]) if len(geoms) else np.zeros(0, dtype=bool)
    rows_a = np.array([], dtype=np.int64)
    ids_a = np.array([], dtype=object)
    if poly.any() and len(st_geoms):
        tree = shapely.STRtree(st_geoms)
        p_idx = np.flatnonzero(poly)
        q, hit = tree.query(geoms[p_idx], predicate="covers")
        rows_a, ids_a = p_idx[q], st_ids[hit]
    rows = np.concatenate([rows_l, rows_a])
    ids = np.concatenate([ids_l, ids_a]) if len(ids_a) else ids_l
    how = np.concatenate([np.full(len(rows_l), "listed", dtype=object), np.full(len(rows_a), "area", dtype=object)])
    # a pair found both ways is kept once, as listed (first)
    if len(rows):
        codes = pd.factorize(ids)[0].astype(np.int64)
        first = ~pd.Series(rows.astype(np.int64) * (int(codes.max()) + 1) + codes).duplicated(keep="first").to_numpy()
        rows, ids, how = rows[first], ids[first], how[first]
    return rows, ids, how, pid[rows] if len(rows) else np.array([], dtype=object)


def _member(values: np.ndarray, allowed: np.ndarray | tuple) -> np.ndarray:
    """Boolean mask: which ``values`` are in ``allowed`` (hash look-up; ``np.isin`` on objects is quadratic)."""
    index = pd.Index(pd.unique(np.asarray(allowed, dtype=object)), dtype=object)
    return index.get_indexer(np.asarray(values, dtype=object)) >= 0


def _obj(series: pd.Series) -> np.ndarray:
    return np.asarray(series.astype(object).to_numpy(), dtype=object)


def coverage_pairs(partners: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every (partner row, settlement) covered: columns ``partner_id``, ``sector``, ``settlement_id``, ``how``.

    ``how`` is ``listed`` (id in the list) or ``area`` (point in the polygon); a pair found both
    ways is kept once, as ``listed``. Listed ids that are not in ``settlements`` are kept (they may be
    outside the frame passed in).
    """
    cols = ["partner_id", "sector", "settlement_id", "how"]
    if not len(partners):
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    pid = np.asarray(partners["partner_id"].astype(str).to_numpy(), dtype=object)
    sector = _obj(partners["sector"])
    rows, ids, how, pids = _pairs(pid, sector, _obj(partners["settlement_ids"]),
                                  np.asarray(partners.geometry.values, dtype=object),
                                  np.asarray(settlements["id"].astype(str).to_numpy(), dtype=object),
                                  np.asarray(settlements.geometry.values, dtype=object))
    return pd.DataFrame({"partner_id": pd.Series(pids, dtype=object), "sector": pd.Series(sector[rows], dtype=object),
                         "settlement_id": pd.Series(ids, dtype=object), "how": pd.Series(how, dtype=object)})


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
    covers: pd.DataFrame | None = None,
) -> GapAnalysis:
    """Settlements with an unmet need in a sector and no partner of that sector covering them.

    Parameters
    ----------
    latest : the latest assessment per settlement (see
        :func:`cimic_geo.analytics.assessment_status.latest_per_settlement`)
    partners : the 3W entries in force (``partner_id``, ``sector``, ``settlement_ids``, geometry)
    settlements : settlements (``id``, points; ``name``, ``admin1``, ``population`` when present)
    sectors, need_statuses : which sectors and statuses count as an unmet need
    covers : :func:`coverage_pairs` of these partners and settlements when already computed (the
        3W table needs them too); found here otherwise
    """
    needs = unmet_needs(latest, sectors=sectors, need_statuses=need_statuses)
    st_ids = np.asarray(settlements["id"].astype(str).to_numpy(), dtype=object)
    need_sid = needs["settlement_id"].to_numpy(dtype=object)
    need_sec = needs["sector"].to_numpy(dtype=object)
    wanted = _member(st_ids, need_sid) if len(needs) else np.zeros(len(st_ids), dtype=bool)
    if len(partners):
        if covers is None:
            keep = _member(_obj(partners["sector"]), sectors)
            p = partners[keep]
            sector = _obj(p["sector"])
            rows, ids, _how, _pids = _pairs(np.asarray(p["partner_id"].astype(str).to_numpy(), dtype=object),
                                            sector, _obj(p["settlement_ids"]),
                                            np.asarray(p.geometry.values, dtype=object), st_ids[wanted],
                                            np.asarray(settlements.geometry.values, dtype=object)[wanted])
            cover_sector = sector[rows]
        else:
            ids, cover_sector = _obj(covers["settlement_id"]), _obj(covers["sector"])
        # integer keys (settlement code x sector code) instead of string concatenation
        universe = pd.Index(pd.unique(np.concatenate([st_ids, need_sid])), dtype=object)
        sec_index = pd.Index(list(sectors), dtype=object)
        s_code = universe.get_indexer(ids)
        k_code = sec_index.get_indexer(cover_sector)
        ok = (s_code >= 0) & (k_code >= 0)
        counts = np.bincount(s_code[ok] * len(sectors) + k_code[ok], minlength=len(universe) * len(sectors))
        need_codes = universe.get_indexer(need_sid) * len(sectors) + sec_index.get_indexer(need_sec)
        n_partners = counts[need_codes] if len(needs) else np.zeros(0, dtype=int)
    else:
        n_partners = np.zeros(len(needs), dtype=int)
    needs = needs.assign(partners=n_partners, covered=n_partners > 0)
    gaps = needs[~needs["covered"].to_numpy()].reset_index(drop=True)
    pos = pd.Index(st_ids, dtype=object).get_indexer(gaps["settlement_id"].to_numpy(dtype=object))
    found = pos >= 0
    for col in ("name", "admin1", "population"):
        if col in settlements:
            vals = settlements[col].to_numpy(dtype=object)
            gaps[col] = np.where(found, vals[np.where(found, pos, 0)], None) if len(vals) else None
    people = gaps["population_present"].to_numpy(dtype=float)
    if "population" in gaps:
        fallback = pd.to_numeric(gaps["population"], errors="coerce").to_numpy(dtype=float)
        people = np.where(np.isnan(people), fallback, people)
    gaps["people"] = np.nan_to_num(people, nan=0.0)
    rows = []
    need_by = needs.groupby("sector")["covered"].agg(["size", "sum"])
    gap_by = gaps.groupby("sector")["people"].agg(["size", "sum"])
    for sector in sectors:
        n_need = int(need_by.loc[sector, "size"]) if sector in need_by.index else 0
        n_cov = int(need_by.loc[sector, "sum"]) if sector in need_by.index else 0
        n_gap = int(gap_by.loc[sector, "size"]) if sector in gap_by.index else 0
        ppl = int(gap_by.loc[sector, "sum"]) if sector in gap_by.index else 0
        rows.append({"sector": sector, "needs": n_need, "covered": n_cov, "gaps": n_gap, "people_in_gaps": ppl})
    return GapAnalysis(needs=needs, gaps=gaps, by_sector=pd.DataFrame(rows))


def three_w_table(partners: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame, *,
                  covers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The 3W table: one row per entry with the number of settlements it covers (listed or in its area).

    ``covers``: :func:`coverage_pairs` of the same frames when already computed (used when each
    entry has its own ``partner_id``, as the entries in force at one time do).
    """
    st_ids = np.asarray(settlements["id"].astype(str).to_numpy(), dtype=object)
    n_cov = np.zeros(len(partners), dtype=int)
    if len(partners):
        pid = np.asarray(partners["partner_id"].astype(str).to_numpy(), dtype=object)
        if covers is None or not pd.Index(pid, dtype=object).is_unique:
            rows, ids, _how, _pids = _pairs(pid, _obj(partners["sector"]), _obj(partners["settlement_ids"]),
                                            np.asarray(partners.geometry.values, dtype=object), st_ids,
                                            np.asarray(settlements.geometry.values, dtype=object))
        else:
            rows, ids = pd.Index(pid, dtype=object).get_indexer(_obj(covers["partner_id"])), _obj(covers["settlement_id"])
        known = _member(ids, st_ids) & (rows >= 0)
        n_cov = np.bincount(rows[known], minlength=len(partners))
    cols = [c for c in ("partner_id", "organisation", "org_type", "sector", "activity", "contact", "valid_from",
                        "source", "reliability") if c in partners]
    table = pd.DataFrame(partners[cols]).reset_index(drop=True)
    table["settlements_covered"] = n_cov
    table["area"] = np.where(np.isin(shapely.get_type_id(np.asarray(partners.geometry.values, dtype=object)),
                                     [3, 6]), "polygon", "settlement list")
    return table.sort_values(["sector", "organisation", "partner_id"], ignore_index=True)


#: The ``area`` values of the 3W table (kept English in the table and its CSV).
_AREA_LABELS = {"polygon": N_("polygon"), "settlement list": N_("settlement list")}


def area_label(value: object) -> str:
    """An ``area`` value of the 3W table in the current language, for display."""
    text = str(value)
    return _(_AREA_LABELS[text]) if text in _AREA_LABELS else text
