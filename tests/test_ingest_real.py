"""Import of the real public files in ../shared/data/real (skipped when the folder is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import shape

from cimic_geo.analytics.front_change import front_change
from cimic_geo.geo import geodesic_length_km
from cimic_geo.ingest import border_from_frame, import_file, read_source
from cimic_geo.store import connect


@pytest.fixture(autouse=True)
def ukraine_extent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plausible extent of these imports: Ukraine with about 2 degrees of margin (an empty store would
    accept any lon/lat otherwise)."""
    monkeypatch.setenv("CIMIC_IMPORT_EXTENT", "20,43,42.5,54.5")


pytestmark = pytest.mark.real_data

_GEOD = pyproj.Geod(ellps="WGS84")


def _geod_km2(geom) -> float:
    """Independent geodesic area: sum of |area| of each polygon part, via pyproj.Geod directly."""
    total = 0.0
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon":
            continue
        a, _ = _GEOD.geometry_area_perimeter(part)
        total += abs(a)
    return total / 1e6


def _load_union(path: Path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    return shapely.union_all([shape(f["geometry"]) for f in doc["features"] if f.get("geometry")])


@pytest.fixture(scope="module")
def border(real_data_dir: Path):
    return border_from_frame(read_source(real_data_dir / "admin" / "ua_oblasts_osm_EugeneBorshch.geojson").frame)


def test_deepstate_monthly_history_and_gained_lost_areas(real_data_dir: Path, empty_db: Path, border) -> None:
    files = sorted((real_data_dir / "frontline" / "deepstate_occupied_monthly").glob("deepstatemap_data_*.geojson"))
    assert len(files) >= 3
    with connect(empty_db) as store:
        rep = import_file(store, "occupied_area", files, border=border, source="DeepState via cyterat",
                          reliability="B2")
        assert rep.ok, rep.summary_lines()
        times = store.history_times("occupied_area")
        assert len(times) == len(files) == store.counts()["front_line"]
        assert times[0] == pd.Timestamp(files[0].stem.split("_")[-1], tz="UTC")
        occ = store.read("occupied_area").sort_values("valid_from").reset_index(drop=True)
        fronts = store.read("front_line").sort_values("valid_from").reset_index(drop=True)
        # chaining: each snapshot ends where the next begins; the last is current
        assert list(occ["valid_to"][:-1]) == list(occ["valid_from"][1:]) and pd.isna(occ["valid_to"].iloc[-1])
        checked = 0
        for i in range(len(files) - 1):
            before = store.read("occupied_area", as_of=times[i])
            after = store.read("occupied_area", as_of=times[i + 1])
            ch = front_change(before, after)
            # independent: the raw files, shapely differences, pyproj.Geod areas
            b, a = _load_union(files[i]), _load_union(files[i + 1])
            gained = _geod_km2(shapely.difference(a, b))
            lost = _geod_km2(shapely.difference(b, a))
            assert ch.gained_km2 == pytest.approx(gained, rel=1e-6, abs=1e-3)
            assert ch.lost_km2 == pytest.approx(lost, rel=1e-6, abs=1e-3)
            checked += 1
        assert checked == len(files) - 1
    # sanity: the occupied area is about 110,000 km² and grew over the period; the front line
    # (border and coast removed) is 1,000-1,600 km long, far less than the polygon's whole boundary
    areas = [_geod_km2(g) for g in occ.geometry]
    assert 100_000 < areas[0] < areas[-1] < 130_000
    for line, poly in zip(fronts.geometry, occ.geometry, strict=True):
        km = geodesic_length_km(line)
        assert 1_000 < km < 1_600
        assert km < 0.5 * geodesic_length_km(poly.boundary)
    net_total = sum(front_change(occ.geometry.iloc[i], occ.geometry.iloc[i + 1]).net_km2 for i in range(len(occ) - 1))
    assert net_total == pytest.approx(areas[-1] - areas[0], rel=0.01)


def test_deepstate_raw_export_keeps_only_occupied_in_extent(real_data_dir: Path, empty_db: Path) -> None:
    raw = real_data_dir / "frontline" / "deepstate_raw_history" / "deepstate_20250802T2020_1754166026.geojson"
    monthly = real_data_dir / "frontline" / "deepstate_occupied_monthly" / "deepstatemap_data_20250801.geojson"
    if not raw.exists() or not monthly.exists():
        pytest.skip("snapshot files missing")
    with connect(empty_db) as store:
        rep = import_file(store, "occupied_area", [raw], allow_outline_front=True)
        assert rep.ok, rep.summary_lines()
        occ = store.read("occupied_area").iloc[0]
    assert occ["valid_from"] == pd.Timestamp("2025-08-02 20:20", tz="UTC")
    # far-away "occupied" polygons (Petsamo, Kurils, ...) and points were dropped
    x0, y0, x1, y1 = occ.geometry.bounds
    assert x0 > 30 and x1 < 41 and y0 > 44 and y1 < 53
    text = " ".join(p.message for p in rep.warnings)
    assert "Point" in text and "Petsamo" in text and "liberated" in text
    # one day apart, the two sources agree on the occupied area within 2 %
    assert _geod_km2(occ.geometry) == pytest.approx(_geod_km2(_load_union(monthly)), rel=0.02)


def test_hromada_centres_as_settlements(real_data_dir: Path, empty_db: Path) -> None:
    path = real_data_dir / "settlements" / "ua_hromada_centers_pop2022_kse.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    with connect(empty_db) as store:
        rep = import_file(store, "settlements", path, mode="upsert", source="KSE", reliability="B2",
                          mapping={"name": "hromada_center", "population": "population_2022"})
        assert rep.ok, rep.summary_lines()
        rows = store.read("settlements")
    assert len(rows) == len(doc["features"]) == 1469
    expected = sum(int(f["properties"]["population_2022"]) for f in doc["features"])
    assert int(rows["population"].sum()) == expected
    izium = rows[(rows["name_uk"] == "Ізюм") & (rows["name"] == "Izium")]
    assert len(izium) == 1 and izium.iloc[0]["admin1"] == "Харківська"
    assert set(rows["settlement_type"]) == {"city", "town", "village"}
    assert set(rows["reliability"]) == {"B2"} and set(rows["source"]) == {"KSE"}


def test_corridors_2022(real_data_dir: Path, empty_db: Path) -> None:
    path = real_data_dir / "corridors" / "humanitarian_corridors_2022_lines.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    # independently: lines whose start and end are the same point cannot be stored
    degenerate = {i + 1 for i, f in enumerate(doc["features"])
                  if len({tuple(c) for c in f["geometry"]["coordinates"]}) < 2}
    values = {"status": {"successful": "closed", "disputed": "suspended"}}
    with connect(empty_db) as store:
        rep = import_file(store, "corridors", path, value_maps=values, source="PeaceRep", reliability="C3")
        assert not rep.ok and {p.row for p in rep.errors} == degenerate
        assert store.counts()["corridors"] == 0
        rep = import_file(store, "corridors", path, value_maps=values, only_valid=True, source="PeaceRep")
        assert rep.ok
        rows = store.read("corridors")
    assert len(rows) == len(doc["features"]) - len(degenerate) == 278
    counts = rows["status"].value_counts().to_dict()
    src = pd.Series([f["properties"]["status_result"] for i, f in enumerate(doc["features"])
                     if i + 1 not in degenerate]).value_counts().to_dict()
    assert counts["closed"] == src["successful"]
    assert counts["proposed"] == src["proposed route/outcome unknown"]
    assert counts["suspended"] == src["disputed"] + src["unsuccessful/disrupted"]


def test_power_plants_as_infrastructure(real_data_dir: Path, empty_db: Path) -> None:
    path = real_data_dir / "infrastructure" / "ua_power_plants_gppd.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    with connect(empty_db) as store:
        rep = import_file(store, "infrastructure", path, defaults={"sector": "power", "damage": "none"},
                          reliability="B2")
        assert rep.ok, rep.summary_lines()
        rows = store.read("infrastructure")
    assert len(rows) == 64 and set(rows["sector"]) == {"power"}
    assert rows["capacity_mw"].sum() == pytest.approx(sum(float(f["properties"]["capacity_mw"])
                                                          for f in doc["features"]))
    assert set(rows["id"]) == {f["properties"]["gppd_idnr"] for f in doc["features"]}
    # per-row provenance from the file's own "source" column
    assert "Energoatom" in set(rows["source"])


def test_kyiv_shelter_sample(real_data_dir: Path, empty_db: Path) -> None:
    path = real_data_dir / "shelters" / "kyiv_area_shelters_sample_22.geojson"
    with connect(empty_db) as store:
        rep = import_file(store, "shelters", path, mapping={"kind": "type"},
                          defaults={"status": "open", "capacity": 0}, reliability="C3")
        assert rep.ok, rep.summary_lines()
        rows = store.read("shelters").set_index("id")
        # an updated list replaces the rows with the same ids
        rep = import_file(store, "shelters", path, mode="upsert", mapping={"kind": "type"},
                          defaults={"status": "full", "capacity": 0})
        assert rep.ok and store.counts()["shelters"] == 22
        assert set(store.read("shelters")["status"]) == {"full"}
    assert len(rows) == 22 and set(rows["kind"]) == {"blast_shelter"}
    assert bool(rows.loc["brada-1", "accessible"]) is False  # "Відсутній" (ramp absent)
    assert all(rows["name"].str.len() > 0)
