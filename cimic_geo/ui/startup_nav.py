"""The navigation of the first page run after the server starts.

Streamlit treats an app with a ``pages/`` folder as a folder-based multipage app until the entry
script calls ``st.navigation``. In the first run after a start it therefore lists the files of
``pages/`` in the sidebar, with the entry script as "app" (and the browser tab titled "app"), for
as long as ``app.py`` takes to import the package (seconds) before :func:`cimic_geo.ui.sign_in.run_pages`
sets the real navigation. :func:`replace_startup_navigation`, called by ``app.py`` before those
imports, replaces that list at once with a hidden one, so no visitor sees "app" or the page files.

This module imports only Streamlit: it must run before the slow imports.
"""

from __future__ import annotations

import threading

import streamlit as st

#: The browser tab's title until the page sets its own.
STARTUP_TITLE = "CIMIC"

_lock = threading.Lock()
_done = False


def _starting() -> None:  # never run: run_pages sets the navigation that is run
    """Placeholder page of the hidden startup navigation."""


def replace_startup_navigation() -> bool:
    """In the first page run of this server process, send a hidden navigation with no page list.

    Later runs do nothing (``st.navigation`` has switched Streamlit out of the folder mode for the
    process). Returns True when it sent the navigation. A visitor whose first run started within the
    same instant as the very first one may still see the folder list for those seconds.
    """
    global _done
    with _lock:
        if _done:
            return False
        _done = True
    st.navigation([st.Page(_starting, title=STARTUP_TITLE, url_path="starting", default=True)], position="hidden")
    return True
