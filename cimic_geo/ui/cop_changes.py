"""The COP's "what changed" panel: the window (since the last brief by default), one table per kind of
change, and the changed features highlighted on the map (the ``changes`` layer).

The page asks :func:`window_ui` for the two times (sidebar), adds :func:`highlight_layer` of its view to the
layers it draws and shows :func:`panel_ui` under the map. Results are cached per store content and window; the
map's layer also per view (the whole window's frame is kept once and cut to each view).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from cimic_geo.analytics.change_tables import KINDS, change_tables, kind_titles, summary_line
from cimic_geo.analytics.changes import Changes, build_changes
from cimic_geo.errors import CimicError
from cimic_geo.i18n import N_, _, get_language
from cimic_geo.maps.change_layer import PreparedChanges, changed_features, changes_in_view, prepare_changes
from cimic_geo.maps.cop_map import encode_layer, grid_cell_deg
from cimic_geo.maps.cop_view import AGGREGATE_CELL_PX, POINT_LIMIT, ViewNote
from cimic_geo.store import Store
from cimic_geo.store.brief_log import last_brief_time, record_brief
from cimic_geo.store.changes_reads import change_inputs
from cimic_geo.store.cop_reads import layers_as_of
from cimic_geo.store.trend_reads import features_by_id
from cimic_geo.timefmt import dtg
from cimic_geo.ui.common import audit_token
from cimic_geo.ui.common import key as _key
from cimic_geo.ui.result_cache import budgeted

PAGE = "cop"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """The two times compared: ``since`` and ``until`` (None: the current state), and what ``since`` is."""

    since: pd.Timestamp
    until: pd.Timestamp | None
    basis: str  # "brief" (the last brief's situation time), "24h" or "7d"


@st.cache_data(show_spinner=False, max_entries=8)
def _last_brief(_store: Store, token: str, before: pd.Timestamp) -> pd.Timestamp | None:
    return last_brief_time(_store, before=before)


def window_options(store: Store, token: str, *, as_of: pd.Timestamp | None) -> list[Window]:
    """The windows offered, the default first: since the last brief before the picture's time (when one was
    recorded), else 24 hours before it; then 24 hours and 7 days before it."""
    until = layers_as_of(store, as_of) if as_of is not None else None
    ref = until if until is not None else (as_of if as_of is not None else pd.Timestamp.now(tz="UTC").floor("min"))
    out = []
    brief = _last_brief(_store=store, token=audit_token(store), before=ref)  # a brief's record is an audit row: keyed on every commit
    if brief is not None and (until is None or brief < until):
        out.append(Window(brief, until, "brief"))
    out += [Window(ref - pd.Timedelta(hours=24), until, "24h"), Window(ref - pd.Timedelta(days=7), until, "7d")]
    return out


def _label(w: Window) -> str:
    if w.basis == "brief":
        return _("since the last brief ({time})").format(time=dtg(w.since))
    if w.basis == "24h":
        return _("last 24 hours (since {time})").format(time=dtg(w.since))
    return _("last 7 days (since {time})").format(time=dtg(w.since))


def window_ui(store: Store, token: str, *, as_of: pd.Timestamp | None) -> Window:
    """The "what changed" window chosen in the sidebar (default: since the last brief, else 24 h)."""
    options = window_options(store, token, as_of=as_of)
    i = st.selectbox(_("What changed"), range(len(options)), format_func=lambda j: _label(options[j]),
                     key=_key(PAGE, "changes_window"))
    return options[int(i or 0)]


# budgeted (like cache_resource, within the server's memory budget): one shared, read-only object per window
# (cache_data unpickled a copy of it, and of the tables below, at every pan, zoom and slider step: about
# 0.2 CPU s per run nationally)
@budgeted(max_entries=16)
def changes(_store: Store, token: str, since: pd.Timestamp, until: pd.Timestamp | None) -> Changes:
    """What changed between the two times (cached per store content and window; shared: do not modify)."""
    return build_changes(since=since, until=until, **change_inputs(_store, since=since, until=until))


# the whole frame once per window, not encoded (nationally the default 24 hours ring 18,531 features: 5 MB of
# GeoJSON when it was sent whole at every zoom or pan); each view is cut from it below
@budgeted(max_entries=8)
def _prepared(_store: Store, token: str, since: pd.Timestamp, until: pd.Timestamp | None,
              language: str) -> PreparedChanges:
    res = changes(_store, token, since, until)
    frames = {}
    for layer, ids in (("shelters", [c.id for c in res.shelters]), ("infrastructure", [d.id for d in res.damage])):
        # the position after the change, or before it for a feature removed in the window
        after = features_by_id(_store, layer, ids, as_of=until)
        gone = sorted(set(ids) - set(after["id"]))
        before = features_by_id(_store, layer, gone, as_of=since)
        frames[layer] = pd.concat([after, before], ignore_index=True) if len(before) else after
    frames["corridors"] = features_by_id(_store, "corridors", [c.id for c in res.corridors])
    return prepare_changes(changed_features(res, **frames))


@dataclass(frozen=True)
class Highlight:
    """The ``changes`` layers of one view, encoded for the map, and a note when the points were aggregated."""

    encoded: dict[str, str]
    note: ViewNote | None


@budgeted(max_entries=8)
def _whole(_store: Store, token: str, since: pd.Timestamp, until: pd.Timestamp | None, language: str) -> str:
    """The window's whole frame encoded (a small window is drawn whole at every view)."""
    return encode_layer("changes", _prepared(_store, token, since, until, language).frame)


