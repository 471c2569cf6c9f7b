"""The PDF brief's evacuation and needs page (A4 landscape, vector).

Evacuations (whole store, at the view's time or now): progress figures, people still waiting per
threat band and group, the longest-waiting open requests and missions per day; needs: the latest
civil assessment of each settlement per sector status, and the 3W gaps (settlements with an unmet
need that no partner of the sector covers). Numbers come from :mod:`cimic_geo.evacuations` and
:mod:`cimic_geo.civil`, the same functions as the pages and the CLI.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cimic_geo.errors import CimicError
from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.snapshot_kpis import print_int
from cimic_geo.export.snapshot_pages import A4_LANDSCAPE_IN, _table_axes, footer, marked_page, page_title
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.timefmt import dtg


def _count(store: Any, table: str) -> int:
    # table names from this module's fixed tuple only
    assert table in ("evacuations", "assessments")
    return int(store.query_df(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])


def _fmt(n: Any) -> str:
    return print_int(int(n))


def _band(label: Any) -> str:
    """A threat band as printed: distance ranges as they are (``0-5``), the named bands translated."""
    text = str(label)
    return term(text) if text and not text[0].isdigit() else text


def render_cimic_figure(store: Any, loaded: LoadedView, *, produced: pd.Timestamp | None = None,
                        bands_km: Any = None) -> Figure | None:
    """The evacuation and needs page, or None when the store has neither evacuations nor assessments."""
    from cimic_geo.civil import assessment_overview, partner_overview
    from cimic_geo.evacuations import evacuation_overview

    has_evac, has_assess = _count(store, "evacuations") > 0, _count(store, "assessments") > 0
    if not (has_evac or has_assess):
        return None
    produced = produced if produced is not None else pd.Timestamp.now(tz="UTC")
    fig = marked_page(loaded.marking)
    W, H = A4_LANDSCAPE_IN
    as_of = loaded.view.as_of
    ov = evacuation_overview(store, as_of=as_of, bands_km=bands_km) if has_evac else None
    when = dtg(ov.now) if ov is not None else dtg(as_of if as_of is not None else produced)
    fig.text(0.3 / W, 1 - 0.42 / H, _("{title} — evacuations and needs").format(title=page_title(loaded.view)),
             fontsize=15,
             fontweight="bold", va="top")
    fig.text(1 - 0.3 / W, 1 - 0.42 / H, when, fontsize=15, fontweight="bold", va="top", ha="right")
    top = 1 - 1.15 / H
    col_w = (W - 0.6 - 0.5) / 3 / W
    x1, x2 = 0.3 / W, 0.3 / W + col_w + 0.25 / W
    x3 = x2 + col_w + 0.25 / W
    mid = 0.50
    if ov is not None:
        k = ov.kpis()
        lines = [f"{label}: {value}" for label, value in (
            (_("Open requests"), _fmt(k["requests_open"])), (_("People waiting"), _fmt(k["people_waiting"])),
            (_("People underway"), _fmt(k["people_underway"])), (_("People evacuated"), _fmt(k["people_evacuated"])),
            (_("Failed missions"), _fmt(k["missions_failed"])), (_("Missions started, 24 h"), _fmt(k["missions_last_24h"])))]
        if ov.oldest:
            lines.append(_("Oldest open: {id} since {since} ({hours} h)").format(
                id=ov.oldest["id"], since=ov.oldest["requested_dtg"], hours=fmt_int(ov.oldest["age_hours"])))
        fig.text(x1, top, _("Evacuations (whole store)"), fontsize=10, fontweight="bold", va="bottom")
        fig.text(x1, top - 0.02, "\n".join(lines), fontsize=8, va="top", linespacing=1.5)
        t = ov.by_band
        rows = [[_band(b), _fmt(r["requests"]), _fmt(r["people"]), _fmt(r["children"]), _fmt(r["elderly"]),
                 _fmt(r["reduced_mobility"]), _fmt(r["bedridden"]), _fmt(r["pets"])] for b, r in t.iterrows()]
        _table_axes(fig, (x2, mid + 0.02, 2 * col_w + 0.25 / W, top - mid - 0.04),
                    _("People waiting per threat band (km) and group"),
                    [_("band"), _("requests"), _("people"), _("children"), _("elderly"), _("reduced mob."),
                     _("bedridden"), _("pets")], rows,
                    col_widths=[0.21, 0.11, 0.11, 0.11, 0.11, 0.13, 0.12, 0.10], max_rows=8)
        board = ov.board()
        waiting = board[board["status"].isin(("requested", "planned"))].sort_values(
            ["waiting_h", "id"], ascending=[False, True]).head(8)
        orows = [[str(r.id), term(str(r.status)), str(r.settlement or "")[:16], _fmt(r.people), _band(r.band),
                  print_int(r.waiting_h)] for r in waiting.itertuples(index=False)]
        _table_axes(fig, (x1, 0.75 / H + 0.02, col_w, mid - 0.75 / H - 0.08), _("Longest waiting"),
                    [_("id"), _("status"), _("settlement"), _("people"), _("band"), _("hours")], orows,
                    col_widths=[0.16, 0.17, 0.29, 0.11, 0.14, 0.13], fontsize=7, max_rows=8)
        ax = fig.add_axes((x2 + 0.3 / W, 0.75 / H + 0.07, col_w - 0.3 / W, mid - 0.75 / H - 0.13))
        days = ov.per_day
        x = np.arange(len(days))
        ax.bar(x - 0.2, days["started"], width=0.4, color="#1f77b4", label=_("started"))
        ax.bar(x + 0.2, days["completed"], width=0.4, color="#2ca02c", label=_("completed"))
        ax.set_xticks(x, [d.strftime("%d") for d in days.index], fontsize=6)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))  # from 0, and 0..1 on a day without missions
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # missions are counted: whole numbers
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v)))
        ax.set_title(_("Missions per day (UTC)"), fontsize=9, fontweight="bold", loc="left")
        ax.legend(fontsize=6, frameon=False)
    if has_assess:
        try:
            ao = assessment_overview(store, as_of=as_of)
            po = partner_overview(store, as_of=as_of)
        except CimicError as exc:
            fig.text(x3, mid - 0.05, _("Needs: {reason}").format(reason=exc), fontsize=8)
            return fig
        s = ao.summary
        gaps = po.gaps.by_sector.set_index("sector")
        nrows = [[term(r.sector), _fmt(r.functional), _fmt(r.partial), _fmt(r.disrupted), _fmt(r.unknown),
                  _fmt(gaps.loc[r.sector, "gaps"]) if r.sector in gaps.index else "",
                  _fmt(gaps.loc[r.sector, "people_in_gaps"]) if r.sector in gaps.index else ""]
                 for r in s.itertuples(index=False)]
        if ov is None:  # the whole page for the needs
            x_needs, width, top_needs = x1, 1 - 0.6 / W, top
        else:  # bottom right, beside the missions chart
            x_needs, width, top_needs = x3, col_w, mid - 0.02
        _table_axes(fig, (x_needs, 0.75 / H + 0.02, width, top_needs - 0.75 / H - 0.06),
                    _("Needs ({n} settlements assessed)").format(n=fmt_int(len(ao.latest))),
                    [_("sector"), _("ok"), _("partial"), _("disrupt."), _("unkn."), _("gaps"), _("people")], nrows,
                    col_widths=[0.2, 0.11, 0.13, 0.14, 0.12, 0.11, 0.19], fontsize=6.5, max_rows=10)
    footer(fig, _("Evacuations and needs for the whole store at {when} · bands from the front line in force · "
                  "produced {produced} · {marking}").format(when=when, produced=dtg(produced), marking=loaded.marking))
    return fig
