"""Sharing the store file: the app lets go between page runs; other programs wait (bounded) instead of failing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cimic_geo.errors import StoreBusyError
from cimic_geo.store import connect
from cimic_geo.store.shared import SharedStore, someone_waiting, wait_for_lock

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cimic_geo", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def test_app_releases_the_file_between_runs(empty_db: Path) -> None:
    shared = SharedStore(empty_db, linger_s=0.2)
    with shared.run() as store:
        assert store.counts()["shelters"] == 0
        assert shared.is_open()
    deadline = time.monotonic() + 10
    while shared.is_open() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not shared.is_open()  # closed ~0.2 s after the run: another program may open it now
    with connect(empty_db) as other:  # read-write, as an import would
        assert other.counts()["shelters"] == 0


def test_a_waiting_program_gets_the_file_after_the_current_run(empty_db: Path) -> None:
    """An export started during a page run waits for its end and succeeds; new runs wait for the export."""
    shared = SharedStore(empty_db, linger_s=60)  # would keep the file for a minute if nobody waited
    run = shared.acquire()
    cli = _cli("info", "--db", str(empty_db), "--json")  # a read-only open: conflicts with the app's instance
    deadline = time.monotonic() + 60
    while not someone_waiting(empty_db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert someone_waiting(empty_db) and cli.poll() is None  # it waits instead of failing
    run.counts()  # the run in progress goes on
    shared.release(run)  # end of the page run: the app lets go at once, not after 60 s
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert json.loads(out)["layers"]["shelters"] == 0
    with shared.run() as store:  # the next page run opens the file again
        assert store.counts()["shelters"] == 0
    assert shared.opened == 2
    shared.close()


def test_the_wait_is_bounded(empty_db: Path) -> None:
    holder = connect(empty_db)  # another program holding the file for longer than we wait
    try:
        cli = _cli("info", "--db", str(empty_db), env={"CIMIC_LOCK_WAIT_S": "1"})
        _, err = cli.communicate(timeout=120)
        assert cli.returncode == 2
        assert "is open in" in err and "waited 1 s" in err and "Traceback" not in err
    finally:
        holder.close()
    calls = []

    def busy():
        calls.append(time.monotonic())
        raise StoreBusyError("busy")

    with pytest.raises(StoreBusyError, match="waited 0 s"):
        wait_for_lock(empty_db, busy, wait_s=0.3)
    assert 3 <= len(calls) <= 10  # backoff from 50 ms, doubling


def test_replacing_a_store_the_app_holds_idle_waits_for_it_to_let_go(empty_db: Path) -> None:
    """``init --force`` while the app keeps the store open between runs: the app lets go, the command succeeds."""
    import geopandas as gpd
    from shapely.geometry import Point

    with connect(empty_db) as store:
        store.write("shelters", gpd.GeoDataFrame(
            {"id": ["S1"], "name": ["School 1"], "kind": ["collective_centre"], "capacity": [100],
             "status": ["open"]}, geometry=[Point(35.0, 48.0)], crs="EPSG:4326"))
    shared = SharedStore(empty_db, linger_s=600)  # an idle app would keep the file ten minutes
    with shared.run() as store:
        assert store.counts()["shelters"] == 1
    assert shared.is_open()
    cli = _cli("init", "--force", "--db", str(empty_db), env={"CIMIC_LOCK_WAIT_S": "60"})
    _, err = cli.communicate(timeout=240)
    assert cli.returncode == 0, err
    assert not shared.is_open()  # let go when the command announced its wait, not after ten minutes
    with shared.run() as store:  # the app's next run follows the new, empty file
        assert store.counts()["shelters"] == 0
    shared.close()
