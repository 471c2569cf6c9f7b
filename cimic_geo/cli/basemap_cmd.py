"""``basemap FILE``: import state/oblast outlines, rivers and water areas into the basemap layer.

A polygon boundary file (GeoJSON, GeoPackage, Shapefile: OSM or COD-AB oblasts, a national
outline) or an OpenStreetMap extract (``.osm.pbf``/``.osm``: rivers, water areas, admin levels 2
and 4). The rows of the kinds read replace the store's rows of those kinds (one transaction).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cimic_geo.cli import emit
from cimic_geo.cli._actor import cli_actor
from cimic_geo.cli._common import add_db_option, add_json_option
from cimic_geo.i18n import _
from cimic_geo.ingest.basemap import read_admin_boundaries, read_osm_basemap, write_basemap
from cimic_geo.store import connect


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if args.kind == "osm" or path.name.endswith((".osm.pbf", ".osm")):
        frame = read_osm_basemap(path, source=args.source)
    else:
        frame = read_admin_boundaries(path, kind=args.kind, state=not args.no_state, source=args.source)
    with connect(args.db) as store:
        written = write_basemap(store, frame, prefix=args.prefix, actor=cli_actor(args, store))
    counts = {str(k): int(v) for k, v in frame["kind"].value_counts().sort_index().items()}
    lines = [_("basemap: {n} feature(s) written from {file}").format(n=written, file=path.name)]
    lines += [f"  {kind}: {n}" for kind, n in counts.items()]
    emit(args, {"file": path.name, "written": written, "kinds": counts}, lines)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "basemap",
        help=_("import state/oblast outlines, rivers and water areas (boundary file or OSM extract) into the basemap"),
        description=_("Read FILE and replace the basemap rows of the kinds it holds: a polygon file gives "
        "oblast outlines (admin1) and their union as the state outline; an OSM extract gives rivers, water "
        "areas and admin boundaries (levels 2 and 4)."),
    )
    p.add_argument("file", metavar="FILE", help=_("boundary file (GeoJSON, GeoPackage, Shapefile) or OSM extract"))
    p.add_argument("--kind", choices=("admin1", "state", "osm"), default="admin1",
                   help=_("what the polygons are: oblasts (default), the state outline, or an OSM extract"))
    p.add_argument("--no-state", dest="no_state", action="store_true",
                   help=_("with oblasts: do not add their union as the state outline"))
    p.add_argument("--prefix", help=_("put this before every id (keeps imports of different files apart)"))
    p.add_argument("--source", help=_("provenance: who produced the file (default: the file name)"))
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=_run)
