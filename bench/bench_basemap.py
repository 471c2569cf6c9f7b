"""COP basemap layers (outlines and water, major roads, place names) for the first view at three
zooms: the first view of a store version with nothing kept (the major roads merged per class and kept
beside the store), the first view of a new process (the merged roads read from the kept file) and the
next views.

    .venv/bin/python bench/bench_basemap.py --db /path/to/national.duckdb

Prints wall and CPU seconds per view with the load average (the machine is shared: CPU seconds
are the idle-equivalent measure).
"""

from __future__ import annotations

import argparse
import os
import time

import _common  # noqa: F401  (puts the repository root on sys.path)

from cimic_geo.maps import basemap_cache
from cimic_geo.maps.cop_view import basemap_layers
from cimic_geo.store import connect


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    with connect(args.db, read_only=True) as store:
        x0, y0, x1, y1 = store.bbox()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        views = {6: (x0, y0, x1, y1), 9: (cx - 1.2, cy - 0.6, cx + 1.2, cy + 0.6),
                 12: (cx - 0.15, cy - 0.08, cx + 0.15, cy + 0.08)}
        kept = basemap_cache.kept_roads_path(store)
        if kept is not None:
            kept.unlink(missing_ok=True)
        for label in ("first view, nothing kept", "first view of a new process (roads kept)",
                      "next view (same version)"):
            if label.startswith("first"):
                basemap_cache.clear()
            for zoom, bbox in views.items():
                t, c = time.perf_counter(), time.process_time()
                out = basemap_layers(store, bbox=bbox, zoom=zoom)
                print(f"zoom {zoom:2d} {label}: wall {time.perf_counter() - t:.3f} s, "
                      f"CPU {time.process_time() - c:.3f} s, rows {({k: len(v) for k, v in out.items()})}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
