"""The PDF brief's "since the last brief" page, read back with pdftotext, on the hand-made history of
tests/history_fixtures.py (English and Ukrainian)."""

from __future__ import annotations

from pathlib import Path

from history_fixtures import ADMIN, D, build_history
from pdf_utils import pdf_pages
from pyproj import Geod
from shapely.geometry import box

from cimic_geo.export import View, export
from cimic_geo.i18n import fmt_number, use_language
from cimic_geo.store import connect
from cimic_geo.store.brief_log import record_brief

BBOX = (37.0, 47.9, 38.1, 48.3)


def test_brief_page_lists_the_changes_since_the_last_brief(hand_made_history_db: Path, tmp_path: Path) -> None:
    with connect(hand_made_history_db, read_only=True) as store:
        out = export(store, View(bbox=BBOX, as_of=D[3].isoformat()), "pdf", tmp_path / "brief.pdf")
    page = pdf_pages(out)[-2]  # before the trends page
    assert "CIMIC situation — since the last brief" in page
    # the brief shows D3 (layers as of D3); the last brief showed D2
    assert "since the last brief (020000ZOCT26)" in page
    assert "Shelter A A closed open closed 100 100" in page
    assert "Shelter B B capacity changed full full 50 80" in page
    assert "power Object I1 I1 new none major" in page and "water Object I2 I2 repaired major major" in page
    assert "030000ZOCT26 Corridor North C1 proposed agreed planner1" in page
    gained = abs(Geod(ellps="WGS84").geometry_area_perimeter(box(37.0, 47.8, 37.2, 48.3))[0]) / 1e6
    assert f"newly occupied {gained:,.1f}" in page and "liberated 0.0" in page
    # open places D2 230 -> D3 160 (shelter A closed, B grew 50 -> 80: 80 + 80); the import came later (now)
    assert "places in open shelters 230 → 160 (-70)" in page
    assert "Imports received" in page and "shelters_d3.csv" not in page and "no change" in page
    assert "changed: shelters 2, infrastructure objects 2, corridors 1" in page


def test_without_a_brief_the_page_covers_24_hours_and_is_translated(empty_db: Path, tmp_path: Path) -> None:
    with connect(empty_db) as store:
        build_history(store, brief=False, imports=False)
        record_brief(store, actor=ADMIN, as_of=D[4])  # a later brief does not count for a brief of D3
    with connect(empty_db, read_only=True) as store, use_language("uk"):
        out = export(store, View(bbox=BBOX, as_of=D[3].isoformat()), "pdf", tmp_path / "uk.pdf")
        gained = fmt_number(abs(Geod(ellps="WGS84").geometry_area_perimeter(box(37.0, 47.8, 37.2, 48.3))[0]) / 1e6,
                            digits=1).replace("\xa0", " ")
    page = pdf_pages(out)[-2]
    assert "з останнього брифінгу" in page and "за останні 24 години (з 020000ZOCT26)" in page
    assert "Shelter A A закрито відкрито закрито 100 100" in page
    assert f"нова окупація {gained}" in page


def test_brief_has_a_trends_page_and_the_cop_png_is_drawn(hand_made_history_db: Path, tmp_path: Path) -> None:
    from PIL import Image

    from cimic_geo.export.brief_trends import store_trends, trends_png

    with connect(hand_made_history_db, read_only=True) as store:
        out = export(store, View(bbox=BBOX, as_of=D[3].isoformat()), "pdf", tmp_path / "brief.pdf")
        trends = store_trends(store, bands_km=(10, 25, 50))
    pages = pdf_pages(out)
    assert len(pages) == 4  # map, tables, since the last brief, trends (no evacuations in this store)
    page = pages[-1]
    assert "CIMIC situation — trends" in page and "Population within each threat band" in page
    assert "Shelter places used, open and full shelters (%)" in page and "Corridors by status" in page
    assert "Whole store at its 3 snapshot times from 010000ZOCT26 to 050000ZOCT26" in page
    # legends: the bands with people, the sectors with open damage (power, water, health), the statuses
    # (the export's default bands 5, 20, 40 km)
    assert all(w in page for w in ("5-20 km", "20-40 km", "occupied", "power", "water", "health", "proposed", "agreed"))
    png = tmp_path / "trends.png"
    png.write_bytes(trends_png(trends))
    with Image.open(png) as im:
        assert im.size == (1000, 600)
