"""Briefing exports: every file is read back with an independent reader.

GeoJSON / GeoPackage / KML / CSV with pyogrio (GDAL) and, when installed, the ``ogrinfo``
command; CoT and the TAK manifest with an XML parser; PNG with Pillow; PDF by its structure and,
when poppler is installed, ``pdfinfo``/``pdftotext``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from export_fixtures import BBOX, EVIL, FRAMES, T0, T1, build_store
from PIL import Image

from cimic_geo.errors import CimicError, ExportError
from cimic_geo.export import View, dated_name, export, load_view, parse_layers
from cimic_geo.export.naming import atomic_path, slug
from cimic_geo.export.snapshot_map import MapProjection, nice_scale_km
from cimic_geo.store import connect

ALL = ("settlements", "shelters", "infrastructure", "front_line", "occupied_area", "corridors", "roads")
OGRINFO = shutil.which("ogrinfo")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("export") / "hand.duckdb")


@pytest.fixture(scope="module")
def store(db: Path):
    s = connect(db, read_only=True)
    yield s
    s.close()


@pytest.fixture
def view() -> View:
    return View(bbox=BBOX, layers=ALL, title="Тест · Kharkiv <b>")


def _expected(name: str, as_of=T1):
    """Rows of a layer in force at ``as_of`` straight from the hand-made frames."""
    gdf = FRAMES[name]
    if "valid_from" in gdf:
        gdf = gdf[(gdf["valid_from"] <= as_of) & (gdf["valid_to"].isna() | (gdf["valid_to"] > as_of))]
    return gdf.sort_values("id").reset_index(drop=True)


def _no_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".part-" in p.name]


# ----------------------------------------------------------------------------------------------
# view, names, atomic writes
# ----------------------------------------------------------------------------------------------


def test_view_rejects_unknown_layer_naming_it() -> None:
    with pytest.raises(ExportError, match=r"'bunkers'.*expected some of: settlements"):
        View(layers=("shelters", "bunkers"))
    with pytest.raises(ExportError, match="'nope'"):
        parse_layers("shelters,nope")
    assert parse_layers(" shelters , corridors ") == ("shelters", "corridors")


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", (5, 1, 4, 2), (0, 0, 1, float("nan")), (0, -95, 1, 1)])
def test_view_rejects_bad_bbox(bbox) -> None:
    with pytest.raises(ExportError, match="bbox"):
        View(bbox=bbox)


def test_view_orders_layers_for_drawing_and_parses_time() -> None:
    v = View(layers=("shelters", "occupied_area", "shelters"), as_of="2026-11-21T08:30")
    assert v.layers == ("occupied_area", "shelters")  # polygons under points, duplicates dropped
    assert v.as_of == pd.Timestamp("2026-11-21T08:30Z")
    with pytest.raises(ExportError, match="as-of"):
        View(as_of="yesterday-ish")


def test_dated_name_convention() -> None:
    assert dated_name("Kharkiv oblast", "2026-11-21T06:05:00Z", "png") == "cimic_kharkiv-oblast_20261121_0605Z.png"
    # Ukrainian names are transliterated; a +02:00 time is converted to UTC
    assert dated_name("Харків", "2026-11-21T01:30:00+02:00", "cotzip") == "cimic_kharkiv_20261120_2330Z.zip"
    assert slug("  ") == "area" and slug("<a>/../b") == "a-b"
    # the official table (KMU 2010) as the scenario's names use it: word-initial Є Ї Ю Я are ye yi yu ya
    assert [slug(t) for t in ("Яготин", "Єнакієве", "Їжаківка", "Юрівка область", "Згурівка")] == [
        "yahotyn", "yenakiieve", "yizhakivka", "yurivka-oblast", "zghurivka"]
    assert slug("Ёлки") == "elky"  # letters only Russian has
    with pytest.raises(ExportError, match="unknown export format"):
        dated_name("x", None, "docx")


def test_atomic_path_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "brief.png"
    target.write_bytes(b"yesterday")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a fi")
        raise RuntimeError("renderer crashed")
    assert target.read_bytes() == b"yesterday"  # old file untouched
    assert _no_leftovers(tmp_path) == []
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"today")
    assert target.read_bytes() == b"today"
    assert _no_leftovers(tmp_path) == []


def test_load_view_as_of_selects_history_rows(store, view) -> None:
    loaded = load_view(store, view)  # default: latest snapshot (T1)
    assert loaded.as_of == T1
    assert loaded.frames["front_line"]["id"].tolist() == ["f1"]
    earlier = load_view(store, view.with_(as_of=T0 + pd.Timedelta(hours=1)))
    assert earlier.frames["front_line"]["id"].tolist() == ["f0"]
    assert earlier.frames["occupied_area"]["id"].tolist() == ["o0"]
    assert loaded.marking == "EXERCISE"
    assert load_view(store, view.with_(marking="NATO UNCLASSIFIED")).marking == "NATO UNCLASSIFIED"


# ----------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "pdf", "geojson", "gpkg", "kml", "csv", "cot", "html"])
def test_empty_view_is_a_clear_error_and_writes_nothing(store, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"x.{fmt}"
    with pytest.raises(ExportError, match="empty view"):
        export(store, View(bbox=(10, 10, 11, 11)), fmt, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unwritable_paths_are_clear_errors(store, view, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"folder .* does not exist"):
        export(store, view, "geojson", tmp_path / "missing" / "x.geojson")
    with pytest.raises(ExportError, match="it is a folder"):
        export(store, view, "geojson", tmp_path)
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(ExportError, match="no permission"):
                export(store, view, "png", ro / "x.png")
            assert list(ro.iterdir()) == []
        finally:
            ro.chmod(0o700)
    assert list(tmp_path.iterdir()) == []


def test_writer_failure_midway_leaves_no_partial_file(store, view, tmp_path: Path, monkeypatch) -> None:
    from matplotlib.figure import Figure

    def broken_savefig(self, fname, **kw):
        Path(fname).write_bytes(b"\x89PNG partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    out = tmp_path / "brief.png"
    with pytest.raises(OSError, match="No space"):
        export(store, view, "png", out)
    assert list(tmp_path.iterdir()) == []


def test_unknown_format(store, view, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format 'docx'"):
        export(store, view, "docx", tmp_path / "x.docx")


# ----------------------------------------------------------------------------------------------
# GIS files read back with GDAL
# ----------------------------------------------------------------------------------------------


def _compare_attributes(name: str, got: pd.DataFrame, *, rename: dict[str, str] | None = None,
                        skip: tuple[str, ...] = ()) -> None:
    """Every schema column of the layer is present with the store's value."""
    from cimic_geo.schema import get_layer

    exp = _expected(name)
    got = got.rename(columns=rename or {}).sort_values("id").reset_index(drop=True)
    assert got["id"].tolist() == exp["id"].tolist()
    for col in get_layer(name).all_columns:
        assert col.name in got.columns, f"{name}.{col.name} missing"
        if col.name in skip or col.name not in exp.columns:
            continue
        for a, b in zip(got[col.name], exp[col.name], strict=True):
            if pd.isna(b):
                assert pd.isna(a) or a == "", f"{name}.{col.name}: {a!r} for a null"
            elif col.kind == "datetime":
                ta = pd.Timestamp(a)
                ta = ta.tz_localize("UTC") if ta.tzinfo is None else ta.tz_convert("UTC")
                assert ta == pd.Timestamp(b), f"{name}.{col.name}"
            elif col.kind == "float":
                assert float(a) == pytest.approx(float(b))
            elif col.kind in ("int", "bool"):
                assert int(a) == int(b), f"{name}.{col.name}"
            else:
                assert a == b, f"{name}.{col.name}"


