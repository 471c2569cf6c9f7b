"""Store-level settings and what kind of data the store holds.

* ``store_settings``: settings that belong to one store rather than to the program, chosen once by
  the operator and reused: the **state territory** (a (Multi)Polygon, e.g. a national outline or
  the union of the oblasts) from which the front line is derived (coasts and state borders are
  never front line).
* ``import_markings``: one row per import saying whether it brought **exercise** or **real** data
  and under which handling marking. The scenario seed is exercise data (``meta.marking``); file
  imports are real unless the operator marks them as exercise. :func:`holdings` sums this up for
  the banner, the home page and the export marking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.auth import Actor, require
from cimic_geo.config import EXERCISE_MARKING, is_exercise_marking
from cimic_geo.errors import StoreError
from cimic_geo.store.core import Store

#: Data kinds of an import.
EXERCISE, REAL = "exercise", "real"
TERRITORY_KEY = "state_territory"


def create_tables(con: Any) -> None:
    """Create ``store_settings`` and ``import_markings`` (migration step; idempotent)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS store_settings (key VARCHAR PRIMARY KEY, value VARCHAR, geom GEOMETRY, "
        "updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR NOT NULL)"
    )
    con.execute("CREATE SEQUENCE IF NOT EXISTS import_markings_seq START 1")
    con.execute(
        "CREATE TABLE IF NOT EXISTS import_markings (id BIGINT PRIMARY KEY DEFAULT nextval('import_markings_seq'), "
        "imported_at TIMESTAMPTZ NOT NULL, layer VARCHAR NOT NULL, files VARCHAR, kind VARCHAR NOT NULL, "
        "marking VARCHAR NOT NULL, imported_by VARCHAR)"
    )


@dataclass(frozen=True)
class Territory:
    """The state territory setting: polygons in EPSG:4326, what it was made from, who set it when."""

    geometry: BaseGeometry
    name: str
    updated_at: pd.Timestamp
    updated_by: str


@dataclass(frozen=True)
class Holdings:
    """What kind of data the store holds.

    Attributes
    ----------
    exercise : the store holds exercise data (the scenario seed or imports marked exercise)
    real : the store holds real data (imports not marked exercise)
    markings : the distinct handling markings of the data, exercise first
    """

    exercise: bool
    real: bool
    markings: tuple[str, ...]

    @property
    def mixed(self) -> bool:
        return self.exercise and self.real

    @property
    def banner(self) -> str | None:
        """The banner text: ``EXERCISE``, the real data's marking(s), or ``EXERCISE + REAL DATA MIXED``."""
        if self.mixed:
            return f"{EXERCISE_MARKING} + REAL DATA MIXED"
        if self.exercise:
            return EXERCISE_MARKING
        if self.real:
            return " / ".join(m for m in self.markings if not is_exercise_marking(m)) or None
        return None

    @property
    def real_marking(self) -> str | None:
        """The marking of the real data (the first one recorded), or None."""
        return next((m for m in self.markings if not is_exercise_marking(m)), None)


def _has_table(store: Store, name: str) -> bool:
    return bool(store.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                  [name]).fetchone()[0])


def get_territory(store: Store) -> Territory | None:
    """The store's state territory, or None when it was never set."""
    if not _has_table(store, "store_settings"):
        return None
    row = store.con.execute(
        "SELECT value, ST_AsWKB(geom), updated_at, updated_by FROM store_settings WHERE key = ?", [TERRITORY_KEY]
    ).fetchone()
    if row is None or row[1] is None:
        return None
    return Territory(geometry=shapely.from_wkb(bytes(row[1])), name=str(row[0] or ""),
                     updated_at=pd.Timestamp(row[2]).tz_convert("UTC"), updated_by=str(row[3]))


def set_territory(store: Store, geometry: BaseGeometry, *, name: str, actor: Actor | None = None) -> Territory:
    """Keep ``geometry`` (polygons, EPSG:4326) as the store's state territory (replacing the old one).

    Raises
    ------
    StoreError
        When the geometry is empty or not polygons.
    PermissionDeniedError
        When the actor may not import (the territory changes every later import).
    """
    if geometry is None or geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise StoreError("the state territory must be polygons (a national outline or the oblasts)")
    who = require(actor, "import", store=store, action="set_territory", detail=name)
    now = datetime.now(UTC)
    with store.transaction() as con:
        con.execute("DELETE FROM store_settings WHERE key = ?", [TERRITORY_KEY])
        con.execute("INSERT INTO store_settings VALUES (?, ?, ST_GeomFromWKB(?), ?, ?)",
                    [TERRITORY_KEY, str(name), shapely.to_wkb(geometry), now, who.name])
    return Territory(geometry=geometry, name=str(name), updated_at=pd.Timestamp(now), updated_by=who.name)


def record_import_marking(con: Any, *, layer: str, files: str, kind: str, marking: str, user: str) -> None:
    """Record inside the caller's import transaction whether it brought exercise or real data."""
    if kind not in (EXERCISE, REAL):
        raise StoreError(f"data kind must be {EXERCISE} or {REAL}, got {kind!r}")
    con.execute("INSERT INTO import_markings (imported_at, layer, files, kind, marking, imported_by) "
                "VALUES (?, ?, ?, ?, ?, ?)", [datetime.now(UTC), layer, files, kind, marking, user])


def import_markings(store: Store) -> pd.DataFrame:
    """Every recorded import with its kind and marking, oldest first."""
    columns = ["imported_at", "layer", "files", "kind", "marking", "imported_by"]
    if not _has_table(store, "import_markings"):
        return pd.DataFrame(columns=columns)
    rows = store.con.execute(f"SELECT {', '.join(columns)} FROM import_markings ORDER BY id").fetchall()
    return pd.DataFrame(rows, columns=columns)


def holdings(store: Store) -> Holdings:
    """What the store holds: the seed's marking (``meta``) plus the kind of every recorded import."""
    markings: list[str] = []
    seeded = store.marking
    if seeded:
        markings.append(seeded)
    exercise = bool(seeded and is_exercise_marking(seeded))
    real = bool(seeded and not is_exercise_marking(seeded))
    if _has_table(store, "import_markings"):
        for kind, marking in store.con.execute(
                "SELECT kind, marking FROM import_markings ORDER BY id").fetchall():
            exercise |= kind == EXERCISE
            real |= kind == REAL
            if marking not in markings:
                markings.append(marking)
    markings.sort(key=lambda m: not is_exercise_marking(m))
    return Holdings(exercise=exercise, real=real, markings=tuple(markings))
