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
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from cimic_geo.auth import Actor
from cimic_geo.config import EXERCISE_MARKING, is_exercise_marking, markings
from cimic_geo.errors import CimicError, Problem, StoreError, ValidationError
from cimic_geo.i18n import N_, _
from cimic_geo.ingest.history_import import prepare_history
from cimic_geo.ingest.import_report import (
    ImportReport,
    Mode,
    PreparedImport,
    check_mode,
    file_hashes,
    open_source,
    preview_frame,
    to_write,
)
from cimic_geo.ingest.mapping import fill_names
from cimic_geo.ingest.options import check_value_maps
from cimic_geo.ingest.readers import SourceData
from cimic_geo.ingest.sheets import SHEET_LAYERS
from cimic_geo.ingest.validate import Options, Provenance, validate_source
from cimic_geo.schema import get_layer
from cimic_geo.store import Store
from cimic_geo.store.imports import LayerWrite, apply_import, existing_ids
from cimic_geo.store.settings import EXERCISE, REAL, get_territory, holdings
from cimic_geo.timefmt import to_utc

#: ``extent`` value asking for :func:`plausible_extent` of the store.
AUTO_EXTENT = "auto"
#: Any valid longitude/latitude (the extent of a first import into an empty store).
ANY_LONLAT = (-180.0, -90.0, 180.0, 90.0)
#: Degrees added on every side of the store's data to make the plausible extent of an import.
EXTENT_MARGIN_DEG = 2.0

#: Pages holding the spreadsheet template and import panel (their titles, translated where shown).
_SHEET_PAGES = (N_("Evacuations"), N_("Civil assessments"), N_("Partners"))

