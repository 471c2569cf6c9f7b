"""What the COP map needs for one view, read from the store at any scale (national scale included).

:func:`query_view` reads only the features in the (snapped) view bbox, simplified for the zoom;
point layers with more than ``point_limit`` features in the view are aggregated per grid cell in
SQL; settlements are generalised to the largest ``point_limit`` in the view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from cimic_geo.geo import geodesic_distance_km, to_mgrs
from cimic_geo.i18n import N_, _, fmt_int, fmt_number
from cimic_geo.maps.cop_map import DEFAULT_VISIBLE, STYLES, grid_cell_deg, simplify_tolerance
from cimic_geo.scenario._names import has_cyrillic, transliterate
from cimic_geo.schema import DAMAGE_LEVELS
from cimic_geo.store import Store
from cimic_geo.store.cop_reads import (
    count_in_bbox,
    grid_aggregate,
    layers_as_of,
    read_ranked,
    scan_known,
    settlements_without_latin_name,
)
from cimic_geo.store.cop_reads import search_settlements as _search
from cimic_geo.timefmt import dtg

#: Damaged = anything but ``none`` (the COP shows damaged infrastructure only).
DAMAGED = tuple(d for d in DAMAGE_LEVELS if d != "none")

#: Road classes drawn at each zoom (generalisation; all classes from zoom 12).
_ROAD_CLASSES_BY_ZOOM = (
    (0, ("motorway", "trunk")),
    (8, ("motorway", "trunk", "primary")),
    (10, ("motorway", "trunk", "primary", "secondary")),
    (11, ("motorway", "trunk", "primary", "secondary", "tertiary")),
    (12, None),
)
_ROAD_RANK = ("motorway", "trunk", "primary", "secondary", "tertiary", "local", "track")


def road_classes_for_zoom(zoom: float) -> tuple[str, ...] | None:
    """Road classes shown at ``zoom`` (None = all)."""
    chosen: tuple[str, ...] | None = None
    for z, classes in _ROAD_CLASSES_BY_ZOOM:
        if zoom >= z:
            chosen = classes
    return chosen


#: Major roads drawn with the basemap at each zoom (the full roads layer is a separate toggle).
_MAJOR_ROADS_BY_ZOOM = ((0, ("motorway", "trunk")), (8, ("motorway", "trunk", "primary")),
                        (10, ("motorway", "trunk", "primary", "secondary")))
#: Place names by zoom: (from zoom, minimum population, at most this many labels in the view).
_LABELS_BY_ZOOM = ((0, 250_000, 12), (7, 100_000, 25), (8, 40_000, 40), (9, 15_000, 60), (10, 5_000, 90),
                   (11, 1_000, 150), (12, 0, 250))


#: Aggregation cell (screen pixels): one count badge (at most 32 px wide) per cell, with room between.
AGGREGATE_CELL_PX = 80
#: Above this many points of a layer in the view, the layer is aggregated per grid cell.
POINT_LIMIT = 2000


def _by_zoom(table: tuple, zoom: float) -> tuple:
    chosen = table[0][1:]
    for row in table:
        if zoom >= row[0]:
            chosen = row[1:]
    return chosen


#: Every class of major roads drawn with the basemap at some zoom.
MAJOR_ROAD_CLASSES = tuple(dict.fromkeys(c for _z, classes in _MAJOR_ROADS_BY_ZOOM for c in classes))


def major_road_classes(zoom: float) -> tuple[str, ...]:
    """Road classes drawn with the basemap at ``zoom``."""
    return _by_zoom(_MAJOR_ROADS_BY_ZOOM, zoom)[0]


def label_rule(zoom: float) -> tuple[int, int]:
    """``(minimum population, maximum count)`` of the settlement names shown at ``zoom``: a few
    large places at national zoom, more and smaller ones as the map zooms in."""
    min_pop, limit = _by_zoom(_LABELS_BY_ZOOM, zoom)
    return int(min_pop), int(limit)


def merge_road_pieces(pieces: gpd.GeoDataFrame, *, tolerance: float) -> gpd.GeoDataFrame:
    """One (multi)line per ``road_class``: the pieces joined where they share end points
    (``line_merge``), then simplified to ``tolerance`` degrees (a display generalisation)."""
    rows, geoms = [], []
    for cls, group in pieces.groupby("road_class", sort=True):
        merged = shapely.line_merge(shapely.multilinestrings(np.asarray(group.geometry.values)))
        rows.append({"id": f"major-{cls}", "road_class": cls})
        geoms.append(shapely.simplify(merged, tolerance))
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["id", "road_class"]),
                            geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def basemap_layers(store: Store, *, bbox: Sequence[float], zoom: int,
                   want: Iterable[str] = ("basemap", "major_roads", "labels")) -> dict[str, gpd.GeoDataFrame]:
    """The orienting layers of a view: outlines and water (``basemap``), ``major_roads`` and
    settlement names (``labels``), all from the store (no tile server).

    Prepared once per store data version and cut per view in memory
    (:mod:`cimic_geo.maps.basemap_cache`); the major roads are merged per class, so their count does not
    grow with the view."""
    from cimic_geo.maps import basemap_cache

    want = set(want)
    tol = simplify_tolerance(zoom)
    prep = basemap_cache.prepared(store)
    out: dict[str, gpd.GeoDataFrame] = {}
    if "basemap" in want:
        out["basemap"] = basemap_cache.basemap_in_view(prep, bbox=bbox, zoom=int(zoom), tolerance=tol)
    if "major_roads" in want:
        out["major_roads"] = basemap_cache.roads_in_view(prep, store, classes=tuple(major_road_classes(zoom)),
                                                         bbox=bbox, zoom=int(zoom), tolerance=tol,
                                                         also=MAJOR_ROAD_CLASSES)
    if "labels" in want:
        min_pop, limit = label_rule(zoom)
        out["labels"] = basemap_cache.labels_in_view(prep, bbox=bbox, min_pop=min_pop, limit=limit)
    return out


def settlement_limit(zoom: float, *, point_limit: int) -> int:
    """How many settlements (the largest) to draw at ``zoom``: 500 at zoom 6 (a whole country),
    doubling per zoom level up to ``point_limit`` (cartographic generalisation, smaller payload)."""
    return int(min(point_limit, 250 * 2 ** max(0.0, float(zoom) - 5)))


class ViewNote(str):
    """A note for the user (what was aggregated or capped): the English text itself, which is what a
    cached result holds, plus its message and values so that :meth:`text` shows it in the language of
    the page run (never translated inside a cache shared between users)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> ViewNote:
        english = template.format(**{k: f"{v:,}" if isinstance(v, int) else v for k, v in values.items()})
        obj = super().__new__(cls, english)
        obj.template, obj.values = template, values
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by st.cache_data
        return (_view_note, (self.template, self.values))

    def text(self) -> str:
        """The note in the current language (numbers in its format, layer names translated)."""
        shown = {k: fmt_int(v) if isinstance(v, int) else _(STYLES.get(str(v), {}).get("title", str(v)))
                 for k, v in self.values.items()}
        return _(self.template).format(**shown)


