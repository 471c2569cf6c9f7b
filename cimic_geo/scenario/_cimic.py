"""The CIMIC cell's own work in the scenario: evacuations (with their status history), civil
assessments and partners (3W), over the 90 days of the front-line history.

- Evacuation requests come mostly from settlements near the front (weight ~ sqrt(population) x
  exp(-distance / 12 km)); each one goes requested -> planned -> underway -> completed (or
  cancelled / failed) with random delays, so old requests are closed and recent ones still open;
  a few plans stall (old open requests). Destinations are collective or transit centres at least
  30 km from the front, among the nearest to the pickup point.
- Assessments: settlements within ~80 km of the front are visited every few weeks (more often near
  the front); sector statuses worsen toward the front; the population present shrinks there.
- Partners: civil authorities, emergency service, police, NGOs, volunteer groups and
  international organisations, each covering a cluster of settlements in one sector; some entries
  changed during the period (an ended version and a current one), some needs stay uncovered (gaps).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from cimic_geo.scenario._config import HISTORY_DAYS, HISTORY_END, UPDATED_BY, ScaleConfig
from cimic_geo.scenario._names import STREETS
from cimic_geo.scenario._theatre import Theatre
from cimic_geo.schema import ASSESSMENT_SECTORS, PARTNER_SECTORS

#: (evacuation requests, assessed settlements, partner entries) per scale.
_COUNTS = {"demo": (180, 140, 40), "national": (4_000, 3_000, 600)}
_START = HISTORY_END - pd.Timedelta(days=HISTORY_DAYS - 1)
_SEATS = {"car": 4, "minibus": 18, "bus": 50, "ambulance": 2}
_TEAMS = np.array(["CIMIC team 1", "CIMIC team 2", "CIMIC team 3", "Hromada liaison", "SES liaison"], dtype=object)


def _to_ll(th: Theatre, xy: np.ndarray) -> np.ndarray:
    lon, lat = th.to_lonlat.transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), 6)


def _free(th: Theatre, st: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xy = st[["x", "y"]].to_numpy()
    return xy, th.front_distance_km(xy), ~th.occupied_now(xy)


# ----------------------------------------------------------------------------------------------
# Evacuations
# ----------------------------------------------------------------------------------------------
def _groups(rng: np.random.Generator, people: np.ndarray) -> dict[str, np.ndarray]:
    children = rng.binomial(people, 0.22)
    elderly = rng.binomial(people - children, 0.35)
    bedridden = rng.binomial(elderly, 0.10)
    reduced = rng.binomial(people - bedridden, 0.08)
    pets = rng.poisson(0.35 * np.sqrt(people))
    return {"children": children, "elderly": elderly, "reduced_mobility": reduced, "bedridden": bedridden,
            "pets": pets}


def build_evacuations(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame, shelters: pd.DataFrame,
                      corridors: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(evacuations rows with a ``geometry`` column, their status history rows)."""
    n = _COUNTS[cfg.name][0]
    xy, d_km, free = _free(th, st)
    pop = st["population"].to_numpy().astype(float)
    w = np.where(free & (d_km <= 60), np.sqrt(pop) * np.exp(-d_km / 12.0), 0.0)
    sid = rng.choice(len(st), size=n, p=w / w.sum())
    spread = 150.0 + 2.0 * np.sqrt(pop[sid])
    pxy = xy[sid] + rng.normal(size=(n, 2)) * spread[:, None]
    near = d_km[sid]

    people = np.clip(np.round(rng.lognormal(np.log(5.0), 0.9, n)), 1, 120).astype(np.int64)
    groups = _groups(rng, people)
    # request times: spread over the 90 days, more in the last weeks as the front nears
    age_h = np.minimum(rng.exponential(24 * 28, n), (HISTORY_DAYS - 1) * 24 + 20) + rng.uniform(0, 3, n)
    surge = rng.random(n) < 0.18  # the last two days: the front is moving, calls pile up
    age_h[surge] = rng.uniform(0.5, 48, int(surge.sum()))
    requested = HISTORY_END - pd.to_timedelta(np.round(age_h * 60), unit="min")
    to_plan = rng.exponential(14, n) + 1
    stall = rng.random(n) < 0.05  # plans that stall: old requests still open
    to_plan[stall] += rng.uniform(24 * 10, 24 * 40, int(stall.sum()))
    to_go = rng.exponential(16, n) + 2
    on_road = rng.exponential(5, n) + 1
    cancelled = rng.random(n) < 0.07
    failed = ~cancelled & (rng.random(n) < 0.04 + 0.15 * np.exp(-near / 5.0))
    steps = np.round(np.stack([to_plan, to_plan + to_go, to_plan + to_go + on_road], axis=1) * 60) / 60  # hours

    dest_pool = shelters[shelters["kind"].isin(["collective_centre", "transit_centre"])
                         & shelters["status"].isin(["open", "full"])].reset_index(drop=True)
    dest_xy = np.column_stack(th.to_metric.transform(*np.asarray(shapely.get_coordinates(
        np.asarray(dest_pool["geometry"], dtype=object))).T))
    rear = th.front_distance_km(dest_xy) >= 30
    dest_pool, dest_xy = dest_pool[rear].reset_index(drop=True), dest_xy[rear]
    k = min(5, len(dest_pool))
    _, cand = cKDTree(dest_xy).query(pxy, k=k)
    cand = np.asarray(cand).reshape(n, k)
    dest = dest_pool["id"].to_numpy()[cand[np.arange(n), rng.integers(0, k, n)]]

    corr_id, corr_xy = np.array([], dtype=object), np.empty((0, 2))
    if len(corridors):
        usable = corridors[corridors["status"].isin(["agreed", "active", "suspended", "closed"])]
        corr_id = usable["id"].to_numpy()
        starts = np.array([g.coords[0] for g in usable["geometry"]]) if len(usable) else np.empty((0, 2))
        corr_xy = np.column_stack(th.to_metric.transform(starts[:, 0], starts[:, 1])) if len(starts) else corr_xy
    transport = np.where(groups["bedridden"] > 0, "ambulance",
                         np.where(people > 20, "bus", np.where(people > 6, "minibus", "car"))).astype(object)
    priority = np.where((groups["bedridden"] > 0) | (near < 5), "urgent",
                        np.where((groups["children"] + groups["elderly"] > 0) & (near < 15), "high", "normal"))
    names = st["name"].to_numpy()[sid]
    streets = rng.choice(np.array(STREETS, dtype=object), n)
    house = rng.integers(1, 90, n)
    teams = rng.choice(_TEAMS, n)

    rows, hist = [], []
    for i in range(n):
        eid = f"EV{i + 1:05d}"
        t0 = requested[i]
        chain = [("create", None, "requested", t0)]
        if cancelled[i]:
            t_c = t0 + pd.Timedelta(minutes=round(float(min(to_plan[i], to_go[i])) * 90))
            chain.append(("status", "requested", "cancelled", t_c))
        else:
            final = "failed" if failed[i] else "completed"
            for (a, b), h in zip((("requested", "planned"), ("planned", "underway"), ("underway", final)),
                                 steps[i], strict=True):
                chain.append(("status", a, b, t0 + pd.Timedelta(hours=float(h))))
        chain = [c for c in chain if c[3] <= HISTORY_END]
        status = chain[-1][2]
        planned = any(c[2] == "planned" for c in chain)
        seats = _SEATS[transport[i]] if transport[i] != "bus" else 50
        use_corr = None
        if planned and len(corr_xy):
            dist = np.hypot(*(corr_xy - pxy[i]).T) / 1000.0
            if dist.min() <= 20:
                use_corr = str(corr_id[int(np.argmin(dist))])
        for version, (action, a, b, t) in enumerate(chain, start=1):
            hist.append({"evacuation_id": eid, "version": version, "changed_at": t,
                         "changed_by": UPDATED_BY if action == "create" else str(teams[i]), "action": action,
                         "from_status": a, "to_status": b, "people": int(people[i]),
                         "details": json.dumps({"scenario": True}) if action == "create" else None})
        rows.append({
            "id": eid, "settlement_id": st["id"].iat[int(sid[i])], "pickup": f"vul. {streets[i]} {house[i]}, {names[i]}",
            "people": int(people[i]), **{g: int(v[i]) for g, v in groups.items()},
            "priority": str(priority[i]), "contact_ref": f"HL-{26000 + i:05d}",
            "destination_shelter_id": str(dest[i]) if planned else None,
            "transport": str(transport[i]) if planned else None,
            "transport_capacity": int(-(-people[i] // seats) * seats) if planned else None,
            "corridor_id": use_corr, "route": None if use_corr or not planned else "safest road route (planner)",
            "status": status, "requested_at": t0,
            "planned_departure": t0 + pd.Timedelta(hours=float(steps[i, 1])) if planned else None,
            "notes": "stalled: no transport available" if stall[i] and status in ("requested", "planned") else None,
            "version": len(chain), "updated_by": UPDATED_BY if len(chain) == 1 else str(teams[i]),
            "updated_at": chain[-1][3], "reported_at": chain[-1][3], "reliability": "B2",
        })
    ll = _to_ll(th, pxy)
    frame = pd.DataFrame(rows).assign(geometry=shapely.points(ll))
    history = pd.DataFrame(hist).sort_values(["changed_at", "evacuation_id"], kind="stable").reset_index(drop=True)
    return frame, history


# ----------------------------------------------------------------------------------------------
# Civil assessments
# ----------------------------------------------------------------------------------------------
_BASE_BAD = {"power": 0.25, "water": 0.15, "heating": 0.2, "gas": 0.15, "telecom": 0.15, "health": 0.1,
             "food": 0.08, "access": 0.08}
_NEED_WORDS = {"power": "generators", "water": "drinking water", "heating": "heating fuel", "gas": "gas supply",
               "telecom": "communications", "health": "medicines and medical staff", "food": "food parcels",
               "access": "road repair / transport"}


def build_assessments(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Dated assessments of settlements near the front (several per settlement over the period)."""
    n_sites = _COUNTS[cfg.name][1]
    _, d_km, free = _free(th, st)
    w = np.where(free & (d_km <= 80), np.sqrt(st["population"].to_numpy()) * np.exp(-d_km / 30.0), 0.0)
    n_sites = min(n_sites, int((w > 0).sum()))
    sites = rng.choice(len(st), size=n_sites, replace=False, p=w / w.sum())
    visits = 1 + rng.poisson(np.where(d_km[sites] < 20, 2.5, 1.0))
    sid = np.repeat(sites, visits)
    m = len(sid)
    days_ago = rng.uniform(0, HISTORY_DAYS - 1, m)
    assessed = (HISTORY_END - pd.to_timedelta(np.round(days_ago * 24 * 60), unit="min")).round("15min")
    d = d_km[sid]
    out: dict[str, object] = {}
    needs = [[] for _ in range(m)]
    for sector in ASSESSMENT_SECTORS:
        p_bad = np.clip(_BASE_BAD[sector] + 0.6 * np.exp(-d / 15.0), 0, 0.95)
        r = rng.random(m)
        status = np.where(r < p_bad * 0.5, "disrupted", np.where(r < p_bad, "partial", "functional")).astype(object)
        status[rng.random(m) < 0.04] = "unknown"
        out[f"{sector}_status"] = status
        for j in np.flatnonzero(np.isin(status, ["partial", "disrupted"])):
            needs[j].append((0 if status[j] == "disrupted" else 1, _NEED_WORDS[sector]))
    pop = st["population"].to_numpy()[sid]
    present = np.round(pop * np.clip(1.0 - 0.7 * np.exp(-d / 12.0) + rng.normal(0, 0.05, m), 0.05, 1.0))
    ll = st[["lon", "lat"]].to_numpy()[sid]
    frame = pd.DataFrame({
        "id": [f"AS{i + 1:06d}" for i in range(m)],
        "settlement_id": st["id"].to_numpy()[sid],
        "assessed_at": assessed,
        "population_present": present.astype(np.int64),
        **out,
        "priority_needs": ["; ".join(w for _, w in sorted(x)[:3]) or None for x in needs],
        "assessor": rng.choice(_TEAMS, m),
        "notes": None,
        "reported_at": assessed + pd.Timedelta(hours=6),
        "reliability": rng.choice(np.array(["A2", "B2", "B2", "B3", "C3"], dtype=object), m),
        "geometry": shapely.points(ll),
    })
    return frame.sort_values(["assessed_at", "id"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Partners (3W)
# ----------------------------------------------------------------------------------------------
_ORGS = (
    ("civil_authority", "{raion} Military Administration", ("coordination", "shelter", "evacuation")),
    ("ses", "SES {oblast} Directorate", ("evacuation", "access", "power")),
    ("police", "National Police, {raion}", ("protection", "evacuation")),
    ("ngo", "Svitlo Aid", ("food", "health", "shelter")),
    ("ngo", "Nadiia Relief", ("water", "food", "heating")),
    ("volunteer_group", "{town} Volunteers", ("evacuation", "food", "heating")),
    ("international", "International Water Alliance", ("water", "health")),
    ("international", "Winter Relief Consortium", ("heating", "power", "shelter")),
)
_ACTIVITY = {"coordination": "coordination of aid", "shelter": "collective centre support",
             "evacuation": "evacuation transport", "protection": "escort and checkpoints",
             "food": "food distribution", "health": "mobile clinics", "water": "water trucking and repair",
             "heating": "fuel and heaters", "power": "generators and grid repair", "access": "road clearance",
             "gas": "gas network repair", "telecom": "connectivity points"}
_CONTACT = {"civil_authority": "duty officer", "ses": "operations desk", "police": "duty unit",
            "ngo": "field coordinator", "volunteer_group": "coordinator", "international": "area office"}


def build_partners(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """3W entries: an organisation, a sector and an area of settlements (polygon), with versions."""
    n = _COUNTS[cfg.name][2]
    xy, d_km, free = _free(th, st)
    centres_pool = np.flatnonzero(free & (d_km <= 90))
    w = np.sqrt(st["population"].to_numpy()[centres_pool]) * np.exp(-d_km[centres_pool] / 40.0)
    centres = rng.choice(centres_pool, size=n, p=w / w.sum())
    tree = cKDTree(xy[centres_pool])
    rows = []
    names = st["name"].to_numpy()
    for i, c in enumerate(centres):
        org_type, pattern, sectors = _ORGS[int(rng.integers(len(_ORGS)))]
        sector = str(rng.choice(np.array(sectors, dtype=object)))
        assert sector in PARTNER_SECTORS
        radius = float(rng.uniform(8_000, 25_000))
        members = centres_pool[tree.query_ball_point(xy[c], radius)]
        members = members[rng.random(len(members)) < 0.7] if len(members) > 3 else members
        members = np.unique(np.r_[members, c])
        area = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy[members])), 1_500.0, quad_segs=4)
        area_ll = shapely.transform(area, lambda p: _to_ll(th, p))
        org = pattern.format(raion=str(st["admin2"].iat[c]).replace(" Raion", ""),
                             oblast=str(st["admin1"].iat[c]).replace(" Oblast", ""), town=names[c])
        pid = f"P{i + 1:04d}"
        base = {"partner_id": pid, "organisation": org, "org_type": org_type, "activity": _ACTIVITY[sector],
                "contact": f"{org} {_CONTACT[org_type]}", "reliability": "B2", "geometry": area_ll}
        start = _START + pd.Timedelta(days=int(rng.integers(0, 30)))
        ids = ";".join(st["id"].to_numpy()[members])
        if rng.random() < 0.25:  # the entry changed during the period: an ended version first
            change = start + pd.Timedelta(days=int(rng.integers(10, 50)))
            old_sector = str(rng.choice(np.array(sectors, dtype=object)))
            rows.append({**base, "id": f"{pid}@{start:%Y%m%dT%H%M%SZ}", "sector": old_sector,
                         "activity": _ACTIVITY[old_sector], "settlement_ids": ids, "valid_from": start,
                         "valid_to": change, "reported_at": start})
            start = change
        rows.append({**base, "id": f"{pid}@{start:%Y%m%dT%H%M%SZ}", "sector": sector, "settlement_ids": ids,
                     "valid_from": start, "valid_to": pd.NaT, "reported_at": start})
    frame = pd.DataFrame(rows)
    frame["valid_to"] = pd.to_datetime(frame["valid_to"], utc=True)
    return frame
