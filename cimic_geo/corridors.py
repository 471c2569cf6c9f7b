"""Access and corridor planning over the store: the functions the CLI and the planner page share.

Reads what the analytics need at an as-of time (:func:`load_access_context`), then routes
(:func:`route_document`), evaluates lines (:func:`evaluate_document`, :func:`evaluate_features`),
finds cut-off settlements (:func:`cutoff_document`) and saves corridors through the store's
optimistic-locking workflow (:func:`save_option`, :func:`change_status`). Every document is
JSON-serialisable (the CLI prints it with ``--json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.bands import check_bands, check_distance
from cimic_geo.analytics.corridor_eval import check_corridor_line, evaluate_corridor, lines_from_geojson
from cimic_geo.analytics.corridor_index import settlement_finder
from cimic_geo.analytics.road_cache import (
    graph_file,
    graph_key,
    mark_used,
    past_folder,
    save_graph,
    saved_key,
    shared_graph,
)
from cimic_geo.analytics.road_policy import default_policy
from cimic_geo.analytics.road_rows import roads_in_force
from cimic_geo.analytics.roadgraph import RoadGraph, RoutingPolicy, build_road_graph
from cimic_geo.analytics.route_doc import SNAP_WARN_KM, found_document, place_notes, policy_document
from cimic_geo.analytics.route_fast_data import fast_arrays
from cimic_geo.analytics.routing import (
    MAX_SNAP_KM,
    find_routes,
    in_zone,
    resolve_place,
    route_road_ids,
    route_rows,
)
from cimic_geo.analytics.situation import history_times, layers_time, resolve_as_of
from cimic_geo.analytics.time_to_safety import time_to_safety
from cimic_geo.auth import Actor
from cimic_geo.config import load_settings
from cimic_geo.errors import AnalysisError, Problem, StoreError, ValidationError
from cimic_geo.i18n import _, fmt_int, fmt_number, fmt_percent
from cimic_geo.schema import CORRIDOR_TRANSITIONS
from cimic_geo.store import Store, corridor_history, save_corridor, set_corridor_status
from cimic_geo.store.access_version import access_data_version, road_attributes
from cimic_geo.timefmt import iso

#: Default distance (km) of shelters and medical points listed along a corridor.
DEFAULT_BUFFER_KM = 2.0
#: Default distance (m) of hazards listed along a corridor.
DEFAULT_HAZARD_M = 200.0
#: Avoided distances are rounded to this step (km) before routing.
AVOID_KM_STEP = 0.1


@dataclass
class AccessContext:
    """Everything routing and evaluation need at one as-of time (build once, reuse)."""

    graph: RoadGraph
    settlements: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    health: gpd.GeoDataFrame
    as_of: pd.Timestamp | None
    data_version: str = ""

    @property
    def bands_km(self) -> tuple[float, ...]:
        return self.graph.bands_km


def load_access_context(store: Store, *, as_of: Any = None, bands_km: Sequence[float] | None = None,
                        keep_graph: bool = True, data_version: str | None = None) -> AccessContext:
    """Read roads, bridges, settlements, shelters, health facilities and the front line in force at
    ``as_of`` (default: the latest snapshot) and build the road graph.

    With ``keep_graph`` the built graph is saved beside the store and reused while the data it was
    built from is unchanged (:mod:`cimic_geo.analytics.road_cache`): the graph at the latest
    snapshot in the store's graph folder, a few graphs of other times apart from it.
    ``data_version``: :func:`~cimic_geo.store.access_version.access_data_version` of ``store`` when
    the caller has it already (hashing a national store takes a second or two).

    Raises
    ------
    AnalysisError
        ``as_of`` before the history, or no roads in the store.
    """
    bands = check_bands(bands_km if bands_km is not None else load_settings().bands_km)
    times = history_times(store)
    t = resolve_as_of(as_of, times) if times else None
    front = store.read("front_line", as_of=t) if t is not None else None
    occupied = store.read("occupied_area", as_of=t) if t is not None else None
    at = layers_time(t, times) if t is not None else None  # the other layers as they were then
    infra = store.read("infrastructure", where={"sector": ["bridge", "health"]},
                       columns=["name", "sector", "damage", "road_id", "settlement_id"], as_of=at)
    version = access_data_version(store) if data_version is None else data_version
    graph, built = None, False
    key = graph_key(version, as_of=t, bands_km=bands)
    current = t is None or t == resolve_as_of(None, times)  # what a one-off CLI route reads; others kept apart
    cache = None
    if keep_graph and store.path is not None:
        cache = graph_file(store.path) if current else past_folder(store.path, key)
    if cache is not None and saved_key(cache) == key:
        # the kept graph has the road lines: read the attributes only (no geometry to decode); the
        # graph coverage by road time read from the same folder when it has it (one copy per process)
        graph = shared_graph(cache, key, roads=lambda: road_attributes(store, data_version=version, as_of=at),
                             front_line=front, occupied=occupied, infrastructure=infra, bands_km=bands, as_of=t)
        if graph is not None and not current:
            mark_used(cache)
    if graph is None:
        # a past time whose roads are still as they were: their lines are the current graph's vertices
        roads = roads_in_force(store, columns=["road_class", "speed_kmh", "bridge", "status", "name", "oneway"],
                               as_of=at, data_version=version)
        if not len(roads.rows):
            raise AnalysisError(_("the store has no roads; import a roads layer or seed the scenario first"))
        graph = build_road_graph(roads.rows, vertices=roads.vertices, front_line=front, occupied=occupied,
                                 infrastructure=infra, bands_km=bands, as_of=t)
        built = True
        del roads
        if cache is not None:  # saved and read back below: the lines go now, not after the read-back
            graph.drop_road_lines()
    settlements = store.read("settlements", columns=["name", "name_uk", "admin1", "admin2", "population"], as_of=at)
    shelters = store.read("shelters", columns=["name", "kind", "capacity", "occupancy", "status", "accessible"],
                          as_of=at)
    health = infra[infra["sector"] == "health"].reset_index(drop=True)
    saved = False
    if built and cache is not None and current:  # with what a one-off CLI route reads instead of the store
        saved = save_graph(cache, graph, key, extra=fast_arrays(graph, settlements=settlements, shelters=shelters,
                                                                health=health))
    elif built and cache is not None and save_graph(cache, graph, key):
        saved = True
        mark_used(cache)  # and the least recently used past graph beyond the kept few removed
    if saved:  # read back from its folder (mapped: pages shared with the page cache), the built copy let go
        kept = shared_graph(cache, key, roads=lambda: road_attributes(store, data_version=version, as_of=at),
                            front_line=front, occupied=occupied, infrastructure=infra, bands_km=bands, as_of=t)
        graph = graph if kept is None else kept
    return AccessContext(graph=graph, settlements=settlements, shelters=shelters, health=health, as_of=t,
                         data_version=version)


def make_policy(*, avoid_km: float | None = None, penalise: bool = True,
                penalties: Sequence[float] | None = None, bands_km: Sequence[float],
                ignore_oneway: bool = False) -> RoutingPolicy:
    """The routing policy for the options users pick (exclusion distance, band penalties, one-way).

    The avoided distance is rounded to :data:`AVOID_KM_STEP` (100 m), so nearby values users try
    share one cached weighted graph.
    """
    if avoid_km is not None:
        avoid_km = check_distance(avoid_km, name="--avoid-km")
        avoid_km = round(round(float(avoid_km) / AVOID_KM_STEP) * AVOID_KM_STEP, 6)
    pens = None
    if penalise:
        pens = tuple(penalties) if penalties is not None else default_policy(tuple(bands_km)).penalties
    return RoutingPolicy(avoid_km=avoid_km or None, penalties=pens, exclude_occupied=True,
                         ignore_oneway=bool(ignore_oneway))


def _policy_doc(policy: RoutingPolicy, bands_km: Sequence[float]) -> dict[str, Any]:
    from cimic_geo.analytics.bands import band_labels

    return policy_document(policy, band_labels(bands_km))


def evaluate_document(ctx: AccessContext, line: BaseGeometry, *, road_ids: Sequence[str] | None = None,
                      window_start: Any = None, window_end: Any = None, buffer_km: float = DEFAULT_BUFFER_KM,
                      hazard_m: float = DEFAULT_HAZARD_M, check: bool = True,
                      road_rows: np.ndarray | None = None, front_floor_km: float | None = None) -> dict[str, Any]:
    """:func:`~cimic_geo.analytics.corridor_eval.evaluate_corridor` with the context's layers."""
    return evaluate_corridor(line, graph=ctx.graph, shelters=ctx.shelters, health=ctx.health, road_ids=road_ids,
                             buffer_km=buffer_km, hazard_m=hazard_m, window_start=window_start,
                             window_end=window_end, check=check, road_rows=road_rows,
                             front_floor_km=front_floor_km).to_dict()


