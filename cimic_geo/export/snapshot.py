"""Map snapshots for the daily brief: PNG (A4 landscape, 200 dpi) and PDF (map page + tables).

Rendered with matplotlib (Agg, no browser, no tiles) from the store's rows, in the metric CRS
of the view (:func:`cimic_geo.geo.metric_crs`) so that the map is not distorted. Each page has
the handling marking at top and bottom, a title with the date-time group of the view, a legend
of the visible layers, a geodesic scale bar, a true-north arrow (grid convergence applied), a
source/provenance line and a KPI table.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from cimic_geo.errors import ExportError
from cimic_geo.export.kpi import KpiTable, kpi_table
from cimic_geo.export.naming import atomic_path
from cimic_geo.export.view import LoadedView
from cimic_geo.geo import GEOD, WGS84, geodesic_length_km, metric_crs, to_mgrs
from cimic_geo.timefmt import dtg

A4_LANDSCAPE_IN = (11.69, 8.27)
PNG_DPI = 200
FONT = "DejaVu Sans"  # has Cyrillic glyphs

SHELTER_COLOURS = {"open": "#1a9641", "full": "#f28e2b", "closed": "#7f7f7f", "damaged": "#b2182b"}
DAMAGE_COLOURS = {"none": "#bdbdbd", "minor": "#fee08b", "major": "#f46d43", "destroyed": "#1a1a1a"}
CORRIDOR_COLOURS = {
    "active": "#1a9641", "agreed": "#2c7bb6", "proposed": "#e6b000", "draft": "#8c8c8c",
    "suspended": "#f28e2b", "closed": "#404040",
}
ROAD_STYLE = {"open": ("#9e9e9e", "-"), "damaged": ("#e08214", "--"), "impassable": ("#b2182b", ":")}
FRONT_COLOUR = "#d7191c"
OCCUPIED_COLOUR = "#d7191c"

Progress = Callable[[float, str], None]

#: Above this many points of a layer in the view, markers shrink (national views).
DENSE_POINTS = 2000
#: Above this many corridors, they are not labelled on the map (the PDF lists them).
MAX_CORRIDOR_LABELS = 12


def _noop(_f: float, _msg: str) -> None:
    return None


def _fonts() -> Any:
    """Matplotlib settings for rendering: DejaVu Sans (Cyrillic glyphs) whatever the user's rc."""
    return matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": [FONT], "pdf.fonttype": 42})


def marking_colours(marking: str) -> tuple[str, str]:
    """(background, text) colours of the marking banner."""
    m = marking.upper()
    if m.startswith("UNCLASSIFIED") or m.startswith("NATO UNCLASSIFIED"):
        return "#007a33", "white"
    if any(w in m for w in ("SECRET", "CONFIDENTIAL", "RESTRICTED")):
        return "#c8102e", "white"
    return "#ffd200", "black"


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
            return f"azimuthal equidistant, WGS84, centre {params.get('lat_0', 0):.2f}°N {params.get('lon_0', 0):.2f}°E"
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


def _draw_bands(ax: Any, loaded: LoadedView, proj: MapProjection, bands_km: Sequence[float]) -> list[tuple[Any, str]]:
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
    label = "Threat band edges " + ", ".join(f"{d:g}" for d in bands_km) + " km"
    return [(Line2D([], [], color=FRONT_COLOUR, lw=0.8, ls=(0, (5, 3))), label)]


