"""What changed between two times: shelters, damage, corridors, the front and the imports received.

:func:`compare_shelters` and :func:`compare_damage` are pure functions of two pictures of a layer
(the rows in force at each time); :func:`build_changes` adds the front (occupied area at each time),
the corridor history and the imports of the window ``since < t <= until``, which
:func:`cimic_geo.store.changes_reads.change_inputs` reads from a store (versioned layers as of each
time). Results carry English keys (the CLI translates the labels).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.errors import AnalysisError, CimicError
from cimic_geo.i18n import _
from cimic_geo.schema import DAMAGE_LEVELS
from cimic_geo.timefmt import TimeLike, iso, to_utc

#: Kinds of shelter change, in the order they are listed.
SHELTER_CHANGES = ("opened", "closed", "filled", "freed", "damaged", "removed", "capacity")
#: Kinds of damage change, in the order they are listed.
DAMAGE_CHANGES = ("new", "worse", "repaired")
#: Shelter statuses that take people.
_TAKING = ("open", "full")
_RANK = {d: i for i, d in enumerate(DAMAGE_LEVELS)}


@dataclass(frozen=True)
class ShelterChange:
    """One shelter whose status or capacity changed (``None``: absent at that time)."""

    id: str
    name: str
    change: str  # one of SHELTER_CHANGES
    status_before: str | None
    status_after: str | None
    capacity_before: int | None
    capacity_after: int | None


@dataclass(frozen=True)
class DamageChange:
    """One infrastructure object newly damaged, more damaged or repaired."""

    id: str
    name: str
    sector: str
    change: str  # one of DAMAGE_CHANGES
    damage_before: str | None
    damage_after: str | None


@dataclass(frozen=True)
class CorridorChange:
    """A corridor created or moved to another status."""

    id: str
    name: str
    at: pd.Timestamp
    from_status: str | None
    to_status: str | None
    by: str


@dataclass(frozen=True)
class ImportReceived:
    """A successful import: when, by whom, into which layer(s), how many rows."""

    at: pd.Timestamp
    layer: str
    rows: int
    files: str
    by: str


@dataclass
class Changes:
    """Everything that changed between ``since`` and ``until`` (UTC; ``until`` None = now).

    ``open_capacity_before``/``_after``: places in shelters that take people (open or full) at each
    time. ``front_gained_km2``/``front_lost_km2``: occupied area newly occupied / liberated
    (geodesic km²; None when the store has no occupied-area history at either time).
    """

    since: pd.Timestamp
    until: pd.Timestamp | None
    shelters: list[ShelterChange] = field(default_factory=list)
    open_capacity_before: int = 0
    open_capacity_after: int = 0
    damage: list[DamageChange] = field(default_factory=list)
    corridors: list[CorridorChange] = field(default_factory=list)
    imports: list[ImportReceived] = field(default_factory=list)
    front_gained_km2: float | None = None
    front_lost_km2: float | None = None

    def shelter_counts(self) -> dict[str, int]:
        """Number of shelters per kind of change (every kind, zeros included)."""
        return {k: sum(c.change == k for c in self.shelters) for k in SHELTER_CHANGES}

    def damage_by_sector(self) -> dict[str, dict[str, int]]:
        """Per sector with a change: the number of new, worse and repaired objects."""
        out: dict[str, dict[str, int]] = {}
        for c in self.damage:
            out.setdefault(c.sector, dict.fromkeys(DAMAGE_CHANGES, 0))[c.change] += 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        def plain(obj: Any) -> dict[str, Any]:
            return {k: (iso(v) if isinstance(v, pd.Timestamp) else v) for k, v in asdict(obj).items()}

        return {
            "since": iso(self.since), "until": None if self.until is None else iso(self.until),
            "shelters": {"counts": self.shelter_counts(), "open_capacity_before": self.open_capacity_before,
                         "open_capacity_after": self.open_capacity_after,
                         "open_capacity_change": self.open_capacity_after - self.open_capacity_before,
                         "changes": [plain(c) for c in self.shelters]},
            "damage": {"by_sector": self.damage_by_sector(), "changes": [plain(c) for c in self.damage]},
            "corridors": [plain(c) for c in self.corridors],
            "front": {"gained_km2": self.front_gained_km2, "lost_km2": self.front_lost_km2},
            "imports": [plain(c) for c in self.imports],
        }


def _int(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def _str(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _pair(before: pd.DataFrame | None, after: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """One row per id of either picture: ``<column>_b`` / ``<column>_a`` (NaN when absent), ``in_b``/``in_a``."""
    def part(frame: pd.DataFrame | None, suffix: str) -> pd.DataFrame:
        cols = ["id", *columns]
        if frame is None or not len(frame):
            df = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        else:
            df = pd.DataFrame({c: (frame[c] if c in frame.columns else None) for c in cols})
        df = df.astype({"id": str}).rename(columns={c: f"{c}_{suffix}" for c in columns})
        return df.assign(**{f"in_{suffix}": True})

    m = part(before, "b").merge(part(after, "a"), on="id", how="outer")
    m[["in_b", "in_a"]] = m[["in_b", "in_a"]].fillna(False).astype(bool)
    return m.sort_values("id", kind="stable").reset_index(drop=True)


def compare_shelters(before: gpd.GeoDataFrame | None, after: gpd.GeoDataFrame | None
                     ) -> tuple[list[ShelterChange], int, int]:
    """Shelters whose status or capacity differ between two pictures (columns ``id``, ``name``, ``status``,
    ``capacity``), ordered by kind of change then id, and the open capacity (open or full) of each picture."""
    m = _pair(before, after, ["name", "status", "capacity"])
    sb, sa = m["status_b"].where(m["in_b"]), m["status_a"].where(m["in_a"])
    cap_b = pd.to_numeric(m["capacity_b"], errors="coerce")
    cap_a = pd.to_numeric(m["capacity_a"], errors="coerce")
    same = (sa == sb) & m["in_b"] & m["in_a"]
    kind = np.select(
        [~m["in_a"], same & (cap_b.fillna(-1) != cap_a.fillna(-1)), same, sa == "damaged", sa == "closed",
         (sa == "full") & (sb == "open"), (sa == "open") & (sb == "full")],
        ["removed", "capacity", "", "damaged", "closed", "filled", "freed"], default="opened")
    open_b = int(cap_b[m["in_b"] & sb.isin(_TAKING)].fillna(0).sum())
    open_a = int(cap_a[m["in_a"] & sa.isin(_TAKING)].fillna(0).sum())
    changed = m.assign(kind=kind)[kind != ""]
    out = [ShelterChange(id=r.id, name=_str(r.name_a) or _str(r.name_b) or r.id, change=r.kind,
                         status_before=_str(r.status_b), status_after=_str(r.status_a),
                         capacity_before=_int(r.capacity_b), capacity_after=_int(r.capacity_a))
           for r in changed.itertuples(index=False)]
    out.sort(key=lambda c: (SHELTER_CHANGES.index(c.change), c.id))
    return out, open_b, open_a


def _damaged(damage: pd.Series, restoration: pd.Series, present: pd.Series) -> pd.Series:
    return present & damage.notna() & (damage != "none") & (restoration.astype(object) != "restored")


def compare_damage(before: gpd.GeoDataFrame | None, after: gpd.GeoDataFrame | None) -> list[DamageChange]:
    """Infrastructure newly damaged, more damaged, or repaired (damage ``none`` or restoration ``restored``)
    between two pictures (columns ``id``, ``name``, ``sector``, ``damage``, ``restoration``).

    An object present only in the later picture and damaged counts as new damage; one that disappeared
    is not counted as repaired.
    """
    m = _pair(before, after, ["name", "sector", "damage", "restoration"])
    was = _damaged(m["damage_b"], m["restoration_b"], m["in_b"])
    now = _damaged(m["damage_a"], m["restoration_a"], m["in_a"])
    rank_b = m["damage_b"].map(_RANK).fillna(0)
    rank_a = m["damage_a"].map(_RANK).fillna(0)
    kind = np.select([now & ~was, was & ~now & m["in_a"], was & now & (rank_a > rank_b)], ["new", "repaired", "worse"],
                     default="")
    changed = m.assign(kind=kind)[kind != ""]
    out = [DamageChange(id=r.id, name=_str(r.name_a) or r.id, sector=_str(r.sector_a) or "", change=r.kind,
                        damage_before=_str(r.damage_b), damage_after=_str(r.damage_a))
           for r in changed.itertuples(index=False)]
    out.sort(key=lambda c: (c.sector, DAMAGE_CHANGES.index(c.change), c.id))
    return out


def _time(value: TimeLike | None, name: str) -> pd.Timestamp | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return to_utc(value)
    except CimicError as exc:
        raise AnalysisError(_("{name}: {problem}").format(name=name, problem=exc)) from None


def check_window(since: TimeLike | None, until: TimeLike | None = None) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """``since`` and ``until`` as UTC times (``until`` None = now).

    Raises
    ------
    AnalysisError
        When a time is not a time, ``since`` is missing, or ``since`` is not before ``until``.
    """
    t0, t1 = _time(since, "since"), _time(until, "until")
    if t0 is None:
        raise AnalysisError(_("since: a start time is required (ISO 8601 UTC)"))
    if t1 is not None and t0 >= t1:
        raise AnalysisError(_("since ({since}) must be before until ({until})").format(since=iso(t0), until=iso(t1)))
    return t0, t1


def build_changes(
    *,
    since: pd.Timestamp,
    until: pd.Timestamp | None,
    shelters_before: gpd.GeoDataFrame | None,
    shelters_after: gpd.GeoDataFrame | None,
    infrastructure_before: gpd.GeoDataFrame | None,
    infrastructure_after: gpd.GeoDataFrame | None,
    occupied_before: gpd.GeoDataFrame | None = None,
    occupied_after: gpd.GeoDataFrame | None = None,
    corridor_log: pd.DataFrame | None = None,
    import_log: pd.DataFrame | None = None,
    open_capacity: tuple[int, int] | None = None,
) -> Changes:
    """What changed between ``since`` and ``until``, from the two pictures of each layer and the logs.

    Parameters
    ----------
    since, until : the window (UTC; ``until`` None = now), see :func:`check_window`
    shelters_before, shelters_after : shelters in force at each time (``id``, ``name``, ``status``, ``capacity``)
    infrastructure_before, infrastructure_after : infrastructure in force at each time (``id``, ``name``,
        ``sector``, ``damage``, ``restoration``)
    occupied_before, occupied_after : occupied area in force at each time (front km² gained and lost)
    corridor_log : corridor creations and status changes in the window
        (:func:`cimic_geo.store.changes_reads.corridor_changes`)
    import_log : imports in the window (:func:`cimic_geo.store.changes_reads.imports_received`)
    open_capacity : places in open or full shelters at ``since`` and ``until``, when the shelter pictures
        hold only the changed shelters (else summed over the pictures)
    """
    from cimic_geo.analytics.front_change import front_change

    shelters, cap0, cap1 = compare_shelters(shelters_before, shelters_after)
    if open_capacity is not None:
        cap0, cap1 = (int(v) for v in open_capacity)
    result = Changes(since=since, until=until, shelters=shelters, open_capacity_before=cap0,
                     open_capacity_after=cap1, damage=compare_damage(infrastructure_before, infrastructure_after))
    if (occupied_before is not None and len(occupied_before)) or (occupied_after is not None and len(occupied_after)):
        fc = front_change(occupied_before, occupied_after)
        result.front_gained_km2, result.front_lost_km2 = fc.gained_km2, fc.lost_km2
    for r in (corridor_log.to_dict("records") if corridor_log is not None else []):
        result.corridors.append(CorridorChange(id=str(r["corridor_id"]), name=_str(r["name"]) or str(r["corridor_id"]),
                                               at=r["changed_at"], from_status=_str(r["from_status"]),
                                               to_status=_str(r["to_status"]), by=str(r["changed_by"])))
    for r in (import_log.to_dict("records") if import_log is not None else []):
        result.imports.append(ImportReceived(at=r["at_utc"], layer=str(r["layer"]), rows=int(r["rows"]),
                                             files=_str(r["source_file"]) or "", by=str(r["actor"])))
    return result
