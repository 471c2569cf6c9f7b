"""Analytics commands: ``exposure``, ``coverage``, ``restoration``."""

from __future__ import annotations

import argparse

from cimic_geo.analytics.situation import coverage_at, exposure_at, restoration_at
from cimic_geo.cli import emit
from cimic_geo.cli._common import add_as_of_option, add_db_option, add_json_option
from cimic_geo.config import DEFAULT_BANDS_KM, load_settings
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _, fmt_int, fmt_number
from cimic_geo.store import connect
from cimic_geo.timefmt import dtg


def _bands(args: argparse.Namespace) -> str | tuple[float, ...]:
    return args.bands if args.bands is not None else load_settings().bands_km


def _exposure(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        res = exposure_at(store, as_of=args.as_of, bands_km=_bands(args), shift_km=args.shift_km)
    doc = res.to_dict()
    head = _("exposure as of {dtg}").format(dtg=dtg(res.as_of))
    if res.shift_km:
        head += _(", front shifted {km} km").format(km=fmt_number(args.shift_km))
    cols = (_("band"), _("population"), _("settlements"), _("shelters"), _("infrastr."))
    rows = [*doc["bands"], {**doc["beyond"], "band": _("beyond")}, {**doc["occupied"], "band": _("occupied")}]
    w = max(10, *(len(str(b["band"])) for b in rows))
    lines = [head, f"{cols[0]:>{w}} {cols[1]:>12} {cols[2]:>11} {cols[3]:>8} {cols[4]:>9}"]
    for b in rows:
        change = ""
        if "change" in b:
            delta = b["change"]["population"]
            change = _("  (change {delta})").format(delta=("+" if delta >= 0 else "") + fmt_int(delta))
        lines.append(f"{b['band']:>{w}} {fmt_int(b['population']):>12} {fmt_int(b['settlements']):>11} "
                     f"{fmt_int(b['shelters']):>8} {fmt_int(b['infrastructure']):>9}{change}")
    lines += list(res.notes)
    emit(args, doc, lines)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        res = coverage_at(store, as_of=args.as_of, max_km=args.max_km, max_minutes=args.max_minutes)
    doc = res.to_dict(worst=args.worst)
    limit = (_("{n} km") if res.unit == "km" else _("{n} min by road")).format(n=fmt_number(res.limit))
    lines = [
        _("shelter coverage within {limit}, as of {dtg}").format(limit=limit, dtg=dtg(res.as_of)),
        _("population {total}; covered {covered} ({pct} %); unserved {unserved}").format(
            total=fmt_int(doc["population_total"]), covered=fmt_int(doc["population_covered"]),
            pct=fmt_number(doc["covered_pct"], digits=1), unserved=fmt_int(doc["population_unserved"])),
        _("free places in open shelters {total}; assigned {assigned}").format(
            total=fmt_int(doc["capacity_total"]), assigned=fmt_int(doc["capacity_assigned"])),
        *doc["notes"],
        _("worst served:"),
        *[_("  {name} ({id}): {unserved} of {population} unserved").format(
            name=w["name"], id=w["id"], unserved=fmt_int(w["unserved"]), population=fmt_int(w["population"]))
          for w in doc["worst_served"]],
    ]
    emit(args, doc, lines)
    return 0


def _restoration(args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 1:
        raise AnalysisError(f"--top must be at least 1, got {args.top}")
    with connect(args.db, read_only=True) as store:
        res = restoration_at(store, as_of=args.as_of, bands_km=_bands(args), sector_weights=args.sector_weights,
                             damage_weights=args.damage_weights)
    doc = res.to_dict(top=args.top)
    lines = [_("restoration priority as of {dtg}: {count} damaged objects ({unsafe} not safe to repair now, "
               "{occupied} on the occupied side)").format(dtg=dtg(res.as_of), count=doc["count"],
                                                         unsafe=doc["not_safe_count"], occupied=doc["excluded_occupied"])]
    lines += list(res.notes)
    score = _("score")
    lines += [f"{o['rank']:>4}. {o['name']} [{o['id']}] {score} {fmt_int(o['score'])}: {o['reason']}"
              for o in doc["objects"]]
    emit(args, doc, lines)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exposure", help=_("population and assets per threat band from the front line"))
    add_db_option(p)
    add_as_of_option(p)
    p.add_argument("--bands", help=_("outer band edges in km, increasing (default {bands} or CIMIC_BANDS_KM)").format(
        bands=",".join(f"{b:g}" for b in DEFAULT_BANDS_KM)))
    p.add_argument("--shift-km", dest="shift_km", type=float, default=0.0,
                   help=_("what-if: move the front this many km toward friendly territory"))
    add_json_option(p)
    p.set_defaults(handler=_exposure)

    p = sub.add_parser("coverage", help=_("population that can reach a free place in an open shelter"))
    add_db_option(p)
    add_as_of_option(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--max-km", dest="max_km", type=float, help=_("straight-line reach in km (default 2)"))
    g.add_argument("--max-minutes", dest="max_minutes", type=float, help=_("road travel time in minutes"))
    p.add_argument("--worst", type=int, default=10, help=_("how many worst-served settlements to list"))
    add_json_option(p)
    p.set_defaults(handler=_coverage)

    p = sub.add_parser("restoration", help=_("rank damaged infrastructure for repair, with reasons"))
    add_db_option(p)
    add_as_of_option(p)
    p.add_argument("--top", type=int, help=_("only the first N objects"))
    p.add_argument("--bands", help=_("threat band edges; objects inside the first band are not safe to repair"))
    p.add_argument("--sector-weights", dest="sector_weights", help=_("e.g. health=1,water=1,power=0.9"))
    p.add_argument("--damage-weights", dest="damage_weights", help=_("e.g. minor=0.4,major=0.8,destroyed=1"))
    add_json_option(p)
    p.set_defaults(handler=_restoration)
