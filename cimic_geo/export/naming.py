"""File names (``cimic_<area>_<YYYYMMDD>_<HHMM>Z.<ext>``) and atomic writes.

Every writer of this package writes to a temporary file in the target folder and moves it over
the target with :func:`os.replace` only when the whole file is written, so a failed export
(bad input, disk full, exception while rendering) never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd

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

_UK_LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "ы": "y", "э": "e", "ъ": "", "ё": "io", "'": "", "’": "",
})


def slug(text: str | None, *, default: str = "area", max_len: int = 40) -> str:
    """A lower-case ASCII file-name part: Ukrainian transliterated, other runs of symbols -> ``-``."""
    if not text:
        return default
    s = str(text).lower().translate(_UK_LATIN)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return (s[:max_len].rstrip("-")) or default


def dated_name(area: str | None, when: datetime | str | pd.Timestamp | None, fmt: str) -> str:
    """``cimic_<area>_<YYYYMMDD>_<HHMM>Z.<ext>`` for the view time ``when`` (UTC; None = now)."""
    if fmt not in EXTENSIONS:
        raise ExportError(f"unknown export format '{fmt}'; expected one of: {', '.join(EXTENSIONS)}")
    ts = to_utc(when) if when is not None else pd.Timestamp.now(tz="UTC")
    return f"cimic_{slug(area)}_{ts:%Y%m%d}_{ts:%H%M}Z.{EXTENSIONS[fmt]}"


def check_target(path: str | os.PathLike) -> Path:
    """Check that ``path`` can be written (folder exists and is writable, not a folder itself)."""
    target = Path(path).expanduser()
    if target.exists() and target.is_dir():
        raise ExportError(f"cannot write {target}: it is a folder; give a file name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {target}: no permission to write in {folder}")
    if target.exists() and not os.access(target, os.W_OK):
        raise ExportError(f"cannot write {target}: the file is read-only")
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds.

    On any exception the temporary file is removed and ``path`` is left as it was.

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

