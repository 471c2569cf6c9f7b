"""The messages of the special imports in Ukrainian and English: a liaison officer's evacuation
spreadsheet, a DeepState snapshot without a state territory, front-line history files without a
usable date, OpenStreetMap extracts without roads or cut short, basemap files without usable
features, and the evacuation workflow. Each bad input goes through the real import path (dry run or
refused: nothing is written); in Ukrainian the messages are Ukrainian and still name the row, the
field and the file, in English they are the same text as before."""

from __future__ import annotations

import contextvars
import json
import re
import string
from pathlib import Path

import pytest
import shapely
from shapely.geometry import box, mapping

from cimic_geo.cli import main
from cimic_geo.errors import Problem, ValidationError, WorkflowError
from cimic_geo.i18n import use_language
from cimic_geo.i18n_catalogue import read_catalogue
from cimic_geo.ingest import import_file
from cimic_geo.ingest.basemap import read_admin_boundaries, read_osm_basemap
from cimic_geo.ingest.osm import read_osm_roads
from cimic_geo.ingest.spreadsheet import import_sheet
from cimic_geo.schema import EVACUATION_STATUSES
from cimic_geo.store import connect
from cimic_geo.store.evacuation_records import create_evacuation, set_evacuation_status
from tests.osm_utils import write_pbf
from tests.sheet_utils import SETTLEMENTS, SHELTERS, write_sheet

CYRILLIC = re.compile(r"[А-ЩЬЮЯҐЄІЇа-щьюяґєії]")



@pytest.fixture
def store(empty_db):
    with connect(empty_db) as s:
        s.write("settlements", SETTLEMENTS)
        s.write("shelters", SHELTERS)
        yield s


@pytest.fixture(scope="module")
def english_phrases() -> list[str]:
    """The English wording of every translated catalogue message: the text between its placeholders,
    where that text has at least two words of three letters or more (a phrase, not a field name)."""
    out = set()
    for msg in read_catalogue("uk"):
        if not msg.id or not isinstance(msg.id, str) or not msg.string:
            continue
        for literal, *_rest in string.Formatter().parse(msg.id):
            text = literal.strip(" .,:;()'`")
            if len(re.findall(r"\b[a-z]{3,}\b", text)) >= 2 and " " in text:
                out.add(text)
    return sorted(out, key=len, reverse=True)


def assert_ukrainian(text: str, english_phrases: list[str]) -> None:
    """``text`` is Ukrainian: Cyrillic, and no English phrase of the catalogue in it."""
    assert CYRILLIC.search(text), text
    leaked = [p for p in english_phrases if p in text]
    assert not leaked, f"English left in {text!r}: {leaked[:3]}"


def problem(problems: list[Problem], row: int | None, field: str | None) -> Problem:
    found = [p for p in problems if p.row == row and p.field == field]
    assert len(found) == 1, (row, field, problems)
    return found[0]


# -- a liaison officer's evacuation spreadsheet ------------------------------------------------------

E_HEADER = ["id", "settlement_id", "people", "children", "status", "requested_at", "destination_shelter_id"]


def evacuation_sheet(path: Path) -> Path:
    # header = sheet row 1, so record k is sheet row k + 1
    return write_sheet(path, E_HEADER, [
        ["EV-1", "S1", 10, 2, "requested", "2026-11-25", None],  # row 2: fine
        ["EV-2", "S2", 5, 7, "requested", "2026-11-25", None],  # row 3: 7 children among 5 people
        ["EV-3", "S3", 4, 0, "teleported", "2026-11-25", None],  # row 4: no such status
        ["EV-4", "S1", 3, 0, "planned", "2026-11-25", "SH-NOPE"],  # row 5: no such shelter
    ])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_evacuation_sheet_with_bad_rows(store, tmp_path, suffix, english_phrases):
    path = evacuation_sheet(tmp_path / f"liaison{suffix}")
    before = store.fingerprint()
    with use_language("uk"), pytest.raises(ValidationError) as uk:
        import_sheet(store, "evacuations", path, dry_run=True)
    with use_language("en"), pytest.raises(ValidationError) as en:
        import_sheet(store, "evacuations", path, dry_run=True)
    assert store.fingerprint() == before
    # Ukrainian: the layer, the file and the count stay; the rows and fields are those of English
    assert uk.value.message == f"evacuations: нічого не записано: помилок у liaison{suffix}: 3"
    assert [(p.row, p.field) for p in uk.value.problems] == [(p.row, p.field) for p in en.value.problems]
    children = problem(uk.value.problems, 3, "children").message
    assert children == "children: 7, але в запиті лише 5 осіб"
    status = problem(uk.value.problems, 4, "status").message
    assert status == f"невідомий статус 'teleported'; очікується одне з: {', '.join(EVACUATION_STATUSES)}"
    shelter = problem(uk.value.problems, 5, "destination_shelter_id").message
    assert shelter == "укриття 'SH-NOPE' немає в сховищі (shelters)"
    for text in (uk.value.message, children, status, shelter):
        assert_ukrainian(text, english_phrases)
    assert "teleported" in str(uk.value) and "children" in str(uk.value)
    # English: the text as it always was
    assert en.value.message == f"evacuations: nothing written: 3 error(s) in liaison{suffix}"
    assert problem(en.value.problems, 3, "children").message == "7 children but only 5 people in the request"
    assert problem(en.value.problems, 4, "status").message == (
        f"unknown status 'teleported'; expected one of {', '.join(EVACUATION_STATUSES)}")
    assert problem(en.value.problems, 5, "destination_shelter_id").message == (
        "shelter 'SH-NOPE' does not exist in the store (shelters)")


