"""The exercise scenario's 90 days of history for shelters, damage and corridors: deterministic, consistent
with the current rows, and read back through the versions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cimic_geo.scenario import generate_all, history_times
from cimic_geo.schema import CORRIDOR_TRANSITIONS
from cimic_geo.store import connect


@pytest.fixture(scope="module")
def generated():
    return generate_all(scale="demo", seed=2026)


def test_history_is_deterministic_and_ends_in_the_current_rows(generated) -> None:
    frames, tables = generated
    again = generate_all(scale="demo", seed=2026)[1]
    times = history_times()
    for name in ("shelters", "infrastructure", "corridors"):
        versions = tables[f"{name}_versions"]
        pd.testing.assert_frame_equal(pd.DataFrame(versions.drop(columns="geometry")),
                                      pd.DataFrame(again[f"{name}_versions"].drop(columns="geometry")))
        assert len(versions) and versions["valid_from"].between(times[0], times[-1] + pd.Timedelta(days=1)).all()
        first = versions.groupby("id")["valid_from"].min()
        assert (first == times[0]).all()  # every changed row exists from the first snapshot
        last = versions.sort_values(["id", "valid_from"]).groupby("id").last()
        current = frames[name].set_index("id").loc[last.index]
        cols = ["status"] if name != "infrastructure" else ["damage", "restoration"]
        assert (last[cols].astype(str) == current[cols].astype(str)).all().all()
    # about 30 % of the shelters changed (1,075 shelters: 250-400 expected), each status change a real one
    sh = tables["shelters_versions"].sort_values(["id", "valid_from"])
    assert 250 <= sh["id"].nunique() <= 400
    assert (sh.groupby("id")["status"].apply(lambda s: (s.to_numpy()[1:] != s.to_numpy()[:-1]).all())).all()
    # corridors: each step of the log is an allowed workflow move or the one move of the line
    log = tables["corridor_history"]
    for r in log[log["action"] == "status"].itertuples():
        assert r.to_status in CORRIDOR_TRANSITIONS[r.from_status]
    assert (log[log["action"] == "edit"].groupby("corridor_id").size() == 1).all()
    # restored objects went planned -> in_progress -> restored
    inf = tables["infrastructure_versions"].sort_values(["id", "valid_from"])
    chains = inf.groupby("id")["restoration"].apply(tuple)
    restored = frames["infrastructure"].set_index("id")["restoration"] == "restored"
    assert all(chains[i] == ("planned", "in_progress", "restored") for i in restored[restored].index)


def test_seeded_store_reads_the_past(demo_db: Path, generated) -> None:
    frames, tables = generated
    sh = tables["shelters_versions"].sort_values(["id", "valid_from"])
    with connect(demo_db, read_only=True) as store:
        times = store.history_times("front_line")
        # a shelter's status at a time in the middle of its first version
        one = sh.groupby("id").filter(lambda g: len(g) >= 2).groupby("id").head(2)
        sid = one["id"].iloc[0]
        first, second = one[one["id"] == sid].itertuples()
        mid = first.valid_from + (second.valid_from - first.valid_from) / 2
        read = store.read("shelters", as_of=mid, where={"id": sid})
        assert read["status"].iloc[0] == first.status
        assert store.read("shelters", as_of=second.valid_from, where={"id": sid})["status"].iloc[0] == second.status
        # corridors: as many versions as logged changes, the log in corridor_history
        n_log = store.query_df("SELECT count(*) AS n FROM corridor_history")["n"].iloc[0]
        n_ver = store.query_df("SELECT count(*) AS n FROM corridors_history")["n"].iloc[0]
        assert n_log == n_ver == len(tables["corridor_history"])
        assert len(store.read("corridors", as_of=times[0])) == len(frames["corridors"])
