"""Civil assessments and 3W partners: hand-made data whose answers are worked out in the comments."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cimic_geo.analytics.assessment_status import latest_per_settlement, sector_summary, staleness, unmet_needs
from cimic_geo.analytics.partner_gaps import coverage_pairs, gap_analysis, three_w_table
from cimic_geo.errors import AnalysisError, NotFoundError, StoreError
from cimic_geo.schema import LAYERS
from cimic_geo.store import connect
from cimic_geo.store.assessment_records import assessment_history, latest_assessments
from cimic_geo.store.partner_records import end_partner, partner_history, read_partners, save_partner_versions


def day(d: int, hour: int = 0) -> pd.Timestamp:
    return pd.Timestamp(2026, 11, d, hour, tz="UTC")


# Six settlements on the 50th parallel (S6 a little north); S4 lies exactly on the west edge of
# partner P2's area box (lon 30.3), a point-on-edge trap for "inside".
SETTLEMENTS = gpd.GeoDataFrame(
    {"id": ["S1", "S2", "S3", "S4", "S5", "S6"], "name": ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"],
     "admin1": "Oblast", "population": [1000, 2000, 3000, 4000, 5000, 6000]},
    geometry=shapely.points([(30.0, 50.0), (30.1, 50.0), (30.2, 50.0), (30.3, 50.0), (31.0, 50.0), (30.05, 50.05)]),
    crs="EPSG:4326",
)


def _assessment(aid: str, sid: str, when: pd.Timestamp, **status: str) -> dict:
    row = {"id": aid, "settlement_id": sid, "assessed_at": when, "population_present": 100,
           "priority_needs": None, "assessor": "CIMIC team 2", "notes": None, "source": "test",
           "reported_at": when, "reliability": "B2"}
    for sector in ("power", "water", "heating", "gas", "telecom", "health", "food", "access"):
        row[f"{sector}_status"] = status.get(sector, "functional")
    return row


ROWS = [
    _assessment("A1", "S1", day(1), water="disrupted"),     # superseded by A2 (the trap)
    _assessment("A2", "S1", day(5), power="partial"),       # S1 latest: power partial
    _assessment("A3", "S2", day(3), water="disrupted", health="partial"),
    _assessment("A4", "S3", day(2)),                        # all functional: no need
    _assessment("A5", "S4", day(4), water="partial"),
    _assessment("A6", "S5", day(4), water="disrupted", food="disrupted", gas="unknown"),
]


def assessments() -> gpd.GeoDataFrame:
    df = pd.DataFrame(ROWS)
    pts = SETTLEMENTS.set_index("id").geometry.reindex(df["settlement_id"]).to_numpy()
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(pts, crs="EPSG:4326"), crs="EPSG:4326")


def partners() -> gpd.GeoDataFrame:
    rows = [
        ("P1", "water", "S2", None),                                   # covers S2 water (listed)
        ("P2", "water", None, shapely.box(30.3, 49.9, 30.4, 50.1)),    # covers S4 water (on the edge)
        ("P3", "power", "S5; S1", None),                               # covers S1 power (listed)
        ("P4", "health", None, shapely.box(29.99, 49.99, 30.01, 50.01)),  # covers S1 only, not S2
        ("P5", "food", "S4", None),                                    # S4 has no food need
    ]
    pts = SETTLEMENTS.set_index("id").geometry
    geoms = [g if g is not None else shapely.multipoints([pts[s.strip()] for s in ids.split(";")])
             for _, _, ids, g in rows]
    return gpd.GeoDataFrame(
        {"partner_id": [r[0] for r in rows], "organisation": [f"Org {r[0]}" for r in rows], "org_type": "ngo",
         "sector": [r[1] for r in rows], "activity": "deliveries", "settlement_ids": [r[2] for r in rows],
         "contact": "duty desk", "valid_from": day(1), "source": "test", "reported_at": day(1),
         "reliability": "B2"}, geometry=geoms, crs="EPSG:4326")


# -- assessments ----------------------------------------------------------------------------------


def test_latest_per_settlement_takes_the_newest_and_respects_as_of():
    latest = latest_per_settlement(assessments())
    assert dict(zip(latest["settlement_id"], latest["id"], strict=True)) == {
        "S1": "A2", "S2": "A3", "S3": "A4", "S4": "A5", "S5": "A6"}
    # on day 2 only A1 (day 1) and A4 (day 2, the bound is inclusive) had been made
    early = latest_per_settlement(assessments(), as_of=day(2))
    assert sorted(early["id"]) == ["A1", "A4"]
    # row order does not matter
    shuffled = latest_per_settlement(assessments().iloc[::-1])
    assert sorted(shuffled["id"]) == sorted(latest["id"])


def test_staleness_boundaries_at_day_18():
    # as of 18 Nov 00:00 with 14 days: S1 (5th) 13 d current; S2 (3rd) 15 d stale; S3 (2nd) 16 d stale;
    # S4 and S5 (4th) exactly 14 d: not older than 14 -> current; S6 never assessed
    st = staleness(SETTLEMENTS, assessments(), as_of=day(18), stale_days=14)
    states = dict(zip(st.table["settlement_id"], st.table["state"], strict=True))
    assert states == {"S1": "current", "S2": "stale", "S3": "stale", "S4": "current", "S5": "current",
                      "S6": "never"}
    ages = dict(zip(st.table["settlement_id"], st.table["age_days"], strict=True))
    assert ages["S1"] == pytest.approx(13.0) and ages["S3"] == pytest.approx(16.0)
    assert st.to_dict()["stale"] == 2 and st.to_dict()["never"] == 1
    # one hour later S4 and S5 are 14 d 1 h old: stale too
    later = staleness(SETTLEMENTS, assessments(), as_of=day(18, 1), stale_days=14)
    assert later.count("stale") == 4
    with pytest.raises(AnalysisError):
        staleness(SETTLEMENTS, assessments(), stale_days=0)


def test_unmet_needs_and_sector_summary():
    latest = latest_per_settlement(assessments())
    needs = unmet_needs(latest)
    assert list(zip(needs["settlement_id"], needs["sector"], needs["status"], strict=True)) == [
        ("S1", "power", "partial"), ("S2", "health", "partial"), ("S2", "water", "disrupted"),
        ("S4", "water", "partial"), ("S5", "food", "disrupted"), ("S5", "water", "disrupted")]
    summary = sector_summary(latest).set_index("sector")
    # water: S1 S3 functional, S2 S5 disrupted, S4 partial; gas: S5 unknown, four functional
    assert summary.loc["water"].to_dict() == {"functional": 2, "partial": 1, "disrupted": 2, "unknown": 0}
    assert summary.loc["gas", "unknown"] == 1 and summary.loc["gas", "functional"] == 4


# -- 3W ---------------------------------------------------------------------------------------------


def test_coverage_pairs_listed_and_area_with_edge_point():
    pairs = coverage_pairs(partners(), SETTLEMENTS)
    got = set(zip(pairs["partner_id"], pairs["settlement_id"], pairs["how"], strict=True))
    assert got == {("P1", "S2", "listed"), ("P2", "S4", "area"), ("P3", "S5", "listed"), ("P3", "S1", "listed"),
                   ("P4", "S1", "area"), ("P5", "S4", "listed")}


def _covers(precomputed: bool) -> dict:
    """``covers=`` for the gap analysis and the 3W table: the pairs found once beforehand, or none."""
    return {"covers": coverage_pairs(partners(), SETTLEMENTS)} if precomputed else {}


@pytest.mark.parametrize("precomputed", [False, True])
def test_gaps_are_exactly_the_hand_listed_settlements(precomputed):
    gaps = gap_analysis(latest_per_settlement(assessments()), partners(), SETTLEMENTS, **_covers(precomputed))
    # needs: S1 power (P3), S2 water (P1), S2 health (P4 covers S1 only -> gap), S4 water (P2, edge),
    # S5 water (no water partner there -> gap), S5 food (P5 serves S4 -> gap)
    assert set(zip(gaps.gaps["settlement_id"], gaps.gaps["sector"], strict=True)) == {
        ("S2", "health"), ("S5", "water"), ("S5", "food")}
    assert gaps.gap_settlements() == ["S2", "S5"]
    assert gaps.gap_settlements("water") == ["S5"]
    by = gaps.by_sector.set_index("sector")
    assert by.loc["water"].to_dict() == {"needs": 3, "covered": 2, "gaps": 1, "people_in_gaps": 100}
    assert gaps.gaps.set_index(["settlement_id", "sector"]).loc[("S5", "food"), "name"] == "Echo"
    # the picture on day 2: only A1 (S1 water disrupted) and A4 exist; no water partner covers S1
    early = gap_analysis(latest_per_settlement(assessments(), as_of=day(2)), partners(), SETTLEMENTS,
                         **_covers(precomputed))
    assert set(zip(early.gaps["settlement_id"], early.gaps["sector"], strict=True)) == {("S1", "water")}


def test_gaps_without_partners_are_all_needs():
    latest = latest_per_settlement(assessments())
    gaps = gap_analysis(latest, partners().iloc[0:0], SETTLEMENTS)
    assert len(gaps.gaps) == 6 and gaps.gap_settlements() == ["S1", "S2", "S4", "S5"]


@pytest.mark.parametrize("precomputed", [False, True])
def test_three_w_table_counts_settlements_covered(precomputed):
    table = three_w_table(partners(), SETTLEMENTS, **_covers(precomputed)).set_index("partner_id")
    assert table["settlements_covered"].to_dict() == {"P1": 1, "P2": 1, "P3": 2, "P4": 1, "P5": 1}
    assert table.loc["P2", "area"] == "polygon" and table.loc["P1", "area"] == "settlement list"


# -- store ------------------------------------------------------------------------------------------


def test_store_latest_and_history_match_the_analytics(empty_db):
    with connect(empty_db) as store:
        store.write("settlements", SETTLEMENTS.assign(source="t", reliability="B2"))
        store.write("assessments", assessments())
        latest = latest_assessments(store)
        assert dict(zip(latest["settlement_id"], latest["id"], strict=True)) == {
            "S1": "A2", "S2": "A3", "S3": "A4", "S4": "A5", "S5": "A6"}
        assert sorted(latest_assessments(store, as_of=day(2))["id"]) == ["A1", "A4"]
        hist = assessment_history(store, "S1")
        assert hist["id"].tolist() == ["A2", "A1"]
        assert set(LAYERS["assessments"].column_names) <= set(hist.columns)


def test_partner_versions_keep_history(empty_db):
    with connect(empty_db) as store:
        first = save_partner_versions(store, partners())
        assert sorted(first.new) == ["P1", "P2", "P3", "P4", "P5"] and first.written == 5
        # saving the same entries again writes nothing
        again = save_partner_versions(store, partners())
        assert again.written == 0 and len(again.unchanged) == 5
        # P1 extends to S3 on day 6: a new version; the old one ends on day 6
        changed = partners().iloc[[0]].copy()
        changed["settlement_ids"] = "S2;S3"
        changed["valid_from"] = day(6)
        res = save_partner_versions(store, changed)
        assert res.changed == ["P1"]
        hist = partner_history(store, "P1")
        assert hist["settlement_ids"].tolist() == ["S2", "S2;S3"]
        assert hist["valid_to"].iloc[0] == day(6) and pd.isna(hist["valid_to"].iloc[1])
        assert read_partners(store, as_of=day(3)).set_index("partner_id").loc["P1", "settlement_ids"] == "S2"
        assert read_partners(store).set_index("partner_id").loc["P1", "settlement_ids"] == "S2;S3"
        # an older version than the current one is refused, and nothing is written
        before = store.fingerprint()
        stale = changed.assign(valid_from=day(2), settlement_ids="S9")
        with pytest.raises(StoreError, match="older"):
            save_partner_versions(store, stale)
        assert store.fingerprint() == before
        # ending an entry keeps its rows
        end_partner(store, "P5", at=day(7))
        assert "P5" not in set(read_partners(store)["partner_id"])
        assert "P5" in set(read_partners(store, as_of=day(6))["partner_id"])
        with pytest.raises(NotFoundError):
            end_partner(store, "P5")
