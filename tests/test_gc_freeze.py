"""The server's warm-up leaves the imported libraries out of the garbage collector's full passes, and
what the pages make afterwards is still collected."""

from __future__ import annotations

import gc
import threading
import weakref

from cimic_geo.ui import common


class _Node:
    """A tracked object that can take part in a reference cycle."""

    other: _Node | None = None


def _warm_thread() -> threading.Thread | None:
    return next((t for t in threading.enumerate() if t.name == "cimic-warm-imports"), None)


def test_the_warm_up_freezes_what_the_imports_made(monkeypatch) -> None:
    """A page run starts the warm-up; once its imports are done the collector's frozen set holds them
    (it is empty in a process that never froze: nothing else here calls ``gc.freeze``)."""
    frozen: list[int] = []
    real = common.freeze_imported
    monkeypatch.setattr(common, "freeze_imported", lambda: (real(), frozen.append(gc.get_freeze_count())))
    monkeypatch.setattr(common, "_warm_started", threading.Event())
    with common.store_run():
        pass
    thread = _warm_thread()
    if thread is not None:
        thread.join(timeout=300)
    assert frozen and frozen[0] > 10_000, frozen


def test_cycles_made_after_the_freeze_are_still_collected() -> None:
    common.freeze_imported()
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b
    gc.collect()
    assert ref() is None
