"""The store's data model as plain Python: layers, columns, types, enumerations.

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
#: Kinds of basemap features: state and oblast (admin level 1) outlines, rivers, water areas.
BASEMAP_KINDS = ("state", "admin1", "river", "water")
#: Sectors of a civil assessment, each with a status from :data:`ASSESSMENT_STATUSES`.
ASSESSMENT_SECTORS = ("power", "water", "heating", "gas", "telecom", "health", "food", "access")
ASSESSMENT_STATUSES = ("functional", "partial", "disrupted", "unknown")
#: Statuses that mean an unmet need in the sector (3W gap analysis).
NEED_STATUSES = ("partial", "disrupted")
PARTNER_TYPES = ("civil_authority", "ses", "police", "ngo", "volunteer_group", "international")
#: Sectors a partner works in: the assessed sectors plus cross-cutting ones.
PARTNER_SECTORS = (*ASSESSMENT_SECTORS, "shelter", "evacuation", "protection", "coordination")
EVACUATION_STATUSES = ("requested", "planned", "underway", "completed", "failed", "cancelled")
#: Evacuation statuses of people not yet picked up (they are still waiting).
EVACUATION_WAITING = ("requested", "planned")
#: Statuses after which an evacuation is closed (no further transition).
EVACUATION_FINAL = ("completed", "failed", "cancelled")
#: Groups counted in an evacuation request; ``pets`` are animals, the others are among ``people``.
PEOPLE_GROUPS = ("children", "elderly", "reduced_mobility", "bedridden", "pets")
TRANSPORT_KINDS = ("bus", "minibus", "ambulance", "car", "train", "truck", "other")
EVACUATION_PRIORITIES = ("urgent", "high", "normal")

#: Roles of users, each allowed everything of the roles before it (see :mod:`cimic_geo.auth`).
ROLES = ("viewer", "planner", "editor", "admin")
#: Who acted, in the audit trail: a signed-in user, the OS user running the CLI, a service
#: account named with ``--as``, or a user signed in through the identity provider (OIDC).
ACTOR_KINDS = ("user", "os", "service", "oidc")
AUDIT_OUTCOMES = ("ok", "refused", "failed")

#: NATO admiralty code: source reliability A-F and information credibility 1-6, e.g. ``B2``.
RELIABILITY_RE = re.compile(r"^[A-F][1-6]$")

#: Layers whose rows form a time history (valid_from <= t < valid_to; valid_to NULL = current).
HISTORY_LAYERS = ("front_line", "occupied_area")
#: Layers whose every version is kept in ``<layer>_history`` (valid_from = report time, valid_to = when the
#: next version or the removal took effect; recorded_at = when it was written); the layer's own table
#: holds the current rows (see :mod:`cimic_geo.store.versions`).
VERSIONED_LAYERS = ("settlements", "shelters", "infrastructure", "roads", "corridors")


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
                Column("oneway", "BOOLEAN", description="drivable in the line's direction only"),
                Column("tunnel", "BOOLEAN"),
                Column("ford", "BOOLEAN"),
                Column("name_uk", "VARCHAR"),
                Column("name_en", "VARCHAR"),
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
        Layer(
            "assessments",
            ("POINT",),
            (
                _id(),
                Column("settlement_id", "VARCHAR", required=True, description="assessed settlement"),
                Column("assessed_at", "TIMESTAMPTZ", required=True, description="date-time of the assessment (UTC)"),
                Column("population_present", "BIGINT", min_value=0, max_value=5e7),
                *(Column(f"{sec}_status", "VARCHAR", choices=ASSESSMENT_STATUSES,
                         description=f"{sec}: functional, partial, disrupted or unknown")
                  for sec in ASSESSMENT_SECTORS),
                Column("priority_needs", "VARCHAR", description="free text, most urgent first"),
                Column("assessor", "VARCHAR", description="team or call sign"),
                Column("notes", "VARCHAR"),
            ),
            title="Civil assessments",
            provenance=PROVENANCE,
        ),
        Layer(
            "partners",
            ("POLYGON", "MULTIPOLYGON", "POINT", "MULTIPOINT"),
            (
                Column("id", "VARCHAR", required=True, description="one version of a 3W entry"),
                Column("partner_id", "VARCHAR", required=True, description="the 3W entry (stable over versions)"),
                Column("organisation", "VARCHAR", required=True),
                Column("org_type", "VARCHAR", required=True, choices=PARTNER_TYPES),
                Column("sector", "VARCHAR", required=True, choices=PARTNER_SECTORS),
                Column("activity", "VARCHAR"),
                Column("settlement_ids", "VARCHAR", description="settlements served, separated by ';'"),
                Column("contact", "VARCHAR", description="contact point (role or desk, not personal data)"),
                Column("valid_from", "TIMESTAMPTZ", required=True),
                Column("valid_to", "TIMESTAMPTZ", description="end of this version (empty = current)"),
            ),
            title="Partners (3W)",
            provenance=PROVENANCE,
        ),
        Layer(
            "evacuations",
            ("POINT",),
            (
                _id(),
                Column("settlement_id", "VARCHAR", description="settlement of the pickup point"),
                Column("pickup", "VARCHAR", description="pickup point as the crews know it"),
                Column("people", "BIGINT", required=True, min_value=0, max_value=1e5,
                       description="persons to evacuate (all groups below except pets are among them)"),
                *(Column(g, "BIGINT", min_value=0, max_value=1e5,
                         description="animals" if g == "pets" else f"of whom {g.replace('_', ' ')}")
                  for g in PEOPLE_GROUPS),
                Column("priority", "VARCHAR", choices=EVACUATION_PRIORITIES),
                Column("contact_ref", "VARCHAR", description="contact reference kept by the operator"),
                Column("destination_shelter_id", "VARCHAR", description="shelter receiving the people"),
                Column("transport", "VARCHAR", choices=TRANSPORT_KINDS),
                Column("transport_capacity", "BIGINT", min_value=0, max_value=1e5, description="seats"),
                Column("corridor_id", "VARCHAR", description="corridor used"),
                Column("route", "VARCHAR", description="route used when not a corridor"),
                Column("status", "VARCHAR", required=True, choices=EVACUATION_STATUSES),
                Column("requested_at", "TIMESTAMPTZ", required=True),
                Column("planned_departure", "TIMESTAMPTZ"),
                Column("notes", "VARCHAR"),
                Column("version", "INTEGER", description="optimistic-lock counter"),
                Column("updated_by", "VARCHAR"),
                Column("updated_at", "TIMESTAMPTZ"),
            ),
            title="Evacuations",
            provenance=PROVENANCE,
        ),
        Layer(
            "basemap",
            ("POLYGON", "MULTIPOLYGON", "LINESTRING", "MULTILINESTRING"),
            (
                _id(),
                Column("kind", "VARCHAR", required=True, choices=BASEMAP_KINDS,
                       description="state or admin1 outline, river line or water area"),
                Column("name", "VARCHAR"),
                Column("name_uk", "VARCHAR"),
            ),
            title="Basemap",
            provenance=PROVENANCE,
        ),
    )
}

#: Corridor status workflow: allowed transitions (every change is kept in corridor_history).
CORRIDOR_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("proposed", "closed"),
    "proposed": ("agreed", "draft", "closed"),
    "agreed": ("active", "suspended", "closed"),
    "active": ("suspended", "closed"),
    "suspended": ("active", "closed"),
    "closed": (),
}

#: Evacuation workflow: allowed transitions (a plan may fall back to a request; closed is final).
EVACUATION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "requested": ("planned", "cancelled"),
    "planned": ("underway", "requested", "cancelled"),
    "underway": ("completed", "failed"),
    "completed": (),
    "failed": (),
    "cancelled": (),
}


def get_layer(name: str) -> Layer:
    """Return the layer spec for ``name``; raise :class:`UnknownLayerError` listing the valid names."""
    try:
        return LAYERS[name]
    except (KeyError, TypeError):
        raise UnknownLayerError(
            f"unknown layer '{name}'; expected one of: {', '.join(LAYERS)}"
        ) from None
