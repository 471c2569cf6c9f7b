"""Reads for the COP map at any scale: counts, grid aggregates and ranked reads in a bounding box.

The COP page sends the browser only what the view needs: points in the view when there are few,
otherwise one aggregate per grid cell computed here in SQL (the R-tree index counts the rows; many are
read by a scan, see :func:`cimic_geo.store.frames._bbox_scan`).
Table and column names come from :mod:`cimic_geo.schema` (allow-list), values are parameters.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.errors import StoreError
from cimic_geo.schema import get_layer
from cimic_geo.store import frames
from cimic_geo.store.content_stamp import content_stamp
from cimic_geo.store.core import Store, _as_utc, _geom_sql, _read_columns, _table_sql, _to_geodataframe, _where_sql
from cimic_geo.store.frames import _bbox_scan


def layers_as_of(store: Store, as_of: Any) -> pd.Timestamp | None:
    """The time a picture at ``as_of`` reads the versioned layers (shelters, damage, settlements) at.

    None (their current state) when ``as_of`` is None or not before the newest front-line or
    occupied-area snapshot: the latest position of a time slider shows what was reported since that
    snapshot too. Otherwise ``as_of`` itself (UTC). The snapshots' time range is read once per store
    content (:func:`kept_time_range`).
    """
    if as_of is None:
        return None
    t = _as_utc(as_of)
    rng = kept_time_range(store)
    return None if rng is None or t >= rng[1] else t


#: Time ranges kept per (store file, content stamp); a few stores at most.
_RANGES: OrderedDict[tuple[str, str], tuple[pd.Timestamp, pd.Timestamp] | None] = OrderedDict()
_RANGES_KEPT = 8
_RANGES_LOCK = threading.Lock()


def kept_time_range(store: Store) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """:meth:`Store.time_range`, read once per store content (its file's content stamp: any commit but an
    audit-only one changes it): a COP run asks for it for every layer it reads, the KPIs and the changes.
    A store without a file is read each time."""
    path = getattr(store, "path", None)
    stamp = content_stamp(path) if path is not None else "null"
    if stamp == "null":
        return store.time_range()
    key = (os.fspath(path), stamp)
    with _RANGES_LOCK:
        if key in _RANGES:
            _RANGES.move_to_end(key)
            return _RANGES[key]
    rng = store.time_range()
    with _RANGES_LOCK:
        _RANGES[key] = rng
        while len(_RANGES) > _RANGES_KEPT:
            _RANGES.popitem(last=False)
    return rng


def count_in_bbox(store: Store, layer: str, *, bbox: Sequence[float] | None = None,
                  where: dict[str, Any] | None = None, as_of: Any = None) -> int:
    """Number of rows of ``layer`` intersecting ``bbox`` and matching the equality filters (in force at
    ``as_of`` for a versioned or history layer; None = current rows of a versioned layer)."""
    spec = get_layer(layer)
    sql_where, params = _where_sql(spec, bbox=bbox, where=where, as_of=as_of)
    return int(store.con.execute(f"SELECT count(*) FROM {_table_sql(spec, as_of)}{sql_where}", params).fetchone()[0])


def scan_known(n: int, *, where: dict[str, Any] | None = None, as_of: Any = None,
               layer: str | None = None) -> bool | None:
    """Whether a read of a bbox scans the table (the ``scan`` of :meth:`Store.read`, :func:`grid_aggregate`,
    :func:`read_ranked`), known from ``n`` = :func:`count_in_bbox` of the same bbox, ``where`` and ``as_of``,
    or None when only a count of its own tells.

    The read scans when more than :func:`~cimic_geo.store.frames.scan_above` rows of ``layer`` (None: a layer
    of :data:`~cimic_geo.store.frames.SCAN_ABOVE_ROWS`) meet the bbox, filters and time aside. ``n`` counts a
    subset of those rows, so ``n`` above the threshold settles it; without filters and time it counts the same
    rows, so it settles it either way.
    """
    if n > (frames.SCAN_ABOVE_ROWS if layer is None else frames.scan_above(layer)):
        return True
    return False if not where and as_of is None else None


def _scan(store: Store, spec: Any, bbox: Sequence[float] | None, as_of: Any, scan: bool | None) -> bool:
    return _bbox_scan(store.con, spec, bbox=bbox, as_of=as_of) if scan is None else scan


def grid_aggregate(
    store: Store,
    layer: str,
    *,
    bbox: Sequence[float],
    cell_deg: float,
    category: str,
    where: dict[str, Any] | None = None,
    sums: Sequence[str] = (),
    as_of: Any = None,
    scan: bool | None = None,
) -> gpd.GeoDataFrame:
    """Aggregate the features of ``layer`` in ``bbox`` per square grid cell of ``cell_deg`` degrees.

    Returns one point per non-empty cell at the mean position of its features, with ``n`` (count),
    one count column per value of the enumeration ``category`` (``<value>``), and the sum of each
    column in ``sums``. Non-point geometries are placed by their centroid. Cells are a display
    device only (degrees are not used as distances). ``as_of``: the rows in force then (see
    :func:`count_in_bbox`). ``scan``: :func:`scan_known` (None: counted here).
    """
    spec = get_layer(layer)
    if not (math.isfinite(cell_deg) and cell_deg > 0):
        raise StoreError(f"cell size must be a positive number of degrees, got {cell_deg!r}")
    cat_col = spec.column(category)
    if not cat_col.choices:
        raise StoreError(f"{layer}.{category} is not an enumeration")
    for s in sums:
        spec.column(s)
    is_point = spec.geometry_types == ("POINT",)
    pt = "geom" if is_point else "ST_Centroid(geom)"
    cell = float(cell_deg)
    sql_where, params = _where_sql(spec, bbox=bbox, where=where, as_of=as_of,
                                   scan_bbox=_scan(store, spec, bbox, as_of, scan))
    cat_sql = ", ".join(f"count(*) FILTER (WHERE {category} = ?) AS \"{v}\"" for v in cat_col.choices)
    sum_sql = "".join(f", coalesce(sum({s}), 0) AS {s}" for s in sums)
    sql = (
        f"SELECT floor(ST_X({pt}) / {cell!r}) AS gx, floor(ST_Y({pt}) / {cell!r}) AS gy, count(*) AS n, "
        f"avg(ST_X({pt})) AS lon, avg(ST_Y({pt})) AS lat, {cat_sql}{sum_sql} "
        f"FROM {_table_sql(spec, as_of)}{sql_where} GROUP BY 1, 2 ORDER BY 1, 2"
    )
    df = store.con.execute(sql, list(cat_col.choices) + params).df()
    geoms = shapely.points(df["lon"].to_numpy(), df["lat"].to_numpy()) if len(df) else np.array([], dtype=object)
    out = gpd.GeoDataFrame(df.drop(columns=["gx", "gy"]), geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
                           crs="EPSG:4326")
    for c in ("n", *cat_col.choices, *sums):
        out[c] = pd.to_numeric(out[c]).fillna(0).astype("int64")
    return out


def read_ranked(
    store: Store,
    layer: str,
    *,
    order_by: str,
    descending: bool = True,
    limit: int,
    bbox: Sequence[float] | None = None,
    where: dict[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    simplify_deg: float | None = None,
    as_of: Any = None,
    scan: bool | None = None,
) -> gpd.GeoDataFrame:
    """The ``limit`` first rows of ``layer`` in ``bbox`` ordered by ``order_by`` (e.g. largest settlements),
    in force at ``as_of`` (see :func:`count_in_bbox`). ``scan``: :func:`scan_known` (None: counted here)."""
    spec = get_layer(layer)
    spec.column(order_by)
    cols = _read_columns(spec, columns)
    sql_where, params = _where_sql(spec, bbox=bbox, where=where, as_of=as_of,
                                   scan_bbox=_scan(store, spec, bbox, as_of, scan))
    direction = "DESC" if descending else "ASC"
    sql = (
        f"SELECT {', '.join(cols)}, {_geom_sql(simplify_deg)} FROM {_table_sql(spec, as_of)}{sql_where} "
        f"ORDER BY {order_by} {direction} NULLS LAST, id LIMIT {int(limit)}"
    )
    table = store.con.execute(sql, params).to_arrow_table()
    return _to_geodataframe(table, cols, spec)


def search_settlements(store: Store, text: str, *, limit: int = 10) -> pd.DataFrame:
    """Settlements whose name (or Ukrainian name) contains ``text`` (case-insensitive), largest first.

    Returns columns ``id``, ``name``, ``name_uk``, ``admin1``, ``population``, ``lat``, ``lon``.
    """
    text = (text or "").strip()
    if not text:
        return pd.DataFrame(columns=["id", "name", "name_uk", "admin1", "population", "lat", "lon"])
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return store.con.execute(
        "SELECT id, name, name_uk, admin1, population, ST_Y(geom) AS lat, ST_X(geom) AS lon FROM settlements "
        "WHERE name ILIKE ? ESCAPE '\\' OR coalesce(name_uk, '') ILIKE ? ESCAPE '\\' "
        "ORDER BY (lower(name) = lower(?)) DESC, population DESC NULLS LAST, id LIMIT ?",
        [pattern, pattern, text, int(limit)],
    ).df()


def settlements_without_latin_name(store: Store, *, limit: int = 200_000) -> pd.DataFrame:
    """Settlements whose ``name`` has no Latin letter (Cyrillic only, e.g. imported before names were
    transliterated on import), with the columns of :func:`search_settlements`; at most ``limit`` rows."""
    return store.con.execute(
        "SELECT id, name, name_uk, admin1, population, ST_Y(geom) AS lat, ST_X(geom) AS lon FROM settlements "
        "WHERE NOT regexp_matches(name, '[A-Za-z]') LIMIT ?", [int(limit)],
    ).df()


def read_kpi_layers(store: Store, *, bbox: Sequence[float] | None = None,
                    as_of: Any = None) -> dict[str, gpd.GeoDataFrame]:
    """The layers the COP's KPI strip summarises, read for ``bbox`` (the whole store when None).

    Settlements, shelters, damaged infrastructure and corridors are read through the R-tree index
    for ``bbox`` (only the columns the KPIs use), as they were at :func:`layers_as_of` (current at the
    newest snapshot);
    the front line and occupied area are read whole, in force at ``as_of`` (every row when None),
    because a settlement in the view is banded by its distance to any part of the front.
    """
    damaged = [d for d in get_layer("infrastructure").column("damage").choices if d != "none"]
    t = layers_as_of(store, as_of)
    return {
        "settlements": store.read("settlements", bbox=bbox, columns=["population"], as_of=t),
        "shelters": store.read("shelters", bbox=bbox, columns=["status", "capacity", "occupancy"], as_of=t),
        "infrastructure": store.read("infrastructure", bbox=bbox, columns=["sector", "damage"],
                                     where={"damage": damaged}, as_of=t),
        "corridors": store.read("corridors", bbox=bbox, columns=["status"], as_of=t),
        "front_line": store.read("front_line", as_of=as_of),
        "occupied_area": store.read("occupied_area", as_of=as_of),
    }


def road_class_versions(store: Store, classes: Sequence[str]) -> dict[str, str]:
    """A token per road class of the current roads: the number of roads of the class and a hash of
    their ids and geometries (it changes when a road of the class is added, removed, moved or
    reclassified). Reads no geometry into Python (a fraction of a second for a national store)."""
    if not classes:
        return {}
    spec = get_layer("roads")
    sql_where, params = _where_sql(spec, where={"road_class": list(classes)})
    rows = store.con.execute(f"SELECT road_class, count(*), coalesce(sum(hash(id, geom)), 0) FROM "
                             f"{_table_sql(spec, None)}{sql_where} GROUP BY road_class", params).fetchall()
    got = {str(c): f"{int(n)}:{int(h)}" for c, n, h in rows}
    return {c: got.get(c, "0:0") for c in classes}
