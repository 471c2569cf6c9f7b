"""File names (``cimic_<area>_<view>_<parameters>_<YYYYMMDD>_<HHMM>Z.<ext>``) and atomic writes.

Every writer of this package writes to a temporary file in the target folder and moves it over
the target with :func:`os.replace` only when the whole file is written, so a failed export
(bad input, disk full, exception while rendering) never leaves a partial file behind.
Only regular files are created or replaced (:func:`check_target`): never a device, a pipe, a
folder, a database file or the open store, and never a file whose extension names another format.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
from translitua import RussianInternationalPassport, UkrainianKMU, translit

from cimic_geo.errors import ExportError
from cimic_geo.timefmt import to_utc

#: File extension per export format.
EXTENSIONS: dict[str, str] = {
    "png": "png",
    "pdf": "pdf",
    "html": "html",
    "geojson": "geojson",
    "gpkg": "gpkg",
    "kml": "kml",
    "csv": "csv",
    "cot": "cot",
    "cotzip": "zip",
}

def slug(text: str | None, *, default: str = "area", max_len: int = 40) -> str:
    """A lower-case ASCII file-name part: Cyrillic transliterated (:mod:`translitua`), other runs of
    symbols -> ``-``."""
    if not text:
        return default
    # Ukrainian by the official table (word-initial ye/yi/yu/ya too), then what Russian letters remain
    s = translit(translit(str(text), UkrainianKMU), RussianInternationalPassport).lower()
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return (s[:max_len].rstrip("-")) or default


#: Layer lists longer than this (characters, joined) are named by their count and a digest.
MAX_LAYERS_PART = 32


def layers_part(layers: Sequence[str]) -> str:
    """The layers of a view as a file-name part: ``front-line-roads`` when short, else
    ``6-layers-<digest>`` (the first 6 hex digits of a SHA-1 of the sorted names), so two views with
    different layers never share a name."""
    names = sorted({str(n) for n in layers})
    if not names:
        return "no-layers"
    joined = "-".join(slug(n, max_len=MAX_LAYERS_PART) for n in names)
    if len(joined) <= MAX_LAYERS_PART:
        return joined
    digest = hashlib.sha1("\n".join(names).encode("utf-8")).hexdigest()[:6]
    return f"{len(names)}-layers-{digest}"


def dated_name(area: str | None, when: datetime | str | pd.Timestamp | None, fmt: str, *,
               view: str | None = None, details: Sequence[str] = ()) -> str:
    """``cimic_<area>[_<view>][_<detail>...]_<YYYYMMDD>_<HHMM>Z.<ext>`` for the view time ``when``
    (UTC; None = now).

    ``view`` names what was exported (the page, e.g. ``cop``, ``planner``) and ``details`` its
    parameters (e.g. :func:`layers_part`, ``bands-5-20-40``); each part is sanitised with :func:`slug`,
    so data never reaches the name unescaped.
    """
    if fmt not in EXTENSIONS:
        raise ExportError(f"unknown export format '{fmt}'; expected one of: {', '.join(EXTENSIONS)}")
    ts = to_utc(when) if when is not None else pd.Timestamp.now(tz="UTC")
    parts = [slug(area)] + [slug(p) for p in (view, *details) if p and str(p).strip()]
    return f"cimic_{'_'.join(parts)}_{ts:%Y%m%d}_{ts:%H%M}Z.{EXTENSIONS[fmt]}"


#: File-name endings accepted per format (the first is the one dated names use). A TAK ``cot``
#: export named ``.zip`` is written as a data package.
SUFFIXES: dict[str, tuple[str, ...]] = {
    "png": (".png",),
    "pdf": (".pdf",),
    "html": (".html", ".htm"),
    "geojson": (".geojson", ".json"),
    "gpkg": (".gpkg",),
    "kml": (".kml",),
    "csv": (".csv",),
    "cot": (".cot", ".xml", ".zip"),
    "cotzip": (".zip",),
}

#: Bytes 8-11 of every DuckDB database file.
_DUCKDB_MAGIC = b"DUCK"


def _is_duckdb_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[8:12] == _DUCKDB_MAGIC


def _same_file(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def check_target(
    path: str | os.PathLike,
    *,
    fmt: str | None = None,
    protect: tuple[str | os.PathLike, ...] = (),
) -> Path:
    """Check that ``path`` may be created or replaced by an export; return the path to write.

    Only regular files are ever replaced: a device (``/dev/null``), a FIFO, a socket, a folder, a
    symbolic link to any of those, a database file (DuckDB) or its write-ahead log are refused.
    A symbolic link to a regular file is followed (the file it points to is replaced). With
    ``fmt`` the file name must end with that format's extension (:data:`SUFFIXES`); ``protect``
    names files that must never be written (the open store).

    Raises
    ------
    ExportError
        With a message naming the reason; nothing has been written.
    """
    if not str(path).strip():
        raise ExportError("the output path is empty; give a file name or an existing folder")
    given = Path(path).expanduser()
    try:
        target = given.resolve() if given.is_symlink() else given
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise ExportError(f"cannot write {given}: {exc}") from None
    for keep in protect:
        keep_path = Path(keep).expanduser()
        for guarded in (keep_path, keep_path.with_name(keep_path.name + ".wal")):
            if _same_file(target, guarded):
                raise ExportError(f"cannot write {given}: it is the store ({guarded}); give another file name")
    if target.exists() or given.is_symlink():
        if target.is_dir():
            raise ExportError(f"cannot write {given}: it is a folder; give a file name")
        try:
            mode = os.stat(target).st_mode
        except OSError as exc:  # a dangling link
            raise ExportError(f"cannot write {given}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):
            raise ExportError(f"cannot write {given}: it is not a regular file (a device, pipe or socket); "
                              "give a file name")
        if _is_duckdb_file(target):
            raise ExportError(f"cannot write {given}: it is a database file (a store); give another file name")
    if target.name.lower().endswith(".wal") and _is_duckdb_file(target.with_name(target.name[:-4])):
        raise ExportError(f"cannot write {given}: it is the write-ahead log of the store {target.name[:-4]}")
    if fmt is not None:
        wanted = SUFFIXES.get(fmt)
        if wanted is None:
            raise ExportError(f"unknown export format '{fmt}'; expected one of: {', '.join(SUFFIXES)}")
        if target.suffix.lower() not in wanted:
            raise ExportError(f"cannot write {given}: the file extension must be {' or '.join(wanted)} for "
                              f"format {fmt} (got '{target.suffix or '(none)'}')")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {given}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {given}: no permission to write in {folder}")
    if target.exists() and not os.access(target, os.W_OK):
        raise ExportError(f"cannot write {given}: the file is read-only")
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds.

    On any exception the temporary file is removed and ``path`` is left as it was. ``path`` is
    checked with :func:`check_target` (regular files only) before and again right before the move.

    Raises
    ------
    ExportError
        When the target folder is missing or not writable, or the final move fails.
    """
    target = check_target(path)
    try:
        # keep the extension: GDAL drivers (GPKG) check it
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.part-", suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    # some writers (GDAL) refuse to open an existing file as a new dataset
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise ExportError(f"internal error: the writer produced no file for {target}")
        check_target(target)  # still a regular file (not swapped for a device or a link meanwhile)
        try:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except OSError as exc:
            raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        for p in (tmp, *tmp.parent.glob(glob.escape(tmp.name) + "*")):
            with contextlib.suppress(OSError):
                p.unlink()
        raise

