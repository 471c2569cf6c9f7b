"""The append-only audit trail: who changed what, when, from which file, with what outcome.

Every write of the store (imports, edits, corridor status changes, seeding, user management and
the CLI's writes) appends one row with :func:`record` on the connection of its own transaction, so
the change and its audit row are committed together or not at all. A refused attempt is recorded
with :func:`record_refusal` in a small transaction of its own (the refused change writes nothing).

This module offers no way to change or remove an audit row: only inserts exist, and a test scans
the package for any statement that updates or deletes from the ``audit`` table.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from cimic_geo.errors import StoreError
from cimic_geo.schema import ACTOR_KINDS, AUDIT_OUTCOMES

log = logging.getLogger(__name__)

#: Columns of the ``audit`` table, in order (JSON text for ids, counts, before and after).
AUDIT_COLUMNS = ("id", "at_utc", "actor", "actor_kind", "role", "action", "layer", "ids", "row_counts",
                 "source_file", "source_sha256", "before", "after", "outcome", "detail")
#: At most this many ids are kept in one row (the count is always complete in ``row_counts``).
MAX_IDS = 1000


class ActorLike(Protocol):
    name: str
    kind: str
    role: str


def create_tables(con: Any) -> None:
    """Create the ``audit`` table and its sequence (migration step; idempotent)."""
    con.execute("CREATE SEQUENCE IF NOT EXISTS audit_seq START 1")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS audit (
            id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
            at_utc TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL,
            actor_kind VARCHAR NOT NULL,
            role VARCHAR,
            action VARCHAR NOT NULL,
            layer VARCHAR,
            ids VARCHAR,
            row_counts VARCHAR,
            source_file VARCHAR,
            source_sha256 VARCHAR,
            before VARCHAR,
            after VARCHAR,
            outcome VARCHAR NOT NULL,
            detail VARCHAR
        )
        """
    )


@dataclass
class AuditEntry:
    """What one write did (the who and when are added by :func:`record`).

    Parameters
    ----------
    action : e.g. ``import``, ``corridor.edit``, ``corridor.status``, ``seed``, ``user.add``
    layer : the layer (or ``users``) concerned
    ids : ids of the rows written (kept up to :data:`MAX_IDS`)
    row_counts : rows written per layer
    source_file, source_sha256 : the imported file and its SHA-256
    before, after : the row (or fields) before and after an edit
    detail : free text for the reader of the trail
    """

    action: str
    layer: str | None = None
    ids: Sequence[str] = field(default_factory=tuple)
    row_counts: dict[str, int] | None = None
    source_file: str | None = None
    source_sha256: str | None = None
    before: Any = None
    after: Any = None
    detail: str | None = None


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def _row(actor: ActorLike, entry: AuditEntry, outcome: str) -> list[Any]:
    if outcome not in AUDIT_OUTCOMES:
        raise StoreError(f"unknown audit outcome '{outcome}'")
    kind = str(getattr(actor, "kind", "user"))
    if kind not in ACTOR_KINDS:
        raise StoreError(f"unknown actor kind '{kind}'")
    ids = [str(i) for i in list(entry.ids)[:MAX_IDS]]
    return [datetime.now(UTC), str(actor.name), kind, str(getattr(actor, "role", "") or "") or None,
            entry.action, entry.layer, _json(ids) if ids else None, _json(entry.row_counts),
            entry.source_file, entry.source_sha256, _json(entry.before), _json(entry.after), outcome,
            entry.detail]


_INSERT = ("INSERT INTO audit (at_utc, actor, actor_kind, role, action, layer, ids, row_counts, source_file, "
           "source_sha256, before, after, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def record(con: Any, actor: ActorLike, entry: AuditEntry, *, outcome: str = "ok") -> None:
    """Append an audit row on ``con`` inside the caller's open transaction.

    The caller commits it together with the change it describes (or rolls both back).
    """
    con.execute(_INSERT, _row(actor, entry, outcome))


def record_refusal(store: Any, actor: ActorLike, entry: AuditEntry, *, outcome: str = "refused") -> bool:
    """Append a refusal (or failure) row in a transaction of its own; return whether it was written.

    A store open read-only cannot hold the row: the refusal is then only logged.
    """
    if getattr(store, "read_only", False):
        log.warning("refused (not recorded, store read-only): %s %s by %s", entry.action, entry.layer, actor.name)
        return False
    try:
        with store.transaction(audit_only=True) as con:
            record(con, actor, entry, outcome=outcome)
    except Exception as exc:  # the refusal itself must still reach the user
        log.warning("could not record refusal of %s by %s: %s", entry.action, actor.name, exc)
        return False
    return True


def sha256_file(path: str | os.PathLike) -> str | None:
    """SHA-256 (hex) of a file's bytes, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def read_audit(
    store: Any,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    user: str | None = None,
    layer: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    limit: int | None = 10_000,
) -> pd.DataFrame:
    """Audit rows, newest first, filtered by time range (UTC), actor name, layer, action and outcome."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value, op in (("at_utc", since, ">="), ("at_utc", until, "<")):
        if value is not None:
            ts = pd.Timestamp(value)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            clauses.append(f"{column} {op} ?")
            params.append(ts.to_pydatetime())
    for column, value in (("actor", user), ("layer", layer), ("action", action), ("outcome", outcome)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(str(value))
    sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY at_utc DESC, id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    df = store.query_df(sql, params)
    if len(df):
        df["at_utc"] = pd.to_datetime(df["at_utc"], utc=True)
    return df


def audit_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of :func:`read_audit` as JSON-ready dicts (JSON columns decoded, times ISO 8601 UTC)."""
    out = []
    df = df.astype(object).where(df.notna(), None)
    for rec in df.to_dict("records"):
        for key in ("ids", "row_counts", "before", "after"):
            value = rec.get(key)
            rec[key] = json.loads(value) if isinstance(value, str) else None
        at = rec.get("at_utc")
        rec["at_utc"] = at.isoformat() if isinstance(at, pd.Timestamp) else at
        rec["id"] = int(rec["id"])
        out.append(rec)
    return out
