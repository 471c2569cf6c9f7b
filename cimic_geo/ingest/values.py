"""Cell values: numbers, yes/no values, times and text, converted for one column of a layer.

Nothing is guessed quietly: a number written ``1,000`` or ``1.000`` (thousands separator or
decimal mark?) is an error for an integer field, and ``1,000`` for any number; a yes/no value
where a number is expected is an error; text with a control character (other than tab and line
breaks) is an error; a corridor window that ends before it starts is an error; observation times
(``valid_from``, ``reported_at``) must lie in the plausible range :func:`plausible_times`:

==========================  ==============================  ==========
setting                     environment variable            default
==========================  ==============================  ==========
earliest observation time   ``CIMIC_EARLIEST_TIME``         1990-01-01
allowed time in the future  ``CIMIC_FUTURE_TOLERANCE_H``    24 (hours)
==========================  ==============================  ==========
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from cimic_geo.errors import ConfigError
from cimic_geo.i18n import _
from cimic_geo.ingest.mapping import normalise_bool, normalise_choice
from cimic_geo.schema import Column

MAX_TEXT = 2000
_INT_LIMIT = 2**62
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def missing(v: object) -> bool:
    """True for None, NaN, NA/NaT and blank text."""
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, str) and not v.strip()


#: One separator followed by exactly three digits: ``1,000`` / ``1.000`` (a thousands separator or
#: a decimal mark?).
_AMBIGUOUS = re.compile(r"[+-]?\d{1,3}([.,])\d{3}")
#: Groups of three digits with the same separator at least twice: ``1,000,000``.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:([.,])\d{3})(?:\1\d{3})+")


def _number(v: object, kind: str = "float") -> tuple[float | None, str | None]:
    """A number from a cell; (None, reason) when it is not one or could be read two ways."""
    if isinstance(v, (bool, np.bool_)):
        return None, _("a yes/no value ({value}) where a number is expected").format(value=repr(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v), None
    text = str(v).strip().replace("\u00a0", "").replace(" ", "")
    amb = _AMBIGUOUS.fullmatch(text)
    if amb and text.lstrip("+-")[0] != "0" and (kind == "int" or amb.group(1) == ","):
        whole = text.replace(amb.group(1), "")
        return None, _("ambiguous number {value}: is {separator} a thousands separator ({whole}) or a decimal "
                       "mark? write the number without thousands separators").format(
            value=repr(str(v)[:40]), separator=repr(amb.group(1)), whole=whole)
    grouped = _GROUPED.fullmatch(text)
    if grouped:
        text = text.replace(grouped.group(1), "")
    elif text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text), None
    except ValueError:
        return None, _("not a number: {value}").format(value=repr(str(v)[:60]))


#: Fields holding the time something was observed or reported; they must be plausible.
OBSERVED_TIMES = ("valid_from", "reported_at")
EARLIEST_TIME_ENV = "CIMIC_EARLIEST_TIME"
FUTURE_TOLERANCE_ENV = "CIMIC_FUTURE_TOLERANCE_H"
DEFAULT_EARLIEST_TIME = "1990-01-01"
DEFAULT_FUTURE_TOLERANCE_H = 24.0


def plausible_times() -> tuple[pd.Timestamp, pd.Timestamp]:
    """(earliest, latest) observation time accepted: ``CIMIC_EARLIEST_TIME`` (default 1990-01-01)
    and now + ``CIMIC_FUTURE_TOLERANCE_H`` hours (default 24), both UTC."""
    earliest = parse_time(os.environ.get(EARLIEST_TIME_ENV) or DEFAULT_EARLIEST_TIME)
    if earliest is None:
        raise ConfigError(_("{setting} must be a date, got {value}").format(
            setting=EARLIEST_TIME_ENV, value=repr(os.environ.get(EARLIEST_TIME_ENV))))
    try:
        hours = float(os.environ.get(FUTURE_TOLERANCE_ENV) or DEFAULT_FUTURE_TOLERANCE_H)
    except ValueError:
        raise ConfigError(_("{setting} must be a number of hours").format(setting=FUTURE_TOLERANCE_ENV)) from None
    if not (0 <= hours < 24 * 3660):
        raise ConfigError(_("{setting} must be between 0 and 87840 hours, got {value}").format(
            setting=FUTURE_TOLERANCE_ENV, value=f"{hours:g}"))
    return earliest, pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=hours)


def check_observed_time(ts: pd.Timestamp) -> str | None:
    """Why ``ts`` is not a plausible observation time, or None."""
    earliest, latest = plausible_times()
    if ts < earliest:
        return _("{time} is before {earliest}, the earliest plausible time (setting {setting})").format(
            time=f"{ts:%Y-%m-%d}", earliest=f"{earliest:%Y-%m-%d}", setting=EARLIEST_TIME_ENV)
    if ts > latest:
        return _("{time}Z is in the future (later than now + {setting} hours); check the date").format(
            time=f"{ts:%Y-%m-%d %H:%M}", setting=FUTURE_TOLERANCE_ENV)
    return None


def parse_time(v: object) -> pd.Timestamp | None:
    """A UTC timestamp from ISO text, ``DD.MM.YYYY`` (day first), a date or a datetime; None if unparseable."""
    if isinstance(v, (pd.Timestamp, datetime)):
        ts = pd.Timestamp(v)
    else:
        text = str(v).strip()
        try:
            if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{2,4}( .*)?", text):
                ts = pd.to_datetime(text, dayfirst=True)
            else:
                ts = pd.Timestamp(text)
        except (ValueError, OverflowError, TypeError):
            return None
    if ts is pd.NaT or pd.isna(ts):
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    try:
        return ts.tz_convert("UTC")
    except (ValueError, OverflowError):
        return None


def convert(col: Column, value: object, value_map: Mapping[str, str] | None) -> tuple[Any, str | None]:
    """Convert one value for a column; return (value, error message or None)."""
    kind = col.kind
    if col.choices:
        v = normalise_choice(value, col.choices, value_map=value_map)
        if v is None:
            shown = str(value)[:60]
            return None, _("unknown value {value}; expected one of {choices} (or give a value map)").format(
                value=repr(shown), choices=", ".join(col.choices))
        return v, None
    if kind in ("int", "float"):
        num, why = _number(value, kind)
        if num is None:
            return None, why
        if not math.isfinite(num):
            return None, _("not a finite number: {value}").format(value=repr(value))
        if kind == "int":
            if num != math.floor(num):
                return None, _("not a whole number: {value}").format(value=repr(value))
            if abs(num) > _INT_LIMIT:
                return None, _("number out of range: {value}").format(value=repr(value))
        if col.min_value is not None and num < col.min_value:
            return None, _("{value} is below the minimum {minimum}").format(value=f"{num:g}",
                                                                             minimum=f"{col.min_value:g}")
        if col.max_value is not None and num > col.max_value:
            return None, _("{value} is above the maximum {maximum}").format(value=f"{num:g}",
                                                                             maximum=f"{col.max_value:g}")
        return (int(num) if kind == "int" else float(num)), None
    if kind == "bool":
        b = normalise_bool(value)
        if b is None:
            return None, _("not a yes/no value: {value}").format(value=repr(str(value)[:60]))
        return b, None
    if kind == "datetime":
        ts = parse_time(value)
        if ts is None:
            return None, _("not a date/time: {value}").format(value=repr(str(value)[:60]))
        if col.name in OBSERVED_TIMES:
            why = check_observed_time(ts)
            if why:
                return None, why
        return ts, None
    bad = _CONTROL.search(str(value))
    if bad:
        return None, _("control character U+{code} in the text at position {position}; remove it").format(
            code=f"{ord(bad.group()):04X}", position=bad.start() + 1)
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))  # ids/codes read as numbers: 12.0 -> "12"
    if len(text) > MAX_TEXT:
        return None, _("text longer than {limit} characters ({length})").format(limit=MAX_TEXT, length=len(text))
    return (text or None), None
