"""The direct HiGHS call of the allocation gives linprog's answer, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from cimic_geo.analytics.highs_lp import solve_lp

OPTIONS = {"presolve": False, "simplex_dual_edge_weight_strategy": "devex"}


def test_a_hand_made_transportation_lp():
    # two settlements (rows 0, 1: 100 people each) and two shelters (rows 2, 3: 100 places each);
    # variables S1H1 (3 km), S1H2 (2 km), S2H1 (3 km), S2H2 (8 km); costs less M = 100 (place
    # everyone first). Optimum: S1 -> H2 100, S2 -> H1 100 (2 + 3 = 5 km per pair of people).
    a = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=float))
    x, message = solve_lp(np.array([3.0, 2.0, 3.0, 8.0]) - 100.0, a, np.full(4, 100.0), np.full(4, 100.0),
                          options=OPTIONS)
    assert message == "optimal"
    assert np.array_equal(x, [0.0, 100.0, 100.0, 0.0])


@pytest.mark.parametrize("seed", range(6))
def test_same_vector_as_linprog(seed):
    rng = np.random.default_rng(seed)
    n_s, n_h = int(rng.integers(3, 30)), int(rng.integers(3, 30))
    dense = rng.random((n_s, n_h)) < 0.3
    s, h = np.nonzero(dense)
    cost = rng.uniform(0.0, 5.0, len(s)) - 600.0
    pop, cap = rng.integers(1, 200, n_s), rng.integers(1, 200, n_h)
    a = sp.vstack([sp.csr_matrix((np.ones(len(s)), (s, np.arange(len(s)))), shape=(n_s, len(s))),
                   sp.csr_matrix((np.ones(len(s)), (h, np.arange(len(s)))), shape=(n_h, len(s)))]).tocsr()
    b = np.concatenate([pop, cap]).astype(float)
    upper = np.minimum(pop[s], cap[h]).astype(float)
    want = linprog(cost, A_ub=a, b_ub=b, bounds=np.column_stack([np.zeros(len(s)), upper]), method="highs-ds",
                   options=OPTIONS)
    got, _msg = solve_lp(cost, a, b, upper, options=OPTIONS)
    assert want.status == 0
    assert np.array_equal(got, want.x)


def test_other_options_go_through_linprog():
    a = sp.csr_matrix(np.array([[1.0, 1.0]]))
    x, _msg = solve_lp(np.array([-1.0, -2.0]), a, np.array([1.0]), np.array([1.0, 1.0]),
                       options={"presolve": False, "dual_feasibility_tolerance": 1e-9})
    # max x1 + 2 x2 with x1 + x2 <= 1: all on x2
    assert np.allclose(x, [0.0, 1.0])
