"""Page furniture shared by the snapshot pages (marking banners, key-figure panel, tables) and
the PDF's second page of tables.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle

from cimic_geo.export.export_view import LoadedView, View
from cimic_geo.export.snapshot_kpis import KpiTable, print_int
from cimic_geo.geo import geodesic_length_km
from cimic_geo.i18n import _, fmt_number, term
from cimic_geo.schema import LAYERS
from cimic_geo.timefmt import dtg

A4_LANDSCAPE_IN = (11.69, 8.27)
#: The title of a view nobody named (:class:`View`'s default), printed in the brief's language.
DEFAULT_TITLE = "CIMIC situation"


def page_title(view: View) -> str:
    """The title printed on the pages: the user's title as given, the default one translated."""
    return _("CIMIC situation") if view.title == DEFAULT_TITLE else view.title


def layer_title(name: str) -> str:
    """A layer's title in the current language (``front_line`` -> "Front line" / "Лінія зіткнення")."""
    layer = LAYERS.get(name)
    return _(layer.title) if layer is not None and layer.title else name.replace("_", " ")


#: Damage levels as columns of the damage table, least to most.
DAMAGE_COLUMNS = ("none", "minor", "major", "destroyed")


def marking_colours(marking: str) -> tuple[str, str]:
    """(background, text) colours of the marking banner."""
    m = marking.upper()
    if m.startswith("UNCLASSIFIED") or m.startswith("NATO UNCLASSIFIED"):
        return "#007a33", "white"
    if any(w in m for w in ("SECRET", "CONFIDENTIAL", "RESTRICTED")):
        return "#c8102e", "white"
    return "#ffd200", "black"


def banner(fig: Figure, marking: str, *, top: bool) -> None:
    bg, fg = marking_colours(marking)
    h = 0.30 / A4_LANDSCAPE_IN[1]
    ax = fig.add_axes((0, 1 - h if top else 0, 1, h))
    ax.set_axis_off()
    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor=bg, edgecolor="black", linewidth=1))
    text = marking.upper()
    ax.text(0.5, 0.5, f"{text}   ·   {text}   ·   {text}", ha="center", va="center", fontsize=11, fontweight="bold",
            color=fg, transform=ax.transAxes)


def marked_page(marking: str) -> Figure:
    """A blank A4-landscape page with the marking banner at its top and bottom."""
    fig = Figure(figsize=A4_LANDSCAPE_IN)
    banner(fig, marking, top=True)
    banner(fig, marking, top=False)
    return fig


#: Page margin left and right (inches) and the footer line's centre above the bottom edge.
MARGIN_IN = 0.3
FOOTER_Y_IN = 0.47


def text_width_in(text: str, fontsize: float, *, weight: str = "normal") -> float:
    """Width in inches of ``text`` set in the export font at ``fontsize`` points (measured by Agg)."""
    renderer = RendererAgg(10, 10, 72)  # 72 dpi: pixels are points
    w, _, _ = renderer.get_text_width_height_descent(text, FontProperties(size=fontsize, weight=weight), ismath=False)
    return float(w) / 72.0


#: Text padding of a table cell on each side, as a fraction of the cell's width (matplotlib's Cell.PAD).
CELL_PAD = 0.1
#: A column title too wide for its column is set smaller, down to this fraction of the table's font.
HEADER_MIN_SCALE = 0.75


def fit_text(text: str, *, width_in: float, fontsize: float, weight: str = "normal") -> str:
    """``text`` as is when it fits ``width_in`` at ``fontsize``, else cut to fit with "…" at the end."""
    if not text or text_width_in(text, fontsize, weight=weight) <= width_in:
        return text
    cut = text
    while len(cut) > 1 and text_width_in(cut + "…", fontsize, weight=weight) > width_in:
        cut = cut[:-1]
    return cut.rstrip() + "…"


def wrap_to_width(text: str, *, fontsize: float, width_in: float, sep: str = " · ") -> list[str]:
    """``text`` broken into lines no wider than ``width_in``: at ``sep`` first, inside a part only
    when the part alone is too wide."""
    lines: list[str] = []
    for part in text.split(sep):
        pieces = [part]
        if text_width_in(part, fontsize) > width_in:  # one long item (e.g. many sources): break at spaces
            per_char = text_width_in(part, fontsize) / max(len(part), 1)
            pieces = textwrap.wrap(part, width=max(int(width_in / per_char) - 2, 10)) or [part]
        for piece in pieces:
            candidate = f"{lines[-1]}{sep}{piece}" if lines and piece is pieces[0] else None
            if candidate is not None and text_width_in(candidate, fontsize) <= width_in:
                lines[-1] = candidate
            else:
                lines.append(piece)
    return lines


