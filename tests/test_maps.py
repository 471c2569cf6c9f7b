"""The COP map built for given GeoDataFrames: offline assets, layers, escaping, view reads, KPIs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from cimic_geo.analytics.front_change import front_change
from cimic_geo.analytics.kpi_strip import corridor_kpi, damage_kpi, kpi_strip, shelter_kpi
from cimic_geo.errors import AssetError
from cimic_geo.geo import GEOD
from cimic_geo.maps import assets
from cimic_geo.maps.analytics_map import build_analytics_map
from cimic_geo.maps.controls import frames_extent, tooltip_html
from cimic_geo.maps.cop_map import (
    DataLayer,
    build_base_map,
    build_cop_map,
    build_layer_groups,
    contains_bbox,
    front_change_frame,
    query_bbox,
)
from cimic_geo.maps.cop_view import nearest_feature, query_view, search_settlements
from cimic_geo.maps.planner_map import build_planner_map
from cimic_geo.maps.preview import preview_map
from cimic_geo.store import connect
from cimic_geo.store.cop_reads import count_in_bbox, grid_aggregate

T0 = pd.Timestamp("2026-11-01T00:00Z")
T1 = pd.Timestamp("2026-11-08T00:00Z")
EVIL_SCRIPT = "<script>alert('x')</script>"
EVIL_IMG = '<img src=x onerror="alert(1)">'
CDN_MARKERS = ("cdn.jsdelivr", "unpkg.com", "cdnjs", "code.jquery", "bootstrapcdn", "googleapis", "http://", "https://")


def gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def east_of(km: float, lon: float = 37.0, lat: float = 48.5) -> Point:
    """A point ``km`` due east of (lon, lat): geodesic distance to the meridian ``lon`` is ``km``."""
    x, y, _ = GEOD.fwd(lon, lat, 90.0, km * 1000.0)
    return Point(x, y)


# The front line is the meridian 37°E (48°N-49°N); the occupied side is west of it (36°-37°E).
FRONT = gdf([{"id": "f1", "valid_from": T0, "valid_to": None, "source": "ISW", "reported_at": T0,
              "reliability": "B2", "geometry": LineString([(37.0, 48.0), (37.0, 49.0)])}])
OCCUPIED = gdf([{"id": "o1", "valid_from": T0, "valid_to": None, "geometry": box(36.0, 48.0, 37.0, 49.0)}])
SHELTERS = gdf([
    {"id": "s1", "name": EVIL_SCRIPT, "kind": "blast_shelter", "status": "open", "capacity": 100, "occupancy": 40,
     "accessible": True, "source": "oblast CIMIC", "reported_at": T1, "reliability": "B2", "geometry": Point(37.5, 48.3)},
    {"id": "s2", "name": EVIL_IMG, "kind": "medical", "status": "full", "capacity": 50, "occupancy": 50,
     "accessible": False, "geometry": Point(37.6, 48.6)},
    {"id": "s3", "name": "School 3", "kind": "collective_centre", "status": "closed", "capacity": 30, "occupancy": 0,
     "accessible": False, "geometry": Point(38.4, 48.7)},
])
INFRA = gdf([
    {"id": "i1", "name": "Substation A", "sector": "power", "damage": "minor", "geometry": Point(37.2, 48.4)},
    {"id": "i2", "name": "Substation B", "sector": "power", "damage": "minor", "geometry": Point(37.3, 48.4)},
    {"id": "i3", "name": "Pump", "sector": "water", "damage": "destroyed", "geometry": Point(37.4, 48.4)},
    {"id": "i4", "name": "Exchange", "sector": "power", "damage": "none", "geometry": Point(37.5, 48.4)},
])
SETTLEMENTS = gdf([
    {"id": "p_occ", "name": "Occupiedtown", "population": 700, "geometry": Point(36.5, 48.5)},
    {"id": "p_3", "name": "Three", "population": 200, "geometry": east_of(3.0)},
    {"id": "p_12", "name": "Twelve", "population": 3000, "geometry": east_of(12.0)},
    {"id": "p_60", "name": "Sixty 100%_town", "population": 7000, "geometry": east_of(60.0)},
])
CORRIDORS = gdf([
    {"id": "c1", "name": "North", "status": "active", "notes": EVIL_IMG, "geometry": LineString([(37.5, 48.3), (38, 48.5)])},
    {"id": "c2", "name": "South", "status": "draft", "geometry": LineString([(37.5, 48.1), (38, 48.0)])},
])
ROADS = gdf([
    {"id": "r1", "road_class": "primary", "speed_kmh": 80.0, "status": "open", "geometry": LineString([(37.5, 48.3), (37.6, 48.6)])},
    {"id": "r2", "road_class": "local", "speed_kmh": 30.0, "status": "impassable", "geometry": LineString([(37.6, 48.6), (37.7, 48.7)])},
])
LAYERS = {"front_line": FRONT, "occupied_area": OCCUPIED, "shelters": SHELTERS, "infrastructure": INFRA,
          "settlements": SETTLEMENTS, "corridors": CORRIDORS, "roads": ROADS}


def layer_data(m: folium.Map) -> dict[str, dict]:
    """``{layer key: GeoJSON}`` of every DataLayer in the map, parsed back from what is sent."""
    out = {}
    for fg in m._children.values():
        for child in getattr(fg, "_children", {}).values():
            if isinstance(child, DataLayer):
                out[child.key] = json.loads(child.data_js)
    return out


# ----------------------------------------------------------------------------------------------
# offline assets
# ----------------------------------------------------------------------------------------------


def test_map_loads_only_local_leaflet() -> None:
    html = build_cop_map(LAYERS, marking="EXERCISE").get_root().render()
    for marker in CDN_MARKERS:
        assert marker not in html, marker
    assert '<script src="/app/static/vendor/leaflet/leaflet.js"></script>' in html
    assert '<link rel="stylesheet" href="/app/static/vendor/leaflet/leaflet.css"/>' in html
    # folium's other defaults (jQuery, Bootstrap, Font Awesome, awesome-markers) are not loaded
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower() and "fontawesome" not in html.lower()
    assert assets.remote_urls(html) == []
    # no tiles by default: the vector layers are the basemap
    assert "L.tileLayer" not in html


def test_tile_url_from_operator_is_used() -> None:
    html = build_cop_map(LAYERS, tile_url="/tiles/{z}/{x}/{y}.png").get_root().render()
    assert "L.tileLayer" in html and "/tiles/{z}/{x}/{y}.png" in html


def test_inline_mode_embeds_every_asset() -> None:
    assets.check_assets()  # `make assets` ran (the test target depends on it)
    html = build_cop_map(LAYERS, asset_mode="inline").get_root().render()
    assert "/app/static" not in html
    assert assets.remote_urls(html) == []
    srcs = re.findall(r'<script src="([^"]+)"', html)
    assert srcs and all(s.startswith("data:text/javascript;base64,") for s in srcs)
    import base64

    css = [base64.b64decode(h.split(",", 1)[1]).decode() for h in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)]
    assert any(".leaflet-container" in c for c in css)
    # the layer-control and marker images are embedded too (no relative url(images/...) left)
    assert not any("url(images/" in c for c in css) and any("data:image/png;base64" in c for c in css)


def test_patch_folium_defaults_points_every_plugin_at_static_files() -> None:
    assets.patch_folium_defaults()
    for cls in (folium.Map, folium.plugins.MarkerCluster, folium.plugins.FastMarkerCluster, folium.plugins.Draw):
        urls = [u for _, u in cls.default_js + cls.default_css]
        assert urls and all(u.startswith("/app/static/vendor/") for u in urls), (cls, urls)
    html = folium.Map(tiles=None).add_child(folium.plugins.MarkerCluster()).get_root().render()
    assert assets.remote_urls(html) == [] and "cdnjs" not in html
    assert "/app/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html


def test_missing_assets_raise_with_install_instructions(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="make assets") as exc:
        assets.check_assets(tmp_path)
    assert "npm ci" in str(exc.value) and "leaflet.js" in str(exc.value)
    with pytest.raises(AssetError, match="make assets"):
        assets.asset_links("leaflet", asset_mode="inline", dest=tmp_path)


def test_install_copies_pinned_files_and_is_idempotent(tmp_path: Path) -> None:
    if not (assets.node_modules_dir() / "leaflet" / "package.json").exists():
        pytest.skip("node_modules not installed (npm ci)")
    written = assets.install(dest=tmp_path)
    assert (tmp_path / "leaflet" / "leaflet.js") in written
    assert (tmp_path / "leaflet" / "images" / "marker-icon.png").is_file()  # default marker images resolve
    assets.check_assets(tmp_path)
    assert assets.install(dest=tmp_path) == []  # second run: nothing to copy
    versions = json.loads((tmp_path / "VERSIONS.json").read_text())
    lock = json.loads((assets.PROJECT_ROOT / "package-lock.json").read_text())
    assert versions["leaflet"] == lock["packages"]["node_modules/leaflet"]["version"] == "1.9.4"


def test_install_rejects_a_node_modules_version_other_than_the_lock(tmp_path: Path) -> None:
    fake = tmp_path / "node_modules"
    for name in assets.ASSETS:
        (fake / name).mkdir(parents=True)
        (fake / name / "package.json").write_text(json.dumps({"version": "0.0.1"}))
    with pytest.raises(AssetError, match="pins"):
        assets.install(source=fake, dest=tmp_path / "out")
    assert not (tmp_path / "out" / "leaflet").exists()


# ----------------------------------------------------------------------------------------------
# layers and escaping
# ----------------------------------------------------------------------------------------------


def test_every_layer_is_a_toggleable_group_with_a_legend() -> None:
    m = build_cop_map(LAYERS)
    data = layer_data(m)
    assert set(data) == set(LAYERS)
    assert len(data["shelters"]["features"]) == 3 and len(data["roads"]["features"]) == 2
    # infrastructure is drawn as given (the view query keeps damaged objects only)
    assert len(data["infrastructure"]["features"]) == 4
    html = m.get_root().render()
    assert "L.control.layers" in html and "window.cimicCop.legend(" in html
    groups = {fg.layer_name: fg.show for fg in m._children.values() if isinstance(fg, folium.FeatureGroup)}
    assert groups["Roads"] is False  # hidden by default
    assert groups["Front line"] is True and groups["Shelters"] is True


def test_features_carry_provenance_dtg_and_mgrs() -> None:
    data = layer_data(build_cop_map(LAYERS))
    s1 = next(f for f in data["shelters"]["features"] if f["properties"]["id"] == "s1")["properties"]
    assert s1["reported"] == "080000ZNOV26"  # reported_at 2026-11-08 00:00Z as a DTG
    assert s1["source"] == "oblast CIMIC" and s1["reliability"] == "B2"
    # 37.5°E 48.3°N: UTM zone floor((37.5+180)/6)+1 = 37, latitude band U (48°-56°N)
    assert s1["mgrs"].startswith("37U ")
    assert s1["accessible"] == "yes" and s1["capacity"] == 100
    fl = data["front_line"]["features"][0]["properties"]
    assert fl["valid_from"] == "010000ZNOV26" and "valid_to" not in fl
    # coordinates rounded to 1e-5 degrees
    coords = data["front_line"]["features"][0]["geometry"]["coordinates"]
    assert coords == [[37.0, 48.0], [37.0, 49.0]]


def test_text_from_data_cannot_break_out_or_run() -> None:
    html = build_cop_map(LAYERS).get_root().render()
    # the raw markup never appears in the page: it is inside JSON strings with <, > escaped
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "\\u003cscript\\u003ealert(\\'x\\')\\u003c/script\\u003e" in html  # in a string the browser parses
    assert "\\u003cimg src=x onerror=" in html
    # the browser-side helpers (static scripts the map loads) write data with textContent only
    assert "window.cimicMap = window.cimicCop.helpers(" in html
    for script in assets.PROJECT_SCRIPTS:
        assert f"/app/static/vendor/cimic/{script}?v=" in html
        code = (assets.PROJECT_JS_DIR / script).read_text(encoding="utf-8")
        assert "textContent" in code and "innerHTML" not in code and "insertAdjacentHTML" not in code
    # and it round-trips to the exact original text for display
    data = layer_data(build_cop_map(LAYERS))
    names = {f["properties"]["name"] for f in data["shelters"]["features"]}
    assert {EVIL_SCRIPT, EVIL_IMG} <= names


def test_front_change_layer_from_analytics() -> None:
    before = gdf([{"id": "a", "geometry": box(36.0, 48.0, 37.0, 49.0)}])
    after = gdf([{"id": "b", "geometry": box(36.0, 48.0, 37.1, 48.5)}])
    change = front_change(before, after)
    frame = front_change_frame(change, since=T0, as_of=T1)
    assert sorted(frame["change"]) == ["gained", "lost"]
    # areas are the analytics' geodesic km², passed through unchanged
    assert frame.loc[frame["change"] == "gained", "area_km2"].sum() == pytest.approx(change.gained_km2)
    assert frame.loc[frame["change"] == "lost", "area_km2"].sum() == pytest.approx(change.lost_km2)
    data = layer_data(build_cop_map({"front_change": frame}))
    props = {f["properties"]["change"]: f["properties"] for f in data["front_change"]["features"]}
    assert props["gained"]["label"] == "newly occupied" and props["lost"]["label"] == "liberated"
    assert props["gained"]["since"] == "010000ZNOV26" and props["gained"]["as_of"] == "080000ZNOV26"


def test_unknown_layer_key_is_rejected() -> None:
    with pytest.raises(KeyError, match="unknown COP layer"):
        build_layer_groups({"tanks": SHELTERS})


# ----------------------------------------------------------------------------------------------
# view geometry
# ----------------------------------------------------------------------------------------------


def test_query_bbox_grows_and_snaps_to_tiles() -> None:
    # zoom 8: one 256-px tile = 360 / 2**8 = 1.40625°. Bounds 36-37°E, 48-49°N grown by a quarter
    # of their size: 35.75-37.25°E, 47.75-49.25°N; snapped outward to 1.40625° multiples:
    # floor(35.75/1.40625)=25 -> 35.15625; floor(47.75/1.40625)=33 -> 46.40625;
    # ceil(37.25/1.40625)=27 -> 37.96875; ceil(49.25/1.40625)=36 -> 50.625
    assert query_bbox((36.0, 48.0, 37.0, 49.0), 8) == pytest.approx((35.15625, 46.40625, 37.96875, 50.625))
    # a small pan stays inside the fetched bbox (no new query)
    assert contains_bbox(query_bbox((36.0, 48.0, 37.0, 49.0), 8), (36.2, 48.1, 37.2, 49.1))


@pytest.fixture
def store(empty_db: Path):
    s = connect(empty_db)
    for name, frame in LAYERS.items():
        s.write(name, frame)
    yield s
    s.close()


def test_grid_aggregate_counts_and_sums_per_cell(store) -> None:
    # 1° cells: s1 (37.5, 48.3) and s2 (37.6, 48.6) share cell (37, 48); s3 (38.4, 48.7) is in (38, 48)
    cells = grid_aggregate(store, "shelters", bbox=(36, 47, 39, 49), cell_deg=1.0, category="status",
                           sums=("capacity", "occupancy"))
    cells = cells.sort_values("lon").reset_index(drop=True)
    assert cells["n"].tolist() == [2, 1]
    assert cells.loc[0, ["open", "full", "closed", "damaged"]].tolist() == [1, 1, 0, 0]
    assert cells["capacity"].tolist() == [150, 30] and cells["occupancy"].tolist() == [90, 0]
    # placed at the mean of its points: ((37.5+37.6)/2, (48.3+48.6)/2)
    assert (cells.geometry[0].x, cells.geometry[0].y) == pytest.approx((37.55, 48.45))
    assert count_in_bbox(store, "shelters", bbox=(37, 48, 38, 49)) == 2
    assert count_in_bbox(store, "infrastructure", bbox=(36, 47, 39, 49), where={"damage": ["minor", "destroyed"]}) == 3


def test_query_view_aggregates_above_the_point_limit(store) -> None:
    bbox = (36.0, 47.0, 39.0, 49.5)
    few = query_view(store, bbox=bbox, zoom=9, as_of=T1, point_limit=10)
    assert len(few.layers["shelters"]) == 3
    # only damaged infrastructure: i1, i2, i3 (i4 has damage none)
    assert sorted(few.layers["infrastructure"]["id"]) == ["i1", "i2", "i3"]
    assert "roads" not in few.layers  # hidden by default: not even read
    many = query_view(store, bbox=bbox, zoom=9, as_of=T1, point_limit=2)
    assert "shelters" not in many.layers and many.layers["shelters_grid"]["n"].sum() == 3
    assert many.layers["infrastructure_grid"]["n"].sum() == 3
    assert len(many.layers["settlements"]) == 2  # the two largest: 7000 and 3000
    assert sorted(many.layers["settlements"]["population"]) == [3000, 7000]
    assert any("aggregated" in n for n in many.notes)
    with_roads = query_view(store, bbox=bbox, zoom=13, as_of=T1, visible=["roads"])
    assert sorted(with_roads.layers["roads"]["id"]) == ["r1", "r2"]
    # at zoom 9 only motorway/trunk/primary roads are drawn
    low = query_view(store, bbox=bbox, zoom=9, as_of=T1, visible=["roads"])
    assert low.layers["roads"]["id"].tolist() == ["r1"]
    # the map built from the view has the aggregates
    data = layer_data(build_cop_map(many.layers))
    assert {"shelters_grid", "infrastructure_grid"} <= set(data)


def test_query_view_front_line_as_of(store) -> None:
    later = gdf([{"id": "f2", "valid_from": T1, "valid_to": None,
                  "geometry": LineString([(37.2, 48.0), (37.2, 49.0)])}])
    store.write("front_line", FRONT.assign(valid_to=[T1]), mode="upsert")
    store.write("front_line", later)
    early = query_view(store, bbox=(36, 47, 39, 50), zoom=8, as_of=T0, visible=["front_line"])
    now = query_view(store, bbox=(36, 47, 39, 50), zoom=8, as_of=T1, visible=["front_line"])
    assert early.layers["front_line"]["id"].tolist() == ["f1"] and now.layers["front_line"]["id"].tolist() == ["f2"]


def test_search_and_nearest_feature(store) -> None:
    found = search_settlements(store, "twel")
    assert found["name"].tolist() == ["Twelve"] and found["mgrs"][0].startswith("37U ")
    # % and _ are literal characters, not wildcards
    assert search_settlements(store, "100%_").shape[0] == 1
    assert search_settlements(store, "y%").empty and search_settlements(store, "t_n").empty  # as wildcards both match
    view = query_view(store, bbox=(36, 47, 39, 50), zoom=10, as_of=T1)
    hit = nearest_feature(view.layers, lat=48.3001, lon=37.5)
    assert hit is not None and dict(zip(hit["attribute"], hit["value"], strict=True))["id"] == "s1"
    # a click inside the occupied area far from any point or line: the occupied area itself
    hit = nearest_feature(view.layers, lat=48.9, lon=36.1)
    assert dict(zip(hit["attribute"], hit["value"], strict=True))["layer"] == "Occupied area"


# ----------------------------------------------------------------------------------------------
# KPIs
# ----------------------------------------------------------------------------------------------


def test_shelter_damage_corridor_kpis() -> None:
    sh = shelter_kpi(SHELTERS)
    assert sh.by_status == {"open": 1, "full": 1, "closed": 1, "damaged": 0}
    # in service = open + full: capacity 100 + 50 = 150, occupancy 40 + 50 = 90 -> 60 %
    assert (sh.capacity, sh.occupancy) == (150, 90) and sh.capacity_used == pytest.approx(0.6)
    dmg = damage_kpi(INFRA)
    assert dmg.loc["power"].tolist() == [2, 0, 0, 2]  # minor, major, destroyed, total (i4 'none' ignored)
    assert dmg.loc["water"].tolist() == [0, 0, 1, 1] and dmg["total"].sum() == 3
    assert corridor_kpi(CORRIDORS) == {"draft": 1, "proposed": 0, "agreed": 0, "active": 1, "suspended": 0, "closed": 0}


def test_kpi_strip_population_per_threat_band() -> None:
    strip = kpi_strip(settlements=SETTLEMENTS, shelters=SHELTERS, infrastructure=INFRA, corridors=CORRIDORS,
                      front_line=FRONT, occupied_area=OCCUPIED, bands_km=(5, 20, 40), as_of=T1)
    pop = strip.bands["population"].to_dict()
    # 3 km -> 0-5 (200); 12 km -> 5-20 (3000); nobody 20-40; 60 km -> beyond (7000); 36.5°E occupied (700)
    assert pop == {"0-5": 200, "5-20": 3000, "20-40": 0, "beyond": 7000, "occupied": 700}
    assert strip.to_dict()["shelters"]["capacity_used"] == pytest.approx(0.6)


def test_kpi_strip_without_front_line_says_so() -> None:
    strip = kpi_strip(settlements=SETTLEMENTS, shelters=None, infrastructure=None, corridors=None,
                      front_line=None, occupied_area=None)
    assert strip.bands.empty and "no front line" in strip.notes[0]
    assert strip.shelters.capacity_used is None



def test_settlements_generalised_by_zoom() -> None:
    from cimic_geo.maps.cop_view import settlement_limit

    # 250 * 2**(zoom - 5): zoom 6 -> 500, 7 -> 1000, 8 -> 2000; never above the point limit
    assert [settlement_limit(z, point_limit=2000) for z in (4, 6, 7, 8, 12)] == [250, 500, 1000, 2000, 2000]


# ----------------------------------------------------------------------------------------------
# every map: metric scale bar, opening view fitted to the data
# ----------------------------------------------------------------------------------------------


def _export_html() -> str:
    from cimic_geo.export.export_view import LoadedView, View
    from cimic_geo.export.html import render_html

    bbox = (36.0, 48.0, 38.5, 49.0)
    view = View(bbox=bbox, as_of=T1, layers=("shelters", "front_line"), title="t", marking="EXERCISE")
    return render_html(LoadedView(view=view, bbox=bbox, as_of=T1, frames={"shelters": SHELTERS, "front_line": FRONT},
                                  marking="EXERCISE", meta={}))


def _render(m: folium.Map) -> str:
    return m.get_root().render()


MAP_BUILDERS = {
    "cop_page_base": lambda: _render(build_base_map(center=(48.5, 37.5), zoom=8, marking="EXERCISE")),
    "cop_standalone": lambda: _render(build_cop_map(LAYERS)),
    "analytics": lambda: _render(build_analytics_map(settlements=SETTLEMENTS.assign(band="0-5"), front_line=FRONT,
                                                     occupied_area=OCCUPIED, band_labels=["0-5"])),
    "planner": lambda: _render(build_planner_map(bounds=None, front_line=FRONT, roads=ROADS, settlements=SETTLEMENTS)),
    "import_preview": lambda: _render(preview_map(SHELTERS)),
    "html_export": _export_html,
}


@pytest.mark.parametrize("name", sorted(MAP_BUILDERS))
def test_every_map_has_one_metric_only_scale_bar(name: str) -> None:
    html = MAP_BUILDERS[name]()
    calls = re.findall(r"L\.control\.scale\(([^)]*)\)", html)
    assert len(calls) == 1, calls  # folium's own control_scale (miles + km) is not added as well
    opts = calls[0].replace(" ", "")
    assert "imperial:false" in opts and "metric:true" in opts


def _fit_bounds(html: str) -> list[float]:
    """The single ``fitBounds`` call's [[lat0, lon0], [lat1, lon1]], flattened."""
    (args,) = re.findall(r"\.fitBounds\(\s*(\[\[[^\]]*\],\s*\[[^\]]*\]\])", html)
    return [v for corner in json.loads(args) for v in corner]


