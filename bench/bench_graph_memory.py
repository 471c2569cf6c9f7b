"""Process RSS while the planner reads road graphs for several as-of times in a row (no browser).

Reads the access context at the latest snapshot, then at ``--past N`` earlier snapshots one after
another (each past graph built and kept beside the store on first use, read from its folder after),
and prints RSS and CPU seconds after each step, as the planner page does when its time slider
moves (one context per process). With ``--coverage`` the coverage graph of the same time is read
after each context has been let go (the two are never held together). ``--fresh`` removes the kept
past graphs first, so each one is built. ``--dump FILE`` writes the route documents of every time
(JSON, sorted keys); ``--check FILE`` compares them with such a dump (``identical``: byte for byte).
Run on a copy of a national store (it writes the past graphs beside it)::

    .venv/bin/python bench/bench_graph_memory.py --db /tmp/x/national.duckdb --fresh --past 3
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import time

from _common import dump_or_check, rss_mb

from cimic_geo.analytics.road_cache import past_root
from cimic_geo.analytics.situation import history_times
from cimic_geo.corridors import load_access_context, route_document
from cimic_geo.errors import CimicError
from cimic_geo.store import connect
from cimic_geo.ui.common import _glibc, release_free_memory


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--past", type=int, default=3, help="earlier snapshots read after the latest one")
    ap.add_argument("--fresh", action="store_true", help="remove the kept past graphs first")
    ap.add_argument("--coverage", action="store_true", help="also read the coverage graph of each time")
    ap.add_argument("--from", dest="origin", default="Pisokopol")
    ap.add_argument("--to", dest="dest", default="Ozhyniv")
    ap.add_argument("--dump")
    ap.add_argument("--check")
    args = ap.parse_args(argv)
    _glibc()  # the server's allocator settings
    if args.fresh:
        shutil.rmtree(past_root(args.db), ignore_errors=True)
    docs, out, places = [], [], []
    with connect(args.db, read_only=True) as store:
        times = history_times(store)
        picks = [None, *times[-1 - args.past:-1][::-1]]  # latest, then one step back each time
        print(json.dumps({"step": "start", "rss_mb": round(rss_mb())}), flush=True)
        for t in picks:
            t0, c0 = time.perf_counter(), time.process_time()
            ctx = load_access_context(store, as_of=t)
            row = {"as_of": str(t), "context_s": round(time.perf_counter() - t0, 2),
                   "context_cpu_s": round(time.process_time() - c0, 2), "context_rss_mb": round(rss_mb())}
            if not places:  # the places as points, so every time routes between the same two
                pts = [ctx.settlements.geometry[ctx.settlements["name"] == n].iloc[0] for n in (args.origin, args.dest)]
                places.extend((float(p.y), float(p.x)) for p in pts)  # (lat, lon)
            try:
                docs.append(route_document(ctx, places[0], places[1], alternatives=2))
            except CimicError as exc:  # no road near a place then
                docs.append({"error": str(exc)})
            row["route_rss_mb"] = round(rss_mb())
            del ctx
            gc.collect()
            release_free_memory()
            row["released_rss_mb"] = round(rss_mb())
            if args.coverage:
                from cimic_geo.analytics.coverage_graph import coverage_road_graph
                from cimic_geo.analytics.situation import layers_time

                at = None if t is None else layers_time(t, times)
                front = store.read("front_line", as_of=t if t is not None else times[-1])
                occ = store.read("occupied_area", as_of=t if t is not None else times[-1])
                graph, _policy = coverage_road_graph(store, as_of=t if t is not None else times[-1], front_line=front,
                                                     occupied_area=occ, layers_as_of=at)
                row["coverage_rss_mb"] = round(rss_mb())
                del graph
            out.append(row)
            print(json.dumps(row), flush=True)
    text = json.dumps(docs, sort_keys=True, default=str)
    same = dump_or_check(text, dump=args.dump, check=args.check)
    if same is not None:
        print(json.dumps({"identical": same}))
    print(json.dumps({"peak_context_rss_mb": max(r["context_rss_mb"] for r in out),
                      "cpu_s": round(time.process_time(), 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
