"""The situation read kept for coverage: another limit reuses it; a write, another time or a fresh file
stamp reads again, and the answers equal a run without the kept read."""

from __future__ import annotations

import pytest

from cimic_geo.analytics import coverage_situation as cs
from cimic_geo.analytics.situation import coverage_at
from cimic_geo.store import connect


@pytest.fixture
def counted_reads(monkeypatch):
    """The number of situation reads made, with stamps trusted at once (the copy is brand new)."""
    monkeypatch.setattr(cs, "SETTLE_S", 0.0)
    cs.forget()
    reads: list[int] = []
    real = cs.load_situation

    def counted(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cs, "load_situation", counted)
    yield reads
    cs.forget()


def test_another_limit_reuses_the_read_and_equals_a_fresh_run(demo_db_copy, counted_reads):
    with connect(demo_db_copy, read_only=True) as store:
        coverage_at(store, max_km=2.0)
        kept = coverage_at(store, max_km=5.0)
        assert len(counted_reads) == 1  # the second limit read nothing
        cs.forget()
        fresh = coverage_at(store, max_km=5.0)
        assert len(counted_reads) == 2
    assert kept.to_dict() == fresh.to_dict()
    assert kept.excluded == fresh.excluded and kept.excluded is not fresh.excluded


def test_a_changed_shelter_capacity_is_read_again(demo_db_copy, counted_reads):
    with connect(demo_db_copy, read_only=True) as store:
        before = coverage_at(store, max_km=5.0)
    shelter = before.shelters["id"].iloc[0]
    with connect(demo_db_copy) as store:
        row = store.read("shelters")
        row = row[row["id"] == shelter].copy()
        old = int(row["capacity"].iloc[0])
        row["capacity"] = old + 1000
        store.write("shelters", row, mode="upsert")
    with connect(demo_db_copy, read_only=True) as store:
        after = coverage_at(store, max_km=5.0)
    assert len(counted_reads) == 2  # the write changed the file's stamp: not the kept read
    cap = after.shelters.set_index("id")["capacity"]
    assert int(cap[shelter]) == old + 1000


def test_another_time_or_a_young_file_is_read_again(demo_db_copy, counted_reads, monkeypatch):
    with connect(demo_db_copy, read_only=True) as store:
        latest = store.history_times("front_line")[-1]
        coverage_at(store, max_km=5.0)
        coverage_at(store, max_km=5.0, as_of=latest)  # the same time, named: another key, read once more
        coverage_at(store, max_km=3.0, as_of=latest)
        assert len(counted_reads) == 2
        coverage_at(store, max_km=5.0, exclude_occupied=False)
        assert len(counted_reads) == 3
        monkeypatch.setattr(cs, "SETTLE_S", 1e12)  # every stamp is young: nothing kept, nothing reused
        coverage_at(store, max_km=5.0)
        coverage_at(store, max_km=5.0)
        assert len(counted_reads) == 5