def test_analytics_and_planner_maps_open_fitted_to_their_data() -> None:
    # analytics: settlements (easternmost: 60 km east of 37°E), occupied area 36-37°E x 48-49°N, front 37°E
    east = SETTLEMENTS.total_bounds[2]
    assert east == pytest.approx(37.0 + 60 / (111.32 * math.cos(math.radians(48.5))), abs=0.005)  # ~37.81°E
    html = MAP_BUILDERS["analytics"]()
    assert _fit_bounds(html) == pytest.approx([48.0, 36.0, 49.0, east])
    # fractional zoom, so the data fills the map instead of the fitted zoom being rounded down a level
    assert '"zoomSnap": 0.25' in html and '"padding": [12, 12]' in html
    # planner without bounds: roads 37.5-37.7°E x 48.3-48.7°N, settlements 36.5°E..., front 48-49°N
    html = MAP_BUILDERS["planner"]()
    assert _fit_bounds(html) == pytest.approx([48.0, 36.5, 49.0, east])
    assert '"zoomSnap": 0.25' in html
    # the COP page's base map keeps whole zoom levels (its view queries are per zoom level) and
    # opens on the centre/zoom it is given
    html = MAP_BUILDERS["cop_page_base"]()
    assert "zoomSnap" not in html and ".fitBounds(" not in html


