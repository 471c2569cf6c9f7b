"""GIS files of the visible layers: GeoJSON (RFC 7946), GeoPackage, KML and CSV with WKT.

Attribute names are the store's column names (:mod:`cimic_geo.schema`) and their types are
kept: integers as integers, booleans as booleans, times as UTC date-times (ISO 8601 text where
the format has no date type). Provenance columns (``source``, ``reported_at``,
``reliability``) are always included. Every file is written atomically (see
:func:`cimic_geo.export.naming.atomic_path`).

GeoJSON and GeoPackage go through pyogrio (GDAL). CSV and KML are written here, because GDAL's
drivers (through pyogrio, GDAL 3.x) cannot produce the same files: its CSV driver writes times as
``2026/11/20 06:00:00+00`` and booleans as ``1``; its KML driver declares 64-bit integers as
``string`` fields, writes no ``Style``, names placemarks ``<layer>.<n>`` instead of by id and has
no ``<name>`` label per placemark. Measured in ``bench/bench_csv_io.py`` (docs/BENCHMARKS.md,
*CSV and KML*) on 20,000 points: GDAL's CSV writer is about 1.4 times and its KML writer several
times faster; we keep the files users' tools read correctly, since a brief holds thousands of
features, not millions. CSV text cells that start like a spreadsheet formula are
neutralised (:func:`neutralise_formula`).
"""

from __future__ import annotations

import csv
import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import ExportError
from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.naming import atomic_path
from cimic_geo.schema import get_layer

KML_NS = "http://www.opengis.net/kml/2.2"

#: KML colours are aabbggrr.
_KML_COLOURS = {
    "occupied_area": "5a0000c8",
    "front_line": "ff0000d0",
    "settlements": "ff404040",
    "shelters": "ff2e9e2e",
    "infrastructure": "ff0080ff",
    "roads": "ff909090",
    "corridors": "ffd07000",
}
_KML_TYPES = {"int": "int", "float": "double", "bool": "bool", "datetime": "string", "str": "string"}


