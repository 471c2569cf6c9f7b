"""Partners (3W: who does what where): the 3W table and map, and the gaps no partner covers."""

import streamlit as st

from cimic_geo.i18n import _
from cimic_geo.ui import partners_page
from cimic_geo.ui.common import page_setup, settings

store = page_setup("Partners (3W)")
st.title(_("Partners: who does what where"))
partners_page.page(store, settings().marking or store.marking)
