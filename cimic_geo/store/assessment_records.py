"""Reads of civil assessments: every assessment is its own row (settlement, date), never overwritten.

The history of a settlement is all its rows; the picture at a time ``t`` is, per settlement, the
latest assessment made at or before ``t``. Table and column names come from the schema; values
are parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import geopandas as gpd

from cimic_geo.schema import get_layer
from cimic_geo.store.core import Store, _as_utc, _check_bbox, _geom_sql, _read_columns, _to_geodataframe

_LAYER = "assessments"


def _filters(*, as_of: datetime | str | None, bbox: Sequence[float] | None,
             settlement_ids: Sequence[str] | None) -> tuple[str, list]:
    clauses: list[str] = []
    params: list = []
    if as_of is not None:
        clauses.append("assessed_at <= ?")
        params.append(_as_utc(as_of))
    if bbox is not None:
        a, b, c, d = _check_bbox(bbox)
        clauses.append(f"ST_Intersects(geom, ST_MakeEnvelope({a!r}, {b!r}, {c!r}, {d!r}))")
    if settlement_ids is not None:
        ids = [str(i) for i in settlement_ids]
        if not ids:
            clauses.append("FALSE")
        else:
            clauses.append(f"settlement_id IN ({', '.join('?' * len(ids))})")
            params += ids
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def read_assessments(
    store: Store,
    *,
    as_of: datetime | str | None = None,
    bbox: Sequence[float] | None = None,
    settlement_ids: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Every assessment made at or before ``as_of`` (default: all), oldest first per settlement."""
    spec = get_layer(_LAYER)
    cols = _read_columns(spec, None)
    where, params = _filters(as_of=as_of, bbox=bbox, settlement_ids=settlement_ids)
    sql = (f"SELECT {', '.join(cols)}, {_geom_sql(None)} FROM {spec.name}{where} "
           "ORDER BY settlement_id, assessed_at, id")
    return _to_geodataframe(store.con.execute(sql, params).to_arrow_table(), cols, spec)


def latest_assessments(
    store: Store,
    *,
    as_of: datetime | str | None = None,
    bbox: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """Per settlement, the latest assessment made at or before ``as_of`` (default: the latest of all).

    Ties on the time are broken by the larger id, so the answer does not depend on row order.
    """
    spec = get_layer(_LAYER)
    cols = _read_columns(spec, None)
    where, params = _filters(as_of=as_of, bbox=bbox, settlement_ids=None)
    sql = (f"SELECT {', '.join(cols)}, {_geom_sql(None)} FROM {spec.name}{where} "
           "QUALIFY row_number() OVER (PARTITION BY settlement_id ORDER BY assessed_at DESC, id DESC) = 1 "
           "ORDER BY settlement_id")
    return _to_geodataframe(store.con.execute(sql, params).to_arrow_table(), cols, spec)


def assessment_history(store: Store, settlement_id: str) -> gpd.GeoDataFrame:
    """All assessments of one settlement, newest first."""
    frame = read_assessments(store, settlement_ids=[str(settlement_id)])
    return frame.sort_values(["assessed_at", "id"], ascending=False).reset_index(drop=True)
