"""The EXERCISE scenario's CIMIC layers: deterministic, plausible, history consistent with statuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cimic_geo.analytics.bands import prepare_front
from cimic_geo.evacuation_rules import check_evacuations
from cimic_geo.scenario import HISTORY_DAYS, HISTORY_END, generate_all
from cimic_geo.schema import EVACUATION_STATUSES, EVACUATION_TRANSITIONS


@pytest.fixture(scope="module")
def demo():
    return generate_all(scale="demo", seed=2026)


def test_same_seed_same_evacuations(demo):
    frames, tables = demo
    again, tables2 = generate_all(scale="demo", seed=2026)
    for name in ("evacuations", "assessments", "partners"):
        pd.testing.assert_frame_equal(frames[name], again[name])
    pd.testing.assert_frame_equal(tables["evacuation_history"], tables2["evacuation_history"])


def test_requests_are_valid_and_statuses_spread(demo):
    frames, _ = demo
    ev = frames["evacuations"]
    assert check_evacuations(ev, shelter_ids=set(frames["shelters"]["id"]),
                             settlement_ids=set(frames["settlements"]["id"])) == []
    counts = ev["status"].value_counts()
    assert set(counts.index) == set(EVACUATION_STATUSES)  # every status occurs
    open_ = counts[["requested", "planned", "underway"]].sum()
    assert 0.08 * len(ev) <= open_ <= 0.4 * len(ev)
    t = pd.to_datetime(ev["requested_at"], utc=True)
    assert t.min() >= HISTORY_END - pd.Timedelta(days=HISTORY_DAYS) and t.max() <= HISTORY_END
    assert t.min() < HISTORY_END - pd.Timedelta(days=60)  # the history spans the period


def test_requests_concentrate_near_the_front(demo):
    frames, _ = demo
    front = prepare_front(frames["front_line"].iloc[[-1]], frames["occupied_area"].iloc[[-1]])
    d_req = front.distance_km(frames["evacuations"].geometry)
    d_set = front.distance_km(frames["settlements"].geometry)
    # half the requests within 15 km of today's front; far fewer of all settlements are that close
    assert np.median(d_req) < 15 < np.median(d_set)


def test_history_chains_to_the_current_status(demo):
    frames, tables = demo
    ev = frames["evacuations"].set_index("id")
    hist = tables["evacuation_history"].sort_values(["evacuation_id", "version"])
    assert (pd.to_datetime(hist["changed_at"], utc=True) <= HISTORY_END).all()
    for eid, h in hist.groupby("evacuation_id"):
        assert h["version"].tolist() == list(range(1, len(h) + 1))
        assert h["to_status"].iloc[0] == "requested" and pd.isna(h["from_status"].iloc[0])
        for a, b in zip(h["to_status"].iloc[:-1], h["to_status"].iloc[1:], strict=True):
            assert b in EVACUATION_TRANSITIONS[a], (eid, a, b)
        assert h["to_status"].iloc[-1] == ev.loc[eid, "status"] and len(h) == ev.loc[eid, "version"]
        assert h["changed_at"].is_monotonic_increasing