def _view_note(template: str, values: dict[str, Any]) -> ViewNote:
    return ViewNote(template, **values)


@dataclass
class ViewData:
    """Layers for one view plus notes for the user (what was aggregated or capped)."""

    layers: dict[str, gpd.GeoDataFrame]
    bbox: tuple[float, float, float, float]
    zoom: int
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def query_view(
    store: Store,
    *,
    bbox: Sequence[float],
    zoom: int,
    as_of: datetime | str | None = None,
    visible: Iterable[str] | None = None,
    point_limit: int = POINT_LIMIT,
    road_limit: int = 6000,
) -> ViewData:
    """Read what the COP needs to draw ``bbox`` at ``zoom`` (the as-of time for history layers).

    Parameters
    ----------
    store : an open store
    bbox : (minlon, minlat, maxlon, maxlat) to read, normally :func:`cimic_geo.maps.cop_map.query_bbox`
    zoom : web-mercator zoom; sets the simplification tolerance and the aggregation cell
    as_of : time of the picture (default: current rows): the front line / occupied area in force
        then, and settlements, shelters, infrastructure and corridors as they were then
        (:func:`~cimic_geo.store.cop_reads.layers_as_of`: current at the newest front snapshot)
    visible : layer keys to read (default :data:`cimic_geo.maps.cop_map.DEFAULT_VISIBLE`)
    point_limit : above this many points in the view a point layer is aggregated per grid cell
    road_limit : at most this many road segments (largest classes first)
    """
    want = set(DEFAULT_VISIBLE if visible is None else visible)
    bbox = tuple(float(v) for v in bbox)  # type: ignore[assignment]
    tol = simplify_tolerance(zoom)
    out: dict[str, gpd.GeoDataFrame] = {}
    notes: list[str] = []
    counts: dict[str, int] = {}

    orient = {"basemap", "labels"} | ({"major_roads"} if "roads" not in want else set())
    out.update(basemap_layers(store, bbox=bbox, zoom=zoom, want=want & orient))

    for layer in ("front_line", "occupied_area"):  # read whole: a view's bands depend on the whole front
        if layer in want:
            if as_of is None:
                out[layer] = store.read(layer, where={"valid_to": None}, simplify_deg=tol)
            else:
                out[layer] = store.read(layer, as_of=as_of, simplify_deg=tol)

    t = layers_as_of(store, as_of) if want & {"settlements", "shelters", "infrastructure", "corridors"} else None
    if "corridors" in want:
        out["corridors"] = store.read("corridors", bbox=bbox, simplify_deg=tol, as_of=t)

    if "settlements" in want:
        n = count_in_bbox(store, "settlements", bbox=bbox, as_of=t)
        counts["settlements"] = n
        limit = settlement_limit(zoom, point_limit=point_limit)
        out["settlements"] = read_ranked(store, "settlements", order_by="population", limit=limit, bbox=bbox, as_of=t,
                                         scan=scan_known(n, as_of=t, layer="settlements"))
        if n > limit:
            notes.append(ViewNote(N_("settlements: the {limit} largest of {n} in view (zoom in for all)"), limit=limit, n=n))

    for layer, where, category, sums in (
        ("shelters", None, "status", ("capacity", "occupancy")),
        ("infrastructure", {"damage": list(DAMAGED)}, "damage", ("people_served",)),
    ):
        if layer not in want:
            continue
        n = count_in_bbox(store, layer, bbox=bbox, where=where, as_of=t)
        counts[layer] = n
        scan = scan_known(n, where=where, as_of=t, layer=layer)  # the count tells how to read (no second count)
        if n <= point_limit:
            out[layer] = store.read(layer, bbox=bbox, where=where, simplify_deg=tol, as_of=t, scan=scan)
        else:
            cells = grid_aggregate(store, layer, bbox=bbox, cell_deg=grid_cell_deg(zoom, cell_px=AGGREGATE_CELL_PX),
                                   category=category, where=where, sums=sums, as_of=t, scan=scan)
            if layer == "infrastructure":
                cells = cells.drop(columns=["none"], errors="ignore")
            out[f"{layer}_grid"] = cells
            notes.append(ViewNote(N_("{layer}: {n} in view aggregated into {cells} cells (zoom in for details)"),
                                  layer=layer, n=n, cells=len(cells)))

    if "roads" in want:
        classes = road_classes_for_zoom(zoom)
        where: dict[str, Any] | None = {"road_class": list(classes)} if classes else None
        n = count_in_bbox(store, "roads", bbox=bbox, where=where)
        counts["roads"] = n
        if n <= road_limit:
            roads = store.read("roads", bbox=bbox, where=where, simplify_deg=tol, scan=scan_known(n, where=where, layer="roads"))
        else:
            # the most important classes first, up to the cap
            parts, left = [], road_limit
            for cls in classes or _ROAD_RANK:
                if left <= 0:
                    break
                part = store.read("roads", bbox=bbox, where={"road_class": cls}, simplify_deg=tol, limit=left)
                parts.append(part)
                left -= len(part)
            roads = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
            notes.append(ViewNote(N_("roads: {shown} of {n} segments in view shown (zoom in for all)"), shown=road_limit,
                                  n=n))
        out["roads"] = roads

    return ViewData(layers=out, bbox=bbox, zoom=int(zoom), notes=notes, counts=counts)


