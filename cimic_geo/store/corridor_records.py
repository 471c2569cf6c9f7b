"""Corridor persistence with optimistic locking and a full change history (the corridor workflow)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.auth import Actor, require
from cimic_geo.errors import ConflictError, NotFoundError, StoreError, WorkflowError
from cimic_geo.schema import CORRIDOR_STATUSES, CORRIDOR_TRANSITIONS
from cimic_geo.store.audit import AuditEntry, record
from cimic_geo.store.core import Store
from cimic_geo.store.versions import record_update

_EDITABLE = ("name", "origin", "destination", "window_start", "window_end", "notes", "source", "reliability")


def _now() -> datetime:
    return datetime.now(UTC)


def _current(con, corridor_id: str) -> tuple[Any, ...] | None:
    return con.execute(
        "SELECT id, name, status, version, notes, ST_AsText(geom) FROM corridors WHERE id = ?", [corridor_id]
    ).fetchone()


_HISTORY_INSERT = (
    "INSERT INTO corridor_history (corridor_id, version, changed_at, changed_by, action, from_status, "
    "to_status, name, notes, details, geom_wkt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def history_row(*, corridor_id: str, version: int, user: str, action: str, from_status: str | None,
                to_status: str | None, name: str | None, notes: str | None, details: dict | None,
                geom_wkt: str | None, changed_at: datetime | None = None) -> list[Any]:
    """One ``corridor_history`` row (parameters for :data:`_HISTORY_INSERT`)."""
    return [corridor_id, version, changed_at or _now(), user, action, from_status, to_status, name, notes,
            json.dumps(details, default=str, ensure_ascii=False) if details else None, geom_wkt]


def insert_history(con, rows: list[list[Any]]) -> None:
    """Append rows built with :func:`history_row` inside the caller's transaction."""
    if rows:
        con.executemany(_HISTORY_INSERT, rows)


def _history(con, **fields: Any) -> None:
    insert_history(con, [history_row(**fields)])


def save_corridor(
    store: Store,
    *,
    geometry: BaseGeometry,
    name: str,
    user: str | None = None,
    actor: Actor | None = None,
    corridor_id: str | None = None,
    expected_version: int | None = None,
    status: str = "draft",
    **attributes: Any,
) -> dict[str, Any]:
    """Create a corridor (no ``corridor_id``) or update one, in one transaction with a history row.

    Parameters
    ----------
    geometry : a LineString in EPSG:4326
    name : corridor name
    actor : who makes the change (role planner or higher; kept in history and the audit trail);
        without it, ``user`` names the OS user's change (CLI, scripts; refused in the app)
    corridor_id : update this corridor; then ``expected_version`` must be the version the user
        edited, otherwise :class:`ConflictError` (someone else saved in between)
    status : initial status for a new corridor (``draft`` unless imported)
    attributes : origin, destination, window_start, window_end, notes, source, reliability

    Returns
    -------
    dict with ``id``, ``version`` and ``status`` after the save.
    """
    who = require(actor, "corridors", store=store, action="corridor.create" if corridor_id is None else "corridor.edit",
                  layer="corridors", ids=[corridor_id] if corridor_id else ())
    user = who.name if actor is not None or not (user and str(user).strip()) else str(user).strip()
    if not name or not str(name).strip():
        raise StoreError("a corridor needs a name")
    if geometry is None or geometry.geom_type != "LineString" or geometry.is_empty:
        raise StoreError("a corridor geometry must be a non-empty LineString")
    if status not in CORRIDOR_STATUSES:
        raise WorkflowError(f"unknown corridor status '{status}'; expected one of {', '.join(CORRIDOR_STATUSES)}")
    unknown = set(attributes) - set(_EDITABLE)
    if unknown:
        raise StoreError(f"unknown corridor fields: {sorted(unknown)}")
    now = _now()
    wkt = shapely.to_wkt(geometry, rounding_precision=7)
    with store.transaction() as con:
        if corridor_id is None:
            corridor_id = f"COR-{uuid.uuid4().hex[:8].upper()}"
            row = {"id": corridor_id, "name": str(name).strip(), "status": status, "version": 1,
                   "updated_by": user, "updated_at": now, "reported_at": now, **attributes}
            gdf = gpd.GeoDataFrame([row], geometry=[geometry], crs="EPSG:4326")
            store._write_in_transaction(con, "corridors", gdf, mode="append")
            _history(con, corridor_id=corridor_id, version=1, user=user, action="create", from_status=None,
                     to_status=status, name=row["name"], notes=attributes.get("notes"),
                     details={k: v for k, v in attributes.items() if v is not None}, geom_wkt=wkt)
            record(con, who, AuditEntry(action="corridor.create", layer="corridors", ids=[corridor_id],
                                        row_counts={"corridors": 1},
                                        after={**{k: v for k, v in row.items() if v is not None}, "geometry": wkt}))
            return {"id": corridor_id, "version": 1, "status": status}
        current = _current(con, corridor_id)
        if current is None:
            raise NotFoundError(f"no corridor with id '{corridor_id}'")
        _, old_name, old_status, version, old_notes, old_wkt = current
        if expected_version is None or int(expected_version) != int(version):
            raise ConflictError(
                f"corridor '{old_name}' was changed by someone else (now version {version}, you edited "
                f"version {expected_version}); reload it and apply your change again"
            )
        sets = ["name = ?", "version = ?", "updated_by = ?", "updated_at = ?", "geom = ST_GeomFromText(?)"]
        params: list[Any] = [str(name).strip(), version + 1, user, now, wkt]
        for key, value in attributes.items():
            sets.append(f"{key} = ?")
            params.append(pd.Timestamp(value).tz_convert("UTC") if key.startswith("window_") and value is not None
                          and pd.Timestamp(value).tzinfo else value)
        con.execute(f"UPDATE corridors SET {', '.join(sets)} WHERE id = ? AND version = ?",
                    [*params, corridor_id, version])
        record_update(con, "corridors", [corridor_id], at=now)
        changed = {"name": [old_name, name]} if old_name != name else {}
        if old_wkt != wkt:
            changed["geometry"] = "changed"
        changed.update({k: v for k, v in attributes.items()})
        _history(con, corridor_id=corridor_id, version=version + 1, user=user, action="edit",
                 from_status=old_status, to_status=old_status, name=str(name).strip(),
                 notes=attributes.get("notes", old_notes), details=changed, geom_wkt=wkt)
        record(con, who, AuditEntry(
            action="corridor.edit", layer="corridors", ids=[corridor_id], row_counts={"corridors": 1},
            before={"name": old_name, "version": version, "notes": old_notes, "geometry": old_wkt},
            after={"name": str(name).strip(), "version": version + 1, "geometry": wkt, **attributes}))
        return {"id": corridor_id, "version": version + 1, "status": old_status}


