"""The stamp of a store's content: the file's stamp, unchanged by writes of the audit trail alone.

Pages cache what they read under :func:`cimic_geo.ui.common.data_token`, built from the database
file's stamp (:func:`cimic_geo.data_stamp.file_stamp`), so any commit makes every cache cold. A
sign-in, a sign-out or the record of an exported brief only add an audit row (and a user's last
sign-in time): nothing a map, an analysis or a table of the layers shows. Such a commit runs as
``Store.transaction(audit_only=True)``, which remembers here that the file's new stamp stands for the
same content as the stamp before it; :func:`content_stamp` then returns the older one. Writes of a
read-write store are serialised by the store's write lock and no other process can open the file while
it is open read-write, so nothing else can slip between the two stamps.

The audit trail's own readers (the Audit page, the last brief's time) key on the file stamp itself.
"""

from __future__ import annotations

import json
import os
import threading

from cimic_geo.data_stamp import file_stamp

#: Per store path: the file stamp after an audit-only commit -> the content stamp before it.
_ALIASES: dict[str, dict[str, str]] = {}
_LOCK = threading.Lock()
#: Remembered audit-only commits per store (the oldest are forgotten first).
_KEEP = 512


def raw_stamp(path: str | os.PathLike) -> str:
    """The file stamp of the store at ``path`` as text (changes with every commit)."""
    return json.dumps(file_stamp(path))


def content_stamp(path: str | os.PathLike) -> str:
    """The stamp of the store's content: :func:`raw_stamp`, except after audit-only commits, which keep
    the stamp the content had before them."""
    raw = raw_stamp(path)
    with _LOCK:
        return _ALIASES.get(os.fspath(path), {}).get(raw, raw)


def note_audit_only_commit(path: str | os.PathLike, *, before: str) -> None:
    """Record that the commit just made to the store at ``path`` wrote the audit trail only: its new file
    stamp stands for the content stamp ``before`` (taken under the same write lock before the commit)."""
    note_same_content(path, before=before)


def note_same_content(path: str | os.PathLike, *, before: str) -> None:
    """Record that the store at ``path`` holds the content it had at the content stamp ``before``, whatever its
    file stamp now (an audit-only commit; the checkpoint of closing it, which rewrites the file)."""
    after = raw_stamp(path)
    with _LOCK:
        kept = _ALIASES.setdefault(os.fspath(path), {})
        kept[after] = before
        while len(kept) > _KEEP:
            kept.pop(next(iter(kept)))