def _loose(text: object) -> str:
    """Lower case without apostrophes, hyphens and spaces (``Kam'ianske`` = ``kamianske``)."""
    return re.sub(r"[\s'’ʼ`\-]+", "", str(text or "")).lower()


def search_settlements(store: Store, text: str, *, limit: int = 10) -> pd.DataFrame:
    """Settlements matching ``text`` by English, Ukrainian or transliterated name (case-insensitive),
    exact matches first, then the largest; with ``lat``, ``lon`` and ``mgrs``.

    A Cyrillic query also matches the Latin names through its official transliteration
    (``Краматорськ`` finds ``Kramatorsk``); a Latin query also matches names held only in Cyrillic
    (``Kramatorsk`` finds ``Краматорськ``).
    """
    text = (text or "").strip()
    frames = [_search(store, text, limit=limit)]
    if text and has_cyrillic(text):
        frames.append(_search(store, transliterate(text), limit=limit))
    elif text:
        if _loose(text) != text.lower():  # "Kam'ianske", "Bila-Tserkva": also without the marks
            frames.append(_search(store, re.sub(r"['’ʼ`]", "", text), limit=limit))
        cyr = settlements_without_latin_name(store)
        if len(cyr):
            key = _loose(text)
            latin = [_loose(transliterate(n)) for n in cyr["name"]]
            frames.append(cyr[[key in n for n in latin]])
    frames = [f for f in frames if len(f)]
    df = pd.concat(frames, ignore_index=True) if frames else frames_empty()
    if len(df):
        key = _loose(text)
        latin = [_loose(transliterate(str(n))) for n in df["name"]]
        exact = [_loose(a) == key or _loose(b) == key or c == key
                 for a, b, c in zip(df["name"], df["name_uk"].fillna(""), latin, strict=True)]
        df = (df.assign(_exact=exact, _pop=df["population"].fillna(-1))
              .drop_duplicates("id").sort_values(["_exact", "_pop", "id"], ascending=[False, False, True])
              .drop(columns=["_exact", "_pop"]).head(limit).reset_index(drop=True))
    df["mgrs"] = [to_mgrs(la, lo) for la, lo in zip(df["lat"], df["lon"], strict=True)]
    return df


