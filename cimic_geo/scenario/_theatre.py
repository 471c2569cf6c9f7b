"""Geography of the theatre: area, rivers and the 90-day front-line / occupied-area history.

All work is in metres in a projected CRS for the area (:func:`cimic_geo.geo.metric_crs`); the
caller converts results to lon/lat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from scipy.interpolate import make_interp_spline
from scipy.spatial import cKDTree

from cimic_geo.geo import metric_crs
from cimic_geo.scenario._config import HISTORY_DAYS, ScaleConfig


@dataclass
class Theatre:
    """The fixed frame of the scenario in metric coordinates."""

    to_metric: pyproj.Transformer
    to_lonlat: pyproj.Transformer
    area: shapely.Polygon  # metric
    rivers: list[tuple[str, shapely.LineString]]
    fronts: np.ndarray  # (days,) front lines (metric), boundary of occupied not on the area edge
    occupied: np.ndarray  # (days,) occupied (Multi)Polygons (metric)
    front_tree: cKDTree  # points every 250 m along the last front line (distance queries)
    front_tree_coarse: cKDTree  # points every 2 km (far queries)

    def front_distance_km(self, xy: np.ndarray) -> np.ndarray:
        """Distance (km) from metric points (n, 2) to the current (last) front line.

        Within 30 km of the line the error is below 0.15 km, beyond it below 1 km.
        """
        if len(xy) == 0:
            return np.zeros(0)
        d, _ = self.front_tree.query(xy, distance_upper_bound=30_000.0)
        far = ~np.isfinite(d)
        if far.any():
            d[far] = self.front_tree_coarse.query(xy[far])[0]
        return d / 1000.0

    def occupied_now(self, xy: np.ndarray) -> np.ndarray:
        """True for metric points (n, 2) inside the current occupied area."""
        if len(xy) == 0:
            return np.zeros(0, dtype=bool)
        return shapely.contains_xy(self.occupied[-1], xy[:, 0], xy[:, 1])


def smooth_curve(points: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """A smooth spline through control points, resampled every ``step_m`` metres.

    Returns (coords (n, 2), unit right-hand normals (n, 2)).
    """
    pts = np.asarray(points, dtype=float)
    chord = np.r_[0.0, np.cumsum(np.hypot(*np.diff(pts, axis=0).T))]
    spline = make_interp_spline(chord, pts, k=min(3, len(pts) - 1))
    dense_u = np.linspace(0.0, chord[-1], max(50, int(chord[-1] / step_m) * 8))
    dense = spline(dense_u)
    arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(dense, axis=0).T))]
    s = np.linspace(0.0, arc[-1], max(3, round(arc[-1] / step_m) + 1))
    u = np.interp(s, arc, dense_u)
    xy = spline(u)
    tangent = spline.derivative()(u)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])  # right of the direction of travel
    return xy, normal


def _fourier_wiggle(rng: np.random.Generator, s_km: np.ndarray, waves: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Sum of sines sin(2 pi s / wavelength + phase) * amplitude (km in, km out)."""
    out = np.zeros_like(s_km)
    for wavelength, amplitude in waves:
        out += amplitude * rng.uniform(0.6, 1.2) * np.sin(2 * np.pi * s_km / wavelength + rng.uniform(0, 2 * np.pi))
    return out


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def build_theatre(cfg: ScaleConfig, rng: np.random.Generator) -> Theatre:
    """Area, rivers and front history for a scale (geography fixed, details from ``rng``)."""
    area_ll = np.array(cfg.area)
    bounds = (area_ll[:, 0].min(), area_ll[:, 1].min(), area_ll[:, 0].max(), area_ll[:, 1].max())
    crs = metric_crs(bounds)
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def proj(coords: np.ndarray) -> np.ndarray:
        x, y = to_metric.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    # The area outline: densify in lon/lat first so straight edges (parallels) stay geographic.
    area_ll_geom = shapely.segmentize(shapely.Polygon(area_ll), 0.05)
    area = shapely.make_valid(shapely.Polygon(proj(shapely.get_coordinates(area_ll_geom))))
    if not isinstance(area, shapely.Polygon):
        area = max(shapely.get_parts(area), key=lambda g: g.area)

    rivers = []
    for name, ctrl in cfg.rivers:
        xy, normal = smooth_curve(proj(np.array(ctrl)), 300.0)
        s_km = np.arange(len(xy)) * 0.3
        meander = _fourier_wiggle(rng, s_km, ((6.0, 0.9), (15.0, 1.6), (40.0, 3.0)))
        rivers.append((name, shapely.LineString(xy + normal * meander[:, None] * 1000.0)))

    fronts, occupied = _front_history(cfg, rng, proj, area)
    dense = shapely.get_coordinates(shapely.segmentize(fronts[-1], 250.0))
    coarse = shapely.get_coordinates(shapely.segmentize(fronts[-1], 2_000.0))
    return Theatre(to_metric, to_lonlat, area, rivers, fronts, occupied, cKDTree(dense), cKDTree(coarse))


