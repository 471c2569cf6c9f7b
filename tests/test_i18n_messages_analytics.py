"""Sentences the analytics write into tables and exports, in Ukrainian and unchanged in English:
restoration reasons, exposure and coverage notes, cut-off and no-route reasons, corridor line errors,
planner option labels, KPI numbers and the audit trail's actions (translated on the page only)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from access_fixtures import (
    PT_A,
    PT_H,
    PT_N1,
    PT_N2,
    write_planner_store,
)
from shapely.geometry import LineString, Point, box
from streamlit.testing.v1 import AppTest

from cimic_geo.analytics.corridor_lines import check_corridor_line, line_from_text
from cimic_geo.analytics.coverage import coverage
from cimic_geo.analytics.exposure import exposure
from cimic_geo.analytics.kpi_strip import compact
from cimic_geo.analytics.restoration import restoration_priority
from cimic_geo.errors import ValidationError
from cimic_geo.geo import GEOD
from cimic_geo.i18n import _, use_language
from cimic_geo.i18n_catalogue import extract
from cimic_geo.store import connect

ROOT = Path(__file__).resolve().parents[1]
NBSP = "\u00a0"
CYRILLIC = re.compile(r"[А-Яа-яЄєІіЇїҐґ]")


def english_fragments(*modules: str) -> list[str]:
    """The fixed English parts (between placeholders) of every message of ``modules`` (paths under the
    package), at least two words long: none may be left in a Ukrainian sentence."""
    found = extract([ROOT / m for m in modules], root=ROOT, vocabulary=False)
    out = set()
    for msgid, _context in found:
        for text in msgid if isinstance(msgid, tuple) else (msgid,):
            for part in re.split(r"\{[^}]*\}", text):
                part = part.strip(" .,;:()'")
                if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2:
                    out.add(part)
    return sorted(out)


def assert_ukrainian(text: str, fragments: list[str]) -> None:
    assert CYRILLIC.search(text), text
    left = [f for f in fragments if f in text]
    assert not left, f"English left in {text!r}: {left}"


# ---- restoration reasons ---------------------------------------------------------------------------

FRONT = gpd.GeoDataFrame({"id": ["f"]}, geometry=[LineString([(36.0, 48.0), (36.0, 49.0)])], crs="EPSG:4326")
OCC = gpd.GeoDataFrame({"id": ["o"]}, geometry=[box(36.0, 48.0, 37.0, 49.0)], crs="EPSG:4326")


def west(km: float) -> Point:
    lon, lat, _az = GEOD.fwd(36.0, 48.5, 270.0, km * 1000.0)
    return Point(lon, lat)


INFRA = gpd.GeoDataFrame(
    [dict(zip(("id", "name", "sector", "damage", "restoration", "people_served", "geometry"), r, strict=True)) for r in [
        ("r1", "Hospital", "health", "major", "none", 10_000, west(10)),     # 10000 x 1.0 x 0.8 = 8000, safe
        ("r2", "Pump", "water", "destroyed", "planned", 21, west(30)),       # 21 x 1.0 x 1.0 = 21
        ("r3", "Substation", "power", "destroyed", "in_progress", 3, west(3)),  # 3 x 0.9 x 1.0 = 2.7, 3 km: unsafe
        ("r4", "Bridge", "bridge", "minor", "none", 0, west(50)),            # nobody reported: score 0
    ]], geometry="geometry", crs="EPSG:4326")
RESTORATION = ("cimic_geo/analytics/restoration.py",)


def _reasons(language: str) -> dict[str, str]:
    with use_language(language):
        res = restoration_priority(INFRA, front_line=FRONT, occupied_area=OCC, bands_km=(5, 20, 40))
    return res.table().set_index("id")["reason"].to_dict()


def test_restoration_reasons_in_ukrainian_and_english() -> None:
    en, uk = _reasons("en"), _reasons("uk")
    # west(10) lies 10.0 km from the meridian front; band 5-20; weights: health 1, major 0.8
    assert en["r1"] == ("Major damage to health care serving 10,000 people. Health care is a top-priority sector "
                        "(weight 1); major damage weighs 0.8. 10.0 km from the front line (band 5-20): safe to "
                        "repair now. Score 8,000 = 10,000 people × 1 × 0.8.")
    assert uk["r1"] == (f"Охорона здоров'я (пошкодження: значні) обслуговує 10{NBSP}000 осіб. Охорона здоров'я — "
                        "сектор найвищого пріоритету (вага 1); пошкодження «значні» мають вагу 0,8. 10,0 км від "
                        "лінії зіткнення (зона: 5-20): ремонтувати зараз безпечно. "
                        f"Бал 8{NBSP}000 = 10{NBSP}000 осіб × 1 × 0,8.")
    # Ukrainian plural forms: 21 -> особу, 3 -> особи
    assert "обслуговує 21 особу." in uk["r2"] and "Ремонт уже заплановано." in uk["r2"]
    assert "обслуговує 3 особи." in uk["r3"] and "Ремонт уже триває." in uk["r3"]
    assert "РЕМОНТУВАТИ ЗАРАЗ НЕБЕЗПЕЧНО (ближче ніж 5 км до лінії зіткнення)" in uk["r3"]
    assert "Електропостачання — сектор найвищого пріоритету (вага 0,9)" in uk["r3"]
    assert "Міст (пошкодження: незначні): скільки людей обслуговує, не повідомлено." in uk["r4"]
    assert "Міст — сектор середнього пріоритету (вага 0,5)" in uk["r4"]  # bridge 0.5: medium
    fragments = english_fragments(*RESTORATION)
    for text in uk.values():
        assert_ukrainian(text, fragments)
    assert "serving 3 people" in en["r3"] and "Repair already in progress." in en["r3"]
    assert "NOT SAFE TO REPAIR NOW (within 5 km of the front line)" in en["r3"]
    assert "Bridge" not in en["r4"] and en["r4"].startswith("Minor damage to a bridge people served not reported.")
    assert not any(CYRILLIC.search(t) for t in en.values())


def test_restoration_note_and_weight_errors_in_ukrainian() -> None:
    with use_language("uk"):
        res = restoration_priority(INFRA, front_line=None, occupied_area=None)
        assert res.notes == ["немає чинної лінії зіткнення: безпеку не оцінено"]
        with pytest.raises(Exception, match="невідомий ступінь пошкодження 'huge'"):
            restoration_priority(INFRA, front_line=FRONT, damage_weights="huge=1")
    with use_language("en"), pytest.raises(Exception, match="unknown damage level 'huge' in weights"):
        restoration_priority(INFRA, front_line=FRONT, damage_weights="huge=1")


# ---- exposure and coverage notes -----------------------------------------------------------------------


def _points(rows: list[tuple[str, Point, dict]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame([{"id": i, **extra, "geometry": g} for i, g, extra in rows], geometry="geometry",
                            crs="EPSG:4326")


def test_exposure_and_coverage_notes() -> None:
    sets = _points([("s1", west(2), {"population": 100}), ("s2", west(30), {"population": 50})])
    closed = _points([("h1", west(3), {"capacity": 500, "status": "closed"})])
    none = gpd.GeoDataFrame({"id": [], "capacity": [], "status": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"),
                            crs="EPSG:4326")
    notes = {}
    for lang in ("en", "uk"):
        with use_language(lang):
            exp = exposure(settlements=sets, front_line=None, occupied_area=OCC, bands_km=(5, 20, 40))
            notes[lang] = [*exp.notes, *coverage(settlements=sets, shelters=closed, max_km=10).notes,
                           *coverage(settlements=sets, shelters=none, max_km=10).notes]
    assert notes["en"] == ["front line derived from the occupied-area boundary", "no open shelter",
                           "no shelters: nobody is covered"]
    assert notes["uk"] == ["лінію зіткнення виведено з межі окупованої території", "немає відкритих укриттів",
                           "немає укриттів: ніхто не охоплений"]
    with use_language("uk"), pytest.raises(Exception, match="немає чинної лінії зіткнення"):
        exposure(settlements=sets, front_line=None, occupied_area=None)


def test_kpi_numbers_follow_the_locale() -> None:
    # 12,400 -> 12.4 thousand; 35,800,000 -> 35.8 million; below 10,000 grouped in full
    with use_language("en"):
        assert [compact(n) for n in (9_950, 12_400, 250_000, 35_800_000)] == ["9,950", "12.4 k", "250 k", "35.8 M"]
    with use_language("uk"):
        assert [compact(n) for n in (9_950, 12_400, 250_000, 35_800_000)] == [
            f"9{NBSP}950", "12,4 тис.", "250 тис.", "35,8 млн"]


# ---- corridor lines, cut-off and no-route reasons ------------------------------------------------------

CORRIDOR = ("cimic_geo/analytics/corridor_lines.py", "cimic_geo/analytics/corridor_eval.py", "cimic_geo/corridors.py",
            "cimic_geo/analytics/time_to_safety.py")


def test_corridor_line_errors_in_ukrainian() -> None:
    fragments = english_fragments(*CORRIDOR)
    with use_language("uk"):
        with pytest.raises(ValidationError) as bad_point:
            check_corridor_line(Point(37, 48))
        with pytest.raises(ValidationError) as bad_text:
            line_from_text("48.0,37.0; nowhere")
    for exc in (bad_point.value, bad_text.value):
        assert_ukrainian(exc.message, fragments)
        assert_ukrainian(exc.problems[0].message, fragments)
    assert bad_point.value.problems[0].message == "коридор має бути лінією, отримано Point"
    with use_language("en"), pytest.raises(ValidationError) as english:
        check_corridor_line(Point(37, 48))
    assert english.value.problems[0].message == "a corridor must be a line, got a Point"


@pytest.fixture
def planner_db(empty_db: Path) -> Path:
    """Alpha behind a destroyed bridge: its only other road runs 2.2 km south of the front line."""
    with connect(empty_db) as store:
        write_planner_store(store)
    return empty_db


def test_cut_off_and_no_route_reasons(planner_db: Path) -> None:
    from cimic_geo.corridors import cutoff_document, load_access_context, route_document

    with connect(planner_db, read_only=True) as store:
        ctx = load_access_context(store, bands_km=(3, 6, 9), keep_graph=False)
    out = {}
    for lang in ("en", "uk"):
        with use_language(lang):
            cut, _table = cutoff_document(ctx, avoid_km=3.0, hubs=["Harbour"])
            route = route_document(ctx, "Alpha", "Harbour", avoid_km=3.0, penalise=True, alternatives=0)
        out[lang] = (cut["cut_off"][0]["reason"], route["reason"])
    # the north road (lat 48.05) is 0.02° = 2.2 km from the front (48.07): inside the 3 km avoided;
    # the south road crosses the destroyed bridge
    assert out["en"] == ("every route enters the excluded threat band",
                         "every route from Alpha to Harbour passes within 3 km of the front line; reduce the "
                         "avoided distance to see the least-risk route through it")
    assert out["uk"] == ("кожен маршрут заходить у виключену зону загрози",
                         "кожен маршрут від Alpha до Harbour проходить ближче ніж 3 км до лінії зіткнення; зменште "
                         "відстань, яку слід оминати, щоб побачити найменш ризикований маршрут крізь неї")
    fragments = english_fragments(*CORRIDOR)
    for text in out["uk"]:
        assert_ukrainian(text, fragments)


# ---- planner option labels (AppTest, Ukrainian) --------------------------------------------------------


def test_planner_option_labels_in_ukrainian(monkeypatch, planner_db: Path) -> None:
    from cimic_geo.ui.common import LANGUAGE_KEY

    monkeypatch.setenv("CIMIC_DB", str(planner_db))
    monkeypatch.setenv("CIMIC_BANDS_KM", "3,6,9")
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)
    monkeypatch.delenv("CIMIC_LANGUAGE", raising=False)
    at = AppTest.from_file(str(ROOT / "pages" / "3_Corridor_planner.py"), default_timeout=90)
    at.session_state[LANGUAGE_KEY] = "uk"
    at.run()
    assert not at.exception, at.exception
    at.session_state["planner:drawn"] = {"type": "LineString",
                                         "coordinates": [list(PT_A), list(PT_N1), list(PT_N2), list(PT_H)]}
    at.run()
    at.button(key="planner:eval_drawn").click()
    at.run()
    at.text_input(key="planner:origin").input("Alpha")
    at.text_input(key="planner:destination").input("Harbour")
    with use_language("uk"):
        suggest = _("Suggest routes")
        source_row = _("Source")
    next(b for b in at.button if b.label == suggest).click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert table.columns[0] == "1. накреслена лінія 1"
    assert table.columns[1] == "2. Alpha → Harbour (найменший ризик)"
    assert table.loc[source_row].tolist()[:2] == ["накреслена", "маршрут"]
    labels = " ".join(table.columns)
    assert "drawn line" not in labels and "least risk" not in labels and "alternative" not in labels


# ---- audit actions (AppTest, Ukrainian): translated on the page, stored English ------------------------


def test_audit_page_shows_actions_in_ukrainian(empty_db: Path, apptest_actor) -> None:
    from cimic_geo.auth import Actor
    from cimic_geo.store.audit import AuditEntry, read_audit, record
    from cimic_geo.ui.audit_page import audit_csv
    from cimic_geo.ui.common import LANGUAGE_KEY

    admin = Actor("olena", "user", "admin")
    with connect(empty_db) as store:
        with store.transaction() as con:
            for action in ("import", "corridor.status", "sign_in", "something.new"):
                record(con, admin, AuditEntry(action=action, layer="corridors"))
        df = read_audit(store)
    shown = {}
    old = os.environ.get("CIMIC_DB")
    os.environ["CIMIC_DB"] = str(empty_db)
    try:
        for lang in ("uk", "en"):
            at = AppTest.from_file(str(ROOT / "pages" / "8_Audit.py"), default_timeout=120)
            at.session_state[LANGUAGE_KEY] = lang
            at.run()
            assert not at.exception, at.exception
            table = at.dataframe[0].value
            shown[lang] = sorted(table["дія" if lang == "uk" else "action"].tolist())
    finally:
        if old is None:
            os.environ.pop("CIMIC_DB", None)
        else:
            os.environ["CIMIC_DB"] = old
    assert shown["uk"] == sorted(["імпорт", "зміна статусу коридору", "вхід", "something.new"])
    assert shown["en"] == sorted(["import", "corridor.status", "sign_in", "something.new"])
    assert sorted(df["action"]) == shown["en"]  # stored English
    assert "corridor.status" in audit_csv(df) and not CYRILLIC.search(audit_csv(df))  # the CSV keeps them


def test_band_state_and_area_values_are_shown_in_ukrainian_and_stored_in_english() -> None:
    from cimic_geo.analytics.assessment_status import state_label
    from cimic_geo.analytics.bands import band_label
    from cimic_geo.analytics.partner_gaps import area_label
    from cimic_geo.ui.tables import display_frame

    df = pd.DataFrame({"band": ["0-5", "beyond", "occupied", "unknown"], "state": ["current", "stale", "never", "x"]})
    with use_language("uk"):
        shown = display_frame(df)
        words = ([band_label(b) for b in df["band"]], [state_label(s) for s in df["state"]],
                 [area_label(a) for a in ("polygon", "settlement list")])
    assert shown.iloc[:, 0].tolist() == ["0-5", "за межами зон", "окупована територія", "невідомо"] == words[0]
    assert shown.iloc[:, 1].tolist() == ["актуальна", "застаріла", "немає оцінки", "x"] == words[1]
    assert words[2] == ["полігон", "перелік населених пунктів"]
    with use_language("en"):
        assert [band_label(b) for b in df["band"]] == df["band"].tolist()
        assert display_frame(df) is df
    assert df["band"].tolist() == ["0-5", "beyond", "occupied", "unknown"]  # the table itself is not changed
