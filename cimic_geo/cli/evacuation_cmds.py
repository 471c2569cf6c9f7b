"""``evacuations`` commands: the board and progress, status changes, history, shelter assignment."""

from __future__ import annotations

import argparse
from typing import Any

from cimic_geo.cli import emit
from cimic_geo.cli._actor import cli_actor
from cimic_geo.cli._common import add_store_options
from cimic_geo.config import load_settings
from cimic_geo.errors import AnalysisError
from cimic_geo.evacuations import assign_waiting, change_status, evacuation_overview
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.schema import EVACUATION_STATUSES, TRANSPORT_KINDS
from cimic_geo.store import connect
from cimic_geo.store.evacuation_records import evacuation_history
from cimic_geo.timefmt import dtg, iso


def _board(args: argparse.Namespace) -> int:
    bands = args.bands if args.bands is not None else load_settings().bands_km
    with connect(args.db, read_only=True) as store:
        ov = evacuation_overview(store, as_of=args.as_of, bands_km=bands, days=args.days)
    doc = ov.to_dict(board=not args.summary)
    if args.status and "board" in doc:
        doc["board"] = [r for r in doc["board"] if r["status"] in args.status]
    k = doc["kpis"]
    lines = [_("evacuations at {now} (front of {front})").format(now=dtg(ov.now), front=dtg(ov.front_time)),
             _("open requests {open}; people waiting {waiting}; underway {underway}; evacuated {evacuated}; "
               "failed missions {failed}").format(open=k["requests_open"], waiting=fmt_int(k["people_waiting"]),
                                                  underway=fmt_int(k["people_underway"]),
                                                  evacuated=fmt_int(k["people_evacuated"]),
                                                  failed=k["missions_failed"]),
             _("people waiting per threat band:")]
    line = _("{people} people in {requests} requests (children {children}, elderly {elderly}, reduced mobility "
             "{reduced_mobility}, bedridden {bedridden}, pets {pets})")
    band_name = {"beyond": _("beyond"), "occupied": _("occupied"), "unknown": _("unknown")}
    lines += [f"  {band_name.get(band, band):>9}: " + line.format(**{**r, "people": f"{fmt_int(r['people']):>6}"})
              for band, r in doc["waiting_by_band"].items()]
    if ov.oldest:
        lines.append(_("oldest open request {id} ({status}) since {since}: {hours} h").format(
            id=ov.oldest["id"], status=term(ov.oldest["status"]), since=ov.oldest["requested_dtg"],
            hours=fmt_number(ov.oldest["age_hours"])))
    for r in doc.get("board", []):
        lines.append(f"  {r['id']:<12} {r['status']:<10} {r['priority'] or '':<7} {r['people']:>4} "
                     f"{r['settlement'] or '':<24} -> {r['destination'] or '-'}")
    emit(args, doc, lines)
    return 0


