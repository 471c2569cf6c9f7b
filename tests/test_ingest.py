"""Import on tiny hand-made files: readers, mapping, validation, modes, history, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from cimic_geo.analytics.front_change import front_change
from cimic_geo.errors import AnalysisError, ValidationError
from cimic_geo.geo import geodesic_length_km
from cimic_geo.ingest import (
    auto_mapping,
    classify_label,
    derive_front_line,
    import_file,
    normalise_bool,
    normalise_choice,
    read_source,
    snapshot_time,
)
from cimic_geo.schema import DAMAGE_LEVELS, RESTORATION_STATES, SHELTER_KINDS, SHELTER_STATUSES
from cimic_geo.store import connect


@pytest.fixture(autouse=True)
def ukraine_extent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plausible extent of these imports: Ukraine with about 2 degrees of margin (Paris and Petsamo are
    outside; an empty store would accept any lon/lat otherwise)."""
    monkeypatch.setenv("CIMIC_IMPORT_EXTENT", "20,43,42.5,54.5")


ROOT = Path(__file__).resolve().parents[1]


def _fc(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _pt(lon: float, lat: float, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _shelter(i: int, lon: float = 37.5, lat: float = 48.5, **extra) -> dict:
    props = {"id": f"s{i}", "name": f"Shelter {i}", "kind": "blast_shelter", "capacity": 100 + i,
             "status": "open"}
    props.update(extra)
    return _pt(lon, lat, **props)


# ----------------------------------------------------------------------------------------------
# Readers
# ----------------------------------------------------------------------------------------------


def test_read_csv_semicolon_comma_decimals_ukrainian_headers(tmp_path: Path) -> None:
    p = tmp_path / "shelters.csv"
    p.write_text("назва;широта;довгота;місткість\nШкола 1;48,5;37,25;120\nПідвал;48.6;37.3;40\n", encoding="utf-8")
    src = read_source(p)
    assert list(src.frame.geometry.x) == [37.25, 37.3]
    assert list(src.frame.geometry.y) == [48.5, 48.6]
    assert auto_mapping("shelters", src.frame.columns) == {"name": "назва", "capacity": "місткість"}


def test_read_csv_wkt_and_bad_coordinates(tmp_path: Path) -> None:
    p = tmp_path / "roads.csv"
    p.write_text('id,wkt\nr1,"LINESTRING (37 48, 37.1 48.1)"\nr2,"LINESTRING (oops"\n', encoding="utf-8")
    src = read_source(p)
    assert src.frame.geometry.iloc[0].equals(LineString([(37, 48), (37.1, 48.1)]))
    assert src.frame.geometry.iloc[1] is None
    assert [(q.row, q.field) for q in src.problems] == [(2, "wkt")]
    p2 = tmp_path / "pts.csv"
    p2.write_text("lat,lon,name\n48.5,abc,x\n", encoding="utf-8")
    src2 = read_source(p2)
    assert [(q.row, q.field) for q in src2.problems] == [(1, "lon")]


def test_read_gpkg_reprojects_to_wgs84(tmp_path: Path) -> None:
    # a point at lon 33, lat 48 expressed in UTM 36N by pyproj (independent of the reader)
    x, y = pyproj.Transformer.from_crs(4326, 32636, always_xy=True).transform(33.0, 48.0)
    gdf = gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(x, y)], crs="EPSG:32636")
    p = tmp_path / "a.gpkg"
    gdf.to_file(p, driver="GPKG")
    src = read_source(p)
    assert src.frame.crs.to_epsg() == 4326
    assert src.frame.geometry.iloc[0].x == pytest.approx(33.0, abs=1e-7)
    assert src.frame.geometry.iloc[0].y == pytest.approx(48.0, abs=1e-7)
    assert any("reprojected" in q.message for q in src.problems)


