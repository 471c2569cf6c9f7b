"""Shelter coverage (DESIGN §6, issue 5): who can reach an open shelter with a free place.

Method
------
1. *Reach*: the settlement→shelter pairs within a limit and their cost, as a sparse
   :class:`Reach` (straight-line km from :func:`straight_line_reach`, or road minutes from
   :func:`travel_time_reach`); any other reach plugs into the same solver.
2. *Allocation*, exact and independent of the row order: a transportation problem (settlement
   population → shelter free places along reach edges) solved lexicographically: first the
   maximum number of people placed (a max-flow, :func:`scipy.sparse.csgraph.maximum_flow`, in
   integers), then, with that many placed in every connected component of the reach graph, the
   least total person-cost (person-km or person-minutes; a linear programme solved by HiGHS via
   :func:`scipy.optimize.linprog`). The constraint matrix is totally unimodular, so the optimal
   vertex is integral. Components with one settlement or one shelter are solved greedily
   nearest-first, which is exact for them; the LP itself is split into blocks that share no
   constraint row and solved block by block (small blocks batched). Rows are put in a
   canonical order (by id) first, so the answer does not depend on the order of the input rows;
   AccessMod's facility-by-facility allocation does.

Usable shelters: status ``open`` with ``capacity - occupancy > 0`` free places (``full``,
``closed`` and ``damaged`` shelters take nobody).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components, maximum_flow
from scipy.spatial import cKDTree

from cimic_geo.analytics.bands import check_distance
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import GEOD, WGS84
from cimic_geo.timefmt import iso, to_utc

DEFAULT_MAX_KM = 2.0
USABLE_STATUSES = ("open",)
_INT_MAX = np.iinfo(np.int32).max


@dataclass
class Reach:
    """Sparse reach: settlement ``s[k]`` can reach shelter ``h[k]`` at ``cost[k]`` (``unit``).

    Indices refer to the rows of the settlements and shelters frames as given to the solver.
    """

    s: np.ndarray
    h: np.ndarray
    cost: np.ndarray
    unit: str = "km"
    limit: float = float("nan")

    def __post_init__(self) -> None:
        self.s = np.asarray(self.s, dtype=np.int64)
        self.h = np.asarray(self.h, dtype=np.int64)
        self.cost = np.asarray(self.cost, dtype=float)
        if not (len(self.s) == len(self.h) == len(self.cost)):
            raise AnalysisError("reach arrays must have the same length")
        if len(self.cost) and (not np.all(np.isfinite(self.cost)) or self.cost.min() < 0):
            raise AnalysisError("reach costs must be finite and non-negative")


def _xy(geom: gpd.GeoSeries) -> np.ndarray:
    """(lon, lat) of each geometry: the point itself, or a representative point inside it."""
    arr = np.asarray(geom.array)
    if not len(arr):
        return np.empty((0, 2))
    if not (shapely.get_type_id(arr) == 0).all():
        arr = shapely.point_on_surface(arr)
    return np.column_stack([shapely.get_x(arr), shapely.get_y(arr)])


def _points_lonlat(gdf: gpd.GeoDataFrame, name: str) -> np.ndarray:
    if not len(gdf):
        return np.empty((0, 2))
    geom = gdf.geometry
    missing = shapely.is_missing(np.asarray(geom.array)) | shapely.is_empty(np.asarray(geom.array))
    if missing.any():
        raise AnalysisError(f"{name}: row {int(np.flatnonzero(missing)[0]) + 1} has no geometry")
    return _xy(geom)


def _ecef(lonlat: np.ndarray) -> np.ndarray:
    """Earth-centred cartesian coordinates (m) of points on the WGS84 ellipsoid (height 0)."""
    a, f = GEOD.a, GEOD.f
    e2 = f * (2.0 - f)
    lam, phi = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    sphi, cphi = np.sin(phi), np.cos(phi)
    n = a / np.sqrt(1.0 - e2 * sphi * sphi)
    return np.column_stack([n * cphi * np.cos(lam), n * cphi * np.sin(lam), n * (1.0 - e2) * sphi])


def straight_line_reach(
    settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, *, max_km: float
) -> Reach:
    """Pairs within ``max_km`` (geodesic, WGS84) and their distance in km.

    Candidates come from a k-d tree on earth-centred 3-D coordinates: the straight chord between
    two points on the ellipsoid is never longer than the geodesic between them, so every pair
    within ``max_km`` is a candidate (and, the chord being shorter by only ~d³/24R², very few
    others are). The kept pairs and costs are exact geodesic distances (pyproj.Geod).
    """
    d_max = check_distance(max_km, name="max_km")
    a = _points_lonlat(settlements, "settlements")
    b = _points_lonlat(shelters, "shelters")
    if not len(a) or not len(b):
        return Reach(np.empty(0), np.empty(0), np.empty(0), unit="km", limit=d_max)
    radius_m = d_max * 1000.0 * (1.0 + 1e-9) + 1e-3  # float round-off margin only
    ta, tb = cKDTree(_ecef(a)), cKDTree(_ecef(b))
    pairs = ta.sparse_distance_matrix(tb, radius_m, output_type="ndarray")
    key = np.sort(pairs["i"].astype(np.int64) * len(b) + pairs["j"])  # settlement, then shelter
    s, h = np.divmod(key, len(b))
    if not len(s):
        return Reach(s, h, np.empty(0), unit="km", limit=d_max)
    _, _, dist = GEOD.inv(a[s, 0], a[s, 1], b[h, 0], b[h, 1])
    km = np.asarray(dist, dtype=float) / 1000.0
    keep = km <= d_max + 1e-9
    return Reach(s[keep], h[keep], km[keep], unit="km", limit=d_max)


def travel_time_reach(
    graph: Any, settlements: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, *, max_minutes: float,
    policy: Any = None, access_speed_kmh: float = 5.0,
) -> Reach:
    """Pairs whose road travel time is within ``max_minutes``, cost in minutes.

    Settlements and shelters are snapped to the nearest road node of ``graph`` (a
    :class:`cimic_geo.analytics.roadgraph.RoadGraph`); the straight-line distance to the node is
    added at ``access_speed_kmh`` (walking). Travel times come from Dijkstra searches limited to
    ``max_minutes`` (:func:`scipy.sparse.csgraph.dijkstra`), one per distinct settlement node.
    """
    from scipy.sparse.csgraph import dijkstra

    t_max = check_distance(max_minutes, name="max_minutes")
    a = _points_lonlat(settlements, "settlements")
    b = _points_lonlat(shelters, "shelters")
    if not len(a) or not len(b):
        return Reach(np.empty(0), np.empty(0), np.empty(0), unit="min", limit=t_max)
    if policy is None:
        from cimic_geo.analytics.roadgraph import NO_THREAT
        policy = NO_THREAT
    na, da = graph.snap(a[:, 0], a[:, 1])
    nb, db = graph.snap(b[:, 0], b[:, 1])
    wa = np.asarray(da) / access_speed_kmh * 60.0
    wb = np.asarray(db) / access_speed_kmh * 60.0
    csr = graph.weighted(policy).csr
    src, inv = np.unique(na, return_inverse=True)
    by_node = np.argsort(inv, kind="stable")
    node_start = np.searchsorted(inv[by_node], np.arange(len(src) + 1))
    s_out, h_out, c_out = [], [], []
    chunk = max(1, min(256, int(2e7 // max(graph.n_nodes, 1))))
    for start in range(0, len(src), chunk):
        nodes = src[start:start + chunk]
        dist = dijkstra(csr, directed=True, indices=nodes, limit=t_max)
        tt = dist[:, nb]  # (chunk, n_shelters)
        for k in range(len(nodes)):
            sets = by_node[node_start[start + k]:node_start[start + k + 1]]
            row = tt[k]
            ok = np.isfinite(row)
            if not ok.any():
                continue
            hs = np.flatnonzero(ok)
            for si in sets:
                cost = wa[si] + row[hs] + wb[hs]
                keep = cost <= t_max + 1e-9
                s_out.append(np.full(int(keep.sum()), si))
                h_out.append(hs[keep])
                c_out.append(cost[keep])
    if not s_out:
        return Reach(np.empty(0), np.empty(0), np.empty(0), unit="min", limit=t_max)
    return Reach(np.concatenate(s_out), np.concatenate(h_out), np.concatenate(c_out), unit="min", limit=t_max)


# ----------------------------------------------------------------------------------------------
# the exact allocation
# ----------------------------------------------------------------------------------------------


def _greedy(groups: np.ndarray, rank: np.ndarray, supply: np.ndarray, other_cap: np.ndarray) -> np.ndarray:
    """Nearest-first fill of each group's supply over its edges, ignoring the other groups.

    ``groups`` is the node (settlement or shelter) whose edges these are, ``rank`` the edges' rank
    by cost (ties broken by settlement, then shelter index), ``supply`` that node's amount
    (repeated per edge), ``other_cap`` the capacity of the edge's other end.
    """
    order = np.argsort(groups * np.int64(rank.max() + 1) + rank)
    g = groups[order]
    cap = other_cap[order].astype(np.int64)
    csum = np.cumsum(cap)
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(g)]))
    before = csum - cap - (csum[first] - cap[first])
    amount = np.clip(supply[order].astype(np.int64) - before, 0, cap)
    out = np.empty(len(order), dtype=np.int64)
    out[order] = amount
    return out


def allocate(population: np.ndarray, capacity: np.ndarray, reach: Reach) -> np.ndarray:
    """People sent along each reach edge: most people placed, then least person-cost. Exact.

    Parameters
    ----------
    population : people per settlement (non-negative integers)
    capacity : free places per shelter (non-negative integers)
    reach : edges (indices into the two arrays) with costs

    Returns
    -------
    numpy.ndarray of int64, people per edge of ``reach`` (same order).

    The result depends only on the arrays' content and order; :func:`coverage` sorts rows by id
    first so that it does not depend on the input row order.
    """
    pop = np.asarray(population, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.int64)
    if (pop < 0).any() or (cap < 0).any():
        raise AnalysisError("population and capacity must be non-negative")
    n_e = len(reach.s)
    flow = np.zeros(n_e, dtype=np.int64)
    live = (pop[reach.s] > 0) & (cap[reach.h] > 0) if n_e else np.zeros(0, bool)
    e = np.flatnonzero(live)
    if not len(e):
        return flow
    s, h, c = reach.s[e], reach.h[e], reach.cost[e]
    ns, nh = len(pop), len(cap)
    # connected components of the bipartite reach graph
    g = sp.coo_matrix((np.ones(len(e)), (s, ns + h)), shape=(ns + nh, ns + nh)).tocsr()
    _, comp = connected_components(g, directed=False)
    ecomp = comp[s]
    # rank of every edge by cost, ties by settlement then shelter (edges already in (s, h) order,
    # as straight_line_reach returns them, need only a stable sort by cost)
    rank = np.empty(len(e), dtype=np.int64)
    key = s * nh + h
    by_cost = np.argsort(c, kind="stable") if np.all(key[1:] > key[:-1]) else np.lexsort((h, s, c))
    rank[by_cost] = np.arange(len(e))
    # Certificates, per connected component (both exact, see module doc):
    # a) every settlement fills its nearest shelters alone; if no shelter of the component is then
    #    over capacity, each settlement has its own best, so the component is optimal;
    # b) every shelter fills from its nearest settlements alone; if no settlement is then drawn
    #    beyond its population, every shelter is at its own maximum at least cost: optimal.
    todo = np.ones(comp.max() + 1, dtype=bool)
    take = _greedy(s, rank, pop[s], cap[h])
    over = np.bincount(h, weights=take, minlength=nh) > cap
    bad = np.zeros_like(todo)
    bad[comp[ns + np.flatnonzero(over)]] = True
    ok = ~bad[ecomp]
    flow[e[ok]] = take[ok]
    todo &= bad
    rest = todo[ecomp]
    if rest.any():
        k = np.flatnonzero(rest)
        take = _greedy(h[k], rank[k], cap[h[k]], pop[s[k]])
        drawn = np.bincount(s[k], weights=take, minlength=ns) > pop
        bad = np.zeros_like(todo)
        bad[comp[np.flatnonzero(drawn)]] = True
        ok = ~bad[ecomp[k]]
        flow[e[k[ok]]] = take[ok]
        rest = np.zeros(len(e), dtype=bool)
        rest[k[~ok]] = True
    if rest.any():
        k = np.flatnonzero(rest)
        flow[e[k]] = _solve_general(pop, cap, s[k], h[k], c[k], ecomp[k], rank[k])
    return flow


def _prune(live: np.ndarray, rowless: np.ndarray, node: np.ndarray, rank: np.ndarray, n_nodes: int) -> np.ndarray:
    """Live edges after dropping, at every ``node``, the edges ranked after its cheapest
    ``rowless`` edge (which is kept); rank = cost, then settlement, then shelter index."""
    idx = np.flatnonzero(rowless)
    best = np.full(n_nodes, np.iinfo(np.int64).max)
    np.minimum.at(best, node[idx], rank[idx])
    return live & (rank <= best[node])


def _solve_general(pop: np.ndarray, cap: np.ndarray, s: np.ndarray, h: np.ndarray, c: np.ndarray,
                   ecomp: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Lexicographic max-flow / min-cost on the multi-settlement, multi-shelter components."""
    us, s_loc = np.unique(s, return_inverse=True)
    uh, h_loc = np.unique(h, return_inverse=True)
    ns, nh = len(us), len(uh)
    p = pop[us]
    q = cap[uh]
    # 1) maximum flow in integers: source 0, settlements 1..ns, shelters ns+1.., sink ns+nh+1
    if p.max() > _INT_MAX or q.max() > _INT_MAX:
        raise AnalysisError("population or capacity too large for the solver (over 2^31)")
    n = ns + nh + 2
    sink = n - 1
    rows = np.concatenate([np.zeros(ns, np.int64), 1 + s_loc, 1 + ns + np.arange(nh)])
    cols = np.concatenate([1 + np.arange(ns), 1 + ns + h_loc, np.full(nh, sink)])
    caps = np.concatenate([p, np.minimum(p[s_loc], q[h_loc]), q]).astype(np.int32)
    graph = sp.csr_matrix((caps, (rows, cols)), shape=(n, n))
    mf = maximum_flow(graph, 0, sink)
    into_sink = np.asarray(mf.flow[1 + ns:1 + ns + nh, sink].todense()).ravel()
    # flow per component = what reaches the sink from its shelters
    comp_of_h = np.zeros(nh, dtype=np.int64)
    comp_of_h[h_loc] = ecomp
    comps, comp_idx = np.unique(ecomp, return_inverse=True)
    comp_h = np.searchsorted(comps, comp_of_h)
    target = np.bincount(comp_h, weights=into_sink, minlength=len(comps))
    # 2) least person-cost among maximum flows: an LP (HiGHS) with costs c - M. Any solution
    #    that places the maximum found in 1) in every component is lexicographically optimal
    #    (for flows of equal size the -M terms cancel); if one falls short, M grows and we
    #    re-solve. Settlement rows that cannot bind (population >= all capacity in reach) are
    #    dropped: they are redundant given the shelter rows and the bounds x <= min(p, q).
    #    A settlement without a row can fill all its shelters at once; so an edge to a shelter
    #    that costs at least as much as that shelter's nearest row-less settlement can be
    #    dropped (moving its flow there keeps the flow and does not raise the cost). Pruning can
    #    make more rows redundant, so repeat (until nothing changes, at most 6 passes).
    live = np.ones(len(c), dtype=bool)
    for _ in range(6):
        reach_cap = np.bincount(s_loc[live], weights=q[h_loc[live]], minlength=ns)
        rowless = (p >= reach_cap)[s_loc] & live
        if not rowless.any():
            break
        keep = _prune(live, rowless, h_loc, rank, nh)
        if not (live & ~keep).any():
            break
        live = keep
    reach_cap = np.bincount(s_loc[live], weights=q[h_loc[live]], minlength=ns)
    rows_s = np.flatnonzero(p < reach_cap)
    pos = np.full(ns, -1)
    pos[rows_s] = np.arange(len(rows_s))
    # Without settlement rows the LP separates by shelter: a shelter none of whose settlements
    # has a row simply fills its nearest settlements (bounds min(p, q)) - greedy, exact. Only the
    # shelters touching a settlement with a row go to the LP.
    coupled = np.zeros(nh, dtype=bool)
    coupled[h_loc[live & (pos[s_loc] >= 0)]] = True
    in_lp = coupled[h_loc] & live
    xf = np.zeros(len(c))
    free = np.flatnonzero(~in_lp & live)
    if len(free):
        xf[free] = _greedy(h_loc[free], rank[free], q[h_loc[free]], p[s_loc[free]])
    e_lp = np.flatnonzero(in_lp)
    if len(e_lp):
        xf[e_lp] = _lp(c[e_lp], s_loc[e_lp], h_loc[e_lp], pos, len(rows_s), p, q, comp_idx[e_lp], target,
                       comps_all=len(comps), fixed=np.bincount(comp_idx[free], weights=xf[free],
                                                               minlength=len(comps)))
    x = np.rint(xf).astype(np.int64)
    # integrality is guaranteed (totally unimodular); guard against solver round-off anyway
    if np.abs(xf - x).max() > 1e-6 or np.any(np.bincount(s_loc, x, ns) > p) or np.any(np.bincount(h_loc, x, nh) > q):
        raise AnalysisError("the allocation solver returned a non-integral solution")  # pragma: no cover
    return x


