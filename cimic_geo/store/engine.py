"""Opening, creating, replacing and removing database files.

DuckDB keeps one database instance per file and process and takes a POSIX lock on the file for as
long as it is open (shared for read-only, exclusive for read-write). Replacing or removing a store
therefore first takes the exclusive lock itself: while the app (or an import) has the file open,
the replacement is refused instead of leaving that program writing into a deleted file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb

from cimic_geo.auth import Actor, require, resolve_actor
from cimic_geo.config import resolve_db_path
from cimic_geo.errors import SpatialExtensionError, StoreBusyError, StoreError, StoreExistsError, StoreNotFoundError
from cimic_geo.store.core import _OPEN_STORES, SESSION_SETTINGS, Store, describe_database_error, file_identity
from cimic_geo.store.migrations import check_version, migrate
from cimic_geo.store.shared import wait_for_lock

_DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

#: First bytes of files that are databases but not DuckDB ones (a DuckDB file has ``DUCK`` at 8..12).
_OTHER_DATABASES = {b"SQLite format 3\x00": "an SQLite database"}


def spatial_extension_path() -> Path:
    """Path of the spatial extension file shipped by the pinned ``duckdb-extension-spatial`` wheel.

    Raises
    ------
    SpatialExtensionError
        If the package is missing or was built for another DuckDB version.
    """
    try:
        import duckdb_extension_spatial
    except ImportError as exc:  # pragma: no cover - requirements pin it
        raise SpatialExtensionError(
            "the package duckdb-extension-spatial is not installed; run `make run` or "
            "`pip install -r requirements.txt`"
        ) from exc
    root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    path = root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if not path.exists():
        shipped = sorted(p.name for p in root.glob("v*")) if root.exists() else []
        raise SpatialExtensionError(
            f"no spatial extension for DuckDB {duckdb.__version__} in {root} (found {shipped}); "
            "pin duckdb and duckdb-extension-spatial to the same version"
        )
    return path


def _load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    path = spatial_extension_path()
    try:
        # The path comes from the installed package, not from user input.
        con.execute(f"LOAD '{path.as_posix()}'")
    except duckdb.Error as exc:
        raise SpatialExtensionError(f"cannot load the spatial extension from {path}: {exc}") from exc


def _check_database_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database before DuckDB tries (and suggests extensions)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not head:
        return  # an empty file: DuckDB makes it a new database
    for magic, what in _OTHER_DATABASES.items():
        if head.startswith(magic):
            raise StoreError(f"{path} is {what}, not a CIMIC store; give the path of a store (a DuckDB file "
                             "made by `python -m cimic_geo init` or `seed`)")
    if head[8:12] != b"DUCK":
        raise StoreError(f"{path} is not a CIMIC store (not a DuckDB database file)")


def _lock_holder(path: Path) -> int | None:
    """The id of a process holding a POSIX lock on ``path`` (from /proc/locks), or None."""
    ident = file_identity(path)
    if ident is None:
        return None
    dev, ino = ident
    want = f"{os.major(dev):02x}:{os.minor(dev):02x}:{ino}"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/locks").read_text().splitlines():
            parts = line.split()
            if "->" in parts:  # a waiting request, not a held lock
                continue
            if len(parts) >= 6 and parts[1] == "POSIX" and parts[5] == want:
                return int(parts[4])
    return None


def _in_use(path: Path) -> StoreBusyError:
    pid = _lock_holder(path)
    who = f"process {pid}" if pid else "another program"
    return StoreBusyError(f"{path} is open in {who} (the app, an import or another command); stop it first — "
                      "nothing was changed")


def _open_instance(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open ``path``; within one process, share an instance already open in the other mode.

    DuckDB keeps one database instance per file and process and refuses a second connection with
    another configuration. A read-only request is served from an open read-write instance (the
    :class:`Store` still refuses writes); a read-write request on a read-only instance is refused.
    """
    try:
        return duckdb.connect(str(path), read_only=read_only, config=_DUCKDB_CONFIG)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise StoreError(f"cannot open {path}: {exc}") from exc
        if not read_only:
            raise StoreError(
                f"{path} is already open read-only in this process; writes are not possible"
            ) from exc
        try:
            return duckdb.connect(str(path), read_only=False, config=_DUCKDB_CONFIG)
        except duckdb.Error as exc2:
            raise StoreError(f"cannot open {path}: {exc2}") from exc2
    except duckdb.IOException as exc:
        if "could not set lock" in str(exc).lower():
            raise _in_use(path) from exc
        raise StoreError(f"cannot open {path}: {describe_database_error(exc)}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {path}: {describe_database_error(exc)}") from exc


