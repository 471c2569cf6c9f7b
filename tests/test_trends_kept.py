"""Trend series kept beside the store: reused while what they are computed from is unchanged, computed
again after any write that changes it — a backfill written only to a history table included.

Hand-made history of tests/history_fixtures.py (snapshots D1, D3, D5). Shelters in open or full at D1:
A 100 (60 taken) + B 50 (50) + C 80 (20) = 230 places, 130 people. The backfill below reports A full at
D1 with 90 people (an import valid from D1, older than A's version in force, closed since D3): the
current table keeps A closed; the series at D1 become 100 (90) + 50 (50) + 80 (20) = 230 places,
160 people; D3 and D5 stay 160 places, 70 people (A closed there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from history_fixtures import D, shelters
from pdf_utils import pdf_pages

import cimic_geo.export.brief_trends as brief_trends
from cimic_geo.analytics.trend_cache import keep_trends, kept_trends, trends_file
from cimic_geo.export import View, export
from cimic_geo.store import connect
from cimic_geo.store.trend_reads import trend_data_key

BANDS = (10.0, 25.0, 50.0)
BBOX = (37.0, 47.9, 38.1, 48.3)


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the computations of the series (one entry per call of ``compute_trends``)."""
    calls: list[int] = []
    real = brief_trends.compute_trends

    def counting(**kwargs):
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(brief_trends, "compute_trends", counting)
    return calls


def _same(a, b) -> None:
    for name in ("population", "shelters", "damage", "corridors"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_series_are_kept_and_reused_until_a_backfill_changes_the_history(hand_made_history_db: Path, computed: list) -> None:
    with connect(hand_made_history_db, read_only=True) as store:
        first = brief_trends.store_trends(store, bands_km=BANDS)
    assert len(computed) == 1 and trends_file(hand_made_history_db).is_file()
    assert first.shelters[["capacity", "occupancy"]].values.tolist() == [[230, 130], [160, 70], [160, 70]]
    with connect(hand_made_history_db, read_only=True) as store:  # a new connection, as a fresh process opens one
        again = brief_trends.store_trends(store, bands_km=BANDS)
        other_bands = brief_trends.store_trends(store, bands_km=(5.0, 20.0, 40.0))
    assert len(computed) == 2  # the same store and bands: read back, not computed; other bands: computed
    _same(first, again)
    assert other_bands.population.columns.tolist()[:3] == ["0-5", "5-20", "20-40"]
    with connect(hand_made_history_db) as store:
        before = trend_data_key(store)
        current_before = store.query_df("SELECT id, status, capacity, occupancy FROM shelters ORDER BY id")
        store.write("shelters", shelters([("A", "full", 100, 90)], D[1]), mode="upsert", valid_from=D[1])
        # a version in the past only: the current table is as it was, the history is not
        pd.testing.assert_frame_equal(
            store.query_df("SELECT id, status, capacity, occupancy FROM shelters ORDER BY id"), current_before)
        assert trend_data_key(store) != before
    with connect(hand_made_history_db, read_only=True) as store:
        after = brief_trends.store_trends(store, bands_km=BANDS)
        bands_again = brief_trends.store_trends(store, bands_km=(5.0, 20.0, 40.0))
    assert len(computed) == 4  # both computed again after the write
    assert after.shelters[["capacity", "occupancy"]].values.tolist() == [[230, 160], [160, 70], [160, 70]]
    pd.testing.assert_frame_equal(after.population, first.population)
    pd.testing.assert_frame_equal(bands_again.population, other_bands.population)


def test_a_kept_file_for_other_data_or_unreadable_is_not_used(hand_made_history_db: Path, computed: list) -> None:
    with connect(hand_made_history_db, read_only=True) as store:
        trends = brief_trends.store_trends(store, bands_km=BANDS)
        key = trend_data_key(store)
    path = trends_file(hand_made_history_db)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert len(doc["entries"]) == 1 and doc["entries"][0]["key"].endswith(key)
    assert kept_trends(hand_made_history_db, "another key") is None
    # NaN (no places) survives the round trip; a key kept again replaces its entry
    trends.shelters.loc[trends.shelters.index[0], "used"] = float("nan")
    assert keep_trends(hand_made_history_db, "k", trends) and keep_trends(hand_made_history_db, "k", trends)
    back = kept_trends(hand_made_history_db, "k")
    _same(back, trends)
    assert [e["key"] for e in json.loads(path.read_text(encoding="utf-8"))["entries"]][-1] == "k"
    path.write_text("{not json", encoding="utf-8")
    with connect(hand_made_history_db, read_only=True) as store:
        brief_trends.store_trends(store, bands_km=BANDS)
    assert len(computed) == 2


def test_the_brief_trends_page_reads_the_same_from_kept_series(hand_made_history_db: Path, tmp_path: Path,
                                                               computed: list) -> None:
    pages = []
    for n in (1, 2):
        with connect(hand_made_history_db, read_only=True) as store:
            out = export(store, View(bbox=BBOX, as_of=D[3].isoformat()), "pdf", tmp_path / f"brief{n}.pdf")
        pages.append(pdf_pages(out)[-1])
    assert len(computed) == 1  # the second brief read the kept series
    assert "CIMIC situation — trends" in pages[0] and "Corridors by status" in pages[0]
    # the same page but for the time it was produced
    same = [re.sub(r"produced \S+", "produced", p) for p in pages]
    assert same[0] == same[1]
