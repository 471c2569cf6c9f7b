"""The store's schema: table creation and ordered migrations recorded in ``schema_version``.

A file is a CIMIC store when it holds the ``schema_version`` table. Opening one read-write applies
the migrations it lacks in one transaction; a read-only open never changes the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from cimic_geo.errors import StoreError
from cimic_geo.schema import LAYERS, Layer


def _create_layer_sql(layer: Layer) -> list[str]:
    cols = [f"{c.name} {c.sql}" + (" PRIMARY KEY" if c.name == "id" else "") for c in layer.all_columns]
    cols.append("geom GEOMETRY NOT NULL")
    stmts = [f"CREATE TABLE IF NOT EXISTS {layer.name} ({', '.join(cols)})"]
    stmts.append(f"CREATE INDEX IF NOT EXISTS {layer.name}_geom_rtree ON {layer.name} USING RTREE (geom)")
    return stmts


def _migration_1(con: duckdb.DuckDBPyConnection) -> None:
    """Initial schema: every layer of :data:`cimic_geo.schema.LAYERS`, meta, corridor history."""
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for layer in LAYERS.values():
        for stmt in _create_layer_sql(layer):
            con.execute(stmt)
    con.execute("CREATE SEQUENCE IF NOT EXISTS corridor_history_seq START 1")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS corridor_history (
            history_id BIGINT PRIMARY KEY DEFAULT nextval('corridor_history_seq'),
            corridor_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            changed_at TIMESTAMPTZ NOT NULL,
            changed_by VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            from_status VARCHAR,
            to_status VARCHAR,
            name VARCHAR,
            notes VARCHAR,
            details VARCHAR,
            geom_wkt VARCHAR
        )
        """
    )


def _add_missing_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Add columns (and spatial indexes) that the schema gained since the file was created."""
    for layer in LAYERS.values():
        existing = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [layer.name]
            ).fetchall()
        }
        if not existing:  # a layer created by a later migration
            continue
        for c in layer.all_columns:
            if c.name not in existing:
                con.execute(f"ALTER TABLE {layer.name} ADD COLUMN {c.name} {c.sql}")
        con.execute(f"CREATE INDEX IF NOT EXISTS {layer.name}_geom_rtree ON {layer.name} USING RTREE (geom)")
    from cimic_geo.store.versions import add_missing_history_columns

    add_missing_history_columns(con)


def _migration_3(con: duckdb.DuckDBPyConnection) -> None:
    """New layer tables from the schema module, and the evacuation status history."""
    _migration_1(con)
    con.execute("CREATE SEQUENCE IF NOT EXISTS evacuation_history_seq START 1")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS evacuation_history (
            history_id BIGINT PRIMARY KEY DEFAULT nextval('evacuation_history_seq'),
            evacuation_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            changed_at TIMESTAMPTZ NOT NULL,
            changed_by VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            from_status VARCHAR,
            to_status VARCHAR NOT NULL,
            people BIGINT,
            details VARCHAR
        )
        """
    )


def _migration_4(con: duckdb.DuckDBPyConnection) -> None:
    """Tables ``users`` and ``audit`` (sign-in, roles and the audit trail)."""
    from cimic_geo.store import audit, users

    users.create_tables(con)
    audit.create_tables(con)


def _migration_8(con: duckdb.DuckDBPyConnection) -> None:
    """Tables ``store_settings`` and ``import_markings``."""
    from cimic_geo.store import settings

    settings.create_tables(con)


def _migration_9(con: duckdb.DuckDBPyConnection) -> None:
    """History tables of the versioned layers, each current row its first version."""
    from cimic_geo.store import versions

    versions.create_history_tables(con)
    versions.seed_history(con, layers=("settlements", "shelters", "infrastructure"))


def _migration_10(con: duckdb.DuckDBPyConnection) -> None:
    """History tables of roads and corridors: each road its first version, each corridor one version per
    change in its log."""
    from cimic_geo.store import versions

    versions.create_history_tables(con)
    versions.seed_corridor_versions(con)
    versions.seed_history(con, layers=("roads", "corridors"))


def _describe_migrations(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the recorded descriptions with this program's text (older stores had a description
    of version 1 that cited a planning note instead of saying what it did)."""
    for number, description, _ in MIGRATIONS:
        con.execute("UPDATE schema_version SET description = ? WHERE version = ? AND description <> ?",
                    [description, number, description])


#: Ordered migrations: (version, description, function). Append; never edit a released one.
MIGRATIONS: tuple[tuple[int, str, Any], ...] = (
    (1, "initial schema (layers, meta, corridor history)", _migration_1),
    (2, "columns added to the schema module", _add_missing_columns),
    (3, "CIMIC layers added to the schema module (assessments, partners, evacuations)", _migration_3),
    (4, "local user accounts and the append-only audit trail", _migration_4),
    (5, "road columns: one-way, tunnel, ford, Ukrainian and English names", _add_missing_columns),
    (6, "migration descriptions in the program's own words", _describe_migrations),
    (7, "basemap layer: state and oblast outlines, rivers and water areas", _migration_1),
    (8, "store settings (state territory) and the exercise/real marking of every import", _migration_8),
    (9, "versions of settlements, shelters and infrastructure (valid from their report time)", _migration_9),
    (10, "versions of roads and corridors (corridors from their change log)", _migration_10),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the file (0: no ``schema_version`` table)."""
    if "schema_version" not in _table_names(con):
        return 0
    v = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return int(v or 0)


def check_version(con: duckdb.DuckDBPyConnection, path: Any, *, read_only: bool) -> int:
    """The file's schema version, or :class:`StoreError` with advice when this program cannot use it.

    Refused: a DuckDB database that holds other tables but no ``schema_version`` (not a CIMIC
    store: it must never silently gain the store's tables), a newer schema than this program knows,
    and (read-only) an older one, which only a read-write open can migrate.
    """
    version = current_version(con)
    if version == 0 and _table_names(con):
        raise StoreError(f"{path} is a DuckDB database but not a CIMIC store (it has no schema_version "
                         "table); give the path of a store, or create one with `python -m cimic_geo init`")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer version of this program (schema version {version}, "
                         f"this program knows up to {SCHEMA_VERSION}); update the program to use it")
    if read_only and version < SCHEMA_VERSION:
        raise StoreError(f"{path} has schema version {version}, this program needs {SCHEMA_VERSION}; "
                         "upgrade it once with `python -m cimic_geo migrate --db PATH` (stop the app first)")
    return version


def migrate(con: duckdb.DuckDBPyConnection, path: Any) -> int:
    """Apply the migrations the file lacks in one transaction; return the schema version."""
    version = check_version(con, path, read_only=False)
    if version == SCHEMA_VERSION:
        return version
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL, description VARCHAR)"
        )
        for number, description, fn in MIGRATIONS:
            if number > version:
                fn(con)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [number, datetime.now(UTC), description],
                )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION
