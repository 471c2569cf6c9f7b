"""Evacuations over the store: the board, progress figures and shelter assignment that the CLI,
the page and the PDF brief share.

:func:`evacuation_overview` reads the evacuations as they were at an as-of time (default: as
stored now), the front line in force then and the names the board shows, and computes the
progress analytics of :mod:`cimic_geo.analytics.evacuation_progress`. Every document is
JSON-serialisable (the CLI prints it with ``--json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.analytics import evacuation_progress as analysis
from cimic_geo.analytics.bands import check_bands, check_distance
from cimic_geo.analytics.evacuation_progress import AssignmentResult
from cimic_geo.analytics.situation import history_times, resolve_as_of
from cimic_geo.auth import Actor
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import N_, _, term
from cimic_geo.schema import (
    EVACUATION_FINAL,
    EVACUATION_PRIORITIES,
    EVACUATION_STATUSES,
    EVACUATION_TRANSITIONS,
    PEOPLE_GROUPS,
)
from cimic_geo.store import Store
from cimic_geo.store.evacuation_records import evacuation_history, last_change, read_evacuations, set_evacuation_status
from cimic_geo.timefmt import iso, to_utc

BOARD_COLUMNS = ("id", "status", "priority", "settlement", "pickup", "people", *PEOPLE_GROUPS, "band",
                 "destination", "transport", "transport_capacity", "corridor", "requested", "waiting_h",
                 "version")


@dataclass
class EvacuationOverview:
    """Evacuations at ``as_of`` with their board, progress figures and the front used for bands."""

    as_of: pd.Timestamp | None  # None = as stored now
    now: pd.Timestamp  # reference time for ages
    evacuations: gpd.GeoDataFrame  # rows with ``band`` and display names
    history: pd.DataFrame
    bands_km: tuple[float, ...]
    front_time: pd.Timestamp | None
    by_band: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_status: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_day: pd.DataFrame = field(default_factory=pd.DataFrame)
    oldest: dict[str, Any] | None = None
    _board: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def people_waiting(self) -> int:
        return int(self.by_band["people"].sum()) if len(self.by_band) else 0

    @property
    def people_evacuated(self) -> int:
        return int(self.by_status.loc["completed", "people"]) if len(self.by_status) else 0

    def kpis(self) -> dict[str, Any]:
        """The progress figures shown above the board."""
        open_mask = self.by_status.index.isin(("requested", "planned", "underway"))
        return {
            "requests_open": int(self.by_status.loc[open_mask, "requests"].sum()),
            "people_waiting": self.people_waiting,
            "people_underway": int(self.by_status.loc["underway", "people"]),
            "people_evacuated": self.people_evacuated,
            "missions_failed": int(self.by_status.loc["failed", "requests"]),
            "oldest_open_hours": None if self.oldest is None else self.oldest["age_hours"],
            "missions_last_24h": self.missions_since(self.now - pd.Timedelta(hours=24)),
        }

    def missions_since(self, t: pd.Timestamp) -> int:
        """Missions started (moved to ``underway``) after ``t`` and up to the reference time."""
        h = self.history
        if not len(h):
            return 0
        return int(((h["to_status"] == "underway") & (h["changed_at"] > t) & (h["changed_at"] <= self.now)).sum())

    def board(self) -> pd.DataFrame:
        """One row per evacuation, open ones first (status order, priority, oldest request).

        Built once per overview (the page shows it and offers its rows for status changes); each
        call returns a copy.
        """
        if self._board is None:
            self._board = self._build_board()
        return self._board.copy()

    def _build_board(self) -> pd.DataFrame:
        e = self.evacuations
        if not len(e):
            return pd.DataFrame(columns=list(BOARD_COLUMNS))
        t = pd.to_datetime(e["requested_at"], utc=True)
        board = pd.DataFrame({c: e[c] if c in e.columns else None for c in BOARD_COLUMNS
                              if c not in ("requested", "waiting_h")})
        board["requested"] = t.dt.strftime("%d%H%MZ%b%y").str.upper().to_numpy()  # date-time groups, vectorised
        board["waiting_h"] = np.round((self.now - t).dt.total_seconds() / 3600.0, 1)
        for col in ("people", *PEOPLE_GROUPS, "transport_capacity", "version"):
            board[col] = pd.to_numeric(board[col], errors="coerce").astype("Int64")
        status_rank = board["status"].map({s: i for i, s in enumerate(EVACUATION_STATUSES)})
        prio_rank = board["priority"].map({p: i for i, p in enumerate(EVACUATION_PRIORITIES)}).fillna(9)
        order = np.lexsort((board["id"].astype(str).to_numpy(), t.to_numpy(), prio_rank.to_numpy(),
                            status_rank.to_numpy()))
        return board.iloc[order][list(BOARD_COLUMNS)].reset_index(drop=True)

    def to_dict(self, *, board: bool = True) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "as_of": iso(self.as_of), "now": iso(self.now), "front_as_of": iso(self.front_time),
            "bands_km": list(self.bands_km), "kpis": self.kpis(),
            "by_status": {s: {k: int(v) for k, v in r.items()} for s, r in self.by_status.iterrows()},
            "waiting_by_band": {b: {k: int(v) for k, v in r.items()} for b, r in self.by_band.iterrows()},
            "oldest_open": self.oldest,
            "missions_per_day": [{"day": d.strftime("%Y-%m-%d"), **{k: int(v) for k, v in r.items()}}
                                 for d, r in self.per_day.iterrows()],
        }
        if board:
            doc["board"] = [{k: (None if pd.isna(v) else (int(v) if isinstance(v, (np.integer, int)) and
                                                        not isinstance(v, bool) else v))
                             for k, v in rec.items()} for rec in self.board().to_dict("records")]
        return doc


def _reference_time(store: Store, times: Sequence[pd.Timestamp]) -> pd.Timestamp:
    """The latest information in the store: last front snapshot or last evacuation change."""
    cands = [to_utc(times[-1])] if times else []
    last = last_change(store)
    if last is not None:
        cands.append(last)
    if not cands:
        raise AnalysisError(_("the store has neither a front-line history nor evacuations"))
    return max(cands)


def evacuation_overview(
    store: Store,
    *,
    as_of: Any = None,
    bands_km: Sequence[float] | str | None = None,
    days: int = 14,
) -> EvacuationOverview:
    """Evacuations at ``as_of`` (default: as stored now) with bands at the front then, and progress.

    The reference time for ages and the last day of missions per day is ``as_of``, or else the
    latest information in the store (last front snapshot or last evacuation change).
    """
    edges = check_bands(bands_km)
    times = history_times(store)
    t = None if as_of is None or (isinstance(as_of, str) and not as_of.strip()) else resolve_as_of(as_of, times)
    now = t if t is not None else _reference_time(store, times)
    evac = read_evacuations(store, as_of=t, names=True)
    front_time = None
    if times:
        front_time = max((x for x in times if x <= now), default=times[0])
        front, occ = store.read("front_line", as_of=front_time), store.read("occupied_area", as_of=front_time)
    else:
        front = occ = None
    # the band of an open request matters now; a closed one keeps no band (it is history)
    live = ~evac["status"].isin(EVACUATION_FINAL).to_numpy()
    evac["band"] = None
    evac.loc[live, "band"] = analysis.threat_bands(evac[live], front_line=front, occupied_area=occ, bands_km=edges)
    # changes in the window of missions per day (the last 24 h are inside it)
    hist = evacuation_history(store, since=now.floor("D") - pd.Timedelta(days=max(days, 1)))
    hist = hist[hist["changed_at"] <= now]
    return EvacuationOverview(
        as_of=t, now=now, evacuations=evac, history=hist, bands_km=edges, front_time=front_time,
        by_band=analysis.waiting_by_band(evac, evac["band"].to_numpy(), bands_km=edges),
        by_status=analysis.status_counts(evac),
        per_day=analysis.missions_per_day(hist, until=now, days=days), oldest=analysis.oldest_open(evac, now=now))


def next_statuses(status: str) -> tuple[str, ...]:
    """Statuses an evacuation in ``status`` may move to."""
    return EVACUATION_TRANSITIONS.get(status, ())


def change_status(store: Store, evacuation_id: str, new_status: str, *, expected_version: int,
                  user: str | None = None, actor: Actor | None = None, note: str | None = None,
                  changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Move an evacuation to ``new_status`` (see :func:`cimic_geo.store.evacuation_records.set_evacuation_status`)
    and say in words what changed."""
    res = set_evacuation_status(store, evacuation_id, new_status, user=user, actor=actor,
                                expected_version=expected_version, note=note, changes=changes)
    extra = ", ".join(f"{_change_label(k)} {term(v) if k == 'transport' else v}"
                      for k, v in (changes or {}).items() if v not in (None, ""))
    message = _("Evacuation {id}: {old} → {new} (version {version})").format(
        id=evacuation_id, old=term(res["from_status"]), new=term(new_status), version=res["version"])
    res["message"] = message + ("; " + extra if extra else "")
    return res


