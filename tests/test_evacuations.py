"""Evacuation analytics on hand-made data whose answers are worked out in the comments.

Geometry sits on the equator, where one degree of longitude is 111.319 km along the geodesic
(WGS84 a = 6378137 m: 2*pi*a/360 = 111319.49 m), so distances can be checked by hand.
"""

from __future__ import annotations

import random

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from cimic_geo.analytics.evacuation_progress import (
    assign_to_shelters,
    missions_per_day,
    oldest_open,
    status_counts,
    threat_bands,
    waiting_by_band,
)
from cimic_geo.errors import AnalysisError

KM_PER_DEG = 111.31949079327357
T0 = pd.Timestamp("2026-11-01T00:00Z")

# Front line along the meridian 0 (lat -1..1); occupied side to the east (lon 0..1).
FRONT = gpd.GeoDataFrame(geometry=[LineString([(0, -1), (0, 1)])], crs="EPSG:4326")
OCCUPIED = gpd.GeoDataFrame(geometry=[Polygon([(0, -1), (1, -1), (1, 1), (0, 1)])], crs="EPSG:4326")


def _evac(rows: list[tuple]) -> gpd.GeoDataFrame:
    cols = ["id", "lon", "status", "people", "children", "elderly", "reduced_mobility", "bedridden", "pets", "hours"]
    df = pd.DataFrame(rows, columns=cols)
    df["requested_at"] = T0 + pd.to_timedelta(df.pop("hours"), unit="h")
    pts = [Point(x, 0.0) for x in df.pop("lon")]
    return gpd.GeoDataFrame(df, geometry=pts, crs="EPSG:4326")


# id, lon, status, people, children, elderly, reduced mobility, bedridden, pets, requested (h after T0)
EVAC = _evac([
    ("E1", -0.01, "requested", 10, 3, 2, 1, 0, 1, 10),   # 1.11 km west of the front -> 0-5
    ("E2", -0.02, "planned", 5, 0, 4, 2, 1, 0, 5),       # 2.23 km -> 0-5
    ("E3", -0.01, "completed", 50, 9, 9, 9, 9, 9, 0),    # picked up: not waiting
    ("E4", -0.10, "requested", 7, 2, 1, 0, 0, 3, 20),    # 11.13 km -> 5-20
    ("E5", -0.30, "underway", 20, 5, 5, 0, 0, 0, 2),     # 33.4 km, on the way: not waiting
    ("E6", -0.50, "cancelled", 8, 0, 0, 0, 0, 0, 1),     # closed
    ("E7", -0.50, "requested", 4, 0, 4, 0, 2, 0, 30),    # 55.7 km -> beyond
    ("E8", 0.10, "requested", 6, 1, 0, 0, 0, 0, 40),     # east of the line -> occupied
])


def test_threat_band_of_each_pickup_point():
    bands = threat_bands(EVAC, front_line=FRONT, occupied_area=OCCUPIED, bands_km=(5, 20, 40))
    assert list(bands) == ["0-5", "0-5", "0-5", "5-20", "20-40", "beyond", "beyond", "occupied"]


def test_without_front_every_point_is_beyond():
    empty = FRONT.iloc[0:0]
    assert set(threat_bands(EVAC, front_line=empty, occupied_area=OCCUPIED.iloc[0:0])) == {"beyond"}


def test_people_waiting_per_band_and_group_by_hand():
    bands = threat_bands(EVAC, front_line=FRONT, occupied_area=OCCUPIED, bands_km=(5, 20, 40))
    table = waiting_by_band(EVAC, bands, bands_km=(5, 20, 40))
    assert list(table.index) == ["0-5", "5-20", "20-40", "beyond", "occupied"]
    # 0-5: E1 + E2 (E3 completed is not waiting): people 10+5, children 3+0, elderly 2+4,
    #      reduced mobility 1+2, bedridden 0+1, pets 1+0
    assert table.loc["0-5"].to_dict() == {"requests": 2, "people": 15, "children": 3, "elderly": 6,
                                          "reduced_mobility": 3, "bedridden": 1, "pets": 1}
    assert table.loc["5-20"].to_dict() == {"requests": 1, "people": 7, "children": 2, "elderly": 1,
                                           "reduced_mobility": 0, "bedridden": 0, "pets": 3}
    assert table.loc["20-40"].sum() == 0  # E5 is underway (picked up)
    # beyond: E7 only (E6 cancelled)
    assert table.loc["beyond"].to_dict() == {"requests": 1, "people": 4, "children": 0, "elderly": 4,
                                             "reduced_mobility": 0, "bedridden": 2, "pets": 0}
    assert table.loc["occupied", "people"] == 6 and table.loc["occupied", "children"] == 1
    # every waiting person is counted once: 10 + 5 + 7 + 4 + 6 = 32
    assert int(table["people"].sum()) == 32