def footer(fig: Figure, text: str, *, fontsize: float = 6.5, max_lines: int = 3) -> Any:
    """The footer line(s) between the map and the bottom banner, wrapped to the page width; the font
    shrinks (to 5 pt at least) when the text needs more than ``max_lines`` lines. Only text beyond
    ``max_lines`` lines at 5 pt (several hundred characters; callers shorten lists first) ends in "…"."""
    W, H = A4_LANDSCAPE_IN
    width = W - 2 * MARGIN_IN
    lines = wrap_to_width(text, fontsize=fontsize, width_in=width)
    while len(lines) > max_lines and fontsize > 5.0:
        fontsize -= 0.5
        lines = wrap_to_width(text, fontsize=fontsize, width_in=width)
    if len(lines) > max_lines:
        lines = [*lines[:max_lines - 1], lines[max_lines - 1] + " …"]
    return fig.text(MARGIN_IN / W, FOOTER_Y_IN / H, "\n".join(lines), fontsize=fontsize, va="center",
                    color="#333333", linespacing=1.15)


def kpi_axes(fig: Figure, rect: tuple[float, float, float, float], table: KpiTable, *, fontsize: float = 7.5) -> None:
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.text(0, 1, _("Key figures (view area)"), fontsize=9, fontweight="bold", va="bottom", transform=ax.transAxes)
    rows = table.rows()
    if not rows:
        return
    # plain text rows (much faster to draw than matplotlib's Table): section titles bold on grey
    step = min(1.0 / max(len(rows), 1), 0.05)
    section_titles = {t for t, _ in table.sections}
    y = 1.0 - 0.01
    for label, value in rows:
        title_row = label in section_titles and value == ""
        if title_row:
            ax.add_patch(Rectangle((0, y - step), 1, step, transform=ax.transAxes, facecolor="#e8e8e8",
                                   edgecolor="none"))
        ax.text(0.02, y - step / 2, label, fontsize=fontsize, va="center", transform=ax.transAxes,
                fontweight="bold" if title_row else "normal")
        if value:
            ax.text(0.98, y - step / 2, value, fontsize=fontsize, va="center", ha="right", transform=ax.transAxes)
        ax.plot([0, 1], [y - step, y - step], transform=ax.transAxes, color="#9e9e9e", linewidth=0.3)
        y -= step
    if table.notes:
        ax.text(0, y - 0.02, "; ".join(table.notes)[:160], fontsize=6, va="top", transform=ax.transAxes, wrap=True)


