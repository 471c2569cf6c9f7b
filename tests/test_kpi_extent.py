"""The COP's KPIs follow the map extent (bbox) and the chosen time (front line in force then).

A tiny hand-made store: three shelters (two inside the test bbox), three settlements (two inside),
two damaged objects and two corridors (one of each inside), and a front line (a meridian) that moves
west between two dates. Distances to a meridian at the settlement's latitude: 111.32 km per degree
of longitude x cos(latitude).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from cimic_geo.analytics.kpi_strip import kpi_strip
from cimic_geo.errors import AnalysisError
from cimic_geo.store import connect
from cimic_geo.store.cop_reads import read_kpi_layers

BBOX = (36.9, 47.9, 37.6, 48.6)
T1, T2 = pd.Timestamp("2026-11-01T00:00Z"), pd.Timestamp("2026-11-02T00:00Z")
BANDS = (5.0, 20.0, 40.0)


def _gdf(rows: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def layers() -> dict[str, gpd.GeoDataFrame]:
    return {
        "settlements": _gdf({"id": ["s1", "s2", "s3"], "name": ["A", "B", "C"], "population": [1000, 500, 7000]},
                            [Point(37.0, 48.0), Point(37.5, 48.5), Point(39.0, 49.5)]),
        "shelters": _gdf({"id": ["h1", "h2", "h3"], "name": ["H1", "H2", "H3"], "kind": ["blast_shelter"] * 3,
                          "capacity": [100, 50, 200], "occupancy": [40, 50, 10], "status": ["open", "full", "open"]},
                         [Point(37.0, 48.0), Point(37.5, 48.5), Point(39.0, 49.5)]),
        "infrastructure": _gdf({"id": ["i1", "i2"], "name": ["W", "P"], "sector": ["water", "power"],
                                "damage": ["major", "destroyed"]}, [Point(37.2, 48.2), Point(39.0, 49.0)]),
        # c1's ends are both outside the bbox but it crosses it: it counts as in view
        "corridors": _gdf({"id": ["c1", "c2"], "name": ["C1", "C2"], "status": ["active", "proposed"]},
                          [LineString([(36.5, 48.2), (38.0, 48.2)]), LineString([(39.0, 49.0), (39.5, 49.5)])]),
        "front_line": _gdf({"id": ["f1", "f2"], "valid_from": [T1, T2], "valid_to": [T2, None]},
                           [LineString([(38.0, 47.0), (38.0, 50.0)]), LineString([(37.6, 47.0), (37.6, 50.0)])]),
    }


def strip_at(t: pd.Timestamp, *, bbox=None):
    d = layers()
    front = d["front_line"]
    in_force = front[(front["valid_from"] <= t) & (front["valid_to"].isna() | (front["valid_to"] > t))]
    return kpi_strip(settlements=d["settlements"], shelters=d["shelters"], infrastructure=d["infrastructure"],
                     corridors=d["corridors"], front_line=in_force, occupied_area=None, bands_km=BANDS,
                     as_of=t, bbox=bbox)


def test_bbox_counts_only_what_is_in_view() -> None:
    whole, view = strip_at(T2), strip_at(T2, bbox=BBOX)
    # whole store: 2 open, 1 full; capacity 100 + 50 + 200 = 350, occupancy 40 + 50 + 10 = 100
    assert whole.shelters.by_status == {"open": 2, "full": 1, "closed": 0, "damaged": 0}
    assert (whole.shelters.capacity, whole.shelters.occupancy) == (350, 100)
    # in view: h1 (open) and h2 (full); capacity 150, occupancy 90 -> 60 % used
    assert view.shelters.by_status == {"open": 1, "full": 1, "closed": 0, "damaged": 0}
    assert (view.shelters.capacity, view.shelters.occupancy) == (150, 90)
    assert view.shelters.capacity_used == pytest.approx(0.6)
    # damage: the water plant in view, the power object outside
    assert view.damage.loc["water", "major"] == 1 and view.damage["total"].sum() == 1
    assert whole.damage["total"].sum() == 2
    # corridors: c1 crosses the view, c2 does not
    assert view.corridors["active"] == 1 and view.corridors["proposed"] == 0
    assert whole.corridors["proposed"] == 1
    assert view.bbox == BBOX and whole.bbox is None and view.as_of == T2


def test_front_moving_between_two_dates_changes_the_bands_in_view() -> None:
    t1, t2 = strip_at(T1, bbox=BBOX), strip_at(T2, bbox=BBOX)
    # T1, front at 38.0 E: s1 (48.0 N) 1.0 deg x 111.32 x cos 48.0 = 74.5 km -> beyond 40;
    #                      s2 (48.5 N) 0.5 deg x 111.32 x cos 48.5 = 36.9 km -> 20-40
    assert t1.bands.loc["20-40", "population"] == 500 and t1.bands.loc["beyond", "population"] == 1000
    assert t1.bands.loc["5-20", "population"] == 0
    # T2, front at 37.6 E: s1 0.6 deg -> 44.7 km -> beyond; s2 0.1 deg -> 7.4 km -> 5-20
    assert t2.bands.loc["5-20", "population"] == 500 and t2.bands.loc["beyond", "population"] == 1000
    assert t2.bands.loc["20-40", "population"] == 0
    # s3 (7,000 people, 39.0 E 49.5 N: 1.0 deg x 111.32 x cos 49.5 = 72.3 km) is out of view: whole store only
    assert strip_at(T1).bands.loc["beyond", "population"] == 8000
    assert int(t1.bands["population"].sum()) == int(t2.bands["population"].sum()) == 1500


def test_bad_bbox_is_refused() -> None:
    with pytest.raises(AnalysisError, match="bbox"):
        strip_at(T2, bbox=(37.6, 47.9, 36.9, 48.6))


def test_store_reads_for_the_kpis_use_the_bbox_and_the_time(empty_db: Path) -> None:
    with connect(empty_db) as store:
        for name, gdf in layers().items():  # reported the day before T1: in force at T1 and T2
            store.write(name, gdf.assign(reported_at=T1 - pd.Timedelta(days=1)))
        got = read_kpi_layers(store, bbox=BBOX, as_of=T1)
        assert sorted(got["shelters"]["id"]) == ["h1", "h2"]
        assert sorted(got["settlements"]["id"]) == ["s1", "s2"]
        assert list(got["infrastructure"]["id"]) == ["i1"] and list(got["corridors"]["id"]) == ["c1"]
        assert list(got["front_line"]["id"]) == ["f1"]  # the front is read whole, at the time
        assert list(read_kpi_layers(store, as_of=T2)["front_line"]["id"]) == ["f2"]
        # the same numbers as the pure function on the hand-made frames
        from_store = kpi_strip(**read_kpi_layers(store, bbox=BBOX, as_of=T2), bands_km=BANDS, as_of=T2, bbox=BBOX)
    expected = strip_at(T2, bbox=BBOX)
    assert from_store.shelters == expected.shelters
    assert from_store.bands.equals(expected.bands)
    assert from_store.corridors == expected.corridors


def test_cop_kpis_follow_the_map_extent(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    """Given a smaller extent by the map (st_folium's bounds), the COP's tiles count what is in it."""
    from test_cop_page import _run

    from cimic_geo.analytics.kpi_strip import compact
    from cimic_geo.ui.cop_page import MAP_KEY, kpi_bbox

    with connect(demo_db, read_only=True) as store:
        shelters = store.read("shelters")
        extent = store.bbox()
    one = shelters[shelters["status"] == "open"].iloc[0].geometry
    bounds = (one.x - 0.1, one.y - 0.05, one.x + 0.1, one.y + 0.05)
    at = _run(monkeypatch, demo_db)
    whole = {m.label: m.value for m in at.metric}
    assert whole["Shelters open"] == compact(int((shelters["status"] == "open").sum()))
    assert any(c.value.startswith("KPIs for the whole store") for c in at.caption)
    at.session_state[MAP_KEY] = {"bounds": {"_southWest": {"lat": bounds[1], "lng": bounds[0]},
                                            "_northEast": {"lat": bounds[3], "lng": bounds[2]}}, "zoom": 12}
    at.run()
    assert not at.exception
    # what the KPIs summarise: the view rounded outward to 0.001 deg (1 % of its 0.2 deg width)
    box = kpi_bbox(bounds, extent)
    assert box is not None and box[0] <= bounds[0] and box[2] >= bounds[2] and box[2] - box[0] < 0.203
    inside = shelters.cx[box[0]:box[2], box[1]:box[3]]  # independent of the store's bbox read
    view = {m.label: m.value for m in at.metric}
    assert view["Shelters open"] == compact(int((inside["status"] == "open").sum())) != whole["Shelters open"]
    assert view["Shelters full"] == compact(int((inside["status"] == "full").sum()))
    caption = next(c.value for c in at.caption if c.value.startswith("KPIs in view"))
    assert f"SW {box[1]:.2f}° N {box[0]:.2f}° E" in caption and "front line and threat bands: as of" in caption


def test_kpi_bbox_is_the_view_rounded_outward_or_the_whole_store() -> None:
    from cimic_geo.ui.cop_page import kpi_bbox

    extent = (36.0, 47.0, 39.0, 50.0)
    # a view holding the whole store (zoomed out past the data): whole store
    assert kpi_bbox(extent, extent) is None and kpi_bbox((30.0, 45.0, 40.0, 52.0), extent) is None
    # a 0.5 x 0.3 deg view: step 10^floor(log10(0.5 / 100)) = 0.001 deg, corners rounded outward
    assert kpi_bbox((37.12345, 48.00049, 37.62345, 48.30051), extent) == (37.123, 48.0, 37.624, 48.301)
    # a small pan (0.0004 deg) inside the same rounded cells keeps the same key (cache hit)
    assert kpi_bbox((37.1231, 48.0001, 37.6231, 48.3001), extent) == kpi_bbox((37.1235, 48.0005, 37.6235, 48.3005),
                                                                               extent)


def _layers_at(t: pd.Timestamp) -> dict[str, gpd.GeoDataFrame]:
    d = layers()
    front = d.pop("front_line")
    in_force = front[(front["valid_from"] <= t) & (front["valid_to"].isna() | (front["valid_to"] > t))]
    return {**d, "front_line": in_force, "occupied_area": None}


# h1 and s1 (37.0 E 48.0 N) on the west and south edges of the second box: a point on the boundary intersects it
CUT_BOXES = (None, BBOX, (37.0, 48.0, 37.3, 48.3), (38.5, 48.9, 39.2, 49.6), (30.0, 40.0, 30.5, 40.5))


@pytest.mark.parametrize("t", [T1, T2])
def test_strip_cut_from_the_base_equals_the_strip_of_the_view(t: pd.Timestamp) -> None:
    from cimic_geo.analytics.kpi_strip import kpi_base, strip_in_bbox

    base = kpi_base(**_layers_at(t), bands_km=BANDS, as_of=t)
    for box in CUT_BOXES:
        cut, direct = strip_in_bbox(base, box), strip_at(t, bbox=box)
        assert cut.to_dict() == direct.to_dict(), box
        pd.testing.assert_frame_equal(cut.bands, direct.bands)
        pd.testing.assert_frame_equal(cut.damage, direct.damage)
    # by hand, second box at T2: s1 (1,000 people, 44.7 km from the front: beyond), h1 open (100 places,
    # 40 taken), i1 water major; c1 runs along 48.2 N across the box
    small = strip_in_bbox(base, CUT_BOXES[2])
    assert small.bands.loc["beyond", "population"] == 1000 and int(small.bands["settlements"].sum()) == 1
    assert (small.shelters.by_status["open"], small.shelters.capacity, small.shelters.occupancy) == (1, 100, 40)
    assert small.damage.loc["water", "major"] == 1 and small.corridors["active"] == 1
    # nothing there: zeros in every band, no shelter
    empty = strip_in_bbox(base, CUT_BOXES[4])
    assert int(empty.bands["population"].sum()) == 0 and empty.shelters.capacity == 0


def test_strip_cut_without_a_front_keeps_the_note() -> None:
    from cimic_geo.analytics.kpi_strip import kpi_base, strip_in_bbox

    d = {**_layers_at(T2), "front_line": None}
    base = kpi_base(**d, bands_km=BANDS)
    direct = kpi_strip(**d, bands_km=BANDS, bbox=BBOX)
    cut = strip_in_bbox(base, BBOX)
    assert cut.notes == direct.notes == ["no front line in force at this time"] and cut.bands.empty
    assert cut.to_dict() == direct.to_dict()


def test_view_strip_cuts_views_from_a_base_kept_per_time(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    from cimic_geo.ui import kpi_bases

    kpi_bases.clear()
    reads: list[object] = []
    real = kpi_bases.read_kpi_layers

    def counted(store, *, bbox=None, as_of=None):
        reads.append(bbox)
        return real(store, bbox=bbox, as_of=as_of)

    monkeypatch.setattr(kpi_bases, "read_kpi_layers", counted)
    with connect(empty_db) as store:
        for name, gdf in layers().items():
            store.write(name, gdf.assign(reported_at=T1 - pd.Timedelta(days=1)))

        def strip(t, box):
            return kpi_bases.view_strip(store, token="a", as_of=t, bands_km=BANDS, bbox=box, language="en")

        # the whole store's strip makes the base; every view at that time is then cut from it, with no read
        assert strip(T2, None).to_dict() == strip_at(T2).to_dict() and reads == [None]
        for box in CUT_BOXES[1:]:
            assert strip(T2, box).to_dict() == strip_at(T2, bbox=box).to_dict()
        assert reads == [None]
        # a time first seen zoomed in reads its view alone; a second view at that time makes its base
        assert strip(T1, BBOX).to_dict() == strip_at(T1, bbox=BBOX).to_dict() and reads == [None, BBOX]
        assert strip(T1, CUT_BOXES[2]).to_dict() == strip_at(T1, bbox=CUT_BOXES[2]).to_dict()
        assert strip(T1, CUT_BOXES[3]).to_dict() == strip_at(T1, bbox=CUT_BOXES[3]).to_dict()
        assert reads == [None, BBOX, None]
    kpi_bases.clear()
