"""Import orchestration: read -> map -> validate -> (check against the store) -> write atomically.

Two steps so that the page can show the report and a preview before committing:
:func:`prepare_import` (reads and validates, writes nothing) and :func:`commit_import` (one
transaction). :func:`import_file` does both, as the CLI does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.auth import Actor
from cimic_geo.errors import Problem, StoreError, ValidationError
from cimic_geo.geo import geodesic_area_km2, geodesic_length_km
from cimic_geo.ingest.front_snapshots import derive_front_line, occupied_geometry, snapshot_time
from cimic_geo.ingest.options import check_value_maps
from cimic_geo.ingest.readers import SourceData, read_source
from cimic_geo.ingest.sheets import SHEET_LAYERS
from cimic_geo.ingest.validate import DEFAULT_EXTENT, Options, Provenance, Validated, validate_source
from cimic_geo.schema import get_layer
from cimic_geo.store import Store
from cimic_geo.store.audit import sha256_file
from cimic_geo.store.imports import LayerWrite, apply_import, existing_ids, history_count
from cimic_geo.timefmt import iso

Mode = Literal["append", "upsert", "replace"]
MODES: tuple[str, ...] = ("append", "upsert", "replace")

#: Environment variable read only by the crash test: seconds to sleep inside the import
#: transaction, after all rows are written and before COMMIT (announced on stderr).
TEST_PAUSE_ENV = "CIMIC_IMPORT_TEST_PAUSE_S"


@dataclass
class ImportReport:
    """What an import found and did (JSON-ready with :meth:`to_dict`)."""

    layer: str
    mode: str
    files: list[str]
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    written: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    only_valid: bool = False
    #: SHA-256 of each file read (for the audit trail), in file order
    sha256: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def can_commit(self) -> bool:
        """True when committing would write something and the errors (if any) are allowed."""
        if self.rows_valid == 0:
            return False  # also the case after a whole-file error (every record rejected)
        return not self.errors or self.only_valid

    @property
    def ok(self) -> bool:
        """Success: no errors, or only rejected rows when writing only valid rows was asked for."""
        return self.can_commit and (self.committed or self.dry_run)

    def problem_rows(self) -> list[dict[str, Any]]:
        return [{"row": p.row, "field": p.field, "severity": p.severity, "message": p.message}
                for p in self.problems]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "layer": self.layer, "mode": self.mode, "files": self.files,
            "rows_read": self.rows_read, "rows_valid": self.rows_valid, "rows_rejected": self.rows_rejected,
            "written": self.written, "committed": self.committed, "dry_run": self.dry_run,
            "only_valid": self.only_valid, "mapping": self.mapping, "snapshots": self.snapshots,
            "errors": len(self.errors), "warnings": len(self.warnings), "problems": self.problem_rows(),
        }

    def summary_lines(self, *, max_problems: int = 50) -> list[str]:
        verb = "would write" if self.dry_run else ("wrote" if self.committed else "wrote nothing;")
        written = ", ".join(f"{n} {k}" for k, n in self.written.items()) or "0 rows"
        lines = [
            f"import {self.layer} ({self.mode}) from {', '.join(self.files)}",
            f"  records read {self.rows_read}, valid {self.rows_valid}, rejected {self.rows_rejected}; "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)",
        ]
        if self.committed or (self.dry_run and self.can_commit):
            lines.append(f"  {verb} {written}")
        elif self.dry_run:
            lines.append("  nothing would be written (fix the errors, or write only the valid rows)")
        else:
            lines.append("  nothing written (fix the errors, or write only the valid rows)")
        for s in self.snapshots:
            lines.append(f"  snapshot {s['valid_from']} ({s['date_from']}): occupied {s['area_km2']:.0f} km², "
                         f"front line {s['front_km']:.0f} km")
        lines += [f"  {p}" for p in self.problems[:max_problems]]
        if len(self.problems) > max_problems:
            lines.append(f"  ... and {len(self.problems) - max_problems} more")
        return lines


@dataclass
class PreparedImport:
    """A validated import, ready to commit. ``preview`` holds every record with ``_row``/``_status``."""

    report: ImportReport
    writes: list[LayerWrite]
    preview: gpd.GeoDataFrame
    validated: Validated | None = None


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValidationError(f"unknown mode '{mode}'", [Problem(None, "mode", f"expected one of {', '.join(MODES)}")])


def _preview(validated: Validated) -> gpd.GeoDataFrame:
    frame = validated.frame.copy()
    frame.insert(0, "_row", frame.index.astype(int))
    frame.insert(1, "_status", ["error" if r in validated.bad_rows else "ok" for r in frame.index])
    return frame.reset_index(drop=True)


def _to_write(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _source(path: str | os.PathLike | SourceData, *, name: str | None, source_layer: str | None,
            csv_columns: Mapping[str, str | None] | None = None) -> SourceData:
    if isinstance(path, SourceData):
        return path
    return read_source(path, name=name, layer=source_layer, **dict(csv_columns or {}))


def prepare_import(
    layer: str,
    path: str | os.PathLike | SourceData | Sequence[str | os.PathLike],
    *,
    store: Store | None = None,
    mode: Mode = "append",
    mapping: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    value_maps: Mapping[str, Mapping[str, str]] | None = None,
    source: str | None = None,
    reported_at: datetime | str | None = None,
    reliability: str | None = None,
    valid_from: datetime | str | None = None,
    border: BaseGeometry | None = None,
    border_tolerance_km: float = 2.0,
    extent: tuple[float, float, float, float] | None = DEFAULT_EXTENT,
    only_valid: bool = False,
    name: str | None = None,
    source_layer: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
    wkt_column: str | None = None,
) -> PreparedImport:
    """Read and validate a file (or, for history layers, several snapshot files); write nothing.

    Parameters
    ----------
    layer : target layer (:data:`cimic_geo.schema.LAYERS`)
    path : the file; for ``occupied_area``/``front_line`` one or several snapshot files
    store : when given, ids are checked against it (``append`` rejects existing ids)
    mode : ``append`` (new rows), ``upsert`` (replace rows with the same ids) or ``replace`` (the
        layer becomes exactly the file; history layers: the span of the file's dates is replaced)
    mapping : ``{layer field: source column}``; default :func:`~cimic_geo.ingest.mapping.auto_mapping`
    defaults : values for fields the file lacks or leaves empty (e.g. ``{"status": "open"}``)
    value_maps : per field, source label -> schema value (e.g. ``{"status": {"successful": "closed"}}``)
    source, reported_at, reliability : provenance for rows without their own (default: file name,
        now, ``F6``)
    valid_from : snapshot time for a single history file (else from a property or the file name)
    border : state territory polygon used to derive the front line (see
        :func:`~cimic_geo.ingest.front_snapshots.derive_front_line`); None keeps the whole boundary
    extent : plausible extent (minlon, minlat, maxlon, maxlat); None disables the check
    only_valid : write the valid rows and report the rejects instead of refusing the file
    name : file name for messages (uploads are saved under temporary names)
    source_layer : layer of a multi-layer file
    lat_column, lon_column, wkt_column : CSV geometry columns when their names are not recognised
    """
    _check_mode(mode)
    spec = get_layer(layer)
    if spec.name in SHEET_LAYERS:  # their own checks, history and versions: the spreadsheet import
        raise ValidationError(
            f"{spec.name} are imported from their spreadsheet template, not as a geo file",
            [Problem(None, "layer", f"use `python -m cimic_geo import {spec.name} FILE.xlsx` (or .csv), or the "
                     "template and import panel of its page (Evacuations, Civil assessments, Partners)")])
    check_value_maps(value_maps)
    opts = Options(mapping=mapping, defaults=dict(defaults or {}), value_maps=dict(value_maps or {}),
                   provenance=Provenance(source=source, reported_at=reported_at, reliability=reliability),
                   extent=extent)
    if spec.history:
        paths = list(path) if isinstance(path, (list, tuple)) else [path]
        return _prepare_history(spec.name, paths, store=store, mode=mode, opts=opts, valid_from=valid_from,
                                border=border, border_tolerance_km=border_tolerance_km, only_valid=only_valid,
                                name=name, source_layer=source_layer)
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            raise ValidationError(f"layer {spec.name} takes one file",
                                  [Problem(None, None, f"{len(path)} files given; import them one by one")])
        path = path[0]
    src = _source(path, name=name, source_layer=source_layer,
                  csv_columns={"lat_column": lat_column, "lon_column": lon_column, "wkt_column": wkt_column})
    validated = validate_source(spec.name, src, opts)
    report = ImportReport(layer=spec.name, mode=mode, files=[src.name], rows_read=len(src.frame),
                          mapping=dict(validated.mapping), only_valid=only_valid, sha256=_hashes([path]))
    problems = list(validated.problems)
    valid = validated.valid
    if store is not None and len(valid) and mode != "replace":
        ids = valid["id"].astype(str).tolist()
        present = existing_ids(store, spec.name, ids)
        if present and mode == "append":
            for r, i in zip(valid.index, ids, strict=False):
                if i in present:
                    problems.append(Problem(int(r), "id", f"id {i!r} already exists in the store (use mode upsert "
                                            "to update it)"))
                    validated.bad_rows.add(int(r))
        elif present:
            problems.append(Problem(None, "id", f"{len(present)} existing row(s) will be replaced (upsert)", "info"))
    if store is not None and mode == "replace":
        n_old = store.counts().get(spec.name, 0)
        problems.append(Problem(None, None, f"replace: the {n_old} row(s) now in {spec.name} will be removed",
                                "info"))
    valid = validated.valid
    frame = valid.copy()
    if spec.name == "corridors" and len(frame):
        frame = _corridor_bookkeeping(frame, store, opts)
    if spec.name == "roads" and len(frame):
        from cimic_geo.analytics.roadgraph import connectivity_note
        note = connectivity_note(frame)
        if note:
            problems.append(Problem(None, "geometry", note, "warning"))
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    report.problems = problems
    report.rows_rejected = len(validated.bad_rows)
    report.rows_valid = report.rows_read - report.rows_rejected
    writes = [LayerWrite(spec.name, _to_write(frame), mode=mode)]
    return PreparedImport(report=report, writes=writes, preview=_preview(validated), validated=validated)


def _corridor_bookkeeping(frame: gpd.GeoDataFrame, store: Store | None, opts: Options) -> gpd.GeoDataFrame:
    """Version 1 for new corridors, existing version + 1 for updated ones; who and when."""
    frame = frame.copy()
    versions: dict[str, int] = {}
    if store is not None:
        old = store.read("corridors", columns=["version"], where={"id": frame["id"].astype(str).tolist()})
        versions = {str(i): int(v or 0) for i, v in zip(old["id"], old["version"], strict=False)}
    frame["version"] = [versions.get(str(i), 0) + 1 for i in frame["id"]]
    frame["updated_by"] = f"import:{opts.provenance.source or 'file'}"
    frame["updated_at"] = pd.Timestamp(datetime.now(UTC))
    return frame


def _stamp(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y%m%dT%H%M%SZ")


def _prepare_history(
    layer: str, paths: list, *, store: Store | None, mode: str, opts: Options, valid_from: Any,
    border: BaseGeometry | None, border_tolerance_km: float, only_valid: bool, name: str | None,
    source_layer: str | None,
) -> PreparedImport:
    if valid_from is not None and len(paths) > 1:
        raise ValidationError("--valid-from applies to one file",
                              [Problem(None, "valid_from", f"{len(paths)} files given; the date of each is taken "
                                       "from a property or its file name")])
    problems: list[Problem] = []
    occ_rows: list[dict[str, Any]] = []
    fl_rows: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    names: list[str] = []
    seen: dict[pd.Timestamp, str] = {}
    previews: list[gpd.GeoDataFrame] = []
    rows_read = 0
    bad_files = 0
    if layer == "occupied_area" and border is None:
        problems.append(Problem(None, "front_line", "no state border given: the derived front line is the whole "
                                "boundary of the occupied area (including state border and coast); give a border "
                                "file to remove those parts", "warning"))
    for k, p in enumerate(paths, start=1):
        try:
            src = _source(p, name=name if len(paths) == 1 else None, source_layer=source_layer)
        except ValidationError as exc:
            for q in exc.problems:
                problems.append(Problem(q.row, q.field, f"{Path(str(p)).name}: {q.message}", q.severity))
            names.append(Path(str(p)).name)
            bad_files += 1
            continue
        names.append(src.name)
        rows_read += len(src.frame)
        label = src.name
        ts, origin = snapshot_time(src.name if not isinstance(p, (str, os.PathLike)) else p,
                                   explicit=valid_from, frame=src.frame,
                                   date_column=(opts.mapping or {}).get("valid_from"))
        if ts is None:
            problems.append(Problem(None, "valid_from", f"{label}: no snapshot date (give --valid-from, a date "
                                    "property, or a file name with YYYYMMDD)"))
            bad_files += 1
            continue
        if ts in seen:
            problems.append(Problem(None, "valid_from", f"{label}: date {iso(ts)} also given by {seen[ts]}"))
            bad_files += 1
            continue
        seen[ts] = label
        if layer == "occupied_area":
            geom, probs, _ = occupied_geometry(src, extent=opts.extent)
        else:
            geom, probs = _front_lines(src, extent=opts.extent)
        problems += [Problem(q.row, q.field, f"{label}: {q.message}", q.severity) for q in probs]
        if geom is None or geom.is_empty:
            problems.append(Problem(None, "geometry", f"{label}: no {'occupied area' if layer == 'occupied_area' else 'front line'} "
                                    "found in the file"))
            bad_files += 1
            continue
        one = SourceData(frame=gpd.GeoDataFrame({"_k": [k]}, geometry=[geom], crs="EPSG:4326"), name=label)
        vopts = Options(mapping={}, defaults={"id": f"{'occupied' if layer == 'occupied_area' else 'front'}-"
                                               f"{_stamp(ts)}", "valid_from": ts.isoformat()},
                        provenance=Provenance(source=opts.provenance.source or label,
                                              reported_at=opts.provenance.reported_at or ts,
                                              reliability=opts.provenance.reliability),
                        extent=opts.extent)
        v = validate_source(layer, one, vopts)
        problems += [Problem(None, q.field, f"{label}: {q.message}", q.severity)
                     for q in v.problems if not (q.field == "reliability" and q.severity == "warning")]
        if v.bad_rows:
            bad_files += 1
            continue
        row = v.frame.iloc[0].to_dict()
        front_km = 0.0
        area = 0.0
        if layer == "occupied_area":
            occ_rows.append(row)
            area = geodesic_area_km2(row["geometry"])
            line = derive_front_line(row["geometry"], border=border, tolerance_km=border_tolerance_km)
            if line.is_empty:
                problems.append(Problem(None, "front_line", f"{label}: the occupied area has no boundary away from "
                                        "the border; no front line for this date", "warning"))
            else:
                fl = dict(row, id=f"front-{_stamp(ts)}", geometry=line)
                fl_rows.append(fl)
                front_km = geodesic_length_km(line)
        else:
            fl_rows.append(row)
            front_km = geodesic_length_km(row["geometry"])
        snapshots.append({"valid_from": iso(ts), "date_from": origin, "file": label, "area_km2": area,
                          "front_km": front_km})
        previews.append(gpd.GeoDataFrame({"_row": [k], "_status": ["ok"], "valid_from": [ts], "file": [label]},
                                         geometry=[row["geometry"]], crs="EPSG:4326"))
        if layer == "occupied_area" and front_km > 0:
            previews.append(gpd.GeoDataFrame({"_row": [k], "_status": ["derived"], "valid_from": [ts],
                                              "file": [label]}, geometry=[fl_rows[-1]["geometry"]],
                                             crs="EPSG:4326"))
    if opts.provenance.reliability is None and (occ_rows or fl_rows):
        problems.append(Problem(None, "reliability", "no reliability given; snapshots set to F6 (cannot be "
                                "judged)", "warning"))
    good_times = sorted(pd.Timestamp(r["valid_from"]) for r in (occ_rows or fl_rows))
    snapshots.sort(key=lambda s: s["valid_from"])
    report = ImportReport(layer=layer, mode=mode, files=names, rows_read=rows_read, snapshots=snapshots,
                          only_valid=only_valid, mapping={}, sha256=_hashes(paths))
    report.rows_valid = len(good_times)
    report.rows_rejected = len(paths) - len(good_times)
    if store is not None and good_times:
        n_old = history_count(store, layer, good_times)
        if n_old:
            problems.append(Problem(None, "valid_from", f"{n_old} row(s) of {layer} with the same date(s) will be "
                                    "replaced", "info"))
    if bad_files and not only_valid:
        # a file-level error: make it a whole-import error so that nothing is written
        problems.append(Problem(None, None, f"{bad_files} of {len(paths)} snapshot file(s) rejected"))
    report.problems = problems
    writes: list[LayerWrite] = []
    span = (good_times[0], good_times[-1]) if good_times else None
    use_range = mode == "replace" and span is not None
    if occ_rows or layer == "occupied_area":
        occ = _history_frame(occ_rows)
        if layer == "occupied_area":
            writes.append(LayerWrite("occupied_area", occ, mode="append", delete_times=[] if use_range else good_times,
                                     delete_range=span if use_range else None))
    fl = _history_frame(fl_rows)
    writes.append(LayerWrite("front_line", fl, mode="append", delete_times=[] if use_range else good_times,
                             delete_range=span if use_range else None))
    preview = (gpd.GeoDataFrame(pd.concat(previews, ignore_index=True), geometry="geometry", crs="EPSG:4326")
               if previews else gpd.GeoDataFrame({"_row": [], "_status": []}, geometry=[], crs="EPSG:4326"))
    return PreparedImport(report=report, writes=writes, preview=preview)


def _history_frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    df = pd.DataFrame(rows)
    geoms = df.pop("geometry").tolist()
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def _front_lines(src: SourceData, *, extent: tuple[float, float, float, float] | None
                 ) -> tuple[BaseGeometry | None, list[Problem]]:
    """A front-line snapshot file: its line features merged into one (Multi)LineString."""
    problems: list[Problem] = []
    lines = []
    skipped = 0
    for i, g in enumerate(src.frame.geometry.tolist(), start=1):
        if g is None or g.is_empty:
            continue
        parts = [p for p in shapely.get_parts(g).tolist() if p.geom_type in ("LineString", "MultiLineString")]
        if not parts:
            skipped += 1
            continue
        for p in parts:
            b = p.bounds
            if extent is not None and (b[0] < extent[0] or b[1] < extent[1] or b[2] > extent[2] or b[3] > extent[3]):
                problems.append(Problem(i, "geometry", "line outside the plausible extent; skipped", "warning"))
                continue
            lines += shapely.get_parts(p).tolist()
    if skipped:
        problems.append(Problem(None, "geometry", f"skipped {skipped} feature(s) that are not lines", "warning"))
    if not lines:
        return None, problems
    return shapely.line_merge(shapely.MultiLineString(lines)), problems


def _test_pause() -> None:
    value = os.environ.get(TEST_PAUSE_ENV)
    if not value:
        return
    print("import: all rows written, transaction open", file=sys.stderr, flush=True)
    time.sleep(float(value))


def _hashes(paths: Sequence[Any]) -> list[str]:
    return [h for h in (sha256_file(p) for p in paths if not isinstance(p, SourceData)) if h]


def commit_import(store: Store, prepared: PreparedImport, *, actor: Actor | None = None) -> ImportReport:
    """Write a prepared import in one transaction (nothing when it has errors and ``only_valid`` is off).

    ``actor`` must have the role editor or higher; the import is audited (files and their SHA-256)
    in the same transaction.

    Raises
    ------
    ValidationError
        When the import has errors that forbid writing (the report is attached as problems).
    PermissionDeniedError
        When the actor may not import; nothing is written (a ``refused`` audit row).
    """
    report = prepared.report
    if not report.can_commit:
        raise ValidationError(
            f"{report.layer}: nothing written: {len(report.errors)} error(s) in {', '.join(report.files)}"
            if report.errors else f"{report.layer}: nothing to write", report.problems)
    try:
        written = apply_import(store, prepared.writes, user=f"import:{','.join(report.files)}"[:200],
                               before_commit=_test_pause, actor=actor, source_file=", ".join(report.files),
                               source_sha256=", ".join(report.sha256) or None)
    except StoreError as exc:
        raise ValidationError(f"{report.layer}: nothing written: {exc}",
                              [*report.problems, Problem(None, None, str(exc))]) from exc
    report.written = written
    report.committed = True
    return report


def import_file(
    store: Store,
    layer: str,
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    mode: Mode = "append",
    dry_run: bool = False,
    actor: Actor | None = None,
    only_valid: bool = False,
    **options: Any,
) -> ImportReport:
    """Validate and import a file into ``layer`` (see :func:`prepare_import` for the options).

    Returns the report; when the file has errors nothing is written and ``report.ok`` is False
    (with ``only_valid``, the valid rows are written and the rejects reported). ``dry_run``
    validates and reports what would be written without writing.
    """
    prepared = prepare_import(layer, path, store=store, mode=mode, only_valid=only_valid, **options)
    report = prepared.report
    if dry_run:
        report.dry_run = True
        report.written = {w.layer: len(w.frame) for w in prepared.writes} if report.can_commit else {}
        return report
    if not report.can_commit:
        return report
    return commit_import(store, prepared, actor=actor)
