"""Standalone HTML of the interactive COP map: one file that opens offline from disk.

The map is the COP page's own (:func:`cimic_geo.maps.cop_map.build_cop_map`) built with
``asset_mode="inline"``: Leaflet's JavaScript and CSS (with the CSS images) are embedded as
``data:`` URIs read from the installed asset folder, so the file needs no network and no server.
The written HTML is checked: a ``src``/``href`` pointing off the machine is an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from branca.element import MacroElement
from jinja2 import Template

from cimic_geo.errors import ExportError
from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.naming import atomic_path
from cimic_geo.timefmt import dtg

Progress = Callable[[float, str], None]

#: A standalone page embeds every feature; beyond this many a browser struggles (national views).
HTML_MAX_FEATURES = 50_000


def _noop(_f: float, _m: str) -> None:
    return None


class ExportTitle(MacroElement):
    """The page's ``<title>`` and a title banner over the map. The template is constant; the title
    is a variable, HTML-escaped by the template (``|e``), never part of the template's source."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}<title>{{ this.title|e }}</title>{% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="cimic-export-title" style="position:fixed;top:8px;left:60px;z-index:1000;
          background:rgba(255,255,255,.9);padding:4px 10px;border:1px solid #333;font:600 14px sans-serif"
          >{{ this.title|e }}</div>
        {% endmacro %}
        """
    )

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "CimicExportTitle"
        self.title = str(title)


def render_html(loaded: LoadedView, *, progress: Progress = _noop) -> str:
    """The standalone HTML document of the view (assets inlined).

    Raises
    ------
    AssetError
        When the offline map assets are not installed (``make assets``).
    ExportError
        When the view has more than :data:`HTML_MAX_FEATURES` features, or the rendered page would
        still load something from the network.
    """
    from cimic_geo.maps.assets import remote_urls
    from cimic_geo.maps.cop_map import build_cop_map

    if loaded.total > HTML_MAX_FEATURES:
        raise ExportError(
            f"the view has {loaded.total:,} features, too many for a standalone HTML map (limit "
            f"{HTML_MAX_FEATURES:,}); zoom in, pick fewer layers, or export a GeoPackage instead"
        )
    progress(0.2, "building the map")
    m = build_cop_map(dict(loaded.frames), view=loaded.bbox, show=loaded.view.layers, asset_mode="inline",
                      marking=loaded.marking)
    when = dtg(loaded.as_of) if loaded.as_of is not None else ""
    root = m.get_root()
    root.add_child(ExportTitle(f"{loaded.view.title} {when}".strip()), name="cimic_export_title")
    progress(0.6, "rendering HTML")
    page = root.render()
    remote = remote_urls(page)
    if remote:
        raise ExportError(f"the HTML export would load files from the network: {remote[:3]}")
    return page


def write_html(loaded: LoadedView, out: str | os.PathLike, *, progress: Progress = _noop) -> Path:
    """Write the standalone HTML map (UTF-8) atomically."""
    page = render_html(loaded, progress=progress)
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    progress(1.0, "done")
    return Path(out)
