"""Sharing one store file between the app and other programs (imports, exports, scheduled jobs).

DuckDB lets one process open a file read-write *or* several processes open it read-only, and a
process keeps its lock for as long as the file is open. So that a CLI import or a nightly export
can run while the app serves, nobody keeps the file open longer than they use it:

* :class:`SharedStore` (the app): the database is opened when a page run needs it and closed once
  no run has used it for ``linger_s`` (10 s: a user moving a slider or zooming keeps it open), or at
  once when another program is waiting for it.
  Every Streamlit session gets its own cursor for the length of one page run (:meth:`SharedStore.run`).
* :func:`wait_for_lock` (every open, in any program): when the file is locked by another process,
  wait and retry with a bounded backoff (``CIMIC_LOCK_WAIT_S``, 30 s by default) instead of failing
  at once, and tell the app that someone is waiting (a shared ``flock`` on ``<db>.waiting``), so
  that it lets go of the file after its current page runs instead of starting new ones.

Users see another program's changes on their next rerun: the data token (file size and time)
changes, so cached frames are read again.

The app's database is opened with a bounded DuckDB memory (:data:`APP_MEMORY_LIMIT`): DuckDB keeps the
table blocks it read in memory until its limit (by default most of the machine's memory) makes it evict
them, so a server reading a store's history for several as-of times would keep a growing copy of the
file beside the frames and graphs the pages keep. Under the limit a large read evicts older blocks
(and spills to DuckDB's temporary folder beside the store when it must), so DuckDB's part of the
server's memory is bounded.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb

from cimic_geo.errors import StoreBusyError, StoreError
from cimic_geo.store.content_stamp import content_stamp, note_same_content

if TYPE_CHECKING:
    from cimic_geo.store.core import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

#: DuckDB's memory limit on the app's database (blocks kept after reads, query work). A national store's
#: largest reads (a million roads with their geometry; roads in a box through the spatial index) work
#: under it; under 128 MB the box read fails. At 256 MB the warm-up's reads evicted the COP's blocks, and a
#: first zoom step read them again (about 0.2 CPU s more per step nationally); 512 MB keeps them.
APP_MEMORY_LIMIT = "512MB"

#: DuckDB's allocator keeps what a query freed for the next one, up to this much, before handing it back to
#: the system (DuckDB's default: 128 MB, 512 MB after a bulk free). In a server that reads a store's history
#: for another as-of time now and then, those kept pages were part of each time's growth (about 70 MB per
#: past road graph's read nationally); at 8 MB they go back once the query ended.
APP_ALLOCATOR_FLUSH = "8MB"

#: Seconds a program waits for a store another program has open (env ``CIMIC_LOCK_WAIT_S``).
DEFAULT_WAIT_S = 30.0


def lock_wait_seconds() -> float:
    """The bounded wait for a locked store: env ``CIMIC_LOCK_WAIT_S`` (seconds), default 30."""
    value = os.environ.get("CIMIC_LOCK_WAIT_S", "")
    try:
        return max(0.0, float(value)) if value.strip() else DEFAULT_WAIT_S
    except ValueError:
        return DEFAULT_WAIT_S


def _waiting_file(path: Path) -> Path:
    return path.with_name(path.name + ".waiting")


@contextlib.contextmanager
def _announce_waiting(path: Path) -> Iterator[None]:
    """Hold a shared ``flock`` on ``<db>.waiting`` for the block: "a program waits for this store"."""
    fd = None
    with contextlib.suppress(OSError):
        fd = os.open(_waiting_file(path), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def someone_waiting(path: Path) -> bool:
    """True when another program (or thread) announced that it waits for the store at ``path``."""
    try:
        fd = os.open(_waiting_file(path), os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
    finally:
        os.close(fd)  # also releases the probe's own lock
    return False


def wait_for_lock(path: Path, open_fn: Callable[[], T], *, wait_s: float | None = None) -> T:
    """Call ``open_fn`` until it stops raising :class:`StoreBusyError` or ``wait_s`` has passed.

    Backoff 50 ms doubling to 1 s, with jitter; while waiting, the wait is announced to the app.

    Raises
    ------
    StoreBusyError
        When the store is still locked by another program after ``wait_s`` seconds.
    """
    try:
        return open_fn()
    except StoreBusyError as first:
        limit = lock_wait_seconds() if wait_s is None else wait_s
        if limit <= 0:
            raise
        deadline = time.monotonic() + limit
        delay = 0.05
        last = first
        with _announce_waiting(path):
            while time.monotonic() < deadline:
                time.sleep(min(delay * (0.5 + random.random()), max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 1.0)
                try:
                    return open_fn()
                except StoreBusyError as exc:
                    last = exc
        raise StoreBusyError(f"{last} (waited {limit:.0f} s)") from last


_OPEN_SHARES: weakref.WeakSet[SharedStore] = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    """Close every shared store before the interpreter shuts down: a database still open while
    Python finalises (its closer thread frozen mid-close) aborts the process in DuckDB's C++ code."""
    for share in list(_OPEN_SHARES):
        share.close()


