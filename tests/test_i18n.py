"""Ukrainian and English interface: the catalogue covers every string of the code, placeholders match,
numbers and dates follow the locale, the language switches per run, and a page renders in Ukrainian."""

from __future__ import annotations

import ast
import datetime as dt
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cimic_geo.config import language
from cimic_geo.errors import ConfigError
from cimic_geo.i18n import (
    _,
    catalogue_path,
    fmt_date,
    fmt_int,
    fmt_number,
    fmt_percent,
    get_language,
    ngettext,
    set_language,
    term,
    use_language,
)
from cimic_geo.i18n_catalogue import KEYWORDS, extract, placeholders, read_catalogue, source_files

ROOT = Path(__file__).resolve().parents[1]
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def extracted() -> dict:
    return extract(source_files(ROOT), root=ROOT)


def _where(msg) -> str:
    return ", ".join(f"{f}:{n}" for f, n in msg.locations[:3])


def test_every_string_of_the_code_has_a_ukrainian_translation(extracted) -> None:
    cat = read_catalogue("uk")
    assert len(extracted) > 250  # the pages, sign-in, CLI lines and the schema's vocabulary
    missing, fuzzy = [], []
    for (msgid, context), msg in extracted.items():
        entry = cat.get(msgid, context)
        strings = entry.string if entry is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or not all(s.strip() for s in strings):
            missing.append(f"{_where(msg)}: {msgid!r}")
        elif entry.fuzzy:
            fuzzy.append(f"{_where(msg)}: {msgid!r}")
    assert not missing, "no Ukrainian translation (python -m cimic_geo.i18n_catalogue update, then translate):\n" \
        + "\n".join(missing)
    assert not fuzzy, "fuzzy translations:\n" + "\n".join(fuzzy)


def test_translations_keep_the_placeholders_of_their_message(extracted) -> None:
    cat = read_catalogue("uk")
    wrong = []
    for (msgid, context), _msg in extracted.items():
        entry = cat.get(msgid, context)
        if entry is None:
            continue
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        want = set().union(*(placeholders(i) for i in ids))
        for s in entry.string if isinstance(entry.string, tuple) else (entry.string,):
            if s and placeholders(s) != want:
                wrong.append(f"{msgid!r}: {sorted(placeholders(s))} != {sorted(want)}")
        if "**" in ids[0] and not all("**" in s for s in (entry.string if isinstance(entry.string, tuple)
                                                          else (entry.string,))):
            wrong.append(f"{msgid!r}: bold markers lost")
    assert not wrong, "\n".join(wrong)


def test_marked_strings_are_literals_not_formatted_text() -> None:
    """``_(f"...")`` or ``_("..." .format())`` cannot be in the catalogue: the text must be marked as
    written, with ``.format`` applied to the translation."""
    bad = []
    names = {k for k in KEYWORDS if k != "page_setup"}
    for path in source_files(ROOT):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
                    and node.args):
                continue
            arg = node.args[0]
            formatted = isinstance(arg, ast.JoinedStr) or (
                isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "format") \
                or (isinstance(arg, ast.BinOp) and isinstance(arg.left, ast.Constant | ast.JoinedStr))
            if formatted:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad


def test_the_catalogue_has_no_strings_the_code_no_longer_uses(extracted) -> None:
    cat = read_catalogue("uk")
    stale = [m.id for m in cat if m.id and (m.id, m.context) not in extracted]
    assert not stale, f"run python -m cimic_geo.i18n_catalogue update: {stale[:10]}"


def test_switching_language_translates_and_falls_back_to_english() -> None:
    with use_language("uk"):
        assert _("Shelters") == "Укриття та місця розміщення"
        assert _("Sign in") == "Вхід"
        assert term("in_progress") == "у роботі"
        assert term("some data value") == "some data value"  # data, not vocabulary: unchanged
        assert _("a text nobody marked") == "a text nobody marked"
        assert get_language() == "uk"
    with use_language("en"):
        assert _("Shelters") == "Shelters"
        assert term("in_progress") == "in progress"


def test_ukrainian_plural_forms() -> None:
    # Ukrainian: 1, 21, 101 -> form 0; 2-4, 22-24 -> form 1; 0, 5-20, 25-30, 111-114 -> form 2
    expected = {1: "1 рядок", 21: "21 рядок", 2: "2 рядки", 24: "24 рядки", 0: "0 рядків", 5: "5 рядків",
                11: "11 рядків", 12: "12 рядків", 111: "111 рядків", 101: "101 рядок"}
    with use_language("uk"):
        for n, text in expected.items():
            assert ngettext("{n} row", "{n} rows", n).format(n=n) == text
    with use_language("en"):
        assert ngettext("{n} row", "{n} rows", 1).format(n=1) == "1 row"
        assert ngettext("{n} row", "{n} rows", 2).format(n=2) == "2 rows"


