"""Corridor lines from users and files: validation and parsing, shared by the CLI and the planner.

:func:`check_corridor_line` refuses empty, non-line, non-lon/lat, zero-length and self-crossing
lines with a :class:`~cimic_geo.errors.ValidationError` naming the row and field;
:func:`lines_from_geojson` reads the features of a GeoJSON document (``evaluate --file``, a
pasted GeoJSON); :func:`line_from_text` reads what a user pastes: GeoJSON or ``lat,lon; lat,lon``.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import AnalysisError, Problem, ValidationError
from cimic_geo.geo import geodesic_length_km, parse_mgrs
from cimic_geo.i18n import _, fmt_number

#: Lines shorter than this (m) are refused as zero-length.
MIN_LENGTH_M = 1.0


def _self_crossing(line: LineString) -> tuple[float, float] | None:
    """A point where the line crosses or touches itself (not at consecutive segments), or None."""
    c = np.asarray(line.coords)[:, :2]
    segs = shapely.linestrings(np.stack([c[:-1], c[1:]], axis=1))
    tree = shapely.STRtree(segs)
    a, b = tree.query(segs, predicate="intersects")
    keep = b > a + 1
    closed = len(c) > 3 and np.allclose(c[0], c[-1])
    if closed:  # first and last segments meet at the ring's start: not a crossing
        keep &= ~((a == 0) & (b == len(segs) - 1))
    a, b = a[keep], b[keep]
    if len(a):
        p = shapely.intersection(segs[a[0]], segs[b[0]])
        pt = p.representative_point()
        return float(pt.x), float(pt.y)
    # overlapping consecutive segments (going back on itself)
    ov = shapely.overlaps(segs[:-1], segs[1:]) | shapely.within(segs[1:], segs[:-1]) | shapely.within(segs[:-1], segs[1:])
    ov &= shapely.length(segs[1:]) > 0
    hit = np.flatnonzero(ov)
    if len(hit):
        pt = segs[hit[0] + 1].interpolate(0.5, normalized=True)
        return float(pt.x), float(pt.y)
    return None


def check_corridor_line(geometry: BaseGeometry | None, *, row: int | None = None) -> LineString:
    """Validate a drawn or imported corridor line and return it as a 2D LineString (lon/lat).

    Raises
    ------
    ValidationError
        Empty, not a line, coordinates not lon/lat, zero length, or crossing itself — with the
        row (1-based, for files) and the field ``geometry``.
    """

    def fail(msg: str) -> ValidationError:
        return ValidationError(_("the corridor line is not valid; nothing was evaluated or saved"),
                               [Problem(row, "geometry", msg)])

    if geometry is None or geometry.is_empty:
        raise fail(_("empty geometry: draw or import a line"))
    if isinstance(geometry, MultiLineString):
        merged = shapely.line_merge(geometry)
        if merged.geom_type != "LineString":
            raise fail(_("a corridor must be one continuous line (got several disconnected parts)"))
        geometry = merged
    if geometry.geom_type != "LineString":
        raise fail(_("a corridor must be a line, got a {kind}").format(kind=geometry.geom_type))
    coords = np.asarray(geometry.coords)[:, :2]
    if not np.isfinite(coords).all() or (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise fail(_("coordinates must be longitude/latitude in degrees (EPSG:4326)"))
    # drop repeated vertices (double clicks when drawing)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    coords = coords[keep]
    if len(coords) < 2:
        raise fail(_("zero-length line: it needs at least two different points"))
    line = LineString(coords)
    if geodesic_length_km(line) * 1000 < MIN_LENGTH_M:
        raise fail(_("zero-length line: shorter than {m} m").format(m=fmt_number(MIN_LENGTH_M)))
    cross = _self_crossing(line)
    if cross is not None:
        raise fail(_("the line crosses itself near lat {lat}, lon {lon}; redraw it without loops").format(
            lat=f"{cross[1]:.5f}", lon=f"{cross[0]:.5f}"))
    return line


def lines_from_geojson(data: dict | gpd.GeoDataFrame) -> list[tuple[dict[str, Any], BaseGeometry | None]]:
    """``(properties, geometry)`` for each feature of a GeoJSON FeatureCollection/Feature/geometry dict."""
    from shapely.geometry import shape

    if isinstance(data, gpd.GeoDataFrame):
        props = data.drop(columns=data.geometry.name).to_dict("records")
        return list(zip(props, data.geometry.values, strict=True))
    if not isinstance(data, dict):
        raise ValidationError(_("not a GeoJSON object"), [Problem(None, None, _("expected a JSON object"))])
    kind = data.get("type")
    if kind == "FeatureCollection":
        feats = data.get("features") or []
    elif kind == "Feature":
        feats = [data]
    elif kind in ("LineString", "MultiLineString", "Point", "Polygon", "MultiPoint", "MultiPolygon"):
        feats = [{"type": "Feature", "properties": {}, "geometry": data}]
    else:
        raise ValidationError(_("not a GeoJSON FeatureCollection, Feature or geometry"),
                              [Problem(None, "type", _("unexpected type {kind}").format(kind=repr(kind)))])
    out = []
    for i, f in enumerate(feats, start=1):
        g = f.get("geometry") if isinstance(f, dict) else None
        try:
            geom = shape(g) if g else None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise ValidationError(_("the GeoJSON has an unreadable geometry"),
                                  [Problem(i, "geometry", _("cannot read geometry: {error}").format(error=exc))]) from None
        out.append((dict(f.get("properties") or {}) if isinstance(f, dict) else {}, geom))
    return out


def line_from_text(text: str) -> BaseGeometry | None:
    """The line in pasted text: GeoJSON (a geometry, a Feature or a FeatureCollection with one
    feature, read by :func:`lines_from_geojson`) or ``lat,lon; lat,lon; ...`` (``;`` or new lines
    between points; a point may be an MGRS reference instead, e.g. ``37U CP 67033 73440``). Validate it with :func:`check_corridor_line`.

    Raises
    ------
    ValidationError
        Empty text, invalid JSON, several features, or a point that is not ``lat,lon``.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("nothing to evaluate"), [Problem(None, "geometry", _("paste a line"))])
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(_("not valid GeoJSON"), [Problem(None, "geometry", str(exc))]) from None
        features = lines_from_geojson(data)
        if len(features) != 1:
            raise ValidationError(_("paste one line at a time"), [Problem(
                None, "geometry", _("the collection has {n} features").format(n=len(features)))])
        return features[0][1]
    coords = []
    for i, part in enumerate([p for p in text.replace("\n", ";").split(";") if p.strip()], start=1):
        try:
            lat, lon = (float(v) for v in part.replace(" ", "").split(","))
        except ValueError:
            try:
                ll = parse_mgrs(part)
            except AnalysisError as exc:
                raise ValidationError(_("the pasted line cannot be read"), [Problem(i, "geometry", str(exc))]) from None
            if ll is None:
                raise ValidationError(_("the pasted line cannot be read"), [Problem(
                    i, "geometry", _("point {i} '{text}' is neither 'lat,lon' nor an MGRS reference").format(
                        i=i, text=part.strip()))]) from None
            lat, lon = ll
        coords.append((lon, lat))
    if len(coords) < 2:
        raise ValidationError(_("the corridor line is not valid"),
                              [Problem(None, "geometry", _("a line needs at least two points"))])
    return LineString(coords)