# ----------------------------------------------------------------------------------------------
# the public function
# ----------------------------------------------------------------------------------------------


_LP_BLOCK_EDGES = 2000  # independent LP blocks are solved together up to about this many edges
_HIGHS = {"presolve": False, "simplex_dual_edge_weight_strategy": "devex"}


def _lp(c: np.ndarray, s_loc: np.ndarray, h_loc: np.ndarray, pos: np.ndarray, n_rows: int, p: np.ndarray,
        q: np.ndarray, comp_idx: np.ndarray, target: np.ndarray, *, comps_all: int, fixed: np.ndarray) -> np.ndarray:
    """The coupled part: HiGHS LP with costs ``c - M``; M grows until every component places its
    max-flow (``fixed`` = what the greedy part already placed per component).

    The LP separates into blocks that share no row (connected components of the graph whose
    nodes are the rows and whose edges are the variables); blocks are solved separately (small
    ones batched), which is the same LP and much faster than one solve of the whole.
    """
    ne = len(c)
    nh = len(q)
    ek = np.flatnonzero(pos[s_loc] >= 0)
    a_ub = sp.vstack([
        sp.csr_matrix((np.ones(len(ek)), (pos[s_loc[ek]], ek)), shape=(n_rows, ne)),
        sp.csr_matrix((np.ones(ne), (h_loc, np.arange(ne))), shape=(nh, ne)),
    ]).tocsc()
    rows_s = np.flatnonzero(pos >= 0)
    b_ub = np.concatenate([p[rows_s], q]).astype(float)
    upper = np.minimum(p[s_loc], q[h_loc]).astype(float)
    # blocks: rows linked by the variables that have two rows (settlement row and shelter row)
    link = sp.coo_matrix((np.ones(len(ek)), (pos[s_loc[ek]], n_rows + h_loc[ek])),
                         shape=(n_rows + nh, n_rows + nh))
    _, block = connected_components(link, directed=False)
    eblock = block[n_rows + h_loc]
    order = np.argsort(eblock, kind="stable")
    cuts = np.r_[0, np.flatnonzero(np.diff(eblock[order])) + 1, ne]
    batches: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    n_pending = 0
    for lo, hi in pairwise(cuts):
        pending.append(order[lo:hi])
        n_pending += hi - lo
        if n_pending >= _LP_BLOCK_EDGES:
            batches.append(np.sort(np.concatenate(pending)))
            pending, n_pending = [], 0
    if pending:
        batches.append(np.sort(np.concatenate(pending)))
    x = np.zeros(ne)
    big = 1.0 + float(c.max(initial=0.0)) * 100.0
    redo = batches
    for _ in range(6):
        for cols in redo:
            sub = a_ub[:, cols].tocsr()
            rows = np.flatnonzero(np.diff(sub.indptr))
            res = linprog(c[cols] - big, A_ub=sub[rows], b_ub=b_ub[rows],
                          bounds=np.column_stack([np.zeros(len(cols)), upper[cols]]), method="highs-ds",
                          options=_HIGHS)
            if res.status != 0:  # pragma: no cover - always feasible (x = 0) and bounded
                raise AnalysisError(f"the allocation solver failed: {res.message}")
            x[cols] = res.x
        placed = fixed + np.bincount(comp_idx, weights=x, minlength=comps_all)
        short = placed < target - 0.5
        if not short.any():
            return x
        big *= 100.0  # pragma: no cover - M too small for this instance
        redo = [cols for cols in batches if short[comp_idx[cols]].any()]  # pragma: no cover
    raise AnalysisError("the allocation solver could not reach the maximum coverage")  # pragma: no cover


