"""Exposure per threat band, shelter coverage and restoration priority (issue 5)."""

import streamlit as st

from cimic_geo.ui import analytics
from cimic_geo.ui.common import page_setup, settings

store = page_setup("Exposure and coverage")
st.title("Exposure, shelter coverage and restoration")
analytics.page(store, settings().marking or store.marking)
