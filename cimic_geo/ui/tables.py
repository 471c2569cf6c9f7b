"""Tables shown on a page in the user's language.

Tables keep their stored column names and values (``people_waiting``, ``in_progress``): the CSV
downloads and the code use them. Only the copy handed to ``st.dataframe`` is translated, at the display
point, by :func:`display_frame`: column headers through the catalogue (context ``column``; the English
header is the column name as before), enumerated values of the listed columns through
:func:`cimic_geo.i18n.term`. Never call it inside an ``st.cache_data`` function: the language belongs to
the page run, not to the cached result shared between users.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from cimic_geo.i18n import SOURCE_LANGUAGE, get_language, pgettext, term

#: Catalogue context of column headers.
COLUMN = "column"

#: Column names of the tables the pages show (each has a Ukrainian header in the catalogue).
COLUMNS: tuple[str, ...] = (
    "minor", "major", "destroyed", "total", "band", "population", "settlements", "shelters",
    "shelter_capacity", "infrastructure", "people_served", "id", "name", "name_uk", "admin1", "admin2",
    "settlement_type", "source", "reported_at", "reliability", "distance_km", "occupied", "covered",
    "unserved", "covered_pct", "shelters_in_reach", "nearest_shelter", "mean_cost", "kind", "status",
    "capacity", "occupancy", "available", "assigned", "spare", "overloaded", "unserved_in_reach", "rank",
    "sector", "damage", "restoration", "safe_to_repair", "score", "reason", "version", "priority",
    "settlement", "pickup", "people", "children", "elderly", "reduced_mobility", "bedridden", "pets",
    "destination", "transport", "transport_capacity", "corridor", "requested", "waiting_h", "requests", "day",
    "started", "completed", "failed", "when", "evacuation", "from", "to", "by", "functional", "partial",
    "disrupted", "unknown", "state", "last_assessed", "age_days", "assessed_at", "population_present",
    "power_status", "water_status", "heating_status", "gas_status", "telecom_status", "health_status",
    "food_status", "access_status", "priority_needs", "assessor", "partner_id", "organisation", "org_type",
    "activity", "contact", "valid_from", "settlements_covered", "area", "needs", "gaps", "people_in_gaps",
    "settlement_id", "settlement_ids", "valid_to", "at_utc", "actor", "actor_kind", "role", "action", "layer",
    "ids", "row_counts", "source_file", "source_sha256", "before", "after", "outcome", "detail", "row",
    "field", "column", "severity", "message", "minutes", "nearest_hub", "hours", "updated by", "updated", "who",
    "notes", "front line km", "outline km", "table", "rows", "attribute", "value",
)

#: Columns holding enumerated values of the schema (shown through ``term``) unless a page says otherwise.
ENUM_COLUMNS: tuple[str, ...] = (
    "status", "kind", "sector", "damage", "restoration", "settlement_type", "reliability", "priority", "org_type", "band",
    "state", "role", "actor_kind", "outcome", "severity", "from", "to", "transport", "power_status", "water_status",
    "heating_status", "gas_status", "telecom_status", "health_status", "food_status", "access_status",
)


def column_label(name: object) -> str:
    """The header of column ``name`` in the current language (the name itself in English or when unknown)."""
    text = str(name)
    return pgettext(COLUMN, text) if get_language() != SOURCE_LANGUAGE else text


def display_frame(df: pd.DataFrame, *, values: Iterable[str] = ENUM_COLUMNS, index_values: bool = False,
                  keep: Iterable[str] = ()) -> pd.DataFrame:
    """A copy of ``df`` for ``st.dataframe`` in the current language.

    Parameters
    ----------
    df
        The table as computed (English column names and stored values); not changed.
    values
        Columns holding enumerated values (statuses, sectors, kinds): shown through :func:`term`
        (default :data:`ENUM_COLUMNS`).
    index_values
        Translate the index's values too (a table with sectors or statuses as rows).
    keep
        Columns whose header stays as it is (a ``column_config`` of the page labels them itself).
    """
    if get_language() == SOURCE_LANGUAGE:
        return df
    out = df.copy()
    for col in values:
        if col in out.columns:
            out[col] = out[col].map(lambda v: term(v) if isinstance(v, str) else v)
    if index_values:
        out.index = out.index.map(lambda v: term(v) if isinstance(v, str) else v)
    kept = set(keep)
    out = out.rename(columns={c: column_label(c) for c in out.columns if c not in kept})
    if out.index.name is not None:
        out.index.name = column_label(out.index.name)
    return out