# per view, like the COP's other layers (the page's fetched bbox: a pan inside it reuses the entry)
@budgeted(max_entries=16)
def _view(_store: Store, token: str, since: pd.Timestamp, until: pd.Timestamp | None, language: str,
          bbox: tuple[float, ...], zoom: int) -> Highlight:
    prepared = _prepared(_store, token, since, until, language)
    got = changes_in_view(prepared, bbox=bbox, point_limit=POINT_LIMIT,
                          cell_deg=grid_cell_deg(zoom, cell_px=AGGREGATE_CELL_PX))
    if got.layers["changes"] is prepared.frame:  # a small window: the same text at every view
        return Highlight({"changes": _whole(_store, token, since, until, language)}, None)
    note = None
    if got.cells:
        note = ViewNote(N_("{layer}: {n} in view aggregated into {cells} cells (zoom in for details)"),
                        layer="changes", n=got.points, cells=got.cells)
    return Highlight({name: encode_layer(name, gdf) for name, gdf in got.layers.items()}, note)


@budgeted(max_entries=16)
def _tables(_store: Store, token: str, since: pd.Timestamp, until: pd.Timestamp | None,
            language: str) -> dict[str, pd.DataFrame]:
    """The panel's tables (formatted in ``language``): made once per window, not at every pan or zoom."""
    return change_tables(changes(_store, token, since, until))


def highlight_layer(store: Store, token: str, window: Window, *, bbox: tuple[float, ...], zoom: int) -> Highlight:
    """The changed features in ``bbox`` (the view's fetched bbox) as highlight rings for the map at ``zoom``
    (``changes``), counted per grid cell above the COP's point limit (``changes_grid``), as the other point
    layers are; with the note to show under the map then."""
    return _view(_store=store, token=token, since=window.since, until=window.until, language=get_language(),
                 bbox=tuple(float(v) for v in bbox), zoom=int(zoom))


def panel_ui(store: Store, token: str, window: Window) -> Changes:
    """The "what changed" panel: a summary line, a choice of the kind of change and its table."""
    res = changes(_store=store, token=token, since=window.since, until=window.until)
    until = dtg(window.until) if window.until is not None else _("now")
    st.subheader(_("What changed {since} → {until}").format(since=dtg(window.since), until=until))
    st.caption(summary_line(res) + " · " + _("changed features are ringed on the map"))
    tables = _tables(_store=store, token=token, since=window.since, until=window.until, language=get_language())
    titles = kind_titles()
    # one table at a time: the browser redraws only the chosen kind at every step of the slider (tabs drew
    # every kind's grid each time, hidden or not)
    kind = st.segmented_control(
        _("Kind of change"), KINDS, default=KINDS[0], required=True, key=_key(PAGE, "changes_kind"),
        format_func=lambda k: titles[k] if k == "front" else f"{titles[k]} ({len(tables[k])})",
        label_visibility="collapsed") or KINDS[0]
    if len(tables[kind]):
        st.dataframe(tables[kind], hide_index=True, width="stretch")
    else:
        st.caption(_("No change."))
    return res


def record_brief_export(store: Store, *, view_as_of: Any, file_name: str) -> bool:
    """Record that the signed-in user exported a brief of the situation at ``view_as_of`` (the layers' time:
    now when the view shows the current state), so that the next "since the last brief" starts there.
    Returns whether it was recorded (not on a read-only store, nor without a signed-in user)."""
    from cimic_geo.ui.sign_in import current_actor

    actor = current_actor()
    if actor is None:
        return False
    shown = layers_as_of(store, view_as_of) if view_as_of is not None else None
    try:
        return record_brief(store, actor=actor, as_of=shown, file_name=file_name)
    except CimicError as exc:  # the export itself succeeded: say so in the log only
        log.warning("brief export not recorded: %s", exc)
        return False


@st.cache_data(show_spinner=False, max_entries=4)
def _trends_png(_store: Store, token: str, bands_km: tuple[float, ...], language: str) -> bytes | None:
    from cimic_geo.export.brief_trends import store_trends, trends_png

    trends = store_trends(_store, bands_km=bands_km)
    return trends_png(trends) if trends.times else None


def trends_ui(store: Store, token: str, *, bands_km: tuple[float, ...]) -> None:
    """Trend charts over the history (on demand: at national scale the first drawing takes seconds; then
    cached until the store changes)."""
    if not st.toggle(_("Show trends over the history"), value=False, key=_key(PAGE, "trends")):
        return
    with st.spinner(_("Computing the trends over every snapshot…")):
        png = _trends_png(store, token, tuple(bands_km), get_language())
    if png is None:
        st.caption(_("No snapshot times in the store: no trends to draw."))
        return
    st.image(png, caption=_("Population within each threat band, shelter places used, open damage by sector and "
                            "corridors by status at each snapshot time"))
