"""The plausible extent of an import comes from a setting or the store's data, and imports can say since when
their rows are valid.

Store data in the tests: one shelter at 10.0 E, 50.0 N (Germany, to show nothing is tied to Ukraine). The
extent of the data grown by 2 degrees is 8-12 E, 48-52 N: a shelter at 11.5 E 51.5 N is inside, one at 15.0 E
is outside (3 degrees east of the data's 2-degree margin ends at 12 E).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cimic_geo.errors import ConfigError, ValidationError
from cimic_geo.ingest import import_file
from cimic_geo.ingest.importer import ANY_LONLAT, plausible_extent
from cimic_geo.store import connect
from cimic_geo.store.extent_reads import data_extent, get_import_extent, set_import_extent

HEADER = "id,name,kind,capacity,status,lat,lon"


@pytest.fixture(autouse=True)
def no_extent_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIMIC_IMPORT_EXTENT", raising=False)


def csv(tmp_path: Path, name: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def geometry_errors(report) -> list[int | None]:
    return [p.row for p in report.errors if p.field == "geometry"]


def test_first_import_into_an_empty_store_accepts_any_lon_lat(tmp_path: Path, empty_db: Path) -> None:
    with connect(empty_db) as store:
        assert plausible_extent(store) == ANY_LONLAT and data_extent(store) is None
        rep = import_file(store, "shelters", csv(tmp_path, "de.csv", "G1,Gym,blast_shelter,100,open,50.0,10.0"))
        assert rep.ok, rep.problems
        assert data_extent(store) == (10.0, 50.0, 10.0, 50.0)
        assert plausible_extent(store) == (8.0, 48.0, 12.0, 52.0)


def test_later_imports_are_checked_against_the_data_grown_by_a_margin(tmp_path: Path, empty_db: Path) -> None:
    with connect(empty_db) as store:
        assert import_file(store, "shelters", csv(tmp_path, "a.csv", "G1,Gym,blast_shelter,100,open,50.0,10.0")).ok
        near = import_file(store, "shelters", csv(tmp_path, "b.csv", "G2,Hall,blast_shelter,50,open,51.5,11.5"))
        assert near.ok, near.problems
        far = import_file(store, "shelters", csv(tmp_path, "c.csv", "G3,Far,blast_shelter,50,open,50.0,15.0"))
        assert not far.ok and geometry_errors(far) == [1]
        assert "outside the plausible extent 8,48,13.5,53.5" in str(far.errors[0])  # G2 grew the data


def test_the_setting_overrides_the_data(tmp_path: Path, empty_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with connect(empty_db) as store:
        assert import_file(store, "shelters", csv(tmp_path, "a.csv", "G1,Gym,blast_shelter,100,open,50.0,10.0")).ok
        set_import_extent(store, (0.0, 40.0, 20.0, 60.0))
        assert get_import_extent(store) == (0.0, 40.0, 20.0, 60.0)
        assert import_file(store, "shelters", csv(tmp_path, "b.csv", "G3,Far,blast_shelter,50,open,50.0,15.0")).ok
        # the environment setting comes first
        monkeypatch.setenv("CIMIC_IMPORT_EXTENT", "9,49,11,51")
        assert plausible_extent(store) == (9.0, 49.0, 11.0, 51.0)
        rep = import_file(store, "shelters", csv(tmp_path, "c.csv", "G4,Near,blast_shelter,50,open,51.5,11.5"))
        assert geometry_errors(rep) == [1]
        monkeypatch.setenv("CIMIC_IMPORT_EXTENT", "9,49,8,51")  # min above max
        with pytest.raises(ConfigError):
            plausible_extent(store)
        set_import_extent(store, None)
        assert get_import_extent(store) is None


def test_valid_from_option_sets_when_the_imported_rows_take_effect(tmp_path: Path, empty_db: Path) -> None:
    path = csv(tmp_path, "a.csv", "G1,Gym,blast_shelter,100,open,50.0,10.0")
    since = pd.Timestamp("2026-01-01T00:00Z")
    with connect(empty_db) as store:
        rep = import_file(store, "shelters", path, reported_at="2026-10-01T12:00Z", valid_from=since.isoformat())
        assert rep.ok, rep.problems
        # in force from the given time, not from the report time
        assert list(store.read("shelters", as_of=since)["id"]) == ["G1"]
        assert list(store.read("shelters", as_of=since - pd.Timedelta(seconds=1))["id"]) == []
        assert pd.Timestamp(store.read("shelters")["reported_at"].iloc[0]) == pd.Timestamp("2026-10-01T12:00Z")
        # without the option the report time decides
        later = csv(tmp_path, "b.csv", "G2,Hall,blast_shelter,50,open,50.1,10.1")
        assert import_file(store, "shelters", later, reported_at="2026-10-01T12:00Z").ok
        assert set(store.read("shelters", as_of=pd.Timestamp("2026-06-01T00:00Z"))["id"]) == {"G1"}
        with pytest.raises(ValidationError):
            import_file(store, "shelters", later, mode="upsert", valid_from="not a time")
