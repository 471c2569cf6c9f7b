"""The road network: one connected hierarchy over the settlements, split into short segments.

Edges come from the Delaunay triangulation of the settlements (planar, local): its minimum
spanning tree guarantees one connected network, a share of the remaining short edges adds the
loops real networks have. Higher classes are shortest paths between ever larger places
(motorway between the main cities, trunk/primary between cities and big towns, secondary
between towns) upgraded along the existing edges, so main roads pass through villages and
junctions exist where roads meet. Every edge is a gently curved line cut into pieces whose
endpoints are rounded to 6 decimals once, so consecutive pieces and junctions share exactly
the same coordinates.

``speed_kmh`` is the class speed (motorway 110 ... track 30), halved on ``damaged`` pieces and 5 on
``impassable`` ones (routers should exclude those by status).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay

from cimic_geo.scenario._config import ScaleConfig
from cimic_geo.scenario._theatre import Theatre
from cimic_geo.schema import ROAD_CLASSES

SPEED_KMH = {"motorway": 110.0, "trunk": 90.0, "primary": 80.0, "secondary": 70.0, "tertiary": 60.0,
             "local": 50.0, "track": 30.0}
_CURVE_SIGMA = np.array([0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.10])  # by class rank
_NAME_PREFIX = ("M", "H", "P", "T", "O", None, None)
RANK = {c: i for i, c in enumerate(ROAD_CLASSES)}  # 0 = motorway ... 6 = track


@dataclass
class RoadNetwork:
    """Segments (the ``roads`` layer) plus the edge graph used for corridors."""

    segments: pd.DataFrame  # id, road_class, speed_kmh, bridge, status, name, geometry (lon/lat)
    seg_xy_mid: np.ndarray  # metric midpoints
    edge_a: np.ndarray
    edge_b: np.ndarray
    edge_len: np.ndarray  # m (straight)
    edge_rank: np.ndarray
    edge_pt_start: np.ndarray  # first point index into ``points``
    edge_pt_count: np.ndarray
    points: np.ndarray  # (P, 2) rounded lon/lat of all edge polylines
    edge_seg_start: np.ndarray
    bridges: pd.DataFrame  # segment index, river name, distance to front (km), damage


def _pairs_from_delaunay(xy: np.ndarray) -> np.ndarray:
    s = Delaunay(xy).simplices
    pairs = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    pairs.sort(axis=1)
    return np.unique(pairs, axis=0)


def _mst_pairs(xy: np.ndarray, pairs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    n = len(xy)
    m = coo_matrix((weights, (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
    t = minimum_spanning_tree(m).tocoo()
    out = np.column_stack([t.row, t.col])
    out.sort(axis=1)
    return out


def _level_pairs(xy: np.ndarray, idx: np.ndarray, area: shapely.Polygon, rng, extra_share: float) -> np.ndarray:
    """MST (+ a share of short extra Delaunay edges) among a subset of nodes, as global node pairs."""
    if len(idx) < 2:
        return np.empty((0, 2), dtype=int)
    if len(idx) == 2:
        return idx[None, :]
    if len(idx) == 3:
        local = np.array([[0, 1], [1, 2]])
    else:
        local = _pairs_from_delaunay(xy[idx])
    lengths = np.hypot(*(xy[idx[local[:, 0]]] - xy[idx[local[:, 1]]]).T)
    lines = shapely.linestrings(np.stack([xy[idx[local[:, 0]]], xy[idx[local[:, 1]]]], axis=1))
    inside = shapely.covers(area, lines)
    mst = _mst_pairs(xy[idx], local, lengths * np.where(inside, 1.0, 5.0) + 1e-9)
    keep = {tuple(p) for p in mst}
    med = np.median(lengths[inside]) if inside.any() else np.median(lengths)
    for k, p in enumerate(local):
        if tuple(p) not in keep and inside[k] and lengths[k] <= 1.2 * med and rng.random() < extra_share:
            keep.add(tuple(p))
    return idx[np.array(sorted(keep))]


def build_roads(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame, rng: np.random.Generator) -> RoadNetwork:
    xy = st[["x", "y"]].to_numpy()
    node_ll = st[["lon", "lat"]].to_numpy()
    pop = st["population"].to_numpy()
    kind = st["settlement_type"].to_numpy()
    n = len(xy)
    area = th.area

    # -- candidate edges: the Delaunay triangulation (planar, local) --------------------------------
    pairs = _pairs_from_delaunay(xy)
    length = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    lines = shapely.linestrings(np.stack([xy[pairs[:, 0]], xy[pairs[:, 1]]], axis=1))
    ok = shapely.covers(shapely.buffer(area, 2_000.0), lines) & (length <= 30_000.0)
    weight = length * np.where(ok, 1.0, 20.0) + 1e-9  # avoid long hull edges and sea crossings
    e = len(pairs)
    rank = np.full(e, 99)
    names = np.full(e, None, dtype=object)

    # -- hierarchy: shortest paths between ever larger places become main roads ---------------------
    edge_of = {(int(a), int(b)): k for k, (a, b) in enumerate(pairs)}
    cities = np.flatnonzero(kind == "city")
    top_k = cities[: max(2, len(cities) // 6)]
    big_towns_trunk = np.flatnonzero((kind != "village") & (pop >= (80_000 if n > 5_000 else 50_000)))
    big_towns_primary = np.flatnonzero((kind != "village") & (pop >= (30_000 if n > 5_000 else 20_000)))
    towns = np.flatnonzero(kind != "village")
    levels = (
        ("motorway", _level_pairs(xy, top_k, area, rng, 0.0)),
        ("trunk", _level_pairs(xy, np.union1d(cities, big_towns_trunk), area, rng, 0.2)),
        ("primary", _level_pairs(xy, big_towns_primary, area, rng, 0.35)),
        ("secondary", _level_pairs(xy, towns, area, rng, 0.35)),
    )
    for cls, level_pairs in levels:
        if len(level_pairs) == 0:
            continue
        r = RANK[cls]
        prefix = _NAME_PREFIX[r]
        # reuse existing main roads where they help (as real routes share sections)
        graph = coo_matrix((weight * np.where(rank < 99, 0.75, 1.0), (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
        srcs = np.unique(level_pairs[:, 0])
        span = np.hypot(*(xy[level_pairs[:, 0]] - xy[level_pairs[:, 1]]).T)
        for chunk in np.array_split(srcs, max(1, len(srcs) // 64)):
            _, pred = dijkstra(graph, directed=False, indices=chunk, return_predecessors=True,
                               limit=float(span.max()) * 3.0)
            row_of = {int(s): i for i, s in enumerate(chunk)}
            for route_no, (a, b) in enumerate(level_pairs, start=1):
                if int(a) not in row_of:
                    continue
                p = pred[row_of[int(a)]]
                node = int(b)
                while node != a and p[node] >= 0:
                    prev = int(p[node])
                    k = edge_of[(min(prev, node), max(prev, node))]
                    if rank[k] > r:
                        rank[k] = r
                        names[k] = f"{prefix}-{route_no:02d}"
                    node = prev

    # -- local network: MST for connectivity, a share of short extra edges for loops ---------------
    mst = _mst_pairs(xy, pairs, weight)
    in_mst = np.zeros(e, dtype=bool)
    in_mst[[edge_of[(int(a), int(b))] for a, b in mst]] = True
    med = np.median(length[in_mst])
    p_extra = np.where(length <= 1.5 * med, 0.6, 0.12)
    use = (rank < 99) | in_mst | (ok & (rng.random(e) < p_extra))
    village = kind == "village"
    both_villages = village[pairs[:, 0]] & village[pairs[:, 1]]
    base = np.where(both_villages, RANK["local"], RANK["tertiary"])
    base = np.where(both_villages & ~in_mst & (rng.random(e) < 0.45), RANK["track"], base)
    rank = np.minimum(rank, base)
    pairs, length, rank, names = pairs[use], length[use], rank[use], names[use]
    e = len(pairs)

    # -- geometry: curved edges sampled into equal pieces -------------------------------------------
    seg_len = length.sum() * 1.02 / cfg.target_segments
    pieces = np.maximum(1, np.round(length * 1.02 / seg_len)).astype(np.int64)
    npts = pieces + 1
    pt_start = np.r_[0, np.cumsum(npts)[:-1]]
    total = int(npts.sum())
    edge_of_pt = np.repeat(np.arange(e), npts)
    t = (np.arange(total) - pt_start[edge_of_pt]) / pieces[edge_of_pt]
    p0, p2 = xy[pairs[:, 0]], xy[pairs[:, 1]]
    direction = (p2 - p0) / length[:, None]
    perp = np.column_stack([-direction[:, 1], direction[:, 0]])
    sigma = _CURVE_SIGMA[rank]
    bend = np.clip(rng.normal(size=e), -2, 2) * sigma * length
    wiggle = rng.normal(0, 0.012, size=e) * length
    waves = rng.integers(2, 5, size=e)
    ctrl = (p0 + p2) / 2 + perp * bend[:, None]
    tt = t[:, None]
    pts = ((1 - tt) ** 2) * p0[edge_of_pt] + 2 * (1 - tt) * tt * ctrl[edge_of_pt] + (tt**2) * p2[edge_of_pt]
    pts += perp[edge_of_pt] * (wiggle[edge_of_pt] * np.sin(waves[edge_of_pt] * np.pi * t))[:, None]
    lon, lat = th.to_lonlat.transform(pts[:, 0], pts[:, 1])
    ll = np.round(np.column_stack([lon, lat]), 6)
    ll[pt_start] = node_ll[pairs[:, 0]]  # endpoints exactly the settlement coordinates
    ll[pt_start + pieces] = node_ll[pairs[:, 1]]

    # segment k of edge i uses points pt_start[i] + k and + k + 1
    edge_of_seg = np.repeat(np.arange(e), pieces)
    seg_start = np.r_[0, np.cumsum(pieces)[:-1]]
    j = np.arange(int(pieces.sum())) - seg_start[edge_of_seg]
    first = pt_start[edge_of_seg] + j
    seg_coords = np.stack([ll[first], ll[first + 1]], axis=1)
    geoms = shapely.linestrings(seg_coords)
    mid = (pts[first] + pts[first + 1]) / 2
    d_km = th.front_distance_km(mid)

    # -- damage: runs of pieces, probability decaying with distance to the front --------------------
    new_run = (j % 6) == 0
    run = np.cumsum(new_run) - 1
    u = rng.random(int(run[-1]) + 1)[run]
    p_imp = 0.10 * np.exp(-d_km / 6.0)
    p_dam = 0.35 * np.exp(-d_km / 15.0) + 0.015
    status = np.where(u < p_imp, "impassable", np.where(u < p_imp + p_dam, "damaged", "open")).astype(object)

    # -- bridges: pieces crossing a river ------------------------------------------------------------
    tree = shapely.STRtree(geoms)
    bridge = np.zeros(len(geoms), dtype=bool)
    rows = []
    for river_name, river in th.rivers:
        rx, ry = th.to_lonlat.transform(*np.asarray(river.coords).T)
        river_ll = shapely.LineString(np.column_stack([rx, ry]))
        hit = tree.query(river_ll, predicate="intersects")
        hit = hit[~bridge[hit]]
        bridge[hit] = True
        rows += [(int(h), river_name) for h in np.sort(hit)]
    bridges = pd.DataFrame(rows, columns=["seg", "river"])
    bd = d_km[bridges["seg"].to_numpy()] if len(bridges) else np.zeros(0)
    u2 = rng.random(len(bridges))
    p_destroyed = 0.7 * np.exp(-bd / 12.0)
    p_major = p_destroyed + 0.15 * np.exp(-bd / 25.0) + 0.03
    p_minor = p_major + 0.10
    damage = np.where(u2 < p_destroyed, "destroyed", np.where(u2 < p_major, "major",
                      np.where(u2 < p_minor, "minor", "none"))).astype(object)
    if len(bridges) and not (damage == "destroyed").any():
        damage[int(np.argmin(bd))] = "destroyed"
    bridges["d_km"] = bd
    bridges["damage"] = damage
    if len(bridges):
        segs = bridges["seg"].to_numpy()
        status[segs] = np.where(damage == "destroyed", "impassable", np.where(damage == "major", "damaged", "open"))

    seg_rank = rank[edge_of_seg]
    road_class = np.array(ROAD_CLASSES, dtype=object)[seg_rank]
    speed = np.array([SPEED_KMH[c] for c in ROAD_CLASSES])[seg_rank]
    speed = np.where(status == "damaged", np.round(speed * 0.5), np.where(status == "impassable", 5.0, speed))

    segments = pd.DataFrame(
        {
            "id": [f"R{i + 1:07d}" for i in range(len(geoms))],
            "road_class": road_class,
            "speed_kmh": speed.astype(float),
            "bridge": bridge,
            "status": status,
            "name": names[edge_of_seg],
            "oneway": False,
            "tunnel": False,
            "ford": False,
            "name_uk": None,
            "name_en": None,
            "geometry": geoms,
        }
    )
    return RoadNetwork(
        segments=segments,
        seg_xy_mid=mid,
        edge_a=pairs[:, 0],
        edge_b=pairs[:, 1],
        edge_len=length,
        edge_rank=rank,
        edge_pt_start=pt_start,
        edge_pt_count=npts,
        points=ll,
        edge_seg_start=seg_start,
        bridges=bridges,
    )
