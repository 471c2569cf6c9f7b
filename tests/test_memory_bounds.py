"""One road graph per process: coverage by road time taking another graph lets the route planner's
context on the old one go (and the planner taking one lets coverage's go, ``keep_only``)."""

from __future__ import annotations

import weakref

import pytest

from cimic_geo.analytics import coverage_graph
from cimic_geo.ui import common, planner_page


class _Graph:  # any object stands for a graph: only its identity matters
    pass


@pytest.fixture()
def hooks():
    saved = list(coverage_graph.ON_NEW_GRAPH)
    yield coverage_graph.ON_NEW_GRAPH
    coverage_graph.ON_NEW_GRAPH[:] = saved
    coverage_graph._LAST.clear()


def test_coverage_taking_a_graph_calls_the_hooks_with_it(hooks):
    seen = []
    hooks.append(seen.append)
    a, b = _Graph(), _Graph()
    coverage_graph._remember(("folder", "key", 1), a)
    coverage_graph._remember(("folder", "key2", 2), b)
    assert seen == [a, b]
    assert list(coverage_graph._LAST.values()) == [b]  # and only the last one is kept


def test_the_planner_lets_go_of_its_context_on_another_graph(hooks, monkeypatch):
    assert planner_page._let_go in hooks  # registered when the page's module is imported
    cleared = []
    monkeypatch.setattr(planner_page._context, "clear", lambda: cleared.append(True))
    mine, other = _Graph(), _Graph()
    planner_page._last_graph[:] = [weakref.ref(mine)]
    planner_page._last_args[:] = [("db", None, (5.0,), "v")]
    planner_page._let_go(mine)  # coverage took the planner's own graph: nothing goes
    assert cleared == [] and planner_page._last_args
    planner_page._let_go(other)
    assert cleared == [True] and planner_page._last_args == [] and planner_page._last_graph == []
    planner_page._let_go(other)  # nothing held any more
    assert cleared == [True]


def test_the_allocator_is_tuned_once_and_trimmed_after_each_run(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append(("mallopt", param, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("trim", pad))
            return 1

    monkeypatch.setattr(common, "_libc", [])
    monkeypatch.setattr(common.ctypes, "CDLL", lambda name: FakeLibc())
    common.release_free_memory()
    common.release_free_memory()
    # M_MMAP_THRESHOLD is -3 and M_ARENA_MAX -8 in glibc's malloc.h
    assert calls == [("mallopt", -3, 1 << 20), ("mallopt", -8, 2), ("trim", 0), ("trim", 0)]


def test_arrow_pool_gives_back_what_it_freed_after_each_run(monkeypatch):
    """The store's reads arrive as Arrow tables: Arrow's pool (mimalloc/jemalloc) keeps freed memory
    for itself unless asked, so each run's end asks it too (glibc's trim does not reach it)."""
    import sys
    import types

    released = []

    class Pool:
        def release_unused(self):
            released.append(True)

    monkeypatch.setattr(common, "_libc", [None])  # no glibc: only the Arrow pool
    monkeypatch.setitem(sys.modules, "pyarrow", types.SimpleNamespace(default_memory_pool=Pool))
    common.release_free_memory()
    common.release_free_memory()
    assert released == [True, True]
