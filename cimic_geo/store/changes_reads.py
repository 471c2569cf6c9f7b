"""Reads for "what changed between two times": the pictures to compare, corridor workflow changes and
imports received.

The layers themselves are compared through :meth:`Store.read` with ``as_of`` (their versions, see
:mod:`cimic_geo.store.versions`); this module reads the two logs that say *who did what when*.
A time window is ``since < t <= until`` (``until`` None: up to now).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from cimic_geo.schema import get_layer
from cimic_geo.store.core import Store, _as_utc, _read_columns, _table_sql, _where_sql
from cimic_geo.store.versions import history_table


def _window(column: str, since: Any, until: Any) -> tuple[str, list[Any]]:
    sql, params = f"{column} > ?", [_as_utc(since)]
    if until is not None:
        sql += f" AND {column} <= ?"
        params.append(_as_utc(until))
    return sql, params


def corridor_changes(store: Store, *, since: Any, until: Any = None) -> pd.DataFrame:
    """Corridor history rows that created a corridor or changed its status in the window, oldest first.

    Columns ``corridor_id``, ``name``, ``changed_at`` (UTC), ``changed_by``, ``action``, ``from_status``,
    ``to_status``.
    """
    sql, params = _window("changed_at", since, until)
    df = store.query_df(
        "SELECT corridor_id, name, changed_at, changed_by, action, from_status, to_status FROM corridor_history "
        f"WHERE {sql} AND (action IN ('create', 'import') OR from_status IS DISTINCT FROM to_status) "
        "ORDER BY changed_at, history_id", params)
    df["changed_at"] = pd.to_datetime(df["changed_at"], utc=True)
    return df


def imports_received(store: Store, *, since: Any, until: Any = None) -> pd.DataFrame:
    """Successful imports recorded in the audit trail in the window, oldest first.

    Columns ``at_utc`` (UTC), ``actor``, ``layer``, ``rows`` (rows written, all layers), ``source_file``.
    """
    sql, params = _window("at_utc", since, until)
    df = store.query_df(
        "SELECT at_utc, actor, layer, row_counts, source_file FROM audit "
        f"WHERE action = 'import' AND outcome = 'ok' AND {sql} ORDER BY at_utc, id", params)
    df["at_utc"] = pd.to_datetime(df["at_utc"], utc=True)
    df["rows"] = [_rows(v) for v in df.pop("row_counts")]
    return df


def attributes_as_of(store: Store, layer: str, columns: list[str], *, as_of: Any = None,
                     changed_since: Any = None, changed_until: Any = None) -> pd.DataFrame:
    """The ``id`` and ``columns`` of the rows of ``layer`` in force at ``as_of`` (None: current), without
    geometry (a comparison of attributes need not decode a geometry per row), ordered by id.

    ``changed_since``: only the ids with a version (or a removal) taking effect in the window
    ``changed_since < t <= changed_until`` (None: now); the others are the same at both ends of it.
    """
    spec = get_layer(layer)
    cols = _read_columns(spec, columns)
    sql_where, params = _where_sql(spec, as_of=as_of)
    if changed_since is not None:
        window, wparams = _window("valid_from", changed_since, changed_until)
        sql_where += (" AND " if sql_where else " WHERE ") + (
            f"id IN (SELECT id FROM {history_table(spec.name)} WHERE {window})")
        params = [*params, *wparams]
    return store.query_df(f"SELECT {', '.join(cols)} FROM {_table_sql(spec, as_of)}{sql_where} ORDER BY id", params)


def open_capacity(store: Store, *, as_of: Any = None) -> int:
    """Places in the shelters open or full at ``as_of`` (None: now)."""
    spec = get_layer("shelters")
    sql_where, params = _where_sql(spec, as_of=as_of, where={"status": ["open", "full"]})
    return int(store.con.execute(f"SELECT coalesce(sum(capacity), 0) FROM {_table_sql(spec, as_of)}{sql_where}",
                                 params).fetchone()[0])


def change_inputs(store: Store, *, since: Any, until: Any = None) -> dict[str, Any]:
    """Everything :func:`cimic_geo.analytics.changes.build_changes` compares, read from ``store``:
    the shelters and infrastructure that changed in the window as they were at ``since`` and at ``until``
    (None: now), the places in open or full shelters at both times, the occupied area at both times, the
    corridor changes and the imports of the window."""
    t0, t1 = _as_utc(since), _as_utc(until)
    shelter_cols, infra_cols = ["name", "status", "capacity"], ["name", "sector", "damage", "restoration"]
    changed = {"changed_since": t0, "changed_until": t1}  # only the rows with a version in the window
    return {
        "shelters_before": attributes_as_of(store, "shelters", shelter_cols, as_of=t0, **changed),
        "shelters_after": attributes_as_of(store, "shelters", shelter_cols, as_of=t1, **changed),
        "infrastructure_before": attributes_as_of(store, "infrastructure", infra_cols, as_of=t0, **changed),
        "infrastructure_after": attributes_as_of(store, "infrastructure", infra_cols, as_of=t1, **changed),
        "open_capacity": (open_capacity(store, as_of=t0), open_capacity(store, as_of=t1)),
        "occupied_before": store.read("occupied_area", as_of=t0),
        "occupied_after": store.read("occupied_area", **({"as_of": t1} if t1 is not None else
                                                         {"where": {"valid_to": None}})),
        "corridor_log": corridor_changes(store, since=t0, until=t1),
        "import_log": imports_received(store, since=t0, until=t1),
    }


def _rows(value: str | None) -> int:
    """Total of a ``row_counts`` JSON object ({layer: rows}); 0 when missing or unreadable."""
    try:
        counts = json.loads(value) if value else {}
        return int(sum(int(v) for v in counts.values())) if isinstance(counts, dict) else 0
    except (TypeError, ValueError):
        return 0
