"""Evacuation requests and missions: board beside the map, status workflow, progress."""

import streamlit as st

from cimic_geo.i18n import _
from cimic_geo.ui import evacuations_page
from cimic_geo.ui.common import page_setup, settings

store = page_setup("Evacuations")
st.title(_("Evacuations"))
evacuations_page.page(store, settings().marking or store.marking)