def test_read_zipped_shapefile_and_kml(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"name": ["A", "B"], "capacity": [10, 20]},
                           geometry=[Point(37.0, 48.0), Point(37.5, 48.5)], crs="EPSG:4326")
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / "shelters.shp")
    z = tmp_path / "shelters.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    src = read_source(z)
    assert list(src.frame["name"]) == ["A", "B"]
    assert src.frame.geometry.iloc[1].equals(Point(37.5, 48.5))
    kml = tmp_path / "pts.kml"
    gdf[["name", "geometry"]].to_file(kml, driver="KML")
    src = read_source(kml)
    assert sorted(src.frame["Name"]) == ["A", "B"]  # LIBKML names the column "Name"
    assert auto_mapping("shelters", src.frame.columns)["name"] == "Name"
    assert sorted(round(g.x, 6) for g in src.frame.geometry) == [37.0, 37.5]


@pytest.mark.parametrize("content", ['{"type": "FeatureCollection", "features": [', "", "<html>not json</html>"])
def test_unreadable_files_raise_validation_error(tmp_path: Path, content: str) -> None:
    p = tmp_path / "bad.geojson"
    p.write_text(content)
    with pytest.raises(ValidationError) as info:
        read_source(p)
    assert info.value.problems and info.value.problems[0].row is None


# ----------------------------------------------------------------------------------------------
# Mapping and value normalisation
# ----------------------------------------------------------------------------------------------


def test_auto_mapping_real_style_columns() -> None:
    cols = ["hromada_code", "hromada_center", "hromada_center_code", "oblast_name", "raion_name",
            "population_2022", "type"]
    m = auto_mapping("settlements", cols)
    assert m == {"id": "hromada_center_code", "name": "hromada_center", "admin1": "oblast_name",
                 "admin2": "raion_name", "population": "population_2022", "settlement_type": "type"}


@pytest.mark.parametrize(("label", "choices", "expected"), [
    ("Відкрито", SHELTER_STATUSES, "open"),
    ("FULL", SHELTER_STATUSES, "full"),
    ("Підвал", SHELTER_KINDS, "blast_shelter"),
    ("Найпростіше укриття, Протирадіаційне укриття", SHELTER_KINDS, "blast_shelter"),
    ("Collective center", SHELTER_KINDS, "collective_centre"),
    ("In progress", RESTORATION_STATES, "in_progress"),
    ("Зруйновано /// Destroyed", DAMAGE_LEVELS, "destroyed"),
    ("something else", DAMAGE_LEVELS, None),
])
def test_normalise_choice(label: str, choices: tuple[str, ...], expected: str | None) -> None:
    assert normalise_choice(label, choices) == expected


def test_value_map_and_booleans() -> None:
    assert normalise_choice("successful", ("draft", "closed"), value_map={"Successful": "closed"}) == "closed"
    assert [normalise_bool(v) for v in ("Так", "ні", "Відсутній", "yes", 0, "maybe")] == [
        True, False, False, True, False, None]


@pytest.mark.parametrize(("label", "cls"), [
    ("Окуповано /// Occupied /// geoJSON.status.occupied\n", "occupied"),
    ("ОРДЛО /// CADR and CALR\u00a0/// geoJSON.territories.ordlo", "occupied"),
    ("Окупований Крим /// Occupied Crimea", "occupied"),
    ("Звільнено 25.03 /// Liberated 25.03\u00a0/// geoJSON.status.dismissed", "liberated"),
    ("Статус невідомий /// Unknown status", "unknown"),
    ("Під питанням /// Contested ", "contested"),
    ("Крим", "occupied"),  # 2022 exports: a bare name
    ("Рубіжне. Території зайняті ворогом", "occupied"),
    ("Придністров'я /// Transnistria", "other"),
])
def test_classify_deepstate_labels(label: str, cls: str) -> None:
    assert classify_label(label) == cls


