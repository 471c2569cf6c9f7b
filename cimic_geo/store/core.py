"""Connection, schema migrations, generic layer reads and transactional writes."""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.config import resolve_db_path
from cimic_geo.errors import (
    ConflictError,
    SpatialExtensionError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    UnknownLayerError,
)
from cimic_geo.schema import LAYERS, Layer, get_layer

WriteMode = Literal["append", "upsert", "replace"]
BBox = tuple[float, float, float, float]

# ----------------------------------------------------------------------------------------------
# Spatial extension (offline)
# ----------------------------------------------------------------------------------------------


def spatial_extension_path() -> Path:
    """Path of the spatial extension file shipped by the pinned ``duckdb-extension-spatial`` wheel.

    Raises
    ------
    SpatialExtensionError
        If the package is missing or was built for another DuckDB version.
    """
    try:
        import duckdb_extension_spatial
    except ImportError as exc:  # pragma: no cover - requirements pin it
        raise SpatialExtensionError(
            "the package duckdb-extension-spatial is not installed; run `make run` or "
            "`pip install -r requirements.txt`"
        ) from exc
    root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    path = root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if not path.exists():
        shipped = sorted(p.name for p in root.glob("v*")) if root.exists() else []
        raise SpatialExtensionError(
            f"no spatial extension for DuckDB {duckdb.__version__} in {root} (found {shipped}); "
            "pin duckdb and duckdb-extension-spatial to the same version"
        )
    return path


def _load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    path = spatial_extension_path()
    try:
        # The path comes from the installed package, not from user input.
        con.execute(f"LOAD '{path.as_posix()}'")
    except duckdb.Error as exc:
        raise SpatialExtensionError(f"cannot load the spatial extension from {path}: {exc}") from exc


# ----------------------------------------------------------------------------------------------
# Schema and migrations
# ----------------------------------------------------------------------------------------------


def _create_layer_sql(layer: Layer) -> list[str]:
    cols = [f"{c.name} {c.sql}" + (" PRIMARY KEY" if c.name == "id" else "") for c in layer.all_columns]
    cols.append("geom GEOMETRY NOT NULL")
    stmts = [f"CREATE TABLE IF NOT EXISTS {layer.name} ({', '.join(cols)})"]
    stmts.append(f"CREATE INDEX IF NOT EXISTS {layer.name}_geom_rtree ON {layer.name} USING RTREE (geom)")
    return stmts


def _migration_1(con: duckdb.DuckDBPyConnection) -> None:
    """Initial schema: every layer of DESIGN §3, meta, corridor history."""
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
        for c in layer.all_columns:
            if c.name not in existing:
                con.execute(f"ALTER TABLE {layer.name} ADD COLUMN {c.name} {c.sql}")
        con.execute(f"CREATE INDEX IF NOT EXISTS {layer.name}_geom_rtree ON {layer.name} USING RTREE (geom)")


#: Ordered migrations: (version, description, function). Append; never edit a released one.
MIGRATIONS: tuple[tuple[int, str, Any], ...] = (
    (1, "initial schema (DESIGN §3 layers, meta, corridor history)", _migration_1),
    (2, "columns added to the schema module", _add_missing_columns),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    v = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return int(v or 0)


def _migrate(con: duckdb.DuckDBPyConnection) -> int:
    version = _current_version(con)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {version}, newer than this program's {SCHEMA_VERSION}; "
            "update the program"
        )
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


# ----------------------------------------------------------------------------------------------
# The store
# ----------------------------------------------------------------------------------------------


def _as_utc(value: datetime | str | pd.Timestamp | None) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC")


def _check_bbox(bbox: Sequence[float]) -> BBox:
    try:
        a, b, c, d = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise StoreError(f"bbox must be four numbers minlon,minlat,maxlon,maxlat, got {bbox!r}") from None
    if not all(math.isfinite(v) for v in (a, b, c, d)) or a > c or b > d:
        raise StoreError(f"bbox must be finite with min <= max, got {bbox!r}")
    return a, b, c, d


