"""The least-cost flow behind the allocation (LEMON's network simplex in integers): the most people
placed first, then the least person-cost; checked by hand and against scipy's HiGHS LP."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from cimic_geo.analytics import allocation
from cimic_geo.analytics.allocation import allocate
from cimic_geo.analytics.flow_solver import COST_UNITS, cost_units, least_cost_flow
from cimic_geo.analytics.reach import Reach


@pytest.fixture(autouse=True)
def _nothing_kept():
    allocation._LAST.clear()
    yield
    allocation._LAST.clear()


def test_the_size_of_the_flow_comes_before_its_cost():
    # S0 (10 people) reaches H0 (10 places, 1 km) and H1 (10 places, 5 km); S1 (10 people) reaches only
    # H0 (2 km). Cheapest first would send S0 to H0 (10 km) and leave S1 out. With 20 people to place
    # the only way is S0 -> H1 10, S1 -> H0 10: 10*5 + 10*2 = 70 person-km. S1's population (10) is all
    # the room it reaches, so it has no row (-1): its edge is bounded by min(10, 10) alone.
    s, h, c = np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1.0, 5.0, 2.0])
    p, q = np.array([10, 10]), np.array([10, 10])
    x = least_cost_flow(c, s, h, np.array([0, -1]), p, q, flow=20)
    assert x.tolist() == [0, 10, 10]
    # asked for 10 people only, the cheapest 10 go: S0 -> H0 (1 km each)
    assert least_cost_flow(c, s, h, np.array([0, -1]), p, q, flow=10).tolist() == [10, 0, 0]
    # and through allocate (max-flow first): the same 20, 70 person-km
    flow = allocate(p, q, Reach(s, h, c))
    assert flow.tolist() == [0, 10, 10] and float((flow * c).sum()) == 70.0


def test_a_settlement_row_limits_what_it_sends_in_total():
    # S0 (6 people, a row) reaches H0 (5 places, 1 km) and H1 (5 places, 2 km); S1 (100 people, no row:
    # more than all it reaches) reaches H1 at 3 km. Most placed: 10. Least cost: S0 -> H0 5 (5 km),
    # S0 -> H1 1 (2 km), S1 -> H1 4 (12 km) = 19 (S1 -> H1 5 instead: 5 + 15 = 20). Without S0's row
    # limit it would send 5 + 5 (15 km): [5, 5, 0].
    s, h, c = np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([1.0, 2.0, 3.0])
    x = least_cost_flow(c, s, h, np.array([0, -1]), np.array([6, 100]), np.array([5, 5]), flow=10)
    assert x.tolist() == [5, 1, 4]


def test_cost_units_stay_within_62_bits():
    assert cost_units(5.0, 2_500_000, 10_000) == COST_UNITS  # national 5 km: 5e10 * 2.5e6 < 2^62
    # a huge cost and flow: 2^62 / (1e6 * 1e9) = 4611.7, so the largest power of ten below it
    assert cost_units(1e6, 10**9, 10) == 1000


def _highs_least_cost(pop, cap, s, h, cost):
    """Most people placed (an LP with the flow free), then least cost with that many fixed: scipy's HiGHS."""
    n = len(s)
    a = sp.vstack([sp.csr_matrix((np.ones(n), (s, np.arange(n))), shape=(len(pop), n)),
                   sp.csr_matrix((np.ones(n), (h, np.arange(n))), shape=(len(cap), n))]).tocsr()
    b = np.concatenate([pop, cap]).astype(float)
    bounds = np.column_stack([np.zeros(n), np.minimum(pop[s], cap[h])])
    most = linprog(-np.ones(n), A_ub=a, b_ub=b, bounds=bounds, method="highs")
    placed = round(-most.fun)
    best = linprog(cost, A_ub=a, b_ub=b, A_eq=np.ones((1, n)), b_eq=[placed], bounds=bounds, method="highs",
                   options={"dual_feasibility_tolerance": 1e-10, "primal_feasibility_tolerance": 1e-10})
    return placed, best.fun, best.x


@pytest.mark.parametrize("seed", range(6))
def test_allocation_matches_scipys_highs_on_random_geodesic_like_costs(seed):
    # random settlements/shelters, a few big settlements (which lose their rows), costs in km with
    # fractions (no two cycles of equal cost): the optimum is unique, so the very flows must agree
    rng = np.random.default_rng(40 + seed)
    ns, nh = 30, 20
    pop = np.where(rng.random(ns) < 0.2, rng.integers(300, 600, ns), rng.integers(1, 40, ns))
    cap = rng.integers(1, 50, nh)
    mask = rng.random((ns, nh)) < 0.25
    s, h = np.nonzero(mask)
    cost = rng.uniform(0.0, 5.0, len(s))
    flow = allocate(pop, cap, Reach(s, h, cost))
    placed, best, x = _highs_least_cost(pop, cap, s, h, cost)
    assert int(flow.sum()) == placed
    assert math.fsum(flow * cost) == pytest.approx(best, abs=1e-6)
    assert np.array_equal(flow, np.rint(x).astype(np.int64))
    assert (np.bincount(s, flow, ns) <= pop).all() and (np.bincount(h, flow, nh) <= cap).all()
