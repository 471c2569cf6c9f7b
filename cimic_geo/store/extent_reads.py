"""The extent of a store's data and its kept plausible-extent setting (for the import check).

The setting is one row of ``store_settings`` (key ``import_extent``, value ``minlon,minlat,maxlon,maxlat``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from cimic_geo.auth import Actor, require
from cimic_geo.config import import_extent
from cimic_geo.schema import LAYERS
from cimic_geo.store.core import Store

IMPORT_EXTENT_KEY = "import_extent"

#: Layers whose rows say where the store's data lies (roads only when none of these has a row: a
#: national road network is large to scan and lies where the settlements are).
EXTENT_LAYERS = ("settlements", "shelters", "infrastructure", "front_line", "occupied_area", "corridors")

Box = tuple[float, float, float, float]


def _has_settings(store: Store) -> bool:
    return bool(store.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                  ["store_settings"]).fetchone()[0])


def get_import_extent(store: Store) -> Box | None:
    """The store's plausible extent of imported data, or None when never set."""
    if not _has_settings(store):
        return None
    row = store.con.execute("SELECT value FROM store_settings WHERE key = ?", [IMPORT_EXTENT_KEY]).fetchone()
    return None if row is None or not row[0] else import_extent(str(row[0]))


def set_import_extent(store: Store, extent: Box | None, *, actor: Actor | None = None) -> Box | None:
    """Keep ``extent`` as the store's plausible extent of imports (None: remove the setting).

    Raises
    ------
    ConfigError
        Not a valid lon/lat box.
    PermissionDeniedError
        When the actor may not import.
    """
    box = None if extent is None else import_extent(",".join(repr(float(v)) for v in extent))
    who = require(actor, "import", store=store, action="set_import_extent", detail=str(box))
    with store.transaction() as con:
        con.execute("DELETE FROM store_settings WHERE key = ?", [IMPORT_EXTENT_KEY])
        if box is not None:
            con.execute("INSERT INTO store_settings VALUES (?, ?, NULL, ?, ?)",
                        [IMPORT_EXTENT_KEY, ",".join(repr(v) for v in box), datetime.now(UTC), who.name])
    return box


def data_extent(store: Store) -> Box | None:
    """Bounds (minlon, minlat, maxlon, maxlat) of the rows of :data:`EXTENT_LAYERS` (else roads); None when
    the store holds none."""
    for layers in (EXTENT_LAYERS, ("roads",)):
        parts = " UNION ALL ".join(
            f"SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) FROM {name}"
            for name in layers if name in LAYERS)
        rows = [r for r in store.con.execute(parts).fetchall() if r[0] is not None]
        if rows:
            return (min(r[0] for r in rows), min(r[1] for r in rows), max(r[2] for r in rows),
                    max(r[3] for r in rows))
    return None
