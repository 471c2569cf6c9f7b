"""Unexpected errors in the app: the viewer gets a message and an incident id, the log the traceback."""

from __future__ import annotations

import logging
import re

from streamlit.testing.v1 import AppTest


def _failing_page() -> None:
    import streamlit as st

    from cimic_geo.ui.incidents import incident_guard

    st.title("Before the error")
    with incident_guard():
        raise RuntimeError("cannot read /srv/cimic/secret-folder/cimic.duckdb")


def _stopping_page() -> None:
    import streamlit as st

    from cimic_geo.ui.incidents import incident_guard

    with incident_guard():
        st.info("stopping on purpose")
        st.stop()
    st.write("never shown")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_unexpected_error_shows_an_incident_id_and_logs_the_traceback() -> None:
    handler = _Collect()
    logger = logging.getLogger("cimic_geo.app")
    logger.addHandler(handler)
    try:
        at = AppTest.from_function(_failing_page, default_timeout=60)
        at.run()
    finally:
        logger.removeHandler(handler)
    assert not at.exception  # no traceback element reaches the browser
    assert [t.value for t in at.title] == ["Before the error"]
    message = at.error[0].value
    found = re.search(r"incident ([0-9a-f]{8})", message)
    assert found, message
    assert "/srv/cimic" not in message and "RuntimeError" not in message
    logged = [r for r in handler.records if found.group(1) in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "/srv/cimic/secret-folder" in logged[0].getMessage()  # the operator gets the details


def test_streamlit_control_flow_passes_through_the_guard() -> None:
    at = AppTest.from_function(_stopping_page, default_timeout=60)
    at.run()
    assert not at.exception and not at.error
    assert [i.value for i in at.info] == ["stopping on purpose"]
    assert "never shown" not in " ".join(m.value for m in at.markdown)