def route_document(
    ctx: AccessContext,
    origin: str | tuple[float, float],
    destination: str | tuple[float, float],
    *,
    avoid_km: float | None = None,
    penalise: bool = True,
    alternatives: int = 3,
    max_snap_km: float = MAX_SNAP_KM,
    ignore_oneway: bool = False,
) -> dict[str, Any]:
    """Least-risk route and up to ``alternatives`` different ones, each evaluated like any corridor.

    A start or end inside the avoided zone leaves or reaches it by the way with the least time in
    the zone (:func:`~cimic_geo.analytics.routing.in_zone`); one-way roads are driven one way
    unless ``ignore_oneway`` (convoy/emergency).

    Returns
    -------
    ``{"found", "origin", "destination", "policy", "as_of", "warnings", <metrics of the best
    route>, "road_ids", "alternatives": [<metrics>...]}``; with ``found`` false, ``reason`` says why.
    """
    g = ctx.graph
    find = settlement_finder(ctx.settlements, kept=ctx.__dict__)
    o = resolve_place(origin, graph=g, settlements=ctx.settlements, max_snap_km=max_snap_km, find=find)
    d = resolve_place(destination, graph=g, settlements=ctx.settlements, max_snap_km=max_snap_km, find=find)
    policy = make_policy(avoid_km=avoid_km, penalise=penalise, bands_km=g.bands_km, ignore_oneway=ignore_oneway)
    o_in, d_in = in_zone(g, policy, np.array([o.lon, d.lon]), np.array([o.lat, d.lat]))
    routes = find_routes(g, o.point, d.point, policy=policy, alternatives=alternatives,
                         origin_in_zone=bool(o_in), target_in_zone=bool(d_in))
    warnings = place_notes(o, d, bool(o_in), bool(d_in), warn_km=SNAP_WARN_KM)
    if routes:
        return found_document(
            o, d, routes, policy=_policy_doc(policy, g.bands_km), as_of=iso(ctx.as_of), warnings=warnings,
            network=g.connectivity().as_dict(), road_ids=lambda r: route_road_ids(g, r),
            evaluate=lambda r, ids: evaluate_document(ctx, r.geometry, road_ids=ids, road_rows=route_rows(g, r),
                                                      front_floor_km=_front_floor(g, r), check=False))
    return {"found": False, "origin": o.as_dict(), "destination": d.as_dict(),
            "policy": _policy_doc(policy, g.bands_km), "as_of": iso(ctx.as_of), "warnings": warnings,
            "network": g.connectivity().as_dict(), "reason": _no_route_reason(ctx, o, d, policy), "length_km": None,
            "travel_time_min": None, "band_km": None, "min_frontline_km": None, "hazards": [], "geometry": None,
            "alternatives": []}