def test_evacuation_sheet_with_a_wrong_header(store, tmp_path, english_phrases):
    path = write_sheet(tmp_path / "liaison.xlsx", ["id", "settlement_id", "peeple", "status"],
                       [["EV-1", "S1", 10, "requested"]])
    with use_language("uk"), pytest.raises(ValidationError) as uk:
        import_sheet(store, "evacuations", path, dry_run=True)
    assert uk.value.message == ("evacuations: нічого не записано: заголовки liaison.xlsx не відповідають шаблону "
                                "(завантажте шаблон командою `python -m cimic_geo template evacuations`)")
    unknown = problem(uk.value.problems, 1, "peeple").message
    assert unknown.startswith("невідомий стовпець 'peeple' для evacuations; стовпці шаблону: id, ")
    missing = problem(uk.value.problems, 1, "people").message
    assert missing == "у рядку заголовків немає обов'язкового стовпця 'people'"
    for text in (uk.value.message, unknown, missing):
        assert_ukrainian(text, english_phrases)
    with use_language("en"), pytest.raises(ValidationError) as en:
        import_sheet(store, "evacuations", path, dry_run=True)
    assert en.value.message == ("evacuations: nothing written: the header of liaison.xlsx does not match the "
                                "template (download it with `python -m cimic_geo template evacuations`)")
    assert problem(en.value.problems, 1, "people").message == "required column 'people' is missing from the header"


def test_evacuation_workflow_refusals(store, english_phrases):
    made = create_evacuation(store, geometry=shapely.Point(30.0, 50.0), people=4, settlement_id="S1",
                             evacuation_id="EV-9")
    with use_language("uk"), pytest.raises(WorkflowError) as uk:
        set_evacuation_status(store, "EV-9", "completed", expected_version=made["version"])
    assert str(uk.value) == ("евакуацію EV-9 не можна перевести зі статусу requested у статус completed; "
                             "дозволені наступні: planned, cancelled")
    assert_ukrainian(str(uk.value), english_phrases)
    with use_language("en"), pytest.raises(WorkflowError) as en:
        set_evacuation_status(store, "EV-9", "completed", expected_version=made["version"])
    assert str(en.value) == "evacuation EV-9 cannot go from requested to completed; allowed next: planned, cancelled"
    with use_language("uk"), pytest.raises(ValidationError) as bad:
        create_evacuation(store, geometry=shapely.Point(30.0, 50.0), people=-2, settlement_id="S404")
    assert bad.value.message == "евакуацію не збережено"
    assert problem(bad.value.problems, None, "people").message == (
        "-2 — від'ємне число; кількість має бути 0 або більше")
    assert problem(bad.value.problems, None, "settlement_id").message == "населеного пункту 'S404' немає в сховищі"
    assert store.counts()["evacuations"] == 1


# -- a DeepState snapshot without the state territory -------------------------------------------------

# The occupied square 37-38°E, 47-48°N (no territory set: its whole outline would be the front).
SQUARE = box(37.0, 47.0, 38.0, 48.0)


def snapshot(path: Path, poly) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(poly)}]}), encoding="utf-8")
    return path


