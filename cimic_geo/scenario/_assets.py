"""Shelters, infrastructure and humanitarian corridors of the scenario."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from cimic_geo.scenario._config import HISTORY_END, ScaleConfig
from cimic_geo.scenario._names import STREETS
from cimic_geo.scenario._roads import SPEED_KMH, RoadNetwork
from cimic_geo.scenario._theatre import Theatre
from cimic_geo.schema import CORRIDOR_STATUSES, ROAD_CLASSES

_FREE_RELIABILITY = np.array(["A2", "B2", "B2", "B2", "C2", "B3", "C3"])
_OCCUPIED_RELIABILITY = np.array(["C4", "D4", "E5", "D3"])


def provenance(rng: np.random.Generator, occupied: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """(reported_at, reliability): recent reports on the free side; older, less reliable beyond the line."""
    hours = np.where(occupied, rng.uniform(24, 24 * 30, len(occupied)), rng.uniform(1, 72, len(occupied)))
    reported = HISTORY_END - pd.to_timedelta(np.round(hours * 60), unit="min")
    reliability = np.where(occupied, rng.choice(_OCCUPIED_RELIABILITY, len(occupied)),
                           rng.choice(_FREE_RELIABILITY, len(occupied)))
    return pd.Series(reported), reliability.astype(object)


def _scatter(rng, th: Theatre, centre: np.ndarray, pop: np.ndarray) -> np.ndarray:
    """Points around settlement centres, spread with the settlement's size, kept inside the area."""
    spread = 250.0 + 4.0 * np.sqrt(pop)  # m: ~0.35 km for a village, ~4 km for a city of 1M
    xy = centre + rng.normal(size=centre.shape) * spread[:, None]
    outside = ~shapely.contains_xy(th.area, xy[:, 0], xy[:, 1])
    xy[outside] = centre[outside] + rng.normal(size=(int(outside.sum()), 2)) * 50.0
    return xy


def _to_ll(th: Theatre, xy: np.ndarray) -> np.ndarray:
    lon, lat = th.to_lonlat.transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), 6)


def _running_number(keys: pd.Series) -> np.ndarray:
    return keys.groupby(keys).cumcount().to_numpy() + 1


# ----------------------------------------------------------------------------------------------
# Shelters
# ----------------------------------------------------------------------------------------------
_KIND_P = {  # blast_shelter, collective_centre, transit_centre, medical
    "city": (0.62, 0.18, 0.08, 0.12),
    "town": (0.55, 0.25, 0.08, 0.12),
    "village": (0.50, 0.38, 0.02, 0.10),
}
_KINDS = np.array(["blast_shelter", "collective_centre", "transit_centre", "medical"], dtype=object)
_KIND_LABEL = {"blast_shelter": "Shelter", "collective_centre": "Collective centre",
               "transit_centre": "Transit centre", "medical": "Medical point"}
_KIND_SHARE = {"blast_shelter": 0.30, "collective_centre": 0.08, "transit_centre": 0.06, "medical": 0.02}
_ACCESSIBLE_P = {"blast_shelter": 0.35, "collective_centre": 0.6, "transit_centre": 0.7, "medical": 0.85}


