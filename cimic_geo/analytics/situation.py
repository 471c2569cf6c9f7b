"""The situation in force at an as-of time: front line, occupied area and the other layers.

Shared by the CLI and the pages. Takes an open store (any object with ``read``,
``history_times``; this module does not import DuckDB) and validates the as-of time against the
front-line history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import geopandas as gpd
import pandas as pd

from cimic_geo.errors import AnalysisError, CimicError
from cimic_geo.i18n import _, fmt_int
from cimic_geo.timefmt import TimeLike, iso, to_utc

if TYPE_CHECKING:
    from cimic_geo.analytics.coverage import CoverageResult
    from cimic_geo.analytics.exposure import ExposureResult
    from cimic_geo.analytics.restoration import RestorationResult


class LayerReader(Protocol):
    """What the analytics need of a store (:class:`cimic_geo.store.Store` is one)."""

    def read(self, layer: str, *, as_of: Any = None, bbox: Sequence[float] | None = None, **options: Any
             ) -> gpd.GeoDataFrame: ...

    def history_times(self, layer: str) -> list[pd.Timestamp]: ...


@dataclass
class Situation:
    """Layers read at ``as_of`` (front line and occupied area are the rows in force then)."""

    as_of: pd.Timestamp
    front_line: gpd.GeoDataFrame
    occupied_area: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    #: the time the other layers were read at (None: their current state)
    layers_as_of: pd.Timestamp | None = None
    #: False on a store with no front-line history at all
    has_front: bool = True

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        if name == "front_line":
            return self.front_line
        if name == "occupied_area":
            return self.occupied_area
        return self.layers[name]


def history_times(store: LayerReader) -> list[pd.Timestamp]:
    """Distinct snapshot times of the front line and occupied area, ascending."""
    times: set[pd.Timestamp] = set()
    for layer in ("front_line", "occupied_area"):
        times.update(store.history_times(layer))
    return sorted(times)


def resolve_as_of(as_of: TimeLike | None, times: Sequence[pd.Timestamp]) -> pd.Timestamp:
    """The as-of time to use: ``as_of`` (validated) or the latest snapshot time.

    Raises
    ------
    AnalysisError
        If the history is empty, ``as_of`` is not a time, or it is before the first snapshot.
    """
    if not times:
        raise AnalysisError(_("the store has no front-line history; import or seed a front line first"))
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return to_utc(times[-1])
    try:
        t = to_utc(as_of)
    except CimicError as exc:
        raise AnalysisError(str(exc)) from None
    if t < times[0]:
        raise AnalysisError(_("as-of time {time} is outside the front-line history ({first} to {last})").format(
            time=iso(t), first=iso(times[0]), last=iso(times[-1])))
    return t


def layers_time(t: pd.Timestamp, times: Sequence[pd.Timestamp]) -> pd.Timestamp | None:
    """The time the versioned layers (settlements, shelters, infrastructure) are read at for a picture at ``t``.

    None (their current state) when ``t`` is not before the newest front-line snapshot: the latest
    position shows what was reported since that snapshot too (as the COP does). Otherwise ``t``.
    """
    return None if times and t >= times[-1] else t


def load_situation(
    store: LayerReader,
    *,
    as_of: TimeLike | None = None,
    layers: Sequence[str] = ("settlements", "shelters", "infrastructure"),
    bbox: Sequence[float] | None = None,
) -> Situation:
    """Read the front line and occupied area in force at ``as_of`` and the other ``layers`` as they were then.

    A store with no front line at all (a rear region planning shelters) gives an empty front: the
    layers are read at ``as_of`` (default: their current state, dated now) and nothing is occupied.

    Raises
    ------
    AnalysisError
        ``as_of`` outside the history (before the first snapshot, or after the last one ended).
    """
    times = history_times(store)
    if not times:
        blank = as_of is None or (isinstance(as_of, str) and not as_of.strip())
        try:
            t = to_utc(pd.Timestamp.now(tz="UTC").floor("s") if blank else as_of)
        except CimicError as exc:
            raise AnalysisError(str(exc)) from None
        at = None if blank else t
    else:
        t = resolve_as_of(as_of, times)
        at = layers_time(t, times)
    front = store.read("front_line", as_of=t, bbox=bbox)
    occ = store.read("occupied_area", as_of=t, bbox=bbox)
    if times and not len(front) and not len(occ) and bbox is None:
        raise AnalysisError(_("as-of time {time} is outside the front-line history: no front line is in force "
                              "then (snapshots from {first} to {last})").format(
            time=iso(t), first=iso(times[0]), last=iso(times[-1])))
    return Situation(as_of=t, front_line=front, occupied_area=occ,
                     layers={name: store.read(name, bbox=bbox, as_of=at) for name in layers},
                     layers_as_of=at, has_front=bool(times))


def no_front_note() -> str:
    """What the results say on a store with no front line."""
    return _("the store has no front line: nothing is excluded and everything counts as beyond the threat bands")


# ----------------------------------------------------------------------------------------------
# one call per analysis, for the CLI and the pages
# ----------------------------------------------------------------------------------------------


def exposure_at(store: LayerReader, *, as_of: TimeLike | None = None, bands_km: Sequence[float] | str | None = None,
                shift_km: float = 0.0) -> ExposureResult:
    """:func:`cimic_geo.analytics.exposure.exposure` for the situation at ``as_of`` (default latest)."""
    from cimic_geo.analytics.bands import check_bands, check_distance
    from cimic_geo.analytics.exposure import exposure

    edges = check_bands(bands_km)
    check_distance(shift_km, name="shift_km")
    sit = load_situation(store, as_of=as_of)
    res = exposure(settlements=sit["settlements"], shelters=sit["shelters"], infrastructure=sit["infrastructure"],
                   front_line=sit.front_line, occupied_area=sit.occupied_area, bands_km=edges, shift_km=shift_km,
                   as_of=sit.as_of, beyond_without_front=not sit.has_front)
    if not sit.has_front:
        res.notes.append(no_front_note())
    return res


def coverage_at(store: LayerReader, *, as_of: TimeLike | None = None, max_km: float | None = None,
                max_minutes: float | None = None, exclude_occupied: bool = True,
                progress: Callable[[float, str], None] | None = None) -> CoverageResult:
    """Shelter coverage at ``as_of``: straight-line ``max_km`` or road ``max_minutes``.

    Settlements and shelters on the occupied side at ``as_of`` are left out (reported in
    ``excluded``). Travel times use the road graph in force (impassable roads, destroyed bridges
    and occupied-side segments removed).
    """
    from functools import partial

    from cimic_geo.analytics.bands import check_distance
    from cimic_geo.analytics.coverage import DEFAULT_MAX_KM, coverage
    from cimic_geo.analytics.coverage_situation import coverage_situation
    from cimic_geo.analytics.reach import travel_time_reach

    if max_km is not None and max_minutes is not None:
        raise AnalysisError(_("give either a distance (max_km) or a travel time (max_minutes), not both"))
    if max_km is not None:
        check_distance(max_km, name="max_km")
    if max_minutes is not None:
        check_distance(max_minutes, name="max_minutes")
    step = progress or (lambda _frac, _text: None)
    step(0.05, _("reading the situation"))
    read = coverage_situation(store, as_of=as_of, exclude_occupied=exclude_occupied)  # the last read is kept
    sit, sets, shel, excluded = read.situation, read.settlements, read.shelters, dict(read.excluded)
    reach_fn = None
    if max_minutes is not None:
        step(0.25, _("building the road graph"))
        from cimic_geo.analytics.coverage_graph import SEARCH_AHEAD_MIN, coverage_road_graph

        graph, policy = coverage_road_graph(store, as_of=sit.as_of, front_line=sit.front_line,
                                            occupied_area=sit.occupied_area, layers_as_of=sit.layers_as_of)
        reach_fn = partial(travel_time_reach, graph, max_minutes=max_minutes, policy=policy,
                           ahead_minutes=SEARCH_AHEAD_MIN)
        step(0.5, _("travel times to shelters"))
    else:
        step(0.4, _("distances to shelters"))
    res = coverage(settlements=sets, shelters=shel, max_km=DEFAULT_MAX_KM if (max_km is None and reach_fn is None)
                   else max_km, reach_fn=reach_fn, as_of=sit.as_of)
    res.excluded = excluded
    if not sit.has_front:
        res.notes.append(no_front_note())
    if excluded["settlements"] or excluded["shelters"]:
        res.notes.append(_("left out on the occupied side: {settlements} settlements ({people} people), "
                           "{shelters} shelters").format(settlements=fmt_int(excluded["settlements"]),
                                                         people=fmt_int(excluded["population"]),
                                                         shelters=fmt_int(excluded["shelters"])))
    step(1.0, _("done"))
    return res


def restoration_at(store: LayerReader, *, as_of: TimeLike | None = None, bands_km: Sequence[float] | str | None = None,
                   sector_weights: Mapping[str, float] | str | None = None,
                   damage_weights: Mapping[str, float] | str | None = None) -> RestorationResult:
    """Restoration priority at ``as_of`` (default latest)."""
    from cimic_geo.analytics.bands import check_bands
    from cimic_geo.analytics.restoration import restoration_priority

    edges = check_bands(bands_km)
    sit = load_situation(store, as_of=as_of, layers=("infrastructure",))
    res = restoration_priority(sit["infrastructure"], front_line=sit.front_line, occupied_area=sit.occupied_area,
                               bands_km=edges, sector_weights=sector_weights, damage_weights=damage_weights,
                               as_of=sit.as_of)
    if not sit.has_front:
        from cimic_geo.analytics.bands import BEYOND, UNKNOWN

        for frame in (res.ranked, res.excluded):
            if "band" in frame.columns:
                frame.loc[frame["band"] == UNKNOWN, "band"] = BEYOND
        res.notes = [no_front_note() if n == _("no front line in force: security not assessed") else n
                     for n in res.notes]
    return res
