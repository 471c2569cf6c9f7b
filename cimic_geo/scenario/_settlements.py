"""Settlements: a Zipf-like size distribution, villages clustered around towns, admin units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from cimic_geo.scenario._config import ScaleConfig
from cimic_geo.scenario._names import place_names
from cimic_geo.scenario._theatre import Theatre


def _uniform_in_area(rng: np.random.Generator, area: shapely.Polygon, n: int) -> np.ndarray:
    x0, y0, x1, y1 = area.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform((x0, y0), (x1, y1), size=(max(2 * n, 64), 2))
        cand = cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])]
        out = np.vstack([out, cand])
    return out[:n]


def _thin(existing: np.ndarray, cand: np.ndarray, spacing_m: float) -> np.ndarray:
    """Drop candidates closer than ``spacing_m`` to an existing point or to an earlier candidate."""
    if len(existing):
        d, _ = cKDTree(existing).query(cand, distance_upper_bound=spacing_m)
        cand = cand[~np.isfinite(d)]
    if len(cand) < 2:
        return cand
    pairs = cKDTree(cand).query_pairs(spacing_m, output_type="ndarray")
    drop = np.zeros(len(cand), dtype=bool)
    drop[pairs.max(axis=1)] = True
    return cand[~drop]


def _place(rng, area, existing, n, spacing_m, sampler) -> np.ndarray:
    placed = np.empty((0, 2))
    for _ in range(50):
        if len(placed) >= n:
            break
        cand = sampler(max(2 * (n - len(placed)), 16))
        cand = cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])]
        cand = _thin(np.vstack([existing, placed]), cand, spacing_m)
        placed = np.vstack([placed, cand[: n - len(placed)]])
    return placed


def _greedy_centres(xy: np.ndarray, order: np.ndarray, spacing_m: float, k: int) -> list[int]:
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= k:
            break
        if not chosen or np.min(np.hypot(*(xy[chosen] - xy[i]).T)) >= spacing_m:
            chosen.append(int(i))
    return chosen


def build_settlements(cfg: ScaleConfig, th: Theatre, rng: np.random.Generator) -> pd.DataFrame:
    """Settlements (metric x, y; rounded lon, lat; attributes), biggest first."""
    area = th.area
    # Cities: fixed boxes for the main ones, the rest anywhere with wide spacing.
    xy_list, pops = [], []
    for x0, y0, x1, y1, lo, hi in cfg.city_boxes:
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        xy_list.append(th.to_metric.transform(lon, lat))
        pops.append(rng.uniform(lo, hi))
    cities = np.array(xy_list, dtype=float).reshape(-1, 2)
    extra = cfg.n_cities - len(cities)
    if extra > 0:
        more = _place(rng, area, cities, extra, 55_000.0, lambda m: _uniform_in_area(rng, area, m))
        cities = np.vstack([cities, more])
        pops += list(np.exp(rng.uniform(np.log(100_000), np.log(600_000), len(more))))
    city_pop = np.array(pops)

    towns = _place(rng, area, cities, cfg.n_towns, 9_000.0, lambda m: _uniform_in_area(rng, area, m))
    # Pareto tail: many small towns, few large ones (Zipf-like).
    town_pop = 10_000 * 9.5 ** (rng.random(len(towns)) ** 2.2)

    hubs = np.vstack([cities, towns])
    hub_pop = np.r_[city_pop, town_pop]
    weight = np.sqrt(hub_pop) / np.sqrt(hub_pop).sum()

    def village_sampler(m: int) -> np.ndarray:
        clustered = rng.random(m) < cfg.village_cluster_share
        parent = rng.choice(len(hubs), size=m, p=weight)
        spread = 4_000.0 + 0.02 * np.sqrt(hub_pop[parent]) * 1_000.0 / 10.0
        near = hubs[parent] + rng.normal(size=(m, 2)) * spread[:, None]
        anywhere = _uniform_in_area(rng, area, m)
        return np.where(clustered[:, None], near, anywhere)

    villages = _place(rng, area, hubs, cfg.n_villages, cfg.min_spacing_km * 1000.0, village_sampler)
    village_pop = np.clip(200 + np.exp(rng.normal(np.log(220), 0.95, len(villages))), 200, 5_000)

    xy = np.vstack([hubs, villages])
    pop = np.r_[hub_pop, village_pop].round().astype(np.int64)
    kind = np.array(["city"] * len(cities) + ["town"] * len(towns) + ["village"] * len(villages))
    order = np.argsort(-pop, kind="stable")
    xy, pop, kind = xy[order], pop[order], kind[order]

    names, names_uk = place_names(rng, kind)
    lon, lat = th.to_lonlat.transform(xy[:, 0], xy[:, 1])
    lon, lat = np.round(lon, 6), np.round(lat, 6)

    # Oblasts and raions named after their centres, as in reality; membership = nearest centre.
    big = np.flatnonzero(kind != "village")
    obl = _greedy_centres(xy, big, 110_000.0, cfg.n_oblasts)
    obl_of = cKDTree(xy[obl]).query(xy)[1]
    admin1 = np.array([f"{names[obl[j]]} Oblast" for j in obl_of], dtype=object)
    rai = list(dict.fromkeys(obl + _greedy_centres(xy, big, 28_000.0, cfg.n_raions)))
    rai_arr = np.array(rai)
    admin2 = np.empty(len(xy), dtype=object)
    rai_obl = obl_of[rai_arr]
    for j in range(len(obl)):
        members = np.flatnonzero(obl_of == j)
        centres = rai_arr[rai_obl == j]
        nearest = cKDTree(xy[centres]).query(xy[members])[1]
        admin2[members] = [f"{names[c]} Raion" for c in centres[nearest]]

    return pd.DataFrame(
        {
            "id": [f"S{i + 1:05d}" for i in range(len(xy))],
            "name": names,
            "name_uk": names_uk,
            "admin1": admin1,
            "admin2": admin2,
            "population": pop,
            "settlement_type": kind,
            "x": xy[:, 0],
            "y": xy[:, 1],
            "lon": lon,
            "lat": lat,
        }
    )