def _front_floor(g: RoadGraph, route: Any) -> float | None:
    """The least distance to the front of the route's edges (exact up to the graph's cap, inf beyond)."""
    return float(np.min(g.edge_front_km[route.edges])) if len(route.edges) and g.threat.has_front else None


def _no_route_reason(ctx: AccessContext, o: Any, d: Any, policy: RoutingPolicy) -> str:
    g = ctx.graph
    conn = g.connectivity()
    comp = np.full(g.n_nodes, -1, dtype=np.int64)
    comp[g.edge_u] = conn.edge_component
    comp[g.edge_v] = conn.edge_component
    if comp[o.node] != comp[d.node]:
        return _("{origin} and {destination} are on separate pieces of the road network that do not connect "
                 "(the network has {pieces} pieces; the largest holds {share} of the road length)").format(
            origin=o.label, destination=d.label, pieces=fmt_int(conn.components),
            share=fmt_percent(conn.largest_share, digits=0))
    free = find_routes(g, o.point, d.point, policy=replace(policy, penalties=None, avoid_km=None,
                                                          exclude_occupied=True), alternatives=0)
    if free and policy.avoid_km:
        return _("every route from {origin} to {destination} passes within {km} km of the front line; reduce the "
                 "avoided distance to see the least-risk route through it").format(
            origin=o.label, destination=d.label, km=fmt_number(policy.avoid_km))
    if not free and not policy.ignore_oneway and find_routes(
            g, o.point, d.point, policy=replace(policy, penalties=None, avoid_km=None, ignore_oneway=True),
            alternatives=0):
        return _("no route from {origin} to {destination} that respects one-way roads; allow ignoring one-way "
                 "(convoy/emergency) to see one").format(origin=o.label, destination=d.label)
    return _("no passable road connection from {origin} to {destination} on the friendly side (impassable roads, "
             "destroyed bridges or occupied ground)").format(origin=o.label, destination=d.label)


