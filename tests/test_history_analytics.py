"""The analyses read every layer as it was at the chosen time, and work on a store with no front line.

Hand-made history (UTC; D<n> = day n of October 2026 at 00:00):

- front-line snapshots (north-south lines) on D1, D2, D4 and D5 at lon 38.49, 38.48, 38.46, 38.45;
- shelter A (37.0 E, 48.0 N) open, capacity 100 (report D1 06:00), closed (report D3 06:00);
  shelter B (37.5 E, 48.5 N) open, capacity 50 (report D1 06:00);
- settlement N (37.0 E, 48.01 N), 80 people (report D1 06:00): 0.01 deg of latitude = 1.11 km from A, so
  within the default 2 km while A is open; about 37 km east-west and 54 km north-south from B (never within);
- settlement E (38.3 E, 48.0 N), 1000 people (report D1 06:00), 400 people (report D3 06:00): from the D2
  front (38.48 E) 0.18 deg x 111.32 x cos(48) = 13.4 km, from the D4 front 0.16 deg = 11.9 km: in the
  "5-20" band both days;
- infrastructure P (power, 38.0 E 48.0 N, 500 people served) undamaged (D1 06:00), major damage (D3 06:00).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from cimic_geo.analytics.situation import coverage_at, exposure_at, load_situation, restoration_at
from cimic_geo.cli import main
from cimic_geo.store import connect

D = {n: pd.Timestamp("2026-10-01T00:00Z") + pd.Timedelta(days=n - 1) for n in range(1, 7)}
H6 = pd.Timedelta(hours=6)
FRONT_LON = {1: 38.49, 2: 38.48, 4: 38.46, 5: 38.45}


def _points(rows: list[dict], layer_xy: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=[Point(*layer_xy[r["id"]]) for r in rows], crs="EPSG:4326")


SHELTER_XY = {"A": (37.0, 48.0), "B": (37.5, 48.5)}
SETTLEMENT_XY = {"N": (37.0, 48.01), "E": (38.3, 48.0)}


def shelters(rows: list[tuple[str, str, int, pd.Timestamp]]) -> gpd.GeoDataFrame:
    return _points([{"id": i, "name": f"Shelter {i}", "kind": "blast_shelter", "status": s, "capacity": c,
                     "reported_at": t} for i, s, c, t in rows], SHELTER_XY)


def settlements(rows: list[tuple[str, int, pd.Timestamp]]) -> gpd.GeoDataFrame:
    return _points([{"id": i, "name": f"Settlement {i}", "population": p, "reported_at": t} for i, p, t in rows],
                   SETTLEMENT_XY)


def infrastructure(damage: str, t: pd.Timestamp) -> gpd.GeoDataFrame:
    return _points([{"id": "P", "name": "Substation P", "sector": "power", "damage": damage, "people_served": 500,
                     "reported_at": t}], {"P": (38.0, 48.0)})


def fronts() -> gpd.GeoDataFrame:
    days = [1, 2, 4, 5]
    return gpd.GeoDataFrame(
        {"id": [f"F{d}" for d in days], "valid_from": [D[d] for d in days], "valid_to": [D[2], D[4], D[5], None]},
        geometry=[LineString([(FRONT_LON[d], 47.0), (FRONT_LON[d], 50.0)]) for d in days], crs="EPSG:4326")


def build_layers(store) -> None:
    store.write("shelters", shelters([("A", "open", 100, D[1] + H6), ("B", "open", 50, D[1] + H6)]))
    store.write("shelters", shelters([("A", "closed", 100, D[3] + H6)]), mode="upsert")
    store.write("settlements", settlements([("N", 80, D[1] + H6), ("E", 1000, D[1] + H6)]))
    store.write("settlements", settlements([("E", 400, D[3] + H6)]), mode="upsert")
    store.write("infrastructure", infrastructure("none", D[1] + H6))
    store.write("infrastructure", infrastructure("major", D[3] + H6), mode="upsert")


@pytest.fixture
def history_db(empty_db: Path) -> Path:
    with connect(empty_db) as store:
        store.write("front_line", fronts())
        build_layers(store)
    return empty_db


@pytest.fixture
def rear_db(empty_db: Path) -> Path:
    """Only settlements, shelters and infrastructure: no front line at all."""
    with connect(empty_db) as store:
        build_layers(store)
    return empty_db


def covered(res) -> dict[str, int]:
    return dict(zip(res.settlements["id"], res.settlements["covered"].astype(int), strict=True))


def test_situation_reads_the_other_layers_at_the_as_of_time(history_db: Path) -> None:
    with connect(history_db, read_only=True) as store:
        day2 = load_situation(store, as_of=D[2])
        assert day2.layers_as_of == D[2]
        assert dict(zip(day2["shelters"]["id"], day2["shelters"]["status"], strict=True)) == {"A": "open", "B": "open"}
        day4 = load_situation(store, as_of=D[4])
        assert dict(zip(day4["shelters"]["id"], day4["shelters"]["status"], strict=True)) == {"A": "closed",
                                                                                             "B": "open"}
        # the newest snapshot (the default) reads the current state
        assert load_situation(store).layers_as_of is None


def test_coverage_counts_the_shelter_open_on_day_2_and_closed_on_day_4(history_db: Path) -> None:
    with connect(history_db, read_only=True) as store:
        assert covered(coverage_at(store, as_of=D[2]))["N"] == 80   # A open, 1.11 km away, 100 places
        assert covered(coverage_at(store, as_of=D[4]))["N"] == 0    # A closed; B is 60+ km away
        assert covered(coverage_at(store))["N"] == 0


def test_exposure_counts_the_population_in_force(history_db: Path) -> None:
    with connect(history_db, read_only=True) as store:
        for day, people in ((2, 1000), (4, 400)):
            res = exposure_at(store, as_of=D[day])
            row = res.settlements.set_index("id").loc["E"]
            assert row["band"] == "5-20" and int(row["population"]) == people
            band = res.summary.loc["5-20"]
            assert int(band["population"]) == people


def test_restoration_ranks_only_what_was_damaged_then(history_db: Path) -> None:
    with connect(history_db, read_only=True) as store:
        assert list(restoration_at(store, as_of=D[2]).ranked["id"]) == []
        assert list(restoration_at(store, as_of=D[4]).ranked["id"]) == ["P"]


def test_cli_coverage_takes_the_as_of_time(history_db: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    found = {}
    for day in (2, 4):
        assert main(["coverage", "--db", str(history_db), "--as-of", D[day].isoformat(), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        found[day] = doc["population_covered"]
    assert found == {2: 80, 4: 0}


def test_store_without_front_line_counts_everything_beyond(rear_db: Path) -> None:
    with connect(rear_db, read_only=True) as store:
        exp = exposure_at(store)
        assert set(exp.settlements["band"]) == {"beyond"} and not exp.settlements["occupied"].any()
        assert int(exp.summary.loc["beyond", "population"]) == 80 + 400
        assert any("no front line" in n for n in exp.notes)
        cov = coverage_at(store)
        assert covered(cov) == {"E": 0, "N": 0}  # A closed now
        assert cov.excluded == {"settlements": 0, "population": 0, "shelters": 0}
        assert any("no front line" in n for n in cov.notes)
        # an as-of time reads the layers then: A was open on day 2
        assert covered(coverage_at(store, as_of=D[2]))["N"] == 80
        assert int(exposure_at(store, as_of=D[2]).summary.loc["beyond", "population"]) == 1080
        rest = restoration_at(store)
        assert list(rest.ranked["id"]) == ["P"] and list(rest.ranked["band"]) == ["beyond"]
        assert any("no front line" in n for n in rest.notes)


def test_cli_on_a_store_without_front_line(rear_db: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["exposure", "--db", str(rear_db)]) == 0
    out = capsys.readouterr().out
    assert "no front line" in out


def test_page_on_a_store_without_front_line(monkeypatch: pytest.MonkeyPatch, rear_db: Path) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CIMIC_DB", str(rear_db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.setenv("CIMIC_LANGUAGE", "en")
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "2_Exposure_and_coverage.py"),
                           default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no front line" in i.value for i in at.info)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Population 0-5 km"] == "0" and metrics["Occupied side"] == "0"


def test_planner_context_reads_the_layers_at_the_as_of_time(history_db: Path) -> None:
    """Routes, time to safety and corridor evaluation start from the same as-of read (two road pieces
    between the shelters)."""
    from cimic_geo.corridors import load_access_context

    with connect(history_db) as store:
        store.write("roads", gpd.GeoDataFrame(
            {"id": ["R1", "R2"], "road_class": ["primary", "primary"], "speed_kmh": [80.0, 80.0],
             "reported_at": [D[1], D[1]]},
            geometry=[LineString([(37.0, 48.0), (37.5, 48.0)]), LineString([(37.5, 48.0), (37.5, 48.5)])],
            crs="EPSG:4326"))
    with connect(history_db, read_only=True) as store:
        day2 = load_access_context(store, as_of=D[2], keep_graph=False)
        day4 = load_access_context(store, as_of=D[4], keep_graph=False)
    assert dict(zip(day2.shelters["id"], day2.shelters["status"], strict=True)) == {"A": "open", "B": "open"}
    assert dict(zip(day4.shelters["id"], day4.shelters["status"], strict=True)) == {"A": "closed", "B": "open"}
    assert dict(zip(day2.settlements["id"], day2.settlements["population"], strict=True))["E"] == 1000
    assert dict(zip(day4.settlements["id"], day4.settlements["population"], strict=True))["E"] == 400
