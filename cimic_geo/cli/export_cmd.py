"""``export``: briefing products from the command line, e.g. for a nightly job::

    python -m cimic_geo export --format png --out briefs/ --bbox 36,48.5,38.5,50 \\
        --layers front_line,occupied_area,shelters,corridors --title "Kharkiv oblast"

``--out`` is a file whose extension matches the format, or an existing folder in which the file
gets the dated name ``cimic_<area>_<YYYYMMDD>_<HHMM>Z.<ext>`` (time of the view). Only regular
files are created or replaced: never a device, a pipe, a folder or the store. With a folder, ``--format`` may
list several formats (``png,pdf,gpkg``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cimic_geo.cli import emit
from cimic_geo.cli._common import add_as_of_option, add_db_option, add_json_option
from cimic_geo.config import load_settings
from cimic_geo.errors import ExportError
from cimic_geo.export import (
    FORMATS,
    View,
    check_format,
    dated_name,
    load_view,
    parse_layers,
    precheck,
    write_loaded,
)
from cimic_geo.export.export_view import check_bbox
from cimic_geo.export.naming import check_target
from cimic_geo.i18n import _, fmt_int, fmt_number
from cimic_geo.schema import get_layer
from cimic_geo.store import connect


def _export(args: argparse.Namespace) -> int:
    formats = [check_format(f) for f in str(args.format).split(",") if f.strip()]
    if not formats:
        raise ExportError(f"--format is empty; expected one of: {', '.join(FORMATS)}")
    if not str(args.out).strip():
        raise ExportError("--out is empty; give a file name or an existing folder")
    out = Path(args.out).expanduser()
    to_folder = out.is_dir() or str(args.out).endswith(("/", "\\"))
    if len(formats) > 1 and not to_folder:
        raise ExportError(_("several formats need --out to be an existing folder (files get dated names)"))
    if to_folder and not out.is_dir():
        raise ExportError(_("cannot write to {path}: the folder does not exist").format(path=out))
    settings = load_settings(db=args.db)
    protect = (settings.db_path,)
    view = View(
        bbox=check_bbox(args.bbox) if args.bbox else None,
        as_of=args.as_of,
        layers=parse_layers(args.layers),
        title=args.title or _("CIMIC situation"),
        marking=args.marking or settings.marking,
        area=args.area,
        extra={"symbols": True} if args.symbols else {},
    )
    if not to_folder:
        check_target(out, fmt=formats[0], protect=protect)
    # check every target before reading anything, so a bad path fails fast
    targets: list[tuple[str, Path]] = []
    with connect(args.db, read_only=True) as store:
        loaded = load_view(store, view)
        area = args.area or loaded.meta.get("area") or loaded.meta.get("scale") or "view"
        for fmt in formats:
            target = out / dated_name(area, loaded.as_of, fmt) if to_folder else out
            check_target(target, fmt=fmt, protect=protect)
            precheck(loaded, fmt)
            targets.append((fmt, target))
        written = []
        for fmt, target in targets:
            started = time.perf_counter()
            path = write_loaded(loaded, fmt, target, store=store, bands_km=settings.bands_km)
            written.append({"format": fmt, "path": str(path), "bytes": path.stat().st_size,
                            "seconds": round(time.perf_counter() - started, 2)})
    doc = {
        "ok": True,
        "files": written,
        "as_of": loaded.as_of.isoformat() if loaded.as_of is not None else None,
        "bbox": list(loaded.bbox),
        "layers": loaded.counts(),
        "marking": loaded.marking,
    }
    lines = [_("wrote {path} ({format}, {bytes} bytes, {seconds} s)").format(
        path=w["path"], format=w["format"], bytes=fmt_int(w["bytes"]), seconds=fmt_number(w["seconds"], digits=2)) for w in written]
    lines.append(_("features: {counts}").format(counts=", ".join(
        _(get_layer(k).title or k) + " " + fmt_int(v) for k, v in loaded.counts().items())))
    emit(args, doc, lines)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help=_("briefing exports: png, pdf, html, geojson, gpkg, kml, csv, cot (TAK XML), cotzip (TAK data package)"),
        description=_("Briefing products from the command line, e.g. for a nightly job. --out is a file whose "
                      "extension matches the format, or an existing folder in which the file gets the dated name "
                      "cimic_<area>_<YYYYMMDD>_<HHMM>Z.<ext> (time of the view); with a folder, --format may list "
                      "several formats (png,pdf,gpkg). Only regular files are created or replaced: never a device, "
                      "a pipe, a folder or the store. Example: python -m cimic_geo export --format png --out briefs/ "
                      "--bbox 36,48.5,38.5,50 --layers front_line,occupied_area,shelters,corridors --title "
                      "\"Kharkiv oblast\""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_option(p)
    p.add_argument("--format", required=True,
                   help=_("one of {formats} (comma-separated list when --out is a folder)").format(formats=", ".join(FORMATS)))
    p.add_argument("--out", required=True, help=_("output file, or an existing folder for dated file names"))
    p.add_argument("--bbox", help=_("minlon,minlat,maxlon,maxlat (default: extent of the store; write --bbox=-5,40,... "
                        "when it starts with a minus sign)"))
    add_as_of_option(p)
    p.add_argument("--layers", help=_("comma-separated layers (default: all but roads)"))
    p.add_argument("--title", help=_("title printed on PNG/PDF/HTML"))
    p.add_argument("--marking", help=_("handling marking for the banners (default: CIMIC_MARKING, the store's, else EXERCISE)"))
    p.add_argument("--area", help=_("area name used in dated file names (default: the store's scale)"))
    p.add_argument("--symbols", action="store_true",
                   help=_("draw shelters and damaged infrastructure as APP-6 symbols on PNG/PDF (default: the COP's shapes)"))
    add_json_option(p)
    p.set_defaults(handler=_export)