def _front_history(cfg: ScaleConfig, rng: np.random.Generator, proj, area: shapely.Polygon):
    """Daily front lines and occupied areas (metric): random walk + offensives, smooth in space."""
    step = cfg.front_step_km * 1000.0
    base, normal = smooth_curve(proj(np.array(cfg.front)), step)
    n = len(base)
    s_km = np.arange(n) * cfg.front_step_km
    length_km = s_km[-1]
    days = HISTORY_DAYS

    static = _fourier_wiggle(rng, s_km, ((5.0, 0.5), (13.0, 1.2), (35.0, 3.0)))
    # Daily random walk of smooth bumps (width ~25 km) with a slight drift towards the west.
    centres = np.arange(-12.5, length_km + 25.0, 12.5)
    bumps = np.exp(-(((s_km[None, :] - centres[:, None]) / 12.0) ** 2))  # (k, n)
    steps = rng.normal(0.04, 0.22, size=(days, len(centres)))
    steps[0] = 0.0
    walk = np.cumsum(steps, axis=0) @ bumps  # (days, n) km
    # Offensives (+, occupier gains) and counteroffensives (-): local pushes over days to weeks.
    d = np.arange(days)[:, None]
    for k in range(cfg.offensives):
        centre = rng.uniform(0.1, 0.9) * length_km
        width = rng.uniform(8.0, 25.0)
        start = rng.uniform(0, days - 20)
        duration = rng.uniform(6, 25)
        sign = 1.0 if k % 3 != 2 else -1.0  # every third is a counteroffensive
        amount = sign * rng.uniform(4.0, 14.0)
        walk += amount * _smoothstep((d - start) / duration) * np.exp(-(((s_km[None, :] - centre) / width) ** 2))
    # Keep the ends (outside the area) fixed so the polygon closes cleanly.
    taper = _smoothstep(np.minimum(s_km, length_km - s_km) / 15.0)
    offset_km = (static[None, :] + walk) * taper[None, :]

    lines = base[None, :, :] + normal[None, :, :] * (offset_km[:, :, None] * 1000.0)  # (days, n, 2)
    closure = proj(np.array(cfg.occupied_closure))
    rings = np.concatenate([lines, np.broadcast_to(closure, (days, *closure.shape)), lines[:, :1, :]], axis=1)
    polys = shapely.make_valid(shapely.polygons(rings))
    occupied = shapely.intersection(polys, area)
    occupied = np.array([_polygonal(g) for g in occupied], dtype=object)
    edge = shapely.buffer(shapely.boundary(area), 1.0)
    fronts = shapely.line_merge(shapely.difference(shapely.boundary(occupied), edge))
    return fronts, occupied


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts of a geometry collection (make_valid may add slivers)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p))
    if len(polys) == 1:
        return polys[0]
    return shapely.MultiPolygon(polys)
