"""The last road-time reach kept on the graph: the same question answered again, any change searched anew."""

from __future__ import annotations

import numpy as np
from test_reach_tiles import _networkx_reach, _random_network

from cimic_geo.analytics import reach as reach_mod
from cimic_geo.analytics.reach import travel_time_reach
from cimic_geo.analytics.roadgraph import RoutingPolicy

POLICY = RoutingPolicy(avoid_km=None, penalties=None, exclude_occupied=True, ignore_oneway=True)


def _places(seed: int = 3):
    return _random_network(seed, 20, 10)


def _as_dict(r) -> dict[tuple[int, int], float]:
    return {(int(s), int(h)): float(c) for s, h, c in zip(r.s, r.h, r.cost, strict=True)}


def test_the_same_question_is_answered_from_the_kept_reach(monkeypatch):
    graph, sets, shel = _places()
    first = travel_time_reach(graph, sets, shel, max_minutes=12.0, policy=POLICY)
    calls = []
    monkeypatch.setattr(reach_mod, "_road_reach", lambda *a, **k: calls.append(1))
    again = travel_time_reach(graph, sets, shel, max_minutes=12.0, policy=POLICY)
    assert not calls  # not searched again
    assert _as_dict(again) == _as_dict(first)
    assert again is not first and not again.cost.flags.writeable  # the kept arrays cannot be changed by a caller


def test_another_limit_or_moved_place_is_searched_again_and_matches_networkx():
    graph, sets, shel = _places()
    travel_time_reach(graph, sets, shel, max_minutes=12.0, policy=POLICY)
    longer = travel_time_reach(graph, sets, shel, max_minutes=15.0, policy=POLICY)
    assert _as_dict(longer).keys() == _networkx_reach(graph, sets, shel, t_max=15.0, policy=POLICY).keys()
    moved = sets.copy()
    moved.geometry = moved.geometry.translate(0.01, 0.0)  # every settlement 0.01° east
    got = travel_time_reach(graph, moved, shel, max_minutes=15.0, policy=POLICY)
    want = _networkx_reach(graph, moved, shel, t_max=15.0, policy=POLICY)
    assert sorted(_as_dict(got)) == sorted(want)
    np.testing.assert_allclose([_as_dict(got)[k] for k in sorted(want)], [want[k] for k in sorted(want)],
                               rtol=1e-12, atol=1e-12)
    assert _as_dict(got) != _as_dict(longer)
