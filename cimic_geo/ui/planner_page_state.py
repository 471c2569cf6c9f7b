"""The corridor planner's session state: its keys, the options being compared, the line drawn on
the map, view commands for the map and the cut-off settlements to show.

Data flow of a drawn line: ``st_folium`` reports the drawing (``last_active_drawing``) →
:func:`take_drawing` stores its geometry under ``k("drawn")`` → the "Evaluate drawn line" button
calls :func:`add_line_option`, which validates and evaluates it and appends an option. Tests feed
``k("drawn")`` directly (AppTest cannot draw on a Leaflet map).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cimic_geo.analytics.bands import band_labels
from cimic_geo.corridors import AccessContext, evaluate_document, route_document
from cimic_geo.errors import ValidationError
from cimic_geo.i18n import N_, _, pgettext
from cimic_geo.timefmt import iso
from cimic_geo.ui.common import key as _key
from cimic_geo.ui.common import plain

PAGE = "planner"
MAP_KEY = _key(PAGE, "map")
MAX_OPTIONS = 8
#: Page sections that show the message of the last write (see :func:`flash`).
FLASH_SECTIONS = ("route", "save", "workflow")


def k(name: str) -> str:
    """Session-state / widget key private to this page."""
    return _key(PAGE, name)


def flash(section: str, message: str) -> None:
    """Keep the success message of the last write in ``section`` until the next write there.

    The page reruns after a write (and again when the map reports its new view), so a message shown
    only in the run that wrote would vanish before the user reads it. One message at a time: a
    write replaces the message of any earlier write.
    """
    for name in FLASH_SECTIONS:
        st.session_state.pop(k(f"flash:{name}"), None)
    st.session_state[k(f"flash:{section}")] = message


def show_flash(section: str) -> None:
    """Show the last write's message of ``section`` (see :func:`flash`), if any."""
    message = st.session_state.get(k(f"flash:{section}"))
    if message:
        st.success(plain(message))


def options() -> list[dict[str, Any]]:
    """The options being compared (label, source, geometry, evaluation, road_ids, origin, destination)."""
    return st.session_state.setdefault(k("options"), [])


def _add(opt: dict[str, Any]) -> None:
    opts = options()
    opts.append(opt)
    del opts[:-MAX_OPTIONS]


def take_drawing(result: dict[str, Any] | None) -> None:
    """Keep the last line drawn on the map (from ``st_folium``'s result) under ``k("drawn")``."""
    if not result:
        return
    feat = result.get("last_active_drawing")
    if not feat:
        drawings = result.get("all_drawings") or []
        feat = drawings[-1] if drawings else None
    geom = feat.get("geometry") if isinstance(feat, dict) else None
    if geom and geom != st.session_state.get(k("drawn_seen")):
        st.session_state[k("drawn_seen")] = geom
        st.session_state[k("drawn")] = geom


def add_line_option(ctx: AccessContext, geometry: BaseGeometry | dict[str, Any] | None, *, source: str,
                    label: str | None = None, window_start: Any = None, window_end: Any = None) -> dict[str, Any]:
    """Validate and evaluate a drawn (GeoJSON geometry) or pasted line and add it as an option."""
    try:
        geom = shape(geometry) if isinstance(geometry, dict) and geometry else geometry or None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValidationError(_("the line cannot be read: {error}").format(error=exc), []) from None
    ev = evaluate_document(ctx, geom, window_start=window_start, window_end=window_end)
    n = sum(1 for o in options() if o["source"] == source) + 1
    opt = {"label": label or _line_label(source, n), "source": source, "geometry": ev["geometry"],
           "evaluation": ev, "road_ids": None, "origin": None, "destination": None}
    _add(opt)
    return opt


#: Labels of the lines users add, by source (``{n}``: the line's number among that source's).
_LINE_LABELS = {"drawn": N_("drawn line {n}"), "imported": N_("imported line {n}")}


def _line_label(source: str, n: int) -> str:
    """The label of the ``n``-th line from ``source``, in the language in force when it is added."""
    return _(_LINE_LABELS[source]).format(n=n) if source in _LINE_LABELS else f"{source} line {n}"


def source_label(source: str) -> str:
    """Where an option comes from (``drawn``, ``imported``, ``route``), in the current language."""
    labels = {"drawn": pgettext("option source", "drawn"), "imported": pgettext("option source", "imported"),
              "route": pgettext("option source", "route")}
    return labels.get(source, source)


