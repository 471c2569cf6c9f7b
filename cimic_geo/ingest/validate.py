"""Validation of source records against a layer of the schema, before anything is written.

Checks: geometry present, finite, valid (or repaired with a warning), of the
layer's type and inside a plausible extent; required fields present; numbers in range; enumeration
values known (after normalising English/Ukrainian labels); booleans and times parseable; ids unique;
provenance (source, reported_at, reliability as an admiralty code). Every problem names the record
(1-based, in file order) and the field.

Value rules (thousands separators, control characters, plausible times) are in
:mod:`cimic_geo.ingest.values`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import Problem
from cimic_geo.i18n import _
from cimic_geo.ingest.geometry_fit import check_extent, check_geometry, fast_ok
from cimic_geo.ingest.mapping import auto_mapping
from cimic_geo.ingest.readers import SourceData
from cimic_geo.ingest.values import MAX_TEXT, check_observed_time, convert, missing, parse_time, plausible_times
from cimic_geo.schema import RELIABILITY_RE, Layer, get_layer

__all__ = ["DEFAULT_EXTENT", "MAX_TEXT", "Options", "Provenance", "Validated", "parse_time", "plausible_times",
           "validate_source"]

#: Default plausible extent (minlon, minlat, maxlon, maxlat): Ukraine with about 2° of margin
#: (neighbouring border areas, corridors ending abroad, the Black and Azov seas).
DEFAULT_EXTENT: tuple[float, float, float, float] = (20.0, 43.0, 42.5, 54.5)

#: Admiralty code used when neither the file nor the user gives one: F = reliability cannot be
#: judged, 6 = truth cannot be judged.
UNKNOWN_RELIABILITY = "F6"

_AUTO_FIELDS = ("version", "updated_by", "updated_at")


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


def _slug(name: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", name)
    return re.sub(r"[^0-9A-Za-z]+", "-", stem).strip("-").lower()[:40] or "row"


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
                problems.append(Problem(None, fld, _("mapping names unknown field '{field}' of layer {layer}; "
                                                     "fields: {fields}").format(
                    field=fld, layer=spec.name, fields=", ".join(spec.column_names))))
                file_error = True
                continue
            if col not in raw.columns:
                problems.append(Problem(None, fld, _("mapped column '{column}' is not in the file; columns: "
                                                     "{columns}").format(column=col,
                                                                         columns=", ".join(map(str, src_cols)))))
                file_error = True
                continue
            mapping[fld] = col
    unused = [c for c in src_cols if c not in set(mapping.values())]
    if unused and n:
        shown = ", ".join(map(str, unused[:12])) + (" ..." if len(unused) > 12 else "")
        problems.append(Problem(None, None, _("{n} column(s) not imported: {columns}").format(n=len(unused),
                                                                                             columns=shown), "info"))
    for fld in opts.defaults:
        try:
            spec.column(fld)
        except KeyError:
            problems.append(Problem(None, fld, _("default given for unknown field '{field}' of layer {layer}")
                                    .format(field=fld, layer=spec.name)))
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
                    problems.append(Problem(None, "id", _("no id column; ids made from the file name and record "
                                                          "number ({prefix}-1 ...); re-importing the same file "
                                                          "upserts them").format(prefix=prefix), "warning"))
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
                problems.append(Problem(None, col.name, _("required field '{field}' has no source column; map "
                                                          "one or give a default value").format(field=col.name)))
                file_error = True
            continue
        values = raw[src].tolist() if src is not None else [None] * n
        vmap = opts.value_maps.get(col.name)
        default_conv = None
        if default is not None:
            default_conv, msg = convert(col, default, vmap)
            if msg:
                problems.append(Problem(None, col.name, _("default value: {reason}").format(reason=msg)))
                file_error = True
        converted: list[Any] = []
        memo: dict[tuple[type, Any], tuple[Any, str | None]] = {}
        for r, v in zip(rows, values, strict=False):
            if missing(v):
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
                hit = convert(col, v, vmap)
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
    _check_windows(out, problems, bad)

    # duplicate ids
    if "id" in out:
        ids = out["id"]
        first: dict[str, int] = {}
        for r, v in zip(rows, ids.tolist(), strict=False):
            if v is None:
                continue
            if v in first:
                problems.append(Problem(int(r), "id", _("duplicate id {id} (first at record {first})")
                                        .format(id=repr(v), first=first[v])))
                bad.add(int(r))
            else:
                first[v] = int(r)

    # geometry
    geoms: list[BaseGeometry | None] = []
    raw_geoms = np.asarray(raw.geometry.values, dtype=object) if n else np.array([], dtype=object)
    fast = fast_ok(raw_geoms, spec, opts.extent)
    for r, g, is_fast in zip(rows, raw_geoms, fast, strict=True):
        if is_fast:
            geoms.append(g)
            continue
        fitted, notes = check_geometry(g, spec)
        for sev, msg in notes:
            problems.append(Problem(int(r), "geometry", msg, sev))
            if sev == "error":
                bad.add(int(r))
        if fitted is not None and opts.extent is not None:
            msg = check_extent(fitted, opts.extent)
            if msg:
                problems.append(Problem(int(r), "geometry", msg))
                bad.add(int(r))
        geoms.append(fitted)
    frame = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, index=out.index, crs="EPSG:4326"),
                             crs="EPSG:4326")
    if n == 0:
        problems.append(Problem(None, None, _("the file has no records")))
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
            problems.append(Problem(r, fld, _("required value is empty")))
            bad.add(r)
        if filled:
            problems.append(Problem(None, fld, _("{n} record(s) without {field}: used {sources} instead").format(
                n=filled, field=fld, sources=" – ".join(sources or ())), "warning"))


def _check_windows(out: pd.DataFrame, problems: list[Problem], bad: set[int]) -> None:
    """A corridor window must end after it starts (as the planner requires)."""
    if "window_start" not in out.columns or "window_end" not in out.columns:
        return
    for r, ws, we in zip(out.index, out["window_start"].tolist(), out["window_end"].tolist(), strict=True):
        if ws is not None and we is not None and not pd.isna(ws) and not pd.isna(we) and we <= ws:
            problems.append(Problem(int(r), "window_end", _("the window ends ({end}Z) before or when it starts "
                                                            "({start}Z)").format(end=f"{we:%Y-%m-%d %H:%M}",
                                                                                 start=f"{ws:%Y-%m-%d %H:%M}")))
            bad.add(int(r))


def _fill_provenance(out: pd.DataFrame, source: SourceData, prov: Provenance, problems: list[Problem],
                     bad: set[int]) -> None:
    n = len(out)
    src = prov.source or source.name
    out["source"] = [v if v is not None else src for v in out.get("source", pd.Series([None] * n)).tolist()]
    when = parse_time(prov.reported_at) if prov.reported_at is not None else None
    if prov.reported_at is not None and when is None:
        problems.append(Problem(None, "reported_at", _("not a date/time: {value}").format(
            value=repr(prov.reported_at))))
        bad.update(int(r) for r in out.index)
    elif when is not None and check_observed_time(when):
        problems.append(Problem(None, "reported_at", _("report time {value}: {reason}").format(
            value=str(prov.reported_at), reason=check_observed_time(when))))
        bad.update(int(r) for r in out.index)
    if when is None:
        when = pd.Timestamp(datetime.now(UTC))
    out["reported_at"] = pd.Series([v if v is not None else when for v in out["reported_at"].tolist()],
                                   index=out.index, dtype=object)
    rel_default = prov.reliability
    if rel_default is not None:
        rel_default = str(rel_default).strip().upper()
        if not RELIABILITY_RE.match(rel_default):
            problems.append(Problem(None, "reliability", _("reliability {value} is not an admiralty code (A-F + "
                                                           "1-6, e.g. B2)").format(value=repr(prov.reliability))))
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
            problems.append(Problem(int(r), "reliability", _("{value} is not an admiralty code (A-F + 1-6, e.g. "
                                                             "B2)").format(value=repr(str(v)[:20]))))
            bad.add(int(r))
        rels.append(code)
    out["reliability"] = rels
    if missing_rel and n:
        problems.append(Problem(None, "reliability", _("no reliability given for {n} record(s); set to {code} "
                                                       "(cannot be judged)").format(n=missing_rel,
                                                                                    code=UNKNOWN_RELIABILITY),
                                "warning"))