def test_numbers_and_dates_follow_the_locale() -> None:
    # CLDR: en groups with "," and a decimal ".", uk groups with a no-break space and a decimal ","
    with use_language("en"):
        assert fmt_int(40800) == "40,800"
        assert fmt_number(1234.56, digits=1) == "1,234.6"
        assert fmt_number(15.0) == "15" and fmt_number(2.5) == "2.5"
        assert fmt_percent(0.256) == "25.6%"
        assert fmt_date(dt.date(2026, 11, 27)) == "27 Nov 2026"
    with use_language("uk"):
        assert fmt_int(40800) == f"40{NBSP}800"
        assert fmt_number(1234.56, digits=1) == f"1{NBSP}234,6"
        assert fmt_number(2.5) == "2,5"
        assert fmt_percent(0.256) == "25,6%"
        assert fmt_date(dt.date(2026, 11, 27)) == "27 лист. 2026\u202fр."
        assert fmt_int(None) == "–" and fmt_int(float("nan")) == "–"


def test_the_language_is_per_thread_and_defaults_to_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("CIMIC_LANGUAGE", "uk_UA")
    assert language() == "uk"
    seen: list[str] = []

    def other_session() -> None:  # a Streamlit session runs its script in its own thread
        set_language("en")
        seen.append(_("Shelters"))

    with use_language("uk"):
        t = threading.Thread(target=other_session)
        t.start()
        t.join()
        assert _("Shelters") == "Укриття та місця розміщення"  # the other session did not change ours
    assert seen == ["Shelters"]
    monkeypatch.setenv("CIMIC_LANGUAGE", "fr")
    with pytest.raises(ConfigError, match="language"):
        language()
    monkeypatch.delenv("CIMIC_LANGUAGE")
    assert language() == "en"


def test_catalogue_file_is_in_the_package() -> None:
    path = catalogue_path("uk")
    assert path.is_relative_to(ROOT / "cimic_geo") and path.suffix == ".po"
    assert 'Plural-Forms: nplurals=3' in path.read_text(encoding="utf-8")


