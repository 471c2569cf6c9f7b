"""Restoration priority of damaged infrastructure.

Score = people served × sector weight × damage weight ("people-weighted loss of service").
Objects inside the nearest threat band (0 to the first band edge, default 5 km) are flagged
*not safe to repair now* and ranked after all safe objects; objects on the occupied side are not
ranked (listed as excluded). Ties break by id, so the ranking does not depend on row order.
Each rank comes with a sentence a briefer can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.analytics.bands import DEFAULT_BANDS_KM, OCCUPIED, check_bands, classify_bands, prepare_front
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import WGS84
from cimic_geo.i18n import N_, _, fmt_int, fmt_number, ngettext, term
from cimic_geo.schema import DAMAGE_LEVELS, SECTORS
from cimic_geo.timefmt import iso, to_utc

#: Sector criticality: health, water, power and heating first (configurable).
DEFAULT_SECTOR_WEIGHTS: dict[str, float] = {
    "health": 1.0, "water": 1.0, "power": 0.9, "heating": 0.9, "gas": 0.6, "telecom": 0.6,
    "bridge": 0.5, "road": 0.4, "rail": 0.4, "education": 0.3,
}
#: Damage weights (more damage = more service lost).
DEFAULT_DAMAGE_WEIGHTS: dict[str, float] = {"minor": 0.4, "major": 0.8, "destroyed": 1.0}
#: Sector names in the reasons (translated where the reason is built).
_SECTOR_NAMES = {
    "health": N_("health care"), "water": N_("water supply"), "power": N_("power"), "heating": N_("heating"),
    "gas": N_("gas supply"), "telecom": N_("telecommunications"), "bridge": N_("a bridge"), "road": N_("a road"),
    "rail": N_("rail"), "education": N_("education"),
}


def parse_weights(text: str | Mapping[str, float] | None, *, allowed: Sequence[str], what: str) -> dict[str, float]:
    """``"health=1,water=0.9"`` (or a mapping) -> weights; unknown keys or negative values raise."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    items = text.items() if isinstance(text, Mapping) else (
        part.split("=", 1) if "=" in part else (part, "") for part in str(text).split(",") if part.strip())
    out: dict[str, float] = {}
    for k, v in items:
        key = str(k).strip()
        if key not in allowed:
            raise AnalysisError(_("unknown {what} '{key}' in weights; expected one of: {allowed}").format(
                what=_(what), key=key, allowed=", ".join(allowed)))
        try:
            w = float(v)
        except (TypeError, ValueError):
            raise AnalysisError(_("{what} weight for '{key}' must be a number, got {value}").format(
                what=_(what), key=key, value=repr(v))) from None
        if not np.isfinite(w) or w < 0:
            raise AnalysisError(_("{what} weight for '{key}' must be a non-negative number, got {value}").format(
                what=_(what), key=key, value=repr(v)))
        out[key] = w
    return out


@dataclass
class RestorationResult:
    """Ranked objects (``ranked``, one row per damaged object, rank 1 first) and the objects not
    ranked because they lie on the occupied side (``excluded``)."""

    ranked: gpd.GeoDataFrame
    excluded: gpd.GeoDataFrame
    as_of: pd.Timestamp | None
    bands_km: tuple[float, ...]
    unsafe_km: float
    sector_weights: dict[str, float]
    damage_weights: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def table(self, top: int | None = None) -> pd.DataFrame:
        cols = ["rank", "id", "name", "sector", "damage", "restoration", "people_served", "distance_km", "band",
                "safe_to_repair", "score", "reason"]
        t = pd.DataFrame(self.ranked[cols])
        return t.head(top) if top else t

    def to_dict(self, *, top: int | None = None) -> dict[str, Any]:
        rows = []
        for r in self.table(top).itertuples(index=False):
            rows.append({
                "rank": int(r.rank), "id": str(r.id), "name": None if pd.isna(r.name) else str(r.name),
                "sector": str(r.sector), "damage": str(r.damage),
                "restoration": None if pd.isna(r.restoration) else str(r.restoration),
                "people_served": int(r.people_served),
                "distance_km": None if pd.isna(r.distance_km) else round(float(r.distance_km), 3),
                "band": str(r.band), "safe_to_repair": bool(r.safe_to_repair), "score": round(float(r.score), 1),
                "reason": str(r.reason),
            })
        return {
            "as_of": iso(self.as_of),
            "bands_km": [float(b) for b in self.bands_km],
            "unsafe_within_km": float(self.unsafe_km),
            "weights": {"sector": dict(self.sector_weights), "damage": dict(self.damage_weights)},
            "count": len(self.ranked),
            "not_safe_count": int((~self.ranked["safe_to_repair"]).sum()) if len(self.ranked) else 0,
            "excluded_occupied": len(self.excluded),
            "notes": list(self.notes),
            "objects": rows,
        }


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _reason(row: Any, *, sw: float, dw: float, unsafe_km: float) -> str:
    """The sentence a briefer reads for one ranked object, in the language in force."""
    people = int(row.people_served)
    sector = _(_SECTOR_NAMES[row.sector]) if row.sector in _SECTOR_NAMES else str(row.sector)
    damage = term(row.damage)
    n = fmt_int(people)
    if people:
        head = ngettext("{damage} damage to {sector} serving {people} person.",
                        "{damage} damage to {sector} serving {people} people.", people)
    else:
        head = _("{damage} damage to {sector} people served not reported.")
    parts = [_capital(head.format(damage=damage, sector=sector, people=n))]
    values = {"sector": _capital(sector), "weight": fmt_number(sw), "damage": damage, "damage_weight": fmt_number(dw)}
    if sw >= 0.9:
        parts.append(_("{sector} is a top-priority sector (weight {weight}); {damage} damage weighs {damage_weight}.")
                     .format(**values))
    elif sw >= 0.5:
        parts.append(_("{sector} is a medium-priority sector (weight {weight}); {damage} damage weighs "
                       "{damage_weight}.").format(**values))
    else:
        parts.append(_("{sector} is a lower-priority sector (weight {weight}); {damage} damage weighs "
                       "{damage_weight}.").format(**values))
    if np.isnan(row.distance_km):
        parts.append(_("Distance to the front line unknown."))
    elif row.safe_to_repair:
        parts.append(_("{km} km from the front line (band {band}): safe to repair now.").format(
            km=fmt_number(row.distance_km, digits=1), band=_(str(row.band))))
    else:
        parts.append(_("{km} km from the front line (band {band}): NOT SAFE TO REPAIR NOW (within {unsafe} km of "
                       "the front line); ranked after safe objects.").format(
            km=fmt_number(row.distance_km, digits=1), band=_(str(row.band)), unsafe=fmt_number(unsafe_km)))
    if row.restoration == "planned":
        parts.append(_("Repair already planned."))
    elif row.restoration == "in_progress":
        parts.append(_("Repair already in progress."))
    parts.append(_("Score {score} = {people} people × {sector_weight} × {damage_weight}.").format(
        score=fmt_int(row.score), people=n, sector_weight=fmt_number(sw), damage_weight=fmt_number(dw)))
    return " ".join(parts)