def frames_empty() -> pd.DataFrame:
    """An empty search result."""
    return pd.DataFrame(columns=["id", "name", "name_uk", "admin1", "population", "lat", "lon"])


def search_layer(row: pd.Series | dict[str, Any]) -> gpd.GeoDataFrame:
    """A one-feature ``search`` layer (a pin) for a row of :func:`search_settlements`."""
    return gpd.GeoDataFrame(
        {"id": [row["id"]], "name": [row["name"]], "population": [row.get("population")]},
        geometry=gpd.GeoSeries([shapely.Point(float(row["lon"]), float(row["lat"]))], crs="EPSG:4326"),
        crs="EPSG:4326",
    )


def nearest_feature(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    lat: float,
    lon: float,
    max_km: float = 3.0,
) -> pd.DataFrame | None:
    """Attributes of the drawn feature nearest to a clicked point (within ``max_km``, geodesic).

    Polygons containing the point count as distance 0; points and lines are ranked by the
    geodesic distance to their nearest point. Returns a two-column table (attribute, value) with
    datetimes as DTG, or None when nothing is near.
    """
    click = shapely.Point(lon, lat)
    scale = np.array([np.cos(np.radians(lat)), 1.0])
    click_local = shapely.Point(lon * scale[0], lat)
    best: tuple[tuple[int, float], float, str, pd.Series] | None = None
    for key, gdf in layers.items():
        if gdf is None or len(gdf) == 0 or key.endswith("_grid"):
            continue
        geoms = np.asarray(gdf.geometry.values)
        # candidates by nearness in a local frame where a degree of longitude is shrunk by
        # cos(latitude) (a ranking only, close to metric near the click), then the true geodesic
        # distance of the best few
        local = shapely.transform(geoms, lambda xy: xy * scale)
        order = np.argsort(shapely.distance(local, click_local))[:8]
        for i in order:
            g = geoms[i]
            if g is None or g.is_empty:
                continue
            area = g.geom_type in ("Polygon", "MultiPolygon")
            if area and g.covers(click):
                d = 0.0
            else:
                p = shapely.ops.nearest_points(g, click)[0]
                d = float(geodesic_distance_km(lon, lat, p.x, p.y))
            if d > max_km:
                continue
            # areas under the click are the least specific; a line beats a point only when it is
            # more than 50 m nearer (points sit on roads and corridors)
            rank = (1 if area else 0, d + (0.05 if g.geom_type.endswith("LineString") else 0.0))
            if best is None or rank < best[0]:
                best = (rank, d, key, gdf.iloc[int(i)])
    if best is None:
        return None
    _rank, d, key, row = best
    rows = [(_("layer"), _(STYLES.get(key, {}).get("title", key))),
            (_("distance from click (km)"), fmt_number(d, digits=2))]
    for col, val in row.items():
        if isinstance(val, shapely.Geometry):
            continue
        if isinstance(val, pd.Timestamp):
            val = dtg(val)
        if val is None or (not isinstance(val, str) and pd.isna(val)):
            continue
        rows.append((str(col), str(val)))
    return pd.DataFrame(rows, columns=["attribute", "value"])
