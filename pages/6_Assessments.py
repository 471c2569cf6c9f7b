"""Civil assessments: each settlement's latest picture per sector, stale assessments, settlement cards."""

import streamlit as st

from cimic_geo.i18n import _
from cimic_geo.ui import assessments_page
from cimic_geo.ui.common import page_setup, settings

store = page_setup("Civil assessments")
st.title(_("Civil assessments"))
assessments_page.page(store, settings().marking or store.marking)