def test_a_page_in_ukrainian(monkeypatch, demo_db) -> None:
    """The evacuations page with the session's language set to Ukrainian: title, KPIs and tabs translated,
    numbers grouped the Ukrainian way."""
    from cimic_geo.evacuations import evacuation_overview
    from cimic_geo.store import connect
    from cimic_geo.ui.common import LANGUAGE_KEY

    monkeypatch.setenv("CIMIC_DB", str(demo_db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    at = AppTest.from_file(str(ROOT / "pages" / "5_Evacuations.py"), default_timeout=180)
    monkeypatch.delenv("CIMIC_LANGUAGE", raising=False)
    at.session_state[LANGUAGE_KEY] = "uk"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert get_language() == "en"  # the page's language stayed in its session, not in this thread
    assert at.title[0].value == "Евакуація"
    with connect(demo_db, read_only=True) as store:
        k = evacuation_overview(store, bands_km=(5, 20, 40)).kpis()
    m = {x.label: x.value for x in at.metric}
    assert m["Відкриті запити"] == f"{k['requests_open']:,}".replace(",", NBSP)
    assert m["Люди чекають"] == f"{k['people_waiting']:,}".replace(",", NBSP)
    assert {t.label for t in at.tabs} >= {"Очікують за зонами загрози та групами", "Рейси за день", "Історія"}
    assert any("Сховище відкрите лише для читання" in i.value for i in at.info)
    english = {"Open requests", "People waiting", "History", "Evacuations", "Change a status"}
    shown = {x.label for x in at.metric} | {t.label for t in at.tabs} | {s.value for s in at.subheader}
    assert not english & shown


def test_cli_text_follows_the_language_setting_and_json_does_not(monkeypatch, capsys, demo_db) -> None:
    import json

    from cimic_geo.cli import main
    from cimic_geo.store import connect

    with connect(demo_db, read_only=True) as store:
        roads = store.counts()["roads"]
    monkeypatch.setenv("CIMIC_LANGUAGE", "uk")
    assert main(["info", "--db", str(demo_db)]) == 0
    text = capsys.readouterr().out
    assert "схема        версія" in text and "schema" not in text
    assert f"{roads:,}".replace(",", NBSP) in text and (roads < 1000 or f"{roads:,}" not in text)
    assert main(["info", "--db", str(demo_db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["layers"]["roads"] == roads and "schema_version" in doc  # JSON keys and numbers stay as data
    monkeypatch.setenv("CIMIC_LANGUAGE", "en")
    assert main(["info", "--db", str(demo_db)]) == 0
    assert "schema       version" in capsys.readouterr().out


def test_tables_show_ukrainian_headers_and_values_and_keep_the_stored_ones() -> None:
    """display_frame translates a copy for the page; the table itself (and so its CSV) stays English."""
    import pandas as pd

    from cimic_geo.ui.tables import display_frame

    df = pd.DataFrame({"status": ["open", "in_progress"], "people_waiting": [3, 4], "name": ["Open_Town", "B"]})
    dmg = pd.DataFrame({"total": [2]}, index=pd.Index(["water"], name="sector"))
    with use_language("en"):
        assert display_frame(df) is df
    with use_language("uk"):
        shown = display_frame(df, keep=["people_waiting"])
        by_sector = display_frame(dmg, index_values=True)
        open_uk, sector_uk = term("open"), term("water")
        assert list(shown.columns) == ["статус", "people_waiting", "назва"]
        assert shown["статус"].tolist() == [term("open"), term("in_progress")]
        assert shown["назва"].tolist() == ["Open_Town", "B"]  # data, not vocabulary: unchanged
        assert list(by_sector.columns) == ["усього"] and by_sector.index.name == "сектор"
    assert open_uk != "open" and sector_uk != "water"  # vocabulary with a Ukrainian entry
    assert by_sector.index.tolist() == [sector_uk]
    assert list(df.columns) == ["status", "people_waiting", "name"] and df["status"][1] == "in_progress"


def test_a_page_table_in_ukrainian(monkeypatch, demo_db) -> None:
    """The evacuations board in Ukrainian: Ukrainian column headers and statuses; English in English."""
    from cimic_geo.ui.common import LANGUAGE_KEY

    monkeypatch.setenv("CIMIC_DB", str(demo_db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.delenv("CIMIC_BANDS_KM", raising=False)
    monkeypatch.delenv("CIMIC_LANGUAGE", raising=False)
    shown = {}
    for lang in ("uk", "en"):
        at = AppTest.from_file(str(ROOT / "pages" / "5_Evacuations.py"), default_timeout=180)
        at.session_state[LANGUAGE_KEY] = lang
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        shown[lang] = at.dataframe[0].value
    uk, en = shown["uk"], shown["en"]
    assert len(uk) == len(en) > 0
    assert {"статус", "пріоритет", "населений пункт", "люди", "діти", "версія"} <= set(uk.columns)
    assert not {"status", "priority", "settlement", "people"} & set(uk.columns)
    assert {"status", "priority", "settlement", "people"} <= set(en.columns)
    with use_language("uk"):
        expected = [term(s) for s in en["status"]]
    assert uk["статус"].tolist() == expected
    assert set(expected) - set(en["status"])  # the statuses really are shown in Ukrainian


def test_snapshot_legend_in_ukrainian() -> None:
    """The PNG/PDF map legend follows the language: layer names and statuses in Ukrainian."""
    import types

    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from shapely.geometry import LineString, Point

    from cimic_geo.export.snapshot_map import MapProjection, draw_layers

    frames = {
        "front_line": gpd.GeoDataFrame(geometry=[LineString([(37.0, 48.0), (37.2, 48.2)])], crs=4326),
        "shelters": gpd.GeoDataFrame({"status": ["open", "full"]}, geometry=[Point(37.1, 48.1), Point(37.15, 48.1)],
                                     crs=4326),
        "corridors": gpd.GeoDataFrame({"status": ["agreed"], "name": ["A"], "id": ["c1"]},
                                      geometry=[LineString([(37.05, 48.05), (37.1, 48.15)])], crs=4326),
    }
    loaded = types.SimpleNamespace(frames=frames, basemap={}, view=None)
    proj = MapProjection((36.9, 47.9, 37.3, 48.3))
    labels = {}
    for lang in ("en", "uk"):
        fig, ax = plt.subplots()
        with use_language(lang):
            labels[lang] = [label for _h, label in draw_layers(ax, loaded, proj)]
            expected_uk = {_("Front line"), _("Shelter: {status}").format(status=term("open")),
                           _("Corridor: {status}").format(status=term("agreed"))}
        plt.close(fig)
    assert {"Front line", "Shelter: open", "Shelter: full", "Corridor: agreed"} <= set(labels["en"])
    assert expected_uk <= set(labels["uk"])
    assert "Лінія зіткнення" in labels["uk"] and any(x.startswith("Укриття: ") for x in labels["uk"])
    assert not set(labels["en"]) & set(labels["uk"])


def test_map_popup_fields_and_layer_titles_in_ukrainian() -> None:
    """The COP's popup/tooltip field names and layer titles (incl. aggregates) sent to the browser follow the
    language; the table itself stays English."""
    from cimic_geo.maps.cop_style import STYLES, localized_styles

    with use_language("uk"):
        uk = localized_styles()
        open_uk = term("open")
    en = localized_styles()
    assert en["shelters_grid"]["title"] == "Shelters (aggregated)"
    assert uk["shelters_grid"]["title"] == "Укриття (узагальнено)"
    assert dict(uk["shelters"]["fields"])["capacity"] == "Місткість"
    assert dict(uk["shelters_grid"]["fields"])["open"] == open_uk != "open"
    assert dict(en["settlements"]["fields"])["admin1"] == "Oblast" == dict(STYLES["settlements"]["fields"])["admin1"]
    assert all(label != dict(en[k]["fields"])[f] or label == "MGRS"
               for k in uk for f, label in uk[k]["fields"] if f not in ("n",) and label)


def test_cop_view_notes_are_english_data_shown_in_the_page_language() -> None:
    """A note kept in a shared cache is English text; the page shows it in its own language."""
    import pickle

    from cimic_geo.maps.cop_view import ViewNote

    note = pickle.loads(pickle.dumps(ViewNote(
        "{layer}: {n} in view aggregated into {cells} cells (zoom in for details)", layer="shelters", n=12345, cells=7)))
    assert note == "shelters: 12,345 in view aggregated into 7 cells (zoom in for details)"
    with use_language("uk"):
        shown, title = note.text(), _("Shelters")
    assert title.startswith("Укриття")  # the layer's title, as in the layer switch
    assert shown == f"{title}: 12{NBSP}345 у полі зору узагальнено в 7 комірок (наблизьте для подробиць)"


def test_import_problems_follow_the_language() -> None:
    """An import's problems (shown in the import preview) are in the language of the run."""
    from cimic_geo.config import markings
    from cimic_geo.ingest.importer import data_marking

    with use_language("uk"):
        _kind, _chosen, uk = data_marking(None, exercise=False, marking="BOGUS", allow_mixed=False)
    _kind, _chosen, en = data_marking(None, exercise=False, marking="BOGUS", allow_mixed=False)
    allowed = ", ".join(markings())
    assert [p.message for p in en] == [f"marking 'BOGUS' is not one of the configured markings: {allowed}"]
    assert [p.message for p in uk] == [f"гриф 'BOGUS' не входить до налаштованого переліку грифів: {allowed}"]


def test_english_numbers_equal_babels_without_loading_it() -> None:
    """fmt_int / fmt_number in English skip Babel's locale data; the text must be Babel's to the character."""
    import random

    from babel import Locale
    from babel.numbers import format_decimal

    en = Locale.parse("en_GB")
    rng = random.Random(7)
    values = [0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 2.675, 1.0005, -0.0004, 999.9996, 1234567.891, -98765.4321,
              1e15 + 0.5, 123456789012, 5e-324, 0.1 + 0.2]
    values += [rng.uniform(-1e7, 1e7) for _i in range(2000)] + [rng.randint(-10**9, 10**9) / 8 for _i in range(500)]
    values += [round(rng.uniform(-100, 100), rng.randint(0, 4)) for _i in range(1000)]
    with use_language("en"):
        for v in values:
            assert fmt_int(v) == format_decimal(round(v), format="#,##0", locale=en), v
            assert fmt_number(v) == format_decimal(v, format="#,##0.###", locale=en), v
            for digits in (0, 1, 2, 3):
                pattern = "#,##0" + ("." + "0" * digits if digits else "")
                assert fmt_number(v, digits=digits) == format_decimal(v, format=pattern, locale=en), (v, digits)
        assert fmt_number(float("inf")) == format_decimal(float("inf"), format="#,##0.###", locale=en)
