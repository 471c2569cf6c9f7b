"""Rules an evacuation request must follow, shared by the store's edits and the spreadsheet import.

Pure checks on plain values (no database): the caller passes the ids of the shelters (and,
optionally, settlements) that exist. Every problem names the row (as the user counts it in the
file) and the column, so the import can reject the whole file with a clear report.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import pandas as pd

from cimic_geo.errors import Problem
from cimic_geo.i18n import _
from cimic_geo.schema import (
    EVACUATION_PRIORITIES,
    EVACUATION_STATUSES,
    PEOPLE_GROUPS,
    TRANSPORT_KINDS,
)

COUNT_COLUMNS = ("people", *PEOPLE_GROUPS, "transport_capacity")
#: Statuses of a mission that must name its destination shelter.
NEEDS_DESTINATION = ("planned", "underway", "completed")
#: Groups that are among ``people`` and cannot overlap each other.
DISJOINT_GROUPS = (("children", "elderly"), ("reduced_mobility", "bedridden"))


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        pass
    return isinstance(value, str) and not value.strip()


def parse_count(value: Any) -> int | None:
    """A whole number >= 0 from a cell (``"12"``, ``12.0``); None for blank; ValueError otherwise."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(_("{value} is not a number of people").format(value=repr(value)))
    if isinstance(value, str):
        text = value.strip()
        try:
            num = float(text)
        except ValueError:
            raise ValueError(_("{value} is not a whole number").format(value=f"'{text}'")) from None
    else:
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise ValueError(_("{value} is not a whole number").format(value=repr(value))) from None
    if not math.isfinite(num) or num != int(num):
        raise ValueError(_("{value} is not a whole number").format(value=repr(value)))
    if num < 0:
        raise ValueError(_("{value} is negative; counts must be 0 or more").format(value=int(num)))
    return int(num)


def check_evacuation(
    row: dict[str, Any],
    *,
    shelter_ids: Collection[str],
    settlement_ids: Collection[str] | None = None,
    row_number: int | None = None,
) -> list[Problem]:
    """Problems of one evacuation (a dict of column -> value); empty when it is valid.

    Parameters
    ----------
    row : column values (missing columns count as blank)
    shelter_ids : ids of the shelters that exist (the destination must be one of them)
    settlement_ids : ids of the settlements that exist (checked when given)
    row_number : the row as the user counts it, put in every problem
    """
    out: list[Problem] = []

    def bad(field: str, message: str) -> None:
        out.append(Problem(row_number, field, message))

    counts: dict[str, int] = {}
    for col in COUNT_COLUMNS:
        try:
            v = parse_count(row.get(col))
        except ValueError as exc:
            bad(col, str(exc))
            continue
        if v is None and col == "people":
            bad(col, _("the number of people is required"))
        counts[col] = 0 if v is None else v
    people = counts.get("people")
    if people is not None:
        for group in PEOPLE_GROUPS:
            if group != "pets" and counts.get(group, 0) > people:
                bad(group, _("{n} {group} but only {people} people in the request").format(
                    n=counts[group], group=group.replace("_", " "), people=people))
        for a, b in DISJOINT_GROUPS:
            if a in counts and b in counts and counts[a] + counts[b] > people and max(counts[a], counts[b]) <= people:
                bad(b, _("{group_a} ({a}) + {group_b} ({b}) exceed the {people} people in the request").format(
                    group_a=a.replace("_", " "), a=counts[a], group_b=b.replace("_", " "), b=counts[b],
                    people=people))
    status = row.get("status")
    status = None if _blank(status) else str(status).strip()
    if status is None:
        bad("status", _("status is required; one of {choices}").format(choices=", ".join(EVACUATION_STATUSES)))
    elif status not in EVACUATION_STATUSES:
        bad("status", _("unknown status '{status}'; expected one of {choices}").format(
            status=status, choices=", ".join(EVACUATION_STATUSES)))
    for col, choices in (("priority", EVACUATION_PRIORITIES), ("transport", TRANSPORT_KINDS)):
        v = row.get(col)
        if not _blank(v) and str(v).strip() not in choices:
            bad(col, (_("unknown priority '{value}'; expected one of {choices}") if col == "priority" else
                      _("unknown transport '{value}'; expected one of {choices}")).format(
                value=str(v).strip(), choices=", ".join(choices)))
    dest = row.get("destination_shelter_id")
    if not _blank(dest):
        if str(dest).strip() not in shelter_ids:
            bad("destination_shelter_id", _("shelter '{id}' does not exist in the store").format(id=str(dest).strip()))
    elif status in NEEDS_DESTINATION:
        bad("destination_shelter_id", _("a {status} evacuation needs a destination shelter").format(status=status))
    sid = row.get("settlement_id")
    if settlement_ids is not None and not _blank(sid) and str(sid).strip() not in settlement_ids:
        bad("settlement_id", _("settlement '{id}' does not exist in the store").format(id=str(sid).strip()))
    return out


def check_evacuations(
    frame: pd.DataFrame,
    *,
    shelter_ids: Collection[str],
    settlement_ids: Collection[str] | None = None,
    row_numbers: Sequence[int] | None = None,
) -> list[Problem]:
    """:func:`check_evacuation` for every row of ``frame``.

    ``row_numbers`` are the rows as the user counts them (default: 1, 2, ...; a spreadsheet
    with a header line passes 2, 3, ...).
    """
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(frame) + 1))
    if len(numbers) != len(frame):
        raise ValueError("row_numbers must have one number per row")
    shelters = {str(s) for s in shelter_ids}
    settlements = None if settlement_ids is None else {str(s) for s in settlement_ids}
    problems: list[Problem] = []
    for n, rec in zip(numbers, frame.to_dict("records"), strict=True):
        problems += check_evacuation(rec, shelter_ids=shelters, settlement_ids=settlements, row_number=n)
    return problems
