"""Time to safety and cut-off settlements: how long each settlement needs to reach a safe hub by road.

One multi-source :func:`scipy.sparse.csgraph.dijkstra` runs backwards from the safe hubs
(settlements beyond the outer threat band, or chosen ones) on the transposed graph, so one-way
roads are driven in their direction towards the hub. Settlements and hubs join the network where
a route's start and end do: at the nearest point on the nearest passable edge, driving the partial
edge to either end (one-way respected) or straight along a shared edge
(:mod:`cimic_geo.analytics.road_split`; one virtual source node per hub, all settlements at once). Settlements are cut off when no route to a
hub avoids the excluded band. The danger-zone rule is the one of
:func:`cimic_geo.analytics.routing.find_routes`: a settlement inside the avoided zone may use the
zone's roads to leave it, by the way with the least time in the zone, never to cross it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from cimic_geo.analytics.bands import EDGE_TOLERANCE_KM, band_labels
from cimic_geo.analytics.road_split import (
    best_per_place,
    one_way,
    partial_cost,
    place_ends,
    same_edge_pairs,
    with_sources,
)
from cimic_geo.analytics.roadgraph import RoadGraph, RoutingPolicy
from cimic_geo.analytics.routing import MAX_SNAP_KM, find_settlement, in_zone
from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _, fmt_number


def _tree_reduce(pred: np.ndarray, value: np.ndarray, op: Any) -> np.ndarray:
    """``op``-reduce ``value`` over each node and its ancestors in a predecessor tree (pointer jumping)."""
    acc = value.copy()
    jump = np.where(pred >= 0, pred, -1)
    while (jump >= 0).any():
        valid = jump >= 0
        safe = np.where(valid, jump, 0)
        acc = np.where(valid, op(acc, acc[safe]), acc)
        jump = np.where(valid, jump[safe], -1)
    return acc


def _is_penalised(policy: RoutingPolicy) -> bool:
    return policy.penalties is not None and any(p != 1 for p in policy.penalties)


@dataclass
class _HubTree:
    """Shortest paths from every node to its nearest hub (a search backwards from the hubs' points).

    Arrays cover the graph's nodes followed by one virtual node per hub (the hub's point on its edge).
    """

    cost: np.ndarray  # policy cost; inf when no hub is reachable
    minutes: np.ndarray  # travel minutes along the path
    hub: np.ndarray  # the hub reached (index into the hubs; -1: none)
    zone_ahead: np.ndarray  # the path from the node uses a road of the avoided zone
    crossing: np.ndarray  # the path enters the avoided zone after having left it (zone-exit searches)


def _hub_search(graph: RoadGraph, policy: RoutingPolicy, hub_edge: np.ndarray, hub_frac: np.ndarray) -> _HubTree:
    """Nearest hub for every node, driving towards the hub's point on its edge (one-way respected)."""
    w = graph.weighted(policy)
    n, k = graph.n_nodes, len(hub_edge)
    arrive = place_ends(graph, hub_edge, hub_frac, leaving=False, ignore_oneway=policy.ignore_oneway)
    # backwards: virtual node n + hub -> the end node it is reached from, at the partial edge's cost
    csr = with_sources(w.csr_reverse, k, arrive.place, arrive.node, arrive.cost(w.cost))
    dist, pred, src = dijkstra(csr, indices=n + np.arange(k), min_only=True, return_predecessors=True)
    idx = np.arange(n + k)
    has = pred >= 0
    real = has & (pred < n)
    virt = has & (pred >= n)
    step_edge = np.full(n + k, -1, dtype=np.int64)
    step_part = np.ones(n + k)
    step_edge[real] = w.pos_edge[w.positions(idx[real], pred[real])]  # node -> pred drives towards the hub
    # a node whose next step is a hub's point drives that hub's partial edge
    end_key = arrive.place * n + arrive.node
    order = np.argsort(end_key, kind="stable")
    at = order[np.searchsorted(end_key[order], (pred[virt] - n) * n + idx[virt])]
    step_edge[virt], step_part[virt] = arrive.edge[at], arrive.part[at]
    safe = np.maximum(step_edge, 0)
    zone_ahead = crossing = np.zeros(n + k, dtype=bool)  # without the zone-exit rule zone roads are closed
    if _is_penalised(policy) or policy.zone_exit:
        minutes = _tree_reduce(pred, np.where(has, graph.edge_minutes[safe] * step_part, 0.0), np.add)
    else:
        minutes = dist
    if policy.zone_exit:
        zone_step = has & graph.zone_mask(policy)[safe] & (step_part > 0)  # no part: the hub is on the node
        zone_ahead = _tree_reduce(pred, zone_step, np.logical_or)
        re_enter = has & ~zone_step & zone_ahead[np.where(has, pred, 0)]
        crossing = _tree_reduce(pred, re_enter, np.logical_or)
    finite = np.isfinite(dist)
    return _HubTree(cost=dist, minutes=np.where(finite, minutes, np.inf), hub=np.where(finite, src - n, -1),
                    zone_ahead=zone_ahead, crossing=crossing)


