"""Symbology of the COP map: colours, layer titles, popup fields, layer order and the legend.

One table (:data:`STYLES`) is used by the browser (``js/cop-layers.js`` styles, tooltips and popups
from it) and by the legend (:func:`legend_items`); :mod:`cimic_geo.maps.cop_map` builds the maps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cimic_geo.i18n import N_, _, term
from cimic_geo.maps.symbols import symbol_table
from cimic_geo.schema import CORRIDOR_STATUSES, DAMAGE_LEVELS, SECTORS, SHELTER_KINDS, SHELTER_STATUSES

# ----------------------------------------------------------------------------------------------
# Symbology (one table, used by the browser helper and the legend)
# ----------------------------------------------------------------------------------------------

# Palette rule: red and orange mean threat only (front line, occupied ground); green means
# liberated ground only. Shelters are blues (status), damage is browns (severity), so neither
# an open shelter reads as liberated ground nor a damaged one as the front line.
SHELTER_STATUS_COLORS = {"open": "#1f78b4", "full": "#9ecae1", "closed": "#9e9e9e", "damaged": "#252525"}
SHELTER_KIND_COLORS = {"blast_shelter": "#000000", "collective_centre": "#08306b",
                       "transit_centre": "#6a51a3", "medical": "#c51b7d"}
DAMAGE_COLORS = {"none": "#bbbbbb", "minor": "#dfc27d", "major": "#a6611a", "destroyed": "#3b1e08"}
SECTOR_COLORS = {
    "power": "#b8a000", "water": "#1f78b4", "heating": "#8c6d31", "gas": "#6a3d9a", "telecom": "#00838f",
    "health": "#c51b7d", "education": "#5d4037", "bridge": "#000000", "road": "#555555", "rail": "#8c564b",
}
CORRIDOR_COLORS = {"draft": "#9e9e9e", "proposed": "#42a5f5", "agreed": "#1565c0", "active": "#00897b",
                   "suspended": "#8d6e63", "closed": "#424242"}
ROAD_STATUS_COLORS = {"open": "#8d8d8d", "damaged": "#a6611a", "impassable": "#000000"}
#: Basemap outlines and water (muted, under everything) and the major roads drawn with it.
BASEMAP_STYLES = {
    "state": {"color": "#37474f", "weight": 2.6, "dashArray": "12 4 2 4", "fill": False, "opacity": 0.9},
    "admin1": {"color": "#78909c", "weight": 1.2, "dashArray": "6 4", "fill": False, "opacity": 0.9},
    "river": {"color": "#5b9bd5", "weight": 1.8, "opacity": 0.9, "fill": False},
    "water": {"color": "#5b9bd5", "weight": 0.8, "fillColor": "#b3d4f0", "fillOpacity": 0.9},
}
MAJOR_ROAD_STYLES = {
    "motorway": {"color": "#b58900", "weight": 2.4}, "trunk": {"color": "#b58900", "weight": 1.9},
    "primary": {"color": "#a0a0a0", "weight": 1.5}, "secondary": {"color": "#bdbdbd", "weight": 1.1},
}
#: Marker shape per point layer (the COP's own symbols; APP-6 symbols are the alternative).
POINT_SHAPES = {"settlements": "circle", "shelters": "square", "infrastructure": "triangle",
                "evacuations": "diamond"}
#: ``gained``/``lost`` as in :func:`cimic_geo.analytics.front_change.front_change`: ground newly occupied
#: and ground liberated since the earlier date.
CHANGE_COLORS = {"gained": "#6a1b9a", "lost": "#2e7d32"}
CHANGE_LABELS = {"gained": N_("newly occupied"), "lost": N_("liberated")}
#: Highlight rings and glows of the features that changed between two times (outline by layer).
CHANGED_COLORS = {"shelters": "#ff00c8", "infrastructure": "#ff6f00", "corridors": "#00e5ff"}

_PROV = [["source", N_("Source")], ["reported", N_("Reported (DTG)")], ["reliability", N_("Reliability")]]
_PT = [["lat", N_("Latitude")], ["lon", N_("Longitude")], ["mgrs", N_("MGRS")]]

#: Per layer: title, style and popup fields. ``fill_by``/``color_by``/``dash_by`` pick a property.
STYLES: dict[str, dict[str, Any]] = {
    "basemap": {
        "title": N_("Basemap"), "tip": ["name"], "interactive": False,
        "base": {"color": "#78909c", "weight": 1, "fill": False},
        "style_by": "kind", "variants": BASEMAP_STYLES,
        "fields": [["kind", N_("Kind")], ["name_uk", N_("Name (uk)")]],
    },
    "major_roads": {
        "title": N_("Major roads"), "tip": ["name", "road_class"], "interactive": False,
        "base": {"color": "#a0a0a0", "weight": 1.2, "opacity": 0.85},
        "style_by": "road_class", "variants": MAJOR_ROAD_STYLES,
        "fields": [["road_class", N_("Class")]],
    },
    "labels": {
        "title": N_("Place names"), "tip": ["name"], "interactive": False, "marker": "label",
        "base": {},
        "fields": [["population", N_("Population")]],
    },
    "occupied_area": {
        "title": N_("Occupied area"), "tip": ["valid_from"],
        "base": {"color": "#b71c1c", "weight": 1, "fillColor": "#e53935", "fillOpacity": 0.18, "opacity": 0.6},
        "fields": [["valid_from", N_("Valid from")], ["valid_to", N_("Valid to")], *_PROV],
    },
    "front_change": {
        "title": N_("Front-line change"), "tip": ["label", "area_km2", "since"],
        "base": {"weight": 1, "fillOpacity": 0.45, "opacity": 0.9},
        "color_by": "change", "colors": CHANGE_COLORS, "fill_by": "change", "fills": CHANGE_COLORS,
        "fields": [["label", N_("Change")], ["area_km2", N_("Area (km², geodesic)")], ["since", N_("Since")],
                   ["as_of", N_("As of")]],
    },
    "front_line": {
        "title": N_("Front line"), "tip": ["valid_from"],
        "base": {"color": "#d50000", "weight": 3.5, "opacity": 0.95},
        "fields": [["valid_from", N_("Valid from")], ["valid_to", N_("Valid to")], *_PROV],
    },
    "roads": {
        "title": N_("Roads"), "tip": ["name", "road_class", "status"],
        "base": {"color": "#8d8d8d", "weight": 1.5, "opacity": 0.8},
        "color_by": "status", "colors": ROAD_STATUS_COLORS,
        "dash_by": "status", "dash": {"impassable": "4 4"},
        "fields": [["road_class", N_("Class")], ["status", N_("Status")], ["speed_kmh", N_("Speed (km/h)")],
                   ["bridge", N_("Bridge")], *_PROV],
    },
    "corridors": {
        "title": N_("Corridors"), "tip": ["name", "status"],
        "base": {"color": "#1565c0", "weight": 5, "opacity": 0.9},
        "color_by": "status", "colors": CORRIDOR_COLORS,
        "dash_by": "status", "dash": {"draft": "8 6", "proposed": "8 6", "suspended": "2 6"},
        "fields": [["status", N_("Status")], ["origin", N_("Origin")], ["destination", N_("Destination")],
                   ["window", N_("Window (DTG)")], ["notes", N_("Notes")], ["version", N_("Version")],
                   ["updated_by", N_("Updated by")], *_PROV],
    },
    "settlements": {
        "title": N_("Settlements"), "tip": ["name", "population"],
        "base": {"color": "#37474f", "weight": 1, "fillColor": "#eceff1", "fillOpacity": 0.9, "radius": 3},
        "radius_by": "population", "shape": "circle",
        "fields": [["name_uk", N_("Name (uk)")], ["population", N_("Population")], ["settlement_type", N_("Type")],
                   ["admin1", N_("Oblast")], ["admin2", N_("Raion")], *_PT, *_PROV],
    },
    "shelters": {
        "title": N_("Shelters"), "tip": ["name", "kind", "status", "occupancy", "capacity"],
        "base": {"color": "#000000", "weight": 2, "fillColor": "#1a9641", "fillOpacity": 0.9, "radius": 5},
        "fill_by": "status", "fills": SHELTER_STATUS_COLORS, "color_by": "kind", "colors": SHELTER_KIND_COLORS,
        "shape": "square", "symbols": True,
        "fields": [["kind", N_("Kind")], ["status", N_("Status")], ["capacity", N_("Capacity")], ["occupancy", N_("Occupancy")],
                   ["accessible", N_("Step-free")], ["address", N_("Address")], *_PT, *_PROV],
    },
    "infrastructure": {
        "title": N_("Damaged infrastructure"), "tip": ["name", "sector", "damage"],
        "base": {"color": "#000000", "weight": 2.5, "fillColor": "#f46d43", "fillOpacity": 0.9, "radius": 5},
        "fill_by": "damage", "fills": DAMAGE_COLORS, "color_by": "sector", "colors": SECTOR_COLORS,
        "shape": "triangle", "radius": 6, "symbols": True,
        "fields": [["sector", N_("Sector")], ["damage", N_("Damage")], ["restoration", N_("Restoration")],
                   ["people_served", N_("People served")], *_PT, *_PROV],
    },
    "changes": {
        "title": N_("Changed since the earlier time"), "tip": ["name", "what", "change", "before", "after"],
        "base": {"color": "#ff00c8", "weight": 3, "opacity": 0.95, "fill": False, "radius": 11},
        "color_by": "kind", "colors": CHANGED_COLORS, "shape": "circle", "radius": 11,
        "fields": [["what", N_("Layer")], ["change", N_("Change")], ["before", N_("Before")], ["after", N_("After")]],
    },
    "search": {
        "title": N_("Search result"), "tip": ["name"],
        "base": {},
        "marker": "pin",
        "fields": [["population", N_("Population")], *_PT],
    },
}
#: Aggregated (gridded) versions of the point layers, drawn at low zoom as count badges.
_COUNT_COLORS = {"shelters": "#1f78b4", "infrastructure": "#8c510a", "settlements": "#546e7a"}
for _k, _title, _cats in (
    ("shelters", N_("Shelters (aggregated)"), SHELTER_STATUSES),
    ("infrastructure", N_("Damaged infrastructure (aggregated)"), DAMAGE_LEVELS[1:]),
    ("settlements", N_("Settlements (aggregated)"), ()),
):
    STYLES[f"{_k}_grid"] = {
        "title": _title, "term_fields": list(_cats), "tip": ["n"],
        "base": {"color": "#263238", "weight": 1, "fillColor": STYLES[_k]["base"].get("fillColor", "#888"),
                 "fillOpacity": 0.55},
        "radius_by": "n", "marker": "count", "count_color": _COUNT_COLORS[_k],
        "fields": [["n", N_("Count")], *[[c, c.replace("_", " ").capitalize()] for c in _cats],
                   ["capacity", N_("Capacity")], ["occupancy", N_("Occupancy")], ["population", N_("Population")],
                   ["people_served", N_("People served")]],
    }

#: The changed points counted per cell where a view holds too many to ring one by one (tooltip: "{n} × Changed
#: features here"); a click zooms in towards the rings.
STYLES["changes_grid"] = {
    "title": N_("Changed features"), "tip": ["n"],
    "base": {"color": "#263238", "weight": 1, "fillColor": CHANGED_COLORS["shelters"], "fillOpacity": 0.55},
    "radius_by": "n", "marker": "count", "count_color": "#c2008f",
    "fields": [["n", N_("Count")], ["shelters", N_("Shelters")], ["infrastructure", N_("Damaged infrastructure")]],
}

# APP-6 symbol codes per point layer (used when the map's symbol toggle is on)
for _k, _table in symbol_table().items():
    if _k in STYLES:
        STYLES[_k]["sidc"] = _table

def localized_styles() -> dict[str, dict[str, Any]]:
    """:data:`STYLES` with layer titles and popup/tooltip field names in the current language (for the
    browser; ``term_fields`` are enumerated values, e.g. shelter statuses, shown with :func:`term`)."""
    out: dict[str, dict[str, Any]] = {}
    for key, style in STYLES.items():
        terms = set(style.get("term_fields", ()))
        fields = [[f, term(f) if f in terms else _(label)] for f, label in style.get("fields", [])]
        title = style["title"]
        out[key] = {**style, "title": _(title), "fields": fields}
    return out


#: Layer order on the map (bottom to top) and whether each is shown by default.
LAYER_ORDER = ("basemap", "major_roads", "occupied_area", "front_change", "front_line", "roads", "corridors", "settlements",
               "shelters", "infrastructure", "changes", "labels", "search")
DEFAULT_VISIBLE = frozenset(k for k in LAYER_ORDER if k not in ("roads",))


def legend_items(layers: Iterable[str]) -> list[list[Any]]:
    """Legend sections ``[title, [[label, colour, shape], ...]]`` for the layers; shape is one of
    ``dot``, ``square``, ``triangle``, ``diamond``, ``line``, ``area``, ``dash`` or ``count``."""
    nice = term  # the stored value in the current language ("blast_shelter" -> "blast shelter" / "укриття")
    out: list[list[Any]] = []
    layers = set(layers)
    if "front_line" in layers:
        out.append([_("Front line"), [[_("in force at the as-of time"), STYLES["front_line"]["base"]["color"], "line"]]])
    if "occupied_area" in layers:
        out.append([_("Occupied area"), [[_("occupied"), STYLES["occupied_area"]["base"]["fillColor"], "area"]]])
    if "front_change" in layers:
        out.append([_("Front change since the earlier date"), [[_(CHANGE_LABELS[k]), CHANGE_COLORS[k], "area"]
                                                             for k in ("gained", "lost")]])
    if "shelters" in layers:
        out.append([_("Shelters (squares): fill = status"), [[nice(s), SHELTER_STATUS_COLORS[s], "square"]
                                                          for s in SHELTER_STATUSES]])
        out.append([_("Shelters: outline = kind"), [[nice(k), SHELTER_KIND_COLORS[k], "square"] for k in SHELTER_KINDS]])
    if "infrastructure" in layers:
        out.append([_("Damage (triangles): fill"), [[nice(d), DAMAGE_COLORS[d], "triangle"] for d in DAMAGE_LEVELS[1:]]])
        out.append([_("Damage: outline = sector"), [[nice(s), SECTOR_COLORS[s], "triangle"] for s in SECTORS]])
    if "settlements" in layers:
        out.append([_("Settlements"), [[_("size by population"), STYLES["settlements"]["base"]["fillColor"], "dot"]]])
    if "corridors" in layers:
        out.append([_("Corridors"), [[nice(s), CORRIDOR_COLORS[s], "line"] for s in CORRIDOR_STATUSES]])
    if "roads" in layers:
        out.append([_("Roads"), [[nice(s), ROAD_STATUS_COLORS[s], "line"] for s in ROAD_STATUS_COLORS]])
    if "basemap" in layers:
        out.append([_("Basemap"), [[_("state border"), BASEMAP_STYLES["state"]["color"], "dash"],
                               [_("oblast border"), BASEMAP_STYLES["admin1"]["color"], "dash"],
                               [_("river"), BASEMAP_STYLES["river"]["color"], "line"],
                               [_("water"), BASEMAP_STYLES["water"]["fillColor"], "area"]]])
    if "major_roads" in layers:
        out.append([_("Major roads"), [[nice(c), MAJOR_ROAD_STYLES[c]["color"], "line"] for c in ("motorway", "primary")]])
    if "changes" in layers:
        titles = {k: STYLES[k]["title"] for k in CHANGED_COLORS}
        out.append([_("Changed since the earlier time (rings)"), [[_(t), CHANGED_COLORS[k], "dot"]
                                                                  for k, t in titles.items()]
                    + [[_("number = changed features in the area (zoom in for the rings)"),
                        STYLES["changes_grid"]["count_color"], "count"]]])
    out.append([_("Aggregates"), [[_("number = objects in the area (click to zoom in)"), "#1f78b4", "count"]]])
    return out
