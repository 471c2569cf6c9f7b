"""The route document (``python -m cimic_geo route --json``): the parts the full path
(:func:`cimic_geo.corridors.route_document`) and the one-off CLI route
(:mod:`cimic_geo.analytics.route_fast`) build alike, so both print the same bytes.
Imports neither pandas nor geopandas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cimic_geo.i18n import _, fmt_number

if TYPE_CHECKING:
    from cimic_geo.analytics.places import Place
    from cimic_geo.analytics.road_policy import RoutingPolicy
    from cimic_geo.analytics.routing import Route

#: A place further than this from the road it snaps to gets a warning (km).
SNAP_WARN_KM = 0.5


def place_notes(o: Place, d: Place, o_in: bool, d_in: bool, *, warn_km: float) -> list[str]:
    """Warnings for places far from the road they join and notes for places inside the avoided zone."""
    warnings = [_("{place} is {km} km from the nearest road it joins (more than {limit} km)").format(
                    place=p.label, km=fmt_number(p.snap_km, digits=2), limit=fmt_number(warn_km))
                for p in (o, d) if p.snap_km > warn_km]
    zone_note = [_("{place} is inside the avoided zone: the route leaves it by the way with the least time in it")
                 .format(place=p.label) for p, inside in ((o, o_in), (d, d_in)) if inside]
    return warnings + zone_note


def policy_document(policy: RoutingPolicy, band_labels: Sequence[str]) -> dict[str, Any]:
    """The routing policy as the document shows it (penalties by band label)."""
    return {"avoid_km": policy.avoid_km,
            "penalties": None if policy.penalties is None else dict(zip(band_labels, policy.penalties, strict=True)),
            "exclude_occupied": policy.exclude_occupied, "ignore_oneway": policy.ignore_oneway}


def found_document(o: Place, d: Place, routes: Sequence[Route], *, policy: dict[str, Any], as_of: str | None,
                   warnings: list[str], network: dict[str, Any], road_ids: Callable[[Route], list[str]],
                   evaluate: Callable[[Route, list[str]], dict[str, Any]]) -> dict[str, Any]:
    """The document of found routes: the places, policy and network, the best route's metrics
    (``evaluate(route, road_ids)``), its road ids and the alternatives' metrics."""
    doc: dict[str, Any] = {"found": True, "origin": o.as_dict(), "destination": d.as_dict(), "policy": policy,
                           "as_of": as_of, "warnings": warnings, "network": network}
    evaluated = []
    for r in routes:
        ids = road_ids(r)
        ev = evaluate(r, ids)
        ev["road_ids"] = ids
        # the router's own minutes: whole edges plus the parts of the edges the places lie on
        ev["travel_time_min"] = round(r.minutes, 1)
        ev["risk_cost_min"] = round(r.cost, 1)
        evaluated.append(ev)
    doc.update(evaluated[0])
    doc["alternatives"] = evaluated[1:]
    return doc
