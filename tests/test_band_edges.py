"""One band convention everywhere: the outer edge of a band is inside it (within 1 mm), for the
exposure bands, the roads' exclusion and the safe hubs of time to safety."""

from __future__ import annotations

import geopandas as gpd
from access_fixtures import roads_frame
from shapely.geometry import LineString, Point

from cimic_geo.analytics.bands import classify_bands
from cimic_geo.analytics.roadgraph import RoutingPolicy, build_road_graph
from cimic_geo.analytics.time_to_safety import time_to_safety
from cimic_geo.geo import GEOD

# The front: the meridian 36 E, 48-49 N (a geodesic). Due west of (36 E, 48.5 N) the geodesic
# distance to it is exactly the distance travelled (azimuth 270 is perpendicular to a meridian).
FRONT = LineString([(36.0, 48.0), (36.0, 49.0)])


def _west(km: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(36.0, 48.5, 270.0, km * 1000.0)
    return lon, lat


def test_a_settlement_on_the_outer_edge_is_not_a_safe_hub():
    # bands 3, 6, 9 km: EDGE at 9 km + 0.5 mm is in band 6-9 (edges inclusive within 1 mm), so it
    # is not beyond the bands and not a hub; FAR at 12 km is the hub it drives to.
    edge, far, near = _west(9.0000005), _west(12.0), _west(4.0)
    roads = roads_frame([("r1", near, edge), ("r2", edge, far)])
    graph = build_road_graph(roads, front_line=gpd.GeoDataFrame(geometry=[FRONT], crs=4326), bands_km=(3, 6, 9))
    places = gpd.GeoDataFrame({"id": ["NEAR", "EDGE", "FAR"], "name": ["Near", "Edge", "Far"],
                               "population": [100, 200, 300]},
                              geometry=[Point(near), Point(edge), Point(far)], crs=4326)
    table = time_to_safety(graph, places, policy=RoutingPolicy(avoid_km=3.0, penalties=None)).set_index("id")
    assert list(classify_bands(table.loc[["EDGE", "FAR"], "front_km"], bands_km=(3, 6, 9))) == ["6-9", "beyond"]
    assert table["hub"].to_dict() == {"NEAR": False, "EDGE": False, "FAR": True}
    assert table.loc["EDGE", "minutes"] > 0 and table.loc["EDGE", "nearest_hub"] == "FAR"