def cutoff_document(ctx: AccessContext, *, avoid_km: float | None = None, hubs: Sequence[str] | None = None,
                    penalise: bool = False, ignore_oneway: bool = False) -> tuple[dict[str, Any], gpd.GeoDataFrame]:
    """Cut-off settlements and time to safety; returns ``(document, per-settlement table)``.

    ``avoid_km`` defaults to the innermost threat band's outer edge. Settlements inside the avoided
    zone leave it by the way with the least time in it (the same rule as :func:`route_document`).
    """
    g = ctx.graph
    avoid = g.bands_km[0] if avoid_km is None else avoid_km
    policy = make_policy(avoid_km=avoid, penalise=penalise, bands_km=g.bands_km, ignore_oneway=ignore_oneway)
    table = time_to_safety(g, ctx.settlements, policy=policy, hubs=hubs)
    cut = table[table["status"] == "cut_off"].sort_values(["population", "id"], ascending=[False, True])
    reach = table[table["status"] == "reachable"]
    doc = {
        "as_of": iso(ctx.as_of),
        "avoid_km": avoid,
        "hubs": "chosen" if hubs else f"settlements beyond {g.bands_km[-1]:g} km on the friendly side",
        "cut_off": [{"id": r.id, "name": r.name, "population": int(r.population), "front_km": _num(r.front_km),
                     "band": r.band, "reason": r.reason} for r in cut.itertuples()],
        "cut_off_population": int(cut["population"].sum()),
        "settlements": len(table),
        "reachable": len(reach),
        "hubs_count": int(table["hub"].sum()),
        "occupied": int((table["status"] == "occupied").sum()),
        "median_time_to_safety_min": None if not len(reach) else round(float(reach["minutes"].median()), 1),
        "max_time_to_safety_min": None if not len(reach) else round(float(reach["minutes"].max()), 1),
        "network": g.connectivity().as_dict(),
    }
    return doc, table


def _num(v: Any) -> float | None:
    v = float(v)
    return round(v, 3) if np.isfinite(v) else None


# ----------------------------------------------------------------------------------------------
# Files of lines
# ----------------------------------------------------------------------------------------------


def read_lines_file(path: str | Path) -> list[tuple[dict[str, Any], BaseGeometry | None]]:
    """``(properties, geometry)`` of each feature of a GeoJSON file (or any OGR vector file).

    Raises
    ------
    ValidationError
        Unreadable file or geometry (naming the feature number).
    """
    p = Path(path)
    if not p.exists():
        raise ValidationError(_("cannot read {path}").format(path=p), [Problem(None, None, _("file not found"))])
    if p.suffix.lower() in (".geojson", ".json"):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError(_("cannot read {path} as GeoJSON").format(path=p),
                                  [Problem(None, None, str(exc))]) from None
        return lines_from_geojson(data)
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:  # pyogrio raises several types
        raise ValidationError(_("cannot read {path}").format(path=p), [Problem(None, None, str(exc))]) from None
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return lines_from_geojson(gdf)


