"""``import LAYER FILE...``: validate a file and write it to a layer in one transaction.

Exit codes: 0 success (or a clean dry run), 1 validation failed (nothing written; the report
lists every problem with record and field), 2 other errors (unreadable store, bad option).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cimic_geo.cli import emit
from cimic_geo.cli._actor import cli_actor
from cimic_geo.cli._common import add_db_option, add_json_option
from cimic_geo.config import markings
from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import _
from cimic_geo.ingest import MODES, ImportReport, border_from_frame, import_file, read_source
from cimic_geo.ingest.options import parse_defaults, parse_json_object, parse_value_maps
from cimic_geo.ingest.sheets import SHEET_LAYERS
from cimic_geo.schema import LAYERS
from cimic_geo.store import connect
from cimic_geo.store.settings import set_territory


def _extent(text: str | None) -> tuple[float, float, float, float] | str | None:
    from cimic_geo.ingest.importer import AUTO_EXTENT

    if text is None:
        return AUTO_EXTENT
    if text.strip().lower() == "none":
        return None
    try:
        a, b, c, d = (float(v) for v in text.split(","))
    except ValueError:
        raise ValidationError("--extent takes minlon,minlat,maxlon,maxlat",
                              [Problem(None, "--extent", f"got {text!r}")]) from None
    return a, b, c, d


def _run(args: argparse.Namespace) -> int:
    if args.layer in SHEET_LAYERS:  # evacuations, assessments, partners: spreadsheet templates
        from cimic_geo.cli.civil_cmds import run_sheet_import

        return run_sheet_import(args)
    mapping = parse_json_object(args.mapping, field="--mapping") if args.mapping else None
    values = parse_value_maps(args.values, field="--values")
    border = None
    if args.territory:
        border = border_from_frame(read_source(args.territory).frame)
    options: dict[str, Any] = dict(
        mapping=mapping, defaults=parse_defaults(args.default, field="--default"), value_maps=values, source=args.source,
        reported_at=args.reported_at, reliability=args.reliability, valid_from=args.valid_from,
        extent=_extent(args.extent), border=border, border_tolerance_km=args.border_tolerance_km,
        source_layer=args.source_layer, lat_column=args.lat_column, lon_column=args.lon_column,
        wkt_column=args.wkt_column, allow_outline_front=args.outline_front, exercise=args.exercise,
        marking=args.marking, allow_mixed=args.allow_mixed,
    )
    files = args.files if len(args.files) > 1 else args.files[0]
    with connect(args.db, read_only=args.dry_run) as store:
        try:
            report = import_file(store, args.layer, files, mode=args.mode, dry_run=args.dry_run,
                                 only_valid=args.only_valid, actor=cli_actor(args, store), **options)
        except ValidationError as exc:  # the file could not be read at all: same report, exit 1
            report = ImportReport(layer=args.layer, mode=args.mode, files=[Path(f).name for f in args.files],
                                  problems=list(exc.problems) or [Problem(None, None, exc.message)],
                                  dry_run=args.dry_run, only_valid=args.only_valid)
        if border is not None and report.ok and not args.dry_run:  # the store's setting for later imports
            set_territory(store, border, name=Path(args.territory).name, actor=cli_actor(args, store))
    emit(args, report.to_dict(), report.summary_lines(max_problems=args.max_problems))
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help=_("validate a GeoJSON/GeoPackage/zipped Shapefile/KML/CSV file and write it to a layer"),
        description=_("Validate FILE against LAYER and write it in one transaction. Nothing is written when "
        "any record has an error (unless --only-valid). For occupied_area give one file per date (several "
        "files at once); the front line is derived from each."),
    )
    p.add_argument("layer", choices=list(LAYERS), metavar="LAYER", help=_("one of: {layers}").format(layers=", ".join(LAYERS)))
    p.add_argument("files", nargs="+", metavar="FILE", help=_("the file (several snapshot files for history layers)"))
    p.add_argument("--mode", choices=MODES, default="append",
                   help=_("append new rows (default), upsert by id, or replace the layer (history: the file's dates)"))
    p.add_argument("--source", help=_("provenance: who reported it (default: the file name)"))
    p.add_argument("--reliability", help=_("provenance: admiralty code A-F + 1-6, e.g. B2 (default F6)"))
    p.add_argument("--reported-at", dest="reported_at", help=_("provenance: report time, ISO 8601 (default: now)"))
    p.add_argument("--valid-from", dest="valid_from",
                   help=_("snapshot time of a single history file; for shelters, infrastructure and settlements, "
                          "when the imported rows take effect (default: their report time); ISO 8601"))
    p.add_argument("--mapping", help=_('JSON {layer field: source column}, e.g. \'{"name": "hromada_center"}\''))
    p.add_argument("--default", action="append", metavar="FIELD=VALUE",
                   help=_("value for a field the file lacks or leaves empty (repeatable), e.g. status=open"))
    p.add_argument("--values", help=_('JSON {field: {source label: value}}, e.g. \'{"status": {"successful": "closed"}}\''))
    p.add_argument("--territory", "--border", dest="territory", metavar="FILE",
                   help=_("state territory (polygons: a national outline or the oblasts); kept as the store's "
                   "setting and used by later imports. Coasts and state borders are never front line"))
    p.add_argument("--border-tolerance-km", dest="border_tolerance_km", type=float, default=2.0,
                   help=_("boundary within this distance of the border is not front line (default 2)"))
    p.add_argument("--outline-front", dest="outline_front", action="store_true",
                   help=_("without a state territory, derive the front from the whole outline of the occupied "
                   "area (coasts and borders included); refused otherwise"))
    p.add_argument("--exercise", action="store_true", help=_("the file holds exercise data (default: real data)"))
    p.add_argument("--marking", type=str.upper, choices=markings(),
                   help=_("handling marking of the data (default: the store's marking of real data)"))
    p.add_argument("--allow-mixed", dest="allow_mixed", action="store_true",
                   help=_("confirm importing real data into a store holding exercise data (or the reverse)"))
    p.add_argument("--extent", help=_("plausible extent minlon,minlat,maxlon,maxlat (default: setting "
                                      "CIMIC_IMPORT_EXTENT, else the store's data ±2°, any lon/lat in an empty "
                                      "store; 'none': no check)"))
    p.add_argument("--source-layer", dest="source_layer", help=_("layer of a multi-layer file (GeoPackage)"))
    p.add_argument("--lat-column", dest="lat_column", help=_("CSV: latitude column (default: detected by name)"))
    p.add_argument("--lon-column", dest="lon_column", help=_("CSV: longitude column (default: detected by name)"))
    p.add_argument("--wkt-column", dest="wkt_column", help=_("CSV: WKT geometry column (default: detected)"))
    p.add_argument("--only-valid", dest="only_valid", action="store_true",
                   help=_("write the valid rows and report the rejected ones"))
    p.add_argument("--dry-run", dest="dry_run", action="store_true", help=_("validate and report; write nothing"))
    p.add_argument("--max-problems", dest="max_problems", type=int, default=50, help=argparse.SUPPRESS)
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=_run)
