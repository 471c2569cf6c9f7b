"""Reads for the views over time: the changed features' positions and the series behind the trend charts.

Layers are read through :meth:`Store.read` / :func:`cimic_geo.store.changes_reads.attributes_as_of` with
``as_of`` (their versions); these functions only select the few rows or columns a view needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from cimic_geo.store.core import Store


def features_by_id(store: Store, layer: str, ids: Sequence[str], *, columns: Sequence[str] = ("name",),
                   as_of: Any = None) -> gpd.GeoDataFrame:
    """The rows of ``layer`` with the given ids (``id``, ``columns`` and geometry) in force at ``as_of``
    (None: current); an empty frame when ``ids`` is empty."""
    ids = sorted({str(i) for i in ids})
    if not ids:
        return gpd.GeoDataFrame({"id": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs="EPSG:4326"),
                                crs="EPSG:4326")
    return store.read(layer, columns=list(columns), where={"id": ids}, as_of=as_of)


def version_frame(store: Store, layer: str, columns: Sequence[str], *, geometry: bool = False) -> pd.DataFrame:
    """Every version of a versioned layer (removal markers left out): ``id``, ``columns``, ``valid_from``,
    ``valid_to`` (NaT while in force) and, with ``geometry``, a ``geometry`` column of shapely objects.

    Column names come from the schema (allow-list); the whole history is read once, without geometry unless
    asked (a series over 90 snapshots needs each version once, not once per snapshot).
    """
    import shapely

    from cimic_geo.schema import get_layer
    from cimic_geo.store.versions import history_table

    hist = history_table(layer)
    spec = get_layer(layer)
    cols = [c for c in columns if c in spec.column_names and c != "id"]
    unknown = [c for c in columns if c not in spec.column_names]
    if unknown:
        raise KeyError(f"{layer}: unknown column(s) {unknown}")
    select = ", ".join(["id", *cols, "valid_from", "valid_to"] + (["ST_AsWKB(geom) AS geom_wkb"] if geometry else []))
    df = store.query_df(f"SELECT {select} FROM {hist} WHERE NOT removed ORDER BY id, valid_from, version_id")
    for c in ("valid_from", "valid_to"):
        df[c] = pd.to_datetime(df[c], utc=True)
    if geometry:
        df["geometry"] = shapely.from_wkb([bytes(b) if b is not None else None for b in df.pop("geom_wkb")])
    return df


def history_rows(store: Store, layer: str) -> gpd.GeoDataFrame:
    """Every row of a history layer (``front_line``, ``occupied_area``) with ``valid_from``/``valid_to``."""
    return store.read(layer, columns=["valid_from", "valid_to"])


def corridor_status_log(store: Store) -> pd.DataFrame:
    """The corridor workflow log's status after each change: ``corridor_id``, ``changed_at`` (UTC),
    ``to_status`` (rows without a status left out), oldest first."""
    df = store.query_df("SELECT corridor_id, changed_at, to_status FROM corridor_history WHERE to_status IS NOT NULL "
                        "ORDER BY changed_at, history_id")
    df["changed_at"] = pd.to_datetime(df["changed_at"], utc=True)
    return df


#: What the trend series are computed from, per table: the columns hashed into their key (the history
#: tables of the versioned layers, so a version written only to a history table changes the key too).
_TREND_SOURCES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("settlements", True, ("id", "population", "geom", "valid_from", "valid_to", "removed")),
    ("shelters", True, ("id", "status", "capacity", "occupancy", "valid_from", "valid_to", "removed")),
    ("infrastructure", True, ("id", "sector", "damage", "restoration", "valid_from", "valid_to", "removed")),
    ("front_line", False, ("id", "valid_from", "valid_to", "geom")),
    ("occupied_area", False, ("id", "valid_from", "valid_to", "geom")),
    ("corridor_history", False, ("history_id", "corridor_id", "changed_at", "to_status")),
    ("corridors", False, ("id", "status")),
)


def trend_data_key(store: Store) -> str:
    """A token that changes whenever anything :func:`trend_inputs` reads changes: row count and a hash of
    the columns read, per table (every version of settlements, shelters and infrastructure; the
    front-line and occupied-area history; the corridor log and status). Cheap (~0.1 s nationally)."""
    from cimic_geo.store.versions import history_table

    parts = []
    for name, versions, cols in _TREND_SOURCES:
        table = history_table(name) if versions else name
        row = store.con.execute(f"SELECT count(*), coalesce(sum(hash({', '.join(cols)})), 0) FROM {table}").fetchone()
        parts.append(f"{table}:{int(row[0])}:{int(row[1])}")
    return "|".join(parts)


def trend_inputs(store: Store) -> dict[str, Any]:
    """What :func:`cimic_geo.analytics.trends.compute_trends` needs, read once from ``store``: the snapshot
    times (front line, else occupied area), every version of settlements, shelters and infrastructure, the
    front-line and occupied-area history, the corridor status log and the current corridors."""
    times = store.history_times("front_line") or store.history_times("occupied_area")
    return {
        "times": times,
        "settlements": version_frame(store, "settlements", ["population"], geometry=True),
        "shelters": version_frame(store, "shelters", ["status", "capacity", "occupancy"]),
        "infrastructure": version_frame(store, "infrastructure", ["sector", "damage", "restoration"]),
        "front_line": history_rows(store, "front_line"),
        "occupied_area": history_rows(store, "occupied_area"),
        "corridor_log": corridor_status_log(store),
        "corridors": store.query_df("SELECT id, status FROM corridors ORDER BY id"),
    }