def test_deepstate_snapshot_refused_without_the_outline_confirmation(empty_db, tmp_path, english_phrases):
    snap = snapshot(tmp_path / "deepstatemap_data_20250801.geojson", SQUARE)
    with connect(empty_db) as store:
        before = store.fingerprint()
        with use_language("uk"):
            rep = import_file(store, "occupied_area", [snap], dry_run=True)
            lines = "\n".join(rep.summary_lines())
        assert not rep.ok and store.fingerprint() == before
        refusal = problem(rep.errors, None, "front_line").message
        assert refusal == ("державну територію не задано: лінією зіткнення став би весь контур окупованої "
                           "території, разом з узбережжям і державним кордоном. Задайте державну територію (контур "
                           "країни або області) чи підтвердьте, що лінію зіткнення слід визначити лише за контуром")
        assert_ukrainian(refusal, english_phrases)
        assert refusal in lines
        with use_language("uk"):
            confirmed = import_file(store, "occupied_area", [snap], dry_run=True, allow_outline_front=True)
        assert confirmed.ok and store.fingerprint() == before
        warning = problem(confirmed.warnings, None, "front_line").message
        assert warning.endswith("державним кордоном (підтверджено оператором)")
        assert_ukrainian(warning, english_phrases)
        with use_language("en"):
            rep = import_file(store, "occupied_area", [snap], dry_run=True)
        assert problem(rep.errors, None, "front_line").message == (
            "no state territory: the derived front line would be the whole outline of the occupied area, coasts "
            "and state borders included. Give the state territory (a national outline or the oblasts), or confirm "
            "deriving the front from the outline alone")


# -- front-line history files without a usable date ---------------------------------------------------


def test_history_import_with_bad_dates(empty_db, tmp_path, english_phrases):
    undated = snapshot(tmp_path / "occupied.geojson", SQUARE)
    first = snapshot(tmp_path / "occ_20250801.geojson", SQUARE)
    again = snapshot(tmp_path / "map-2025-08-01.geojson", box(37.0, 47.0, 38.1, 48.0))
    with connect(empty_db) as store:
        before = store.fingerprint()
        with use_language("uk"):
            rep = import_file(store, "occupied_area", [undated, first, again], dry_run=True,
                              allow_outline_front=True)
        assert not rep.ok and store.fingerprint() == before
        no_date = [p.message for p in rep.errors if p.field == "valid_from" and "occupied.geojson" in p.message]
        assert no_date == ["occupied.geojson: немає дати знімка (задайте --valid-from, властивість із датою або "
                           "назву файлу з YYYYMMDD)"]
        twice = [p.message for p in rep.errors if p.field == "valid_from" and "map-2025-08-01" in p.message]
        assert twice == ["map-2025-08-01.geojson: ту саму дату 2025-08-01T00:00:00Z має файл occ_20250801.geojson"]
        total = problem(rep.errors, None, None).message
        assert total == "відхилено файлів знімків: 2 з 3"
        for text in (*no_date, *twice, total):
            assert_ukrainian(text, english_phrases)
        with use_language("uk"), pytest.raises(ValidationError) as one:
            import_file(store, "occupied_area", [first, again], dry_run=True, valid_from="2025-08-01")
        assert one.value.message == "--valid-from застосовується лише до одного файлу"
        assert problem(one.value.problems, None, "valid_from").message == (
            "задано файлів: 2; дату кожного беруть із властивості або з назви файлу")
        with use_language("en"):
            rep = import_file(store, "occupied_area", [undated, first, again], dry_run=True,
                              allow_outline_front=True)
        assert [p.message for p in rep.errors if p.field == "valid_from"] == [
            "occupied.geojson: no snapshot date (give --valid-from, a date property, or a file name with YYYYMMDD)",
            "map-2025-08-01.geojson: date 2025-08-01T00:00:00Z also given by occ_20250801.geojson"]
        assert problem(rep.errors, None, None).message == "2 of 3 snapshot file(s) rejected"


# -- OpenStreetMap extracts ----------------------------------------------------------------------------

NODES = {1: (37.00, 48.00), 2: (37.01, 48.00), 3: (37.02, 48.00), 5: (37.00, 48.01)}
ROADS = [(100, [1, 2, 3], {"highway": "primary", "name": "Main"}), (105, [1, 5], {"highway": "footway"}),
         (106, [2, 5], {"highway": "footway"}), (107, [3, 5], {"highway": "cycleway"})]


def _roads_pbf(path: Path, ways: list[tuple[int, list[int], dict]]) -> Path:
    return write_pbf(path, NODES, ways)


