"""Benchmark the EXERCISE scenario generator: generation and store load times, rows per layer.

Usage::

    .venv/bin/python bench/bench_scenario.py                 # demo and national
    .venv/bin/python bench/bench_scenario.py --scale demo    # demo only (seconds)
    .venv/bin/python bench/bench_scenario.py --no-write      # print only

Writes the results into the ``## Scenario generation`` section of docs/BENCHMARKS.md (only that
section is replaced). The naive baseline, measured in the same run, builds the road-segment
geometries one ``shapely.LineString`` at a time in a Python loop instead of the vectorised
``shapely.linestrings`` call the generator uses.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from _common import ROOT, write_section

from cimic_geo.scenario import generate
from cimic_geo.store import init_store

SECTION = "## Scenario generation"


def _naive_linestrings(coords: np.ndarray) -> float:
    started = time.perf_counter()
    [shapely.LineString(c) for c in coords]
    return time.perf_counter() - started


def _vectorised_linestrings(coords: np.ndarray) -> float:
    started = time.perf_counter()
    shapely.linestrings(coords)
    return time.perf_counter() - started


def bench(scale: str, seed: int) -> dict:
    started = time.perf_counter()
    frames = generate(scale=scale, seed=seed)
    gen_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(dir=ROOT / "data" if (ROOT / "data").is_dir() else None) as tmp:
        store = init_store(Path(tmp) / "bench.duckdb")
        started = time.perf_counter()
        store.bulk_load(frames, meta={"marking": "EXERCISE", "scale": scale, "seed": seed})
        store.con.execute("CHECKPOINT")
        load_s = time.perf_counter() - started
        store.close()
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    coords = shapely.get_coordinates(frames["roads"].geometry.values).reshape(-1, 2, 2)
    vec_s = _vectorised_linestrings(coords)
    naive_s = _naive_linestrings(coords)
    infra = frames["infrastructure"]
    return {
        "scale": scale,
        "generate_s": gen_s,
        "load_s": load_s,
        "size_mb": size_mb,
        "counts": {k: len(v) for k, v in frames.items()},
        "damaged": int((infra["damage"] != "none").sum()),
        "population": int(frames["settlements"]["population"].sum()),
        "road_vec_s": vec_s,
        "road_naive_s": naive_s,
    }


def render(results: list[dict], command: str) -> str:
    layers = list(results[0]["counts"])
    lines = [
        SECTION,
        "",
        f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()} with {os.cpu_count()} cores shared with other jobs (timings are wall clock).",
        "Generation = `cimic_geo.scenario.generate` (all layers, seed 2026); load = `Store.bulk_load` into a new",
        "file plus CHECKPOINT (R-tree indexes built once after the insert).",
        "",
        "| scale | generate (s) | load (s) | total (s) | DB size (MB) | population | damaged infrastructure |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['scale']} | {r['generate_s']:.1f} | {r['load_s']:.1f} | {r['generate_s'] + r['load_s']:.1f} | "
            f"{r['size_mb']:.0f} | {r['population']:,} | {r['damaged']:,} |"
        )
    lines += ["", "| layer | " + " | ".join(r["scale"] for r in results) + " |",
              "|---|" + "---:|" * len(results)]
    for name in layers:
        lines.append(f"| {name} | " + " | ".join(f"{r['counts'][name]:,}" for r in results) + " |")
    lines += ["", "Naive baseline (same run): road-segment geometries built one `shapely.LineString` per segment in a",
              "Python loop vs the vectorised `shapely.linestrings` the generator uses:", "",
              "| scale | segments | vectorised (s) | Python loop (s) | speed-up |", "|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['scale']} | {r['counts']['roads']:,} | {r['road_vec_s']:.2f} | {r['road_naive_s']:.2f} | "
            f"{r['road_naive_s'] / max(r['road_vec_s'], 1e-9):.0f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("demo", "national", "both"), default="both")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    scales = ["demo", "national"] if args.scale == "both" else [args.scale]
    results = []
    for scale in scales:
        r = bench(scale, args.seed)
        print(f"{scale}: generate {r['generate_s']:.1f} s, load {r['load_s']:.1f} s, {r['counts']}", flush=True)
        results.append(r)
    command = ".venv/bin/python bench/bench_scenario.py" + ("" if args.scale == "both" else f" --scale {args.scale}")
    text = render(results, command)
    print(text)
    if not args.no_write:
        write_section(text, SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
