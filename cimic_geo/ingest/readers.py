"""File readers: GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ and CSV (lat/lon or WKT columns).

Every reader returns a :class:`SourceData`: the records as a GeoDataFrame in EPSG:4326 (geometry
may be missing for some rows; validation reports them) and the problems met while reading. A file
that cannot be parsed at all (truncated JSON, not a zip, unknown format) raises
:class:`~cimic_geo.errors.ValidationError` with one problem; nothing is ever half-read.
"""

from __future__ import annotations

import contextlib
import csv
import io
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
import shapely
from pyproj import CRS

from cimic_geo.errors import Problem, ValidationError

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
}

_LAT_NAMES = ("lat", "latitude", "y", "lat_dd", "latitude_dd", "широта", "y_coord", "ycoord")
_LON_NAMES = ("lon", "lng", "long", "longitude", "x", "lon_dd", "longitude_dd", "довгота", "x_coord", "xcoord")
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "geometry_wkt", "wkt_geom")
_WKT_START = re.compile(r"^\s*(SRID=\d+;)?\s*(MULTI)?(POINT|LINESTRING|POLYGON)|^\s*GEOMETRYCOLLECTION", re.I)


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


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-zа-яіїєґ]+", "_", str(name).strip().lower()).strip("_")


def _fail(name: str, message: str) -> ValidationError:
    return ValidationError(f"cannot read {name}: {message}", [Problem(None, None, message)])


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
        raise _fail(label, "file not found")
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise _fail(label, f"unsupported file type '{ext or '(none)'}'; supported: {', '.join(sorted(set(FORMATS)))}")
    if p.stat().st_size == 0:
        raise _fail(label, "the file is empty")
    if ext in (".csv", ".txt"):
        return _read_csv(p, label, lat_column=lat_column, lon_column=lon_column, wkt_column=wkt_column)
    if ext == ".zip":
        return _read_zip(p, label, layer=layer)
    return _read_ogr(str(p), label, layer=layer, kml=ext in (".kml", ".kmz"))


def _read_zip(p: Path, label: str, *, layer: str | None) -> SourceData:
    try:
        with zipfile.ZipFile(p) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/") and "__MACOSX" not in m]
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(label, f"not a valid zip archive ({exc})") from None
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
                Problem(None, None, f"the archive holds {len(found)} {ext} files; read only {member}", "warning")
            )
        if ext == ".shp":
            stem = member[:-4]
            if not any(m.lower() == f"{stem}.prj".lower() for m in members):
                result.problems.append(
                    Problem(None, None, "the shapefile has no .prj (CRS unknown); coordinates taken as lon/lat "
                            "WGS84", "warning")
                )
        return result
    raise _fail(label, "the zip archive contains no .shp, .gpkg, .geojson or .kml file")


def _read_ogr(path: str, label: str, *, layer: str | None, kml: bool) -> SourceData:
    problems: list[Problem] = []
    try:
        layers_info = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError and GDAL errors
        raise _fail(label, _clean(exc)) from None
    names = [str(n) for n, _ in layers_info]
    if not names:
        raise _fail(label, "the file contains no layers")
    if layer is not None and layer not in names:
        raise _fail(label, f"no layer '{layer}'; layers: {', '.join(names)}")
    frames: list[gpd.GeoDataFrame] = []
    to_read = [layer] if layer else names if kml else [names[0]]
    if not layer and not kml and len(names) > 1:
        problems.append(Problem(None, None, f"the file has {len(names)} layers ({', '.join(names)}); read "
                                f"'{names[0]}' (choose another with the layer option)", "warning"))
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
            problems.append(Problem(None, None, "the file declares no CRS; coordinates taken as lon/lat WGS84 "
                                    "(EPSG:4326)", "warning"))
        gdf = gdf.set_crs(WGS84, allow_override=True)
    elif not _is_wgs84(gdf.crs):
        try:
            with np.errstate(all="ignore"):
                gdf = gdf.to_crs(WGS84)
        except Exception as exc:
            raise _fail(label, f"cannot reproject from {gdf.crs.to_string()} to EPSG:4326: {_clean(exc)}") from None
        problems.append(Problem(None, None, f"reprojected from {crs_in} to EPSG:4326", "info"))
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


