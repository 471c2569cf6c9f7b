"""Versions of the layers that keep their history (:data:`cimic_geo.schema.VERSIONED_LAYERS`: settlements,
shelters, infrastructure, roads and corridors).

Each such layer has two tables: the layer's own table holds the rows in force now (every current
read, index and query stays as it was), and ``<layer>_history`` holds every version ever written,
the current ones included:

``version_id``
    increasing number of the version (order of writing; within one write, by id, so that the same
    write on two copies of a store numbers its versions alike)
``valid_from``
    when the version took effect: the row's ``reported_at`` (the time of writing when missing)
``valid_to``
    when the next version (or the removal) took effect; NULL while it is in force
``recorded_at``
    when the version was written to the store
``removed``
    a removal marker: from ``valid_from`` on the row no longer exists (a replace-mode import or a
    delete ends validity instead of losing the row)

A write records versions in the transaction of the write itself: a row identical to the version in
force adds nothing; a changed or new row adds a version; the chain of each touched id is ordered by
(``valid_from``, ``version_id``) and ``valid_to`` set to the next version's ``valid_from``. A report
older than the version in force (a late report) takes its place in the past and the current table
keeps the version in force, so a current read and an as-of read at "now" always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from cimic_geo.schema import LAYERS, VERSIONED_LAYERS, Layer, get_layer

#: Columns a history table has beyond the layer's own.
VERSION_COLUMNS = ("version_id", "valid_from", "valid_to", "recorded_at", "removed")


def history_table(layer: str) -> str:
    """Name of the history table of a versioned layer (from the schema's allow-list)."""
    if layer not in VERSIONED_LAYERS:
        raise ValueError(f"layer '{layer}' keeps no versions")
    return f"{get_layer(layer).name}_history"


def is_versioned(layer: str) -> bool:
    return layer in VERSIONED_LAYERS


def create_history_tables(con: Any) -> None:
    """Create ``<layer>_history`` (with its R-tree index) for every versioned layer."""
    for name in VERSIONED_LAYERS:
        spec = LAYERS[name]
        hist = history_table(name)
        cols = ", ".join(f"{c.name} {c.sql}" for c in spec.all_columns)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {hist} (version_id BIGINT NOT NULL, "
            f"{cols}, geom GEOMETRY NOT NULL, valid_from TIMESTAMPTZ NOT NULL, valid_to TIMESTAMPTZ, "
            "recorded_at TIMESTAMPTZ NOT NULL, removed BOOLEAN NOT NULL DEFAULT FALSE)"
        )
        con.execute(f"CREATE INDEX IF NOT EXISTS {hist}_geom_rtree ON {hist} USING RTREE (geom)")


def add_missing_history_columns(con: Any) -> None:
    """Add to the history tables the columns their layer gained since they were created."""
    for name in VERSIONED_LAYERS:
        hist = history_table(name)
        existing = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [hist]).fetchall()}
        if not existing:
            continue
        for c in LAYERS[name].all_columns:
            if c.name not in existing:
                con.execute(f"ALTER TABLE {hist} ADD COLUMN {c.name} {c.sql}")


def seed_history(con: Any, *, now: datetime | None = None, layers: Sequence[str] = VERSIONED_LAYERS) -> None:
    """First version of every current row that has none (existing stores): valid from its report time, else
    ``now`` (the time of the migration: the only record time there is)."""
    now = now or datetime.now(UTC)
    for name in layers:
        cols = ", ".join(LAYERS[name].column_names)
        hist = history_table(name)
        first = _last_version(con, hist)
        con.execute(
            f"INSERT INTO {hist} (version_id, {cols}, geom, valid_from, valid_to, recorded_at, removed) "
            f"SELECT ? + row_number() OVER (ORDER BY id), {cols}, geom, coalesce(reported_at, ?), NULL, ?, FALSE "
            f"FROM {name} WHERE id NOT IN (SELECT id FROM {hist})", [first, now, now])


def _same_row(spec: Layer, a: str, b: str) -> str:
    """SQL: rows ``a`` and ``b`` have equal attributes and geometry (NULLs equal)."""
    parts = [f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in spec.column_names]
    parts.append(f"ST_AsWKB({a}.geom) = ST_AsWKB({b}.geom)")
    return " AND ".join(parts)


def _last_version(con: Any, hist: str) -> int:
    return int(con.execute(f"SELECT coalesce(max(version_id), 0) FROM {hist}").fetchone()[0])


def last_version(con: Any, layer: str) -> int:
    """The latest ``version_id`` of a versioned layer (0: none, or the layer keeps no versions)."""
    return _last_version(con, history_table(layer)) if is_versioned(layer) else 0


def backdate_versions(con: Any, layer: str, *, after_version: int, at: datetime) -> None:
    """Let the versions written after ``after_version`` take effect at ``at`` when they start later (first
    versions of generated data that existed from the start of its history). Only for ids with no earlier
    version (nothing to re-chain)."""
    if not is_versioned(layer):
        return
    hist = history_table(layer)
    con.execute(f"UPDATE {hist} SET valid_from = ? WHERE version_id > ? AND valid_from > ? AND NOT removed "
                f"AND id NOT IN (SELECT id FROM {hist} WHERE version_id <= ?)", [at, after_version, at, after_version])