def _set_status(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    for key in ("destination_shelter_id", "transport", "transport_capacity", "corridor_id", "route",
                "planned_departure"):
        value = getattr(args, key)
        if value is not None:
            changes[key] = value
    with connect(args.db) as store:
        res = change_status(store, args.id, args.status, user=args.user, actor=cli_actor(args, store),
                            expected_version=args.version, note=args.note, changes=changes)
    emit(args, {"ok": True, **res}, res["message"])
    return 0


def _history(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        hist = evacuation_history(store, args.id)
    if args.limit is not None:
        hist = hist.head(args.limit)
    rows = [{"evacuation_id": r.evacuation_id, "version": int(r.version), "changed_at": iso(r.changed_at),
             "changed_by": r.changed_by, "action": r.action,
             "from_status": None if r.from_status is None or r.from_status != r.from_status else r.from_status,
             "to_status": r.to_status} for r in hist.itertuples(index=False)]
    lines = [f"{dtg(r['changed_at'])} {r['evacuation_id']} v{r['version']} {r['from_status'] or '-'} -> "
             f"{r['to_status']} " + _("by {user}").format(user=r["changed_by"]) for r in rows]
    emit(args, {"history": rows}, lines or [_("no history")])
    return 0


def _assign(args: argparse.Namespace) -> int:
    if args.max_km is not None and args.max_minutes is not None:
        raise AnalysisError("give either --max-km or --max-minutes, not both")
    with connect(args.db, read_only=True) as store:
        res = assign_waiting(store, max_km=args.max_km, max_minutes=args.max_minutes)
    doc = res.to_dict()
    unit = _("km") if res.unit == "km" else _("min by road")
    lines = [_("requested evacuations: {waiting} people; {assigned} assigned to shelters within {limit} {unit}; "
               "{unassigned} without a place").format(waiting=fmt_int(doc["people_waiting"]),
                                                      assigned=fmt_int(doc["people_assigned"]),
                                                      limit=fmt_number(res.limit), unit=unit,
                                                      unassigned=fmt_int(doc["people_unassigned"]))]
    per = _("  {request} -> {shelter}: {people} people ({cost} {unit})")
    short = _("km") if res.unit == "km" else _("min")
    lines += [per.format(request=a["request_id"], shelter=a["shelter_id"], people=a["people"],
                         cost=fmt_number(a["cost"]), unit=short) for a in doc["allocation"]]
    emit(args, doc, lines)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    cmds = sub.add_parser("evacuations", help=_("evacuation requests and missions: board, status, history, "
                          "assignment")).add_subparsers(dest="evacuations_command", metavar="ACTION", required=True)

    b = cmds.add_parser("board", help=_("the board, people waiting per band and group, oldest request, missions/day"))
    b.add_argument("--bands", help=_("threat band edges in km (default 5,20,40 or CIMIC_BANDS_KM)"))
    b.add_argument("--status", action="append", choices=EVACUATION_STATUSES, help=_("only these statuses (repeat)"))
    b.add_argument("--days", type=int, default=14, help=_("days of missions per day (default 14)"))
    b.add_argument("--summary", action="store_true", help=_("figures only, no board rows"))
    add_store_options(b, as_of=True)
    b.set_defaults(handler=_board)

    s = cmds.add_parser("status", help=_("move an evacuation to its next status (allowed transitions only)"))
    s.add_argument("id", help=_("evacuation id"))
    s.add_argument("status", choices=EVACUATION_STATUSES, help=_("the new status"))
    s.add_argument("--user", help=_("name kept in the history (default: who runs the command, see --as)"))
    s.add_argument("--version", type=int, required=True, help=_("the version you saw (optimistic locking)"))
    s.add_argument("--note", help=_("a note kept in the history"))
    s.add_argument("--destination", dest="destination_shelter_id", help=_("destination shelter id"))
    s.add_argument("--transport", choices=TRANSPORT_KINDS, help=_("kind of transport"))
    s.add_argument("--capacity", dest="transport_capacity", type=int, help=_("seats"))
    s.add_argument("--corridor", dest="corridor_id", help=_("corridor id the mission uses"))
    s.add_argument("--route", help=_("route description"))
    s.add_argument("--departure", dest="planned_departure", help=_("planned departure, ISO 8601 UTC"))
    add_store_options(s)
    s.set_defaults(handler=_set_status)

    h = cmds.add_parser("history", help=_("status changes, newest first"))
    h.add_argument("id", nargs="?", help=_("one evacuation (default all)"))
    h.add_argument("--limit", type=int, help=_("at most this many changes"))
    add_store_options(h)
    h.set_defaults(handler=_history)

    a = cmds.add_parser("assign", help=_("allocate waiting people to shelters with free places (exact, order-free)"))
    a.add_argument("--max-km", dest="max_km", type=float, help=_("straight-line reach (default 30 km)"))
    a.add_argument("--max-minutes", dest="max_minutes", type=float, help=_("road travel time reach in minutes"))
    add_store_options(a)
    a.set_defaults(handler=_assign)
