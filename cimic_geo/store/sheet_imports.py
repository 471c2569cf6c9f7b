"""Store side of spreadsheet imports of the CIMIC layers: look-ups for validation and atomic writes.

Assessments are upserted by id (one row per settlement and date; re-importing a sheet corrects its
rows). Evacuations are upserted with their version counter raised and one ``evacuation_history``
row per imported request (action ``import``), in the same transaction. Partners go through
:func:`cimic_geo.store.partner_records.save_partner_versions` (a change is a new version).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import pandas as pd

from cimic_geo.auth import Actor, require
from cimic_geo.store.audit import AuditEntry, record
from cimic_geo.store.core import Store
from cimic_geo.store.evacuation_records import _HISTORY_INSERT
from cimic_geo.store.imports import existing_ids
from cimic_geo.store.settings import record_import_marking


def point_lookup(store: Store, layer: str, ids: Iterable[str]) -> gpd.GeoDataFrame:
    """``id`` and geometry of the rows of ``layer`` (settlements, shelters) with these ids."""
    wanted = sorted({str(i) for i in ids})
    if not wanted:
        return store.read(layer, columns=["id"], limit=0)
    return store.read(layer, columns=["id"], where={"id": wanted})


def known_ids(store: Store, layer: str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` exist in ``layer``."""
    return existing_ids(store, layer, sorted({str(i) for i in ids}))


def current_evacuations(store: Store, ids: Iterable[str]) -> pd.DataFrame:
    """``id``, ``status``, ``version`` of the evacuations with these ids that exist."""
    wanted = sorted({str(i) for i in ids})
    if not wanted:
        return pd.DataFrame({"id": [], "status": [], "version": []})
    frame = store.read("evacuations", columns=["status", "version"], where={"id": wanted})
    return pd.DataFrame(frame.drop(columns=frame.geometry.name))


def _mark(con: Any, layer: str, source_file: str | None, data_mark: tuple[str, str] | None, user: str) -> None:
    """Record in the import's transaction whether it brought exercise or real data (``data_mark``)."""
    if data_mark is not None:
        record_import_marking(con, layer=layer, files=source_file or "", kind=data_mark[0], marking=data_mark[1],
                              user=user)


def _entry(layer: str, frame: gpd.GeoDataFrame, n: int, source_file: str | None,
           source_sha256: str | None) -> AuditEntry:
    return AuditEntry(action="import", layer=layer, ids=[str(i) for i in frame["id"]], row_counts={layer: n},
                      source_file=source_file, source_sha256=source_sha256)


def write_assessments(store: Store, frame: gpd.GeoDataFrame, *, actor: Actor | None = None,
                      source_file: str | None = None, source_sha256: str | None = None,
                      data_mark: tuple[str, str] | None = None) -> int:
    """Upsert assessments in one transaction with its audit row; return the number of rows written.

    ``actor`` needs the import permission (editor); None is the operating-system user outside the app.
    """
    who = require(actor, "import", store=store, action="import", layer="assessments")
    with store.transaction() as con:
        n = store._write_in_transaction(con, "assessments", frame, mode="upsert")
        _mark(con, "assessments", source_file, data_mark, who.name)
        record(con, who, _entry("assessments", frame, n, source_file, source_sha256))
    return n


def write_evacuations(store: Store, frame: gpd.GeoDataFrame, *, actor: Actor | None = None,
                      source_file: str | None = None, source_sha256: str | None = None,
                      data_mark: tuple[str, str] | None = None) -> int:
    """Upsert evacuations (version + 1 for existing ids) with one history row each and the audit row,
    in one transaction."""
    who = require(actor, "import", store=store, action="import", layer="evacuations")
    user = f"import:{source_file or 'file'}"[:200]
    now = datetime.now(UTC)
    with store.transaction() as con:
        old = current_evacuations(store, frame["id"].astype(str))
        versions = {str(i): int(v or 0) for i, v in zip(old["id"], old["version"], strict=True)}
        statuses = {str(i): s for i, s in zip(old["id"], old["status"], strict=True)}
        out = frame.copy()
        out["version"] = [versions.get(str(i), 0) + 1 for i in out["id"]]
        out["updated_by"] = user
        out["updated_at"] = pd.Timestamp(now)
        n = store._write_in_transaction(con, "evacuations", out, mode="upsert")
        for _, r in out.iterrows():
            eid = str(r["id"])
            people = r.get("people")
            con.execute(_HISTORY_INSERT, [eid, int(r["version"]), now, user, "import", statuses.get(eid),
                                          r.get("status"), None if pd.isna(people) else int(people),
                                          json.dumps({"source": r.get("source"), "by": who.name}, default=str)])
        _mark(con, "evacuations", source_file, data_mark, who.name)
        record(con, who, _entry("evacuations", frame, n, source_file, source_sha256))
    return n
