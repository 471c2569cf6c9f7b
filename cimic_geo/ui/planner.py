"""Corridor planner page plumbing (issue 6): cached access context, options in session state,
the map with the drawing tool, the comparison table, saving and the status workflow.

Data flow of a drawn line: ``st_folium`` reports the drawing (``last_active_drawing``) →
:func:`take_drawing` stores its geometry under ``k("drawn")`` → the "Evaluate drawn line" button
calls :func:`add_line_option`, which validates and evaluates it and appends an option. Tests feed
``k("drawn")`` directly (AppTest cannot draw on a Leaflet map).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from shapely.geometry import shape
from streamlit_folium import st_folium

from cimic_geo.analytics.bands import band_labels
from cimic_geo.corridors import (
    AccessContext,
    change_status,
    cutoff_document,
    evaluate_document,
    history,
    list_corridors,
    load_access_context,
    route_document,
    save_option,
)
from cimic_geo.errors import AssetError, CimicError, Problem, ValidationError
from cimic_geo.maps.assets import check_assets
from cimic_geo.maps.cop import encode_layer
from cimic_geo.maps.planner import (
    ViewCommand,
    build_planner_base_map,
    option_color,
    options_extent,
    planner_extent,
    planner_layer_groups,
)
from cimic_geo.schema import CORRIDOR_STATUSES, CORRIDOR_TRANSITIONS
from cimic_geo.store import Store
from cimic_geo.store.access import access_data_version
from cimic_geo.timefmt import dtg, iso, to_utc
from cimic_geo.ui.common import clear_caches, settings
from cimic_geo.ui.common import key as _key

PAGE = "planner"
MAP_KEY = _key(PAGE, "map")
MAX_OPTIONS = 8
#: Store layers offered by the export panel: what the planner map shows.
EXPORT_LAYERS = ("front_line", "occupied_area", "roads", "corridors", "settlements", "infrastructure")


def k(name: str) -> str:
    """Session-state / widget key private to this page."""
    return _key(PAGE, name)


# ----------------------------------------------------------------------------------------------
# Cached context (one road graph per store content, as-of time and bands)
# ----------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Building the road graph…", max_entries=4)
def _context(_store: Store, db: str, as_of: str | None, bands: tuple[float, ...], version: str) -> AccessContext:
    return load_access_context(_store, as_of=as_of, bands_km=bands)


@st.cache_data(show_spinner=False, max_entries=8)
def _access_version(_store: Store, token: str) -> str:
    # the hash over what the road graph uses (~50 ms national), once per data_token: a corridor
    # save moves the token but not this version, so the road graph is not rebuilt for it
    return access_data_version(_store)


def access_context(store: Store, token: str, as_of: pd.Timestamp | None) -> AccessContext:
    """The access context for ``as_of``, built once per road-graph data/as-of/bands (st.cache_resource).

    ``token`` is :func:`cimic_geo.ui.common.data_token` of this rerun.
    """
    bands = tuple(settings().bands_km)
    return _context(store, str(store.path), None if as_of is None else as_of.isoformat(), bands,
                    _access_version(store, token))


@st.cache_data(show_spinner=False, max_entries=8)
def history_times(_store: Store, token: str) -> list[pd.Timestamp]:
    return _store.history_times("front_line")


@st.cache_data(show_spinner=False, max_entries=8)
def corridors_layer(_store: Store, token: str) -> str:
    """The saved corridors encoded for the map (per data_token)."""
    return encode_layer("corridors", list_corridors(_store))


# ----------------------------------------------------------------------------------------------
# Options in session state
# ----------------------------------------------------------------------------------------------


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


def parse_line_text(text: str) -> dict[str, Any]:
    """A line from pasted text: GeoJSON (geometry, Feature or FeatureCollection with one line) or
    ``lat,lon; lat,lon; ...``. Raises :class:`ValidationError`."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("nothing to evaluate", [])
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"not valid GeoJSON: {exc}", []) from None
        if data.get("type") == "FeatureCollection":
            feats = data.get("features") or []
            if len(feats) != 1:
                raise ValidationError(f"paste one line at a time (the collection has {len(feats)} features)", [])
            data = feats[0]
        if data.get("type") == "Feature":
            data = data.get("geometry") or {}
        return data
    coords = []
    for i, part in enumerate([p for p in text.replace("\n", ";").split(";") if p.strip()], start=1):
        try:
            lat, lon = (float(v) for v in part.replace(" ", "").split(","))
        except ValueError:
            raise ValidationError(f"point {i} '{part.strip()}' is not 'lat,lon'", []) from None
        coords.append([lon, lat])
    return {"type": "LineString", "coordinates": coords}