def test_geojson_rfc7946_read_back(store, view, tmp_path: Path) -> None:
    out = export(store, view, "geojson", tmp_path / "v.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946: WGS84 only, no crs member
    polys = [f for f in doc["features"] if f["geometry"]["type"] == "Polygon"]
    assert polys and all(shapely.Polygon(p["geometry"]["coordinates"][0]).exterior.is_ccw for p in polys)
    assert len(doc["features"]) == 4 + 3 + 3 + 1 + 1 + 2 + 2  # current front line/occupied only
    gdf = pyogrio.read_dataframe(out)
    assert gdf.crs.to_epsg() == 4326
    info = pyogrio.read_info(out)
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["capacity"].startswith("int") and types["population"].startswith("int")
    assert types["accessible"] == "bool" and types["capacity_mw"] == "float64"
    assert types["reported_at"].startswith("datetime")
    for name in ("settlements", "shelters", "infrastructure", "corridors"):
        part = gdf[gdf["layer"] == name]
        assert len(part) == len(_expected(name))
        _compare_attributes(name, part)
    s = gdf[gdf["layer"] == "settlements"].set_index("id")
    assert s.loc["s2", "name"] == "Mid " + EVIL and s.loc["s1", "name_uk"] == "Ближнє"
    assert s.loc["s1"].geometry.equals_exact(shapely.Point(37.95, 49.5), 1e-7)


def test_geopackage_one_table_per_layer(store, view, tmp_path: Path) -> None:
    out = export(store, view, "gpkg", tmp_path / "v.gpkg")
    layers = {name: geom for name, geom in pyogrio.list_layers(out)}
    assert set(layers) == set(ALL)
    assert layers["settlements"] == "Point" and layers["corridors"] == "LineString"
    assert layers["occupied_area"] == "Polygon"
    for name in ALL:
        info = pyogrio.read_info(out, layer=name)
        assert info["features"] == len(_expected(name)), name
        types = dict(zip(info["fields"], info["dtypes"], strict=True))
        assert {"source", "reported_at", "reliability"} <= set(types), f"{name}: provenance columns"
        if name == "shelters":
            assert types["capacity"] == "int64" and types["occupancy"] == "int64"
            assert types["accessible"] == "bool" and types["reported_at"].startswith("datetime")
        _compare_attributes(name, pyogrio.read_dataframe(out, layer=name))


def test_geopackage_keeps_empty_visible_layers(store, tmp_path: Path) -> None:
    # only shelter h1 (37.60, 49.40) lies in this box; no corridor vertex or segment does
    v = View(bbox=(37.59, 49.39, 37.61, 49.41), layers=("shelters", "corridors"))
    out = export(store, v, "gpkg", tmp_path / "v.gpkg")
    assert pyogrio.read_info(out, layer="shelters")["features"] == 1
    info = pyogrio.read_info(out, layer="corridors")
    assert info["features"] == 0 and "window_start" in list(info["fields"])


def test_kml_read_back_and_escaped(store, view, tmp_path: Path) -> None:
    out = export(store, view, "kml", tmp_path / "v.kml")
    raw = out.read_text(encoding="utf-8")
    root = ET.fromstring(raw.encode("utf-8"))  # well-formed XML
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(root.findall(".//k:Placemark", ns)) == 16
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    assert "<b>bold</b>" not in raw
    for name in ("settlements", "shelters", "infrastructure", "corridors"):
        gdf = pyogrio.read_dataframe(out, layer=name)
        assert len(gdf) == len(_expected(name))
        # GDAL's LIBKML driver keeps <name> as "Name" and renames clashing SimpleData fields
        rename = {c: c[:-1] for c in gdf.columns if c in ("id2", "name2")}
        gdf = gdf.drop(columns=[c for c in ("id", "name") if f"{c}2" in gdf.columns and c in gdf.columns])
        gdf = gdf.rename(columns=rename)
        _compare_attributes(name, gdf, skip=("reported_at", "valid_from", "valid_to", "window_start",
                                             "window_end", "updated_at"))
        assert sorted(gdf["Name"]) == sorted(_expected(name)["name"])
    sh = pyogrio.read_dataframe(out, layer="shelters")
    assert 'Metro & "depot"' in set(sh["Name"])


def test_csv_with_wkt_read_back(store, view, tmp_path: Path) -> None:
    import csv

    out = export(store, view, "csv", tmp_path / "v.csv")
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 16 and next(iter(rows[0])) == "layer" and list(rows[0])[-1] == "WKT"
    byid = {r["id"]: r for r in rows}
    assert byid["s2"]["name"] == "Mid " + EVIL  # quotes and commas survive
    assert byid["h1"]["capacity"] == "200" and byid["h1"]["accessible"] == "true"
    assert byid["h2"]["occupancy"] == "" and byid["h1"]["reported_at"] == "2026-11-21T06:00:00Z"
    assert shapely.from_wkt(byid["c1"]["WKT"]).equals_exact(FRAMES["corridors"].geometry[0], 1e-7)
    gdf = pyogrio.read_dataframe(out, AUTODETECT_TYPE="YES", KEEP_GEOM_COLUMNS="NO")
    assert len(gdf) == 16 and gdf.geometry.notna().all()
    types = dict(zip(*[pyogrio.read_info(out, AUTODETECT_TYPE="YES")[k] for k in ("fields", "dtypes")], strict=True))
    assert types["population"].startswith("int") and types["capacity_mw"] == "float64"
    _compare_attributes("shelters", gdf[gdf["layer"] == "shelters"])


@pytest.mark.gdal
@pytest.mark.skipif(OGRINFO is None, reason="GDAL ogrinfo not installed")
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "kml", "csv"])
def test_ogrinfo_reads_every_gis_export(store, view, tmp_path: Path, fmt: str) -> None:
    out = export(store, view, fmt, tmp_path / f"v.{fmt}")
    res = subprocess.run([OGRINFO, "-ro", "-so", "-al", str(out)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    counts = [int(n) for n in re.findall(r"Feature Count: (\d+)", res.stdout)]
    if fmt in ("gpkg", "kml"):
        names = re.findall(r"Layer name: (\w+)", res.stdout)
        assert sorted(names) == sorted(ALL)
        assert dict(zip(names, counts, strict=True)) == {n: len(_expected(n)) for n in ALL}
    else:
        assert counts == [16]
    if fmt == "gpkg":
        assert re.search(r"capacity: Integer64", res.stdout) and re.search(r"accessible: Integer\(Boolean\)",
                                                                           res.stdout)


# ----------------------------------------------------------------------------------------------
# TAK: CoT routes and markers
# ----------------------------------------------------------------------------------------------


def test_cot_routes_and_shelters(store, view, tmp_path: Path) -> None:
    out = export(store, view, "cot", tmp_path / "v.cot")
    root = ET.parse(out).getroot()
    events = root.findall("event")
    assert root.tag == "events" and len(events) == 2 + 3
    routes = [e for e in events if e.get("type") == "b-m-r"]
    assert [e.get("uid") for e in routes] == ["cimic.corridor.c1", "cimic.corridor.c2"]
    for e in events:
        assert e.get("version") == "2.0" and e.get("how") == "h-e"
        t, start, stale = (pd.Timestamp(e.get(k)) for k in ("time", "start", "stale"))
        assert stale > start >= t - pd.Timedelta(seconds=1) and str(t.tz) == "UTC"
        pt = e.find("point")
        assert -90 <= float(pt.get("lat")) <= 90 and -180 <= float(pt.get("lon")) <= 180
        assert e.find("detail") is not None
    # waypoints in order: the corridor's vertices as "lat,lon"
    c1 = routes[0]
    links = c1.findall("detail/link")
    coords = list(FRAMES["corridors"].geometry[0].coords)
    assert [tuple(float(v) for v in lk.get("point").split(",")) for lk in links] == [(y, x) for x, y in coords]
    assert [lk.get("type") for lk in links] == ["b-m-p-w", "b-m-p-c", "b-m-p-c", "b-m-p-w"]
    assert [lk.get("callsign") for lk in links] == ["Near", "", "", "Far"]
    assert all(lk.get("relation") == "c" for lk in links)
    assert c1.find("detail/contact").get("callsign") == "Near → Far"
    assert c1.find("detail/link_attr") is not None
    remarks = c1.find("detail/remarks").text
    assert "ACTIVE" in remarks and "EXERCISE" in remarks and "buses <10>" in remarks
    # c1 geodesic length is printed: compare to pyproj directly
    from cimic_geo.geo import geodesic_length_km

    assert f"{geodesic_length_km(FRAMES['corridors'].geometry[0]):.1f} km" in remarks
    c2 = routes[1]
    assert c2.find("detail/contact").get("callsign") == "Evac " + EVIL  # escaped in the file, intact when parsed
    assert [lk.get("callsign") for lk in c2.findall("detail/link")] == ["SP", "EP"]
    shelters = {e.get("uid"): e for e in events if e.get("type") == "b-m-p-s-m"}
    h1 = shelters["cimic.shelter.h1"]
    assert (float(h1.find("point").get("lat")), float(h1.find("point").get("lon"))) == (49.4, 37.6)
    assert h1.find("detail/contact").get("callsign") == "School №5 <b>bold</b>"
    assert "occupancy 150/200" in h1.find("detail/remarks").text
    raw = out.read_text(encoding="utf-8")
    assert "<script>" not in raw and "<b>bold" not in raw


def test_tak_data_package(store, view, tmp_path: Path) -> None:
    out = export(store, view, "cotzip", tmp_path / "brief.zip")
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        manifest = ET.fromstring(zf.read("MANIFEST/manifest.xml"))
        assert manifest.tag == "MissionPackageManifest" and manifest.get("version") == "2"
        params = {p.get("name"): p.get("value") for p in manifest.findall("Configuration/Parameter")}
        assert params["name"] == "brief.zip" and params["uid"]
        contents = manifest.findall("Contents/Content")
        assert len(contents) == 5
        for c in contents:
            entry = c.get("zipEntry")
            assert entry in names
            ev = ET.fromstring(zf.read(entry))
            assert ev.tag == "event" and ev.get("uid") == c.find("Parameter").get("value")
        assert names == {"MANIFEST/manifest.xml", *(c.get("zipEntry") for c in contents)}


def test_cot_needs_corridors_or_shelters(store, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="corridors or shelters"):
        export(store, View(bbox=BBOX, layers=("settlements",)), "cot", tmp_path / "x.cot")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# snapshots
# ----------------------------------------------------------------------------------------------


def test_png_snapshot_a4_landscape_with_banners(store, view, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = export(store, view, "png", tmp_path / "v.png")
    # the title "Тест · Kharkiv <b>" is Cyrillic: no "Glyph 1058 ... missing from font(s)" warning
    assert not [w for w in caught if "missing from font" in str(w.message)]
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (2338, 1654)  # 11.69 x 8.27 in at 200 dpi
        rgb = im.convert("RGB")
        # marking banners (yellow #ffd200 for EXERCISE) at the top and bottom edges
        assert rgb.getpixel((20, 15)) == (255, 210, 0)
        assert rgb.getpixel((20, 1654 - 15)) == (255, 210, 0)
        # the map is not blank: the front line red and the occupied pink are present
        arr = np.asarray(rgb)
        red = (arr[:, :, 0] > 200) & (arr[:, :, 1] < 60) & (arr[:, :, 2] < 60)
        assert red.sum() > 500


def test_pdf_two_pages_a4(store, view, tmp_path: Path) -> None:
    out = export(store, view, "pdf", tmp_path / "v.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    # map, tables, since the last brief, trends (this store has no evacuations or assessments)
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 4
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", data)
    assert boxes and all(abs(float(w) - 841.68) < 0.5 and abs(float(h) - 595.44) < 0.5 for w, h in boxes)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                              timeout=60).stdout
        assert "EXERCISE" in text and "210600ZNOV26" in text
        assert "Тест" in text  # Cyrillic title embedded as text
        assert "Corridors" in text and "Near → Far" in text and "Shelters by kind and status" in text
        # provenance line: admiralty codes of the rows shown range from A1 to C3 (fixture values);
        # reported_at spans T0..T1 = 200600Z..210600ZNOV26
        assert "reliability A1–C3" in text and "reported 200600ZNOV26–210600ZNOV26" in text
        assert "Source: " in text and "UTM zone 37N" in text
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, timeout=60).stdout
        assert re.search(r"Pages:\s+4\b", info)
        assert re.search(r"Page size:\s+841.68 x 595.44 pts", info)


def test_kpi_table_hand_computed(store, view) -> None:
    from cimic_geo.export.snapshot_kpis import kpi_table

    t = kpi_table(store, load_view(store, view))
    rows = dict(t.rows())
    # distances at lat 49.5 from the line lon 38.0 (module docstring of export_fixtures):
    # Near 3.6 km -> 0-5; Mid 7.2 km -> 5-20; Far 36.2 km -> 20-40; Taken inside the occupied area
    assert rows["0-5 km"] == "1 000 (1 stl.)"
    assert rows["5-20 km"] == "20 000 (1 stl.)"
    assert rows["20-40 km"] == "300 000 (1 stl.)"
    assert rows["occupied side"] == "5 000 (1 stl.)"
    assert rows["open / total"] == "1 / 3" and rows["full, closed, damaged"] == "1, 0, 1"
    # COP definitions: capacity and occupancy of shelters in service (open or full): h1 + h2
    assert rows["capacity in service"] == "700"  # 200 + 500
    assert rows["occupancy"] == "150"  # 150 + unknown (0)
    assert rows["capacity used"] == "21 %"  # 150 / 700 = 21.4 %
    assert (rows["destroyed"], rows["major"], rows["minor"]) == ("1", "1", "1")
    assert rows["active"] == "1" and rows["draft"] == "1"


def test_map_projection_scale_and_north() -> None:
    # UTM 37N has its central meridian at 39°E: scale factor 0.9996 there, and true north = grid north
    p = MapProjection((38.9, 49.0, 39.1, 50.0))
    assert p.crs.to_epsg() == 32637
    assert p.map_units_per_km() == pytest.approx(999.6, abs=0.01)
    assert p.north_angle_deg() == pytest.approx(0.0, abs=1e-6)
    # 3° west of it at 49.5°N the grid convergence is about dlon * sin(lat) = 3 * 0.7604 = 2.28°;
    # true north leans toward the central meridian, i.e. clockwise from map-up
    q = MapProjection((35.9, 49.0, 36.1, 50.0))
    assert q.north_angle_deg() == pytest.approx(3 * math.sin(math.radians(49.5)), abs=0.01)
    # k = k0 (1 + (dlon cos(lat))^2 / 2) = 0.9996 * (1 + (0.05236 * 0.6494)^2 / 2) = 1.00018
    assert q.map_units_per_km() == pytest.approx(1000.18, abs=0.05)


@pytest.mark.parametrize(("width", "expected"), [(100, 20), (7, 1), (1000, 200), (30, 5), (0.5, 0.1)])
def test_nice_scale_lengths(width: float, expected: float) -> None:
    # 22 % of the width, rounded down to 1-2-5 x 10^k: 22 -> 20, 1.54 -> 1, 220 -> 200, 6.6 -> 5, 0.11 -> 0.1
    assert nice_scale_km(width) == pytest.approx(expected)


def test_errors_are_cimic_errors() -> None:
    assert issubclass(ExportError, CimicError)


def test_national_extent_uses_azimuthal_equidistant_exact_at_centre() -> None:
    # wider than a UTM zone: aeqd centred on the box; distances from its centre are exact, so 10 km
    # east of the centre is 10 000 map units and the central meridian points straight up
    p = MapProjection((22.0, 44.0, 40.0, 52.0))
    assert p.crs.to_epsg() is None and "azimuthal equidistant" in p.name and "48.00°N 31.00°E" in p.name
    assert p.map_units_per_km() == pytest.approx(1000.0, abs=1e-6)
    assert p.north_angle_deg() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("n", "expected"), [(100, (16.0, 0.3)), (4000, (8.0, 0.3)), (60000, (1.6, 0.0))])
def test_markers_shrink_in_dense_views(n: int, expected: tuple[float, float]) -> None:
    from cimic_geo.export.snapshot_map import _marker_size

    # factor = clip(2000 / n, 0.1, 1): 100 -> 1, 4000 -> 0.5, 60000 -> 0.033 -> 0.1; no edge below 0.4
    s, lw = _marker_size(16.0, n)
    assert (s, lw) == pytest.approx(expected)


def test_time_before_the_history_is_an_empty_picture_that_says_why(store, tmp_path: Path) -> None:
    from cimic_geo.export.snapshot_kpis import kpi_table

    # before T0 no front line is in force and no version of settlements, shelters or corridors has
    # started (every layer keeps its history): the picture is empty, the KPI table says why, and an
    # export names the time instead of writing an empty map
    early = T0 - pd.Timedelta(days=1)
    view = View(bbox=BBOX, as_of=early, layers=("settlements", "front_line", "shelters", "corridors"))
    loaded = load_view(store, view, allow_empty=True)
    assert {name: len(frame) for name, frame in loaded.frames.items()} == {
        "settlements": 0, "front_line": 0, "shelters": 0, "corridors": 0}
    rows = dict(kpi_table(store, loaded).rows())
    assert rows["threat bands"] == "n/a (no front line)"
    with pytest.raises(ExportError, match=re.escape(early.isoformat())):
        export(store, view, "png", tmp_path / "early.png")
    assert not (tmp_path / "early.png").exists()


def test_band_edges_on_the_friendly_side_only() -> None:
    from cimic_geo.export.snapshot_map import band_edge_lines

    # front: x = 0 from y = 0 to 100 km; occupied: the strip 0 <= x <= 50 km east of it (metres)
    front = np.array([shapely.LineString([(0, 0), (0, 100_000)])])
    occupied = np.array([shapely.box(0, 0, 50_000, 100_000)])
    edge5, edge20 = band_edge_lines(front, occupied, (5, 20))
    # the 5 km edge = the line x = -5 km (100 km long) plus the two end caps (semicircles of
    # radius 5 km outside the strip); buffer() draws a circle as a 32-gon: perimeter
    # 2 * 32 * r * sin(pi / 32) = 6.2732 r -> 100 000 + 6.2732 * 5 000 = 131 366 m
    assert edge5.length == pytest.approx(100_000 + 64 * 5_000 * math.sin(math.pi / 32), rel=1e-6)
    assert edge5.distance(shapely.Point(-5_000, 50_000)) < 1e-6
    assert edge5.intersection(shapely.box(1, 1, 49_999, 99_999)).is_empty  # nothing on the occupied side
    assert edge20.distance(shapely.Point(-20_000, 50_000)) < 1e-6
    assert band_edge_lines(np.array([], dtype=object), occupied, (5,)) == []


def test_representative_points_of_mixed_geometries() -> None:
    from cimic_geo.export.snapshot_map import _points

    square = shapely.box(0, 0, 2, 2)
    geoms = np.array([shapely.Point(5, 6), square, shapely.LineString([(0, 0), (4, 0)])], dtype=object)
    xy = _points(geoms)
    assert xy.shape == (3, 2) and tuple(xy[0]) == (5.0, 6.0)  # points stay where they are
    assert square.contains(shapely.Point(xy[1]))  # inside the polygon, not just its centroid's box
    assert geoms[2].distance(shapely.Point(xy[2])) == 0  # on the line
    assert _points(np.array([shapely.Point(1, 2)])).tolist() == [[1.0, 2.0]]