class SharedStore:
    """One process's use of a store file by many sessions, holding the file only while it is used.

    Parameters
    ----------
    path : the database file
    read_only : open it read-only (viewer deployments, ``CIMIC_READ_ONLY``)
    linger_s : keep the database open this long after the last run ended (saves reopening it
        during a burst of reruns; loading the spatial extension takes ~0.3-1 s)
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False, linger_s: float = 10.0) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.linger_s = linger_s
        self._base: Store | None = None
        self._active = 0
        self._last_release = 0.0
        self._cond = threading.Condition()
        self._closer: threading.Thread | None = None
        self.opened = 0  # how many times the file was opened (tests, diagnostics)
        _OPEN_SHARES.add(self)

    # -- the file -------------------------------------------------------------------------------
    def _open(self) -> Store:
        from cimic_geo.store.engine import connect

        store = connect(self.path, read_only=self.read_only)
        try:
            store.con.execute(f"SET memory_limit = '{APP_MEMORY_LIMIT}'")  # constants, not user input
            store.con.execute(f"SET allocator_flush_threshold = '{APP_ALLOCATOR_FLUSH}'")
            store.con.execute(f"SET allocator_bulk_deallocation_flush_threshold = '{APP_ALLOCATOR_FLUSH}'")
        except duckdb.Error as exc:
            store.close()
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        self.opened += 1
        return store

    def _close_base(self) -> None:
        if self._base is not None:
            # closing a read-write database checkpoints its write-ahead log into the file: a new file stamp for the
            # same content, which must not make every page's cache (keyed on the content stamp) cold
            before = None if self.read_only else content_stamp(self.path)
            self._base.close()
            self._base = None
            if before is not None:
                note_same_content(self.path, before=before)

    def is_open(self) -> bool:
        with self._cond:
            return self._base is not None

    # -- leases ---------------------------------------------------------------------------------
    def acquire(self, *, wait_s: float | None = None) -> Store:
        """A cursor for one page run; pair with :meth:`release`.

        Waits (bounded) while another program writes; gives way to a waiting program before
        starting: new runs wait until the current ones ended and the other program had its turn.
        """
        limit = lock_wait_seconds() if wait_s is None else wait_s
        deadline = time.monotonic() + limit
        with self._cond:
            while True:
                waiting = someone_waiting(self.path)
                if self._base is not None and (self.replaced() or (waiting and time.monotonic() < deadline)):
                    if self._active == 0:
                        self._close_base()  # let the other program in (or follow a replaced file)
                    else:
                        self._cond.wait(0.05)
                    continue
                if self._base is None:
                    if waiting and time.monotonic() < deadline:
                        self._cond.wait(0.05)  # its turn first
                        continue
                    remaining = max(0.0, deadline - time.monotonic())
                    self._base = wait_for_lock(self.path, self._open, wait_s=remaining)
                self._active += 1
                return self._base.cursor()

    def release(self, cursor: Store | None) -> None:
        """End one run's use: close its cursor; the file is let go after ``linger_s`` without use."""
        if cursor is not None:
            cursor.close()
        with self._cond:
            self._active = max(0, self._active - 1)
            self._last_release = time.monotonic()
            self._cond.notify_all()
            if self._active == 0:
                if self.linger_s <= 0 or someone_waiting(self.path):
                    self._close_base()
                else:
                    self._start_closer()

    def replaced(self) -> bool:
        return self._base is not None and self._base.replaced()

    def _start_closer(self) -> None:
        if self._closer is not None and self._closer.is_alive():
            return
        self._closer = threading.Thread(target=self._close_when_idle, name="cimic-store-closer", daemon=True)
        self._closer.start()

    def _close_when_idle(self) -> None:
        while True:
            time.sleep(min(0.1, self.linger_s))
            with self._cond:
                if self._base is None or self._active > 0:
                    return
                if someone_waiting(self.path) or time.monotonic() - self._last_release >= self.linger_s:
                    self._close_base()
                    return

    @contextlib.contextmanager
    def run(self) -> Iterator[Store]:
        """A cursor for the length of the block (one page run)."""
        cursor = self.acquire()
        try:
            yield cursor
        finally:
            self.release(cursor)

    def close(self) -> None:
        """Close the file now (tests, shutdown)."""
        with self._cond:
            self._close_base()