def add_line_option(ctx: AccessContext, geometry: dict[str, Any] | None, *, source: str, label: str | None = None,
                    window_start: Any = None, window_end: Any = None) -> dict[str, Any]:
    """Validate and evaluate a drawn/imported line (GeoJSON geometry) and add it as an option."""
    try:
        geom = shape(geometry) if geometry else None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValidationError(f"the line cannot be read: {exc}", []) from None
    ev = evaluate_document(ctx, geom, window_start=window_start, window_end=window_end)
    n = sum(1 for o in options() if o["source"] == source) + 1
    opt = {"label": label or f"{source} line {n}", "source": source, "geometry": ev["geometry"],
           "evaluation": ev, "road_ids": None, "origin": None, "destination": None}
    _add(opt)
    return opt


def add_route_options(ctx: AccessContext, origin: str, destination: str, *, avoid_km: float | None,
                      penalise: bool, alternatives: int) -> dict[str, Any]:
    """Route between two places and add the best route and its alternatives as options."""
    doc = route_document(ctx, origin, destination, avoid_km=avoid_km, penalise=penalise, alternatives=alternatives)
    st.session_state[k("places")] = [doc["origin"], doc["destination"]]
    if not doc["found"]:
        return doc
    o, d = doc["origin"]["label"], doc["destination"]["label"]
    evs = [doc, *doc["alternatives"]]
    for i, ev in enumerate(evs):
        label = f"{o} → {d}" + (" (least risk)" if i == 0 else f" (alternative {i})")
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
            "Source": o["source"],
            "Length (km, geodesic)": ev["length_km"],
            "Travel time (min)": ev["travel_time_min"],
        }
        for lab in band_labels(bands_km):
            col[f"km in band {lab} km"] = ev["band_km"].get(lab)
        col["km beyond the bands"] = ev.get("beyond_km")
        col["km on the occupied side"] = ev.get("occupied_km")
        col["Closest to front line (km)"] = ev.get("min_frontline_km")
        col["Crosses the front line"] = "yes" if ev.get("crosses_front_line") else "no"
        col["Passable"] = "yes" if ev.get("passable") else "NO"
        col["Destroyed bridges ≤200 m"] = hz.get("destroyed_bridge", 0)
        col["Impassable roads ≤200 m"] = hz.get("impassable_road", 0)
        col["Damaged roads ≤200 m"] = hz.get("damaged_road", 0)
        col["Shelters nearby (open)"] = f"{s.get('count', 0)} ({s.get('open', 0)})"
        col["Spare shelter places"] = s.get("spare_open", 0)
        col["Medical points nearby"] = s.get("medical", 0)
        col["Off-road km"] = ev.get("off_road_km")
        cols[f"{i + 1}. {o['label']}"] = col
    return pd.DataFrame(cols)


# ----------------------------------------------------------------------------------------------
# Widgets
# ----------------------------------------------------------------------------------------------


def error(exc: CimicError) -> None:
    """Show a CimicError (with its problem list) as an error box; text escaped by Streamlit."""
    st.error(str(exc))


def assets_ok() -> bool:
    """False (with install instructions shown) when the offline map assets are missing."""
    try:
        check_assets()
    except AssetError as exc:
        st.error(f"The map cannot be drawn: {exc}")
        return False
    return True


def as_of_ui(store: Store, token: str) -> pd.Timestamp | None:
    ts = history_times(store, token)
    if not ts:
        st.caption("No front-line history: routes ignore the threat.")
        return None
    return st.select_slider("Front line as of", options=ts, value=ts[-1], format_func=dtg, key=k("as_of"))


def user_ui() -> str:
    return st.text_input("Your name / call sign (kept in the corridor history)", key=k("user"))


