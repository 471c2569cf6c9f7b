"""Large tables go to the browser as categories and small integers: the same values in fewer bytes
(hand-made frames; the Exposure page's tables by AppTest on the demo store)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from cimic_geo.analytics.situation import coverage_at, exposure_at
from cimic_geo.store import connect
from cimic_geo.ui.compact_table import compact_for_display

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "2_Exposure_and_coverage.py")


def _values(df: pd.DataFrame) -> dict[str, list]:
    return {c: df[c].astype(object).where(df[c].notna(), None).tolist() for c in df.columns}


def test_repeated_texts_become_categories_and_integers_shrink_with_the_same_values():
    n = 3000
    rng = np.random.default_rng(2)
    df = pd.DataFrame({
        "id": [f"S-{i:05d}" for i in range(n)],                       # distinct: left as text
        "status": rng.choice(["open", "full", "closed"], n).astype(object),
        "oblast": pd.array(rng.choice(["Kharkiv", "Donetsk", None], n), dtype="string"),
        "people": rng.integers(0, 30_000, n),                         # int64 -> int16
        "big": np.full(n, 2**40),                                     # stays int64
        "km": rng.uniform(0, 50, n),                                  # floats untouched
        "mixed": [1 if i % 2 else "a" for i in range(n)],             # not all text: untouched
    })
    out = compact_for_display(df)
    assert _values(out) == _values(df)
    assert isinstance(out["status"].dtype, pd.CategoricalDtype) and list(out["status"].cat.categories) == [
        "closed", "full", "open"]
    assert isinstance(out["oblast"].dtype, pd.CategoricalDtype) and out["oblast"].isna().sum() == df["oblast"].isna().sum()
    assert out["people"].dtype == np.int16 and out["big"].dtype == np.int64 and out["km"].dtype == np.float64
    assert not isinstance(out["id"].dtype, pd.CategoricalDtype) and out["mixed"].dtype == object
    sent = pa.Table.from_pandas(out.drop(columns="mixed")).nbytes
    assert sent < 0.6 * pa.Table.from_pandas(df.drop(columns="mixed")).nbytes
    assert not isinstance(df["status"].dtype, pd.CategoricalDtype)  # the input is not changed


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_exposure_page_sends_its_large_tables_compact(monkeypatch, demo_db, lang):
    monkeypatch.setenv("CIMIC_DB", str(demo_db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.setenv("CIMIC_LANGUAGE", lang)
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [d.value for d in at.dataframe]
    with connect(demo_db, read_only=True) as store:
        cov = coverage_at(store, max_km=2.0)
        exp = exposure_at(store, bands_km=(5, 20, 40))
    by_rows = {len(t): t for t in tables}
    shelters, settlements = by_rows[len(cov.shelters)], by_rows[len(exp.settlements)]
    # the same numbers as computed, in small integer types; repeated texts as categories
    assert shelters.iloc[:, 4].tolist() == cov.shelter_table()["capacity"].tolist()  # capacity
    assert shelters.iloc[:, 4].dtype.itemsize < 8
    assert isinstance(shelters.iloc[:, 3].dtype, pd.CategoricalDtype)  # status
    assert isinstance(settlements.iloc[:, -1].dtype, pd.CategoricalDtype)  # band
    assert settlements.iloc[:, -3].tolist() == exp.settlements["distance_km"].tolist()
