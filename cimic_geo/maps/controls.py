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
