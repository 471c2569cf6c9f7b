"""Maps of the civil picture: settlements coloured by a sector's status or by assessment age, and
the 3W map (partner areas, settlements served, gaps).

Offline base map, escaped tooltips, legend and marking: :mod:`cimic_geo.maps.layers_common`.
"""

from __future__ import annotations

import html
from typing import Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import N_, _, fmt_int, term
from cimic_geo.maps.analytics_map import AnalyticsLegend, finish
from cimic_geo.maps.controls import frames_extent
from cimic_geo.maps.layers_common import MapLook, add_front, base_map, circle_layer, tooltip_text
from cimic_geo.schema import PARTNER_SECTORS

# Palette rule of the COP (:mod:`cimic_geo.maps.cop_style`): red/orange only for the front and the
# occupied ground, green only for liberated ground. Sector status runs blue (working) to brown
# (disrupted, as damage); assessment age blue (current) to purple (stale).
STATUS_COLOURS = {"functional": "#1f78b4", "partial": "#dfc27d", "disrupted": "#8c510a", "unknown": "#bdbdbd"}
STATE_COLOURS = {"current": "#1f78b4", "stale": "#9e9ac8", "never": "#bdbdbd"}
STATE_LABELS = {"current": N_("assessed recently"), "stale": N_("assessment stale"), "never": N_("never assessed")}
#: Colour of each partner sector on the 3W map (fixed per sector, none of them the gap red).
SECTOR_COLOURS = dict(zip(PARTNER_SECTORS, ("#b8a000", "#1f77b4", "#e377c2", "#8c564b", "#17becf", "#00897b",
                                            "#9467bd", "#7f7f7f", "#6b8e23", "#000080", "#bcbd22", "#00a087"),
                          strict=True))
#: Settlements with an unmet need and no partner (a gap, not a threat: magenta, not red).
GAP_COLOUR = "#c51b7d"
MAX_POINTS = 4000
Colouring = Literal["status", "state"]


def _radius(frame: gpd.GeoDataFrame) -> np.ndarray:
    pop = pd.to_numeric(frame.get("population", pd.Series(0, index=frame.index)), errors="coerce").fillna(0)
    return np.clip(np.sqrt(pop.to_numpy(dtype=float)) / 40.0, 3, 16)


def assessment_map(
    settlements: gpd.GeoDataFrame,
    *,
    sector: str,
    colour_by: Colouring = "status",
    front_line: gpd.GeoDataFrame | None = None,
    occupied_area: gpd.GeoDataFrame | None = None,
    look: MapLook = MapLook(),
    max_points: int = MAX_POINTS,
) -> folium.Map:
    """Settlements coloured by the status of ``sector`` in their latest assessment, or by its age.

    ``settlements`` has ``status`` (functional/partial/disrupted/unknown) and ``state``
    (current/stale/never), as :func:`cimic_geo.civil.assessment_overview` gives them. At most
    ``max_points`` are drawn: assessed ones and the largest first.
    """
    if colour_by not in ("status", "state"):
        raise AnalysisError(f"colour_by must be 'status' or 'state', got {colour_by!r}")
    m = base_map(look)
    add_front(m, front_line, occupied_area)
    sets = settlements
    note = ""
    if len(sets) > max_points:
        key = (sets["state"] != "never").astype(int) * 1e12 + pd.to_numeric(sets["population"], errors="coerce")
        sets = sets.loc[key.sort_values(ascending=False).index[:max_points]]
        note = _(" (first {n} of {total})").format(n=fmt_int(max_points), total=fmt_int(len(settlements)))
    if colour_by == "status":
        colour = np.array([STATUS_COLOURS.get(s, STATUS_COLOURS["unknown"]) for s in sets["status"]], dtype=object)
        legend = AnalyticsLegend(_("{sector}: status (latest assessment)").format(sector=term(sector)),
                                 [(term(s), c) for s, c in STATUS_COLOURS.items()])
        title = _("Settlements by status: {sector}").format(sector=term(sector))
    else:
        colour = np.array([STATE_COLOURS.get(s, STATE_COLOURS["never"]) for s in sets["state"]], dtype=object)
        legend = AnalyticsLegend(_("Latest assessment"), [(_(STATE_LABELS[k]), c) for k, c in STATE_COLOURS.items()])
        title = _("Settlements by assessment age")
    fields = [("name", _("Settlement")), ("id", "ID"), ("population", _("Population")),
              ("status", _("{sector}: status").format(sector=term(sector))), ("last_assessed", _("Last assessed")),
              ("age_days", _("Age (days)")), ("priority_needs", _("Priority needs"))]
    circle_layer(sets, fields, colour, _radius(sets), title + note).add_to(m)
    return finish(m, legend, marking=look.marking, bounds=frames_extent(sets if len(sets) else None, occupied_area,
                                                                   front_line))


