"""Exposure per threat band, shelter coverage and restoration priority."""

import streamlit as st

from cimic_geo.i18n import _
from cimic_geo.ui import analytics_page as analytics
from cimic_geo.ui import export_panel
from cimic_geo.ui.common import page_setup, settings, still_page

store = page_setup("Exposure and coverage")
st.title(_("Exposure, shelter coverage and restoration"))
still_page()
marking = settings().marking or store.marking
shown = analytics.page(store, marking)
export_panel.render(store, bbox=shown.bbox, as_of=shown.as_of, layers=analytics.EXPORT_LAYERS,
                    title=_("CIMIC exposure and shelter coverage"), marking=marking, page=analytics.PAGE)
