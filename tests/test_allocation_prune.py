"""Edges dominated by a settlement that can fill all its shelters are dropped before the solver:
the allocation stays optimal (most people placed, then least person-cost; networkx's max_flow_min_cost
as the independent reference)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from cimic_geo.analytics.allocation import _undominated, allocate
from cimic_geo.analytics.reach import Reach


def test_an_edge_after_a_filling_settlement_is_dropped():
    # S0: 100 people reach H0 (10 places, cost 1) and H1 (10 places, cost 2): 100 >= 10 + 10, so S0
    # alone can fill both. S1 (5 people) reaches H0 at cost 3, after S0's edge to H0: dropped.
    # S2 (5 people) reaches H1 at cost 1, before S0's edge to H1: kept.
    # Optimum: S0 -> H0 10, S2 -> H1 5, S0 -> H1 5: 20 placed at 10*1 + 5*1 + 5*2 = 25.
    s, h, c = np.array([0, 0, 1, 2]), np.array([0, 1, 0, 1]), np.array([1.0, 2.0, 3.0, 1.0])
    rank = np.argsort(np.argsort(c, kind="stable"), kind="stable")
    pop, cap = np.array([100, 5, 5]), np.array([10, 10])
    assert _undominated(s, h, rank, pop, cap).tolist() == [True, True, False, True]
    flow = allocate(pop, cap, Reach(s, h, c))
    assert flow.tolist() == [10, 5, 0, 5]


def _networkx(pop, cap, s, h, cost):
    g = nx.DiGraph()
    for i, p in enumerate(pop):
        g.add_edge("src", ("s", i), capacity=int(p), weight=0)
    for j, q in enumerate(cap):
        g.add_edge(("h", j), "sink", capacity=int(q), weight=0)
    for a, b, k in zip(s, h, cost, strict=True):
        g.add_edge(("s", int(a)), ("h", int(b)), capacity=int(pop[a]), weight=int(k))
    flow = nx.max_flow_min_cost(g, "src", "sink")
    placed = sum(flow["src"].values())
    return placed, nx.cost_of_flow(g, flow)


@pytest.mark.parametrize("seed", range(8))
def test_allocation_with_dominated_edges_matches_networkx(seed):
    # big settlements (many can fill all their shelters) and small ones, integer costs so that
    # networkx's network simplex is exact; many equal costs (ties)
    rng = np.random.default_rng(seed)
    ns, nh = 25, 15
    pop = np.where(rng.random(ns) < 0.5, rng.integers(200, 400, ns), rng.integers(0, 30, ns))
    cap = rng.integers(0, 40, nh)
    pairs = sorted({(int(a), int(b)) for a, b in zip(rng.integers(0, ns, 90), rng.integers(0, nh, 90), strict=True)})
    s = np.array([p[0] for p in pairs])
    h = np.array([p[1] for p in pairs])
    cost = rng.integers(1, 8, len(pairs)).astype(float)
    rank = np.argsort(np.argsort(cost, kind="stable"), kind="stable")
    live = (pop[s] > 0) & (cap[h] > 0)
    assert not _undominated(s[live], h[live], rank[live], pop, cap).all()  # the reduction has work to do
    flow = allocate(pop, cap, Reach(s, h, cost))
    placed, total = _networkx(pop, cap, s, h, cost)
    assert int(flow.sum()) == placed
    assert float((flow * cost).sum()) == pytest.approx(total, abs=1e-9)
    assert (np.bincount(s, flow, ns) <= pop).all() and (np.bincount(h, flow, nh) <= cap).all()
