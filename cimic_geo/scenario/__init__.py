"""The deterministic EXERCISE scenario: a plausible theatre in real lon/lat.

``generate`` builds every layer of :data:`cimic_geo.schema.LAYERS` from a seed (same seed, same
data; nothing depends on the wall clock); ``seed_database`` writes them into a new store.

Build order (each step has its own random stream derived from the seed, see
docs/ARCHITECTURE.md "Exercise scenario"):

1. theatre: area outline, meandering rivers, 90 daily front lines / occupied areas;
2. settlements: Zipf-like sizes, villages clustered around towns, oblasts and raions;
3. roads: Delaunay + MST network with a class hierarchy, split into short pieces, bridges
   where pieces cross rivers, damage decaying with distance to the front;
4. shelters, infrastructure (with bridge objects) and corridors following the roads.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.auth import Actor
from cimic_geo.errors import ConfigError, StoreExistsError
from cimic_geo.scenario._assets import build_corridors, build_infrastructure, build_shelters, provenance
from cimic_geo.scenario._basemap import build_basemap
from cimic_geo.scenario._cimic import build_assessments, build_evacuations, build_partners
from cimic_geo.scenario._config import (
    HISTORY_DAYS,
    HISTORY_END,
    SCALES,
    SCENARIO_NAME,
    SOURCE,
    ScaleConfig,
)
from cimic_geo.scenario._history import build_versions
from cimic_geo.scenario._roads import build_roads
from cimic_geo.scenario._settlements import build_settlements
from cimic_geo.scenario._theatre import Theatre, build_theatre
from cimic_geo.schema import LAYERS

Scale = Literal["demo", "national"]
DEFAULT_SEED = 2026

__all__ = ["DEFAULT_SEED", "HISTORY_DAYS", "HISTORY_END", "SCENARIO_NAME", "SOURCE", "generate", "generate_all",
           "history_times", "scale_config", "seed_database"]


def scale_config(scale: str) -> ScaleConfig:
    """The fixed parameters of a scale; :class:`ConfigError` for an unknown one."""
    try:
        return SCALES[scale]
    except KeyError:
        raise ConfigError(f"unknown scenario scale '{scale}'; expected one of: {', '.join(SCALES)}") from None


def history_times() -> pd.DatetimeIndex:
    """The daily snapshot times of the front-line history (UTC), oldest first."""
    return pd.date_range(end=HISTORY_END, periods=HISTORY_DAYS, freq="D")


def _frame(layer: str, df: pd.DataFrame, geometry) -> gpd.GeoDataFrame:
    """A GeoDataFrame with exactly the schema columns of ``layer`` (provenance filled)."""
    spec = LAYERS[layer]
    data = {}
    for name in spec.column_names:
        if name == "source":
            data[name] = SOURCE
        else:
            data[name] = df[name].to_numpy()
    out = pd.DataFrame(data, index=range(len(df)))
    for name in spec.column_names:
        if spec.column(name).kind == "datetime":
            out[name] = pd.to_datetime(out[name], utc=True)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326")


def _to_lonlat(th: Theatre, geoms: np.ndarray) -> np.ndarray:
    def fn(xy: np.ndarray) -> np.ndarray:
        lon, lat = th.to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 6)

    return shapely.transform(np.asarray(geoms, dtype=object), fn)


def _history(th: Theatre) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    times = history_times()
    valid_to = pd.Series([*list(times[1:]), pd.NaT], dtype="datetime64[ns, UTC]")
    occupied = _to_lonlat(th, th.occupied)
    occupied = np.array([g if g.is_valid else shapely.make_valid(g) for g in occupied], dtype=object)
    fronts = _to_lonlat(th, th.fronts)
    tags = [t.strftime("%Y%m%d") for t in times]
    base = pd.DataFrame({"valid_from": times, "valid_to": valid_to.to_numpy(), "reported_at": times,
                         "reliability": "B2"})
    fl = _frame("front_line", base.assign(id=[f"FL-{t}" for t in tags]), fronts)
    oa = _frame("occupied_area", base.assign(id=[f"OA-{t}" for t in tags]), occupied)
    return fl, oa


def _basemap_frame(cfg: ScaleConfig, th: Theatre, st: pd.DataFrame) -> gpd.GeoDataFrame:
    """State and oblast outlines, rivers and water areas of the theatre (:mod:`._basemap`)."""
    bm = build_basemap(cfg, th, st).assign(reported_at=HISTORY_END, reliability="A1")
    return _frame("basemap", bm, _to_lonlat(th, bm["geometry"].to_numpy()))


def generate(*, scale: Scale = "demo", seed: int = DEFAULT_SEED) -> dict[str, gpd.GeoDataFrame]:
    """Generate the EXERCISE scenario: one GeoDataFrame (EPSG:4326) per layer of the schema.

    See :func:`generate_all` (which also returns the evacuation status history).
    """
    return generate_all(scale=scale, seed=seed)[0]


def generate_all(
    *, scale: Scale = "demo", seed: int = DEFAULT_SEED
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, pd.DataFrame]]:
    """The scenario's layers and its other tables: ``evacuation_history``, ``corridor_history`` (the corridors'
    change log) and ``<layer>_versions`` (every version of the shelters, infrastructure and corridors that
    changed over the history; GeoDataFrames with ``valid_from``).

    Parameters
    ----------
    scale : ``demo`` (one oblast, ~350 settlements, ~10k road pieces) or ``national``
        (~30k settlements, ~1M road pieces)
    seed : random seed; the same seed gives identical frames
    """
    cfg = scale_config(scale)
    seed = int(seed)

    def stream(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    th = build_theatre(cfg, stream(1))
    st = build_settlements(cfg, th, stream(2))
    roads = build_roads(cfg, th, st, stream(3))
    shelters = build_shelters(cfg, th, st, stream(4))
    infra = build_infrastructure(cfg, th, st, roads, stream(5))
    corridors = build_corridors(cfg, th, st, roads, stream(6))
    evacuations, evacuation_history = build_evacuations(cfg, th, st, shelters, corridors, stream(9))
    assessments = build_assessments(cfg, th, st, stream(10))
    partners = build_partners(cfg, th, st, stream(11))

    occupied_settlement = th.occupied_now(st[["x", "y"]].to_numpy())
    reported, reliability = provenance(stream(7), occupied_settlement)
    st = st.assign(reported_at=reported.to_numpy(), reliability=reliability)
    reported, reliability = provenance(stream(8), th.occupied_now(roads.seg_xy_mid))
    roads.segments["reported_at"] = reported.to_numpy()
    roads.segments["reliability"] = reliability
    front_line, occupied_area = _history(th)
    frames = {
        "settlements": _frame("settlements", st, shapely.points(st[["lon", "lat"]].to_numpy())),
        "front_line": front_line,
        "occupied_area": occupied_area,
        "shelters": _frame("shelters", shelters, shelters["geometry"].to_numpy()),
        "infrastructure": _frame("infrastructure", infra, infra["geometry"].to_numpy()),
        "roads": _frame("roads", roads.segments, roads.segments["geometry"].to_numpy()),
        "corridors": _frame("corridors", corridors, corridors["geometry"].to_numpy()),
        "assessments": _frame("assessments", assessments, assessments["geometry"].to_numpy()),
        "partners": _frame("partners", partners, partners["geometry"].to_numpy()),
        "evacuations": _frame("evacuations", evacuations, evacuations["geometry"].to_numpy()),
        "basemap": _basemap_frame(cfg, th, st),
    }
    versions, corridor_log = build_versions(frames, times=history_times(), rng=stream(12))
    tables = {"evacuation_history": evacuation_history, "corridor_history": pd.DataFrame(corridor_log)}
    tables.update({f"{name}_versions": frame for name, frame in versions.items()})
    return {name: frames[name] for name in LAYERS}, tables


def seed_database(
    db: str | os.PathLike | None = None,
    *,
    scale: Scale = "demo",
    seed: int = DEFAULT_SEED,
    force: bool = False,
    actor: Actor | None = None,
) -> Path:
    """Generate the scenario and write it into a new store at ``db``; return the path.

    Seeding is an admin's (``actor``; default the OS user): a refusal writes nothing but a
    ``refused`` row in the audit trail of the existing store. Replacing a store keeps its user
    accounts and audit trail, and the seed itself is audited in the new file.

    Refuses to overwrite an existing file unless ``force`` (:class:`StoreExistsError`). The
    data is written to a temporary file next to the target and renamed at the end, so an
    interrupted seed never leaves a half-written database at ``db``.
    """
    from cimic_geo.auth import require, resolve_actor
    from cimic_geo.config import resolve_db_path
    from cimic_geo.store import connect, init_store
    from cimic_geo.store.audit import AuditEntry, record
    from cimic_geo.store.corridor_records import history_row, insert_history
    from cimic_geo.store.engine import exclusive_file, remove_database, replace_database
    from cimic_geo.store.evacuation_records import load_history
    from cimic_geo.store.users import copy_accounts_and_audit

    path = resolve_db_path(db)
    who = resolve_actor(actor)
    if not who.can("seed"):
        if path.exists():
            with connect(path) as old:
                require(who, "seed", store=old, action="seed", detail=f"scale {scale}, seed {seed}")
        require(who, "seed")
    if path.exists() and not force:
        raise StoreExistsError(f"{path} already exists; pass --force to overwrite it")
    with exclusive_file(path):  # refuse early (before minutes of generation) when the file is in use
        pass
    frames, tables = generate_all(scale=scale, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.seeding-{os.getpid()}")
    try:
        store = init_store(tmp, force=True)
        try:
            store.bulk_load(
                frames,
                meta={
                    "marking": "EXERCISE",
                    "scenario": SCENARIO_NAME,
                    "scale": scale,
                    "seed": int(seed),
                    "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "history_end": HISTORY_END.isoformat(),
                    "source": SOURCE,
                },
                history_start=history_times()[0],  # the generated rows exist from the first snapshot
                versions={name: tables[f"{name}_versions"] for name in ("shelters", "infrastructure", "corridors")},
            )
            load_history(store, tables["evacuation_history"])
            with store.transaction() as con:
                insert_history(con, [history_row(user="scenario", notes=None, details=None, **r)
                                     for r in tables["corridor_history"].to_dict("records")])
            kept = copy_accounts_and_audit(store, path) if path.exists() else (0, 0)
            with store.transaction() as con:
                record(con, who, AuditEntry(action="seed", layer=",".join(frames), row_counts={
                    name: len(f) for name, f in frames.items()}, detail=f"EXERCISE scenario, scale {scale}, seed "
                    f"{seed}" + (f"; replaced {path.name}, kept {kept[0]} account(s)" if path.exists() else "")))
            store.checkpoint()
        finally:
            store.close()
        if path.exists() and not force:  # created by someone else meanwhile
            raise StoreExistsError(f"{path} already exists; pass --force to overwrite it")
        replace_database(tmp, path)  # atomic; refused while the app or another program has it open
    finally:
        with contextlib.suppress(OSError):
            remove_database(tmp)
    return path
