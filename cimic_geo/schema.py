"""The store's data model (DESIGN §3) as plain Python: layers, columns, types, enumerations.

This module has no database code. The store builds its DDL from it, the importer validates
against it, exports keep its attribute names and types. Table and column names used in SQL
come only from here (an allow-list); never from user text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cimic_geo.errors import UnknownLayerError

SHELTER_KINDS = ("blast_shelter", "collective_centre", "transit_centre", "medical")
SHELTER_STATUSES = ("open", "full", "closed", "damaged")
SECTORS = ("power", "water", "heating", "gas", "telecom", "health", "education", "bridge", "road", "rail")
DAMAGE_LEVELS = ("none", "minor", "major", "destroyed")
RESTORATION_STATES = ("none", "planned", "in_progress", "restored")
ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "local", "track")
ROAD_STATUSES = ("open", "damaged", "impassable")
CORRIDOR_STATUSES = ("draft", "proposed", "agreed", "active", "suspended", "closed")
SETTLEMENT_TYPES = ("city", "town", "village")

#: NATO admiralty code: source reliability A-F and information credibility 1-6, e.g. ``B2``.
RELIABILITY_RE = re.compile(r"^[A-F][1-6]$")

#: Layers whose rows form a time history (valid_from <= t < valid_to; valid_to NULL = current).
HISTORY_LAYERS = ("front_line", "occupied_area")


@dataclass(frozen=True)
class Column:
    """One attribute column.

    Parameters
    ----------
    name : column name (also the GIS attribute name in exports)
    sql : DuckDB type
    required : the importer rejects a row without a value
    choices : allowed values for an enumeration
    min_value : lower bound for numbers (inclusive)
    """

    name: str
    sql: str
    required: bool = False
    choices: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""

    @property
    def kind(self) -> str:
        """Python-side kind: ``str``, ``int``, ``float``, ``bool`` or ``datetime``."""
        s = self.sql.upper()
        if s.startswith("TIMESTAMP"):
            return "datetime"
        if s in ("BIGINT", "INTEGER"):
            return "int"
        if s == "DOUBLE":
            return "float"
        if s == "BOOLEAN":
            return "bool"
        return "str"


@dataclass(frozen=True)
class Layer:
    """A layer of the store: a table with an ``id`` key, attribute columns and one geometry."""

    name: str
    geometry_types: tuple[str, ...]
    columns: tuple[Column, ...]
    history: bool = False
    title: str = ""
    provenance: tuple[Column, ...] = field(default=())

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Attribute columns followed by the provenance columns (no geometry)."""
        return self.columns + self.provenance

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all_columns)

    def column(self, name: str) -> Column:
        for c in self.all_columns:
            if c.name == name:
                return c
        raise UnknownLayerError(f"layer '{self.name}' has no column '{name}'")


PROVENANCE = (
    Column("source", "VARCHAR", description="who reported it (organisation, file, feed)"),
    Column("reported_at", "TIMESTAMPTZ", description="when it was reported (UTC)"),
    Column("reliability", "VARCHAR", description="admiralty code A-F + 1-6, e.g. B2"),
)