def typed_frame(layer: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of ``layer`` with the schema's column order and types (nullable ints/booleans).

    The store returns integer columns holding nulls as floats and booleans as objects; writers
    need the schema type, so ``capacity`` stays an integer field in the GeoPackage.
    """
    spec = get_layer(layer)
    out = pd.DataFrame(index=range(len(gdf)))
    for col in spec.all_columns:
        if col.name not in gdf.columns:
            values = pd.Series([None] * len(gdf), dtype="object")
        else:
            values = gdf[col.name].reset_index(drop=True)
        kind = col.kind
        if kind == "int":
            values = pd.array(pd.to_numeric(values), dtype="Int64")
        elif kind == "float":
            values = pd.to_numeric(values).astype("float64")
        elif kind == "bool":
            values = pd.array(values.astype("object").where(values.notna(), None), dtype="boolean")
        elif kind == "datetime":
            values = pd.to_datetime(values, utc=True)
        else:
            values = values.astype("object").where(values.notna(), None)
        out[col.name] = values
    geoms = np.asarray(gdf.geometry.values) if len(gdf) else np.array([], dtype=object)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def _geometry_type(layer: str, gdf: gpd.GeoDataFrame) -> str:
    types = set(gdf.geom_type.dropna().unique()) if len(gdf) else set()
    if len(types) == 1:
        return types.pop()
    spec = get_layer(layer)
    if not types and len(spec.geometry_types) == 1:
        return spec.geometry_types[0].title().replace("string", "String").replace("polygon", "Polygon")
    return "Unknown"


# ----------------------------------------------------------------------------------------------
# GeoJSON
# ----------------------------------------------------------------------------------------------


def combined_frame(loaded: LoadedView) -> gpd.GeoDataFrame:
    """All visible layers in one frame with a leading ``layer`` column (union of the columns)."""
    parts = [typed_frame(name, f).assign(layer=name) for name, f in loaded.frames.items() if len(f)]
    if not parts:
        raise ExportError("empty view: nothing to write")
    frame = pd.concat(parts, ignore_index=True)
    cols = ["layer", *[c for c in frame.columns if c not in ("layer", "geometry")], "geometry"]
    return gpd.GeoDataFrame(frame[cols], geometry="geometry", crs="EPSG:4326")


def write_geojson(loaded: LoadedView, out: str | os.PathLike) -> Path:
    """One RFC 7946 FeatureCollection; each feature's ``layer`` property names its layer.

    Coordinates are WGS84 lon/lat with 7 decimals (~1 cm), polygons follow the right-hand rule
    (GDAL's RFC7946 mode), times are ISO 8601 UTC strings.
    """
    frame = combined_frame(loaded)
    with atomic_path(out) as tmp:
        pyogrio.write_dataframe(
            frame, tmp, driver="GeoJSON", layer="cimic_export",
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "7", "WRITE_NAME": "NO"},
        )
    return Path(out)


# ----------------------------------------------------------------------------------------------
# GeoPackage
# ----------------------------------------------------------------------------------------------


def write_gpkg(loaded: LoadedView, out: str | os.PathLike) -> Path:
    """A GeoPackage with one table per visible layer (empty layers kept, with their columns)."""
    with atomic_path(out) as tmp:
        for name, gdf in loaded.frames.items():
            frame = typed_frame(name, gdf)
            pyogrio.write_dataframe(
                frame, tmp, driver="GPKG", layer=name,
                geometry_type=_geometry_type(name, frame),
                layer_options={"IDENTIFIER": get_layer(name).title or name, "DESCRIPTION":
                               f"CIMIC export, marking {loaded.marking}"},
            )
    return Path(out)


# ----------------------------------------------------------------------------------------------
# CSV with WKT
# ----------------------------------------------------------------------------------------------


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """``text`` with a leading single quote when it starts like a formula (``=``, ``+``, ``-``,
    ``@``, tab, carriage return), so that Excel and LibreOffice show it as text and never run it."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def table_csv(frame: pd.DataFrame) -> bytes:
    """A plain table (no geometry) as UTF-8 CSV bytes for a download button: text cells that would
    start a formula are neutralised with :func:`neutralise_formula`; numbers stay numbers."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].map(lambda v: neutralise_formula(v) if isinstance(v, str) else v)
    return out.to_csv(index=False).encode("utf-8")


def _csv_value(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, pd.Timestamp):
        return v.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (int, np.integer)):
        return str(v)
    return neutralise_formula(str(v))


def csv_text(loaded: LoadedView) -> str:
    """The CSV document: ``layer``, every attribute column, then ``WKT`` (EPSG:4326 lon/lat).

    GDAL reads the ``WKT`` column as the geometry; ``ogrinfo -oo AUTODETECT_TYPE=YES`` recovers
    integer, real, boolean-like and date-time columns. Text cells that start like a spreadsheet
    formula get a leading single quote (:func:`neutralise_formula`); numbers are left as they are.
    """
    frame = combined_frame(loaded)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    cols = [c for c in frame.columns if c != "geometry"]
    writer.writerow([*cols, "WKT"])
    wkt = shapely.to_wkt(np.asarray(frame.geometry.values), rounding_precision=7, trim=True)
    records = frame[cols].astype("object").to_numpy()
    for row, w in zip(records, wkt, strict=True):
        writer.writerow([*(_csv_value(v) for v in row), w])
    return buf.getvalue()


def write_csv(loaded: LoadedView, out: str | os.PathLike) -> Path:
    """CSV (UTF-8, comma, quoted where needed) with a ``WKT`` geometry column and a ``layer`` column."""
    text = csv_text(loaded)
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    return Path(out)


# ----------------------------------------------------------------------------------------------
# KML
# ----------------------------------------------------------------------------------------------


def _kml_coords(coords: Any) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in coords)


def _kml_geometry(parent: ET.Element, geom: BaseGeometry) -> None:
    kind = geom.geom_type
    if kind == "Point":
        pt = ET.SubElement(parent, "Point")
        ET.SubElement(pt, "coordinates").text = _kml_coords(geom.coords)
    elif kind == "LineString":
        ln = ET.SubElement(parent, "LineString")
        ET.SubElement(ln, "tessellate").text = "1"
        ET.SubElement(ln, "coordinates").text = _kml_coords(geom.coords)
    elif kind == "Polygon":
        pg = ET.SubElement(parent, "Polygon")
        outer = ET.SubElement(ET.SubElement(pg, "outerBoundaryIs"), "LinearRing")
        ET.SubElement(outer, "coordinates").text = _kml_coords(geom.exterior.coords)
        for ring in geom.interiors:
            inner = ET.SubElement(ET.SubElement(pg, "innerBoundaryIs"), "LinearRing")
            ET.SubElement(inner, "coordinates").text = _kml_coords(ring.coords)
    else:  # Multi* and collections
        multi = ET.SubElement(parent, "MultiGeometry")
        for part in getattr(geom, "geoms", []):
            _kml_geometry(multi, part)


def _kml_text(v: Any, kind: str) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if kind == "bool":
        return "1" if bool(v) else "0"
    if kind == "datetime":
        return pd.Timestamp(v).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(v)


def _label(row: dict[str, Any]) -> str:
    for key in ("name", "id"):
        v = row.get(key)
        if v is not None and v is not pd.NA and str(v) != "":
            return str(v)
    return ""


def kml_document(loaded: LoadedView) -> bytes:
    """The KML 2.2 document: a ``Schema`` and a ``Folder`` per layer, typed ``SchemaData``.

    Text from the data only ever goes into element text or attribute values through
    :mod:`xml.etree.ElementTree`, which escapes ``< > &`` and quotes.
    """
    kml = ET.Element("kml", {"xmlns": KML_NS})
    doc = ET.SubElement(kml, "Document")
    ET.SubElement(doc, "name").text = loaded.view.title
    when = loaded.as_of.strftime("%Y-%m-%dT%H:%M:%SZ") if loaded.as_of is not None else "latest"
    ET.SubElement(doc, "description").text = f"{loaded.marking} - CIMIC export, data as of {when}"
    for name in loaded.frames:
        colour = _KML_COLOURS.get(name, "ff808080")
        style = ET.SubElement(doc, "Style", {"id": f"style-{name}"})
        icon = ET.SubElement(style, "IconStyle")
        ET.SubElement(icon, "color").text = colour
        ET.SubElement(icon, "scale").text = "0.8"
        line = ET.SubElement(style, "LineStyle")
        ET.SubElement(line, "color").text = colour
        ET.SubElement(line, "width").text = "3" if name in ("front_line", "corridors") else "1.5"
        poly = ET.SubElement(style, "PolyStyle")
        ET.SubElement(poly, "color").text = colour
    for name in loaded.frames:
        spec = get_layer(name)
        schema = ET.SubElement(doc, "Schema", {"name": name, "id": name})
        for col in spec.all_columns:
            ET.SubElement(schema, "SimpleField", {"name": col.name, "type": _KML_TYPES[col.kind]})
    for name, gdf in loaded.frames.items():
        spec = get_layer(name)
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = name
        frame = typed_frame(name, gdf)
        records = frame.drop(columns="geometry").astype("object").to_dict("records")
        for row, geom in zip(records, frame.geometry.values, strict=True):
            pm = ET.SubElement(folder, "Placemark", {"id": f"{name}.{row['id']}"})
            ET.SubElement(pm, "name").text = _label(row)
            ET.SubElement(pm, "styleUrl").text = f"#style-{name}"
            ext = ET.SubElement(pm, "ExtendedData")
            sd = ET.SubElement(ext, "SchemaData", {"schemaUrl": f"#{name}"})
            for col in spec.all_columns:
                text = _kml_text(row.get(col.name), col.kind)
                if text is not None:
                    ET.SubElement(sd, "SimpleData", {"name": col.name}).text = text
            if geom is not None and not geom.is_empty:
                _kml_geometry(pm, geom)
    ET.indent(kml, space=" ")
    # serialised to text, then encoded once: ElementTree's byte writer resets a codec per write call
    # and is three times slower on large documents
    return ("<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(kml, encoding="unicode")).encode("utf-8")


def write_kml(loaded: LoadedView, out: str | os.PathLike) -> Path:
    """KML 2.2 with one folder per visible layer (Google Earth, ATAK, QGIS, GDAL read it)."""
    data = kml_document(loaded)
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    return Path(out)