def _read_columns(spec: Layer, columns: Sequence[str] | None) -> list[str]:
    """The attribute columns of a read (default all; ``id`` always first), checked against the schema."""
    cols = list(spec.column_names) if columns is None else ["id", *[c for c in columns if c != "id"]]
    for c in cols:
        spec.column(c)  # allow-list check
    return cols


def _where_sql(
    spec: Layer,
    *,
    bbox: Sequence[float] | None = None,
    as_of: datetime | str | None = None,
    where: dict[str, Any] | None = None,
) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (or ``""``) and its parameters for a bbox, an as-of time and equality filters.

    Column names are checked against the schema; values are parameters, except the bbox floats
    (validated) which are inlined so that DuckDB uses the R-tree index.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if bbox is not None:
        a, b, c, d = _check_bbox(bbox)
        clauses.append(f"ST_Intersects(geom, ST_MakeEnvelope({a!r}, {b!r}, {c!r}, {d!r}))")
    if as_of is not None and spec.history:
        t = _as_utc(as_of)
        clauses.append("valid_from <= ? AND (valid_to IS NULL OR ? < valid_to)")
        params += [t, t]
    for key, value in (where or {}).items():
        spec.column(key)  # allow-list check
        if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
            values = list(value)
            if not values:
                clauses.append("FALSE")
                continue
            clauses.append(f"{key} IN ({', '.join('?' * len(values))})")
            params += values
        elif value is None:
            clauses.append(f"{key} IS NULL")
        else:
            clauses.append(f"{key} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _geom_sql(simplify_deg: float | None) -> str:
    """The WKB geometry expression of a read, simplified with a validated tolerance (display only)."""
    geom_sql = "geom"
    if simplify_deg:
        tol = float(simplify_deg)
        if not (math.isfinite(tol) and tol >= 0):
            raise StoreError(f"simplify tolerance must be >= 0, got {simplify_deg!r}")
        geom_sql = f"ST_SimplifyPreserveTopology(geom, {tol!r})"
    return f"ST_AsWKB({geom_sql}) AS geom_wkb"


class Store:
    """An open DuckDB store with the spatial extension loaded.

    Do not build directly; use :func:`connect`. One ``Store`` may be shared by several threads
    (Streamlit sessions) through :meth:`cursor`, which gives each its own DuckDB cursor on the
    same database instance.
    """

    _write_lock = threading.RLock()

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    # -- lifecycle ------------------------------------------------------------------------------
    def cursor(self) -> Store:
        """A new cursor on the same database (thread-safe use from another session/thread)."""
        cur = self.con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return Store(cur, self.path, read_only=self.read_only)

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: all of it is written, or none of it."""
        self._require_writable()
        with self._write_lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise
            try:
                self.con.execute("COMMIT")
            except duckdb.TransactionException as exc:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise ConflictError(f"another session changed the same rows; reload and retry ({exc})") from exc

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only; writes are disabled (CIMIC_READ_ONLY)")

    # -- metadata -------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return _current_version(self.con)

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
    ) -> gpd.GeoDataFrame:
        """Read a layer as a GeoDataFrame (EPSG:4326).

        Parameters
        ----------
        layer : one of :data:`cimic_geo.schema.LAYERS`
        bbox : (minlon, minlat, maxlon, maxlat); uses the R-tree index
        as_of : for history layers, the rows in force at that time
            (``valid_from <= t < valid_to``, ``valid_to`` NULL = current)
        columns : attribute columns to return (default all); ``id`` always included
        where : equality filters ``{column: value}`` (a list/tuple value means IN)
        simplify_deg : simplify geometries with this tolerance in degrees (display only)
        limit : at most this many rows
        """
        spec = get_layer(layer)
        cols = _read_columns(spec, columns)
        sql_where, params = _where_sql(spec, bbox=bbox, as_of=as_of, where=where)
        sql = f"SELECT {', '.join(cols)}, {_geom_sql(simplify_deg)} FROM {spec.name}{sql_where} ORDER BY id"
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
        """
        with self.transaction() as con:
            return self._write_in_transaction(con, layer, gdf, mode=mode, replace_where=replace_where)

    def _write_in_transaction(
        self,
        con: duckdb.DuckDBPyConnection,
        layer: str,
        gdf: gpd.GeoDataFrame,
        *,
        mode: WriteMode = "append",
        replace_where: dict[str, Any] | None = None,
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
        finally:
            con.unregister("_incoming")
        return len(frame)

    def delete(self, layer: str, ids: Sequence[str]) -> int:
        """Delete rows by id in one transaction; return how many were deleted."""
        spec = get_layer(layer)
        ids = [str(i) for i in ids]
        if not ids:
            return 0
        with self.transaction() as con:
            n = con.execute(
                f"SELECT count(*) FROM {spec.name} WHERE id IN ({', '.join('?' * len(ids))})", ids
            ).fetchone()[0]
            con.execute(f"DELETE FROM {spec.name} WHERE id IN ({', '.join('?' * len(ids))})", ids)
        return int(n)

    def bulk_load(self, frames: dict[str, gpd.GeoDataFrame], *, meta: dict[str, Any] | None = None) -> None:
        """Replace whole layers in one transaction, fast (indexes rebuilt after loading).

        Used by the scenario generator; for national scale (~1M road segments) inserting into an
        existing R-tree row by row is far slower than building it once.
        """
        with self.transaction() as con:
            for name, gdf in frames.items():
                spec = get_layer(name)
                con.execute(f"DROP INDEX IF EXISTS {name}_geom_rtree")
                self._write_in_transaction(con, name, gdf, mode="replace")
                con.execute(f"CREATE INDEX {name}_geom_rtree ON {spec.name} USING RTREE (geom)")
            for k, v in (meta or {}).items():
                con.execute("DELETE FROM meta WHERE key = ?", [str(k)])
                if v is not None:
                    con.execute("INSERT INTO meta VALUES (?, ?)", [str(k), str(v)])

    def checkpoint(self) -> None:
        """Write the write-ahead log into the database file (e.g. before the file is moved)."""
        self.con.execute("CHECKPOINT")

    def fingerprint(self) -> dict[str, Any]:
        """Row counts plus a content hash per table: compare before/after to prove nothing changed."""
        out: dict[str, Any] = {}
        for name in (*LAYERS, "meta", "corridor_history"):
            row = self.con.execute(
                f"SELECT count(*), coalesce(sum(hash(t::VARCHAR)), 0) FROM {name} AS t"
            ).fetchone()
            out[name] = (int(row[0]), int(row[1]))
        return out


def _prepare_frame(gdf: gpd.GeoDataFrame, spec: Layer) -> pd.DataFrame:
    """Check columns against the schema and turn a GeoDataFrame into a frame with WKB geometry."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise StoreError(f"{spec.name}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        raise StoreError(f"{spec.name}: geometries must be EPSG:4326 lon/lat, got {gdf.crs}")
    geom_name = gdf.geometry.name
    unknown = [c for c in gdf.columns if c != geom_name and c not in spec.column_names]
    if unknown:
        raise UnknownLayerError(f"{spec.name}: unknown columns {unknown}; allowed: {list(spec.column_names)}")
    if "id" not in gdf.columns:
        raise StoreError(f"{spec.name}: an 'id' column is required")
    geoms = gdf.geometry.values
    if len(gdf) and (shapely.is_missing(np.asarray(geoms)).any() or geoms.is_empty.any()):
        raise StoreError(f"{spec.name}: every row needs a non-empty geometry")
    frame = pd.DataFrame(index=range(len(gdf)))
    for col in spec.all_columns:
        if col.name not in gdf.columns:
            continue
        values = gdf[col.name].reset_index(drop=True)
        kind = col.kind
        if kind == "datetime":
            values = pd.to_datetime(values, utc=True)
        elif kind == "int":
            values = pd.array(values, dtype="Int64")
        elif kind == "float":
            values = pd.to_numeric(values).astype("float64")
        elif kind == "bool":
            values = pd.array(values, dtype="boolean")
        else:
            values = values.astype("object").where(values.notna(), None)
            values = values.map(lambda v: v if v is None else str(v))
        frame[col.name] = values
    frame["id"] = frame["id"].astype(str)
    if frame["id"].duplicated().any():
        dups = frame.loc[frame["id"].duplicated(), "id"].head(5).tolist()
        raise StoreError(f"{spec.name}: duplicate ids in the rows to write: {dups}")
    frame["geom_wkb"] = shapely.to_wkb(np.asarray(geoms), output_dimension=2)
    return frame


def _to_geodataframe(table: Any, cols: list[str], spec: Layer) -> gpd.GeoDataFrame:
    df = table.to_pandas()
    wkb = df.pop("geom_wkb").to_numpy()
    geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    for c in cols:
        kind = spec.column(c).kind
        if kind == "datetime" and c in df:
            df[c] = pd.to_datetime(df[c], utc=True)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


# ----------------------------------------------------------------------------------------------
# Opening
# ----------------------------------------------------------------------------------------------


_DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _open_instance(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open ``path``; within one process, share an instance already open in the other mode.

    DuckDB keeps one database instance per file and process and refuses a second connection with
    another configuration. A read-only request is served from an open read-write instance (the
    :class:`Store` still refuses writes); a read-write request on a read-only instance is refused.
    """
    try:
        return duckdb.connect(str(path), read_only=read_only, config=_DUCKDB_CONFIG)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise StoreError(f"cannot open {path}: {exc}") from exc
        if not read_only:
            raise StoreError(
                f"{path} is already open read-only in this process; writes are not possible"
            ) from exc
        try:
            return duckdb.connect(str(path), read_only=False, config=_DUCKDB_CONFIG)
        except duckdb.Error as exc2:
            raise StoreError(f"cannot open {path}: {exc2}") from exc2
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc


def connect(
    db: str | os.PathLike | None = None,
    *,
    read_only: bool = False,
    create: bool = False,
) -> Store:
    """Open the store, load the spatial extension offline and apply pending migrations.

    Parameters
    ----------
    db : database file; default env ``CIMIC_DB`` or ``data/cimic.duckdb``
    read_only : open read-only (several processes may read the same file at once)
    create : create the file when it does not exist (otherwise :class:`StoreNotFoundError`)
    """
    path = resolve_db_path(db)
    if not path.exists():
        if read_only or not create:
            raise StoreNotFoundError(
                f"no database at {path}; create one with `python -m cimic_geo seed` or "
                "`python -m cimic_geo init`"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open_instance(path, read_only=read_only)
    try:
        _load_spatial(con)
        con.execute("SET TimeZone = 'UTC'")
        if read_only:
            version = _current_version(con)
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"{path} has schema version {version}, this program needs {SCHEMA_VERSION}; "
                    "open it once read-write (e.g. `python -m cimic_geo info`) to migrate"
                )
        else:
            _migrate(con)
    except Exception:
        con.close()
        raise
    return Store(con, path, read_only=read_only)


def init_store(db: str | os.PathLike | None = None, *, force: bool = False) -> Store:
    """Create an empty store with the current schema; refuse to overwrite unless ``force``."""
    path = resolve_db_path(db)
    if path.exists():
        if not force:
            raise StoreExistsError(f"{path} already exists; pass --force to overwrite it")
        remove_database(path)
    return connect(path, create=True)


def remove_database(path: Path) -> None:
    """Delete a database file and its write-ahead log."""
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            p.unlink()
