"""Trend series kept between runs: a small JSON file beside the store.

The series over every snapshot of a national store take seconds to compute (distances of tens of
thousands of settlements to each front), and every fresh process (a CLI brief, a server start) would
pay them again. They are kept in ``<store>.trends.json`` under a key: the format below, the threat
bands and a hash of every table the series are computed from, history tables included
(:func:`cimic_geo.store.trend_reads.trend_data_key`), so any write that changes what the series show —
a late report or a backfill written only to a history table too — gives another key and the series are
computed again. A file with another key, or one that cannot be read, is ignored; the file is written
under a temporary name and renamed into place (a reader never sees half of it), best effort: a
read-only folder just means nothing is kept. A few keys (other threat bands, or the content before a
write that was undone) are kept, the least recently written dropped first.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cimic_geo.analytics.trends import Trends
from cimic_geo.data_stamp import write_kept_text

#: Bump when the kept series change meaning (their columns, or how they are computed).
FORMAT = 1
#: How many keys the file keeps.
KEEP = 4
_FRAMES = ("population", "shelters", "damage", "corridors")


def trends_file(db_path: str | os.PathLike) -> Path:
    """Where the trend series of the store at ``db_path`` are kept."""
    p = Path(db_path)
    return p.with_name(p.name + ".trends.json")


def _frame_doc(df: pd.DataFrame) -> dict[str, Any]:
    index = pd.DatetimeIndex(df.index)
    return {"index": [t.isoformat() for t in index], "columns": [str(c) for c in df.columns],
            "dtypes": [str(df[c].dtype) for c in df.columns],
            "values": [[None if isinstance(v, float) and math.isnan(v) else v for v in row]
                       for row in df.astype(object).to_numpy().tolist()]}


def _frame(doc: dict[str, Any]) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(doc["index"], utc=True), name="time")
    values = np.array(doc["values"], dtype=object).reshape(len(index), len(doc["columns"]))
    out = pd.DataFrame(values, index=index, columns=doc["columns"])
    for c, dtype in zip(doc["columns"], doc["dtypes"], strict=True):
        out[c] = pd.to_numeric(out[c].where(out[c].notna(), np.nan)).astype(dtype)
    return out


def trends_doc(trends: Trends) -> dict[str, Any]:
    """``trends`` as JSON-ready data (times as ISO text, NaN as null)."""
    return {name: _frame_doc(getattr(trends, name)) for name in _FRAMES}


def trends_from_doc(doc: dict[str, Any]) -> Trends:
    """The :class:`Trends` of :func:`trends_doc` (same columns, dtypes and UTC times)."""
    return Trends(**{name: _frame(doc[name]) for name in _FRAMES})


def _entries(path: Path) -> list[dict[str, Any]]:
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") == FORMAT and isinstance(doc.get("entries"), list):
            return [e for e in doc["entries"] if isinstance(e, dict) and isinstance(e.get("key"), str)]
    return []


def kept_trends(db_path: str | os.PathLike, key: str) -> Trends | None:
    """The series kept beside the store at ``db_path`` under ``key`` (None: none, or unreadable)."""
    for entry in _entries(trends_file(db_path)):
        if entry["key"] == key:
            with contextlib.suppress(ValueError, TypeError, KeyError, IndexError):
                return trends_from_doc(entry["trends"])
    return None


def keep_trends(db_path: str | os.PathLike, key: str, trends: Trends, *, keep: int = KEEP) -> bool:
    """Keep ``trends`` under ``key`` beside the store at ``db_path`` (with up to ``keep`` - 1 other keys
    kept before); False when the folder is not writable."""
    path = trends_file(db_path)
    others = [e for e in _entries(path) if e["key"] != key][-(keep - 1):] if keep > 1 else []
    text = json.dumps({"format": FORMAT, "entries": [*others, {"key": key, "trends": trends_doc(trends)}]})
    return write_kept_text(path, text)
