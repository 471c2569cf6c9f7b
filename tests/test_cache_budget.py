"""Results kept within one memory budget (cache_budget, ui.result_cache)."""

from __future__ import annotations

import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimic_geo.cache_budget import (
    COORDINATE_BYTES,
    GEOMETRY_BYTES,
    BudgetCache,
    cache_budget_mb,
    nbytes,
)
from cimic_geo.errors import ConfigError
from cimic_geo.ui import result_cache


def test_sizes_count_a_hand_made_frame_s_buffers_and_geometries():
    n = 1000
    frame = gpd.GeoDataFrame({"population": np.arange(n, dtype="int64"), "km": np.zeros(n)},
                             geometry=shapely.points(np.arange(n), np.zeros(n)), crs=4326)
    numbers = 2 * 8 * n
    points = n * (8 + GEOMETRY_BYTES + COORDINATE_BYTES)
    index = frame.index.memory_usage()
    assert nbytes(frame) == numbers + points + index
    # a polygon of 5 coordinates weighs more than a point
    square = gpd.GeoSeries([shapely.box(0, 0, 1, 1)] * n)
    assert nbytes(square.array) == n * (8 + GEOMETRY_BYTES + 5 * COORDINATE_BYTES)
    # text: pointer slots plus the strings
    text = pd.DataFrame({"name": ["x" * 100] * n})
    assert nbytes(text) >= n * (8 + 100)
    # a dataclass / dict / tuple holding the same frame twice counts it once
    assert nbytes({"a": frame, "b": (frame, frame)}) < nbytes(frame) + 1000
    assert nbytes(np.zeros(10_000)) == 80_000


def test_the_budget_pushes_out_the_oldest_entry_when_a_new_one_would_pass_it():
    cache = BudgetCache(100, sizer=len)
    cache.get_or_compute("a", lambda: "x" * 40, group="f")
    cache.get_or_compute("b", lambda: "x" * 40, group="g")
    assert cache.get_or_compute("a", lambda: "new", group="f") == "x" * 40  # a hit: now the newest
    cache.get_or_compute("c", lambda: "x" * 40, group="f")  # 120 > 100: the oldest (b, another group) goes
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.usage() == {"f": 80, "total": 80}
    # an entry over the whole budget is kept alone (its run uses it) until the next one comes
    cache.get_or_compute("big", lambda: "x" * 500, group="g")
    assert list(cache.usage()) == ["g", "total"] and "big" in cache
    cache.get_or_compute("d", lambda: "x" * 10, group="f")
    assert "big" not in cache and "d" in cache and cache.evictions == 4


def test_each_group_keeps_at_most_its_number_of_entries():
    cache = BudgetCache(10**9, sizer=lambda v: 1)
    for i in range(5):
        cache.get_or_compute(("f", i), lambda i=i: i, group="f", max_entries=2)
        cache.get_or_compute(("g", i), lambda i=i: i, group="g", max_entries=3)
    assert cache.usage() == {"f": 2, "g": 3, "total": 5}
    assert ("f", 4) in cache and ("f", 2) not in cache and ("g", 2) in cache


def test_two_callers_of_one_key_compute_it_once():
    cache = BudgetCache(10**6, sizer=lambda v: 1)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get_or_compute("k", slow, group="f")))
               for _i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(g is got[0] for g in got)


def test_the_budget_setting(monkeypatch):
    monkeypatch.delenv("CIMIC_CACHE_MB", raising=False)
    assert cache_budget_mb() > 0
    assert cache_budget_mb(64) == 64.0
    monkeypatch.setenv("CIMIC_CACHE_MB", "512")
    assert cache_budget_mb() == 512.0
    for bad in ("lots", "0", "-5", "nan"):
        with pytest.raises(ConfigError):
            cache_budget_mb(bad)


def test_budgeted_functions_share_one_budget_and_key_like_streamlit(monkeypatch):
    monkeypatch.setattr(result_cache, "_cache", BudgetCache(3 * 8000 + 100))
    calls = []

    @result_cache.budgeted(max_entries=8)
    def frame_of(_store, token, n):
        calls.append((token, n))
        return np.zeros(1000)  # 8000 bytes

    @result_cache.budgeted(max_entries=8)
    def other(_store, token):
        calls.append((token, "other"))
        return np.zeros(1000)

    a = frame_of(object(), "t", 1)
    assert frame_of(object(), "t", n=1) is a  # another store cursor, by name or position: the same entry
    other(None, "t")
    frame_of(None, "t", 2)
    frame_of(None, "u", 1)  # another data token: another entry; the oldest (t, 1) goes
    assert calls == [("t", 1), ("t", "other"), ("t", 2), ("u", 1)]
    assert result_cache.shared_cache().usage()["total"] <= 3 * 8000 + 100
    frame_of(None, "t", 1)
    assert calls[-1] == ("t", 1)  # pushed out: computed again
    frame_of.clear()
    assert set(result_cache.shared_cache().usage()) == {"total"}  # other's entry went with the budget
