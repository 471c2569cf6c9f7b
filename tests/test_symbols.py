"""APP-6 symbol codes, the milsymbol SVG file and their drawing in the PNG/PDF brief."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
from matplotlib.path import Path as MPath
from shapely.geometry import Point

from cimic_geo.export.export_view import LoadedView, View
from cimic_geo.export.snapshot_map import MapProjection, draw_layers
from cimic_geo.export.snapshot_symbols import draw_symbols, parse_path, symbol_parts
from cimic_geo.maps.symbols import SYMBOL_FILE, all_sidcs, evacuation_sidc, infrastructure_sidc, shelter_sidc, sidc

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def test_sidc_layout() -> None:
    # version 10, reality 0, friend 3, set 40, status 5 (full), 000, entity 131201, modifiers 0000
    assert shelter_sidc("transit_centre", "full") == "10034050001312010000"
    assert shelter_sidc("blast_shelter", "damaged") == "10034030001312060000"
    assert infrastructure_sidc("power", "destroyed") == "10032040001205000000"
    assert infrastructure_sidc("water", "minor") == "10032030001214000000"
    assert evacuation_sidc() == "10034000001312010000"
    with pytest.raises(ValueError):
        sidc("4", "131206")


def test_symbol_file_holds_every_code_from_milsymbol() -> None:
    data = json.loads(SYMBOL_FILE.read_text(encoding="utf-8"))
    assert data["milsymbol"] == json.loads((SYMBOL_FILE.parents[2] / "package.json").read_text())[
        "dependencies"]["milsymbol"]
    codes = all_sidcs()
    assert all(re.fullmatch(r"\d{20}", c) for c in codes)
    assert set(codes) <= set(data["symbols"]) and all(s.startswith("<svg") for s in data["symbols"].values())


def test_parse_path_relative_lines_and_close() -> None:
    # milsymbol's friend frame: M25,50 then relative (150,0), (0,100), (-150,0), close
    p = parse_path("M25,50 l150,0 0,100 -150,0 z")
    assert p.vertices.tolist() == [[25, 50], [175, 50], [175, 150], [25, 150], [25, 50]]
    assert p.codes.tolist() == [MPath.MOVETO, MPath.LINETO, MPath.LINETO, MPath.LINETO, MPath.CLOSEPOLY]
    # H/V and a cubic: H100 from (0,0) -> (100,0); v10 -> (100,10); C ends at (0,10)
    q = parse_path("M0,0 H100 v10 C50,20 20,20 0,10")
    assert q.vertices[-1].tolist() == [0, 10] and q.vertices[2].tolist() == [100, 10]


def test_parse_path_arc() -> None:
    # half circle of radius 10 around (10, 0) from (0, 0) to (20, 0), sweep 1: in SVG (y down) the
    # positive direction runs 180 -> 270 -> 360 degrees, through (10, -10)
    p = parse_path("M0,0 A10,10 0 0,1 20,0")
    d = np.hypot(p.vertices[:, 0] - 10, p.vertices[:, 1])
    assert np.allclose(d, 10) and p.vertices[:, 1].min() == pytest.approx(-10, abs=0.2)
    assert p.vertices[-1].tolist() == pytest.approx([20, 0])


def test_draw_symbols_one_scatter_per_part() -> None:
    fig, ax = plt.subplots()
    a, b = shelter_sidc("collective_centre", "open"), infrastructure_sidc("telecom", "major")
    n = draw_symbols(ax, [0, 1, 2], [0, 1, 2], [a, b, a])
    assert n == 3
    assert len(ax.collections) == len(symbol_parts(a)[0]) + len(symbol_parts(b)[0])
    # every part of a symbol carries the same bounding square, so all scale alike
    half = symbol_parts(a)[1]
    assert all(part.path.vertices[:2].tolist() == [[-half, -half], [half, half]] for part in symbol_parts(a)[0])
    assert draw_symbols(ax, [0], [0], ["99999999999999999999"]) == 0
    plt.close(fig)


def test_snapshot_draws_app6_symbols_when_the_view_asks() -> None:
    shelters = gpd.GeoDataFrame({"id": ["A", "B"], "kind": ["blast_shelter", "transit_centre"],
                                 "status": ["open", "full"], "capacity": [10, 20]},
                                geometry=[Point(37.0, 48.0), Point(37.1, 48.1)], crs="EPSG:4326")
    bbox = (36.9, 47.9, 37.2, 48.2)
    fig, ax = plt.subplots()
    plain = draw_layers(ax, LoadedView(View(bbox=bbox), bbox, None, {"shelters": shelters}, "EXERCISE", {}),
                        MapProjection(bbox))
    assert [label for _, label in plain] == ["Shelter: open", "Shelter: full"]
    n_plain = len(ax.collections)
    view = View(bbox=bbox, extra={"symbols": True})
    legend = draw_layers(ax, LoadedView(view, bbox, None, {"shelters": shelters}, "EXERCISE", {}), MapProjection(bbox))
    assert [label for _, label in legend] == ["Shelters (APP-6 symbols)"]
    parts = {len(symbol_parts(shelter_sidc(k, s))[0]) for k, s in [("blast_shelter", "open"), ("transit_centre", "full")]}
    assert len(ax.collections) - n_plain == sum(len(symbol_parts(shelter_sidc(k, s))[0])
                                                for k, s in [("blast_shelter", "open"), ("transit_centre", "full")])
    assert min(parts) >= 3  # frame, icon, status bar at least
    plt.close(fig)
