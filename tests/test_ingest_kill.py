"""Killing the process during a large import leaves the store exactly as it was (DuckDB WAL + one
transaction). The import runs in a subprocess (``python -m cimic_geo import ...``) and gets SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cimic_geo.ingest import import_file
from cimic_geo.ingest.importer import TEST_PAUSE_ENV
from cimic_geo.store import connect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: more than one DuckDB row group (122,880 rows), so that the transaction writes row groups to the
#: database file optimistically before COMMIT: the kill must leave those unreachable
N_ROWS = 130_000


def _big_file(path: Path, n: int, *, seed: int = 7) -> Path:
    rng = random.Random(seed)
    feats = [
        {"type": "Feature",
         "properties": {"id": f"s{i}", "name": f"Shelter {i}", "kind": "blast_shelter", "capacity": i % 700,
                        "status": "open"},
         "geometry": {"type": "Point", "coordinates": [36 + 2 * rng.random(), 48 + rng.random()]}}
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("kill")
    db = d / "store.duckdb"
    with connect(db, create=True) as store:
        # existing rows, some with ids the big file will upsert
        assert import_file(store, "shelters", _big_file(d / "small.geojson", 50, seed=1), reliability="B2").ok
    return db, _big_file(d / "big.geojson", N_ROWS)


def _fingerprint(db: Path) -> dict:
    with connect(db) as store:
        return store.fingerprint()


def _start(db: Path, big: Path, *, pause: float | None) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop(TEST_PAUSE_ENV, None)
    if pause is not None:
        env[TEST_PAUSE_ENV] = str(pause)
    return subprocess.Popen(
        [sys.executable, "-m", "cimic_geo", "import", "shelters", str(big), "--db", str(db), "--mode", "upsert",
         "--reliability", "C3", "--reported-at", "2026-11-01T00:00Z"],  # fixed: runs comparable
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_sigkill_inside_the_transaction_leaves_store_unchanged(setup) -> None:
    db, big = setup
    before = _fingerprint(db)
    size_before = db.stat().st_size
    proc = _start(db, big, pause=120)
    try:
        line = ""
        deadline = time.monotonic() + 300
        while "transaction open" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, f"import ended early: {proc.returncode}"
            assert time.monotonic() < deadline
        # all 130,000 rows are written inside the open transaction, and DuckDB has already put row
        # groups into the database file (it grew); now pull the plug
        assert db.stat().st_size > size_before
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    after = _fingerprint(db)
    assert after == before
    assert after["shelters"][0] == 50


def test_random_kills_leave_before_or_complete_state(setup, tmp_path: Path) -> None:
    db, big = setup
    before = _fingerprint(db)
    # control: the same import on a copy, not killed, shows what a complete import looks like
    control = tmp_path / "control.duckdb"
    shutil.copyfile(db, control)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, control.with_name(control.name + ".wal"))
    started = time.monotonic()
    proc = _start(control, big, pause=None)
    _out, err = proc.communicate(timeout=600)
    duration = time.monotonic() - started
    assert proc.returncode == 0, err
    complete = _fingerprint(control)
    assert complete != before and complete["shelters"][0] == N_ROWS  # the 50 old ids are among s0..s129999
    outcomes = []
    for fraction in (0.6, 0.85, 0.97):
        proc = _start(db, big, pause=None)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        state = _fingerprint(db)
        assert state in (before, complete), f"partial state after a kill at {fraction:.0%} of the import"
        outcomes.append("before" if state == before else "complete")
        if state == complete:
            break  # the import got committed before the kill; later kills cannot test anything new
    assert outcomes
