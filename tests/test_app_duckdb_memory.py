"""The app's database keeps a bounded DuckDB memory: the table blocks DuckDB read stay in memory until
its limit makes it evict them, so an unbounded limit (DuckDB's default: most of the machine) lets a
server that reads several as-of times keep a growing copy of the store beside its own data."""

from __future__ import annotations

from pathlib import Path

from cimic_geo.store import connect
from cimic_geo.store.shared import APP_ALLOCATOR_FLUSH, APP_MEMORY_LIMIT, SharedStore

MB = 1024 * 1024


def _limit_bytes(store) -> float:
    """DuckDB's memory limit of ``store``'s database in bytes (it reports e.g. ``244.1 MiB``)."""
    text = store.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    value, unit = text.split()
    return float(value) * {"KiB": 1024, "MiB": MB, "GiB": 1024 * MB, "TiB": 1024 * 1024 * MB}[unit]


def test_the_apps_database_has_a_bounded_duckdb_memory(demo_db_copy: Path) -> None:
    assert APP_MEMORY_LIMIT == "512MB"
    shared = SharedStore(demo_db_copy, read_only=True, linger_s=0)
    try:
        with shared.run() as store:
            limit = _limit_bytes(store)
            assert 400 * MB <= limit <= 512 * MB  # DuckDB reports 512 MB as 488.2 MiB
            # every read of a page still works under it (the demo store's layers, whole and in a box)
            for layer in ("settlements", "shelters", "infrastructure", "roads", "front_line"):
                assert len(store.read(layer)) > 0
            assert len(store.read("roads", bbox=(36.0, 47.0, 39.0, 49.5))) > 0
        with shared.run() as store:  # opened again after the linger: the limit is set on every open
            assert _limit_bytes(store) == limit
        assert shared.opened == 2
    finally:
        shared.close()


def _setting_bytes(store, name: str) -> float:
    text = store.con.execute(f"SELECT current_setting('{name}')").fetchone()[0]
    value, unit = text.split()
    return float(value) * {"bytes": 1, "KiB": 1024, "MiB": MB, "GiB": 1024 * MB}[unit]


def test_the_apps_duckdb_hands_back_what_its_queries_freed(demo_db_copy: Path) -> None:
    """DuckDB's allocator keeps up to 128 MB a query freed (512 MB after a bulk free) by default: in the server
    those pages stayed after each read of another time's history. The app's database keeps 8 MB."""
    assert APP_ALLOCATOR_FLUSH == "8MB"
    shared = SharedStore(demo_db_copy, read_only=True, linger_s=0)
    try:
        with shared.run() as store:
            for name in ("allocator_flush_threshold", "allocator_bulk_deallocation_flush_threshold"):
                assert 7 * MB <= _setting_bytes(store, name) <= 8 * MB, name
            assert len(store.read("roads", as_of="2026-11-01T00:00Z")) > 0
    finally:
        shared.close()


def test_other_programs_keep_duckdbs_own_limit(demo_db_copy: Path) -> None:
    """The bound is the app's: a CLI import or export opening the store keeps DuckDB's defaults."""
    with connect(demo_db_copy, read_only=True) as store:
        assert _limit_bytes(store) > 512 * MB
        assert _setting_bytes(store, "allocator_flush_threshold") >= 128 * MB