def evaluate_features(ctx: AccessContext, features: Sequence[tuple[dict[str, Any], BaseGeometry | None]]
                      ) -> list[dict[str, Any]]:
    """Evaluate every line; all lines are validated first (one :class:`ValidationError` listing
    every bad feature, nothing evaluated)."""
    if not features:
        raise ValidationError(_("the file has no features"), [Problem(None, "geometry", _("no line to evaluate"))])
    problems: list[Problem] = []
    lines = []
    for i, (_props, geom) in enumerate(features, start=1):
        try:
            lines.append(check_corridor_line(geom, row=i))
        except ValidationError as exc:
            problems += exc.problems
    if problems:
        raise ValidationError(_("{bad} of {n} feature(s) are not valid corridor lines; nothing was evaluated").format(
            bad=len(problems), n=len(features)), problems)
    out = []
    for i, ((props, _geom), line) in enumerate(zip(features, lines, strict=True), start=1):
        ev = evaluate_document(ctx, line, window_start=props.get("window_start"), window_end=props.get("window_end"))
        out.append({"feature": i, "name": props.get("name"), "id": props.get("id"), **ev})
    return out


# ----------------------------------------------------------------------------------------------
# Saving and workflow
# ----------------------------------------------------------------------------------------------


def save_option(
    store: Store,
    *,
    geometry: BaseGeometry,
    name: str,
    user: str | None = None,
    actor: Actor | None = None,
    corridor_id: str | None = None,
    expected_version: int | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """Validate a corridor line and save it (new: status ``draft``; existing: an edit with the
    optimistic-lock ``expected_version``). Nothing is written when validation fails.

    Raises
    ------
    ValidationError
        Bad line, missing name or user, window ending before it starts.
    ConflictError
        Someone else saved the corridor since ``expected_version``.
    """
    problems = []
    if not str(name or "").strip():
        problems.append(Problem(None, "name", _("a corridor needs a name")))
    if actor is None and not str(user or "").strip():
        problems.append(Problem(None, "user", _("who is making the change is required")))
    try:
        line = check_corridor_line(geometry)
    except ValidationError as exc:
        problems += exc.problems
        line = None
    ws, we = attributes.get("window_start"), attributes.get("window_end")
    if ws not in (None, "") and we not in (None, "") and pd.Timestamp(we) <= pd.Timestamp(ws):
        problems.append(Problem(None, "window_end", _("the window must end after it starts")))
    if problems:
        raise ValidationError(_("the corridor was not saved"), problems)
    attrs = {k: (None if v == "" else v) for k, v in attributes.items()}
    try:
        return save_corridor(store, geometry=line, name=str(name).strip(), user=str(user or "").strip() or None,
                             actor=actor, corridor_id=corridor_id, expected_version=expected_version, **attrs)
    except StoreError as exc:
        raise ValidationError(_("the corridor was not saved"), [Problem(None, None, str(exc))]) from None


def change_status(store: Store, corridor_id: str, new_status: str, *, user: str | None = None,
                  actor: Actor | None = None, expected_version: int, note: str | None = None) -> dict[str, Any]:
    """Move a corridor through the workflow (WorkflowError for an illegal step, ConflictError for a stale version).

    ``actor`` is who does it (role planner or higher); without it, ``user`` names the OS user's change.
    """
    if actor is None and not str(user or "").strip():
        raise ValidationError(_("the status was not changed"),
                              [Problem(None, "user", _("who is making the change is required"))])
    return set_corridor_status(store, corridor_id, new_status, user=str(user or "").strip() or None, actor=actor,
                               expected_version=expected_version, note=note or None)


def next_statuses(status: str) -> tuple[str, ...]:
    """The statuses a corridor in ``status`` may move to, in workflow order (empty: final or unknown).

    The one table is :data:`cimic_geo.schema.CORRIDOR_TRANSITIONS`; the store refuses any other step.
    """
    return tuple(CORRIDOR_TRANSITIONS.get(str(status), ()))


def list_corridors(store: Store) -> gpd.GeoDataFrame:
    """Saved corridors (all statuses), newest change first."""
    gdf = store.read("corridors")
    if len(gdf) and "updated_at" in gdf.columns:
        gdf = gdf.sort_values(["updated_at", "id"], ascending=[False, True], na_position="last").reset_index(drop=True)
    return gdf


def history(store: Store, corridor_id: str | None = None) -> pd.DataFrame:
    """The corridor change history (who, when, what), newest first."""
    return corridor_history(store, corridor_id)


__all__ = [
    "AccessContext",
    "change_status",
    "cutoff_document",
    "evaluate_document",
    "evaluate_features",
    "history",
    "list_corridors",
    "load_access_context",
    "make_policy",
    "next_statuses",
    "read_lines_file",
    "route_document",
    "save_option",
]