def _draw_layers(ax: Any, loaded: LoadedView, proj: MapProjection) -> list[tuple[Any, str]]:
    """Draw the visible layers bottom to top; return legend entries (handle, label)."""
    legend: list[tuple[Any, str]] = []
    frames = {n: f for n, f in loaded.frames.items()}

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
                           "Occupied area"))
        elif name == "roads":
            if len(geoms):
                status = gdf["status"].fillna("open").to_numpy()
                for st, (colour, ls) in ROAD_STYLE.items():
                    mask = status == st
                    if mask.any():
                        lw = 0.35 if st == "open" else 0.9
                        ax.add_collection(LineCollection(_segments(geoms[mask]), colors=colour, linewidths=lw,
                                                         linestyles=ls, zorder=2))
                        legend.append((Line2D([], [], color=colour, lw=1.2, ls=ls), f"Road {st}"))
            else:
                legend.append((Line2D([], [], color=ROAD_STYLE["open"][0], lw=1), "Roads"))
        elif name == "front_line":
            if len(geoms):
                ax.add_collection(LineCollection(_segments(geoms), colors=FRONT_COLOUR, linewidths=2.4, zorder=11,
                                                 path_effects=_halo(4)))
            legend.append((Line2D([], [], color=FRONT_COLOUR, lw=2.4), "Front line"))
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
                        marker = "X" if level == "destroyed" else "s"
                        s, lw = _marker_size(16.0, len(xy))
                        ax.scatter(xy[mask, 0], xy[mask, 1], s=s, marker=marker,
                                   c=colour, edgecolors="black", linewidths=lw, zorder=6)
                        legend.append((Line2D([], [], marker=marker, ls="", color=colour, markeredgecolor="black",
                                              markersize=6), f"Damage: {level}"))
            else:
                legend.append((Line2D([], [], marker="s", ls="", color=DAMAGE_COLOURS["major"]), "Infrastructure"))
        elif name == "corridors":
            if len(geoms):
                status = gdf["status"].fillna("draft").to_numpy()
                for st, colour in CORRIDOR_COLOURS.items():
                    mask = status == st
                    if mask.any():
                        ls = "--" if st in ("draft", "proposed", "suspended") else "-"
                        ax.add_collection(LineCollection(_segments(geoms[mask]), colors=colour, linewidths=2.6,
                                                         linestyles=ls, zorder=10, path_effects=_halo(4.5)))
                        legend.append((Line2D([], [], color=colour, lw=2.6, ls=ls), f"Corridor {st}"))
                labels = gdf["name"].fillna(gdf["id"]).astype(str)
                if len(labels) > MAX_CORRIDOR_LABELS:  # a national view: colours and the PDF table say it
                    labels = pd.Series([""] * len(labels))
                for geom, label in zip(geoms, labels, strict=True):
                    if not label or geom is None or geom.is_empty:
                        continue
                    mid = shapely.line_interpolate_point(geom, 0.5, normalized=True)
                    ax.annotate(label, (mid.x, mid.y), fontsize=6.5, color="#08306b", zorder=13,
                                xytext=(4, 4), textcoords="offset points", path_effects=_halo(2.2),
                                annotation_clip=True)
            else:
                legend.append((Line2D([], [], color=CORRIDOR_COLOURS["active"], lw=2.6), "Corridors"))
        elif name == "settlements":
            if len(geoms):
                xy = _points(geoms)
                pop = pd.to_numeric(gdf["population"], errors="coerce").fillna(0).to_numpy()
                size = np.clip(np.sqrt(pop) / 12.0, 1.5, 70.0)
                ax.scatter(xy[:, 0], xy[:, 1], s=size, c="#4d4d4d", edgecolors="white", linewidths=0.3, zorder=8)
                top = np.argsort(-pop, kind="stable")[: _label_count(len(pop))]
                names = gdf["name"].fillna(gdf["id"]).astype(str).to_numpy()
                for i in top:
                    ax.annotate(names[i], (xy[i, 0], xy[i, 1]), fontsize=7, zorder=12, xytext=(3, 3),
                                textcoords="offset points", path_effects=_halo(2.5), annotation_clip=True)
            legend.append((Line2D([], [], marker="o", ls="", color="#4d4d4d", markersize=5),
                           "Settlement (size = population)"))
        elif name == "shelters":
            if len(geoms):
                xy = _points(geoms)
                status = gdf["status"].fillna("open").to_numpy()
                for st, colour in SHELTER_COLOURS.items():
                    mask = status == st
                    if mask.any():
                        s, lw = _marker_size(13.0, len(xy))
                        ax.scatter(xy[mask, 0], xy[mask, 1], s=s, marker="^", c=colour, edgecolors="black",
                                   linewidths=lw, zorder=9)
                        legend.append((Line2D([], [], marker="^", ls="", color=colour, markeredgecolor="black",
                                              markersize=6), f"Shelter {st}"))
            else:
                legend.append((Line2D([], [], marker="^", ls="", color=SHELTER_COLOURS["open"]), "Shelters"))
    return legend


