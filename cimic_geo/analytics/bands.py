"""Threat bands: band edges, labels and classification, the what-if shift of the front.

Distances to the front line come from :mod:`cimic_geo.analytics.front_distance` (geodesic, exact
at band edges); its names are importable from here too.

Band edges are inclusive at the outer edge: with bands ``(5, 20, 40)`` a feature at exactly
5 km (within 1 mm) is in ``"0-5"``; at 5.001 km it is in ``"5-20"``. Features on the occupied
side are labelled ``"occupied"`` whatever their distance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

from cimic_geo.analytics.front_distance import (
    Front,
    GeomInput,
    as_geometry_array,
    front_distance_km,
    front_line_from_occupied,
    occupied_mask,
    prepare_front,
    valid_mask,
)
from cimic_geo.config import DEFAULT_BANDS_KM, band_edges
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import WGS84, metric_crs
from cimic_geo.i18n import _, pgettext

#: Names of :mod:`cimic_geo.analytics.front_distance` used with the bands, importable from here.
__all__ = [
    "BEYOND",
    "DEFAULT_BANDS_KM",
    "EDGE_TOLERANCE_KM",
    "OCCUPIED",
    "UNKNOWN",
    "Front",
    "GeomInput",
    "as_geometry_array",
    "band_labels",
    "check_bands",
    "check_distance",
    "classify_bands",
    "front_distance_km",
    "front_line_from_occupied",
    "occupied_mask",
    "prepare_front",
    "shift_distances",
    "shifted_occupied_area",
]

#: A distance within this of a band edge counts as on the edge (inside the nearer band).
EDGE_TOLERANCE_KM = 1e-6
OCCUPIED = "occupied"
BEYOND = "beyond"
UNKNOWN = "unknown"



# ----------------------------------------------------------------------------------------------
# bands
# ----------------------------------------------------------------------------------------------


def check_bands(bands_km: Sequence[float] | str | None) -> tuple[float, ...]:
    """Band outer edges in km (``"5,20,40"``, a sequence, or None for the default), checked by
    :func:`cimic_geo.config.band_edges`; errors are :class:`AnalysisError`."""
    return band_edges(bands_km, error=AnalysisError)


def check_distance(value: float | None, *, name: str = "distance", allow_zero: bool = True) -> float:
    """A finite, non-negative distance (km) or raise :class:`AnalysisError` naming ``name``."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AnalysisError(_("{name} must be a number of km, got {value}").format(name=name, value=repr(value))) from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        message = (_("{name} must be a non-negative finite number, got {value}") if allow_zero
                   else _("{name} must be a positive finite number, got {value}"))
        raise AnalysisError(message.format(name=name, value=repr(value)))
    return v


def _fmt(x: float) -> str:
    return f"{x:g}"


def band_label(label: object) -> str:
    """A band label as tables show it: ``0-5`` as it is, ``beyond`` / ``occupied`` / ``unknown`` in the current
    language (the same words :func:`cimic_geo.i18n.term` gives for a ``band`` column)."""
    text = str(label)
    words = {BEYOND: pgettext("term", "beyond"), OCCUPIED: pgettext("term", "occupied"),
             UNKNOWN: pgettext("term", "unknown")}
    return words.get(text, text)


def band_labels(bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> list[str]:
    """Labels of the bands in order: ``["0-5", "5-20", "20-40"]`` for ``(5, 20, 40)``."""
    edges = check_bands(bands_km)
    lows = (0.0, *edges[:-1])
    return [f"{_fmt(lo)}-{_fmt(hi)}" for lo, hi in zip(lows, edges, strict=True)]


def classify_bands(
    distance_km: Sequence[float] | np.ndarray,
    *,
    occupied: Sequence[bool] | np.ndarray | None = None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
) -> np.ndarray:
    """Band label of each distance: ``"0-5"``, ``"5-20"``, ..., ``"beyond"``, ``"occupied"``.

    Outer edges are inclusive (5 km is in ``"0-5"``, within :data:`EDGE_TOLERANCE_KM`).
    NaN distances (no front line) give ``"unknown"``; ``occupied`` overrides the distance.
    """
    edges = check_bands(bands_km)
    d = np.asarray(distance_km, dtype=float)
    labels = np.array([*band_labels(edges), BEYOND], dtype=object)
    idx = np.searchsorted(np.asarray(edges) + EDGE_TOLERANCE_KM, d, side="left")
    out = labels[np.clip(idx, 0, len(edges))].astype(object)
    out[np.isnan(d)] = UNKNOWN
    if occupied is not None:
        occ = np.asarray(occupied, dtype=bool)
        if occ.shape != d.shape:
            raise AnalysisError(f"occupied mask has {occ.shape} values for {d.shape} distances")
        out[occ] = OCCUPIED
    return out


def shift_distances(
    distance_km: np.ndarray, occupied: np.ndarray, shift_km: float
) -> tuple[np.ndarray, np.ndarray]:
    """Distances and occupied mask after moving the front ``shift_km`` toward friendly territory.

    The shifted occupied area is the occupied area buffered by ``shift_km``; for any point the
    distance to a buffer is exactly ``max(0, d - shift)`` (in any length metric, so also on the
    ellipsoid), hence no polygon buffering (with its arc approximation) is needed. A friendly
    feature closer than ``shift_km`` becomes occupied; one at exactly ``shift_km`` is on the new
    line (0 km, friendly).
    """
    shift = check_distance(shift_km, name="shift_km")
    d = np.asarray(distance_km, dtype=float)
    occ = np.asarray(occupied, dtype=bool)
    newly = ~occ & (d < shift - EDGE_TOLERANCE_KM)
    new_occ = occ | newly
    new_d = np.where(occ, d + shift, np.where(newly, shift - d, np.maximum(d - shift, 0.0)))
    return new_d, new_occ


def shifted_occupied_area(occupied_area: GeomInput, shift_km: float) -> gpd.GeoSeries:
    """The occupied area grown by ``shift_km`` toward friendly territory, for display (EPSG:4326).

    Buffered in the metric CRS for its extent; the exposure numbers do not use this polygon (see
    :func:`shift_distances`).
    """
    shift = check_distance(shift_km, name="shift_km")
    occ = as_geometry_array(occupied_area)
    occ = occ[valid_mask(occ)] if len(occ) else occ
    if not len(occ):
        return gpd.GeoSeries([], crs=WGS84)
    merged = shapely.union_all(occ)
    if shift == 0:
        return gpd.GeoSeries([merged], crs=WGS84)
    crs = metric_crs(shapely.total_bounds(occ))
    series = gpd.GeoSeries([merged], crs=WGS84).to_crs(crs).buffer(shift * 1000.0, quad_segs=8)
    return series.to_crs(WGS84)