@dataclass
class _Way:
    """Each settlement's best way to a hub from its point: cost, minutes, hub (-1: none), crossing."""

    cost: np.ndarray
    minutes: np.ndarray
    hub: np.ndarray
    crossing: np.ndarray


def _settlement_ways(graph: RoadGraph, policy: RoutingPolicy, edge: np.ndarray, frac: np.ndarray,
                     hub_rows: np.ndarray) -> _Way:
    """Every settlement's way to its nearest hub, leaving its point on its edge by either end (or
    along the edge straight to a hub on the same edge), the same joins as a route's."""
    w = graph.weighted(policy)
    tree = _hub_search(graph, policy, edge[hub_rows], frac[hub_rows])
    m = len(edge)
    leave = place_ends(graph, edge, frac, leaving=True, ignore_oneway=policy.ignore_oneway)
    cost = leave.cost(w.cost) + tree.cost[leave.node]
    best, pick = best_per_place(leave.place, cost, m)
    ok = pick >= 0
    node, e = leave.node[np.maximum(pick, 0)], leave.edge[np.maximum(pick, 0)]
    minutes = np.where(ok, leave.part[np.maximum(pick, 0)] * graph.edge_minutes[e] + tree.minutes[node], np.inf)
    hub = np.where(ok, tree.hub[node], -1)
    # the leading partial edge inside the zone may be followed by zone roads only as one run
    zone = graph.zone_mask(policy)
    on_node = leave.part[np.maximum(pick, 0)] == 0  # the settlement is on the node: no partial edge
    crossing = ok & np.where(zone[e] | on_node, tree.crossing[node], tree.zone_ahead[node])
    # straight along the edge to a hub on it
    ia, ib, part = same_edge_pairs(edge, frac, edge[hub_rows], frac[hub_rows],
                                   one_way(graph, ignore_oneway=policy.ignore_oneway))
    direct = partial_cost(part, w.cost[edge[ia]])
    better = np.isfinite(direct) & (direct < best[ia])
    if better.any():
        ia, ib, part, direct = ia[better], ib[better], part[better], direct[better]
        d_best, d_pick = best_per_place(ia, direct, m)
        rows = np.flatnonzero(d_pick >= 0)
        j = d_pick[rows]
        best[rows], hub[rows], crossing[rows] = d_best[rows], ib[j], False
        minutes[rows] = part[j] * graph.edge_minutes[edge[rows]]
    return _Way(cost=best, minutes=np.where(np.isfinite(best), minutes, np.inf), hub=hub, crossing=crossing)


