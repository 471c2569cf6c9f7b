"""Basemap of the exercise theatre: state outline, oblast outlines, rivers and water areas.

Everything derives from geography the scenario already has, so the basemap agrees with the data:

* ``state``: the theatre outline at national scale (a country-like polygon); at demo scale only
  the outline's east side is a state border, drawn as a line (the other sides cut the map);
* ``admin1``: one polygon per oblast. Settlements belong to the oblast of their nearest oblast
  centre, so the oblasts are the Voronoi cells of those centres clipped to the theatre;
* ``river``: the theatre's rivers; ``water``: a reservoir (a 3 km wide lake) on the middle tenth
  of each river longer than 300 km.

Geometry is built in metres (the theatre's metric CRS) and returned in lon/lat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from cimic_geo.scenario._config import ScaleConfig
from cimic_geo.scenario._theatre import Theatre

#: Rivers longer than this (km) get a reservoir drawn as a water area.
RESERVOIR_MIN_RIVER_KM = 300.0
RESERVOIR_HALF_WIDTH_M = 1_500.0


def oblast_polygons(area: shapely.Geometry, centres: np.ndarray) -> np.ndarray:
    """Voronoi cells of the oblast ``centres`` (metric, (k, 2)) clipped to ``area``, one per centre."""
    if len(centres) == 1:
        return np.array([area], dtype=object)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=area))
    out = np.empty(len(centres), dtype=object)
    for cell in cells:  # the cells come unordered: match each to the centre it contains
        hit = np.flatnonzero(shapely.contains_xy(cell, centres[:, 0], centres[:, 1]))
        if len(hit):
            out[hit[0]] = shapely.intersection(cell, area)
    return out


def _state_geometry(cfg: ScaleConfig, th: Theatre, to_metric) -> tuple[shapely.Geometry, str]:
    if cfg.name != "demo":
        return th.area, "state"
    # demo: the area's east side (the vertices in the east quarter of its width) is the state border
    ll = np.asarray(cfg.area)
    east = ll[ll[:, 0] > ll[:, 0].min() + 0.75 * (ll[:, 0].max() - ll[:, 0].min())]
    east = east[np.argsort(-east[:, 1])]
    x, y = to_metric.transform(east[:, 0], east[:, 1])
    return shapely.LineString(np.column_stack([x, y])), "state"


def build_basemap(cfg: ScaleConfig, th: Theatre, settlements: pd.DataFrame) -> pd.DataFrame:
    """Basemap features in metric coordinates: columns ``id``, ``kind``, ``name``, ``name_uk``,
    ``geometry`` (the caller converts to lon/lat).

    ``settlements`` is the frame of :func:`cimic_geo.scenario._settlements.build_settlements`
    (``name``, ``name_uk``, ``admin1``, ``x``, ``y``).
    """
    rows: list[dict] = []
    state, kind = _state_geometry(cfg, th, th.to_metric)
    rows.append({"id": "BM-STATE", "kind": kind, "name": "State border", "name_uk": "Державний кордон",
                 "geometry": state})
    # an oblast's centre is the settlement it is named after ("<name> Oblast"), itself in the oblast
    names = settlements["name"].astype(str)
    centres, labels = [], []
    for admin1, group in settlements.groupby("admin1", sort=True):
        base = str(admin1).removesuffix(" Oblast")
        hit = group[names.loc[group.index] == base]
        row = hit.iloc[0] if len(hit) else group.iloc[0]
        centres.append((float(row["x"]), float(row["y"])))
        labels.append((str(admin1), None))
    polys = oblast_polygons(th.area, np.asarray(centres, dtype=float))
    for i, ((name, name_uk), poly) in enumerate(zip(labels, polys, strict=True)):
        if poly is not None and not poly.is_empty:
            rows.append({"id": f"BM-A1-{i + 1:02d}", "kind": "admin1", "name": name, "name_uk": name_uk,
                         "geometry": poly})
    for i, (name, line) in enumerate(th.rivers):
        clipped = shapely.intersection(line, th.area)
        rows.append({"id": f"BM-R-{i + 1:02d}", "kind": "river", "name": name, "name_uk": None,
                     "geometry": clipped})
        if line.length / 1000.0 >= RESERVOIR_MIN_RIVER_KM:
            stretch = shapely.ops.substring(line, 0.45, 0.55, normalized=True)
            lake = shapely.intersection(shapely.buffer(stretch, RESERVOIR_HALF_WIDTH_M), th.area)
            rows.append({"id": f"BM-W-{i + 1:02d}", "kind": "water", "name": f"{name} reservoir",
                         "name_uk": None, "geometry": lake})
    out = pd.DataFrame(rows)
    return out[[not g.is_empty for g in out["geometry"]]].reset_index(drop=True)
