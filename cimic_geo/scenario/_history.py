"""The scenario's past for the versioned layers: 90 days of shelter status changes, damage and repairs, and
corridor moves and workflow steps, ending in the generated (current) rows.

Every change happens on one of the history's days (a random hour of that day, after its front snapshot). The
first version of a changed row takes effect at the first snapshot (as the unchanged rows do); its last version
is the current row. Deterministic: one random stream, no wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Share of shelters whose status changed over the history, and their status weights before a change.
SHELTER_CHANGE_SHARE = 0.3
_SHELTER_WEIGHTS = {"open": 0.55, "full": 0.2, "closed": 0.15, "damaged": 0.1}
#: Share of damaged (not restored) objects whose damage happened during the history.
DAMAGE_EVENT_SHARE = 0.5
#: Workflow a corridor went through to reach its current status (first step: when it was proposed).
_CORRIDOR_PATHS = {"draft": ("draft",), "proposed": ("proposed",), "agreed": ("proposed", "agreed"),
                   "active": ("proposed", "agreed", "active"), "suspended": ("proposed", "agreed", "active", "suspended"),
                   "closed": ("proposed", "agreed", "closed")}
#: How far a corridor's earlier line lay from its current one (degrees of latitude, display scale only).
_CORRIDOR_SHIFT_DEG = (0.01, 0.04)


def _change_times(rng: np.random.Generator, times: pd.DatetimeIndex, k: int) -> list[pd.Timestamp]:
    """``k`` increasing change times on distinct days after the first snapshot (a random hour of each)."""
    days = np.sort(rng.choice(np.arange(1, len(times)), size=k, replace=False))
    hours = rng.integers(1, 23, size=k)
    return [times[d] + pd.Timedelta(hours=int(h)) for d, h in zip(days, hours, strict=True)]


def _change_matrix(rng: np.random.Generator, times: pd.DatetimeIndex, k: np.ndarray, width: int) -> np.ndarray:
    """Per row, ``k[i]`` increasing change times (distinct days after the first snapshot, a random hour of
    each) in the first ``k[i]`` columns of a ``(len(k), width)`` datetime64 array (the rest NaT)."""
    n = len(k)
    days = rng.random((n, len(times) - 1)).argsort(axis=1)[:, :width] + 1
    days = np.where(np.arange(width) < k[:, None], days, len(times) + 1)
    days.sort(axis=1)
    hours = rng.integers(1, 23, size=(n, width))
    base = times.tz_convert(None).to_numpy() if times.tz is not None else times.to_numpy()
    ext = np.concatenate([base, np.full(3, np.datetime64("NaT"), dtype=base.dtype)])
    return ext[np.minimum(days, len(times) + 1)] + hours.astype("timedelta64[h]")


def _long(frame: gpd.GeoDataFrame, rows: np.ndarray, cols: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
    """Rows ``rows`` of ``frame`` (repeated: one per version) with the columns ``cols`` replaced."""
    out = frame.iloc[rows].reset_index(drop=True)
    for name, values in cols.items():
        out[name] = values
    return out


def _starts(t0: pd.Timestamp, when: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row index, valid_from) of every version, one row per version: the first snapshot, then each change."""
    nver = k + 1
    rows = np.repeat(np.arange(len(k)), nver)
    step = np.arange(nver.sum()) - np.repeat(np.cumsum(nver) - nver, nver)
    t0v = np.datetime64(t0.tz_convert(None) if t0.tzinfo else t0, "ns")
    starts = np.where(step == 0, t0v, when[rows, np.maximum(step - 1, 0)])
    return rows, step, pd.to_datetime(starts).tz_localize("UTC")


