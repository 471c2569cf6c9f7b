"""Versions of shelters, infrastructure and settlements: writes keep the history, reads take an as-of time.

Hand-made history (times UTC, D<n> = day n at 00:00):

- front-line snapshots on D1, D2, D4 and D5 (D5 is the newest: the latest position of the COP's slider);
- shelter A open (report D1 06:00), closed (report D3 06:00); B open (report D1 06:00), never changed;
  C full (report D5 12:00, after the newest front snapshot).

So A is open as of D2 and closed as of D4; C exists only from D5 12:00 (shown at the slider's latest
position, which means "now", not as of D4).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from cimic_geo.export.export_view import View, load_view
from cimic_geo.ingest import import_file
from cimic_geo.maps.cop_view import query_view
from cimic_geo.store import connect
from cimic_geo.store.cop_reads import layers_as_of, read_kpi_layers

ROOT = Path(__file__).resolve().parents[1]
D = {n: pd.Timestamp("2026-10-01T00:00Z") + pd.Timedelta(days=n - 1) for n in range(1, 7)}
H6, H12 = pd.Timedelta(hours=6), pd.Timedelta(hours=12)
BBOX = (36.0, 47.0, 39.0, 50.0)


def shelters(rows: list[tuple[str, str, int, pd.Timestamp]]) -> gpd.GeoDataFrame:
    """Shelter rows (id, status, capacity, reported_at) at fixed points."""
    xy = {"A": (37.0, 48.0), "B": (37.5, 48.5), "C": (38.0, 49.0), "D": (37.2, 48.2)}
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [f"Shelter {r[0]}" for r in rows], "kind": "blast_shelter",
         "status": [r[1] for r in rows], "capacity": [r[2] for r in rows], "reported_at": [r[3] for r in rows]},
        geometry=[Point(*xy[r[0]]) for r in rows], crs="EPSG:4326")


def fronts() -> gpd.GeoDataFrame:
    days = [1, 2, 4, 5]
    return gpd.GeoDataFrame(
        {"id": [f"F{d}" for d in days], "valid_from": [D[d] for d in days],
         "valid_to": [D[2], D[4], D[5], None]},
        geometry=[LineString([(38.5 - 0.01 * d, 47.0), (38.5 - 0.01 * d, 50.0)]) for d in days], crs="EPSG:4326")


def build(store) -> None:
    store.write("front_line", fronts())
    store.write("shelters", shelters([("A", "open", 100, D[1] + H6), ("B", "open", 50, D[1] + H6)]))
    store.write("shelters", shelters([("A", "closed", 100, D[3] + H6)]), mode="upsert")
    store.write("shelters", shelters([("C", "full", 80, D[5] + H12)]), mode="upsert")


def statuses(frame: gpd.GeoDataFrame) -> dict[str, str]:
    return dict(zip(frame["id"], frame["status"], strict=True))


@pytest.fixture
def history_db(empty_db: Path) -> Path:
    with connect(empty_db) as store:
        build(store)
    return empty_db


def test_store_reads_each_version_in_force(history_db: Path) -> None:
    with connect(history_db, read_only=True) as store:
        assert statuses(store.read("shelters", as_of=D[2])) == {"A": "open", "B": "open"}
        assert statuses(store.read("shelters", as_of=D[4])) == {"A": "closed", "B": "open"}
        assert statuses(store.read("shelters", as_of=D[3] + H6)) == {"A": "closed", "B": "open"}  # from the report on
        assert statuses(store.read("shelters", as_of=D[1])) == {}  # nothing reported yet
        assert statuses(store.read("shelters")) == {"A": "closed", "B": "open", "C": "full"}
        # one version per change: A twice, B once, C once
        hist = store.query_df("SELECT id, valid_from, valid_to FROM shelters_history ORDER BY id, valid_from")
        assert list(hist["id"]) == ["A", "A", "B", "C"]
        assert pd.Timestamp(hist["valid_to"].iloc[0]) == D[3] + H6 and hist["valid_to"].iloc[1:].isna().all()


def test_cop_data_follows_the_slider(history_db: Path) -> None:
    with connect(history_db, read_only=True) as store:
        at2 = query_view(store, bbox=BBOX, zoom=9, as_of=D[2], visible=["shelters"]).layers["shelters"]
        at4 = query_view(store, bbox=BBOX, zoom=9, as_of=D[4], visible=["shelters"]).layers["shelters"]
        assert statuses(at2) == {"A": "open", "B": "open"}
        assert statuses(at4) == {"A": "closed", "B": "open"}
        # the newest snapshot (the slider's latest position) shows the current state, C included
        latest = query_view(store, bbox=BBOX, zoom=9, as_of=D[5], visible=["shelters"]).layers["shelters"]
        assert statuses(latest) == {"A": "closed", "B": "open", "C": "full"}
        assert layers_as_of(store, D[5]) is None and layers_as_of(store, D[4]) == D[4]
        # aggregated (more points than the limit): the grid counts the versions in force too
        grid = query_view(store, bbox=BBOX, zoom=9, as_of=D[2], visible=["shelters"], point_limit=1)
        assert int(grid.layers["shelters_grid"]["open"].sum()) == 2 and int(grid.layers["shelters_grid"]["closed"].sum()) == 0
        # the KPI strip's reads
        assert statuses(read_kpi_layers(store, as_of=D[2])["shelters"]) == {"A": "open", "B": "open"}
        assert statuses(read_kpi_layers(store, as_of=D[4])["shelters"]) == {"A": "closed", "B": "open"}


def test_kpi_caption_says_which_layers_are_as_of() -> None:
    from cimic_geo.ui.cop_page import kpi_caption

    past = kpi_caption(None, D[4], layers_current=False)
    assert "shelters, damage, corridors, front line and threat bands: as of" in past and "current state" not in past
    latest = kpi_caption(None, D[5], layers_current=True)
    assert "settlements, shelters, damage and corridors: current state" in latest


def test_export_reads_the_same_versions(history_db: Path) -> None:
    with connect(history_db, read_only=True) as store:
        at2 = load_view(store, View(bbox=BBOX, as_of=D[2], layers=("shelters",)))
        at4 = load_view(store, View(bbox=BBOX, as_of=D[4], layers=("shelters",)))
        latest = load_view(store, View(bbox=BBOX, layers=("shelters",)))  # default: the newest snapshot
    assert statuses(at2.frames["shelters"]) == {"A": "open", "B": "open"}
    assert statuses(at4.frames["shelters"]) == {"A": "closed", "B": "open"}
    assert statuses(latest.frames["shelters"]) == {"A": "closed", "B": "open", "C": "full"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "CIMIC_LANGUAGE": "en"}, timeout=300)


def test_cli_export_and_changes_show_the_closure(history_db: Path, tmp_path: Path) -> None:
    found = {}
    for day in (2, 4):
        out = tmp_path / f"day{day}.geojson"
        res = _cli("export", "--db", str(history_db), "--format", "geojson", "--out", str(out), "--layers",
                   "shelters", "--as-of", D[day].isoformat(), "--bbox", ",".join(str(v) for v in BBOX))
        assert res.returncode == 0, res.stderr
        feats = json.loads(out.read_text(encoding="utf-8"))["features"]
        found[day] = {f["properties"]["id"]: f["properties"]["status"] for f in feats}
    assert found == {2: {"A": "open", "B": "open"}, 4: {"A": "closed", "B": "open"}}
    res = _cli("changes", "--db", str(history_db), "--since", D[2].isoformat(), "--until", D[4].isoformat())
    assert res.returncode == 0, res.stderr
    assert "closed: Shelter A [A] open -> closed, capacity 100 -> 100" in res.stdout
    assert "Shelter B" not in res.stdout and "Shelter C" not in res.stdout


def test_replace_import_ends_validity_of_removed_rows(history_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "shelters.csv"
    # the file holds A (reopened) and D (new); B and C are not in it, so a replace removes them
    path.write_text("id,name,kind,capacity,status,lat,lon\n"
                    "A,Shelter A,blast_shelter,100,open,48.0,37.0\n"
                    "D,Shelter D,blast_shelter,40,open,48.2,37.2\n", encoding="utf-8")
    when = D[6] + H6
    with connect(history_db) as store:
        rep = import_file(store, "shelters", path, mode="replace", reported_at=when.isoformat())
        assert rep.ok, rep.problems
        assert statuses(store.read("shelters")) == {"A": "open", "D": "open"}
        assert statuses(store.read("shelters", as_of=when - H6)) == {"A": "closed", "B": "open", "C": "full"}
        assert statuses(store.read("shelters", as_of=when)) == {"A": "open", "D": "open"}
        ended = store.query_df("SELECT id, valid_from FROM shelters_history WHERE removed ORDER BY id")
        assert list(ended["id"]) == ["B", "C"]
        assert all(pd.Timestamp(t) == when for t in ended["valid_from"])


def test_delete_ends_validity_and_keeps_the_rows(history_db: Path) -> None:
    with connect(history_db) as store:
        assert store.delete("shelters", ["B"]) == 1
        assert "B" not in set(store.read("shelters")["id"])
        assert statuses(store.read("shelters", as_of=D[4]))["B"] == "open"


def test_same_row_again_adds_no_version_and_a_late_report_keeps_the_current_one(history_db: Path) -> None:
    with connect(history_db) as store:
        n = store.query_df("SELECT count(*) AS n FROM shelters_history")["n"].iloc[0]
        store.write("shelters", shelters([("B", "open", 50, D[1] + H6)]), mode="upsert")  # identical
        assert store.query_df("SELECT count(*) AS n FROM shelters_history")["n"].iloc[0] == n
        # a report of D2 12:00 arrives after the D3 closure: it fills the past, A stays closed now
        store.write("shelters", shelters([("A", "full", 100, D[2] + H12)]), mode="upsert")
        assert statuses(store.read("shelters"))["A"] == "closed"
        assert statuses(store.read("shelters", as_of=D[2]))["A"] == "open"
        assert statuses(store.read("shelters", as_of=D[2] + H12))["A"] == "full"
        assert statuses(store.read("shelters", as_of=D[4]))["A"] == "closed"


def test_failed_write_leaves_the_history_untouched(history_db: Path) -> None:
    from cimic_geo.errors import StoreError

    with connect(history_db) as store:
        before = store.fingerprint()
        with pytest.raises(StoreError):  # A exists: append refuses the whole write
            store.write("shelters", shelters([("D", "open", 10, D[6]), ("A", "open", 100, D[6])]))
        assert store.fingerprint() == before and "shelters_history" in before


def test_exercise_scenario_rows_exist_from_its_first_snapshot(demo_db: Path) -> None:
    # the seed writes one version per row, valid from the first front snapshot (not from its report,
    # 1-72 h before the last one), so sliding the COP back shows the same shelters, not an empty map
    with connect(demo_db, read_only=True) as store:
        first = store.history_times("front_line")[0]
        for name in ("settlements", "shelters", "infrastructure"):
            current = store.read(name, columns=["name"])
            assert len(current) and len(store.read(name, as_of=first, columns=["name"])) == len(current)
            assert len(store.read(name, as_of=first - pd.Timedelta(seconds=1), columns=["name"])) == 0
