"""Whole layers read once per process and shared by the pages' analyses (ui.shared_layers)."""

from __future__ import annotations

from pandas.testing import assert_frame_equal

from cimic_geo.analytics.situation import exposure_at
from cimic_geo.store import connect
from cimic_geo.ui.shared_layers import SharedReads, _layer


def test_shared_reads_equal_the_store_and_each_caller_gets_its_own_copy(demo_db):
    _layer.clear()
    with connect(demo_db, read_only=True) as store:
        shared = SharedReads(store, "token-1")
        latest = max(store.history_times("front_line"))
        for layer, as_of in (("settlements", None), ("shelters", None), ("occupied_area", latest)):
            assert_frame_equal(shared.read(layer, as_of=as_of), store.read(layer, as_of=as_of))
        # some columns: the same columns, in the order the store gives them
        cols = ["name", "population"]
        assert_frame_equal(shared.read("settlements", columns=cols), store.read("settlements", columns=cols))
        # one caller changing its frame changes nothing for the next one
        first = shared.read("settlements")
        first["population"] = -1
        first["added"] = 1
        again = shared.read("settlements")
        assert "added" not in again.columns and (again["population"] >= 0).all()
        # read once: the kept frame is the same object for the next reader of the same content
        assert _layer(store, "token-1", "settlements", None) is _layer(store, "token-1", "settlements", None)
        # reads the pages do not share go to the store: a box, a filter, another layer
        x0, y0, _x1, _y1 = store.read("settlements").total_bounds
        box = (x0, y0, x0 + 0.5, y0 + 0.5)
        assert_frame_equal(shared.read("settlements", bbox=box), store.read("settlements", bbox=box))
        assert_frame_equal(shared.read("roads", columns=["road_class"]), store.read("roads", columns=["road_class"]))
        assert shared.path == store.path  # the store's other attributes


def test_an_analysis_through_shared_reads_gives_the_store_s_answer(demo_db):
    _layer.clear()
    with connect(demo_db, read_only=True) as store:
        direct = exposure_at(store, bands_km=(5, 20, 40)).to_dict()
        shared = SharedReads(store, "token-2")
        assert exposure_at(shared, bands_km=(5, 20, 40)).to_dict() == direct
        assert exposure_at(shared, bands_km=(5, 20, 40), shift_km=3.0).to_dict() == \
            exposure_at(store, bands_km=(5, 20, 40), shift_km=3.0).to_dict()


def test_the_default_exposure_warmed_in_the_background_is_the_first_visit_s(monkeypatch, demo_db_copy):
    """``warm_data`` (the server's background warm-up) computes the exposure under the very cache key the
    page's default controls give: the page's first run then draws from it and computes none."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from cimic_geo.ui import analytics_page

    monkeypatch.setenv("CIMIC_DB", str(demo_db_copy))
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    analytics_page.cached_exposure.clear()
    calls: list[dict] = []
    real = analytics_page.exposure_at
    monkeypatch.setattr(analytics_page, "exposure_at", lambda store, **kw: calls.append(kw) or real(store, **kw))
    analytics_page.warm_data()
    assert len(calls) == 1 and calls[0]["shift_km"] == 0.0
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "2_Exposure_and_coverage.py"),
                           default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    assert len(calls) == 1  # the page's run used the warmed result
    assert at.metric and at.metric[0].label.startswith("Population")
    at.sidebar.number_input(key=analytics_page.k("shift")).set_value(2.0).run()
    assert not at.exception and len(calls) == 2  # other settings: computed as before
    analytics_page.cached_exposure.clear()
