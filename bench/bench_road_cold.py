"""Cold CLI route and time to safety on a national store with its road graph file beside it.

* **Python start** (``python -c pass``) and **imports** of the route command, each a fresh process;
* **cold CLI route**: ``python -m cimic_geo route --from A --to B --alternatives 0`` in a fresh
  process, the graph folder, data version and road attributes kept beside the store (written
  first when missing or stale): answered from the graph folder (``cli_route_cold``,
  :mod:`cimic_geo.analytics.route_fast`) and, for comparison, by the full path through the store
  with the fast path switched off (``cli_route_cold_full``); both outputs (``--json``) must be
  byte-identical (``identical_output``);
* **cold CLI route, the default command**: ``python -m cimic_geo route --from A --to B`` (up to 3
  alternatives, each searched on its re-weighted graph and evaluated): ``cli_route_default_cold``
  and ``cli_route_default_cold_full``; outputs, text and ``--json``, byte-identical
  (``identical_output_default``);
* **time to safety** for every settlement (``cutoff_document``, avoiding ``--avoid-km``), twice in
  one process (the first run includes the snapping index and the weighted graphs);
* **coverage by travel time**: ``travel_time_reach`` for every ``--sample``-th settlement and
  shelter within ``--minutes``.

Wall and CPU seconds (user + system; children's for the fresh processes) and the load average are
printed as JSON: on a shared machine CPU seconds are the fair comparison. Target: cold route ≤ 1.5 s.
The fresh processes keep compiled bytecode as an installed program does (in a temporary
``PYTHONPYCACHEPREFIX``, after one warm-up run of each command; ``PYTHONDONTWRITEBYTECODE`` is
dropped for them); ``--no-bytecode-cache`` runs them with the environment as it is.

    .venv/bin/python bench/bench_road_cold.py --db /tmp/national.duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


ENV: dict[str, str] | None = None  # the children's environment (None: this process's)


def _child(cmd: list[str]) -> tuple[float, float, int, str]:
    """Wall s, CPU s (user + system), exit code and output of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=900, env=ENV)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.returncode, done.stdout


#: The CLI with the one-off route's fast path switched off (the full path through the store).
_FULL = ("import sys; import cimic_geo.analytics.route_fast as f; f.fast_route = lambda *a, **k: None; "
         "from cimic_geo.cli import main; sys.exit(main(sys.argv[1:]))")


def _runs(cmd: list[str], n: int) -> dict:
    _child(cmd)  # warm-up: compiled bytecode kept, files in the page cache
    res = [_child(cmd) for _ in range(n)]
    if any(r[2] != 0 for r in res):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return {"wall_s_min": round(min(r[0] for r in res), 3), "wall_s_median": round(statistics.median(r[0] for r in res), 3),
            "cpu_s_min": round(min(r[1] for r in res), 3), "cpu_s_median": round(statistics.median(r[1] for r in res), 3)}


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - t0, 2), round(time.process_time() - c0, 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--from", dest="origin", default=None, help="default: the most populous settlement")
    ap.add_argument("--to", dest="dest", default=None, help="default: the second most populous")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--avoid-km", type=float, default=5.0)
    ap.add_argument("--sample", type=int, default=10)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--skip", action="append", default=[], help="skip a part (cold, safety, reach)")
    ap.add_argument("--no-bytecode-cache", action="store_true", help="run the fresh processes in this environment")
    args = ap.parse_args(argv)
    global ENV
    if not args.no_bytecode_cache:
        ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench_pycache_")
    sys.path.insert(0, str(ROOT))
    from cimic_geo.analytics.reach import travel_time_reach
    from cimic_geo.corridors import cutoff_document, load_access_context
    from cimic_geo.store import connect

    out: dict = {"db": args.db, "load_average_start": os.getloadavg(), "bytecode_cache": ENV is not None}
    with connect(args.db, read_only=True) as store:
        ctx = load_access_context(store)  # writes the graph file when missing or stale
        if args.origin is None or args.dest is None:
            top = store.con.execute("SELECT name FROM settlements ORDER BY population DESC LIMIT 2").fetchall()
            args.origin, args.dest = top[0][0], top[1][0]
    out["settlements"], out["shelters"], out["road_rows"] = len(ctx.settlements), len(ctx.shelters), len(ctx.graph.road_table)
    if "cold" not in args.skip:
        out["python_pass"] = _runs([PY, "-c", "pass"], 5)
        out["import_route_command"] = _runs([PY, "-c", "import cimic_geo.cli.access_cmds"], args.runs)
        route = ["route", "--from", args.origin, "--to", args.dest, "--alternatives", "0", "--db", args.db]
        out["cli_route_cold"] = _runs([PY, "-m", "cimic_geo", *route], args.runs)
        out["cli_route_cold_full"] = _runs([PY, "-c", _FULL, *route], args.runs)
        fast, full = _child([PY, "-m", "cimic_geo", *route, "--json"]), _child([PY, "-c", _FULL, *route, "--json"])
        out["identical_output"] = fast[2] == full[2] == 0 and fast[3] == full[3]
        default = [*route[:5], *route[7:]]  # without "--alternatives 0"
        out["cli_route_default_cold"] = _runs([PY, "-m", "cimic_geo", *default], args.runs)
        out["cli_route_default_cold_full"] = _runs([PY, "-c", _FULL, *default], args.runs)
        out["identical_output_default"] = all(
            a[2] == b[2] == 0 and a[3] == b[3]
            for a, b in ((_child([PY, "-m", "cimic_geo", *default, *fmt]), _child([PY, "-c", _FULL, *default, *fmt]))
                         for fmt in ([], ["--json"])))
        out["load_average_after_cold"] = os.getloadavg()
        out["route"] = f"{args.origin} -> {args.dest}"
        print(json.dumps(out), flush=True)
    if "safety" not in args.skip:
        for i in (1, 2):
            (doc, _), wall, cpu = _timed(lambda: cutoff_document(ctx, avoid_km=args.avoid_km))
            out[f"time_to_safety_run{i}"] = {"wall_s": wall, "cpu_s": cpu, "cut_off": len(doc["cut_off"]),
                                             "reachable": doc["reachable"],
                                             "median_min": doc["median_time_to_safety_min"]}
        print(json.dumps(out), flush=True)
    if "reach" not in args.skip:
        s, h = ctx.settlements.iloc[:: args.sample], ctx.shelters.iloc[:: args.sample]
        reach, wall, cpu = _timed(lambda: travel_time_reach(ctx.graph, s, h, max_minutes=args.minutes))
        out["travel_time_reach"] = {"settlements": len(s), "shelters": len(h), "minutes": args.minutes,
                                    "wall_s": wall, "cpu_s": cpu, "pairs": len(reach.s)}
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