def build_shelters(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    pop = st["population"].to_numpy().astype(float)
    kind_s = st["settlement_type"].to_numpy()
    per_person = pop.sum() / max(1.0, cfg.target_shelters - len(st))
    count = 1 + rng.poisson(pop / per_person)
    sid = np.repeat(np.arange(len(st)), count)
    n = len(sid)
    u = rng.random(n)
    kind = np.empty(n, dtype=object)
    for t, probs in _KIND_P.items():
        m = kind_s[sid] == t
        kind[m] = _KINDS[np.searchsorted(np.cumsum(probs), u[m] * 0.999999)]
    xy = _scatter(rng, th, st[["x", "y"]].to_numpy()[sid], pop[sid])
    d_km = th.front_distance_km(xy)
    occupied = th.occupied_now(xy)

    share = np.array([_KIND_SHARE[k] for k in kind])
    capacity = np.clip(np.round(pop[sid] / count[sid] * share * rng.lognormal(0, 0.35, n)), 10, 5_000).astype(np.int64)
    fill = np.where(np.isin(kind, ["collective_centre", "transit_centre"]), rng.beta(5, 2, n),
                    np.where(kind == "medical", rng.beta(4, 2, n), rng.beta(2, 5, n)))
    full_p = np.where(np.isin(kind, ["collective_centre", "transit_centre"]), 0.25, 0.05)
    full = rng.random(n) < full_p
    occupancy = np.where(full, capacity, np.round(capacity * fill)).astype(np.int64)
    r = rng.random(n)
    p_damaged = 0.35 * np.exp(-d_km / 12.0) + 0.01
    status = np.where(r < p_damaged, "damaged", np.where(r < p_damaged + 0.04, "closed",
                      np.where(occupancy >= capacity, "full", "open"))).astype(object)
    status[occupied] = np.where(rng.random(int(occupied.sum())) < 0.3, "damaged", "closed")
    occ_values = pd.array(np.where(np.isin(status, ["closed", "damaged"]), 0, occupancy), dtype="Int64")
    occ_values[occupied] = pd.NA  # no reliable figure beyond the line
    accessible = rng.random(n) < np.array([_ACCESSIBLE_P[k] for k in kind])

    names = st["name"].to_numpy()[sid]
    number = _running_number(pd.Series(st["id"].to_numpy()[sid] + "|" + kind.astype(str)))
    streets = rng.choice(np.array(STREETS, dtype=object), n)
    house = rng.integers(1, 120, n)
    reported, reliability = provenance(rng, occupied)
    ll = _to_ll(th, xy)
    return pd.DataFrame(
        {
            "id": [f"SH{i + 1:06d}" for i in range(n)],
            "name": [f"{_KIND_LABEL[k]} No. {no}, {s}" for k, no, s in zip(kind, number, names, strict=True)],
            "kind": kind,
            "capacity": capacity,
            "occupancy": occ_values,
            "status": status,
            "accessible": accessible,
            "settlement_id": st["id"].to_numpy()[sid],
            "address": [f"vul. {s} {h}, {t}" for s, h, t in zip(streets, house, names, strict=True)],
            "reported_at": reported,
            "reliability": reliability,
            "geometry": shapely.points(ll),
        }
    )


# ----------------------------------------------------------------------------------------------
# Infrastructure
# ----------------------------------------------------------------------------------------------
# sector: (village probability, town/city base count, people per extra object, baseline strike damage)
_SECTORS = {
    "power": (0.30, 1, 60_000, 0.55),
    "water": (0.20, 1, 120_000, 0.30),
    "heating": (0.05, 1, 35_000, 0.40),
    "gas": (0.25, 1, 200_000, 0.28),
    "telecom": (0.40, 2, 50_000, 0.30),
    "health": (0.06, 1, 150_000, 0.16),
    "education": (0.55, 1, 6_000, 0.20),
    "rail": (0.02, 0, 500_000, 0.35),
}


def _infra_name(sector: str, number: int, place: str, kind: str) -> str:
    if sector == "power":
        kv = 330 if kind == "city" else 110 if kind == "town" else 35
        return f"Substation PS-{kv} No. {number}, {place}"
    if sector == "water":
        return f"Water pumping station No. {number}, {place}"
    if sector == "heating":
        return f"Boiler house No. {number}, {place}"
    if sector == "gas":
        return f"Gas distribution station No. {number}, {place}"
    if sector == "telecom":
        return f"Telecom tower {place}-{number}"
    if sector == "health":
        return f"Central hospital No. {number}, {place}" if kind != "village" else f"Outpatient clinic, {place}"
    if sector == "education":
        return f"School No. {number}, {place}"
    return f"{place} railway station" if number == 1 else f"{place} railway station {number}"


def _restoration(rng, damage: np.ndarray, d_km: np.ndarray, occupied: np.ndarray) -> np.ndarray:
    n = len(damage)
    factor = np.select([damage == "minor", damage == "major", damage == "destroyed"], [1.0, 0.7, 0.3], 0.0)
    p_restored = 0.6 * (1 - np.exp(-d_km / 40.0)) * factor
    r = rng.random(n)
    out = np.where(r < p_restored, "restored", np.where(r < p_restored + 0.25, "in_progress",
                   np.where(r < p_restored + 0.42, "planned", "none"))).astype(object)
    out[(damage == "none") | occupied] = "none"
    return out


def _damage(rng, d_km: np.ndarray, base: np.ndarray) -> np.ndarray:
    """none/minor/major/destroyed: high near the front, decaying with distance, plus strikes far away."""
    n = len(d_km)
    p_hit = np.clip(0.85 * np.exp(-d_km / 18.0) + base * (0.5 + np.exp(-d_km / 250.0)), 0, 0.95)
    hit = rng.random(n) < p_hit
    p_destroyed = 0.08 + 0.45 * np.exp(-d_km / 15.0)
    r = rng.random(n)
    level = np.where(r < p_destroyed, "destroyed", np.where(r < p_destroyed + 0.3, "major", "minor"))
    return np.where(hit, level, "none").astype(object)


def build_infrastructure(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame, roads: RoadNetwork,
                         rng: np.random.Generator) -> pd.DataFrame:
    pop = st["population"].to_numpy().astype(float)
    kind_s = st["settlement_type"].to_numpy()
    village = kind_s == "village"
    frames = []
    for sector, (p_village, base_count, per_extra, strike) in _SECTORS.items():
        count = np.where(village, (rng.random(len(st)) < p_village).astype(int),
                         base_count + (pop // per_extra).astype(int))
        if sector == "rail":
            count = np.where(kind_s == "town", (rng.random(len(st)) < 0.5).astype(int), count)
            count = np.where(kind_s == "city", 1 + (pop // per_extra).astype(int), count)
        if sector == "education":
            count = np.where(village & (pop < 300), 0, count)
        sid = np.repeat(np.arange(len(st)), count)
        if len(sid) == 0:
            continue
        served = pop[sid] / count[sid] * rng.lognormal(0, 0.25, len(sid))
        if sector == "education":
            served *= 0.12  # pupils
        elif sector in ("health", "power"):
            served *= np.where(village[sid], rng.uniform(1.0, 3.0, len(sid)), 1.5)  # wider catchment
        frames.append(pd.DataFrame({"sid": sid, "sector": sector, "served": np.round(served), "strike": strike}))
    df = pd.concat(frames, ignore_index=True)
    sid = df["sid"].to_numpy()
    xy = _scatter(rng, th, st[["x", "y"]].to_numpy()[sid], pop[sid])
    d_km = th.front_distance_km(xy)
    occupied = th.occupied_now(xy)
    damage = _damage(rng, d_km, df["strike"].to_numpy())
    restoration = _restoration(rng, damage, d_km, occupied)
    number = _running_number(pd.Series(st["id"].to_numpy()[sid] + "|" + df["sector"].to_numpy()))
    names = [_infra_name(sec, no, place, k) for sec, no, place, k in
             zip(df["sector"], number, st["name"].to_numpy()[sid], kind_s[sid], strict=True)]
    capacity_mw = np.where(df["sector"] == "power", np.round(df["served"] * 0.0012, 1), np.nan)
    reported, reliability = provenance(rng, occupied)
    objects = pd.DataFrame(
        {
            "name": names,
            "sector": df["sector"].to_numpy(),
            "damage": damage,
            "restoration": restoration,
            "people_served": df["served"].astype(np.int64).to_numpy(),
            "settlement_id": st["id"].to_numpy()[sid],
            "road_id": None,
            "capacity_mw": capacity_mw,
            "reported_at": reported,
            "reliability": reliability,
            "geometry": shapely.points(_to_ll(th, xy)),
        }
    )

    # Bridges: one row per road piece that crosses a river, damage decided with the road network.
    b = roads.bridges
    seg = roads.segments.iloc[b["seg"].to_numpy()] if len(b) else roads.segments.iloc[:0]
    mid = roads.seg_xy_mid[b["seg"].to_numpy()] if len(b) else np.zeros((0, 2))
    b_occ = th.occupied_now(mid)
    b_damage = b["damage"].to_numpy().astype(object)
    b_rest = _restoration(rng, b_damage, b["d_km"].to_numpy(), b_occ)
    b_rest[b_damage == "destroyed"] = np.where(rng.random(int((b_damage == "destroyed").sum())) < 0.3,
                                               "planned", "none")
    near = st[["x", "y"]].to_numpy()
    nearest = cKDTree(near).query(mid)[1] if len(b) else np.zeros(0, dtype=int)
    reported_b, reliability_b = provenance(rng, b_occ)
    road_label = seg["name"].fillna(seg["road_class"] + " road").to_numpy()
    bridges = pd.DataFrame(
        {
            "name": [f"Bridge over the {r} ({lbl}) near {p}" for r, lbl, p in
                     zip(b["river"], road_label, st["name"].to_numpy()[nearest], strict=True)],
            "sector": "bridge",
            "damage": b_damage,
            "restoration": b_rest,
            "people_served": pd.array([None] * len(b), dtype="Int64"),
            "settlement_id": st["id"].to_numpy()[nearest],
            "road_id": seg["id"].to_numpy(),
            "capacity_mw": np.nan,
            "reported_at": reported_b,
            "reliability": reliability_b,
            "geometry": shapely.points(_to_ll(th, mid)),
        }
    )
    out = pd.concat([objects, bridges], ignore_index=True)
    out.insert(0, "id", [f"I{i + 1:06d}" for i in range(len(out))])
    return out


# ----------------------------------------------------------------------------------------------
# Corridors
# ----------------------------------------------------------------------------------------------
_WINDOWS = {  # status: (start offset h, end offset h) relative to the last snapshot
    "draft": (54, 66),
    "proposed": (30, 42),
    "agreed": (8, 16),
    "active": (-3, 9),
    "suspended": (-20, 4),
    "closed": (-120, -108),
}
_NOTES = {
    "draft": "Draft route for evacuation of residents with limited mobility; to be coordinated with the oblast military administration.",
    "proposed": "Proposed to the ICRC and the other party via the coordination centre; awaiting reply.",
    "agreed": "Agreed by both parties; convoy of buses and ambulances, white flags and markings required.",
    "active": "Active: convoy moving; checkpoints notified; report deviations immediately.",
    "suspended": "Suspended after shelling reported along the route; reassess before resuming.",
    "closed": "Closed: evacuation completed; route no longer guaranteed.",
}


def build_corridors(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame, roads: RoadNetwork,
                    rng: np.random.Generator) -> pd.DataFrame:
    xy = st[["x", "y"]].to_numpy()
    pop = st["population"].to_numpy()
    d_km = th.front_distance_km(xy)
    free = ~th.occupied_now(xy)
    n = len(st)

    seg = roads.segments
    edge_of_seg = np.repeat(np.arange(len(roads.edge_a)), roads.edge_pt_count - 1)
    blocked = np.zeros(len(roads.edge_a), dtype=bool)
    blocked[edge_of_seg[(seg["status"] == "impassable").to_numpy()]] = True
    speed = np.array([SPEED_KMH[c] for c in ROAD_CLASSES])[roads.edge_rank]
    hours = roads.edge_len / 1000.0 / speed * np.where(blocked, 50.0, 1.0)
    graph = coo_matrix((hours, (roads.edge_a, roads.edge_b)), shape=(n, n)).tocsr()
    edge_of = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(roads.edge_a, roads.edge_b, strict=True))}

    cand = np.flatnonzero(free & (d_km >= 3) & (d_km <= 25) & (pop >= 300))
    if len(cand) < cfg.n_corridors:
        cand = np.flatnonzero(free & (d_km <= 40))
    # spread origins along the front: order by the nearest front point, take evenly spaced ones
    along = th.front_tree.query(xy[cand])[1]
    cand = cand[np.argsort(along, kind="stable")]
    picks = cand[np.linspace(0, len(cand) - 1, cfg.n_corridors).round().astype(int)]
    picks = list(dict.fromkeys(int(p) for p in picks))
    hubs = np.flatnonzero(free & (d_km >= 50) & (st["settlement_type"].to_numpy() != "village"))
    dist, pred = dijkstra(graph, directed=False, indices=picks, return_predecessors=True)

    rows = []
    names = st["name"].to_numpy()
    for i, origin in enumerate(picks):
        reach = hubs[np.isfinite(dist[i, hubs])]
        if len(reach) == 0:
            continue
        best = reach[np.argsort(dist[i, reach])[:3]]
        dest = int(best[int(rng.integers(len(best)))])
        path = [dest]
        while path[-1] != origin:
            path.append(int(pred[i, path[-1]]))
        path.reverse()
        coords = []
        for a, b in itertools.pairwise(path):
            k = edge_of[(min(a, b), max(a, b))]
            s0, cnt = roads.edge_pt_start[k], roads.edge_pt_count[k]
            pts = roads.points[s0:s0 + cnt]
            if roads.edge_a[k] != a:
                pts = pts[::-1]
            coords.append(pts if not coords else pts[1:])
        line = shapely.LineString(np.vstack(coords))
        status = CORRIDOR_STATUSES[i % len(CORRIDOR_STATUSES)]
        h0, h1 = _WINDOWS[status]
        updated = HISTORY_END - pd.Timedelta(minutes=int(rng.integers(30, 48 * 60)))
        rows.append(
            {
                "id": f"C{i + 1:04d}",
                "name": f"HC-{i + 1:02d} {names[origin]} - {names[dest]}",
                "status": status,
                "origin": names[origin],
                "destination": names[dest],
                "window_start": HISTORY_END + pd.Timedelta(hours=h0),
                "window_end": HISTORY_END + pd.Timedelta(hours=h1),
                "notes": _NOTES[status],
                "version": 1,
                "updated_by": "exercise-generator",
                "updated_at": updated,
                "reported_at": updated,
                "reliability": "A1",
                "geometry": line,
            }
        )
    return pd.DataFrame(rows)

