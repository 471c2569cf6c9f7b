"""Benchmark: real road networks — OSM import, noding, routing, the kept graph, memory under many policies.

    .venv/bin/python bench/bench_roads.py --db data/national.duckdb [--pbf FILE.osm.pbf] [--skip pyrosm]

Measures, in one run:

* **OSM import** of a national-size ``.osm.pbf`` (``--pbf``; by default one is written from the
  national scenario's roads with pyosmium's writer, ~1M ways): rows/s and peak memory (each
  reader in its own process) for :func:`cimic_geo.ingest.osm.read_osm_roads` with its two engines
  (pyosmium; GDAL's OSM driver through pyogrio), both feeding the same tag mapping, and pyrosm's
  driving network (its own mapping, everything in memory);
* **noding** the national roads layer (:func:`cimic_geo.analytics.road_noding.node_lines`);
* **route median** of ``--routes`` random pairs (fixed seed, largest component) with the default
  policy, next to ``networkx.bidirectional_dijkstra`` on the same weights for ``--nx-routes`` pairs;
* **cold CLI route**: ``python -m cimic_geo route`` in a fresh process, first building and saving
  the graph beside the store, then reusing it;
* **memory** (RSS) after routes with 20 different avoided distances (the weighted-graph cache is
  bounded, so it must stay flat).

Targets: route median ≤ 30 ms; cold CLI route ≤ 1.5 s; memory flat after 20 avoid distances.
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
from pathlib import Path

import numpy as np
from _common import ROOT, rss_mb, write_section

PY = sys.executable

_READERS = {
    "pyosmium": (
        "from cimic_geo.ingest.osm import read_osm_roads\n"
        "n = len(read_osm_roads(PATH, engine='pyosmium').frame)\n"
    ),
    "gdal": (
        "from cimic_geo.ingest.osm import read_osm_roads\n"
        "n = len(read_osm_roads(PATH, engine='gdal').frame)\n"
    ),
    "pyrosm": (
        "from pyrosm import OSM\n"
        "n = len(OSM(PATH).get_network(network_type='driving'))\n"
    ),
}


def write_pbf(db: str, path: Path) -> int:
    """A national-size ``.osm.pbf`` from the scenario's roads (nodes shared at equal coordinates)."""
    import osmium

    from cimic_geo.analytics.road_noding import vertex_keys
    from cimic_geo.store import connect

    with connect(db, read_only=True) as store:
        roads = store.read("roads", columns=["road_class", "speed_kmh", "name"])
    import shapely

    coords, idx = shapely.get_coordinates(roads.geometry.values, return_index=True)
    keys = vertex_keys(coords[:, 0], coords[:, 1], 7)
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    hw = {"motorway": "motorway", "trunk": "trunk", "primary": "primary", "secondary": "secondary",
          "tertiary": "tertiary", "local": "residential", "track": "track"}
    starts = np.r_[0, np.cumsum(np.bincount(idx, minlength=len(roads)))]
    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for i, f in enumerate(first):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(coords[f, 0], coords[f, 1])))
        for r, (cls, speed, name) in enumerate(zip(roads["road_class"], roads["speed_kmh"], roads["name"],
                                                   strict=True)):
            tags = {"highway": hw[cls], "maxspeed": str(int(speed))}
            if name:
                tags["name"] = str(name)
            w.add_way(osmium.osm.mutable.Way(id=r + 1, nodes=(inv[starts[r]:starts[r + 1]] + 1).tolist(), tags=tags))
    return len(roads)


def import_run(name: str, pbf: Path) -> dict:
    code = (f"import resource, time\nPATH = {str(pbf)!r}\nt0 = time.perf_counter()\n" + _READERS[name]
            + "u = resource.getrusage(resource.RUSAGE_SELF)\n"
            + "print(n, time.perf_counter() - t0, u.ru_utime + u.ru_stime, u.ru_maxrss)\n")
    res = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if res.returncode != 0:
        return {"reader": name, "error": res.stderr.strip().splitlines()[-1] if res.stderr else "failed"}
    n, secs, cpu, maxrss = res.stdout.split()[-4:]
    return {"reader": name, "rows": int(n), "seconds": round(float(secs), 1), "cpu_s": round(float(cpu), 1),
            "rows_per_cpu_s": round(int(n) / float(cpu)), "peak_mb": round(int(maxrss) / 1024)}


