"""What a one-off CLI route reads from the road graph folder instead of the store.

:mod:`cimic_geo.analytics.route_fast` answers ``python -m cimic_geo route`` from the graph folder
kept beside the store (:mod:`cimic_geo.analytics.road_cache`) without DuckDB, pandas or
geopandas. The full path writes, with the graph and under the same key, everything else the
route's document needs (:func:`fast_arrays`):

* settlements: ids, names, Ukrainian names, population and lon/lat (to resolve ``--from``/``--to``);
* road ids of every row (the route's ``road_ids``), and the rows that are not ``open`` with their
  names (the hazards);
* destroyed bridges, shelters and health facilities: WKB geometry, bounding boxes and each row's
  listed attributes as JSON (converted exactly as the full evaluation converts them);
* the front line, the line used for "crosses the front line" and the occupied area (WKB);
* the as-of time (as the key, ISO and DTG texts) and the threat band labels.

Text columns are packed as one UTF-8 byte array and offsets (:func:`pack_text`), read back one
row at a time (:class:`Texts`), so a fresh process decodes only the rows it lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd

    from cimic_geo.analytics.roadgraph import RoadGraph

#: Prefix of the arrays this module adds to a graph folder.
PREFIX = "f_"


def pack_text(values: Sequence[Any]) -> dict[str, np.ndarray]:
    """UTF-8 bytes of the values (bytes as they are) one after another, the offsets and a missing-value mask."""
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)
    data = [b"" if m else v if isinstance(v, bytes) else str(v).encode("utf-8")
            for v, m in zip(values, missing, strict=True)]
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    if data:
        np.cumsum([len(b) for b in data], out=offsets[1:])
    return {"bytes": np.frombuffer(b"".join(data), dtype=np.uint8).copy(), "offsets": offsets, "missing": missing}


class Texts:
    """Packed texts (:func:`pack_text`) read one row at a time; ``None`` for a missing value."""

    def __init__(self, arrays: dict[str, np.ndarray], name: str) -> None:
        self._bytes = arrays[f"{PREFIX}{name}_bytes"]
        self._offsets = arrays[f"{PREFIX}{name}_offsets"]
        self._missing = arrays[f"{PREFIX}{name}_missing"]
        self._data: bytes | None = None

    def _all(self) -> bytes:
        """All the bytes, copied out of the map once."""
        if self._data is None:
            self._data = self._bytes.tobytes()
        return self._data

    def __len__(self) -> int:
        return len(self._missing)

    def raw(self, i: int) -> bytes | None:
        if self._missing[i]:
            return None
        return self._bytes[int(self._offsets[i]):int(self._offsets[i + 1])].tobytes()

    def raw_many(self, rows: np.ndarray) -> list[bytes | None]:
        """:meth:`raw` of several rows: their bytes gathered from the map at once (a few rows of a
        large column) or sliced from one copy of all the bytes (many rows, or the copy at hand)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self._offsets[rows], self._offsets[rows + 1]
        missing = self._missing[rows].tolist()
        lens = ends - starts
        if self._data is None and 8 * int(lens.sum()) < len(self._bytes):
            cut = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum(lens, out=cut[1:])
            data = np.asarray(self._bytes)[np.repeat(starts - cut[:-1], lens) + np.arange(cut[-1])].tobytes()
            starts, ends = cut[:-1], cut[1:]
        else:
            data = self._all()
        return [None if m else data[a:b] for a, b, m in zip(starts.tolist(), ends.tolist(), missing, strict=True)]

    def fixed_width(self, rows: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Which of the rows hold exactly ``size`` bytes (a mask) and those rows' bytes ((n, size) uint8)."""
        rows = np.asarray(rows, dtype=np.int64)
        start = self._offsets[rows]
        ok = (self._offsets[rows + 1] - start == size) & ~self._missing[rows]
        return ok, np.asarray(self._bytes)[start[ok][:, None] + np.arange(size)]

    def __getitem__(self, i: int) -> str | None:
        b = self.raw(i)
        return None if b is None else b.decode("utf-8")

    def find(self, text: str) -> np.ndarray:
        """Rows whose value is exactly ``text`` (a byte search, no decoding of the other rows)."""
        needle = text.encode("utf-8")
        if not needle:
            return np.flatnonzero((np.diff(self._offsets) == 0) & ~self._missing)
        data = self._all()
        hits, start = [], data.find(needle)
        while start >= 0:
            hits.append(start)
            start = data.find(needle, start + 1)
        if not hits:
            return np.zeros(0, dtype=np.int64)
        pos = np.asarray(hits, dtype=np.int64)
        row = np.searchsorted(self._offsets, pos, side="right") - 1
        ok = (self._offsets[row] == pos) & (self._offsets[row + 1] == pos + len(needle)) & ~self._missing[row]
        from cimic_geo.analytics.road_noding import unique_sorted

        return unique_sorted(row[ok])


def _texts(name: str, values: Sequence[Any]) -> dict[str, np.ndarray]:
    return {f"{PREFIX}{name}_{k}": v for k, v in pack_text(values).items()}


def _wkb(geoms: np.ndarray) -> list[bytes | None]:
    import shapely

    return [None if g is None else shapely.to_wkb(g) for g in geoms]


def _points_layer(name: str, frame: gpd.GeoDataFrame | None, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Bounding boxes, WKB geometry and the listed attributes (as the full evaluation lists them)."""
    import shapely

    from cimic_geo.analytics.corridor_eval import plain_record

    if frame is None or not len(frame):
        geoms = np.empty(0, dtype=object)
        records: list[str] = []
    else:
        f = frame.reset_index(drop=True)
        geoms = np.asarray(f.geometry.array, dtype=object)
        cols = [c for c in columns if c in f.columns]
        records = [json.dumps(plain_record(r), ensure_ascii=False) for r in f[cols].to_dict("records")]
    out = {f"{PREFIX}{name}_bounds": np.asarray(shapely.bounds(geoms), dtype=float).reshape(-1, 4)}
    out.update(_texts(f"{name}_wkb", _wkb(geoms)))
    out.update(_texts(f"{name}_record", records))
    return out


def fast_arrays(graph: RoadGraph, *, settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame | None,
                health: gpd.GeoDataFrame | None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and metadata a one-off route reads beside the graph (see the module docstring)."""
    import shapely

    from cimic_geo.analytics.bands import EDGE_TOLERANCE_KM, band_labels
    from cimic_geo.analytics.corridor_eval import HEALTH_COLUMNS, SHELTER_COLUMNS
    from cimic_geo.timefmt import dtg, iso

    s = settlements.reset_index(drop=True)
    pts = np.asarray(s.geometry.array, dtype=object)
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts)) if len(pts) else np.zeros(0, bool)
    lonlat = np.full((len(s), 2), np.nan)
    if ok.any():
        lonlat[ok] = np.column_stack([shapely.get_x(pts[ok]), shapely.get_y(pts[ok])])
    pop = (np.asarray(s["population"].astype("Float64").to_numpy(dtype=float, na_value=np.nan))
           if "population" in s.columns else np.full(len(s), np.nan))
    arrays: dict[str, np.ndarray] = {f"{PREFIX}settlement_lonlat": lonlat, f"{PREFIX}settlement_population": pop}
    arrays.update(_texts("settlement_id", [str(v) for v in s["id"]]))
    arrays.update(_texts("settlement_name", list(s["name"])))
    arrays.update(_texts("settlement_name_uk", list(s["name_uk"]) if "name_uk" in s.columns else [None] * len(s)))
    table = graph.road_table
    arrays.update(_texts("road_id", [str(v) for v in table["id"]]))
    bad = np.flatnonzero(graph.seg_status != "open")
    arrays[f"{PREFIX}bad_rows"] = bad
    names = table["name"].iloc[bad] if "name" in table.columns else [None] * len(bad)
    arrays.update(_texts("bad_name", [None if v is None or v != v else str(v) for v in names]))
    br = graph.destroyed_bridges
    arrays.update(_texts("bridge_wkb", _wkb(np.asarray(br.geometry.values, dtype=object))))
    for col in ("id", "name", "road_id"):
        vals = list(br[col]) if col in br.columns else [None] * len(br)
        arrays.update(_texts(f"bridge_{col}", [None if v is None or v != v else str(v) for v in vals]))
    arrays.update(_points_layer("shelter", shelters, SHELTER_COLUMNS))
    arrays.update(_points_layer("health", health, HEALTH_COLUMNS))
    threat = graph.threat
    arrays.update(_texts("threat_wkb", _wkb(np.array([threat.front_line, threat.occupied, threat.front_line_used],
                                                     dtype=object))))
    t = graph.as_of
    meta = {"as_of_key": None if t is None else t.isoformat(), "as_of_iso": iso(t), "as_of_dtg": dtg(t),
            "band_labels": band_labels(graph.bands_km), "edge_tolerance_km": EDGE_TOLERANCE_KM,
            "has_front": bool(threat.has_front)}
    return arrays, meta
