"""Access and corridor commands: ``route``, ``corridor evaluate|list|history|status``, ``access cutoff``.

The store, the analytics and pandas are imported inside the handlers: a one-off ``route`` is
answered from the road graph folder without them when it can (:mod:`cimic_geo.analytics.route_fast`).
"""

from __future__ import annotations

import argparse
from typing import Any

from cimic_geo.cli import emit
from cimic_geo.cli._actor import cli_actor
from cimic_geo.cli._common import add_store_options
from cimic_geo.i18n import N_, _, fmt_int, fmt_number, fmt_percent, term

#: The hazard kinds of a route's document, as the text output names them (the ``--json`` keys stay).
HAZARD_KINDS = {"damaged_road": N_("damaged_road"), "impassable_road": N_("impassable_road"),
                "destroyed_bridge": N_("destroyed_bridge")}


def _metrics_lines(doc: dict[str, Any], indent: str = "  ") -> list[str]:
    bands = ", ".join(_("{band} km").format(band=k) + ": " + fmt_number(v, digits=1)
                      for k, v in (doc.get("band_km") or {}).items())
    lines = [
        indent + _("length {km} km, travel time {minutes} min").format(
            km=fmt_number(doc["length_km"], digits=1), minutes=fmt_int(doc["travel_time_min"])),
        indent + _("inside bands: {bands}; beyond {beyond} km; occupied side {occupied} km").format(
            bands=bands or "-", beyond=fmt_number(doc.get("beyond_km", 0), digits=1),
            occupied=fmt_number(doc.get("occupied_km", 0), digits=1)),
        indent + _("closest to the front line: {km}").format(
            km="-" if doc.get("min_frontline_km") is None
            else _("{km} km").format(km=fmt_number(doc["min_frontline_km"], digits=1))),
    ]
    counts = doc.get("hazard_counts") or {}
    lines.append(indent + _("hazards within 200 m: {hazards}").format(
        hazards=", ".join((_(HAZARD_KINDS[k]) if k in HAZARD_KINDS else k) + " " + fmt_int(v)
                          for k, v in counts.items()) or _("none")))
    s = doc.get("shelter_summary") or {}
    if s:
        lines.append(indent + _("shelters nearby: {n} ({open} open, spare {spare}); medical points {medical}").format(
            n=fmt_int(s.get("count", 0)), open=fmt_int(s.get("open", 0)), spare=fmt_int(s.get("spare_open", 0)),
            medical=fmt_int(s.get("medical", 0))))
    return lines


