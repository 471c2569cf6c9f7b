"""The map of a snapshot, drawn in the view's metric CRS: layers, threat-band edges, scale bar and
north arrow.

:class:`MapProjection` projects the view once (:func:`cimic_geo.geo.metric_crs`: UTM, or azimuthal
equidistant for national extents) and measures on the ellipsoid what the furniture needs: map units
per geodesic km (scale bar) and grid convergence (north arrow). Points are one ``scatter`` per
category, lines one ``LineCollection`` per category.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from matplotlib import patheffects
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from cimic_geo.export.export_view import LoadedView
from cimic_geo.geo import GEOD, WGS84, metric_crs
from cimic_geo.i18n import _, fmt_number, get_language, pgettext, term
from cimic_geo.maps.cop_style import (
    CORRIDOR_COLORS,
    DAMAGE_COLORS,
    POINT_SHAPES,
    ROAD_STATUS_COLORS,
    SHELTER_STATUS_COLORS,
    STYLES,
)

# One palette with the COP (:mod:`cimic_geo.maps.cop_style`): red/orange for the front and occupied
# ground only, shelters blue squares, damage brown triangles.
SHELTER_COLOURS = SHELTER_STATUS_COLORS
DAMAGE_COLOURS = DAMAGE_COLORS
CORRIDOR_COLOURS = CORRIDOR_COLORS
ROAD_STYLE = {st: (ROAD_STATUS_COLORS[st], ls) for st, ls in (("open", "-"), ("damaged", "--"), ("impassable", ":"))}
FRONT_COLOUR = STYLES["front_line"]["base"]["color"]
OCCUPIED_COLOUR = STYLES["occupied_area"]["base"]["fillColor"]
#: matplotlib markers of the COP's point shapes
SHAPE_MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D"}

#: Above this many points of a layer in the view, markers shrink (national views).
DENSE_POINTS = 2000
#: Above this many corridors, they are not labelled on the map (the PDF lists them).
MAX_CORRIDOR_LABELS = 12


# ----------------------------------------------------------------------------------------------
# geometry helpers
# ----------------------------------------------------------------------------------------------


class MapProjection:
    """Forward transform lon/lat -> metric CRS of the view, plus scale and convergence helpers."""

    def __init__(self, bbox: Sequence[float]) -> None:
        self.bbox = tuple(float(v) for v in bbox)
        self.crs = metric_crs(self.bbox)
        self._fwd = pyproj.Transformer.from_crs(WGS84, self.crs, always_xy=True)
        self.lon_c = (self.bbox[0] + self.bbox[2]) / 2
        self.lat_c = (self.bbox[1] + self.bbox[3]) / 2

    def xy(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._fwd.transform(lon, lat)
        return np.asarray(x), np.asarray(y)

    def geoms(self, geoms: np.ndarray) -> np.ndarray:
        fwd = self._fwd
        return shapely.transform(geoms, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))

    def extent(self) -> tuple[float, float, float, float]:
        """Projected bounds of the (densified) bounding box."""
        box = shapely.segmentize(shapely.box(*self.bbox), 0.05)
        return tuple(shapely.bounds(self.geoms(np.array([box]))[0]))  # type: ignore[return-value]

    def map_units_per_km(self) -> float:
        """Map units per geodesic km eastward at the view centre (scale bar)."""
        lon1, lat1, _ = GEOD.fwd(self.lon_c, self.lat_c, 90.0, 10_000.0)
        x0, y0 = self.xy(self.lon_c, self.lat_c)
        x1, y1 = self.xy(lon1, lat1)
        return float(math.hypot(x1 - x0, y1 - y0)) / 10.0

    def north_angle_deg(self) -> float:
        """Angle of true north from the map's up direction at the centre (positive = clockwise)."""
        lon1, lat1, _ = GEOD.fwd(self.lon_c, self.lat_c, 0.0, 10_000.0)
        x0, y0 = self.xy(self.lon_c, self.lat_c)
        x1, y1 = self.xy(lon1, lat1)
        return math.degrees(math.atan2(float(x1 - x0), float(y1 - y0)))

    @property
    def name(self) -> str:
        epsg = self.crs.to_epsg()
        if epsg:
            return f"{self.crs.name} (EPSG:{epsg})"
        with warnings.catch_warnings():  # to_dict warns that PROJ strings lose information
            warnings.simplefilter("ignore", UserWarning)
            params = self.crs.to_dict()
        if params.get("proj") == "aeqd":
            return _("azimuthal equidistant, WGS84, centre {lat}°N {lon}°E").format(
                lat=fmt_number(float(params.get("lat_0", 0)), digits=2),
                lon=fmt_number(float(params.get("lon_0", 0)), digits=2))
        return self.crs.name


