"""``changes`` reads only the rows with a version in the window: the same answer as comparing whole pictures.

On the exercise scenario (90 days of shelter, damage and corridor history): for windows of one and seven days
ending at the newest front snapshot, the result of :func:`change_inputs` (changed rows only, open capacity
summed in SQL) equals the comparison of the complete pictures at both ends.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cimic_geo.analytics.changes import build_changes
from cimic_geo.store import connect
from cimic_geo.store.changes_reads import attributes_as_of, change_inputs


def whole_pictures(store, since: pd.Timestamp, until: pd.Timestamp) -> dict:
    inputs = change_inputs(store, since=since, until=until)
    del inputs["open_capacity"]
    for name, cols in (("shelters", ["name", "status", "capacity"]),
                       ("infrastructure", ["name", "sector", "damage", "restoration"])):
        inputs[f"{name}_before"] = attributes_as_of(store, name, cols, as_of=since)
        inputs[f"{name}_after"] = attributes_as_of(store, name, cols, as_of=until)
    return inputs


@pytest.mark.parametrize("days", [1, 7])
def test_changed_rows_only_give_the_same_changes(demo_db: Path, days: int) -> None:
    with connect(demo_db, read_only=True) as store:
        until = store.history_times("front_line")[-1]
        since = until - pd.Timedelta(days=days)
        fast = build_changes(since=since, until=until, **change_inputs(store, since=since, until=until))
        full = build_changes(since=since, until=until, **whole_pictures(store, since, until))
        assert len(change_inputs(store, since=since, until=until)["shelters_after"]) < 300  # of 1,075 shelters
    assert fast.to_dict() == full.to_dict()
    assert fast.shelters and fast.damage  # the scenario's history has changes in every such window
