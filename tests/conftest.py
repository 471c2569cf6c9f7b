"""Shared fixtures: seeded demo database, writable copies, empty stores, real public data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ci_skips import pytest_runtest_makereport  # noqa: F401  (in CI, browser/gdal/netns skips fail)

REAL_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a freshly seeded demo database (session-wide; do not modify it)."""
    from cimic_geo.scenario import seed_database

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    seed_database(path, scale="demo")
    return path


@pytest.fixture
def demo_db_copy(demo_db: Path, tmp_path: Path) -> Path:
    """A writable copy of the demo database for one test."""
    target = tmp_path / "demo_copy.duckdb"
    shutil.copyfile(demo_db, target)
    wal = demo_db.with_name(demo_db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    """Path of a new empty store with the current schema."""
    from cimic_geo.store import init_store

    path = tmp_path / "empty.duckdb"
    init_store(path).close()
    return path


@pytest.fixture
def hand_made_history_db(empty_db: Path) -> Path:
    """The empty store with the hand-made history of ``tests/history_fixtures.py`` (``build_history``)."""
    from history_fixtures import build_history

    from cimic_geo.store import connect

    with connect(empty_db) as store:
        build_history(store)
    return empty_db


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The shared real public data folder; skips the test when it is absent."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real public data not available at {REAL_DATA_DIR}")
    return REAL_DATA_DIR


@pytest.fixture(autouse=True)
def apptest_actor():
    """In-process page tests (AppTest) run as a signed-in admin; yields the actor.

    Only in-process code can set this (``cimic_geo.ui.sign_in.signed_in_for_tests``); browser tests run
    a real server and sign in through its form. Tests of the sign-in gate leave it with
    ``cimic_geo.ui.sign_in._TEST_ACTOR.clear()``.
    """
    from cimic_geo.auth import Actor
    from cimic_geo.ui.sign_in import _TEST_ACTOR, signed_in_for_tests

    actor = Actor("apptest", "user", "admin")
    with signed_in_for_tests(actor):
        yield actor
    _TEST_ACTOR.clear()
