"""Small geodesy helpers shared by analytics, maps and exports.

Distances and areas are geodesic (WGS84 ellipsoid, :class:`pyproj.Geod`) or computed in a
projected CRS chosen for the data's extent; never in degrees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import mgrs as _mgrs
import numpy as np
import pyproj
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import AnalysisError

if TYPE_CHECKING:  # a one-off CLI route imports this module without pandas and geopandas
    import geopandas as gpd

WGS84 = "EPSG:4326"
GEOD = pyproj.Geod(ellps="WGS84")
_MGRS = _mgrs.MGRS()


def metric_crs(bounds: Sequence[float]) -> CRS:
    """A projected CRS in metres suitable for data within ``bounds`` (minlon, minlat, maxlon, maxlat).

    Within one UTM zone's width (about 6° of longitude, plus a margin) this is the UTM zone of the
    centre; for larger extents (national scale) an Azimuthal Equidistant projection centred on the
    extent, which keeps distances from its centre exact and elsewhere within a fraction of a
    percent over a country the size of Ukraine.
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    if x1 - x0 <= 8:
        zone = min(int(((x0 + x1) / 2 + 180) // 6) + 1, 60)
        return CRS.from_epsg((32700 if (y0 + y1) / 2 < 0 else 32600) + zone)
    lon0, lat0 = (x0 + x1) / 2, (y0 + y1) / 2
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs")


def metric_crs_for(*frames: gpd.GeoDataFrame) -> CRS:
    """:func:`metric_crs` for the union of the frames' bounds (EPSG:4326 frames)."""
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        raise AnalysisError("no data to choose a projection for")
    arr = np.array(boxes)
    return metric_crs((arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()))


def geodesic_length_km(geom: BaseGeometry) -> float:
    """Geodesic length of a (multi)line in km on the WGS84 ellipsoid."""
    if geom is None or geom.is_empty:
        return 0.0
    return float(GEOD.geometry_length(geom)) / 1000.0


def geodesic_area_km2(geom: BaseGeometry) -> float:
    """Geodesic area of a (multi)polygon in km² (absolute, orientation-independent)."""
    if geom is None or geom.is_empty:
        return 0.0
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(float(area)) / 1e6


def geodesic_distance_km(lon1, lat1, lon2, lat2) -> np.ndarray | float:
    """Geodesic distance(s) in km between lon/lat points (scalars or arrays)."""
    _, _, d = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(d) / 1000.0 if np.ndim(d) else float(d) / 1000.0


def ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Earth-centred cartesian coordinates (m, shape (n, 3)) of lon/lat points on the WGS84
    ellipsoid (height 0).

    The straight chord between two points is never longer than the geodesic between them and
    differs from it by about d³/24R² (28 m at 300 km, the same in every direction to well under
    a metre), so nearest-neighbour searches in these coordinates rank points by geodesic
    distance without the scale error of a map projection.
    """
    a, f = GEOD.a, GEOD.f
    e2 = f * (2.0 - f)
    lam, phi = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    sphi, cphi = np.sin(phi), np.cos(phi)
    n = a / np.sqrt(1.0 - e2 * sphi * sphi)
    return np.column_stack([n * cphi * np.cos(lam), n * cphi * np.sin(lam), n * (1.0 - e2) * sphi])


def to_mgrs(lat: float, lon: float, *, precision: int = 5) -> str:
    """MGRS grid reference (``precision`` 5 = 1 m), formatted ``36U VA 12345 67890``."""
    raw = _MGRS.toMGRS(float(lat), float(lon), MGRSPrecision=precision)
    if isinstance(raw, bytes):
        raw = raw.decode()
    zone_end = 3 if raw[2].isalpha() else 2
    gzd, sq, digits = raw[:zone_end], raw[zone_end:zone_end + 2], raw[zone_end + 2:]
    half = len(digits) // 2
    return f"{gzd} {sq} {digits[:half]} {digits[half:]}".strip()


#: An MGRS reference as typed: zone (1-60), latitude band, 100 km square, then an even number of
#: digits (0-10, easting and northing; spaces anywhere), e.g. ``37U DQ 12345 67890`` or ``37UDQ1234567890``.
_MGRS_RE = re.compile(r"^\s*(\d{1,2})\s*([C-HJ-NP-X])\s*([A-HJ-NP-Z][A-HJ-NP-V])\s*(\d*)\s*(\d*)\s*$", re.IGNORECASE)


def parse_mgrs(text: str) -> tuple[float, float] | None:
    """``(lat, lon)`` of an MGRS reference typed by a user; None when ``text`` does not look like one.

    The point is the centre of the referenced square (a 1 m square with 10 digits, 10 m with 8 ...),
    as the ``mgrs`` library returns it.

    Raises
    ------
    AnalysisError
        The text has the shape of an MGRS reference but is not a valid one (zone 0 or > 60, odd number
        of digits, a square that does not exist in that zone).
    """
    m = _MGRS_RE.match(str(text))
    if not m:
        return None
    zone, band, square, digits = int(m.group(1)), m.group(2).upper(), m.group(3).upper(), m.group(4) + m.group(5)
    if not 1 <= zone <= 60 or len(digits) % 2 or len(digits) > 10 or (m.group(5) and len(m.group(4)) != len(m.group(5))):
        raise AnalysisError(f"'{text}' is not a valid MGRS reference (zone 1-60, square letters, then easting and "
                            "northing with the same number of digits, e.g. 37U DQ 12345 67890)")
    try:
        return from_mgrs(f"{zone:02d}{band}{square}{digits}")
    except Exception as exc:  # the mgrs library raises plain exceptions for squares outside the zone
        raise AnalysisError(f"'{text}' is not a valid MGRS reference: {exc}") from None


def from_mgrs(ref: str) -> tuple[float, float]:
    """(lat, lon) of an MGRS reference (spaces allowed)."""
    lat, lon = _MGRS.toLatLon(ref.replace(" ", "").upper())
    return float(lat), float(lon)