def nice_scale_km(width_km: float, fraction: float = 0.22) -> float:
    """A 1-2-5 × 10^k length close to ``fraction`` of the map width."""
    target = max(width_km * fraction, 1e-3)
    exp = math.floor(math.log10(target))
    best = 1.0
    for m in (1, 2, 5, 10):
        if m * 10**exp <= target:
            best = m * 10**exp
    return best


def _segments(geoms: np.ndarray) -> list[np.ndarray]:
    """Line coordinates of (multi)lines / polygon boundaries as a list of (n, 2) arrays."""
    if not len(geoms):
        return []
    parts = shapely.get_parts(geoms)
    types = shapely.get_type_id(parts)
    polys = np.isin(types, (3,))
    if polys.any():
        parts = np.concatenate([parts[~polys], shapely.get_parts(shapely.boundary(parts[polys]))])
    parts = parts[shapely.get_type_id(parts) == 1] if len(parts) else parts
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    if not len(coords):
        return []
    cuts = np.flatnonzero(np.diff(idx)) + 1
    return [c for c in np.split(coords, cuts) if len(c) >= 2]


def _points(geoms: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates of a representative point of each geometry."""
    if not len(geoms):
        return np.empty((0, 2))
    is_pt = shapely.get_type_id(geoms) == 0
    if is_pt.all():
        return shapely.get_coordinates(geoms)
    pts = geoms.copy()
    pts[~is_pt] = shapely.point_on_surface(geoms[~is_pt])  # only where needed: it is slow on points
    return shapely.get_coordinates(pts)


def place_names(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Names to print for places: the Ukrainian name (``name_uk``) first in a Ukrainian brief, else
    ``name``; the other one, then the id, where a row has none."""
    cols = ["name_uk", "name"] if get_language() == "uk" else ["name", "name_uk"]
    out = pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    for col in (*cols, "id"):
        if col in gdf:
            out = out.fillna(gdf[col].where(gdf[col].astype(str).str.strip() != ""))
    return out.fillna("").astype(str)


def _halo(width: float = 2.5) -> list:
    return [patheffects.withStroke(linewidth=width, foreground="white")]


# ----------------------------------------------------------------------------------------------
# drawing
# ----------------------------------------------------------------------------------------------


def band_edge_lines(front_m: np.ndarray, occupied_m: np.ndarray, bands_km: Sequence[float]) -> list[Any]:
    """Threat-band edges for display: lines at each distance from the front line (metric CRS),
    on the friendly side only (the occupied area cut away). Empty list without a front line."""
    fronts = front_m[~shapely.is_empty(front_m)] if len(front_m) else front_m
    if not len(fronts):
        return []
    front = shapely.union_all(fronts)
    occ = shapely.union_all(occupied_m) if len(occupied_m) else None
    out = []
    for d in bands_km:
        edge = shapely.boundary(shapely.buffer(front, float(d) * 1000.0, quad_segs=8))
        if occ is not None and not occ.is_empty:
            edge = shapely.difference(edge, occ)
        out.append(edge)
    return out


def draw_bands(ax: Any, loaded: LoadedView, proj: MapProjection, bands_km: Sequence[float]) -> list[tuple[Any, str]]:
    front = loaded.frames.get("front_line")
    if front is None or not len(front) or not bands_km:
        return []
    occ = loaded.frames.get("occupied_area")
    occ_m = proj.geoms(np.asarray(occ.geometry.values)) if occ is not None and len(occ) else np.empty(0, dtype=object)
    edges = band_edge_lines(proj.geoms(np.asarray(front.geometry.values)), occ_m, bands_km)
    n = len(edges)
    for i, edge in enumerate(edges):
        alpha = 0.85 - 0.5 * i / max(n - 1, 1)
        ax.add_collection(LineCollection(_segments(np.array([edge])), colors=FRONT_COLOUR, linewidths=0.8,
                                         linestyles=(0, (5, 3)), alpha=alpha, zorder=3))
    label = _("Threat band edges {distances} km").format(distances=", ".join(fmt_number(d) for d in bands_km))
    return [(Line2D([], [], color=FRONT_COLOUR, lw=0.8, ls=(0, (5, 3))), label)]


def draw_layers(ax: Any, loaded: LoadedView, proj: MapProjection) -> list[tuple[Any, str]]:
    """Draw the visible layers bottom to top; return legend entries (handle, label)."""
    legend: list[tuple[Any, str]] = []
    frames = {n: f for n, f in loaded.frames.items()}
    # APP-6 symbols for shelters and damage (as the COP's symbol switch) when the view asks for them
    symbols = bool((getattr(loaded.view, "extra", None) or {}).get("symbols"))
    from cimic_geo.export.snapshot_basemap import draw_basemap

    legend += draw_basemap(ax, loaded.basemap, proj)

    def projected(name: str) -> tuple[gpd.GeoDataFrame, np.ndarray]:
        gdf = frames[name]
        return gdf, proj.geoms(np.asarray(gdf.geometry.values)) if len(gdf) else np.empty(0, dtype=object)

    for name in loaded.frames:
        gdf, geoms = projected(name)
        if name == "occupied_area":
            if len(geoms):
                # translucent fill, then the hatch (a separate patch: the PDF backend does not draw a
                # hatch whose edge colour is translucent)
                series = gpd.GeoSeries(geoms)
                series.plot(ax=ax, facecolor=OCCUPIED_COLOUR, alpha=0.18, edgecolor="none", zorder=1)
                series.plot(ax=ax, facecolor="none", edgecolor="#e8888a", hatch="///", linewidth=0.3, zorder=1)
            legend.append((Patch(facecolor=OCCUPIED_COLOUR, alpha=0.25, hatch="///", edgecolor=OCCUPIED_COLOUR),
                           _("Occupied area")))
        elif name == "roads":
            if len(geoms):
                status = gdf["status"].fillna("open").to_numpy()
                for st, (colour, ls) in ROAD_STYLE.items():
                    mask = status == st
                    if mask.any():
                        lw = 0.35 if st == "open" else 0.9
                        ax.add_collection(LineCollection(_segments(geoms[mask]), colors=colour, linewidths=lw,
                                                         linestyles=ls, zorder=2))
                        legend.append((Line2D([], [], color=colour, lw=1.2, ls=ls), _("Road: {status}").format(status=term(st))))
            else:
                legend.append((Line2D([], [], color=ROAD_STYLE["open"][0], lw=1), _("Roads")))
        elif name == "front_line":
            if len(geoms):
                ax.add_collection(LineCollection(_segments(geoms), colors=FRONT_COLOUR, linewidths=2.4, zorder=11,
                                                 path_effects=_halo(4)))
            legend.append((Line2D([], [], color=FRONT_COLOUR, lw=2.4), _("Front line")))
        elif name == "infrastructure" and symbols:
            legend += _draw_app6(ax, gdf[gdf["damage"].fillna("none") != "none"], proj, "infrastructure")
        elif name == "shelters" and symbols:
            legend += _draw_app6(ax, gdf, proj, "shelters")
        elif name == "infrastructure":
            if len(geoms):
                xy = _points(geoms)
                dmg = gdf["damage"].fillna("none").to_numpy()
                # like the COP: damaged objects only (the GIS exports carry every row)
                for level, colour in DAMAGE_COLOURS.items():
                    if level == "none":
                        continue
                    mask = dmg == level
                    if mask.any():
                        marker = SHAPE_MARKERS[POINT_SHAPES["infrastructure"]]
                        s, lw = _marker_size(16.0, len(xy))
                        ax.scatter(xy[mask, 0], xy[mask, 1], s=s, marker=marker,
                                   c=colour, edgecolors="black", linewidths=lw, zorder=6)
                        legend.append((Line2D([], [], marker=marker, ls="", color=colour, markeredgecolor="black",
                                              markersize=6), _("Damage: {level}").format(level=term(level))))
            else:
                legend.append((Line2D([], [], marker=SHAPE_MARKERS[POINT_SHAPES["infrastructure"]], ls="",
                                      color=DAMAGE_COLOURS["major"]), _("Infrastructure")))
        elif name == "corridors":
            if len(geoms):
                status = gdf["status"].fillna("draft").to_numpy()
                for st, colour in CORRIDOR_COLOURS.items():
                    mask = status == st
                    if mask.any():
                        ls = "--" if st in ("draft", "proposed", "suspended") else "-"
                        ax.add_collection(LineCollection(_segments(geoms[mask]), colors=colour, linewidths=2.6,
                                                         linestyles=ls, zorder=10, path_effects=_halo(4.5)))
                        legend.append((Line2D([], [], color=colour, lw=2.6, ls=ls),
                                       _("Corridor: {status}").format(status=term(st))))
                labels = gdf["name"].fillna(gdf["id"]).astype(str)
                if len(labels) > MAX_CORRIDOR_LABELS:  # a national view: colours and the PDF table say it
                    labels = pd.Series([""] * len(labels))
                for geom, label in zip(geoms, labels, strict=True):
                    if not label or geom is None or geom.is_empty:
                        continue
                    mid = shapely.line_interpolate_point(geom, 0.5, normalized=True)
                    ax.annotate(label, (mid.x, mid.y), fontsize=6.5, color="#08306b", zorder=13,
                                xytext=(4, 4), textcoords="offset points", path_effects=_halo(2.2),
                                annotation_clip=True, clip_on=True)  # cut at the map frame
            else:
                legend.append((Line2D([], [], color=CORRIDOR_COLOURS["active"], lw=2.6), _("Corridors")))
        elif name == "settlements":
            if len(geoms):
                xy = _points(geoms)
                pop = pd.to_numeric(gdf["population"], errors="coerce").fillna(0).to_numpy()
                size = np.clip(np.sqrt(pop) / 12.0, 1.5, 70.0)
                ax.scatter(xy[:, 0], xy[:, 1], s=size, c="#4d4d4d", edgecolors="white", linewidths=0.3, zorder=8)
                # the basemap's place names label the settlements when it has them
                has_names = len(loaded.basemap.get("labels", ())) > 0
                top = [] if has_names else np.argsort(-pop, kind="stable")[: _label_count(len(pop))]
                names = place_names(gdf).to_numpy()
                for i in top:
                    ax.annotate(names[i], (xy[i, 0], xy[i, 1]), fontsize=7, zorder=12, xytext=(3, 3),
                                textcoords="offset points", path_effects=_halo(2.5), annotation_clip=True,
                                clip_on=True)  # a label near the edge is cut at the map frame
            legend.append((Line2D([], [], marker="o", ls="", color="#4d4d4d", markersize=5),
                           _("Settlement (size = population)")))
        elif name == "shelters":
            if len(geoms):
                xy = _points(geoms)
                status = gdf["status"].fillna("open").to_numpy()
                for st, colour in SHELTER_COLOURS.items():
                    mask = status == st
                    if mask.any():
                        s, lw = _marker_size(13.0, len(xy))
                        ax.scatter(xy[mask, 0], xy[mask, 1], s=s, marker=SHAPE_MARKERS[POINT_SHAPES["shelters"]],
                                   c=colour, edgecolors="black", linewidths=lw, zorder=9)
                        legend.append((Line2D([], [], marker="s", ls="", color=colour, markeredgecolor="black",
                                              markersize=6), _("Shelter: {status}").format(status=term(st))))
            else:
                legend.append((Line2D([], [], marker="s", ls="", color=SHELTER_COLOURS["open"]), _("Shelters")))
    return legend


def _draw_app6(ax: Any, gdf: gpd.GeoDataFrame, proj: MapProjection, layer: str) -> list[tuple[Any, str]]:
    """APP-6 symbols (:mod:`cimic_geo.export.snapshot_symbols`) of a shelters or infrastructure frame."""
    from cimic_geo.export.snapshot_symbols import draw_symbols
    from cimic_geo.maps.symbols import infrastructure_sidc, shelter_sidc

    if not len(gdf):
        return []
    xy = _points(proj.geoms(np.asarray(gdf.geometry.values)))
    if layer == "shelters":
        codes = [shelter_sidc(k, s) for k, s in zip(gdf["kind"], gdf["status"], strict=True)]
    else:
        codes = [infrastructure_sidc(k, d) for k, d in zip(gdf["sector"], gdf["damage"], strict=True)]
    size = 14.0 if len(xy) <= DENSE_POINTS else 8.0
    draw_symbols(ax, xy[:, 0], xy[:, 1], codes, size_pt=size, zorder=9 if layer == "shelters" else 6)

    label = _("Shelters (APP-6 symbols)") if layer == "shelters" else _("Damaged infrastructure (APP-6 symbols)")
    return [(Line2D([], [], marker="s", ls="", color="#80e0ff", markeredgecolor="black", markersize=7), label)]


def fit_extent(extent: Sequence[float], aspect: float, margin: float = 0.02) -> tuple[float, float, float, float]:
    """Grow ``extent`` (x0, y0, x1, y1) around its centre to the axes' width/height ratio."""
    x0, y0, x1, y1 = extent
    w, h = (x1 - x0) * (1 + margin), (y1 - y0) * (1 + margin)
    w, h = max(w, 1.0), max(h, 1.0)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _marker_size(base: float, n: int) -> tuple[float, float]:
    """Marker area and edge width for ``n`` points: full size up to :data:`DENSE_POINTS`, then
    shrinking with 1/n (down to a tenth) so that a national view stays readable; no edge when small."""
    factor = min(1.0, max(0.1, DENSE_POINTS / max(n, 1)))
    s = base * factor
    return s, (0.3 if factor > 0.4 else 0.0)


def _label_count(n: int) -> int:
    return min(n, 15)


def scale_bar(ax: Any, proj: MapProjection) -> float:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    per_km = proj.map_units_per_km()
    width_km = (x1 - x0) / per_km
    length_km = nice_scale_km(width_km)
    length = length_km * per_km
    bx, by = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    h = 0.010 * (y1 - y0)
    ax.add_patch(Rectangle((bx - 0.01 * (x1 - x0), by - 0.018 * (y1 - y0)), length + 0.04 * (x1 - x0),
                           0.075 * (y1 - y0), facecolor="white", alpha=0.8, edgecolor="none", zorder=20))
    n = 4
    for i in range(n):
        ax.add_patch(Rectangle((bx + i * length / n, by), length / n, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=21))
    for i in (0, n // 2, n):
        ax.text(bx + i * length / n, by + 1.6 * h, fmt_number(length_km * i / n), ha="center", va="bottom", fontsize=7,
                zorder=22)
    ax.text(bx + length + 0.006 * (x1 - x0), by, _("km"), ha="left", va="bottom", fontsize=7, zorder=22)
    return length_km


def north_arrow(ax: Any, proj: MapProjection) -> float:
    angle = proj.north_angle_deg()
    cx, cy, r = 0.955, 0.90, 0.045
    dx, dy = r * math.sin(math.radians(angle)), r * math.cos(math.radians(angle))
    ax.annotate("", xy=(cx + dx, cy + dy), xytext=(cx - dx, cy - dy), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=0.9", "color": "black", "lw": 2},
                zorder=22)
    ax.text(cx + 1.45 * dx, cy + 1.45 * dy, pgettext("north arrow", "N"), transform=ax.transAxes, ha="center", va="center", fontsize=11,
            fontweight="bold", zorder=22, path_effects=_halo(3))
    return angle
