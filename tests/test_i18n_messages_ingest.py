"""What a user is told when a file is read and checked, in Ukrainian and in English.

Bad files go through the real import path (``import_file`` with ``dry_run``: the function the CLI calls;
the Import page calls the ``prepare_import`` inside it) and the problems are read as they are shown
(``str(problem)``, the report's summary lines, ``str(ValidationError)``). In Ukrainian every problem must
be Ukrainian text that names its row and field, with none of the English source text left in it; field,
column and file names stay as they are. In English the text is exactly what it was before translation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import term, use_language
from cimic_geo.i18n_catalogue import extract
from cimic_geo.ingest import ImportReport, import_file
from cimic_geo.ingest.import_report import check_mode
from cimic_geo.ingest.options import check_value_maps, parse_defaults, parse_json_object
from cimic_geo.store import connect

ROOT = Path(__file__).resolve().parents[1]
#: The modules whose messages this file checks (reading, checking values and geometry, options, report).
MODULES = ["cimic_geo/errors.py"] + [f"cimic_geo/ingest/{m}.py" for m in (
    "validate", "values", "geometry_fit", "readers", "csv_source", "options", "import_report")]
CYRILLIC = re.compile(r"[А-ЯҐЄІЇа-яґєії]")
#: English words of the problem frame that must not survive in Ukrainian.
ENGLISH_FRAME = re.compile(r"\b(error|warning|info|row|record|field)\b")

HEADER = "name,kind,capacity,status,lat,lon"
GOOD = "School 1,blast_shelter,120,open,48.5,37.5"


def _english_fragments() -> list[str]:
    """The literal parts (between placeholders) of every English message of :data:`MODULES` that are
    long enough to be recognised: none may appear in a Ukrainian message."""
    found = extract([ROOT / m for m in MODULES], root=ROOT, vocabulary=False)
    out: set[str] = set()
    for msgid, _context in found:
        for text in (msgid if isinstance(msgid, tuple) else (msgid,)):
            for part in re.split(r"(?<!\{)\{[a-z_]+\}(?!\})", text):
                part = part.replace("{{", "{").replace("}}", "}").strip(" ;:,()")
                if len(part) >= 8 and " " in part and re.search(r"[a-z]{3}", part):  # words, not a name
                    out.add(part)
    return sorted(out)


ENGLISH = _english_fragments()


@pytest.fixture(autouse=True)
def ukraine_extent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plausible extent of these imports: Ukraine with about 2 degrees of margin (an empty store
    accepts any lon/lat otherwise)."""
    monkeypatch.setenv("CIMIC_IMPORT_EXTENT", "20,43,42.5,54.5")


