"""The COP's KPI strip for a view, cut in memory from a base kept per time (no store read per zoom or pan).

A :class:`~cimic_geo.analytics.kpi_strip.KpiBase` holds every feature the strip counts at one time, each
settlement with its threat band. The process keeps the last few (per store content, time, bands and
language). A base is made with the whole store's strip (the national view, where the strip reads and
bands every feature anyway), or at the second view asked for the same time; a view's strip is then
cut from it. A time seen once, zoomed in (a slider step), keeps the read of the view alone, which is
cheaper than making the whole base.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cimic_geo.analytics.kpi_strip import KpiBase, KpiStrip, kpi_base, kpi_strip, strip_in_bbox
from cimic_geo.store import Store
from cimic_geo.store.cop_reads import read_kpi_layers

#: Bases kept per process (a national base is a few MB).
KEPT = 2
#: Times asked for recently (a second view at one of them makes its base).
_ASKED_KEPT = 16

_bases: OrderedDict[tuple[Any, ...], KpiBase] = OrderedDict()
_asked: OrderedDict[tuple[Any, ...], bool] = OrderedDict()
_lock = threading.Lock()


def _keep(table: OrderedDict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)


def view_strip(store: Store, *, token: str, as_of: datetime | None, bands_km: tuple[float, ...],
               bbox: Sequence[float] | None, language: str) -> KpiStrip:
    """The KPI strip of :func:`~cimic_geo.analytics.kpi_strip.kpi_strip` for ``bbox`` (whole store when None) at
    ``as_of``, read as :func:`~cimic_geo.store.cop_reads.read_kpi_layers` reads it, cut from a kept base when
    there is one (``token`` names the store content, ``language`` the notes' language)."""
    key = (token, as_of, tuple(bands_km), language)
    with _lock:
        base = _bases.get(key)
        seen = key in _asked
        _keep(_asked, key, True, _ASKED_KEPT)
        if base is not None:
            _bases.move_to_end(key)
    if base is None and (bbox is None or seen):
        base = kpi_base(**read_kpi_layers(store, as_of=as_of), bands_km=bands_km, as_of=as_of)
        with _lock:
            _keep(_bases, key, base, KEPT)
    if base is None:
        return kpi_strip(**read_kpi_layers(store, bbox=bbox, as_of=as_of), bands_km=bands_km, as_of=as_of, bbox=bbox)
    return strip_in_bbox(base, bbox)


def clear() -> None:
    """Forget the kept bases (tests)."""
    with _lock:
        _bases.clear()
        _asked.clear()