def route_ui(ctx: AccessContext) -> None:
    """Origin/destination form; adds suggested routes as options."""
    with st.form(k("route_form")):
        c1, c2 = st.columns(2)
        origin = c1.text_input("From (settlement or lat,lon)", key=k("origin"))
        dest = c2.text_input("To (settlement or lat,lon)", key=k("destination"))
        c3, c4, c5 = st.columns(3)
        avoid = c3.number_input("Exclude roads within (km of the front line; 0 = none)", min_value=0.0,
                                value=0.0, step=1.0, key=k("avoid_km"))
        penalise = c4.checkbox("Penalise roads inside the threat bands", value=True, key=k("penalise"))
        alts = c5.slider("Alternatives", 0, 3, 2, key=k("alternatives"))
        go = st.form_submit_button("Suggest routes")
    if go:
        try:
            doc = add_route_options(ctx, origin, dest, avoid_km=avoid or None, penalise=penalise, alternatives=alts)
        except CimicError as exc:
            error(exc)
            return
        if not doc["found"]:
            st.warning(doc["reason"])
        else:
            st.success(f"{1 + len(doc['alternatives'])} route option(s) added")
            request_view(fit=options_extent([doc, *doc["alternatives"]]))  # show the new routes


def draw_ui(ctx: AccessContext) -> None:
    """Evaluate the line drawn on the map or pasted as text."""
    drawn = st.session_state.get(k("drawn"))
    c1, c2 = st.columns([1, 2])
    with c1:
        st.caption("Drawn line: " + ("ready — " + f"{len(drawn.get('coordinates', []))} points"
                                     if drawn else "none yet (use the line tool on the map)"))
        if st.button("Evaluate drawn line", key=k("eval_drawn"), disabled=not drawn):
            try:
                add_line_option(ctx, drawn, source="drawn")
                st.session_state[k("drawn")] = None
                request_view(clear_drawn=True)  # the option replaces the sketch on the map
                st.rerun()
            except CimicError as exc:
                error(exc)
    with c2:
        text = st.text_area("…or paste a line (GeoJSON, or lat,lon; lat,lon; …)", key=k("pasted"), height=80)
        if st.button("Evaluate pasted line", key=k("eval_pasted")):
            try:
                opt = add_line_option(ctx, parse_line_text(text), source="imported")
                request_view(fit=options_extent([opt]))  # a pasted line may be anywhere: show it
                st.rerun()
            except CimicError as exc:
                error(exc)


def view_bbox(ctx: AccessContext) -> tuple[float, float, float, float] | None:
    """The extent of the planner's data: the roads, the settlements drawn and the front line in force."""
    cache = ctx.__dict__.setdefault("_display", {})
    if "bbox" not in cache:
        _, _, places = display_layers(ctx)
        cache["bbox"] = planner_extent(ctx.graph.roads, places, _frame(ctx.graph.threat.front_line))
    return cache["bbox"]


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


def mount_bbox(ctx: AccessContext) -> tuple[float, float, float, float] | None:
    """The extent the map opened on in this session (the data on first load; then fixed, so the
    base map's script, and with it the mounted Leaflet map and the user's view, stays the same)."""
    if k("mount") not in st.session_state:
        st.session_state[k("mount")] = view_bbox(ctx)
    return st.session_state[k("mount")]


def export_bbox(ctx: AccessContext) -> tuple[float, float, float, float] | None:
    """The area the user sees on the map now (its last reported bounds), else the extent it opened on."""
    reported = reported_view()
    return reported[0] if reported is not None else mount_bbox(ctx)


def cutoff_places(ctx: AccessContext) -> list[dict[str, Any]]:
    """The cut-off settlements found in section 6 for this context's as-of time (for the map)."""
    res = st.session_state.get(k("cutoff_places"))
    if not res or res[0] != _as_of_key(ctx):
        return []
    return res[1]


def _as_of_key(ctx: AccessContext) -> str | None:
    return iso(ctx.as_of)


