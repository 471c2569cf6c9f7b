"""The allocation's split into parts solved apart (connected components, greedy certificates, the
coupled part left to the least-cost flow) gives the answer of the whole problem, worked out by hand;
and the helpers it is built from equal their plain numpy counterparts."""

from __future__ import annotations

import numpy as np
import pytest

from cimic_geo.analytics import allocation
from cimic_geo.analytics.allocation import _stable_argsort, allocate
from cimic_geo.analytics.reach import Reach


@pytest.fixture(autouse=True)
def _nothing_kept():
    allocation._LAST.clear()
    yield
    allocation._LAST.clear()


@pytest.fixture()
def lp_sizes(monkeypatch):
    """The number of edges of every least-cost flow the allocation hands to the network simplex."""
    sizes: list[int] = []
    real = allocation.least_cost_flow

    def counted(c, *args, **kwargs):
        sizes.append(len(c))
        return real(c, *args, **kwargs)

    monkeypatch.setattr(allocation, "least_cost_flow", counted)
    return sizes


def test_two_settlements_sharing_a_shelter_are_solved_together(lp_sizes):
    # S0 (10 people) reaches H0 (10 places, 1 min) and H1 (5 places, 2 min); S1 (10 people) reaches
    # H0 (1.5 min) and H2 (5 places, 1 min). Each settlement alone would fill H0 first (S0: H0 10; S1:
    # H2 5, H0 5): H0 would get 15 > 10. Each shelter alone would draw S0 for 15 > 10. So neither greedy
    # certificate holds and the least-cost flow decides. 20 places, 20 people: all 20 are placed only if H1 gets its
    # 5 from S0 and H2 its 5 from S1, so S0 -> H0 5, S0 -> H1 5, S1 -> H0 5, S1 -> H2 5 (unique);
    # person-minutes 5*1 + 5*2 + 5*1.5 + 5*1 = 27.5. A split by settlement would overfill H0; a split
    # by shelter would overdraw S0 or S1.
    s, h, c = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 2]), np.array([1.0, 2.0, 1.5, 1.0])
    flow = allocate(np.array([10, 10]), np.array([10, 5, 5]), Reach(s, h, c))
    assert flow.tolist() == [5, 5, 5, 5]
    assert float((flow * c).sum()) == 27.5
    assert lp_sizes == [4]  # one flow problem of the four edges


def test_lp_blocks_joined_only_by_a_settlement_without_a_row(lp_sizes):
    # S0: 100 people, reaches H0 and H1 (10 places each, 5 min): 100 >= 20, so its population does not
    # limit it (it feeds its edges straight from the source) and the parts {S1, H0, H2} and {S2, H1, H3}
    # are one component through S0.
    # S1 (4 people): H0 at 1 min, H2 (3 places) at 2 min; S2 (4 people): H1 at 1 min, H3 (3 places) at 2.
    # Most placed: 26 (all places); H2 and H3 can only be filled by S1 and S2, so S1 -> H2 3, S2 -> H3 3,
    # their last person each to H0 / H1, and S0 fills the 9 left in each: unique.
    # Person-minutes 3*2 + 1*1 + 3*2 + 1*1 + 9*5 + 9*5 = 104. A solver giving S0 a limit of 0 (or of its
    # population spent twice) would place 8 or 46 instead of 26.
    s = np.array([0, 0, 1, 1, 2, 2])
    h = np.array([0, 1, 0, 2, 1, 3])
    c = np.array([5.0, 5.0, 1.0, 2.0, 1.0, 2.0])
    flow = allocate(np.array([100, 4, 4]), np.array([10, 10, 3, 3]), Reach(s, h, c))
    assert flow.tolist() == [9, 9, 1, 3, 1, 3]
    assert float((flow * c).sum()) == 104.0
    assert lp_sizes == [6]  # both parts in one flow problem


def test_a_component_settled_by_a_certificate_and_one_that_is_not(lp_sizes):
    # Component A: S0 (3 people) -> H0 (5 places, 1 min): each settlement's nearest fill overloads
    # nothing, settled without a solver: 3 placed. Component B is the first test's problem (renumbered:
    # S1, S2; H1, H2, H3): 20 placed. Solving A's settlement together with B, or B's shelters as A's,
    # would change one of them.
    s = np.array([0, 1, 1, 2, 2])
    h = np.array([0, 1, 2, 1, 3])
    c = np.array([1.0, 1.0, 2.0, 1.5, 1.0])
    flow = allocate(np.array([3, 10, 10]), np.array([5, 10, 5, 5]), Reach(s, h, c))
    assert flow.tolist() == [3, 5, 5, 5, 5]
    assert lp_sizes == [4]  # component A never reaches the solver


@pytest.mark.parametrize("seed", range(6))
def test_stable_argsort_is_numpys_stable_argsort(seed):
    # many ties (few distinct values) and none (random floats): the same permutation as numpy's stable sort
    rng = np.random.default_rng(seed)
    for v in (rng.integers(0, 1 + seed, 200).astype(float), rng.random(300), np.zeros(5), np.zeros(0)):
        assert np.array_equal(_stable_argsort(v), np.argsort(v, kind="stable"))
