"""Analytics commands: ``exposure``, ``coverage``, ``restoration``."""

from __future__ import annotations

import argparse

from cimic_geo.analytics.situation import coverage_at, exposure_at, restoration_at
from cimic_geo.cli import emit
from cimic_geo.cli._common import add_as_of_option, add_db_option, add_json_option
from cimic_geo.config import DEFAULT_BANDS_KM, load_settings
from cimic_geo.errors import AnalysisError
from cimic_geo.store import connect
from cimic_geo.timefmt import dtg


def _bands(args: argparse.Namespace) -> str | tuple[float, ...]:
    return args.bands if args.bands is not None else load_settings().bands_km


def _exposure(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        res = exposure_at(store, as_of=args.as_of, bands_km=_bands(args), shift_km=args.shift_km)
    doc = res.to_dict()
    head = f"exposure as of {dtg(res.as_of)}" + (f", front shifted {args.shift_km:g} km" if res.shift_km else "")
    lines = [head, f"{'band':>10} {'population':>12} {'settlements':>11} {'shelters':>8} {'infrastr.':>9}"]
    for b in [*doc["bands"], {"band": "beyond", **doc["beyond"]}, {"band": "occupied", **doc["occupied"]}]:
        change = ""
        if "change" in b:
            change = f"  (change {b['change']['population']:+,})"
        lines.append(f"{b['band']:>10} {b['population']:>12,} {b['settlements']:>11} {b['shelters']:>8} "
                     f"{b['infrastructure']:>9}{change}")
    emit(args, doc, lines)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        res = coverage_at(store, as_of=args.as_of, max_km=args.max_km, max_minutes=args.max_minutes)
    doc = res.to_dict(worst=args.worst)
    limit = f"{res.limit:g} km" if res.unit == "km" else f"{res.limit:g} min by road"
    lines = [
        f"shelter coverage within {limit}, as of {dtg(res.as_of)}",
        f"population {doc['population_total']:,}; covered {doc['population_covered']:,} ({doc['covered_pct']:.1f} %); "
        f"unserved {doc['population_unserved']:,}",
        f"free places in open shelters {doc['capacity_total']:,}; assigned {doc['capacity_assigned']:,}",
        *doc["notes"],
        "worst served:",
        *[f"  {w['name']} ({w['id']}): {w['unserved']:,} of {w['population']:,} unserved" for w in doc["worst_served"]],
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
    lines = [f"restoration priority as of {dtg(res.as_of)}: {doc['count']} damaged objects "
             f"({doc['not_safe_count']} not safe to repair now, {doc['excluded_occupied']} on the occupied side)"]
    lines += [f"{o['rank']:>4}. {o['name']} [{o['id']}] score {o['score']:,.0f}: {o['reason']}" for o in doc["objects"]]
    emit(args, doc, lines)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exposure", help="population and assets per threat band from the front line")
    add_db_option(p)
    add_as_of_option(p)
    p.add_argument("--bands", help="outer band edges in km, increasing (default "
                   f"{','.join(f'{b:g}' for b in DEFAULT_BANDS_KM)} or CIMIC_BANDS_KM)")
    p.add_argument("--shift-km", dest="shift_km", type=float, default=0.0,
                   help="what-if: move the front this many km toward friendly territory")
    add_json_option(p)
    p.set_defaults(handler=_exposure)

    p = sub.add_parser("coverage", help="population that can reach a free place in an open shelter")
    add_db_option(p)
    add_as_of_option(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--max-km", dest="max_km", type=float, help="straight-line reach in km (default 2)")
    g.add_argument("--max-minutes", dest="max_minutes", type=float, help="road travel time in minutes")
    p.add_argument("--worst", type=int, default=10, help="how many worst-served settlements to list")
    add_json_option(p)
    p.set_defaults(handler=_coverage)

    p = sub.add_parser("restoration", help="rank damaged infrastructure for repair, with reasons")
    add_db_option(p)
    add_as_of_option(p)
    p.add_argument("--top", type=int, help="only the first N objects")
    p.add_argument("--bands", help="threat band edges; objects inside the first band are not safe to repair")
    p.add_argument("--sector-weights", dest="sector_weights", help="e.g. health=1,water=1,power=0.9")
    p.add_argument("--damage-weights", dest="damage_weights", help="e.g. minor=0.4,major=0.8,destroyed=1")
    add_json_option(p)
    p.set_defaults(handler=_restoration)
