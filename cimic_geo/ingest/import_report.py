"""What an import found and will write: the report, the prepared writes and the small helpers that
both the single-file and the snapshot-history imports use."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import _
from cimic_geo.ingest.readers import SourceData, read_source
from cimic_geo.ingest.validate import Validated
from cimic_geo.store.audit import sha256_file
from cimic_geo.store.imports import LayerWrite

Mode = Literal["append", "upsert", "replace"]
MODES: tuple[str, ...] = ("append", "upsert", "replace")
#: Fields whose errors refuse the whole import, even when writing only the valid rows is asked for.
WHOLE_IMPORT_FIELDS = frozenset({"marking", "front_line"})


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
    #: ``exercise`` or ``real`` data, and its handling marking (from the configured list)
    kind: str = "real"
    marking: str | None = None

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
        if any(p.field in WHOLE_IMPORT_FIELDS for p in self.errors):
            return False  # a refusal of the whole import (mixing data kinds, a front from an outline alone)
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
            "kind": self.kind, "marking": self.marking,
            "errors": len(self.errors), "warnings": len(self.warnings), "problems": self.problem_rows(),
        }

    def summary_lines(self, *, max_problems: int = 50) -> list[str]:
        written = ", ".join(f"{n} {k}" for k, n in self.written.items()) or _("0 rows")
        lines = [
            _("import {layer} ({mode}) from {files}").format(layer=self.layer, mode=self.mode,
                                                            files=", ".join(self.files)),
            _("  records read {read}, valid {valid}, rejected {rejected}; {errors} error(s), {warnings} warning(s)")
            .format(read=self.rows_read, valid=self.rows_valid, rejected=self.rows_rejected,
                    errors=len(self.errors), warnings=len(self.warnings)),
        ]
        if self.committed or (self.dry_run and self.can_commit):
            lines.append((_("  would write {written}") if self.dry_run else _("  wrote {written}"))
                         .format(written=written))
        elif self.dry_run:
            lines.append(_("  nothing would be written (fix the errors, or write only the valid rows)"))
        else:
            lines.append(_("  nothing written (fix the errors, or write only the valid rows)"))
        lines.append(_("  {kind} data, marked {marking}").format(kind=_(self.kind), marking=self.marking or "-"))
        for s in self.snapshots:
            outline = _(" (outline {km} km)").format(km=f"{s['boundary_km']:.0f}") \
                if s.get("boundary_km", s["front_km"]) != s["front_km"] else ""
            origin = str(s["date_from"])  # marked where it is found ("file name", "property"); shown translated
            lines.append(_("  snapshot {valid_from} ({date_from}): occupied {area} km², front line {front} km{outline}")
                         .format(valid_from=s["valid_from"], date_from=_(origin), area=f"{s['area_km2']:.0f}",
                                 front=f"{s['front_km']:.0f}", outline=outline))
        lines += [f"  {p}" for p in self.problems[:max_problems]]
        if len(self.problems) > max_problems:
            lines.append(_("  ... and {n} more").format(n=len(self.problems) - max_problems))
        return lines


@dataclass
class PreparedImport:
    """A validated import, ready to commit. ``preview`` holds every record with ``_row``/``_status``."""

    report: ImportReport
    writes: list[LayerWrite]
    preview: gpd.GeoDataFrame
    validated: Validated | None = None


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValidationError(_("unknown mode '{mode}'").format(mode=mode),
                              [Problem(None, "mode", _("expected one of {choices}").format(choices=", ".join(MODES)))])


def preview_frame(validated: Validated) -> gpd.GeoDataFrame:
    frame = validated.frame.copy()
    frame.insert(0, "_row", frame.index.astype(int))
    frame.insert(1, "_status", ["error" if r in validated.bad_rows else "ok" for r in frame.index])
    return frame.reset_index(drop=True)


def to_write(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def open_source(path: str | os.PathLike | SourceData, *, name: str | None, source_layer: str | None,
            csv_columns: Mapping[str, str | None] | None = None) -> SourceData:
    if isinstance(path, SourceData):
        return path
    return read_source(path, name=name, layer=source_layer, **dict(csv_columns or {}))


def file_hashes(paths: Sequence[Any]) -> list[str]:
    """SHA-256 of each import file (for the report and the audit trail); uploads in memory have none."""
    return [h for h in (sha256_file(p) for p in paths if not isinstance(p, SourceData)) if h]