#: Environment variable read only by the crash test: seconds to sleep inside the import
#: transaction, after all rows are written and before COMMIT (announced on stderr).
TEST_PAUSE_ENV = "CIMIC_IMPORT_TEST_PAUSE_S"


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
    extent: tuple[float, float, float, float] | str | None = AUTO_EXTENT,
    only_valid: bool = False,
    name: str | None = None,
    source_layer: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
    wkt_column: str | None = None,
    allow_outline_front: bool = False,
    exercise: bool = False,
    marking: str | None = None,
    allow_mixed: bool = False,
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
    valid_from : snapshot time for a single history file (else from a property or the file name); for
        shelters, infrastructure and settlements, when the imported versions take effect (default: each
        row's report time), e.g. the date a first import has been in place since
    border : state territory polygon used to derive the front line (see
        :func:`~cimic_geo.ingest.front_snapshots.derive_front_line`); None keeps the whole boundary
    extent : plausible extent (minlon, minlat, maxlon, maxlat); None disables the check; ``"auto"``
        (default): :func:`plausible_extent` of the store
    only_valid : write the valid rows and report the rejects instead of refusing the file
    name : file name for messages (uploads are saved under temporary names)
    source_layer : layer of a multi-layer file
    lat_column, lon_column, wkt_column : CSV geometry columns when their names are not recognised
    allow_outline_front : occupied areas without a state territory (``border`` or the store's
        setting): derive the front from the whole outline, coasts and borders included (else refused)
    exercise : the file holds exercise data (default: real data)
    marking : handling marking of the data, one of :func:`cimic_geo.config.markings` (default: the
        store's marking of real data, else the first marking for real data in the list)
    allow_mixed : the operator confirmed importing real data into a store holding exercise data
        (or exercise data into one holding real data); else that is refused
    """
    check_mode(mode)
    spec = get_layer(layer)
    if spec.name in SHEET_LAYERS:  # their own checks, history and versions: the spreadsheet import
        raise ValidationError(
            _("{layer} are imported from their spreadsheet template, not as a geo file").format(layer=spec.name),
            [Problem(None, "layer", _("use `{command}` (or .csv), or the template and import panel of its page "
                                      "({pages})").format(command=f"python -m cimic_geo import {spec.name} FILE.xlsx",
                                                          pages=", ".join(_(p) for p in _SHEET_PAGES)))])
    check_value_maps(value_maps)
    if isinstance(extent, str):
        extent = plausible_extent(store)
    opts = Options(mapping=mapping, defaults=dict(defaults or {}), value_maps=dict(value_maps or {}),
                   provenance=Provenance(source=source, reported_at=reported_at, reliability=reliability),
                   extent=extent)
    kind, chosen_marking, mark_problems = data_marking(store, exercise=exercise, marking=marking,
                                                       allow_mixed=allow_mixed)
    if spec.history:
        paths = list(path) if isinstance(path, (list, tuple)) else [path]
        territory_name = None
        if border is None and store is not None and spec.name == "occupied_area":
            kept = get_territory(store)
            if kept is not None:
                border, territory_name = kept.geometry, kept.name
        prepared = prepare_history(spec.name, paths, store=store, mode=mode, opts=opts, valid_from=valid_from,
                                   border=border, border_tolerance_km=border_tolerance_km, only_valid=only_valid,
                                   name=name, source_layer=source_layer, allow_outline_front=allow_outline_front,
                                   territory_name=territory_name)
        return _marked(prepared, kind, chosen_marking, mark_problems)
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            raise ValidationError(_("layer {layer} takes one file").format(layer=spec.name),
                                  [Problem(None, None, _("{n} files given; import them one by one").format(
                                      n=len(path)))])
        path = path[0]
    src = open_source(path, name=name, source_layer=source_layer,
                  csv_columns={"lat_column": lat_column, "lon_column": lon_column, "wkt_column": wkt_column})
    validated = validate_source(spec.name, src, opts)
    report = ImportReport(layer=spec.name, mode=mode, files=[src.name], rows_read=len(src.frame),
                          mapping=dict(validated.mapping), only_valid=only_valid, sha256=file_hashes([path]))
    problems = list(validated.problems)
    valid = validated.valid
    if store is not None and len(valid) and mode != "replace":
        ids = valid["id"].astype(str).tolist()
        present = existing_ids(store, spec.name, ids)
        if present and mode == "append":
            for r, i in zip(valid.index, ids, strict=False):
                if i in present:
                    problems.append(Problem(int(r), "id", _("id {id} already exists in the store (use mode upsert "
                                                            "to update it)").format(id=repr(i))))
                    validated.bad_rows.add(int(r))
        elif present:
            problems.append(Problem(None, "id", _("{n} existing row(s) will be replaced (upsert)").format(
                n=len(present)), "info"))
    if store is not None and mode == "replace":
        n_old = store.counts().get(spec.name, 0)
        problems.append(Problem(None, None, _("replace: the {n} row(s) now in {layer} will be removed").format(
            n=n_old, layer=spec.name), "info"))
    valid = validated.valid
    # names given only in Ukrainian: name_uk, and name transliterated
    frame = fill_names(valid) if "name_uk" in {c.name for c in spec.all_columns} else valid.copy()
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
    writes = [LayerWrite(spec.name, to_write(frame), mode=mode, valid_from=_version_start(valid_from))]
    return _marked(PreparedImport(report=report, writes=writes, preview=preview_frame(validated),
                                  validated=validated), kind, chosen_marking, mark_problems)


def plausible_extent(store: Store | None) -> tuple[float, float, float, float]:
    """Where imported coordinates may plausibly lie: the setting ``CIMIC_IMPORT_EXTENT``, else the store's
    kept setting, else the extent of the store's data grown by :data:`EXTENT_MARGIN_DEG` on every side,
    else (an empty store, or no store) any valid lon/lat.

    The margin is in degrees because the check is a screen for swapped or mistyped coordinates, not a
    distance.
    """
    from cimic_geo.config import import_extent
    from cimic_geo.store.extent_reads import data_extent, get_import_extent

    box = import_extent() or (get_import_extent(store) if store is not None else None)
    if box is not None:
        return box
    data = data_extent(store) if store is not None else None
    if data is None:
        return ANY_LONLAT
    m = EXTENT_MARGIN_DEG
    return (max(-180.0, data[0] - m), max(-90.0, data[1] - m), min(180.0, data[2] + m), min(90.0, data[3] + m))


def _version_start(valid_from: datetime | str | None) -> pd.Timestamp | None:
    """The time imported versions take effect (None: each row's report time)."""
    if valid_from is None or (isinstance(valid_from, str) and not valid_from.strip()):
        return None
    try:
        return to_utc(valid_from)
    except CimicError as exc:
        raise ValidationError(_("valid from: not a time"), [Problem(None, "valid_from", str(exc))]) from None


def data_marking(store: Store | None, *, exercise: bool, marking: str | None, allow_mixed: bool
                 ) -> tuple[str, str, list[Problem]]:
    """The kind (``exercise``/``real``) and marking of an import, and the problems of putting it in ``store``.

    A marking outside the configured list is an error; real data into a store holding exercise
    data (or the reverse) is an error unless ``allow_mixed`` (then a warning).
    """
    allowed = markings()
    problems: list[Problem] = []
    if marking is not None and str(marking).strip().upper() not in allowed:
        problems.append(Problem(None, "marking", _("marking {marking} is not one of the configured markings: "
                                                   "{allowed}").format(marking=repr(marking), allowed=", ".join(allowed))))
        marking = None
    if exercise or is_exercise_marking(marking):
        kind, chosen = EXERCISE, EXERCISE_MARKING
    else:
        held = holdings(store) if store is not None else None
        kind = REAL
        chosen = (str(marking).strip().upper() if marking else None) or (held.real_marking if held else None) or \
            next(m for m in allowed if not is_exercise_marking(m))
    held = holdings(store) if store is not None else None
    if held is not None and ((kind == REAL and held.exercise) or (kind == EXERCISE and held.real)):
        text = (_("this store holds EXERCISE data; importing real data mixes the two (banners, analytics and "
                  "exports then cover both)") if kind == REAL else
                _("this store holds real data; importing exercise data mixes the two (banners, analytics and "
                  "exports then cover both)"))
        if allow_mixed:
            problems.append(Problem(None, "marking", _("{problem} (confirmed by the operator)").format(problem=text),
                                    "warning"))
        else:
            problems.append(Problem(None, "marking", (
                _("{problem}. Confirm mixing, mark the file as exercise data if it is, or import into a new store "
                  "(`{command}`)") if kind == REAL else
                _("{problem}. Confirm mixing, mark the file as real data if it is, or import into a new store "
                  "(`{command}`)")).format(problem=text, command="python -m cimic_geo init --db NEW.duckdb")))
    return kind, chosen, problems


def _marked(prepared: PreparedImport, kind: str, marking: str, problems: list[Problem]) -> PreparedImport:
    report = prepared.report
    report.kind, report.marking = kind, marking
    report.problems = [*problems, *report.problems]
    return prepared


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


def _test_pause() -> None:
    value = os.environ.get(TEST_PAUSE_ENV)
    if not value:
        return
    print("import: all rows written, transaction open", file=sys.stderr, flush=True)
    time.sleep(float(value))


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
            _("{layer}: nothing written: {n} error(s) in {files}").format(
                layer=report.layer, n=len(report.errors), files=", ".join(report.files))
            if report.errors else _("{layer}: nothing to write").format(layer=report.layer), report.problems)
    try:
        written = apply_import(store, prepared.writes, user=f"import:{','.join(report.files)}"[:200],
                               before_commit=_test_pause, actor=actor, source_file=", ".join(report.files),
                               source_sha256=", ".join(report.sha256) or None,
                               data_mark=(report.kind, report.marking or EXERCISE_MARKING))
    except StoreError as exc:
        raise ValidationError(_("{layer}: nothing written: {error}").format(layer=report.layer, error=exc),
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
