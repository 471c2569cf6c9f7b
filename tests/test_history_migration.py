"""Migrating a store of the previous schema (no history tables) gives every row its first version."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from cimic_geo.errors import StoreError
from cimic_geo.schema import VERSIONED_LAYERS
from cimic_geo.store import SCHEMA_VERSION, connect, init_store

T1, T2 = pd.Timestamp("2026-10-01T06:00Z"), pd.Timestamp("2026-10-02T06:00Z")


def _rows() -> dict[str, gpd.GeoDataFrame]:
    # S2 and I1 have no report time: they take effect at the migration (the only time recorded)
    return {
        "settlements": gpd.GeoDataFrame({"id": ["S1", "S2"], "name": ["Pershe", "Druhe"], "population": [900, 40],
                                         "reported_at": [T1, None]},
                                        geometry=[Point(37.0, 48.0), Point(37.1, 48.1)], crs="EPSG:4326"),
        "shelters": gpd.GeoDataFrame({"id": ["A", "B"], "name": ["A", "B"], "kind": "medical", "capacity": [10, 20],
                                      "status": ["open", "full"], "reported_at": [T1, T2]},
                                     geometry=[Point(37.0, 48.0), Point(37.2, 48.2)], crs="EPSG:4326"),
        "infrastructure": gpd.GeoDataFrame({"id": ["I1"], "name": ["Plant"], "sector": ["power"], "damage": ["major"]},
                                           geometry=[Point(37.3, 48.3)], crs="EPSG:4326"),
    }


def previous_schema_store(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """A store as a program of schema 8 left it: the rows, no history tables."""
    with init_store(path) as store:
        for name, gdf in _rows().items():
            store.write(name, gdf)
        for name in VERSIONED_LAYERS:
            store.con.execute(f"DROP TABLE {name}_history")
        store.con.execute("DELETE FROM schema_version WHERE version > 8")
        return {name: store.read(name) for name in _rows()}


def test_migration_keeps_every_row_and_dates_its_first_version(tmp_path: Path) -> None:
    path = tmp_path / "previous.duckdb"
    before = previous_schema_store(path)
    with pytest.raises(StoreError, match="migrate"):  # read-only opens refuse the older file
        connect(path, read_only=True)
    start = pd.Timestamp.now(tz="UTC")
    with connect(path) as store:
        end = pd.Timestamp.now(tz="UTC")
        assert store.schema_version == SCHEMA_VERSION
        for name in _rows():
            pd.testing.assert_frame_equal(store.read(name), before[name])  # current rows unchanged
            hist = store.query_df(f"SELECT id, valid_from, valid_to, recorded_at, removed FROM {name}_history "
                                  "ORDER BY id")
            assert list(hist["id"]) == sorted(before[name]["id"])  # one version per row, none lost
            assert hist["valid_to"].isna().all() and not hist["removed"].any()
            assert all(start <= pd.Timestamp(t) <= end for t in hist["recorded_at"])
        first = {r.id: pd.Timestamp(r.valid_from) for r in store.query_df(
            "SELECT id, valid_from FROM settlements_history UNION ALL SELECT id, valid_from FROM shelters_history "
            "UNION ALL SELECT id, valid_from FROM infrastructure_history").itertuples()}
        assert first["S1"] == T1 and first["A"] == T1 and first["B"] == T2
        assert start <= first["S2"] <= end and start <= first["I1"] <= end
        # as-of reads: B reported on T2 is not there on T1 + 1 h; both are there on T2
        assert list(store.read("shelters", as_of=T1 + pd.Timedelta(hours=1))["id"]) == ["A"]
        assert list(store.read("shelters", as_of=T2)["id"]) == ["A", "B"]
        # the next write makes a new version and ends the migrated one
        store.write("shelters", before["shelters"].assign(status=["closed", "full"],
                                                          reported_at=[T2 + pd.Timedelta(days=1), T2]), mode="upsert")
        assert dict(store.read("shelters", as_of=T2).loc[:, ["id", "status"]].values) == {"A": "open", "B": "full"}
        assert store.read("shelters").set_index("id").loc["A", "status"] == "closed"


def test_migration_run_twice_adds_no_second_version(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    previous_schema_store(path)
    connect(path).close()
    with connect(path) as store:  # as if the last migration were recorded lost and applied again
        store.con.execute("DELETE FROM schema_version WHERE version = ?", [SCHEMA_VERSION])
    with connect(path) as store:
        assert store.query_df("SELECT count(*) AS n FROM shelters_history")["n"].iloc[0] == 2


C0, C1, C2 = (pd.Timestamp("2026-10-01T08:00Z") + pd.Timedelta(hours=h) for h in (0, 5, 30))


def schema9_store(path: Path) -> None:
    """A store as a program of schema 9 left it: roads and a corridor with its change log (created
    proposed at C0, agreed at C1, moved at C2), no history tables for roads and corridors."""
    from shapely.geometry import LineString

    from cimic_geo.store.corridor_records import history_row, insert_history

    with init_store(path) as store:
        store.write("roads", gpd.GeoDataFrame(
            {"id": ["R1", "R2"], "road_class": ["primary", "local"], "speed_kmh": [80.0, 40.0]},
            geometry=[LineString([(37.0, 48.0), (37.1, 48.0)]), LineString([(37.1, 48.0), (37.1, 48.1)])],
            crs="EPSG:4326"))
        line0, line2 = LineString([(37.0, 48.0), (37.5, 48.0)]), LineString([(37.0, 48.0), (37.5, 48.2)])
        store.write("corridors", gpd.GeoDataFrame(
            {"id": ["C1"], "name": ["North"], "status": ["agreed"], "version": [3], "reported_at": [C0],
             "updated_at": [C2]}, geometry=[line2], crs="EPSG:4326"))
        with store.transaction() as con:
            con.execute("DROP TABLE roads_history")
            con.execute("DROP TABLE corridors_history")
            insert_history(con, [
                history_row(corridor_id="C1", version=1, user="u", action="create", from_status=None,
                            to_status="proposed", name="North", notes=None, details=None, geom_wkt=line0.wkt,
                            changed_at=C0),
                history_row(corridor_id="C1", version=2, user="u", action="status", from_status="proposed",
                            to_status="agreed", name="North", notes=None, details=None, geom_wkt=line0.wkt,
                            changed_at=C1),
                history_row(corridor_id="C1", version=3, user="u", action="edit", from_status="agreed",
                            to_status="agreed", name="North", notes=None, details=None, geom_wkt=line2.wkt,
                            changed_at=C2)])
            con.execute("DELETE FROM schema_version WHERE version > 9")


def test_schema9_store_gets_road_and_corridor_versions(tmp_path: Path) -> None:
    path = tmp_path / "schema9.duckdb"
    schema9_store(path)
    with connect(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        # roads: one version each, from the migration on (they have no report time)
        assert list(store.read("roads", as_of=pd.Timestamp.now(tz="UTC"))["id"]) == ["R1", "R2"]
        assert store.query_df("SELECT count(*) AS n FROM roads_history")["n"].iloc[0] == 2
        # corridors: one version per logged change; the last one is the current row
        hist = store.query_df("SELECT version, status, valid_from, valid_to FROM corridors_history ORDER BY valid_from")
        assert list(hist["status"]) == ["proposed", "agreed", "agreed"] and list(hist["version"]) == [1, 2, 3]
        assert [pd.Timestamp(t) for t in hist["valid_from"]] == [C0, C1, C2] and pd.isna(hist["valid_to"].iloc[-1])
        at = {t: store.read("corridors", as_of=t) for t in (C0, C1 + pd.Timedelta(hours=1), C2)}
        assert [at[t]["status"].iloc[0] for t in at] == ["proposed", "agreed", "agreed"]
        # the line moved at C2: 0.2 degrees north at the east end
        assert [round(at[t].geometry.iloc[0].coords[-1][1], 6) for t in at] == [48.0, 48.0, 48.2]
        assert len(store.read("corridors", as_of=C0 - pd.Timedelta(seconds=1))) == 0
        # a status change afterwards adds a version at its time
        from cimic_geo.store.corridor_records import set_corridor_status

        set_corridor_status(store, "C1", "active", user="u", expected_version=3)
        assert store.read("corridors", as_of=C2)["status"].iloc[0] == "agreed"
        assert store.read("corridors", as_of=pd.Timestamp.now(tz="UTC"))["status"].iloc[0] == "active"
