"""The store on a real DuckDB file: schema, migrations, reads, transactional writes, offline load."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from cimic_geo.errors import (
    ConflictError,
    NotFoundError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    UnknownLayerError,
    WorkflowError,
)
from cimic_geo.schema import LAYERS
from cimic_geo.store import (
    SCHEMA_VERSION,
    connect,
    corridor_history,
    init_store,
    save_corridor,
    set_corridor_status,
)

ROOT = Path(__file__).resolve().parents[1]


def _settlements() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["s1", "s2", "s3"],
            "name": ["Alpha", "Bravo <b>", "Чарлі"],
            "population": [1000, 250, 0],
            "reported_at": ["2026-11-01T10:00Z", "2026-11-02T00:00+02:00", None],
            "reliability": ["B2", "A1", None],
        },
        geometry=[Point(36.0, 49.0), Point(37.0, 49.5), Point(38.0, 48.0)],
        crs="EPSG:4326",
    )


def _history() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["f1", "f2"],
            "valid_from": ["2026-11-01T00:00Z", "2026-11-02T00:00Z"],
            "valid_to": ["2026-11-02T00:00Z", None],
        },
        geometry=[LineString([(37, 48), (37, 50)]), LineString([(37.1, 48), (37.1, 50)])],
        crs="EPSG:4326",
    )


def test_new_store_has_every_layer_and_version(empty_db: Path) -> None:
    with connect(empty_db) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.counts() == {name: 0 for name in LAYERS}
        indexes = set(store.query_df("SELECT index_name FROM duckdb_indexes()")["index_name"])
        assert {f"{name}_geom_rtree" for name in LAYERS} <= indexes
        for name, layer in LAYERS.items():
            cols = set(store.query_df(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
            )["column_name"])
            assert {"source", "reported_at", "reliability", "geom"} <= cols
            assert set(layer.column_names) <= cols


def test_round_trip_keeps_types_and_utc(empty_db: Path) -> None:
    with connect(empty_db) as store:
        assert store.write("settlements", _settlements()) == 3
        got = store.read("settlements")
    assert list(got["id"]) == ["s1", "s2", "s3"]
    assert got.crs.to_epsg() == 4326
    assert got.loc[1, "name"] == "Bravo <b>"  # stored as given; escaping is the views' job
    assert got.loc[2, "name"] == "Чарлі"
    assert list(got["population"]) == [1000, 250, 0]
    # 2026-11-02T00:00+02:00 is 2026-11-01T22:00Z
    assert got.loc[1, "reported_at"] == pd.Timestamp("2026-11-01T22:00Z")
    assert str(got["reported_at"].dt.tz) == "UTC"
    assert got.geometry.iloc[1].equals(Point(37.0, 49.5))


def test_bbox_read_uses_only_rows_inside(empty_db: Path) -> None:
    with connect(empty_db) as store:
        store.write("settlements", _settlements())
        got = store.read("settlements", bbox=(36.5, 48.5, 37.5, 50.0))
        assert list(got["id"]) == ["s2"]
        assert len(store.read("settlements", bbox=(0, 0, 1, 1))) == 0
        with pytest.raises(StoreError, match="bbox"):
            store.read("settlements", bbox=(37, 50, 36, 48))


def test_as_of_selects_the_row_in_force(empty_db: Path) -> None:
    with connect(empty_db) as store:
        store.write("front_line", _history())
        # valid_from is inclusive, valid_to exclusive, NULL valid_to = current
        assert list(store.read("front_line", as_of="2026-11-01T00:00Z")["id"]) == ["f1"]
        assert list(store.read("front_line", as_of="2026-11-01T23:59Z")["id"]) == ["f1"]
        assert list(store.read("front_line", as_of="2026-11-02T00:00Z")["id"]) == ["f2"]
        assert list(store.read("front_line", as_of="2027-01-01")["id"]) == ["f2"]
        assert len(store.read("front_line", as_of="2026-10-31")) == 0
        assert store.time_range() == (pd.Timestamp("2026-11-01T00:00Z"), pd.Timestamp("2026-11-02T00:00Z"))
        assert store.history_times("front_line") == [pd.Timestamp("2026-11-01T00:00Z"),
                                                     pd.Timestamp("2026-11-02T00:00Z")]


def test_failed_write_leaves_store_unchanged(empty_db: Path) -> None:
    with connect(empty_db) as store:
        store.write("settlements", _settlements())
        before = store.fingerprint()
        clash = _settlements().iloc[[0]].copy()
        clash["id"] = ["s9"]
        both = pd.concat([clash, _settlements().iloc[[2]]])  # s9 is new, s3 exists: whole write fails
        with pytest.raises(StoreError, match="already exists"):
            store.write("settlements", gpd.GeoDataFrame(both, crs="EPSG:4326"))
        assert store.fingerprint() == before
        with pytest.raises(UnknownLayerError):
            store.write("settlements", _settlements().assign(colour="red"))
        with pytest.raises(StoreError, match="EPSG:4326"):
            store.write("settlements", _settlements().to_crs(3857))
        with pytest.raises(UnknownLayerError, match="unknown layer"):
            store.read("settlements; DROP TABLE roads")
        with pytest.raises(StoreError, match="duplicate ids"):
            store.write("settlements", pd.concat([_settlements(), _settlements()]))
        assert store.fingerprint() == before


def test_transaction_rolls_back_on_error(empty_db: Path) -> None:
    with connect(empty_db) as store:
        before = store.fingerprint()
        with pytest.raises(RuntimeError), store.transaction() as con:
            store._write_in_transaction(con, "settlements", _settlements())
            assert con.execute("SELECT count(*) FROM settlements").fetchone()[0] == 3
            raise RuntimeError("boom")
        assert store.fingerprint() == before


def test_upsert_and_replace(empty_db: Path) -> None:
    with connect(empty_db) as store:
        store.write("settlements", _settlements())
        update = _settlements().iloc[[0]].assign(population=[1500])
        new = _settlements().iloc[[0]].assign(id=["s4"], name=["Delta"])
        store.write("settlements", gpd.GeoDataFrame(pd.concat([update, new]), crs=4326), mode="upsert")
        got = store.read("settlements").set_index("id")
        assert got.loc["s1", "population"] == 1500
        assert sorted(got.index) == ["s1", "s2", "s3", "s4"]
        store.write("settlements", _settlements().iloc[[1]], mode="replace")
        assert list(store.read("settlements")["id"]) == ["s2"]


def test_read_only_mode(empty_db: Path, tmp_path: Path) -> None:
    with connect(empty_db, read_only=True) as store:
        assert store.counts()["roads"] == 0
        with pytest.raises(StoreError, match="read-only"):
            store.write("settlements", _settlements())
    with pytest.raises(StoreNotFoundError, match="seed"):
        connect(tmp_path / "missing.duckdb", read_only=True)
    with pytest.raises(StoreNotFoundError):
        connect(tmp_path / "missing.duckdb")
    with pytest.raises(StoreExistsError, match="--force"):
        init_store(empty_db)


def test_several_sessions_read_concurrently(empty_db: Path) -> None:
    with connect(empty_db) as store:
        store.write("settlements", _settlements())
        results: list[int] = []
        errors: list[BaseException] = []

        def session() -> None:
            try:
                cur = store.cursor()
                for _ in range(20):
                    results.append(len(cur.read("settlements", bbox=(35, 47, 39, 51))))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=session) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert results == [3] * 80


def test_migration_adds_columns_to_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    init_store(path).close()
    # simulate a file written by version 1 that lacked a later column
    with connect(path) as store:
        store.con.execute("DROP INDEX shelters_geom_rtree")
        store.con.execute("ALTER TABLE shelters DROP COLUMN address")
        store.con.execute("DELETE FROM schema_version WHERE version > 1")
    with connect(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        cols = set(store.query_df(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'shelters'"
        )["column_name"])
        assert "address" in cols
        assert "shelters_geom_rtree" in set(store.query_df("SELECT index_name FROM duckdb_indexes()")["index_name"])


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    with init_store(path) as store:
        store.con.execute("INSERT INTO schema_version VALUES (999, now(), 'future')")
    with pytest.raises(StoreError, match="newer"):
        connect(path)


def test_corridor_workflow_history_and_conflicts(empty_db: Path) -> None:
    line = LineString([(36.0, 49.0), (36.5, 49.2)])
    with connect(empty_db) as store:
        created = save_corridor(store, geometry=line, name="North route", user="planner1",
                                origin="Alpha", destination="Bravo", notes="<i>night only</i>")
        cid = created["id"]
        assert created == {"id": cid, "version": 1, "status": "draft"}
        before = store.fingerprint()
        with pytest.raises(WorkflowError, match="draft to active"):
            set_corridor_status(store, cid, "active", user="planner1", expected_version=1)
        assert store.fingerprint() == before
        set_corridor_status(store, cid, "proposed", user="planner1", expected_version=1)
        # a second session still holding version 1 must not overwrite the change
        with pytest.raises(ConflictError, match="changed by someone else"):
            save_corridor(store, geometry=line, name="Renamed", user="planner2", corridor_id=cid,
                          expected_version=1)
        assert store.fingerprint() != before
        after_status = store.fingerprint()
        with pytest.raises(ConflictError):
            set_corridor_status(store, cid, "agreed", user="planner2", expected_version=1)
        assert store.fingerprint() == after_status
        set_corridor_status(store, cid, "agreed", user="cmdr", expected_version=2, note="agreed with OCHA")
        with pytest.raises(NotFoundError):
            set_corridor_status(store, "nope", "agreed", user="cmdr", expected_version=1)
        hist = corridor_history(store, cid)
        assert list(hist["version"]) == [3, 2, 1]
        assert list(hist["action"]) == ["status", "status", "create"]
        assert list(hist["changed_by"]) == ["cmdr", "planner1", "planner1"]
        assert hist.iloc[0]["from_status"] == "proposed" and hist.iloc[0]["to_status"] == "agreed"
        row = store.read("corridors").iloc[0]
        assert row["status"] == "agreed" and row["version"] == 3 and row["notes"] == "<i>night only</i>"


def test_history_polygons_round_trip(empty_db: Path) -> None:
    area = gpd.GeoDataFrame(
        {"id": ["o1"], "valid_from": ["2026-11-01"], "valid_to": [None]},
        geometry=[Polygon([(37, 48), (38, 48), (38, 49), (37, 49)])], crs="EPSG:4326",
    )
    with connect(empty_db) as store:
        store.write("occupied_area", area)
        got = store.read("occupied_area", as_of="2026-11-05")
        assert got.geometry.iloc[0].equals(area.geometry.iloc[0])
        assert store.bbox() == (37.0, 48.0, 38.0, 49.0)


@pytest.mark.netns
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) for a network-less namespace")
def test_store_works_without_network(tmp_path: Path) -> None:
    """In a network namespace with no interfaces, the spatial extension still loads (no INSTALL)."""
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user/network namespaces not permitted here")
    code = (
        "import duckdb\n"
        "from cimic_geo.store import init_store\n"
        f"s = init_store({str(tmp_path / 'off.duckdb')!r})\n"
        "print(s.con.execute(\"SELECT round(ST_Distance_Sphere(ST_Point(50, 30), ST_Point(50, 31)))\").fetchone()[0])\n"
        "c = duckdb.connect()\n"
        "try:\n"
        "    c.execute('INSTALL spatial'); print('INSTALLED')\n"
        "except duckdb.Error:\n"
        "    print('NO-NETWORK')\n"
    )
    out = subprocess.run(["unshare", "-rn", sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    # ST_Distance_Sphere takes (lat, lon) points; one degree of longitude at 50°N on the sphere:
    # 111194.93 m * cos(50°) = 71474 m
    assert float(lines[0]) == pytest.approx(71474, abs=2)
    assert lines[1] == "NO-NETWORK"  # proves the namespace really had no network


def test_read_only_request_shares_an_open_read_write_instance(empty_db: Path) -> None:
    writer = connect(empty_db)
    try:
        writer.write("settlements", _settlements())
        with connect(empty_db, read_only=True) as reader:
            assert reader.read_only
            assert reader.counts()["settlements"] == 3
            with pytest.raises(StoreError, match="read-only"):
                reader.write("settlements", _settlements().assign(id=["x1", "x2", "x3"]))
    finally:
        writer.close()


def test_old_migration_descriptions_are_rewritten(tmp_path: Path) -> None:
    # a store written before migration 6 recorded version 1 as citing a planning note by section
    old_text = "initial schema (DESIGN \u00a73 layers, meta, corridor history)"
    path = tmp_path / "old_text.duckdb"
    init_store(path).close()
    with connect(path) as store:
        store.con.execute("DELETE FROM schema_version WHERE version >= 6")
        store.con.execute("UPDATE schema_version SET description = ? WHERE version = 1", [old_text])
    with connect(path) as store:  # read-write: migrates
        rows = store.query_df("SELECT version, description FROM schema_version ORDER BY version")
    assert rows["version"].tolist() == list(range(1, SCHEMA_VERSION + 1))
    assert not rows["description"].str.contains("DESIGN|\u00a7").any()
    assert rows["description"].iloc[0] == "initial schema (layers, meta, corridor history)"