# ----------------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "cp1251"):
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode(enc)
    return raw.decode("latin-1")


def _parse_number(value: object) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return np.nan
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return np.nan


def _read_csv(p: Path, label: str, *, lat_column: str | None, lon_column: str | None,
              wkt_column: str | None) -> SourceData:
    problems: list[Problem] = []
    text = _decode(p.read_bytes())
    if "\x00" in text:
        raise _fail(label, "the file contains NUL bytes; it is not a text CSV")
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    records = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if any(str(v).strip() for v in r)]
    if not records:
        raise _fail(label, "the file has no header line")
    header = [h.strip() for h in records[0]]
    body = []
    for i, rec in enumerate(records[1:], start=1):
        if len(rec) != len(header):
            problems.append(Problem(i, None, f"{len(rec)} fields, the header has {len(header)} (a separator "
                                    "inside an unquoted value?)"))
            rec = (rec + [""] * len(header))[: len(header)]
        body.append([v if v.strip() else None for v in rec])
    df = pd.DataFrame(body, columns=header, dtype=object)
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()].tolist()
        raise _fail(label, f"duplicate column names {dup}")
    cols = {_norm(c): c for c in df.columns}

    def pick(explicit: str | None, names: tuple[str, ...]) -> str | None:
        if explicit:
            if explicit not in df.columns:
                raise _fail(label, f"no column '{explicit}'; columns: {', '.join(map(str, df.columns))}")
            return explicit
        for n in names:
            if n in cols:
                return cols[n]
        return None

    lat = pick(lat_column, _LAT_NAMES)
    lon = pick(lon_column, _LON_NAMES)
    wkt = pick(wkt_column, _WKT_NAMES)
    if wkt is None and (lat is None or lon is None):
        # a column whose values look like WKT
        for c in df.columns:
            vals = df[c].dropna().astype(str).head(20)
            if len(vals) and vals.map(lambda v: bool(_WKT_START.match(v))).all():
                wkt = c
                break
    geoms = np.full(len(df), None, dtype=object)
    if wkt is not None and not (lat_column and lon_column):
        for i, v in enumerate(df[wkt].tolist()):
            if v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip():
                continue
            text_v = re.sub(r"^\s*SRID=\d+;", "", str(v))
            try:
                geoms[i] = shapely.from_wkt(text_v)
            except Exception as exc:  # shapely.errors.GEOSException
                problems.append(Problem(i + 1, wkt, f"cannot parse WKT: {_clean(exc)}"))
        geom_cols = [wkt]
    elif lat is not None and lon is not None:
        ys = np.array([_parse_number(v) for v in df[lat].tolist()], dtype=float)
        xs = np.array([_parse_number(v) for v in df[lon].tolist()], dtype=float)
        for i, (x, y, rx, ry) in enumerate(zip(xs, ys, df[lon].tolist(), df[lat].tolist(), strict=False)):
            if np.isnan(x) or np.isnan(y):
                bad = [c for c, val, raw in ((lon, x, rx), (lat, y, ry)) if np.isnan(val)]
                for c in bad:
                    raw = df.at[i, c]
                    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
                        continue
                    problems.append(Problem(i + 1, c, f"not a number: {str(raw)[:40]!r}"))
                continue
            geoms[i] = shapely.Point(x, y)
        geom_cols = [lat, lon]
    else:
        raise _fail(label, "no geometry columns: expected lat/lon (latitude/longitude, y/x) or a WKT column "
                    "(name others with the lat/lon/WKT column options, CLI --lat-column/--lon-column/"
                    f"--wkt-column); columns are {', '.join(map(str, df.columns))}")
    attrs = df.drop(columns=geom_cols)
    gdf = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84)
    return SourceData(frame=gdf, name=label, problems=problems, crs_in=WGS84)
