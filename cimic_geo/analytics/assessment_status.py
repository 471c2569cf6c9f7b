"""Civil assessments: the latest picture per settlement, sector status and staleness (pure functions).

Inputs are frames read from the store (``assessments`` rows, ``settlements``); nothing here reads
the store. A settlement's picture at time ``t`` is its latest assessment made at or before ``t``;
it is *stale* when that assessment is older than ``stale_days`` at ``t``; a settlement never
assessed is reported as such (not as stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from cimic_geo.errors import AnalysisError
from cimic_geo.i18n import _, pgettext
from cimic_geo.schema import ASSESSMENT_SECTORS, ASSESSMENT_STATUSES, NEED_STATUSES

_DAY = pd.Timedelta(days=1)


def _utc(t: datetime | str | pd.Timestamp | None) -> pd.Timestamp:
    ts = pd.Timestamp.now(tz="UTC") if t is None else pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def check_sector(sector: str) -> str:
    """``sector`` if it is an assessed sector, else :class:`AnalysisError` listing them."""
    if sector not in ASSESSMENT_SECTORS:
        raise AnalysisError(_("unknown sector '{sector}'; expected one of: {sectors}").format(
            sector=sector, sectors=", ".join(ASSESSMENT_SECTORS)))
    return sector


def state_label(state: object) -> str:
    """A ``state`` value (``current``, ``stale``, ``never``) in the current language (the same words
    :func:`cimic_geo.i18n.term` gives for a ``state`` column); the table keeps the English value."""
    text = str(state)
    words = {"current": pgettext("term", "current"), "stale": pgettext("term", "stale"),
             "never": pgettext("term", "never")}
    return words.get(text, text)


def latest_per_settlement(assessments: pd.DataFrame, *, as_of: datetime | str | None = None) -> pd.DataFrame:
    """Per settlement, the latest assessment made at or before ``as_of`` (default: all of them).

    Ties on ``assessed_at`` go to the larger ``id`` so that the result does not depend on row order.
    """
    frame = assessments
    if as_of is not None and len(frame):
        frame = frame[pd.to_datetime(frame["assessed_at"], utc=True) <= _utc(as_of)]
    if not len(frame):
        return frame.iloc[0:0]
    ordered = frame.sort_values(["settlement_id", "assessed_at", "id"], kind="mergesort")
    return ordered.drop_duplicates("settlement_id", keep="last").reset_index(drop=True)


def sector_status(latest: pd.DataFrame, sector: str) -> pd.Series:
    """The status of ``sector`` in each row (``unknown`` where not given)."""
    col = f"{check_sector(sector)}_status"
    if col not in latest:
        return pd.Series(["unknown"] * len(latest), index=latest.index, dtype=object)
    return latest[col].where(latest[col].isin(ASSESSMENT_STATUSES), "unknown").astype(object)


@dataclass(frozen=True)
class Staleness:
    """How current the assessments are at ``as_of``.

    Attributes
    ----------
    table : one row per settlement: ``settlement_id``, ``name``, ``population``,
        ``last_assessed`` (NaT if never), ``age_days`` (NaN if never), ``state``
        (``current``, ``stale`` or ``never``)
    as_of : the time the ages are measured at (UTC)
    stale_days : the threshold used
    """

    table: pd.DataFrame
    as_of: pd.Timestamp
    stale_days: float

    def count(self, state: str) -> int:
        return int((self.table["state"] == state).sum())

    def to_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "stale_days": self.stale_days,
                "current": self.count("current"), "stale": self.count("stale"), "never": self.count("never")}


def staleness(
    settlements: pd.DataFrame,
    assessments: pd.DataFrame,
    *,
    as_of: datetime | str | None = None,
    stale_days: float = 14.0,
) -> Staleness:
    """Age of each settlement's latest assessment at ``as_of`` and whether it is stale.

    A settlement is ``stale`` when ``as_of - last_assessed > stale_days`` (strictly older), ``current``
    otherwise, ``never`` when it has no assessment made at or before ``as_of``.
    """
    if not (np.isfinite(stale_days) and stale_days > 0):
        raise AnalysisError(_("stale_days must be a positive number, got {value}").format(value=repr(stale_days)))
    t = _utc(as_of)
    latest = latest_per_settlement(assessments, as_of=t)
    last = pd.Series(pd.to_datetime(latest["assessed_at"], utc=True).to_numpy() if len(latest) else [],
                     index=latest["settlement_id"].astype(str).to_numpy() if len(latest) else [],
                     dtype="datetime64[ns, UTC]")
    ids = settlements["id"].astype(str)
    when = ids.map(last)
    age = (t - pd.to_datetime(when, utc=True)) / _DAY
    state = np.where(when.isna(), "never", np.where(age > stale_days, "stale", "current"))
    table = pd.DataFrame({
        "settlement_id": ids.to_numpy(),
        "name": settlements["name"].to_numpy() if "name" in settlements else ids.to_numpy(),
        "population": settlements["population"].to_numpy() if "population" in settlements else np.nan,
        "last_assessed": pd.to_datetime(when, utc=True).to_numpy(),
        "age_days": age.to_numpy(dtype=float),
        "state": state,
    })
    return Staleness(table=table, as_of=t, stale_days=float(stale_days))


def unmet_needs(
    latest: pd.DataFrame,
    *,
    sectors: tuple[str, ...] = ASSESSMENT_SECTORS,
    need_statuses: tuple[str, ...] = NEED_STATUSES,
) -> pd.DataFrame:
    """Long table of unmet needs: one row per (settlement, sector) whose status is in ``need_statuses``.

    Columns ``settlement_id``, ``sector``, ``status``, ``assessed_at``, ``population_present``;
    sorted by settlement and sector.
    """
    n = len(latest)
    sid = np.asarray(latest["settlement_id"].astype(str).to_numpy(), dtype=object) if n else np.array([], dtype=object)
    when = (pd.to_datetime(latest["assessed_at"], utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
            if n else np.array([], dtype="datetime64[ns]"))
    pop = (pd.to_numeric(latest["population_present"], errors="coerce").to_numpy(dtype=float)
           if n and "population_present" in latest else np.full(n, np.nan))
    parts: list[tuple[np.ndarray, str, np.ndarray]] = []
    for sector in sectors:
        col = f"{check_sector(sector)}_status"
        if col not in latest or not n:
            continue
        status = np.asarray(latest[col].to_numpy(), dtype=object)
        hit = np.flatnonzero(pd.Series(status, dtype=object).isin(need_statuses).to_numpy())
        if len(hit):
            parts.append((hit, sector, status[hit]))
    rows = np.concatenate([h for h, _, _ in parts]) if parts else np.array([], dtype=int)
    sectors_col = np.concatenate([np.full(len(h), sec, dtype=object) for h, sec, _ in parts]) if parts \
        else np.array([], dtype=object)
    status_col = np.concatenate([st for _, _, st in parts]) if parts else np.array([], dtype=object)
    if len(rows):  # by settlement id, then sector name (integer codes: fast on large tables)
        sid_code = pd.factorize(sid, sort=True)[0]
        sec_code = pd.factorize(sectors_col, sort=True)[0]
        order = np.lexsort((sec_code, sid_code[rows]))
    else:
        order = rows
    rows, sectors_col, status_col = rows[order], sectors_col[order], status_col[order]
    return pd.DataFrame({
        "settlement_id": pd.Series(sid[rows], dtype=object),
        "sector": pd.Series(sectors_col, dtype=object),
        "status": pd.Series(status_col, dtype=object),
        "assessed_at": pd.Series(pd.DatetimeIndex(when[rows]).tz_localize("UTC")),
        "population_present": pd.Series(pop[rows], dtype=float),
    })


def sector_summary(latest: pd.DataFrame) -> pd.DataFrame:
    """Count of settlements per sector and status in ``latest`` (rows: sectors; columns: statuses)."""
    rows = []
    for sector in ASSESSMENT_SECTORS:
        counts = sector_status(latest, sector).value_counts()
        rows.append({"sector": sector, **{s: int(counts.get(s, 0)) for s in ASSESSMENT_STATUSES}})
    return pd.DataFrame(rows, columns=["sector", *ASSESSMENT_STATUSES])
