"""Map of the evacuations page: pickup points coloured by status (size by people), lines from the
pickup to the destination shelter of planned and underway missions, the front line and the
occupied area.

Offline base map, escaped tooltips, legend and marking: :mod:`cimic_geo.maps.layers_common`.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.i18n import N_, _, term
from cimic_geo.maps.analytics_map import AnalyticsLegend, finish
from cimic_geo.maps.controls import frames_extent
from cimic_geo.maps.cop_style import POINT_SHAPES
from cimic_geo.maps.layers_common import MapLook, add_front, base_map, shape_layer

#: Status colours: no red/orange (threat only) and no green (liberated ground only); evacuations are
#: diamonds as on the COP (shelters squares, damage triangles, settlements circles).
STATUS_COLOURS = {"requested": "#6a3d9a", "planned": "#42a5f5", "underway": "#1565c0", "completed": "#00897b",
                  "failed": "#000000", "cancelled": "#9e9e9e"}
SHAPE = POINT_SHAPES["evacuations"]
TOOLTIP_FIELDS = (("id", N_("Evacuation")), ("status", N_("Status")), ("priority", N_("Priority")),
                  ("people", N_("People")), ("settlement", N_("Settlement")), ("pickup", N_("Pickup")),
                  ("band", N_("Threat band")), ("destination", N_("Destination")), ("transport", N_("Transport")),
                  ("requested", N_("Requested")))


def build_evacuation_map(
    evacuations: gpd.GeoDataFrame,
    *,
    shelters: gpd.GeoDataFrame | None = None,
    front_line: gpd.GeoDataFrame | None = None,
    occupied_area: gpd.GeoDataFrame | None = None,
    look: MapLook = MapLook(),
) -> folium.Map:
    """The evacuations map.

    Parameters
    ----------
    evacuations : pickup points with ``status``, ``people`` and the board columns (``id``,
        ``settlement``, ``destination``, ``requested`` ...) as tooltip fields when present
    shelters : destination shelters (``id``, ``name``, points) for the mission lines
    front_line, occupied_area : in force at the time shown
    """
    m = base_map(look)
    add_front(m, front_line, occupied_area)
    ev = evacuations
    if shelters is not None and len(shelters) and len(ev) and "destination_shelter_id" in ev.columns:
        live = ev[ev["status"].isin(("planned", "underway")) & ev["destination_shelter_id"].notna()]
        where = dict(zip(shelters["id"].astype(str), shelters.geometry, strict=True))
        pairs = [(g, where.get(str(d)), s) for g, d, s in zip(live.geometry, live["destination_shelter_id"],
                                                              live["status"], strict=True)]
        pairs = [(a, b, s) for a, b, s in pairs if b is not None]
        if pairs:
            lines = gpd.GeoDataFrame({"status": [s for _, _, s in pairs]},
                                     geometry=[shapely.LineString([a, b]) for a, b, _ in pairs], crs="EPSG:4326")
            folium.GeoJson(lines.__geo_interface__, name=_("Missions to shelters"),
                           style_function=lambda f: {"color": STATUS_COLOURS.get(f["properties"]["status"], "#555"),
                                                     "weight": 2, "dashArray": "4 4"}).add_to(m)
    people = pd.to_numeric(ev["people"], errors="coerce").fillna(0).to_numpy(dtype=float) if len(ev) else np.zeros(0)
    colour = [STATUS_COLOURS.get(str(s), "#555555") for s in ev["status"]] if len(ev) else []
    # three sizes (few icon groups): up to 10, up to 50, more people
    size = np.select([people <= 10, people <= 50], [5.0, 7.0], 9.0) if len(ev) else np.zeros(0)
    fields = [(name, _(label)) for name, label in TOOLTIP_FIELDS]
    shape_layer(ev, fields, colour, size, _("Evacuations"), shape=SHAPE).add_to(m)
    present = [s for s in STATUS_COLOURS if len(ev) and (ev["status"] == s).any()]
    legend = AnalyticsLegend(_("Evacuations by status (size = people)"),
                             [(term(s), STATUS_COLOURS[s], SHAPE) for s in present or STATUS_COLOURS])
    return finish(m, legend, marking=look.marking, bounds=frames_extent(ev if len(ev) else None, front_line))