def set_corridor_status(
    store: Store,
    corridor_id: str,
    new_status: str,
    *,
    user: str | None = None,
    actor: Actor | None = None,
    expected_version: int,
    note: str | None = None,
) -> dict[str, Any]:
    """Move a corridor through the workflow (see :data:`cimic_geo.schema.CORRIDOR_TRANSITIONS`).

    ``actor`` (role planner or higher) is who changes it, kept in history and the audit trail;
    without it, ``user`` names the OS user's change (CLI, scripts; refused in the app).

    Raises
    ------
    WorkflowError
        For an illegal transition (e.g. ``draft -> active``); nothing is written.
    ConflictError
        When the corridor changed since ``expected_version``.
    PermissionDeniedError
        When the actor's role does not allow it (a ``refused`` audit row, nothing else).
    """
    who = require(actor, "corridors", store=store, action="corridor.status", layer="corridors", ids=[corridor_id])
    user = who.name if actor is not None or not (user and str(user).strip()) else str(user).strip()
    if new_status not in CORRIDOR_STATUSES:
        raise WorkflowError(f"unknown status '{new_status}'; expected one of {', '.join(CORRIDOR_STATUSES)}")
    with store.transaction() as con:
        current = _current(con, corridor_id)
        if current is None:
            raise NotFoundError(f"no corridor with id '{corridor_id}'")
        _, name, old_status, version, _notes, wkt = current
        if int(expected_version) != int(version):
            raise ConflictError(
                f"corridor '{name}' was changed by someone else (now version {version}, you saw version "
                f"{expected_version}); reload it and try again"
            )
        allowed = CORRIDOR_TRANSITIONS.get(old_status, ())
        if new_status not in allowed:
            raise WorkflowError(
                f"corridor '{name}' cannot go from {old_status} to {new_status}; allowed next: "
                f"{', '.join(allowed) or 'none (closed is final)'}"
            )
        now = _now()
        con.execute(
            "UPDATE corridors SET status = ?, version = ?, updated_by = ?, updated_at = ? WHERE id = ? AND version = ?",
            [new_status, version + 1, user, now, corridor_id, version],
        )
        record_update(con, "corridors", [corridor_id], at=now)
        _history(con, corridor_id=corridor_id, version=version + 1, user=user, action="status",
                 from_status=old_status, to_status=new_status, name=name, notes=note or None,
                 details={"note": note} if note else None, geom_wkt=wkt)
        record(con, who, AuditEntry(action="corridor.status", layer="corridors", ids=[corridor_id],
                                    row_counts={"corridors": 1}, detail=note or None,
                                    before={"status": old_status, "version": version},
                                    after={"status": new_status, "version": version + 1}))
        return {"id": corridor_id, "version": version + 1, "status": new_status}


def corridor_history(store: Store, corridor_id: str | None = None) -> pd.DataFrame:
    """Every recorded change (newest first), for one corridor or all."""
    sql = ("SELECT history_id, corridor_id, version, changed_at, changed_by, action, from_status, to_status, "
           "name, notes, details FROM corridor_history")
    params: list[Any] = []
    if corridor_id is not None:
        sql += " WHERE corridor_id = ?"
        params.append(corridor_id)
    sql += " ORDER BY changed_at DESC, history_id DESC"
    df = store.query_df(sql, params)
    if len(df):
        df["changed_at"] = pd.to_datetime(df["changed_at"], utc=True)
    return df
