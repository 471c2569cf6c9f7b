"""Series over the history on the hand-made history of tests/history_fixtures.py, by hand.

Threat bands (10, 25, 50) km. Settlements at 48.05 N: P1 1,000 people at 37.30 E, P2 500 at 37.60 E,
P3 200 at 37.10 E. One degree of longitude there is 74.55 km (WGS84: N cos(lat) pi/180), so
- D1 (front on 37.0 E): P3 0.1 deg = 7.5 km (0-10), P1 0.3 deg = 22.4 km (10-25), P2 0.6 deg = 44.7 km (25-50);
- D3 and D5 (front on 37.2 E, occupied area west of it): P3 occupied, P1 7.5 km (0-10), P2 29.8 km (25-50).
(the distances are checked with pyproj's geodesic below).
Shelters in open or full: D1 A 100 (60) + B 50 (50) + C 80 (20) = 230 places, 130 people, 130/230 used;
D3, D5 B 80 (50) + C 80 (20) = 160 places, 70 people, 70/160 = 0.4375.
Open damage: D1 water 1 (I2 major, planned), health 1 (I3 minor); D3, D5 power 1 (I1 major), health 1
(I2 restored). Corridors: C1 proposed at D1, agreed at D3 and D5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from history_fixtures import D, build_history
from pyproj import Geod

from cimic_geo.analytics.trends import compute_trends, in_force
from cimic_geo.store import connect
from cimic_geo.store.trend_reads import trend_inputs

BANDS = (10.0, 25.0, 50.0)


@pytest.fixture
def inputs(empty_db: Path) -> dict:
    with connect(empty_db) as store:
        build_history(store)
        return trend_inputs(store)


def test_distances_of_the_hand_arithmetic() -> None:
    geod = Geod(ellps="WGS84")
    km = [geod.inv(a, 48.05, b, 48.05)[2] / 1000 for a, b in ((37.0, 37.1), (37.0, 37.3), (37.0, 37.6), (37.2, 37.6))]
    assert np.allclose(km, [7.46, 22.37, 44.73, 29.82], atol=0.05)


def test_series_at_the_snapshot_times(inputs: dict) -> None:
    assert inputs["times"] == [D[1], D[3], D[5]]
    tr = compute_trends(**inputs, bands_km=BANDS)
    assert tr.times == [D[1], D[3], D[5]]
    assert tr.population.columns.tolist() == ["0-10", "10-25", "25-50", "beyond", "occupied"]
    assert tr.population.values.tolist() == [[200, 1000, 500, 0, 0], [1000, 0, 500, 0, 200], [1000, 0, 500, 0, 200]]
    assert tr.shelters[["capacity", "occupancy"]].values.tolist() == [[230, 130], [160, 70], [160, 70]]
    assert np.allclose(tr.shelters["used"], [130 / 230, 70 / 160, 70 / 160])
    damage = tr.damage.loc[:, (tr.damage != 0).any()]
    assert damage.columns.tolist() == ["power", "water", "health"]
    assert damage.values.tolist() == [[0, 1, 1], [1, 0, 1], [1, 0, 1]]
    assert tr.corridors[["proposed", "agreed"]].values.tolist() == [[1, 0], [0, 1], [0, 1]]
    assert int(tr.corridors.values.sum()) == 3


def test_between_snapshots_and_without_a_front(inputs: dict) -> None:
    # at D2 the D1 front and D1 versions are in force; without a front line everyone is "beyond"
    no_front = {**inputs, "front_line": inputs["front_line"].iloc[0:0], "occupied_area": inputs["occupied_area"].iloc[0:0]}
    tr = compute_trends(**{**no_front, "times": [D[2], D[4]]}, bands_km=BANDS)
    assert tr.population["beyond"].tolist() == [1700, 1700] and int(tr.population.drop(columns="beyond").values.sum()) == 0
    assert tr.shelters["capacity"].tolist() == [230, 160]
    # a version in force from valid_from (inclusive) to valid_to (exclusive)
    vf = pd.Series(pd.to_datetime([D[1], D[3]], utc=True))
    vt = pd.Series(pd.to_datetime([D[3], None], utc=True))
    assert in_force(vf, vt, D[3]).tolist() == [False, True]
    assert in_force(vf, vt, D[3] - pd.Timedelta(seconds=1)).tolist() == [True, False]


def test_corridor_series_from_the_status_log() -> None:
    """Hand-made log (times are days after day 0): C1 proposed on day 1, agreed and (same instant, later
    row) active on day 3; C2 draft on day 2, a change without a status on day 4 (draft stays), closed
    on day 6; C3 has no logged change and counts at its current status (suspended) at every time.
    Day 0: C3 only. Day 1: proposed 1. Day 2: proposed 1, draft 1. Day 3: active 1 (the later row of the
    same instant wins), draft 1. Day 5: active 1, draft 1. Day 6: active 1, closed 1. Asked out of order."""
    from cimic_geo.analytics.trends import corridor_series

    day = [pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=i) for i in range(7)]
    log = pd.DataFrame({"corridor_id": ["C2", "C1", "C1", "C1", "C2", "C2"],
                        "changed_at": [day[2], day[1], day[3], day[3], day[4], day[6]],
                        "to_status": ["draft", "proposed", "agreed", "active", None, "closed"]})
    corridors = pd.DataFrame({"id": ["C1", "C2", "C3"], "status": ["active", "closed", "suspended"]})
    asked = [day[6], day[0], day[3], day[1], day[5], day[2]]
    got = corridor_series(asked, log, corridors)
    assert list(got.index) == asked
    cols = ["draft", "proposed", "agreed", "active", "suspended", "closed"]
    assert got[cols].values.tolist() == [
        [0, 0, 0, 1, 1, 1],  # day 6
        [0, 0, 0, 0, 1, 0],  # day 0
        [1, 0, 0, 1, 1, 0],  # day 3
        [0, 1, 0, 0, 1, 0],  # day 1
        [1, 0, 0, 1, 1, 0],  # day 5
        [1, 1, 0, 0, 1, 0],  # day 2
    ]