def test_snapshot_time_precedence(tmp_path: Path) -> None:
    assert snapshot_time("deepstatemap_data_20250801.geojson")[0] == pd.Timestamp("2025-08-01", tz="UTC")
    assert snapshot_time("deepstate_20220403T1233_1648989208.geojson")[0] == pd.Timestamp("2022-04-03 12:33",
                                                                                        tz="UTC")
    assert snapshot_time("snap_1648989208.geojson")[0] == pd.Timestamp(1648989208, unit="s", tz="UTC")
    frame = gpd.GeoDataFrame({"date": ["2025-03-02"]}, geometry=[box(0, 0, 1, 1)])
    assert snapshot_time("x_20250801.geojson", frame=frame) == (pd.Timestamp("2025-03-02", tz="UTC"), "property")
    assert snapshot_time("x_20250801.geojson", explicit="2025-01-05T06:00Z", frame=frame)[1] == "argument"
    assert snapshot_time("nodate.geojson") == (None, "")


# ----------------------------------------------------------------------------------------------
# Validation and atomic writes
# ----------------------------------------------------------------------------------------------


def _bad_shelters(tmp_path: Path) -> Path:
    feats = [
        _shelter(1),
        {"type": "Feature", "properties": {"id": "s2", "name": "No geom", "kind": "blast_shelter", "capacity": 5,
                                           "status": "open"}, "geometry": None},
        _shelter(3, capacity=-5),
        _shelter(4, status="half-open"),
        _shelter(1),  # duplicate id of record 1
        _shelter(6, lon=2.35, lat=48.85),  # Paris: outside the plausible extent
        {"type": "Feature", "properties": {"id": "s7", "name": "Line", "kind": "medical", "capacity": 1,
                                           "status": "open"},
         "geometry": {"type": "LineString", "coordinates": [[37, 48], [37.1, 48.1]]}},
        _shelter(8, name="<script>alert(1)</script>", reliability="Z9"),
        _shelter(9, name=""),
        _shelter(10, capacity=2.5),
    ]
    return _write(tmp_path / "bad.geojson", _fc(feats))


def test_validation_report_lists_row_and_field_and_writes_nothing(tmp_path: Path, empty_db: Path) -> None:
    path = _bad_shelters(tmp_path)
    with connect(empty_db) as store:
        before = store.fingerprint()
        report = import_file(store, "shelters", path)
        assert not report.ok and not report.committed
        assert store.fingerprint() == before
    errors = {(p.row, p.field) for p in report.errors}
    assert errors == {(2, "geometry"), (3, "capacity"), (4, "status"), (5, "id"), (6, "geometry"),
                      (7, "geometry"), (8, "reliability"), (9, "name"), (10, "capacity")}
    assert report.rows_read == 10 and report.rows_rejected == 9 and report.rows_valid == 1


def test_only_valid_writes_valid_rows_and_reports_rejects(tmp_path: Path, empty_db: Path) -> None:
    path = _bad_shelters(tmp_path)
    with connect(empty_db) as store:
        report = import_file(store, "shelters", path, only_valid=True, source="City admin", reliability="b2")
        assert report.ok and report.committed and report.written == {"shelters": 1}
        rows = store.read("shelters")
    assert list(rows["id"]) == ["s1"]
    assert rows.iloc[0]["source"] == "City admin" and rows.iloc[0]["reliability"] == "B2"
    assert rows.iloc[0]["capacity"] == 101
    assert len(report.errors) == 9


def test_html_name_is_stored_as_text(tmp_path: Path, empty_db: Path) -> None:
    path = _write(tmp_path / "h.geojson", _fc([_shelter(1, name="<b onmouseover=x>A&B</b>")]))
    with connect(empty_db) as store:
        assert import_file(store, "shelters", path).ok
        assert store.read("shelters").iloc[0]["name"] == "<b onmouseover=x>A&B</b>"


