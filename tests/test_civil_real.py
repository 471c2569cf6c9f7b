"""Civil assessments and 3W over real hromada centres (KSE, 2022) imported into an empty store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from cimic_geo.civil import assessment_overview, partner_overview, settlement_card
from cimic_geo.errors import ValidationError
from cimic_geo.ingest import import_file
from cimic_geo.ingest.spreadsheet import import_sheet
from cimic_geo.store import connect
from tests.sheet_utils import write_sheet

pytestmark = pytest.mark.real_data


def _ids_by_name(store) -> dict[str, str]:
    """Ukrainian name -> id (an import of Cyrillic names keeps them in ``name_uk``; ``name`` is Latin)."""
    rows = store.read("settlements", columns=["name_uk", "admin1"])
    rows = rows[rows["admin1"] == "Харківська"]
    return dict(zip(rows["name_uk"], rows["id"], strict=True))


def test_assessments_and_gaps_on_real_hromada_centres(real_data_dir: Path, empty_db: Path, tmp_path: Path) -> None:
    centres = real_data_dir / "settlements" / "ua_hromada_centers_pop2022_kse.geojson"
    kharkiv_area = real_data_dir / "admin" / "kharkiv_hromada_cod_ab_adm3.geojson"
    area = shapely.geometry.shape(json.loads(kharkiv_area.read_text(encoding="utf-8"))["features"][0]["geometry"])
    area = shapely.set_precision(area.simplify(0.0005), 1e-5)  # ~50 m: fits a spreadsheet cell (32,767 chars)
    with connect(empty_db) as store:
        rep = import_file(store, "settlements", centres, mode="upsert", source="KSE", reliability="B2",
                          mapping={"name": "hromada_center", "population": "population_2022"})
        assert rep.ok
        ids = _ids_by_name(store)
        bohodukhiv, balakliia, barvinkove, kharkiv = (ids["Богодухів"], ids["Балаклія"], ids["Барвінкове"],
                                                       ids["Харків"])
        a = write_sheet(tmp_path / "assessments.xlsx",
                  ["settlement_id", "assessed_at", "population_present", "power_status", "water_status",
                   "heating_status", "assessor", "reliability"],
                  [[bohodukhiv, "2026-11-20 09:00", 30000, "partial", "disrupted", "functional", "CIMIC 2", "B2"],
                   [balakliia, "2026-11-21 09:00", 40000, "functional", "partial", "disrupted", "CIMIC 2", "B3"],
                   [barvinkove, "2026-11-22 09:00", 15000, "functional", "functional", "functional", "CIMIC 5", "C3"],
                   [kharkiv, "2026-11-22 12:00", 1_000_000, "disrupted", "functional", "partial", "CIMIC 1", "B2"]])
        assert import_sheet(store, "assessments", a).written == {"assessments": 4}
        p = write_sheet(tmp_path / "partners.xlsx",
                  ["partner_id", "organisation", "org_type", "sector", "settlement_ids", "area_wkt", "valid_from"],
                  [["3W-1", "Water NGO", "ngo", "water", bohodukhiv, None, "2026-11-01"],
                   ["3W-2", "Oblast administration", "civil_authority", "heating", bohodukhiv, None, "2026-11-01"],
                   # the real Kharkiv hromada boundary as the area: covers the city's centre point
                   ["3W-3", "City utilities", "civil_authority", "power", None, area.wkt, "2026-11-01"]])
        import_sheet(store, "partners", p)
        ov = partner_overview(store, as_of="2026-11-27")
        # needs: Bohodukhiv power (no power partner there) and water (3W-1); Balakliia water and
        # heating (nobody); Kharkiv power (3W-3 by area) and heating (nobody); Barvinkove none
        got = set(zip(ov.gaps.gaps["settlement_id"], ov.gaps.gaps["sector"], strict=True))
        assert got == {(bohodukhiv, "power"), (balakliia, "water"), (balakliia, "heating"), (kharkiv, "heating")}
        assert ov.table.set_index("partner_id").loc["3W-3", "settlements_covered"] >= 1
        # Bohodukhiv assessed 20 Nov 09:00; as of 27 Nov 00:00 that is 6 d 15 h = 6.625 d
        ages = ov.gaps.gaps.set_index(["settlement_id", "sector"])["age_days"]
        assert ages[(bohodukhiv, "power")] == pytest.approx(6.6)
        card = settlement_card(store, kharkiv, as_of="2026-11-27")
        assert card.partners["partner_id"].tolist() == ["3W-3"]
        # stale after 14 days: on 6 Dec Bohodukhiv (20 Nov, 16 d) and Balakliia (21 Nov, 15 d) are stale
        stale = assessment_overview(store, as_of="2026-12-06", stale_days=14)
        states = stale.settlements.set_index("id")["state"]
        assert states[bohodukhiv] == "stale" and states[balakliia] == "stale" and states[barvinkove] == "current"
        assert stale.stale.count("never") == len(stale.settlements) - 4
        # a reference to a settlement that is not in the real list: refused, nothing written
        before = store.fingerprint()
        bad = write_sheet(tmp_path / "bad.xlsx", ["settlement_id", "assessed_at"], [["UA00000000000000000", "2026-11-23"]])
        with pytest.raises(ValidationError) as exc:
            import_sheet(store, "assessments", bad)
        errors = [q for q in exc.value.problems if q.severity == "error"]
        assert [(q.row, q.field) for q in errors] == [(2, "settlement_id")]
        assert "UA00000000000000000" in errors[0].message
        assert store.fingerprint() == before
