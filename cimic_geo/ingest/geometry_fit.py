"""Geometry checks of source records: present, finite, valid (or repaired), of the layer's type,
inside a plausible extent. :func:`fast_ok` screens a whole column at once; only the records it
flags go through :func:`check_geometry` one by one.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.i18n import _
from cimic_geo.schema import Layer

_SHAPELY_NAME = {
    "POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
    "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon",
}
_GEOM_FAMILY = {
    "POINT": ("Point", "MultiPoint"),
    "LINESTRING": ("LineString", "MultiLineString"),
    "POLYGON": ("Polygon", "MultiPolygon"),
}



def _extract(geom: BaseGeometry, family: tuple[str, str]) -> BaseGeometry | None:
    """The parts of ``geom`` of one family (e.g. polygons of a GeometryCollection) as one geometry."""
    single, multi = family
    parts = [g for g in shapely.get_parts(geom).tolist() if g.geom_type in (single, multi)]
    flat: list[BaseGeometry] = []
    for g in parts:
        flat += shapely.get_parts(g).tolist() if g.geom_type == multi else [g]
    flat = [g for g in flat if not g.is_empty]
    if not flat:
        return None
    if len(flat) == 1:
        return flat[0]
    if single == "Polygon":
        return shapely.union_all(flat)
    return getattr(shapely, multi)(flat)


def check_geometry(
    geom: object, layer: Layer
) -> tuple[BaseGeometry | None, list[tuple[str, str]]]:
    """Return (geometry fitted to the layer or None, [(severity, message)])."""
    notes: list[tuple[str, str]] = []
    if geom is None or not isinstance(geom, BaseGeometry):
        return None, [("error", _("no geometry"))]
    if geom.is_empty:
        return None, [("error", _("empty geometry"))]
    coords = shapely.get_coordinates(geom, include_z=False)
    if not np.isfinite(coords).all():
        return None, [("error", _("coordinates are NaN or infinite"))]
    if shapely.get_coordinate_dimension(geom) > 2:
        geom = shapely.force_2d(geom)
    allowed = tuple(_SHAPELY_NAME[t] for t in layer.geometry_types)
    gtype = geom.geom_type
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        family = next((f for k, f in _GEOM_FAMILY.items() if gtype in f), None)
        if family is not None:
            fixed = _extract(fixed, family)
        if fixed is None or fixed.is_empty:
            return None, [("error", _("invalid geometry that cannot be repaired ({reason})").format(reason=reason))]
        notes.append(("warning", _("invalid geometry repaired ({reason})").format(reason=reason)))
        geom = fixed
        gtype = geom.geom_type
    if gtype in allowed:
        return geom, notes
    wanted = ", ".join(allowed)
    # fit collections and multi-geometries of one part to the layer's type
    for key, family in _GEOM_FAMILY.items():
        if not any(a in family for a in allowed):
            continue
        part = _extract(geom, family) if gtype in family or gtype == "GeometryCollection" else None
        if part is None:
            continue
        if part.geom_type in allowed:
            notes.append(("warning", _("{type} converted to {new_type}").format(type=gtype, new_type=part.geom_type)))
            return part, notes
        if key == "LINESTRING" and part.geom_type == "MultiLineString":
            merged = shapely.line_merge(part)
            if merged.geom_type in allowed:
                notes.append(("warning", _("{type} merged into one LineString").format(type=gtype)))
                return merged, notes
            n = len(shapely.get_parts(part))
            return None, [*notes, ("error", _("MultiLineString of {n} disconnected parts; the layer needs {wanted} "
                                              "(split it into one row per part)").format(n=n, wanted=wanted))]
    return None, [*notes, ("error", _("geometry type {type}; the layer needs {wanted}").format(type=gtype,
                                                                                                wanted=wanted))]


def fast_ok(geoms: np.ndarray, layer: Layer, extent: tuple[float, float, float, float] | None) -> np.ndarray:
    """Vectorised screen: True where a geometry is present, 2-D, finite, valid, of an allowed type and
    inside the extent (those need no further work; the others go through :func:`check_geometry`)."""
    if not len(geoms):
        return np.zeros(0, dtype=bool)
    with np.errstate(all="ignore"):
        present = ~shapely.is_missing(geoms)
        allowed = [getattr(shapely.GeometryType, t).value for t in layer.geometry_types]
        ok = present & np.isin(shapely.get_type_id(geoms), allowed) & ~shapely.is_empty(geoms)
        ok &= shapely.get_coordinate_dimension(geoms) == 2
        coords, idx = shapely.get_coordinates(geoms, return_index=True)
        bad = np.unique(idx[~np.isfinite(coords).all(axis=1)])
        ok[bad] = False
        ok &= shapely.is_valid(geoms)
        if extent is not None:
            b = shapely.bounds(geoms)
            x0, y0, x1, y1 = extent
            ok &= (b[:, 0] >= x0) & (b[:, 1] >= y0) & (b[:, 2] <= x1) & (b[:, 3] <= y1)
    return ok


def check_extent(geom: BaseGeometry, extent: tuple[float, float, float, float]) -> str | None:
    x0, y0, x1, y1 = extent
    bx0, by0, bx1, by1 = geom.bounds
    if bx0 >= x0 and by0 >= y0 and bx1 <= x1 and by1 <= y1:
        return None
    hint = ""
    if by0 >= x0 and bx0 >= y0 and by1 <= x1 and bx1 <= y1:
        hint = _(" (latitude and longitude look swapped)")
    elif max(abs(bx0), abs(bx1)) > 180 or max(abs(by0), abs(by1)) > 90:
        hint = _(" (not lon/lat degrees: projected coordinates without a CRS?)")
    return _("outside the plausible extent {extent}: bounds {bounds}{hint}").format(
        extent=f"{x0:g},{y0:g},{x1:g},{y1:g}", bounds=f"{bx0:.4f},{by0:.4f},{bx1:.4f},{by1:.4f}", hint=hint)