@pytest.mark.parametrize("engine", ["gdal", "pyosmium"])
def test_osm_extract_without_drivable_roads(tmp_path, engine, english_phrases):
    path = _roads_pbf(tmp_path / "paths.osm.pbf", [w for w in ROADS if w[0] != 100])
    with use_language("uk"), pytest.raises(ValidationError) as uk:
        read_osm_roads(path, engine=engine)
    # three highway ways, none drivable: footway 2, cycleway 1 (most frequent first)
    assert uk.value.message == ("не вдалося прочитати paths.osm.pbf: у витягу немає доріг, придатних для проїзду: "
                                "ліній (way) з тегом highway: 3 (footway 2, cycleway 1); імпортувати нічого")
    assert_ukrainian(uk.value.message, english_phrases)
    with use_language("en"), pytest.raises(ValidationError) as en:
        read_osm_roads(path, engine=engine)
    assert en.value.message == ("cannot read paths.osm.pbf: the extract has no drivable roads: 3 way(s) with a "
                                "highway tag (footway 2, cycleway 1); nothing to import")


def test_osm_import_of_a_truncated_extract_and_its_left_out_ways(empty_db, tmp_path, english_phrases):
    big = _roads_pbf(tmp_path / "big.osm.pbf", [(wid + 1000 * k, refs, tags) for k in range(40)
                                                for wid, refs, tags in ROADS])
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(big.read_bytes()[: big.stat().st_size * 2 // 3])
    whole = _roads_pbf(tmp_path / "whole.osm.pbf", ROADS)
    with connect(empty_db) as store:
        with use_language("uk"), pytest.raises(ValidationError) as uk:
            import_file(store, "roads", cut, extent=None, dry_run=True)
        assert uk.value.message.startswith("не вдалося прочитати cut.osm.pbf: файл пошкоджений або обрізаний (")
        assert_ukrainian(uk.value.message, english_phrases)
        with use_language("en"), pytest.raises(ValidationError) as en:
            import_file(store, "roads", cut, extent=None, dry_run=True)
        assert en.value.message.startswith("cannot read cut.osm.pbf: the file is damaged or truncated (")
        # a good extract: the footways and the cycleway left out are reported as information
        with use_language("uk"):
            rep = import_file(store, "roads", whole, extent=None, dry_run=True)
        assert rep.ok and rep.written == {"roads": 1} and store.counts().get("roads", 0) == 0
        left = problem(rep.problems, None, "highway").message
        assert left == "не взято ліній або площ, непридатних для проїзду: 3 (footway 2, cycleway 1)"
        with use_language("en"):
            rep = import_file(store, "roads", whole, extent=None, dry_run=True)
        assert problem(rep.problems, None, "highway").message == (
            "3 non-drivable way(s) or area(s) left out (footway 2, cycleway 1)")


# -- basemap files without usable features ------------------------------------------------------------


def test_basemap_files_without_usable_features(empty_db, tmp_path, capsys, english_phrases):
    empty = tmp_path / "oblasts.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [30, 50]}}]}),
        encoding="utf-8")
    with connect(empty_db, read_only=True) as store:
        before = store.fingerprint()
    # the command line in Ukrainian (in a fresh context: the language --lang sets ends with the run):
    # refused, the file and the reason named, nothing written
    assert contextvars.Context().run(main, ["--lang", "uk", "basemap", str(empty), "--db", str(empty_db)]) != 0
    err = capsys.readouterr().err
    assert "oblasts.geojson: очікувалися полігони, знайдено: жодного об'єкта" in err
    with connect(empty_db, read_only=True) as store:
        assert store.fingerprint() == before
    with use_language("uk"), pytest.raises(ValidationError) as uk:
        read_admin_boundaries(points)
    assert uk.value.message == "points.geojson: очікувалися полігони, знайдено: ['Point']"
    assert uk.value.problems[0].field == "geometry"
    assert_ukrainian(uk.value.message, english_phrases)
    # an OSM extract with roads only: no rivers, water or boundaries
    roads_only = _roads_pbf(tmp_path / "roads.osm.pbf", ROADS)
    with use_language("uk"), pytest.raises(ValidationError) as osm:
        read_osm_basemap(roads_only)
    assert osm.value.message == "roads.osm.pbf: у витягу немає річок, водойм чи адміністративних меж"
    assert_ukrainian(osm.value.message, english_phrases)
    with use_language("en"), pytest.raises(ValidationError) as en:
        read_admin_boundaries(empty)
    assert en.value.message == "oblasts.geojson: expected polygons, found no features"
    with use_language("en"), pytest.raises(ValidationError) as en:
        read_osm_basemap(roads_only)
    assert en.value.message == "roads.osm.pbf: no rivers, water areas or administrative boundaries in the extract"
