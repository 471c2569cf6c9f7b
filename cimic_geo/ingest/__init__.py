"""Import of real-world layers: readers, column mapping, validation, provenance, front-line history.

Typical use::

    from cimic_geo.ingest import import_file
    report = import_file(store, "shelters", "shelters.csv", mode="upsert", reliability="B2")
    if not report.ok:
        print("\\n".join(report.summary_lines()))

Nothing is written unless the whole file validates (or ``only_valid=True``); writes are one
transaction. See ``docs/ARCHITECTURE.md`` (## Import).
"""

from cimic_geo.ingest.front_snapshots import (
    border_from_frame,
    classify_label,
    derive_front_line,
    occupied_geometry,
    snapshot_time,
)
from cimic_geo.ingest.import_report import MODES, ImportReport, PreparedImport
from cimic_geo.ingest.importer import commit_import, import_file, prepare_import
from cimic_geo.ingest.mapping import auto_mapping, normalise_bool, normalise_choice
from cimic_geo.ingest.readers import FORMATS, SourceData, read_source
from cimic_geo.ingest.validate import DEFAULT_EXTENT, Validated, validate_source

__all__ = [
    "DEFAULT_EXTENT",
    "FORMATS",
    "MODES",
    "ImportReport",
    "PreparedImport",
    "SourceData",
    "Validated",
    "auto_mapping",
    "border_from_frame",
    "classify_label",
    "commit_import",
    "derive_front_line",
    "import_file",
    "normalise_bool",
    "normalise_choice",
    "occupied_geometry",
    "prepare_import",
    "read_source",
    "snapshot_time",
    "validate_source",
]
