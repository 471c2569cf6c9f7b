"""Partners (3W: who does what where) with history: a change is a new version, never an overwrite.

A 3W entry (``partner_id``) has versions; each version is a row with its own ``id``, valid from
``valid_from`` until ``valid_to`` (empty = current). Saving a changed entry ends the current version
at the new version's ``valid_from`` and inserts the new one, in one transaction; saving an entry
identical to its current version writes nothing; ending an entry sets ``valid_to`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
import shapely

from cimic_geo.auth import Actor, require
from cimic_geo.errors import NotFoundError, StoreError
from cimic_geo.schema import get_layer
from cimic_geo.store.audit import AuditEntry, record
from cimic_geo.store.core import Store, _as_utc, _geom_sql, _read_columns, _to_geodataframe
from cimic_geo.store.settings import record_import_marking

_LAYER = "partners"
#: Attributes compared to decide whether a saved entry changed (provenance and validity excluded).
COMPARED = ("organisation", "org_type", "sector", "activity", "settlement_ids", "contact")


@dataclass
class PartnerSave:
    """What :func:`save_partner_versions` did: partner ids new, changed (new version) and unchanged."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return len(self.new) + len(self.changed)


def version_id(partner_id: str, valid_from: pd.Timestamp) -> str:
    """The row id of one version: ``<partner_id>@<UTC time>``."""
    return f"{partner_id}@{_as_utc(valid_from).strftime('%Y%m%dT%H%M%SZ')}"


def _select(store: Store, where: str, params: list) -> gpd.GeoDataFrame:
    spec = get_layer(_LAYER)
    cols = _read_columns(spec, None)
    sql = f"SELECT {', '.join(cols)}, {_geom_sql(None)} FROM {spec.name}{where} ORDER BY partner_id, valid_from"
    return _to_geodataframe(store.con.execute(sql, params).to_arrow_table(), cols, spec)


def read_partners(store: Store, *, as_of: datetime | str | None = None) -> gpd.GeoDataFrame:
    """The 3W entries in force at ``as_of`` (default: the current versions), one row per entry."""
    if as_of is None:
        return _select(store, " WHERE valid_to IS NULL", [])
    t = _as_utc(as_of)
    return _select(store, " WHERE valid_from <= ? AND (valid_to IS NULL OR ? < valid_to)", [t, t])


def partner_history(store: Store, partner_id: str) -> gpd.GeoDataFrame:
    """Every version of one 3W entry, oldest first."""
    return _select(store, " WHERE partner_id = ?", [str(partner_id)])


def _same(old: pd.Series, new: pd.Series) -> bool:
    for c in COMPARED:
        a, b = old.get(c), new.get(c)
        a = None if a is None or (isinstance(a, float) and pd.isna(a)) else str(a)
        b = None if b is None or (isinstance(b, float) and pd.isna(b)) else str(b)
        if a != b:
            return False
    return shapely.equals_exact(old.geometry, new.geometry, tolerance=1e-9)


def save_partner_versions(store: Store, frame: gpd.GeoDataFrame, *, actor: Actor | None = None,
                          source_file: str | None = None, source_sha256: str | None = None,
                          data_mark: tuple[str, str] | None = None) -> PartnerSave:
    """Save 3W entries as new versions in one transaction (all or nothing), with its audit row.

    ``frame`` has the layer's columns except ``id`` and ``valid_to`` (made here), one row per
    ``partner_id``. A row whose ``valid_from`` is older than the entry's current version is refused
    (:class:`StoreError`); the same ``valid_from`` replaces that version (a correction). ``actor``
    needs the import permission (editor); None is the operating-system user outside the app.
    """
    who = require(actor, "import", store=store, action="import", layer=_LAYER,
                  ids=[str(p) for p in frame["partner_id"]])
    if frame["partner_id"].duplicated().any():
        raise StoreError("partners: a 3W entry appears twice in one save")
    result = PartnerSave()
    inserts = []
    with store.transaction() as con:
        cur = _select(store, f" WHERE valid_to IS NULL AND partner_id IN ({', '.join('?' * len(frame))})",
                      [str(p) for p in frame["partner_id"]]) if len(frame) else None
        current = {str(r["partner_id"]): r for _, r in cur.iterrows()} if cur is not None else {}
        for _, row in frame.iterrows():
            pid = str(row["partner_id"])
            start = _as_utc(row["valid_from"])
            old = current.get(pid)
            if old is not None:
                if _same(old, row):
                    result.unchanged.append(pid)
                    continue
                old_start = _as_utc(old["valid_from"])
                if start < old_start:
                    raise StoreError(f"partners: {pid}: valid_from {start.isoformat()} is older than the current "
                                     f"version ({old_start.isoformat()})")
                if start == old_start:
                    con.execute(f"DELETE FROM {_LAYER} WHERE id = ?", [str(old["id"])])
                else:
                    con.execute(f"UPDATE {_LAYER} SET valid_to = ? WHERE id = ?", [start, str(old["id"])])
                result.changed.append(pid)
            else:
                result.new.append(pid)
            inserts.append(row)
        if inserts:
            out = gpd.GeoDataFrame(inserts, geometry="geometry", crs="EPSG:4326").reset_index(drop=True)
            out["id"] = [version_id(p, t) for p, t in zip(out["partner_id"], out["valid_from"], strict=True)]
            out["valid_to"] = pd.NaT
            store._write_in_transaction(con, _LAYER, out, mode="append")
        if inserts:
            if data_mark is not None:
                record_import_marking(con, layer=_LAYER, files=source_file or "", kind=data_mark[0],
                                      marking=data_mark[1], user=who.name)
            record(con, who, AuditEntry(action="import", layer=_LAYER, ids=[*result.new, *result.changed],
                                        row_counts={_LAYER: len(inserts)}, source_file=source_file,
                                        source_sha256=source_sha256,
                                        detail=f"{len(result.new)} new, {len(result.changed)} new version(s), "
                                               f"{len(result.unchanged)} unchanged"))
    return result


def end_partner(store: Store, partner_id: str, *, at: datetime | str | None = None,
                actor: Actor | None = None) -> pd.Timestamp:
    """End the current version of a 3W entry at ``at`` (default now); the rows stay as history."""
    who = require(actor, "edit", store=store, action="partners.end", layer=_LAYER, ids=[str(partner_id)])
    t = _as_utc(at or datetime.now(UTC))
    with store.transaction() as con:
        row = con.execute(f"SELECT id, valid_from FROM {_LAYER} WHERE partner_id = ? AND valid_to IS NULL",
                          [str(partner_id)]).fetchone()
        if row is None:
            raise NotFoundError(f"no current 3W entry '{partner_id}'")
        if _as_utc(row[1]) >= t:
            raise StoreError(f"partners: {partner_id} starts at {_as_utc(row[1]).isoformat()}; end it later")
        con.execute(f"UPDATE {_LAYER} SET valid_to = ? WHERE id = ?", [t, row[0]])
        record(con, who, AuditEntry(action="partners.end", layer=_LAYER, ids=[str(partner_id)],
                                    row_counts={_LAYER: 1}, before={"valid_to": None}, after={"valid_to": t}))
    return t
