"""The :class:`Store`: an open DuckDB database with the store's reads and transactional writes.

Opening, creating and replacing database files is :mod:`cimic_geo.store.engine`; the schema and
its migrations :mod:`cimic_geo.store.migrations`; SQL fragments and frame conversion
:mod:`cimic_geo.store.frames`. The names below stay importable from here.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import pandas as pd

from cimic_geo.errors import ConflictError, StoreError, UnknownLayerError
from cimic_geo.schema import LAYERS, VERSIONED_LAYERS, get_layer
from cimic_geo.store.content_stamp import content_stamp, note_audit_only_commit
from cimic_geo.store.frames import (  # noqa: F401  (re-exported for the store's other modules)
    BBox,
    WriteMode,
    _as_utc,
    _bbox_scan,
    _check_bbox,
    _geom_sql,
    _prepare_frame,
    _read_columns,
    _table_sql,
    _to_geodataframe,
    _where_sql,
)
from cimic_geo.store.migrations import SCHEMA_VERSION, current_version  # noqa: F401
from cimic_geo.store.versions import (
    backdate_versions,
    history_table,
    last_version,
    record_removal,
    record_write,
    replace_versions,
)

#: Per-connection settings (every cursor is a connection of its own): UTC, and no progress bar
#: (DuckDB draws one on stdout for queries over 2 s, which would corrupt a command's --json output).
SESSION_SETTINGS = "SET TimeZone = 'UTC'; SET enable_progress_bar = false"


def file_identity(path: str | os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of a file, or None when it does not exist: tells a replaced file from the same one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _is_conflict(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.TransactionException) and "onflict" in str(exc)


def describe_database_error(exc: BaseException) -> StoreError | None:
    """A :class:`StoreError` with a readable message for a DuckDB error (full disk, damaged file), else None.

    For callers outside the store (the CLI) that must not import :mod:`duckdb` to tell its errors apart.
    """
    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "No space left on device" in text:
        return StoreError(f"the disk is full: {text}; nothing was saved. Free some space and try again")
    if any(word in text.lower() for word in ("corrupt", "checksum", "invalid block", "failed to read")):
        return StoreError(f"the database file is damaged: {text}. Restore it from a backup or seed a new one")
    return StoreError(f"database error: {text}")


#: Base stores opened in this process (not their cursors): a file open here must not be replaced.
_OPEN_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


class Store:
    """An open DuckDB store with the spatial extension loaded.

    Do not build directly; use :func:`cimic_geo.store.connect`. One ``Store`` may be shared by
    several threads (Streamlit sessions) through :meth:`cursor`, which gives each its own DuckDB
    cursor on the same database instance.

    The store remembers which file (device and inode) it opened: when the file at its path has
    been replaced since (another program deleted or renamed a new file onto it), :meth:`replaced`
    says so and every write is refused, so no edit is reported saved into a file nobody will read.
    """

    _write_lock = threading.RLock()

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool,
                 identity: tuple[int, int] | None = None) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self.identity = identity if identity is not None else file_identity(path)
        self.closed = False

    # -- lifecycle ------------------------------------------------------------------------------
    def cursor(self) -> Store:
        """A new cursor on the same database (thread-safe use from another session/thread)."""
        cur = self.con.cursor()
        cur.execute(SESSION_SETTINGS)
        return Store(cur, self.path, read_only=self.read_only, identity=self.identity)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(duckdb.Error):
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def replaced(self) -> bool:
        """True when the file at :attr:`path` is no longer the file this store opened."""
        return file_identity(self.path) != self.identity

    def _require_same_file(self) -> None:
        if self.replaced():
            raise StoreError(
                f"the database file {self.path.name} was replaced or removed by another program since it was "
                "opened; nothing was saved. Reload to work on the current file"
            )

    @contextlib.contextmanager
    def transaction(self, *, audit_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: all of it is written, or none of it.

        ``audit_only``: the block writes only the audit trail (and a user's last sign-in time), so the
        store's content stamp (:func:`cimic_geo.store.content_stamp.content_stamp`, which page caches
        are keyed by) stays as it was.

        Raises
        ------
        ConflictError
            When another session changed the same rows first.
        StoreError
            When the file was replaced since it was opened, or the commit failed (full disk, damaged
            file); nothing was saved.
        """
        self._require_writable()
        with self._write_lock:
            self._require_same_file()
            before = content_stamp(self.path) if audit_only else None
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
                self._require_same_file()
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error):
                    if _is_conflict(exc):
                        raise ConflictError(f"another session changed the same rows; reload and retry ({exc})") from exc
                    raise describe_database_error(exc) from exc
                raise
            try:
                self.con.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                if _is_conflict(exc):
                    raise ConflictError(f"another session changed the same rows; reload and retry ({exc})") from exc
                raise describe_database_error(exc) from exc
            if before is not None:
                note_audit_only_commit(self.path, before=before)

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only; writes are disabled (CIMIC_READ_ONLY)")

    # -- metadata -------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return current_version(self.con)

    def get_meta(self) -> dict[str, str]:
        """Key/value metadata: ``marking`` (e.g. EXERCISE), ``scenario``, ``scale``, ``seed``."""
        return dict(self.con.execute("SELECT key, value FROM meta ORDER BY key").fetchall())

    def set_meta(self, values: dict[str, Any]) -> None:
        with self.transaction() as con:
            for k, v in values.items():
                con.execute("DELETE FROM meta WHERE key = ?", [str(k)])
                if v is not None:
                    con.execute("INSERT INTO meta VALUES (?, ?)", [str(k), str(v)])

    @property
    def marking(self) -> str | None:
        """The handling marking of the data (``EXERCISE`` for the scenario), or None."""
        return self.get_meta().get("marking")

    def counts(self) -> dict[str, int]:
        """Row count of every layer (all history rows included)."""
        return {name: int(self.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in LAYERS}

    def history_times(self, layer: str = "occupied_area") -> list[pd.Timestamp]:
        """Distinct ``valid_from`` times of a history layer, ascending (UTC)."""
        spec = get_layer(layer)
        if not spec.history:
            raise UnknownLayerError(f"layer '{layer}' has no history")
        rows = self.con.execute(f"SELECT DISTINCT valid_from FROM {layer} ORDER BY 1").fetchall()
        return [_as_utc(r[0]) for r in rows]

    def time_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last ``valid_from`` over the front-line and occupied-area history, or None."""
        row = self.con.execute(
            "SELECT min(t), max(t) FROM (SELECT valid_from AS t FROM front_line "
            "UNION ALL SELECT valid_from FROM occupied_area)"
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return _as_utc(row[0]), _as_utc(row[1])

    def bbox(self) -> BBox | None:
        """Bounding box of all layers (minlon, minlat, maxlon, maxlat), or None when empty."""
        parts = " UNION ALL ".join(
            f"SELECT ST_XMin(geom) x0, ST_YMin(geom) y0, ST_XMax(geom) x1, ST_YMax(geom) y1 FROM {n}"
            for n in LAYERS
            if n != "roads"  # roads lie between settlements; skipping them keeps this fast
        )
        row = self.con.execute(f"SELECT min(x0), min(y0), max(x1), max(y1) FROM ({parts})").fetchone()
        if row is None or row[0] is None:
            return None
        return tuple(float(v) for v in row)  # type: ignore[return-value]

    # -- reads ----------------------------------------------------------------------------------
    def read(
        self,
        layer: str,
        *,
        bbox: Sequence[float] | None = None,
        as_of: datetime | str | None = None,
        columns: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        simplify_deg: float | None = None,
        limit: int | None = None,
        scan: bool | None = None,
    ) -> gpd.GeoDataFrame:
        """Read a layer as a GeoDataFrame (EPSG:4326).

        Parameters
        ----------
        layer : one of :data:`cimic_geo.schema.LAYERS`
        bbox : (minlon, minlat, maxlon, maxlat); rows through the R-tree index, or a scan of the table
            when many rows meet it (:data:`~cimic_geo.store.frames.SCAN_ABOVE_ROWS`)
        as_of : for history layers and versioned layers (:data:`cimic_geo.schema.VERSIONED_LAYERS`),
            the rows in force at that time (``valid_from <= t < valid_to``, ``valid_to`` NULL = current);
            None: the current rows of a versioned layer, every row of a history layer
        columns : attribute columns to return (default all); ``id`` always included
        where : equality filters ``{column: value}`` (a list/tuple value means IN)
        simplify_deg : simplify geometries with this tolerance in degrees (display only)
        limit : at most this many rows
        scan : how to meet ``bbox`` when the caller knows it already
            (:func:`cimic_geo.store.cop_reads.scan_known`; None = count through the index)
        """
        spec = get_layer(layer)
        cols = _read_columns(spec, columns)
        if scan is None:
            scan = _bbox_scan(self.con, spec, bbox=bbox, as_of=as_of)
        sql_where, params = _where_sql(spec, bbox=bbox, as_of=as_of, where=where, scan_bbox=scan)
        table = _table_sql(spec, as_of)
        sql = f"SELECT {', '.join(cols)}, {_geom_sql(simplify_deg)} FROM {table}{sql_where} ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        table = self.con.execute(sql, params).to_arrow_table()
        return _to_geodataframe(table, cols, spec)

    def read_all(self, *, bbox: Sequence[float] | None = None, as_of: datetime | str | None = None,
                 layers: Sequence[str] | None = None) -> dict[str, gpd.GeoDataFrame]:
        """Read several layers (default all) with the same bbox and as-of time."""
        return {name: self.read(name, bbox=bbox, as_of=as_of) for name in (layers or LAYERS)}

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a fixed SQL statement from this package (never user text) and return a DataFrame."""
        return self.con.execute(sql, list(params or [])).to_arrow_table().to_pandas()

    # -- writes ---------------------------------------------------------------------------------
    def write(
        self,
        layer: str,
        gdf: gpd.GeoDataFrame,
        *,
        mode: WriteMode = "append",
        replace_where: dict[str, Any] | None = None,
        valid_from: datetime | None = None,
    ) -> int:
        """Write rows to a layer in one transaction; return the number of rows written.

        Parameters
        ----------
        layer : layer name
        gdf : rows with an ``id`` column, attribute columns of the layer (others rejected) and a
            geometry in EPSG:4326
        mode : ``append`` (ids must be new), ``upsert`` (rows with the same id are replaced) or
            ``replace`` (the layer becomes exactly ``gdf``; with ``replace_where``, only rows
            matching those equality filters are removed first)
        valid_from : versioned layers: when the written versions take effect (default: each row's
            ``reported_at``, else now)
        """
        with self.transaction() as con:
            return self._write_in_transaction(con, layer, gdf, mode=mode, replace_where=replace_where,
                                              valid_from=valid_from)

    def _write_in_transaction(
        self,
        con: duckdb.DuckDBPyConnection,
        layer: str,
        gdf: gpd.GeoDataFrame,
        *,
        mode: WriteMode = "append",
        replace_where: dict[str, Any] | None = None,
        valid_from: datetime | None = None,
    ) -> int:
        """The body of :meth:`write` for callers that already hold a :meth:`transaction`."""
        spec = get_layer(layer)
        if mode not in ("append", "upsert", "replace"):
            raise StoreError(f"unknown write mode '{mode}'; expected append, upsert or replace")
        frame = _prepare_frame(gdf, spec)
        con.register("_incoming", frame)
        try:
            if mode == "replace":
                if replace_where:
                    clauses, params = [], []
                    for key, value in replace_where.items():
                        spec.column(key)
                        clauses.append(f"{key} = ?")
                        params.append(value)
                    con.execute(f"DELETE FROM {layer} WHERE {' AND '.join(clauses)}", params)
                else:
                    con.execute(f"DELETE FROM {layer}")
            elif mode == "upsert":
                con.execute(f"DELETE FROM {layer} WHERE id IN (SELECT id FROM _incoming)")
            names = [c for c in frame.columns if c != "geom_wkb"]
            try:
                con.execute(
                    f"INSERT INTO {layer} ({', '.join(names)}, geom) "
                    f"SELECT {', '.join(names)}, ST_GeomFromWKB(geom_wkb) FROM _incoming"
                )
            except duckdb.ConstraintException as exc:
                raise StoreError(
                    f"{layer}: an id already exists in the store (use mode upsert or replace): {exc}"
                ) from exc
            record_write(con, spec.name, mode=mode, replace_where=replace_where,
                         valid_from=None if valid_from is None else _as_utc(valid_from))
        finally:
            con.unregister("_incoming")
        return len(frame)

    def delete(self, layer: str, ids: Sequence[str]) -> int:
        """Delete rows by id in one transaction; return how many were deleted (a versioned layer keeps
        their versions: their validity ends now)."""
        spec = get_layer(layer)
        ids = [str(i) for i in ids]
        if not ids:
            return 0
        with self.transaction() as con:
            n = con.execute(
                f"SELECT count(*) FROM {spec.name} WHERE id IN ({', '.join('?' * len(ids))})", ids
            ).fetchone()[0]
            con.execute(f"DELETE FROM {spec.name} WHERE id IN ({', '.join('?' * len(ids))})", ids)
            record_removal(con, spec.name, ids)
        return int(n)

    def bulk_load(self, frames: dict[str, gpd.GeoDataFrame], *, meta: dict[str, Any] | None = None,
                  history_start: datetime | None = None,
                  versions: dict[str, gpd.GeoDataFrame] | None = None) -> None:
        """Replace whole layers in one transaction, fast (indexes rebuilt after loading).

        Used by the scenario generator; for national scale (~1M road segments) inserting into an
        existing R-tree row by row is far slower than building it once. ``history_start``: the
        versions written for versioned layers take effect at this time when their report is later
        (generated data whose rows existed from the start of its history). ``versions``: per versioned layer,
        the whole history of its changed rows (see :func:`cimic_geo.store.versions.replace_versions`).
        """
        with self.transaction() as con:
            for name, gdf in frames.items():
                spec = get_layer(name)
                tables = (spec.name, history_table(name)) if name in VERSIONED_LAYERS else (spec.name,)
                for table in tables:
                    con.execute(f"DROP INDEX IF EXISTS {table}_geom_rtree")
                first = last_version(con, name)
                self._write_in_transaction(con, name, gdf, mode="replace")
                if history_start is not None:
                    backdate_versions(con, name, after_version=first, at=history_start)
                if versions and name in versions:
                    replace_versions(con, name, versions[name])
                for table in tables:
                    con.execute(f"CREATE INDEX {table}_geom_rtree ON {table} USING RTREE (geom)")
            for k, v in (meta or {}).items():
                con.execute("DELETE FROM meta WHERE key = ?", [str(k)])
                if v is not None:
                    con.execute("INSERT INTO meta VALUES (?, ?)", [str(k), str(v)])

    def checkpoint(self) -> None:
        """Write the write-ahead log into the database file (e.g. before the file is moved)."""
        self.con.execute("CHECKPOINT")

    def fingerprint(self) -> dict[str, Any]:
        """Row counts plus a content hash per table: compare before/after to prove nothing changed.

        The versions' ``recorded_at`` (the clock time of the write) is left out of the hash, so that the
        same import run twice on two copies gives the same fingerprint (every write adds version rows,
        so the counts and hashes still change with any write).
        """
        out: dict[str, Any] = {}
        versions = {history_table(n) for n in VERSIONED_LAYERS}
        for name in (*LAYERS, *sorted(versions), "meta", "corridor_history", "evacuation_history", "users"):
            source = f"(SELECT * EXCLUDE (recorded_at) FROM {name})" if name in versions else name
            row = self.con.execute(
                f"SELECT count(*), coalesce(sum(hash(t::VARCHAR)), 0) FROM {source} AS t"
            ).fetchone()
            out[name] = (int(row[0]), int(row[1]))
        return out
