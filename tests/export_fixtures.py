"""A tiny hand-made store for the export tests (values chosen so answers can be worked out by hand).

Geometry (WGS84 lon/lat):

* the front line in force from T1 is the meridian lon 38.0 from lat 49.0 to 50.0; the one before
  (T0..T1) is lon 38.1. The occupied area is east of the line (38.0..38.5 from T1).
* at lat 49.5 one degree of longitude is pi/180 * a * cos(phi) / sqrt(1 - e2 sin^2 phi)
  = 0.0174533 * 6378.137 * 0.649448 / sqrt(1 - 0.00669438 * 0.578217) = 72.44 km, so the
  settlements at lon 37.95, 37.90, 37.50 are 3.62, 7.24 and 36.2 km from the current line:
  bands 0-5, 5-20 and 20-40; the one at lon 38.2 is on the occupied side.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, Polygon

T0 = pd.Timestamp("2026-11-20T06:00:00Z")
T1 = pd.Timestamp("2026-11-21T06:00:00Z")

EVIL = '<script>alert("x")</script> & \'q\''

SETTLEMENTS = gpd.GeoDataFrame(
    {
        "id": ["s1", "s2", "s3", "s4"],
        "name": ["Near", "Mid " + EVIL, "Far", "Taken"],
        "name_uk": ["Ближнє", "Середнє", "Далеке", "Окуповане"],
        "admin1": ["Kharkivska"] * 4,
        "population": [1000, 20000, 300000, 5000],
        "settlement_type": ["village", "town", "city", "village"],
        "source": ["OCHA", "OCHA", "OCHA", "ISW"],
        "reported_at": [T0, T0, T1, T1],
        "reliability": ["B2", "B2", "A1", "C3"],
    },
    geometry=[Point(37.95, 49.5), Point(37.90, 49.5), Point(37.50, 49.5), Point(38.20, 49.5)],
    crs="EPSG:4326",
)

SHELTERS = gpd.GeoDataFrame(
    {
        "id": ["h1", "h2", "h3"],
        "name": ["School №5 <b>bold</b>", 'Metro & "depot"', "Клуб"],
        "kind": ["blast_shelter", "collective_centre", "medical"],
        "capacity": [200, 500, 50],
        "occupancy": [150, None, 10],
        "status": ["open", "full", "damaged"],
        "accessible": [True, None, False],
        "address": ["вул. Шевченка, 5", None, "<i>x</i>"],
        "source": ["SES", "SES", "NGO"],
        "reported_at": [T1, None, T0],
        "reliability": ["A1", "C3", None],
    },
    geometry=[Point(37.60, 49.40), Point(37.70, 49.60), Point(37.80, 49.45)],
    crs="EPSG:4326",
)

INFRASTRUCTURE = gpd.GeoDataFrame(
    {
        "id": ["i1", "i2", "i3"],
        "name": ["Substation", "Bridge " + EVIL, "Pumping station"],
        "sector": ["power", "bridge", "water"],
        "damage": ["destroyed", "major", "minor"],
        "restoration": ["planned", "none", "in_progress"],
        "people_served": [30000, None, 4000],
        "capacity_mw": [12.5, None, None],
        "source": ["DTEK", "SES", "Vodokanal"],
        "reported_at": [T1, T1, T0],
        "reliability": ["B1", "B2", "B3"],
    },
    geometry=[
        Point(37.70, 49.30),
        LineString([(37.55, 49.35), (37.56, 49.36)]),
        Polygon([(37.40, 49.70), (37.41, 49.70), (37.41, 49.71), (37.40, 49.71)]),
    ],
    crs="EPSG:4326",
)

FRONT_LINE = gpd.GeoDataFrame(
    {"id": ["f0", "f1"], "valid_from": [T0, T1], "valid_to": [T1, None], "source": ["ISW", "ISW"],
     "reported_at": [T0, T1], "reliability": ["B2", "B2"]},
    geometry=[LineString([(38.1, 49.0), (38.1, 50.0)]), LineString([(38.0, 49.0), (38.0, 50.0)])],
    crs="EPSG:4326",
)

OCCUPIED = gpd.GeoDataFrame(
    {"id": ["o0", "o1"], "valid_from": [T0, T1], "valid_to": [T1, None], "source": ["ISW", "ISW"]},
    geometry=[
        Polygon([(38.1, 49.0), (38.5, 49.0), (38.5, 50.0), (38.1, 50.0)]),
        Polygon([(38.0, 49.0), (38.5, 49.0), (38.5, 50.0), (38.0, 50.0)]),
    ],
    crs="EPSG:4326",
)

CORRIDORS = gpd.GeoDataFrame(
    {
        "id": ["c1", "c2"],
        "name": ["Near → Far", "Evac " + EVIL],
        "status": ["active", "draft"],
        "origin": ["Near", None],
        "destination": ["Far", None],
        "window_start": [T0, None],
        "window_end": [T1, None],
        "notes": ["buses <10>", None],
        "version": [3, 1],
        "source": ["CIMIC cell", "CIMIC cell"],
        "reported_at": [T1, T1],
        "reliability": ["A2", "A2"],
    },
    geometry=[
        LineString([(37.95, 49.5), (37.80, 49.55), (37.60, 49.52), (37.50, 49.5)]),
        LineString([(37.90, 49.5), (37.70, 49.40)]),
    ],
    crs="EPSG:4326",
)

ROADS = gpd.GeoDataFrame(
    {"id": ["r1", "r2"], "road_class": ["primary", "local"], "speed_kmh": [90.0, 40.0], "bridge": [False, True],
     "status": ["open", "impassable"], "name": ["M03", None]},
    geometry=[LineString([(37.5, 49.5), (37.9, 49.5)]), LineString([(37.9, 49.5), (37.95, 49.5)])],
    crs="EPSG:4326",
)

FRAMES = {
    "settlements": SETTLEMENTS,
    "shelters": SHELTERS,
    "infrastructure": INFRASTRUCTURE,
    "front_line": FRONT_LINE,
    "occupied_area": OCCUPIED,
    "corridors": CORRIDORS,
    "roads": ROADS,
}

#: Bounding box that holds everything above.
BBOX = (37.3, 48.9, 38.6, 50.1)


def build_store(path: Path) -> Path:
    """Create the hand-made store at ``path`` (marking EXERCISE, area "testarea")."""
    from cimic_geo.store import init_store

    store = init_store(path)
    for name, gdf in FRAMES.items():
        store.write(name, gdf)
    store.set_meta({"marking": "EXERCISE", "area": "testarea"})
    store.close()
    return path