def time_to_safety(
    graph: RoadGraph,
    settlements: gpd.GeoDataFrame,
    *,
    policy: RoutingPolicy | None = None,
    hubs: Sequence[str] | None = None,
    max_snap_km: float = MAX_SNAP_KM,
) -> gpd.GeoDataFrame:
    """Travel time from every settlement to the nearest safe hub, and which settlements are cut off.

    Parameters
    ----------
    graph : the road graph at the as-of time
    settlements : the settlements layer (``id``, ``name``, ``population``, point geometry)
    policy : threat handling; default excludes the innermost band (``avoid_km`` = first band edge)
    hubs : settlement ids or names to use as safe hubs; default every settlement beyond the outer
        band and not on the occupied side
    max_snap_km : settlements further than this from a passable road are cut off (``no road``)

    Returns
    -------
    GeoDataFrame with ``id, name, population, front_km, band, occupied, hub, minutes, nearest_hub,
    snap_km, status, reason``. ``status`` is one of ``hub``, ``reachable``, ``cut_off``,
    ``occupied``. A settlement inside the excluded band may leave it (its route may use band
    segments); a settlement outside it is cut off when every route to a hub enters the band.
    """
    if policy is None:
        policy = RoutingPolicy(avoid_km=graph.bands_km[0], penalties=None)
    if settlements is None or not len(settlements):
        raise AnalysisError(_("no settlements to compute access for"))
    s = settlements.reset_index(drop=True)
    lon = s.geometry.x.to_numpy(float)
    lat = s.geometry.y.to_numpy(float)
    front_km = graph.threat.points_distance_km(lon, lat)
    occ = graph.threat.occupied_mask(lon, lat)
    edge, frac, snap_km = graph.snap_edges(lon, lat)
    no_road = snap_km > max_snap_km
    outer = graph.bands_km[-1]
    if hubs is None:
        is_hub = (front_km > outer + EDGE_TOLERANCE_KM) & ~occ & ~no_road  # the outer edge is in the band
    else:
        ids = s["id"].astype(str).to_numpy()
        is_hub = np.zeros(len(s), dtype=bool)
        for h in hubs:
            row = find_settlement(h, s)
            is_hub |= ids == str(row["id"])
        if (is_hub & no_road).any():
            bad = s.loc[is_hub & no_road, "name"].iloc[0]
            raise AnalysisError(_("hub '{name}' is more than {km} km from a passable road").format(
                name=bad, km=fmt_number(max_snap_km)))
    if not is_hub.any():
        raise AnalysisError(_("no safe hub: no settlement lies beyond the outer threat band ({km} km) on the "
                              "friendly side; choose hubs explicitly").format(km=fmt_number(outer)))
    hub_rows = np.flatnonzero(is_hub)

    strict = _settlement_ways(graph, replace(policy, zone_exit=False), edge, frac, hub_rows)
    minutes, hub = strict.minutes, strict.hub
    in_band = in_zone(graph, policy, lon, lat)
    crosses = np.zeros(len(s), dtype=bool)
    if in_band.any():
        # the danger-zone rule: inside the avoided zone a settlement may use the zone's roads to
        # leave it, by the way with the least time in the zone, never to cross it again
        out = _settlement_ways(graph, replace(policy, zone_exit=True), edge, frac, hub_rows)
        crosses = in_band & out.crossing
        ok = np.isfinite(out.cost) & ~crosses
        minutes = np.where(in_band, np.where(ok, out.minutes, np.inf), minutes)
        hub = np.where(in_band, out.hub, hub)
    net = _settlement_ways(graph, replace(policy, avoid_km=None, penalties=None, zone_exit=False), edge, frac,
                           hub_rows)
    reachable_without_band = np.isfinite(net.cost)

    status = np.where(is_hub, "hub", np.where(np.isfinite(minutes) & ~no_road, "reachable", "cut_off"))
    status = np.where(occ & ~is_hub, "occupied", status)
    reason = np.full(len(s), "", dtype=object)
    cut = status == "cut_off"
    reason[cut & no_road] = _("no passable road within {km} km").format(km=fmt_number(max_snap_km))
    reason[cut & ~no_road & reachable_without_band] = _("every route enters the excluded threat band")
    reason[cut & ~no_road & reachable_without_band & in_band] = _("every way out of the excluded band crosses it "
                                                                  "again")
    reason[cut & ~no_road & ~reachable_without_band] = _("road network broken (impassable roads, destroyed bridges)")
    minutes = np.where(is_hub, 0.0, np.where(status == "reachable", minutes, np.nan))
    labels = [*band_labels(graph.bands_km), "beyond"]
    band = np.array(labels, dtype=object)[graph.threat.band_index(front_km)]
    band = np.where(occ, "occupied", band)
    ids = s["id"].astype(str).to_numpy()
    hub_id = np.where((status == "reachable") & (hub >= 0), ids[hub_rows][np.maximum(hub, 0)], None)
    hub_id = np.where(is_hub, s["id"].astype(str).to_numpy(), hub_id)
    out = gpd.GeoDataFrame(
        {
            "id": s["id"].astype(str).to_numpy(),
            "name": s["name"].to_numpy(),
            "population": pd.to_numeric(s.get("population", 0), errors="coerce").fillna(0).astype("int64").to_numpy(),
            "front_km": np.round(front_km, 3),
            "band": band,
            "occupied": occ,
            "hub": is_hub,
            "in_excluded_band": in_band,
            "minutes": minutes,
            "nearest_hub": hub_id,
            "snap_km": np.round(snap_km, 3),
            "status": status,
            "reason": reason,
        },
        geometry=s.geometry.values,
        crs="EPSG:4326",
    )
    return out
