"""Briefing exports: map snapshots (PNG, PDF), offline HTML, GIS files and TAK files.

No Streamlit here. Typical use::

    from cimic_geo.export import View, export
    export(store, View(bbox=(36, 48.5, 38.5, 50), layers=("shelters", "corridors")), "png", "brief.png")

Every writer takes the rows of one :class:`View` (:func:`load_view`) and writes atomically:
a failure leaves no partial file (:func:`cimic_geo.export.naming.atomic_path`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.errors import ExportError
from cimic_geo.export.export_view import DEFAULT_LAYERS, LoadedView, View, load_view, parse_layers
from cimic_geo.export.naming import EXTENSIONS, check_target, dated_name

#: Formats accepted by :func:`export` and the CLI (``cotzip`` = TAK data package).
FORMATS: tuple[str, ...] = ("png", "pdf", "html", "geojson", "gpkg", "kml", "csv", "cot", "cotzip")

MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "pdf": "application/pdf",
    "html": "text/html",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv",
    "cot": "application/xml",
    "cotzip": "application/zip",
}

Progress = Callable[[float, str], None]


def _noop(_f: float, _m: str) -> None:
    return None


def check_format(fmt: str) -> str:
    """Normalise and check an export format name."""
    f = str(fmt).lower().strip()
    if f not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}'; expected one of: {', '.join(FORMATS)}")
    return f


def precheck(loaded: LoadedView, fmt: str) -> None:
    """Raise :class:`ExportError` now if ``fmt`` cannot be produced for ``loaded`` (checked for every
    format before writing any, so a multi-format run fails before leaving some files behind)."""
    fmt = check_format(fmt)
    if fmt == "html":
        from cimic_geo.export.html import HTML_MAX_FEATURES

        if loaded.total > HTML_MAX_FEATURES:
            raise ExportError(
                f"the view has {loaded.total:,} features, too many for a standalone HTML map (limit "
                f"{HTML_MAX_FEATURES:,}); zoom in, pick fewer layers, or export a GeoPackage instead"
            )
    if fmt in ("cot", "cotzip"):
        n = sum(len(loaded.frames.get(k, ())) for k in ("corridors", "shelters"))
        if "corridors" not in loaded.frames and "shelters" not in loaded.frames:
            raise ExportError("TAK export needs the corridors or shelters layer among the visible layers")
        if n == 0:
            raise ExportError("empty view: no corridors or shelters to send to TAK in this view")


def write_loaded(
    loaded: LoadedView,
    fmt: str,
    out: str | os.PathLike,
    *,
    store: Any = None,
    progress: Progress = _noop,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
) -> Path:
    """Write an already loaded view in ``fmt`` to ``out`` (atomically)."""
    fmt = check_format(fmt)
    if fmt in ("png", "pdf"):
        from cimic_geo.export import snapshot

        writer = snapshot.write_png if fmt == "png" else snapshot.write_pdf
        return writer(loaded, out, store=store, progress=progress, bands_km=bands_km)
    if fmt == "html":
        from cimic_geo.export.html import write_html

        return write_html(loaded, out, progress=progress)
    if fmt in ("geojson", "gpkg", "kml", "csv"):
        from cimic_geo.export import gis

        writer = {"geojson": gis.write_geojson, "gpkg": gis.write_gpkg, "kml": gis.write_kml,
                  "csv": gis.write_csv}[fmt]
        return writer(loaded, out)
    from cimic_geo.export import cot

    if fmt == "cotzip" or (fmt == "cot" and str(out).lower().endswith(".zip")):
        return cot.write_data_package(loaded, out)
    return cot.write_cot(loaded, out)


def export(
    store: Any,
    view: View,
    fmt: str,
    out: str | os.PathLike,
    *,
    progress: Progress = _noop,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
) -> Path:
    """Export ``view`` from ``store`` in ``fmt`` to the file ``out``; return the path written.

    Raises
    ------
    ExportError
        Unknown format, empty view, unwritable path, a target that is not a regular file, the
        store itself or has another format's extension (checked before any rendering).
    UnknownLayerError
        A layer of the view is not in the schema.
    """
    fmt = check_format(fmt)
    store_path = getattr(store, "path", None)
    check_target(out, fmt=fmt, protect=(store_path,) if store_path else ())
    progress(0.0, "reading the view")
    loaded = load_view(store, view)
    precheck(loaded, fmt)
    return write_loaded(loaded, fmt, out, store=store, progress=progress, bands_km=bands_km)


def export_bytes(
    store: Any, view: View, fmt: str, *, progress: Progress = _noop, loaded: LoadedView | None = None,
    bands_km: Sequence[float] = DEFAULT_BANDS_KM,
) -> bytes:
    """The export as bytes (for download buttons); written through a temporary file."""
    import tempfile

    fmt = check_format(fmt)
    with tempfile.TemporaryDirectory(prefix="cimic_export_") as d:
        path = Path(d) / f"export.{EXTENSIONS[fmt]}"
        if loaded is None:
            loaded = load_view(store, view)
        write_loaded(loaded, fmt, path, store=store, progress=progress, bands_km=bands_km)
        return path.read_bytes()


__all__ = [
    "DEFAULT_LAYERS",
    "FORMATS",
    "MIME_TYPES",
    "LoadedView",
    "View",
    "check_format",
    "dated_name",
    "export",
    "export_bytes",
    "load_view",
    "parse_layers",
    "precheck",
    "write_loaded",
]
