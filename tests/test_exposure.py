"""Threat bands and exposure on hand-made cases, and on real DeepState data."""

from __future__ import annotations

from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, box

from cimic_geo.analytics.bands import band_labels, check_bands, classify_bands, shift_distances
from cimic_geo.analytics.exposure import exposure
from cimic_geo.analytics.front_distance import front_distance_km, front_line_from_occupied, occupied_mask, prepare_front
from cimic_geo.analytics.situation import resolve_as_of
from cimic_geo.errors import AnalysisError
from cimic_geo.geo import GEOD

# The front line: the meridian 36°E from 48°N to 49°N; the occupied area is east of it.
FRONT = LineString([(36.0, 48.0), (36.0, 49.0)])
OCCUPIED = box(36.0, 48.0, 37.0, 49.0)


def west_of_front(km: float, lat: float = 48.5) -> Point:
    """A point ``km`` due west of (36°E, lat): a meridian is a geodesic and the azimuth 270° is
    perpendicular to it, so its geodesic distance to the front is exactly ``km``."""
    lon, la, _ = GEOD.fwd(36.0, lat, 270.0, km * 1000.0)
    return Point(lon, la)


def gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def front_gdf(*geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [f"f{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs="EPSG:4326")


SETTLEMENTS = gdf([
    {"id": "s_edge5", "name": "Edge5", "population": 1000, "geometry": west_of_front(5.0)},
    {"id": "s_3", "name": "Three", "population": 200, "geometry": west_of_front(3.0)},
    {"id": "s_12", "name": "Twelve", "population": 3000, "geometry": west_of_front(12.0)},
    {"id": "s_edge20", "name": "Edge20", "population": 50, "geometry": west_of_front(20.0)},
    {"id": "s_39", "name": "ThirtyNine", "population": 400, "geometry": west_of_front(39.0)},
    {"id": "s_60", "name": "Sixty", "population": 7000, "geometry": west_of_front(60.0)},
    {"id": "s_occ", "name": "Occupied", "population": 700, "geometry": Point(36.5, 48.5)},
])
SHELTERS = gdf([
    {"id": "h1", "name": "H1", "capacity": 100, "geometry": west_of_front(4.0)},
    {"id": "h2", "name": "H2", "capacity": 300, "geometry": west_of_front(25.0)},
    {"id": "h3", "name": "H3", "capacity": 50, "geometry": Point(36.2, 48.2)},
])
INFRA = gdf([
    {"id": "i1", "name": "Substation", "people_served": 5000, "geometry": west_of_front(5.0005)},
    {"id": "i2", "name": "Pump", "people_served": 800, "geometry": west_of_front(19.0)},
])


def test_band_edges_are_inclusive_and_exact_on_the_ellipsoid():
    # distances by construction (GEOD.fwd perpendicular to a meridian): 5, 4.999, 5.001, 20 km
    pts = [west_of_front(5.0), west_of_front(4.999), west_of_front(5.001), west_of_front(20.0)]
    d = front_distance_km(pts, front_line=[FRONT])
    np.testing.assert_allclose(d, [5.0, 4.999, 5.001, 20.0], atol=1e-6)  # better than 1 mm
    labels = classify_bands(d, occupied=np.zeros(4, bool), bands_km=(5, 20, 40))
    assert list(labels) == ["0-5", "0-5", "5-20", "5-20"]


def test_distances_far_from_edges_are_geodesic_within_centimetres():
    pts = [west_of_front(k) for k in (0.0, 1.0, 11.0, 100.0, 300.0)]
    d = front_distance_km(pts, front_line=[FRONT])
    np.testing.assert_allclose(d, [0.0, 1.0, 11.0, 100.0, 300.0], atol=1e-4)


def test_front_line_with_several_parts():
    # Two parts with a gap between 48.4°N and 48.6°N. A point 3 km west of (36, 48.5) is nearest
    # to a part's end; by symmetry both ends are equally far, distance = GEOD.inv to (36, 48.6)
    # ~ sqrt(3^2 + 11.1^2) ~ 11.5 km -> band 5-20.
    parts = MultiLineString([[(36.0, 48.0), (36.0, 48.4)], [(36.0, 48.6), (36.0, 49.0)]])
    p = west_of_front(3.0)
    expect = GEOD.inv(p.x, p.y, 36.0, 48.6)[2] / 1000.0
    assert 11.0 < expect < 12.0
    one_row = front_distance_km([p, west_of_front(2.0, lat=48.2)], front_line=[parts])
    two_rows = front_distance_km([p, west_of_front(2.0, lat=48.2)], front_line=front_gdf(*parts.geoms))
    np.testing.assert_allclose(one_row, [expect, 2.0], atol=1e-3)
    np.testing.assert_allclose(two_rows, one_row, atol=1e-9)
    assert list(classify_bands(one_row, bands_km=(5, 20, 40))) == ["5-20", "0-5"]


def test_classify_occupied_beyond_and_unknown():
    labels = classify_bands([1.0, 50.0, np.nan, 2.0], occupied=[False, False, False, True], bands_km=[5, 20, 40])
    assert list(labels) == ["0-5", "beyond", "unknown", "occupied"]
    assert band_labels((2.5, 10)) == ["0-2.5", "2.5-10"]


def test_occupied_mask_and_front_from_occupied_boundary():
    pts = [Point(36.5, 48.5), west_of_front(3.0), Point(36.0, 48.5)]
    assert list(occupied_mask(pts, occupied_area=[OCCUPIED])) == [True, False, False]  # boundary = friendly
    # without a front line, the occupied area's boundary is used: 3 km west of its west edge
    d = front_distance_km([west_of_front(3.0)], front_line=None, occupied_area=[OCCUPIED])
    np.testing.assert_allclose(d, [3.0], atol=1e-6)
    # with a territory, the parts of the boundary on the country's own border are dropped
    territory = box(30.0, 45.0, 36.99, 52.0)  # the occupied box's east edge (37°E) is the border
    line = front_line_from_occupied([OCCUPIED], territory=[territory], border_margin_km=2.0)
    assert line.bounds[2] < 37.0 - 0.02
    assert shapely.distance(line, Point(36.0, 48.5)) < 1e-9


def test_exposure_per_band_by_hand():
    res = exposure(settlements=SETTLEMENTS, shelters=SHELTERS, infrastructure=INFRA,
                   front_line=front_gdf(FRONT), occupied_area=front_gdf(OCCUPIED), bands_km=(5, 20, 40))
    doc = res.to_dict()
    by = {b["band"]: b for b in doc["bands"]}
    # 0-5: Edge5 (exactly 5 km, pop 1000) + Three (200) = 1200; shelters h1 (4 km);
    # infrastructure: none (the substation is at 5.0005 km > 5)
    assert by["0-5"]["population"] == 1200 and by["0-5"]["settlements"] == 2
    assert by["0-5"]["shelters"] == 1 and by["0-5"]["infrastructure"] == 0
    # 5-20: Twelve (3000) + Edge20 (exactly 20 km, 50) = 3050; substation (5000 served) + pump (800)
    assert by["5-20"]["population"] == 3050 and by["5-20"]["settlements"] == 2
    assert by["5-20"]["infrastructure"] == 2 and by["5-20"]["people_served"] == 5800
    # 20-40: ThirtyNine (400); shelter h2 (25 km)
    assert by["20-40"]["population"] == 400 and by["20-40"]["shelters"] == 1
    assert doc["beyond"]["population"] == 7000
    # occupied: reported separately, not as 0 km: the settlement (700) and shelter h3
    assert doc["occupied"]["population"] == 700 and doc["occupied"]["shelters"] == 1
    assert doc["total"]["population"] == int(SETTLEMENTS.population.sum())
    assert [b["min_km"] for b in doc["bands"]] == [0, 5, 20] and [b["max_km"] for b in doc["bands"]] == [5, 20, 40]
    labels = dict(zip(res.settlements["id"], res.settlements["band"], strict=True))
    assert labels["s_edge5"] == "0-5" and labels["s_edge20"] == "5-20" and labels["s_occ"] == "occupied"


def test_exposure_shift_reports_change_per_band():
    res = exposure(settlements=SETTLEMENTS, front_line=front_gdf(FRONT), occupied_area=front_gdf(OCCUPIED),
                   bands_km=(5, 20, 40), shift_km=4.0)
    doc = res.to_dict()
    by = {b["band"]: b for b in doc["bands"]}
    # after moving 4 km west: Three (3 km) is now occupied; Edge5 5->1 km (0-5); Twelve 12->8,
    # Edge20 20->16 (5-20); ThirtyNine 39->35 (20-40); Sixty 60->56 (beyond).
    assert by["0-5"]["population"] == 1000 and by["0-5"]["change"]["population"] == 1000 - 1200
    assert by["5-20"]["population"] == 3050 and by["5-20"]["change"]["population"] == 0
    assert doc["occupied"]["population"] == 700 + 200
    assert doc["occupied"]["change"]["population"] == 200
    assert doc["shift_km"] == 4
    shifted = dict(zip(res.settlements["id"], res.settlements["distance_shifted_km"], strict=True))
    assert shifted["s_12"] == pytest.approx(8.0, abs=1e-6)


def test_shift_distances_edge():
    # a friendly point exactly at the shift distance lies on the new line: friendly, 0 km
    d, occ = shift_distances(np.array([2.0, 1.0, 5.0]), np.array([False, False, True]), 2.0)
    assert list(occ) == [False, True, True]
    np.testing.assert_allclose(d, [0.0, 1.0, 7.0])


@pytest.mark.parametrize("bands", [(20, 5), (5, 5, 40), (0, 5), (-5, 20), "5,x"])
def test_bad_bands_are_clear_errors(bands):
    with pytest.raises(AnalysisError, match="band"):
        check_bands(bands)
    with pytest.raises(AnalysisError):
        exposure(settlements=SETTLEMENTS, front_line=front_gdf(FRONT), bands_km=bands)


def test_negative_shift_and_missing_front_are_errors():
    with pytest.raises(AnalysisError, match="shift_km"):
        exposure(settlements=SETTLEMENTS, front_line=front_gdf(FRONT), shift_km=-1)
    with pytest.raises(AnalysisError, match="no front line"):
        exposure(settlements=SETTLEMENTS, front_line=None, occupied_area=None)


def test_as_of_outside_history():
    times = [pd.Timestamp("2026-08-01T00:00Z"), pd.Timestamp("2026-08-02T00:00Z")]
    assert resolve_as_of(None, times) == times[-1]
    assert resolve_as_of("2026-08-01T12:00", times) == pd.Timestamp("2026-08-01T12:00Z")
    with pytest.raises(AnalysisError, match="outside the front-line history"):
        resolve_as_of("2026-07-31T23:59Z", times)
    with pytest.raises(AnalysisError, match="not a date"):
        resolve_as_of("yesterday-ish", times)


def test_input_order_does_not_change_exposure():
    a = exposure(settlements=SETTLEMENTS, shelters=SHELTERS, front_line=front_gdf(FRONT),
                 occupied_area=front_gdf(OCCUPIED)).to_dict()
    b = exposure(settlements=SETTLEMENTS.iloc[::-1], shelters=SHELTERS.iloc[::-1], front_line=front_gdf(FRONT),
                 occupied_area=front_gdf(OCCUPIED)).to_dict()
    assert a == b


# ------------------------------------------------------------------------------------------------
# real public data: 2022 hromada centres vs the DeepState occupied area of 2025-06-01
# ------------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_hromada_exposure_checked_against_geod(real_data_dir):
    hrom = gpd.read_file(real_data_dir / "settlements" / "ua_hromada_centers_pop2022_kse.geojson")
    occ = gpd.read_file(real_data_dir / "frontline" / "deepstate_occupied_monthly" / "deepstatemap_data_20250601.geojson")
    oblasts = gpd.read_file(real_data_dir / "admin" / "ua_oblasts_katotth_2021_bnotezz.geojson")
    settlements = gpd.GeoDataFrame(
        {"id": hrom["hromada_code"], "name": hrom["hromada_center"], "population": hrom["population_2022"]},
        geometry=hrom.geometry, crs="EPSG:4326")
    front = front_line_from_occupied(occ, territory=oblasts)
    res = exposure(settlements=settlements, front_line=front_gdf(front), occupied_area=occ, bands_km=(5, 20, 40),
                   as_of="2025-06-01")
    doc = res.to_dict()
    # every person is counted exactly once
    counted = sum(b["population"] for b in doc["bands"]) + doc["beyond"]["population"] + doc["occupied"]["population"]
    assert counted == int(settlements.population.sum())
    assert doc["occupied"]["settlements"] > 50  # Crimea, Donbas, south: many hromada centres
    assert all(b["settlements"] > 0 for b in doc["bands"])
    # distances of a sample near the line, against brute force with pyproj.Geod: the line
    # densified to <=100 m vertices; min over vertices is within s^2/(8d) (< 2 m) of the truth.
    near = res.settlements[(~res.settlements.occupied) & (res.settlements.distance_km < 60)]
    sample = near.sort_values("id").iloc[:: max(1, len(near) // 25)]
    dense = shapely.segmentize(front, 0.001)
    vx = shapely.get_coordinates(dense)
    for geom, d_km in zip(sample.geometry, sample.distance_km, strict=True):
        _, _, dist = GEOD.inv(np.full(len(vx), geom.x), np.full(len(vx), geom.y), vx[:, 0], vx[:, 1])
        brute = dist.min() / 1000.0
        assert d_km <= brute + 1e-3
        assert brute - d_km < 0.005  # 5 m


def _brute_force_km(front: LineString, pts: np.ndarray, step_m: float = 50.0) -> np.ndarray:
    """Geodesic km from each point to the front, by brute force on the ellipsoid: every
    segment's geodesic sampled every ``step_m`` (pyproj ``Geod.npts``); the minimum over the
    samples is within step²/8d of the truth (< 1 mm at 100 km)."""
    c = np.asarray(front.coords)
    verts = [c[:1]]
    for (lon0, lat0), (lon1, lat1) in pairwise(c):
        n = int(GEOD.inv(lon0, lat0, lon1, lat1)[2] // step_m)
        verts += [np.asarray(GEOD.npts(lon0, lat0, lon1, lat1, n)).reshape(-1, 2), [[lon1, lat1]]]
    v = np.vstack(verts)
    out = []
    for lon, lat in pts:
        _, _, d = GEOD.inv(np.full(len(v), lon), np.full(len(v), lat), v[:, 0], v[:, 1])
        out.append(d.min() / 1000.0)
    return np.asarray(out)


def test_far_distances_meet_the_documented_bound_nationally():
    # A national-scale front (a few hundred km, bending) and settlements 100-700 km from it, in
    # the national azimuthal equidistant CRS, where the projected plane's scale error is ~0.1-1 %.
    # Bound: at most (0.5 km)^2 / 2d + 1 m above the true (brute-force ellipsoid) distance, never
    # below it (1 cm for round-off). The projected-plane search was up to ~100 m off here.
    front = LineString([(23.0, 51.8), (27.0, 50.5), (31.0, 49.4), (35.0, 47.2), (38.5, 47.6), (39.8, 49.9)])
    rng = np.random.default_rng(11)
    pts = np.column_stack([rng.uniform(22.0, 40.0, 60), rng.uniform(44.4, 52.4, 60)])
    brute = _brute_force_km(front, pts)
    far = brute > 100.0
    assert far.sum() > 20
    d = front_distance_km([Point(p) for p in pts[far]], front_line=[front], exact_near_km=(5, 20, 40))
    bound_km = 0.5**2 / (2 * brute[far]) + 0.001
    assert np.all(d >= brute[far] - 1e-5)
    assert np.all(d - brute[far] <= bound_km), np.max((d - brute[far]) * 1000)


def test_far_nearest_part_is_chosen_on_the_ellipsoid_not_in_the_plane():
    # Two parts of a front 150 km from P = (38 E, 48.4 N), in the national azimuthal equidistant
    # CRS centred at (31 E, 48.4 N): part A due south (tangential to the projection's centre, so
    # stretched by ~0.1 % in the plane) is 80 m nearer on the ellipsoid than part B due east
    # (radial, not stretched). A search in the projected plane picks B and is 80 m off.
    p = (38.0, 48.4)
    lon_b, lat_b, _ = GEOD.fwd(*p, 90.0, 150_000.0)
    part_b = LineString([(lon_b, lat_b - 1.0), (lon_b, lat_b + 1.0)])
    d_b = _brute_force_km(part_b, np.array([p]))[0]
    lon_a, lat_a, _ = GEOD.fwd(*p, 180.0, 150_000.0)
    d_a0 = _brute_force_km(LineString([(lon_a - 1.0, lat_a), (lon_a + 1.0, lat_a)]), np.array([p]))[0]
    lon_a, lat_a, _ = GEOD.fwd(lon_a, lat_a, 180.0, (d_b - d_a0 - 0.080) * 1000.0)
    part_a = LineString([(lon_a - 1.0, lat_a), (lon_a + 1.0, lat_a)])
    d_a = _brute_force_km(part_a, np.array([p]))[0]
    assert d_b - d_a == pytest.approx(0.080, abs=0.002)
    front = prepare_front([part_a, part_b], extent=(22.0, 44.4, 40.0, 52.4))
    assert front.crs.coordinate_operation.method_name.startswith("Azimuthal Equidistant")
    assert front.distance_km([Point(p)])[0] == pytest.approx(d_a, abs=1e-5)


def test_lower_bound_is_below_the_distance_and_close_to_it():
    # the road graph's cheap pre-filter: never above the geodesic distance (so no segment within
    # a cap is skipped), at most half a sample spacing (0.5 km) + 2 m plus the chord's shortfall
    # d^3 / 24R^2 (0.05 km at 365 km) below it, inf past the cap
    front = LineString([(23.0, 51.8), (27.0, 50.5), (31.0, 49.4), (35.0, 47.2), (38.5, 47.6), (39.8, 49.9)])
    f = prepare_front([front], extent=(22.0, 44.4, 40.0, 52.4))
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(22.0, 40.0, 200), rng.uniform(44.4, 52.4, 200)
    exact = f.distance_km(shapely.points(lon, lat), exact=True)
    lower = f.lower_bound_km(lon, lat, upper_km=1e4)
    chord_short = exact**3 / (24 * 6371.0**2) * 1.01
    assert np.all(lower <= exact + 1e-9) and np.all(exact - lower <= 0.502 + chord_short)
    capped = f.lower_bound_km(lon, lat, upper_km=50.0)
    assert np.all(np.isinf(capped[exact > 50.6])) and np.all(np.isfinite(capped[exact <= 50.0]))
