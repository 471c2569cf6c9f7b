"""Store side of imports: several layer writes, history replacement and chaining in ONE
transaction, plus the look-ups validation needs (which ids already exist).

The importer (``cimic_geo.ingest``) never builds SQL; it hands :func:`apply_import` a list of
:class:`LayerWrite` and gets all-or-nothing semantics from the store's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa

from cimic_geo.auth import Actor, require
from cimic_geo.errors import ConflictError, StoreError
from cimic_geo.schema import get_layer
from cimic_geo.store.audit import AuditEntry, record
from cimic_geo.store.core import Store, WriteMode, _as_utc
from cimic_geo.store.corridor_records import history_row, insert_history


@dataclass
class LayerWrite:
    """One layer's part of an import.

    Parameters
    ----------
    layer : layer name
    frame : rows to write (layer columns + geometry, EPSG:4326)
    mode : ``append``, ``upsert`` or ``replace`` (see :meth:`Store.write`)
    delete_times : history layers: rows with these ``valid_from`` are removed first (re-importing a
        date replaces it)
    delete_range : history layers: rows with ``first <= valid_from <= last`` are removed first
    valid_from : versioned layers: when the imported versions take effect (default: each row's report time)
    """

    layer: str
    frame: gpd.GeoDataFrame
    mode: WriteMode = "append"
    delete_times: Sequence[pd.Timestamp] = field(default_factory=list)
    delete_range: tuple[pd.Timestamp, pd.Timestamp] | None = None
    valid_from: pd.Timestamp | None = None


def existing_ids(store: Store, layer: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are already in ``layer``."""
    spec = get_layer(layer)
    ids = [str(i) for i in ids]
    if not ids:
        return set()
    table = pa.table({"id": pa.array(ids, type=pa.string())})
    cur = store.con.cursor()
    try:
        cur.register("_ids", table)
        rows = cur.execute(f"SELECT t.id FROM {spec.name} t JOIN _ids USING (id)").fetchall()
    finally:
        cur.close()
    return {r[0] for r in rows}


def history_count(store: Store, layer: str, times: Sequence[pd.Timestamp]) -> int:
    """How many rows of a history layer have one of these ``valid_from`` times."""
    spec = get_layer(layer)
    if not spec.history or not times:
        return 0
    marks = ", ".join("?" * len(times))
    return int(store.con.execute(f"SELECT count(*) FROM {spec.name} WHERE valid_from IN ({marks})",
                                 [_as_utc(t) for t in times]).fetchone()[0])


def rechain_history(con: Any, layer: str) -> None:
    """Set ``valid_to`` of every row of a history layer to the next distinct ``valid_from`` (NULL last)."""
    spec = get_layer(layer)
    if not spec.history:
        raise StoreError(f"layer '{layer}' has no history")
    con.execute(
        f"""
        UPDATE {spec.name} SET valid_to = n.next_from
        FROM (SELECT valid_from, lead(valid_from) OVER (ORDER BY valid_from) AS next_from
              FROM (SELECT DISTINCT valid_from FROM {spec.name})) AS n
        WHERE {spec.name}.valid_from = n.valid_from
          AND {spec.name}.valid_to IS DISTINCT FROM n.next_from
        """
    )


def _check_corridor_versions(con: Any, frame: gpd.GeoDataFrame) -> None:
    """Refuse imported corridor rows whose version was not computed from the version now in the store.

    The importer gives each row ``version = (version in the store when the import was prepared) + 1``
    (1 for a new corridor). A planner's save between preview and commit moves the stored version
    on; committing then would write a second history row with the same version number.
    """
    if "version" not in frame.columns:
        return
    ids = [str(i) for i in frame["id"]]
    marks = ", ".join("?" * len(ids))
    now = dict(con.execute(f"SELECT id, version FROM corridors WHERE id IN ({marks})", ids).fetchall())
    stale = []
    for cid, version in zip(ids, frame["version"], strict=True):
        expected = int(now.get(cid) or 0) + 1
        if version is not None and not pd.isna(version) and int(version) != expected:
            stale.append(f"{cid} (now version {now.get(cid) or 'none'}, the import was prepared from version "
                         f"{int(version) - 1 or 'none'})")
    if stale:
        raise ConflictError(
            f"{len(stale)} corridor(s) changed since the import was previewed: {', '.join(stale[:5])}"
            f"{' ...' if len(stale) > 5 else ''}; nothing was written. Preview the import again"
        )


def apply_import(
    store: Store,
    writes: Sequence[LayerWrite],
    *,
    user: str = "import",
    before_commit: Callable[[], None] | None = None,
    actor: Actor | None = None,
    source_file: str | None = None,
    source_sha256: str | None = None,
    data_mark: tuple[str, str] | None = None,
) -> dict[str, int]:
    """Apply every write in one transaction; return rows written per layer.

    ``actor`` must have the role editor or higher (refused: :class:`PermissionDeniedError`, nothing
    written, a ``refused`` audit row); the import's audit row (layers, ids, row counts, source file
    and its SHA-256) is written in the same transaction.

    History layers touched are re-chained (``valid_to``). Imported corridors get a history row
    (action ``import``). ``before_commit`` runs inside the transaction after all writes (tests use
    it to kill the process mid-transaction). Any error rolls everything back.
    ``data_mark`` (kind ``exercise``/``real``, marking) is recorded with the import
    (:mod:`cimic_geo.store.settings`) in the same transaction.

    Raises
    ------
    ConflictError
        When a corridor was changed (by a planner) after the import was prepared; nothing is written.
    """
    layers = sorted({w.layer for w in writes})
    who = require(actor, "import", store=store, action="import", layer=",".join(layers), detail=source_file)
    written: dict[str, int] = {}
    with store.transaction() as con:
        for w in writes:
            spec = get_layer(w.layer)
            mode: WriteMode = w.mode
            if spec.name == "corridors" and len(w.frame):
                _check_corridor_versions(con, w.frame)
            if spec.history:
                if w.delete_times:
                    marks = ", ".join("?" * len(w.delete_times))
                    con.execute(f"DELETE FROM {spec.name} WHERE valid_from IN ({marks})",
                                [_as_utc(t) for t in w.delete_times])
                if w.delete_range is not None:
                    con.execute(f"DELETE FROM {spec.name} WHERE valid_from BETWEEN ? AND ?",
                                [_as_utc(w.delete_range[0]), _as_utc(w.delete_range[1])])
            n = store._write_in_transaction(con, spec.name, w.frame, mode=mode, valid_from=w.valid_from) \
                if len(w.frame) or \
                mode == "replace" else 0
            written[spec.name] = written.get(spec.name, 0) + n
            if spec.history:
                rechain_history(con, spec.name)
            if spec.name == "corridors" and len(w.frame):
                now = datetime.now(UTC)
                insert_history(con, [
                    history_row(corridor_id=str(r["id"]), version=int(r.get("version") or 1), user=user,
                                action="import", from_status=None, to_status=r.get("status"), name=r.get("name"),
                                notes=r.get("notes"), details={"source": r.get("source")},
                                geom_wkt=r.geometry.wkt, changed_at=now)
                    for _, r in w.frame.iterrows()
                ])
        ids = [str(i) for w in writes if "id" in w.frame.columns for i in w.frame["id"]]
        replaced = {w.layer: w.mode for w in writes if w.mode != "append"}
        record(con, who, AuditEntry(action="import", layer=",".join(layers), ids=ids, row_counts=written,
                                    source_file=source_file, source_sha256=source_sha256,
                                    detail=f"modes: {replaced}" if replaced else None))
        if data_mark is not None:
            from cimic_geo.store.settings import record_import_marking

            record_import_marking(con, layer=",".join(layers), files=source_file or "", kind=data_mark[0],
                                  marking=data_mark[1], user=who.name)
        if before_commit is not None:
            before_commit()
    return written