def test_waiting_rejects_negative_counts():
    bad = EVAC.copy()
    bad.loc[0, "children"] = -1
    with pytest.raises(AnalysisError, match="negative children"):
        waiting_by_band(bad, np.array(["0-5"] * len(bad), dtype=object))


def test_oldest_open_request_and_tie_by_id():
    # open = not completed/failed/cancelled: E1 (10 h), E2 (5 h), E4, E5 (2 h), E7, E8 -> E5, the oldest
    now = T0 + pd.Timedelta(hours=50)
    got = oldest_open(EVAC, now=now)
    assert got["id"] == "E5" and got["age_hours"] == 48.0 and got["status"] == "underway"
    tie = EVAC.copy()
    tie.loc[tie["id"] == "E2", "requested_at"] = T0 + pd.Timedelta(hours=2)  # same time as E5
    assert oldest_open(tie.iloc[::-1], now=now)["id"] == "E2"  # smaller id wins, whatever the order
    assert oldest_open(EVAC[EVAC["status"] == "completed"], now=now) is None


def test_missions_per_day_counts_each_day():
    hist = pd.DataFrame({
        "changed_at": pd.to_datetime(["2026-11-18T08:00Z", "2026-11-18T20:00Z", "2026-11-19T03:00Z",
                                      "2026-11-19T09:00Z", "2026-11-20T10:00Z", "2026-11-10T10:00Z"]),
        "to_status": ["underway", "underway", "completed", "failed", "underway", "underway"],
    })
    table = missions_per_day(hist, until="2026-11-20T23:00Z", days=3)
    assert [d.strftime("%d") for d in table.index] == ["18", "19", "20"]
    assert table["started"].tolist() == [2, 0, 1]  # the 10 Nov start is outside the 3 days
    assert table["completed"].tolist() == [0, 1, 0]
    assert table["failed"].tolist() == [0, 1, 0]


def test_status_counts():
    table = status_counts(EVAC)
    assert table.loc["requested"].tolist() == [4, 10 + 7 + 4 + 6]
    assert table.loc["failed"].tolist() == [0, 0]


# ----------------------------------------------------------------------------------------------
# assignment to shelters: the trap where sequential (or nearest-first) allocation is worse
# ----------------------------------------------------------------------------------------------
def _km(x: float) -> Point:
    return Point(x / KM_PER_DEG, 0.0)


def _trap(order: list[int] | None = None):
    # Requests A at 0 km and B at 3 km, 10 people each; shelters X at 1 km and Y at -2 km, 10 free
    # places each; reach 3 km. Pairs: A-X 1 km, A-Y 2 km, B-X 2 km (B-Y 5 km is out of reach).
    # Nearest first (or A first): A -> X (1 km), then X is full and B reaches nothing: 10 placed.
    # B first: B -> X, A -> Y: 20 placed. Optimum: all 20 placed, A -> Y and B -> X,
    # 10 x 2 + 10 x 2 = 40 person-km (the only way to place B is X, so A must take Y).
    evac = gpd.GeoDataFrame({"id": ["A", "B", "P"], "status": ["requested", "requested", "planned"],
                             "people": [10, 10, 0], "destination_shelter_id": [None, None, "Y"]},
                            geometry=[_km(0), _km(3), _km(0)], crs="EPSG:4326")
    shel = gpd.GeoDataFrame({"id": ["X", "Y"], "name": ["X", "Y"], "capacity": [10, 12], "occupancy": [0, 2],
                             "status": ["open", "open"]}, geometry=[_km(1), _km(-2)], crs="EPSG:4326")
    if order is not None:
        evac = evac.iloc[order].reset_index(drop=True)
        shel = shel.iloc[order[:2] if len(order) == 2 else [1, 0]].reset_index(drop=True)
    return evac, shel


