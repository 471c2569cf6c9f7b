"""The basemap of a snapshot: state and oblast borders, rivers and water, major roads and place
names from the store (:func:`cimic_geo.maps.cop_view.basemap_layers`, as on the COP at the
equivalent zoom), drawn under the layers in the COP's basemap colours and clipped to the map frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.snapshot_map import MapProjection, _halo, _points, _segments, place_names
from cimic_geo.i18n import N_, _
from cimic_geo.maps.cop_style import BASEMAP_STYLES, MAJOR_ROAD_STYLES


def snapshot_zoom(bbox: Sequence[float], *, width_px: float = 760.0) -> int:
    """Web-map zoom equivalent to drawing ``bbox`` about ``width_px`` wide (picks basemap detail):
    256·2^z px span 360° of longitude, so z = log2(width_px·360 / (256·width°)), kept in 5..13."""
    width = max(float(bbox[2]) - float(bbox[0]), 1e-6)
    return int(min(13, max(5, math.floor(math.log2(width_px * 360.0 / (256.0 * width))))))


def attach_basemap(store: Any, loaded: LoadedView) -> LoadedView:
    """Read the orienting layers (outlines, water, major roads, place names) of the view's bbox
    into ``loaded.basemap``, with the detail the COP shows at the equivalent zoom."""
    from cimic_geo.maps.cop_view import basemap_layers

    if store is not None and not loaded.basemap:
        loaded.basemap = basemap_layers(store, bbox=loaded.bbox, zoom=snapshot_zoom(loaded.bbox))
    return loaded


def draw_basemap(ax: Any, frames: dict[str, gpd.GeoDataFrame], proj: MapProjection) -> list[tuple[Any, str]]:
    """Draw outlines, rivers, water areas, major roads and place names under the layers, in the
    COP's basemap colours, clipped to the map frame; return legend entries."""
    legend: list[tuple[Any, str]] = []
    bm = frames.get("basemap")
    if bm is not None and len(bm):
        kinds = bm["kind"].astype(str).to_numpy()
        geoms = proj.geoms(np.asarray(bm.geometry.values))
        water = kinds == "water"
        if water.any():
            st = BASEMAP_STYLES["water"]
            gpd.GeoSeries(geoms[water]).plot(ax=ax, facecolor=st["fillColor"], edgecolor=st["color"],
                                             linewidth=0.4, zorder=0.4)
        for kind, label, ls, zorder in (("river", N_("river"), "-", 0.45), ("admin1", N_("oblast border"), (0, (6, 4)), 0.5),
                                        ("state", N_("state border"), (0, (8, 3, 2, 3)), 0.55)):
            mask = kinds == kind
            if not mask.any():
                continue
            st = BASEMAP_STYLES[kind]
            lw = st["weight"] * 0.45
            ax.add_collection(LineCollection(_segments(geoms[mask]), colors=st["color"], linewidths=lw,
                                             linestyles=ls, zorder=zorder))
            legend.append((Line2D([], [], color=st["color"], lw=lw, ls=ls), _(label)))
        if water.any():
            legend.append((Patch(facecolor=BASEMAP_STYLES["water"]["fillColor"],
                                 edgecolor=BASEMAP_STYLES["water"]["color"]), _("water")))
    roads = frames.get("major_roads")
    if roads is not None and len(roads):
        cls = roads["road_class"].astype(str).to_numpy()
        geoms = proj.geoms(np.asarray(roads.geometry.values))
        for name in ("secondary", "primary", "trunk", "motorway"):
            mask = cls == name
            if mask.any():
                st = MAJOR_ROAD_STYLES[name]
                ax.add_collection(LineCollection(_segments(geoms[mask]), colors=st["color"],
                                                 linewidths=st["weight"] * 0.4, zorder=0.8))
        legend.append((Line2D([], [], color=MAJOR_ROAD_STYLES["motorway"]["color"], lw=1), _("Major roads")))
    labels = frames.get("labels")
    if labels is not None and len(labels):
        xy = _points(proj.geoms(np.asarray(labels.geometry.values)))
        names = place_names(labels).to_numpy()
        pop = pd.to_numeric(labels["population"], errors="coerce").fillna(0).to_numpy()
        for i in range(len(names)):
            big = pop[i] >= 100_000
            ax.annotate(names[i], (xy[i, 0], xy[i, 1]), fontsize=7.5 if big else 6.5, zorder=12, xytext=(3, 3),
                        fontweight="bold" if big else "normal", color="#263238", textcoords="offset points",
                        path_effects=_halo(2.5), annotation_clip=True, clip_on=True)
    return legend