def _rechain(con: Any, hist: str, first: int) -> None:
    """Set ``valid_to`` of every version of the ids that got a version after ``first`` to the next one's start."""
    con.execute(
        f"UPDATE {hist} SET valid_to = n.next_from FROM ("
        f"SELECT version_id AS vid, lead(valid_from) OVER (PARTITION BY id ORDER BY valid_from, version_id) "
        f"AS next_from FROM {hist} WHERE id IN (SELECT id FROM {hist} WHERE version_id > ?)) AS n "
        f"WHERE {hist}.version_id = n.vid AND {hist}.valid_to IS DISTINCT FROM n.next_from", [first])


def _rechain_and_sync(con: Any, spec: Layer, first: int) -> None:
    """Re-chain ``valid_to`` of every id that got a version after ``first``; a late report leaves the
    version in force in the current table."""
    hist = history_table(spec.name)
    _rechain(con, hist, first)
    late = f"SELECT id FROM {hist} WHERE version_id > ? AND valid_to IS NOT NULL"
    if not con.execute(f"SELECT count(*) FROM ({late})", [first]).fetchone()[0]:
        return
    cols = ", ".join(spec.column_names)
    con.execute(f"DELETE FROM {spec.name} WHERE id IN ({late})", [first])
    con.execute(f"INSERT INTO {spec.name} ({cols}, geom) SELECT {cols}, geom FROM {hist} "
                f"WHERE id IN ({late}) AND valid_to IS NULL AND NOT removed", [first])


def _end_versions(con: Any, spec: Layer, *, at: datetime, now: datetime, filter_sql: str,
                  params: Sequence[Any]) -> None:
    """Add a removal marker at ``at`` (never before the version in force) for the open versions matching
    ``filter_sql`` (columns of the history table ``h``)."""
    hist = history_table(spec.name)
    cols = ", ".join(spec.column_names)
    con.execute(
        f"INSERT INTO {hist} (version_id, {cols}, geom, valid_from, valid_to, recorded_at, removed) "
        f"SELECT ? + row_number() OVER (ORDER BY id), {cols}, geom, greatest(?::TIMESTAMPTZ, valid_from), NULL, ?, "
        f"TRUE FROM {hist} AS h WHERE valid_to IS NULL AND NOT removed AND {filter_sql}",
        [_last_version(con, hist), at, now, *params])


def seed_corridor_versions(con: Any, *, now: datetime | None = None) -> None:
    """Versions of the corridors from their change log (``corridor_history``), for corridors that have none:
    one version per logged change, valid from its time, with the status, name and line logged then (the
    other columns as they are now); the last one is the current row."""
    now = now or datetime.now(UTC)
    spec = get_layer("corridors")
    hist = history_table("corridors")
    logged = {"status": "coalesce(l.to_status, c.status)", "name": "coalesce(l.name, c.name)",
              "version": "l.version"}
    cols = ", ".join(spec.column_names)
    picks = ", ".join(logged.get(c, f"c.{c}") for c in spec.column_names)
    con.execute(
        f"INSERT INTO {hist} (version_id, {cols}, geom, valid_from, valid_to, recorded_at, removed) "
        f"SELECT ? + row_number() OVER (ORDER BY c.id, l.changed_at, l.history_id), {picks}, "
        "coalesce(ST_GeomFromText(l.geom_wkt), c.geom), l.changed_at, NULL, ?, FALSE "
        "FROM corridors AS c JOIN corridor_history AS l ON l.corridor_id = c.id "
        f"WHERE c.id NOT IN (SELECT id FROM {hist})", [_last_version(con, hist), now])
    _rechain(con, hist, 0)
    # where the logged columns do not rebuild the current row, the current row is the last version
    con.execute(
        f"INSERT INTO {hist} (version_id, {cols}, geom, valid_from, valid_to, recorded_at, removed) "
        f"SELECT ? + row_number() OVER (ORDER BY c.id), {', '.join(f'c.{c}' for c in spec.column_names)}, c.geom, "
        "greatest(h.valid_from, coalesce(c.updated_at, c.reported_at, ?)), NULL, ?, FALSE "
        f"FROM corridors AS c JOIN {hist} AS h ON h.id = c.id AND h.valid_to IS NULL AND NOT h.removed "
        f"WHERE NOT ({_same_row(spec, 'c', 'h')})", [_last_version(con, hist), now, now])
    _rechain(con, hist, 0)


