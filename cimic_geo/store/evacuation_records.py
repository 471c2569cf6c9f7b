"""Evacuation requests and missions: create, move through the workflow, read as of a time.

Every write is one transaction that changes the ``evacuations`` row and appends a row to
``evacuation_history`` (who, when, from which status to which). Edits name the version they were
based on (optimistic locking, as for corridors). The status of an evacuation at any past time is
the ``to_status`` of its last history row at or before that time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from cimic_geo.auth import Actor, require
from cimic_geo.errors import ConflictError, NotFoundError, StoreError, ValidationError, WorkflowError
from cimic_geo.evacuation_rules import check_evacuation, parse_count
from cimic_geo.i18n import _
from cimic_geo.schema import EVACUATION_STATUSES, EVACUATION_TRANSITIONS, PEOPLE_GROUPS, get_layer
from cimic_geo.store.audit import AuditEntry, record
from cimic_geo.store.core import Store, _as_utc, _check_bbox, _read_columns, _to_geodataframe

#: Fields set when a request is created or a mission is planned.
FIELDS = ("settlement_id", "pickup", "people", *PEOPLE_GROUPS, "priority", "contact_ref", "destination_shelter_id",
          "transport", "transport_capacity", "corridor_id", "route", "planned_departure", "notes", "source",
          "reliability")
#: Fields that may change together with a status (the mission's plan).
MISSION_FIELDS = ("destination_shelter_id", "transport", "transport_capacity", "corridor_id", "route",
                  "planned_departure", "notes")

_HISTORY_INSERT = ("INSERT INTO evacuation_history (evacuation_id, version, changed_at, changed_by, action, "
                   "from_status, to_status, people, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_HISTORY_COLUMNS = ("evacuation_id", "version", "changed_at", "changed_by", "action", "from_status", "to_status",
                    "people", "details")


def _now() -> datetime:
    return datetime.now(UTC)


def _who(actor: Actor | None, user: str | None, *, store: Store, action: str, ids: list[str]) -> tuple[Actor, str]:
    """The permitted actor (role editor or higher) and the name kept in the history."""
    who = require(actor, "edit", store=store, action=action, layer="evacuations", ids=ids)
    name = str(user).strip() if user and str(user).strip() else who.name
    return who, name


def _ids(con: Any, table: str) -> set[str]:
    # table comes from this module's fixed list, never from user text
    assert table in ("shelters", "settlements")
    return {r[0] for r in con.execute(f"SELECT id FROM {table}").fetchall()}


def _dumps(details: dict[str, Any] | None) -> str | None:
    return json.dumps(details, default=str, ensure_ascii=False) if details else None


def create_evacuation(
    store: Store,
    *,
    geometry: BaseGeometry,
    people: int,
    user: str | None = None,
    actor: Actor | None = None,
    status: str = "requested",
    requested_at: datetime | str | None = None,
    evacuation_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Record a new evacuation request (or a mission entered directly as planned).

    Parameters
    ----------
    geometry : the pickup point (EPSG:4326)
    people : persons to evacuate; groups (``children=``, ``elderly=``, ...) are among them
    user : the name kept in the history (default: the actor's name)
    actor : who acts (role editor or higher; None = the OS user outside the app)
    status : initial status, ``requested`` unless the mission is already planned
    requested_at : when the request came in (default now, UTC)
    fields : any of :data:`FIELDS`

    Raises
    ------
    ValidationError
        Negative counts, groups larger than ``people``, unknown status, or a destination shelter
        that does not exist; nothing is written.
    """
    who, user = _who(actor, user, store=store, action="evacuation.create", ids=[evacuation_id or ""])
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise StoreError(_("unknown evacuation fields: {fields}").format(fields=sorted(unknown)))
    if geometry is None or geometry.is_empty or geometry.geom_type != "Point":
        raise StoreError(_("an evacuation needs its pickup point (a Point)"))
    now = _now()
    row = {"people": people, "status": status, **fields}
    with store.transaction() as con:
        problems = check_evacuation(row, shelter_ids=_ids(con, "shelters"), settlement_ids=_ids(con, "settlements"))
        if problems:
            raise ValidationError(_("the evacuation was not saved"), problems)
        evacuation_id = evacuation_id or f"EVA-{uuid.uuid4().hex[:8].upper()}"
        rec = {**row, "id": evacuation_id, "version": 1, "updated_by": user, "updated_at": now,
               "requested_at": _as_utc(requested_at) if requested_at is not None else now,
               "reported_at": now}
        for col in ("people", *PEOPLE_GROUPS, "transport_capacity"):
            if col in rec:
                rec[col] = parse_count(rec[col])
        gdf = gpd.GeoDataFrame([rec], geometry=[geometry], crs="EPSG:4326")
        store._write_in_transaction(con, "evacuations", gdf, mode="append")
        con.execute(_HISTORY_INSERT, [evacuation_id, 1, now, user, "create", None, status, rec["people"],
                                      _dumps({k: v for k, v in fields.items() if v is not None})])
        record(con, who, AuditEntry(action="evacuation.create", layer="evacuations", ids=[evacuation_id],
                                    row_counts={"evacuations": 1}, after={"status": status, "people": rec["people"]}))
    return {"id": evacuation_id, "version": 1, "status": status}


