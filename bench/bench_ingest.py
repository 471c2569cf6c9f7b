"""Import throughput: validate + write N shelter points from a GeoJSON file.

Baseline measured in the same run: the same validation with the vectorised geometry screen switched
off (every record through the per-row geometry checker).

    .venv/bin/python bench/bench_ingest.py [--rows 130000] [--write]   # --write: update docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from _common import write_section

from cimic_geo.ingest import import_file, read_source, validate_source
from cimic_geo.ingest import validate as _validate
from cimic_geo.store import init_store


def _file(path: Path, n: int) -> None:
    rng = random.Random(3)
    feats = [{"type": "Feature", "properties": {"id": f"s{i}", "name": f"Shelter {i}", "kind": "Підвал",
                                                 "capacity": i % 700, "status": "Відкрито"},
              "geometry": {"type": "Point", "coordinates": [36 + 2 * rng.random(), 48 + rng.random()]}}
             for i in range(n)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=130_000)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        src_path = Path(d) / "shelters.geojson"
        _file(src_path, args.rows)
        mb = os.path.getsize(src_path) / 1e6
        t = time.perf_counter()
        src = read_source(src_path)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        v = validate_source("shelters", src)
        t_valid = time.perf_counter() - t
        assert not v.bad_rows
        original = _validate.fast_ok
        _validate.fast_ok = lambda geoms, layer, extent: np.zeros(len(geoms), dtype=bool)
        try:
            t = time.perf_counter()
            v2 = validate_source("shelters", src)
            t_naive = time.perf_counter() - t
        finally:
            _validate.fast_ok = original
        assert not v2.bad_rows
        store = init_store(Path(d) / "b.duckdb")
        t = time.perf_counter()
        rep = import_file(store, "shelters", src_path, mode="append")
        t_total = time.perf_counter() - t
        assert rep.ok and rep.written["shelters"] == args.rows
        store.close()
    load = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Import",
        "",
        f"Command: `.venv/bin/python bench/bench_ingest.py --rows {args.rows} --write` — {stamp}, "
        f"{os.cpu_count()} CPUs shared with other jobs (load average {load:.1f}). File: {args.rows:,} shelter "
        f"points, GeoJSON {mb:.0f} MB, Ukrainian labels to normalise (`Підвал`, `Відкрито`).",
        "",
        "| step | time (s) | rows/s |",
        "|---|---:|---:|",
        f"| read (pyogrio/GDAL) | {t_read:.2f} | {args.rows / t_read:,.0f} |",
        f"| validate (vectorised geometry screen) | {t_valid:.2f} | {args.rows / t_valid:,.0f} |",
        f"| validate, naive baseline (per-row geometry checks) | {t_naive:.2f} | {args.rows / t_naive:,.0f} |",
        f"| whole import: read + validate + id check + one transaction | {t_total:.2f} | "
        f"{args.rows / t_total:,.0f} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(text, "## Import")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