def restoration_priority(
    infrastructure: gpd.GeoDataFrame,
    *,
    front_line: gpd.GeoDataFrame | None,
    occupied_area: gpd.GeoDataFrame | None = None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
    sector_weights: Mapping[str, float] | str | None = None,
    damage_weights: Mapping[str, float] | str | None = None,
    as_of: Any = None,
) -> RestorationResult:
    """Rank damaged, not yet restored infrastructure for repair.

    Parameters
    ----------
    infrastructure : the layer (``id``, ``name``, ``sector``, ``damage``, ``restoration``,
        ``people_served``, geometry in EPSG:4326)
    front_line, occupied_area : in force at the as-of time (for security and the occupied side)
    bands_km : threat bands; objects within the first band are "not safe to repair now"
    sector_weights, damage_weights : overrides of :data:`DEFAULT_SECTOR_WEIGHTS` /
        :data:`DEFAULT_DAMAGE_WEIGHTS` (a mapping or ``"health=1,water=0.9"``)
    """
    edges = check_bands(bands_km)
    sw = {**DEFAULT_SECTOR_WEIGHTS, **parse_weights(sector_weights, allowed=SECTORS, what=N_("sector"))}
    dw = {**DEFAULT_DAMAGE_WEIGHTS, **parse_weights(damage_weights, allowed=DAMAGE_LEVELS[1:], what=N_("damage level"))}
    if infrastructure is None:
        infrastructure = gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    for col in ("id", "sector", "damage"):
        if col not in infrastructure.columns:
            raise AnalysisError(_("infrastructure: a '{column}' column is required").format(column=col))
    inf = infrastructure.to_crs(WGS84) if infrastructure.crs is not None and infrastructure.crs.to_epsg() != 4326 \
        else infrastructure
    restoration = (inf["restoration"] if "restoration" in inf.columns
                   else pd.Series(None, index=inf.index)).astype(object)
    damaged = inf["damage"].isin(list(dw)) & (restoration.astype(str) != "restored")
    cand = inf[damaged].copy()
    notes: list[str] = []
    front = prepare_front(front_line, occupied_area,
                          extent=tuple(inf.total_bounds) if len(inf) and not inf.geometry.isna().all() else None)
    if front.empty:
        notes.append(_("no front line in force: security not assessed"))
    d = front.distance_km(cand.geometry, exact_near_km=edges)
    occ = front.occupied(cand.geometry)
    cand["distance_km"] = d
    cand["band"] = classify_bands(d, occupied=occ, bands_km=edges)
    people = pd.to_numeric(cand.get("people_served", pd.Series(0, index=cand.index)), errors="coerce").fillna(0)
    cand["people_served"] = people.clip(lower=0).round().astype("int64")
    if "name" not in cand.columns:
        cand["name"] = cand["id"]
    cand["restoration"] = restoration[damaged].to_numpy() if len(cand) else []
    s_w = cand["sector"].map(sw).fillna(0.0).to_numpy(dtype=float)
    d_w = cand["damage"].map(dw).fillna(0.0).to_numpy(dtype=float)
    cand["score"] = cand["people_served"].to_numpy(dtype=float) * s_w * d_w
    unsafe_km = edges[0]
    cand["safe_to_repair"] = ~(np.nan_to_num(d, nan=np.inf) <= unsafe_km + 1e-6)
    excluded = cand[cand["band"] == OCCUPIED]
    ranked = cand[cand["band"] != OCCUPIED].copy()
    ranked["_unsafe"] = ~ranked["safe_to_repair"]
    ranked["_neg"] = -ranked["score"]
    ranked = ranked.sort_values(["_unsafe", "_neg", "id"], kind="stable").drop(columns=["_unsafe", "_neg"])
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    ranked["reason"] = [
        _reason(r, sw=sw.get(r.sector, 0.0), dw=dw.get(r.damage, 0.0), unsafe_km=unsafe_km)
        for r in ranked.itertuples(index=False)
    ]
    ts = None if as_of is None else to_utc(as_of)
    return RestorationResult(ranked=ranked.reset_index(drop=True), excluded=excluded.reset_index(drop=True),
                             as_of=ts, bands_km=edges, unsafe_km=unsafe_km, sector_weights=sw, damage_weights=dw,
                             notes=notes)
