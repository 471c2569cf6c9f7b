"""Audit trail (administrators): who changed what, when; filters and CSV export."""

from cimic_geo.ui import audit_page
from cimic_geo.ui.common import page_setup
from cimic_geo.ui.sign_in import current_actor

store = page_setup("Audit")
audit_page.render(store, current_actor())
