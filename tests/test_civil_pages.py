"""The Civil assessments and Partners pages (AppTest) and the ``assessments``/``partners``/``template``
CLI on the demo database: numbers shown are those the package computes."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cimic_geo.auth import Actor
from cimic_geo.civil import assessment_overview, partner_overview, partner_versions
from cimic_geo.cli import main
from cimic_geo.store import connect
from cimic_geo.ui.sign_in import signed_in_for_tests

ROOT = Path(__file__).resolve().parents[1]
VIEWER = Actor("viewer1", "user", "viewer")


def _run(monkeypatch: pytest.MonkeyPatch, db: Path, page: str) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.delenv("CIMIC_STALE_DAYS", raising=False)
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=180)
    with signed_in_for_tests(VIEWER):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_assessments_page_kpis_match_the_overview(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db, "6_Assessments.py")
    with connect(demo_db, read_only=True) as store:
        doc = assessment_overview(store, sector="water", stale_days=14).to_dict()
    assert doc["assessed"] > 0 and doc["stale"] > 0  # the scenario has both
    m = {x.label: x.value for x in at.metric}
    assert m["Settlements assessed"] == f"{doc['assessed']:,} of {doc['settlements']:,}"
    assert m["Stale (> 14 d)"] == f"{doc['stale']:,}" and m["Never assessed"] == f"{doc['never']:,}"
    water = next(r for r in doc["by_sector"] if r["sector"] == "water")
    assert m["water: disrupted / partial"] == f"{water['disrupted']:,} / {water['partial']:,}"
    sectors = at.dataframe[0].value
    assert sectors.set_index("sector").loc["water", "disrupted"] == water["disrupted"]
    assert any("read-only" in i.value for i in at.info)  # no import on a read-only store


def test_partners_page_kpis_and_gaps_match_the_overview(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db, "7_Partners.py")
    with connect(demo_db, read_only=True) as store:
        ov = partner_overview(store)
    m = {x.label: x.value for x in at.metric}
    assert m["3W entries"] == f"{len(ov.table):,}"
    assert m["Settlements with a gap"] == f"{len(ov.gaps.gap_settlements()):,}"
    gaps = next(d.value for d in at.dataframe if "people" in d.value.columns and "settlement_id" in d.value.columns)
    assert len(gaps) == len(ov.gaps.gaps)


def test_cli_json_documents(demo_db, capsys, tmp_path):
    assert main(["assessments", "--db", str(demo_db), "--json", "--stale-days", "14"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["current"] + doc["stale"] + doc["never"] == doc["settlements"]
    assert main(["partners", "--db", str(demo_db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["gap_settlements"] == len({g["settlement_id"] for g in doc["gaps"]})
    assert sum(r["gaps"] for r in doc["by_sector"]) == len(doc["gaps"])
    out = tmp_path / "partners.xlsx"
    assert main(["template", "partners", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    header = next(openpyxl.load_workbook(out)["partners"].iter_rows(values_only=True))
    assert header[:4] == ("partner_id", "organisation", "org_type", "sector") and "area_wkt" in header
    assert main(["template", "partners", "--out", str(out)]) == 2  # exists: refuses without --force


def test_cli_import_refuses_a_bad_sheet_with_row_and_column(demo_db_copy, capsys, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["settlement_id", "assessed_at", "population_present", "water_status"])
    ws.append(["S00002", "2026-11-19", 10, "functional"])
    ws.append(["S00002", "2026-11-20", -3, "functional"])
    wb.save(tmp_path / "a.xlsx")
    with connect(demo_db_copy, read_only=True) as store:
        before = store.fingerprint()
    # the exercise team's sheet into the exercise store: only the bad value is an error
    assert main(["import", "assessments", str(tmp_path / "a.xlsx"), "--exercise", "--db", str(demo_db_copy),
                 "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    errors = [p for p in doc["problems"] if p["severity"] == "error"]
    assert [(p["row"], p["field"]) for p in errors] == [(3, "population_present")]
    with connect(demo_db_copy, read_only=True) as store:
        assert store.fingerprint() == before


def test_cli_ends_a_partner_entry_and_keeps_its_history(demo_db_copy, capsys):
    with connect(demo_db_copy, read_only=True) as store:
        ov = partner_overview(store)
        pid = ov.table["partner_id"].iloc[0]
        start = ov.partners.set_index("partner_id").loc[pid, "valid_from"]
    at = (start + pd.Timedelta(days=1)).isoformat()
    assert main(["partners", "--end", pid, "--at", at, "--db", str(demo_db_copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["partner_id"] == pid
    with connect(demo_db_copy, read_only=True) as store:
        assert pid not in set(partner_overview(store).table["partner_id"])
        before_end = (start + pd.Timedelta(hours=12)).isoformat()  # between its start and its end
        assert pid in set(partner_overview(store, as_of=before_end).partners["partner_id"])
        versions = partner_versions(store, pid)
    assert versions["valid_to"].iloc[-1] == pd.Timestamp(at)
