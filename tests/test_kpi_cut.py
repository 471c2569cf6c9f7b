"""The KPI strip's cut of a kept base and its damage table, against independent computations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.analytics.kpi_strip import KpiBase, damage_kpi
from cimic_geo.schema import SECTORS


def _points(xy: list[tuple[float, float] | None]) -> gpd.GeoDataFrame:
    geoms = [shapely.Point() if p is None else shapely.Point(*p) for p in xy]
    return gpd.GeoDataFrame({"population": range(len(xy))}, geometry=geoms, crs="EPSG:4326")


def test_point_cut_equals_shapely_intersects_edges_included() -> None:
    rng = np.random.default_rng(7)
    xy = [(float(x), float(y)) for x, y in rng.uniform(0, 10, size=(500, 2)).round(1)]  # many on box edges
    xy += [(2.0, 3.0), (8.0, 3.0), (2.0, 7.0), (8.0, 7.0), None]  # the four corners of the box; an empty point
    sett = _points(xy)
    empty = _points([])
    base = KpiBase(settlements=sett, shelters=empty, infrastructure=empty, corridors=empty, band=None,
                   population=np.zeros(len(sett)), bands_km=(5.0,), notes=[], as_of=None)
    for box in ((2.0, 3.0, 8.0, 7.0), (0.0, 0.0, 10.0, 10.0), (20.0, 20.0, 21.0, 21.0), (4.95, 4.95, 5.05, 5.05)):
        expected = np.flatnonzero(shapely.intersects(sett.geometry.to_numpy(), shapely.box(*box)))
        got = base.cut("settlements", box)
        np.testing.assert_array_equal(got, expected)
    assert isinstance(base.trees["settlements"], np.ndarray)  # coordinates, not an R-tree
    assert len(base.cut("settlements", (2.0, 3.0, 8.0, 7.0))) >= 4  # the corners count


def test_line_cut_uses_the_rtree() -> None:
    lines = gpd.GeoDataFrame({"status": ["active", "planned"]},
                             geometry=[shapely.LineString([(0, 0), (10, 10)]), shapely.LineString([(20, 0), (21, 1)])],
                             crs="EPSG:4326")
    empty = _points([])
    base = KpiBase(settlements=empty, shelters=empty, infrastructure=empty, corridors=lines, band=None,
                   population=np.zeros(0), bands_km=(5.0,), notes=[], as_of=None)
    # the box (4, 6)-(5, 7) lies beside the diagonal, whose extent covers it: only an exact test leaves it out
    assert base.cut("corridors", (4.0, 6.0, 5.0, 7.0)).tolist() == []
    assert base.cut("corridors", (4.0, 4.0, 5.0, 5.0)).tolist() == [0]


def test_damage_table_counts_by_hand() -> None:
    water, power = SECTORS[0], SECTORS[1]
    infra = pd.DataFrame({"sector": [water, water, water, power, None, power],
                          "damage": ["minor", "destroyed", "none", "destroyed", "major", "destroyed"]})
    table = damage_kpi(infra)
    # water: 1 minor, 1 destroyed (the "none" row is not damaged); power: 2 destroyed; no sector: left out
    assert table.loc[water].to_dict() == {"minor": 1, "major": 0, "destroyed": 1, "total": 2}
    assert table.loc[power].to_dict() == {"minor": 0, "major": 0, "destroyed": 2, "total": 2}
    assert int(table["total"].sum()) == 4 and list(table.index) == list(SECTORS)
    assert (table.dtypes == "int64").all()
    # the same as pandas' cross-tabulation of the damaged rows
    hit = infra[infra["damage"] != "none"]
    cross = pd.crosstab(hit["sector"], hit["damage"])
    for sector in cross.index:
        for level in cross.columns:
            assert table.loc[sector, level] == cross.loc[sector, level]