@pytest.fixture(scope="module")
def store_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One empty store for the module: every import here is a dry run and writes nothing."""
    from cimic_geo.store import init_store

    path = tmp_path_factory.mktemp("i18n_ingest") / "empty.duckdb"
    init_store(path).close()
    return path


def _csv(tmp_path: Path, name: str, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _dry_run(db: Path, layer: str, path: Path, language: str, **options):
    with use_language(language), connect(db, read_only=True) as store:
        report = import_file(store, layer, path, dry_run=True, **options)
        return report, [str(p) for p in report.problems], report.summary_lines()


def _assert_ukrainian(text: str) -> None:
    assert CYRILLIC.search(text), text
    assert not ENGLISH_FRAME.search(text), text
    left = [e for e in ENGLISH if e in text]
    assert not left, f"English text left in {text!r}: {left}"


def test_the_english_fragments_are_found() -> None:
    """The check below is only as good as this list: it holds the messages of every module checked."""
    assert len(ENGLISH) > 80
    assert "not a number" in ENGLISH and "outside the plausible extent" in ENGLISH
    assert "the file is empty" in ENGLISH and "cannot parse WKT" in ENGLISH


# (file name, lines of the CSV, options, (row, field) of the problem looked for, English text of that problem)
CASES = [
    ("not_a_number.csv", [HEADER, GOOD, "School 2,blast_shelter,abc,open,48.6,37.6"], {},
     (2, "capacity"), "error: row 2, field 'capacity': not a number: 'abc'"),
    ("ambiguous.csv", [HEADER, "School 2,blast_shelter,\"1,000\",open,48.6,37.6"], {},
     (1, "capacity"), "error: row 1, field 'capacity': ambiguous number '1,000': is ',' a thousands separator "
     "(1000) or a decimal mark? write the number without thousands separators"),
    ("below_minimum.csv", [HEADER, "School 2,blast_shelter,-5,open,48.6,37.6"], {},
     (1, "capacity"), "error: row 1, field 'capacity': -5 is below the minimum 0"),
    ("outside.csv", [HEADER, GOOD, "Far,blast_shelter,10,open,10.0,10.0"], {},
     (2, "geometry"), "error: row 2, field 'geometry': outside the plausible extent 20,43,42.5,54.5: bounds "
     "10.0000,10.0000,10.0000,10.0000"),
    # latitude 37.5 and longitude 48.5 are swapped: the point lies in the extent's mirror image
    ("swapped.csv", [HEADER, "Swapped,blast_shelter,10,open,37.5,48.5"], {},
     (1, "geometry"), "error: row 1, field 'geometry': outside the plausible extent 20,43,42.5,54.5: bounds "
     "48.5000,37.5000,48.5000,37.5000 (latitude and longitude look swapped)"),
    ("bad_lat.csv", [HEADER, "School 2,blast_shelter,10,open,forty-eight,37.6"], {},
     (1, "lat"), "error: row 1, field 'lat': not a number: 'forty-eight'"),
    ("line.csv", ["name,kind,capacity,status,wkt", "Road,blast_shelter,10,open,\"LINESTRING (37 48, 37.1 48.1)\""],
     {}, (1, "geometry"), "error: row 1, field 'geometry': geometry type LineString; the layer needs Point"),
    ("bad_wkt.csv", ["name,kind,capacity,status,wkt", "Broken,blast_shelter,10,open,\"POINT (37 oops)\""],
     {}, (1, "wkt"), None),
    ("status.csv", [HEADER, "School 2,blast_shelter,10,maybe,48.6,37.6"], {},
     (1, "status"), "error: row 1, field 'status': unknown value 'maybe'; expected one of open, full, closed, "
     "damaged (or give a value map)"),
    ("date.csv", [HEADER + ",reported_at", GOOD + ",31.02.2025"], {},
     (1, "reported_at"), "error: row 1, field 'reported_at': not a date/time: '31.02.2025'"),
    ("future.csv", [HEADER + ",reported_at", GOOD + ",2999-01-01T00:00Z"], {},
     (1, "reported_at"), "error: row 1, field 'reported_at': 2999-01-01 00:00Z is in the future (later than now + "
     "CIMIC_FUTURE_TOLERANCE_H hours); check the date"),
    ("reliability.csv", [HEADER + ",reliability", GOOD + ",Z9"], {},
     (1, "reliability"), "error: row 1, field 'reliability': 'Z9' is not an admiralty code (A-F + 1-6, e.g. B2)"),
    ("yes_no.csv", [HEADER + ",accessible", GOOD + ",perhaps"], {},
     (1, "accessible"), "error: row 1, field 'accessible': not a yes/no value: 'perhaps'"),
    ("fields.csv", [HEADER, GOOD + ",extra,cells"], {},
     (1, None), "error: row 1: 8 fields, the header has 6 (a separator inside an unquoted value?)"),
    ("unknown_column.csv", [HEADER, GOOD], {"mapping": {"capacity": "places"}},
     (None, "capacity"), "error: field 'capacity': mapped column 'places' is not in the file; columns: name, kind, "
     "capacity, status"),
    ("beds_mapping.csv", [HEADER, GOOD], {"mapping": {"beds": "capacity"}},
     (None, "beds"), None),
    ("no_kind.csv", ["name,capacity,status,lat,lon", "School 1,120,open,48.5,37.5"], {},
     (None, "kind"), "error: field 'kind': required field 'kind' has no source column; map one or give a default "
     "value"),
    ("bad_default.csv", [HEADER, GOOD], {"defaults": {"occupancy": "lots"}},
     (None, "occupancy"), "error: field 'occupancy': default value: not a number: 'lots'"),
    ("bad_provenance.csv", [HEADER, GOOD], {"reliability": "Q7"},
     (None, "reliability"), "error: field 'reliability': reliability 'Q7' is not an admiralty code (A-F + 1-6, "
     "e.g. B2)"),
]


@pytest.mark.parametrize(("name", "lines", "options", "where", "english"), CASES, ids=[c[0] for c in CASES])
def test_bad_csv_problems_are_ukrainian_and_english_is_unchanged(tmp_path: Path, store_db: Path, name: str,
                                                                lines: list[str], options: dict,
                                                                where: tuple, english: str | None) -> None:
    path = _csv(tmp_path, name, *lines)
    report, shown, summary = _dry_run(store_db, "shelters", path, "uk", **options)
    assert not report.can_commit and report.written == {}  # every case has an error: nothing would be written
    row, field = where
    hits = [s for p, s in zip(report.problems, shown, strict=True) if (p.row, p.field) == (row, field)]
    assert hits, shown
    if row is not None:
        assert all(f"рядок {row}" in s for s in hits)
    if field is not None:
        assert all(f"поле '{field}'" in s for s in hits)  # the field name stays as the user types it
    assert any(s.startswith("помилка: ") for s in hits)
    for text in [*shown, *summary]:  # every problem and every line of the report, not only the one looked for
        _assert_ukrainian(text)

    report_en, shown_en, _summary = _dry_run(store_db, "shelters", path, "en", **options)
    assert [(p.row, p.field, p.severity) for p in report_en.problems] == \
        [(p.row, p.field, p.severity) for p in report.problems]
    assert not any(CYRILLIC.search(s) for s in shown_en)
    if english is not None:
        assert english in shown_en


def test_named_cells_and_words_the_user_types_stay_as_they_are(tmp_path: Path, store_db: Path) -> None:
    path = _csv(tmp_path, "status.csv", HEADER, "School 2,blast_shelter,10,maybe,48.6,37.6")
    _report, shown, _summary = _dry_run(store_db, "shelters", path, "uk")
    assert "помилка: рядок 1, поле 'status': невідоме значення 'maybe'; очікується одне з: open, full, closed, " \
        "damaged (або задайте відповідність значень)" in shown
    path = _csv(tmp_path, "outside.csv", HEADER, "Swapped,blast_shelter,10,open,37.5,48.5")
    _report, shown, _summary = _dry_run(store_db, "shelters", path, "uk")
    assert "помилка: рядок 1, поле 'geometry': поза допустимими межами району 20,43,42.5,54.5: межі об'єкта " \
        "48.5000,37.5000,48.5000,37.5000 (схоже, широту й довготу переставлено місцями)" in shown


def test_geojson_with_wrong_geometry_and_unknown_columns(tmp_path: Path, store_db: Path) -> None:
    """A corridor given as a point, an empty geometry and a column the layer has no field for."""
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "c1", "name": "A – B", "status": "draft", "colour": "red"},
         "geometry": {"type": "Point", "coordinates": [37.5, 48.5]}},
        {"type": "Feature", "properties": {"id": "c2", "name": "C – D", "status": "draft", "colour": "blue"},
         "geometry": None},
    ]}
    path = tmp_path / "corridors.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _report, shown, summary = _dry_run(store_db, "corridors", path, "uk")
    assert "помилка: рядок 1, поле 'geometry': тип геометрії Point; шару потрібен тип LineString" in shown
    assert "помилка: рядок 2, поле 'geometry': немає геометрії" in shown
    assert "примітка: не імпортовано стовпців (1): colour" in shown
    for text in [*shown, *summary]:
        _assert_ukrainian(text)
    _report, shown_en, _summary = _dry_run(store_db, "corridors", path, "en")
    assert "error: row 2, field 'geometry': no geometry" in shown_en
    assert "info: 1 column(s) not imported: colour" in shown_en


def test_wrong_encoding(tmp_path: Path, store_db: Path) -> None:
    """A UTF-8 file with one stray byte: the cell is named; a Windows-1251 file: read, with a warning."""
    raw = ("name,kind,capacity,status,lat,lon\nШкола 1,blast_shelter,120,open,48.5,37.5\n"
           "Школа 2,blast_shelter,120,open,48.6,37.6\n").encode()
    stray = tmp_path / "stray.csv"
    stray.write_bytes(raw.replace("Школа 2".encode(), "Шко".encode() + b"\xff" + "ла 2".encode()))
    report, shown, _summary = _dry_run(store_db, "shelters", stray, "uk")
    assert "помилка: рядок 2, поле 'name': байти, некоректні для UTF-8 (0xff), у файлі, що загалом у кодуванні " \
        "UTF-8; виправте значення або збережіть файл у кодуванні UTF-8" in shown
    for text in shown:
        _assert_ukrainian(text)
    _report, shown_en, _summary = _dry_run(store_db, "shelters", stray, "en")
    assert "error: row 2, field 'name': bytes that are not valid UTF-8 (0xff) in an otherwise UTF-8 file; fix the " \
        "value or save the file as UTF-8" in shown_en

    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(raw.decode().encode("cp1251"))
    report, shown, _summary = _dry_run(store_db, "shelters", legacy, "uk")
    assert report.can_commit
    assert "попередження: файл не в кодуванні UTF-8; прочитано як Windows-1251 (кирилиця)" in shown


# (file name, bytes, Ukrainian reason, English reason)
UNREADABLE = [
    ("empty.csv", b"", "файл порожній", "the file is empty"),
    ("blank.csv", b"\n\n", "у файлі немає рядка заголовків", "the file has no header line"),
    ("nul.csv", b"\x00" * 64, "файл здебільшого складається з байтів NUL", "the file is mostly NUL bytes"),
    ("no_geometry.csv", b"name,kind\nA,blast_shelter\n", "немає стовпців геометрії", "no geometry columns"),
    ("dup.csv", b"name,name,lat,lon\nA,B,48,37\n", "повторювані назви стовпців ['name']",
     "duplicate column names ['name']"),
    ("bad_header.csv", b"n\xffame,lat,lon\nA,48,37\n\xd0\xa8\xd0\xba\xd0\xbe\xd0\xbb\xd0\xb0,48,37\n",
     "рядок заголовків містить байти, некоректні для UTF-8 (0xff)", "the header line has bytes that are not valid"),
    ("shelters.xls", b"not a spreadsheet", "непідтримуваний тип файлу '.xls'", "unsupported file type '.xls'"),
    ("truncated.geojson", b'{"type": "FeatureCollection", "features": [', None, None),
    ("crs.geojson", b'{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:999999"}},'
     b' "features": []}', "файл задає систему координат 'EPSG:999999', яка невідома",
     "the file declares the coordinate reference system 'EPSG:999999', which is not known"),
    ("broken.zip", b"PK not really", "некоректний zip-архів", "not a valid zip archive"),
]


@pytest.mark.parametrize(("name", "content", "uk", "en"), UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_unreadable_files_are_refused_in_ukrainian(tmp_path: Path, store_db: Path, name: str, content: bytes,
                                                   uk: str | None, en: str | None) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with use_language("uk"):
        with pytest.raises(ValidationError) as refused:
            _dry_run(store_db, "shelters", path, "uk")
        text = str(refused.value)  # the problems are shown in the language in force when they are shown
    assert text.startswith(f"не вдалося прочитати {name}: ")
    assert "\n  - помилка: " in text  # the problem list, in the same language
    if uk is not None:
        assert uk in text
    else:  # the reason is the reading library's own (English) text: the frame around it is Ukrainian
        assert CYRILLIC.search(refused.value.problems[0].message) is None
    with pytest.raises(ValidationError) as refused_en:
        _dry_run(store_db, "shelters", path, "en")
    assert str(refused_en.value).startswith(f"cannot read {name}: ")
    assert "\n  - error: " in str(refused_en.value)
    if en is not None:
        assert en in str(refused_en.value)
        assert uk is not None
        _assert_ukrainian(text.split(": ", 1)[1])


def test_options_are_refused_in_ukrainian() -> None:
    cases = [
        (lambda: parse_defaults("status", field="--default"), "--default очікує запис у вигляді FIELD=VALUE",
         "--default takes FIELD=VALUE"),
        (lambda: parse_json_object("{not json", field="--mapping"), "--mapping: некоректний JSON",
         "--mapping is not valid JSON"),
        (lambda: parse_json_object("[1]", field="--mapping"), "--mapping має бути об'єктом JSON",
         "--mapping must be a JSON object"),
        (lambda: check_value_maps({"status": "closed"}, field="--values"),
         "відповідності значень задають у вигляді {поле: {мітка у файлі: значення}}, напр. "
         '{"status": {"successful": "closed"}}',
         'value maps must be {field: {source label: value}}, e.g. {"status": {"successful": "closed"}}'),
    ]
    for call, uk, en in cases:
        with use_language("uk"):
            with pytest.raises(ValidationError) as refused:
                call()
            assert str(refused.value).startswith(uk)
        with pytest.raises(ValidationError) as refused_en:
            call()
        assert str(refused_en.value).startswith(en)
    with use_language("uk"):
        with pytest.raises(ValidationError) as refused:
            check_value_maps({"status": "closed"}, field="--values")
        assert "  - помилка: поле '--values.status': для поля 'status' очікувалося {мітка у файлі: значення}, " \
            "отримано str 'closed'" in str(refused.value)
        with pytest.raises(ValidationError) as refused:
            parse_json_object('{"status": "open",}', field="--mapping")
        # the JSON parser's reason, translated; line 1, column 19 = the closing brace after the trailing comma
        assert str(refused.value.problems[0]) == "помилка: поле '--mapping': очікувалася назва властивості в " \
            "подвійних лапках: рядок 1, позиція 19 (символ 18)"
        _assert_ukrainian(str(refused.value))
    with pytest.raises(ValidationError) as refused:
        parse_json_object('{"status": "open",}', field="--mapping")
    assert str(refused.value.problems[0]) == "error: field '--mapping': Expecting property name enclosed in double " \
        "quotes: line 1 column 19 (char 18)"


def test_problem_frame_and_long_lists() -> None:
    problems = [Problem(r, "capacity", "x") for r in range(1, 53)] + [Problem(None, None, "y", "warning")]
    error = ValidationError("title", problems)
    with use_language("uk"):
        assert str(problems[0]) == "помилка: рядок 1, поле 'capacity': x"
        assert str(problems[-1]) == "попередження: y"
        assert str(Problem(None, "id", "z", "info")) == "примітка: поле 'id': z"
        assert str(error).endswith("\n  ... і ще 3")
        # the same words as a table's severity column (the Import page's problems table) shows
        assert [term(s) for s in ("error", "warning", "info")] == ["помилка", "попередження", "примітка"]
    assert str(problems[0]) == "error: row 1, field 'capacity': x"
    assert str(Problem(4, None, "z", "info")) == "info: row 4: z"
    assert str(error).endswith("\n  ... and 3 more")


def _cli(*args: str, language: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "CIMIC_LANGUAGE": language})


def test_cli_import_prints_problems_in_the_language_setting(tmp_path: Path, store_db: Path) -> None:
    bad = _csv(tmp_path, "bad.csv", HEADER, GOOD, "School 2,blast_shelter,abc,open,48.6,37.6",
               "Far,blast_shelter,10,open,10.0,10.0")
    r = _cli("import", "shelters", str(bad), "--db", str(store_db), "--dry-run", language="uk")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "помилка: рядок 2, поле 'capacity': не є числом: 'abc'" in out
    assert "помилка: рядок 3, поле 'geometry': поза допустимими межами району 20,43,42.5,54.5" in out
    assert "нічого не буде записано" in out
    for line in out.splitlines():
        if line.strip():
            _assert_ukrainian(line)
    r = _cli("import", "shelters", str(bad), "--db", str(store_db), "--dry-run", language="en")
    assert r.returncode == 1
    assert "error: row 2, field 'capacity': not a number: 'abc'" in r.stdout
    assert not CYRILLIC.search(r.stdout)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    r = _cli("import", "shelters", str(empty), "--db", str(store_db), "--dry-run", language="uk")
    assert r.returncode == 1 and "помилка: файл порожній" in r.stdout
    # JSON stays data: the same keys and numbers in both languages, the messages in the language set
    r = _cli("import", "shelters", str(bad), "--db", str(store_db), "--dry-run", "--json", language="uk")
    doc = json.loads(r.stdout)
    capacity = next(p for p in doc["problems"] if p["field"] == "capacity")
    assert (capacity["row"], capacity["severity"], capacity["message"]) == (2, "error", "не є числом: 'abc'")


def test_report_lines_of_a_snapshot_import() -> None:
    """The summary of an occupied-area import: numbers rounded to whole km / km² as before, the snapshot's
    date origin (marked where it is found) in the language shown."""
    report = ImportReport(layer="occupied_area", mode="replace", files=["occ_20250101.geojson"], rows_read=1,
                          rows_valid=1, dry_run=True, written={"occupied_area": 1, "front_line": 1},
                          marking="UNCLASSIFIED",
                          snapshots=[{"valid_from": "2025-01-01T00:00Z", "date_from": "file name", "area_km2": 12345.6,
                                      "front_km": 321.4, "boundary_km": 654.9}])
    with use_language("uk"):
        lines = report.summary_lines()
        assert "  знімок 2025-01-01T00:00Z (назва файлу): окуповано 12346 км², лінія зіткнення 321 км (контур 655 км)" \
            in lines
        for line in lines:
            _assert_ukrainian(line)
        with pytest.raises(ValidationError) as refused:
            check_mode("merge")
        assert str(refused.value) == "невідомий режим 'merge'\n  - помилка: поле 'mode': очікується одне з: append, " \
            "upsert, replace"
    assert "  snapshot 2025-01-01T00:00Z (file name): occupied 12346 km², front line 321 km (outline 655 km)" \
        in report.summary_lines()
    assert report.to_dict()["snapshots"][0]["date_from"] == "file name"  # JSON keeps the data as it is
