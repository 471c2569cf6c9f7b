"""Shared Streamlit plumbing: the cached store, page header with the EXERCISE banner, state keys.

Every page calls :func:`page_setup` first. Session-state keys are namespaced per page with
:func:`key` so two pages never share a key by accident.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import html
import re
import sys
import threading
import weakref
from collections.abc import Iterator

import streamlit as st
from streamlit import runtime

from cimic_geo.config import Settings, load_settings
from cimic_geo.errors import CimicError, StoreNotFoundError
from cimic_geo.i18n import LANGUAGES, _, get_language, set_language
from cimic_geo.store import Store
from cimic_geo.store.content_stamp import content_stamp, raw_stamp
from cimic_geo.store.shared import SharedStore


@st.cache_resource(show_spinner=False)
def _shared_store(db_path: str, read_only: bool) -> SharedStore:
    # One per process: opens the file for page runs and lets go of it between them, so that
    # imports and exports from other programs can run while the app serves (store/shared.py).
    return SharedStore(db_path, read_only=read_only)


_run = threading.local()


@contextlib.contextmanager
def store_run() -> Iterator[None]:
    """Bracket one page run (``app.py``): the store cursor of the run is released at its end."""
    _run.active, _run.lease = True, None
    _glibc()  # the allocator tuned before the first run allocates
    warm_imports()
    try:
        yield
    finally:
        lease, _run.active, _run.lease = getattr(_run, "lease", None), False, None
        if lease is not None:
            lease[0].release(lease[1])
        release_free_memory()


#: The modules of the heavy pages (maps, geometry, analytics): imported once per process in the
#: background after the server's first page run, not on a user's first visit of those pages.
WARM_MODULES = ("cimic_geo.ui.analytics_page", "cimic_geo.ui.planner_page", "cimic_geo.ui.export_panel",
                "cimic_geo.ui.cop_page")
#: Modules whose ``warm_data()`` the same thread then runs, in this order: the planner's data version
#: (a hash, under a second), then the Exposure page's default exposure (seconds nationally).
WARM_DATA = ("cimic_geo.ui.planner_page", "cimic_geo.ui.analytics_page")
_warm_started = threading.Event()


def warm_imports() -> None:
    """Start importing :data:`WARM_MODULES` in a background thread (once per process).

    Importing them (geopandas, shapely, pyproj, folium and the analytics) takes seconds; a page run
    that needs one of them meanwhile waits on Python's import lock for the same import, never
    doing it twice. The thread carries the starting run's context (Streamlit registers a
    component such as the map's only when imported with one); the imports draw nothing.
    """
    if _warm_started.is_set():
        return
    _warm_started.set()

    def run() -> None:
        import importlib

        for name in WARM_MODULES:
            with contextlib.suppress(Exception):  # the page's own import reports any error
                importlib.import_module(name)
        freeze_imported()
        if not runtime.exists():  # a page tested in-process (AppTest): no server to warm up
            return
        for name in WARM_DATA:  # then what a first visit would wait for, cheapest first
            warm = getattr(sys.modules.get(name), "warm_data", None)
            if warm is not None:
                with contextlib.suppress(Exception):  # best effort: the page computes it itself otherwise
                    warm()

    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    thread = threading.Thread(target=run, name="cimic-warm-imports", daemon=True)
    # with the run's context: a map component (streamlit_folium) registers itself on import only then
    add_script_run_ctx(thread, get_script_run_ctx(suppress_warning=True))
    thread.start()


def freeze_imported() -> None:
    """Leave what the imports made out of the garbage collector's full passes (``gc.freeze``).

    The modules, classes and functions of the libraries (some 140,000 tracked objects, more with
    Streamlit's own) live as long as the process; each full pass of the collector walked them all again:
    0.1-0.15 CPU s, about once per COP zoom step. Frozen after a first collection, they are never
    walked; what the pages make later is collected as before (objects freed by reference counting are
    freed at once either way).
    """
    gc.collect()
    gc.freeze()


_libc: list[object] = []
#: glibc ``mallopt`` parameters: blocks of at least :data:`MMAP_THRESHOLD_BYTES` get their own mapping,
#: given back to the system when freed (glibc otherwise raises the threshold up to 32 MB after the
#: first large free, and national arrays then stay in the heap, fragmenting it); at most
#: :data:`ARENA_MAX` arenas for all the session threads (glibc makes up to 8 per core).
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
MMAP_THRESHOLD_BYTES, ARENA_MAX = 1 << 20, 2


def _glibc() -> object | None:
    """glibc (tuned once: see :data:`MMAP_THRESHOLD_BYTES`), or None on another C library."""
    if not _libc:
        try:
            libc = ctypes.CDLL("libc.so.6")
        except OSError:
            libc = None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
            libc.mallopt(M_ARENA_MAX, ARENA_MAX)
        _libc.append(libc)
    return _libc[0]


def release_free_memory() -> None:
    """Hand memory the run freed back to the system (glibc ``malloc_trim``; nothing elsewhere).

    Each Streamlit session runs its pages in its own thread, and glibc keeps what a thread freed in
    that thread's arena: after a national-scale run (road graph, coverage, frames) the process would
    keep its peak size for good. Trimming after each run keeps the server's memory flat under
    repeated use; the caches' own entries are bounded by their ``max_entries``. Arrow's own pool (the
    store's reads arrive as Arrow tables; pandas keeps text columns in it) keeps what it freed too: it is
    asked to give it back as well (a fraction of a millisecond).
    """
    libc = _glibc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
    pa = sys.modules.get("pyarrow")  # only once something has read through Arrow
    if pa is not None:
        pa.default_memory_pool().release_unused()


def settings() -> Settings:
    """Resolved settings (env / secrets)."""
    return load_settings()


@contextlib.contextmanager
def background_store() -> Iterator[Store]:
    """A cursor on the process-wide store for work outside a page run (a background thread),
    released at the end of the block."""
    cfg = settings()
    shared = _shared_store(str(cfg.db_path), cfg.read_only)
    cursor = shared.acquire()
    try:
        yield cursor
    finally:
        shared.release(cursor)


def get_store() -> Store:
    """A cursor on the process-wide store for this session/thread.

    Shows a clear message and stops the page when the database is missing or cannot be opened.
    """
    lease = getattr(_run, "lease", None)
    if lease is not None:
        return lease[1]
    cfg = settings()
    try:
        shared = _shared_store(str(cfg.db_path), cfg.read_only)
        cursor = shared.acquire()
    except StoreNotFoundError:
        st.error(_("There is no database {name} yet. `make run` creates the exercise database on first start.")
                 .format(name=cfg.db_path.name))
        st.stop()
    except CimicError as exc:  # viewers see the file name, never the server's folders
        st.error(_("Cannot open the store: {reason}").format(reason=str(exc).replace(str(cfg.db_path),
                                                                                     cfg.db_path.name)))
        st.stop()
    if getattr(_run, "active", False):
        _run.lease = (shared, cursor)
    else:  # a run outside app.py (a page tested on its own): released when the cursor is dropped
        weakref.finalize(cursor, shared.release, None)
    return cursor


#: Bumped by :func:`clear_caches` (process-wide, like the store): part of :func:`data_token`.
_generation = 0
_generation_lock = threading.Lock()


def data_token(store: Store) -> str:
    """The cache key for "the store's content": changes whenever a write commits.

    Every page keys its ``st.cache_data`` / ``st.cache_resource`` entries with it. It combines

    * the stamp of the database file and of its ``.wal`` file
      (:func:`cimic_geo.data_stamp.file_stamp`: size, modification and change time, inode): a
      DuckDB commit appends to the WAL and a checkpoint rewrites the database file and removes the WAL,
      so any commit, by this process or by another one (e.g. the CLI importing while the app is stopped,
      or between two app processes), shows here; reads do not touch either file;
    * a counter bumped by :func:`clear_caches` after every write the app makes itself, so two
      commits within one file-system timestamp tick still give a new token.

    Commits that write only the audit trail (sign-in, sign-out, a refused attempt, an exported brief's
    record) keep the token (:func:`cimic_geo.store.content_stamp.content_stamp`): a user signing in
    does not make every page's cache cold. Readers of the audit trail use :func:`audit_token`.

    A few ``stat`` calls: cheap enough for every rerun (unlike a hash over the tables).
    """
    return f"{store.path}|{_generation}|{content_stamp(store.path)}"


def audit_token(store: Store) -> str:
    """Like :func:`data_token`, but changed by every commit, audit-only ones too (the audit trail's readers)."""
    return f"{store.path}|{_generation}|{raw_stamp(store.path)}"


def clear_caches() -> None:
    """Forget cached query results after an import or an edit, and move :func:`data_token` on."""
    global _generation
    with _generation_lock:
        _generation += 1
    st.cache_data.clear()


#: Characters with a meaning in Streamlit markdown (incl. ``$`` maths and ``:`` directives/emoji).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")


def plain(text: object) -> str:
    """Text shown by a Streamlit markdown element (``st.markdown``, ``st.caption``, ``st.error`` ...)
    exactly as written: every markdown character escaped, so data cannot add links, images (which
    would be fetched from another host), maths, colours or HTML. Line breaks become spaces."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).splitlines()))


def key(page: str, name: str) -> str:
    """A session-state / widget key private to one page."""
    return f"{page}:{name}"


def marking_banner(marking: str | None) -> None:
    """The handling marking (e.g. EXERCISE) as a banner across the page; nothing when None."""
    if not marking:
        return
    text = html.escape(str(marking).upper())
    st.markdown(
        f'<div class="cimic-marking" role="note" style="background:#ffd200;color:#000;font-weight:700;'
        f'text-align:center;letter-spacing:0.3em;padding:2px 0;margin-bottom:0.5rem;border:1px solid #000">'
        f"{text} &middot; {text} &middot; {text}</div>",
        unsafe_allow_html=True,
    )


#: Session-state key of the language the user chose (the sidebar switch writes it).
LANGUAGE_KEY = "_cimic_language"


def apply_language() -> str:
    """Translate this run into the session's language (the sidebar switch), else the setting's."""
    return set_language(st.session_state.get(LANGUAGE_KEY))


def language_switch() -> str:
    """The language switch in the sidebar (both languages named in their own words); return the code."""
    current = apply_language()
    options = list(LANGUAGES)

    def _chosen() -> None:
        st.session_state[LANGUAGE_KEY] = st.session_state[f"{LANGUAGE_KEY}_widget"]

    st.sidebar.selectbox("Мова · Language", options, index=options.index(current), format_func=LANGUAGES.__getitem__,
                         key=f"{LANGUAGE_KEY}_widget", on_change=_chosen)
    return current


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string: letters, digits and spaces as they are, every other character
    as a CSS hex escape (no quote, backslash or ``<`` can end the string or the style block)."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text) + '"'


def widget_texts() -> None:
    """Streamlit's own file-uploader texts ("Upload", "200MB per file") in the page's language.

    Streamlit draws them in its front end with no option to change them; outside English a style
    shows the catalogue's text in their place (the accepted types are named by the page itself).
    """
    if get_language() == "en":
        return
    size = int(st.get_option("server.maxUploadSize") or 200)
    zone = '[data-testid="stFileUploaderDropzone"]'
    button = css_string(_("Upload"))
    limit = css_string(_("up to {size} MB per file").format(size=size))
    st.markdown(
        "<style>"
        f'{zone} button [data-testid="stMarkdownContainer"] p{{font-size:0}}'
        f'{zone} button [data-testid="stMarkdownContainer"] p::after{{content:{button};font-size:0.875rem}}'
        f'{zone} [data-testid="stFileUploaderDropzoneInstructions"] span{{font-size:0}}'
        f'{zone} [data-testid="stFileUploaderDropzoneInstructions"] span::after{{content:{limit};font-size:0.875rem}}'
        "</style>",
        unsafe_allow_html=True,
    )


#: A still page (the map pages): elements being rerun stay as drawn, without Streamlit's 1 s fade, until
#: replaced, and the grey placeholders of elements still loading (a map's above all, hundreds of px high until
#: its frame is ready) do not pulse. Each of those animations has the browser composite frames 60 times a
#: second (the placeholders 1.7-2.2 CPU s per cold visit, the fade about 0.2 CPU s per COP time-slider step) on
#: the CPU the page's scripts and map need; the app's status indicator still shows a run.
STILL_PAGE_CSS = ('<style>[data-stale] { transition: none !important; } [data-stale="true"] { opacity: 1 !important; } '
                  '[data-testid="stSkeleton"], [data-testid="stSkeletonElement"] { animation: none !important; }'
                  '</style>')


def still_page() -> None:
    """Keep the page still while it loads and reruns (:data:`STILL_PAGE_CSS`); call it near the page's top."""
    st.html(STILL_PAGE_CSS)


def page_setup(title: str, *, icon: str = "🗺️", layout: str = "wide") -> Store:
    """Configure the page, open the store and show the marking banner; return the session's store.

    ``icon`` must be an emoji: Streamlit renders it as an inline favicon, whereas a
    ``:material/...:`` page icon is fetched from a public font server (not allowed offline).
    """
    from cimic_geo.ui.sign_in import require_sign_in

    apply_language()
    st.set_page_config(page_title=f"{_(title)} · CIMIC", page_icon=icon, layout=layout)
    widget_texts()
    store = get_store()
    require_sign_in(store, account_box=False)  # anonymous visitors get the sign-in and nothing else
    marking_banner(store_marking(store))
    return store


def store_marking(store: Store) -> str | None:
    """The banner's marking: what the store holds (``EXERCISE``, the real data's marking, or
    ``EXERCISE + REAL DATA MIXED``); the ``CIMIC_MARKING`` setting overrides it unless data are mixed."""
    from cimic_geo.store.settings import holdings

    held = holdings(store)
    configured = load_settings().marking
    return held.banner if held.mixed or not configured else configured