def partners_map(
    partners: gpd.GeoDataFrame,
    *,
    settlements: gpd.GeoDataFrame,
    gaps: pd.DataFrame,
    look: MapLook = MapLook(),
    max_points: int = MAX_POINTS,
) -> folium.Map:
    """The 3W map: partner areas (polygons) and served settlements per sector, and gap settlements in red.

    ``gaps`` has ``settlement_id`` and ``sector`` (one row per uncovered need).
    """
    m = base_map(look)
    sectors = sorted(set(partners["sector"])) if len(partners) else []
    colours = {s: SECTOR_COLOURS.get(s, "#7f7f7f") for s in sectors}
    for sector in sectors:
        part = partners[partners["sector"] == sector]
        props = gpd.GeoDataFrame({
            "organisation": [tooltip_text(v) for v in part["organisation"]],
            "org_type": [tooltip_text(v) for v in part["org_type"]],
            "activity": [tooltip_text(v) for v in part.get("activity", pd.Series([""] * len(part)))],
            "contact": [tooltip_text(v) for v in part.get("contact", pd.Series([""] * len(part)))],
        }, geometry=part.geometry.values, crs="EPSG:4326")
        c = colours[sector]
        folium.GeoJson(
            props.__geo_interface__, name=html.escape(_("Partners: {sector} ({n})").format(sector=term(sector), n=len(part))),
            style_function=lambda _f, c=c: {"color": c, "weight": 2, "fillColor": c, "fillOpacity": 0.12},
            marker=folium.CircleMarker(radius=4, fill=True, fill_opacity=0.7, color=c, fill_color=c),
            tooltip=folium.GeoJsonTooltip(fields=["organisation", "org_type", "activity", "contact"],
                                          aliases=[_("Organisation"), _("Type"), _("Activity"), _("Contact")]),
        ).add_to(m)
    gap_sets = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    if len(gaps):
        by = gaps.groupby("settlement_id")["sector"].agg(lambda s: ", ".join(sorted(set(s))))
        gap_sets = settlements[settlements["id"].astype(str).isin(by.index)].copy()
        gap_sets["needs"] = gap_sets["id"].astype(str).map(by).to_numpy()
        if len(gap_sets) > max_points:
            gap_sets = gap_sets.sort_values("population", ascending=False).head(max_points)
        circle_layer(gap_sets, [("name", _("Settlement")), ("id", "ID"), ("population", _("Population")),
                           ("needs", _("Uncovered needs"))],
                np.full(len(gap_sets), GAP_COLOUR, dtype=object), _radius(gap_sets),
                _("Gaps: unmet need, no partner ({n})").format(n=fmt_int(len(gap_sets)))).add_to(m)
    legend = AnalyticsLegend("3W", [*((_("Partners: {sector}").format(sector=term(s)), c) for s, c in colours.items()),
                                    (_("gap: unmet need, no partner"), GAP_COLOUR)])
    return finish(m, legend, marking=look.marking, bounds=frames_extent(
        partners if len(partners) else None, gap_sets if len(gap_sets) else None,
        settlements if len(settlements) else None))
