"""Validation of source records against a layer of the schema, before anything is written.

Checks (DESIGN §3, issue 3): geometry present, finite, valid (or repaired with a warning), of the
layer's type and inside a plausible extent; required fields present; numbers in range; enumeration
values known (after normalising English/Ukrainian labels); booleans and times parseable; ids unique;
provenance (source, reported_at, reliability as an admiralty code). Every problem names the record
(1-based, in file order) and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import Problem
from cimic_geo.ingest.mapping import auto_mapping, normalise_bool, normalise_choice
from cimic_geo.ingest.readers import SourceData
from cimic_geo.schema import RELIABILITY_RE, Column, Layer, get_layer

#: Default plausible extent (minlon, minlat, maxlon, maxlat): Ukraine with about 2° of margin
#: (neighbouring border areas, corridors ending abroad, the Black and Azov seas).
DEFAULT_EXTENT: tuple[float, float, float, float] = (20.0, 43.0, 42.5, 54.5)

#: Admiralty code used when neither the file nor the user gives one: F = reliability cannot be
#: judged, 6 = truth cannot be judged.
UNKNOWN_RELIABILITY = "F6"

MAX_TEXT = 2000
_INT_LIMIT = 2**62
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AUTO_FIELDS = ("version", "updated_by", "updated_at")

_SHAPELY_NAME = {
    "POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
    "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon",
}
_GEOM_FAMILY = {
    "POINT": ("Point", "MultiPoint"),
    "LINESTRING": ("LineString", "MultiLineString"),
    "POLYGON": ("Polygon", "MultiPolygon"),
}


@dataclass
class Validated:
    """Result of :func:`validate_source`.

    Attributes
    ----------
    frame : every record with the layer's columns and geometry (EPSG:4326); index = record number
    problems : errors, warnings and notes, in record order
    bad_rows : record numbers with at least one error
    mapping : the mapping used ``{layer field: source column}``
    """

    layer: str
    frame: gpd.GeoDataFrame
    problems: list[Problem]
    bad_rows: set[int]
    mapping: dict[str, str]
    source_name: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def valid(self) -> gpd.GeoDataFrame:
        """The records without errors (index = record number)."""
        keep = ~self.frame.index.isin(sorted(self.bad_rows))
        return self.frame.loc[keep]


@dataclass
class Provenance:
    """Provenance applied to rows that do not carry their own (file column > these > defaults)."""

    source: str | None = None
    reported_at: datetime | str | None = None
    reliability: str | None = None


@dataclass
class Options:
    """What the user told the importer (see :func:`cimic_geo.ingest.import_file`)."""

    mapping: Mapping[str, str] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    value_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    extent: tuple[float, float, float, float] | None = DEFAULT_EXTENT


def _missing(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, str) and not v.strip()


def _number(v: object) -> float | None:
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    text = str(v).strip().replace("\u00a0", "").replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def parse_time(v: object) -> pd.Timestamp | None:
    """A UTC timestamp from ISO text, ``DD.MM.YYYY`` (day first), a date or a datetime; None if unparseable."""
    if isinstance(v, (pd.Timestamp, datetime)):
        ts = pd.Timestamp(v)
    else:
        text = str(v).strip()
        try:
            if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{2,4}( .*)?", text):
                ts = pd.to_datetime(text, dayfirst=True)
            else:
                ts = pd.Timestamp(text)
        except (ValueError, OverflowError, TypeError):
            return None
    if ts is pd.NaT or pd.isna(ts):
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    try:
        return ts.tz_convert("UTC")
    except (ValueError, OverflowError):
        return None


def _convert(col: Column, value: object, value_map: Mapping[str, str] | None) -> tuple[Any, str | None]:
    """Convert one value for a column; return (value, error message or None)."""
    kind = col.kind
    if col.choices:
        v = normalise_choice(value, col.choices, value_map=value_map)
        if v is None:
            shown = str(value)[:60]
            return None, f"unknown value {shown!r}; expected one of {', '.join(col.choices)} (or give a value map)"
        return v, None
    if kind in ("int", "float"):
        num = _number(value)
        if num is None:
            return None, f"not a number: {str(value)[:60]!r}"
        if not math.isfinite(num):
            return None, f"not a finite number: {value!r}"
        if kind == "int":
            if num != math.floor(num):
                return None, f"not a whole number: {value!r}"
            if abs(num) > _INT_LIMIT:
                return None, f"number out of range: {value!r}"
        if col.min_value is not None and num < col.min_value:
            return None, f"{num:g} is below the minimum {col.min_value:g}"
        if col.max_value is not None and num > col.max_value:
            return None, f"{num:g} is above the maximum {col.max_value:g}"
        return (int(num) if kind == "int" else float(num)), None
    if kind == "bool":
        b = normalise_bool(value)
        if b is None:
            return None, f"not a yes/no value: {str(value)[:60]!r}"
        return b, None
    if kind == "datetime":
        ts = parse_time(value)
        if ts is None:
            return None, f"not a date/time: {str(value)[:60]!r}"
        return ts, None
    text = _CONTROL.sub("", str(value)).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))  # ids/codes read as numbers: 12.0 -> "12"
    if len(text) > MAX_TEXT:
        return None, f"text longer than {MAX_TEXT} characters ({len(text)})"
    return (text or None), None


def _slug(name: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", name)
    return re.sub(r"[^0-9A-Za-z]+", "-", stem).strip("-").lower()[:40] or "row"


# ----------------------------------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------------------------------


def _extract(geom: BaseGeometry, family: tuple[str, str]) -> BaseGeometry | None:
    """The parts of ``geom`` of one family (e.g. polygons of a GeometryCollection) as one geometry."""
    single, multi = family
    parts = [g for g in shapely.get_parts(geom).tolist() if g.geom_type in (single, multi)]
    flat: list[BaseGeometry] = []
    for g in parts:
        flat += shapely.get_parts(g).tolist() if g.geom_type == multi else [g]
    flat = [g for g in flat if not g.is_empty]
    if not flat:
        return None
    if len(flat) == 1:
        return flat[0]
    if single == "Polygon":
        return shapely.union_all(flat)
    return getattr(shapely, multi)(flat)


def _check_geometry(
    geom: object, layer: Layer
) -> tuple[BaseGeometry | None, list[tuple[str, str]]]:
    """Return (geometry fitted to the layer or None, [(severity, message)])."""
    notes: list[tuple[str, str]] = []
    if geom is None or not isinstance(geom, BaseGeometry):
        return None, [("error", "no geometry")]
    if geom.is_empty:
        return None, [("error", "empty geometry")]
    coords = shapely.get_coordinates(geom, include_z=False)
    if not np.isfinite(coords).all():
        return None, [("error", "coordinates are NaN or infinite")]
    if shapely.get_coordinate_dimension(geom) > 2:
        geom = shapely.force_2d(geom)
    allowed = tuple(_SHAPELY_NAME[t] for t in layer.geometry_types)
    gtype = geom.geom_type
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        family = next((f for k, f in _GEOM_FAMILY.items() if gtype in f), None)
        if family is not None:
            fixed = _extract(fixed, family)
        if fixed is None or fixed.is_empty:
            return None, [("error", f"invalid geometry that cannot be repaired ({reason})")]
        notes.append(("warning", f"invalid geometry repaired ({reason})"))
        geom = fixed
        gtype = geom.geom_type
    if gtype in allowed:
        return geom, notes
    wanted = ", ".join(allowed)
    # fit collections and multi-geometries of one part to the layer's type
    for key, family in _GEOM_FAMILY.items():
        if not any(a in family for a in allowed):
            continue
        part = _extract(geom, family) if gtype in family or gtype == "GeometryCollection" else None
        if part is None:
            continue
        if part.geom_type in allowed:
            notes.append(("warning", f"{gtype} converted to {part.geom_type}"))
            return part, notes
        if key == "LINESTRING" and part.geom_type == "MultiLineString":
            merged = shapely.line_merge(part)
            if merged.geom_type in allowed:
                notes.append(("warning", f"{gtype} merged into one LineString"))
                return merged, notes
            n = len(shapely.get_parts(part))
            return None, [*notes, ("error", f"MultiLineString of {n} disconnected parts; the layer needs " f"{wanted} (split it into one row per part)")]
    return None, [*notes, ("error", f"geometry type {gtype}; the layer needs {wanted}")]


def _fast_ok(geoms: np.ndarray, layer: Layer, extent: tuple[float, float, float, float] | None) -> np.ndarray:
    """Vectorised screen: True where a geometry is present, 2-D, finite, valid, of an allowed type and
    inside the extent (those need no further work; the others go through :func:`_check_geometry`)."""
    if not len(geoms):
        return np.zeros(0, dtype=bool)
    with np.errstate(all="ignore"):
        present = ~shapely.is_missing(geoms)
        allowed = [getattr(shapely.GeometryType, t).value for t in layer.geometry_types]
        ok = present & np.isin(shapely.get_type_id(geoms), allowed) & ~shapely.is_empty(geoms)
        ok &= shapely.get_coordinate_dimension(geoms) == 2
        coords, idx = shapely.get_coordinates(geoms, return_index=True)
        bad = np.unique(idx[~np.isfinite(coords).all(axis=1)])
        ok[bad] = False
        ok &= shapely.is_valid(geoms)
        if extent is not None:
            b = shapely.bounds(geoms)
            x0, y0, x1, y1 = extent
            ok &= (b[:, 0] >= x0) & (b[:, 1] >= y0) & (b[:, 2] <= x1) & (b[:, 3] <= y1)
    return ok


def _check_extent(geom: BaseGeometry, extent: tuple[float, float, float, float]) -> str | None:
    x0, y0, x1, y1 = extent
    bx0, by0, bx1, by1 = geom.bounds
    if bx0 >= x0 and by0 >= y0 and bx1 <= x1 and by1 <= y1:
        return None
    hint = ""
    if by0 >= x0 and bx0 >= y0 and by1 <= x1 and bx1 <= y1:
        hint = " (latitude and longitude look swapped)"
    elif max(abs(bx0), abs(bx1)) > 180 or max(abs(by0), abs(by1)) > 90:
        hint = " (not lon/lat degrees: projected coordinates without a CRS?)"
    return (f"outside the plausible extent {x0:g},{y0:g},{x1:g},{y1:g}: bounds "
            f"{bx0:.4f},{by0:.4f},{bx1:.4f},{by1:.4f}{hint}")


# ----------------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------------


def validate_source(layer: str, source: SourceData, options: Options | None = None) -> Validated:
    """Validate and convert the records of ``source`` for ``layer``; never raises on bad records.

    Returns every record converted to the layer's columns, with the problems found; records with
    errors are listed in ``bad_rows``. Problems that concern the whole file (a mapped column
    missing, a required field without a source) have ``row=None`` and make every record bad.
    """
    spec = get_layer(layer)
    opts = options or Options()
    raw = source.frame
    problems: list[Problem] = list(source.problems)
    n = len(raw)
    rows = np.arange(1, n + 1)
    bad: set[int] = {p.row for p in source.problems if p.severity == "error" and p.row is not None}
    file_error = False

    src_cols = [c for c in raw.columns if c != "geometry"]
    mapping = auto_mapping(spec, src_cols)
    if opts.mapping is not None:
        # the explicit mapping overrides the automatic one field by field; "" or None unmaps a field
        taken = {c for c in opts.mapping.values() if c}
        mapping = {f: c for f, c in mapping.items() if f not in opts.mapping and c not in taken}
        for fld, col in opts.mapping.items():
            if not col:
                continue
            try:
                spec.column(fld)
            except KeyError:
                problems.append(Problem(None, fld, f"mapping names unknown field '{fld}' of layer {spec.name}; "
                                        f"fields: {', '.join(spec.column_names)}"))
                file_error = True
                continue
            if col not in raw.columns:
                problems.append(Problem(None, fld, f"mapped column '{col}' is not in the file; columns: "
                                        f"{', '.join(map(str, src_cols))}"))
                file_error = True
                continue
            mapping[fld] = col
    unused = [c for c in src_cols if c not in set(mapping.values())]
    if unused and n:
        shown = ", ".join(map(str, unused[:12])) + (" ..." if len(unused) > 12 else "")
        problems.append(Problem(None, None, f"{len(unused)} column(s) not imported: {shown}", "info"))
    for fld in opts.defaults:
        try:
            spec.column(fld)
        except KeyError:
            problems.append(Problem(None, fld, f"default given for unknown field '{fld}' of layer {spec.name}"))
            file_error = True

    out = pd.DataFrame(index=pd.Index(rows, name="row"))
    missing_required: dict[str, list[int]] = {}
    for col in spec.all_columns:
        if col.name in _AUTO_FIELDS and col.name not in mapping:
            continue
        if spec.history and col.name == "valid_to":
            continue  # history is chained by the importer
        src = mapping.get(col.name)
        default = opts.defaults.get(col.name)
        if src is None and default is None:
            if col.name == "id":
                prefix = _slug(source.name)
                out["id"] = [f"{prefix}-{r}" for r in rows]
                if n:
                    problems.append(Problem(None, "id", f"no id column; ids made from the file name and record "
                                            f"number ({prefix}-1 ...); re-importing the same file upserts them",
                                            "warning"))
                continue
            if col.name in ("source", "reported_at", "reliability"):
                out[col.name] = None
                continue
            fallback = FALLBACKS.get((spec.name, col.name))
            if col.required and fallback and all(f in mapping for f in fallback):
                out[col.name] = pd.Series([None] * n, index=out.index, dtype=object)
                missing_required[col.name] = [int(r) for r in rows]
                continue
            if col.required:
                problems.append(Problem(None, col.name, f"required field '{col.name}' has no source column; map "
                                        "one or give a default value"))
                file_error = True
            continue
        values = raw[src].tolist() if src is not None else [None] * n
        vmap = opts.value_maps.get(col.name)
        default_conv = None
        if default is not None:
            default_conv, msg = _convert(col, default, vmap)
            if msg:
                problems.append(Problem(None, col.name, f"default value: {msg}"))
                file_error = True
        converted: list[Any] = []
        memo: dict[tuple[type, Any], tuple[Any, str | None]] = {}
        for r, v in zip(rows, values, strict=False):
            if _missing(v):
                if default_conv is None and col.required and col.name != "valid_from":
                    missing_required.setdefault(col.name, []).append(int(r))
                converted.append(default_conv)
                continue
            try:
                key = (type(v), v)
                hit = memo.get(key)
            except TypeError:  # unhashable (lists from JSON properties)
                key, hit = None, None
            if hit is None:
                hit = _convert(col, v, vmap)
                if key is not None and len(memo) < 100_000:
                    memo[key] = hit
            val, msg = hit
            if msg:
                problems.append(Problem(int(r), col.name, msg))
                bad.add(int(r))
            converted.append(val)
        out[col.name] = pd.Series(converted, index=out.index, dtype=object)

    _fill_missing(spec, out, missing_required, problems, bad)
    _fill_provenance(out, source, opts.provenance, problems, bad)

    # duplicate ids
    if "id" in out:
        ids = out["id"]
        first: dict[str, int] = {}
        for r, v in zip(rows, ids.tolist(), strict=False):
            if v is None:
                continue
            if v in first:
                problems.append(Problem(int(r), "id", f"duplicate id {v!r} (first at record {first[v]})"))
                bad.add(int(r))
            else:
                first[v] = int(r)

    # geometry
    geoms: list[BaseGeometry | None] = []
    raw_geoms = np.asarray(raw.geometry.values, dtype=object) if n else np.array([], dtype=object)
    fast = _fast_ok(raw_geoms, spec, opts.extent)
    for r, g, is_fast in zip(rows, raw_geoms, fast, strict=True):
        if is_fast:
            geoms.append(g)
            continue
        fitted, notes = _check_geometry(g, spec)
        for sev, msg in notes:
            problems.append(Problem(int(r), "geometry", msg, sev))
            if sev == "error":
                bad.add(int(r))
        if fitted is not None and opts.extent is not None:
            msg = _check_extent(fitted, opts.extent)
            if msg:
                problems.append(Problem(int(r), "geometry", msg))
                bad.add(int(r))
        geoms.append(fitted)
    frame = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, index=out.index, crs="EPSG:4326"),
                             crs="EPSG:4326")
    if n == 0:
        problems.append(Problem(None, None, "the file has no records"))
        file_error = True
    if file_error:
        bad = set(int(r) for r in rows)
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    return Validated(layer=spec.name, frame=frame, problems=problems, bad_rows=bad, mapping=mapping,
                     source_name=source.name)


#: Where a required field may come from when the file leaves it empty: a shelter without a name is
#: called by its address; a corridor by "origin – destination".
FALLBACKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("shelters", "name"): ("address",),
    ("corridors", "name"): ("origin", "destination"),
}


def _fill_missing(spec: Layer, out: pd.DataFrame, missing: dict[str, list[int]], problems: list[Problem],
                  bad: set[int]) -> None:
    for fld, rows in missing.items():
        sources = FALLBACKS.get((spec.name, fld))
        filled = 0
        for r in rows:
            parts = [out.at[r, c] for c in sources or () if c in out.columns]
            if sources and parts and all(p is not None for p in parts):
                out.at[r, fld] = " – ".join(str(p) for p in parts)
                filled += 1
                continue
            problems.append(Problem(r, fld, "required value is empty"))
            bad.add(r)
        if filled:
            problems.append(Problem(None, fld, f"{filled} record(s) without {fld}: used "
                                    f"{' – '.join(sources or ())} instead", "warning"))


def _fill_provenance(out: pd.DataFrame, source: SourceData, prov: Provenance, problems: list[Problem],
                     bad: set[int]) -> None:
    n = len(out)
    src = prov.source or source.name
    out["source"] = [v if v is not None else src for v in out.get("source", pd.Series([None] * n)).tolist()]
    when = parse_time(prov.reported_at) if prov.reported_at is not None else None
    if prov.reported_at is not None and when is None:
        problems.append(Problem(None, "reported_at", f"not a date/time: {prov.reported_at!r}"))
        bad.update(int(r) for r in out.index)
    if when is None:
        when = pd.Timestamp(datetime.now(UTC))
    out["reported_at"] = pd.Series([v if v is not None else when for v in out["reported_at"].tolist()],
                                   index=out.index, dtype=object)
    rel_default = prov.reliability
    if rel_default is not None:
        rel_default = str(rel_default).strip().upper()
        if not RELIABILITY_RE.match(rel_default):
            problems.append(Problem(None, "reliability", f"reliability {prov.reliability!r} is not an admiralty "
                                    "code (A-F + 1-6, e.g. B2)"))
            bad.update(int(r) for r in out.index)
    missing_rel = 0
    rels = []
    for r, v in zip(out.index, out["reliability"].tolist(), strict=False):
        if v is None:
            if rel_default is None:
                missing_rel += 1
            rels.append(rel_default or UNKNOWN_RELIABILITY)
            continue
        code = str(v).strip().upper()
        if not RELIABILITY_RE.match(code):
            problems.append(Problem(int(r), "reliability", f"{str(v)[:20]!r} is not an admiralty code (A-F + 1-6, "
                                    "e.g. B2)"))
            bad.add(int(r))
        rels.append(code)
    out["reliability"] = rels
    if missing_rel and n:
        problems.append(Problem(None, "reliability", f"no reliability given for {missing_rel} record(s); set to "
                                f"{UNKNOWN_RELIABILITY} (cannot be judged)", "warning"))
