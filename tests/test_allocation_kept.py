"""The last allocation kept: asked again it is not solved again; any changed input is solved anew."""

from __future__ import annotations

import numpy as np

from cimic_geo.analytics import allocation as alloc_mod
from cimic_geo.analytics.allocation import allocate
from cimic_geo.analytics.reach import Reach


def test_the_same_allocation_is_not_solved_twice_and_a_change_is(monkeypatch):
    # one settlement of 10 people; shelters of 6 places at 1 km and 6 at 2 km:
    # nearest first -> 6 to the first, the other 4 to the second
    reach = Reach([0, 0], [0, 1], [1.0, 2.0])
    first = allocate(np.array([10]), np.array([6, 6]), reach)
    assert first.tolist() == [6, 4]
    solved = []
    real = alloc_mod._allocate
    monkeypatch.setattr(alloc_mod, "_allocate", lambda *a: solved.append(1) or real(*a))
    again = allocate(np.array([10]), np.array([6, 6]), reach)
    assert again.tolist() == [6, 4] and not solved
    again[0] = 99  # the caller's copy: the kept answer is not changed
    assert allocate(np.array([10]), np.array([6, 6]), reach).tolist() == [6, 4] and not solved
    # 3 places left at the near shelter: 3 there, 6 at the far one (1 person not placed)
    assert allocate(np.array([10]), np.array([3, 6]), reach).tolist() == [3, 6] and solved == [1]
    # the far shelter now nearer (0.5 km): 6 there first, then 3 at the other
    assert allocate(np.array([10]), np.array([3, 6]), Reach([0, 0], [0, 1], [1.0, 0.5])).tolist() == [3, 6]
    assert allocate(np.array([8]), np.array([3, 6]), Reach([0, 0], [0, 1], [1.0, 0.5])).tolist() == [2, 6]
    assert len(solved) == 3