def record_write(con: Any, layer: str, *, mode: str, replace_where: dict[str, Any] | None = None,
                 valid_from: datetime | None = None) -> None:
    """Record the versions of a write that has just been applied to the current table.

    Call inside the write's transaction while the written rows are registered as ``_incoming``
    (their ``id`` column). Rows removed by a ``replace`` (those matching ``replace_where`` that are
    not among the written rows) end at the latest report time of the written rows (now when the
    write has none). ``valid_from``: when the written versions (and the removals) take effect, instead
    of each row's report time (an import of what has been in place since that time).
    """
    if not is_versioned(layer):
        return
    spec = get_layer(layer)
    hist = history_table(spec.name)
    now = datetime.now(UTC)
    first = _last_version(con, hist)
    if mode == "replace":
        latest = con.execute(f"SELECT max(reported_at) FROM {spec.name} WHERE id IN (SELECT id FROM _incoming)"
                             ).fetchone()[0]
        clauses, params = ["id NOT IN (SELECT id FROM _incoming)"], []
        for key, value in (replace_where or {}).items():
            spec.column(key)  # allow-list check
            clauses.append(f"{key} = ?")
            params.append(value)
        _end_versions(con, spec, at=valid_from or latest or now, now=now, filter_sql=" AND ".join(clauses), params=params)
    cols = ", ".join(f"c.{c}" for c in spec.column_names)
    con.execute(
        f"INSERT INTO {hist} (version_id, {', '.join(spec.column_names)}, geom, valid_from, valid_to, recorded_at, "
        f"removed) SELECT ? + row_number() OVER (ORDER BY c.id), {cols}, c.geom, coalesce(?::TIMESTAMPTZ, c.reported_at, ?), NULL, ?, "
        "FALSE "
        f"FROM {spec.name} AS c LEFT JOIN {hist} AS h ON h.id = c.id AND h.valid_to IS NULL AND NOT h.removed "
        f"WHERE c.id IN (SELECT id FROM _incoming) AND (h.id IS NULL OR NOT ({_same_row(spec, 'c', 'h')}))",
        [_last_version(con, hist), valid_from, now, now])
    _rechain_and_sync(con, spec, first)


def replace_versions(con: Any, layer: str, versions: Any, *, now: datetime | None = None) -> int:
    """Make ``versions`` (a GeoDataFrame of the layer's columns plus ``valid_from``: every version of each id
    in it, the last one matching the current row) the history of those ids; return the number of versions.
    For generated histories (the exercise scenario)."""
    from cimic_geo.store.frames import _prepare_frame

    if not is_versioned(layer) or not len(versions):
        return 0
    spec = get_layer(layer)
    hist = history_table(spec.name)
    ids = versions["id"].astype(str).to_numpy()  # repeated: one row per version
    frame = _prepare_frame(versions.drop(columns=["valid_from"]).assign(id=[str(i) for i in range(len(ids))]), spec)
    frame["id"] = ids
    frame["valid_from_"] = pd.to_datetime(versions["valid_from"], utc=True).to_numpy()
    names = [c for c in frame.columns if c not in ("geom_wkb", "valid_from_")]
    con.register("_versions", frame)
    try:
        con.execute(f"DELETE FROM {hist} WHERE id IN (SELECT id FROM _versions)")
        first = _last_version(con, hist)
        con.execute(
            f"INSERT INTO {hist} (version_id, {', '.join(names)}, geom, valid_from, valid_to, recorded_at, removed) "
            f"SELECT ? + row_number() OVER (ORDER BY id, valid_from_), {', '.join(names)}, ST_GeomFromWKB(geom_wkb), "
            "valid_from_, NULL, ?, FALSE FROM _versions", [first, now or datetime.now(UTC)])
    finally:
        con.unregister("_versions")
    _rechain(con, hist, first)
    return len(frame)


def record_update(con: Any, layer: str, ids: Sequence[str], *, at: datetime | None = None) -> None:
    """Record the versions of rows ``ids`` changed in place (an UPDATE of the current table, e.g. a corridor's
    status), taking effect at ``at`` (default now). Call inside the update's transaction."""
    if not is_versioned(layer) or not ids:
        return
    spec = get_layer(layer)
    hist = history_table(spec.name)
    now = datetime.now(UTC)
    first = _last_version(con, hist)
    marks = ", ".join("?" * len(ids))
    cols = ", ".join(f"c.{c}" for c in spec.column_names)
    con.execute(
        f"INSERT INTO {hist} (version_id, {', '.join(spec.column_names)}, geom, valid_from, valid_to, recorded_at, "
        f"removed) SELECT ? + row_number() OVER (ORDER BY c.id), {cols}, c.geom, ?, NULL, ?, FALSE "
        f"FROM {spec.name} AS c LEFT JOIN {hist} AS h ON h.id = c.id AND h.valid_to IS NULL AND NOT h.removed "
        f"WHERE c.id IN ({marks}) AND (h.id IS NULL OR NOT ({_same_row(spec, 'c', 'h')}))",
        [first, at or now, now, *[str(i) for i in ids]])
    _rechain_and_sync(con, spec, first)


def record_removal(con: Any, layer: str, ids: Sequence[str], *, at: datetime | None = None) -> None:
    """End the validity of rows ``ids`` (deleted from the current table) at ``at`` (default now)."""
    if not is_versioned(layer) or not ids:
        return
    spec = get_layer(layer)
    now = datetime.now(UTC)
    first = _last_version(con, history_table(spec.name))
    marks = ", ".join("?" * len(ids))
    _end_versions(con, spec, at=at or now, now=now, filter_sql=f"id IN ({marks})", params=[str(i) for i in ids])
    _rechain_and_sync(con, spec, first)
