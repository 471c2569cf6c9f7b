"""``changes``: exactly the hand-made differences between two times.

Hand-made history (UTC; D<n> = day n of October 2026 at 00:00); the window is D2 -> D4.

Shelters (status, capacity; reports on D1 unless said):
  S1 open 100 -> closed (D3)      => closed
  S2 open 200 -> full (D3)        => filled
  S3 closed 50 -> open (D3)       => opened
  S4 open 80 -> damaged (D3)      => damaged
  S5 new, open 60 (D3)            => opened
  S6 open 30, no change           => not listed
  S7 open 40 -> open 70 (D3)      => capacity
  S8 full 20 -> open (D5)         => after the window: not listed
  places in open or full shelters: D2 100 + 200 + 80 + 30 + 40 + 20 = 470 (S3 closed)
                                   D4 200 + 50 + 60 + 30 + 70 + 20 = 430 (S1 closed, S4 damaged) => -40
Infrastructure (sector, damage / restoration):
  I1 power none -> major (D3)                 => new, power
  I2 water minor -> major, in_progress (D3)   => worse, water
  I3 power major -> major, restored (D3)      => repaired, power
  I4 water destroyed, no change               => not listed
  I5 health major, new (D3)                   => new, health
Corridors (history rows): C1 created D1 (before), C1 proposed -> agreed D3 (listed), C2 edited D3 without a
  status change (not listed), C1 agreed -> active D5 (after).
Occupied area: 37.0-37.1 E x 48.0-48.1 N until D3, then 37.0-37.2 E: the strip 37.1-37.2 E is newly
  occupied, about 0.1 x 111.32 x cos(48.05) = 7.44 km by 0.1 x 111.2 = 11.12 km = 82.7 km² (checked with
  pyproj's geodesic area below); nothing liberated.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from cimic_geo.analytics.changes import build_changes, check_window, compare_damage, compare_shelters
from cimic_geo.cli import main
from cimic_geo.errors import AnalysisError
from cimic_geo.ingest import import_file
from cimic_geo.store import connect
from cimic_geo.store.changes_reads import change_inputs, imports_received
from cimic_geo.store.corridor_records import history_row, insert_history

D = {n: pd.Timestamp("2026-10-01T00:00Z") + pd.Timedelta(days=n - 1) for n in range(1, 7)}

SHELTERS_D1 = [("S1", "open", 100), ("S2", "open", 200), ("S3", "closed", 50), ("S4", "open", 80),
               ("S6", "open", 30), ("S7", "open", 40), ("S8", "full", 20)]
SHELTERS_D3 = [("S1", "closed", 100), ("S2", "full", 200), ("S3", "open", 50), ("S4", "damaged", 80),
               ("S5", "open", 60), ("S7", "open", 70)]
INFRA_D1 = [("I1", "power", "none", None), ("I2", "water", "minor", None), ("I3", "power", "major", "planned"),
            ("I4", "water", "destroyed", None)]
INFRA_D3 = [("I1", "power", "major", None), ("I2", "water", "major", "in_progress"),
            ("I3", "power", "major", "restored"), ("I5", "health", "major", None)]


def shelter_frame(rows, t: pd.Timestamp) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [f"Shelter {r[0]}" for r in rows],
                             "kind": "blast_shelter", "status": [r[1] for r in rows], "capacity": [r[2] for r in rows],
                             "reported_at": t}, geometry=[Point(37.0 + i / 100, 48.5) for i, _r in enumerate(rows)],
                            crs="EPSG:4326")


def infra_frame(rows, t: pd.Timestamp) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [f"Object {r[0]}" for r in rows],
                             "sector": [r[1] for r in rows], "damage": [r[2] for r in rows],
                             "restoration": [r[3] for r in rows], "reported_at": t},
                            geometry=[Point(37.5, 48.0 + i / 100) for i, _r in enumerate(rows)], crs="EPSG:4326")


def build(store) -> None:
    store.write("shelters", shelter_frame(SHELTERS_D1, D[1]))
    store.write("shelters", shelter_frame(SHELTERS_D3, D[3]), mode="upsert")
    store.write("shelters", shelter_frame([("S8", "open", 20)], D[5]), mode="upsert")
    store.write("infrastructure", infra_frame(INFRA_D1, D[1]))
    store.write("infrastructure", infra_frame(INFRA_D3, D[3]), mode="upsert")
    store.write("occupied_area", gpd.GeoDataFrame(
        {"id": ["O1", "O3"], "valid_from": [D[1], D[3]], "valid_to": [D[3], None]},
        geometry=[box(37.0, 48.0, 37.1, 48.1), box(37.0, 48.0, 37.2, 48.1)], crs="EPSG:4326"))
    line = LineString([(36.0, 48.0), (37.0, 48.0)])

    def row(cid, at, action, before, after):
        return history_row(corridor_id=cid, version=1, user="planner1", action=action, from_status=before,
                           to_status=after, name=f"Corridor {cid}", notes=None, details=None, geom_wkt=line.wkt,
                           changed_at=at)

    with store.transaction() as con:
        insert_history(con, [row("C1", D[1], "create", None, "proposed"), row("C1", D[3], "status", "proposed", "agreed"),
                             row("C2", D[3], "edit", "draft", "draft"), row("C1", D[5], "status", "agreed", "active")])


@pytest.fixture
def changes_db(empty_db: Path) -> Path:
    with connect(empty_db) as store:
        build(store)
    return empty_db


def gained_km2() -> float:
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(box(37.1, 48.0, 37.2, 48.1))
    return abs(area) / 1e6


def test_pure_comparison_of_two_pictures() -> None:
    before = shelter_frame(SHELTERS_D1, D[1])
    after = shelter_frame([r for r in SHELTERS_D1 if r[0] not in {"S1", "S2", "S3", "S4", "S7"}] + SHELTERS_D3, D[3])
    changes, cap0, cap1 = compare_shelters(before, after)
    assert [(c.id, c.change) for c in changes] == [("S3", "opened"), ("S5", "opened"), ("S1", "closed"),
                                                    ("S2", "filled"), ("S4", "damaged"), ("S7", "capacity")]
    assert (cap0, cap1) == (470, 430)
    damage = compare_damage(infra_frame(INFRA_D1, D[1]), infra_frame([*INFRA_D3, INFRA_D1[3]], D[3]))
    assert [(c.sector, c.id, c.change) for c in damage] == [("health", "I5", "new"), ("power", "I1", "new"),
                                                             ("power", "I3", "repaired"), ("water", "I2", "worse")]
    # a removed shelter is listed as removed; a status that comes back is "freed" (full -> open)
    gone, _, _ = compare_shelters(before, before[before["id"] != "S6"])
    assert [(c.id, c.change) for c in gone] == [("S6", "removed")]
    freed, _, _ = compare_shelters(shelter_frame([("S8", "full", 20)], D[1]), shelter_frame([("S8", "open", 20)], D[5]))
    assert [c.change for c in freed] == ["freed"]


def test_changes_in_the_store_are_exactly_the_hand_made_ones(changes_db: Path) -> None:
    with connect(changes_db, read_only=True) as store:
        res = build_changes(since=D[2], until=D[4], **change_inputs(store, since=D[2], until=D[4]))
    assert res.shelter_counts() == {"opened": 2, "closed": 1, "filled": 1, "freed": 0, "damaged": 1, "removed": 0,
                                    "capacity": 1}
    assert sorted(c.id for c in res.shelters) == ["S1", "S2", "S3", "S4", "S5", "S7"]
    assert (res.open_capacity_before, res.open_capacity_after) == (470, 430)
    assert res.damage_by_sector() == {"health": {"new": 1, "worse": 0, "repaired": 0},
                                      "power": {"new": 1, "worse": 0, "repaired": 1},
                                      "water": {"new": 0, "worse": 1, "repaired": 0}}
    assert [(c.id, c.from_status, c.to_status, c.at) for c in res.corridors] == [("C1", "proposed", "agreed", D[3])]
    assert res.front_gained_km2 == pytest.approx(gained_km2(), rel=1e-6) and res.front_lost_km2 == 0
    assert res.front_gained_km2 == pytest.approx(82.7, abs=0.3)
    assert res.imports == []


def test_cli_json_and_text(changes_db: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["changes", "--db", str(changes_db), "--since", "2026-10-02T00:00Z", "--until", "2026-10-04T00:00Z",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["since"] == "2026-10-02T00:00:00Z" and doc["until"] == "2026-10-04T00:00:00Z"
    assert doc["shelters"]["counts"]["opened"] == 2 and doc["shelters"]["open_capacity_change"] == -40
    assert doc["damage"]["by_sector"]["power"] == {"new": 1, "worse": 0, "repaired": 1}
    assert [(c["id"], c["to_status"], c["at"]) for c in doc["corridors"]] == [("C1", "agreed", "2026-10-03T00:00:00Z")]
    assert doc["front"]["gained_km2"] == pytest.approx(gained_km2(), rel=1e-6) and doc["imports"] == []
    assert main(["changes", "--db", str(changes_db), "--since", "2026-10-02T00:00Z", "--until",
                 "2026-10-04T00:00Z"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("changes from 020000ZOCT26 to 040000ZOCT26")
    assert "places in open shelters: 470 -> 430 (-40)" in text
    assert "closed: Shelter S1 [S1] open -> closed, capacity 100 -> 100" in text
    assert "030000ZOCT26 Corridor C1 [C1]: proposed -> agreed (by planner1)" in text
    assert "Shelter S6" not in text and "Shelter S8" not in text and "Corridor C2" not in text


def test_imports_received_are_listed(changes_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "more.csv"
    path.write_text("id,name,kind,capacity,status,lat,lon\nS9,Shelter S9,medical,12,open,48.6,37.3\n",
                    encoding="utf-8")
    with connect(changes_db) as store:
        start = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=1)
        assert import_file(store, "shelters", path, mode="upsert").ok
        got = imports_received(store, since=start)
        assert list(got["layer"]) == ["shelters"] and list(got["rows"]) == [1]
        assert list(got["source_file"]) == ["more.csv"]
        res = build_changes(since=start, until=None, **change_inputs(store, since=start))
        assert [(c.id, c.change) for c in res.shelters] == [("S9", "opened")]
        assert [(i.layer, i.rows) for i in res.imports] == [("shelters", 1)]


def test_bad_windows_are_refused(changes_db: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(AnalysisError, match="before"):
        check_window(D[4], D[2])
    with pytest.raises(AnalysisError, match="since"):
        check_window("not a time")
    assert main(["changes", "--db", str(changes_db), "--since", "2026-10-04", "--until", "2026-10-02"]) == 2
    assert "must be before" in capsys.readouterr().err