def test_invalid_polygon_repaired_with_warning(tmp_path: Path, empty_db: Path) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[37, 48], [37.2, 48.2], [37.2, 48], [37, 48.2], [37, 48]]]}
    feat = {"type": "Feature", "properties": {"id": "i1", "name": "Plant", "sector": "power", "damage": "Major"},
            "geometry": bowtie}
    path = _write(tmp_path / "infra.geojson", _fc([feat]))
    with connect(empty_db) as store:
        report = import_file(store, "infrastructure", path)
        assert report.ok, report.summary_lines()
        got = store.read("infrastructure").iloc[0]
    assert any(p.severity == "warning" and p.field == "geometry" for p in report.problems)
    assert got.geometry.is_valid and got["damage"] == "major"
    # the bow-tie's two triangles: 2 * (0.2 * 0.1 / 2) = 0.02 square degrees
    assert got.geometry.area == pytest.approx(0.02)


def test_required_field_without_column_is_a_file_error(tmp_path: Path, empty_db: Path) -> None:
    path = _write(tmp_path / "s.geojson", _fc([_pt(37, 48, id="a", name="A", kind="medical", status="open")]))
    with connect(empty_db) as store:
        report = import_file(store, "shelters", path)
        assert not report.ok
        assert ("capacity", None) in {(p.field, p.row) for p in report.errors}
        report = import_file(store, "shelters", path, defaults={"capacity": "0"})
        assert report.ok and store.read("shelters").iloc[0]["capacity"] == 0


def test_explicit_mapping_overrides_auto(tmp_path: Path, empty_db: Path) -> None:
    feats = [_pt(37, 48, code="x1", hromada_center="Лиман", population_2022="20 500", population=3)]
    path = _write(tmp_path / "h.geojson", _fc(feats))
    with connect(empty_db) as store:
        report = import_file(store, "settlements", path,
                             mapping={"name": "hromada_center", "population": "population_2022"})
        assert report.ok, report.summary_lines()
        row = store.read("settlements").iloc[0]
    # a name given only in Ukrainian: name_uk, and name its official transliteration
    assert (row["id"], row["name"], row["name_uk"], row["population"]) == ("x1", "Lyman", "Лиман", 20500)
    with connect(empty_db) as store:
        report = import_file(store, "settlements", path, mapping={"name": "nope"}, mode="upsert")
    assert not report.ok and report.errors[0].field == "name"


# ----------------------------------------------------------------------------------------------
# Modes
# ----------------------------------------------------------------------------------------------


def test_modes_append_upsert_replace(tmp_path: Path, empty_db: Path) -> None:
    first = _write(tmp_path / "a.geojson", _fc([_shelter(1), _shelter(2), _shelter(3)]))
    update = _write(tmp_path / "b.geojson", _fc([_shelter(2, capacity=999, status="Переповнене"), _shelter(4)]))
    with connect(empty_db) as store:
        assert import_file(store, "shelters", first).ok
        # append refuses existing ids and writes nothing
        before = store.fingerprint()
        rep = import_file(store, "shelters", update)
        assert not rep.ok and [(p.row, p.field) for p in rep.errors] == [(1, "id")]
        assert store.fingerprint() == before
        # upsert: s2 replaced, s4 added, s1/s3 untouched
        assert import_file(store, "shelters", update, mode="upsert").ok
        rows = store.read("shelters").set_index("id")
        assert sorted(rows.index) == ["s1", "s2", "s3", "s4"]
        assert rows.loc["s2", "capacity"] == 999 and rows.loc["s2", "status"] == "full"
        assert rows.loc["s1", "capacity"] == 101
        # replace: exactly the file
        assert import_file(store, "shelters", update, mode="replace").ok
        assert sorted(store.read("shelters")["id"]) == ["s2", "s4"]
        # dry run writes nothing
        before = store.fingerprint()
        rep = import_file(store, "shelters", first, mode="replace", dry_run=True)
        assert rep.ok and rep.written == {"shelters": 3} and store.fingerprint() == before


