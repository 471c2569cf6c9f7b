"""Checking that the server's background warm-up leaves a page's first visit nothing to compute."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def warmed_then_reused(monkeypatch: Any, db: Path, *, module: ModuleType, name: str,
                       cached: Callable[[Any, str], Any], caches: tuple[Any, ...]) -> tuple[Any, Any]:
    """Run the planner's ``warm_data`` on ``db`` with ``module.name`` counted, then the page's own ``cached``
    call under the data token a page run sees; assert ``module.name`` ran once, in the warm-up only.

    Returns the page call's result and a fresh ``module.name(store)`` to compare it with. ``caches`` are
    cleared before and after.
    """
    from cimic_geo.ui import planner_page
    from cimic_geo.ui.common import background_store, data_token

    monkeypatch.setenv("CIMIC_DB", str(db))
    for cache in caches:
        cache.clear()
    calls: list[int] = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda store: calls.append(1) or real(store))
    try:
        planner_page.warm_data()
        assert calls == [1]
        with background_store() as store:
            got = cached(store, data_token(store))
            assert calls == [1]  # cached by the warm-up
            return got, real(store)
    finally:
        for cache in caches:
            cache.clear()
