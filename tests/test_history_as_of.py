"""Every read of a versioned layer at an as-of time, on a hand-made history with rows changed, removed
and created after the time.

History (times UTC, D<n> = day n at 00:00; the shelters of ``tests/test_history.py`` plus):

- A open 100 (report D1 06:00), closed 100 (D3 06:00), full 120 (D4 06:00): changed twice after D2;
- B open 50 (D1 06:00), removed by a replace import whose latest report is C's (D5 12:00);
- C full 80 (D5 12:00), D open 30 (D3 12:00): created after D2.

In force (status, capacity), worked out from the list above:

- D1 00:00: nothing;  D2: A open 100, B open 50;  D3 12:00: A closed 100, B open 50, D open 30;
- D4 12:00: A full 120, B open 50, D open 30;  D6: A full 120, C full 80, D open 30 (= the current rows).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_history import BBOX, H6, H12, D, build, shelters

from cimic_geo.store import connect
from cimic_geo.store.changes_reads import attributes_as_of, open_capacity
from cimic_geo.store.cop_reads import count_in_bbox, grid_aggregate, read_ranked

EXPECTED = {
    D[1]: {},
    D[2]: {"A": ("open", 100), "B": ("open", 50)},
    D[3] + H12: {"A": ("closed", 100), "B": ("open", 50), "D": ("open", 30)},
    D[4] + H12: {"A": ("full", 120), "B": ("open", 50), "D": ("open", 30)},
    D[6]: {"A": ("full", 120), "C": ("full", 80), "D": ("open", 30)},
}
#: A box without A (37.0 E): B (37.5 E), C (38.0 E) and D (37.2 E) only.
EAST = (37.1, 47.9, 38.1, 49.1)


@pytest.fixture
def changed_db(empty_db: Path) -> Path:
    with connect(empty_db) as store:
        build(store)
        store.write("shelters", shelters([("D", "open", 30, D[3] + H12)]), mode="upsert")
        store.write("shelters", shelters([("A", "full", 120, D[4] + H6)]), mode="upsert")
        store.write("shelters", shelters([("A", "full", 120, D[4] + H6), ("C", "full", 80, D[5] + H12),
                                          ("D", "open", 30, D[3] + H12)]), mode="replace")
    return empty_db


def _rows(frame: pd.DataFrame) -> dict[str, tuple[str, int]]:
    return {i: (s, int(c)) for i, s, c in zip(frame["id"], frame["status"], frame["capacity"], strict=True)}


def test_the_history_is_as_described(changed_db: Path) -> None:
    with connect(changed_db, read_only=True) as store:
        hist = store.query_df("SELECT id, valid_from, removed FROM shelters_history ORDER BY id, valid_from")
        # A three versions, B one and its removal at D5 12:00, C one, D one
        assert list(hist["id"]) == ["A", "A", "A", "B", "B", "C", "D"]
        assert pd.Timestamp(hist["valid_from"].iloc[4]) == D[5] + H12 and bool(hist["removed"].iloc[4])
        assert _rows(store.read("shelters")) == EXPECTED[D[6]]


@pytest.mark.parametrize("when", list(EXPECTED))
def test_every_read_at_a_past_time(changed_db: Path, when: pd.Timestamp) -> None:
    want = EXPECTED[when]
    east = {i: v for i, v in want.items() if i != "A"}
    with connect(changed_db, read_only=True) as store:
        assert _rows(store.read("shelters", as_of=when)) == want
        assert list(store.read("shelters", as_of=when)["id"]) == sorted(want)  # ordered by id
        assert _rows(store.read("shelters", as_of=when, bbox=EAST)) == east
        assert _rows(store.read("shelters", as_of=when, where={"status": "open"})) == {
            i: v for i, v in want.items() if v[0] == "open"}
        assert count_in_bbox(store, "shelters", bbox=EAST, as_of=when) == len(east)
        assert count_in_bbox(store, "shelters", bbox=BBOX, where={"status": ["full"]}, as_of=when) == sum(
            v[0] == "full" for v in want.values())
        ranked = read_ranked(store, "shelters", order_by="capacity", limit=2, bbox=BBOX, as_of=when)
        assert list(ranked["id"]) == [i for i, _v in sorted(want.items(), key=lambda kv: (-kv[1][1], kv[0]))][:2]
        grid = grid_aggregate(store, "shelters", bbox=BBOX, cell_deg=10.0, category="status", sums=("capacity",),
                              as_of=when)
        if want:  # one cell holding every shelter in force
            assert len(grid) == 1 and int(grid["n"].iloc[0]) == len(want)
            assert int(grid["capacity"].iloc[0]) == sum(c for _s, c in want.values())
            for status in ("open", "full", "closed"):
                assert int(grid[status].iloc[0]) == sum(s == status for s, _c in want.values())
        else:
            assert grid.empty
        attrs = attributes_as_of(store, "shelters", ["status", "capacity"], as_of=when)
        assert _rows(attrs) == want and list(attrs["id"]) == sorted(want)
        assert open_capacity(store, as_of=when) == sum(c for s, c in want.values() if s in ("open", "full"))


def test_now_and_a_time_after_every_change_agree(changed_db: Path) -> None:
    with connect(changed_db, read_only=True) as store:
        now = store.read("shelters")
        later = store.read("shelters", as_of=pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1))
        assert now.to_wkb().equals(later.to_wkb())