def test_corridor_import_gets_version_and_history(tmp_path: Path, empty_db: Path) -> None:
    feat = {"type": "Feature", "properties": {"HC_ID": 7, "From": "Mariupol", "To": "Zaporizhzhia",
                                              "status_result": "proposed route/outcome unknown",
                                              "date": "2022-03-19"},
            "geometry": {"type": "LineString", "coordinates": [[37.55, 47.1], [35.14, 47.84]]}}
    path = _write(tmp_path / "c.geojson", _fc([feat]))
    with connect(empty_db) as store:
        rep = import_file(store, "corridors", path)
        assert rep.ok, rep.summary_lines()
        row = store.read("corridors").iloc[0]
        assert (row["id"], row["name"], row["status"], row["version"]) == ("7", "Mariupol – Zaporizhzhia",
                                                                          "proposed", 1)
        assert row["window_start"] == pd.Timestamp("2022-03-19", tz="UTC")
        assert import_file(store, "corridors", path, mode="upsert").ok
        assert store.read("corridors").iloc[0]["version"] == 2
        hist = store.query_df("SELECT action, version FROM corridor_history ORDER BY history_id")
    assert hist.values.tolist() == [["import", 1], ["import", 2]]


# ----------------------------------------------------------------------------------------------
# Front-line history
# ----------------------------------------------------------------------------------------------


def _import_occ(store, paths, **options):
    """Hand-made occupied boxes have no state territory: the front is their outline (confirmed)."""
    return import_file(store, "occupied_area", paths, allow_outline_front=True, **options)