def connect(
    db: str | os.PathLike | None = None,
    *,
    read_only: bool = False,
    create: bool = False,
) -> Store:
    """Open the store, load the spatial extension offline and apply pending migrations.

    Parameters
    ----------
    db : database file; default env ``CIMIC_DB`` or ``data/cimic.duckdb``
    read_only : open read-only (several processes may read the same file at once)
    create : create the file when it does not exist (otherwise :class:`StoreNotFoundError`)

    Raises
    ------
    StoreError
        For a file that is not a CIMIC store (another database, a DuckDB file without the store's
        ``schema_version``), a schema this program cannot use, or a file another program has open
        for writing.
    """
    path = resolve_db_path(db)
    if not path.exists():
        if read_only or not create:
            raise StoreNotFoundError(
                f"no database at {path}; create one with `python -m cimic_geo seed` or "
                "`python -m cimic_geo init`"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    elif path.is_dir():
        raise StoreError(f"{path} is a folder, not a CIMIC store")
    else:
        _check_database_file(path)
    # another program holding the file (the app between page runs, an import): wait, bounded
    con = wait_for_lock(path, lambda: _open_instance(path, read_only=read_only))
    try:
        con.execute(SESSION_SETTINGS)
        _load_spatial(con)
        if read_only:
            check_version(con, path, read_only=True)
        else:
            migrate(con, path)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"cannot open {path}: {exc}") from exc
    except Exception:
        con.close()
        raise
    store = Store(con, path, read_only=read_only)
    _OPEN_STORES.add(store)
    return store


@contextlib.contextmanager
def exclusive_file(path: Path) -> Iterator[None]:
    """Hold DuckDB's exclusive lock on an existing database file for the block (nothing if missing).

    A file another program has open is waited for as an open waits (:func:`wait_for_lock`: bounded,
    and announced, so an idle app lets go of it at once instead of after its linger time).

    Raises
    ------
    StoreError
        When the file is open in another process after the wait, or in a store of this process.
    """
    ident = file_identity(path)
    if ident is None:
        yield
        return
    if any(s.identity == ident and not s.closed for s in list(_OPEN_STORES)):
        raise StoreError(f"{path} is open in this program; close it first — nothing was changed")
    fd = os.open(path, os.O_RDWR)

    def lock() -> None:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                raise _in_use(path) from None
            raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from exc

    try:
        wait_for_lock(path, lock)
        yield
    finally:
        os.close(fd)  # releases the lock


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def remove_database(path: Path) -> None:
    """Delete a database file and its write-ahead log (refused while another program has it open)."""
    with exclusive_file(path):
        for p in (path, _wal(path)):
            if p.exists():
                p.unlink()


def replace_database(new: Path, path: Path) -> None:
    """Atomically put the database file ``new`` at ``path`` (refused while another program has ``path`` open).

    ``new`` must be closed and checkpointed (no write-ahead log). A stale log of the old file is
    removed so that it is never replayed onto the new one.
    """
    with exclusive_file(path):
        if _wal(path).exists():
            _wal(path).unlink()
        os.replace(new, path)  # readers see the old file or the new one, never half of it


def init_store(db: str | os.PathLike | None = None, *, force: bool = False, actor: Actor | None = None) -> Store:
    """Create an empty store with the current schema; refuse to overwrite unless ``force``.

    Replacing a store is an admin's (``actor``; default the OS user): a refusal leaves the old file
    as it was, with a ``refused`` row in its audit trail.
    """
    path = resolve_db_path(db)
    if path.exists():
        if not force:
            raise StoreExistsError(f"{path} already exists; pass --force to overwrite it")
        who = resolve_actor(actor)
        if not who.can("seed"):
            with connect(path) as old:
                require(who, "seed", store=old, action="init", detail="replace the store with an empty one")
        remove_database(path)
    return connect(path, create=True)
