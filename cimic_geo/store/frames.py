"""SQL fragments and frame conversions shared by the store's reads and writes.

Column names are checked against :mod:`cimic_geo.schema` (allow-list); values become parameters,
except validated floats (bbox, tolerances) which are inlined so that DuckDB can use the R-tree index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.errors import StoreError, UnknownLayerError
from cimic_geo.schema import VERSIONED_LAYERS, Layer

WriteMode = Literal["append", "upsert", "replace"]
BBox = tuple[float, float, float, float]


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
    scan_bbox: bool = False,
) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (or ``""``) and its parameters for a bbox, an as-of time and equality filters.

    ``scan_bbox``: test the bbox on each row's extent first, then exactly (the same rows; DuckDB scans
    the table instead of fetching the rows one by one through the R-tree index, see :func:`_bbox_scan`).

    An as-of time selects the rows in force then for history layers and, in the table of
    :func:`_table_sql`, for versioned layers (removal markers left out); other layers ignore it.

    Column names are checked against the schema; values are parameters, except the bbox floats
    (validated) which are inlined so that DuckDB uses the R-tree index.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if bbox is not None:
        a, b, c, d = _check_bbox(bbox)
        env = f"ST_MakeEnvelope({a!r}, {b!r}, {c!r}, {d!r})"
        # a row's extent meets the bbox whenever the row does, so the extent test only skips work
        clauses.append(f"ST_Intersects_Extent(geom, {env}) AND ST_Intersects(geom, {env})" if scan_bbox
                       else f"ST_Intersects(geom, {env})")
    if as_of is not None and (spec.history or spec.name in VERSIONED_LAYERS):
        t = _as_utc(as_of)
        clauses.append("valid_from <= ? AND (valid_to IS NULL OR ? < valid_to)")
        params += [t, t]
        if spec.name in VERSIONED_LAYERS:  # read from the history table (see _table_sql)
            clauses.append("NOT removed")
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


#: A bbox read that would fetch more rows than this through the R-tree index scans the table instead:
#: the index fetches its rows one at a time (0.15-0.25 ms a row with every column: 0.4-0.8 CPU s for 3,000
#: shelters, 1.5 s for 5,000 roads), a scan with an extent test costs 0.01-0.05 s for 60,000 points and
#: 0.2-0.3 s for a million roads. Counting the rows through the index costs a few milliseconds.
SCAN_ABOVE_ROWS = 1000
#: Layers of small rows (points as a rule) scan from this share of :data:`SCAN_ABOVE_ROWS`: a scan of a
#: national table of them (30,000-62,000 rows) costs about what the index spends on 300 rows (measured
#: nationally at zoom 10: 965 settlements 0.041 CPU s through the index, 0.015 s by a scan; 536 damaged
#: infrastructure objects 0.049 s, 0.033 s).
POINT_SCAN_SHARE = 0.3
POINT_LAYERS = frozenset({"settlements", "shelters", "infrastructure"})


def scan_above(layer: str) -> float:
    """How many rows of ``layer`` meeting a bbox make a read scan the table instead of using the index."""
    return SCAN_ABOVE_ROWS * (POINT_SCAN_SHARE if layer in POINT_LAYERS else 1.0)


def _bbox_scan(con: Any, spec: Layer, *, bbox: Sequence[float] | None, as_of: datetime | str | None) -> bool:
    """True when a read of ``bbox`` should scan the table (``scan_bbox`` of :func:`_where_sql`): more
    than :func:`scan_above` rows of the table meet the bbox (counted through the R-tree index)."""
    if bbox is None:
        return False
    sql_where, params = _where_sql(spec, bbox=bbox)
    sql = f"SELECT count(*) FROM {_table_sql(spec, as_of)}{sql_where}"
    return int(con.execute(sql, params).fetchone()[0]) > scan_above(spec.name)


def _table_sql(spec: Layer, as_of: datetime | str | None) -> str:
    """The table a read takes its rows from: a versioned layer's history table at an as-of time, else
    the layer's own table (its current rows)."""
    return f"{spec.name}_history" if as_of is not None and spec.name in VERSIONED_LAYERS else spec.name


def _geom_sql(simplify_deg: float | None) -> str:
    """The WKB geometry expression of a read, simplified with a validated tolerance (display only)."""
    geom_sql = "geom"
    if simplify_deg:
        tol = float(simplify_deg)
        if not (math.isfinite(tol) and tol >= 0):
            raise StoreError(f"simplify tolerance must be >= 0, got {simplify_deg!r}")
        geom_sql = f"ST_SimplifyPreserveTopology(geom, {tol!r})"
    return f"ST_AsWKB({geom_sql}) AS geom_wkb"


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


def _typed_frame(table: Any, cols: list[str], spec: Layer) -> pd.DataFrame:
    """An Arrow table of a read as pandas, its time columns as UTC timestamps."""
    df = table.to_pandas()
    for c in cols:
        kind = spec.column(c).kind
        if kind == "datetime" and c in df:
            df[c] = pd.to_datetime(df[c], utc=True)
    return df


def _to_geodataframe(table: Any, cols: list[str], spec: Layer) -> gpd.GeoDataFrame:
    df = _typed_frame(table, cols, spec)
    wkb = df.pop("geom_wkb").to_numpy()
    geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
