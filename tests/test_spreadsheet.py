"""Spreadsheet (CSV and XLSX) import of evacuations, assessments and partners; templates; bad input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from cimic_geo.errors import ValidationError
from cimic_geo.ingest.importer import import_file, prepare_import
from cimic_geo.ingest.sheets import SHEET_LAYERS, read_sheet, sheet_columns, write_template
from cimic_geo.ingest.spreadsheet import import_sheet
from cimic_geo.schema import LAYERS
from cimic_geo.store import connect
from cimic_geo.store.evacuation_records import evacuation_history
from cimic_geo.store.partner_records import partner_history, read_partners
from cimic_geo.store.settings import holdings, import_markings
from tests.sheet_utils import SETTLEMENTS, SHELTERS, write_sheet


@pytest.fixture
def store(empty_db):
    with connect(empty_db) as s:
        s.write("settlements", SETTLEMENTS)
        s.write("shelters", SHELTERS)
        yield s


A_HEADER = ["settlement_id", "assessed_at", "population_present", "power_status", "water_status", "priority_needs",
            "assessor", "reliability"]


def a_rows() -> list[list]:
    return [
        ["S1", datetime(2026, 11, 20, 9, 0), 80, "functional", "disrupted", "water; generators", "Team 2", "B2"],
        ["S2", datetime(2026, 11, 21, 10, 30), 150, "partial", "functional", None, "Team 2", "C3"],
        ["S1", datetime(2026, 11, 24, 8, 0), 75, "functional", "partial", "water", "Team 5", "B2"],
    ]


# -- templates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", SHEET_LAYERS)
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_template_header_is_the_layer_columns_and_reads_back(tmp_path, layer, suffix):
    path = write_template(layer, tmp_path / f"{layer}{suffix}")
    sheet = read_sheet(path)
    assert list(sheet.frame.columns) == [c.name for c in sheet_columns(layer)]
    assert len(sheet.frame) == 0 and sheet.header_row == 1
    if suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == [layer, "help"]
        help_rows = list(wb["help"].iter_rows(values_only=True))
        assert len(help_rows) == len(sheet_columns(layer)) + 1


def test_assessment_template_lists_every_sector_status_with_choices():
    cols = {c.name: c for c in sheet_columns("assessments")}
    for sector in ("power", "water", "heating", "gas", "telecom", "health", "food", "access"):
        assert cols[f"{sector}_status"].choices == ("functional", "partial", "disrupted", "unknown")
    assert cols["settlement_id"].required and not cols["id"].required


# -- good imports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_assessments_import_places_rows_on_their_settlements(store, tmp_path, suffix):
    path = write_sheet(tmp_path / f"a{suffix}", A_HEADER, a_rows())
    report = import_sheet(store, "assessments", path)
    assert report.committed and report.written == {"assessments": 3}
    rows = store.read("assessments").set_index("id")
    assert sorted(rows.index) == ["S1-20261120T0900Z", "S1-20261124T0800Z", "S2-20261121T1030Z"]
    assert rows.loc["S2-20261121T1030Z", "power_status"] == "partial"
    assert rows.loc["S2-20261121T1030Z", "reliability"] == "C3"
    # sectors not in the sheet are recorded as unknown, not left empty
    assert set(rows["gas_status"]) == {"unknown"} and set(rows["heating_status"]) == {"unknown"}
    assert rows.loc["S1-20261124T0800Z"].geometry.equals(shapely.Point(30.0, 50.0))
    assert rows.loc["S1-20261120T0900Z", "source"] == f"a{suffix}"
    # re-importing the same sheet corrects the same rows (same settlement and time = same assessment)
    import_sheet(store, "assessments", path)
    assert store.counts()["assessments"] == 3


def test_partners_import_by_settlements_and_polygon_keeps_versions(store, tmp_path):
    header = ["partner_id", "organisation", "org_type", "sector", "activity", "settlement_ids", "area_wkt",
              "contact", "valid_from"]
    rows = [["3W-1", "Water NGO", "ngo", "water", "trucking", "S1; S2", None, "ops desk", "2026-11-01"],
            ["3W-2", "SES Kharkiv", "ses", "power", "generators", None,
             "POLYGON((29.9 49.9, 30.15 49.9, 30.15 50.05, 29.9 50.05, 29.9 49.9))", "duty officer", "2026-11-01"]]
    path = write_sheet(tmp_path / "p.xlsx", header, rows)
    import_sheet(store, "partners", path)
    cur = read_partners(store).set_index("partner_id")
    assert cur.loc["3W-1"].geometry.equals(shapely.MultiPoint([(30.0, 50.0), (30.1, 50.0)]))
    assert cur.loc["3W-2"].geometry.geom_type == "Polygon" and cur.loc["3W-2", "org_type"] == "ses"
    # the same sheet again: no new version
    import_sheet(store, "partners", path)
    assert store.counts()["partners"] == 2
    rows[0][5] = "S1;S2;S3"
    rows[0][8] = "2026-11-10"
    import_sheet(store, "partners", write_sheet(tmp_path / "p2.xlsx", header, rows))
    hist = partner_history(store, "3W-1")
    assert hist["settlement_ids"].tolist() == ["S1; S2", "S1;S2;S3"]
    assert hist["valid_to"].iloc[0] == pd.Timestamp("2026-11-10", tz="UTC")


def test_evacuations_import_with_pickup_point_and_history(store, tmp_path):
    header = ["id", "settlement_id", "pickup", "people", "children", "elderly", "status", "requested_at",
              "destination_shelter_id", "lat", "lon"]
    rows = [["EV-1", "S1", "church", 12, 3, 4, "requested", "2026-11-25T08:00Z", None, None, None],
            ["EV-2", None, "farm", 2, 0, 2, "planned", "2026-11-25T09:00Z", "SH1", 50.02, 30.03]]
    report = import_sheet(store, "evacuations", write_sheet(tmp_path / "e.csv", header, rows))
    assert report.written == {"evacuations": 2}
    ev = store.read("evacuations").set_index("id")
    assert ev.loc["EV-1"].geometry.equals(shapely.Point(30.0, 50.0))
    assert ev.loc["EV-2"].geometry.equals(shapely.Point(30.03, 50.02))
    assert ev.loc["EV-2", "version"] == 1
    hist = evacuation_history(store, "EV-2")
    assert hist["action"].tolist() == ["import"] and hist["to_status"].tolist() == ["planned"]


# -- bad input: nothing written, problems name row and column ---------------------------------------------


def _expect(store, layer, path, row, column, words):
    before = store.fingerprint()
    with pytest.raises(ValidationError) as exc:
        import_sheet(store, layer, path)
    assert store.fingerprint() == before
    hits = [p for p in exc.value.problems if p.row == row and p.field == column and p.severity == "error"]
    assert hits, [str(p) for p in exc.value.problems]
    assert all(w in hits[0].message for w in words), hits[0].message
    return exc.value


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_wrong_header(store, tmp_path, suffix):
    header = ["settlement_id", "assessed_at", "watr_status"]
    path = write_sheet(tmp_path / f"h{suffix}", header, [["S1", "2026-11-20", "functional"]])
    err = _expect(store, "assessments", path, 1, "watr_status", ["unknown column", "water_status"])
    assert "template" in err.message


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_missing_required_column(store, tmp_path, suffix):
    path = write_sheet(tmp_path / f"m{suffix}", ["settlement_id", "water_status"], [["S1", "functional"]])
    _expect(store, "assessments", path, 1, "assessed_at", ["required column"])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_unknown_status(store, tmp_path, suffix):
    rows = a_rows()
    rows[1][4] = "brokenish"  # record 2 -> sheet row 3
    _expect(store, "assessments", write_sheet(tmp_path / f"s{suffix}", A_HEADER, rows), 3, "water_status",
            ["brokenish", "functional, partial, disrupted, unknown"])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_negative_population(store, tmp_path, suffix):
    rows = a_rows()
    rows[2][2] = -5  # record 3 -> sheet row 4
    _expect(store, "assessments", write_sheet(tmp_path / f"n{suffix}", A_HEADER, rows), 4, "population_present",
            ["-5", "minimum"])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_unknown_settlement(store, tmp_path, suffix):
    rows = a_rows()
    rows[0][0] = "S404"
    _expect(store, "assessments", write_sheet(tmp_path / f"u{suffix}", A_HEADER, rows), 2, "settlement_id",
            ["S404", "does not exist"])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_evacuation_negative_people_and_unknown_shelter(store, tmp_path, suffix):
    header = ["id", "settlement_id", "people", "children", "status", "requested_at", "destination_shelter_id"]
    rows = [["EV-1", "S1", 10, 2, "requested", "2026-11-25", None],
            ["EV-2", "S2", 5, -1, "planned", "2026-11-25", "SH-NOPE"],
            ["EV-3", "S3", 4, 0, "teleported", "2026-11-25", None]]
    path = write_sheet(tmp_path / f"e{suffix}", header, rows)
    err = _expect(store, "evacuations", path, 3, "children", ["-1"])
    shelter = [p for p in err.problems if p.row == 3 and p.field == "destination_shelter_id"]
    assert shelter and "SH-NOPE" in shelter[0].message and "does not exist" in shelter[0].message
    assert [p for p in err.problems if p.row == 4 and p.field == "status" and "teleported" in p.message]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_partner_with_unknown_settlement_and_bad_type(store, tmp_path, suffix):
    header = ["partner_id", "organisation", "org_type", "sector", "settlement_ids"]
    rows = [["3W-1", "A", "ngo", "water", "S1;S9"], ["3W-2", "B", "mafia", "food", "S2"]]
    path = write_sheet(tmp_path / f"p{suffix}", header, rows)
    err = _expect(store, "partners", path, 2, "settlement_ids", ["S9", "does not exist"])
    assert [p for p in err.problems if p.row == 3 and p.field == "org_type" and "mafia" in p.message]


def test_not_a_workbook_and_unsupported_type(store, tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"this is not a zip")
    with pytest.raises(ValidationError, match=r"not an \.xlsx"):
        import_sheet(store, "assessments", bad)
    other = tmp_path / "x.ods"
    other.write_bytes(b"abc")
    with pytest.raises(ValidationError, match="unsupported"):
        import_sheet(store, "assessments", other)


def test_import_is_audited_and_needs_the_import_role(store, tmp_path):
    from cimic_geo.auth import Actor
    from cimic_geo.errors import PermissionDeniedError
    from cimic_geo.store.audit import read_audit

    path = write_sheet(tmp_path / "a.xlsx", A_HEADER, a_rows())
    viewer = Actor("viewer1", "user", "viewer")
    n_before = store.counts()["assessments"]
    with pytest.raises(PermissionDeniedError):
        import_sheet(store, "assessments", path, actor=viewer)
    assert store.counts()["assessments"] == n_before
    import_sheet(store, "assessments", path, actor=Actor("lt.kov", "user", "editor"))
    trail = read_audit(store, layer="assessments")
    done = trail[trail["outcome"] == "ok"].iloc[0]
    assert done["actor"] == "lt.kov" and done["action"] == "import" and done["source_file"] == "a.xlsx"
    assert len(done["source_sha256"]) == 64
    assert (trail["outcome"] == "refused").sum() == 1


@pytest.mark.parametrize("layer", SHEET_LAYERS)
def test_geo_file_import_refuses_the_spreadsheet_layers(store, tmp_path, layer):
    # A well-formed GeoJSON point on a known settlement: the generic importer would skip the
    # settlement checks, the evacuation rules and history and the partner versions, so it refuses.
    path = tmp_path / f"{layer}.geojson"
    gpd.GeoDataFrame({"id": ["X1"], "settlement_id": ["S1"], "status": ["requested"], "people": [3]},
                     geometry=shapely.points([(30.0, 50.0)]), crs="EPSG:4326").to_file(path, driver="GeoJSON")
    before = store.fingerprint()
    with pytest.raises(ValidationError, match="spreadsheet template") as exc:
        import_file(store, layer, path, mode="upsert")
    assert [(p.field, f"import {layer} FILE.xlsx" in p.message) for p in exc.value.problems] == [("layer", True)]
    with pytest.raises(ValidationError, match="spreadsheet template"):
        prepare_import(layer, path)
    assert store.fingerprint() == before


def test_import_page_leaves_the_spreadsheet_layers_out(monkeypatch, empty_db):
    monkeypatch.setenv("CIMIC_DB", str(empty_db))
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "4_Import.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    offered = set(at.sidebar.selectbox[0].options)  # the layers' titles
    assert {LAYERS["settlements"].title, LAYERS["shelters"].title} <= offered
    assert len(offered) == len(LAYERS) - 3 and not offered & {LAYERS[n].title for n in SHEET_LAYERS}
    assert any("spreadsheet templates" in c.value for c in at.sidebar.caption)


def test_real_sheet_into_an_exercise_store_needs_confirmation(demo_db_copy, tmp_path):
    """A liaison officer's sheet is real data unless marked exercise; the exercise store asks first."""
    with connect(demo_db_copy) as store:
        sid = str(store.query_df("SELECT id FROM settlements ORDER BY id LIMIT 1")["id"][0])
        rows = [[sid, datetime(2026, 11, 20, 9, 0), 80, "functional", "disrupted", "water", "Team 2", "B2"]]
        path = write_sheet(tmp_path / "a.csv", A_HEADER, rows)
        before = store.fingerprint()
        with pytest.raises(ValidationError) as exc:
            import_sheet(store, "assessments", path)
        assert [p.field for p in exc.value.problems if p.severity == "error"] == ["marking"]
        assert "holds EXERCISE data" in exc.value.problems[0].message
        assert store.fingerprint() == before and not holdings(store).real
        report = import_sheet(store, "assessments", path, exercise=True)
        assert report.kind == "exercise" and not holdings(store).real
        report = import_sheet(store, "assessments", path, allow_mixed=True)
        assert report.kind == "real" and any(p.field == "marking" and p.severity == "warning" for p in report.problems)
        held = holdings(store)
        assert held.exercise and held.real and held.banner == "EXERCISE + REAL DATA MIXED"
        marks = import_markings(store)
        assert list(marks["layer"].tail(2)) == ["assessments", "assessments"]
        assert list(marks["kind"].tail(2)) == ["exercise", "real"]
