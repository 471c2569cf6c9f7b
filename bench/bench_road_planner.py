"""The planner's *Suggest routes* with alternatives, in-process, on a warm context.

What the Corridor planner page runs when the user asks for routes
(:func:`cimic_geo.corridors.route_document` through ``add_route_options``): resolve both places,
the least-risk route and its alternatives, each evaluated like any corridor (bands, hazards,
shelters and medical points). The access context (layers and road graph) is loaded once, as the
page keeps it; the first request also builds what a page's first request builds (the snapping
index, the policy's weighted graph, the prepared front line), the following ones are what a user
waits for after that. Target: ≤ 0.3 s a request.

    .venv/bin/python bench/bench_road_planner.py --db /tmp/national.duckdb --from Pisokopol --to Ozhyniv

``--profile N`` prints the N most expensive functions (cProfile, cumulative) of one warm request.
``--pair FROM:TO`` (repeatable) also requests each of these pairs once, in turn, after the main
pair's runs (a request that finds nothing of its own kept: other places, other routes) and
reports each one's CPU and wall time. ``--dump FILE`` writes every document (JSON, sorted keys);
``--check FILE`` compares them with a dump written by other code (``identical``: byte for byte).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import time

from _common import dump_or_check

from cimic_geo.corridors import load_access_context, route_document
from cimic_geo.store import connect


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--from", dest="origin", required=True)
    ap.add_argument("--to", dest="dest", required=True)
    ap.add_argument("--alternatives", type=int, action="append", help="default: 2 (the page's) and 3")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--pair", action="append", default=[], help="FROM:TO, requested once each (alternatives 3)")
    ap.add_argument("--dump", help="write the documents here (JSON)")
    ap.add_argument("--check", help="compare the documents with this dump")
    args = ap.parse_args(argv)
    docs: list[dict] = []
    out: dict = {"db": args.db, "route": f"{args.origin} -> {args.dest}", "load_average_start": os.getloadavg()}
    t0 = time.perf_counter()
    with connect(args.db, read_only=True) as store:
        ctx = load_access_context(store)
    out["context_load_s"] = round(time.perf_counter() - t0, 2)
    for alts in args.alternatives or [2, 3]:
        walls, cpus = [], []
        for _run in range(args.runs + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            doc = route_document(ctx, args.origin, args.dest, alternatives=alts)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        docs.append(doc)
        out[f"alternatives_{alts}"] = {
            "routes": 1 + len(doc["alternatives"]), "first_wall_s": round(walls[0], 3),
            "wall_s_median": round(statistics.median(walls[1:]), 3), "wall_s_min": round(min(walls[1:]), 3),
            "cpu_s_median": round(statistics.median(cpus[1:]), 3)}
    for pair in args.pair:
        a, b = pair.split(":", 1)
        t0, c0 = time.perf_counter(), time.process_time()
        doc = route_document(ctx, a, b, alternatives=3)
        out[f"pair {pair}"] = {"routes": 1 + len(doc["alternatives"]) if doc["found"] else 0,
                               "cpu_s": round(time.process_time() - c0, 3),
                               "wall_s": round(time.perf_counter() - t0, 3)}
        docs.append(doc)
    text = json.dumps(docs, sort_keys=True, default=str)
    same = dump_or_check(text, dump=args.dump, check=args.check)
    if same is not None:
        out["identical"] = same
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        route_document(ctx, args.origin, args.dest, alternatives=3)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(args.profile)
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
