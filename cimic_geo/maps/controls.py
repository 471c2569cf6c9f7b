"""Small pieces every map of the project shares: the metric scale bar and fitting to the data.

Every map is built through :mod:`cimic_geo.maps` (COP, analytics, planner, import preview and the
standalone HTML export), and each adds :class:`MetricScale` instead of folium's
``control_scale=True`` (which draws miles next to kilometres; CIMIC users work metric).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import MacroElement
from jinja2 import Template

#: Fractional zoom step for maps that open fitted to their data (a whole zoom level halves the map
#: scale, so with integer zooms the data can fill as little as a quarter of the map).
FIT_ZOOM_SNAP = 0.25
#: Pixels kept free around the data when a map is fitted to it.
FIT_PADDING_PX = 12


class MetricScale(MacroElement):
    """Leaflet's scale control in metres/kilometres only (``imperial: false``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, position: 'bottomleft', maxWidth: 150})
          .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def add_metric_scale(m: folium.Map) -> folium.Map:
    """Add a metric-only scale bar to ``m`` (build the map with ``control_scale=False``)."""
    MetricScale().add_to(m)
    return m


def tooltip_html(value: Any) -> str:
    """Text for ``folium.Tooltip``/``folium.Popup``: HTML-escaped, and safe inside the JavaScript
    template literal (`` `...` ``) folium puts it in (backtick, ``$`` and backslash as entities), so
    data such as ``${alert(1)}`` or ``</script>`` is shown, never run."""
    text = html.escape(str(value))
    return text.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def frames_extent(*frames: gpd.GeoDataFrame | gpd.GeoSeries | None) -> tuple[float, float, float, float] | None:
    """(minlon, minlat, maxlon, maxlat) of all non-empty frames, or None when there is no finite extent."""
    boxes = [np.asarray(f.total_bounds, dtype=float) for f in frames if f is not None and len(f)]
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        return None
    arr = np.array(boxes)
    return float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max())


def fit_to(m: folium.Map, bounds: Sequence[float] | None, *, padding_px: int = FIT_PADDING_PX) -> folium.Map:
    """Open ``m`` fitted to ``bounds`` (minlon, minlat, maxlon, maxlat) with a small padding.

    Without a fractional ``zoomSnap`` on the map (``zoom_snap=FIT_ZOOM_SNAP``) Leaflet rounds the
    fitted zoom down to a whole level. Invalid or missing bounds leave the map as it is.
    """
    if bounds is None:
        return m
    x0, y0, x1, y1 = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        return m
    m.fit_bounds([[y0, x0], [y1, x1]], padding=(padding_px, padding_px))
    return m


# Leaflet's view arithmetic (EPSG:3857 pixels, as ``L.CRS.EPSG3857``): lets the server know the view a
# ``map.setView(center, zoom)`` gives before the browser reports it.
_MAX_LAT = 85.0511287798


def _world_px(zoom: float) -> float:
    return 256.0 * 2.0 ** zoom


def _project(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    """Pixel position of (lat, lon) at ``zoom`` (Leaflet's ``map.project``)."""
    s = math.sin(math.radians(max(-_MAX_LAT, min(_MAX_LAT, lat))))
    y = math.log((1 + s) / (1 - s)) / 2  # Mercator northing on the unit sphere
    return (lon / 360.0 + 0.5) * _world_px(zoom), (0.5 - y / (2 * math.pi)) * _world_px(zoom)


def _unproject(x: float, y: float, zoom: float) -> tuple[float, float]:
    """(lat, lon) of a pixel position at ``zoom`` (Leaflet's ``map.unproject``)."""
    lon = (x / _world_px(zoom) - 0.5) * 360.0
    lat = math.degrees(2 * math.atan(math.exp((0.5 - y / _world_px(zoom)) * 2 * math.pi)) - math.pi / 2)
    return lat, lon


def view_size_px(bounds: Sequence[float], zoom: float) -> tuple[int, int]:
    """The map's size in pixels from a view it reported: ``bounds`` (minlon, minlat, maxlon, maxlat) at ``zoom``."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    left, bottom = _project(y0, x0, zoom)
    right, top = _project(y1, x1, zoom)
    return round(right - left), round(bottom - top)


def view_bounds(center: tuple[float, float], zoom: int, size_px: tuple[int, int]) -> tuple[float, float, float, float]:
    """The bounds (minlon, minlat, maxlon, maxlat) a Leaflet map of ``size_px`` (width, height) shows after
    ``setView(center, zoom)``, ``center`` as (lat, lon): the top-left pixel rounded as Leaflet rounds it."""
    cx, cy = _project(center[0], center[1], zoom)
    w, h = size_px
    left, top = math.floor(cx - w / 2 + 0.5), math.floor(cy - h / 2 + 0.5)  # JavaScript's Math.round
    lat0, lon0 = _unproject(left, top + h, zoom)
    lat1, lon1 = _unproject(left + w, top, zoom)
    return lon0, lat0, lon1, lat1