def _sequential(evac, shel, max_km):
    """Each request in turn takes its nearest shelters with room (the allocation we do better than)."""
    free = dict(zip(shel["id"], shel["capacity"] - shel["occupancy"], strict=True))
    placed = 0
    for r in evac[evac["status"] == "requested"].itertuples():
        d = {s.id: abs(r.geometry.x - s.geometry.x) * KM_PER_DEG for s in shel.itertuples()}
        left = r.people
        for sid in sorted((k for k in d if d[k] <= max_km), key=d.get):
            take = min(free[sid], left)
            free[sid] -= take
            left -= take
            placed += take
    return placed


def test_assignment_is_optimal_on_the_trap_case():
    evac, shel = _trap()
    assert _sequential(evac, shel, 3.0) == 10  # A first grabs X; B is left with nothing
    res = assign_to_shelters(evac, shel, max_km=3.0)
    assert res.people_waiting == 20 and res.people_assigned == 20
    pairs = {(r.request_id, r.shelter_id): int(r.people) for r in res.allocation.itertuples()}
    assert pairs == {("A", "Y"): 10, ("B", "X"): 10}
    assert res.total_cost == pytest.approx(40.0, abs=1e-3)


def test_assignment_does_not_depend_on_row_order():
    base = assign_to_shelters(*_trap(), max_km=3.0)
    for seed in range(4):
        rng = random.Random(seed)
        evac, shel = _trap()
        evac = evac.sample(frac=1, random_state=rng.randint(0, 999)).reset_index(drop=True)
        shel = shel.iloc[::-1].reset_index(drop=True)
        res = assign_to_shelters(evac, shel, max_km=3.0)
        pd.testing.assert_frame_equal(res.allocation, base.allocation)


def test_places_promised_to_planned_missions_are_not_offered_again():
    evac, shel = _trap()
    evac.loc[evac["id"] == "P", "people"] = 3  # a planned mission brings 3 people to Y: Y has 7 free
    res = assign_to_shelters(evac, shel, max_km=3.0)
    # 17 free places (X 10, Y 7) for 20 people: at most 17 placed. With k of A's people at X:
    # A -> Y 7 (2 km), A -> X k (1 km), B -> X 10 - k (2 km), k <= 3 (A has 10 people):
    # cost 14 + k + 2 (10 - k) = 34 - k, least at k = 3: 31 person-km.
    pairs = {(r.request_id, r.shelter_id): int(r.people) for r in res.allocation.itertuples()}
    assert pairs == {("A", "Y"): 7, ("A", "X"): 3, ("B", "X"): 7}
    assert res.people_assigned == 17 and res.total_cost == pytest.approx(31.0, abs=1e-3)
    assert res.shelters.set_index("id").loc["Y", "free"] == 7


def test_evacuation_map_draws_missions_escapes_text_and_stays_offline():
    from cimic_geo.maps.evacuation_map import STATUS_COLOURS, build_evacuation_map
    from cimic_geo.maps.layers_common import MapLook

    evil = '<img src=x onerror=alert(1)>{{ 7*7 }}'
    ev = gpd.GeoDataFrame(
        {"id": ["E1", "E2"], "status": ["planned", "requested"], "people": [4, 9], "settlement": [evil, "Bravo"],
         "destination_shelter_id": ["SH1", None]},
        geometry=[Point(30.0, 50.0), Point(30.2, 50.1)], crs="EPSG:4326")
    shelters = gpd.GeoDataFrame({"id": ["SH1"], "name": ["School"]}, geometry=[Point(30.5, 50.3)], crs="EPSG:4326")
    html = build_evacuation_map(ev, shelters=shelters, look=MapLook(marking="EXERCISE")).get_root().render()
    assert "Missions to shelters" in html and "[30.0, 50.0], [30.5, 50.3]" in html  # E1 -> SH1 only
    assert STATUS_COLOURS["planned"] in html and STATUS_COLOURS["requested"] in html and "EXERCISE" in html
    assert "<img src=x" not in html and "{{ 7*7 }}" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
