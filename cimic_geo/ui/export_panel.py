"""The export panel shown under a map (COP page and any page with a map): briefing exports of the
view the user sees.

The user picks formats and presses *Prepare*; each file is rendered once with a progress bar
(``st.status`` + ``st.progress``) and kept in the session, then offered with
``st.download_button``. Prepared files belong to one view (bbox, time, layers, title, marking);
when the view changes they are dropped, so a download always matches what is on screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from cimic_geo.config import EXERCISE_MARKING, markings
from cimic_geo.errors import CimicError
from cimic_geo.export import FORMATS, MIME_TYPES, View, dated_name, export_bytes, load_view
from cimic_geo.export.naming import layers_part
from cimic_geo.i18n import N_, _, fmt_int
from cimic_geo.schema import LAYERS
from cimic_geo.store import Store
from cimic_geo.ui.common import key, plain, settings, store_marking

FORMAT_LABELS: dict[str, str] = {
    "png": N_("Map snapshot (PNG, A4)"),
    "pdf": N_("Brief (PDF: map + tables)"),
    "html": N_("Interactive map (offline HTML)"),
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "kml": "KML",
    "csv": N_("CSV with WKT"),
    "cot": "TAK CoT (XML)",
    "cotzip": N_("TAK data package (zip)"),
}


def _label(fmt: str) -> str:
    """The format's label in the current language."""
    return _(FORMAT_LABELS.get(fmt, fmt))


def export_view(
    *,
    bbox: Sequence[float] | None,
    as_of: datetime | pd.Timestamp | None,
    layers: Iterable[str],
    title: str,
    marking: str | None,
    area: str | None = None,
    symbols: bool = False,
) -> View:
    """The export :class:`View` of a map view; keys that are not store layers (e.g. the COP's
    ``front_change`` or ``search``) are dropped."""
    names = tuple(n for n in layers if n in LAYERS)
    return View(bbox=tuple(bbox) if bbox is not None else None, as_of=as_of, layers=names, title=title,
                marking=marking or None, area=area, extra={"symbols": True} if symbols else {})


def _signature(view: View) -> tuple[Any, ...]:
    bbox = tuple(round(v, 5) for v in view.bbox) if view.bbox else None
    return (bbox, None if view.as_of is None else view.as_of.isoformat(), view.layers, view.title, view.marking,
            bool(view.extra.get("symbols")))


def file_name(area: str, view: View, fmt: str, *, page: str, as_of: Any, details: Sequence[str] = ()) -> str:
    """The suggested file name: area, the page (view), its layers and other parameters (``details``,
    e.g. the threat bands), and the view's as-of time, so exports of different views differ."""
    return dated_name(area, as_of, fmt, view=page, details=(layers_part(view.layers), *details))


def prepare(store: Store, view: View, formats: Sequence[str], *, page: str,
            details: Sequence[str] = ()) -> dict[str, tuple[str, bytes]]:
    """Render ``formats`` of ``view`` with a progress display; keep them in the session.

    Returns ``{format: (file name, bytes)}`` of the files prepared now. Errors are shown with
    ``st.error`` (one per format) and leave nothing in the session for that format.
    """
    store_key = key(page, "export_files")
    kept: dict[str, Any] = st.session_state.get(store_key) or {}
    if kept.get("signature") != _signature(view):
        kept = {"signature": _signature(view), "files": {}}
    done: dict[str, tuple[str, bytes]] = {}
    with st.status(_("Preparing {n} export(s)…").format(n=len(formats)), expanded=True) as status:
        bar = st.progress(0.0, text=_("reading the view"))
        try:
            loaded = load_view(store, view)
        except CimicError as exc:
            status.update(label=_("Nothing to export"), state="error")
            st.error(plain(exc))
            return done
        area = view.area or loaded.meta.get("area") or loaded.meta.get("scale") or "view"
        for i, fmt in enumerate(formats):
            base, share = i / len(formats), 1 / len(formats)

            def progress(f: float, msg: str, *, _fmt: str = fmt, _base: float = base, _share: float = share) -> None:
                bar.progress(min(1.0, _base + f * _share), text=f"{_label(_fmt)}: {msg}")

            try:
                data = export_bytes(store, view, fmt, progress=progress, loaded=loaded,
                                    bands_km=settings().bands_km)
            except CimicError as exc:
                st.error(f"{_label(fmt)}: {plain(exc)}")
                continue
            name = file_name(area, view, fmt, page=page, as_of=loaded.as_of, details=details)
            if fmt == "pdf":  # the next brief's "since the last brief" starts at this one's time
                from cimic_geo.ui.cop_changes import record_brief_export

                record_brief_export(store, view_as_of=view.as_of, file_name=name)
            kept["files"][fmt] = (name, data)
            done[fmt] = (name, data)
        bar.progress(1.0, text=_("done"))
        status.update(label=_("Prepared {done} of {total} export(s)").format(done=len(done), total=len(formats)),
                      state="complete" if len(done) == len(formats) else "error", expanded=False)
    st.session_state[store_key] = kept
    return done


