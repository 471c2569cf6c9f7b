"""Writing small spreadsheets (XLSX or CSV, by the file's suffix) for the spreadsheet import tests."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import openpyxl
import shapely


def write_sheet(path: Path, header: list[str], rows: list[list]) -> Path:
    """A one-sheet workbook (``.xlsx``) or a UTF-8 CSV with ``header`` and ``rows``; returns ``path``."""
    if path.suffix == ".xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(header)
        for r in rows:
            ws.append(r)
        wb.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows([["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in r]
                         for r in rows])
    return path


#: Three settlements and one shelter: the store the spreadsheet tests import into.
SETTLEMENTS = gpd.GeoDataFrame(
    {"id": ["S1", "S2", "S3"], "name": ["Alpha", "Bravo", "Charlie"], "population": [100, 200, 300],
     "source": "t", "reliability": "B2"},
    geometry=shapely.points([(30.0, 50.0), (30.1, 50.0), (30.2, 50.1)]), crs="EPSG:4326")
SHELTERS = gpd.GeoDataFrame(
    {"id": ["SH1"], "name": ["School 4"], "kind": ["collective_centre"], "capacity": [50], "occupancy": [10],
     "status": ["open"], "source": "t", "reliability": "B2"},
    geometry=shapely.points([(30.5, 50.3)]), crs="EPSG:4326")
