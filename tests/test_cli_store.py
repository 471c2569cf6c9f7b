"""`python -m cimic_geo init|seed|info` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cimic_geo.schema import LAYERS
from cimic_geo.store import SCHEMA_VERSION, connect

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300)


def test_init_creates_empty_store_and_refuses_overwrite(tmp_path: Path) -> None:
    db = tmp_path / "mine.duckdb"
    out = run_cli("init", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["schema_version"] == SCHEMA_VERSION
    again = run_cli("init", "--db", str(db))
    assert again.returncode == 2
    assert "--force" in again.stderr
    assert run_cli("init", "--db", str(db), "--force").returncode == 0


def test_info_json_document_on_empty_store_via_env(tmp_path: Path) -> None:
    db = tmp_path / "env.duckdb"
    assert run_cli("init", env={"CIMIC_DB": str(db)}).returncode == 0
    doc = json.loads(run_cli("info", "--json", env={"CIMIC_DB": str(db)}).stdout)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["layers"] == {name: 0 for name in LAYERS}
    assert doc["time_range"] == {"start": None, "end": None}
    assert doc["bbox"] is None


def test_info_on_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    out = run_cli("info", "--db", str(tmp_path / "nope.duckdb"))
    assert out.returncode == 2
    assert "no database at" in out.stderr and "seed" in out.stderr
    assert not (tmp_path / "nope.duckdb").exists()


def test_info_on_demo_matches_the_store(demo_db: Path) -> None:
    out = run_cli("info", "--db", str(demo_db), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) >= {"schema_version", "layers", "time_range", "bbox"}
    assert list(doc["layers"]) == list(LAYERS)
    with connect(demo_db, read_only=True) as store:
        assert doc["layers"] == store.counts()
        start, end = store.time_range()
        times = store.history_times("front_line")
    assert doc["time_range"] == {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                 "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert len(times) >= 80  # about 90 daily snapshots
    minlon, minlat, maxlon, maxlat = doc["bbox"]
    assert 20 < minlon < maxlon < 42 and 43 < minlat < maxlat < 53  # eastern Europe, lon/lat
    assert doc["marking"] == "EXERCISE"
    assert all(doc["layers"][name] > 0 for name in LAYERS)


def test_seed_refuses_to_overwrite_without_force(demo_db_copy: Path) -> None:
    with connect(demo_db_copy, read_only=True) as store:
        before = store.fingerprint()
    out = run_cli("seed", "--scale", "demo", "--db", str(demo_db_copy))
    assert out.returncode == 2
    assert "--force" in out.stderr
    with connect(demo_db_copy, read_only=True) as store:
        assert store.fingerprint() == before
