"""Places for routing: settlement names or ``lat,lon`` resolved and snapped onto the road graph.

A place joins the network at the nearest point on the nearest passable edge
(:meth:`~cimic_geo.analytics.roadgraph.RoadGraph.snap_edges`): a virtual node splitting that edge,
from which the route drives the partial edge to either end (one-way respected); the snap
distance is kept for display and warnings.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cimic_geo.errors import AnalysisError, NotFoundError
from cimic_geo.geo import parse_mgrs
from cimic_geo.i18n import _, fmt_number

if TYPE_CHECKING:  # a one-off CLI route resolves places without pandas (cimic_geo.analytics.route_fast)
    import geopandas as gpd
    import pandas as pd

    from cimic_geo.analytics.roadgraph import RoadGraph

#: A point further than this from any passable road is refused (km).
MAX_SNAP_KM = 5.0

_LATLON_RE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class EdgePoint:
    """A point on a graph edge: ``frac`` of the way from ``edge_u`` to ``edge_v`` (0-1)."""

    edge: int
    frac: float


@dataclass(frozen=True)
class Place:
    """A resolved origin/destination: where it is and where it joins the road graph.

    ``edge``/``frac`` is the nearest point on the nearest passable edge (routes start or end
    there: :class:`EdgePoint`); ``node`` is that edge's nearer end (for connectivity checks).
    """

    label: str
    lon: float
    lat: float
    node: int
    snap_km: float
    settlement_id: str | None = None
    edge: int = -1
    frac: float = 0.0

    @property
    def point(self) -> EdgePoint | int:
        """Where routes start or end: the point on the edge (the node when no edge is known)."""
        return EdgePoint(self.edge, self.frac) if self.edge >= 0 else self.node

    def as_dict(self) -> dict:
        return {"label": self.label, "lon": round(self.lon, 6), "lat": round(self.lat, 6),
                "snap_km": round(self.snap_km, 3), "settlement_id": self.settlement_id}


def _norm(text: object) -> str:
    return " ".join(str(text).casefold().split())


def find_settlement(text: str, settlements: gpd.GeoDataFrame) -> pd.Series:
    """The settlement named ``text`` (name or Ukrainian name, case-insensitive; or its id).

    When several settlements share the name, the most populous one is returned.

    Raises
    ------
    NotFoundError
        With up to 5 close matches when no settlement has that name.
    """
    q = _norm(text)
    if not q:
        raise NotFoundError(_("empty place name"))
    if settlements is None or not len(settlements):
        raise NotFoundError(_("no settlement named '{name}': the settlements layer is empty").format(name=text))
    exact = (settlements["name"] == text) | (settlements["id"].astype(str) == text)  # fast path: typed as stored
    if "name_uk" in settlements.columns:
        exact |= settlements["name_uk"] == text
    if exact.any():
        hits = settlements[exact]
        if "population" in hits.columns and len(hits) > 1:
            hits = hits.sort_values("population", ascending=False, kind="stable")
        return hits.iloc[0]
    names = settlements["name"].map(_norm)
    mask = (names == q) | (settlements["id"].astype(str).map(_norm) == q)
    if "name_uk" in settlements.columns:
        mask |= settlements["name_uk"].fillna("").map(_norm) == q
    hits = settlements[mask]
    if len(hits):
        if "population" in hits.columns and len(hits) > 1:
            hits = hits.sort_values("population", ascending=False, kind="stable")
        return hits.iloc[0]
    pool = {n: n for n in settlements["name"].astype(str)}
    if "name_uk" in settlements.columns:
        pool.update({str(n): str(n) for n in settlements["name_uk"].dropna()})
    lower = {_norm(k): k for k in pool}
    close = [lower[c] for c in difflib.get_close_matches(q, list(lower), n=5, cutoff=0.6)]
    if close:
        raise NotFoundError(_("no settlement named '{name}'; did you mean: {names}?").format(
            name=text, names=", ".join(close)))
    raise NotFoundError(_("no settlement named '{name}'; give a settlement name, 'lat,lon' or an MGRS reference")
                        .format(name=text))


def parse_latlon(text: str) -> tuple[float, float] | None:
    """``(lat, lon)`` from ``"48.5,37.2"`` or an MGRS reference (``"37U CP 67033 73440"``,
    :func:`cimic_geo.geo.parse_mgrs`); None when the text is neither (a settlement name)."""
    m = _LATLON_RE.match(str(text))
    if not m:
        return parse_mgrs(text)
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise AnalysisError(_("'{text}' is not a valid 'lat,lon' (latitude -90..90, longitude -180..180)").format(
            text=text))
    return lat, lon


def resolve_place(
    text: str | tuple[float, float],
    *,
    graph: RoadGraph,
    settlements: gpd.GeoDataFrame | None = None,
    max_snap_km: float = MAX_SNAP_KM,
    find: Callable[[str], tuple[str, float, float, str]] | None = None,
) -> Place:
    """Resolve a settlement name or ``"lat,lon"`` (or a ``(lat, lon)`` tuple) and snap it to the road graph.

    ``find`` looks a settlement name up as ``(label, lon, lat, id)`` (default: :func:`find_settlement`
    in ``settlements``).

    Raises
    ------
    NotFoundError
        Unknown settlement name (close matches suggested).
    AnalysisError
        The point is further than ``max_snap_km`` from any passable road.
    """
    sid = None
    if isinstance(text, tuple):
        lat, lon = float(text[0]), float(text[1])
        label = f"{lat:.5f},{lon:.5f}"
    else:
        ll = parse_latlon(text)
        if ll is not None:
            lat, lon = ll
            label = f"{lat:.5f},{lon:.5f}"
        elif find is not None:
            label, lon, lat, sid = find(text)
        else:
            row = find_settlement(text, settlements)
            pt = row.geometry
            lon, lat = float(pt.x), float(pt.y)
            label, sid = str(row["name"]), str(row["id"])
    edge, frac, dist = graph.snap_edges(lon, lat)
    if dist[0] > max_snap_km:
        raise AnalysisError(_("'{place}' is {km} km from the nearest passable road (limit {limit} km); pick a point "
                              "on or near the road network").format(place=label, km=fmt_number(dist[0], digits=1),
                                                                     limit=fmt_number(max_snap_km)))
    e, f = int(edge[0]), float(frac[0])
    node = int(graph.edge_u[e] if f <= 0.5 else graph.edge_v[e])
    return Place(label=label, lon=lon, lat=lat, node=node, snap_km=float(dist[0]), settlement_id=sid, edge=e, frac=f)
