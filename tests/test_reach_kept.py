"""The last road-time reach kept on the graph: the same question answered again, any change searched anew."""

from __future__ import annotations

import numpy as np
import pytest
from test_reach_tiles import _networkx_reach, _random_network

from cimic_geo.analytics import reach as reach_mod
from cimic_geo.analytics.reach import travel_time_reach
from cimic_geo.analytics.roadgraph import RoutingPolicy
from cimic_geo.errors import AnalysisError

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


def _counting(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = reach_mod._road_reach

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(reach_mod, "_road_reach", counted)
    return calls


def _fresh(graph, sets, shel, minutes):
    """A search at ``minutes`` with nothing kept on the graph (the kept answer is put back after)."""
    kept = graph.__dict__.pop("_reach_last", None)
    out = travel_time_reach(graph, sets, shel, max_minutes=minutes, policy=POLICY)
    graph.__dict__["_reach_last"] = kept
    return out


def _identical(a, b) -> bool:
    return (np.array_equal(a.s, b.s) and np.array_equal(a.h, b.h) and a.cost.tobytes() == b.cost.tobytes()
            and a.limit == b.limit and a.unit == b.unit)


def test_a_smaller_limit_is_the_kept_pairs_within_it_bit_for_bit(monkeypatch):
    """One straight road east along 50°N at 60 km/h (1 km a minute), a settlement and three shelters on it.
    A degree of longitude at 50°N on WGS84 is pi/180 * N * cos 50° = 0.0174533 * 6390.7 km * 0.642788
    = 71.696 km (N: the prime-vertical radius there), so 0.05° is 3.585 km and the shelters 0.05°, 0.10°
    and 0.15° east are 3.585, 7.170 and 10.754 min away: all three within 15 min, two within 8, none within 3."""
    from shapely.geometry import LineString
    from test_reach_core import _roads
    from test_reach_tiles import _points

    from cimic_geo.analytics.roadgraph import build_road_graph

    graph = build_road_graph(_roads([LineString([(29.95, 50.0), (30.0, 50.0), (30.05, 50.0), (30.10, 50.0),
                                                 (30.15, 50.0), (30.20, 50.0)])]))
    sets = _points([("s0", 30.0, 50.0)], population=10)
    shel = _points([(f"h{k}", 30.0 + 0.05 * k, 50.0) for k in (1, 2, 3)], capacity=10, status="open")
    calls = _counting(monkeypatch)
    wide = travel_time_reach(graph, sets, shel, max_minutes=15.0, policy=POLICY)
    assert wide.h.tolist() == [0, 1, 2]
    np.testing.assert_allclose(wide.cost, [3.585, 7.170, 10.754], atol=0.002)
    narrow = travel_time_reach(graph, sets, shel, max_minutes=8.0, policy=POLICY)
    none = travel_time_reach(graph, sets, shel, max_minutes=3.0, policy=POLICY)
    assert len(calls) == 1  # both answered from the 15-minute search
    assert narrow.h.tolist() == [0, 1] and narrow.limit == 8.0 and not len(none.s) and none.limit == 3.0
    assert narrow.cost.tobytes() == wide.cost[:2].tobytes()
    assert _identical(narrow, _fresh(graph, sets, shel, 8.0)) and _identical(none, _fresh(graph, sets, shel, 3.0))
    travel_time_reach(graph, sets, shel, max_minutes=16.0, policy=POLICY)  # a larger limit is searched
    assert len(calls) == 4  # the 15-minute search, the two fresh ones and the 16-minute one


@pytest.mark.parametrize("small", [4.0, 9.0, 11.5])
def test_a_smaller_limit_on_a_random_network_equals_a_fresh_search_and_networkx(small, monkeypatch):
    graph, sets, shel = _places()
    wide = travel_time_reach(graph, sets, shel, max_minutes=15.0, policy=POLICY)
    calls = _counting(monkeypatch)
    got = travel_time_reach(graph, sets, shel, max_minutes=small, policy=POLICY)
    assert not calls and len(got.s) < len(wide.s)
    assert _identical(got, _fresh(graph, sets, shel, small))
    assert _as_dict(got).keys() == _networkx_reach(graph, sets, shel, t_max=small, policy=POLICY).keys()


def test_a_pair_just_above_the_smaller_limit_is_searched_afresh(monkeypatch):
    """A kept time within the 1e-9 min margin above the new limit: the filter cannot tell whether a fresh
    search keeps it, so it searches."""
    graph, sets, shel = _places()
    wide = travel_time_reach(graph, sets, shel, max_minutes=15.0, policy=POLICY)
    limit = float(np.sort(wide.cost)[len(wide.cost) // 2]) - 5e-10
    calls = _counting(monkeypatch)
    got = travel_time_reach(graph, sets, shel, max_minutes=limit, policy=POLICY)
    assert len(calls) == 1
    assert _identical(got, _fresh(graph, sets, shel, limit))


def _straight_road():
    """The straight road east along 50°N of the test above (1 km a minute): one settlement on it and shelters
    0.05°, 0.10° and 0.15° east of it, 3.585, 7.170 and 10.754 min away."""
    from shapely.geometry import LineString
    from test_reach_core import _roads
    from test_reach_tiles import _points

    from cimic_geo.analytics.roadgraph import build_road_graph

    graph = build_road_graph(_roads([LineString([(29.95, 50.0), (30.0, 50.0), (30.05, 50.0), (30.10, 50.0),
                                                 (30.15, 50.0), (30.20, 50.0)])]))
    sets = _points([("s0", 30.0, 50.0)], population=10)
    shel = _points([(f"h{k}", 30.0 + 0.05 * k, 50.0) for k in (1, 2, 3)], capacity=10, status="open")
    return graph, sets, shel


def test_a_larger_limit_within_the_search_ahead_is_its_kept_pairs_bit_for_bit(monkeypatch):
    """Asked 8 min, searched to 8 + 5 = 13: the answer holds the two shelters within 8 min (3.585, 7.170);
    12 and 13 min add the third (10.754) from the kept search; 14 min is past it and searched again."""
    graph, sets, shel = _straight_road()
    calls = _counting(monkeypatch)
    first = travel_time_reach(graph, sets, shel, max_minutes=8.0, policy=POLICY, ahead_minutes=5.0)
    assert first.h.tolist() == [0, 1] and first.limit == 8.0
    np.testing.assert_allclose(first.cost, [3.585, 7.170], atol=0.002)
    larger = travel_time_reach(graph, sets, shel, max_minutes=12.0, policy=POLICY, ahead_minutes=5.0)
    at_bound = travel_time_reach(graph, sets, shel, max_minutes=13.0, policy=POLICY, ahead_minutes=5.0)
    assert len(calls) == 1  # both answered from the search to 13 min
    assert larger.h.tolist() == [0, 1, 2] and larger.limit == 12.0 and at_bound.limit == 13.0
    assert first.cost.tobytes() == larger.cost[:2].tobytes()
    for got, minutes in ((first, 8.0), (larger, 12.0), (at_bound, 13.0)):
        assert _identical(got, _fresh(graph, sets, shel, minutes))
    travel_time_reach(graph, sets, shel, max_minutes=14.0, policy=POLICY, ahead_minutes=5.0)
    assert len(calls) == 5  # the search to 13, three fresh ones and the one to 14 + 5 min


@pytest.mark.parametrize(("small", "larger"), [(4.0, 8.0), (9.0, 11.5), (11.5, 15.0)])
def test_a_larger_limit_on_a_random_network_equals_a_fresh_search_and_networkx(small, larger, monkeypatch):
    graph, sets, shel = _places()
    calls = _counting(monkeypatch)
    first = travel_time_reach(graph, sets, shel, max_minutes=small, policy=POLICY, ahead_minutes=larger - small)
    got = travel_time_reach(graph, sets, shel, max_minutes=larger, policy=POLICY, ahead_minutes=larger - small)
    assert len(calls) == 1 and len(first.s) < len(got.s)
    assert _identical(first, _fresh(graph, sets, shel, small))
    assert _identical(got, _fresh(graph, sets, shel, larger))
    for minutes, r in ((small, first), (larger, got)):
        assert _as_dict(r).keys() == _networkx_reach(graph, sets, shel, t_max=minutes, policy=POLICY).keys()


def test_a_pair_just_above_the_asked_limit_in_the_search_ahead_is_searched_at_the_limit(monkeypatch):
    """The search past the limit has a pair within 1e-9 min above it: the answer at the limit is searched
    on its own (what a fresh search keeps there), the search ahead is still kept for the next question."""
    graph, sets, shel = _places()
    wide = _fresh(graph, sets, shel, 15.0)
    limit = float(np.sort(wide.cost)[len(wide.cost) // 2]) - 5e-10
    calls = _counting(monkeypatch)
    got = travel_time_reach(graph, sets, shel, max_minutes=limit, policy=POLICY, ahead_minutes=16.0 - limit)
    assert len(calls) == 2  # to about 16 min, then at the limit
    assert _identical(got, _fresh(graph, sets, shel, limit))
    again = travel_time_reach(graph, sets, shel, max_minutes=15.0, policy=POLICY)
    assert len(calls) == 3 and _identical(again, wide)  # from the search to 16 min (the third: the fresh one)


def test_a_negative_search_ahead_is_refused():
    graph, sets, shel = _straight_road()
    with pytest.raises(AnalysisError, match="ahead_minutes"):
        travel_time_reach(graph, sets, shel, max_minutes=8.0, policy=POLICY, ahead_minutes=-1.0)
