"""Exports of the seeded demo scenario (realistic shapes: multi-part fronts, long road-following
corridors, thousands of rows) read back with independent readers and compared with the store."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pyogrio
import pytest
from PIL import Image

from cimic_geo.export import DEFAULT_LAYERS, View, export, load_view
from cimic_geo.store import connect


@pytest.fixture(scope="module")
def store(demo_db: Path):
    s = connect(demo_db, read_only=True)
    yield s
    s.close()


@pytest.fixture(scope="module")
def oblast_view(store) -> View:
    # a box in the middle of the store's extent: some features in, some out
    x0, y0, x1, y1 = store.bbox()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return View(bbox=(cx - 1.0, cy - 0.6, cx + 1.0, cy + 0.6), title="Demo oblast")


def test_gpkg_counts_and_values_match_the_store(store, oblast_view, tmp_path: Path) -> None:
    out = export(store, oblast_view, "gpkg", tmp_path / "demo.gpkg")
    loaded = load_view(store, oblast_view)
    assert {n for n, _ in pyogrio.list_layers(out)} == set(DEFAULT_LAYERS)
    for name in DEFAULT_LAYERS:
        expected = store.read(name, bbox=oblast_view.bbox, as_of=loaded.as_of)
        got = pyogrio.read_dataframe(out, layer=name)
        assert len(got) == len(expected), name
        assert sorted(got["id"]) == sorted(expected["id"]), name
        if len(expected):
            a = got.sort_values("id").reset_index(drop=True)
            b = expected.sort_values("id").reset_index(drop=True)
            assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all(), name
            for col in ("source", "reliability"):
                assert a[col].fillna("").tolist() == b[col].fillna("").tolist(), (name, col)
    # history layers: exactly the rows in force at the view's time
    assert len(loaded.frames["front_line"]) <= 1


def test_tak_package_routes_follow_corridor_vertices(store, tmp_path: Path) -> None:
    view = View(layers=("corridors", "shelters"))
    out = export(store, view, "cotzip", tmp_path / "demo.zip")
    corridors = store.read("corridors")
    with zipfile.ZipFile(out) as zf:
        manifest = ET.fromstring(zf.read("MANIFEST/manifest.xml"))
        entries = [c.get("zipEntry") for c in manifest.findall("Contents/Content")]
        assert len(entries) == len(corridors) + len(store.read("shelters"))
        for row in corridors.itertuples():
            ev = ET.fromstring(zf.read(f"cimic.corridor.{row.id}/cimic.corridor.{row.id}.cot"))
            assert ev.get("type") == "b-m-r"
            pts = [tuple(map(float, lk.get("point").split(","))) for lk in ev.findall("detail/link")]
            coords = [(round(y, 7), round(x, 7)) for x, y in row.geometry.coords]
            assert pts == coords  # every vertex, in order (road-following route)
            assert len(pts) >= 2


def test_png_of_demo_view(store, oblast_view, tmp_path: Path) -> None:
    out = export(store, oblast_view, "png", tmp_path / "demo.png")
    with Image.open(out) as im:
        assert im.size == (2338, 1654)
    assert out.stat().st_size > 100_000  # a real map, not an empty frame