def _fit_extent(extent: Sequence[float], aspect: float, margin: float = 0.02) -> tuple[float, float, float, float]:
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


def _scale_bar(ax: Any, proj: MapProjection) -> float:
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
        ax.text(bx + i * length / n, by + 1.6 * h, f"{length_km * i / n:g}", ha="center", va="bottom", fontsize=7,
                zorder=22)
    ax.text(bx + length + 0.006 * (x1 - x0), by, "km", ha="left", va="bottom", fontsize=7, zorder=22)
    return length_km


def _north_arrow(ax: Any, proj: MapProjection) -> float:
    angle = proj.north_angle_deg()
    cx, cy, r = 0.955, 0.90, 0.045
    dx, dy = r * math.sin(math.radians(angle)), r * math.cos(math.radians(angle))
    ax.annotate("", xy=(cx + dx, cy + dy), xytext=(cx - dx, cy - dy), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=0.9", "color": "black", "lw": 2},
                zorder=22)
    ax.text(cx + 1.45 * dx, cy + 1.45 * dy, "N", transform=ax.transAxes, ha="center", va="center", fontsize=11,
            fontweight="bold", zorder=22, path_effects=_halo(3))
    return angle


def _banner(fig: Figure, marking: str, *, top: bool) -> None:
    bg, fg = marking_colours(marking)
    h = 0.30 / A4_LANDSCAPE_IN[1]
    ax = fig.add_axes((0, 1 - h if top else 0, 1, h))
    ax.set_axis_off()
    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor=bg, edgecolor="black", linewidth=1))
    text = marking.upper()
    ax.text(0.5, 0.5, f"{text}   ·   {text}   ·   {text}", ha="center", va="center", fontsize=11, fontweight="bold",
            color=fg, transform=ax.transAxes)


def _provenance_line(loaded: LoadedView, proj: MapProjection, produced: pd.Timestamp) -> str:
    sources = loaded.sources()
    src = ", ".join(sources[:5]) + (f" +{len(sources) - 5} more" if len(sources) > 5 else "") if sources else "n/a"
    rel = []
    for f in loaded.frames.values():
        if "reliability" in f and len(f):
            rel += f["reliability"].dropna().astype(str).tolist()
    rel_txt = f"reliability {min(rel)}–{max(rel)}" if rel else "reliability n/a"
    rng = loaded.reported_range()
    rep = f"reported {dtg(rng[0])}–{dtg(rng[1])}" if rng else "reported n/a"
    scenario = loaded.meta.get("scenario")
    return (f"Source: {src} · {rel_txt} · {rep} · "
            + (f"scenario {scenario} · " if scenario else "")
            + f"produced {dtg(produced)} by cimic_geo · projection {proj.name} · {loaded.marking}")


def _kpi_axes(fig: Figure, rect: tuple[float, float, float, float], table: KpiTable, *, fontsize: float = 7.5) -> None:
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.text(0, 1, "Key figures (view area)", fontsize=9, fontweight="bold", va="bottom", transform=ax.transAxes)
    rows = table.rows()
    if not rows:
        return
    # plain text rows (much faster to draw than matplotlib's Table): section titles bold on grey
    step = min(1.0 / max(len(rows), 1), 0.05)
    section_titles = {t for t, _ in table.sections}
    y = 1.0 - 0.01
    for label, value in rows:
        title_row = label in section_titles and value == ""
        if title_row:
            ax.add_patch(Rectangle((0, y - step), 1, step, transform=ax.transAxes, facecolor="#e8e8e8",
                                   edgecolor="none"))
        ax.text(0.02, y - step / 2, label, fontsize=fontsize, va="center", transform=ax.transAxes,
                fontweight="bold" if title_row else "normal")
        if value:
            ax.text(0.98, y - step / 2, value, fontsize=fontsize, va="center", ha="right", transform=ax.transAxes)
        ax.plot([0, 1], [y - step, y - step], transform=ax.transAxes, color="#9e9e9e", linewidth=0.3)
        y -= step
    if table.notes:
        ax.text(0, y - 0.02, "; ".join(table.notes)[:160], fontsize=6, va="top", transform=ax.transAxes, wrap=True)


