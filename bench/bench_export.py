"""Briefing exports: time to render the PNG snapshot of the demo oblast view and of the
national view, with a naive baseline measured in the same run, plus the other formats at demo scale.

For each database the view is the store's whole extent with the default layers (occupied area,
front line, settlements, shelters, infrastructure, corridors; no roads), as the COP opens.

1. **ours**: ``cimic_geo.export.export(store, view, "png", ...)`` end to end: read the view,
   KPI table (threat-band exposure), render in the view's metric CRS, write a 200-dpi A4 PNG.
   Broken down into read / KPIs / render+write.
2. **naive**: the same rows drawn with ``GeoDataFrame.plot()`` per layer (one call per layer,
   lon/lat axes, a legend) and saved at the same size and dpi, without KPIs: the obvious way.

Usage::

    .venv/bin/python bench/bench_export.py --demo /tmp/demo.duckdb [--national data/national.duckdb] \\
        [--repeat 3] [--write]

``--demo`` is seeded (``python -m cimic_geo seed --scale demo``) when the file does not exist.
``--write`` replaces the ``## Exports`` section of docs/BENCHMARKS.md with the results.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from _common import best_time, write_section


def naive_png(loaded, out: Path) -> None:
    """The baseline: GeoDataFrame.plot per layer in lon/lat, legend, 200 dpi A4."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11.69, 8.27))
    colours = {"occupied_area": "red", "front_line": "darkred", "infrastructure": "orange",
               "corridors": "blue", "settlements": "grey", "shelters": "green", "roads": "lightgrey"}
    for name, gdf in loaded.frames.items():
        if len(gdf):
            gdf.plot(ax=ax, color=colours.get(name, "black"), alpha=0.5 if name == "occupied_area" else 1.0,
                     markersize=6, label=name)
    ax.legend(loc="upper right")
    ax.set_title(loaded.view.title)
    fig.savefig(out, dpi=200)
    plt.close(fig)


def bench_db(db: Path, *, label: str, repeat: int, tmp: Path, all_formats: bool) -> dict:
    from cimic_geo.export import View, export, load_view
    from cimic_geo.export.snapshot import write_png
    from cimic_geo.export.snapshot_kpis import kpi_table
    from cimic_geo.store import connect

    with connect(db, read_only=True) as store:
        counts = store.counts()
        view = View(title=f"{label} view")
        t_read, loaded = best_time(lambda: load_view(store, view), repeat=repeat)
        t_kpi, kpis = best_time(lambda: kpi_table(store, loaded), repeat=repeat)
        out = tmp / f"{label}.png"
        t_render, _ = best_time(lambda: write_png(loaded, out, kpis=kpis), repeat=repeat)
        t_total, _ = best_time(lambda: export(store, view, "png", out), repeat=repeat)
        size = out.stat().st_size
        naive_out = tmp / f"{label}_naive.png"
        t_naive, _ = best_time(lambda: naive_png(loaded, naive_out), repeat=repeat)
        formats = {}
        if all_formats:
            for fmt, ext in (("pdf", "pdf"), ("html", "html"), ("geojson", "geojson"), ("gpkg", "gpkg"),
                             ("kml", "kml"), ("csv", "csv"), ("cot", "cot"), ("cotzip", "zip")):
                p = tmp / f"{label}.{ext}"
                try:
                    t, _ = best_time(lambda fmt=fmt, p=p: export(store, view, fmt, p), repeat=repeat)
                    formats[fmt] = (t, p.stat().st_size)
                except Exception as exc:  # report and go on (e.g. assets not installed for html)
                    formats[fmt] = (float("nan"), f"{type(exc).__name__}: {exc}")
    return {
        "label": label, "db": str(db), "counts": counts, "visible": loaded.counts(), "read": t_read, "kpi": t_kpi,
        "render": t_render, "total": t_total, "bytes": size, "naive": t_naive, "formats": formats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, required=True, help="demo database (seeded when missing)")
    parser.add_argument("--national", type=Path, help="national database (skipped when not given/missing)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the results to docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.demo.exists():
        from cimic_geo.scenario import seed_database

        seed_database(args.demo, scale="demo")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_export_") as d:
        results.append(bench_db(args.demo, label="demo", repeat=args.repeat, tmp=Path(d), all_formats=True))
        if args.national and args.national.exists():
            results.append(bench_db(args.national, label="national", repeat=args.repeat, tmp=Path(d),
                                    all_formats=False))
    cmd = "bench/bench_export.py --demo " + str(args.demo) + (
        f" --national {args.national}" if args.national else "") + f" --repeat {args.repeat}"
    lines = [
        "## Exports",
        "",
        f"Command: `.venv/bin/python {cmd}` · {platform.machine()}, {os.cpu_count()} cores shared with other jobs · "
        f"best of {args.repeat} runs (min wall time) · load average {os.getloadavg()[0]:.1f} at the end · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "View = the store's whole extent, default layers (no roads). PNG = A4 landscape, 200 dpi (2338 × 1654 px).",
        "",
        "| scale | features in view | read view | KPI table | render + write | **PNG end to end** | PNG size | "
        "naive `GeoDataFrame.plot` (no KPIs) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        n = sum(r["visible"].values())
        lines.append(
            f"| {r['label']} | {n:,} | {r['read']:.2f} s | {r['kpi']:.2f} s | {r['render']:.2f} s | "
            f"**{r['total']:.2f} s** | {r['bytes'] / 1024:,.0f} KB | {r['naive']:.2f} s |"
        )
    demo = results[0]
    if demo["formats"]:
        lines += ["", "Other formats, demo view (end to end, best of the runs):", "", "| format | time | size |", "|---|---:|---:|"]
        for fmt, (t, size) in demo["formats"].items():
            size_txt = f"{size / 1024:,.0f} KB" if isinstance(size, int) else str(size)
            lines.append(f"| {fmt} | {t:.2f} s | {size_txt} |")
    lines += [
        "",
        "Ours draws points with one `scatter` per category and lines with `LineCollection` in the view's metric "
        "CRS, and adds a KPI table, scale bar, north arrow and banners; the naive baseline is one "
        "`GeoDataFrame.plot()` per layer in lon/lat (distorted, no KPIs).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(text, "## Exports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
