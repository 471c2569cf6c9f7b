"""File readers: GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ and CSV (lat/lon or WKT columns).

Every reader returns a :class:`SourceData`: the records as a GeoDataFrame in EPSG:4326 (geometry
may be missing for some rows; validation reports them) and the problems met while reading. A file
that cannot be parsed at all (truncated JSON, not a zip, unknown format) raises
:class:`~cimic_geo.errors.ValidationError` with one problem; nothing is ever half-read.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import _
from cimic_geo.ingest.csv_source import read_csv

WGS84 = "EPSG:4326"

#: File extensions the importer reads, with a short description for the UI.
FORMATS: dict[str, str] = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".zip": "zipped Shapefile (or zipped GeoJSON/GeoPackage/KML)",
    ".shp": "Shapefile",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".csv": "CSV with lat/lon or WKT columns",
    ".txt": "CSV with lat/lon or WKT columns",
    ".pbf": "OpenStreetMap extract .osm.pbf (roads)",
    ".osm": "OpenStreetMap XML .osm (roads)",
}



@dataclass
class SourceData:
    """Records read from a file.

    Attributes
    ----------
    frame : GeoDataFrame in EPSG:4326, one row per record in file order (row ``i`` is record ``i+1``)
    name : file name shown in reports and used as the default ``source``
    problems : problems met while reading (bad coordinates in a CSV row, CRS assumed, ...)
    crs_in : the CRS the file declared (before reprojection), as text
    """

    frame: gpd.GeoDataFrame
    name: str
    problems: list[Problem] = field(default_factory=list)
    crs_in: str | None = None
    layers: list[str] = field(default_factory=list)


def _fail(name: str, message: str) -> ValidationError:
    return ValidationError(_("cannot read {name}: {reason}").format(name=name, reason=message),
                           [Problem(None, None, message)])


def read_source(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    name: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
    wkt_column: str | None = None,
) -> SourceData:
    """Read a vector file into EPSG:4326.

    Parameters
    ----------
    path : the file (``.geojson``, ``.json``, ``.gpkg``, ``.zip``, ``.shp``, ``.kml``, ``.kmz``, ``.csv``)
    layer : layer of a multi-layer file (GeoPackage); default the first layer with features
        (KML: all folders are read and concatenated)
    name : name used in messages (default the file name)
    lat_column, lon_column, wkt_column : CSV geometry columns (default detected by name)

    Raises
    ------
    ValidationError
        When the file cannot be read at all (one problem with the reason).
    """
    p = Path(path)
    label = name or p.name
    if not p.exists():
        raise _fail(label, _("file not found"))
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise _fail(label, _("unsupported file type '{ext}'; supported: {supported}").format(
            ext=ext or _("(none)"), supported=", ".join(sorted(set(FORMATS)))))
    if p.stat().st_size == 0:
        raise _fail(label, _("the file is empty"))
    if ext in (".csv", ".txt"):
        return _read_csv(p, label, lat_column=lat_column, lon_column=lon_column, wkt_column=wkt_column)
    if ext == ".zip":
        return _read_zip(p, label, layer=layer)
    if ext in (".pbf", ".osm"):
        from cimic_geo.ingest.osm import read_osm_roads
        return read_osm_roads(p, name=label)
    problems = _json_checks(p, label) if ext in (".geojson", ".json") else []
    result = _read_ogr(str(p), label, layer=layer, kml=ext in (".kml", ".kmz"))
    if ext == ".shp" and result.crs_in is None and p.with_suffix(".prj").exists():
        raise _unknown_prj(label)
    result.problems[:0] = problems
    return result


#: A GeoJSON ``"crs": {"type": "name", "properties": {"name": "..."}}`` member (2008 GeoJSON).
_CRS_MEMBER = re.compile(rb'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*?"(?:name|href)"\s*:\s*"([^"]{0,300})"')


def _unknown_prj(label: str) -> ValidationError:
    return _fail(label, _("the shapefile's .prj declares a coordinate reference system that cannot be "
                          "interpreted; fix the .prj or reproject the file to EPSG:4326"))


def _json_checks(p: Path, label: str) -> list[Problem]:
    """What GDAL's GeoJSON driver reads quietly wrong: an unknown declared CRS (read as WGS84) and
    text with a NUL character (cut at the NUL). The first refuses the file; the second is an error
    for each record and property concerned."""
    problems: list[Problem] = []
    with p.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        match = _CRS_MEMBER.search(mm, 0, min(len(mm), 1 << 20))  # the crs member precedes the features
        declared = match.group(1).decode("utf-8", "replace") if match else None
        has_nul = mm.find(b"\\u0000") >= 0
    if declared:
        try:
            CRS.from_user_input(declared)
        except CRSError:
            raise _fail(label, _("the file declares the coordinate reference system {crs}, which is not known "
                                 "(not an EPSG code or a CRS name this program knows); fix the file's \"crs\" "
                                 "member or reproject the file to EPSG:4326").format(crs=repr(declared))) from None
    if has_nul:
        try:
            doc = json.loads(p.read_bytes())
        except ValueError as exc:
            raise _fail(label, _("not valid JSON ({reason})").format(reason=_clean(exc))) from None
        features = doc.get("features") if isinstance(doc, dict) else None
        for i, feature in enumerate(features if isinstance(features, list) else [], start=1):
            props = feature.get("properties") if isinstance(feature, dict) else None
            for key, value in (props.items() if isinstance(props, dict) else ()):
                if isinstance(value, str) and "\x00" in value:
                    problems.append(Problem(i, str(key), _("control character U+0000 (NUL) in the text; remove "
                                                           "it (the value would be cut there)")))
    return problems


def _read_zip(p: Path, label: str, *, layer: str | None) -> SourceData:
    try:
        with zipfile.ZipFile(p) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/") and "__MACOSX" not in m]
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(label, _("not a valid zip archive ({reason})").format(reason=exc)) from None
    by_ext: dict[str, list[str]] = {}
    for m in members:
        by_ext.setdefault(Path(m).suffix.lower(), []).append(m)
    for ext in (".shp", ".gpkg", ".geojson", ".json", ".kml"):
        found = sorted(by_ext.get(ext, []))
        if not found:
            continue
        member = found[0]
        result = _read_ogr(f"/vsizip/{p.as_posix()}/{member}", label, layer=layer, kml=ext == ".kml")
        if len(found) > 1:
            result.problems.append(
                Problem(None, None, _("the archive holds {n} {ext} files; read only {member}").format(
                    n=len(found), ext=ext, member=member), "warning")
            )
        if ext == ".shp":
            stem = member[:-4]
            has_prj = any(m.lower() == f"{stem}.prj".lower() for m in members)
            if has_prj and result.crs_in is None:
                raise _unknown_prj(label)
            if not has_prj:
                result.problems.append(
                    Problem(None, None, _("the shapefile has no .prj (CRS unknown); coordinates taken as lon/lat "
                                          "WGS84"), "warning")
                )
        return result
    raise _fail(label, _("the zip archive contains no .shp, .gpkg, .geojson or .kml file"))


def _read_ogr(path: str, label: str, *, layer: str | None, kml: bool) -> SourceData:
    problems: list[Problem] = []
    try:
        layers_info = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError and GDAL errors
        raise _fail(label, _clean(exc)) from None
    names = [str(n) for n, __ in layers_info]
    if not names:
        raise _fail(label, _("the file contains no layers"))
    if layer is not None and layer not in names:
        raise _fail(label, _("no layer '{layer}'; layers: {layers}").format(layer=layer, layers=", ".join(names)))
    frames: list[gpd.GeoDataFrame] = []
    to_read = [layer] if layer else names if kml else [names[0]]
    if not layer and not kml and len(names) > 1:
        problems.append(Problem(None, None, _("the file has {n} layers ({layers}); read '{first}' (choose another "
                                              "with the layer option)").format(n=len(names), layers=", ".join(names),
                                                                               first=names[0]), "warning"))
    crs_in = None
    for lyr in to_read:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gdf = pyogrio.read_dataframe(path, layer=lyr, on_invalid="ignore")
        except Exception as exc:
            raise _fail(label, _clean(exc)) from None
        if not isinstance(gdf, gpd.GeoDataFrame):
            gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf)))
        if kml and len(to_read) > 1:
            gdf["kml_folder"] = lyr
        frames.append(gdf)
        crs_in = crs_in or (gdf.crs.to_string() if gdf.crs is not None else None)
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) > 1:
        crs0 = frames[0].crs
        frames = [f.to_crs(crs0) if (f.crs is not None and crs0 is not None and f.crs != crs0) else f for f in frames]
        gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry=frames[0].geometry.name, crs=crs0)
    else:
        gdf = frames[0].reset_index(drop=True)
    return _finish(gdf, label, problems, crs_in=crs_in)


def _clean(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _finish(gdf: gpd.GeoDataFrame, label: str, problems: list[Problem], *, crs_in: str | None) -> SourceData:
    """Rename the geometry column to ``geometry`` and reproject to EPSG:4326."""
    if gdf.geometry.name != "geometry":
        if "geometry" in gdf.columns:
            gdf = gdf.rename(columns={"geometry": "geometry_attr"})
        gdf = gdf.rename_geometry("geometry")
    if gdf.crs is None:
        if len(gdf):
            problems.append(Problem(None, None, _("the file declares no CRS; coordinates taken as lon/lat WGS84 "
                                                  "(EPSG:4326)"), "warning"))
        gdf = gdf.set_crs(WGS84, allow_override=True)
    elif not _is_wgs84(gdf.crs):
        try:
            with np.errstate(all="ignore"):
                gdf = gdf.to_crs(WGS84)
        except Exception as exc:
            raise _fail(label, _("cannot reproject from {crs} to EPSG:4326: {reason}").format(
                crs=gdf.crs.to_string(), reason=_clean(exc))) from None
        problems.append(Problem(None, None, _("reprojected from {crs} to EPSG:4326").format(crs=crs_in), "info"))
    else:
        gdf = gdf.set_crs(WGS84, allow_override=True)
    return SourceData(frame=gdf.reset_index(drop=True), name=label, problems=problems, crs_in=crs_in)


def _is_wgs84(crs: CRS) -> bool:
    with contextlib.suppress(Exception):
        if crs.to_epsg() == 4326:
            return True
        # OGC:CRS84 (GeoJSON's lon/lat) is the same datum and axis order as we store
        return crs.is_geographic and crs.datum.name.startswith("World Geodetic System 1984") and \
            crs.to_string().upper().endswith("CRS84")
    return False


def _read_csv(p: Path, label: str, *, lat_column: str | None, lon_column: str | None,
              wkt_column: str | None) -> SourceData:
    frame, problems = read_csv(p, label, lat_column=lat_column, lon_column=lon_column, wkt_column=wkt_column)
    return SourceData(frame=frame, name=label, problems=problems, crs_in=WGS84)
