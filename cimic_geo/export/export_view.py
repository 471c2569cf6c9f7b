"""What an export shows: a :class:`View` (bounding box, as-of time, visible layers, title,
marking) and :func:`load_view`, which reads exactly those rows from the store.

Every writer of this package takes the frames returned by :func:`load_view`, so the PNG, the
GeoPackage and the TAK package of one view always contain the same features.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd

from cimic_geo.errors import CimicError, ExportError
from cimic_geo.export.cimic_layers import CIMIC_LAYERS, read_cimic_layer
from cimic_geo.schema import LAYERS, VERSIONED_LAYERS
from cimic_geo.timefmt import to_utc

#: Layers shown when a view does not name any (roads are left out: at national scale they are
#: a million segments and add little to a briefing map).
DEFAULT_LAYERS: tuple[str, ...] = (
    "occupied_area",
    "front_line",
    "settlements",
    "shelters",
    "infrastructure",
    "corridors",
)

#: Drawing order (bottom to top) used by the map writers.
DRAW_ORDER: tuple[str, ...] = (
    "occupied_area",
    "partners",
    "roads",
    "front_line",
    "infrastructure",
    "corridors",
    "settlements",
    "shelters",
    "assessments",
    "evacuations",
)

DEFAULT_MARKING = "EXERCISE"


@dataclass(frozen=True)
class View:
    """The view to export: what the user sees on the COP page.

    Parameters
    ----------
    bbox : (minlon, minlat, maxlon, maxlat) in EPSG:4326; None = extent of the store
    as_of : time of the picture (UTC); None = the latest front-line/occupied snapshot
    layers : visible layers, names from :data:`cimic_geo.schema.LAYERS`; empty = :data:`DEFAULT_LAYERS`
    title : title printed on snapshots and used in file names
    marking : handling / classification marking; None = the store's marking, else ``EXERCISE``
    area : short area name for file names (``cimic_<area>_<YYYYMMDD>_<HHMM>Z.png``)
    """

    bbox: tuple[float, float, float, float] | None = None
    as_of: pd.Timestamp | None = None
    layers: tuple[str, ...] = DEFAULT_LAYERS
    title: str = "CIMIC situation"
    marking: str | None = None
    area: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        layers = tuple(self.layers) if self.layers else DEFAULT_LAYERS
        unknown = [name for name in layers if name not in LAYERS]
        if unknown:
            raise ExportError(
                f"unknown layer(s) {', '.join(repr(u) for u in unknown)}; expected some of: {', '.join(LAYERS)}"
            )
        # keep the user's set, drop duplicates, fix the order (drawing order)
        ordered = tuple(name for name in DRAW_ORDER if name in layers)
        object.__setattr__(self, "layers", ordered)
        if self.bbox is not None:
            object.__setattr__(self, "bbox", check_bbox(self.bbox))
        if self.as_of is not None:
            try:
                object.__setattr__(self, "as_of", to_utc(self.as_of))
            except CimicError as exc:
                raise ExportError(f"as-of time: {exc}") from None

    def with_(self, **changes: Any) -> View:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


def check_bbox(bbox: Sequence[float] | str) -> tuple[float, float, float, float]:
    """Parse and check a bounding box ``minlon,minlat,maxlon,maxlat`` (a string or 4 numbers)."""
    if isinstance(bbox, str):
        parts: Sequence[Any] = [p for p in bbox.replace(" ", "").split(",") if p]
    else:
        parts = list(bbox)
    try:
        x0, y0, x1, y1 = (float(v) for v in parts)
    except (TypeError, ValueError):
        raise ExportError(f"bbox must be four numbers minlon,minlat,maxlon,maxlat, got {bbox!r}") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ExportError(f"bbox values must be finite numbers, got {bbox!r}")
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ExportError(
            f"bbox must be minlon,minlat,maxlon,maxlat within -180..180 / -90..90 with min < max, got {bbox!r}"
        )
    return x0, y0, x1, y1


def parse_layers(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"shelters,corridors"`` -> ``("shelters", "corridors")``; checks names."""
    if text is None:
        return DEFAULT_LAYERS
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else [str(n).strip() for n in text]
    names = [n for n in names if n]
    if not names:
        raise ExportError(f"no layer named; expected some of: {', '.join(LAYERS)}")
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ExportError(
            f"unknown layer(s) {', '.join(repr(u) for u in unknown)}; expected some of: {', '.join(LAYERS)}"
        )
    return tuple(names)