def map_ui(store: Store, ctx: AccessContext, *, token: str, marking: str | None) -> None:
    """The planner map; a line drawn on it is kept for evaluation.

    The base map (legend, marking, Draw tool) opens once fitted to the data and then stays the
    same; everything that changes (threat at the as-of time, corridors, options, cut-off
    settlements) goes in ``feature_group_to_add``, so the browser keeps the Leaflet map and the
    user's pan and zoom. The view moves only on request (:func:`request_view`: suggested routes,
    a pasted line, the *Fit map to the data* button).
    """
    cfg = settings()
    if st.button("Fit map to the data", key=k("fit_all"), help="Zoom the map out to the roads, settlements "
                 "and front line"):
        request_view(fit=view_bbox(ctx))
    m = build_planner_base_map(bounds=mount_bbox(ctx), marking=marking, tile_url=cfg.tile_url,
                               tile_attribution=cfg.tile_attribution)
    cmd = st.session_state.get(k("view_cmd"))
    command = ViewCommand(bounds=cmd["fit"], clear_drawn=cmd["clear_drawn"], nonce=cmd["n"]) if cmd else None
    groups = planner_layer_groups({**map_layers(ctx), "corridors": corridors_layer(store, token)},
                                  options=options(), places=st.session_state.get(k("places"), []),
                                  cutoff=cutoff_places(ctx), command=command)
    result = st_folium(m, key=MAP_KEY, height=560, use_container_width=True, feature_group_to_add=groups,
                       returned_objects=["last_active_drawing", "all_drawings", "bounds", "zoom"])
    take_drawing(result)


def map_layers(ctx: AccessContext) -> dict[str, str]:
    """The context's layers encoded for the map (threat in force, roads, destroyed bridges,
    settlements), once per context."""
    cache = ctx.__dict__.setdefault("_display", {})
    if "encoded" not in cache:
        roads, bridges, places = display_layers(ctx)
        layers = {"occupied_area": _frame(ctx.graph.threat.occupied), "front_line": _frame(ctx.graph.threat.front_line),
                  "roads": roads, "settlements": places, "infrastructure": bridges}
        cache["encoded"] = {name: encode_layer(name, gdf) for name, gdf in layers.items() if gdf is not None}
    return cache["encoded"]


#: At most this many road segments / settlements are drawn on the planner map.
MAX_MAP_ROADS = 8_000
MAX_MAP_SETTLEMENTS = 1_500
_ROAD_LEVELS = (None, ("motorway", "trunk", "primary", "secondary", "tertiary"), ("motorway", "trunk", "primary"),
                ("motorway", "trunk"))


