"""When briefs were exported: the time a "since the last brief" comparison starts from.

A PDF brief exported from the app is recorded in the audit trail (action ``export``, layer ``brief``)
with the situation time it showed (``after.as_of``, ISO 8601 UTC). :func:`last_brief_time` returns the
latest such time before a given time, so that the next brief and the COP's "what changed" panel can
compare against the picture the last brief showed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd

from cimic_geo.store.audit import ActorLike, AuditEntry, record
from cimic_geo.store.core import Store, _as_utc

log = logging.getLogger(__name__)

BRIEF_ACTION = "export"
BRIEF_LAYER = "brief"


def record_brief(store: Store, *, actor: ActorLike, as_of: Any = None, file_name: str | None = None) -> bool:
    """Record that a brief showing the situation at ``as_of`` (None: now) was exported; return whether
    it was written (a store open read-only cannot hold the row: it is then only logged)."""
    shown = _as_utc(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC")
    entry = AuditEntry(action=BRIEF_ACTION, layer=BRIEF_LAYER, source_file=file_name,
                       after={"as_of": shown.isoformat()})
    if getattr(store, "read_only", False):
        log.info("brief export not recorded (store read-only): as of %s", shown)
        return False
    with store.transaction(audit_only=True) as con:  # no layer changes: page caches stay warm
        record(con, actor, entry)
    return True


def brief_times(store: Store) -> list[pd.Timestamp]:
    """Situation times of the briefs recorded, ascending, distinct (UTC)."""
    df = store.query_df("SELECT after FROM audit WHERE action = ? AND layer = ? AND outcome = 'ok'",
                        [BRIEF_ACTION, BRIEF_LAYER])
    out = set()
    for value in df["after"]:
        try:
            out.add(_as_utc(json.loads(value)["as_of"]))
        except (TypeError, ValueError, KeyError):
            continue
    return sorted(out)


def last_brief_time(store: Store, *, before: Any = None) -> pd.Timestamp | None:
    """The situation time of the latest brief strictly before ``before`` (None: any), or None."""
    limit = _as_utc(before) if before is not None else None
    times = [t for t in brief_times(store) if limit is None or t < limit]
    return times[-1] if times else None