def render_map_figure(loaded: LoadedView, *, kpis: KpiTable | None, produced: pd.Timestamp | None = None,
                      progress: Progress = _noop, bands_km: Sequence[float] = (5.0, 20.0, 40.0)) -> Figure:
    """The A4-landscape map page as a matplotlib :class:`Figure` (not yet saved)."""
    produced = produced if produced is not None else pd.Timestamp.now(tz="UTC")
    fig = Figure(figsize=A4_LANDSCAPE_IN)
    fig.patch.set_facecolor("white")
    W, H = A4_LANDSCAPE_IN
    proj = MapProjection(loaded.bbox)
    _banner(fig, loaded.marking, top=True)
    _banner(fig, loaded.marking, top=False)
    # title block
    when = dtg(loaded.as_of) if loaded.as_of is not None else dtg(produced)
    fig.text(0.3 / W, 1 - 0.42 / H, loaded.view.title, fontsize=16, fontweight="bold", va="top")
    fig.text(1 - 0.3 / W, 1 - 0.42 / H, when, fontsize=16, fontweight="bold", va="top", ha="right")
    x0, y0, x1, y1 = loaded.bbox
    centre = to_mgrs((y0 + y1) / 2, (x0 + x1) / 2, precision=3)
    sub = (f"Situation as of {when} (UTC) · area {y0:.2f}–{y1:.2f}°N, {x0:.2f}–{x1:.2f}°E · centre MGRS {centre} · "
           f"layers: {', '.join(n.replace('_', ' ') for n in loaded.view.layers)}")
    fig.text(0.3 / W, 1 - 0.80 / H, sub, fontsize=8, va="top", color="#333333")
    progress(0.2, "drawing layers")
    # map
    map_rect = (0.3 / W, 0.70 / H, 7.9 / W, (H - 0.70 - 1.05) / H)
    ax = fig.add_axes(map_rect)
    legend = _draw_layers(ax, loaded, proj)
    band_legend = _draw_bands(ax, loaded, proj, bands_km)
    if band_legend:  # after the front line entry
        at = next((i + 1 for i, (_, lab) in enumerate(legend) if lab == "Front line"), len(legend))
        legend[at:at] = band_legend
    ex0, ey0, ex1, ey1 = _fit_extent(proj.extent(), map_rect[2] * W / (map_rect[3] * H))
    ax.set_xlim(ex0, ex1)
    ax.set_ylim(ey0, ey1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_facecolor("#f7f7f2")
    for spine in ax.spines.values():
        spine.set_linewidth(1.0)
    ax.apply_aspect()  # limits after the aspect adjustment, for the scale bar
    progress(0.6, "scale bar, north arrow, legend")
    _scale_bar(ax, proj)
    _north_arrow(ax, proj)
    # right panel: legend and KPIs
    lx = (0.3 + 7.9 + 0.25) / W
    lw = 1 - lx - 0.25 / W
    lax = fig.add_axes((lx, 0.5, lw, (H - 1.05) / H - 0.5))
    lax.set_axis_off()
    if legend:
        lax.legend([h for h, _ in legend], [lab for _, lab in legend], loc="upper left", fontsize=7.5,
                   title="Legend", title_fontproperties={"weight": "bold", "size": 9}, frameon=False,
                   borderaxespad=0, handlelength=2.2)
    if kpis is not None:
        _kpi_axes(fig, (lx, 0.70 / H + 0.02, lw, 0.5 - 0.70 / H - 0.06), kpis)
    fig.text(0.3 / W, 0.42 / H, _provenance_line(loaded, proj, produced), fontsize=6.5, va="center", color="#333333")
    return fig


def _s(v: Any) -> str:
    """Text of a cell; empty for missing values (None, NaN, NA)."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    return str(v)


def _table_axes(fig: Figure, rect: tuple[float, float, float, float], title: str, header: list[str],
                rows: list[list[str]], *, fontsize: float = 7.5, col_widths: list[float] | None = None,
                max_rows: int = 28) -> None:
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.text(0, 1.0, title, fontsize=10, fontweight="bold", va="bottom", transform=ax.transAxes)
    if not rows:
        ax.text(0, 0.95, "none in view", fontsize=8, va="top", transform=ax.transAxes)
        return
    shown = rows[:max_rows]
    if len(rows) > max_rows:
        shown = [*shown, [f"... and {len(rows) - max_rows} more", *[""] * (len(header) - 1)]]
    tab = ax.table(cellText=shown, colLabels=header, loc="upper left", cellLoc="left", colWidths=col_widths,
                   edges="horizontal")
    tab.auto_set_font_size(False)
    tab.set_fontsize(fontsize)
    for (r, _c), cell in tab.get_celld().items():
        cell.set_height(min(1.0 / (len(shown) + 1), 0.07))
        cell.set_linewidth(0.3)
        if r == 0:
            cell.get_text().set_fontweight("bold")
            cell.set_facecolor("#e8e8e8")


def render_tables_figure(loaded: LoadedView, *, kpis: KpiTable | None, produced: pd.Timestamp | None = None) -> Figure:
    """The PDF's second page: KPI table, shelters by status, damage by sector, corridor list."""
    produced = produced if produced is not None else pd.Timestamp.now(tz="UTC")
    fig = Figure(figsize=A4_LANDSCAPE_IN)
    W, H = A4_LANDSCAPE_IN
    _banner(fig, loaded.marking, top=True)
    _banner(fig, loaded.marking, top=False)
    when = dtg(loaded.as_of) if loaded.as_of is not None else dtg(produced)
    fig.text(0.3 / W, 1 - 0.42 / H, f"{loaded.view.title} — tables", fontsize=15, fontweight="bold", va="top")
    fig.text(1 - 0.3 / W, 1 - 0.42 / H, when, fontsize=15, fontweight="bold", va="top", ha="right")
    top = 1 - 1.3 / H
    col_w = (W - 0.6 - 0.5) / 3 / W
    if kpis is not None:
        _kpi_axes(fig, (0.3 / W, 0.45, col_w, top - 0.45), kpis, fontsize=8)
    # shelters by status and kind
    sh = loaded.frames.get("shelters")
    srows: list[list[str]] = []
    if sh is not None and len(sh):
        cap = pd.to_numeric(sh["capacity"], errors="coerce").fillna(0)
        occ = pd.to_numeric(sh["occupancy"], errors="coerce").fillna(0)
        g = pd.DataFrame({"kind": sh["kind"], "status": sh["status"], "cap": cap, "occ": occ}).groupby(
            ["kind", "status"]).agg(n=("cap", "size"), cap=("cap", "sum"), occ=("occ", "sum"))
        srows = [[str(k).replace("_", " "), str(s), str(int(r.n)), f"{int(r.cap):,}".replace(",", " "),
                  f"{int(r.occ):,}".replace(",", " ")] for (k, s), r in g.iterrows()]
    x2 = 0.3 / W + col_w + 0.25 / W
    if "shelters" in loaded.frames:
        _table_axes(fig, (x2, 0.45, col_w, top - 0.45), "Shelters by kind and status",
                    ["kind", "status", "n", "capacity", "occupancy"], srows,
                    col_widths=[0.34, 0.18, 0.12, 0.18, 0.18])
    inf = loaded.frames.get("infrastructure")
    irows: list[list[str]] = []
    if inf is not None and len(inf):
        ct = pd.crosstab(inf["sector"], inf["damage"])
        for sector, r in ct.iterrows():
            irows.append([str(sector), *[str(int(r.get(d, 0))) for d in ("none", "minor", "major", "destroyed")]])
    x3 = x2 + col_w + 0.25 / W
    if "infrastructure" in loaded.frames:
        _table_axes(fig, (x3, 0.45, col_w, top - 0.45), "Infrastructure damage by sector",
                    ["sector", "none", "minor", "major", "destroyed"], irows,
                    col_widths=[0.28, 0.17, 0.17, 0.17, 0.21])
    co = loaded.frames.get("corridors")
    crows: list[list[str]] = []
    if co is not None and len(co):
        for row, geom in zip(co.drop(columns=co.geometry.name).to_dict("records"), co.geometry.values, strict=True):
            crows.append([
                (_s(row.get("name")) or str(row["id"]))[:40], _s(row.get("status")),
                _s(row.get("origin"))[:24], _s(row.get("destination"))[:24],
                f"{geodesic_length_km(geom):.1f}",
                f"{dtg(row.get('window_start')) or '—'} – {dtg(row.get('window_end')) or '—'}",
                _s(row.get("reliability")),
            ])
    if "corridors" in loaded.frames:
        _table_axes(fig, (0.3 / W, 0.75 / H, 1 - 0.6 / W, 0.45 - 0.75 / H - 0.05), "Corridors",
                    ["name", "status", "origin", "destination", "km", "window (DTG)", "rel."], crows,
                    col_widths=[0.25, 0.08, 0.15, 0.15, 0.06, 0.25, 0.06], max_rows=9)
    counts = ", ".join(f"{n.replace('_', ' ')} {c}" for n, c in loaded.counts().items())
    fig.text(0.3 / W, 0.42 / H, f"Features in view: {counts} · produced {dtg(produced)} · {loaded.marking}",
             fontsize=6.5, va="center", color="#333333")
    return fig


# ----------------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------------


def write_png(loaded: LoadedView, out: str | os.PathLike, *, store: Any = None, kpis: KpiTable | None = None,
              dpi: int = PNG_DPI, progress: Progress = _noop, bands_km: Sequence[float] = (5, 20, 40)) -> Path:
    """Render the map page to a PNG (A4 landscape; 200 dpi = 2338 × 1654 px)."""
    if kpis is None and store is not None:
        progress(0.05, "computing key figures")
        kpis = kpi_table(store, loaded, bands_km=bands_km)
    with _fonts():
        fig = render_map_figure(loaded, kpis=kpis, progress=progress, bands_km=bands_km)
        progress(0.8, "writing PNG")
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png", facecolor="white", metadata={"Title": loaded.view.title,
                                                                               "Software": "cimic_geo"})
    progress(1.0, "done")
    return Path(out)


def write_pdf(loaded: LoadedView, out: str | os.PathLike, *, store: Any = None, kpis: KpiTable | None = None,
              progress: Progress = _noop, bands_km: Sequence[float] = (5, 20, 40)) -> Path:
    """Render a two-page PDF: the map page and a page of tables (vector, A4 landscape)."""
    if kpis is None and store is not None:
        progress(0.05, "computing key figures")
        kpis = kpi_table(store, loaded, bands_km=bands_km)
    produced = pd.Timestamp.now(tz="UTC")
    with _fonts():
        fig1 = render_map_figure(loaded, kpis=kpis, produced=produced, progress=progress, bands_km=bands_km)
        progress(0.7, "tables page")
        fig2 = render_tables_figure(loaded, kpis=kpis, produced=produced)
    progress(0.85, "writing PDF")
    with _fonts(), atomic_path(out) as tmp:
        with PdfPages(tmp, metadata={"Title": loaded.view.title, "Subject": loaded.marking,
                                     "Creator": "cimic_geo"}) as pdf:
            pdf.savefig(fig1)
            pdf.savefig(fig2)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise ExportError("the PDF writer produced no output")
    progress(1.0, "done")
    return Path(out)
