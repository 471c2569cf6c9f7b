"""The Import page (AppTest) and its logic in cimic_geo.ui.import_page; the preview map's HTML."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import streamlit as st
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

from cimic_geo.errors import ValidationError
from cimic_geo.maps.assets import remote_urls
from cimic_geo.maps.preview import preview_map
from cimic_geo.store import connect
from cimic_geo.ui import import_page as ui

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "4_Import.py")


@dataclass
class FakeUpload:
    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def _shelters_geojson(*features: tuple[str, str, int, str]) -> bytes:
    feats = [{"type": "Feature", "properties": {"id": i, "name": n, "kind": "blast_shelter", "capacity": c,
                                                "status": s},
              "geometry": {"type": "Point", "coordinates": [37.5, 48.5]}} for i, n, c, s in features]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def test_save_uploads_keeps_names(tmp_path: Path) -> None:
    paths = ui.save_uploads([FakeUpload("../../deepstatemap_data_20250801.geojson", b"{}"),
                             FakeUpload("a b.csv", b"x")], folder=tmp_path)
    assert [p.name for p in paths] == ["deepstatemap_data_20250801.geojson", "a_b.csv"]
    assert all(p.parent == tmp_path for p in paths) and paths[1].read_bytes() == b"x"


def test_mapping_table_round_trip_and_parsers() -> None:
    table = ui.mapping_table("settlements", ["hromada_center", "population_2022", "other"])
    assert dict(zip(table["field"], table["source column"], strict=True))["population"] == "population_2022"
    assert bool(table.set_index("field").loc["name", "required"]) is True
    table.loc[table["field"] == "name", "source column"] = "other"
    m = ui.mapping_from_table(table)
    assert m["name"] == "other" and m["admin1"] == ""
    assert ui.parse_defaults("status=open, capacity = 0") == {"status": "open", "capacity": "0"}
    with pytest.raises(ValidationError):
        ui.parse_defaults("status")
    assert ui.parse_value_maps('{"status": {"ok": "open"}}') == {"status": {"ok": "open"}}
    with pytest.raises(ValidationError):
        ui.parse_value_maps("[1]")


def test_prepare_and_commit_clear_caches(tmp_path: Path, empty_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(ui, "clear_caches", lambda: calls.append(1))
    paths = ui.save_uploads([FakeUpload("s.geojson", _shelters_geojson(("a", "A", 10, "open"),
                                                                      ("b", "B", -1, "open")))], folder=tmp_path)
    with connect(empty_db) as store:
        prepared = ui.prepare(store, "shelters", ui.load_sources(paths))
        assert not prepared.report.can_commit
        frame = ui.problems_frame(prepared.report)
        errors = frame[frame["severity"] == "error"]
        assert errors[["row", "field"]].values.tolist() == [[2, "capacity"]]
        assert list(prepared.preview["_status"]) == ["ok", "error"]
        with pytest.raises(ValidationError):
            ui.commit(store, prepared)
        assert calls == [] and store.counts()["shelters"] == 0
        prepared = ui.prepare(store, "shelters", ui.load_sources(paths), only_valid=True)
        report = ui.commit(store, prepared)
        assert report.written == {"shelters": 1} and calls == [1]


def test_preview_map_escapes_and_is_offline() -> None:
    gdf = gpd.GeoDataFrame({"_row": [1, 2], "_status": ["ok", "error"], "id": ["a", "b"],
                            "name": ["<script>alert(1)</script>", "ok"]},
                           geometry=[Point(37, 48), box(37, 48, 38, 49)], crs="EPSG:4326")
    html = preview_map(gdf).get_root().render()
    assert "<script>alert(1)" not in html and "alert(1)" in html  # present, but escaped
    assert remote_urls(html) == []
    assert "tile" not in html.lower()
    assert "records with errors (1)" in html and "valid records (1)" in html


def _app(monkeypatch: pytest.MonkeyPatch, db: Path, uploads: list[FakeUpload] | None = None,
         border: FakeUpload | None = None) -> AppTest:
    monkeypatch.setenv("CIMIC_DB", str(db))
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)
    if uploads is not None:
        # AppTest cannot drive st.file_uploader: hand the page the "uploaded" file directly
        original = st.file_uploader

        def fake(label, *args, **kwargs):
            if "border" in str(kwargs.get("key", "")):
                return border
            if kwargs.get("accept_multiple_files"):
                return uploads
            return uploads[0] if uploads else None

        monkeypatch.setattr(st, "file_uploader", fake)
        assert original is not fake
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    return at


def test_page_without_upload_explains(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    at = _app(monkeypatch, empty_db)
    assert not at.exception
    assert any("Upload a file" in i.value for i in at.info)
    assert at.sidebar.selectbox[0].value == "settlements"


def test_page_upload_report_and_commit(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    upload = FakeUpload("shelters.geojson", _shelters_geojson(("a", "<b>A</b>", 10, "Відкрито"),
                                                              ("b", "B", 20, "nonsense")))
    at = _app(monkeypatch, empty_db, [upload])
    at.sidebar.selectbox[0].set_value("shelters").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records read"] == "2" and metrics["Rejected"] == "1"
    problems = at.dataframe[-1].value
    errors = problems[problems["severity"] == "error"]
    assert errors[["row", "field"]].astype(str).values.tolist() == [["2", "status"]]
    commit = at.button(key=ui.k("commit"))
    assert commit.disabled
    at.sidebar.checkbox(key=ui.k("only_valid")).check().run()
    commit = at.button(key=ui.k("commit"))
    assert not commit.disabled
    commit.click().run()
    assert not at.exception
    assert any("Imported 1 shelters" in s.value for s in at.success)
    with connect(empty_db, read_only=True) as store:
        rows = store.read("shelters")
    assert rows[["id", "name", "status"]].values.tolist() == [["a", "<b>A</b>", "open"]]


def test_page_history_upload(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                      "geometry": box(37, 48, 38, 49).__geo_interface__}]}
    uploads = [FakeUpload("deepstatemap_data_20250801.geojson", json.dumps(doc).encode())]
    at = _app(monkeypatch, empty_db, uploads)
    at.sidebar.selectbox[0].set_value("occupied_area").run()
    assert not at.exception
    snaps = at.dataframe[0].value
    assert list(snaps["valid_from"]) == ["2025-08-01T00:00:00Z"]
    # no state territory: the whole outline would be front line; refused until the operator confirms
    assert at.button(key=ui.k("commit")).disabled
    at.checkbox(key=ui.k("allow_outline_front")).check().run()
    assert not at.button(key=ui.k("commit")).disabled
    at.button(key=ui.k("commit")).click().run()
    assert not at.exception
    # every warning shown in full after the commit, one line each
    shown = " ".join(m.value for m in at.markdown)
    assert "confirmed by the operator" in shown.replace("\\", "") and "no reliability given" in \
        shown.replace("\\", "")
    with connect(empty_db, read_only=True) as store:
        assert store.counts()["occupied_area"] == 1 and store.counts()["front_line"] == 1
        assert store.read("occupied_area").iloc[0]["valid_from"] == pd.Timestamp("2025-08-01", tz="UTC")


def test_page_territory_upload_front_length_and_reuse(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    # land 36-39°E, 47-49°N (coast at 47°N), a vertex every 0.01°; the occupied square 37-38°E, 47-48°N
    # on the coast: front = its west, north and east edges less 2 km at each coast end:
    # 2 · 111.18 + 74.63 - 4 = 292.99 km (the arithmetic is in tests/test_front_territory.py)
    import shapely

    land = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "land"},
            "geometry": shapely.segmentize(box(36, 47, 39, 49), 0.01).__geo_interface__}]}
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                      "geometry": box(37, 47, 38, 48).__geo_interface__}]}
    uploads = [FakeUpload("deepstatemap_data_20250801.geojson", json.dumps(doc).encode())]
    at = _app(monkeypatch, empty_db, uploads, border=FakeUpload("land.geojson", json.dumps(land).encode()))
    at.sidebar.selectbox[0].set_value("occupied_area").run()
    assert not at.exception
    metric = next(m for m in at.metric if "Derived front line" in m.label)
    assert metric.value == "293 km"
    at.button(key=ui.k("commit")).click().run()
    assert not at.exception
    assert any("State territory kept for later imports: land.geojson" in s.value.replace("\\", "")
               for s in at.success)
    with connect(empty_db, read_only=True) as store:
        from cimic_geo.store.settings import get_territory

        assert get_territory(store).name == "land.geojson"
    # the next visit: the store's territory is named and used; no confirmation asked
    at = _app(monkeypatch, empty_db, [FakeUpload("deepstatemap_data_20250901.geojson", json.dumps(doc).encode())])
    at.sidebar.selectbox[0].set_value("occupied_area").run()
    assert not at.exception
    assert any("State territory of this store: land.geojson" in c.value for c in at.caption)
    assert not at.button(key=ui.k("commit")).disabled
    assert next(m for m in at.metric if "Derived front line" in m.label).value == "293 km"


def test_page_real_import_into_the_exercise_store_needs_confirmation(monkeypatch: pytest.MonkeyPatch,
                                                                     demo_db_copy: Path) -> None:
    upload = FakeUpload("shelters.geojson", _shelters_geojson(("real-1", "Real", 10, "open")))
    at = _app(monkeypatch, demo_db_copy, [upload])
    at.sidebar.selectbox[0].set_value("shelters").run()
    assert not at.exception
    assert any("This store holds EXERCISE data" in w.value for w in at.sidebar.warning)
    assert at.button(key=ui.k("commit")).disabled
    # the marking comes from the configured list, not free text
    assert at.sidebar.selectbox(key=ui.k("marking")).options == ["UNCLASSIFIED", "OFFICIAL", "OFFICIAL-SENSITIVE"]
    at.sidebar.selectbox(key=ui.k("marking")).set_value("OFFICIAL").run()
    at.sidebar.checkbox(key=ui.k("allow_mixed")).check().run()
    assert not at.button(key=ui.k("commit")).disabled
    at.button(key=ui.k("commit")).click().run()
    assert not at.exception
    assert any("real data, marked OFFICIAL" in s.value.replace("\\", "") for s in at.success)
    # the banner of the next page run follows what the store now holds
    assert any("EXERCISE + REAL DATA MIXED" in m.body for m in at.markdown if "cimic-marking" in m.body)