def shelter_versions(shelters: gpd.GeoDataFrame, *, times: pd.DatetimeIndex,
                     rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Every version (``valid_from`` column) of the shelters whose status changed: opened, closed, filled or
    damaged on 1-3 days of the history, the last version being the current row."""
    statuses = np.array(list(_SHELTER_WEIGHTS))
    weights = np.array(list(_SHELTER_WEIGHTS.values()))
    chosen = np.flatnonzero(rng.random(len(shelters)) < SHELTER_CHANGE_SHARE)
    sub = shelters.iloc[chosen]
    n = len(sub)
    k = rng.integers(1, 4, size=n)
    when = _change_matrix(rng, times, k, 3)
    # status chain backwards from the current one: chain[:, k] = current, each earlier one different
    code = {s: i for i, s in enumerate(statuses)}
    chain = np.zeros((n, 4), dtype=int)
    chain[np.arange(n), k] = sub["status"].map(code).fillna(0).to_numpy(dtype=int)
    u = rng.random((n, 3))
    for j in (2, 1, 0):
        nxt = chain[:, j + 1]
        w = np.tile(weights, (n, 1))
        w[np.arange(n), nxt] = 0.0
        cdf = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        pick = np.minimum((cdf < u[:, j:j + 1]).sum(axis=1), len(statuses) - 1)
        active = j < k
        chain[active, j] = pick[active]
    rows, step, starts = _starts(times[0], when, k)
    last = step == k[rows]
    status = np.where(last, sub["status"].to_numpy()[rows], statuses[chain[rows, step]])
    cap = pd.to_numeric(sub["capacity"], errors="coerce").fillna(0).to_numpy()[rows]
    share = rng.uniform(0.2, 0.9, size=len(rows))
    taken = np.where(status == "full", cap, np.where(status == "open", np.floor(cap * share), 0)).astype("int64")
    occupancy = np.where(last, pd.to_numeric(sub["occupancy"], errors="coerce").to_numpy()[rows], taken) \
        if "occupancy" in sub.columns else taken
    reported = np.where(last, pd.to_datetime(sub["reported_at"], utc=True).to_numpy()[rows], starts.to_numpy()) \
        if "reported_at" in sub.columns else starts
    occupancy = pd.array(pd.to_numeric(pd.Series(occupancy)).round(), dtype="Int64")
    return _long(sub, rows, {"status": status, "occupancy": occupancy,
                             "reported_at": pd.to_datetime(reported, utc=True), "valid_from": starts})


def infrastructure_versions(infra: gpd.GeoDataFrame, *, times: pd.DatetimeIndex,
                            rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Versions of the objects damaged during the history (undamaged, or lightly damaged, before) and of the
    restored ones (damaged, repair planned, in progress, then restored)."""
    restored = (infra["restoration"] == "restored").to_numpy()
    damaged = (infra["damage"] != "none").to_numpy() & ~restored
    event = damaged & (rng.random(len(infra)) < DAMAGE_EVENT_SHARE)
    idx = np.flatnonzero(event | restored)
    sub = infra.iloc[idx]
    is_rest = restored[idx]
    k = np.where(is_rest, 2, 1)
    when = _change_matrix(rng, times, k, 2)
    rows, step, starts = _starts(times[0], when, k)
    last = step == k[rows]
    cur_damage = sub["damage"].to_numpy()[rows]
    cur_rest = sub["restoration"].to_numpy()[rows]
    lighter = np.isin(cur_damage, ("major", "destroyed")) & (rng.random(len(rows)) < 0.5)
    before = np.where(lighter, "minor", "none")
    r = is_rest[rows]
    damage = np.where(last | r, cur_damage, before)
    restoration = np.where(last, cur_rest, np.where(r, np.where(step == 0, "planned", "in_progress"),
                                                    np.where(before == "none", "none", cur_rest)))
    reported = np.where(last, pd.to_datetime(sub["reported_at"], utc=True).to_numpy()[rows], starts.to_numpy()) \
        if "reported_at" in sub.columns else starts
    return _long(sub, rows, {"damage": damage, "restoration": restoration,
                             "reported_at": pd.to_datetime(reported, utc=True), "valid_from": starts})


def corridor_versions(corridors: gpd.GeoDataFrame, *, times: pd.DatetimeIndex, rng: np.random.Generator
                      ) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Versions of every corridor (proposed, moved once, then through its workflow to its current status) and
    the matching change-log entries (``corridor_history`` fields). The current rows' ``version`` and
    ``updated_at`` are the last version's (the caller sets them from the versions)."""
    rows, geoms, log = [], [], []
    for rec, geom in zip(corridors.drop(columns=corridors.geometry.name).to_dict("records"),
                         corridors.geometry, strict=True):
        path = _CORRIDOR_PATHS.get(rec["status"], (rec["status"],))
        steps = [("status", s) for s in path[1:]]
        steps.insert(int(rng.integers(0, len(steps) + 1)), ("move", None))
        when = _change_times(rng, times, len(steps))
        shift = float(rng.uniform(*_CORRIDOR_SHIFT_DEG)) * (1 if rng.random() < 0.5 else -1)
        line = shapely.transform(geom, lambda c, d=shift: c + np.array([0.0, d]))
        status, version = path[0], 1
        log.append({"corridor_id": rec["id"], "version": 1, "changed_at": times[0], "action": "create",
                    "from_status": None, "to_status": status, "name": rec["name"], "geom_wkt": line.wkt})
        rows.append({**rec, "status": status, "version": 1, "updated_at": times[0], "valid_from": times[0]})
        geoms.append(line)
        for (kind, value), start in zip(steps, when, strict=True):
            version += 1
            before = status
            if kind == "move":
                line = geom
            else:
                status = value
            log.append({"corridor_id": rec["id"], "version": version, "changed_at": start,
                        "action": "edit" if kind == "move" else "status", "from_status": before, "to_status": status,
                        "name": rec["name"], "geom_wkt": line.wkt})
            rows.append({**rec, "status": status, "version": version, "updated_at": start, "valid_from": start})
            geoms.append(line)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=corridors.crs), log


def build_versions(frames: dict[str, gpd.GeoDataFrame], *, times: Sequence[pd.Timestamp] | pd.DatetimeIndex,
                   rng: np.random.Generator) -> tuple[dict[str, gpd.GeoDataFrame], list[dict]]:
    """The past versions of shelters, infrastructure and corridors (each changed row's full chain) and the
    corridor change log. Sets the current corridors' ``version`` and ``updated_at`` to their last version."""
    times = pd.DatetimeIndex(times)
    out = {"shelters": shelter_versions(frames["shelters"], times=times, rng=rng),
           "infrastructure": infrastructure_versions(frames["infrastructure"], times=times, rng=rng)}
    corr, log = corridor_versions(frames["corridors"], times=times, rng=rng)
    out["corridors"] = corr
    if len(corr):
        last = corr.groupby("id")[["version", "updated_at"]].last()
        cur = frames["corridors"]
        cur["version"] = cur["id"].map(last["version"]).astype("int64")
        cur["updated_at"] = cur["id"].map(last["updated_at"])
    return out, log
