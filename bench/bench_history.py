"""Versioned layers: migration of an existing store, COP reads now and as of a past time, ``changes``.

Measured on one store (migrated on the first read-write open when it is of the previous schema):

1. migration time and file size before/after (the first version of every settlement, shelter,
   infrastructure and road row; corridors from their change log);
2. the COP's data reads for the initial national view: ``query_view`` (bbox reads, aggregation) plus
   the KPI strip's reads, at the newest front snapshot (current tables) and at the ``--back`` times
   before it (default one day and one week; history tables), wall and CPU time, best and median of
   ``--rounds`` alternating rounds;
3. ``changes`` for the last 24 hours and the last 7 days of the front history;
4. with ``--trends``: the trend series in a fresh process, computed and kept beside the store, then in
   another fresh process read back.

Usage (the store is changed: give a copy)::

    cp /path/national.duckdb /tmp/national_copy.duckdb
    .venv/bin/python bench/bench_history.py --db /tmp/national_copy.duckdb
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pandas as pd
from _common import best_time


def cop_read(store, as_of) -> int:
    from cimic_geo.maps.cop_map import query_bbox, zoom_for_extent
    from cimic_geo.maps.cop_view import query_view
    from cimic_geo.store.cop_reads import read_kpi_layers

    ext = store.bbox()
    zoom = zoom_for_extent(ext)
    view = query_view(store, bbox=query_bbox(ext, zoom), zoom=zoom, as_of=as_of)
    kpi = read_kpi_layers(store, as_of=as_of)
    return sum(len(g) for g in view.layers.values()) + sum(len(g) for g in kpi.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--backdate", action="store_true",
                        help="first versions take effect at the first front snapshot (as the scenario seed does), so "
                             "that past pictures hold every row")
    parser.add_argument("--road-upsert", type=int, default=0, metavar="N",
                        help="also time an upsert of N road segments with a new speed (a road write recording "
                             "versions against the whole roads history); changes the store")
    parser.add_argument("--trends", action="store_true",
                        help="also time the trend series (default bands) in two fresh processes on the store "
                             "opened read-only: the first computes and keeps them beside the store, the second "
                             "reads them back (the kept file is removed first)")
    parser.add_argument("--back", nargs="*", default=["1D", "7D"], metavar="DELTA",
                        help="as-of times before the newest front snapshot to read the COP at (pandas Timedelta "
                             "text, e.g. 1h 1D 30D; a time before the first snapshot reads at the first)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the COP reads")
    args = parser.parse_args()
    from cimic_geo.analytics.changes import build_changes
    from cimic_geo.store import connect
    from cimic_geo.store.changes_reads import change_inputs

    size0 = os.path.getsize(args.db)
    t = time.perf_counter()
    store = connect(args.db)
    migrate_s = time.perf_counter() - t
    store.checkpoint()
    size1 = os.path.getsize(args.db)
    print(f"open read-write (migration when needed): {migrate_s:.2f} s; size {size0 / 1e6:.1f} -> {size1 / 1e6:.1f} MB")
    from cimic_geo.schema import VERSIONED_LAYERS

    counts = {n: int(store.query_df(f"SELECT count(*) AS n FROM {n}_history")["n"].iloc[0])
              for n in VERSIONED_LAYERS}
    print(f"versions: {counts}")
    times = store.history_times("front_line")
    if args.backdate:
        from cimic_geo.store.versions import backdate_versions

        with store.transaction() as con:
            for name in counts:
                backdate_versions(con, name, after_version=0, at=times[0])
    cop_read(store, times[-1])  # warm the extension and the file cache
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    rows: dict[str, int] = {}
    points = [("newest snapshot (current tables)", times[-1])]
    for back in args.back:
        when = times[-1] - pd.Timedelta(back)
        points.append((f"{back} earlier (history)", max(when, times[0])))
    for _round in range(args.rounds):  # rounds alternate the times, so a change of load hits them alike
        for label, when in points:
            t, c = time.perf_counter(), time.process_time()
            rows[label] = cop_read(store, when)
            walls.setdefault(label, []).append(time.perf_counter() - t)
            cpus.setdefault(label, []).append(time.process_time() - c)
    now = points[0][0]
    for label, _when in points:
        w, c = walls[label], cpus[label]
        ratio = "" if label == now else (
            f"; / current read: wall {min(w) / min(walls[now]):.2f}x best, "
            f"{statistics.median(w) / statistics.median(walls[now]):.2f}x median; CPU {min(c) / min(cpus[now]):.2f}x "
            f"best, {statistics.median(c) / statistics.median(cpus[now]):.2f}x median")
        print(f"COP data read at {label}: wall best {min(w):.3f} s, median {statistics.median(w):.3f} s; CPU best "
              f"{min(c):.3f} s, median {statistics.median(c):.3f} s ({rows[label]} rows/cells){ratio}")
    print(f"({args.rounds} alternating rounds; load average {os.getloadavg()[0]:.1f})")
    for label, since in (("24 h", times[-1] - pd.Timedelta(hours=24)), ("7 days", times[-8])):
        def changes(since=since):
            return build_changes(since=since, until=times[-1], **change_inputs(store, since=since, until=times[-1]))

        seconds, res = best_time(changes, repeat=3)
        print(f"changes over {label}: {seconds:.2f} s best of 3 ({len(res.shelters)} shelter, {len(res.damage)} "
              f"damage and {len(res.corridors)} corridor changes)")
    if args.road_upsert:
        roads = store.read("roads", limit=args.road_upsert)
        roads["speed_kmh"] = roads["speed_kmh"] * 0.5
        n0 = int(store.query_df("SELECT count(*) AS n FROM roads_history")["n"].iloc[0])
        t, c = time.perf_counter(), time.process_time()
        store.write("roads", roads, mode="upsert")
        n1 = int(store.query_df("SELECT count(*) AS n FROM roads_history")["n"].iloc[0])
        print(f"upsert of {len(roads)} road segments: {time.perf_counter() - t:.2f} s wall, "
              f"{time.process_time() - c:.2f} s CPU; {n1 - n0} versions added")
    store.close()
    if args.trends:
        trends_fresh(args.db)
    print(f"load average {os.getloadavg()[0]:.1f}")


_TRENDS = """
import sys, time
t0, c0 = time.perf_counter(), time.process_time()
from cimic_geo.export.brief_trends import store_trends
from cimic_geo.store import connect
t1 = time.perf_counter()
with connect(sys.argv[1], read_only=True) as store:
    t2, c2 = time.perf_counter(), time.process_time()
    trends = store_trends(store)
    print(f"{time.perf_counter() - t2:.2f} s wall, {time.process_time() - c2:.2f} s CPU "
          f"(before it: imports {t1 - t0:.2f} s, opening the store {t2 - t1:.2f} s wall), {len(trends.times)} times")
"""


def trends_fresh(db: Path) -> None:
    """The trend series in two fresh processes: computed (and kept), then read back."""
    import subprocess
    import sys

    from cimic_geo.analytics.trend_cache import trends_file

    trends_file(db).unlink(missing_ok=True)
    root = Path(__file__).resolve().parents[1]
    for label in ("computed and kept", "read back"):
        run = subprocess.run([sys.executable, "-c", _TRENDS, str(db)], capture_output=True, text=True, check=True,
                             cwd=root)
        print(f"trends in a fresh process, {label}: {run.stdout.strip()}")


if __name__ == "__main__":
    main()
