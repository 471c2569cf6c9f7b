"""In CI a skipped browser, GDAL (``ogrinfo``) or network-namespace test is a failure.

Those tests skip on a developer's machine without Chromium, GDAL's tools or user namespaces; in
CI (environment ``CI`` set, as ``.ci/run`` runs) a skip would hide that the check never ran, so
it is reported as a failure with the skip's reason. ``tests/conftest.py`` imports the hook.
"""

from __future__ import annotations

import os

import pytest

#: Tests with one of these markers must run in CI.
CI_REQUIRED_MARKERS = ("browser", "gdal", "netns")


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set to anything but empty/0/false/no."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    marks = [m for m in CI_REQUIRED_MARKERS if item.get_closest_marker(m) is not None]
    if not marks:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = str(reason).removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = f"a {'/'.join(marks)} test may not be skipped in CI: {reason}"
