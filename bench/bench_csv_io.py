"""CSV import and CSV/KML export: ours against GDAL's drivers through pyogrio, measured in one run.

1. **CSV read** of N shelter points (lat/lon columns) and of N WKT points:
   ``cimic_geo.ingest.read_source`` (Python ``csv`` + encoding check + vectorised
   ``shapely.points``/``from_wkt``), the previous per-row loop (parse two numbers and build one
   ``Point`` per row), and ``pyogrio.read_dataframe`` with GDAL's CSV driver.
2. **CSV write** of the same points with every shelter column: ``cimic_geo.export.gis.csv_text``
   (Python ``csv`` writer, formula cells neutralised) against ``pyogrio.write_dataframe(driver="CSV",
   GEOMETRY="AS_WKT")``.
3. **KML write**: ``cimic_geo.export.gis.kml_document`` (ElementTree, typed schema + styles) against
   ``pyogrio.write_dataframe(driver="KML")``.

Usage::

    .venv/bin/python bench/bench_csv_io.py [--rows 100000] [--repeat 3] [--write]

``--write`` replaces the ``## CSV and KML`` section of docs/BENCHMARKS.md with the results.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import best_time, write_section


def _points(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return 36 + 2 * rng.random(n), 48 + rng.random(n)


def _write_csvs(folder: Path, n: int) -> tuple[Path, Path]:
    xs, ys = _points(n)
    base = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "name": [f"Укриття {i}" for i in range(n)],
                         "kind": "blast_shelter", "capacity": np.arange(n) % 700, "status": "open"})
    latlon = folder / "points.csv"
    base.assign(lat=np.round(ys, 6), lon=np.round(xs, 6)).to_csv(latlon, index=False)
    wkt = folder / "points_wkt.csv"
    base.assign(wkt=[f"POINT ({x:.6f} {y:.6f})" for x, y in zip(xs, ys, strict=True)]).to_csv(wkt, index=False)
    return latlon, wkt


def per_row_read(path: Path) -> int:
    """The previous reader's geometry step: two numbers and one Point per row."""
    import csv

    import shapely

    def number(v: str) -> float:
        text = v.strip().replace("\u00a0", "").replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            return float(text)
        except ValueError:
            return float("nan")

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    ilat, ilon = header.index("lat"), header.index("lon")
    geoms = [shapely.Point(number(r[ilon]), number(r[ilat])) for r in rows[1:]]
    return len(geoms)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)

    import geopandas as gpd
    import pyogrio

    from cimic_geo.export.export_view import LoadedView, View
    from cimic_geo.export.gis import csv_text, kml_document
    from cimic_geo.ingest import read_source

    n, rep = args.rows, args.repeat
    results: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        latlon, wkt = _write_csvs(folder, n)
        t, src = best_time(read_source, latlon, repeat=rep)
        assert len(src.frame) == n and src.frame.geometry.notna().all()
        results.append(("CSV read, lat/lon", "ours (csv + shapely.points)", t))
        t, _ = best_time(per_row_read, latlon, repeat=rep)
        results.append(("CSV read, lat/lon", "previous per-row Point loop", t))
        t, gdal = best_time(pyogrio.read_dataframe, latlon, repeat=rep, X_POSSIBLE_NAMES="lon",
                            Y_POSSIBLE_NAMES="lat", KEEP_GEOM_COLUMNS="NO")
        assert len(gdal) == n
        results.append(("CSV read, lat/lon", "pyogrio CSV driver", t))
        t, src_w = best_time(read_source, wkt, repeat=rep)
        assert src_w.frame.geometry.notna().all()
        results.append(("CSV read, WKT", "ours (csv + shapely.from_wkt)", t))
        t, _ = best_time(pyogrio.read_dataframe, wkt, repeat=rep, GEOM_POSSIBLE_NAMES="wkt", KEEP_GEOM_COLUMNS="NO")
        results.append(("CSV read, WKT", "pyogrio CSV driver", t))

        frame = gpd.GeoDataFrame(src.frame.drop(columns=["lat", "lon"], errors="ignore"), geometry="geometry",
                                 crs="EPSG:4326")
        frame["capacity"] = pd.to_numeric(frame["capacity"])
        loaded = LoadedView(view=View(layers=("shelters",)), bbox=(36, 48, 38, 49), as_of=None,
                            frames={"shelters": frame}, marking="EXERCISE", meta={})
        t, _ = best_time(csv_text, loaded, repeat=rep)
        results.append(("CSV write", "ours (csv writer, formulas neutralised)", t))
        out = folder / "gdal.csv"

        def gdal_csv() -> None:
            out.unlink(missing_ok=True)
            pyogrio.write_dataframe(frame, out, driver="CSV", layer_options={"GEOMETRY": "AS_WKT"})

        t, _ = best_time(gdal_csv, repeat=rep)
        results.append(("CSV write", "pyogrio CSV driver", t))
        t, _ = best_time(kml_document, loaded, repeat=rep)
        results.append(("KML write", "ours (ElementTree, typed schema + style)", t))
        kout = folder / "gdal.kml"

        def gdal_kml() -> None:
            kout.unlink(missing_ok=True)
            pyogrio.write_dataframe(frame, kout, driver="KML")

        t, _ = best_time(gdal_kml, repeat=rep)
        results.append(("KML write", "pyogrio KML driver (no styles, all fields as strings)", t))

    lines = ["## CSV and KML", "",
             f"`bench/bench_csv_io.py --rows {n} --repeat {rep}` ({platform.machine()}, {platform.python_version()}, "
             f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.0f} at the end; best of the repeats, "
             "seconds; compare the rows with each other, the machine was shared):", "",
             "| step | implementation | seconds |", "|---|---|---:|"]
    lines += [f"| {step} | {impl} | {t:.2f} |" for step, impl, t in results]
    lines += ["", "The import keeps Python's `csv` reader because it decides the encoding per file and names the "
              "record and column of a stray byte (GDAL's CSV driver assumes UTF-8); its geometry step is "
              "vectorised. Exports keep their writers where GDAL's driver cannot produce the same file "
              "(ISO 8601 times and neutralised formula cells in CSV; typed `Schema`, styles and one folder per "
              "layer in KML)."]
    text_out = "\n".join(lines) + "\n"
    print(text_out)
    if args.write:
        write_section(text_out, "## CSV and KML")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
