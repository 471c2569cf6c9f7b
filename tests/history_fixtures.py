"""A hand-made history for the views over time (COP changes panel, trends, the brief, the browser).

Times: D<n> = day n of October 2026 at 00:00 UTC. Front-line snapshots at D1, D3 and D5.

- Front line: the meridian 37.0 E (48.0-48.3 N) from D1, 37.2 E from D3 and again at D5; the occupied area
  is west of it (36.5 E to the line, 47.8-48.3 N). Between D2 and now the strip 37.0-37.2 E x 47.8-48.3 N
  becomes occupied; nothing is liberated.
- Settlements (reported D1): P1 1,000 people at 37.30 E 48.05 N, P2 500 at 37.60 E, P3 200 at 37.10 E.
- Shelters: D1 A open 100 (60 taken), B full 50 (50), C open 80 (20); D3 A closed, B full with 80 places.
- Infrastructure: D1 I1 power none, I2 water major, I3 health minor; D3 I1 major, I2 restored.
- Corridor C1 created proposed at D1, agreed at D3 (the corridors table holds it as agreed).
- A brief showing D2 was exported; an import of 3 shelter rows (file shelters_d3.csv) was received (now).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, box

from cimic_geo.auth import Actor
from cimic_geo.store.audit import AuditEntry, record
from cimic_geo.store.brief_log import record_brief
from cimic_geo.store.corridor_records import history_row, insert_history

D = {n: pd.Timestamp("2026-10-01T00:00Z") + pd.Timedelta(days=n - 1) for n in range(1, 8)}
LAT = 48.05
SETTLEMENTS = [("P1", 1000, 37.30), ("P2", 500, 37.60), ("P3", 200, 37.10)]
SHELTERS_D1 = [("A", "open", 100, 60), ("B", "full", 50, 50), ("C", "open", 80, 20)]
SHELTERS_D3 = [("A", "closed", 100, 0), ("B", "full", 80, 50)]
SHELTER_XY = {"A": (37.40, 48.10), "B": (37.45, 48.00), "C": (37.50, 48.15)}
INFRA_D1 = [("I1", "power", "none", None), ("I2", "water", "major", "planned"), ("I3", "health", "minor", None)]
INFRA_D3 = [("I1", "power", "major", None), ("I2", "water", "major", "restored")]
INFRA_XY = {"I1": (37.35, 48.20), "I2": (37.55, 48.25), "I3": (37.65, 48.10)}
CORRIDOR = LineString([(37.3, 48.05), (38.0, 48.05)])
ADMIN = Actor(name="planner1", kind="user", role="admin")


def still_front(store, starts) -> None:
    """Front-line and occupied-area snapshots valid from each of ``starts`` (the last one current), all on the
    meridian 37.0 E (47.5-48.5 N) with the occupied area west of it (36.5 E to the line): any time before the
    last start is a past picture with the same threat."""
    ends = {t: nxt for t, nxt in zip(starts, [*starts[1:], None], strict=True)}
    for layer, prefix, geom in (("front_line", "F", LineString([(37.0, 47.5), (37.0, 48.5)])),
                                ("occupied_area", "O", box(36.5, 47.5, 37.0, 48.5))):
        store.write(layer, gpd.GeoDataFrame(
            {"id": [f"{prefix}{i}" for i in range(len(starts))], "valid_from": list(ends), "valid_to": list(ends.values())},
            geometry=[geom] * len(starts), crs="EPSG:4326"))


def shelters(rows, t: pd.Timestamp) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [f"Shelter {r[0]}" for r in rows],
                             "kind": "collective_centre", "status": [r[1] for r in rows],
                             "capacity": [r[2] for r in rows], "occupancy": [r[3] for r in rows], "reported_at": t},
                            geometry=[Point(*SHELTER_XY[r[0]]) for r in rows], crs="EPSG:4326")


def infrastructure(rows, t: pd.Timestamp) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [f"Object {r[0]}" for r in rows],
                             "sector": [r[1] for r in rows], "damage": [r[2] for r in rows],
                             "restoration": [r[3] for r in rows], "reported_at": t},
                            geometry=[Point(*INFRA_XY[r[0]]) for r in rows], crs="EPSG:4326")


def build_history(store, *, brief: bool = True, imports: bool = True) -> None:
    """Write the hand-made history above into an empty store."""
    store.write("settlements", gpd.GeoDataFrame(
        {"id": [s[0] for s in SETTLEMENTS], "name": [f"Town {s[0]}" for s in SETTLEMENTS],
         "population": [s[1] for s in SETTLEMENTS], "reported_at": D[1]},
        geometry=[Point(s[2], LAT) for s in SETTLEMENTS], crs="EPSG:4326"))
    store.write("shelters", shelters(SHELTERS_D1, D[1]))
    store.write("shelters", shelters(SHELTERS_D3, D[3]), mode="upsert")
    store.write("infrastructure", infrastructure(INFRA_D1, D[1]))
    store.write("infrastructure", infrastructure(INFRA_D3, D[3]), mode="upsert")
    lons = {1: 37.0, 3: 37.2, 5: 37.2}
    ends = {1: D[3], 3: D[5], 5: None}
    store.write("front_line", gpd.GeoDataFrame(
        {"id": [f"F{n}" for n in lons], "valid_from": [D[n] for n in lons], "valid_to": [ends[n] for n in lons]},
        geometry=[LineString([(x, 47.8), (x, 48.3)]) for x in lons.values()], crs="EPSG:4326"))
    store.write("occupied_area", gpd.GeoDataFrame(
        {"id": [f"O{n}" for n in lons], "valid_from": [D[n] for n in lons], "valid_to": [ends[n] for n in lons]},
        geometry=[box(36.5, 47.8, x, 48.3) for x in lons.values()], crs="EPSG:4326"))
    store.write("corridors", gpd.GeoDataFrame(
        {"id": ["C1"], "name": ["Corridor North"], "status": ["agreed"], "version": [2]},
        geometry=[CORRIDOR], crs="EPSG:4326"))

    def row(at, action, before, after):
        return history_row(corridor_id="C1", version=1, user="planner1", action=action, from_status=before,
                           to_status=after, name="Corridor North", notes=None, details=None, geom_wkt=CORRIDOR.wkt,
                           changed_at=at)

    with store.transaction() as con:
        insert_history(con, [row(D[1], "create", None, "proposed"), row(D[3], "status", "proposed", "agreed")])
        if imports:
            record(con, ADMIN, AuditEntry(action="import", layer="shelters", row_counts={"shelters": 3},
                                          source_file="shelters_d3.csv"))
    if brief:
        record_brief(store, actor=ADMIN, as_of=D[2], file_name="brief_d2.pdf")
