"""What the pages of the CIMIC layers (evacuations, civil assessments, partners) share: reads
cached per store content (:func:`cimic_geo.ui.common.data_token`), the as-of day, the map, CSV
downloads and the check that the signed-in user may write.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from cimic_geo.auth import PERMISSIONS, Actor
from cimic_geo.civil import reference_time
from cimic_geo.export.gis import table_csv
from cimic_geo.i18n import _, term
from cimic_geo.maps.layers_common import MapLook
from cimic_geo.store import Store
from cimic_geo.ui.common import settings
from cimic_geo.ui.sign_in import current_actor


@st.cache_data(show_spinner=False, max_entries=4)
def reference(_store: Store, token: str) -> pd.Timestamp:
    """The latest information in the store (:func:`cimic_geo.civil.reference_time`)."""
    return reference_time(_store)


@st.cache_data(show_spinner=False, max_entries=16)
def front(_store: Store, token: str, t: Any) -> tuple[Any, Any]:
    """The front line and the occupied area in force at ``t``."""
    return _store.read("front_line", as_of=t), _store.read("occupied_area", as_of=t)


def as_of_day(store: Store, token: str, *, key: str) -> pd.Timestamp:
    """Sidebar date input: the end of the chosen UTC day, or the latest information for its day."""
    ref = reference(store, token)
    day = st.date_input(_("As of (end of day, UTC)"), value=ref.date(), key=key)
    if isinstance(day, date) and day == ref.date():
        return ref  # the latest information, not the end of its day
    return pd.Timestamp(datetime.combine(day, time(23, 59, 59)), tz="UTC")


def map_look(marking: str | None, *, height: int = 560) -> MapLook:
    """Marking and the operator's tile server (settings) for a page map."""
    cfg = settings()
    return MapLook(marking=marking, tile_url=cfg.tile_url, tile_attribution=cfg.tile_attribution, height=height)


def show_map(m: folium.Map, *, key: str, height: int = 560) -> None:
    """Render a folium map (a static view: no state comes back from it)."""
    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[])


def csv_download(label: str, frame: pd.DataFrame, *, file_name: str, key: str) -> None:
    """A download button for ``frame`` as UTF-8 CSV without the index (formula prefixes neutralised)."""
    st.download_button(label, table_csv(frame), file_name=file_name, mime="text/csv",
                       key=key)


def writer(store: Store, permission: str, *, action: str) -> Actor | None:
    """The signed-in user when they may ``permission`` on a writable store; else an explanation
    (``action`` names what is disabled, translated and capitalised, e.g. ``_("Status changes")``) and None."""
    if store.read_only:
        st.info(_("The store is open read-only (CIMIC_READ_ONLY). {action} are disabled.").format(action=action))
        return None
    actor = current_actor()
    if actor is None or not actor.can(permission):
        st.info(_("{action} need the role {role} or higher.").format(action=action, role=term(PERMISSIONS[permission])))
        return None
    return actor
