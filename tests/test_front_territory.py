"""The front line derived from an occupied area and the store's state territory: coasts and state
borders are never front line; without a territory the import is refused unless confirmed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
import shapely.ops
from shapely.geometry import box, mapping

from cimic_geo.cli import main
from cimic_geo.geo import geodesic_distance_km, geodesic_length_km
from cimic_geo.ingest import import_file, prepare_import
from cimic_geo.ingest.front_snapshots import derive_front_line, outline_spacing_km, territory_problems
from cimic_geo.store import connect
from cimic_geo.store.settings import get_territory, set_territory

# WGS84 by hand: a = 6378.137 km, e² = 0.00669438.
# One degree of latitude around 47.5°N: M = a(1-e²)/(1-e² sin²φ)^1.5 · π/180
#   sin²47.5° = 0.54362; 1 - e²·0.54362 = 0.996361; ^1.5 = 0.994546; a(1-e²) = 6335.44 km
#   M = 6370.18 km -> 111.18 km per degree.
MERIDIAN_47_48_KM = 111.18
# One degree of longitude along 48°N: N cos φ · π/180 = a cos φ / sqrt(1 - e² sin²φ) · π/180
#   cos 48° = 0.66913, sin²48° = 0.55226, sqrt(1 - 0.0036971) = 0.998150
#   6378.137 · 0.66913 / 0.998150 · 0.0174533 = 74.63 km (the geodesic between the two corners is
#   shorter than the parallel by a few metres only).
PARALLEL_48_KM = 74.63

# Land: 36-39°E, 47-49°N; the sea south of 47°N (the territory's southern edge is the coast).
LAND = box(36.0, 47.0, 39.0, 49.0)
# The occupied square 37-38°E, 47-48°N touches the coast with its southern edge.
SQUARE = box(37.0, 47.0, 38.0, 48.0)


def test_square_on_the_coast_keeps_only_its_land_edges() -> None:
    # land edges: west and east meridians (47-48°N) and the northern parallel (37-38°E)
    expected = 2 * MERIDIAN_47_48_KM + PARALLEL_48_KM  # 296.99 km
    line = derive_front_line(SQUARE, border=LAND, tolerance_km=0.01)
    assert geodesic_length_km(line) == pytest.approx(expected, rel=2e-3)
    # no point of the front on the coast (47°N) beyond the 10 m tolerance
    ys = shapely.get_coordinates(line)[:, 1]
    assert ys.min() > 47.0 + 0.009 / MERIDIAN_47_48_KM
    # the whole outline (no territory) also counts the coast: 4 edges, the southern one at 47°N
    # (74.63 km / cos48° · cos47° ≈ 76.05 km)
    whole = derive_front_line(SQUARE, border=None)
    assert geodesic_length_km(whole) == pytest.approx(expected + 76.05, rel=2e-3)


def test_square_on_coast_and_state_border() -> None:
    # the state border at 38°E: the square's east edge lies on it, its south edge on the coast
    land = box(36.0, 47.0, 38.0, 49.0)
    line = derive_front_line(SQUARE, border=land, tolerance_km=0.01)
    assert geodesic_length_km(line) == pytest.approx(MERIDIAN_47_48_KM + PARALLEL_48_KM, rel=2e-3)  # 185.81
    # with 2 km tolerance the front stops 2 km short of the coast and of the border:
    # 185.81 - 2 - 2 = 181.81 km
    line = derive_front_line(SQUARE, border=land, tolerance_km=2.0)
    assert geodesic_length_km(line) == pytest.approx(181.81, abs=0.3)


def test_occupied_area_drawn_into_the_sea_is_clipped_at_the_coast() -> None:
    # DeepState draws a little beyond the shore: the part in the sea is not front line either
    occupied = box(37.0, 46.9, 38.0, 48.0)
    line = derive_front_line(occupied, border=LAND, tolerance_km=0.01)
    assert geodesic_length_km(line) == pytest.approx(2 * MERIDIAN_47_48_KM + PARALLEL_48_KM, rel=2e-3)


def test_territory_problems() -> None:
    errors = territory_problems(None, tolerance_km=2, allow_outline=False)
    assert [p.severity for p in errors] == ["error"] and "coasts and state borders" in errors[0].message
    assert [p.severity for p in territory_problems(None, tolerance_km=2, allow_outline=True)] == ["warning"]
    # a box has 4 edges of 200-220 km: generalised
    coarse = territory_problems(LAND, tolerance_km=2, allow_outline=False, name="box.geojson")
    assert [p.severity for p in coarse] == ["warning"] and "generalised" in coarse[0].message
    # the same outline with a vertex every 0.01° (about 1 km) is detailed enough
    fine = shapely.segmentize(LAND, 0.01)
    assert outline_spacing_km(fine) < 1.2
    assert outline_spacing_km(LAND) == pytest.approx(geodesic_length_km(LAND.exterior) / 4)
    assert territory_problems(fine, tolerance_km=2, allow_outline=False) == []


def _snapshot(path: Path, poly) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(poly)}]}), encoding="utf-8")
    return path


def _territory_file(path: Path, poly) -> Path:
    return _snapshot(path, poly)


def test_import_refuses_an_outline_front_unless_confirmed(tmp_path: Path, empty_db: Path) -> None:
    snap = _snapshot(tmp_path / "occ_20250101.geojson", SQUARE)
    with connect(empty_db) as store:
        before = store.fingerprint()
        rep = import_file(store, "occupied_area", [snap])
        assert not rep.ok and store.fingerprint() == before
        assert [p.field for p in rep.errors] == ["front_line"]
        # writing "only the valid rows" does not bypass the refusal
        rep = import_file(store, "occupied_area", [snap], only_valid=True)
        assert not rep.ok and store.fingerprint() == before
        rep = import_file(store, "occupied_area", [snap], allow_outline_front=True)
        assert rep.ok and any("confirmed" in p.message for p in rep.warnings)


def test_store_territory_is_kept_and_reused(tmp_path: Path, empty_db: Path) -> None:
    fine = shapely.segmentize(LAND, 0.01)
    with connect(empty_db) as store:
        assert get_territory(store) is None
        set_territory(store, fine, name="land.geojson")
        kept = get_territory(store)
        assert kept is not None and kept.name == "land.geojson" and kept.geometry.equals(fine)
        prepared = prepare_import("occupied_area", [_snapshot(tmp_path / "occ_20250101.geojson", SQUARE)],
                                  store=store)
        assert prepared.report.can_commit and not prepared.report.warnings[1:]
        snap = prepared.report.snapshots[0]
        # default tolerance 2 km: the two meridians lose 2 km each at the coast, 296.99 - 4 = 292.99 km
        assert snap["front_km"] == pytest.approx(292.99, abs=0.4)
        assert snap["boundary_km"] == pytest.approx(296.99 + 76.05, rel=2e-3)
        derived = prepared.preview[prepared.preview["_status"] == "derived"]
        assert derived["front_km"].iloc[0] == pytest.approx(snap["front_km"], abs=0.05)


def test_cli_refuses_without_territory_and_keeps_the_one_given(tmp_path: Path, empty_db: Path, capsys) -> None:
    snap = _snapshot(tmp_path / "occ_20250101.geojson", SQUARE)
    land = _territory_file(tmp_path / "land.geojson", shapely.segmentize(LAND, 0.01))
    assert main(["import", "occupied_area", str(snap), "--db", str(empty_db), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [p["field"] for p in doc["problems"] if p["severity"] == "error"] == ["front_line"]
    assert main(["import", "occupied_area", str(snap), "--territory", str(land), "--db", str(empty_db),
                 "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["snapshots"][0]["front_km"]
    # the next import needs no territory: the store kept it
    snap2 = _snapshot(tmp_path / "occ_20250201.geojson", SQUARE)
    assert main(["import", "occupied_area", str(snap2), "--db", str(empty_db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["snapshots"][0]["front_km"] == pytest.approx(first)
    with connect(empty_db, read_only=True) as store:
        assert get_territory(store).name == "land.geojson"
        assert store.counts()["front_line"] == 2
    # confirmed outline front into a fresh store: the whole outline, 373 km
    other = tmp_path / "other.duckdb"
    assert main(["init", "--db", str(other)]) == 0
    capsys.readouterr()
    assert main(["import", "occupied_area", str(snap), "--outline-front", "--db", str(other), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["snapshots"][0]["front_km"] == pytest.approx(373.04, rel=2e-3)


# -- the real DeepState snapshot with real boundary files ---------------------------------------

# Coastal towns of Crimea and the Sea of Azov (lon, lat): no front line may come near them.
COAST = {"Sevastopol": (33.52, 44.60), "Yevpatoriia": (33.37, 45.19), "Kerch": (36.47, 45.36),
         "Henichesk": (34.82, 46.17), "Berdiansk": (36.78, 46.75), "Mariupol": (37.55, 47.10),
         "Skadovsk": (32.91, 46.12)}
# Places on or next to the contact line in August 2026 (lon, lat)
ON_FRONT = {"Kherson (Dnipro)": (32.62, 46.64), "Huliaipole": (36.27, 47.66), "Kupiansk": (37.62, 49.71)}


def _min_km(line, lon: float, lat: float) -> float:
    near = shapely.ops.nearest_points(line, shapely.Point(lon, lat))[0]
    return geodesic_distance_km(lon, lat, near.x, near.y)


@pytest.mark.real_data
def test_real_deepstate_front_without_coasts(real_data_dir: Path, empty_db: Path) -> None:
    from cimic_geo.ingest import border_from_frame, read_source

    snap = real_data_dir / "frontline" / "deepstate_occupied_latest_20260822.geojson"
    detailed = real_data_dir / "admin" / "ua_oblasts_osm_EugeneBorshch.geojson"
    generalised = real_data_dir / "admin" / "ua_oblasts_osm_bnotezz.geojson"
    with connect(empty_db) as store:
        rep = import_file(store, "occupied_area", [snap])  # no territory: refused
        assert not rep.ok and store.counts()["front_line"] == 0
        set_territory(store, border_from_frame(read_source(detailed).frame), name=detailed.name)
        rep = import_file(store, "occupied_area", [snap], source="DeepState", reliability="B2")
        assert rep.ok, rep.summary_lines()
        line = store.read("front_line").geometry.iloc[0]
    km = geodesic_length_km(line)
    # the whole outline is about 4,550 km; without coasts and borders about 1,240 km (2 km tolerance)
    assert 1_100 < km < 1_400
    assert rep.snapshots[0]["boundary_km"] > 3 * km
    for name, (lon, lat) in COAST.items():
        assert _min_km(line, lon, lat) > 25, name
    for name, (lon, lat) in ON_FRONT.items():
        assert _min_km(line, lon, lat) < 15, name
    # the generalised oblast file (about 300 vertices for the whole country, a vertex every ~25 km)
    # puts its coast far off the real one: the coasts stay in the front line, and the import says so
    gen = border_from_frame(read_source(generalised).frame)
    rep = prepare_import("occupied_area", [snap], border=gen).report
    assert any("generalised" in p.message for p in rep.warnings)
    assert rep.snapshots[0]["front_km"] > 2.5 * km
