"""The population series classify settlements a metre either side of a band edge as the exact distance
does (the bounds from the front's samples are ~100 m wide there, so these points are measured exactly).

Front: the meridian 37.0 E from 47.8 to 48.3 N (a geodesic). A geodesic leaving it at 48.05 N with
azimuth 90 degrees is perpendicular to it, so its point at distance s (pyproj Geod.fwd) is s from the
line. Settlements (people): 9,999.5 m (1), 10,000.5 m (10), 24,999.5 m (100), 25,000.5 m (1,000),
60 km (10,000). Bands (10, 25, 50) km, edges inclusive: 0-10 = 1; 10-25 = 10 + 100 = 110;
25-50 = 1,000; beyond = 10,000. Without the line (a time before it) everyone is beyond: 11,111.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point

import cimic_geo.analytics.trends as trends
from cimic_geo.analytics.bands import classify_bands
from cimic_geo.analytics.front_distance import front_distance_km

T0, T1 = pd.Timestamp("2026-10-01T00:00Z"), pd.Timestamp("2026-10-02T00:00Z")
METRES = (9_999.5, 10_000.5, 24_999.5, 25_000.5, 60_000.0)
PEOPLE = (1, 10, 100, 1_000, 10_000)


def _inputs():
    lon, lat, _ = Geod(ellps="WGS84").fwd([37.0] * len(METRES), [48.05] * len(METRES), [90.0] * len(METRES),
                                          list(METRES))
    points = [Point(x, y) for x, y in zip(lon, lat, strict=True)]
    settlements = pd.DataFrame({"population": PEOPLE, "valid_from": [T0] * len(PEOPLE),
                                "valid_to": pd.Series([pd.NaT] * len(PEOPLE), dtype="datetime64[ns, UTC]"),
                                "geometry": points})
    line = LineString([(37.0, 47.8), (37.0, 48.3)])
    front = gpd.GeoDataFrame({"valid_from": [T1], "valid_to": pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")},
                             geometry=[line], crs="EPSG:4326")
    occupied = gpd.GeoDataFrame({"valid_from": pd.Series([], dtype="datetime64[ns, UTC]"),
                                 "valid_to": pd.Series([], dtype="datetime64[ns, UTC]")},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    return settlements, front, occupied, points, line


def test_a_metre_either_side_of_a_band_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    settlements, front, occupied, points, line = _inputs()
    measured: list[int] = []
    real = trends._FrontBands._exact_km

    def counting(self, rows, high, slack):
        measured.append(len(rows))
        return real(self, rows, high, slack)

    monkeypatch.setattr(trends._FrontBands, "_exact_km", counting)
    out = trends.population_series([T0, T1], settlements, front, occupied, bands_km=(10, 25, 50))
    assert out.columns.tolist() == ["0-10", "10-25", "25-50", "beyond", "occupied"]
    assert out.loc[T0].tolist() == [0, 0, 0, 11_111, 0]
    assert out.loc[T1].tolist() == [1, 110, 1_000, 10_000, 0]
    # the nearest sample (every <= 100 m) is at most 50 m along the line from a point's foot, so the upper
    # bound exceeds the distance by at most 50**2 / (2 * 10,000) = 0.125 m: the two points 0.5 m inside an
    # edge are settled by it, the two 0.5 m beyond one have the edge within their bounds and are measured
    # exactly (60 km: beyond, never measured)
    assert measured == [2]
    # the same classification as the exact distance of the front-distance module
    exact = front_distance_km(points, front_line=[line], exact=True)
    assert np.allclose(exact[:4], np.asarray(METRES[:4]) / 1000.0, atol=1e-6)
    labels = classify_bands(exact, bands_km=(10, 25, 50)).tolist()
    assert labels == ["0-10", "10-25", "10-25", "25-50", "beyond"]
