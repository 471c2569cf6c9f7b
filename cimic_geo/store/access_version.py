"""Store queries for the access analytics: a cheap version token for cached road graphs."""

from __future__ import annotations

import pandas as pd

from cimic_geo.store.core import Store

#: Columns whose change invalidates a cached road graph / access context, per layer (fixed allow-list).
_VERSION_COLUMNS: dict[str, tuple[str, ...]] = {
    # geometry too: a road moved under the same id must not reuse a graph kept beside the store
    "roads": ("id", "road_class", "status", "speed_kmh", "oneway", "geom"),
    "infrastructure": ("id", "sector", "damage", "road_id", "geom"),
    "settlements": ("id", "name", "population", "geom"),
    "shelters": ("id", "status", "capacity", "occupancy", "geom"),
    "front_line": ("id", "valid_from", "valid_to", "geom"),
    "occupied_area": ("id", "valid_from", "valid_to", "geom"),
}


def access_data_version(store: Store) -> str:
    """A token that changes when any data the road graph or corridor evaluation uses changes.

    Row count and a hash over the relevant attribute columns of each layer (tens of ms for a
    national store); use it in cache keys.
    """
    parts = []
    for layer, cols in _VERSION_COLUMNS.items():
        row = store.con.execute(
            f"SELECT count(*), coalesce(sum(hash({', '.join(cols)})), 0) FROM {layer}"
        ).fetchone()
        parts.append(f"{layer}:{int(row[0])}:{int(row[1])}")
    return "|".join(parts)


#: Road attributes a kept road graph needs beside its own arrays (no geometry: the graph has it).
ROAD_ATTRIBUTES = ("id", "road_class", "status", "name")


def road_attributes(store: Store) -> pd.DataFrame:
    """The roads layer's attributes without geometry, in the order of ``store.read("roads")`` (by id).

    Reading a national roads layer's geometry (decoding a million WKB lines) costs seconds; a road
    graph kept beside the store rebuilds the lines from its own vertices when they are needed.
    """
    return store.query_df(f"SELECT {', '.join(ROAD_ATTRIBUTES)} FROM roads ORDER BY id")
