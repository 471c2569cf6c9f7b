"""The store: the only package that imports :mod:`duckdb`.

Use :func:`connect` (or :func:`init_store` for a new empty file). Reads return GeoDataFrames in
EPSG:4326 and take an optional bounding box and as-of time; writes are single transactions.
"""

from cimic_geo.store.core import Store, describe_database_error
from cimic_geo.store.corridor_records import (
    corridor_history,
    save_corridor,
    set_corridor_status,
)
from cimic_geo.store.engine import connect, init_store, spatial_extension_path
from cimic_geo.store.migrations import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Store",
    "connect",
    "corridor_history",
    "describe_database_error",
    "init_store",
    "save_corridor",
    "set_corridor_status",
    "spatial_extension_path",
]