@dataclass
class LoadedView:
    """A view resolved against a store: the rows to export and the context printed with them."""

    view: View
    bbox: tuple[float, float, float, float]
    as_of: pd.Timestamp | None
    frames: dict[str, gpd.GeoDataFrame]
    marking: str
    meta: dict[str, str]
    #: orienting layers drawn under the map layers (not exported as features): ``basemap``,
    #: ``major_roads``, ``labels`` (:func:`cimic_geo.export.snapshot_map.attach_basemap`)
    basemap: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(f) for f in self.frames.values())

    def counts(self) -> dict[str, int]:
        return {name: len(f) for name, f in self.frames.items()}

    def sources(self) -> list[str]:
        """Distinct ``source`` values of the exported rows, most frequent first."""
        parts = [f["source"].dropna().astype(str) for f in self.frames.values() if "source" in f and len(f)]
        if not parts:
            return []
        return pd.concat(parts).value_counts().index.tolist()

    def reported_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Earliest and latest ``reported_at`` of the exported rows."""
        parts = [f["reported_at"].dropna() for f in self.frames.values() if "reported_at" in f and len(f)]
        parts = [p for p in parts if len(p)]
        if not parts:
            return None
        allv = pd.concat(parts)
        return to_utc(allv.min()), to_utc(allv.max())


def resolve_as_of(store: Any, as_of: datetime | str | pd.Timestamp | None) -> pd.Timestamp | None:
    """The view's as-of time; None means the latest front-line/occupied snapshot in the store."""
    if as_of is not None:
        return to_utc(as_of)
    rng = store.time_range()
    return None if rng is None else rng[1]


def picture_as_of(store: Any, layer: str, as_of: pd.Timestamp | None) -> pd.Timestamp | None:
    """The time ``layer`` is read at for a picture at ``as_of``: history layers at ``as_of``; versioned
    layers (settlements, shelters, infrastructure) as they were then, current at the newest snapshot
    (:func:`cimic_geo.store.cop_reads.layers_as_of`); other layers ignore it."""
    if layer in VERSIONED_LAYERS:
        from cimic_geo.store.cop_reads import layers_as_of

        return layers_as_of(store, as_of)
    return as_of


def load_view(store: Any, view: View, *, allow_empty: bool = False) -> LoadedView:
    """Read the visible layers of ``view`` from ``store``.

    Parameters
    ----------
    store : an open :class:`cimic_geo.store.Store`
    view : what to export
    allow_empty : return an empty result instead of raising

    Raises
    ------
    ExportError
        When the view contains no feature at all (nothing to brief), or the store has no data.
    """
    bbox = view.bbox
    if bbox is None:
        full = store.bbox()
        if full is None:
            raise ExportError("the store is empty: nothing to export (seed or import data first)")
        bbox = check_bbox(full) if full[0] < full[2] and full[1] < full[3] else _pad(full)
    as_of = resolve_as_of(store, view.as_of)
    frames: dict[str, gpd.GeoDataFrame] = {}
    for name in view.layers:
        if name in CIMIC_LAYERS:  # each at the view's own time (None = now), see export.cimic_layers
            frames[name] = read_cimic_layer(store, name, bbox=bbox, as_of=view.as_of)
        else:
            frames[name] = store.read(name, bbox=bbox, as_of=picture_as_of(store, name, as_of))
    meta = store.get_meta()
    marking = view.marking if view.marking not in (None, "") else (meta.get("marking") or DEFAULT_MARKING)
    loaded = LoadedView(view=view, bbox=bbox, as_of=as_of, frames=frames, marking=str(marking), meta=meta)
    if not allow_empty and loaded.total == 0:
        where = ",".join(f"{v:.4f}" for v in bbox)
        raise ExportError(
            f"empty view: no {', '.join(view.layers)} in bbox {where}"
            + (f" at {as_of.isoformat()}" if as_of is not None else "")
            + "; widen the bounding box, pick other layers or another time"
        )
    return loaded


def _pad(bounds: Sequence[float], margin: float = 0.05) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in bounds)
    return max(x0 - margin, -180), max(y0 - margin, -90), min(x1 + margin, 180), min(y1 + margin, 90)