def render(
    store: Store,
    *,
    bbox: Sequence[float] | None,
    as_of: datetime | pd.Timestamp | None,
    layers: Iterable[str],
    title: str | None = None,
    marking: str | None = None,
    page: str = "cop",
    details: Sequence[str] = (),
) -> None:
    """The export panel for the map view ``bbox`` / ``as_of`` / ``layers`` of ``page``; ``details``
    are further parameters of the view for the file names (e.g. ``("bands-5-20-40",)``).

    A bordered container, not an expander: the progress display (``st.status``) is itself an
    expander and Streamlit does not nest them.
    """
    with st.container(border=True):
        st.subheader(_("Export for the brief"))
        st.caption(_("PNG/PDF snapshot, offline HTML map, GIS files (GeoJSON, GeoPackage, KML, CSV) and TAK "
                     "files of the map view above."))
        c1, c2 = st.columns(2)
        title = c1.text_input(_("Title"), value=title or _("CIMIC situation"), key=key(page, "export_title"), max_chars=120)
        # the marking: chosen from the configured list (plus the store's own, e.g. the mixed-data one)
        default_marking = marking or store_marking(store) or EXERCISE_MARKING
        choices = list(dict.fromkeys([default_marking, *markings()]))
        marking_text = c2.selectbox(_("Marking (banner text)"), choices, index=0, key=key(page, "export_marking"))
        formats = st.multiselect(_("Formats"), FORMATS, default=["png", "pdf"], format_func=_label,
                                 key=key(page, "export_formats"))
        symbols = st.checkbox(_("APP-6 symbols on PNG/PDF"), value=False, key=key(page, "export_symbols"),
                              help=_("Draw shelters and damaged infrastructure as APP-6 symbols instead of "
                                     "the COP's shapes."))
        try:
            view = export_view(bbox=bbox, as_of=as_of, layers=layers, title=title, marking=marking_text,
                               symbols=symbols)
        except CimicError as exc:
            st.error(plain(exc))
            return
        if bbox is not None:
            x0, y0, x1, y1 = view.bbox  # type: ignore[misc]
            st.caption(_("View: {extent} · layers: {layers}").format(
                extent=f"{y0:.3f}–{y1:.3f}°N, {x0:.3f}–{x1:.3f}°E", layers=", ".join(view.layers) or "—"))
        if st.button(_("Prepare"), key=key(page, "export_prepare"), disabled=not formats, type="primary"):
            prepare(store, view, formats, page=page, details=details)
        kept = st.session_state.get(key(page, "export_files")) or {}
        files = kept.get("files") or {}
        if files and kept.get("signature") != _signature(view):
            st.caption(_("The view changed since the files were prepared: press Prepare again."))
            return
        for fmt, (name, data) in files.items():
            st.download_button(_("Download {name} ({size} KB)").format(name=name, size=fmt_int(len(data) / 1024)), data=data,
                               file_name=name,
                               mime=MIME_TYPES.get(fmt, "application/octet-stream"), key=key(page, f"export_dl_{fmt}"))
