"""Exercise and real data: every import records which it brought; mixing them in one store is refused
unless confirmed; the banner and the home page follow what the store holds; markings come from the
configured list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cimic_geo.cli import main
from cimic_geo.config import DEFAULT_MARKINGS, markings
from cimic_geo.errors import ConfigError
from cimic_geo.ingest import import_file
from cimic_geo.store import connect
from cimic_geo.store.settings import holdings, import_markings

ROOT = Path(__file__).resolve().parents[1]
CSV = "id,name,kind,capacity,occupancy,status,lat,lon\nR-1,Real shelter,blast_shelter,120,10,open,48.5,37.5\n"


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "shelters.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_markings_come_from_the_configured_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIMIC_MARKINGS", raising=False)
    assert markings() == DEFAULT_MARKINGS and markings()[0] == "EXERCISE"
    monkeypatch.setenv("CIMIC_MARKINGS", "official, nato  restricted,OFFICIAL")
    assert markings() == ("EXERCISE", "OFFICIAL", "NATO RESTRICTED")
    with pytest.raises(ConfigError):
        markings("EXERCISE")  # nothing for real data
    with pytest.raises(ConfigError):
        markings("X" * 41)


def test_cli_refuses_real_data_into_the_exercise_store_without_the_flag(demo_db_copy: Path, tmp_path: Path,
                                                                         capsys) -> None:
    path = _csv(tmp_path)
    with connect(demo_db_copy, read_only=True) as store:
        before = store.fingerprint()
        held = holdings(store)
    assert held.exercise and not held.real and held.banner == "EXERCISE"
    assert main(["import", "shelters", str(path), "--db", str(demo_db_copy), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    errors = [p for p in doc["problems"] if p["severity"] == "error"]
    assert [p["field"] for p in errors] == ["marking"] and "holds EXERCISE data" in errors[0]["message"]
    # --only-valid does not get round it
    assert main(["import", "shelters", str(path), "--only-valid", "--db", str(demo_db_copy), "--json"]) == 1
    capsys.readouterr()
    with connect(demo_db_copy, read_only=True) as store:
        assert store.fingerprint() == before
    # marked as exercise data: accepted, the store stays exercise only
    assert main(["import", "shelters", str(path), "--exercise", "--db", str(demo_db_copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "exercise"
    with connect(demo_db_copy, read_only=True) as store:
        assert holdings(store).banner == "EXERCISE"
    # confirmed: written, recorded as real, and the store is now mixed
    assert main(["import", "shelters", str(path), "--mode", "upsert", "--allow-mixed", "--marking", "official",
                 "--db", str(demo_db_copy), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["kind"], doc["marking"]) == ("real", "OFFICIAL")
    with connect(demo_db_copy, read_only=True) as store:
        held = holdings(store)
        log = import_markings(store)
    assert held.mixed and held.banner == "EXERCISE + REAL DATA MIXED" and held.real_marking == "OFFICIAL"
    assert main(["info", "--db", str(demo_db_copy), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["data"]
    assert (info["exercise"], info["real"], info["banner"]) == (True, True, "EXERCISE + REAL DATA MIXED")
    assert log[["layer", "kind", "marking"]].values.tolist() == [["shelters", "exercise", "EXERCISE"],
                                                                 ["shelters", "real", "OFFICIAL"]]
    # a marking outside the list is refused by the CLI's parser
    with pytest.raises(SystemExit):
        main(["import", "shelters", str(path), "--marking", "SECRET-ISH", "--db", str(demo_db_copy)])


def test_real_only_store_and_exercise_into_it(empty_db: Path, tmp_path: Path) -> None:
    path = _csv(tmp_path)
    with connect(empty_db) as store:
        rep = import_file(store, "shelters", path, marking="unclassified")
        assert rep.ok and (rep.kind, rep.marking) == ("real", "UNCLASSIFIED")
        held = holdings(store)
        assert held.real and not held.exercise and held.banner == "UNCLASSIFIED"
        before = store.fingerprint()
        rep = import_file(store, "shelters", path, mode="upsert", exercise=True)
        assert not rep.ok and store.fingerprint() == before
        assert "holds real data" in rep.errors[0].message
        rep = import_file(store, "shelters", path, mode="upsert", marking="TOP SECRET")
        assert not rep.ok and [p.field for p in rep.errors] == ["marking"]
        # the next real import takes the store's marking by default
        rep = import_file(store, "shelters", path, mode="upsert")
        assert rep.ok and rep.marking == "UNCLASSIFIED"


def _home(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.setenv("CIMIC_READ_ONLY", "1")
    monkeypatch.delenv("CIMIC_MARKING", raising=False)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_home_page_shows_the_mixed_warning_after_a_real_import(monkeypatch: pytest.MonkeyPatch, demo_db: Path,
                                                               demo_db_copy: Path, tmp_path: Path) -> None:
    at = _home(monkeypatch, demo_db)  # the exercise store as seeded
    at.run()
    assert not at.exception
    assert any("It is not real operational data" in i.value for i in at.info) and not at.error
    with connect(demo_db_copy) as store:  # the same store after a real import (confirmed)
        assert import_file(store, "shelters", _csv(tmp_path), allow_mixed=True).ok
    at = _home(monkeypatch, demo_db_copy)
    at.run()
    assert not at.exception
    assert any("EXERCISE and REAL data mixed" in e.value for e in at.error)
    assert not any("It is not real operational data" in i.value for i in at.info)
    banner = " ".join(m.body for m in at.markdown if "cimic-marking" in m.body)
    assert "EXERCISE + REAL DATA MIXED" in banner
