"""The Exposure page's results stay within the server's memory budget (ui.result_cache) in AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from cimic_geo.cache_budget import BudgetCache
from cimic_geo.ui import analytics_page, result_cache

PAGE = Path(__file__).resolve().parent.parent / "pages" / "2_Exposure_and_coverage.py"
#: The demo's exposure results hold about 1.1 MB each, the shared layers 1.1 MB and a coverage 0.5 MB: one
#: exposure result fits beside them, a second does not (the page's own limit keeps two: 4 MB in all).
BUDGET = 3 * 2**20


def test_the_exposure_page_s_results_stay_within_the_budget(monkeypatch, demo_db_copy):
    monkeypatch.setenv("CIMIC_DB", str(demo_db_copy))
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    cache = BudgetCache(BUDGET)
    monkeypatch.setattr(result_cache, "_cache", cache)
    calls: list[float] = []
    real = analytics_page.exposure_at
    monkeypatch.setattr(analytics_page, "exposure_at",
                        lambda store, **kw: calls.append(kw["shift_km"]) or real(store, **kw))
    at = AppTest.from_file(str(PAGE), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    for shift in (1.0, 2.0, 3.0, 0.0):  # what-if shifts, each a result of its own, then back to none
        at.sidebar.number_input(key=analytics_page.k("shift")).set_value(shift).run()
        assert not at.exception, at.exception
        assert at.metric and at.metric[0].label.startswith("Population")
        used = cache.usage()
        assert 0 < used["total"] <= BUDGET, used
        assert used.get("cimic_geo.ui.analytics_page.cached_exposure", 0) > 0  # this run's result is kept
    # the first result was pushed out by the later ones: the page computed it again, and shows it
    assert calls == [0.0, 1.0, 2.0, 3.0, 0.0]
    assert cache.evictions > 0
