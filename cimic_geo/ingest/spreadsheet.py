"""Import of evacuations, civil assessments and partners (3W) from spreadsheets (CSV or XLSX).

The rules are those of every import: the header must be the layer's template (an unknown or
missing column refuses the file), every value is converted and checked by
:func:`cimic_geo.ingest.validate.validate_source` (enumerations, numbers >= 0, dates, admiralty
codes, provenance), every referenced id must exist in the store, and nothing is written unless
every row is valid; the write is one transaction. Problems name the spreadsheet row and column.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics.partner_gaps import split_ids
from cimic_geo.auth import Actor
from cimic_geo.config import EXERCISE_MARKING
from cimic_geo.errors import Problem, StoreError, ValidationError
from cimic_geo.evacuation_rules import check_evacuations
from cimic_geo.i18n import N_, _, fmt_int
from cimic_geo.ingest.import_report import ImportReport
from cimic_geo.ingest.importer import data_marking
from cimic_geo.ingest.readers import SourceData
from cimic_geo.ingest.sheets import REFERENCES, SHEET_LAYERS, Sheet, normalise_header, read_sheet, sheet_columns
from cimic_geo.ingest.validate import Options, Provenance, parse_time, validate_source
from cimic_geo.schema import ASSESSMENT_SECTORS, EVACUATION_TRANSITIONS, get_layer
from cimic_geo.store import Store
from cimic_geo.store.audit import sha256_file
from cimic_geo.store.partner_records import read_partners, save_partner_versions
from cimic_geo.store.sheet_imports import (
    current_evacuations,
    known_ids,
    point_lookup,
    write_assessments,
    write_evacuations,
)
from cimic_geo.timefmt import iso


@dataclass
class PreparedSheet:
    """A validated spreadsheet ready to write (``frame``: the layer's columns and geometry)."""

    layer: str
    frame: gpd.GeoDataFrame
    report: ImportReport
    sha256: str | None = None


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def _check_header(layer: str, sheet: Sheet) -> pd.DataFrame:
    cols = sheet_columns(layer)
    names = [c.name for c in cols]
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    renamed = {}
    for raw in sheet.frame.columns:
        norm = normalise_header(raw)
        if norm not in names:
            problems.append(Problem(sheet.header_row, str(raw), _(
                "unknown column '{column}' for {layer}; the template's columns are: {columns}").format(
                column=raw, layer=layer, columns=", ".join(names))))
        elif norm in seen:
            problems.append(Problem(sheet.header_row, str(raw), _("column '{column}' appears twice (also "
                                                                  "'{other}')").format(column=raw, other=seen[norm])))
        seen.setdefault(norm, str(raw))
        renamed[raw] = norm
    for c in cols:
        if c.required and c.name not in seen:
            problems.append(Problem(sheet.header_row, c.name, _("required column '{column}' is missing from the "
                                                                "header").format(column=c.name)))
    if problems:
        raise ValidationError(_("{layer}: nothing written: the header of {file} does not match the template "
                                "(download it with `{command}`)").format(
            layer=layer, file=sheet.name, command=f"python -m cimic_geo template {layer}"), problems)
    return sheet.frame.rename(columns=renamed)


#: The message of a reference to a row that does not exist, per referenced layer (same English as
#: "<singular> <ids> does not exist in the store (<layer>)").
_MISSING_REF = {
    "settlements": N_("settlement {ids} does not exist in the store ({layer})"),
    "shelters": N_("shelter {ids} does not exist in the store ({layer})"),
    "corridors": N_("corridor {ids} does not exist in the store ({layer})"),
}


def _ref_problems(layer: str, frame: pd.DataFrame, store: Store) -> list[Problem]:
    """Every referenced id that does not exist, as a problem on its row and column."""
    out: list[Problem] = []
    for col, target in REFERENCES[layer].items():
        if col not in frame:
            continue
        cells = {r: (split_ids(v) if col == "settlement_ids" else ([] if _blank(v) else [str(v).strip()]))
                 for r, v in frame[col].items()}
        present = known_ids(store, target, {i for ids in cells.values() for i in ids})
        for r, ids in cells.items():
            missing = [i for i in ids if i not in present]
            if missing:
                out.append(Problem(int(r), col, _(_MISSING_REF[target]).format(
                    ids=", ".join(repr(m) for m in missing[:5]), layer=target)))
    return out


def _geometry(layer: str, frame: pd.DataFrame, store: Store, problems: list[Problem]) -> list[Any]:
    """One geometry per row (None where it cannot be made; the problem is recorded)."""
    sids = set()
    for col in ("settlement_id", "settlement_ids"):
        if col in frame:
            for v in frame[col]:
                sids.update(split_ids(v))
    pts = point_lookup(store, "settlements", sids)
    where = dict(zip(pts["id"].astype(str), pts.geometry, strict=True))
    geoms: list[Any] = []
    for r, row in frame.iterrows():
        g = None
        if layer == "partners" and not _blank(row.get("area_wkt")):
            try:
                g = shapely.from_wkt(str(row["area_wkt"]))
            except shapely.errors.GEOSException:
                text = str(row["area_wkt"])
                msg = (_("not a WKT polygon (e.g. POLYGON((lon lat, ...))) (cut at {n} characters: a spreadsheet "
                         "cell holds at most 32,767; simplify the polygon)").format(n=fmt_int(len(text)))
                       if len(text) >= 32_000 else _("not a WKT polygon (e.g. POLYGON((lon lat, ...)))"))
                problems.append(Problem(int(r), "area_wkt", msg))
                geoms.append(None)
                continue
            if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty:
                problems.append(Problem(int(r), "area_wkt", _("the area must be a polygon, got {type}").format(
                    type=g.geom_type)))
                g = None
        elif layer == "partners":
            ids = [i for i in split_ids(row.get("settlement_ids")) if i in where]
            if ids:
                g = shapely.multipoints([where[i] for i in ids])
            elif not split_ids(row.get("settlement_ids")):
                problems.append(Problem(int(r), "settlement_ids", _("give the settlements served (ids separated by "
                                                                    "';') or an area_wkt polygon")))
        elif layer == "evacuations" and not (_blank(row.get("lat")) and _blank(row.get("lon"))):
            try:
                g = shapely.Point(float(str(row.get("lon")).replace(",", ".")),
                                  float(str(row.get("lat")).replace(",", ".")))
            except (TypeError, ValueError):
                problems.append(Problem(int(r), "lat" if _blank(row.get("lat")) else "lon",
                                        _("lat and lon must both be decimal degrees")))
        else:
            sid = row.get("settlement_id")
            g = where.get(str(sid).strip()) if not _blank(sid) else None
            if _blank(sid):
                problems.append(Problem(int(r), "settlement_id", _("give the settlement (or lat and lon)")
                                        if layer == "evacuations" else _("the settlement is required")))
        geoms.append(g)
    return geoms


def _defaults(layer: str, frame: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    frame = frame.copy()
    if layer == "assessments":
        ids = frame["id"] if "id" in frame else pd.Series([None] * len(frame), index=frame.index)
        made = []
        for r, v in ids.items():
            if not _blank(v):
                made.append(v)
                continue
            t = parse_time(frame.at[r, "assessed_at"]) if not _blank(frame.at[r, "assessed_at"]) else None
            sid = frame.at[r, "settlement_id"]
            made.append(f"{str(sid).strip()}-{t.strftime('%Y%m%dT%H%MZ')}" if t is not None and not _blank(sid)
                        else f"row-{r}")
        frame["id"] = made
    if layer == "partners":
        frame["id"] = frame["partner_id"]
        start = frame["valid_from"] if "valid_from" in frame else pd.Series([None] * len(frame), index=frame.index)
        frame["valid_from"] = [now if _blank(v) else v for v in start]
    return frame


def _dedupe(problems: list[Problem], bad_rows: set[int]) -> list[Problem]:
    """One problem per (row, column); geometry problems dropped on rows already rejected for a reference."""
    seen: set[tuple[int | None, str | None]] = set()
    out = []
    for p in problems:
        key = (p.row, p.field)
        if p.row is not None and (key in seen or (p.field == "geometry" and p.row in bad_rows)):
            continue
        seen.add(key)
        out.append(p)
    return out


def prepare_sheet_import(
    store: Store,
    layer: str,
    path: str | os.PathLike,
    *,
    name: str | None = None,
    sheet: str | None = None,
    source: str | None = None,
    reported_at: datetime | str | None = None,
    reliability: str | None = None,
    exercise: bool = False,
    marking: str | None = None,
    allow_mixed: bool = False,
) -> PreparedSheet:
    """Read and validate a spreadsheet of ``layer`` against the store; write nothing.

    ``exercise``, ``marking`` and ``allow_mixed`` say what kind of data the sheet holds, as for
    every import (:func:`cimic_geo.ingest.importer.data_marking`): a liaison officer's real sheet
    is refused in a store holding exercise data unless the operator confirms the mix.

    Raises
    ------
    ValidationError
        When anything is wrong (header, any value of any row, a referenced id that does not
        exist); ``problems`` name the spreadsheet row and column of each.
    """
    if layer not in SHEET_LAYERS:
        raise ValidationError(_("no spreadsheet import for layer '{layer}'").format(layer=layer),
                              [Problem(None, "layer", _("expected one of: {choices}").format(
                                  choices=", ".join(SHEET_LAYERS)))])
    spec = get_layer(layer)
    sh = read_sheet(path, name=name, sheet=sheet)
    frame = _check_header(layer, sh)
    if not len(frame):
        raise ValidationError(_("{layer}: nothing written: {file} has no rows below the header").format(
            layer=layer, file=sh.name), [Problem(None, None, _("the sheet has no records"))])
    now = pd.Timestamp(datetime.now(UTC))
    frame = _defaults(layer, frame, now)
    mine = _ref_problems(layer, frame, store)
    if layer == "evacuations":
        mine += _evacuation_problems(frame, store)
    geoms = _geometry(layer, frame, store, mine)
    rows = frame.index.to_numpy()  # sheet row of record k is rows[k - 1]
    attrs = [c for c in frame.columns if c in spec.column_names]
    src = SourceData(frame=gpd.GeoDataFrame(frame[attrs].reset_index(drop=True),
                                            geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326"),
                     name=sh.name)
    # a sector left blank (or a column left out) is recorded as "unknown", not as missing
    blanks = {f"{sec}_status": "unknown" for sec in ASSESSMENT_SECTORS} if layer == "assessments" else {}
    opts = Options(mapping={c: c for c in attrs}, defaults=blanks,
                   provenance=Provenance(source=source, reported_at=reported_at, reliability=reliability))
    validated = validate_source(layer, src, opts)
    theirs = [Problem(None if p.row is None else int(rows[p.row - 1]), p.field, p.message, p.severity)
              for p in validated.problems if not (p.field == "id" and p.severity != "error")]
    bad = {p.row for p in mine if p.row is not None}
    problems = _dedupe(mine + theirs, bad)
    valid = validated.frame.copy()
    valid.index = rows
    if layer == "partners":
        problems += _partner_order_problems(valid, store)
    kind, chosen_marking, mark_problems = data_marking(store, exercise=exercise, marking=marking,
                                                       allow_mixed=allow_mixed)
    problems = mark_problems + problems
    errors = [p for p in problems if p.severity == "error"]
    problems.sort(key=lambda p: (p.row is not None, p.row or 0, p.field or ""))
    report = ImportReport(layer=layer, mode="upsert", files=[sh.name], rows_read=len(frame), problems=problems,
                          mapping={c: c for c in attrs})
    report.kind, report.marking = kind, chosen_marking
    bad_rows = {p.row for p in errors if p.row is not None}
    report.rows_rejected = len(frame) if any(p.row is None or p.row == sh.header_row for p in errors) \
        else len(bad_rows)
    report.rows_valid = report.rows_read - report.rows_rejected
    if errors:
        raise ValidationError(_("{layer}: nothing written: {n} error(s) in {files}").format(
            layer=layer, n=len(errors), files=sh.name), problems)
    out = gpd.GeoDataFrame(valid.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")
    return PreparedSheet(layer=layer, frame=out, report=report, sha256=sha256_file(path))


def _evacuation_problems(frame: pd.DataFrame, store: Store) -> list[Problem]:
    # a destination that does not exist is reported once, by _ref_problems: here every named one counts as known
    named = {str(v).strip() for v in frame.get("destination_shelter_id", []) if not _blank(v)}
    problems = check_evacuations(frame, shelter_ids=named, row_numbers=frame.index.tolist())
    if "id" in frame:
        old = current_evacuations(store, [str(v) for v in frame["id"] if not _blank(v)])
        status = dict(zip(old["id"].astype(str), old["status"], strict=True))
        for r, eid, new in zip(frame.index, frame["id"], frame.get("status", [None] * len(frame)), strict=True):
            before = status.get(str(eid))
            if before is None or _blank(new) or str(new).strip() == before:
                continue
            allowed = EVACUATION_TRANSITIONS.get(before, ())
            if str(new).strip() not in allowed:
                problems.append(Problem(int(r), "status", _("evacuation {id} is {status}; it cannot become "
                                                            "{new} (allowed next: {allowed})").format(
                    id=eid, status=before, new=str(new).strip(), allowed=", ".join(allowed) or _("none"))))
    return problems


def _partner_order_problems(frame: gpd.GeoDataFrame, store: Store) -> list[Problem]:
    current = read_partners(store)
    start = dict(zip(current["partner_id"].astype(str), current["valid_from"], strict=True))
    out = []
    for r, pid, t in zip(frame.index, frame["partner_id"], frame["valid_from"], strict=True):
        old = start.get(str(pid))
        if old is not None and t is not None and pd.Timestamp(t) < old:
            out.append(Problem(int(r), "valid_from", _("{time} is older than the current version of {id} "
                                                       "({current})").format(time=iso(pd.Timestamp(t)), id=pid,
                                                                            current=iso(old))))
    dup = frame["partner_id"].duplicated(keep="first")
    out += [Problem(int(r), "partner_id", _("partner_id {id} appears twice in the sheet").format(id=repr(pid)))
            for r, pid in zip(frame.index[dup], frame["partner_id"][dup], strict=True)]
    return out


def commit_sheet_import(store: Store, prepared: PreparedSheet, *, actor: Actor | None = None) -> ImportReport:
    """Write a prepared spreadsheet in one transaction (with its audit row); fill ``report.written``.

    ``actor`` needs the import permission (editor); None is the operating-system user outside the app.
    """
    report = prepared.report
    frame = prepared.frame
    audit = {"actor": actor, "source_file": report.files[0] if report.files else None,
             "source_sha256": prepared.sha256, "data_mark": (report.kind, report.marking or EXERCISE_MARKING)}
    try:
        if prepared.layer == "assessments":
            n = write_assessments(store, frame, **audit)
        elif prepared.layer == "partners":
            saved = save_partner_versions(store, frame.drop(columns=["id", "valid_to"], errors="ignore"), **audit)
            n = saved.written
            report.problems.append(Problem(None, None, _("3W entries: {new} new, {changed} changed (new version), "
                                                         "{unchanged} unchanged").format(
                new=len(saved.new), changed=len(saved.changed), unchanged=len(saved.unchanged)), "info"))
        else:
            n = write_evacuations(store, frame.drop(columns=["version", "updated_by", "updated_at"], errors="ignore"),
                                  **audit)
    except StoreError as exc:
        raise ValidationError(_("{layer}: nothing written: {error}").format(layer=prepared.layer, error=exc),
                              [Problem(None, None, str(exc))]) from exc
    report.written = {prepared.layer: n}
    report.committed = True
    return report


def import_sheet(store: Store, layer: str, path: str | os.PathLike, *, dry_run: bool = False,
                 actor: Actor | None = None, **options: Any) -> ImportReport:
    """Validate and import a spreadsheet (see :func:`prepare_sheet_import`); ``dry_run`` writes nothing.

    Raises
    ------
    ValidationError
        Anything wrong in the file; nothing is written.
    """
    prepared = prepare_sheet_import(store, layer, path, **options)
    if dry_run:
        prepared.report.dry_run = True
        prepared.report.written = {layer: len(prepared.frame)}
        return prepared.report
    return commit_sheet_import(store, prepared, actor=actor)
