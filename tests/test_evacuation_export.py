"""Evacuations in the GIS exports (as of the view's time) and the PDF brief's evacuation page."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon

from cimic_geo.export import View, export, load_view
from cimic_geo.store import connect
from cimic_geo.store.evacuation_records import create_evacuation, evacuation_history, set_evacuation_status

T = pd.Timestamp("2026-11-20T00:00Z")


@pytest.fixture
def store(empty_db):
    s = connect(empty_db)
    s.write("settlements", gpd.GeoDataFrame({"id": ["S1", "S2"], "name": ["Pershe", "Druhe"], "population": [900, 40_000]},
                                            geometry=[Point(37.90, 48.90), Point(37.0, 48.9)], crs="EPSG:4326"))
    s.write("shelters", gpd.GeoDataFrame({"id": ["SH1"], "name": ["Centre"], "kind": ["collective_centre"],
                                          "capacity": [200], "occupancy": [50], "status": ["open"]},
                                         geometry=[Point(37.0, 48.9)], crs="EPSG:4326"))
    s.write("front_line", gpd.GeoDataFrame({"id": ["F1"], "valid_from": [T]},
                                           geometry=[LineString([(38.0, 48.5), (38.0, 49.3)])], crs="EPSG:4326"))
    s.write("occupied_area", gpd.GeoDataFrame({"id": ["O1"], "valid_from": [T]},
                                              geometry=[Polygon([(38, 48.5), (38.5, 48.5), (38.5, 49.3), (38, 49.3)])],
                                              crs="EPSG:4326"))
    # E1 requested (8 people, 3 children), E2 requested then cancelled
    create_evacuation(s, evacuation_id="E1", geometry=Point(37.95, 48.90), people=8, children=3, user="u",
                      settlement_id="S1", requested_at="2026-11-19T10:00Z")
    create_evacuation(s, evacuation_id="E2", geometry=Point(37.90, 48.95), people=2, user="u",
                      settlement_id="S1", requested_at="2026-11-19T12:00Z")
    time.sleep(0.01)
    set_evacuation_status(s, "E2", "cancelled", user="u", expected_version=1)
    yield s
    s.close()


def test_gis_exports_carry_evacuations_with_status_at_the_view_time(store, tmp_path):
    view = View(layers=("evacuations",), bbox=(36.5, 48.4, 38.6, 49.4))
    for fmt in ("gpkg", "geojson", "csv"):
        export(store, view, fmt, tmp_path / f"e.{fmt}")
    g = pyogrio.read_dataframe(tmp_path / "e.gpkg", layer="evacuations").set_index("id")
    assert g.loc["E1", "status"] == "requested" and g.loc["E2", "status"] == "cancelled"
    assert int(g.loc["E1", "children"]) == 3 and int(g.loc["E1", "people"]) == 8
    gj = json.loads((tmp_path / "e.geojson").read_text())
    assert {f["properties"]["id"]: f["properties"]["status"] for f in gj["features"]} == {
        "E1": "requested", "E2": "cancelled"}
    assert "cancelled" in (tmp_path / "e.csv").read_text()
    # at the moment E2 was created it was still requested (its history says so)
    created = evacuation_history(store, "E2").sort_values("version")["changed_at"].iloc[0]
    past = load_view(store, view.with_(as_of=created))
    assert dict(zip(past.frames["evacuations"]["id"], past.frames["evacuations"]["status"], strict=True)) == {
        "E1": "requested", "E2": "requested"}


def test_pdf_brief_has_an_evacuation_and_needs_page(store, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    out = export(store, View(layers=("front_line", "settlements", "shelters", "evacuations")), "pdf",
                 tmp_path / "brief.pdf")
    text = subprocess.run(["pdftotext", "-f", "3", "-l", "3", "-layout", str(out), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "evacuations and needs" in text
    assert "Open requests: 1" in text and "People waiting: 8" in text  # E1 only (E2 cancelled)
    # E1 is 0.05 deg east-west from the front at 48.9 N: 0.05 x 73.3 km = 3.7 km -> band 0-5
    row = next(line for line in text.splitlines() if line.strip().startswith("0-5"))
    assert row.split()[:4] == ["0-5", "1", "8", "3"]
