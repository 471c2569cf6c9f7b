"""Front-line history imports: occupied-area or front-line snapshot files (one per date) turned into
validity-chained rows of ``occupied_area`` and ``front_line``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.geo import geodesic_area_km2, geodesic_length_km
from cimic_geo.i18n import _
from cimic_geo.ingest.front_snapshots import (
    derive_front_line,
    occupied_geometry,
    snapshot_time,
    territory_problems,
)
from cimic_geo.ingest.import_report import ImportReport, PreparedImport, file_hashes, open_source
from cimic_geo.ingest.readers import SourceData
from cimic_geo.ingest.validate import Options, Provenance, validate_source
from cimic_geo.store import Store
from cimic_geo.store.imports import LayerWrite, history_count
from cimic_geo.timefmt import iso


def _stamp(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y%m%dT%H%M%SZ")


def prepare_history(
    layer: str, paths: list, *, store: Store | None, mode: str, opts: Options, valid_from: Any,
    border: BaseGeometry | None, border_tolerance_km: float, only_valid: bool, name: str | None,
    source_layer: str | None, allow_outline_front: bool = False, territory_name: str | None = None,
) -> PreparedImport:
    if valid_from is not None and len(paths) > 1:
        raise ValidationError(_("{option} applies to one file").format(option="--valid-from"),
                              [Problem(None, "valid_from", _("{n} files given; the date of each is taken from a "
                                                             "property or its file name").format(n=len(paths)))])
    problems: list[Problem] = []
    occ_rows: list[dict[str, Any]] = []
    fl_rows: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    names: list[str] = []
    seen: dict[pd.Timestamp, str] = {}
    previews: list[gpd.GeoDataFrame] = []
    rows_read = 0
    bad_files = 0
    if layer == "occupied_area":
        problems += territory_problems(border, tolerance_km=border_tolerance_km, allow_outline=allow_outline_front,
                                       name=territory_name)
    for k, p in enumerate(paths, start=1):
        try:
            src = open_source(p, name=name if len(paths) == 1 else None, source_layer=source_layer)
        except ValidationError as exc:
            for q in exc.problems:
                problems.append(Problem(q.row, q.field, f"{Path(str(p)).name}: {q.message}", q.severity))
            names.append(Path(str(p)).name)
            bad_files += 1
            continue
        names.append(src.name)
        rows_read += len(src.frame)
        label = src.name
        ts, origin = snapshot_time(src.name if not isinstance(p, (str, os.PathLike)) else p,
                                   explicit=valid_from, frame=src.frame,
                                   date_column=(opts.mapping or {}).get("valid_from"))
        if ts is None:
            problems.append(Problem(None, "valid_from", _("{file}: no snapshot date (give {option}, a date "
                                                          "property, or a file name with YYYYMMDD)").format(
                file=label, option="--valid-from")))
            bad_files += 1
            continue
        if ts in seen:
            problems.append(Problem(None, "valid_from", _("{file}: date {date} also given by {other}").format(
                file=label, date=iso(ts), other=seen[ts])))
            bad_files += 1
            continue
        seen[ts] = label
        if layer == "occupied_area":
            geom, probs, __ = occupied_geometry(src, extent=opts.extent)
        else:
            geom, probs = _front_lines(src, extent=opts.extent)
        problems += [Problem(q.row, q.field, f"{label}: {q.message}", q.severity) for q in probs]
        if geom is None or geom.is_empty:
            problems.append(Problem(None, "geometry", (_("{file}: no occupied area found in the file")
                                                      if layer == "occupied_area" else
                                                      _("{file}: no front line found in the file")).format(file=label)))
            bad_files += 1
            continue
        one = SourceData(frame=gpd.GeoDataFrame({"_k": [k]}, geometry=[geom], crs="EPSG:4326"), name=label)
        vopts = Options(mapping={}, defaults={"id": f"{'occupied' if layer == 'occupied_area' else 'front'}-"
                                               f"{_stamp(ts)}", "valid_from": ts.isoformat()},
                        provenance=Provenance(source=opts.provenance.source or label,
                                              reported_at=opts.provenance.reported_at or ts,
                                              reliability=opts.provenance.reliability),
                        extent=opts.extent)
        v = validate_source(layer, one, vopts)
        problems += [Problem(None, q.field, f"{label}: {q.message}", q.severity)
                     for q in v.problems if not (q.field == "reliability" and q.severity == "warning")]
        if v.bad_rows:
            bad_files += 1
            continue
        row = v.frame.iloc[0].to_dict()
        front_km = 0.0
        area = 0.0
        if layer == "occupied_area":
            occ_rows.append(row)
            area = geodesic_area_km2(row["geometry"])
            line = derive_front_line(row["geometry"], border=border, tolerance_km=border_tolerance_km)
            if line.is_empty:
                problems.append(Problem(None, "front_line", _("{file}: the occupied area has no boundary away from "
                                                              "the border; no front line for this date").format(
                    file=label), "warning"))
            else:
                fl = dict(row, id=f"front-{_stamp(ts)}", geometry=line)
                fl_rows.append(fl)
                front_km = geodesic_length_km(line)
        else:
            fl_rows.append(row)
            front_km = geodesic_length_km(row["geometry"])
        snapshots.append({"valid_from": iso(ts), "date_from": origin, "file": label, "area_km2": area,
                          "front_km": front_km, "boundary_km": geodesic_length_km(row["geometry"].boundary)
                          if layer == "occupied_area" else front_km})
        previews.append(gpd.GeoDataFrame({"_row": [k], "_status": ["ok"], "valid_from": [ts], "file": [label]},
                                         geometry=[row["geometry"]], crs="EPSG:4326"))
        if layer == "occupied_area" and front_km > 0:
            previews.append(gpd.GeoDataFrame({"_row": [k], "_status": ["derived"], "valid_from": [ts],
                                              "file": [label], "front_km": [round(front_km, 1)]},
                                             geometry=[fl_rows[-1]["geometry"]], crs="EPSG:4326"))
    if opts.provenance.reliability is None and (occ_rows or fl_rows):
        problems.append(Problem(None, "reliability", _("no reliability given; snapshots set to {code} (cannot be "
                                                       "judged)").format(code="F6"), "warning"))
    good_times = sorted(pd.Timestamp(r["valid_from"]) for r in (occ_rows or fl_rows))
    snapshots.sort(key=lambda s: s["valid_from"])
    report = ImportReport(layer=layer, mode=mode, files=names, rows_read=rows_read, snapshots=snapshots,
                          only_valid=only_valid, mapping={}, sha256=file_hashes(paths))
    report.rows_valid = len(good_times)
    report.rows_rejected = len(paths) - len(good_times)
    if store is not None and good_times:
        n_old = history_count(store, layer, good_times)
        if n_old:
            problems.append(Problem(None, "valid_from", _("{n} row(s) of {layer} with the same date(s) will be "
                                                          "replaced").format(n=n_old, layer=layer), "info"))
    if bad_files and not only_valid:
        # a file-level error: make it a whole-import error so that nothing is written
        problems.append(Problem(None, None, _("{n} of {total} snapshot file(s) rejected").format(
            n=bad_files, total=len(paths))))
    report.problems = problems
    writes: list[LayerWrite] = []
    span = (good_times[0], good_times[-1]) if good_times else None
    use_range = mode == "replace" and span is not None
    if occ_rows or layer == "occupied_area":
        occ = _history_frame(occ_rows)
        if layer == "occupied_area":
            writes.append(LayerWrite("occupied_area", occ, mode="append", delete_times=[] if use_range else good_times,
                                     delete_range=span if use_range else None))
    fl = _history_frame(fl_rows)
    writes.append(LayerWrite("front_line", fl, mode="append", delete_times=[] if use_range else good_times,
                             delete_range=span if use_range else None))
    preview = (gpd.GeoDataFrame(pd.concat(previews, ignore_index=True), geometry="geometry", crs="EPSG:4326")
               if previews else gpd.GeoDataFrame({"_row": [], "_status": []}, geometry=[], crs="EPSG:4326"))
    return PreparedImport(report=report, writes=writes, preview=preview)


def _history_frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    df = pd.DataFrame(rows)
    geoms = df.pop("geometry").tolist()
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def _front_lines(src: SourceData, *, extent: tuple[float, float, float, float] | None
                 ) -> tuple[BaseGeometry | None, list[Problem]]:
    """A front-line snapshot file: its line features merged into one (Multi)LineString."""
    problems: list[Problem] = []
    lines = []
    skipped = 0
    for i, g in enumerate(src.frame.geometry.tolist(), start=1):
        if g is None or g.is_empty:
            continue
        parts = [p for p in shapely.get_parts(g).tolist() if p.geom_type in ("LineString", "MultiLineString")]
        if not parts:
            skipped += 1
            continue
        for p in parts:
            b = p.bounds
            if extent is not None and (b[0] < extent[0] or b[1] < extent[1] or b[2] > extent[2] or b[3] > extent[3]):
                problems.append(Problem(i, "geometry", _("line outside the plausible extent; skipped"), "warning"))
                continue
            lines += shapely.get_parts(p).tolist()
    if skipped:
        problems.append(Problem(None, "geometry", _("skipped {n} feature(s) that are not lines").format(n=skipped),
                                "warning"))
    if not lines:
        return None, problems
    return shapely.line_merge(shapely.MultiLineString(lines)), problems
