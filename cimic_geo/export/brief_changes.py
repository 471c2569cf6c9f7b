"""The PDF brief's "since the last brief" page (A4 landscape, vector): what changed between the situation
the last brief showed (its time is recorded when a brief is exported from the app, see
:mod:`cimic_geo.store.brief_log`; 24 hours earlier when none was) and this brief's time.

The tables are :func:`cimic_geo.analytics.change_tables.change_tables`, the same rows as the COP's
"what changed" panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from cimic_geo.analytics.change_tables import change_tables, kind_titles, summary_line
from cimic_geo.analytics.changes import Changes, build_changes
from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.snapshot_pages import A4_LANDSCAPE_IN, _table_axes, footer, marked_page, page_title, wrap_to_width
from cimic_geo.i18n import _
from cimic_geo.store.brief_log import last_brief_time
from cimic_geo.store.changes_reads import change_inputs
from cimic_geo.store.cop_reads import layers_as_of
from cimic_geo.timefmt import dtg


@dataclass(frozen=True)
class BriefWindow:
    """The window of the page: ``since`` (the last brief's time, or 24 h earlier: ``from_brief`` False) and
    ``until`` (None: the current state)."""

    since: pd.Timestamp
    until: pd.Timestamp | None
    from_brief: bool


def brief_window(store: Any, loaded: LoadedView, *, produced: pd.Timestamp) -> BriefWindow:
    """The times this brief compares: the last brief before the view's time (or 24 hours before it) and the
    time its layers are read at (:func:`~cimic_geo.store.cop_reads.layers_as_of`)."""
    as_of = loaded.view.as_of
    until = layers_as_of(store, as_of) if as_of is not None else None
    ref = until if until is not None else (pd.Timestamp(as_of) if as_of is not None else produced)
    ref = ref.tz_localize("UTC") if ref.tzinfo is None else ref
    last = last_brief_time(store, before=ref)
    if last is not None:
        return BriefWindow(last, until, True)
    return BriefWindow(ref - pd.Timedelta(hours=24), until, False)


def brief_changes(store: Any, window: BriefWindow) -> Changes:
    """What changed in the window (the same computation as the ``changes`` command)."""
    return build_changes(since=window.since, until=window.until,
                         **change_inputs(store, since=window.since, until=window.until))


def render_changes_figure(store: Any, loaded: LoadedView, *, produced: pd.Timestamp | None = None) -> Figure:
    """The "since the last brief" page: a summary line and one table per kind of change."""
    produced = produced if produced is not None else pd.Timestamp.now(tz="UTC")
    window = brief_window(store, loaded, produced=produced)
    res = brief_changes(store, window)
    fig = marked_page(loaded.marking)
    W, H = A4_LANDSCAPE_IN
    until = dtg(window.until) if window.until is not None else dtg(produced)
    fig.text(0.3 / W, 1 - 0.42 / H, _("{title} — since the last brief").format(title=page_title(loaded.view)),
             fontsize=15, fontweight="bold", va="top")
    fig.text(1 - 0.3 / W, 1 - 0.42 / H, until, fontsize=15, fontweight="bold", va="top", ha="right")
    basis = (_("since the last brief ({time})") if window.from_brief
             else _("no earlier brief recorded: the last 24 hours (since {time})")).format(time=dtg(window.since))
    sub = " · ".join([basis, summary_line(res)])
    fig.text(0.3 / W, 1 - 0.80 / H, "\n".join(wrap_to_width(sub, fontsize=8, width_in=W - 0.6)[:2]), fontsize=8,
             va="top", color="#333333")
    tables, titles = change_tables(res), kind_titles()
    rows = {k: [[str(v) for v in r] for r in t.values.tolist()] or [[_("no change")] + [""] * (t.shape[1] - 1)]
            for k, t in tables.items()}
    top, mid, bottom = 1 - 1.30 / H, 0.50, 0.75 / H + 0.02
    left, gap = 0.3 / W, 0.25 / W
    half = (1 - 0.6 / W - gap) / 2
    third = (1 - 0.6 / W - 2 * gap) / 3
    _table_axes(fig, (left, mid + 0.02, half, top - mid - 0.04), titles["shelters"], list(tables["shelters"].columns),
                rows["shelters"], fontsize=7, col_widths=[0.2, 0.08, 0.2, 0.13, 0.13, 0.13, 0.13], max_rows=10)
    _table_axes(fig, (left + half + gap, mid + 0.02, half, top - mid - 0.04), titles["damage"],
                list(tables["damage"].columns), rows["damage"], fontsize=7,
                col_widths=[0.15, 0.27, 0.1, 0.16, 0.16, 0.16], max_rows=10)
    _table_axes(fig, (left, bottom, third, mid - bottom - 0.06), titles["corridors"], list(tables["corridors"].columns),
                rows["corridors"], fontsize=6.5, col_widths=[0.23, 0.25, 0.08, 0.16, 0.15, 0.13], max_rows=8)
    _table_axes(fig, (left + third + gap, bottom, third, mid - bottom - 0.06), titles["front"],
                list(tables["front"].columns), rows["front"], fontsize=7, col_widths=[0.5, 0.5], max_rows=4)
    _table_axes(fig, (left + 2 * (third + gap), bottom, third, mid - bottom - 0.06), titles["imports"],
                list(tables["imports"].columns), rows["imports"], fontsize=6.5,
                col_widths=[0.2, 0.17, 0.1, 0.35, 0.18], max_rows=8)
    footer(fig, _("Changes for the whole store from {since} to {until} · layers as reported at each time · "
                  "produced {produced} · {marking}").format(since=dtg(window.since), until=until,
                                                            produced=dtg(produced), marking=loaded.marking))
    return fig