def display_layers(ctx: AccessContext) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads (all, or the main classes when there are too many; non-open segments always), destroyed
    bridges and the largest settlements for the planner map (computed once per context)."""
    cache = ctx.__dict__.setdefault("_display", {})
    if "layers" not in cache:
        roads = ctx.graph.roads
        sel = roads.iloc[:0]
        for classes in _ROAD_LEVELS:
            cand = roads if classes is None else roads[roads["road_class"].isin(classes)]
            if len(cand) <= MAX_MAP_ROADS:
                sel = cand
                break
        bad = roads[roads["status"] != "open"]
        if len(bad) > MAX_MAP_ROADS:
            bad = bad[bad["status"] == "impassable"].head(MAX_MAP_ROADS)
        sel = pd.concat([sel, bad[~bad["id"].isin(sel["id"])]])
        bridges = ctx.graph.destroyed_bridges.assign(sector="bridge", damage="destroyed")
        places = ctx.settlements.sort_values("population", ascending=False).head(MAX_MAP_SETTLEMENTS)
        cache["layers"] = (gpd.GeoDataFrame(sel, geometry="geometry", crs="EPSG:4326"), bridges, places)
    return cache["layers"]


def _frame(geom: Any) -> gpd.GeoDataFrame | None:
    if geom is None:
        return None
    return gpd.GeoDataFrame({"id": ["in force"]}, geometry=[geom], crs="EPSG:4326")


def compare_ui(ctx: AccessContext) -> None:
    opts = options()
    if not opts:
        st.info("No options yet: suggest routes, draw a line on the map or paste one.")
        return
    table = comparison_table(opts, ctx.bands_km)
    st.dataframe(table.astype(str), width="stretch", key=k("table"))
    legend = " ".join(f'<span style="color:{option_color(i)};font-weight:700">■ {i + 1}. '
                      f'{html.escape(o["label"])}</span>' for i, o in enumerate(opts))
    st.markdown(legend, unsafe_allow_html=True)
    if st.button("Clear options", key=k("clear")):
        st.session_state[k("options")] = []
        st.rerun()


def _parse_time(text: str, field: str) -> datetime | None:
    if not (text or "").strip():
        return None
    try:
        return to_utc(text).to_pydatetime()
    except CimicError:
        raise ValidationError("the corridor was not saved", [Problem(
            None, field, f"'{text}' is not a time (use ISO 8601 UTC, e.g. 2026-11-22T06:00Z)")]) from None


def save_ui(store: Store, user: str) -> None:
    """Name and save one option as a draft corridor."""
    opts = options()
    if not opts:
        return
    with st.form(k("save_form")):
        idx = st.selectbox("Option to save", range(len(opts)), format_func=lambda i: f"{i + 1}. {opts[i]['label']}",
                           key=k("save_idx"))
        name = st.text_input("Corridor name", key=k("save_name"))
        c1, c2 = st.columns(2)
        ws = c1.text_input("Window start (UTC, ISO 8601)", key=k("save_ws"))
        we = c2.text_input("Window end (UTC, ISO 8601)", key=k("save_we"))
        notes = st.text_area("Notes", key=k("save_notes"), height=68)
        go = st.form_submit_button("Save as draft corridor")
    if not go:
        return
    opt = opts[int(idx)]
    try:
        res = save_option(store, geometry=shape(opt["geometry"]), name=name, user=user,
                          origin=opt.get("origin"), destination=opt.get("destination"),
                          window_start=_parse_time(ws, "window_start"), window_end=_parse_time(we, "window_end"),
                          notes=notes or None, source="corridor planner")
    except CimicError as exc:
        error(exc)
        return
    clear_caches()
    st.session_state[k("selected")] = res["id"]
    st.session_state[k("seen_version")] = {**st.session_state.get(k("seen_version"), {}), res["id"]: res["version"]}
    st.success(f"saved {name} as {res['id']} ({res['status']}, version {res['version']})")


def _commit_edit(seen: dict, corridor_id: str, edit: Callable[[], dict], message: Callable[[dict], str]) -> None:
    """Run one corridor edit; on success remember the new version, drop caches and rerun."""
    try:
        res = edit()
    except CimicError as exc:
        error(exc)
        return
    seen[corridor_id] = res["version"]
    clear_caches()
    st.success(message(res))
    st.rerun()


def workflow_ui(store: Store, user: str) -> None:
    """Saved corridors, their status workflow and history."""
    gdf = list_corridors(store)
    if not len(gdf):
        st.caption("No saved corridors yet.")
        return
    table = pd.DataFrame({"id": gdf["id"], "name": gdf["name"], "status": gdf["status"], "version": gdf["version"],
                          "updated by": gdf["updated_by"], "updated": gdf["updated_at"].map(dtg)})
    st.dataframe(table.astype(str), width="stretch", hide_index=True, key=k("corridors"))
    ids = gdf["id"].tolist()
    default = st.session_state.get(k("selected"))
    sel = st.selectbox("Corridor", ids, index=ids.index(default) if default in ids else 0,
                       format_func=lambda i: f"{i} — {gdf.loc[gdf['id'] == i, 'name'].iloc[0]}", key=k("sel_box"))
    row = gdf[gdf["id"] == sel].iloc[0]
    seen = st.session_state.setdefault(k("seen_version"), {})
    seen.setdefault(sel, int(row["version"]))
    if seen[sel] != int(row["version"]):
        st.warning(f"{row['name']} was changed (now version {int(row['version'])}, you are looking at "
                   f"version {seen[sel]}). Reload before changing it.")
        if st.button("Reload", key=k("reload")):
            seen[sel] = int(row["version"])
            st.rerun()
    allowed = CORRIDOR_TRANSITIONS.get(str(row["status"]), ())
    st.write(f"Status: **{html.escape(str(row['status']))}** — allowed next: "
             f"{', '.join(allowed) or 'none (closed is final)'}")
    with st.form(k("status_form")):
        new = st.selectbox("New status", CORRIDOR_STATUSES, key=k("new_status"))
        note = st.text_input("Note", key=k("status_note"))
        go = st.form_submit_button("Change status")
    if go:
        _commit_edit(seen, sel, lambda: change_status(store, sel, new, user=user, expected_version=seen[sel],
                                                      note=note),
                     lambda res: f"{sel} is now {res['status']} (version {res['version']})")
    opts = options()
    if opts:
        with st.form(k("edit_form")):
            idx = st.selectbox("Replace this corridor's line with option", range(len(opts)),
                               format_func=lambda i: f"{i + 1}. {opts[i]['label']}", key=k("edit_idx"))
            go_edit = st.form_submit_button("Update corridor line")
        if go_edit:
            _commit_edit(seen, sel, lambda: save_option(store, geometry=shape(opts[int(idx)]["geometry"]),
                                                        name=str(row["name"]), user=user, corridor_id=sel,
                                                        expected_version=seen[sel]),
                         lambda res: f"{sel}: line updated (version {res['version']})")
    hist = history(store, sel)
    if len(hist):
        show = pd.DataFrame({"when": hist["changed_at"].map(dtg), "who": hist["changed_by"],
                             "action": hist["action"], "from": hist["from_status"], "to": hist["to_status"],
                             "version": hist["version"], "notes": hist["notes"]})
        st.dataframe(show.astype(str), width="stretch", hide_index=True, key=k("history"))


def access_ui(ctx: AccessContext) -> None:
    """Settlements cut off from safety and time to the nearest safe hub."""
    with st.form(k("cutoff_form")):
        c1, c2 = st.columns([1, 2])
        avoid = c1.number_input("Avoid roads within (km of the front line)", min_value=0.0,
                                value=float(ctx.bands_km[0]), step=1.0, key=k("cut_avoid"))
        hubs = c2.text_input("Safe hubs (settlement names, comma-separated; empty = every settlement beyond "
                             f"{ctx.bands_km[-1]:g} km)", key=k("cut_hubs"))
        go = st.form_submit_button("Find cut-off settlements")
    if go:
        names = [h.strip() for h in hubs.split(",") if h.strip()] or None
        try:
            doc, table = cutoff_document(ctx, avoid_km=avoid, hubs=names)
        except CimicError as exc:
            error(exc)
            return
        st.session_state[k("cutoff")] = (doc, table.drop(columns="geometry"))
        cut = table[table["status"] == "cut_off"]
        pts = cut.geometry.representative_point()
        st.session_state[k("cutoff_places")] = (_as_of_key(ctx), [
            {"lat": float(pt.y), "lon": float(pt.x), "name": str(r.name), "population": int(r.population),
             "reason": r.reason if isinstance(r.reason, str) else ""} for pt, r in zip(pts, cut.itertuples(), strict=True)])
        st.rerun()  # the map (section 2, above) is drawn again with the cut-off settlements
    res = st.session_state.get(k("cutoff"))
    if not res:
        return
    doc, table = res
    if doc.get("as_of") != _as_of_key(ctx):
        st.caption(f"Computed for the front line as of {doc.get('as_of') or '–'}: press *Find cut-off settlements* "
                   "again for the time chosen now (the map shows cut-off settlements only for the time they were "
                   "computed for).")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Cut off", f"{len(doc['cut_off']):,}")
    c2.metric("Population cut off", f"{doc['cut_off_population']:,}")
    c3.metric("Median time to safety (min)", "-" if doc["median_time_to_safety_min"] is None
              else f"{doc['median_time_to_safety_min']:.0f}")
    c4.metric("Safe hubs", f"{doc['hubs_count']:,}")
    if doc["cut_off"]:
        st.caption("Cut-off settlements are marked on the map above (magenta diamonds).")
        st.dataframe(pd.DataFrame(doc["cut_off"]), width="stretch", hide_index=True, key=k("cut_table"))
    reach = table[table["status"] == "reachable"].sort_values("minutes", ascending=False)
    if len(reach):
        st.caption("Longest times to safety")
        st.dataframe(reach[["name", "population", "band", "minutes", "nearest_hub"]].head(50),
                     width="stretch", hide_index=True, key=k("tts_table"))
