"""Evacuation writes: workflow transitions enforced, optimistic locking, history, all-or-nothing."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from cimic_geo.auth import Actor
from cimic_geo.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError, WorkflowError
from cimic_geo.evacuation_rules import check_evacuations
from cimic_geo.store import connect
from cimic_geo.store.evacuation_records import (
    create_evacuation,
    evacuation_history,
    read_evacuations,
    set_evacuation_status,
)

PICKUP = Point(37.5, 48.9)


@pytest.fixture
def store(empty_db):
    s = connect(empty_db)
    s.write("settlements", gpd.GeoDataFrame(
        {"id": ["S1"], "name": ["Testove"], "population": [1200]}, geometry=[PICKUP], crs="EPSG:4326"))
    s.write("shelters", gpd.GeoDataFrame(
        {"id": ["SH1", "SH2"], "name": ["Centre A", "Centre B"], "kind": ["collective_centre"] * 2,
         "capacity": [100, 50], "occupancy": [10, 0], "status": ["open", "open"]},
        geometry=[Point(36.5, 49.0), Point(36.6, 49.1)], crs="EPSG:4326"))
    yield s
    s.close()


def test_create_writes_row_and_history(store):
    res = create_evacuation(store, geometry=PICKUP, people=6, children=2, elderly=1, user="officer1",
                            settlement_id="S1", requested_at="2026-11-20T06:00Z")
    assert res["status"] == "requested" and res["version"] == 1
    hist = evacuation_history(store, res["id"])
    assert hist[["action", "to_status", "changed_by", "people"]].values.tolist() == [
        ["create", "requested", "officer1", 6]]
    assert hist["from_status"].isna().all()


def test_only_allowed_transitions_and_version_check(store):
    eid = create_evacuation(store, geometry=PICKUP, people=4, user="u")["id"]
    with pytest.raises(WorkflowError, match="requested to completed"):
        set_evacuation_status(store, eid, "completed", user="u", expected_version=1)
    with pytest.raises(ValidationError) as err:  # a plan needs a destination shelter
        set_evacuation_status(store, eid, "planned", user="u", expected_version=1)
    assert err.value.problems[0].field == "destination_shelter_id"
    r = set_evacuation_status(store, eid, "planned", user="u", expected_version=1,
                              changes={"destination_shelter_id": "SH1", "transport": "minibus",
                                       "transport_capacity": 18})
    assert r == {"id": eid, "version": 2, "status": "planned", "from_status": "requested"}
    with pytest.raises(ConflictError, match="version 2"):  # someone saved version 2 meanwhile
        set_evacuation_status(store, eid, "underway", user="other", expected_version=1)
    set_evacuation_status(store, eid, "underway", user="u", expected_version=2)
    set_evacuation_status(store, eid, "completed", user="u", expected_version=3)
    with pytest.raises(WorkflowError, match="final"):
        set_evacuation_status(store, eid, "requested", user="u", expected_version=4)
    hist = evacuation_history(store, eid).sort_values("version")
    assert hist["to_status"].tolist() == ["requested", "planned", "underway", "completed"]
    row = read_evacuations(store).iloc[0]
    assert row["status"] == "completed" and row["destination_shelter_id"] == "SH1" and row["version"] == 4
    with pytest.raises(NotFoundError):
        set_evacuation_status(store, "EVA-NOPE", "planned", user="u", expected_version=1)


def test_bad_input_writes_nothing(store):
    before = store.fingerprint()
    with pytest.raises(ValidationError) as err:
        create_evacuation(store, geometry=PICKUP, people=3, children=-1, user="u",
                          destination_shelter_id="SH-MISSING", status="planned")
    fields = {p.field for p in err.value.problems}
    assert fields == {"children", "destination_shelter_id"}
    with pytest.raises(ValidationError):
        create_evacuation(store, geometry=PICKUP, people=2, elderly=3, user="u")  # more elderly than people
    assert store.fingerprint() == before


def test_rules_name_row_and_column():
    frame = pd.DataFrame({
        "people": [5, -2, 4, 3],
        "children": [1, 0, 0, 0],
        "status": ["requested", "requested", "flying", "planned"],
        "destination_shelter_id": [None, None, None, "NOPE"],
    })
    problems = check_evacuations(frame, shelter_ids={"SH1"}, row_numbers=[2, 3, 4, 5])
    got = sorted((p.row, p.field) for p in problems)
    assert got == [(3, "people"), (4, "status"), (5, "destination_shelter_id")]
    assert "negative" in next(p.message for p in problems if p.row == 3)
    assert "'flying'" in next(p.message for p in problems if p.row == 4)


def test_a_viewer_may_not_change_evacuations(store):
    eid = create_evacuation(store, geometry=PICKUP, people=4, user="u")["id"]
    before = store.fingerprint()["evacuations"]
    with pytest.raises(PermissionDeniedError, match="viewer"):
        set_evacuation_status(store, eid, "cancelled", actor=Actor("v", "user", "viewer"), expected_version=1)
    assert store.fingerprint()["evacuations"] == before
    audit = store.query_df("SELECT action, outcome FROM audit WHERE layer = 'evacuations' ORDER BY id")
    assert audit.values.tolist() == [["evacuation.create", "ok"], ["evacuation.status", "refused"]]


def test_status_as_of_comes_from_history(store):
    eid = create_evacuation(store, geometry=PICKUP, people=4, user="u", requested_at="2020-01-01T00:00Z")["id"]
    t_created = evacuation_history(store, eid)["changed_at"].iloc[0]
    set_evacuation_status(store, eid, "cancelled", user="u", expected_version=1)
    assert read_evacuations(store).iloc[0]["status"] == "cancelled"
    at_create = read_evacuations(store, as_of=t_created)
    assert at_create.iloc[0]["status"] == "requested"
    assert len(read_evacuations(store, as_of="2019-12-31T00:00Z")) == 0  # not yet requested
