"""A summary of what a store holds, for `info` and the home page."""

from __future__ import annotations

from typing import Any

from cimic_geo.store.core import Store
from cimic_geo.store.settings import holdings
from cimic_geo.timefmt import iso


def store_summary(store: Store) -> dict[str, Any]:
    """Schema version, row count per layer, history time range and bounding box.

    The shape is the ``info --json`` document of the CLI contract (plus ``marking``, ``meta`` and
    ``data``: whether the store holds exercise data, real data or both, and the banner text).
    """
    tr = store.time_range()
    bbox = store.bbox()
    meta = store.get_meta()
    held = holdings(store)
    return {
        "schema_version": store.schema_version,
        "layers": store.counts(),
        "time_range": {"start": iso(tr[0]), "end": iso(tr[1])} if tr else {"start": None, "end": None},
        "bbox": [round(v, 6) for v in bbox] if bbox else None,
        "marking": meta.get("marking"),
        "meta": meta,
        "data": {"exercise": held.exercise, "real": held.real, "markings": list(held.markings),
                 "banner": held.banner},
        "path": str(store.path),
    }