def _id() -> Column:
    return Column("id", "VARCHAR", required=True, description="stable identifier")


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "settlements",
            ("POINT",),
            (
                _id(),
                Column("name", "VARCHAR", required=True),
                Column("name_uk", "VARCHAR"),
                Column("admin1", "VARCHAR", description="oblast"),
                Column("admin2", "VARCHAR", description="raion / hromada"),
                Column("population", "BIGINT", required=True, min_value=0, max_value=5e7),
                Column("settlement_type", "VARCHAR", choices=SETTLEMENT_TYPES),
            ),
            title="Settlements",
            provenance=PROVENANCE,
        ),
        Layer(
            "front_line",
            ("LINESTRING", "MULTILINESTRING"),
            (
                _id(),
                Column("valid_from", "TIMESTAMPTZ", required=True),
                Column("valid_to", "TIMESTAMPTZ"),
            ),
            history=True,
            title="Front line",
            provenance=PROVENANCE,
        ),
        Layer(
            "occupied_area",
            ("POLYGON", "MULTIPOLYGON"),
            (
                _id(),
                Column("valid_from", "TIMESTAMPTZ", required=True),
                Column("valid_to", "TIMESTAMPTZ"),
            ),
            history=True,
            title="Occupied area",
            provenance=PROVENANCE,
        ),
        Layer(
            "shelters",
            ("POINT",),
            (
                _id(),
                Column("name", "VARCHAR", required=True),
                Column("kind", "VARCHAR", required=True, choices=SHELTER_KINDS),
                Column("capacity", "BIGINT", required=True, min_value=0, max_value=1e6),
                Column("occupancy", "BIGINT", min_value=0, max_value=1e6),
                Column("status", "VARCHAR", required=True, choices=SHELTER_STATUSES),
                Column("accessible", "BOOLEAN", description="step-free access"),
                Column("settlement_id", "VARCHAR"),
                Column("address", "VARCHAR"),
            ),
            title="Shelters",
            provenance=PROVENANCE,
        ),
        Layer(
            "infrastructure",
            ("POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON"),
            (
                _id(),
                Column("name", "VARCHAR", required=True),
                Column("sector", "VARCHAR", required=True, choices=SECTORS),
                Column("damage", "VARCHAR", required=True, choices=DAMAGE_LEVELS),
                Column("restoration", "VARCHAR", choices=RESTORATION_STATES),
                Column("people_served", "BIGINT", min_value=0, max_value=5e7),
                Column("settlement_id", "VARCHAR"),
                Column("road_id", "VARCHAR", description="road segment carried (bridges)"),
                Column("capacity_mw", "DOUBLE", min_value=0),
            ),
            title="Infrastructure",
            provenance=PROVENANCE,
        ),
        Layer(
            "roads",
            ("LINESTRING",),
            (
                _id(),
                Column("road_class", "VARCHAR", required=True, choices=ROAD_CLASSES),
                Column("speed_kmh", "DOUBLE", required=True, min_value=1, max_value=200),
                Column("bridge", "BOOLEAN"),
                Column("status", "VARCHAR", required=True, choices=ROAD_STATUSES),
                Column("name", "VARCHAR"),
            ),
            title="Roads",
            provenance=PROVENANCE,
        ),
        Layer(
            "corridors",
            ("LINESTRING",),
            (
                _id(),
                Column("name", "VARCHAR", required=True),
                Column("status", "VARCHAR", required=True, choices=CORRIDOR_STATUSES),
                Column("origin", "VARCHAR"),
                Column("destination", "VARCHAR"),
                Column("window_start", "TIMESTAMPTZ"),
                Column("window_end", "TIMESTAMPTZ"),
                Column("notes", "VARCHAR"),
                Column("version", "INTEGER", description="optimistic-lock counter"),
                Column("updated_by", "VARCHAR"),
                Column("updated_at", "TIMESTAMPTZ"),
            ),
            title="Corridors",
            provenance=PROVENANCE,
        ),
    )
}

#: Corridor status workflow: allowed transitions (DESIGN §3, issue 6).
CORRIDOR_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("proposed", "closed"),
    "proposed": ("agreed", "draft", "closed"),
    "agreed": ("active", "suspended", "closed"),
    "active": ("suspended", "closed"),
    "suspended": ("active", "closed"),
    "closed": (),
}


def get_layer(name: str) -> Layer:
    """Return the layer spec for ``name``; raise :class:`UnknownLayerError` listing the valid names."""
    try:
        return LAYERS[name]
    except (KeyError, TypeError):
        raise UnknownLayerError(
            f"unknown layer '{name}'; expected one of: {', '.join(LAYERS)}"
        ) from None
