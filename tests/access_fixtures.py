"""Hand-made road networks for the access tests, with lengths worked out by hand.

Lengths on the WGS84 ellipsoid (a = 6378137 m, e² = 0.00669438), short enough that the geodesic
equals the arc to far below a millimetre:

* along a parallel at latitude φ, Δλ degrees:   N(φ)·cos φ·Δλ·π/180, N = a / √(1 − e² sin² φ)
* along a meridian around latitude φ, Δφ degrees: M(φ)·Δφ·π/180,  M = a(1 − e²) / (1 − e² sin² φ)^1.5

Every road is 60 km/h, so travel minutes equal kilometres.
"""

from __future__ import annotations

import math

import geopandas as gpd
from shapely.geometry import LineString, Point

A = 6378137.0
E2 = 0.00669438


def parallel_km(lat: float, dlon: float) -> float:
    """Length (km) of ``dlon`` degrees along the parallel at ``lat``."""
    s = math.sin(math.radians(lat))
    n = A / math.sqrt(1 - E2 * s * s)
    return n * math.cos(math.radians(lat)) * math.radians(dlon) / 1000.0


def meridian_km(lat_mid: float, dlat: float) -> float:
    """Length (km) of ``dlat`` degrees along a meridian centred on ``lat_mid``."""
    s = math.sin(math.radians(lat_mid))
    m = A * (1 - E2) / (1 - E2 * s * s) ** 1.5
    return m * math.radians(dlat) / 1000.0


def roads_frame(rows: list[tuple[str, tuple[float, float], tuple[float, float]]], **overrides) -> gpd.GeoDataFrame:
    """Roads from ``(id, (lon, lat), (lon, lat))``; 60 km/h, open; ``overrides`` {id: {col: value}}."""
    recs = []
    for rid, a, b in rows:
        rec = {"id": rid, "road_class": "secondary", "speed_kmh": 60.0, "bridge": False, "status": "open",
               "name": f"road {rid}", "geometry": LineString([a, b])}
        rec.update(overrides.get(rid, {}))
        recs.append(rec)
    return gpd.GeoDataFrame(recs, geometry="geometry", crs="EPSG:4326")


# ----------------------------------------------------------------------------------------------
# Grid with a river: 5 columns (lon 37.00 .. 37.04) x 3 rows (lat 48.00, 48.01, 48.02).
# The river runs between columns 2 and 3; the three horizontal edges across it are bridges.
# ----------------------------------------------------------------------------------------------


def grid_node(r: int, c: int) -> tuple[float, float]:
    return (round(37.0 + 0.01 * c, 6), round(48.0 + 0.01 * r, 6))


def river_grid(**overrides) -> gpd.GeoDataFrame:
    rows = []
    for r in range(3):
        for c in range(4):
            rows.append((f"h{r}{c}", grid_node(r, c), grid_node(r, c + 1)))
    for r in range(2):
        for c in range(5):
            rows.append((f"v{r}{c}", grid_node(r, c), grid_node(r + 1, c)))
    gdf = roads_frame(rows, **overrides)
    gdf.loc[gdf["id"].isin(["h02", "h12", "h22"]), "bridge"] = True
    return gdf


def destroyed_bridge(road_id: str = "h12") -> gpd.GeoDataFrame:
    """Infrastructure: the bridge carrying ``road_id`` is destroyed (plus an intact one and a clinic)."""
    return gpd.GeoDataFrame(
        [
            {"id": "BR-1", "name": "Middle bridge", "sector": "bridge", "damage": "destroyed", "road_id": road_id,
             "geometry": Point(37.025, 48.01)},
            {"id": "BR-2", "name": "North bridge", "sector": "bridge", "damage": "minor", "road_id": "h22",
             "geometry": Point(37.025, 48.02)},
            {"id": "H-1", "name": "Clinic", "sector": "health", "damage": "none", "road_id": None,
             "geometry": Point(37.04, 48.02)},
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )


# ----------------------------------------------------------------------------------------------
# A village behind a broken bridge: A -(south road)- M -(bridge)- H, and a northern road
# A - N1 - N2 - H at lat 48.05; the front line runs along lat 48.07.
# ----------------------------------------------------------------------------------------------

PT_A = (37.0, 48.0)
PT_M = (37.05, 48.0)
PT_H = (37.1, 48.0)
PT_N1 = (37.0, 48.05)
PT_N2 = (37.1, 48.05)
# vertices every 0.01° so that the line follows the parallel (a single 37 km geodesic between the
# ends would bow 30 m poleward in the middle)
FRONT_NORTH = LineString([(round(36.8 + 0.01 * i, 2), 48.07) for i in range(51)])


def cutoff_roads(**overrides) -> gpd.GeoDataFrame:
    return roads_frame(
        [("s1", PT_A, PT_M), ("s2", PT_M, PT_H), ("n0", PT_A, PT_N1), ("n1", PT_N1, PT_N2), ("n2", PT_N2, PT_H)],
        **overrides,
    )


def cutoff_settlements() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [
            {"id": "S-A", "name": "Alpha", "name_uk": "Альфа", "population": 1200, "geometry": Point(*PT_A)},
            {"id": "S-H", "name": "Harbour", "name_uk": "Гавань", "population": 50000, "geometry": Point(*PT_H)},
            {"id": "S-N", "name": "Northby", "name_uk": "Північне", "population": 300,
             "geometry": Point(37.05, 48.05)},
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )


def bridge_at_s2(damage: str = "destroyed") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{"id": "BR-S2", "name": "River bridge", "sector": "bridge", "damage": damage, "road_id": "s2",
          "geometry": Point(37.075, 48.0)}],
        geometry="geometry",
        crs="EPSG:4326",
    )


# ----------------------------------------------------------------------------------------------
# Two ways from W to E: straight along lat 48.05 past the tip of a salient (front line from
# (37.05, 48.03) south), or north over lat 48.10.
# ----------------------------------------------------------------------------------------------

PT_W = (37.0, 48.05)
PT_E = (37.1, 48.05)
PT_MID = (37.05, 48.05)
SALIENT = LineString([(37.05, 48.03), (37.05, 47.9)])

def write_planner_store(store) -> None:
    """Alpha behind a destroyed bridge: its only other road runs 2.2 km south of the front line."""
    import pandas as pd

    store.write("roads", cutoff_roads())
    store.write("settlements", cutoff_settlements())
    store.write("infrastructure", bridge_at_s2())
    store.write("front_line", gpd.GeoDataFrame(
        {"id": ["F1"], "valid_from": [pd.Timestamp("2026-11-20T06:00Z")], "valid_to": [None]},
        geometry=[FRONT_NORTH], crs=4326))


def salient_roads() -> gpd.GeoDataFrame:
    return roads_frame(
        [("w1", PT_W, PT_MID), ("w2", PT_MID, PT_E),
         ("u1", PT_W, (37.0, 48.1)), ("u2", (37.0, 48.1), (37.1, 48.1)), ("u3", (37.1, 48.1), PT_E)]
    )
