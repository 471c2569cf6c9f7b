"""The planner's time switch, in-process: the road graph at the current time, then at a past time,
then each again, as a user moving the *Front line as of* slider back and forth makes the page load
them (:func:`cimic_geo.corridors.load_access_context`, a fresh context each time as the page keeps
one per process). Reports each step's wall and CPU seconds, whether it built the graph, and the
cost of one road-data version hash (the planner's cold start needs one).

    .venv/bin/python bench/bench_road_past.py --db national.duckdb [--as-of 2026-10-01T00:00Z] [--read-only]

Use a copy of the store: graphs are written beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from _common import ROOT  # noqa: F401  (puts the project on the path)

import cimic_geo.corridors as corridors
from cimic_geo.analytics.situation import history_times
from cimic_geo.store import connect
from cimic_geo.store.access_version import access_data_version


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--as-of", help="the past time (default: the snapshot before the latest)")
    ap.add_argument("--read-only", action="store_true", help="open the store read-only (default: read-write)")
    args = ap.parse_args(argv)
    builds: list[object] = []
    real = corridors.build_road_graph

    def counted(*a, **kw):
        builds.append(kw.get("as_of"))
        return real(*a, **kw)

    corridors.build_road_graph = counted
    out: dict = {"db": args.db, "load_average_start": os.getloadavg(), "steps": []}
    with connect(args.db, read_only=args.read_only) as store:
        times = history_times(store)
        past = args.as_of or times[-2].isoformat()
        out["past"] = past
        t0, c0 = time.perf_counter(), time.process_time()
        version = access_data_version(store)
        out["version_hash"] = {"wall_s": round(time.perf_counter() - t0, 2),
                               "cpu_s": round(time.process_time() - c0, 2)}
        for label, as_of in (("now", None), ("past", past), ("now again", None), ("past again", past)):
            n = len(builds)
            t0, c0 = time.perf_counter(), time.process_time()
            ctx = corridors.load_access_context(store, as_of=as_of, data_version=version)
            out["steps"].append({"step": label, "as_of": str(ctx.as_of), "built": len(builds) > n,
                                 "wall_s": round(time.perf_counter() - t0, 2),
                                 "cpu_s": round(time.process_time() - c0, 2)})
            del ctx
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