def _route_document(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The route document and the as-of time (DTG): from the graph folder when it can answer, else the store."""
    from cimic_geo.analytics.route_fast import fast_route

    options = {"avoid_km": args.avoid_km, "penalise": not args.no_penalties, "alternatives": args.alternatives,
               "ignore_oneway": args.ignore_oneway}
    fast = fast_route(args.db, args.origin, args.destination, as_of=args.as_of, **options)
    if fast is not None:
        return fast.doc, fast.as_of_dtg
    from cimic_geo.corridors import load_access_context, route_document
    from cimic_geo.store import connect
    from cimic_geo.timefmt import dtg

    with connect(args.db, read_only=True) as store:
        ctx = load_access_context(store, as_of=args.as_of)
    return route_document(ctx, args.origin, args.destination, **options), dtg(ctx.as_of)


def _route(args: argparse.Namespace) -> int:
    doc, as_of_dtg = _route_document(args)
    notes = [_("note: {text}").format(text=w) for w in doc.get("warnings", [])]
    if not doc["found"]:
        emit(args, doc, [*notes, _("no route: {reason}").format(reason=doc["reason"])])
        return 1
    snaps = ", ".join(p["label"] + " " + _("{m} m").format(m=fmt_int(p["snap_km"] * 1000))
                      for p in (doc["origin"], doc["destination"]))
    lines = [_("route {origin} -> {destination} (as of {dtg})").format(
                 origin=doc["origin"]["label"], destination=doc["destination"]["label"], dtg=as_of_dtg),
             _("  distance from the road joined: {snaps}").format(snaps=snaps), *notes]
    lines += _metrics_lines(doc)
    for i, alt in enumerate(doc["alternatives"], start=1):
        lines.append(_("alternative {i}:").format(i=i))
        lines += _metrics_lines(alt, indent="    ")
    emit(args, doc, lines)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from cimic_geo.corridors import evaluate_features, load_access_context, read_lines_file
    from cimic_geo.store import connect
    from cimic_geo.timefmt import iso

    features = read_lines_file(args.file)
    with connect(args.db, read_only=True) as store:
        ctx = load_access_context(store, as_of=args.as_of)
    results = evaluate_features(ctx, features)
    doc = {"as_of": iso(ctx.as_of), "file": str(args.file), "corridors": results}
    lines = []
    for r in results:
        lines.append(f"feature {r['feature']}" + (f" {r['name']}" if r.get("name") else "") + ":")
        lines += _metrics_lines(r)
    emit(args, doc, lines)
    return 0


def _cutoff(args: argparse.Namespace) -> int:
    from cimic_geo.corridors import cutoff_document, load_access_context
    from cimic_geo.store import connect
    from cimic_geo.timefmt import dtg

    hubs = [h.strip() for h in args.hubs.split(",") if h.strip()] if args.hubs else None
    with connect(args.db, read_only=True) as store:
        ctx = load_access_context(store, as_of=args.as_of)
    doc, _table = cutoff_document(ctx, avoid_km=args.avoid_km, hubs=hubs, ignore_oneway=args.ignore_oneway)
    lines = [_("cut off from safety (avoiding {km} km of the front line, as of {dtg}): {n} settlement(s), "
               "population {population}").format(km=fmt_number(doc["avoid_km"]), dtg=dtg(ctx.as_of),
                                                 n=len(doc["cut_off"]), population=fmt_int(doc["cut_off_population"]))]
    lines += [_("  {name} ({id}), population {population}: {reason}").format(
        name=c["name"], id=c["id"], population=fmt_int(c["population"]), reason=c["reason"]) for c in doc["cut_off"]]
    net = doc["network"]
    lines.append(_("road network: {n} connected piece(s); the largest holds {share} of the road length").format(
        n=net["components"], share=fmt_percent(net["largest_share"], digits=0)))
    emit(args, doc, lines)
    return 0


def _list(args: argparse.Namespace) -> int:
    from cimic_geo.corridors import list_corridors
    from cimic_geo.store import connect
    from cimic_geo.timefmt import iso

    with connect(args.db, read_only=True) as store:
        gdf = list_corridors(store)
    rows = [{"id": r.id, "name": r.name, "status": r.status, "version": None if r.version is None else int(r.version),
             "origin": r.origin, "destination": r.destination, "updated_by": r.updated_by,
             "updated_at": iso(r.updated_at)} for r in gdf.itertuples()]
    emit(args, {"corridors": rows},
         [f"{r['id']}  {r['status']:9s} v{r['version']}  {r['name']}" for r in rows] or [_("no corridors")])
    return 0


def _history(args: argparse.Namespace) -> int:
    from cimic_geo.corridors import history
    from cimic_geo.store import connect
    from cimic_geo.timefmt import dtg, iso

    with connect(args.db, read_only=True) as store:
        df = history(store, args.id)
    rows = [{"corridor_id": r.corridor_id, "version": int(r.version), "changed_at": iso(r.changed_at),
             "changed_by": r.changed_by, "action": r.action, "from_status": r.from_status,
             "to_status": r.to_status, "notes": r.notes} for r in df.itertuples()]
    emit(args, {"history": rows},
         [f"{dtg(r['changed_at'])} {r['changed_by']}: {r['corridor_id']} v{r['version']} {r['action']} "
          f"{r['from_status'] or ''}->{r['to_status'] or ''}" for r in rows] or [_("no history")])
    return 0


def _status(args: argparse.Namespace) -> int:
    from cimic_geo.corridors import change_status
    from cimic_geo.store import connect

    with connect(args.db) as store:
        # the OS user (a trusted operator) records --user in the history; --as acts as that account
        actor = cli_actor(args, store) if getattr(args, "as_user", None) else None
        res = change_status(store, args.id, args.new_status, user=args.user, actor=actor,
                            expected_version=args.version, note=args.note)
    emit(args, {"ok": True, **res}, _("{id} is now {status} (version {version})").format(
        id=res["id"], status=term(res["status"]), version=res["version"]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("route", help=_("least-risk route between two places, with alternatives"))
    p.add_argument("--from", dest="origin", required=True, help=_("settlement name (English or Ukrainian) or 'lat,lon'"))
    p.add_argument("--to", dest="destination", required=True, help=_("settlement name or 'lat,lon'"))
    p.add_argument("--avoid-km", dest="avoid_km", type=float,
                   help=_("leave out road segments within this many km of the front line (no size limit)"))
    p.add_argument("--no-penalties", action="store_true", help=_("do not penalise segments inside the threat bands"))
    p.add_argument("--alternatives", type=int, default=3, choices=range(4), help=_("alternatives to look for (0-3)"))
    p.add_argument("--ignore-oneway", action="store_true",
                   help=_("drive one-way roads both ways (convoy/emergency); default: one-way respected"))
    add_store_options(p, as_of=True)
    p.set_defaults(handler=_route)

    p = sub.add_parser("corridor", help=_("evaluate corridor lines; list corridors, their history and status"))
    csub = p.add_subparsers(dest="corridor_command", metavar="ACTION")
    csub.required = True
    e = csub.add_parser("evaluate", help=_("metrics for each line in a GeoJSON (or other vector) file"))
    e.add_argument("file", help=_("GeoJSON file with LineString features (EPSG:4326)"))
    add_store_options(e, as_of=True)
    e.set_defaults(handler=_evaluate)
    ls = csub.add_parser("list", help=_("saved corridors"))
    add_store_options(ls)
    ls.set_defaults(handler=_list)
    h = csub.add_parser("history", help=_("change history (who, when, what)"))
    h.add_argument("id", nargs="?", help=_("one corridor (default: all)"))
    add_store_options(h)
    h.set_defaults(handler=_history)
    s = csub.add_parser("status", help=_("move a corridor through draft -> proposed -> agreed -> active -> ..."))
    s.add_argument("id", help=_("corridor id"))
    s.add_argument("new_status", metavar="STATUS", help=_("the new status, e.g. proposed"))
    s.add_argument("--user", required=True, help=_("who makes the change (kept in the history)"))
    s.add_argument("--version", type=int, required=True, help=_("the version you looked at (optimistic lock)"))
    s.add_argument("--note", help=_("a note kept in the history"))
    add_store_options(s)
    s.set_defaults(handler=_status)

    p = sub.add_parser("access", help=_("access analytics: settlements cut off from safety"))
    asub = p.add_subparsers(dest="access_command", metavar="ACTION")
    asub.required = True
    c = asub.add_parser("cutoff", help=_("settlements with no route to a safe hub avoiding the front line"))
    c.add_argument("--avoid-km", dest="avoid_km", type=float,
                   help=_("excluded distance from the front line in km (default: the innermost band)"))
    c.add_argument("--hubs", help=_("comma-separated settlement names/ids used as safe hubs (default: all settlements "
                                  "beyond the outer band)"))
    c.add_argument("--ignore-oneway", action="store_true", help=_("drive one-way roads both ways (convoy/emergency)"))
    add_store_options(c, as_of=True)
    c.set_defaults(handler=_cutoff)
