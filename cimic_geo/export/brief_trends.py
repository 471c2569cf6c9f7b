"""Trend charts over the history (matplotlib, offline): population within each threat band, shelter places
used, open damage by sector and corridors by status, at the snapshot times.

:func:`draw_trends` draws the four charts into a figure; the PDF brief has them as a page
(:func:`render_trends_figure`, vector) and the COP shows :func:`trends_png` (a small PNG).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cimic_geo.analytics.bands import BEYOND, OCCUPIED
from cimic_geo.analytics.trend_cache import FORMAT as TREND_FORMAT
from cimic_geo.analytics.trend_cache import keep_trends, kept_trends
from cimic_geo.analytics.trends import Trends, compute_trends
from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.snapshot_pages import A4_LANDSCAPE_IN, footer, marked_page, page_title
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.maps.cop_style import CORRIDOR_COLORS, SECTOR_COLORS
from cimic_geo.store.trend_reads import trend_data_key, trend_inputs
from cimic_geo.timefmt import dtg

BAND_COLORS = ("#b71c1c", "#ef6c00", "#f9a825", "#9e9d24", "#558b2f", "#00838f")


def _band_label(label: str) -> str:
    return term(label) if label in (BEYOND, OCCUPIED) else _("{band} km").format(band=label)


def _axes_style(ax: Any, title: str, *, fontsize: float) -> None:
    """Title, ticks (day.month), grid and a zero baseline; values hold until the next snapshot (steps)."""
    ax.set_title(title, fontsize=fontsize + 1.5, fontweight="bold", loc="left")
    ax.tick_params(labelsize=fontsize)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d.%m"))
    ax.grid(True, color="#dddddd", linewidth=0.5)
    ax.set_ylim(bottom=0)


def _x(index: pd.Index) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(index).tz_convert("UTC").tz_localize(None).to_pydatetime())


def draw_trends(fig: Figure, trends: Trends, *, rect: tuple[float, float, float, float] = (0.06, 0.08, 0.92, 0.84),
                fontsize: float = 7.0) -> None:
    """The four trend charts in a 2 x 2 grid inside ``rect`` (figure fractions) of ``fig``."""
    x0, y0, w, h = rect
    cw, ch = w / 2, h / 2
    boxes = [(x0, y0 + ch, cw, ch), (x0 + cw, y0 + ch, cw, ch), (x0, y0, cw, ch), (x0 + cw, y0, cw, ch)]
    axes = [fig.add_axes((bx + 0.11 * cw, by + 0.12 * ch, 0.84 * cw, 0.74 * ch)) for bx, by, __, __ in boxes]
    count = FuncFormatter(lambda v, _pos: fmt_int(v))
    x = _x(trends.population.index)
    # population within the bands and on the occupied side ("beyond" is most people: named in the title)
    pop = trends.population
    ax = axes[0]
    for i, col in enumerate(c for c in pop.columns if c != BEYOND):
        ax.step(x, pop[col].to_numpy(), where="post", color=BAND_COLORS[i % len(BAND_COLORS)], linewidth=1.4,
                label=_band_label(col))
    beyond = int(pop[BEYOND].iloc[-1]) if len(pop) else 0
    _axes_style(ax, _("Population within each threat band (beyond, latest: {n})").format(n=fmt_int(beyond)),
                fontsize=fontsize)
    ax.yaxis.set_major_formatter(count)
    ax.legend(fontsize=fontsize - 0.5, framealpha=0.85, loc="upper left", ncol=2)
    # shelter places used
    ax = axes[1]
    used = trends.shelters["used"].to_numpy(dtype=float) * 100
    ax.step(x, used, where="post", color="#1f78b4", linewidth=1.6)
    _axes_style(ax, _("Shelter places used, open and full shelters (%)"), fontsize=fontsize)
    ax.set_ylim(0, max(100.0, float(np.nanmax(used)) if np.isfinite(used).any() else 100.0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v)))
    # open damage by sector (sectors with any)
    ax = axes[2]
    dmg = trends.damage.loc[:, (trends.damage != 0).any()] if len(trends.damage) else trends.damage
    for col in dmg.columns:
        ax.step(x, dmg[col].to_numpy(), where="post", color=SECTOR_COLORS.get(col, "#555555"), linewidth=1.2,
                label=term(col))
    _axes_style(ax, _("Open damage by sector (objects not restored)"), fontsize=fontsize)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(count)
    if len(dmg.columns):
        ax.legend(fontsize=fontsize - 0.5, framealpha=0.85, loc="upper left", ncol=2)
    # corridors by status (stacked)
    ax = axes[3]
    cor = trends.corridors
    bottom = np.zeros(len(cor))
    width = (np.median(np.diff(x)) * 0.8) if len(x) > 1 else pd.Timedelta(hours=12).to_pytimedelta()
    for status in cor.columns:
        v = cor[status].to_numpy()
        if v.any():
            ax.bar(x, v, bottom=bottom, width=width, color=CORRIDOR_COLORS.get(status, "#888888"), label=term(status))
            bottom = bottom + v
    _axes_style(ax, _("Corridors by status"), fontsize=fontsize)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if bottom.any():
        ax.legend(fontsize=fontsize - 0.5, framealpha=0.85, loc="upper left", ncol=3)


def store_trends(store: Any, *, bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> Trends:
    """The trend series of ``store`` at its snapshot times.

    A store in a file keeps them beside it (:mod:`cimic_geo.analytics.trend_cache`) under the hash of
    what they are computed from and the bands: while neither changes, a fresh process reads them back
    instead of computing them again.
    """
    path = getattr(store, "path", None)
    data = trend_data_key(store) if path is not None and Path(path).is_file() else None
    key = f"format={TREND_FORMAT}|bands={','.join(f'{float(b):g}' for b in bands_km)}|{data}"
    if data is not None:
        kept = kept_trends(path, key)
        if kept is not None:
            return kept
    trends = compute_trends(**trend_inputs(store), bands_km=bands_km)
    if data is not None and trend_data_key(store) == data:  # not kept when a write came in meanwhile
        keep_trends(path, key, trends)
    return trends


def render_trends_figure(store: Any, loaded: LoadedView, *, produced: pd.Timestamp | None = None,
                         bands_km: Sequence[float] = DEFAULT_BANDS_KM, trends: Trends | None = None) -> Figure | None:
    """The brief's trends page, or None when the store has no snapshot times."""
    trends = trends if trends is not None else store_trends(store, bands_km=bands_km)
    if not trends.times:
        return None
    produced = produced if produced is not None else pd.Timestamp.now(tz="UTC")
    fig = marked_page(loaded.marking)
    W, H = A4_LANDSCAPE_IN
    fig.text(0.3 / W, 1 - 0.42 / H, _("{title} — trends").format(title=page_title(loaded.view)), fontsize=15,
             fontweight="bold", va="top")
    first, last = trends.times[0], trends.times[-1]
    fig.text(1 - 0.3 / W, 1 - 0.42 / H, dtg(last), fontsize=15, fontweight="bold", va="top", ha="right")
    draw_trends(fig, trends, rect=(0.3 / W, 0.8 / H, 1 - 0.6 / W, 1 - 2.0 / H), fontsize=7.5)
    footer(fig, _("Whole store at its {n} snapshot times from {first} to {last} (UTC) · layers as reported at each "
                  "time · threat bands from the front line in force · produced {produced} · {marking}").format(
        n=fmt_int(len(trends.times)), first=dtg(first), last=dtg(last), produced=dtg(produced),
        marking=loaded.marking))
    return fig


def trends_png(trends: Trends, *, width_in: float = 10.0, height_in: float = 6.0, dpi: int = 100) -> bytes:
    """The four charts as a PNG (for the COP)."""
    from cimic_geo.export.snapshot import _fonts

    with _fonts():
        fig = Figure(figsize=(width_in, height_in))
        fig.patch.set_facecolor("white")
        draw_trends(fig, trends, rect=(0.0, 0.0, 1.0, 1.0), fontsize=7.5)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