def _s(v: Any) -> str:
    """Text of a cell; empty for missing values (None, NaN, NA)."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    return str(v)


def _table_axes(fig: Figure, rect: tuple[float, float, float, float], title: str, header: list[str],
                rows: list[list[str]], *, fontsize: float = 7.5, col_widths: list[float] | None = None,
                max_rows: int = 28) -> None:
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.text(0, 1.0, title, fontsize=10, fontweight="bold", va="bottom", transform=ax.transAxes)
    if not rows:
        ax.text(0, 0.95, _("none in view"), fontsize=8, va="top", transform=ax.transAxes)
        return
    shown = rows[:max_rows]
    cell_in = [w * rect[2] * A4_LANDSCAPE_IN[0] for w in col_widths] if col_widths is not None else None
    if cell_in is not None:  # long words (Ukrainian terms, names) end in "…" at their column's edge
        header = [fit_text(h, width_in=w, fontsize=fontsize * HEADER_MIN_SCALE, weight="bold")
                  for h, w in zip(header, cell_in, strict=True)]
        shown = [[fit_text(c, width_in=w * (1 - CELL_PAD), fontsize=fontsize) for c, w in zip(row, cell_in, strict=True)]
                 for row in shown]
    if len(rows) > max_rows:
        more = _("... and {n} more").format(n=print_int(len(rows) - max_rows))
        shown = [*shown, [more, *[""] * (len(header) - 1)]]
    tab = ax.table(cellText=shown, colLabels=header, loc="upper left", cellLoc="left", colWidths=col_widths,
                   edges="horizontal")
    tab.auto_set_font_size(False)
    tab.set_fontsize(fontsize)
    for (r, c), cell in tab.get_celld().items():
        cell.set_height(min(1.0 / (len(shown) + 1), 0.07))
        cell.set_linewidth(0.3)
        if r == 0:
            cell.get_text().set_fontweight("bold")
            cell.set_facecolor("#e8e8e8")
            need = text_width_in(header[c], fontsize, weight="bold") if cell_in is not None else 0.0
            if cell_in is not None and need > cell_in[c]:  # a long column title: a smaller font, not cut
                cell.get_text().set_fontsize(fontsize * cell_in[c] / need)


def render_tables_figure(loaded: LoadedView, *, kpis: KpiTable | None, produced: pd.Timestamp | None = None) -> Figure:
    """The PDF's second page: KPI table, shelters by status, damage by sector, corridor list."""
    produced = produced if produced is not None else pd.Timestamp.now(tz="UTC")
    fig = marked_page(loaded.marking)
    W, H = A4_LANDSCAPE_IN
    when = dtg(loaded.as_of) if loaded.as_of is not None else dtg(produced)
    fig.text(0.3 / W, 1 - 0.42 / H, _("{title} — tables").format(title=page_title(loaded.view)), fontsize=15, fontweight="bold", va="top")
    fig.text(1 - 0.3 / W, 1 - 0.42 / H, when, fontsize=15, fontweight="bold", va="top", ha="right")
    top = 1 - 1.3 / H
    col_w = (W - 0.6 - 0.5) / 3 / W
    if kpis is not None:
        kpi_axes(fig, (0.3 / W, 0.45, col_w, top - 0.45), kpis, fontsize=8)
    # shelters by status and kind
    sh = loaded.frames.get("shelters")
    srows: list[list[str]] = []
    if sh is not None and len(sh):
        cap = pd.to_numeric(sh["capacity"], errors="coerce").fillna(0)
        occ = pd.to_numeric(sh["occupancy"], errors="coerce").fillna(0)
        g = pd.DataFrame({"kind": sh["kind"], "status": sh["status"], "cap": cap, "occ": occ}).groupby(
            ["kind", "status"]).agg(n=("cap", "size"), cap=("cap", "sum"), occ=("occ", "sum"))
        srows = [[term(k), term(s), print_int(r.n), print_int(r.cap), print_int(r.occ)]
                 for (k, s), r in g.iterrows()]
    x2 = 0.3 / W + col_w + 0.25 / W
    if "shelters" in loaded.frames:
        _table_axes(fig, (x2, 0.45, col_w, top - 0.45), _("Shelters by kind and status"),
                    [_("kind"), _("status"), _("n"), _("capacity"), _("occupancy")], srows,
                    col_widths=[0.32, 0.20, 0.10, 0.18, 0.20])
    inf = loaded.frames.get("infrastructure")
    irows: list[list[str]] = []
    if inf is not None and len(inf):
        ct = pd.crosstab(inf["sector"], inf["damage"])
        for sector, r in ct.iterrows():
            irows.append([term(sector), *[print_int(r.get(d, 0)) for d in DAMAGE_COLUMNS]])
    x3 = x2 + col_w + 0.25 / W
    if "infrastructure" in loaded.frames:
        _table_axes(fig, (x3, 0.45, col_w, top - 0.45), _("Infrastructure damage by sector"),
                    [_("sector"), *[term(d) for d in DAMAGE_COLUMNS]], irows,
                    col_widths=[0.32, 0.15, 0.16, 0.16, 0.21])
    co = loaded.frames.get("corridors")
    crows: list[list[str]] = []
    if co is not None and len(co):
        for row, geom in zip(co.drop(columns=co.geometry.name).to_dict("records"), co.geometry.values, strict=True):
            crows.append([
                (_s(row.get("name")) or str(row["id"]))[:40], term(_s(row.get("status")) or None),
                _s(row.get("origin"))[:24], _s(row.get("destination"))[:24],
                fmt_number(geodesic_length_km(geom), digits=1),
                f"{dtg(row.get('window_start')) or '—'} – {dtg(row.get('window_end')) or '—'}",
                _s(row.get("reliability")),
            ])
    if "corridors" in loaded.frames:
        _table_axes(fig, (0.3 / W, 0.75 / H, 1 - 0.6 / W, 0.45 - 0.75 / H - 0.05), _("Corridors"),
                    [_("name"), _("status"), _("origin"), _("destination"), _("km"), _("window (DTG)"), _("rel.")],
                    crows,
                    col_widths=[0.25, 0.08, 0.15, 0.15, 0.06, 0.25, 0.06], max_rows=9)
    counts = ", ".join(f"{layer_title(n)} {print_int(c)}" for n, c in loaded.counts().items())
    footer(fig, _("Features in view: {counts} · produced {produced} · {marking}").format(
        counts=counts, produced=dtg(produced), marking=loaded.marking))
    return fig
