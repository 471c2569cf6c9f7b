"""The ``changes`` map layer: the features that changed between two times, drawn as highlight rings
(shelters, infrastructure) and glows (corridors) over the COP's own layers.

:func:`changed_features` joins a :class:`cimic_geo.analytics.changes.Changes` to the positions of the
features it names; the text columns are in the current language (build the frame at the point of use).
The frame goes through :func:`cimic_geo.maps.cop_map.encode_layer` like every other layer (escaped JSON
data, never template source). Like the COP's other point layers it is drawn per view
(:func:`changes_in_view`): the whole frame is prepared once per window (:func:`prepare_changes`) and cut to
the view's bbox at each pan or zoom; above the point limit the changed points are counted per grid cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics.change_tables import change_labels
from cimic_geo.analytics.changes import Changes
from cimic_geo.i18n import _, term

COLUMNS = ["id", "name", "kind", "what", "change", "before", "after"]


def _value(v: object) -> str:
    return term(str(v)) if v is not None else "–"


def _capacity(status: str | None, capacity: int | None) -> str:
    return _value(status) + ("" if capacity is None else f" ({capacity:,})")


def changed_features(changes: Changes, *, shelters: gpd.GeoDataFrame | None, infrastructure: gpd.GeoDataFrame | None,
                     corridors: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """One row per changed shelter, infrastructure object and corridor that has a position.

    Parameters
    ----------
    changes : what changed (:func:`cimic_geo.analytics.changes.build_changes`)
    shelters, infrastructure, corridors : frames with ``id`` and geometry of (at least) the changed features

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS`: ``kind`` is the layer key (colour of the ring), ``what`` its title,
    ``change``/``before``/``after`` readable text.
    """
    labels = change_labels()
    rows: list[dict[str, object]] = []
    for c in changes.shelters:
        rows.append({"id": c.id, "name": c.name, "kind": "shelters", "what": _("Shelters"),
                     "change": labels.get(c.change, c.change),
                     "before": _capacity(c.status_before, c.capacity_before),
                     "after": _capacity(c.status_after, c.capacity_after)})
    for d in changes.damage:
        rows.append({"id": d.id, "name": d.name, "kind": "infrastructure", "what": _("Damaged infrastructure"),
                     "change": labels.get(d.change, d.change) + f" ({term(d.sector)})",
                     "before": _value(d.damage_before), "after": _value(d.damage_after)})
    last: dict[str, dict[str, object]] = {}
    for k in changes.corridors:  # one ring per corridor: its first and last status in the window
        first = last.get(k.id, {}).get("before", _value(k.from_status))
        last[k.id] = {"id": k.id, "name": k.name, "kind": "corridors", "what": _("Corridors"),
                      "change": labels["status"], "before": first, "after": _value(k.to_status)}
    rows += list(last.values())
    geoms = {}
    for kind, frame in (("shelters", shelters), ("infrastructure", infrastructure), ("corridors", corridors)):
        if frame is not None and len(frame):
            geoms.update({(kind, str(i)): g for i, g in zip(frame["id"], frame.geometry, strict=True)})
    kept = [r for r in rows if geoms.get((r["kind"], r["id"])) is not None]
    df = pd.DataFrame(kept, columns=COLUMNS)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([geoms[(r["kind"], r["id"])] for r in kept], crs="EPSG:4326"),
                            crs="EPSG:4326")


@dataclass(frozen=True)
class PreparedChanges:
    """The whole ``changes`` frame of a window with what a view cut needs, computed once: which rows are
    points, their coordinates, and the bounds of the others (corridors). Shared: do not modify."""

    frame: gpd.GeoDataFrame
    is_point: np.ndarray
    x: np.ndarray
    y: np.ndarray
    bounds: np.ndarray


def prepare_changes(frame: gpd.GeoDataFrame) -> PreparedChanges:
    """:class:`PreparedChanges` of a :func:`changed_features` frame."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    is_point = np.asarray(shapely.get_type_id(geoms) == 0) & ~np.asarray(shapely.is_empty(geoms), dtype=bool)
    return PreparedChanges(frame=frame, is_point=is_point, x=np.asarray(shapely.get_x(np.where(is_point, geoms, None))),
                           y=np.asarray(shapely.get_y(np.where(is_point, geoms, None))),
                           bounds=np.asarray(shapely.bounds(geoms)).reshape(-1, 4))


def in_view(prepared: PreparedChanges, bbox: Sequence[float]) -> np.ndarray:
    """Which rows of the frame meet ``bbox`` (minlon, minlat, maxlon, maxlat; edges included): the same answer
    as ``shapely.intersects(geometry, box(*bbox))``, with points compared as numbers and the other features
    tested only when their bounds overlap the box."""
    x0, y0, x1, y1 = (float(v) for v in bbox)
    p = prepared
    with np.errstate(invalid="ignore"):
        hit = p.is_point & (p.x >= x0) & (p.x <= x1) & (p.y >= y0) & (p.y <= y1)
        b = p.bounds
        near = ~p.is_point & (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
    if near.any():
        geoms = np.asarray(p.frame.geometry.values, dtype=object)[near]
        hit[near] = shapely.intersects(geoms, shapely.box(x0, y0, x1, y1))
    return hit


def aggregate_changes(frame: gpd.GeoDataFrame, *, cell_deg: float) -> gpd.GeoDataFrame:
    """Changed points per square grid cell of ``cell_deg`` degrees, as the COP's other point layers are
    aggregated (:func:`cimic_geo.store.cop_reads.grid_aggregate`): one point per non-empty cell at the mean
    position of its features, ordered by cell column then row, with ``n`` (count) and one count per changed
    layer (``shelters``, ``infrastructure``). Cells are a display device only."""
    xy = shapely.get_coordinates(np.asarray(frame.geometry.values, dtype=object))
    kinds = ("shelters", "infrastructure")
    if not len(xy):
        empty = pd.DataFrame({c: pd.Series([], dtype="int64") for c in ("n", *kinds)})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    cells = np.floor(xy / float(cell_deg))
    keys, inverse = np.unique(cells, axis=0, return_inverse=True)  # sorted by column, then row
    inverse = inverse.reshape(-1)
    n = np.bincount(inverse, minlength=len(keys))
    lon = np.bincount(inverse, weights=xy[:, 0], minlength=len(keys)) / n
    lat = np.bincount(inverse, weights=xy[:, 1], minlength=len(keys)) / n
    kind = frame["kind"].to_numpy()
    data = {"n": n.astype("int64"), **{k: np.bincount(inverse, weights=kind == k, minlength=len(keys)).astype("int64")
                                       for k in kinds}}
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.GeoSeries(shapely.points(lon, lat), crs="EPSG:4326"),
                            crs="EPSG:4326")


@dataclass(frozen=True)
class ChangesView:
    """The ``changes`` layers of one view: ``changes`` (the rings and corridor glows in the view; corridors
    only when the points are aggregated) and, above the point limit, ``changes_grid`` (counts per cell).
    ``points``: changed points in the view; ``cells``: grid cells drawn (0 when not aggregated)."""

    layers: dict[str, gpd.GeoDataFrame]
    points: int
    cells: int


def changes_in_view(prepared: PreparedChanges, *, bbox: Sequence[float], cell_deg: float,
                    point_limit: int) -> ChangesView:
    """The changed features meeting ``bbox``; above ``point_limit`` changed points in it the points are
    aggregated per grid cell of ``cell_deg`` degrees (the lines stay drawn: a few corridors).

    A window with no more than ``point_limit`` changed points in all is returned whole (the same frame object,
    whatever the view): a small layer then stays drawn, unchanged, through pans and zooms (the browser keeps a
    layer whose data did not change) instead of being cut and drawn again at each one."""
    if int(prepared.is_point.sum()) <= point_limit:
        return ChangesView({"changes": prepared.frame}, int(prepared.is_point.sum()), 0)
    hit = in_view(prepared, bbox)
    pts = hit & prepared.is_point
    n = int(pts.sum())
    if n <= point_limit:
        return ChangesView({"changes": prepared.frame[hit]}, n, 0)
    grid = aggregate_changes(prepared.frame[pts], cell_deg=cell_deg)
    return ChangesView({"changes": prepared.frame[hit & ~prepared.is_point], "changes_grid": grid}, n, len(grid))
