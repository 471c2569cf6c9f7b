"""Time helpers: everything is stored in UTC and shown as a military date-time group (DTG)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from cimic_geo.errors import CimicError

#: A point in time as users and files give it: ISO 8601 text, a datetime or a pandas Timestamp.
TimeLike = datetime | str | pd.Timestamp

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def to_utc(value: datetime | str | pd.Timestamp) -> pd.Timestamp:
    """Parse ``value`` as a UTC timestamp (naive values are taken as UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise CimicError(f"not a date/time: {value!r} (use ISO 8601, e.g. 2026-11-21T14:30Z)") from exc
    if ts is pd.NaT:
        raise CimicError(f"not a date/time: {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def dtg(value: datetime | str | pd.Timestamp | None) -> str:
    """Date-time group ``DDHHMMZMONYY`` in UTC, e.g. ``211430ZNOV26``; empty string for None/NaT."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    ts = to_utc(value)
    return f"{ts.day:02d}{ts.hour:02d}{ts.minute:02d}Z{_MONTHS[ts.month - 1]}{ts.year % 100:02d}"


def iso(value: datetime | str | pd.Timestamp | None) -> str | None:
    """ISO 8601 UTC string with a ``Z`` suffix, or None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
