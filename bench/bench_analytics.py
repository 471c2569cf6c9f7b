"""Benchmark: threat-band exposure and shelter coverage vs a straightforward geopandas approach.

Usage::

    .venv/bin/python bench/bench_analytics.py --db data/national.duckdb --max-km 2 5

Both approaches run in the same process on the same data (the front line in force at the latest
snapshot). The straightforward approach is what one writes first with geopandas:

* exposure: project to a metric CRS, ``buffer`` the front line by each band edge, ``overlay``
  the rings, ``sjoin`` settlements/shelters/infrastructure with the rings and the occupied area;
* coverage: ``buffer`` every settlement by the reach distance, ``sjoin`` the open shelters, then
  allocate AccessMod-style facility by facility (in row order, each shelter filling its nearest
  settlements first) - which is also order-dependent and places fewer people.

Two rows run on the store itself, reads included: ``exposure_at`` (the Exposure page's call) and
``coverage_at`` by road time (``--road-minutes``, the graph the route planner keeps beside the
store; it is built and kept first if missing, not timed). Wall and CPU time of the process are
both printed: on a busy shared machine CPU time is the steadier measure.

Prints a Markdown table (paste it into docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import _common  # noqa: F401  (puts the repository root on sys.path)
import geopandas as gpd
import numpy as np
import pandas as pd

from cimic_geo.analytics.bands import band_labels, prepare_front
from cimic_geo.analytics.coverage import coverage
from cimic_geo.analytics.exposure import exposure
from cimic_geo.analytics.situation import coverage_at, exposure_at
from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.geo import metric_crs_for
from cimic_geo.store import connect


def naive_exposure(layers: dict[str, gpd.GeoDataFrame], front: gpd.GeoDataFrame, occ: gpd.GeoDataFrame,
                   bands: tuple[float, ...]) -> dict[str, dict[str, int]]:
    crs = metric_crs_for(layers["settlements"], front)
    fl = front.to_crs(crs).union_all()
    oc = occ.to_crs(crs)
    rings, lo = [], None
    for label, edge in zip(band_labels(bands), bands, strict=True):
        disk = fl.buffer(edge * 1000.0)
        rings.append((label, disk if lo is None else disk.difference(lo)))
        lo = disk
    ring_frame = gpd.GeoDataFrame({"band": [r[0] for r in rings]}, geometry=[r[1] for r in rings], crs=crs)
    out: dict[str, dict[str, int]] = {}
    for name, gdf in layers.items():
        g = gdf.to_crs(crs)
        g = g.set_geometry(g.geometry.representative_point())
        inside = gpd.sjoin(g, oc[["geometry"]], predicate="within", how="left")
        occupied_ids = set(inside.loc[inside["index_right"].notna(), "id"])
        j = gpd.sjoin(g[~g["id"].isin(occupied_ids)], ring_frame, predicate="intersects", how="left")
        j = j.drop_duplicates("id")
        value = "population" if name == "settlements" else None
        counts = j.groupby(j["band"].fillna("beyond")).agg(n=("id", "size"))
        if value:
            counts["v"] = j.groupby(j["band"].fillna("beyond"))[value].sum()
        out[name] = {str(k): int(r["v"] if value else r["n"]) for k, r in counts.iterrows()}
        out[name]["occupied"] = int(g.loc[g["id"].isin(occupied_ids), value].sum()) if value else len(occupied_ids)
    return out


def naive_coverage(settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, max_km: float) -> int:
    """Buffer + sjoin, then AccessMod-style sequential allocation; returns people placed."""
    crs = metric_crs_for(settlements, shelters)
    s = settlements.to_crs(crs)
    h = shelters[(shelters["status"] == "open")].to_crs(crs)
    h = h.assign(free=(h["capacity"] - h["occupancy"].fillna(0)).clip(lower=0))
    h = h[h["free"] > 0]
    zones = s[["id", "population", "geometry"]].copy()
    zones["geometry"] = zones.buffer(max_km * 1000.0)
    pairs = gpd.sjoin(h[["id", "free", "geometry"]], zones, predicate="within", how="inner",
                      lsuffix="h", rsuffix="s")
    centres = gpd.GeoSeries(s.set_index("id").loc[pairs["id_s"], "geometry"].values, index=pairs.index, crs=crs)
    pairs["d"] = pairs.geometry.distance(centres)
    remaining = s.set_index("id")["population"].astype(float).to_dict()
    placed = 0.0
    for _, grp in pairs.sort_values("d").groupby("id_h", sort=False):  # facility by facility
        free = float(grp["free"].iloc[0])
        for sid in grp["id_s"]:
            if free <= 0:
                break
            take = min(free, remaining[sid])
            remaining[sid] -= take
            free -= take
            placed += take
    return int(placed)


def cpu_time(fn: Callable[..., Any], *args: Any, repeat: int = 1, **kwargs: Any) -> tuple[float, float, Any]:
    """Best wall time of ``repeat`` calls, the CPU time of the process in that call, and the result."""
    best, cpu, result = float("inf"), float("nan"), None
    for _ in range(max(1, int(repeat))):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn(*args, **kwargs)
        wall, used = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, cpu = wall, used
    return best, cpu, result


def road_compare(db: str, minutes: float) -> list[tuple[str, float, float, str]]:
    """Road-time reach and allocation, previous way vs now, on the same graph and places.

    Reach: ``travel_time_reach(method="tiles")`` (every road node, tile by tile) vs ``"core"`` (the core
    graph of junctions); allocation: every reach edge (the dominated-edge reduction switched off) vs
    the reduction on. Prints whether the pairs, minutes, covered people per settlement and placed
    people per shelter agree. Each row's note carries the CPU time and the load average then.
    """
    from cimic_geo.analytics import allocation as alloc_mod
    from cimic_geo.analytics.coverage import USABLE_STATUSES, _canonical, _int_col
    from cimic_geo.analytics.coverage_graph import coverage_road_graph
    from cimic_geo.analytics.reach import travel_time_reach
    from cimic_geo.analytics.situation import load_situation

    with connect(db, read_only=True) as store:
        sit = load_situation(store, layers=("settlements", "shelters"))
        graph, policy = coverage_road_graph(store, as_of=sit.as_of, front_line=sit.front_line,
                                            occupied_area=sit.occupied_area, layers_as_of=sit.layers_as_of)
    fr = prepare_front(sit.front_line, sit.occupied_area)
    sets = _canonical(sit["settlements"][~fr.occupied(sit["settlements"].geometry)])
    shel = _canonical(sit["shelters"][~fr.occupied(sit["shelters"].geometry)])
    travel_time_reach(graph, sets, shel, max_minutes=minutes, policy=policy)  # snapping and chains, not timed
    rows, got = [], {}
    for method in ("tiles", "core"):
        t, c, got[method] = cpu_time(travel_time_reach, graph, sets, shel, max_minutes=minutes, policy=policy,
                                     method=method, repeat=2)
        rows.append((f"reach {minutes:g} min, {method} search", t, float("nan"),
                     f"CPU {c:.2f} s, load {os.getloadavg()[0]:.0f}; {len(got[method].s):,} pairs"))
    a, b = got["tiles"], got["core"]
    same = np.array_equal(a.s, b.s) and np.array_equal(a.h, b.h)
    diff = float(np.abs(a.cost - b.cost).max()) if same and len(a.s) else float("nan")
    print(f"reach: same pairs {same}; largest minutes difference {diff:.3g}")
    pop = _int_col(sets, "population", "settlements", required=True)
    room = np.maximum(_int_col(shel, "capacity", "shelters", required=True)
                      - _int_col(shel, "occupancy", "shelters", required=False), 0)
    room = np.where(np.isin(shel["status"].astype(str).to_numpy(), USABLE_STATUSES), room, 0)
    flows = {}
    real = alloc_mod._undominated
    for label, fn in (("every edge", lambda s, *_a: np.ones(len(s), dtype=bool)), ("dominated edges dropped", real)):
        alloc_mod._undominated = fn
        try:
            t, c, flows[label] = cpu_time(alloc_mod.allocate, pop, room, b, repeat=2)
        finally:
            alloc_mod._undominated = real
        rows.append((f"allocation of the pairs, {label}", t, float("nan"),
                     f"CPU {c:.2f} s, load {os.getloadavg()[0]:.0f}; placed {int(flows[label].sum()):,}"))
    f0, f1 = flows.values()
    print("allocation: placed", int(f0.sum()), int(f1.sum()), "person-minutes", float((f0 * b.cost).sum()),
          float((f1 * b.cost).sum()), "settlements covered differently",
          int((np.bincount(b.s, f0, len(pop)) != np.bincount(b.s, f1, len(pop))).sum()),
          "shelters filled differently", int((np.bincount(b.h, f0, len(room)) != np.bincount(b.h, f1, len(room))).sum()),
          "edges with other flows", int((f0 != f1).sum()))
    return rows

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="data/national.duckdb")
    ap.add_argument("--max-km", nargs="+", type=float, default=[2.0])
    ap.add_argument("--bands", default=",".join(f"{b:g}" for b in DEFAULT_BANDS_KM))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--road-minutes", type=float, default=15.0, help="coverage by road time (0: skip)")
    ap.add_argument("--prepare", action="store_true",
                    help="road time: prepare ahead as the server's background warm-up does (then the first call)")
    ap.add_argument("--road-compare", action="store_true",
                    help="only the road-time reach (tiles vs core search) and its allocation, compared")
    args = ap.parse_args(argv)
    bands = tuple(float(b) for b in args.bands.split(","))
    if args.road_compare:
        for name, a, _b, note in road_compare(args.db, args.road_minutes or 15.0):
            print(f"| {name} | {a:.2f} | {note} |")
        return 0
    t0 = time.perf_counter()
    with connect(args.db, read_only=True) as store:
        as_of = store.history_times("front_line")[-1]
        front = store.read("front_line", as_of=as_of)
        occ = store.read("occupied_area", as_of=as_of)
        layers = {
            "settlements": store.read("settlements", columns=["name", "population"]),
            "shelters": store.read("shelters", columns=["name", "capacity", "occupancy", "status"]),
            "infrastructure": store.read("infrastructure", columns=["name", "sector", "damage", "people_served"]),
        }
    read_s = time.perf_counter() - t0
    sizes = {k: len(v) for k, v in layers.items()}
    n_vertices = int(sum(len(g.coords) if g.geom_type == "LineString" else sum(len(p.coords) for p in g.geoms)
                         for g in front.geometry))
    print(f"data: {sizes}, front line {n_vertices} vertices, as of {as_of}; read {read_s:.2f} s")
    rows = []
    cpu: dict[str, float] = {}
    with connect(args.db, read_only=True) as store:
        t_at, cpu["exposure_at"], doc = cpu_time(exposure_at, store, bands_km=bands, repeat=args.repeat)
    rows.append(("exposure_at from the store (reads + 3 layers)", t_at, float("nan"),
                 f"CPU {cpu['exposure_at']:.2f} s; total population {doc.to_dict()['total']['population']:,}"))
    t_exp, cpu["exposure"], res = cpu_time(exposure, settlements=layers["settlements"], shelters=layers["shelters"],
                       infrastructure=layers["infrastructure"], front_line=front, occupied_area=occ,
                       bands_km=bands, repeat=args.repeat)
    ours_pop = {b["band"]: b["population"] for b in res.to_dict()["bands"]}
    if not args.skip_naive:
        t_nexp, c_nexp, naive = cpu_time(naive_exposure, layers, front, occ, bands)
        agree = {b: (ours_pop[b], naive["settlements"].get(b, 0)) for b in ours_pop}
        rows.append(("exposure (3 layers, 3 bands + occupied)", t_exp, t_nexp,
                     f"CPU {cpu['exposure']:.2f} s, geopandas CPU {c_nexp:.2f} s "
                     f"({c_nexp / max(cpu['exposure'], 1e-9):.1f}x); population per band ours/naive {agree}"))
    else:
        rows.append(("exposure (3 layers, 3 bands + occupied)", t_exp, float("nan"), f"CPU {cpu['exposure']:.2f} s"))
    # coverage on the friendly side
    fr = prepare_front(front, occ)
    sets = layers["settlements"][~fr.occupied(layers["settlements"].geometry)]
    shel = layers["shelters"][~fr.occupied(layers["shelters"].geometry)]
    from cimic_geo.analytics import allocation as alloc_kept

    def fresh_coverage(**kw: Any) -> Any:
        alloc_kept._LAST.clear()  # a new question every call: the last allocation kept would answer it at once
        return coverage(**kw)

    for d in args.max_km:
        t_cov, c_cov, cov = cpu_time(fresh_coverage, settlements=sets, shelters=shel, max_km=d, repeat=args.repeat)
        note = f"CPU {c_cov:.2f} s; covered {cov.population_covered:,} ({cov.covered_pct:.2f} %)"
        if not args.skip_naive:
            t_ncov, c_ncov, placed = cpu_time(naive_coverage, sets, shel, d)
            note += f", geopandas CPU {c_ncov:.2f} s ({c_ncov / max(c_cov, 1e-9):.1f}x); naive AccessMod-style placed {placed:,}"
        else:
            t_ncov = float("nan")
        rows.append((f"coverage within {d:g} km (exact allocation)", t_cov, t_ncov, note))
    if args.road_minutes > 0:
        from cimic_geo.corridors import load_access_context

        with connect(args.db, read_only=False) as store:
            load_access_context(store)  # the planner's kept graph (built and kept once if missing)
        with connect(args.db, read_only=True) as store:
            # first: the kept graph read; again: in memory (the same question: its reach and allocation kept);
            # a new limit: smaller, then larger within the search ahead (both from the kept reach), then
            # larger past it (searched again), each solved again in the warm process
            from cimic_geo.analytics.coverage_graph import SEARCH_AHEAD_MIN, prepare

            if args.prepare:  # as the server's background warm-up does before a user asks
                t_p, c_p, ok = cpu_time(prepare, store, max_minutes=args.road_minutes)
                rows.append((f"coverage by road time prepared ahead for {args.road_minutes:g} min (the server's "
                             "warm-up, not a user's wait)", t_p, float("nan"),
                             f"CPU {c_p:.2f} s, load {os.getloadavg()[0]:.0f}; ready {ok}"))
            up = args.road_minutes + SEARCH_AHEAD_MIN
            for run, minutes in (("first", args.road_minutes), ("again", args.road_minutes),
                                 ("new limit", args.road_minutes - 1.0), ("new larger limit", up),
                                 ("larger past the search ahead", up + SEARCH_AHEAD_MIN)):
                t_road, c_road, cov = cpu_time(coverage_at, store, max_minutes=minutes)
                rows.append((f"coverage_at by road time {minutes:g} min ({run} call)", t_road, float("nan"),
                             f"CPU {c_road:.2f} s, load {os.getloadavg()[0]:.0f}; covered {cov.population_covered:,} "
                             f"({cov.covered_pct:.2f} %)"))
    print()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("| task | ours (s) | geopandas buffer/sjoin (s) | speed-up | notes |")
    print("|---|---:|---:|---:|---|")
    for name, a, b, note in rows:
        speed = f"{b / a:.1f}x" if np.isfinite(b) and a > 0 else "-"
        print(f"| {name} | {a:.2f} | {b:.2f} | {speed} | {note} |")
    return 0


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    raise SystemExit(main())