#: The changes a status change can carry, as the message names them.
_CHANGE_LABELS = {"destination_shelter_id": N_("destination shelter id"), "transport": N_("transport"),
                  "transport_capacity": N_("transport capacity"), "planned_departure": N_("planned departure")}


def _change_label(key: str) -> str:
    return _(_CHANGE_LABELS[key]) if key in _CHANGE_LABELS else key.replace("_", " ")


def assign_waiting(
    store: Store,
    *,
    max_km: float | None = None,
    max_minutes: float | None = None,
) -> AssignmentResult:
    """Allocate the people of current ``requested`` evacuations to open shelters with free places.

    Road travel time (``max_minutes``) on the road graph in force (impassable roads, destroyed
    bridges and the occupied side removed), or straight-line ``max_km`` (default 30 km).
    """
    from functools import partial

    if max_km is not None and max_minutes is not None:
        raise AnalysisError(_("give either a distance (max_km) or a travel time (max_minutes), not both"))
    evac = read_evacuations(store)
    shelters = store.read("shelters", where={"status": "open"},
                          columns=["name", "kind", "capacity", "occupancy", "status"])
    times = history_times(store)
    front = store.read("front_line", as_of=times[-1]) if times else None
    occ = store.read("occupied_area", as_of=times[-1]) if times else None
    if occ is not None and len(occ):
        from cimic_geo.analytics.bands import prepare_front

        shelters = shelters[~prepare_front(front, occ).occupied(shelters.geometry)]
    if max_minutes is None:
        max_km = check_distance(30.0 if max_km is None else max_km, name="max_km")
        return analysis.assign_to_shelters(evac, shelters, max_km=max_km)
    from cimic_geo.analytics.reach import travel_time_reach
    from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph

    check_distance(max_minutes, name="max_minutes")
    roads = store.read("roads", columns=["road_class", "speed_kmh", "bridge", "status", "name"])
    if not len(roads):
        raise AnalysisError(_("travel-time assignment needs a roads layer; the store has none"))
    infra = store.read("infrastructure", where={"sector": "bridge"}, columns=["name", "sector", "damage", "road_id"])
    graph = build_road_graph(roads, front_line=front, occupied=occ, infrastructure=infra,
                             as_of=times[-1] if times else None)
    policy = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=True)
    return analysis.assign_to_shelters(evac, shelters,
                                       reach_fn=partial(travel_time_reach, graph, max_minutes=max_minutes, policy=policy))
