"""The COP's settlement search: the pin, and the view the map moves to, known before the browser reports it.

A newly chosen place moves the page's view state (``cop:map``) to the view a Leaflet map of the same size
shows centred on the place at :data:`SEARCH_ZOOM` (:func:`cimic_geo.maps.controls.view_bounds`), so the run
that draws the pin also reads and sends that view's layers. The pin's layer carries a ``goto`` member
(a number that changes with each new place and the zoom); the browser (``maps/js/cop-layers.js``) moves
the map there once per number. The view the map then reports is the one already read: the run it causes
finds every layer and the KPI strip in the caches.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from cimic_geo.i18n import _
from cimic_geo.maps.controls import view_bounds, view_size_px
from cimic_geo.maps.cop_map import features_geojson, script_json
from cimic_geo.maps.cop_view import search_layer
from cimic_geo.store import Store
from cimic_geo.ui.cop_page import MAP_HEIGHT, MAP_KEY, _bounds_from_state, cached_search, k

#: The zoom the map moves to for a found place.
SEARCH_ZOOM = 12
#: The map's size (px) assumed before it has reported a view (its height is fixed; the width a guess).
DEFAULT_SIZE_PX = (900, MAP_HEIGHT)


def move_view(center: tuple[float, float], zoom: int) -> tuple[float, float, float, float]:
    """Set the page's view state to the view the map shows after ``setView(center, zoom)``; return its bounds.

    The map's pixel size comes from the last view it reported (:data:`DEFAULT_SIZE_PX` before any).
    """
    state: dict[str, Any] = dict(st.session_state.get(MAP_KEY) or {})
    reported = _bounds_from_state(state)
    size = view_size_px(*reported) if reported else DEFAULT_SIZE_PX
    x0, y0, x1, y1 = view_bounds(center, zoom, size)
    state.update(bounds={"_southWest": {"lat": y0, "lng": x0}, "_northEast": {"lat": y1, "lng": x1}}, zoom=zoom)
    st.session_state[MAP_KEY] = state
    return x0, y0, x1, y1


def _goto_number(place_id: Any, center: tuple[float, float]) -> int:
    """The ``goto`` number of the place chosen: the same while it stays chosen, a new one (and the view
    moved there) when another place is chosen or the same one is searched again after a cleared search."""
    last = st.session_state.get(k("search_at"))
    if last is not None and last[0] == place_id:
        return int(last[1])
    n = int(st.session_state.get(k("search_n"), 0)) + 1
    st.session_state[k("search_n")] = n
    st.session_state[k("search_at")] = (place_id, n)
    move_view(center, SEARCH_ZOOM)
    return n


def search_ui(store: Store, token: str) -> dict[str, str]:
    """Settlement search (drawn where called): the encoded pin layer, ``{}`` when nothing is chosen."""
    text = st.text_input(_("Find a settlement"), key=k("search"),
                         placeholder=_("English or Ukrainian name, e.g. Kramatorsk or Краматорськ"))
    if not text.strip():
        st.session_state.pop(k("search_at"), None)
        return {}
    found = cached_search(store, token, text)
    if found.empty:
        st.caption(_("No settlement matches."))
        st.session_state.pop(k("search_at"), None)
        return {}
    labels = [f"{r['name']} ({r['admin1'] or '–'}, pop. {int(r['population'] or 0):,})" for _i, r in found.iterrows()]
    i = st.selectbox(_("Matches"), range(len(found)), format_func=lambda j: labels[j], key=k("search_pick"))
    row = found.iloc[int(i)]
    st.caption(f"{row['lat']:.5f}° N, {row['lon']:.5f}° E · MGRS {row['mgrs']}")
    n = _goto_number(row["id"], (float(row["lat"]), float(row["lon"])))
    data = features_geojson("search", search_layer(row))
    return {"search": script_json({**data, "goto": {"n": n, "zoom": SEARCH_ZOOM}})}