def add_route_options(ctx: AccessContext, origin: str, destination: str, *, avoid_km: float | None,
                      penalise: bool, alternatives: int, ignore_oneway: bool = False) -> dict[str, Any]:
    """Route between two places and add the best route and its alternatives as options."""
    doc = route_document(ctx, origin, destination, avoid_km=avoid_km, penalise=penalise, alternatives=alternatives,
                         ignore_oneway=ignore_oneway)
    st.session_state[k("places")] = [doc["origin"], doc["destination"]]
    if not doc["found"]:
        return doc
    o, d = doc["origin"]["label"], doc["destination"]["label"]
    evs = [doc, *doc["alternatives"]]
    for i, ev in enumerate(evs):
        label = (_("{origin} → {destination} (least risk)") if i == 0 else
                 _("{origin} → {destination} (alternative {i})")).format(origin=o, destination=d, i=i)
        _add({"label": label, "source": "route", "geometry": ev["geometry"], "evaluation": ev,
              "road_ids": ev.get("road_ids"), "origin": o, "destination": d})
    return doc


def comparison_table(opts: list[dict[str, Any]], bands_km: tuple[float, ...]) -> pd.DataFrame:
    """Metrics (rows) of each option (columns), for side-by-side comparison."""
    cols = {}
    for i, o in enumerate(opts):
        ev = o["evaluation"]
        hz = ev.get("hazard_counts") or {}
        s = ev.get("shelter_summary") or {}
        col: dict[str, Any] = {
            _("Source"): source_label(o["source"]),
            _("Length (km, geodesic)"): ev["length_km"],
            _("Travel time (min)"): ev["travel_time_min"],
        }
        for lab in band_labels(bands_km):
            col[_("km in band {band} km").format(band=lab)] = ev["band_km"].get(lab)
        col[_("km beyond the bands")] = ev.get("beyond_km")
        col[_("km on the occupied side")] = ev.get("occupied_km")
        col[_("Closest to front line (km)")] = ev.get("min_frontline_km")
        col[_("Crosses the front line")] = _("yes") if ev.get("crosses_front_line") else _("no")
        col[_("Passable")] = _("yes") if ev.get("passable") else _("NO")
        col[_("Destroyed bridges ≤200 m")] = hz.get("destroyed_bridge", 0)
        col[_("Impassable roads ≤200 m")] = hz.get("impassable_road", 0)
        col[_("Damaged roads ≤200 m")] = hz.get("damaged_road", 0)
        col[_("Shelters nearby (open)")] = f"{s.get('count', 0)} ({s.get('open', 0)})"
        col[_("Spare shelter places")] = s.get("spare_open", 0)
        col[_("Medical points nearby")] = s.get("medical", 0)
        col[_("Off-road km")] = ev.get("off_road_km")
        cols[f"{i + 1}. {o['label']}"] = col
    return pd.DataFrame(cols)


def request_view(*, fit: tuple[float, float, float, float] | None = None, clear_drawn: bool = False) -> None:
    """Ask the map to fit to ``fit`` and/or clear the drawn sketch, once (see :class:`ViewCommand`;
    the last command is sent with every draw and the browser runs each number once)."""
    n = int(st.session_state.get(k("view_n"), 0)) + 1
    st.session_state[k("view_n")] = n
    st.session_state[k("view_cmd")] = {"n": n, "fit": fit, "clear_drawn": clear_drawn}


def reported_view() -> tuple[tuple[float, float, float, float], float] | None:
    """The bounds (minlon, minlat, maxlon, maxlat) and zoom the map last reported, or None before it did."""
    state = st.session_state.get(MAP_KEY)
    if not state:
        return None
    try:
        sw, ne = state["bounds"]["_southWest"], state["bounds"]["_northEast"]
        bounds = (float(sw["lng"]), float(sw["lat"]), float(ne["lng"]), float(ne["lat"]))
        zoom = float(state["zoom"])
    except (TypeError, KeyError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (*bounds, zoom)) or bounds[0] >= bounds[2] or bounds[1] >= bounds[3]:
        return None
    return bounds, zoom


def cutoff_places(ctx: AccessContext) -> list[dict[str, Any]]:
    """The cut-off settlements found in section 6 for this context's as-of time (for the map)."""
    res = st.session_state.get(k("cutoff_places"))
    if not res or res[0] != as_of_key(ctx):
        return []
    return res[1]


def as_of_key(ctx: AccessContext) -> str | None:
    return iso(ctx.as_of)


