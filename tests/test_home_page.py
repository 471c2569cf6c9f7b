"""The home page (app.py) with Streamlit's AppTest on a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def _run(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")  # the shared demo database must not be written
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    return at


def test_home_shows_counts_time_range_and_marking(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = _run(monkeypatch, demo_db)
    assert not at.exception
    html = " ".join(m.body for m in at.markdown)
    assert "EXERCISE" in html
    assert "Front-line history:" in html and "ZNOV26" in html  # date-time groups
    metrics = {m.label: m.value for m in at.metric}
    from cimic_geo.store import connect

    with connect(demo_db, read_only=True) as store:
        counts = store.counts()
    assert metrics["Settlements"] == f"{counts['settlements']:,}"
    assert metrics["Shelters"] == f"{counts['shelters']:,}"
    table = at.dataframe[0].value
    assert dict(zip(table["table"], table["rows"], strict=True)) == counts


def test_home_on_empty_store_says_how_to_fill_it(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    at = _run(monkeypatch, empty_db)
    assert not at.exception
    text = " ".join(m.body for m in at.markdown)
    assert "none yet" in text and "EXERCISE" not in text


def test_home_on_missing_store_explains(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = _run(monkeypatch, tmp_path / "missing.duckdb")
    assert not at.exception
    assert any("make run" in e.value for e in at.error)
