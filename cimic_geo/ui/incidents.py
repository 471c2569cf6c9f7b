"""Unexpected errors in the app: a short message with an incident id for the viewer, the details in the log.

Viewers never see a traceback, a server path or the text of an unexpected error (Streamlit's own
``client.showErrorDetails`` is ``none``). The server log gets the full traceback under the same id,
so an operator can find it when a user reports the id.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import streamlit as st
from streamlit.logger import get_logger

from cimic_geo.i18n import _

_LOG = get_logger("cimic_geo.app")


def new_incident_id() -> str:
    """A short random id (8 hex digits) to quote when reporting a problem."""
    return secrets.token_hex(4)


def report_incident(exc: BaseException, *, what: str | None = None) -> str:
    """Log ``exc`` with its traceback under a new incident id, show the viewer a message; return the id."""
    incident = new_incident_id()
    _LOG.error("incident %s: %s: %s", incident, type(exc).__name__, exc, exc_info=exc)
    what = what or _("This page stopped because of an unexpected error")
    st.error(_("{what} (incident {incident}). The details are in the server log under this incident id; quote it "
               "when you report the problem.").format(what=what, incident=incident))
    return incident


@contextlib.contextmanager
def incident_guard() -> Iterator[None]:
    """Run a page inside: an unexpected exception becomes :func:`report_incident` instead of a traceback.

    Streamlit's own control flow (``st.stop``, ``st.rerun``) derives from ``BaseException`` and
    passes through untouched.
    """
    try:
        yield
    except Exception as exc:
        report_incident(exc)