def _canonical(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows sorted by id (then coordinates) so that results do not depend on the row order."""
    if not len(gdf):
        return gdf.reset_index(drop=True)
    ids = gdf["id"].astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")
    if (ids[order[1:]] == ids[order[:-1]]).any():  # duplicate ids (an error later): order fully
        pts = gdf.geometry.representative_point()
        order = np.lexsort((pts.y.to_numpy(), pts.x.to_numpy(), ids))
    return gdf.iloc[order].reset_index(drop=True)


def _check_ids(gdf: gpd.GeoDataFrame, name: str) -> None:
    if "id" not in gdf.columns:
        raise AnalysisError(f"{name}: an 'id' column is required")
    dup = gdf["id"].astype(str).duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise AnalysisError(f"{name}: row {row + 1} field 'id': duplicate id {gdf['id'].iloc[row]!r}")


def _int_col(gdf: gpd.GeoDataFrame, col: str, name: str, *, required: bool) -> np.ndarray:
    if col not in gdf.columns:
        if required:
            raise AnalysisError(f"{name}: a '{col}' column is required")
        return np.zeros(len(gdf), dtype=np.int64)
    v = pd.to_numeric(gdf[col], errors="coerce")
    if required and v.isna().any():
        row = int(np.flatnonzero(v.isna().to_numpy())[0])
        raise AnalysisError(f"{name}: row {row + 1} field '{col}': missing or not a number")
    v = v.fillna(0)
    if (v < 0).any():
        row = int(np.flatnonzero((v < 0).to_numpy())[0])
        raise AnalysisError(f"{name}: row {row + 1} field '{col}': negative value {v.iloc[row]}")
    return np.rint(v.to_numpy(dtype=float)).astype(np.int64)


@dataclass
class CoverageResult:
    """Coverage tables. ``settlements``/``shelters`` are GeoDataFrames (canonical id order) with
    the allocation columns; ``allocation`` lists settlement→shelter flows."""

    settlements: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    allocation: pd.DataFrame
    unit: str
    limit: float
    as_of: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def population_total(self) -> int:
        return int(self.settlements["population"].sum()) if len(self.settlements) else 0

    @property
    def population_covered(self) -> int:
        return int(self.settlements["covered"].sum()) if len(self.settlements) else 0

    @property
    def covered_pct(self) -> float:
        tot = self.population_total
        return round(100.0 * self.population_covered / tot, 2) if tot else 0.0

    def worst_served(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` settlements with the most people unserved (then lowest covered %, id)."""
        t = pd.DataFrame(self.settlements.drop(columns="geometry"))
        t = t[t["unserved"] > 0]
        t = t.assign(_pct=t["covered_pct"]).sort_values(["unserved", "_pct", "id"], ascending=[False, True, True])
        return t.drop(columns="_pct").head(n).reset_index(drop=True)

    def settlement_table(self) -> pd.DataFrame:
        cols = ["id", "name", "population", "covered", "unserved", "covered_pct", "shelters_in_reach",
                "nearest_shelter", "mean_cost"]
        return pd.DataFrame(self.settlements[[c for c in cols if c in self.settlements.columns]])

    def shelter_table(self) -> pd.DataFrame:
        cols = ["id", "name", "kind", "status", "capacity", "occupancy", "available", "assigned", "spare",
                "overloaded", "unserved_in_reach"]
        return pd.DataFrame(self.shelters[[c for c in cols if c in self.shelters.columns]])

    def to_dict(self, *, worst: int = 10) -> dict[str, Any]:
        """The CLI document (issue 5)."""
        st = self.settlement_table()
        sh = self.shelter_table()
        key = "max_km" if self.unit == "km" else "max_minutes"
        return {
            "as_of": iso(self.as_of),
            key: self.limit,
            "cost_unit": self.unit,
            "population_total": self.population_total,
            "population_covered": self.population_covered,
            "population_unserved": self.population_total - self.population_covered,
            "covered_pct": self.covered_pct,
            "population_in_reach": int(self.settlements.loc[self.settlements["shelters_in_reach"] > 0,
                                                            "population"].sum()) if len(st) else 0,
            "capacity_total": int(self.shelters["available"].sum()) if len(sh) else 0,
            "capacity_assigned": int(self.shelters["assigned"].sum()) if len(sh) else 0,
            f"person_{self.unit}": round(float((self.allocation["people"] * self.allocation["cost"]).sum()), 3)
            if len(self.allocation) else 0.0,
            "excluded": dict(self.excluded),
            "notes": list(self.notes),
            "settlements": [
                {"id": str(r.id), "name": None if pd.isna(r.name) else str(r.name), "population": int(r.population),
                 "covered": int(r.covered), "unserved": int(r.unserved), "covered_pct": float(r.covered_pct)}
                for r in st.itertuples(index=False)
            ],
            "shelters": [
                {"id": str(r.id), "name": None if pd.isna(r.name) else str(r.name), "status": str(r.status),
                 "capacity": int(r.capacity), "occupancy": int(r.occupancy), "available": int(r.available),
                 "assigned": int(r.assigned), "spare": int(r.spare), "overloaded": int(r.overloaded)}
                for r in sh.itertuples(index=False)
            ],
            "worst_served": [
                {"id": str(r.id), "name": None if pd.isna(r.name) else str(r.name), "population": int(r.population),
                 "unserved": int(r.unserved), "covered_pct": float(r.covered_pct)}
                for r in self.worst_served(worst).itertuples(index=False)
            ],
        }


def coverage(
    *,
    settlements: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame | None,
    max_km: float | None = None,
    reach: Reach | None = None,
    reach_fn: Any = None,
    as_of: Any = None,
) -> CoverageResult:
    """Population that can reach a free place in an open shelter, allocated exactly.

    Parameters
    ----------
    settlements : ``id``, ``name``, ``population`` and a point geometry (EPSG:4326)
    shelters : ``id``, ``name``, ``capacity``, ``occupancy`` (missing = 0), ``status`` and a point
    max_km : straight-line (geodesic) reach in km (default 2 km unless ``reach``/``reach_fn``)
    reach : a ready :class:`Reach` on the canonical (id-sorted) rows (advanced use)
    reach_fn : ``fn(settlements, shelters) -> Reach`` on the canonical rows, e.g. a
        :func:`functools.partial` of :func:`travel_time_reach`
    as_of : reported only

    Raises
    ------
    AnalysisError
        Negative or non-finite distance, missing/negative population or capacity, duplicate ids.
    """
    if max_km is not None:
        check_distance(max_km, name="max_km", allow_zero=True)
    sets = _canonical(settlements.to_crs(WGS84) if settlements.crs not in (None, WGS84) else settlements)
    shel = shelters if shelters is not None else gpd.GeoDataFrame(
        {"id": [], "name": [], "capacity": [], "status": []}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    if shel.crs is not None and shel.crs.to_epsg() != 4326:
        shel = shel.to_crs(WGS84)
    shel = _canonical(shel)
    _check_ids(sets, "settlements")
    _check_ids(shel, "shelters")
    pop = _int_col(sets, "population", "settlements", required=True)
    capacity = _int_col(shel, "capacity", "shelters", required=True)
    occupancy = _int_col(shel, "occupancy", "shelters", required=False)
    status = shel["status"].astype(str).to_numpy() if "status" in shel.columns else np.full(len(shel), "open")
    usable = np.isin(status, USABLE_STATUSES)
    available = np.where(usable, np.maximum(capacity - occupancy, 0), 0)
    notes: list[str] = []
    if reach is None:
        if reach_fn is not None:
            reach = reach_fn(sets, shel)
        else:
            reach = straight_line_reach(sets, shel, max_km=DEFAULT_MAX_KM if max_km is None else max_km)
    if not len(shel):
        notes.append("no shelters: nobody is covered")
    elif not usable.any():
        notes.append("no open shelter")
    flow = allocate(pop, available, reach)
    covered = np.bincount(reach.s, weights=flow, minlength=len(sets)).astype(np.int64)
    assigned = np.bincount(reach.h, weights=flow, minlength=len(shel)).astype(np.int64)
    usable_edge = available[reach.h] > 0 if len(reach.s) else np.zeros(0, bool)
    in_reach = np.bincount(reach.s[usable_edge], minlength=len(sets))
    nearest = np.full(len(sets), np.nan)
    if usable_edge.any():
        np.fmin.at(nearest, reach.s[usable_edge], reach.cost[usable_edge])
    person_cost = np.bincount(reach.s, weights=flow * reach.cost, minlength=len(sets))
    unserved = pop - covered
    sets = sets.copy()
    sets["population"] = pop
    sets["covered"] = covered
    sets["unserved"] = unserved
    sets["covered_pct"] = np.where(pop > 0, np.round(100.0 * covered / np.maximum(pop, 1), 2), 100.0)
    sets["shelters_in_reach"] = in_reach
    sets["nearest_shelter"] = nearest
    sets["mean_cost"] = np.where(covered > 0, person_cost / np.maximum(covered, 1), np.nan)
    shel = shel.copy()
    shel["capacity"] = capacity
    shel["occupancy"] = occupancy
    shel["status"] = status
    shel["available"] = available
    shel["assigned"] = assigned
    shel["spare"] = available - assigned
    shel["overloaded"] = np.maximum(occupancy + assigned - capacity, 0)
    unserved_edge = unserved[reach.s] > 0 if len(reach.s) else np.zeros(0, bool)
    shel["unserved_in_reach"] = np.bincount(
        reach.h[unserved_edge], weights=unserved[reach.s[unserved_edge]], minlength=len(shel)).astype(np.int64)
    used = flow > 0
    alloc = pd.DataFrame({
        "settlement_id": sets["id"].to_numpy()[reach.s[used]] if len(sets) else [],
        "shelter_id": shel["id"].to_numpy()[reach.h[used]] if len(shel) else [],
        "people": flow[used],
        "cost": reach.cost[used],
    })
    ts = None if as_of is None else to_utc(as_of)
    return CoverageResult(settlements=sets, shelters=shel, allocation=alloc, unit=reach.unit,
                          limit=float(reach.limit), as_of=ts, notes=notes)

