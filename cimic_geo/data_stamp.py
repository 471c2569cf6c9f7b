"""The stamp of a store file and the data version kept beside it, read without opening the database.

:func:`cimic_geo.store.access_version.access_data_version` hashes the columns below (a fixed
allow-list per layer) and, for a store opened read-only, keeps the token in
``<store>.dataversion.json`` with the file's stamp (size, modification and change times, inode of
the database file and its write-ahead log). While the stamp is unchanged the file is the same one,
so the kept token holds: :func:`kept_data_version` reads it with a few ``stat`` calls and imports
neither DuckDB nor pandas (a one-off CLI route, :mod:`cimic_geo.analytics.route_fast`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

#: Columns whose change invalidates a cached road graph / access context, per layer (fixed allow-list).
VERSION_COLUMNS: dict[str, tuple[str, ...]] = {
    # geometry too: a road moved under the same id must not reuse a graph kept beside the store
    # (name too: the road attributes kept beside the store are keyed by this version)
    "roads": ("id", "road_class", "status", "speed_kmh", "oneway", "name", "geom"),
    # names and the attributes a route lists too: a one-off CLI route reads them from the graph folder
    "infrastructure": ("id", "name", "sector", "damage", "road_id", "geom"),
    "settlements": ("id", "name", "name_uk", "population", "geom"),
    "shelters": ("id", "name", "kind", "status", "capacity", "occupancy", "accessible", "geom"),
    "front_line": ("id", "valid_from", "valid_to", "geom"),
    "occupied_area": ("id", "valid_from", "valid_to", "geom"),
}

#: History tables whose versions are hashed too (number and validity of each version; a version's own
#: columns never change once written): a version written to a history table only — a late report, an
#: import valid from a past time — changes nothing in the layer's table but what a past time shows
#: (the road graphs of past times kept beside the store are keyed by this version).
HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    f"{layer}_history": ("version_id", "valid_from", "valid_to", "recorded_at", "removed")
    for layer in ("roads", "infrastructure", "settlements", "shelters")
}

#: What the version hashes: a token kept under another list of columns is not reused.
COLUMNS_KEY = ";".join(f"{k}:{','.join(v)}" for k, v in (*VERSION_COLUMNS.items(), *HISTORY_COLUMNS.items()))


def version_file(db_path: str | os.PathLike) -> Path:
    """Where the data version of the store at ``db_path`` is kept with the file's stamp."""
    p = Path(db_path)
    return p.with_name(p.name + ".dataversion.json")


def file_stamp(db_path: str | os.PathLike) -> list[list[int]] | None:
    """Size, mtime, ctime and inode of the database file and its write-ahead log (None: no file)."""
    p = Path(db_path)
    out = []
    for f in (p, p.with_name(p.name + ".wal")):
        try:
            st = f.stat()
        except FileNotFoundError:
            out.append([-1])
            continue
        except OSError:
            return None
        out.append([st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])
    return None if out[0] == [-1] else out


def kept_data_version(db_path: str | os.PathLike) -> str | None:
    """The data version kept beside the store file at ``db_path`` while the file is unchanged (None:
    none kept, or the file changed since): what
    :func:`cimic_geo.store.access_version.access_data_version` would return, without
    opening the database."""
    stamp = file_stamp(db_path)
    return None if stamp is None else kept_version(version_file(db_path), stamp)


def kept_version(path: Path, stamp: list[list[int]]) -> str | None:
    """The token in the version file ``path`` when it was kept for ``stamp`` and these columns (else None)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["stamp"] == stamp and doc["columns"] == COLUMNS_KEY and isinstance(doc["version"], str):
            return doc["version"]
    return None


def write_kept_file(path: Path, write: Callable[[BinaryIO], object], *,
                    errors: tuple[type[Exception], ...] = ()) -> bool:
    """Write a file kept beside the store atomically: ``write`` fills a temporary file in the same
    folder, which is then renamed to ``path``. Best effort: False when the folder is not writable or
    the writing fails with ``OSError`` or one of ``errors`` (nothing is kept then, which only costs
    time later; no half-written file is left)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except (OSError, *errors):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


def write_kept_text(path: Path, text: str) -> bool:
    """Write ``text`` (UTF-8) to a file kept beside the store (:func:`write_kept_file`)."""
    return write_kept_file(path, lambda fh: fh.write(text.encode("utf-8")))


def write_kept_arrow(path: Path, table: Any) -> bool:
    """Write an Arrow table (IPC file format) to a file kept beside the store (:func:`write_kept_file`)."""
    import pyarrow as pa

    def write(fh: BinaryIO) -> None:
        with pa.ipc.new_file(fh, table.schema) as writer:
            writer.write_table(table)

    return write_kept_file(path, write, errors=(pa.ArrowException,))