def _snapshot(path: Path, poly: Polygon, **props) -> Path:
    return _write(path, _fc([{"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(poly)}]))


def test_history_chaining_and_reimport_replaces(tmp_path: Path, empty_db: Path) -> None:
    a = _snapshot(tmp_path / "occ_20250101.geojson", box(37.0, 48.0, 38.0, 49.0))
    b = _snapshot(tmp_path / "occ_20250201.geojson", box(36.9, 48.0, 38.0, 49.0))
    c = _snapshot(tmp_path / "occ_20250301.geojson", box(36.8, 48.0, 38.0, 49.0))
    with connect(empty_db) as store:
        rep = _import_occ(store, [c, a])  # any order
        assert rep.ok, rep.summary_lines()
        assert _import_occ(store, [b]).ok
        occ = store.read("occupied_area").sort_values("valid_from")
        t = [pd.Timestamp(d, tz="UTC") for d in ("2025-01-01", "2025-02-01", "2025-03-01")]
        assert list(occ["valid_from"]) == t
        assert list(occ["valid_to"][:2]) == t[1:] and pd.isna(occ["valid_to"].iloc[2])
        fl = store.read("front_line").sort_values("valid_from")
        assert list(fl["valid_from"]) == t
        assert store.read("occupied_area", as_of="2025-02-15").iloc[0].geometry.bounds[0] == pytest.approx(36.9)
        # re-importing 2025-02-01 with another polygon replaces that date, no duplicates
        b2 = _snapshot(tmp_path / "again_20250201.geojson", box(36.5, 48.0, 38.0, 49.0))
        rep = _import_occ(store, [b2])
        assert rep.ok and any("replaced" in p.message for p in rep.problems)
        assert store.counts()["occupied_area"] == 3 and store.counts()["front_line"] == 3
        assert store.read("occupied_area", as_of="2025-02-15").iloc[0].geometry.bounds[0] == pytest.approx(36.5)
        # replace mode removes every snapshot in the file's span (Jan..Feb), keeps March
        rep = _import_occ(store, [_snapshot(tmp_path / "x_20250115.geojson", box(37, 48, 38, 49))],
                          mode="replace")
        assert rep.ok
        times = store.history_times("occupied_area")
    assert times == [t[0], pd.Timestamp("2025-01-15", tz="UTC"), t[1], t[2]]


def test_history_file_without_date_is_rejected(tmp_path: Path, empty_db: Path) -> None:
    a = _snapshot(tmp_path / "occupied.geojson", box(37.0, 48.0, 38.0, 49.0))
    with connect(empty_db) as store:
        before = store.fingerprint()
        rep = _import_occ(store, [a])
        assert not rep.ok and store.fingerprint() == before
        assert any(p.field == "valid_from" for p in rep.errors)
        rep = _import_occ(store, [a], valid_from="2025-05-01T00:00Z")
        assert rep.ok and store.history_times("occupied_area") == [pd.Timestamp("2025-05-01", tz="UTC")]


def test_deepstate_style_labels_and_far_features_filtered(tmp_path: Path, empty_db: Path) -> None:
    feats = [
        {"type": "Feature", "properties": {"name": "Окуповано /// Occupied /// geoJSON.status.occupied"},
         "geometry": shapely.geometry.mapping(box(37, 48, 38, 49))},
        {"type": "Feature", "properties": {"name": "Звільнено /// Liberated"},
         "geometry": shapely.geometry.mapping(box(36, 48, 37, 49))},
        {"type": "Feature", "properties": {"name": "Окупована область Петсамо /// Occupied Petsamo"},
         "geometry": shapely.geometry.mapping(box(30, 69, 31, 70))},
        _pt(37.5, 48.5, name="Напрямок удару /// Direction of attack"),
    ]
    path = _write(tmp_path / "deepstate_20240101T1200_1704110400.geojson", _fc(feats))
    with connect(empty_db) as store:
        rep = _import_occ(store, [path])
        assert rep.ok, rep.summary_lines()
        occ = store.read("occupied_area")
    assert occ.iloc[0].geometry.equals(box(37, 48, 38, 49))
    assert occ.iloc[0]["valid_from"] == pd.Timestamp("2024-01-01 12:00", tz="UTC")
    messages = " ".join(p.message for p in rep.warnings)
    assert "1 Point" in messages and "liberated" in messages and "Petsamo" in messages


def test_derive_front_line_removes_border_part() -> None:
    occupied = box(36.0, 47.0, 38.0, 49.0)
    border = box(30.0, 44.0, 37.5, 52.0)  # the occupied square sticks out 0.5° east of the border
    line = derive_front_line(occupied, border=border, tolerance_km=1.0)
    # west edge (2° of meridian at 48°N: 2 * 111.2 = 222.4 km) + the two parallel edges up to about
    # 1 km before the border (1.5° * 111.32 * cos 49° = 109.6 km and 1.5° * 111.32 * cos 47° = 113.9 km)
    assert geodesic_length_km(line) == pytest.approx(222.4 + 109.6 + 113.9 - 2 * 1.0, rel=0.01)
    assert line.bounds[2] < 37.5
    whole = derive_front_line(occupied)
    # whole perimeter: 2 * 222.4 + 2° * 111.32 * (cos 47° + cos 49°) = 444.8 + 297.9
    assert geodesic_length_km(whole) == pytest.approx(444.8 + 297.9, rel=0.01)


# ----------------------------------------------------------------------------------------------
# front_change (analytics)
# ----------------------------------------------------------------------------------------------


def test_front_change_hand_computed() -> None:
    before = gpd.GeoDataFrame(geometry=[box(30.0, 50.0, 31.0, 51.0)], crs="EPSG:4326")
    after = gpd.GeoDataFrame(geometry=[box(30.2, 50.0, 31.5, 51.0)], crs="EPSG:4326")
    ch = front_change(before, after)
    # area of a lat/lon rectangle ≈ R² Δλ (sin φ2 − sin φ1), R = 6371.007 km (authalic):
    # sin 51° − sin 50° = 0.777146 − 0.766044 = 0.011102
    # gained 0.5°: 6371.007² * 0.0087266 * 0.011102 = 3932.6 km²; lost 0.2°: 1573.0 km²
    assert ch.gained_km2 == pytest.approx(3932.6, rel=0.005)
    assert ch.lost_km2 == pytest.approx(1573.0, rel=0.005)
    assert ch.net_km2 == pytest.approx(3932.6 - 1573.0, rel=0.01)
    assert len(ch.gained) == 1 and ch.gained.crs.to_epsg() == 4326
    assert front_change(before, before).gained.empty
    with pytest.raises(AnalysisError):
        front_change(before, after, min_area_km2=-1)


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_import_exit_codes_and_json(tmp_path: Path, empty_db: Path) -> None:
    good = _write(tmp_path / "good.geojson", _fc([_pt(37, 48, code="h1", hromada_center="Ізюм",
                                                       population_2022=45000)]))
    bad = _bad_shelters(tmp_path)
    r = _cli("import", "shelters", str(bad), "--db", str(empty_db), "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["written"] == {}
    assert {"row": 3, "field": "capacity"}.items() <= next(p for p in doc["problems"] if p["row"] == 3).items()
    r = _cli("import", "settlements", str(good), "--db", str(empty_db), "--mode", "upsert", "--source", "KSE",
             "--reliability", "B2", "--mapping", '{"name": "hromada_center", "population": "population_2022"}')
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wrote 1 settlements" in r.stdout
    truncated = tmp_path / "truncated.geojson"
    truncated.write_text(good.read_text()[:40])
    r = _cli("import", "settlements", str(truncated), "--db", str(empty_db), "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["problems"][0]["row"] is None
    r = _cli("import", "settlements", str(good), "--db", str(empty_db), "--mapping", "{not json")
    assert r.returncode == 2 and "--mapping" in r.stderr
    with connect(empty_db, read_only=True) as store:
        row = store.read("settlements").iloc[0]
    assert (row["name_uk"], row["name"], row["population"], row["source"], row["reliability"]) == (
        "Ізюм", "Izium", 45000, "KSE", "B2")


def test_history_only_valid_skips_bad_snapshot_files(tmp_path: Path, empty_db: Path) -> None:
    good = _snapshot(tmp_path / "occ_20250101.geojson", box(37.0, 48.0, 38.0, 49.0))
    nodate = _snapshot(tmp_path / "occupied.geojson", box(37.0, 48.0, 38.0, 49.0))
    empty = _write(tmp_path / "occ_20250201.geojson", _fc([_pt(37.5, 48.5, name="only a point")]))
    with connect(empty_db) as store:
        before = store.fingerprint()
        rep = _import_occ(store, [good, nodate, empty])
        assert not rep.ok and store.fingerprint() == before
        assert rep.rows_valid == 1 and rep.rows_rejected == 2
        rep = _import_occ(store, [good, nodate, empty], only_valid=True)
        assert rep.ok and rep.written == {"occupied_area": 1, "front_line": 1}
        assert store.history_times("occupied_area") == [pd.Timestamp("2025-01-01", tz="UTC")]


def test_csv_with_named_coordinate_columns(tmp_path: Path, empty_db: Path) -> None:
    p = tmp_path / "towns.csv"
    p.write_text("code,town,from_latitude,from_longitude,pop\nT1,Лиман,48.98,37.81,20000\n", encoding="utf-8")
    with connect(empty_db) as store:
        before = store.fingerprint()
        with pytest.raises(ValidationError, match="lat-column"):  # unreadable without the option
            import_file(store, "settlements", p)
        assert store.fingerprint() == before
        rep = import_file(store, "settlements", p, lat_column="from_latitude", lon_column="from_longitude",
                          mapping={"id": "code", "name": "town", "population": "pop"})
        assert rep.ok, rep.summary_lines()
        row = store.read("settlements").iloc[0]
    assert (row["id"], row.geometry.x, row.geometry.y, row["population"]) == ("T1", 37.81, 48.98, 20000)
