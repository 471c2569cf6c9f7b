"""Corridor evaluation of any line: lengths per band, hazards, shelters, travel time, bad lines."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
from access_fixtures import (
    PT_E,
    PT_W,
    SALIENT,
    destroyed_bridge,
    grid_node,
    meridian_km,
    parallel_km,
    river_grid,
    roads_frame,
    salient_roads,
)
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from cimic_geo.analytics.corridor_eval import (
    ShelterSummary,
    check_corridor_line,
    evaluate_corridor,
    lines_from_geojson,
)
from cimic_geo.analytics.roadgraph import NO_THREAT, build_road_graph
from cimic_geo.analytics.routing import find_routes, route_road_ids
from cimic_geo.errors import ValidationError
from cimic_geo.geo import GEOD


def test_band_lengths_and_min_distance_past_a_salient():
    g = build_road_graph(salient_roads(), front_line=SALIENT, bands_km=(3, 6, 9))
    line = LineString([PT_W, PT_E])  # along lat 48.05, passing 0.02° north of the salient's tip
    ev = evaluate_corridor(line, graph=g, piece_m=10)
    d0 = meridian_km(48.04, 0.02)  # 2.224 km: closest approach, above the tip
    kx = parallel_km(48.05, 1.0)  # km per degree of longitude at 48.05
    # a point x km east/west of the tip's meridian is sqrt(x² + d0²) from the tip: within 3 km
    # while |x| <= sqrt(9 - d0²) = 2.013 km, so 4.027 km of the line is in band 0-3; the rest of
    # the line (its ends are 0.05° = 3.72 km from the tip's meridian, < sqrt(36 - d0²)) is in 3-6
    inner = 2 * math.sqrt(9 - d0**2)
    total = 0.1 * kx
    assert ev.length_km == pytest.approx(total, abs=1e-3)
    assert ev.band_km["0-3"] == pytest.approx(inner, abs=0.015)  # 10 m pieces: ±5 m per crossing
    assert ev.band_km["3-6"] == pytest.approx(total - inner, abs=0.015)
    assert ev.band_km["6-9"] == 0 and ev.beyond_km == 0 and ev.occupied_km == 0
    # the line between its two ends is a geodesic bowing 1.2 m poleward at the middle
    # (L² tan φ / 8R = 7.455² * 1.115 / (8 * 6371) km), right above the tip
    bow = total**2 * math.tan(math.radians(48.05)) / (8 * 6371.0)
    assert ev.min_frontline_km == pytest.approx(d0 + bow, abs=2e-4)
    assert ev.crosses_front_line is False
    # along the two 60 km/h segments w1, w2: minutes = km, all on road
    assert ev.travel_time_min == pytest.approx(total, abs=0.05)
    assert ev.off_road_km == pytest.approx(0, abs=1e-6)


def test_occupied_part_is_reported_separately():
    occupied = Polygon([(37.02, 48.0), (37.04, 48.0), (37.04, 48.06), (37.02, 48.06)])
    g = build_road_graph(salient_roads(), front_line=SALIENT, occupied=occupied, bands_km=(3, 6, 9))
    ev = evaluate_corridor(LineString([PT_W, PT_E]), graph=g, piece_m=10)
    # 0.02° of longitude of the line lies inside the occupied box
    assert ev.occupied_km == pytest.approx(0.02 * parallel_km(48.05, 1.0), abs=0.015)
    assert sum(ev.band_km.values()) + ev.beyond_km + ev.occupied_km == pytest.approx(ev.length_km, abs=1e-3)


def test_hazards_crossed_or_within_200_m():
    roads = river_grid(h01={"status": "impassable"}, h11={"status": "impassable"}, v00={"status": "damaged"})
    g = build_road_graph(roads, infrastructure=destroyed_bridge("h12"))
    # a line 0.0015° north of row 0: 0.0015° of meridian = 166.8 m from h00..h03, and
    # 0.0085° = 945 m from row 1
    off = meridian_km(48.00075, 0.0015) * 1000
    assert off == pytest.approx(166.8, abs=0.1)
    line = LineString([(37.0, 48.0015), (37.04, 48.0015)])
    ev = evaluate_corridor(line, graph=g)
    by_id = {h.id: h for h in ev.hazards}
    assert by_id["h01"].type == "impassable_road" and by_id["h01"].distance_m == pytest.approx(off, abs=0.5)
    assert by_id["h01"].crossed is False
    assert by_id["v00"].type == "damaged_road" and by_id["v00"].crossed is True  # v00 crosses the line
    assert "h11" not in by_id and "BR-1" not in by_id  # 945 m and 945 m away
    assert ev.passable is True  # nothing impassable is crossed

    # along row 1 the line runs over the destroyed bridge
    ev = evaluate_corridor(LineString([grid_node(1, 0), grid_node(1, 4)]), graph=g)
    br = [h for h in ev.hazards if h.type == "destroyed_bridge"]
    assert len(br) == 1 and br[0].id == "BR-1" and br[0].road_id == "h12" and br[0].crossed is True
    assert br[0].distance_m < 1.0  # on the line (up to the projection's curvature, ~0.2 m)
    assert ev.passable is False
    assert ev.hazard_counts["impassable_road"] == 1  # h11 (under the line); h01 is 1.1 km away


def test_travel_time_of_drawn_lines_follows_road_speeds():
    g = build_road_graph(river_grid(h01={"status": "damaged"}))
    row0 = LineString([grid_node(0, 0), grid_node(0, 4)])
    ev = evaluate_corridor(row0, graph=g)
    km = 4 * parallel_km(48.0, 0.01)
    # 60 km/h (1 min/km) except h01, damaged: 2 min/km -> one extra 0.01° piece
    assert ev.travel_time_min == pytest.approx(km + parallel_km(48.0, 0.01), abs=0.05)
    # 11 km south of every road: off-road at 20 km/h
    far = LineString([(37.0, 47.9), (37.04, 47.9)])
    ev = evaluate_corridor(far, graph=g)
    assert ev.off_road_km == pytest.approx(ev.length_km, abs=1e-6)
    assert ev.travel_time_min == pytest.approx(ev.length_km / 20 * 60, abs=0.05)


def test_routed_line_uses_its_segments():
    g = build_road_graph(river_grid(), infrastructure=destroyed_bridge("h12"))
    o, _ = g.snap(*grid_node(1, 0))
    t, _ = g.snap(*grid_node(1, 4))
    (r,) = find_routes(g, int(o[0]), int(t[0]), policy=NO_THREAT, alternatives=0)
    ev = evaluate_corridor(r.geometry, graph=g, road_ids=route_road_ids(g, r), check=False)
    assert ev.travel_time_min == pytest.approx(r.minutes, abs=0.05)
    assert ev.length_km == pytest.approx(r.length_km, abs=1e-3)  # rounded to metres


def test_shelters_and_medical_points_within_the_buffer():
    g = build_road_graph(river_grid(), infrastructure=destroyed_bridge("h12"))
    line = LineString([grid_node(0, 0), grid_node(0, 4)])  # along lat 48.00
    # 0.009° north = 1.0 km; 0.027° north = 3.0 km (meridian arcs)
    shelters = gpd.GeoDataFrame(
        [{"id": "SH1", "name": "School", "kind": "collective_centre", "status": "open", "capacity": 200,
          "occupancy": 150, "accessible": True, "geometry": Point(37.02, 48.009)},
         {"id": "SH2", "name": "Far hall", "kind": "collective_centre", "status": "open", "capacity": 500,
          "occupancy": 0, "accessible": True, "geometry": Point(37.02, 48.027)},
         {"id": "SH3", "name": "Field hospital", "kind": "medical", "status": "full", "capacity": 40,
          "occupancy": 40, "accessible": False, "geometry": Point(37.03, 47.995)}],
        geometry="geometry", crs="EPSG:4326")
    health = destroyed_bridge()
    health = health[health["sector"] == "health"]
    ev = evaluate_corridor(line, graph=g, shelters=shelters, health=health, buffer_km=2.0)
    assert [s["id"] for s in ev.shelters] == ["SH3", "SH1"]  # 0.56 km and 1.0 km
    assert ev.shelters[1]["distance_km"] == pytest.approx(meridian_km(48.0045, 0.009), abs=1e-3)
    assert ev.shelter_summary == ShelterSummary(count=2, open=1, capacity_open=200, spare_open=50, medical=1)
    # the clinic H-1 at (37.04, 48.02) is 0.02° = 2.22 km north of the line end: outside 2 km
    assert [m["id"] for m in ev.medical] == ["SH3"]
    ev = evaluate_corridor(line, graph=g, shelters=shelters, health=health, buffer_km=2.5)
    assert {m["id"] for m in ev.medical} == {"SH3", "H-1"}


def test_time_window():
    g = build_road_graph(salient_roads())
    line = LineString([PT_W, PT_E])
    ev = evaluate_corridor(line, graph=g, window_start="2026-11-22T06:00Z", window_end="2026-11-22T18:00Z")
    assert ev.window.hours == 12.0 and ev.window.travel_fits is True  # 06:00 to 18:00 Z
    assert ev.to_dict()["window"] == {"start": "2026-11-22T06:00:00Z", "end": "2026-11-22T18:00:00Z", "hours": 12.0,
                                      "travel_fits": True}
    with pytest.raises(ValidationError) as exc:
        evaluate_corridor(line, graph=g, window_start="2026-11-22T06:00Z", window_end="2026-11-22T05:00Z")
    assert exc.value.problems[0].field == "window_end"


@pytest.mark.parametrize(
    ("geom", "message"),
    [
        (LineString([(37.0, 48.0), (37.1, 48.1), (37.1, 48.0), (37.0, 48.1)]), "crosses itself near lat 48.05000"),
        (LineString([(37.0, 48.0), (37.1, 48.0), (37.05, 48.0)]), "crosses itself"),  # goes back on itself
        (LineString([(37.0, 48.0), (37.0, 48.0)]), "zero-length line"),
        (LineString([(37.0, 48.0), (37.0 + 1e-9, 48.0)]), "zero-length line"),
        (Point(37.0, 48.0), "must be a line"),
        (MultiLineString([[(37.0, 48.0), (37.1, 48.0)], [(37.2, 48.0), (37.3, 48.0)]]), "one continuous line"),
        (LineString([(370000.0, 5300000.0), (371000.0, 5301000.0)]), "longitude/latitude"),
        (None, "empty geometry"),
    ],
)
def test_bad_lines_are_refused_with_a_clear_message(geom, message):
    with pytest.raises(ValidationError) as exc:
        check_corridor_line(geom, row=3)
    p = exc.value.problems[0]
    assert message in p.message and p.row == 3 and p.field == "geometry"


def test_good_lines_pass_cleaned():
    # repeated vertices (double clicks) are dropped; a touching end-to-start loop is allowed
    line = check_corridor_line(LineString([(37.0, 48.0), (37.0, 48.0), (37.1, 48.0), (37.1, 48.1)]))
    assert len(line.coords) == 3
    ring = check_corridor_line(LineString([(37.0, 48.0), (37.1, 48.0), (37.1, 48.1), (37.0, 48.0)]))
    assert ring.is_ring
    joined = check_corridor_line(MultiLineString([[(37.0, 48.0), (37.1, 48.0)], [(37.1, 48.0), (37.2, 48.0)]]))
    assert joined.geom_type == "LineString" and len(joined.coords) == 3


def test_lines_from_geojson_names_the_bad_feature():
    feats = lines_from_geojson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "LineString",
                                                                      "coordinates": [[37, 48], [37.1, 48]]}}]})
    assert feats[0][0] == {"name": "a"} and feats[0][1].geom_type == "LineString"
    with pytest.raises(ValidationError) as exc:
        lines_from_geojson({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[37]]}}]})
    assert exc.value.problems[0].row == 1
    with pytest.raises(ValidationError):
        lines_from_geojson({"type": "Topology"})


def test_nearby_search_is_metric_at_high_latitude():
    # At 60 N a degree of longitude is only ~55.8 km: a shelter 30 km due east of the line's end
    # (GEOD.fwd) is within a 35 km buffer, but 0.538 deg of longitude away, beyond a pre-filter
    # padded by 35 km / 70 km per degree (0.5 deg). A damaged road 190 m north of the line
    # (190 m / 111.4 km per degree of latitude at 60 N) is within the 200 m hazard distance.
    north = 60.0 + 190 / 111_400
    roads = roads_frame([("r1", (10.0, 60.0), (10.2, 60.0)), ("bad", (10.05, north), (10.15, north))],
                        bad={"status": "damaged"})
    g = build_road_graph(roads)
    lon, lat, _ = GEOD.fwd(10.2, 60.0, 90.0, 30_000.0)
    assert lon - 10.2 > 35 / 70
    shelters = gpd.GeoDataFrame(
        [{"id": "E30", "name": "East hall", "kind": "collective_centre", "status": "open", "capacity": 10,
          "occupancy": 0, "accessible": True, "geometry": Point(lon, lat)}], geometry="geometry", crs="EPSG:4326")
    ev = evaluate_corridor(LineString([(10.0, 60.0), (10.2, 60.0)]), graph=g, shelters=shelters, buffer_km=35.0)
    assert [s["id"] for s in ev.shelters] == ["E30"]
    assert ev.shelters[0]["distance_km"] == pytest.approx(30.0, abs=0.05)  # UTM 32N scale error < 0.1 %
    # the straight line between two points of a parallel bows ~L^2/8 * tan(lat)/R = 3-4 m poleward
    # over these 11 km, so the road is 186-188 m from it
    assert [h.id for h in ev.hazards] == ["bad"] and 185.5 < ev.hazards[0].distance_m < 189


def test_pasted_text_is_read_as_geojson_or_lat_lon_pairs():
    from cimic_geo.analytics.corridor_lines import line_from_text

    pairs = line_from_text("48.0, 37.0; 48.1,37.2\n48.2 , 37.3")
    assert list(pairs.coords) == [(37.0, 48.0), (37.2, 48.1), (37.3, 48.2)]  # lat,lon in, lon/lat out
    feature = '{"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[37, 48], [37.1, 48]]}}'
    assert list(line_from_text(feature).coords) == [(37.0, 48.0), (37.1, 48.0)]
    for text, field, message in [
        ("", "geometry", "nothing to evaluate"),
        ("48.0,37.0; 48.1", "geometry", "the pasted line cannot be read"),
        ("48.0,37.0", "geometry", "the corridor line is not valid"),
        ('{"type": "FeatureCollection", "features": []}', "geometry", "paste one line at a time"),
        ("{not json", "geometry", "not valid GeoJSON"),
    ]:
        with pytest.raises(ValidationError) as exc:
            line_from_text(text)
        assert str(exc.value).startswith(message) and exc.value.problems[0].field == field, text
    with pytest.raises(ValidationError) as exc:
        line_from_text("48.0,37.0; 48.1")
    assert exc.value.problems[0].row == 2  # the second point
