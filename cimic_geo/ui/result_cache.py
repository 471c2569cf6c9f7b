"""The server's large cached results under one memory budget (:mod:`cimic_geo.cache_budget`).

:func:`budgeted` replaces ``st.cache_resource`` for the results that weigh tens of MB (the Exposure page's
analyses, the shared whole layers, the COP's view parts): one object per entry shared by every session
(read-only for the callers), keyed like ``st.cache_resource`` by the arguments whose names do not start
with an underscore (the data token and the language among them), and kept in one process-wide
:class:`cimic_geo.cache_budget.BudgetCache` whose budget is :func:`cimic_geo.cache_budget.cache_budget_mb`.
A result pushed out of the budget is computed again when it is asked for again.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cimic_geo.cache_budget import BudgetCache, cache_budget_mb

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_cache: BudgetCache | None = None


def shared_cache() -> BudgetCache:
    """The process-wide cache (made on first use with the configured budget)."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = BudgetCache(int(cache_budget_mb() * 2**20))
        return _cache


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def budgeted(*, max_entries: int | None = None) -> Callable[[F], F]:
    """Cache a function's results in :func:`shared_cache`, at most ``max_entries`` of them.

    The function gets ``clear()`` (forget its entries) like a Streamlit cached function.
    """

    def wrap(func: F) -> F:
        signature = inspect.signature(func)
        group = f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = (group, tuple((name, _frozen(value)) for name, value in bound.arguments.items()
                                if not name.startswith("_")))
            return shared_cache().get_or_compute(key, lambda: func(*args, **kwargs), group=group,
                                                 max_entries=max_entries)

        call.clear = lambda: shared_cache().clear(group)  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return wrap
