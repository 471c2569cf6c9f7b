"""Partners page plumbing (3W: who does what where): the 3W table, the map of partner areas and
gaps, the gap list per sector and the history of one entry. Figures come from
:mod:`cimic_geo.civil`; shared page pieces from :mod:`cimic_geo.ui.layer_page`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from cimic_geo.analytics.partner_gaps import area_label
from cimic_geo.civil import PartnerOverview, partner_overview, partner_versions
from cimic_geo.errors import CimicError
from cimic_geo.i18n import _, fmt_int, term
from cimic_geo.maps.civil_map import partners_map
from cimic_geo.schema import ASSESSMENT_SECTORS
from cimic_geo.store import Store
from cimic_geo.timefmt import dtg
from cimic_geo.ui import layer_page as lp
from cimic_geo.ui.common import data_token, key
from cimic_geo.ui.cop_page import assets_ok
from cimic_geo.ui.sheet_panel import plain, sheet_import_panel
from cimic_geo.ui.tables import display_frame

PAGE = "partners"
ALL = "all sectors"
#: Session-state / widget key private to this page.
k = partial(key, PAGE)


@st.cache_data(show_spinner=False, max_entries=16)
def _overview(_store: Store, token: str, as_of: Any, sector: str | None) -> PartnerOverview:
    return partner_overview(_store, as_of=as_of, sector=sector)


@st.cache_data(show_spinner=False, max_entries=32)
def _versions(_store: Store, token: str, partner_id: str) -> pd.DataFrame:
    return partner_versions(_store, partner_id)


def controls(store: Store, token: str) -> tuple[pd.Timestamp, str | None]:
    """Sidebar: as-of date and sector."""
    with st.sidebar:
        st.subheader(_("Partners (3W)"))
        as_of = lp.as_of_day(store, token, key=k("as_of"))
        sector = st.selectbox(_("Sector"), [ALL, *ASSESSMENT_SECTORS], key=k("sector"),
                              format_func=lambda v: _("all sectors") if v == ALL else term(v))
    return as_of, None if sector == ALL else sector


def kpis(ov: PartnerOverview) -> None:
    doc = ov.to_dict(gaps=False, table=False)
    by = ov.gaps.by_sector
    c = st.columns(4)
    c[0].metric(_("3W entries"), fmt_int(doc["partners"]))
    c[1].metric(_("Organisations"), fmt_int(doc["organisations"]))
    c[2].metric(_("Unmet needs covered"), _("{covered} of {total}").format(covered=fmt_int(by["covered"].sum()),
                                                                           total=fmt_int(by["needs"].sum())))
    c[3].metric(_("Settlements with a gap"), fmt_int(doc["gap_settlements"]))


def tables(store: Store, token: str, ov: PartnerOverview) -> None:
    """The 3W table, the gaps and the versions of one entry, in tabs."""
    tab_w, tab_g, tab_h = st.tabs([_("3W table"), _("Gaps"), _("History of an entry")])
    with tab_w:
        shown = ov.table.assign(area=ov.table["area"].map(area_label)) if "area" in ov.table else ov.table
        st.dataframe(display_frame(shown), hide_index=True, width="stretch", height=320)
        lp.csv_download(_("Download 3W (CSV)"), ov.table, file_name=f"3w_{dtg(ov.as_of)}.csv", key=k("dl_3w"))
    with tab_g:
        st.dataframe(display_frame(ov.gaps.by_sector), hide_index=True, width="stretch")
        cols = [c for c in ("settlement_id", "name", "admin1", "sector", "status", "age_days", "people")
                if c in ov.gaps.gaps]
        gaps = pd.DataFrame(ov.gaps.gaps[cols]).sort_values(["people"], ascending=False)
        st.dataframe(display_frame(gaps), hide_index=True, width="stretch", height=300)
        lp.csv_download(_("Download gaps (CSV)"), gaps, file_name=f"3w_gaps_{dtg(ov.as_of)}.csv", key=k("dl_gaps"))
    with tab_h:
        ids = ov.table["partner_id"].astype(str).tolist()
        if ids:
            pid = st.selectbox(_("3W entry"), ids, key=k("entry"))
            st.dataframe(display_frame(_versions(store, token, pid)), hide_index=True, width="stretch")
        else:
            st.info(_("No 3W entry in force at this time."))


def page(store: Store, marking: str | None) -> None:
    """The whole page body after :func:`cimic_geo.ui.common.page_setup`."""
    token = data_token(store)
    as_of, sector = controls(store, token)
    try:
        ov = _overview(store, token, as_of, sector)
    except CimicError as exc:
        st.error(plain(exc))
        st.stop()
    st.caption(_("As of {dtg}. A gap is a settlement whose latest assessment shows a sector partial or disrupted, "
                 "with no partner of that sector serving it (listed, or inside its area).").format(dtg=dtg(ov.as_of)))
    kpis(ov)
    if assets_ok():
        lp.show_map(partners_map(ov.partners, settlements=ov.settlements, gaps=ov.gaps.gaps,
                                 look=lp.map_look(marking)), key=k("map"))
    tables(store, token, ov)
    sheet_import_panel(store, "partners", page=PAGE)