def set_evacuation_status(
    store: Store,
    evacuation_id: str,
    new_status: str,
    *,
    expected_version: int,
    user: str | None = None,
    actor: Actor | None = None,
    note: str | None = None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Move an evacuation through the workflow (:data:`cimic_geo.schema.EVACUATION_TRANSITIONS`).

    Parameters
    ----------
    changes : mission fields set with the status (:data:`MISSION_FIELDS`), e.g. the destination
        shelter and transport when a request is planned

    Raises
    ------
    WorkflowError
        Unknown status or a transition that is not allowed (e.g. ``requested -> completed``).
    ConflictError
        Someone changed the evacuation since ``expected_version``.
    ValidationError
        The change would break a rule (e.g. a planned mission with no destination shelter).
    """
    who, user = _who(actor, user, store=store, action="evacuation.status", ids=[evacuation_id])
    if new_status not in EVACUATION_STATUSES:
        raise WorkflowError(_("unknown status '{status}'; expected one of {choices}").format(
            status=new_status, choices=", ".join(EVACUATION_STATUSES)))
    changes = dict(changes or {})
    unknown = set(changes) - set(MISSION_FIELDS)
    if unknown:
        raise StoreError(_("these fields cannot change with a status: {fields}").format(fields=sorted(unknown)))
    cols = ("status", "version", "people", *PEOPLE_GROUPS, "destination_shelter_id", "settlement_id")
    with store.transaction() as con:
        found = con.execute(f"SELECT {', '.join(cols)} FROM evacuations WHERE id = ?", [evacuation_id]).fetchone()
        if found is None:
            raise NotFoundError(_("no evacuation with id '{id}'").format(id=evacuation_id))
        current = dict(zip(cols, found, strict=True))
        old_status, version = current["status"], int(current["version"] or 1)
        if int(expected_version) != version:
            raise ConflictError(_(
                "evacuation {id} was changed by someone else (now version {version}, you saw version {seen}); "
                "reload it and try again").format(id=evacuation_id, version=version, seen=expected_version))
        allowed = EVACUATION_TRANSITIONS.get(old_status, ())
        if new_status not in allowed:
            raise WorkflowError(_("evacuation {id} cannot go from {old} to {new}; allowed next: {allowed}").format(
                id=evacuation_id, old=old_status, new=new_status,
                allowed=", ".join(allowed) or _("none ({status} is final)").format(status=old_status)))
        merged = {**current, **changes, "status": new_status}
        problems = check_evacuation(merged, shelter_ids=_ids(con, "shelters"))
        if problems:
            raise ValidationError(_("evacuation {id} was not changed").format(id=evacuation_id), problems)
        now = _now()
        sets = ["status = ?", "version = ?", "updated_by = ?", "updated_at = ?"]
        params: list[Any] = [new_status, version + 1, user, now]
        for key, value in changes.items():  # keys checked against MISSION_FIELDS above
            sets.append(f"{key} = ?")
            if key == "transport_capacity":
                value = parse_count(value)
            elif key == "planned_departure" and value is not None:
                value = _as_utc(value)
            params.append(value)
        if note and "notes" not in changes:
            sets.append("notes = ?")
            params.append(note)
        con.execute(f"UPDATE evacuations SET {', '.join(sets)} WHERE id = ? AND version = ?",
                    [*params, evacuation_id, version])
        details = {**changes, **({"note": note} if note else {})}
        con.execute(_HISTORY_INSERT, [evacuation_id, version + 1, now, user, "status", old_status, new_status,
                                      int(current["people"] or 0), _dumps(details)])
        record(con, who, AuditEntry(action="evacuation.status", layer="evacuations", ids=[evacuation_id],
                                    row_counts={"evacuations": 1},
                                    before={"status": old_status, "version": version},
                                    after={"status": new_status, "version": version + 1, **details}))
    return {"id": evacuation_id, "version": version + 1, "status": new_status, "from_status": old_status}


def evacuation_history(store: Store, evacuation_id: str | None = None, *,
                       since: datetime | str | None = None) -> pd.DataFrame:
    """Every recorded change (newest first), for one evacuation or all; only after ``since`` if given."""
    sql = f"SELECT history_id, {', '.join(_HISTORY_COLUMNS)} FROM evacuation_history"
    clauses: list[str] = []
    params: list[Any] = []
    if evacuation_id is not None:
        clauses.append("evacuation_id = ?")
        params.append(evacuation_id)
    if since is not None:
        clauses.append("changed_at > ?")
        params.append(_as_utc(since))
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY changed_at DESC, history_id DESC"
    df = store.query_df(sql, params)
    df["changed_at"] = pd.to_datetime(df["changed_at"], utc=True)
    return df


def load_history(store: Store, frame: pd.DataFrame) -> int:
    """Append history rows (columns of :data:`_HISTORY_COLUMNS`) in one transaction (scenario seed)."""
    missing = [c for c in _HISTORY_COLUMNS if c not in frame.columns]
    if missing:
        raise StoreError(_("evacuation history rows need the columns {columns}").format(columns=missing))
    df = pd.DataFrame(frame[list(_HISTORY_COLUMNS)]).reset_index(drop=True)
    df["changed_at"] = pd.to_datetime(df["changed_at"], utc=True)
    with store.transaction() as con:
        con.register("_incoming_history", df)
        try:
            con.execute(f"INSERT INTO evacuation_history ({', '.join(_HISTORY_COLUMNS)}) "
                        f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM _incoming_history ORDER BY changed_at")
        finally:
            con.unregister("_incoming_history")
    return len(df)


def last_change(store: Store) -> pd.Timestamp | None:
    """Time of the latest recorded evacuation change, or None."""
    v = store.query_df("SELECT max(changed_at) AS t FROM evacuation_history")["t"].iloc[0]
    return None if pd.isna(v) else _as_utc(v)


def _read_with_names(store: Store, bbox: Sequence[float] | None) -> gpd.GeoDataFrame:
    """Every evacuation with the names of its settlement, destination and corridor, in one query."""
    spec = get_layer("evacuations")
    cols = _read_columns(spec, None)
    clause = ""
    if bbox is not None:
        a, b, c, d = _check_bbox(bbox)  # validated floats, inlined so that the R-tree index is used
        clause = f" WHERE ST_Intersects(e.geom, ST_MakeEnvelope({a!r}, {b!r}, {c!r}, {d!r}))"
    sql = (f"SELECT {', '.join('e.' + c for c in cols)}, coalesce(s.name, e.settlement_id) AS settlement, "
           "coalesce(h.name, e.destination_shelter_id) AS destination, coalesce(c.name, e.corridor_id) AS corridor, "
           "ST_AsWKB(e.geom) AS geom_wkb FROM evacuations e LEFT JOIN settlements s ON s.id = e.settlement_id "
           "LEFT JOIN shelters h ON h.id = e.destination_shelter_id LEFT JOIN corridors c ON c.id = e.corridor_id"
           f"{clause} ORDER BY e.id")
    return _to_geodataframe(store.con.execute(sql).to_arrow_table(), cols, spec)


def read_evacuations(
    store: Store,
    *,
    as_of: datetime | str | None = None,
    bbox: Sequence[float] | None = None,
    where: dict[str, Any] | None = None,
    names: bool = False,
) -> gpd.GeoDataFrame:
    """Evacuations as they were at ``as_of`` (default: now, as stored).

    At a past time, requests made later are left out and ``status`` is the status then (the last
    history row at or before ``as_of``); ``status_since`` is when that status was set (now: the
    last change, ``updated_at``). ``names`` adds the ``settlement``, ``destination`` and ``corridor``
    names (not together with ``where``).
    """
    if names and where:
        raise StoreError(_("read_evacuations: names and where cannot be combined"))
    gdf = _read_with_names(store, bbox) if names else store.read("evacuations", bbox=bbox, where=where)
    gdf["id"] = gdf["id"].astype(object)
    if as_of is None:  # every change is versioned with updated_at: the current status was set then
        gdf["status_since"] = gdf["updated_at"]
        return gdf.reset_index(drop=True)
    sql = ("SELECT evacuation_id, to_status, changed_at FROM evacuation_history WHERE changed_at <= ?"
           " QUALIFY row_number() OVER (PARTITION BY evacuation_id ORDER BY changed_at DESC, history_id DESC) = 1")
    last = store.query_df(sql, [_as_utc(as_of)])
    last["changed_at"] = pd.to_datetime(last["changed_at"], utc=True)
    status_at = dict(zip(last["evacuation_id"], last["to_status"], strict=True))
    since = dict(zip(last["evacuation_id"], last["changed_at"], strict=True))
    t = _as_utc(as_of)
    gdf = gdf[(gdf["requested_at"] <= t).to_numpy()].copy()
    tracked = set(store.query_df("SELECT DISTINCT evacuation_id FROM evacuation_history")["evacuation_id"])
    # recorded before its history began (back-dated request): it was requested then
    fallback = gdf["status"].where(~gdf["id"].isin(tracked), "requested")
    gdf["status"] = gdf["id"].map(status_at).fillna(fallback)
    since_col = gdf["id"].map(since)
    gdf["status_since"] = pd.to_datetime(since_col.where(since_col.notna(), gdf["updated_at"]), utc=True)
    return gdf.reset_index(drop=True)