def test_frames_extent_skips_empty_and_missing_frames() -> None:
    empty = gdf([{"id": "e", "geometry": Point(0, 0)}]).iloc[:0]
    assert frames_extent(None, empty) is None
    assert frames_extent(FRONT, None, empty, ROADS) == (37.0, 48.0, 37.7, 49.0)


# ----------------------------------------------------------------------------------------------
# planner map: cut-off settlements
# ----------------------------------------------------------------------------------------------

EVIL_TEMPLATE = "`${window.__x=1}`</script><b>Zed</b>"


def test_cut_off_settlements_are_drawn_with_escaped_tooltips_and_a_legend_entry() -> None:
    cut = [{"lat": 48.6, "lon": 37.6, "name": EVIL_TEMPLATE, "population": 1200, "reason": "no road beyond 3 km"},
           {"lat": 48.7, "lon": 37.7, "name": "Beta", "population": 80, "reason": ""}]
    m = build_planner_map(bounds=None, front_line=FRONT, roads=ROADS, cutoff=cut, draw=False)
    html = _render(m)
    groups = [fg for fg in m._children.values() if isinstance(fg, folium.FeatureGroup)
              and fg.layer_name == "Cut-off settlements"]
    assert len(groups) == 1
    markers = [c for c in groups[0]._children.values() if isinstance(c, folium.Marker)]
    assert [mk.location for mk in markers] == [[48.6, 37.6], [48.7, 37.7]]
    assert html.count("cimic-cutoff") == 2  # the diamond div icon, one per settlement
    # name, population (thousands separator) and reason, HTML-escaped and inert inside folium's `...`
    assert ("CUT OFF: &#96;&#36;{window.__x=1}&#96;&lt;/script&gt;&lt;b&gt;Zed&lt;/b&gt; (pop. 1,200) — "
            "no road beyond 3 km") in html
    assert "CUT OFF: Beta (pop. 80) — no safe route" in html
    assert "${window.__x" not in html and "<b>Zed" not in html
    assert '"cut off from safety","#e600e6","diamond"' in html  # legend entry
    # no cut-off settlements: no group and no legend entry
    html = _render(build_planner_map(bounds=None, front_line=FRONT, roads=ROADS, draw=False))
    assert "cimic-cutoff" not in html and "cut off from safety" not in html