def cold_route(db: str, origin: str, dest: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "cimic_geo", "route", "--from", origin, "--to", dest, "--alternatives", "0",
                    "--db", db], capture_output=True, text=True, cwd=ROOT, check=False, timeout=600)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "national.duckdb"))
    ap.add_argument("--pbf", help="a national-size .osm.pbf (default: written from the national scenario)")
    ap.add_argument("--skip", action="append", default=[], help="skip a reader (pyosmium, gdal, pyrosm) or "
                    "a part (import, noding, routes, cold, memory)")
    ap.add_argument("--routes", type=int, default=50)
    ap.add_argument("--nx-routes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--write", action="store_true", help="record the results in docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    out: dict = {"db": args.db, "load_average": os.getloadavg()[0]}

    if "import" not in args.skip:
        pbf = Path(args.pbf) if args.pbf else Path(tempfile.gettempdir()) / "cimic_national_roads.osm.pbf"
        if not args.pbf and not pbf.exists():
            t0 = time.perf_counter()
            write_pbf(args.db, pbf)
            out["pbf_written_s"] = round(time.perf_counter() - t0, 1)
        out["pbf_mb"] = round(pbf.stat().st_size / 2**20, 1)
        out["import"] = [import_run(r, pbf) for r in _READERS if r not in args.skip]
        print(json.dumps(out["import"]), flush=True)

    from cimic_geo.analytics.road_noding import node_lines
    from cimic_geo.analytics.routing import find_routes
    from cimic_geo.corridors import load_access_context, make_policy
    from cimic_geo.store import connect

    with connect(args.db, read_only=True) as store:
        ctx = load_access_context(store)
        names = store.con.execute("SELECT name FROM settlements ORDER BY population DESC LIMIT 2").fetchall()
    g = ctx.graph
    if "noding" not in args.skip:
        t0 = time.perf_counter()
        noded = node_lines(np.asarray(g.roads.geometry.values, dtype=object))
        out["noding_s"] = round(time.perf_counter() - t0, 2)
        out["noding_segments"] = len(g.roads)
        out["noding_pieces"] = len(noded.piece_row)
        print("noding", out["noding_s"], flush=True)

    if "routes" not in args.skip:
        policy = make_policy(bands_km=g.bands_km)
        w = g.weighted(policy)
        conn = g.connectivity()
        main_nodes = np.unique(g.edge_u[conn.edge_component == 0])
        rng = np.random.default_rng(args.seed)
        pairs = [tuple(rng.choice(main_nodes, 2, replace=False)) for _ in range(args.routes)]
        times, costs = [], []
        for o, t in pairs:
            t0 = time.perf_counter()
            r = find_routes(g, int(o), int(t), policy=policy, alternatives=0)
            times.append(time.perf_counter() - t0)
            costs.append(r[0].cost if r else np.inf)
        out["route_median_ms"] = round(1000 * statistics.median(times), 1)
        import networkx as nx

        t0 = time.perf_counter()
        csr = w.csr.tocoo()
        gx = nx.DiGraph()
        gx.add_nodes_from(range(g.n_nodes))
        gx.add_weighted_edges_from(zip(csr.row.tolist(), csr.col.tolist(), csr.data.tolist(), strict=True))
        out["networkx_build_s"] = round(time.perf_counter() - t0, 1)
        nx_times = []
        for (o, t), c in list(zip(pairs, costs, strict=True))[: args.nx_routes]:
            t0 = time.perf_counter()
            try:
                d, _ = nx.bidirectional_dijkstra(gx, int(o), int(t))
            except nx.NetworkXNoPath:
                d = np.inf
            nx_times.append(time.perf_counter() - t0)
            assert (not np.isfinite(c) and not np.isfinite(d)) or abs(d - c) <= 1e-6 * max(c, 1), (o, t, c, d)
        out["networkx_route_median_ms"] = round(1000 * statistics.median(nx_times), 1)
        del gx
        print("routes", out["route_median_ms"], out["networkx_route_median_ms"], flush=True)

    if "memory" not in args.skip:
        o, t = (int(x) for x in np.random.default_rng(1).choice(np.unique(g.edge_u), 2, replace=False))
        rss = []
        for km in range(1, 21):
            find_routes(g, o, t, policy=make_policy(avoid_km=float(km), bands_km=g.bands_km), alternatives=0)
            rss.append(rss_mb())
        out["rss_mb_after_avoid_5_10_20"] = [round(rss[4]), round(rss[9]), round(rss[19])]
        print("memory", out["rss_mb_after_avoid_5_10_20"], flush=True)

    if "cold" not in args.skip and len(names) == 2:
        import shutil

        from cimic_geo.analytics.road_cache import graph_file

        shutil.rmtree(graph_file(args.db), ignore_errors=True)  # a folder of arrays
        out["cli_route_building_graph_s"] = round(cold_route(args.db, names[0][0], names[1][0]), 2)
        out["cli_route_cold_s"] = round(min(cold_route(args.db, names[0][0], names[1][0]) for _ in range(3)), 2)
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", "import cimic_geo.cli"], cwd=ROOT, check=True)
        out["cli_import_only_s"] = round(time.perf_counter() - t0, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, indent=2))
    if args.write:
        write_section(_markdown(out), "## Roads")
    return 0


def _markdown(o: dict) -> str:
    lines = ["## Roads", "", "`bench/bench_roads.py` on the national scenario "
             f"(load average {o['load_average']:.1f} on a shared 2-core machine: absolute times are inflated).", ""]
    if "import" in o:
        lines += [f"OSM import of a {o['pbf_mb']} MB `.osm.pbf` (the national roads written with pyosmium), "
                  "each reader in its own process (CPU seconds: user + system of all its threads, the fair measure on a "
                  "busy machine):", "", "| reader | rows | wall s | CPU s | rows per CPU s | peak MB |",
                  "|---|---|---|---|---|---|"]
        for r in o["import"]:
            lines.append(f"| {r['reader']} | {r.get('rows', '-')} | {r.get('seconds', '-')} | {r.get('cpu_s', '-')} | "
                         f"{r.get('rows_per_cpu_s', r.get('error', '-'))} | {r.get('peak_mb', '-')} |")
        lines.append("")
    for key, label in (("noding_s", "noding (s)"), ("route_median_ms", "route median (ms, target ≤ 30)"),
                       ("networkx_route_median_ms", "networkx bidirectional Dijkstra, same graph (ms)"),
                       ("cli_route_building_graph_s", "CLI route, building and saving the graph (s)"),
                       ("cli_route_cold_s", "CLI route, fresh process, graph kept (s, target ≤ 1.5)"),
                       ("cli_import_only_s", "of which Python start + imports (s)"),
                       ("rss_mb_after_avoid_5_10_20", "RSS after 5, 10, 20 avoid distances (MB)")):
        if key in o:
            lines.append(f"- {label}: {o[key]}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
