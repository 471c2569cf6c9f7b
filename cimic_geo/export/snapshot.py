"""Map snapshots for the daily brief: PNG (A4 landscape, 200 dpi) and PDF (map page + tables).

Rendered with matplotlib (Agg, no browser, no tiles) from the store's rows, in the metric CRS
of the view (:func:`cimic_geo.geo.metric_crs`) so that the map is not distorted. Each page has
the handling marking at top and bottom, a title with the date-time group of the view, a legend
of the visible layers, a geodesic scale bar, a true-north arrow (grid convergence applied), a
source/provenance line and a KPI table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.errors import ExportError
from cimic_geo.export.brief_changes import render_changes_figure
from cimic_geo.export.brief_cimic import render_cimic_figure
from cimic_geo.export.brief_trends import render_trends_figure
from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.naming import atomic_path
from cimic_geo.export.snapshot_basemap import attach_basemap
from cimic_geo.export.snapshot_kpis import KpiTable, kpi_table
from cimic_geo.export.snapshot_map import (
    MapProjection,
    draw_bands,
    draw_layers,
    fit_extent,
    north_arrow,
    scale_bar,
)
from cimic_geo.export.snapshot_pages import (
    A4_LANDSCAPE_IN,
    MARGIN_IN,
    banner,
    footer,
    kpi_axes,
    layer_title,
    page_title,
    render_tables_figure,
    wrap_to_width,
)
from cimic_geo.geo import to_mgrs
from cimic_geo.i18n import _, fmt_int, fmt_number
from cimic_geo.timefmt import dtg

PNG_DPI = 200
FONT = "DejaVu Sans"  # has Cyrillic glyphs

Progress = Callable[[float, str], None]


def _noop(_f: float, _msg: str) -> None:
    return None


def _fonts() -> Any:
    """Matplotlib settings for rendering: DejaVu Sans (Cyrillic glyphs) whatever the user's rc, and text
    drawn as given (``text.parse_math`` off: a ``$`` in a name or title is not mathtext markup)."""
    return matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": [FONT], "pdf.fonttype": 42,
                                  "text.parse_math": False})


# Times on the map page, and what each means:
# - the DTG (title, right) is the situation time of the view: the front line and occupied area in force
#   at the view's as-of time (the latest snapshot when none was chosen); the file name carries it too.
# - "reported A–B" (footer) is the range of ``reported_at`` of the rows drawn. Layers without history
#   (shelters, damage, corridors ...) are their latest state in the store, so B may be later than the
#   DTG; the subtitle and the footer then say so instead of showing a bare later time.
# - "produced" (footer) is when the file was made.


def _reported_after(loaded: LoadedView) -> pd.Timestamp | None:
    """The latest report time of the rows drawn when it is later than the DTG (else None)."""
    rng = loaded.reported_range()
    if rng is None or loaded.as_of is None or rng[1] <= loaded.as_of:
        return None
    return rng[1]


def _provenance_line(loaded: LoadedView, proj: MapProjection, produced: pd.Timestamp) -> str:
    sources = loaded.sources()
    src = ", ".join(sources[:5]) if sources else _("n/a")
    if len(sources) > 5:
        src += " " + _("+{n} more").format(n=fmt_int(len(sources) - 5))
    rel = []
    for f in loaded.frames.values():
        if "reliability" in f and len(f):
            rel += f["reliability"].dropna().astype(str).tolist()
    rel_txt = (_("reliability {low}–{high}").format(low=min(rel), high=max(rel)) if rel
               else _("reliability n/a"))
    rng = loaded.reported_range()
    rep = (_("reported {first}–{last}").format(first=dtg(rng[0]), last=dtg(rng[1])) if rng
           else _("reported n/a"))
    if _reported_after(loaded):
        rep += " " + _("(reports after the DTG: layers without history show their latest state)")
    scenario = loaded.meta.get("scenario")
    parts = [_("Source: {sources}").format(sources=src), rel_txt, rep]
    if scenario:
        parts.append(_("scenario {name}").format(name=scenario))
    parts += [_("produced {when} by cimic_geo").format(when=dtg(produced)),
              _("projection {name}").format(name=proj.name), loaded.marking]
    return " · ".join(parts)


def render_map_figure(loaded: LoadedView, *, kpis: KpiTable | None, produced: pd.Timestamp | None = None,
                      progress: Progress = _noop, bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> Figure:
    """The A4-landscape map page as a matplotlib :class:`Figure` (not yet saved)."""
    produced = produced if produced is not None else pd.Timestamp.now(tz="UTC")
    fig = Figure(figsize=A4_LANDSCAPE_IN)
    fig.patch.set_facecolor("white")
    W, H = A4_LANDSCAPE_IN
    proj = MapProjection(loaded.bbox)
    banner(fig, loaded.marking, top=True)
    banner(fig, loaded.marking, top=False)
    # title block
    when = dtg(loaded.as_of) if loaded.as_of is not None else dtg(produced)
    fig.text(0.3 / W, 1 - 0.42 / H, page_title(loaded.view), fontsize=16, fontweight="bold", va="top")
    fig.text(1 - 0.3 / W, 1 - 0.42 / H, when, fontsize=16, fontweight="bold", va="top", ha="right")
    x0, y0, x1, y1 = loaded.bbox
    centre = to_mgrs((y0 + y1) / 2, (x0 + x1) / 2, precision=3)
    later = _reported_after(loaded)
    situation = (_("Situation as of {when} (UTC); layers without history as last reported (latest {latest})").format(
        when=when, latest=dtg(later)) if later is not None else _("Situation as of {when} (UTC)").format(when=when))
    area = _("area {lat0}–{lat1}°N, {lon0}–{lon1}°E").format(
        lat0=fmt_number(y0, digits=2), lat1=fmt_number(y1, digits=2), lon0=fmt_number(x0, digits=2),
        lon1=fmt_number(x1, digits=2))
    sub = " · ".join([situation, area, _("centre MGRS {mgrs}").format(mgrs=centre),
                      _("layers: {layers}").format(layers=", ".join(layer_title(n) for n in loaded.view.layers))])
    sub_lines = wrap_to_width(sub, fontsize=8, width_in=W - 2 * MARGIN_IN)
    fig.text(0.3 / W, 1 - 0.80 / H, "\n".join(sub_lines[:2]), fontsize=8 if len(sub_lines) < 2 else 7, va="top",
             color="#333333", linespacing=1.1)
    progress(0.2, _("drawing layers"))
    # map
    map_rect = (0.3 / W, 0.70 / H, 7.9 / W, (H - 0.70 - 1.05) / H)
    ax = fig.add_axes(map_rect)
    legend = draw_layers(ax, loaded, proj)
    band_legend = draw_bands(ax, loaded, proj, bands_km)
    if band_legend:  # after the front line entry
        at = next((i + 1 for i, (__, lab) in enumerate(legend) if lab == _("Front line")), len(legend))
        legend[at:at] = band_legend
    ex0, ey0, ex1, ey1 = fit_extent(proj.extent(), map_rect[2] * W / (map_rect[3] * H))
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
    progress(0.6, _("scale bar, north arrow, legend"))
    scale_bar(ax, proj)
    north_arrow(ax, proj)
    # right panel: legend and KPIs
    lx = (0.3 + 7.9 + 0.25) / W
    lw = 1 - lx - 0.25 / W
    lax = fig.add_axes((lx, 0.5, lw, (H - 1.05) / H - 0.5))
    lax.set_axis_off()
    if legend:
        # a long legend gets a smaller font (each entry ~1.5 font sizes high, the title ~14 pt) so it
        # ends above the key figures instead of running into them
        room_pt = ((H - 1.05) - 0.5 * H) * 72 - 14
        size = min(7.5, max(5.0, room_pt / (1.5 * len(legend))))
        lax.legend([h for h, __ in legend], [lab for __, lab in legend], loc="upper left", fontsize=size,
                   title=_("Legend"), title_fontproperties={"weight": "bold", "size": 9}, frameon=False,
                   borderaxespad=0, handlelength=2.2, labelspacing=0.5)
    if kpis is not None:
        kpi_axes(fig, (lx, 0.70 / H + 0.02, lw, 0.5 - 0.70 / H - 0.06), kpis)
    footer(fig, _provenance_line(loaded, proj, produced))
    return fig



# ----------------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------------


def write_png(loaded: LoadedView, out: str | os.PathLike, *, store: Any = None, kpis: KpiTable | None = None,
              dpi: int = PNG_DPI, progress: Progress = _noop, bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> Path:
    """Render the map page to a PNG (A4 landscape; 200 dpi = 2338 × 1654 px)."""
    if kpis is None and store is not None:
        progress(0.05, _("computing key figures"))
        kpis = kpi_table(store, loaded, bands_km=bands_km)
    with _fonts():
        fig = render_map_figure(attach_basemap(store, loaded), kpis=kpis, progress=progress, bands_km=bands_km)
        progress(0.8, _("writing PNG"))
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png", facecolor="white", metadata={"Title": page_title(loaded.view),
                                                                               "Software": "cimic_geo"})
    progress(1.0, _("done"))
    return Path(out)


def write_pdf(loaded: LoadedView, out: str | os.PathLike, *, store: Any = None, kpis: KpiTable | None = None,
              progress: Progress = _noop, bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> Path:
    """Render the PDF brief: the map page, a page of tables, evacuations and needs (when the store has them)
    what changed since the last brief and the trends over the history (vector, A4 landscape)."""
    if kpis is None and store is not None:
        progress(0.05, _("computing key figures"))
        kpis = kpi_table(store, loaded, bands_km=bands_km)
    produced = pd.Timestamp.now(tz="UTC")
    with _fonts():
        fig1 = render_map_figure(attach_basemap(store, loaded), kpis=kpis, produced=produced, progress=progress,
                                 bands_km=bands_km)
        progress(0.7, _("tables page"))
        fig2 = render_tables_figure(loaded, kpis=kpis, produced=produced)
        fig3 = render_cimic_figure(store, loaded, produced=produced, bands_km=bands_km) if store is not None else None
        fig4 = render_changes_figure(store, loaded, produced=produced) if store is not None else None
        fig5 = (render_trends_figure(store, loaded, produced=produced, bands_km=bands_km) if store is not None
                else None)
    progress(0.85, _("writing PDF"))
    with _fonts(), atomic_path(out) as tmp:
        with PdfPages(tmp, metadata={"Title": page_title(loaded.view), "Subject": loaded.marking,
                                     "Creator": "cimic_geo"}) as pdf:
            pdf.savefig(fig1)
            pdf.savefig(fig2)
            if fig3 is not None:  # evacuations and needs
                pdf.savefig(fig3)
            if fig4 is not None:  # since the last brief
                pdf.savefig(fig4)
            if fig5 is not None:  # trends over the history
                pdf.savefig(fig5)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise ExportError(_("the PDF writer produced no output"))
    progress(1.0, _("done"))
    return Path(out)
