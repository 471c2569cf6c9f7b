"""Occupied-territory snapshots -> ``occupied_area`` history and the derived ``front_line``.

A snapshot is one file per date (DeepState-style): either a file with only the occupied area
(e.g. ``deepstatemap_data_20250801.geojson``: one MultiPolygon, no properties) or a full map
export whose features carry labels such as ``"Окуповано /// Occupied /// geoJSON.status.occupied"``,
``"Звільнено /// Liberated"``, ``"Статус невідомий /// Unknown status"``, attack-direction and
unit points, and far-away polygons (Petsamo, Abkhazia, ...). Only occupied polygons inside the
plausible extent are kept; everything dropped is reported as a warning.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from cimic_geo.errors import Problem
from cimic_geo.geo import geodesic_length_km, metric_crs
from cimic_geo.i18n import N_, _
from cimic_geo.ingest.mapping import norm_label
from cimic_geo.ingest.readers import SourceData
from cimic_geo.ingest.validate import parse_time

#: Label classes of a DeepState-style feature.
OCCUPIED, LIBERATED, CONTESTED, UNKNOWN, OTHER = "occupied", "liberated", "contested", "unknown", "other"

_CLASS_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (LIBERATED, re.compile(r"звільнен|liberated|taken back|recaptured|deoccupied|status\.dismissed")),
    (CONTESTED, re.compile(r"під питанням|contested|contensed|status\.contested")),
    (UNKNOWN, re.compile(r"невідом|unknown|status\.unknown")),
    (OCCUPIED, re.compile(r"окупова|окупован|occupied|status\.occupied|territories\.(crimea|ordlo)|"
                          r"\bордло\b|cadr and calr|^крим$|\bcrimea\b|зайнят\w* ворогом")),
)
_LABEL_COLUMNS = ("name", "status", "label", "title", "description", "Name", "Description")

_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})T(\d{2})(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)"),
)
_UNIX_RE = re.compile(r"(?<!\d)(1[3-9]\d{8})(?!\d)")


def classify_label(label: object) -> str:
    """Class of a DeepState label: ``occupied``, ``liberated``, ``contested``, ``unknown`` or ``other``."""
    text = norm_label(label)
    if not text:
        return OTHER
    for cls, pattern in _CLASS_PATTERNS:
        if pattern.search(text):
            return cls
    return OTHER


def snapshot_time(name: str | Path, *, explicit: object = None, frame: gpd.GeoDataFrame | None = None,
                  date_column: str | None = None) -> tuple[pd.Timestamp | None, str]:
    """The date of a snapshot and where it came from (``argument``, ``property``, ``file name``).

    Precedence: an explicit value > a date property of the features (``date_column``, or a
    ``date``/``valid_from``/``timestamp`` column with a single value) > the file name
    (``..._20250801...``, ``2025-08-01``, ``20220403T1233``, or a Unix timestamp).
    """
    if explicit is not None and str(explicit).strip():
        return parse_time(explicit), N_("argument")
    if frame is not None and len(frame):
        cols = [date_column] if date_column else [c for c in frame.columns
                                                  if norm_label(c) in ("date", "valid_from", "timestamp",
                                                                       "datetime", "snapshot_date", "дата")]
        for c in cols:
            if c not in frame.columns:
                continue
            values = {str(v) for v in frame[c].dropna().tolist() if str(v).strip()}
            if len(values) == 1:
                ts = parse_time(values.pop())
                if ts is not None:
                    return ts, N_("property")
    stem = Path(str(name)).name
    m = _DATE_PATTERNS[0].search(stem)
    if m:
        y, mo, d, hh, mm = (int(g) for g in m.groups())
        try:
            return pd.Timestamp(datetime(y, mo, d, hh, mm, tzinfo=UTC)), N_("file name")
        except ValueError:
            pass
    m = _DATE_PATTERNS[1].search(stem)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            return pd.Timestamp(datetime(y, mo, d, tzinfo=UTC)), N_("file name")
        except ValueError:
            pass
    m = _UNIX_RE.search(stem)
    if m:
        return pd.Timestamp(int(m.group(1)), unit="s", tz="UTC"), N_("file name")
    return None, ""


def _short(label: object) -> str:
    """The English part of a bilingual ``"uk /// en /// key"`` label, shortened for messages."""
    parts = [p.strip() for p in re.split(r"/{2,}", str(label)) if p.strip()]
    latin = [p for p in parts if re.search(r"[A-Za-z]", p) and not p.startswith("geoJSON")]
    text = (latin or parts or [""])[0]
    return re.sub(r"\s+", " ", text)[:40]


def _label_column(frame: gpd.GeoDataFrame) -> str | None:
    for c in _LABEL_COLUMNS:
        if c in frame.columns:
            classes = {classify_label(v) for v in frame[c].dropna().tolist()}
            if classes - {OTHER}:
                return c
    return None


def occupied_geometry(
    source: SourceData,
    *,
    extent: tuple[float, float, float, float] | None,
    label_column: str | None = None,
) -> tuple[BaseGeometry | None, list[Problem], dict[str, int]]:
    """The occupied area of one snapshot file as one (Multi)Polygon.

    Keeps polygons (GeometryCollections are split into their polygons) labelled occupied (every
    polygon when the file has no label column) that lie inside ``extent``; repairs invalid ones.
    Returns the merged geometry (None when nothing is left), problems (warnings for every kind of
    feature dropped) and counts per label class.
    """
    frame = source.frame
    problems: list[Problem] = []
    col = label_column or _label_column(frame)
    counts: Counter[str] = Counter()
    dropped_types: Counter[str] = Counter()
    outside: list[str] = []
    keep: list[BaseGeometry] = []
    repaired = 0
    for i, geom in enumerate(frame.geometry.tolist()):
        row = i + 1
        label = frame.iloc[i][col] if col else None
        cls = classify_label(label) if col else OCCUPIED
        if geom is None or geom.is_empty:
            problems.append(Problem(row, "geometry", _("no geometry; feature skipped"), "warning"))
            continue
        polys = [p for p in shapely.get_parts(geom).tolist() if p.geom_type in ("Polygon", "MultiPolygon")]
        if not polys:
            dropped_types[geom.geom_type] += 1
            continue
        counts[cls] += 1
        if cls != OCCUPIED:
            continue
        poly = shapely.union_all(polys) if len(polys) > 1 else polys[0]
        coords = shapely.get_coordinates(poly)
        if not len(coords) or not (abs(coords) < 1e3).all():
            problems.append(Problem(row, "geometry", _("coordinates are NaN, infinite or not degrees; feature "
                                                       "skipped"), "warning"))
            continue
        if extent is not None:
            x0, y0, x1, y1 = extent
            bx0, by0, bx1, by1 = poly.bounds
            if bx0 < x0 or by0 < y0 or bx1 > x1 or by1 > y1:
                outside.append(_short(label) if label is not None else _("record {row}").format(row=row))
                continue
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
            poly = shapely.union_all([p for p in shapely.get_parts(poly).tolist()
                                      if p.geom_type in ("Polygon", "MultiPolygon")])
            repaired += 1
        keep.append(poly)
    if dropped_types:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(dropped_types.items()))
        problems.append(Problem(None, "geometry", _("skipped features that are not areas: {kinds}").format(
            kinds=kinds), "warning"))
    for cls in (LIBERATED, CONTESTED, UNKNOWN, OTHER):
        if counts.get(cls):
            problems.append(Problem(None, col, _("skipped {n} area(s) labelled {label}").format(
                n=counts[cls], label=cls), "warning"))
    if outside:
        shown = "; ".join(outside[:6]) + (" ..." if len(outside) > 6 else "")
        problems.append(Problem(None, "geometry", _("skipped {n} occupied area(s) outside the plausible extent: "
                                                    "{areas}").format(n=len(outside), areas=shown), "warning"))
    if repaired:
        problems.append(Problem(None, "geometry", _("repaired {n} invalid polygon(s)").format(n=repaired),
                                "warning"))
    if not keep:
        return None, problems, dict(counts)
    merged = shapely.union_all(keep)
    return merged, problems, dict(counts)


@functools.lru_cache(maxsize=4)
def _inner_border(border_wkb: bytes, tolerance_km: float) -> BaseGeometry:
    border = shapely.from_wkb(border_wkb)
    crs = metric_crs(border.bounds)
    s = gpd.GeoSeries([border], crs="EPSG:4326").to_crs(crs)
    inner = s.buffer(-tolerance_km * 1000.0).to_crs("EPSG:4326").iloc[0]
    return shapely.make_valid(inner) if not inner.is_valid else inner


def _lines(geom: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geom).tolist() if p.geom_type in ("LineString", "MultiLineString")]
    flat: list[BaseGeometry] = []
    for p in parts:
        flat += shapely.get_parts(p).tolist()
    flat = [p for p in flat if not p.is_empty and p.length > 0]
    if not flat:
        return shapely.MultiLineString()
    merged = shapely.line_merge(shapely.MultiLineString(flat))
    return merged


def derive_front_line(
    occupied: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    border: BaseGeometry | None = None,
    tolerance_km: float = 1.0,
) -> BaseGeometry:
    """The front line: the boundary of the occupied area that is not the state border.

    Parameters
    ----------
    occupied : the occupied area (polygons, EPSG:4326)
    border : the state's territory as a (Multi)Polygon (its boundary includes the coast). The
        parts of the occupied area's boundary within ``tolerance_km`` of the border, or outside the
        territory (sea, the aggressor's side), are removed. None keeps the whole boundary (the
        caller should warn: the result then includes border and coast segments).
    tolerance_km : how far from the border a boundary segment still counts as border (different
        sources draw the border a few hundred metres apart)

    Returns
    -------
    LineString or MultiLineString (empty when nothing is left).
    """
    if isinstance(occupied, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = [g for g in occupied.geometry.tolist() if g is not None]
        occupied = shapely.union_all(geoms) if geoms else shapely.Polygon()
    if occupied is None or occupied.is_empty:
        return shapely.MultiLineString()
    boundary = occupied.boundary
    if border is None:
        return _lines(boundary)
    inner = _inner_border(shapely.to_wkb(border), float(tolerance_km))
    return _lines(shapely.intersection(boundary, inner))


def border_from_frame(frame: gpd.GeoDataFrame) -> BaseGeometry:
    """A state border polygon from a file of areas (e.g. all oblasts): their union, in EPSG:4326."""
    polys = [g for g in frame.to_crs("EPSG:4326").geometry.tolist()
             if g is not None and g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [shapely.make_valid(g) if not g.is_valid else g for g in polys]
    return shapely.union_all(polys)


def outline_spacing_km(territory: BaseGeometry) -> float:
    """Mean geodesic distance (km) between consecutive vertices of the territory's outer rings.

    A measure of how generalised an outline is: a detailed national outline has a vertex every
    1-3 km, a generalised one (a few hundred vertices for a whole country) every 20 km or more.
    """
    rings = [p.exterior for p in shapely.get_parts(territory).tolist() if p.geom_type == "Polygon"]
    if not rings:
        return 0.0
    segments = sum(max(len(r.coords) - 1, 0) for r in rings)
    return geodesic_length_km(shapely.MultiLineString(rings)) / max(segments, 1)


def territory_problems(
    territory: BaseGeometry | None, *, tolerance_km: float, allow_outline: bool, name: str | None = None
) -> list[Problem]:
    """What deriving a front line against ``territory`` will get wrong, as problems.

    No territory: the front would be the whole outline of the occupied area, coasts and state borders
    included. That is an error unless the operator confirmed it (``allow_outline``; then a warning).
    A generalised territory (mean vertex spacing above ``max(5, 2 * tolerance_km)`` km) is a warning:
    its coast lies kilometres off the occupied area's, so coast segments stay in the front line.
    """
    if territory is None:
        text = _("no state territory: the derived front line would be the whole outline of the occupied area, "
                 "coasts and state borders included")
        if allow_outline:
            return [Problem(None, "front_line", _("{problem} (confirmed by the operator)").format(problem=text),
                            "warning")]
        return [Problem(None, "front_line", _("{problem}. Give the state territory (a national outline or the "
                                              "oblasts), or confirm deriving the front from the outline alone").format(
            problem=text))]
    spacing = outline_spacing_km(territory)
    limit = max(5.0, 2.0 * float(tolerance_km))
    if spacing > limit:
        text = (_("the state territory {name} is generalised (a vertex every {spacing} km on average, more than "
                  "{limit} km): its coast and border lie far from the occupied area's, so parts of them will "
                  "count as front line; use a detailed national outline") if name else
                _("the state territory is generalised (a vertex every {spacing} km on average, more than {limit} "
                  "km): its coast and border lie far from the occupied area's, so parts of them will count as "
                  "front line; use a detailed national outline"))
        return [Problem(None, "front_line", text.format(name=name, spacing=f"{spacing:.0f}", limit=f"{limit:.0f}"),
                        "warning")]
    return []
