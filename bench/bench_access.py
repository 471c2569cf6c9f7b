"""Benchmark: road graph build and routing on the national scenario, next to networkx.

    .venv/bin/python bench/bench_access.py [--db data/national.duckdb] [--routes 100] [--nx-routes 100]

Measures, in one run on the same graph:

* reading the layers from the store, building the road graph (nodes, geodesic lengths, travel
  times, distance of every segment to the front line) and the CSR matrix for the default policy;
* the median time of ``--routes`` random routes (fixed seed; origin and destination drawn from the
  largest connected component) with :func:`cimic_geo.analytics.routing.find_routes` — path,
  geometry and all — and of ``--nx-routes`` of the same pairs with
  ``networkx.bidirectional_dijkstra`` on a networkx graph with the same weights (the baseline);
  every route's cost is checked against networkx's;
* a route with 3 alternatives, time to safety for all settlements (multi-source) and cut-off.

Targets: route ≤ 150 ms median, build ≤ 15 s, ≥ 20× faster than networkx.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
from _common import ROOT
from scipy.sparse.csgraph import connected_components

from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph
from cimic_geo.analytics.routing import find_routes
from cimic_geo.analytics.situation import history_times, resolve_as_of
from cimic_geo.analytics.time_to_safety import time_to_safety
from cimic_geo.corridors import make_policy
from cimic_geo.store import connect


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "national.duckdb"))
    ap.add_argument("--routes", type=int, default=100)
    ap.add_argument("--nx-routes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    out: dict = {"db": args.db, "python": platform.python_version(), "machine": platform.machine()}

    t0 = time.perf_counter()
    with connect(args.db, read_only=True) as store:
        t = resolve_as_of(None, history_times(store))
        front = store.read("front_line", as_of=t)
        occupied = store.read("occupied_area", as_of=t)
        roads = store.read("roads", columns=["road_class", "speed_kmh", "bridge", "status", "name"])
        infra = store.read("infrastructure", where={"sector": ["bridge", "health"]},
                           columns=["name", "sector", "damage", "road_id"])
        settlements = store.read("settlements", columns=["name", "name_uk", "population"])
    out["read_s"] = round(time.perf_counter() - t0, 2)
    out["segments"] = len(roads)

    t0 = time.perf_counter()
    g = build_road_graph(roads, front_line=front, occupied=occupied, infrastructure=infra, as_of=t)
    out["build_graph_s"] = round(time.perf_counter() - t0, 2)
    policy = make_policy(avoid_km=None, penalise=True, bands_km=g.bands_km)
    t0 = time.perf_counter()
    w = g.weighted(policy)
    g.snap(float(g.node_lonlat[0, 0]), float(g.node_lonlat[0, 1]))  # builds the snapping KD-tree
    out["build_csr_and_index_s"] = round(time.perf_counter() - t0, 2)
    out["build_total_s"] = round(out["build_graph_s"] + out["build_csr_and_index_s"], 2)
    out["nodes"], out["edges"] = g.n_nodes, g.n_edges
    out["core_junctions"], out["core_edges"] = len(w.core_nodes), len(w.pair_a)

    _, labels = connected_components(w.csr, directed=False)
    big = np.flatnonzero(labels == np.bincount(labels).argmax())
    rng = np.random.default_rng(args.seed)
    pairs = [tuple(int(x) for x in rng.choice(big, 2, replace=False)) for _ in range(args.routes)]

    ours, costs, lengths = [], [], []
    for o, d in pairs:
        t0 = time.perf_counter()
        r = find_routes(g, o, d, policy=policy, alternatives=0)
        ours.append(time.perf_counter() - t0)
        costs.append(r[0].cost)
        lengths.append(r[0].length_km)
    out["route_median_ms"] = round(1000 * statistics.median(ours), 1)
    out["route_p90_ms"] = round(1000 * float(np.percentile(ours, 90)), 1)
    out["route_median_length_km"] = round(float(np.median(lengths)), 1)

    alt = []
    for o, d in pairs[:10]:
        t0 = time.perf_counter()
        find_routes(g, o, d, policy=policy, alternatives=3)
        alt.append(time.perf_counter() - t0)
    out["route_with_3_alternatives_median_ms"] = round(1000 * statistics.median(alt), 1)

    t0 = time.perf_counter()
    tts = time_to_safety(g, settlements, policy=RoutingPolicy(avoid_km=g.bands_km[0], penalties=None))
    out["time_to_safety_all_settlements_s"] = round(time.perf_counter() - t0, 2)
    out["cut_off_settlements"] = int((tts["status"] == "cut_off").sum())

    if args.nx_routes:
        import networkx as nx

        t0 = time.perf_counter()
        G = nx.Graph()
        coo = w.csr.tocoo()
        keep = coo.row < coo.col  # symmetric: one undirected edge per pair
        G.add_weighted_edges_from(zip(coo.row[keep].tolist(), coo.col[keep].tolist(), coo.data[keep].tolist(),
                                      strict=True))
        out["networkx_build_s"] = round(time.perf_counter() - t0, 2)
        theirs = []
        for (o, d), c in zip(pairs[: args.nx_routes], costs, strict=False):
            t0 = time.perf_counter()
            length, _path = nx.bidirectional_dijkstra(G, o, d, weight="weight")
            theirs.append(time.perf_counter() - t0)
            if abs(length - c) > 1e-6 * max(1.0, c):
                raise SystemExit(f"cost mismatch for {o}->{d}: ours {c}, networkx {length}")
        out["networkx_routes"] = len(theirs)
        out["networkx_route_median_ms"] = round(1000 * statistics.median(theirs), 1)
        ours_same = ours[: len(theirs)]
        out["speedup_median"] = round(statistics.median(theirs) / statistics.median(ours_same), 1)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for k, v in out.items():
            print(f"{k:38s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
