"""Store queries for the access analytics: a cheap version token for cached road graphs.

Hashing the relevant columns of a national store (a million road geometries) costs ~0.5 s. A store
opened read-only from a file keeps the token it computed in ``<store>.dataversion.json`` together
with the file's stamp (size, modification and change times and inode of the database file and its
write-ahead log): any committed write changes that stamp, so the kept token is reused only while
the file is byte-for-byte the same one. A stamp younger than :data:`SETTLE_S` is not kept (a write
in the same clock tick could leave it unchanged).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cimic_geo.data_stamp import COLUMNS_KEY as _COLUMNS_KEY
from cimic_geo.data_stamp import HISTORY_COLUMNS as _HISTORY_COLUMNS
from cimic_geo.data_stamp import VERSION_COLUMNS as _VERSION_COLUMNS
from cimic_geo.data_stamp import file_stamp, kept_data_version, version_file, write_kept_arrow, write_kept_text
from cimic_geo.data_stamp import kept_version as _kept

if TYPE_CHECKING:  # the store layer imports duckdb and pandas; a kept token needs neither
    import numpy as np
    import pandas as pd

    from cimic_geo.store.core import Store

#: A file changed less than this many seconds ago is not trusted to show its next change in its stamp.
SETTLE_S = 2.0

__all__ = ["ROAD_ATTRIBUTES", "SETTLE_S", "access_data_version", "file_stamp", "kept_data_version", "road_attributes",
           "road_columns_then", "version_file"]

def access_data_version(store: Store) -> str:
    """A token that changes when any data the road graph or corridor evaluation uses changes.

    Row count and a hash over the relevant attribute columns of each layer; use it in cache keys.
    A read-only store reuses the token kept beside its file while the file's stamp is unchanged
    (a few stat calls instead of hashing every geometry).
    """
    path = getattr(store, "path", None)
    stamp = file_stamp(path) if path is not None and getattr(store, "read_only", False) else None
    kept = version_file(path) if stamp is not None else None
    if kept is not None:
        version = _kept(kept, stamp)
        if version is not None:
            return version
    version = _hashed_version(store)
    if kept is not None and time.time_ns() - max(s[2] for s in stamp if len(s) > 1) > SETTLE_S * 1e9 \
            and file_stamp(path) == stamp:
        write_kept_text(kept, json.dumps({"stamp": stamp, "columns": _COLUMNS_KEY, "version": version}))
    return version


def _hashed_version(store: Store) -> str:
    """Row count and a hash over the relevant columns of each layer and the versions of its history
    (~0.5 s on a national store)."""
    parts = []
    tables = {r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for layer, cols in (*_VERSION_COLUMNS.items(), *_HISTORY_COLUMNS.items()):
        if layer not in tables:  # a store from before the layers kept versions
            continue
        row = store.con.execute(
            f"SELECT count(*), coalesce(sum(hash({', '.join(cols)})), 0) FROM {layer}"
        ).fetchone()
        parts.append(f"{layer}:{int(row[0])}:{int(row[1])}")
    return "|".join(parts)


#: Road attributes a kept road graph needs beside its own arrays (no geometry: the graph has it).
ROAD_ATTRIBUTES = ("id", "road_class", "status", "name")


def road_attributes(store: Store, *, data_version: str | None = None, as_of: Any = None) -> pd.DataFrame:
    """The roads layer's attributes without geometry, in the order of ``store.read("roads")`` (by id).

    Reading a national roads layer's geometry (decoding a million WKB lines) costs seconds; a road
    graph kept beside the store rebuilds the lines from its own vertices when they are needed.
    A read-only store keeps them in ``<store>.roadattributes.arrow`` (Arrow IPC, mapped into
    memory) under its data version (:func:`access_data_version`, a hash of the content: a store
    opened read-write keeps them too when the caller gives the version), so a fresh process neither
    sorts a million ids again nor converts them. ``data_version``: :func:`access_data_version` of
    ``store`` when the caller has it already. ``as_of``: the rows in force then, as
    ``store.read("roads", as_of=...)`` returns them (a graph of a past time; not kept).
    """
    import pyarrow as pa  # pandas' string columns are Arrow arrays already

    if as_of is not None:
        from cimic_geo.schema import get_layer
        from cimic_geo.store.frames import _table_sql, _where_sql

        spec = get_layer("roads")
        where, params = _where_sql(spec, as_of=as_of)
        table = store.con.execute(f"SELECT {', '.join(ROAD_ATTRIBUTES)} FROM {_table_sql(spec, as_of)}{where} "
                                  "ORDER BY id", params).to_arrow_table()
        return _large_strings(table).to_pandas()

    path = getattr(store, "path", None)
    kept = None
    # a read-write store's version is hashed afresh (no kept token): only worth it when given
    if path is not None and (data_version is not None or getattr(store, "read_only", False)):
        p = Path(path)
        kept = p.with_name(p.name + ".roadattributes.arrow")
        version = access_data_version(store) if data_version is None else data_version
        with contextlib.suppress(OSError, pa.ArrowException, KeyError, TypeError):
            with pa.memory_map(str(kept)) as src:
                table = pa.ipc.open_file(src).read_all()
            if (table.schema.metadata or {}).get(b"version") == version.encode() and \
                    tuple(table.column_names) == ROAD_ATTRIBUTES:
                return table.to_pandas()
    table = store.con.execute(f"SELECT {', '.join(ROAD_ATTRIBUTES)} FROM roads ORDER BY id").to_arrow_table()
    table = _large_strings(table)
    if kept is not None:
        write_kept_arrow(kept, table.replace_schema_metadata({"version": version}))
    return table.to_pandas()


def _large_strings(table: Any) -> Any:
    """``table`` with its string columns as large strings (what the kept Arrow file holds)."""
    import pyarrow as pa

    return table.cast(pa.schema([(f.name, pa.large_string() if pa.types.is_string(f.type) else f.type)
                                 for f in table.schema]))


def road_columns_then(store: Store, columns: Sequence[str], *, as_of: Any) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The current roads' ``columns`` (``id`` first) without their geometry, in the order and with the types
    ``store.read("roads", columns=columns)`` gives them, and which of them were in force at ``as_of``, when
    every road in force then still is as it was (roads reported since are left out by the mask). None when
    a road in force then has changed or gone since (the roads then are not a part of the roads now: read
    them as they were)."""
    from cimic_geo.schema import get_layer
    from cimic_geo.store.frames import _read_columns, _table_sql, _typed_frame, _where_sql

    tables = {r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "roads_history" not in tables:  # a store from before the layers kept versions
        return None
    spec = get_layer("roads")
    where, params = _where_sql(spec, as_of=as_of)  # the versions in force then, as store.read takes them
    then = f"SELECT id, valid_to FROM {_table_sql(spec, as_of)}{where}"
    ended = store.con.execute(f"SELECT count(*) FROM ({then}) WHERE valid_to IS NOT NULL", params).fetchone()
    if int(ended[0]):  # a version in force then was followed by another or by the road's removal
        return None
    cols = _read_columns(spec, columns)
    table = store.con.execute(f"SELECT {', '.join(cols)}, id IN (SELECT id FROM ({then})) AS in_force_then__ "
                              "FROM roads ORDER BY id", params).to_arrow_table()
    frame = _typed_frame(table, cols, spec)
    return frame, frame.pop("in_force_then__").to_numpy(bool)