def test_tooltip_html_is_inert_in_a_template_literal() -> None:
    assert tooltip_html("a`b${c}\\d<e>&") == "a&#96;b&#36;{c}&#92;d&lt;e&gt;&amp;"
    html = _render(build_planner_map(bounds=(37, 48, 38, 49), places=[{"lat": 48.5, "lon": 37.5, "label": EVIL_TEMPLATE}],
                                     options=[{"label": EVIL_TEMPLATE, "geometry": {"type": "LineString",
                                                                                    "coordinates": [[37, 48], [38, 49]]}}],
                                     draw=False))
    assert "${window.__x" not in html and "<b>Zed" not in html and html.count("&#36;{window.__x=1}") == 2


def test_nearest_feature_ranks_by_metres_not_degrees() -> None:
    """At 60°N a degree of longitude is half a degree of latitude on the ground.

    Shelter A is 0.009° east of the click: 111.32 km * cos(60°) * 0.009 = 0.50 km. Six decoys are
    0.0061°–0.0066° north: 0.68–0.73 km. In raw degrees the decoys look nearer (0.006 < 0.009).
    """
    from cimic_geo.maps.cop_view import nearest_feature

    lat, lon = 60.0, 30.0
    decoys = [Point(lon, lat + 0.0061 + 0.0001 * i) for i in range(6)]
    shelters = gpd.GeoDataFrame(
        {"id": ["A", *[f"D{i}" for i in range(6)]], "name": ["east", *["north"] * 6]},
        geometry=[Point(lon + 0.009, lat), *decoys], crs="EPSG:4326",
    )
    table = nearest_feature({"shelters": shelters}, lat=lat, lon=lon)
    values = dict(zip(table["attribute"], table["value"], strict=True))
    assert values["id"] == "A"
    assert float(values["distance from click (km)"]) == pytest.approx(0.50, abs=0.01)
