"""The store: the only package that imports :mod:`duckdb` (DESIGN §3).

Use :func:`connect` (or :func:`init_store` for a new empty file). Reads return GeoDataFrames in
EPSG:4326 and take an optional bounding box and as-of time; writes are single transactions.
"""

from cimic_geo.store.core import (
    SCHEMA_VERSION,
    Store,
    connect,
    init_store,
    spatial_extension_path,
)
from cimic_geo.store.corridors import (
    corridor_history,
    save_corridor,
    set_corridor_status,
)

__all__ = [
    "SCHEMA_VERSION",
    "Store",
    "connect",
    "corridor_history",
    "init_store",
    "save_corridor",
    "set_corridor_status",
    "spatial_extension_path",
]
